package apiserver

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
)

// tokenSecret is a bootstrap-token Secret as `minictl token create` writes it.
func tokenSecret(id, secret string, expires time.Time, extra ...string) *v1.Secret {
	data := map[string][]byte{
		BootstrapTokenIDKey:               []byte(id),
		BootstrapTokenSecretKey:           []byte(secret),
		BootstrapTokenUsageAuthentication: []byte("true"),
		BootstrapTokenUsageSigning:        []byte("true"),
	}
	if !expires.IsZero() {
		data[BootstrapTokenExpirationKey] = []byte(expires.UTC().Format(time.RFC3339))
	}
	if len(extra) > 0 {
		data[BootstrapTokenExtraGroupsKey] = []byte(strings.Join(extra, ","))
	}
	return &v1.Secret{
		Metadata: &v1.ObjectMeta{Name: BootstrapTokenSecretPrefix + id, Namespace: BootstrapTokenNamespace},
		Type:     BootstrapTokenSecretType,
		Data:     data,
	}
}

func TestBootstrapTokenAuthenticator(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	secrets := map[string]*v1.Secret{}
	add := func(s *v1.Secret) { secrets[s.GetMetadata().GetName()] = s }
	add(tokenSecret("abcdef", "0123456789abcdef", now.Add(time.Hour), "system:bootstrappers:kubeadm:default-node-token"))
	add(tokenSecret("expire", "0123456789abcdef", now.Add(-time.Second)))
	add(tokenSecret("never0", "0123456789abcdef", time.Time{}))
	noAuth := tokenSecret("noauth", "0123456789abcdef", time.Time{})
	delete(noAuth.Data, BootstrapTokenUsageAuthentication)
	add(noAuth)
	wrongType := tokenSecret("wrongt", "0123456789abcdef", time.Time{})
	wrongType.Type = "Opaque"
	add(wrongType)
	badGroup := tokenSecret("badgrp", "0123456789abcdef", time.Time{}, "system:masters")
	add(badGroup)
	misnamed := tokenSecret("aaaaaa", "0123456789abcdef", time.Time{})
	misnamed.Metadata.Name = BootstrapTokenSecretPrefix + "bbbbbb"
	add(misnamed)
	deleting := tokenSecret("delete", "0123456789abcdef", time.Time{})
	deleting.Metadata.DeletionTimestamp = timestamppb.New(now)
	add(deleting)

	get := func(_ context.Context, ns, name string) (*v1.Secret, error) {
		if ns != BootstrapTokenNamespace {
			t.Errorf("read namespace %q", ns)
		}
		s, ok := secrets[name]
		if !ok {
			return nil, errdefs.NotFound("secrets %q not found", name)
		}
		return s, nil
	}
	reg := prometheus.NewRegistry()
	b, err := newBootstrapTokens(get, func() time.Time { return now }, zap.NewNop(), reg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		token      string
		wantUser   string
		wantGroups string
	}{
		{"valid", "abcdef.0123456789abcdef", "system:bootstrap:abcdef", "system:bootstrappers,system:bootstrappers:kubeadm:default-node-token"},
		{"never expires", "never0.0123456789abcdef", "system:bootstrap:never0", "system:bootstrappers"},
		{"wrong secret", "abcdef.0123456789abcdeX", "", ""},
		{"wrong secret same length", "abcdef.0123456789abcdee", "", ""},
		{"unknown id", "zzzzzz.0123456789abcdef", "", ""},
		{"expired", "expire.0123456789abcdef", "", ""},
		{"not for authentication", "noauth.0123456789abcdef", "", ""},
		{"not a token secret", "wrongt.0123456789abcdef", "", ""},
		{"extra group outside system:bootstrappers", "badgrp.0123456789abcdef", "", ""},
		{"secret name does not match its id", "bbbbbb.0123456789abcdef", "", ""},
		{"being deleted", "delete.0123456789abcdef", "", ""},
		{"malformed", "not-a-token", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := b.AuthenticateToken(context.Background(), tt.token)
			if tt.wantUser == "" {
				if !errdefs.IsUnauthenticated(err) {
					t.Fatalf("got %v, %v; want Unauthenticated", u, err)
				}
				if err.Error() != "invalid bootstrap token" {
					t.Errorf("message %q tells more than that the token is invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Name != tt.wantUser || strings.Join(u.Groups, ",") != tt.wantGroups {
				t.Errorf("got %s %v", u.Name, u.Groups)
			}
		})
	}
	if got := counterValue(t, b.attempts.WithLabelValues("success")); got != 2 {
		t.Errorf("success count %v", got)
	}
	if got := counterValue(t, b.attempts.WithLabelValues("failure")); got != float64(len(tests)-2) {
		t.Errorf("failure count %v", got)
	}
}

// bearer sends a token on every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }

var _ credentials.PerRPCCredentials = bearer("")

// tokenClient is an API client authenticated by a bearer token only.
func (e *testEnv) tokenClient(token string) v1.APIClient {
	e.t.Helper()
	cc, err := grpc.NewClient(e.srv.Addr(),
		grpc.WithTransportCredentials(credentials.NewTLS(pki.ClientTLSConfig(e.ca.CertPool(), nil, "127.0.0.1"))),
		grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cc.Close() })
	return v1.NewAPIClient(cc)
}

func createSecret(t *testing.T, c v1.APIClient, s *v1.Secret) {
	t.Helper()
	if _, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "secrets", Object: wrap(t, s)}); err != nil {
		t.Fatalf("create secret: %v", err)
	}
}

func nodeCSR(t *testing.T, name, cn string, orgs ...string) *v1.CertificateSigningRequest {
	t.Helper()
	key, err := pki.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	req, err := pki.NewCSR(key, cn, orgs, pki.AltNames{})
	if err != nil {
		t.Fatal(err)
	}
	return &v1.CertificateSigningRequest{
		Metadata: &v1.ObjectMeta{Name: name},
		Spec: &v1.CertificateSigningRequestSpec{
			Request: req, SignerName: SignerKubeletClient, Usages: []string{"digital signature", "client auth"},
			// A client cannot choose who it is: these are overwritten.
			Username: "kubernetes-admin", Groups: []string{"system:masters"},
		},
	}
}

func createCSR(t *testing.T, c v1.APIClient, csr *v1.CertificateSigningRequest) (*v1.CertificateSigningRequest, error) {
	t.Helper()
	resp, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "certificatesigningrequests", Object: wrap(t, csr)})
	if err != nil {
		return nil, err
	}
	return unwrap[*v1.CertificateSigningRequest](t, resp.GetObject()), nil
}

func getCSR(t *testing.T, c v1.APIClient, name string) (*v1.CertificateSigningRequest, error) {
	t.Helper()
	resp, err := c.Get(ctxT(t), &v1.GetRequest{Resource: "certificatesigningrequests", Name: name})
	if err != nil {
		return nil, err
	}
	return unwrap[*v1.CertificateSigningRequest](t, resp.GetObject()), nil
}

// waitCSR polls a request until done accepts it.
func waitCSR(t *testing.T, c v1.APIClient, name string, done func(*v1.CertificateSigningRequest) bool) *v1.CertificateSigningRequest {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		csr, err := getCSR(t, c, name)
		if err != nil {
			t.Fatalf("get csr %s: %v", name, err)
		}
		if done(csr) {
			return csr
		}
		if time.Now().After(deadline) {
			t.Fatalf("csr %s: not done after 30s: %v", name, csr.GetStatus())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func issued(csr *v1.CertificateSigningRequest) bool { return len(csr.GetStatus().GetCertificate()) > 0 }

func TestTLSBootstrapThroughTheAPI(t *testing.T) {
	e := startEnv(t, func(c *Config) { c.EnableBootstrapTokenAuth = true; c.ClusterSigningDuration = time.Hour })
	admin := e.admin()
	createSecret(t, admin, tokenSecret("abcdef", "0123456789abcdef", time.Now().Add(time.Hour)))
	createSecret(t, admin, tokenSecret("expire", "0123456789abcdef", time.Now().Add(-time.Minute)))
	boot := e.tokenClient("abcdef.0123456789abcdef")

	// A bootstrapper's request for a node client certificate is approved
	// and signed; the requester is who the token says.
	csr, err := createCSR(t, boot, nodeCSR(t, "node-csr-a", "system:node:a", "system:nodes"))
	if err != nil {
		t.Fatal(err)
	}
	if csr.GetSpec().GetUsername() != "system:bootstrap:abcdef" || strings.Join(csr.GetSpec().GetGroups(), ",") != "system:bootstrappers" {
		t.Errorf("requester %s %v", csr.GetSpec().GetUsername(), csr.GetSpec().GetGroups())
	}
	csr = waitCSR(t, boot, "node-csr-a", issued)
	if c := condition(csr, csrApproved); c == nil || c.GetReason() != "AutoApproved" {
		t.Errorf("conditions %v", csr.GetStatus().GetConditions())
	}
	cert, err := pki.ParseCertPEM(csr.GetStatus().GetCertificate())
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.VerifySignedBy(cert, e.ca.Cert, pki.UsageClient, time.Now()); err != nil {
		t.Error(err)
	}
	if cert.Subject.CommonName != "system:node:a" || strings.Join(cert.Subject.Organization, ",") != "system:nodes" {
		t.Errorf("subject %v", cert.Subject)
	}
	if life := cert.NotAfter.Sub(time.Now()); life > time.Hour || life < 59*time.Minute {
		t.Errorf("lifetime %v, want --cluster-signing-duration 1h", life)
	}
	if pki.UsageOf(cert) != pki.UsageClient || cert.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Errorf("usages %v %v", pki.UsageOf(cert), cert.KeyUsage)
	}

	// A bootstrapper may do nothing else.
	_, err = boot.Get(ctxT(t), &v1.GetRequest{Resource: "secrets", Namespace: "kube-system", Name: "bootstrap-token-abcdef"})
	wantCode(t, err, codes.PermissionDenied, "")
	_, err = boot.List(ctxT(t), &v1.ListRequest{Resource: "nodes"})
	wantCode(t, err, codes.PermissionDenied, "")
	_, err = boot.UpdateApproval(ctxT(t), &v1.UpdateApprovalRequest{Name: "node-csr-a", Type: "Approved"})
	wantCode(t, err, codes.PermissionDenied, "")

	// A node renews its own certificate; it is denied another node's.
	nodeA := e.client("system:node:a", "system:nodes")
	if _, err := createCSR(t, nodeA, nodeCSR(t, "renew-a", "system:node:a", "system:nodes")); err != nil {
		t.Fatal(err)
	}
	waitCSR(t, nodeA, "renew-a", issued)
	if _, err := createCSR(t, nodeA, nodeCSR(t, "steal-b", "system:node:b", "system:nodes")); err != nil {
		t.Fatal(err)
	}
	stolen := waitCSR(t, admin, "steal-b", func(c *v1.CertificateSigningRequest) bool { return condition(c, csrDenied) != nil })
	if issued(stolen) {
		t.Error("a denied request got a certificate")
	}
	// ... and cannot read the requests of others.
	_, err = getCSR(t, nodeA, "node-csr-a")
	wantCode(t, err, codes.PermissionDenied, "")

	// A request that is no node's client certificate waits for an admin.
	odd := nodeCSR(t, "odd", "jane", "developers")
	odd.Spec.SignerName = SignerAPIServerClient
	if _, err := createCSR(t, boot, odd); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the approver had its chance
	if got, _ := getCSR(t, admin, "odd"); len(got.GetStatus().GetConditions()) != 0 {
		t.Fatalf("odd request decided automatically: %v", got.GetStatus())
	}
	resp, err := admin.UpdateApproval(ctxT(t), &v1.UpdateApprovalRequest{Name: "odd", Type: "Approved", Reason: "KubectlApprove"})
	if err != nil {
		t.Fatal(err)
	}
	if !issued(resp.GetCsr()) {
		t.Errorf("approval did not sign at once: %v", resp.GetCsr().GetStatus())
	}
	_, err = admin.UpdateApproval(ctxT(t), &v1.UpdateApprovalRequest{Name: "odd", Type: "Denied"})
	wantCode(t, err, codes.InvalidArgument, "already approved")

	// Wrong, expired and deleted tokens are refused.
	for _, tok := range []string{"abcdef.0123456789abcdeX", "expire.0123456789abcdef", "zzzzzz.0123456789abcdef"} {
		_, err := createCSR(t, e.tokenClient(tok), nodeCSR(t, "x", "system:node:x", "system:nodes"))
		wantCode(t, err, codes.Unauthenticated, "invalid bootstrap token")
	}
	if _, err := admin.Delete(ctxT(t), &v1.DeleteRequest{Resource: "secrets", Namespace: "kube-system", Name: "bootstrap-token-abcdef"}); err != nil {
		t.Fatal(err)
	}
	_, err = createCSR(t, boot, nodeCSR(t, "y", "system:node:y", "system:nodes"))
	wantCode(t, err, codes.Unauthenticated, "")
}

func TestBootstrapTokensOffByDefault(t *testing.T) {
	e := startEnv(t)
	createSecret(t, e.admin(), tokenSecret("abcdef", "0123456789abcdef", time.Time{}))
	_, err := createCSR(t, e.tokenClient("abcdef.0123456789abcdef"), nodeCSR(t, "x", "system:node:x", "system:nodes"))
	wantCode(t, err, codes.Unauthenticated, "not accepted")
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
