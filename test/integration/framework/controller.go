package framework

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/client"
)

// ControllerManager is the built controller-manager binary running
// against a control plane. It can be killed and started again with the
// same flags (a crash and a restart by its supervisor).
type ControllerManager struct {
	MetricsAddr string

	t    testing.TB
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	output bytes.Buffer
	done   chan struct{}
	err    error
}

// StartControllerManager runs the built controller-manager with the
// controller-manager.conf identity (system:kube-controller-manager), leader
// election with short timings (lease 4 s, renew deadline 3 s, retry
// 500 ms), the node monitor every second, metrics on a free port, and
// extra args (later flags override earlier ones). It returns once
// /healthz answers; the process is killed when the test ends.
func (cp *ControlPlane) StartControllerManager(t testing.TB, args ...string) *ControllerManager {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	all := append([]string{
		"--kubeconfig", cp.Kubeconfig("controller-manager.conf"),
		"--metrics-bind-address", addr,
		"--leader-elect-lease-duration", "4s",
		"--leader-elect-renew-deadline", "3s",
		"--leader-elect-retry-period", "500ms",
		"--node-monitor-period", "1s",
	}, args...)
	m := &ControllerManager{MetricsAddr: addr, t: t, args: all}
	t.Cleanup(func() {
		m.Kill()
		if t.Failed() {
			out := m.Output()
			if len(out) > 64<<10 {
				out = "...\n" + out[len(out)-64<<10:]
			}
			t.Logf("controller-manager output:\n%s", out)
		}
	})
	m.Start(t)
	return m
}

// Start starts the process again (after Kill or Stop) with the same
// flags and waits for /healthz.
func (m *ControllerManager) Start(t testing.TB) {
	t.Helper()
	m.mu.Lock()
	if m.cmd != nil && m.done != nil {
		select {
		case <-m.done:
		default:
			m.mu.Unlock()
			t.Fatal("controller-manager is already running")
		}
	}
	cmd := exec.Command(filepath.Join(Binaries(t), "controller-manager"), m.args...)
	cmd.Stdout, cmd.Stderr = m, m
	if err := cmd.Start(); err != nil {
		m.mu.Unlock()
		t.Fatalf("start controller-manager: %v", err)
	}
	done := make(chan struct{})
	m.cmd, m.done, m.err = cmd, done, nil
	m.mu.Unlock()
	go func() {
		err := cmd.Wait()
		m.mu.Lock()
		m.err = err
		m.mu.Unlock()
		close(done)
	}()
	Eventually(t, time.Minute, "controller-manager healthy", func() error {
		if exited, err := m.Exited(); exited {
			return fmt.Errorf("exited: %v\n%s", err, m.Output())
		}
		_, err := m.Get("/healthz")
		return err
	})
}

// Write collects the process's output.
func (m *ControllerManager) Write(b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.output.Write(b)
}

// Output is what the process wrote so far (every run of it).
func (m *ControllerManager) Output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.output.String()
}

// Kill sends SIGKILL and waits for the process to end; no-op when it is
// not running.
func (m *ControllerManager) Kill() { m.signal(syscall.SIGKILL) }

// Stop sends SIGTERM, waits for the process to end and returns its exit
// error (nil for a clean exit).
func (m *ControllerManager) Stop() error {
	m.signal(syscall.SIGTERM)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

func (m *ControllerManager) signal(sig syscall.Signal) {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Exited reports whether the current run has ended, and how.
func (m *ControllerManager) Exited() (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.done:
		return true, m.err
	default:
		return false, nil
	}
}

// Get fetches a path of the metrics endpoint.
func (m *ControllerManager) Get(path string) (string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + m.MetricsAddr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), nil
}

// MetricValue is the value of the sample of /metrics whose name and
// labels are exactly sample ("node_collector_evictions_total{zone=\"\"}"),
// or an error when there is none.
func (m *ControllerManager) MetricValue(sample string) (float64, error) {
	text, err := m.Get("/metrics")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("no sample %s in /metrics", sample)
}

// DeploymentDone is nil when the Deployment's rollout is complete, as
// `rollout status` decides: the status describes the current generation
// and every replica is updated and available, with no old one left.
func DeploymentDone(d *v1.Deployment) error {
	st := d.GetStatus()
	want := int32(1)
	if r := d.GetSpec().Replicas; r != nil {
		want = *r
	}
	switch {
	case st.GetObservedGeneration() < d.GetMetadata().GetGeneration():
		return fmt.Errorf("generation %d not observed (%d)", d.GetMetadata().GetGeneration(), st.GetObservedGeneration())
	case st.GetUpdatedReplicas() != want || st.GetReplicas() != want || st.GetAvailableReplicas() != want:
		return fmt.Errorf("replicas %d, updated %d, available %d; want %d", st.GetReplicas(), st.GetUpdatedReplicas(), st.GetAvailableReplicas(), want)
	}
	return nil
}

// WaitDeploymentDone waits until the rollout of namespace/name is
// complete and returns the Deployment.
func WaitDeploymentDone(t testing.TB, c *client.Clientset, timeout time.Duration, namespace, name string) *v1.Deployment {
	t.Helper()
	var d *v1.Deployment
	Eventually(t, timeout, "deployment "+namespace+"/"+name+" rolled out", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		d, err = c.Deployments().Get(ctx, namespace, name)
		if err != nil {
			return err
		}
		return DeploymentDone(d)
	})
	return d
}

// ActivePods are the pods of namespace matching selector that count as
// replicas: not being deleted, not finished.
func ActivePods(ctx context.Context, c *client.Clientset, namespace, selector string) ([]*v1.Pod, error) {
	pods, _, err := c.Pods().List(ctx, client.ListOptions{Namespace: namespace, LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var out []*v1.Pod
	for _, p := range pods {
		phase := p.GetStatus().GetPhase()
		if p.GetMetadata().GetDeletionTimestamp() == nil && phase != "Succeeded" && phase != "Failed" {
			out = append(out, p)
		}
	}
	return out, nil
}

// PodReady reports whether a pod's Ready condition is True.
func PodReady(p *v1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}
