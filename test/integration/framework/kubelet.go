package framework

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/client"
	"minik8s/pkg/kubelet"
	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/kubelet/runtime/hollow"
)

// KubeletOptions describe an in-process kubelet.
type KubeletOptions struct {
	// NodeName; default "node-1".
	NodeName string
	// Runtime; default a new hollow runtime. Pass the same runtime to a
	// second kubelet to restart a node with its containers.
	Runtime runtime.Runtime
	// PodCIDR (--pod-cidr); default none.
	PodCIDR string
	// PodManifestPath: a static pod directory; default none.
	PodManifestPath string
	// RootDir; default a temporary directory.
	RootDir string
	// Standalone runs without an apiserver (static pods only).
	Standalone bool
	// Configure changes the configuration before the kubelet is built.
	Configure func(*kubelet.Config)
}

// Kubelet is a kubelet running in the test process.
type Kubelet struct {
	*kubelet.Kubelet
	Config   kubelet.Config
	Runtime  runtime.Runtime
	Registry *prometheus.Registry
	stop     func()
}

// Stop stops the kubelet (its containers keep running in the runtime).
func (k *Kubelet) Stop() { k.stop() }

// StartKubelet starts a kubelet with the identity system:node:<name>
// against the control plane; it stops when the test ends.
func (cp *ControlPlane) StartKubelet(t testing.TB, opts KubeletOptions) *Kubelet {
	t.Helper()
	if opts.NodeName == "" {
		opts.NodeName = "node-1"
	}
	var cs *client.Clientset
	if !opts.Standalone {
		cs = cp.Client(t, cp.NodeKubeconfig(t, opts.NodeName))
	}
	return StartKubeletWith(t, cs, cp.CertDir, opts)
}

// StartKubeletWith starts a kubelet with the client cs (nil: standalone);
// certDir holds the CA its logs/exec server trusts ("" : no server).
func StartKubeletWith(t testing.TB, cs *client.Clientset, certDir string, opts KubeletOptions) *Kubelet {
	t.Helper()
	if opts.NodeName == "" {
		opts.NodeName = "node-1"
	}
	if opts.Runtime == nil {
		rt, err := hollow.New(hollow.Config{NodeName: opts.NodeName})
		if err != nil {
			t.Fatalf("hollow runtime: %v", err)
		}
		opts.Runtime = rt
	}
	if opts.RootDir == "" {
		opts.RootDir = t.TempDir()
	}
	reg := prometheus.NewRegistry()
	cfg := kubelet.Config{
		NodeName:                  opts.NodeName,
		Client:                    cs,
		Runtime:                   opts.Runtime,
		NodeIP:                    "127.0.0.1",
		PodCIDR:                   opts.PodCIDR,
		PodManifestPath:           opts.PodManifestPath,
		FileCheckFrequency:        200 * time.Millisecond,
		RootDir:                   opts.RootDir,
		Capacity:                  map[string]string{"cpu": "4", "memory": "8Gi"},
		MetricsBindAddress:        "127.0.0.1:0",
		Address:                   "127.0.0.1",
		Port:                      0,
		NodeStatusUpdateFrequency: 2 * time.Second,
		Logger:                    zaptest.NewLogger(t, zaptest.Level(kubeletLogLevel())).Named(opts.NodeName),
		Registerer:                reg,
		Gatherer:                  reg,
	}
	if certDir != "" {
		cfg.ClientCAFile = filepath.Join(certDir, "ca.crt")
	} else {
		cfg.Port = -1
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	k, err := kubelet.New(cfg)
	if err != nil {
		t.Fatalf("new kubelet: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("kubelet %s: %v", opts.NodeName, err)
				}
			case <-time.After(time.Minute):
				t.Errorf("kubelet %s did not stop within a minute", opts.NodeName)
			}
		})
	}
	t.Cleanup(stop)
	return &Kubelet{Kubelet: k, Config: cfg, Runtime: opts.Runtime, Registry: reg, stop: stop}
}

// Metrics returns the kubelet's /metrics text.
func (k *Kubelet) Metrics(t testing.TB) string {
	t.Helper()
	resp, err := http.Get("http://" + k.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatalf("get kubelet metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read kubelet metrics: %v", err)
	}
	return string(b)
}

// WaitPod polls the pod namespace/name until cond accepts it.
func WaitPod(t testing.TB, cs *client.Clientset, timeout time.Duration, namespace, name, what string, cond func(*v1.Pod) error) *v1.Pod {
	t.Helper()
	var last *v1.Pod
	Eventually(t, timeout, fmt.Sprintf("pod %s/%s %s", namespace, name, what), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := cs.Pods().Get(ctx, namespace, name)
		if err != nil {
			return err
		}
		last = p
		return cond(p)
	})
	return last
}

// PodRunning accepts a pod that is Running with every container ready.
func PodRunning(p *v1.Pod) error {
	if p.GetStatus().GetPhase() != "Running" {
		return fmt.Errorf("phase %q, status %v", p.GetStatus().GetPhase(), DescribeStatus(p))
	}
	for _, c := range p.GetStatus().GetContainerStatuses() {
		if !c.GetReady() {
			return fmt.Errorf("container %s not ready: %v", c.GetName(), DescribeStatus(p))
		}
	}
	return nil
}

// PodPhase accepts a pod in phase.
func PodPhase(phase string) func(*v1.Pod) error {
	return func(p *v1.Pod) error {
		if got := p.GetStatus().GetPhase(); got != phase {
			return fmt.Errorf("phase %q, want %q: %s", got, phase, DescribeStatus(p))
		}
		return nil
	}
}

// DescribeStatus is a one-line summary of a pod's status for messages.
func DescribeStatus(p *v1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s ip=%s", p.GetStatus().GetPhase(), p.GetStatus().GetPodIp())
	for _, c := range p.GetStatus().GetContainerStatuses() {
		s := c.GetState()
		switch {
		case s.GetRunning() != nil:
			fmt.Fprintf(&b, " %s=running", c.GetName())
		case s.GetTerminated() != nil:
			fmt.Fprintf(&b, " %s=terminated(%d,%s)", c.GetName(), s.GetTerminated().GetExitCode(), s.GetTerminated().GetReason())
		case s.GetWaiting() != nil:
			fmt.Fprintf(&b, " %s=waiting(%s: %s)", c.GetName(), s.GetWaiting().GetReason(), s.GetWaiting().GetMessage())
		}
		fmt.Fprintf(&b, " restarts=%d ready=%v", c.GetRestartCount(), c.GetReady())
	}
	return b.String()
}

// kubeletLogLevel is warn, or debug with MINIK8S_KUBELET_DEBUG set.
func kubeletLogLevel() zapcore.Level {
	if os.Getenv("MINIK8S_KUBELET_DEBUG") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.WarnLevel
}

// WatchReasons records every waiting reason the containers of pod
// namespace/name show, from a watch started now; the returned function
// reads what was seen so far.
func WatchReasons(t testing.TB, cs *client.Clientset, namespace, name string) func() map[string]bool {
	t.Helper()
	ctx := Context(t)
	w, err := cs.Pods().Watch(ctx, client.ListOptions{Namespace: namespace, FieldSelector: "metadata.name=" + name})
	if err != nil {
		t.Fatalf("watch pod %s/%s: %v", namespace, name, err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := w.Next()
			if err != nil {
				return
			}
			mu.Lock()
			for _, c := range ev.Object.GetStatus().GetContainerStatuses() {
				if r := c.GetState().GetWaiting().GetReason(); r != "" {
					seen[r] = true
				}
			}
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		w.Stop()
		<-done
	})
	return func() map[string]bool {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]bool, len(seen))
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}
