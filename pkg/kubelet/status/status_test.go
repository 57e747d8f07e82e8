package status

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

// fakePods is a one-pod apiserver with resourceVersion checks.
type fakePods struct {
	mu      sync.Mutex
	pod     *v1.Pod
	rv      int
	writes  int
	delay   chan struct{} // when set, each write waits for a token
	failing int           // the next writes fail with Unavailable
}

func newFakePods() *fakePods {
	return &fakePods{pod: &v1.Pod{Metadata: &v1.ObjectMeta{Namespace: "default", Name: "web", Uid: "u1", ResourceVersion: "1"}}, rv: 1}
}

func (f *fakePods) Get(_ context.Context, ns, name string) (*v1.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return proto.Clone(f.pod).(*v1.Pod), nil
}

func (f *fakePods) UpdateStatus(_ context.Context, p *v1.Pod) (*v1.Pod, error) {
	if f.delay != nil {
		<-f.delay
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing > 0 {
		f.failing--
		return nil, errdefs.Unavailable("apiserver away")
	}
	if rv := p.GetMetadata().GetResourceVersion(); rv != "" && rv != f.pod.GetMetadata().GetResourceVersion() {
		return nil, errdefs.Conflict("stale resourceVersion %s", rv)
	}
	f.rv++
	f.writes++
	f.pod.Status = proto.Clone(p.GetStatus()).(*v1.PodStatus)
	f.pod.Metadata.ResourceVersion = strconv.Itoa(f.rv)
	return proto.Clone(f.pod).(*v1.Pod), nil
}

func (f *fakePods) phase() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pod.GetStatus().GetPhase()
}

func (f *fakePods) bump() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	f.pod.Metadata.ResourceVersion = strconv.Itoa(f.rv)
}

func run(t *testing.T, m *Manager) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var target = Target{Namespace: "default", Name: "web", UID: "u1"}

func TestNormalizeCutsTimestampsToSeconds(t *testing.T) {
	a := &v1.PodStatus{Phase: "Running", StartTime: &timestamppb.Timestamp{Seconds: 10, Nanos: 5}}
	b := &v1.PodStatus{Phase: "Running", StartTime: &timestamppb.Timestamp{Seconds: 10, Nanos: 900}}
	if !Equal(a, b) {
		t.Errorf("statuses a second apart in nanos differ")
	}
	c := &v1.PodStatus{Phase: "Running", StartTime: &timestamppb.Timestamp{Seconds: 11}}
	if Equal(a, c) {
		t.Errorf("statuses a second apart are equal")
	}
	if a.StartTime.Nanos != 5 {
		t.Errorf("Normalize changed its input")
	}
}

func TestWritesOnlyChanges(t *testing.T) {
	f := newFakePods()
	m, err := New(Config{Pods: f})
	if err != nil {
		t.Fatal(err)
	}
	run(t, m)
	m.SetPodStatus(target, f.pod, &v1.PodStatus{Phase: "Running"})
	waitFor(t, "status written", func() bool { return m.Synced("u1") })
	cur, _ := f.Get(context.Background(), "", "")
	m.SetPodStatus(target, cur, &v1.PodStatus{Phase: "Running"})
	m.SetPodStatus(target, nil, &v1.PodStatus{Phase: "Running"})
	time.Sleep(20 * time.Millisecond)
	if f.writes != 1 {
		t.Errorf("writes = %d, want 1 (the same status again is no change)", f.writes)
	}
	// What the apiserver already shows is not written (a restarted kubelet).
	f2 := newFakePods()
	f2.pod.Status = &v1.PodStatus{Phase: "Running"}
	m2, _ := New(Config{Pods: f2})
	run(t, m2)
	m2.SetPodStatus(target, f2.pod, &v1.PodStatus{Phase: "Running"})
	if !m2.Synced("u1") {
		t.Errorf("a status the apiserver shows is not synced")
	}
	time.Sleep(20 * time.Millisecond)
	if f2.writes != 0 {
		t.Errorf("writes = %d, want 0", f2.writes)
	}
}

func TestNewestStatusWinsOverSlowWrites(t *testing.T) {
	f := newFakePods()
	f.delay = make(chan struct{})
	m, _ := New(Config{Pods: f, Workers: 4})
	run(t, m)
	for i, ph := range []string{"Pending", "Pending2", "Running"} {
		m.SetPodStatus(target, nil, &v1.PodStatus{Phase: ph})
		if i == 0 {
			waitFor(t, "first write started", func() bool { return true })
		}
	}
	go func() {
		for range 10 {
			f.delay <- struct{}{}
		}
	}()
	waitFor(t, "newest status written", func() bool { return m.Synced("u1") && f.phase() == "Running" })
}

func TestConflictRereadsAndRetries(t *testing.T) {
	f := newFakePods()
	m, _ := New(Config{Pods: f})
	run(t, m)
	stale := proto.Clone(f.pod).(*v1.Pod)
	f.bump() // someone else wrote: our copy is stale
	m.SetPodStatus(target, stale, &v1.PodStatus{Phase: "Running"})
	waitFor(t, "written after a conflict", func() bool { return f.phase() == "Running" })
}

func TestReplacedPodIsNotWritten(t *testing.T) {
	f := newFakePods()
	m, _ := New(Config{Pods: f})
	run(t, m)
	f.bump()
	m.SetPodStatus(Target{Namespace: "default", Name: "web", UID: "old"}, &v1.Pod{Metadata: &v1.ObjectMeta{Uid: "old", ResourceVersion: "1"}}, &v1.PodStatus{Phase: "Failed"})
	waitFor(t, "dropped", func() bool { return m.Synced("old") })
	if f.phase() != "" {
		t.Errorf("the status of a replaced pod was written: %q", f.phase())
	}
}

func TestRetriesWhileTheAPIServerIsAway(t *testing.T) {
	f := newFakePods()
	f.failing = 3
	m, _ := New(Config{Pods: f})
	run(t, m)
	m.SetPodStatus(target, nil, &v1.PodStatus{Phase: "Running"})
	waitFor(t, "written after retries", func() bool { return f.phase() == "Running" })
	if got := fmt.Sprint(f.failing); got != "0" {
		t.Errorf("failing = %s", got)
	}
}
