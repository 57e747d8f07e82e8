package apiserver

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/pki"
)

// testEnv is an apiserver on an embedded etcd with its own CA, and
// clients with certificates of that CA.
type testEnv struct {
	t      testing.TB
	cfg    Config
	srv    *Server
	ca     *pki.KeyPair
	dir    string
	cancel context.CancelFunc
	done   chan error
}

func newCA(t testing.TB, name string) *pki.KeyPair {
	t.Helper()
	ca, err := pki.NewCA(pki.CertConfig{CommonName: name})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func startEnv(t testing.TB, tweak ...func(*Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	ca := newCA(t, "minik8s-ca")
	serving, err := pki.NewCert(ca, pki.CertConfig{
		CommonName: "kube-apiserver",
		AltNames:   pki.AltNames{DNSNames: []string{"localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1")}},
		Usages:     pki.UsageServer,
	})
	if err != nil {
		t.Fatal(err)
	}
	d := pki.Dir(filepath.Join(dir, "pki"))
	if err := d.Write("ca", ca); err != nil {
		t.Fatal(err)
	}
	if err := d.Write("apiserver", serving); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		BindAddress:            "127.0.0.1",
		SecurePort:             0,
		ClientCAFile:           d.CertPath("ca"),
		TLSCertFile:            d.CertPath("apiserver"),
		TLSPrivateKeyFile:      d.KeyPath("apiserver"),
		MetricsBindAddress:     "127.0.0.1:0",
		DataDir:                filepath.Join(dir, "etcd"),
		EtcdUnsafeNoFsync:      true,
		EtcdCompactionInterval: -1,
		ShutdownTimeout:        5 * time.Second,
		Logger:                 zaptest.NewLogger(t),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	e := &testEnv{t: t, cfg: cfg, ca: ca, dir: dir}
	e.start()
	t.Cleanup(func() {
		if err := e.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return e
}

// start starts a server from e.cfg and waits until it is ready.
func (e *testEnv) start() {
	t := e.t
	t.Helper()
	reg := prometheus.NewRegistry()
	e.cfg.Registerer, e.cfg.Gatherer = reg, reg
	s, err := New(e.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.srv, e.cancel, e.done = s, cancel, make(chan error, 1)
	go func() { e.done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-e.done:
		e.done <- err
		t.Fatalf("Run ended before the server was ready: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not get ready within 60s")
	}
}

// restart stops the server and starts another on the same data (on new
// ports: clients made afterwards reach it).
func (e *testEnv) restart() {
	e.t.Helper()
	if err := e.stop(); err != nil {
		e.t.Fatalf("Run: %v", err)
	}
	e.start()
}

// stop shuts the server down (once) and returns Run's error.
func (e *testEnv) stop() error {
	e.cancel()
	select {
	case err, ok := <-e.done:
		if ok {
			close(e.done)
		}
		return err
	case <-time.After(60 * time.Second):
		e.t.Fatal("Run did not return within 60s of cancel")
	}
	return nil
}

// tlsConfig is a client TLS configuration for user in groups, with a
// certificate from ca.
func (e *testEnv) tlsConfig(ca *pki.KeyPair, user string, groups ...string) *tls.Config {
	e.t.Helper()
	var cert *tls.Certificate
	if ca != nil {
		kp, err := pki.NewCert(ca, pki.CertConfig{CommonName: user, Organization: groups, Usages: pki.UsageClient})
		if err != nil {
			e.t.Fatal(err)
		}
		cert = kp.TLSCertificate()
	}
	return pki.ClientTLSConfig(e.ca.CertPool(), cert, "127.0.0.1")
}

func (e *testEnv) conn(cfg *tls.Config) *grpc.ClientConn {
	e.t.Helper()
	cc, err := grpc.NewClient(e.srv.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(cfg)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cc.Close() })
	return cc
}

// client is an API client for user in groups.
func (e *testEnv) client(user string, groups ...string) v1.APIClient {
	return v1.NewAPIClient(e.conn(e.tlsConfig(e.ca, user, groups...)))
}

func (e *testEnv) admin() v1.APIClient { return e.client("kubernetes-admin", "system:masters") }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wrap(t testing.TB, obj apis.Object) *anypb.Any {
	t.Helper()
	a, err := apis.ToAny(obj)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func unwrap[T apis.Object](t *testing.T, a *anypb.Any) T {
	t.Helper()
	obj, err := apis.FromAny(a)
	if err != nil {
		t.Fatal(err)
	}
	out, ok := obj.(T)
	if !ok {
		t.Fatalf("got %T", obj)
	}
	return out
}

// wantCode fails unless err carries code (and, when given, a message
// containing msg).
func wantCode(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v (%v), want code %v", st.Code(), err, code)
	}
	if msg != "" && !strings.Contains(st.Message(), msg) {
		t.Fatalf("message %q does not contain %q", st.Message(), msg)
	}
}

func newPod(ns, name string) *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Image: "minik8s/testapp:v1"}}},
	}
}

func createPod(t *testing.T, c v1.APIClient, p *v1.Pod) *v1.Pod {
	t.Helper()
	resp, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "pods", Object: wrap(t, p)})
	if err != nil {
		t.Fatalf("create pod %s: %v", p.GetMetadata().GetName(), err)
	}
	return unwrap[*v1.Pod](t, resp.GetObject())
}

func getPod(t *testing.T, c v1.APIClient, ns, name string) (*v1.Pod, error) {
	t.Helper()
	resp, err := c.Get(ctxT(t), &v1.GetRequest{Resource: "pods", Namespace: ns, Name: name})
	if err != nil {
		return nil, err
	}
	return unwrap[*v1.Pod](t, resp.GetObject()), nil
}

func bind(t *testing.T, c v1.APIClient, ns, name, node string) (*v1.Pod, error) {
	t.Helper()
	resp, err := c.Bind(ctxT(t), &v1.BindRequest{Binding: &v1.Binding{
		Metadata: &v1.ObjectMeta{Namespace: ns, Name: name},
		Target:   &v1.ObjectReference{Kind: "Node", Name: node},
	}})
	if err != nil {
		return nil, err
	}
	return resp.GetPod(), nil
}

// httpGet fetches a path of the metrics address.
func (e *testEnv) httpGet(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get("http://" + e.srv.MetricsAddr() + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func anyOf(m proto.Message) (*anypb.Any, error) { return anypb.New(m) }
