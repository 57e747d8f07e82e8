package record_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	testclock "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/internal/fakeapi"
	"minik8s/pkg/client/record"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type env struct {
	api *fakeapi.Env
	cs  *client.Clientset
	clk *testclock.FakeClock
}

func setup(t *testing.T) *env {
	t.Helper()
	fakeapi.NoLeaks(t)
	api := fakeapi.Start(t)
	cs, err := client.New(client.Config{Address: api.Address, TLS: api.ClientTLS(t, "system:kube-scheduler")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return &env{api: api, cs: cs, clk: testclock.NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}
}

func (e *env) recorder(t *testing.T, mutate func(*record.Config)) *record.Recorder {
	t.Helper()
	cfg := record.Config{Sink: e.cs.Events(), Component: "default-scheduler", Host: "node-1", Clock: e.clk}
	if mutate != nil {
		mutate(&cfg)
	}
	r, err := record.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run starts r and stops it when the test ends.
func run(t *testing.T, r *record.Recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

func (e *env) events(t *testing.T) []*v1.Event {
	t.Helper()
	evs, _, err := e.cs.Events().List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].GetMessage() < evs[j].GetMessage() })
	return evs
}

func testPod(t *testing.T, e *env) *v1.Pod {
	t.Helper()
	p, err := e.cs.Pods().Create(context.Background(), &v1.Pod{Metadata: &v1.ObjectMeta{Name: "web", Namespace: "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAggregatesRepeats(t *testing.T) {
	e := setup(t)
	p := testPod(t, e)
	r := e.recorder(t, nil)
	// Buffered before Run: one batch.
	for range 5 {
		r.Eventf(p, record.EventTypeWarning, "FailedScheduling", "0/%d nodes are available", 3)
	}
	r.Event(p, record.EventTypeNormal, "Scheduled", "Successfully assigned prod/web to node-1")
	first := e.clk.Now()
	run(t, r)
	waitFor(t, "two events", func() bool { return len(e.events(t)) == 2 })
	evs := e.events(t)
	failed := evs[0]
	if failed.GetCount() != 5 || failed.GetReason() != "FailedScheduling" || failed.GetType() != record.EventTypeWarning {
		t.Fatalf("aggregated event: %v", failed)
	}
	ref := failed.GetInvolvedObject()
	if ref.GetKind() != "Pod" || ref.GetApiVersion() != "v1" || ref.GetNamespace() != "prod" || ref.GetName() != "web" || ref.GetUid() != p.GetMetadata().GetUid() {
		t.Fatalf("involvedObject = %v", ref)
	}
	if failed.GetMetadata().GetNamespace() != "prod" || failed.GetSource().GetComponent() != "default-scheduler" || failed.GetSource().GetHost() != "node-1" ||
		failed.GetReportingComponent() != "default-scheduler" {
		t.Fatalf("event metadata/source: %v %v", failed.GetMetadata(), failed.GetSource())
	}
	if !failed.GetFirstTimestamp().AsTime().Equal(first) || !failed.GetLastTimestamp().AsTime().Equal(first) {
		t.Fatalf("timestamps %v %v, want %v", failed.GetFirstTimestamp().AsTime(), failed.GetLastTimestamp().AsTime(), first)
	}
	if evs[1].GetCount() != 1 || evs[1].GetReason() != "Scheduled" {
		t.Fatalf("second event: %v", evs[1])
	}

	// Later repeats grow the same Event.
	e.clk.Step(time.Minute)
	for range 3 {
		r.Eventf(p, record.EventTypeWarning, "FailedScheduling", "0/%d nodes are available", 3)
	}
	waitFor(t, "count 8", func() bool { return e.events(t)[0].GetCount() == 8 })
	evs = e.events(t)
	if len(evs) != 2 || evs[0].GetMetadata().GetName() != failed.GetMetadata().GetName() {
		t.Fatalf("repeats created a new event: %v", evs)
	}
	if !evs[0].GetLastTimestamp().AsTime().Equal(first.Add(time.Minute)) || !evs[0].GetFirstTimestamp().AsTime().Equal(first) {
		t.Fatalf("timestamps after the repeat: first %v last %v", evs[0].GetFirstTimestamp().AsTime(), evs[0].GetLastTimestamp().AsTime())
	}

	// The Event deleted meanwhile (expired): the next repeat starts anew.
	if _, _, err := e.cs.Events().Delete(context.Background(), "prod", failed.GetMetadata().GetName(), client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.clk.Step(time.Second)
	r.Eventf(p, record.EventTypeWarning, "FailedScheduling", "0/%d nodes are available", 3)
	waitFor(t, "a new event", func() bool {
		evs := e.events(t)
		return len(evs) == 2 && evs[0].GetMetadata().GetName() != failed.GetMetadata().GetName()
	})
	if evs := e.events(t); evs[0].GetCount() != 1 {
		t.Fatalf("new event count = %d, want 1", evs[0].GetCount())
	}
}

func TestClusterScopedObjectsGoToDefault(t *testing.T) {
	e := setup(t)
	r := e.recorder(t, nil)
	run(t, r)
	r.Event(&v1.Node{Metadata: &v1.ObjectMeta{Name: "node-1", Uid: "u1"}}, record.EventTypeNormal, "NodeReady", "Node node-1 status is now: NodeReady")
	waitFor(t, "event", func() bool { return len(e.events(t)) == 1 })
	ev := e.events(t)[0]
	if ev.GetMetadata().GetNamespace() != "default" || ev.GetInvolvedObject().GetKind() != "Node" || ev.GetInvolvedObject().GetNamespace() != "" {
		t.Fatalf("node event: %v", ev)
	}
}

func TestNeverBlocks(t *testing.T) {
	e := setup(t)
	r := e.recorder(t, func(c *record.Config) { c.BufferSize = 2 })
	p := &v1.Pod{Metadata: &v1.ObjectMeta{Name: "p", Namespace: "default"}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10 {
			r.Event(p, record.EventTypeNormal, "Pulled", "pulled")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Event blocked with a full buffer")
	}
	if r.Dropped() != 8 {
		t.Fatalf("Dropped = %d, want 8", r.Dropped())
	}
}

func TestShutdownFlushes(t *testing.T) {
	e := setup(t)
	r := e.recorder(t, func(c *record.Config) { c.Logger = zaptest.NewLogger(t) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	p := &v1.Pod{Metadata: &v1.ObjectMeta{Name: "p", Namespace: "default"}}
	for i := range 50 {
		r.Eventf(p, record.EventTypeNormal, "Started", "Started container c%d", i%5)
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Everything buffered was written before Shutdown returned.
	var total int32
	for _, ev := range e.events(t) {
		total += ev.GetCount()
	}
	if total != 50 || len(e.events(t)) != 5 {
		t.Fatalf("after Shutdown: %d events with total count %d, want 5 and 50", len(e.events(t)), total)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r.Event(p, record.EventTypeNormal, "Late", "after shutdown")
	if r.Dropped() != 1 {
		t.Fatalf("an event after Shutdown was not dropped")
	}
	if err := r.Run(context.Background()); !errdefs.IsPrecondition(err) {
		t.Fatalf("second Run = %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		give record.Config
	}{
		{name: "no sink", give: record.Config{Component: "kubelet"}},
		{name: "no component", give: record.Config{Sink: (&client.Clientset{}).Events()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := record.New(tt.give); !errdefs.IsInvalid(err) {
				t.Fatalf("New = %v, want Invalid", err)
			}
		})
	}
}
