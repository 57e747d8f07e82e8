package kubeadm

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// discoveryServer serves cluster-info over TLS with a certificate of
// serving's CA, and records whether any call carried credentials.
type discoveryServer struct {
	v1.UnimplementedDiscoveryServer
	addr string
	cm   *v1.ConfigMap

	mu          sync.Mutex
	calls       int
	credentials int
}

func (s *discoveryServer) GetClusterInfo(ctx context.Context, _ *v1.GetClusterInfoRequest) (*v1.GetClusterInfoResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("authorization")) > 0 {
		s.credentials++
	}
	return &v1.GetClusterInfoResponse{ConfigMap: s.cm}, nil
}

func (s *discoveryServer) seen() (calls, withCredentials int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.credentials
}

// startDiscovery serves cm on 127.0.0.1 with a serving certificate signed
// by servingCA.
func startDiscovery(t *testing.T, servingCA *pki.KeyPair, cm *v1.ConfigMap) *discoveryServer {
	t.Helper()
	serving, err := pki.NewCert(servingCA, pki.CertConfig{CommonName: "kube-apiserver", Usages: pki.UsageServer,
		AltNames: pki.AltNames{IPs: []net.IP{net.ParseIP("127.0.0.1")}}})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(pki.ServerTLSConfig(nil, serving.TLSCertificate(), false))))
	ds := &discoveryServer{addr: lis.Addr().String(), cm: cm}
	v1.RegisterDiscoveryServer(srv, ds)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return ds
}

type joinFixture struct {
	ca    *pki.KeyPair
	token pki.Token
	cm    *v1.ConfigMap
}

func newJoinFixture(t *testing.T) *joinFixture {
	t.Helper()
	ca, err := pki.NewCA(pki.CertConfig{CommonName: "kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	tok := pki.Token{ID: "abcdef", Secret: "0123456789abcdef"}
	cm, err := ClusterInfo("https://10.10.10.100:6443", ca.CertPEM())
	if err != nil {
		t.Fatal(err)
	}
	if err := SignClusterInfo(cm, tok); err != nil {
		t.Fatal(err)
	}
	return &joinFixture{ca: ca, token: tok, cm: cm}
}

func runJoinCmd(t *testing.T, e env, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newJoinCommand(&out, e)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestJoinDiscovery(t *testing.T) {
	fx := newJoinFixture(t)
	ds := startDiscovery(t, fx.ca, fx.cm)
	dir := t.TempDir()
	out, err := runJoinCmd(t, testEnv(t), ds.addr, "--token", fx.token.String(),
		"--discovery-token-ca-cert-hash", pki.CAHash(fx.ca.Cert), "--node-name", "Node-2", "--kubeconfig-dir", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"[preflight] Running pre-flight checks\n",
		`[discovery] Trying to connect to API Server "` + ds.addr + `"`,
		`[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server "` + ds.addr + `"`,
		"--bootstrap-kubeconfig=" + filepath.Join(dir, "bootstrap-kubelet.conf") + " --kubeconfig=" + filepath.Join(dir, "kubelet.conf") + " --hostname-override=node-2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	kc, err := kubeconfig.Load(filepath.Join(dir, "bootstrap-kubelet.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if kc.Token() != fx.token.String() || kc.Server() != "https://"+ds.addr || kc.User() != BootstrapTokenUser {
		t.Errorf("bootstrap-kubelet.conf: token %q server %q user %q", kc.Token(), kc.Server(), kc.User())
	}
	if _, err := kc.TLSConfig(); err != nil {
		t.Error(err)
	}
	certs, err := pki.ReadCertFile(filepath.Join(dir, "pki", "ca.crt"))
	if err != nil || !certs[0].Equal(fx.ca.Cert) {
		t.Errorf("pki/ca.crt: %v", err)
	}
	if calls, creds := ds.seen(); calls != 2 || creds != 0 {
		t.Errorf("discovery made %d calls, %d with credentials; want 2 without", calls, creds)
	}
}

func TestJoinRefusesBeforeSendingTheToken(t *testing.T) {
	fx := newJoinFixture(t)
	other, err := pki.NewCA(pki.CertConfig{CommonName: "impostor"})
	if err != nil {
		t.Fatal(err)
	}
	// A server with a certificate of another CA that replays the real,
	// correctly signed cluster-info.
	mitm := startDiscovery(t, other, fx.cm)
	honest := startDiscovery(t, fx.ca, fx.cm)
	tests := []struct {
		name   string
		server *discoveryServer
		token  string
		hash   string
		want   string
		class  errdefs.Class
	}{
		{"wrong CA hash", honest, fx.token.String(), pki.CAHash(other.Cert), "the CA check failed", errdefs.ClassUnauthenticated},
		{"wrong token secret", honest, "abcdef.0123456789abcdex", pki.CAHash(fx.ca.Cert), "the token check failed", errdefs.ClassUnauthenticated},
		{"server without the pinned CA's certificate", mitm, fx.token.String(), pki.CAHash(fx.ca.Cert), "the TLS check failed", errdefs.ClassUnauthenticated},
		{"token unknown to the cluster", honest, "zzzzzz.0123456789abcdef", pki.CAHash(fx.ca.Cert), "no JWS signed token", errdefs.ClassTimeout},
		{"malformed hash", honest, fx.token.String(), "sha256:beef", "discovery-token-ca-cert-hash", errdefs.ClassInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			before, _ := tt.server.seen()
			out, err := runJoinCmd(t, testEnv(t), tt.server.addr, "--token", tt.token,
				"--discovery-token-ca-cert-hash", tt.hash, "--node-name", "n", "--kubeconfig-dir", dir, "--discovery-timeout", "10s")
			if err == nil || !strings.Contains(err.Error(), tt.want) || errdefs.ClassOf(err) != tt.class {
				t.Fatalf("err = %v (class %v), want %v with %q\n%s", err, errdefs.ClassOf(err), tt.class, tt.want, out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("join wrote %d entries after a failed check", len(entries))
			}
			if after, creds := tt.server.seen(); creds != 0 || (tt.class != errdefs.ClassInvalid && after == before) {
				t.Errorf("calls %d -> %d, %d with credentials", before, after, creds)
			}
		})
	}
}

func TestJoinFlagsAndPreflight(t *testing.T) {
	fx := newJoinFixture(t)
	hash := pki.CAHash(fx.ca.Cert)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no endpoint port", []string{"10.0.0.1", "--token", fx.token.String(), "--discovery-token-ca-cert-hash", hash}, "is not host:port"},
		{"no token", []string{"10.0.0.1:6443", "--discovery-token-ca-cert-hash", hash}, "--token is required"},
		{"bad token", []string{"10.0.0.1:6443", "--token", "nope", "--discovery-token-ca-cert-hash", hash}, "is not of the form"},
		{"no hash", []string{"10.0.0.1:6443", "--token", fx.token.String()}, "must be pinned"},
		{"bad node name", []string{"10.0.0.1:6443", "--token", fx.token.String(), "--discovery-token-ca-cert-hash", hash, "--node-name", "a_b"}, "node-name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runJoinCmd(t, testEnv(t), append(tt.args, "--kubeconfig-dir", t.TempDir())...)
			if !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want Invalid with %q", err, tt.want)
			}
		})
	}
	// A node that joined already is refused by name, unless ignored.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kubelet.conf"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ds := startDiscovery(t, fx.ca, fx.cm)
	args := []string{ds.addr, "--token", fx.token.String(), "--discovery-token-ca-cert-hash", hash, "--node-name", "n", "--kubeconfig-dir", dir}
	_, err := runJoinCmd(t, testEnv(t), args...)
	if !errdefs.IsPrecondition(err) || !strings.Contains(err.Error(), "[ERROR "+pathCheckName("FileAvailable", filepath.Join(dir, "kubelet.conf"))+"]") {
		t.Fatalf("err = %v", err)
	}
	out, err := runJoinCmd(t, testEnv(t), append(args, "--ignore-preflight-errors", "all")...)
	if err != nil || !strings.Contains(out, "[WARNING FileAvailable-") {
		t.Fatalf("ignored: %v\n%s", err, out)
	}
}

func TestJoinStartsTheKubelet(t *testing.T) {
	fx := newJoinFixture(t)
	ds := startDiscovery(t, fx.ca, fx.cm)
	dir, kubeletDir := t.TempDir(), t.TempDir()
	e := testEnv(t)
	var started []string
	e.startKubelet = func(args []string, logFile string) (int, error) {
		started = args
		// The kubelet's TLS bootstrap writes kubelet.conf.
		return 4242, os.WriteFile(filepath.Join(dir, "kubelet.conf"), []byte("apiVersion: v1\n"), 0o600)
	}
	out, err := runJoinCmd(t, e, ds.addr, "--token", fx.token.String(), "--discovery-token-ca-cert-hash", pki.CAHash(fx.ca.Cert),
		"--node-name", "node-3", "--kubeconfig-dir", dir, "--kubelet-root-dir", kubeletDir, "--start-kubelet", "--kubelet-arg=--runtime=hollow")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		`[kubelet-start] Writing kubelet environment file with flags to file "` + filepath.Join(kubeletDir, "kubeadm-flags.env") + `"`,
		`[kubelet-start] Writing kubelet configuration to file "` + filepath.Join(kubeletDir, "config.yaml") + `"`,
		"[kubelet-start] Starting the kubelet\n",
		"[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...\n",
		"This node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was received.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	got := strings.Join(started, " ")
	for _, want := range []string{"--bootstrap-kubeconfig=" + filepath.Join(dir, "bootstrap-kubelet.conf"), "--hostname-override=node-3", "--root-dir=" + kubeletDir, "--client-ca-file=" + filepath.Join(dir, "pki", "ca.crt"), "--runtime=hollow"} {
		if !strings.Contains(got, want) {
			t.Errorf("kubelet args %q lack %q", got, want)
		}
	}
	env, err := os.ReadFile(filepath.Join(kubeletDir, "kubeadm-flags.env"))
	if err != nil || !strings.HasPrefix(string(env), `KUBELET_KUBEADM_ARGS="--bootstrap-kubeconfig=`) {
		t.Errorf("kubeadm-flags.env %q (%v)", env, err)
	}
	if pid, err := os.ReadFile(filepath.Join(kubeletDir, "kubelet.pid")); err != nil || string(pid) != "4242\n" {
		t.Errorf("kubelet.pid %q (%v)", pid, err)
	}

	// A kubelet that never finishes its bootstrap: join times out.
	e2 := testEnv(t)
	e2.startKubelet = func([]string, string) (int, error) { return 1, nil }
	_, err = runJoinCmd(t, e2, ds.addr, "--token", fx.token.String(), "--discovery-token-ca-cert-hash", pki.CAHash(fx.ca.Cert),
		"--node-name", "node-4", "--kubeconfig-dir", t.TempDir(), "--kubelet-root-dir", t.TempDir(), "--start-kubelet", "--tls-bootstrap-timeout", "10s")
	if errdefs.ClassOf(err) != errdefs.ClassTimeout || !strings.Contains(err.Error(), "kubelet.log") {
		t.Errorf("no bootstrap: %v", err)
	}
}

func TestDiscoveryRetriesUntilSigned(t *testing.T) {
	fx := newJoinFixture(t)
	unsigned := fx.cm
	delete(unsigned.Data, ClusterInfoSignaturePrefix+fx.token.ID)
	ds := startDiscovery(t, fx.ca, unsigned)
	clock := &fakeClock{now: time.Now()}
	var lines []string
	attempts := 0
	_, err := Discover(context.Background(), DiscoveryConfig{
		Endpoint: ds.addr, Token: fx.token, CAHashes: []string{pki.CAHash(fx.ca.Cert)}, Timeout: 10 * time.Second,
		Printf: func(f string, a ...any) { lines = append(lines, f) },
		Sleep: func(ctx context.Context, d time.Duration) error {
			attempts++
			if attempts == 2 {
				// The apiserver's signer caught up with the new token.
				ds.mu.Lock()
				signed := newJoinFixture(t).cm
				signed.Data = map[string]string{ClusterInfoKubeconfigKey: unsigned.Data[ClusterInfoKubeconfigKey]}
				if err := SignClusterInfo(signed, fx.token); err != nil {
					t.Error(err)
				}
				ds.cm = signed
				ds.mu.Unlock()
			}
			return clock.Sleep(ctx, d)
		},
		Now: clock.Now,
	})
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if attempts != 2 || !strings.Contains(strings.Join(lines, "\n"), "Failed to request cluster-info, will try again") {
		t.Errorf("attempts %d, lines %q", attempts, lines)
	}
}
