package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/pki"
)

// fakePods knows one pod, default/web, with the container app.
type fakePods struct{}

func (fakePods) ContainerID(_ context.Context, namespace, name, _, container string, _ bool) (string, error) {
	if namespace != "default" || name != "web" || (container != "" && container != "app") {
		return "", errdefs.NotFound("pod %s/%s container %q", namespace, name, container)
	}
	return "cid-app", nil
}

// fakeRuntime logs "hello\n" and runs commands by echoing their arguments
// (exit code 3 for "fail").
type fakeRuntime struct {
	calls chan string
}

func (r *fakeRuntime) Logs(_ context.Context, id string, _ runtime.LogOptions) (io.ReadCloser, error) {
	r.calls <- "logs " + id
	return io.NopCloser(strings.NewReader("hello\n")), nil
}

func (r *fakeRuntime) Exec(_ context.Context, id string, opts runtime.ExecOptions) (int, error) {
	r.calls <- "exec " + id
	if _, err := io.WriteString(opts.Stdout, strings.Join(opts.Cmd[1:], " ")); err != nil {
		return 0, err
	}
	if opts.Cmd[0] == "fail" {
		return 3, nil
	}
	return 0, nil
}

type fixture struct {
	ca    *pki.KeyPair
	addr  string
	calls chan string
}

// start runs a server whose client CA and serving certificate come from a
// fresh CA; it stops when the test ends.
func start(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.NewCA(pki.CertConfig{CommonName: "minik8s-ca"})
	if err != nil {
		t.Fatal(err)
	}
	serving, err := pki.NewCert(ca, pki.CertConfig{CommonName: "node-1", Usages: pki.UsageServer,
		AltNames: pki.AltNames{DNSNames: []string{"node-1"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}})
	if err != nil {
		t.Fatal(err)
	}
	d := pki.Dir(dir)
	if err := d.Write("ca", ca); err != nil {
		t.Fatal(err)
	}
	if err := d.Write("kubelet", serving); err != nil {
		t.Fatal(err)
	}
	calls := make(chan string, 16)
	s, err := New(Config{
		Address:           "127.0.0.1:0",
		ClientCAFile:      d.CertPath("ca"),
		TLSCertFile:       d.CertPath("kubelet"),
		TLSPrivateKeyFile: d.KeyPath("kubelet"),
		NodeName:          "node-1",
		Pods:              fakePods{},
		Runtime:           &fakeRuntime{calls: calls},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &fixture{ca: ca, addr: s.Addr(), calls: calls}
}

// client dials the server with a certificate for cn/orgs signed by ca
// (none when ca is nil).
func (f *fixture) client(t *testing.T, ca *pki.KeyPair, cn string, orgs ...string) v1.KubeletClient {
	t.Helper()
	var cert *tls.Certificate
	if ca != nil {
		kp, err := pki.NewCert(ca, pki.CertConfig{CommonName: cn, Organization: orgs, Usages: pki.UsageClient})
		if err != nil {
			t.Fatal(err)
		}
		cert = kp.TLSCertificate()
	}
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(credentials.NewTLS(pki.ClientTLSConfig(f.ca.CertPool(), cert, "127.0.0.1"))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return v1.NewKubeletClient(conn)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// logs reads a whole log stream.
func logs(ctx context.Context, c v1.KubeletClient, req *v1.PodLogsRequest) (string, error) {
	stream, err := c.ContainerLogs(ctx, req)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		b.Write(resp.GetData())
	}
}

// exec runs a command and returns its stdout and exit code.
func exec(ctx context.Context, c v1.KubeletClient, cmd ...string) (string, int32, error) {
	stream, err := c.Exec(ctx)
	if err != nil {
		return "", 0, err
	}
	if err := stream.Send(&v1.PodExecRequest{Start: &v1.PodExecStart{Namespace: "default", Name: "web", Command: cmd}}); err != nil && !errors.Is(err, io.EOF) {
		return "", 0, err
	} // on io.EOF the server ended the stream: Recv returns its status
	var out strings.Builder
	for {
		resp, err := stream.Recv()
		if err != nil {
			return out.String(), 0, err
		}
		out.Write(resp.GetStdout())
		if resp.ExitCode != nil {
			return out.String(), resp.GetExitCode(), nil
		}
	}
}

func TestOnlyTheAPIServerMayCall(t *testing.T) {
	f := start(t)
	ctx := ctxT(t)

	apiserver := f.client(t, f.ca, AllowedCommonName, AllowedOrganization)
	got, err := logs(ctx, apiserver, &v1.PodLogsRequest{Namespace: "default", Name: "web"})
	if err != nil || got != "hello\n" {
		t.Fatalf("logs as the apiserver = %q, %v", got, err)
	}
	out, code, err := exec(ctx, apiserver, "echo", "hi", "there")
	if err != nil || out != "hi there" || code != 0 {
		t.Fatalf("exec as the apiserver = %q, %d, %v", out, code, err)
	}
	if _, code, err := exec(ctx, apiserver, "fail", "x"); err != nil || code != 3 {
		t.Fatalf("exec of a failing command = %d, %v; want exit code 3", code, err)
	}
	if _, err := logs(ctx, apiserver, &v1.PodLogsRequest{Namespace: "default", Name: "other"}); status.Code(err) != codes.NotFound {
		t.Errorf("logs of an unknown pod = %v, want NotFound", err)
	}
	calls := len(f.calls)

	other, err := pki.NewCA(pki.CertConfig{CommonName: "another-ca"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ca   *pki.KeyPair
		cn   string
		orgs []string
		want codes.Code
	}{
		{name: "a node", ca: f.ca, cn: "system:node:node-1", orgs: []string{"system:nodes"}, want: codes.PermissionDenied},
		{name: "an admin", ca: f.ca, cn: "kubernetes-admin", orgs: []string{"system:masters"}, want: codes.PermissionDenied},
		{name: "the apiserver's name without its group", ca: f.ca, cn: AllowedCommonName, want: codes.PermissionDenied},
		{name: "the apiserver's group under another name", ca: f.ca, cn: "kube-apiserver", orgs: []string{AllowedOrganization}, want: codes.PermissionDenied},
		// The TLS handshake refuses these: no RPC reaches the server.
		{name: "no client certificate", want: codes.Unavailable},
		{name: "a certificate of another CA", ca: other, cn: AllowedCommonName, orgs: []string{AllowedOrganization}, want: codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.client(t, tt.ca, tt.cn, tt.orgs...)
			if _, err := logs(ctx, c, &v1.PodLogsRequest{Namespace: "default", Name: "web"}); status.Code(err) != tt.want {
				t.Errorf("logs = %v, want %v", err, tt.want)
			}
			if _, _, err := exec(ctx, c, "echo", "x"); status.Code(err) != tt.want {
				t.Errorf("exec = %v, want %v", err, tt.want)
			}
		})
	}
	if len(f.calls) != calls {
		t.Errorf("the runtime was called %d times for refused callers", len(f.calls)-calls)
	}
}

func TestNewValidates(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA(pki.CertConfig{CommonName: "minik8s-ca"})
	if err != nil {
		t.Fatal(err)
	}
	d := pki.Dir(dir)
	if err := d.Write("ca", ca); err != nil {
		t.Fatal(err)
	}
	base := Config{Address: "127.0.0.1:0", ClientCAFile: d.CertPath("ca"), NodeName: "n", Pods: fakePods{}, Runtime: &fakeRuntime{}}
	tests := []struct {
		name   string
		change func(*Config)
		want   func(error) bool
	}{
		{name: "no client CA", change: func(c *Config) { c.ClientCAFile = "" }, want: errdefs.IsInvalid},
		{name: "a certificate without its key", change: func(c *Config) { c.TLSCertFile = d.CertPath("ca") }, want: errdefs.IsInvalid},
		{name: "no pods", change: func(c *Config) { c.Pods = nil }, want: errdefs.IsInvalid},
		{name: "a client CA file that is missing", change: func(c *Config) { c.ClientCAFile = filepath.Join(dir, "missing.crt") }, want: func(err error) bool { return errors.Is(err, os.ErrNotExist) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			s, err := New(cfg)
			if err == nil {
				s.Close()
			}
			if !tt.want(err) {
				t.Errorf("New = %v", err)
			}
		})
	}
	// Without a serving certificate the server makes a self-signed one.
	s, err := New(base)
	if err != nil {
		t.Fatalf("New with a self-signed certificate: %v", err)
	}
	s.Close()
}
