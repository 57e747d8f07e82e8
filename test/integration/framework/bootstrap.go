package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"minik8s/pkg/apiserver"
	"minik8s/pkg/client"
	"minik8s/pkg/kubelet"
	"minik8s/pkg/kubelet/certificate"
)

// StartAPIServerWith starts an apiserver in-process from the files `minictl
// init` wrote into dir (pki/ca.crt, pki/apiserver.crt and .key,
// pki/apiserver-kubelet-client.crt and .key) on port, with tweak applied to
// the configuration (bootstrap tokens, the signing duration); it stops when
// the test ends.
func StartAPIServerWith(t testing.TB, dir string, port int, tweak func(*apiserver.Config)) *ControlPlane {
	t.Helper()
	reg := prometheus.NewRegistry()
	pki := filepath.Join(dir, "pki")
	cfg := apiserver.Config{
		BindAddress:           "127.0.0.1",
		SecurePort:            port,
		ClientCAFile:          filepath.Join(pki, "ca.crt"),
		TLSCertFile:           filepath.Join(pki, "apiserver.crt"),
		TLSPrivateKeyFile:     filepath.Join(pki, "apiserver.key"),
		KubeletClientCertFile: filepath.Join(pki, "apiserver-kubelet-client.crt"),
		KubeletClientKeyFile:  filepath.Join(pki, "apiserver-kubelet-client.key"),
		MetricsBindAddress:    "127.0.0.1:0",
		DataDir:               filepath.Join(dir, "etcd-data"),
		EtcdUnsafeNoFsync:     true,
		Logger:                zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)),
		Registerer:            reg,
		Gatherer:              reg,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := apiserver.New(cfg)
	if err != nil {
		t.Fatalf("new apiserver: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	cp := &ControlPlane{
		Dir: dir, CertDir: pki, Port: port,
		Addr: srv.Addr(), MetricsAddr: srv.MetricsAddr(), Server: srv, Registry: reg,
	}
	var once sync.Once
	cp.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("apiserver: %v", err)
				}
			case <-time.After(time.Minute):
				t.Errorf("apiserver did not stop within a minute")
			}
		})
	}
	t.Cleanup(cp.stop)
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("apiserver exited before it was ready: %v", err)
	case <-time.After(time.Minute):
		t.Fatalf("apiserver not ready within a minute")
	}
	return cp
}

// Metric returns the value of a counter or gauge of the control plane's
// registry (0 when the series does not exist yet); labels select the
// series, as name=value pairs.
func (cp *ControlPlane) Metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := cp.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				if have[k] != v {
					continue metrics
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// BootstrapKubelet is a kubelet that obtained its certificate by the TLS
// bootstrap, with its rotation manager.
type BootstrapKubelet struct {
	*Kubelet
	// Kubeconfig is its kubelet.conf, CertDir its <root-dir>/pki.
	Kubeconfig string
	CertDir    string
	Rotation   *certificate.Manager
}

// StartBootstrapKubelet does what cmd/kubelet does with
// --bootstrap-kubeconfig <dir>/bootstrap-kubelet.conf --kubeconfig
// <dir>/kubelet.conf --root-dir <dir>: the TLS bootstrap, then the kubelet
// (hollow runtime) and its certificate rotation, in-process. dir is the
// directory `minictl join --kubeconfig-dir` wrote.
func StartBootstrapKubelet(t testing.TB, nodeName, dir string, opts KubeletOptions) *BootstrapKubelet {
	t.Helper()
	certDir := filepath.Join(dir, "pki")
	kubeconfig := filepath.Join(dir, "kubelet.conf")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := certificate.LoadOrBootstrap(ctx, certificate.BootstrapConfig{
		NodeName: nodeName, KubeconfigPath: kubeconfig, BootstrapKubeconfigPath: filepath.Join(dir, "bootstrap-kubelet.conf"),
		CertDir: certDir, PollInterval: 100 * time.Millisecond, Logger: zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)),
	})
	if err != nil {
		t.Fatalf("TLS bootstrap of %s: %v", nodeName, err)
	}
	ccfg, err := client.ConfigFromKubeconfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ccfg.UserAgent = "kubelet/" + kubelet.Version
	cs, err := client.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	opts.NodeName = nodeName
	if opts.RootDir == "" {
		opts.RootDir = dir
	}
	reg := prometheus.NewRegistry()
	mgr, err := certificate.NewManager(certificate.ManagerConfig{
		NodeName: nodeName, CertDir: certDir, CSRs: cs.CSRs(), PollInterval: 100 * time.Millisecond, Registerer: reg,
		Logger: zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Run(rctx) }()
	t.Cleanup(func() {
		rcancel()
		if err := <-done; err != nil {
			t.Errorf("certificate manager of %s: %v", nodeName, err)
		}
	})
	k := StartKubeletWith(t, cs, certDir, opts)
	return &BootstrapKubelet{Kubelet: k, Kubeconfig: kubeconfig, CertDir: certDir, Rotation: mgr}
}

// KillOnCleanup ends, when the test ends, the process whose ID the file
// at pidFile holds (a kubelet that `minictl join --start-kubelet` started
// for the test).
func KillOnCleanup(t testing.TB, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("read %s: %v", pidFile, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("%s holds no process ID: %q", pidFile, b)
	}
	t.Cleanup(func() {
		p, err := os.FindProcess(pid)
		if err != nil {
			return
		}
		_ = p.Signal(syscall.SIGTERM)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if err := p.Signal(syscall.Signal(0)); err != nil || zombie(pid) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = p.Kill()
	})
}

// NodeReady reports why node is not Ready, or nil.
func NodeReady(ctx context.Context, cs *client.Clientset, node string) error {
	n, err := cs.Nodes().Get(ctx, "", node)
	if err != nil {
		return err
	}
	for _, c := range n.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			if c.GetStatus() != "True" {
				return fmt.Errorf("node %s: Ready=%s (%s)", node, c.GetStatus(), c.GetMessage())
			}
			return nil
		}
	}
	return fmt.Errorf("node %s has no Ready condition", node)
}

// zombie reports whether the process has exited and waits to be reaped
// by a parent that is not this test.
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
