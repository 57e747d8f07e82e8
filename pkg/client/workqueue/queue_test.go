package workqueue_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	testclock "k8s.io/utils/clock/testing"

	"minik8s/pkg/client/internal/fakeapi"
	"minik8s/pkg/client/workqueue"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func newQueue(t *testing.T, cfg workqueue.Config[string]) *workqueue.Queue[string] {
	t.Helper()
	q := workqueue.New(cfg)
	t.Cleanup(q.ShutDown)
	return q
}

func TestDedup(t *testing.T) {
	fakeapi.NoLeaks(t)
	q := newQueue(t, workqueue.Config[string]{Name: "t"})
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if q.Len() != 2 {
		t.Fatalf("Len = %d, want 2", q.Len())
	}
	for _, want := range []string{"a", "b"} {
		got, shutdown := q.Get()
		if got != want || shutdown {
			t.Fatalf("Get = %q, %v; want %q", got, shutdown, want)
		}
		q.Done(got)
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after taking both", q.Len())
	}
}

func TestReAddWhileProcessingWaitsForDone(t *testing.T) {
	q := newQueue(t, workqueue.Config[string]{Name: "t"})
	q.Add("a")
	item, _ := q.Get()
	q.Add("a")
	q.Add("a")
	if q.Len() != 0 {
		t.Fatalf("an item being processed was queued again before Done (Len %d)", q.Len())
	}
	q.Done(item)
	if q.Len() != 1 {
		t.Fatalf("Len after Done = %d, want 1 (requeued once)", q.Len())
	}
	item, _ = q.Get()
	q.Done(item)
	if q.Len() != 0 {
		t.Fatalf("Len = %d, want 0", q.Len())
	}
}

func TestNeverTwoWorkersOnOneKey(t *testing.T) {
	fakeapi.NoLeaks(t)
	q := workqueue.New(workqueue.Config[string]{Name: "t"})
	const workers, keys, adds = 8, 5, 2000
	var (
		inFlight  [keys]atomic.Int32
		overlap   atomic.Bool
		processed atomic.Int64
		wg        sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				item, shutdown := q.Get()
				if shutdown {
					return
				}
				var k int
				fmt.Sscanf(item, "k%d", &k)
				if inFlight[k].Add(1) > 1 {
					overlap.Store(true)
				}
				time.Sleep(10 * time.Microsecond)
				inFlight[k].Add(-1)
				processed.Add(1)
				q.Done(item)
			}
		})
	}
	var adders sync.WaitGroup
	for a := range 4 {
		adders.Go(func() {
			for i := range adds {
				q.Add(fmt.Sprintf("k%d", (i+a)%keys))
			}
		})
	}
	adders.Wait()
	q.ShutDownWithDrain()
	// Items still queued at shutdown are handed out until the queue is empty.
	wg.Wait()
	if overlap.Load() {
		t.Fatal("one key was processed by two workers at once")
	}
	if processed.Load() == 0 || processed.Load() > 4*adds {
		t.Fatalf("processed %d items", processed.Load())
	}
}

func TestAddAfter(t *testing.T) {
	fakeapi.NoLeaks(t)
	clk := testclock.NewFakeClock(time.Now())
	q := newQueue(t, workqueue.Config[string]{Name: "t", Clock: clk})
	q.AddAfter("a", time.Second)
	q.AddAfter("b", 10*time.Second)
	q.AddAfter("b", 2*time.Second) // the earlier time holds
	q.AddAfter("c", 0)             // at once
	if q.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (only c)", q.Len())
	}
	item, _ := q.Get()
	q.Done(item)
	waitFor(t, "delay timer", clk.HasWaiters)
	clk.Step(999 * time.Millisecond)
	waitFor(t, "delay timer", clk.HasWaiters)
	if q.Len() != 0 {
		t.Fatalf("a came out early")
	}
	clk.Step(time.Millisecond)
	waitFor(t, "a ready", func() bool { return q.Len() == 1 })
	if item, _ := q.Get(); item != "a" {
		t.Fatalf("Get = %q, want a", item)
	}
	clk.Step(time.Second)
	waitFor(t, "b ready", func() bool { return q.Len() == 1 })
	clk.Step(10 * time.Second)
	waitFor(t, "timer rearmed or idle", func() bool { return !clk.HasWaiters() })
	if q.Len() != 1 {
		t.Fatalf("b was queued twice: Len %d", q.Len())
	}
}

func TestItemExponentialFailureRateLimiter(t *testing.T) {
	r := workqueue.NewItemExponentialFailureRateLimiter[string](5*time.Millisecond, 1000*time.Second)
	tests := []struct {
		name string
		want time.Duration
	}{
		{"first retry", 5 * time.Millisecond},
		{"second", 10 * time.Millisecond},
		{"third", 20 * time.Millisecond},
		{"fourth", 40 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := r.When("a"); got != tt.want {
			t.Fatalf("%s: When = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := r.When("b"); got != 5*time.Millisecond {
		t.Fatalf("b shares a's backoff: %v", got)
	}
	if r.NumRequeues("a") != 4 {
		t.Fatalf("NumRequeues = %d, want 4", r.NumRequeues("a"))
	}
	for range 100 {
		r.When("a")
	}
	if got := r.When("a"); got != 1000*time.Second {
		t.Fatalf("capped backoff = %v, want 1000s", got)
	}
	r.Forget("a")
	if got := r.When("a"); got != 5*time.Millisecond || r.NumRequeues("a") != 1 {
		t.Fatalf("after Forget: When = %v, NumRequeues = %d", got, r.NumRequeues("a"))
	}
}

func TestBucketRateLimiter(t *testing.T) {
	clk := testclock.NewFakeClock(time.Now())
	r := workqueue.NewBucketRateLimiter[string](10, 100, clk)
	for i := range 100 {
		if d := r.When(fmt.Sprint(i)); d != 0 {
			t.Fatalf("burst item %d waits %v", i, d)
		}
	}
	tests := []struct {
		name string
		want time.Duration
	}{
		{"first past the burst", 100 * time.Millisecond},
		{"second", 200 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := r.When("x"); got != tt.want {
			t.Fatalf("%s: When = %v, want %v", tt.name, got, tt.want)
		}
	}
	clk.Step(10 * time.Second)
	if got := r.When("y"); got != 0 {
		t.Fatalf("after refilling: When = %v, want 0", got)
	}
}

func TestDefaultControllerRateLimiter(t *testing.T) {
	clk := testclock.NewFakeClock(time.Now())
	r := workqueue.DefaultControllerRateLimiter[string](clk)
	if got := r.When("a"); got != 5*time.Millisecond {
		t.Fatalf("first retry = %v, want 5ms", got)
	}
	for i := range 99 {
		r.When(fmt.Sprint(i))
	}
	// The 101st retry exceeds the bucket's burst: 100 ms wait beats the
	// item's own 5 ms.
	if got := r.When("z"); got != 100*time.Millisecond {
		t.Fatalf("retry past the burst = %v, want 100ms", got)
	}
	if r.NumRequeues("a") != 1 {
		t.Fatalf("NumRequeues = %d", r.NumRequeues("a"))
	}
}

func TestAddRateLimited(t *testing.T) {
	clk := testclock.NewFakeClock(time.Now())
	q := newQueue(t, workqueue.Config[string]{Name: "t", Clock: clk})
	q.AddRateLimited("a")
	q.AddRateLimited("a") // 10 ms; the 5 ms entry holds
	if q.Len() != 0 || q.NumRequeues("a") != 2 {
		t.Fatalf("Len = %d, NumRequeues = %d", q.Len(), q.NumRequeues("a"))
	}
	waitFor(t, "delay timer", clk.HasWaiters)
	clk.Step(5 * time.Millisecond)
	waitFor(t, "a ready", func() bool { return q.Len() == 1 })
	q.Forget("a")
	if q.NumRequeues("a") != 0 {
		t.Fatalf("NumRequeues after Forget = %d", q.NumRequeues("a"))
	}
}

func TestShutDown(t *testing.T) {
	fakeapi.NoLeaks(t)
	q := workqueue.New(workqueue.Config[string]{Name: "t"})
	got := make(chan bool)
	go func() {
		_, shutdown := q.Get()
		got <- shutdown
	}()
	q.ShutDown()
	select {
	case shutdown := <-got:
		if !shutdown {
			t.Fatal("Get after ShutDown returned an item")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a blocked Get did not return after ShutDown")
	}
	q.Add("a")
	q.AddAfter("b", time.Millisecond)
	if q.Len() != 0 || !q.ShuttingDown() {
		t.Fatalf("Add after ShutDown queued: Len %d", q.Len())
	}
}

func TestShutDownWithDrainWaitsForDone(t *testing.T) {
	fakeapi.NoLeaks(t)
	q := workqueue.New(workqueue.Config[string]{Name: "t"})
	q.Add("a")
	q.Add("b")
	item, _ := q.Get()
	drained := make(chan struct{})
	go func() {
		q.ShutDownWithDrain()
		close(drained)
	}()
	waitFor(t, "shutting down", q.ShuttingDown)
	// b was queued before the shutdown: it is still handed out.
	b, shutdown := q.Get()
	if b != "b" || shutdown {
		t.Fatalf("Get while draining = %q, %v; want b", b, shutdown)
	}
	q.Done(b)
	select {
	case <-drained:
		t.Fatal("drain returned while a was being processed")
	case <-time.After(20 * time.Millisecond):
	}
	q.Done(item)
	select {
	case <-drained:
	case <-time.After(10 * time.Second):
		t.Fatal("drain did not return after Done")
	}
	if _, shutdown := q.Get(); !shutdown {
		t.Fatal("Get after the drain returned an item")
	}
}

func TestMetrics(t *testing.T) {
	clk := testclock.NewFakeClock(time.Now())
	reg := prometheus.NewRegistry()
	mp, err := workqueue.NewMetricsProvider(reg)
	if err != nil {
		t.Fatal(err)
	}
	mp2, err := workqueue.NewMetricsProvider(reg)
	if err != nil {
		t.Fatalf("a second provider on the same registry: %v", err)
	}
	q := newQueue(t, workqueue.Config[string]{Name: "replicaset", Clock: clk, Metrics: mp})
	other := newQueue(t, workqueue.Config[string]{Name: "deployment", Clock: clk, Metrics: mp2})
	other.Add("x")

	q.Add("a")
	q.Add("b")
	q.Add("a")
	clk.Step(2 * time.Second)
	item, _ := q.Get()
	clk.Step(3 * time.Second)
	q.AddRateLimited("c")

	want := map[string]float64{
		"workqueue_adds_total/deployment":                        1,
		"workqueue_adds_total/replicaset":                        2,
		"workqueue_depth/deployment":                             1,
		"workqueue_depth/replicaset":                             1,
		"workqueue_retries_total/replicaset":                     1,
		"workqueue_unfinished_work_seconds/deployment":           0,
		"workqueue_unfinished_work_seconds/replicaset":           3,
		"workqueue_longest_running_processor_seconds/deployment": 0,
		"workqueue_longest_running_processor_seconds/replicaset": 3,
		"workqueue_queue_duration_seconds/replicaset":            2, // sum: a waited 2 s
		"workqueue_queue_duration_seconds/deployment":            0, // nothing taken yet
	}
	got := gather(t, reg)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	q.Done(item)
	sums := gather(t, reg)
	if sums["workqueue_work_duration_seconds/replicaset"] != 3 || sums["workqueue_unfinished_work_seconds/replicaset"] != 0 {
		t.Fatalf("after Done: work duration sum %v (want 3), unfinished %v (want 0)",
			sums["workqueue_work_duration_seconds/replicaset"], sums["workqueue_unfinished_work_seconds/replicaset"])
	}
}

// gather returns every workqueue sample as "metric/queue name": value
// (histograms as their sum).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var name string
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" {
					name = l.GetValue()
				}
			}
			k := mf.GetName() + "/" + name
			switch {
			case m.GetCounter() != nil:
				out[k] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[k] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[k] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func TestNoMetrics(t *testing.T) {
	mp, err := workqueue.NewMetricsProvider(nil)
	if err != nil || mp != nil {
		t.Fatalf("NewMetricsProvider(nil) = %v, %v", mp, err)
	}
	q := newQueue(t, workqueue.Config[string]{Name: "t", Metrics: mp})
	q.Add("a")
	item, _ := q.Get()
	q.AddRateLimited(item)
	q.Done(item)
}
