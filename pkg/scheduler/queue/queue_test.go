package queue

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
	clocktesting "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// pod makes a pod created at epoch+createdSec with a priority.
func pod(name string, priority int32, createdSec int) *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "ns", Uid: "uid-" + name,
			CreationTimestamp: timestamppb.New(epoch.Add(time.Duration(createdSec) * time.Second))},
		Spec: &v1.PodSpec{Priority: priority, Containers: []*v1.Container{{Name: "c"}}},
	}
}

// state prints where every pod is: "active=[a b] backoff=[c] unsched=[d] flight=[e]".
// active is in pop order; the others sorted.
func state(q *PriorityQueue) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var active []string
	cp := newPodHeap(activeLess)
	for _, p := range q.active.items {
		cp.AddOrUpdate(p)
	}
	for p := cp.Pop(); p != nil; p = cp.Pop() {
		active = append(active, strings.TrimPrefix(p.Key, "ns/"))
	}
	names := func(keys []string) string {
		out := make([]string, 0, len(keys))
		for _, k := range keys {
			out = append(out, strings.TrimPrefix(k, "ns/"))
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	var backoff, unsched, flight []string
	for _, p := range q.backoff.items {
		backoff = append(backoff, p.Key)
	}
	for k := range q.unschedulable {
		unsched = append(unsched, k)
	}
	for k := range q.inFlight {
		flight = append(flight, k)
	}
	return fmt.Sprintf("active=[%s] backoff=[%s] unsched=[%s] flight=[%s]",
		strings.Join(active, " "), names(backoff), names(unsched), names(flight))
}

// harness drives a queue on a fake clock; pop remembers each pod's cycle.
type harness struct {
	t     *testing.T
	clock *clocktesting.FakeClock
	q     *PriorityQueue
	cycle map[string]int64
}

func newHarness(t *testing.T) *harness {
	clk := clocktesting.NewFakeClock(epoch)
	return &harness{t: t, clock: clk, q: New(Config{Clock: clk}), cycle: map[string]int64{}}
}

func (h *harness) pop(want string) {
	h.t.Helper()
	p, ok := h.q.Pop()
	if !ok {
		h.t.Fatalf("Pop: queue closed")
	}
	if got := strings.TrimPrefix(p.Key, "ns/"); got != want {
		h.t.Fatalf("Pop = %s, want %s", got, want)
	}
	h.cycle[p.Key] = h.q.SchedulingCycle()
}

func (h *harness) fail(name string, unschedulable bool) {
	h.q.Requeue("ns/"+name, unschedulable, h.cycle["ns/"+name])
}

type step struct {
	do   func(h *harness)
	want string
}

func run(t *testing.T, steps []step) {
	t.Helper()
	h := newHarness(t)
	for i, s := range steps {
		s.do(h)
		if got := state(h.q); got != s.want {
			t.Fatalf("step %d:\n got  %s\n want %s", i, got, s.want)
		}
	}
}

func add(pods ...*v1.Pod) func(*harness) {
	return func(h *harness) {
		for _, p := range pods {
			h.q.Add(p)
		}
	}
}
func pop(names ...string) func(*harness) {
	return func(h *harness) {
		for _, n := range names {
			h.pop(n)
		}
	}
}
func failUnschedulable(name string) func(*harness) { return func(h *harness) { h.fail(name, true) } }
func failError(name string) func(*harness)         { return func(h *harness) { h.fail(name, false) } }
func done(name string) func(*harness)              { return func(h *harness) { h.q.Done("ns/"+name, "uid-"+name) } }
func advance(d time.Duration) func(*harness) {
	return func(h *harness) { h.clock.Step(d); h.q.FlushBackoffCompleted() }
}
func move(h *harness)                 { h.q.MoveAllToActiveOrBackoffQueue(EventNodeAdd) }
func del(name string) func(*harness)  { return func(h *harness) { h.q.Delete("ns/" + name) } }
func update(p *v1.Pod) func(*harness) { return func(h *harness) { h.q.Update(p) } }
func leftover(d time.Duration) func(*harness) {
	return func(h *harness) { h.clock.Step(d); h.q.FlushUnschedulableLeftover() }
}

func TestActiveOrder(t *testing.T) {
	run(t, []step{
		{add(pod("late", 0, 30), pod("early", 0, 10), pod("high", 10, 50), pod("mid", 0, 20)),
			"active=[high early mid late] backoff=[] unsched=[] flight=[]"},
		{pop("high", "early"), "active=[mid late] backoff=[] unsched=[] flight=[early high]"},
		{done("high"), "active=[mid late] backoff=[] unsched=[] flight=[early]"},
		// Adding a pod already in flight only updates it.
		{add(pod("early", 0, 10)), "active=[mid late] backoff=[] unsched=[] flight=[early]"},
	})
}

func TestBackoffDoublesToTenSeconds(t *testing.T) {
	h := newHarness(t)
	h.q.Add(pod("p", 0, 0))
	var got []time.Duration
	for range 6 {
		h.pop("p")
		h.fail("p", false)
		start := h.clock.Now()
		for state(h.q) != "active=[p] backoff=[] unsched=[] flight=[]" {
			h.clock.Step(100 * time.Millisecond)
			h.q.FlushBackoffCompleted()
			if h.clock.Since(start) > time.Minute {
				t.Fatal("the pod never left backoff")
			}
		}
		got = append(got, h.clock.Since(start))
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("backoffs = %v, want %v", got, want)
	}
}

func TestUnschedulableWaitsForAnEvent(t *testing.T) {
	run(t, []step{
		{add(pod("a", 0, 1), pod("b", 0, 2)), "active=[a b] backoff=[] unsched=[] flight=[]"},
		{pop("a", "b"), "active=[] backoff=[] unsched=[] flight=[a b]"},
		{failUnschedulable("a"), "active=[] backoff=[] unsched=[a] flight=[b]"},
		// b fails after... nothing happened: also unschedulable.
		{failUnschedulable("b"), "active=[] backoff=[] unsched=[a b] flight=[]"},
		// Time alone does not bring them back.
		{advance(30 * time.Second), "active=[] backoff=[] unsched=[a b] flight=[]"},
		// A node is added: their 1 s backoff has passed, straight to active.
		{move, "active=[a b] backoff=[] unsched=[] flight=[]"},
		{pop("a"), "active=[b] backoff=[] unsched=[] flight=[a]"},
		// a fails again (attempt 2: 2 s backoff) and an event comes at once:
		// a waits out its backoff first.
		{failUnschedulable("a"), "active=[b] backoff=[] unsched=[a] flight=[]"},
		{move, "active=[b] backoff=[a] unsched=[] flight=[]"},
		{advance(1999 * time.Millisecond), "active=[b] backoff=[a] unsched=[] flight=[]"},
		{advance(time.Millisecond), "active=[a b] backoff=[] unsched=[] flight=[]"},
	})
}

func TestEventDuringFlightGoesToBackoff(t *testing.T) {
	run(t, []step{
		{add(pod("a", 0, 1)), "active=[a] backoff=[] unsched=[] flight=[]"},
		{pop("a"), "active=[] backoff=[] unsched=[] flight=[a]"},
		// A node was added while a was being scheduled against an older
		// snapshot: its failure must not park it as unschedulable.
		{move, "active=[] backoff=[] unsched=[] flight=[a]"},
		{failUnschedulable("a"), "active=[] backoff=[a] unsched=[] flight=[]"},
		{advance(time.Second), "active=[a] backoff=[] unsched=[] flight=[]"},
	})
}

func TestDeletedOrBoundElsewhereIsDropped(t *testing.T) {
	run(t, []step{
		{add(pod("a", 0, 1), pod("b", 0, 2), pod("c", 0, 3), pod("d", 0, 4)), "active=[a b c d] backoff=[] unsched=[] flight=[]"},
		{pop("a", "b", "c"), "active=[d] backoff=[] unsched=[] flight=[a b c]"},
		{failError("a"), "active=[d] backoff=[a] unsched=[] flight=[b c]"},
		{failUnschedulable("b"), "active=[d] backoff=[a] unsched=[b] flight=[c]"},
		{del("a"), "active=[d] backoff=[] unsched=[b] flight=[c]"},
		{del("b"), "active=[d] backoff=[] unsched=[] flight=[c]"},
		{del("d"), "active=[] backoff=[] unsched=[] flight=[c]"},
		// c is bound elsewhere while in flight; its late failure is a no-op.
		{del("c"), "active=[] backoff=[] unsched=[] flight=[]"},
		{failUnschedulable("c"), "active=[] backoff=[] unsched=[] flight=[]"},
		{del("nope"), "active=[] backoff=[] unsched=[] flight=[]"},
	})
}

func TestUpdates(t *testing.T) {
	a := pod("a", 0, 1)
	statusOnly := pod("a", 0, 1)
	statusOnly.Status = &v1.PodStatus{Conditions: []*v1.Condition{{Type: "PodScheduled", Status: "False", Reason: "Unschedulable"}}}
	tolerating := pod("a", 0, 1)
	tolerating.Spec.Tolerations = []*v1.Toleration{{Operator: "Exists"}}
	run(t, []step{
		{add(a), "active=[a] backoff=[] unsched=[] flight=[]"},
		{pop("a"), "active=[] backoff=[] unsched=[] flight=[a]"},
		{failUnschedulable("a"), "active=[] backoff=[] unsched=[a] flight=[]"},
		// Our own status write comes back as an update: a stays put.
		{update(statusOnly), "active=[] backoff=[] unsched=[a] flight=[]"},
		// A spec change may make it fit: it moves (backoff still running).
		{update(tolerating), "active=[] backoff=[a] unsched=[] flight=[]"},
		{advance(time.Second), "active=[a] backoff=[] unsched=[] flight=[]"},
		// A higher priority reorders the active queue.
		{add(pod("b", 0, 0)), "active=[b a] backoff=[] unsched=[] flight=[]"},
		{update(pod("a", 5, 1)), "active=[a b] backoff=[] unsched=[] flight=[]"},
	})
}

func TestDoneRequeuesAPodRecreatedInFlight(t *testing.T) {
	recreated := pod("a", 0, 1)
	recreated.Metadata.Uid = "uid-a-2"
	run(t, []step{
		{add(pod("a", 0, 1)), "active=[a] backoff=[] unsched=[] flight=[]"},
		{pop("a"), "active=[] backoff=[] unsched=[] flight=[a]"},
		// The informer replaced the pod by a new one of the same name
		// while the old one was in flight; the old one's bind failed.
		{update(recreated), "active=[] backoff=[] unsched=[] flight=[a]"},
		{done("a"), "active=[a] backoff=[] unsched=[] flight=[]"},
	})
}

func TestRequeueKeepsTheLatestUpdate(t *testing.T) {
	h := newHarness(t)
	h.q.Add(pod("a", 0, 1))
	h.pop("a")
	newer := pod("a", 7, 1)
	h.q.Update(newer)
	h.fail("a", false)
	h.clock.Step(time.Second)
	h.q.FlushBackoffCompleted()
	p, ok := h.q.Pop()
	if !ok || p.Pod.GetSpec().GetPriority() != 7 || p.Attempts != 2 {
		t.Fatalf("popped %v (attempts %d), want the updated pod on its 2nd attempt", p.Pod.GetSpec(), p.Attempts)
	}
	if !p.FirstSeen.Equal(epoch) {
		t.Fatalf("FirstSeen = %v, want %v", p.FirstSeen, epoch)
	}
}

func TestUnschedulableLeftoverFlush(t *testing.T) {
	run(t, []step{
		{add(pod("a", 0, 1)), "active=[a] backoff=[] unsched=[] flight=[]"},
		{pop("a"), "active=[] backoff=[] unsched=[] flight=[a]"},
		{failUnschedulable("a"), "active=[] backoff=[] unsched=[a] flight=[]"},
		{leftover(4 * time.Minute), "active=[] backoff=[] unsched=[a] flight=[]"},
		{leftover(61 * time.Second), "active=[a] backoff=[] unsched=[] flight=[]"},
	})
}

func TestPopBlocksUntilAddAndCloseWakes(t *testing.T) {
	q := New(Config{Clock: clocktesting.NewFakeClock(epoch)})
	got := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		p, ok := q.Pop()
		if ok {
			got <- p.Key
		}
	})
	q.Add(pod("a", 0, 0))
	select {
	case k := <-got:
		if k != "ns/a" {
			t.Fatalf("popped %s", k)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pop did not return after Add")
	}
	wg.Wait()
	wg.Go(func() {
		if _, ok := q.Pop(); ok {
			t.Error("Pop returned a pod from a closed queue")
		}
	})
	q.Close()
	wg.Wait()
}

func TestRunFlushesOnTheClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(epoch)
	q := New(Config{Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { q.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	q.Add(pod("a", 0, 0))
	p, _ := q.Pop()
	q.Requeue(p.Key, false, q.SchedulingCycle())
	deadline := time.Now().Add(10 * time.Second)
	for !clk.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("Run registered no ticker")
		}
		time.Sleep(time.Millisecond)
	}
	for q.Pending()[QueueActive] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the backoff was not flushed: %s", state(q))
		}
		clk.Step(500 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	if clk.Since(epoch) < time.Second {
		t.Fatalf("flushed after %v, before the 1 s backoff", clk.Since(epoch))
	}
	pend := q.Pending()
	if pend[QueueBackoff] != 0 || pend[QueueUnschedulable] != 0 || pend[QueueGated] != 0 {
		t.Fatalf("pending = %v", pend)
	}
}
