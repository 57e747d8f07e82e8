package certificate

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
)

// Names of the node client certificate request, as Kubernetes'.
const (
	// SignerKubeletClient signs kubelet client certificates.
	SignerKubeletClient = "kubernetes.io/kube-apiserver-client-kubelet"
	// NodesGroup is the organization of a node certificate.
	NodesGroup = "system:nodes"
	// NodeUserPrefix prefixes the node name in the common name.
	NodeUserPrefix = "system:node:"
)

// Defaults of the wait for a certificate.
const (
	DefaultWaitTimeout  = 15 * time.Minute
	DefaultPollInterval = time.Second
)

// CSRClient is what the kubelet needs of the apiserver to obtain a
// certificate; pkg/client's CSRs() implements it.
type CSRClient interface {
	Create(ctx context.Context, csr *v1.CertificateSigningRequest) (*v1.CertificateSigningRequest, error)
	Get(ctx context.Context, namespace, name string) (*v1.CertificateSigningRequest, error)
}

// requester submits a request for a node client certificate and waits for
// the signed certificate.
type requester struct {
	csrs     CSRClient
	nodeName string
	clock    clockwork.Clock
	timeout  time.Duration
	poll     time.Duration
	lg       *zap.Logger
}

func (r *requester) defaults() {
	if r.clock == nil {
		r.clock = clockwork.NewRealClock()
	}
	if r.timeout <= 0 {
		r.timeout = DefaultWaitTimeout
	}
	if r.poll <= 0 {
		r.poll = DefaultPollInterval
	}
	if r.lg == nil {
		r.lg = zap.NewNop()
	}
}

// digestedName is a request name derived from what is asked for (key,
// subject, usages), as the kubelet's bootstrap names its request
// "node-csr-<digest>" (in lower-case hex: names are DNS subdomains here): a
// restarted kubelet asking again with the same key
// finds its request instead of making another.
func digestedName(der []byte, usages []string) string {
	h := sha256.New()
	h.Write(der)
	for _, u := range usages {
		h.Write([]byte{0})
		h.Write([]byte(u))
	}
	return "node-csr-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// request asks for a certificate for key and returns its PEM once it is
// issued. name is the request's name; empty means a generated "csr-" name.
func (r *requester) request(ctx context.Context, key crypto.Signer, name string) ([]byte, error) {
	r.defaults()
	cn := NodeUserPrefix + r.nodeName
	reqPEM, err := pki.NewCSR(key, cn, []string{NodesGroup}, pki.AltNames{})
	if err != nil {
		return nil, err
	}
	usages := []string{"digital signature", "client auth"}
	md := &v1.ObjectMeta{Name: name}
	if name == "" {
		md.GenerateName = "csr-"
	}
	csr := &v1.CertificateSigningRequest{
		ApiVersion: "certificates.k8s.io/v1",
		Kind:       "CertificateSigningRequest",
		Metadata:   md,
		Spec:       &v1.CertificateSigningRequestSpec{Request: reqPEM, SignerName: SignerKubeletClient, Usages: usages},
	}
	created, err := r.csrs.Create(ctx, csr)
	if errdefs.IsAlreadyExists(err) && name != "" {
		created, err = r.csrs.Get(ctx, "", name)
	}
	if err != nil {
		return nil, fmt.Errorf("submit certificate signing request for %s: %w", cn, err)
	}
	name = created.GetMetadata().GetName()
	r.lg.Info("Submitted a certificate signing request", zap.String("csr", name), zap.String("subject", cn))

	deadline := r.clock.Now().Add(r.timeout)
	for {
		if certPEM, done, err := r.check(created, key, cn); done {
			return certPEM, err
		}
		if !r.clock.Now().Before(deadline) {
			return nil, errdefs.Wrap(errdefs.ClassTimeout, context.DeadlineExceeded,
				fmt.Sprintf("certificate signing request %s was not approved and issued within %s; approve it with `minictl certificate approve %s`", name, r.timeout, name))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.clock.After(r.poll):
		}
		got, err := r.csrs.Get(ctx, "", name)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errdefs.IsNotFound(err) {
				return nil, fmt.Errorf("certificate signing request %s was deleted", name)
			}
			r.lg.Debug("Reading the certificate signing request failed; retrying", zap.String("csr", name), zap.Error(err))
			continue
		}
		created = got
	}
}

// check looks at a request: done with the certificate, done with an error
// (denied, failed, a certificate that is not for our key), or not done.
func (r *requester) check(csr *v1.CertificateSigningRequest, key crypto.Signer, cn string) ([]byte, bool, error) {
	name := csr.GetMetadata().GetName()
	for _, c := range csr.GetStatus().GetConditions() {
		switch c.GetType() {
		case "Denied":
			return nil, true, errdefs.Forbidden("certificate signing request %s was denied: %s %s", name, c.GetReason(), c.GetMessage())
		case "Failed":
			return nil, true, errdefs.Invalid("certificate signing request %s failed: %s %s", name, c.GetReason(), c.GetMessage())
		}
	}
	certPEM := csr.GetStatus().GetCertificate()
	if len(certPEM) == 0 {
		return nil, false, nil
	}
	certs, err := pki.ParseCertsPEM(certPEM)
	if err != nil {
		return nil, true, fmt.Errorf("certificate of %s: %w", name, err)
	}
	if err := checkIssued(certs[0], key, cn, r.clock.Now()); err != nil {
		return nil, true, fmt.Errorf("certificate of %s: %w", name, err)
	}
	r.lg.Info("Received a certificate", zap.String("csr", name), zap.Time("notAfter", certs[0].NotAfter))
	return certPEM, true, nil
}

// checkIssued checks that cert is for key and for the node, and valid now.
func checkIssued(cert *x509.Certificate, key crypto.Signer, cn string, now time.Time) error {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("it is not for the key of the request")
	}
	if cert.Subject.CommonName != cn {
		return fmt.Errorf("it is for %q, not %q", cert.Subject.CommonName, cn)
	}
	return usable(cert, now)
}
