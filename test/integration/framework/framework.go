// Package framework starts the real parts of a minik8s cluster for
// integration tests: certificates made by the built minictl (the kubeadm
// way), an in-process apiserver on an embedded etcd over mutual TLS, and
// clients with the identities the components use. Tests wait on conditions
// with generous deadlines (Eventually), never on sleeps.
package framework

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"minik8s/pkg/apiserver"
	"minik8s/pkg/client"
)

// Binaries returns the directory holding the built binaries: $MINIK8S_BIN
// (set by `make integration`), or a fresh build into a temporary directory
// so that `go test ./test/integration/...` works on its own.
func Binaries(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("MINIK8S_BIN"); dir != "" {
		return dir
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "minik8s-bin-")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+"/", "minik8s/cmd/...")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		builtDir = dir
	})
	if buildErr != nil {
		t.Fatalf("build binaries: %v", buildErr)
	}
	return builtDir
}

var (
	buildOnce sync.Once
	builtDir  string
	buildErr  error
)

// Result is what a command printed and how it ended.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Minictl runs the built minictl with args and stdin.
func Minictl(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(Binaries(t), "minictl"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run minictl %v: %v", args, err)
		}
		res.ExitCode = ee.ExitCode()
	}
	return res
}

// MustMinictl runs minictl and fails the test unless it exits 0.
func MustMinictl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	r := Minictl(t, stdin, args...)
	if r.ExitCode != 0 {
		t.Fatalf("minictl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ControlPlane is a running apiserver with its certificates.
type ControlPlane struct {
	// Dir holds pki/ and the kubeconfig files of init phase kubeconfig all.
	Dir         string
	CertDir     string
	Port        int
	Addr        string
	MetricsAddr string
	Server      *apiserver.Server
	Registry    *prometheus.Registry

	stop func()
}

// PKI makes certificates and kubeconfigs in dir with the built minictl, as
// `minictl init phase certs all` and `phase kubeconfig all` do for a user,
// with the apiserver on 127.0.0.1:port.
func PKI(t testing.TB, dir string, port int) {
	t.Helper()
	MustMinictl(t, "", "init", "phase", "certs", "all", "--cert-dir", filepath.Join(dir, "pki"),
		"--apiserver-advertise-address", "127.0.0.1", "--node-name", "control-plane")
	MustMinictl(t, "", "init", "phase", "kubeconfig", "all", "--cert-dir", filepath.Join(dir, "pki"),
		"--kubeconfig-dir", dir, "--apiserver-advertise-address", "127.0.0.1",
		"--apiserver-bind-port", strconv.Itoa(port), "--node-name", "control-plane")
}

// StartControlPlane makes certificates and starts an apiserver on an
// embedded etcd; everything stops when the test ends.
func StartControlPlane(t testing.TB) *ControlPlane {
	t.Helper()
	dir := t.TempDir()
	port := FreePort(t)
	PKI(t, dir, port)
	return StartAPIServer(t, dir, port)
}

// StartAPIServer starts an apiserver in-process from the files in dir.
func StartAPIServer(t testing.TB, dir string, port int) *ControlPlane {
	t.Helper()
	return StartAPIServerWith(t, dir, port, nil)
}

// Stop stops the apiserver now (it is also stopped when the test ends).
func (cp *ControlPlane) Stop() { cp.stop() }

// Kubeconfig is the path of one of the kubeconfig files (admin.conf,
// scheduler.conf, controller-manager.conf, kubelet.conf).
func (cp *ControlPlane) Kubeconfig(name string) string { return filepath.Join(cp.Dir, name) }

// NodeKubeconfig writes a kubelet kubeconfig for node (identity
// system:node:<node>) and returns its path.
func (cp *ControlPlane) NodeKubeconfig(t testing.TB, node string) string {
	t.Helper()
	dir := filepath.Join(cp.Dir, "nodes", node)
	MustMinictl(t, "", "init", "phase", "kubeconfig", "kubelet", "--cert-dir", cp.CertDir,
		"--kubeconfig-dir", dir, "--apiserver-advertise-address", "127.0.0.1",
		"--apiserver-bind-port", strconv.Itoa(cp.Port), "--node-name", node)
	return filepath.Join(dir, "kubelet.conf")
}

// Client returns a client with the identity of a kubeconfig file, closed
// when the test ends.
func (cp *ControlPlane) Client(t testing.TB, kubeconfig string) *client.Clientset {
	t.Helper()
	c, err := client.FromKubeconfig(kubeconfig)
	if err != nil {
		t.Fatalf("client from %s: %v", kubeconfig, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Admin is a system:masters client.
func (cp *ControlPlane) Admin(t testing.TB) *client.Clientset {
	return cp.Client(t, cp.Kubeconfig("admin.conf"))
}

// Minictl runs the built minictl as the cluster admin.
func (cp *ControlPlane) Minictl(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	return Minictl(t, stdin, append([]string{"--kubeconfig", cp.Kubeconfig("admin.conf")}, args...)...)
}

// MustMinictl runs minictl as the admin and fails unless it exits 0.
func (cp *ControlPlane) MustMinictl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	return MustMinictl(t, stdin, append([]string{"--kubeconfig", cp.Kubeconfig("admin.conf")}, args...)...)
}

// Eventually polls cond every interval until it returns nil or timeout
// passes, then fails with cond's last error.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	interval := 20 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s: %v", what, timeout, err)
		}
		time.Sleep(interval)
		if interval < 500*time.Millisecond {
			interval *= 2
		}
	}
}

// Context returns a context that ends with the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
