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

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sync/errgroup"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/client"
	"minik8s/pkg/scheduler"
)

// SchedulerHandle is an in-process scheduler started by StartScheduler.
type SchedulerHandle struct {
	Scheduler *scheduler.Scheduler
	Registry  *prometheus.Registry

	stop func() error
}

// Stop cancels the scheduler's context (as a kill would end its work) and
// waits for Run to return; it returns Run's error. It is also called when
// the test ends.
func (h *SchedulerHandle) Stop() error { return h.stop() }

// StartScheduler runs a scheduler in-process with the scheduler.conf
// identity (system:kube-scheduler), leader election off unless mutate turns
// it on, its own registry, metrics on a free port. It returns once its
// caches are synced.
func (cp *ControlPlane) StartScheduler(t testing.TB, mutate ...func(*scheduler.Config)) *SchedulerHandle {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := scheduler.Config{
		Client:             cp.Client(t, cp.Kubeconfig("scheduler.conf")),
		Registerer:         reg,
		Gatherer:           reg,
		MetricsBindAddress: "127.0.0.1:0",
		Logger:             zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := scheduler.New(cfg)
	if err != nil {
		t.Fatalf("new scheduler: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var (
		once   sync.Once
		runErr error
	)
	h := &SchedulerHandle{Scheduler: s, Registry: reg}
	h.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(time.Minute):
				runErr = fmt.Errorf("scheduler did not stop within a minute")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("scheduler: %v", err)
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("scheduler exited before it was ready: %v", err)
	case <-time.After(time.Minute):
		t.Fatalf("scheduler not ready within a minute")
	}
	return h
}

// CounterValue sums the samples of a counter family whose labels include
// match (e.g. result=scheduled) in reg.
func CounterValue(t testing.TB, reg prometheus.Gatherer, name string, match map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// SchedulerProcess is the built scheduler binary running against a
// control plane.
type SchedulerProcess struct {
	Cmd         *exec.Cmd
	MetricsAddr string

	mu     sync.Mutex
	output bytes.Buffer
	done   chan struct{}
	err    error
}

// Output is what the process wrote so far.
func (p *SchedulerProcess) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// Write collects the process' output (it is the process' stdout and
// stderr).
func (p *SchedulerProcess) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.Write(b)
}

// Pid is the process id.
func (p *SchedulerProcess) Pid() int { return p.Cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to end.
func (p *SchedulerProcess) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Exited reports whether the process has ended, and how.
func (p *SchedulerProcess) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// StartSchedulerBinary runs the built scheduler binary with the
// scheduler.conf identity, metrics on a free port, and extra args; it is
// killed when the test ends. It returns once /readyz answers.
func (cp *ControlPlane) StartSchedulerBinary(t testing.TB, args ...string) *SchedulerProcess {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	all := append([]string{"--kubeconfig", cp.Kubeconfig("scheduler.conf"), "--metrics-bind-address", addr}, args...)
	p := &SchedulerProcess{MetricsAddr: addr, done: make(chan struct{})}
	p.Cmd = exec.Command(filepath.Join(Binaries(t), "scheduler"), all...)
	p.Cmd.Stdout, p.Cmd.Stderr = p, p
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start scheduler: %v", err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("scheduler %v output:\n%s", args, p.Output())
		}
	})
	Eventually(t, time.Minute, "scheduler binary ready", func() error {
		if exited, err := p.Exited(); exited {
			return fmt.Errorf("exited: %v\n%s", err, p.Output())
		}
		_, err := SchedulerEndpoint(addr, "/readyz")
		return err
	})
	return p
}

// NodeSpec describes a node to create with MakeNode.
type NodeSpec struct {
	Name              string
	CPU, Memory, Pods string
	Labels            map[string]string
	Taints            []*v1.Taint
	NotReady          bool
	Unschedulable     bool
}

// MakeNode builds a Node object as a kubelet would register it: capacity
// and allocatable, a Ready condition, labels (with kubernetes.io/hostname)
// and taints.
func MakeNode(s NodeSpec) *v1.Node {
	pods := s.Pods
	if pods == "" {
		pods = "110"
	}
	res := map[string]string{"cpu": s.CPU, "memory": s.Memory, "pods": pods}
	labels := map[string]string{"kubernetes.io/hostname": s.Name, "kubernetes.io/os": "linux"}
	for k, v := range s.Labels {
		labels[k] = v
	}
	ready := "True"
	if s.NotReady {
		ready = "False"
	}
	return &v1.Node{
		Metadata: &v1.ObjectMeta{Name: s.Name, Labels: labels},
		Spec:     &v1.NodeSpec{Taints: s.Taints, Unschedulable: s.Unschedulable},
		Status: &v1.NodeStatus{
			Capacity:    res,
			Allocatable: res,
			Conditions:  []*v1.Condition{{Type: "Ready", Status: ready, Reason: "KubeletReady"}},
			Addresses:   []*v1.NodeAddress{{Type: "InternalIP", Address: "10.0.0.1"}},
		},
	}
}

// CreateNodes creates nodes (with their status) through c, concurrently.
func CreateNodes(t testing.TB, c *client.Clientset, nodes ...*v1.Node) {
	t.Helper()
	ctx := Context(t)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, n := range nodes {
		g.Go(func() error {
			created, err := c.Nodes().Create(ctx, n)
			if err != nil {
				return fmt.Errorf("create node %s: %w", n.GetMetadata().GetName(), err)
			}
			if created.GetStatus().GetAllocatable()["cpu"] == "" {
				// Status was not kept on create: write it.
				created.Status = n.Status
				if _, err := c.Nodes().UpdateStatus(ctx, created); err != nil {
					return fmt.Errorf("node %s status: %w", n.GetMetadata().GetName(), err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// MakePod builds a pod in namespace default with one container requesting
// cpu and memory (either may be empty).
func MakePod(name, cpu, memory string, mutate ...func(*v1.Pod)) *v1.Pod {
	req := map[string]string{}
	if cpu != "" {
		req["cpu"] = cpu
	}
	if memory != "" {
		req["memory"] = memory
	}
	p := &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "sched-test"}},
		Spec: &v1.PodSpec{Containers: []*v1.Container{{
			Name: "app", Image: "testapp:latest", ImagePullPolicy: "IfNotPresent",
			Resources: &v1.ResourceRequirements{Requests: req},
		}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// CreatePods creates pods through c with concurrency clients.
func CreatePods(t testing.TB, c *client.Clientset, concurrency int, pods ...*v1.Pod) {
	t.Helper()
	g, ctx := errgroup.WithContext(Context(t))
	g.SetLimit(concurrency)
	for _, p := range pods {
		g.Go(func() error {
			if _, err := c.Pods().Create(ctx, p); err != nil {
				return fmt.Errorf("create pod %s: %w", p.GetMetadata().GetName(), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// BindWatch counts, from a watch on every pod, how often each pod went
// from no node to a node, and any change of an assigned node: what a
// double bind would look like from the outside.
type BindWatch struct {
	mu      sync.Mutex
	binds   map[string]int
	node    map[string]string
	rebinds []string
	err     error
}

// WatchBinds starts counting binds of pods from now on; the watch ends
// with the test.
func WatchBinds(t testing.TB, c *client.Clientset) *BindWatch {
	t.Helper()
	ctx := Context(t)
	_, rv, err := c.Pods().List(ctx, client.ListOptions{Limit: 1})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	w, err := c.Pods().Watch(ctx, client.ListOptions{ResourceVersion: rv})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	bw := &BindWatch{binds: map[string]int{}, node: map[string]string{}}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			ev, err := w.Next()
			if err != nil {
				if ctx.Err() == nil {
					bw.mu.Lock()
					bw.err = err
					bw.mu.Unlock()
				}
				return
			}
			if ev.Type == client.Bookmark {
				continue
			}
			key := ev.Object.GetMetadata().GetNamespace() + "/" + ev.Object.GetMetadata().GetName()
			n := ev.Object.GetSpec().GetNodeName()
			bw.mu.Lock()
			prev := bw.node[key]
			switch {
			case ev.Type == client.Deleted:
				delete(bw.node, key)
			case prev == "" && n != "":
				bw.binds[key]++
				bw.node[key] = n
			case prev != "" && n != prev:
				bw.rebinds = append(bw.rebinds, fmt.Sprintf("%s: %s -> %q", key, prev, n))
				bw.node[key] = n
			}
			bw.mu.Unlock()
		}
	})
	t.Cleanup(func() { w.Stop(); wg.Wait() })
	return bw
}

// Binds returns the number of binds seen per pod key.
func (bw *BindWatch) Binds() map[string]int {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	out := make(map[string]int, len(bw.binds))
	for k, v := range bw.binds {
		out[k] = v
	}
	return out
}

// Check returns an error when the watch broke or saw a pod change nodes.
func (bw *BindWatch) Check() error {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	if bw.err != nil {
		return fmt.Errorf("pod watch broke: %w", bw.err)
	}
	if len(bw.rebinds) > 0 {
		return fmt.Errorf("pods changed nodes: %s", strings.Join(bw.rebinds, "; "))
	}
	return nil
}

// WaitBoundOnce waits until each of keys was seen bound, then checks that
// each was bound exactly once.
func (bw *BindWatch) WaitBoundOnce(t testing.TB, timeout time.Duration, keys []string) {
	t.Helper()
	Eventually(t, timeout, "every pod bound", func() error {
		if err := bw.Check(); err != nil {
			return err
		}
		binds := bw.Binds()
		missing := 0
		first := ""
		for _, k := range keys {
			if binds[k] == 0 {
				if first == "" {
					first = k
				}
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d pods not bound yet (e.g. %s)", missing, len(keys), first)
		}
		return nil
	})
	binds := bw.Binds()
	for _, k := range keys {
		if binds[k] != 1 {
			t.Errorf("pod %s bound %d times", k, binds[k])
		}
	}
	if err := bw.Check(); err != nil {
		t.Error(err)
	}
}

// SchedulerEndpoint GETs path (/metrics, /readyz) from a scheduler's
// metrics address and returns the body; an error unless 200.
func SchedulerEndpoint(addr, path string) (string, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s%s: %s", addr, path, resp.Status)
	}
	return string(b), nil
}
