package scheduler

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

// testScheduler runs a scheduler on a fake cluster until the test ends.
type testScheduler struct {
	s      *Scheduler
	c      *fakeCluster
	events *fakeRecorder
	reg    *prometheus.Registry
	stop   func()
}

func startScheduler(t *testing.T, c *fakeCluster, mutate ...func(*Config)) *testScheduler {
	t.Helper()
	reg := prometheus.NewRegistry()
	ev := &fakeRecorder{}
	cfg := Config{
		API: c, Pods: podLW{c}, Nodes: nodeLW{c}, Events: ev,
		Registerer: reg, MetricsBindAddress: "127.0.0.1:0",
		Logger: zaptest.NewLogger(t), Seed: 1,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	select {
	case <-s.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("scheduler not ready")
	}
	return &testScheduler{s: s, c: c, events: ev, reg: reg, stop: stop}
}

// eventually polls cond until it returns nil or 30 s pass.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func boundTo(c *fakeCluster, key string) string {
	p := c.pod(key)
	if p == nil {
		return ""
	}
	return p.GetSpec().GetNodeName()
}

func TestSchedulesEveryPodWithoutOvercommit(t *testing.T) {
	c := newFakeCluster()
	c.putNode(testNode("cp", "8", controlPlane))
	for i := range 4 {
		c.putNode(testNode(fmt.Sprintf("n%d", i), "2"))
	}
	ts := startScheduler(t, c)
	// 4 nodes x 2 cpu = 16 pods of 500m fit exactly; the control plane
	// takes none of them.
	for i := range 16 {
		c.putPod(testPod(fmt.Sprintf("p%02d", i), "500m"))
	}
	eventually(t, "every pod bound", func() error {
		for i := range 16 {
			if boundTo(c, fmt.Sprintf("default/p%02d", i)) == "" {
				return fmt.Errorf("p%02d not bound", i)
			}
		}
		return nil
	})
	perNode := map[string]int{}
	for i := range 16 {
		key := fmt.Sprintf("default/p%02d", i)
		perNode[boundTo(c, key)]++
		if b, _ := c.bindCount(key); b != 1 {
			t.Errorf("%s bound %d times", key, b)
		}
		eventually(t, key+" has a Scheduled event", func() error {
			if _, ok := ts.events.find(key, EventScheduled); !ok {
				return fmt.Errorf("none yet")
			}
			return nil
		})
	}
	for node, n := range perNode {
		if node == "cp" || n != 4 {
			t.Fatalf("pods per node: %v", perNode)
		}
	}
	ev, _ := ts.events.find("default/p00", EventScheduled)
	if ev.eventType != "Normal" || ev.message != "Successfully assigned default/p00 to "+boundTo(c, "default/p00") {
		t.Fatalf("Scheduled event = %+v", ev)
	}
	// The 17th pod fits nowhere.
	c.putPod(testPod("extra", "500m"))
	eventually(t, "extra marked unschedulable", func() error {
		cond := podScheduledCondition(c.pod("default/extra"))
		want := "0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 4 Insufficient cpu."
		if cond.GetStatus() != "False" || cond.GetReason() != ReasonUnschedulable || cond.GetMessage() != want {
			return fmt.Errorf("condition %v", cond)
		}
		return nil
	})
}

func TestUnschedulablePodBoundWhenANodeFits(t *testing.T) {
	c := newFakeCluster()
	c.putNode(testNode("cp", "8", controlPlane))
	c.putNode(testNode("n1", "1"))
	c.putNode(testNode("n2", "1"))
	ts := startScheduler(t, c)
	c.putPod(testPod("web", "2"))
	want := "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."
	eventually(t, "PodScheduled=False", func() error {
		cond := podScheduledCondition(c.pod("default/web"))
		if cond.GetStatus() != "False" || cond.GetReason() != "Unschedulable" || cond.GetMessage() != want {
			return fmt.Errorf("condition %v", cond)
		}
		ev, ok := ts.events.find("default/web", EventFailedScheduling)
		if !ok || ev.eventType != "Warning" || ev.message != want {
			return fmt.Errorf("event %+v", ev)
		}
		return nil
	})
	if got := ts.s.queue.Where("default/web"); got != "unschedulable" {
		t.Fatalf("web is in %q, want unschedulable", got)
	}
	c.putNode(testNode("big", "4"))
	eventually(t, "web bound to big", func() error {
		if n := boundTo(c, "default/web"); n != "big" {
			return fmt.Errorf("bound to %q", n)
		}
		return nil
	})
}

func TestBindRefusedIsDroppedOtherFailuresRetried(t *testing.T) {
	c := newFakeCluster()
	c.putNode(testNode("n1", "4"))
	c.bindErr = func(key string, attempt int) error {
		switch {
		case key == "default/taken":
			return errdefs.Precondition("pod taken is already assigned to node \"elsewhere\"")
		case key == "default/flaky" && attempt == 1:
			return errdefs.Unavailable("apiserver restarting")
		}
		return nil
	}
	ts := startScheduler(t, c, func(cfg *Config) { cfg.InitialBackoff = 10 * time.Millisecond })
	c.putPod(testPod("taken", "1"))
	c.putPod(testPod("flaky", "1"))
	eventually(t, "flaky bound on its second bind", func() error {
		if boundTo(c, "default/flaky") != "n1" {
			return fmt.Errorf("flaky not bound")
		}
		return nil
	})
	eventually(t, "taken dropped", func() error {
		if where := ts.s.queue.Where("default/taken"); where != "" {
			return fmt.Errorf("taken is still in %q", where)
		}
		return nil
	})
	if _, calls := c.bindCount("default/taken"); calls != 1 {
		t.Fatalf("taken: %d bind calls, want 1", calls)
	}
	if _, calls := c.bindCount("default/flaky"); calls != 2 {
		t.Fatalf("flaky: %d bind calls, want 2", calls)
	}
	// The refused pod's assumption was forgotten: only flaky counts.
	eventually(t, "cache settled", func() error {
		_, pods, assumed := ts.s.cache.Counts()
		if pods != 1 || assumed != 0 {
			return fmt.Errorf("cache has %d pods, %d assumed", pods, assumed)
		}
		return nil
	})
}

func TestPodDeletedOrBoundElsewhereWhileQueuedIsDropped(t *testing.T) {
	c := newFakeCluster()
	c.putNode(testNode("n1", "1"))
	ts := startScheduler(t, c)
	c.putPod(testPod("big", "2"))
	eventually(t, "big unschedulable", func() error {
		if w := ts.s.queue.Where("default/big"); w != "unschedulable" {
			return fmt.Errorf("in %q", w)
		}
		return nil
	})
	// Someone else binds it (e.g. a manual nodeName): dropped, counted.
	p := c.pod("default/big")
	bound := testPod("big", "2")
	bound.Metadata.Uid = p.Metadata.Uid
	bound.Spec.NodeName = "n1"
	c.putPod(bound)
	eventually(t, "big dropped and counted on n1", func() error {
		if w := ts.s.queue.Where("default/big"); w != "" {
			return fmt.Errorf("still in %q", w)
		}
		if n, assumed, ok := ts.s.cache.PodNode("default/big"); !ok || n != "n1" || assumed {
			return fmt.Errorf("cache: %q %v %v", n, assumed, ok)
		}
		return nil
	})
	c.deletePod("default/big")
	eventually(t, "big gone from the cache", func() error {
		if _, _, ok := ts.s.cache.PodNode("default/big"); ok {
			return fmt.Errorf("still cached")
		}
		return nil
	})
}

func TestTwoSchedulersNeverBindTwice(t *testing.T) {
	c := newFakeCluster()
	for i := range 10 {
		c.putNode(testNode(fmt.Sprintf("n%d", i), "100"))
	}
	startScheduler(t, c, func(cfg *Config) { cfg.Seed = 1 })
	startScheduler(t, c, func(cfg *Config) { cfg.Seed = 2 })
	for i := range 300 {
		c.putPod(testPod(fmt.Sprintf("p%03d", i), "10m"))
	}
	eventually(t, "every pod bound once", func() error {
		for i := range 300 {
			key := fmt.Sprintf("default/p%03d", i)
			if b, _ := c.bindCount(key); b != 1 {
				return fmt.Errorf("%s bound %d times", key, b)
			}
		}
		return nil
	})
}

func TestMetricsAndHealth(t *testing.T) {
	c := newFakeCluster()
	c.putNode(testNode("n1", "1"))
	ts := startScheduler(t, c)
	c.putPod(testPod("ok", "500m"))
	c.putPod(testPod("toobig", "2"))
	eventually(t, "attempts counted", func() error {
		body, err := get("http://" + ts.s.MetricsAddr() + "/metrics")
		if err != nil {
			return err
		}
		for _, want := range []string{
			`scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"} 1`,
			`scheduler_schedule_attempts_total{profile="default-scheduler",result="unschedulable"} 1`,
			`scheduler_pending_pods{queue="unschedulable"} 1`,
			`scheduler_pending_pods{queue="active"} 0`,
			`scheduler_pending_pods{queue="gated"} 0`,
			`scheduler_pod_scheduling_sli_duration_seconds_count{attempts="1"} 1`,
			`scheduler_scheduling_attempt_duration_seconds_count{profile="default-scheduler",result="scheduled"} 1`,
		} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("/metrics lacks %s", want)
			}
		}
		return nil
	})
	for _, path := range []string{"/healthz", "/readyz", "/livez"} {
		if body, err := get("http://" + ts.s.MetricsAddr() + path); err != nil || body != "ok" {
			t.Fatalf("%s: %q %v", path, body, err)
		}
	}
}

func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}

func TestPodForAnotherSchedulerIgnored(t *testing.T) {
	c := newFakeCluster()
	c.putNode(testNode("n1", "4"))
	ts := startScheduler(t, c)
	c.putPod(testPod("other", "1", func(p *v1.Pod) { p.Spec.SchedulerName = "my-scheduler" }))
	c.putPod(testPod("mine", "1", func(p *v1.Pod) { p.Spec.SchedulerName = DefaultSchedulerName }))
	eventually(t, "mine bound", func() error {
		if boundTo(c, "default/mine") == "" {
			return fmt.Errorf("not bound")
		}
		return nil
	})
	if _, calls := c.bindCount("default/other"); calls != 0 || ts.s.queue.Where("default/other") != "" {
		t.Fatalf("a pod of another scheduler was considered")
	}
}
