package certificate

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// fakeCSRs is an apiserver's CSR API: requests are signed at once by ca
// with a lifetime of life (unless hold is set), or denied when deny is set.
type fakeCSRs struct {
	t     *testing.T
	ca    *pki.KeyPair
	clock clockwork.Clock
	life  time.Duration

	mu       sync.Mutex
	hold     bool
	deny     bool
	failNext int
	created  []string
	byName   map[string]*v1.CertificateSigningRequest
	n        int
}

func newFakeCSRs(t *testing.T, clock clockwork.Clock, life time.Duration) *fakeCSRs {
	ca, err := pki.NewCA(pki.CertConfig{CommonName: "kubernetes", Now: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeCSRs{t: t, ca: ca, clock: clock, life: life, byName: map[string]*v1.CertificateSigningRequest{}}
}

func (f *fakeCSRs) Create(_ context.Context, csr *v1.CertificateSigningRequest) (*v1.CertificateSigningRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext > 0 {
		f.failNext--
		return nil, errdefs.Unavailable("apiserver away")
	}
	csr = proto.Clone(csr).(*v1.CertificateSigningRequest)
	name := csr.GetMetadata().GetName()
	if name == "" {
		f.n++
		name = fmt.Sprintf("%s%d", csr.GetMetadata().GetGenerateName(), f.n)
		csr.Metadata.Name = name
	}
	if _, ok := f.byName[name]; ok {
		return nil, errdefs.AlreadyExists("certificatesigningrequests %q already exists", name)
	}
	if csr.GetSpec().GetSignerName() != SignerKubeletClient {
		f.t.Errorf("signer %q", csr.GetSpec().GetSignerName())
	}
	f.created = append(f.created, name)
	f.byName[name] = csr
	f.decide(csr)
	return proto.Clone(csr).(*v1.CertificateSigningRequest), nil
}

func (f *fakeCSRs) decide(csr *v1.CertificateSigningRequest) {
	if f.hold {
		return
	}
	csr.Status = &v1.CertificateSigningRequestStatus{}
	if f.deny {
		csr.Status.Conditions = []*v1.Condition{{Type: "Denied", Status: "True", Reason: "NodeNameMismatch", Message: "no"}}
		return
	}
	req, err := pki.ParseCSR(csr.GetSpec().GetRequest())
	if err != nil {
		f.t.Errorf("parse request: %v", err)
		return
	}
	cert, err := pki.SignCSR(f.ca, req, pki.UsageClient, f.life, f.clock.Now())
	if err != nil {
		f.t.Errorf("sign: %v", err)
		return
	}
	csr.Status.Conditions = []*v1.Condition{{Type: "Approved", Status: "True"}}
	csr.Status.Certificate = pki.EncodeCertPEM(cert)
}

// release signs what was held.
func (f *fakeCSRs) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = false
	for _, csr := range f.byName {
		if csr.GetStatus() == nil {
			f.decide(csr)
		}
	}
}

func (f *fakeCSRs) Get(_ context.Context, _, name string) (*v1.CertificateSigningRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	csr, ok := f.byName[name]
	if !ok {
		return nil, errdefs.NotFound("certificatesigningrequests %q not found", name)
	}
	return proto.Clone(csr).(*v1.CertificateSigningRequest), nil
}

func (f *fakeCSRs) createdNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.created...)
}

// setup writes a bootstrap kubeconfig trusting f's CA into a fresh
// directory and returns the bootstrap configuration.
func setup(t *testing.T, f *fakeCSRs) BootstrapConfig {
	dir := t.TempDir()
	boot := filepath.Join(dir, "bootstrap-kubelet.conf")
	if err := kubeconfig.Write(boot, kubeconfig.NewToken("https://127.0.0.1:6443", f.ca.CertPEM(), "tls-bootstrap-token-user", "abcdef.0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	return BootstrapConfig{
		NodeName:                "node-1",
		KubeconfigPath:          filepath.Join(dir, "kubelet.conf"),
		BootstrapKubeconfigPath: boot,
		CertDir:                 filepath.Join(dir, "pki"),
		PollInterval:            5 * time.Millisecond,
		NewClient: func(path string) (CSRClient, func() error, error) {
			if path != boot {
				t.Errorf("client from %s, want the bootstrap kubeconfig", path)
			}
			return f, func() error { return nil }, nil
		},
		Clock:  f.clock,
		Logger: zaptest.NewLogger(t),
	}
}

func clientCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	kc, err := kubeconfig.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.TLSConfig(); err != nil {
		t.Fatal(err)
	}
	return kc.ClientCertificate()
}

func TestLoadOrBootstrap(t *testing.T) {
	clock := clockwork.NewRealClock()
	f := newFakeCSRs(t, clock, time.Hour)
	cfg := setup(t, f)
	ctx := context.Background()

	if err := LoadOrBootstrap(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cert := clientCert(t, cfg.KubeconfigPath)
	if cert.Subject.CommonName != "system:node:node-1" || strings.Join(cert.Subject.Organization, ",") != "system:nodes" {
		t.Errorf("subject %v", cert.Subject)
	}
	if !UsesStore(cfg.KubeconfigPath, cfg.CertDir) {
		t.Error("kubelet.conf does not reference the stored certificate")
	}
	names := f.createdNames()
	if len(names) != 1 || !strings.HasPrefix(names[0], "node-csr-") {
		t.Errorf("requests %v", names)
	}
	// Layout: a dated file, the current link, no leftover key; 0600.
	entries, _ := os.ReadDir(cfg.CertDir)
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	if len(files) != 2 || files[1] != "kubelet-client-current.pem" || !strings.HasPrefix(files[0], "kubelet-client-") {
		t.Errorf("files %v", files)
	}
	target, err := os.Readlink(filepath.Join(cfg.CertDir, "kubelet-client-current.pem"))
	if err != nil || target != files[0] {
		t.Errorf("link -> %q (%v)", target, err)
	}
	if st, err := os.Stat(filepath.Join(cfg.CertDir, files[0])); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v)", st.Mode(), err)
	}

	// A restart with a usable kubelet.conf asks for nothing.
	if err := LoadOrBootstrap(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// A lost kubelet.conf is written again from the store.
	if err := os.Remove(cfg.KubeconfigPath); err != nil {
		t.Fatal(err)
	}
	if err := LoadOrBootstrap(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if got := clientCert(t, cfg.KubeconfigPath); !got.Equal(cert) {
		t.Error("the rewritten kubelet.conf holds another certificate")
	}
	if n := len(f.createdNames()); n != 1 {
		t.Errorf("%d requests after restarts, want 1", n)
	}
}

func TestBootstrapAgainWhenExpired(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	f := newFakeCSRs(t, clock, time.Hour)
	cfg := setup(t, f)
	if err := LoadOrBootstrap(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	first := clientCert(t, cfg.KubeconfigPath)
	clock.Advance(2 * time.Hour)
	if err := LoadOrBootstrap(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	second := clientCert(t, cfg.KubeconfigPath)
	if second.Equal(first) || !clock.Now().Before(second.NotAfter) {
		t.Errorf("expired certificate not replaced: %v -> %v", first.NotAfter, second.NotAfter)
	}
	if n := len(f.createdNames()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestBootstrapDeniedOrNotApproved(t *testing.T) {
	clock := clockwork.NewRealClock()
	f := newFakeCSRs(t, clock, time.Hour)
	f.deny = true
	cfg := setup(t, f)
	err := LoadOrBootstrap(context.Background(), cfg)
	if !errdefs.IsForbidden(err) || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("denied: %v", err)
	}
	if _, err := os.Stat(cfg.KubeconfigPath); !os.IsNotExist(err) {
		t.Error("kubelet.conf written after a denial")
	}

	f = newFakeCSRs(t, clock, time.Hour)
	f.hold = true
	cfg = setup(t, f)
	cfg.WaitTimeout = 50 * time.Millisecond
	err = LoadOrBootstrap(context.Background(), cfg)
	if errdefs.ClassOf(err) != errdefs.ClassTimeout || !strings.Contains(err.Error(), "minictl certificate approve") {
		t.Fatalf("not approved: %v", err)
	}
	// The restarted kubelet asks with the same key: it finds its request,
	// which an admin has approved meanwhile.
	f.release()
	if err := LoadOrBootstrap(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if names := f.createdNames(); len(names) != 1 {
		t.Errorf("requests %v, want the one", names)
	}
	if _, err := os.Stat(filepath.Join(cfg.CertDir, pendingKeyFile)); !os.IsNotExist(err) {
		t.Error("the pending key was left behind")
	}
}

func TestBootstrapNeedsBootstrapKubeconfig(t *testing.T) {
	f := newFakeCSRs(t, clockwork.NewRealClock(), time.Hour)
	cfg := setup(t, f)
	cfg.BootstrapKubeconfigPath = filepath.Join(t.TempDir(), "missing.conf")
	if err := LoadOrBootstrap(context.Background(), cfg); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "--bootstrap-kubeconfig") {
		t.Fatalf("got %v", err)
	}
}

func TestRotationDeadline(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := &x509.Certificate{NotBefore: start, NotAfter: start.Add(100 * time.Hour)}
	tests := []struct {
		jitter float64
		want   time.Duration
	}{
		{0, 70 * time.Hour},
		{0.5, 80 * time.Hour},
		{0.999999, 90 * time.Hour},
	}
	for _, tt := range tests {
		got := RotationDeadline(cert, tt.jitter).Sub(start)
		if d := got - tt.want; d < -time.Second || d > time.Second {
			t.Errorf("jitter %v: %v, want %v", tt.jitter, got, tt.want)
		}
	}
}

func TestManagerRotates(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	f := newFakeCSRs(t, clock, 95*time.Minute) // with 5 minutes backdated: 100 minutes
	cfg := setup(t, f)
	if err := LoadOrBootstrap(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	reloader, err := pki.NewCertReloader(ClientStore(cfg.CertDir).CurrentPath(), ClientStore(cfg.CertDir).CurrentPath())
	if err != nil {
		t.Fatal(err)
	}
	first, _ := reloader.Certificate()
	reg := prometheus.NewRegistry()
	m, err := NewManager(ManagerConfig{
		NodeName: "node-1", CertDir: cfg.CertDir, CSRs: f, PollInterval: time.Millisecond,
		Jitter: func() float64 { return 0.5 }, Registerer: reg, Clock: clock, Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := RotationDeadline(m.Current(), 0.5)
	if got := deadline.Sub(clock.Now()); got != 75*time.Minute {
		t.Fatalf("first rotation in %v, want 75m (80%% of 100m after NotBefore)", got)
	}
	f.mu.Lock()
	f.failNext = 1 // the first renewal fails and is retried
	f.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	block := func() {
		t.Helper()
		bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
		defer bcancel()
		if err := clock.BlockUntilContext(bctx, 1); err != nil {
			t.Fatalf("the manager is not waiting: %v", err)
		}
	}
	block()
	clock.Advance(75*time.Minute - time.Second)
	if n := len(f.createdNames()); n != 1 {
		t.Fatalf("renewed before the deadline (%d requests)", n)
	}
	clock.Advance(time.Second) // deadline: the renewal fails, retried after 1s
	block()
	clock.Advance(time.Second)
	waitFor(t, func() bool { return !m.Current().Equal(first.Leaf) })
	second, err := reloader.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	if second.Leaf.Equal(first.Leaf) || !second.Leaf.Equal(m.Current()) {
		t.Error("the reloader did not pick up the rotated certificate")
	}
	if got := second.Leaf.Subject.CommonName; got != "system:node:node-1" {
		t.Errorf("rotated certificate for %q", got)
	}
	names := f.createdNames()
	if len(names) != 2 || !strings.HasPrefix(names[1], "csr-") {
		t.Errorf("requests %v", names)
	}
	if got := gathered(t, reg, "kubelet_certificate_manager_client_expiration_renew_errors"); got != 1 {
		t.Errorf("renew errors %v, want 1", got)
	}
	if got := gathered(t, reg, "kubelet_certificate_manager_client_ttl_seconds"); got < 94*60 {
		t.Errorf("ttl %v after the rotation", got)
	}
	// The next rotation is due relative to the new certificate.
	block()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetGauge() != nil {
			return m.GetGauge().GetValue()
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}
