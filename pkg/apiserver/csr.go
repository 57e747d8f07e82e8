package apiserver

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apiserver/authz"
	"minik8s/pkg/apiserver/registry"
	"minik8s/pkg/pki"
	"minik8s/pkg/storage"
)

// CertificateSigningRequests are approved and signed here, as Kubernetes'
// csrapproving and csrsigning controllers do it:
//
//   - a request for a kubelet client certificate (signer
//     kubernetes.io/kube-apiserver-client-kubelet, subject exactly
//     CN=system:node:<name>, O=system:nodes, no SANs, client usages) is
//     approved automatically when a bootstrap token holder asks for it (a
//     node joining) or when node <name> itself asks (a node renewing);
//   - a node asking for another node's certificate is denied;
//   - anything else waits for an admin's `minictl certificate approve|deny`
//     (UpdateApproval);
//   - an approved request of a signer we run is signed with the cluster CA
//     at once: status.certificate is set, the CONDITION column then reads
//     Approved,Issued. A request the signer's rules refuse gets the Failed
//     condition.
//
// The requester's identity (spec.username, spec.groups) is set by the
// registry from the authenticated caller when the request is created, never
// taken from the client.

// Signer names, as Kubernetes'.
const (
	SignerKubeletClient   = "kubernetes.io/kube-apiserver-client-kubelet"
	SignerAPIServerClient = "kubernetes.io/kube-apiserver-client"
	SignerKubeletServing  = "kubernetes.io/kubelet-serving"
)

// Condition types and reasons of a CertificateSigningRequest.
const (
	csrApproved = "Approved"
	csrDenied   = "Denied"
	csrFailed   = "Failed"
)

// Key usages as the CSR API names them.
const (
	usageDigitalSignature = "digital signature"
	usageKeyEncipherment  = "key encipherment"
	usageClientAuth       = "client auth"
	usageServerAuth       = "server auth"
)

const (
	// DefaultClusterSigningDuration is the longest validity of a signed
	// certificate (--cluster-signing-duration), a year as in Kubernetes.
	DefaultClusterSigningDuration = 365 * 24 * time.Hour
	// maxBackdate is how far NotBefore is set back to tolerate clock skew;
	// never more than a tenth of the certificate's lifetime, so that a
	// short-lived certificate is not mostly spent when it is issued.
	maxBackdate = 5 * time.Minute
	// csrResync: the controller lists every request again this often, so a
	// request missed through a transient error is not left behind.
	csrResync = time.Minute
)

// csrSigner approves and signs certificate requests.
type csrSigner struct {
	ca       *pki.KeyPair // nil: signing is off, requests stay approved
	duration time.Duration
	now      func() time.Time
	lg       *zap.Logger
}

// newCSRSigner loads the signing CA: --cluster-signing-cert-file and
// --cluster-signing-key-file, by default the client CA and the key next to
// it (ca.crt, ca.key). Without a key (an apiserver that was only given the
// CA certificate) signing is off and says so in the log.
func newCSRSigner(cfg Config, lg *zap.Logger) (*csrSigner, error) {
	s := &csrSigner{duration: cfg.ClusterSigningDuration, now: cfg.Now, lg: lg}
	if s.duration <= 0 {
		s.duration = DefaultClusterSigningDuration
	}
	certFile, keyFile := cfg.ClusterSigningCertFile, cfg.ClusterSigningKeyFile
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("--cluster-signing-cert-file and --cluster-signing-key-file go together")
	}
	explicit := certFile != ""
	if !explicit {
		certFile = cfg.ClientCAFile
		keyFile = strings.TrimSuffix(certFile, filepath.Ext(certFile)) + ".key"
		if _, err := os.Stat(keyFile); err != nil {
			lg.Warn("No cluster signing key: certificate signing requests are not signed; give --cluster-signing-cert-file and --cluster-signing-key-file",
				zap.String("defaultKeyFile", keyFile))
			return s, nil
		}
	}
	certs, err := pki.ReadCertFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("cluster signing certificate: %w", err)
	}
	key, err := pki.ReadKeyFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("cluster signing key: %w", err)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(certs[0].PublicKey) {
		return nil, fmt.Errorf("cluster signing key %s does not belong to %s", keyFile, certFile)
	}
	if !certs[0].IsCA {
		return nil, fmt.Errorf("cluster signing certificate %s is not a CA", certFile)
	}
	s.ca = &pki.KeyPair{Cert: certs[0], Key: key}
	return s, nil
}

// condition returns the condition of type typ, or nil.
func condition(csr *v1.CertificateSigningRequest, typ string) *v1.Condition {
	for _, c := range csr.GetStatus().GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

// finished: denied, failed or issued; nothing more happens to it.
func finished(csr *v1.CertificateSigningRequest) bool {
	return len(csr.GetStatus().GetCertificate()) > 0 || condition(csr, csrDenied) != nil || condition(csr, csrFailed) != nil
}

func (s *csrSigner) addCondition(csr *v1.CertificateSigningRequest, typ, reason, message string) {
	if csr.Status == nil {
		csr.Status = &v1.CertificateSigningRequestStatus{}
	}
	now := timestamppb.New(s.now().Truncate(time.Second))
	csr.Status.Conditions = append(csr.Status.Conditions, &v1.Condition{
		Type: typ, Status: "True", Reason: reason, Message: message,
		LastUpdateTime: now, LastTransitionTime: now,
	})
}

// parseRequest decodes spec.request.
func parseRequest(csr *v1.CertificateSigningRequest) (*x509.CertificateRequest, error) {
	return pki.ParseCSR(csr.GetSpec().GetRequest())
}

// isNodeClient reports whether a request asks for exactly a kubelet client
// certificate: CN=system:node:<name>, O=system:nodes, no SANs, "client
// auth" and otherwise only "digital signature" and "key encipherment". The
// error says what differs.
func isNodeClient(req *x509.CertificateRequest, usages []string) error {
	if !strings.HasPrefix(req.Subject.CommonName, authz.NodeUserPrefix) || len(req.Subject.CommonName) == len(authz.NodeUserPrefix) {
		return fmt.Errorf("the subject's common name %q is not system:node:<name>", req.Subject.CommonName)
	}
	if !slices.Equal(req.Subject.Organization, []string{authz.GroupNodes}) {
		return fmt.Errorf("the subject's organization %v is not [%s]", req.Subject.Organization, authz.GroupNodes)
	}
	if len(req.DNSNames)+len(req.IPAddresses)+len(req.EmailAddresses)+len(req.URIs) > 0 {
		return errors.New("a client certificate has no subject alternative names")
	}
	if !slices.Contains(usages, usageClientAuth) {
		return errors.New(`the usages lack "client auth"`)
	}
	for _, u := range usages {
		if u != usageClientAuth && u != usageDigitalSignature && u != usageKeyEncipherment {
			return fmt.Errorf("usage %q is not allowed for a kubelet client certificate", u)
		}
	}
	return nil
}

// approval is what the approver decides about a pending request.
type approval int

const (
	approvalPending approval = iota
	approvalApprove
	approvalDeny
)

// decide is the auto-approval rule: approve a bootstrap token holder's or a
// node's own request for its kubelet client certificate, deny a node asking
// for another node's, and leave everything else to an admin.
func decide(csr *v1.CertificateSigningRequest, req *x509.CertificateRequest) (approval, string, string) {
	sp := csr.GetSpec()
	if sp.GetSignerName() != SignerKubeletClient {
		return approvalPending, "", ""
	}
	if err := isNodeClient(req, sp.GetUsages()); err != nil {
		return approvalPending, "", ""
	}
	requester := &authz.User{Name: sp.GetUsername(), Groups: sp.GetGroups()}
	isNode := requester.InGroup(authz.GroupNodes) && strings.HasPrefix(requester.Name, authz.NodeUserPrefix)
	switch {
	case isNode && requester.Name == req.Subject.CommonName:
		return approvalApprove, "AutoApproved", "Auto approving self kubelet client certificate after SubjectAccessReview."
	case isNode:
		return approvalDeny, "NodeNameMismatch", fmt.Sprintf("node %q may only request a certificate for itself, not for %q", requester.Name, req.Subject.CommonName)
	case requester.InGroup(authz.GroupBootstrappers) && strings.HasPrefix(requester.Name, authz.BootstrapUserPrefix):
		return approvalApprove, "AutoApproved", "Auto approving kubelet client certificate after SubjectAccessReview."
	}
	return approvalPending, "", ""
}

// validFor checks a request against the rules of its signer; ours says
// whether we run that signer at all.
func validFor(csr *v1.CertificateSigningRequest, req *x509.CertificateRequest) (ours bool, usages pki.Usage, err error) {
	sp := csr.GetSpec()
	switch sp.GetSignerName() {
	case SignerKubeletClient:
		return true, pki.UsageClient, isNodeClient(req, sp.GetUsages())
	case SignerAPIServerClient:
		for _, u := range sp.GetUsages() {
			if u != usageClientAuth && u != usageDigitalSignature && u != usageKeyEncipherment {
				return true, 0, fmt.Errorf("usage %q is not allowed for a client certificate", u)
			}
		}
		if !slices.Contains(sp.GetUsages(), usageClientAuth) {
			return true, 0, errors.New(`the usages lack "client auth"`)
		}
		if req.Subject.CommonName == "" {
			return true, 0, errors.New("the subject has no common name")
		}
		return true, pki.UsageClient, nil
	case SignerKubeletServing:
		if !strings.HasPrefix(req.Subject.CommonName, authz.NodeUserPrefix) || !slices.Equal(req.Subject.Organization, []string{authz.GroupNodes}) {
			return true, 0, fmt.Errorf("the subject %q is not CN=system:node:<name>, O=system:nodes", req.Subject.String())
		}
		if len(req.EmailAddresses)+len(req.URIs) > 0 || len(req.DNSNames)+len(req.IPAddresses) == 0 {
			return true, 0, errors.New("a serving certificate needs DNS or IP subject alternative names, and no others")
		}
		for _, u := range sp.GetUsages() {
			if u != usageServerAuth && u != usageDigitalSignature && u != usageKeyEncipherment {
				return true, 0, fmt.Errorf("usage %q is not allowed for a kubelet serving certificate", u)
			}
		}
		if !slices.Contains(sp.GetUsages(), usageServerAuth) {
			return true, 0, errors.New(`the usages lack "server auth"`)
		}
		return true, pki.UsageServer, nil
	}
	return false, 0, nil
}

// lifetime is the validity of a certificate for csr: the signer's
// duration, shortened to spec.expirationSeconds when the request asks for
// less.
func (s *csrSigner) lifetime(csr *v1.CertificateSigningRequest) time.Duration {
	d := s.duration
	if e := csr.GetSpec().ExpirationSeconds; e != nil {
		if want := time.Duration(*e) * time.Second; want > 0 && want < d {
			d = want
		}
	}
	return d
}

// certificate issues the certificate of an approved, valid request.
func (s *csrSigner) certificate(req *x509.CertificateRequest, usages pki.Usage, d time.Duration) (*x509.Certificate, error) {
	now := s.now()
	backdate := min(maxBackdate, d/10)
	notAfter := now.Add(d)
	if notAfter.After(s.ca.Cert.NotAfter) {
		notAfter = s.ca.Cert.NotAfter
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt64))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	var ext []x509.ExtKeyUsage
	if usages&pki.UsageClient != 0 {
		ext = append(ext, x509.ExtKeyUsageClientAuth)
	}
	if usages&pki.UsageServer != 0 {
		ext = append(ext, x509.ExtKeyUsageServerAuth)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: req.Subject.CommonName, Organization: req.Subject.Organization},
		DNSNames:     req.DNSNames,
		IPAddresses:  req.IPAddresses,
		NotBefore:    now.Add(-backdate).UTC(),
		NotAfter:     notAfter.UTC(),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  ext,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.ca.Cert, req.PublicKey, s.ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", req.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// signed returns csr with its certificate, or with the Failed condition
// when its signer's rules refuse it; nil when the signer is not ours or
// signing is off.
func (s *csrSigner) signed(csr *v1.CertificateSigningRequest) (*v1.CertificateSigningRequest, error) {
	if s.ca == nil {
		return nil, nil
	}
	req, err := parseRequest(csr)
	if err != nil {
		out := proto.Clone(csr).(*v1.CertificateSigningRequest)
		s.addCondition(out, csrFailed, "SignerValidationFailure", fmt.Sprintf("invalid certificate request: %v", err))
		return out, nil
	}
	ours, usages, verr := validFor(csr, req)
	if !ours {
		return nil, nil
	}
	out := proto.Clone(csr).(*v1.CertificateSigningRequest)
	if verr != nil {
		s.addCondition(out, csrFailed, "SignerValidationFailure", verr.Error())
		return out, nil
	}
	cert, err := s.certificate(req, usages, s.lifetime(csr))
	if err != nil {
		return nil, err
	}
	out.Status.Certificate = pki.EncodeCertPEM(cert)
	return out, nil
}

// process moves one request on: pending -> approved or denied (automatic
// approval), approved -> issued or failed. It writes with the request's
// resourceVersion, so a concurrent change (an admin's decision) wins and
// the request is looked at again on its next event.
func (s *csrSigner) process(ctx context.Context, reg *registry.Registry, k *registry.Kind, csr *v1.CertificateSigningRequest) error {
	if finished(csr) {
		return nil
	}
	name := csr.GetMetadata().GetName()
	if condition(csr, csrApproved) == nil {
		req, err := parseRequest(csr)
		if err != nil {
			return nil // an admin may still deny it; the signer fails it if approved
		}
		verdict, reason, message := decide(csr, req)
		if verdict == approvalPending {
			return nil
		}
		next := proto.Clone(csr).(*v1.CertificateSigningRequest)
		typ := csrApproved
		if verdict == approvalDeny {
			typ = csrDenied
		}
		s.addCondition(next, typ, reason, message)
		out, err := reg.UpdateStatus(ctx, k, next, registry.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("%s certificate signing request %s: %w", strings.ToLower(typ), name, err)
		}
		s.lg.Info("Decided a certificate signing request", zap.String("csr", name), zap.String("condition", typ),
			zap.String("requester", csr.GetSpec().GetUsername()), zap.String("reason", reason))
		if verdict == approvalDeny {
			return nil
		}
		csr = out.(*v1.CertificateSigningRequest)
	}
	_, err := s.issue(ctx, reg, k, csr)
	return err
}

// issue signs an approved request and stores the certificate; it returns
// the stored request (csr itself when there was nothing to do).
func (s *csrSigner) issue(ctx context.Context, reg *registry.Registry, k *registry.Kind, csr *v1.CertificateSigningRequest) (*v1.CertificateSigningRequest, error) {
	if finished(csr) || condition(csr, csrApproved) == nil {
		return csr, nil
	}
	next, err := s.signed(csr)
	if err != nil || next == nil {
		return csr, err
	}
	out, err := reg.UpdateStatus(ctx, k, next, registry.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("store the certificate of %s: %w", csr.GetMetadata().GetName(), err)
	}
	if c := condition(next, csrFailed); c != nil {
		s.lg.Info("Refused to sign a certificate signing request", zap.String("csr", csr.GetMetadata().GetName()), zap.String("message", c.GetMessage()))
	} else {
		s.lg.Info("Signed a certificate", zap.String("csr", csr.GetMetadata().GetName()), zap.String("signer", csr.GetSpec().GetSignerName()))
	}
	return out.(*v1.CertificateSigningRequest), nil
}

// run approves and signs requests until ctx ends: a list of every request,
// then the changes from a watch, and a new list every csrResync.
func (s *csrSigner) run(ctx context.Context, reg *registry.Registry) error {
	k, err := reg.Kind("certificatesigningrequests")
	if err != nil {
		return err
	}
	handle := func(obj any) {
		csr, ok := obj.(*v1.CertificateSigningRequest)
		if !ok || csr == nil {
			return
		}
		if err := s.process(ctx, reg, k, csr); err != nil && ctx.Err() == nil && !errdefs.IsConflict(err) && !errdefs.IsNotFound(err) {
			s.lg.Warn("Processing a certificate signing request failed", zap.String("csr", csr.GetMetadata().GetName()), zap.Error(err))
		}
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		objs, rev, err := reg.List(ctx, k, registry.ListOptions{})
		if err == nil {
			for _, o := range objs {
				handle(o)
			}
			err = s.watch(ctx, reg, k, rev, handle)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			continue
		}
		s.lg.Debug("Certificate signing request watch ended; listing again", zap.Error(err))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

// watch hands every changed request after rev to handle, until the watch
// ends (an error) or csrResync passes (nil).
func (s *csrSigner) watch(ctx context.Context, reg *registry.Registry, k *registry.Kind, rev int64, handle func(any)) error {
	wctx, cancel := context.WithTimeout(ctx, csrResync)
	defer cancel()
	w, err := reg.Watch(wctx, k, registry.ListOptions{ResourceVersion: rev})
	if err != nil {
		return err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == storage.Added || ev.Type == storage.Modified {
			handle(ev.Object)
		}
	}
	if wctx.Err() != nil {
		return nil
	}
	if err := w.Err(); err != nil {
		return err
	}
	return errors.New("watch closed")
}

// UpdateApproval sets the Approved or Denied condition of a request, as
// `minictl certificate approve|deny` (an admin, or the controller manager)
// asks; an approved request is signed at once.
func (a *apiService) UpdateApproval(ctx context.Context, req *v1.UpdateApprovalRequest) (*v1.UpdateApprovalResponse, error) {
	typ := req.GetType()
	if typ != csrApproved && typ != csrDenied {
		return nil, errdefs.Invalid("type: Unsupported value: %q: supported values: %q, %q", typ, csrApproved, csrDenied)
	}
	if req.GetName() == "" {
		return nil, errdefs.Invalid("name: Required value")
	}
	k, err := a.reg.Kind("certificatesigningrequests")
	if err != nil {
		return nil, err
	}
	reason, message := req.GetReason(), req.GetMessage()
	if reason == "" {
		reason = "Manual" + typ
	}
	var out *v1.CertificateSigningRequest
	for attempt := 0; ; attempt++ {
		obj, err := a.reg.Get(ctx, k, "", req.GetName())
		if err != nil {
			return nil, err
		}
		csr := proto.Clone(obj).(*v1.CertificateSigningRequest)
		other := csrDenied
		if typ == csrDenied {
			other = csrApproved
		}
		if condition(csr, other) != nil {
			return nil, errdefs.Invalid("CertificateSigningRequest %q is invalid: status.conditions: Invalid value: %q: %s and %s conditions are mutually exclusive; the request is already %s",
				req.GetName(), typ, csrApproved, csrDenied, strings.ToLower(other))
		}
		if condition(csr, typ) != nil {
			out = csr
			break
		}
		a.s.csr.addCondition(csr, typ, reason, message)
		stored, err := a.reg.UpdateStatus(ctx, k, csr, registry.UpdateOptions{})
		if errdefs.IsConflict(err) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = stored.(*v1.CertificateSigningRequest)
		break
	}
	if typ == csrApproved {
		for attempt := 0; ; attempt++ {
			issued, err := a.s.csr.issue(ctx, a.reg, k, out)
			if err == nil {
				out = issued
				break
			}
			if !errdefs.IsConflict(err) || attempt >= 5 {
				return nil, err
			}
			obj, gerr := a.reg.Get(ctx, k, "", req.GetName())
			if gerr != nil {
				return nil, gerr
			}
			out = obj.(*v1.CertificateSigningRequest)
		}
	}
	return &v1.UpdateApprovalResponse{Csr: out}, nil
}
