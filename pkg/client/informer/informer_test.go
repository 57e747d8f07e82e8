package informer_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/labels"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/internal/fakeapi"
)

// fakeLW is a scripted ListerWatcher: lists come from listFn, and every
// Watch call hands the test a fakeWatch to drive.
type fakeLW struct {
	mu      sync.Mutex
	listFn  func() ([]*v1.Pod, string, error)
	lists   int
	watches chan *fakeWatch
}

func newFakeLW(listFn func() ([]*v1.Pod, string, error)) *fakeLW {
	return &fakeLW{listFn: listFn, watches: make(chan *fakeWatch, 16)}
}

func (lw *fakeLW) List(ctx context.Context) ([]*v1.Pod, string, error) {
	lw.mu.Lock()
	lw.lists++
	fn := lw.listFn
	lw.mu.Unlock()
	return fn()
}

func (lw *fakeLW) setList(fn func() ([]*v1.Pod, string, error)) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.listFn = fn
}

func (lw *fakeLW) listCount() int {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.lists
}

func (lw *fakeLW) Watch(ctx context.Context, rv string) (informer.Watch[*v1.Pod], error) {
	w := &fakeWatch{rv: rv, ctx: ctx, ch: make(chan result, 64), stopped: make(chan struct{})}
	lw.watches <- w
	return w, nil
}

// nextWatch waits for the informer to open a watch.
func (lw *fakeLW) nextWatch(t *testing.T) *fakeWatch {
	t.Helper()
	select {
	case w := <-lw.watches:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("no watch opened within 10s")
		return nil
	}
}

type result struct {
	ev  client.Event[*v1.Pod]
	err error
}

type fakeWatch struct {
	rv       string
	ctx      context.Context
	ch       chan result
	stopOnce sync.Once
	stopped  chan struct{}
}

func (w *fakeWatch) Next() (client.Event[*v1.Pod], error) {
	select {
	case r := <-w.ch:
		return r.ev, r.err
	case <-w.stopped:
		return client.Event[*v1.Pod]{}, errdefs.Wrap(errdefs.ClassCanceled, context.Canceled, "stopped")
	case <-w.ctx.Done():
		return client.Event[*v1.Pod]{}, w.ctx.Err()
	}
}

func (w *fakeWatch) Stop() { w.stopOnce.Do(func() { close(w.stopped) }) }

func (w *fakeWatch) send(typ client.EventType, p *v1.Pod) {
	w.ch <- result{ev: client.Event[*v1.Pod]{Type: typ, Object: p, ResourceVersion: p.GetMetadata().GetResourceVersion()}}
}

func (w *fakeWatch) bookmark(rv string) {
	w.ch <- result{ev: client.Event[*v1.Pod]{Type: client.Bookmark, ResourceVersion: rv}}
}

func (w *fakeWatch) fail(err error) { w.ch <- result{err: err} }

func pod(name, rv, node string) *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: rv, Labels: map[string]string{"app": name}},
		Spec:     &v1.PodSpec{NodeName: node},
	}
}

// recorder is a handler that writes each notification as a line.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *recorder) OnAdd(p *v1.Pod, initial bool) {
	r.add("add %s@%s initial=%v", p.GetMetadata().GetName(), p.GetMetadata().GetResourceVersion(), initial)
}

func (r *recorder) OnUpdate(old, p *v1.Pod) {
	r.add("update %s@%s->%s", p.GetMetadata().GetName(), old.GetMetadata().GetResourceVersion(), p.GetMetadata().GetResourceVersion())
}

func (r *recorder) OnDelete(obj any) {
	switch o := obj.(type) {
	case *v1.Pod:
		r.add("delete %s@%s", o.GetMetadata().GetName(), o.GetMetadata().GetResourceVersion())
	case informer.DeletedFinalStateUnknown[*v1.Pod]:
		r.add("tombstone %s@%s", o.Key, o.Obj.GetMetadata().GetResourceVersion())
	default:
		r.add("delete of %T", obj)
	}
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

// waitLines waits until the handler has seen exactly want (in order).
func (r *recorder) waitLines(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := r.snapshot()
		if slices.Equal(got, want) {
			return
		}
		if len(got) > len(want) || time.Now().After(deadline) {
			t.Fatalf("handler saw:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

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

// run starts inf and stops it (waiting for Run to return) when the test ends.
func run(t *testing.T, inf interface{ Run(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inf.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of its context ending")
		}
	})
}

func listOf(rv string, pods ...*v1.Pod) func() ([]*v1.Pod, string, error) {
	return func() ([]*v1.Pod, string, error) { return pods, rv, nil }
}

func TestListWatchRelistOnExpired(t *testing.T) {
	fakeapi.NoLeaks(t)
	clk := testclock.NewFakeClock(time.Now())
	lw := newFakeLW(listOf("10", pod("a", "5", ""), pod("b", "6", "")))
	inf := informer.New[*v1.Pod](lw, 0, informer.WithClock(clk))
	rec := &recorder{}
	inf.AddEventHandler(rec)
	if inf.HasSynced() {
		t.Fatal("synced before running")
	}
	run(t, inf)

	w := lw.nextWatch(t)
	if w.rv != "10" {
		t.Fatalf("watch from %q, want the list's 10", w.rv)
	}
	// Order within a list is the list's; sort the first two lines.
	waitFor(t, "initial adds", func() bool { return len(rec.snapshot()) == 2 })
	got := rec.snapshot()
	sort.Strings(got)
	if want := []string{"add a@5 initial=true", "add b@6 initial=true"}; !slices.Equal(got, want) {
		t.Fatalf("initial notifications %v, want %v", got, want)
	}
	if !informer.WaitForCacheSync(context.Background(), inf) {
		t.Fatal("not synced")
	}

	base := rec.snapshot()
	w.send(client.Modified, pod("a", "11", ""))
	w.send(client.Added, pod("c", "12", ""))
	w.send(client.Deleted, pod("b", "13", ""))
	w.bookmark("20")
	rec.waitLines(t, append(base, "update a@5->11", "add c@12 initial=false", "delete b@13")...)
	waitFor(t, "bookmark", func() bool { return inf.LastSyncResourceVersion() == "20" })

	// The watch expires; meanwhile c was deleted and d created, and a
	// changed again: the relist must tell exactly that.
	lw.setList(listOf("30", pod("a", "25", ""), pod("d", "21", "")))
	w.fail(errdefs.Expired("too old resource version: 20 (28)"))
	w2 := lw.nextWatch(t)
	if w2.rv != "30" {
		t.Fatalf("rewatch from %q, want the relist's 30", w2.rv)
	}
	waitFor(t, "relist notifications", func() bool { return len(rec.snapshot()) == len(base)+6 })
	after := rec.snapshot()[len(base)+3:]
	sort.Strings(after)
	if want := []string{"add d@21 initial=false", "tombstone default/c@12", "update a@11->25"}; !slices.Equal(after, want) {
		t.Fatalf("relist notifications %v, want %v", after, want)
	}
	keys := inf.Store().ListKeys()
	if want := []string{"default/a", "default/d"}; !slices.Equal(keys, want) {
		t.Fatalf("cache keys %v, want %v", keys, want)
	}
	if lw.listCount() != 2 {
		t.Fatalf("%d lists, want 2", lw.listCount())
	}
}

func TestBrokenWatchBacksOffThenRelists(t *testing.T) {
	fakeapi.NoLeaks(t)
	clk := testclock.NewFakeClock(time.Now())
	lw := newFakeLW(listOf("10", pod("a", "5", "")))
	inf := informer.New[*v1.Pod](lw, 0, informer.WithClock(clk), informer.WithBackoff(time.Second, 4*time.Second))
	rec := &recorder{}
	inf.AddEventHandler(rec)
	run(t, inf)
	w := lw.nextWatch(t)
	rec.waitLines(t, "add a@5 initial=true")

	// A clean end after events resumes the watch from the last version,
	// with no relist.
	w.send(client.Modified, pod("a", "11", ""))
	w.fail(io.EOF)
	w = lw.nextWatch(t)
	if w.rv != "11" || lw.listCount() != 1 {
		t.Fatalf("after a clean end: watch from %q after %d lists, want from 11 after 1", w.rv, lw.listCount())
	}

	// A broken stream: no relist before the backoff has passed.
	lw.setList(listOf("40", pod("a", "33", "")))
	w.fail(errdefs.Unavailable("connection reset"))
	waitFor(t, "backoff timer", clk.HasWaiters)
	if lw.listCount() != 1 {
		t.Fatalf("relisted before the backoff: %d lists", lw.listCount())
	}
	clk.Step(1100 * time.Millisecond)
	w = lw.nextWatch(t)
	if w.rv != "40" || lw.listCount() != 2 {
		t.Fatalf("after the backoff: watch from %q after %d lists, want from 40 after 2", w.rv, lw.listCount())
	}
	rec.waitLines(t, "add a@5 initial=true", "update a@5->11", "update a@11->33")

	// Failing lists back off exponentially: 2 s then 4 s.
	lw.setList(func() ([]*v1.Pod, string, error) { return nil, "", errdefs.Unavailable("down") })
	w.fail(errdefs.Unavailable("down"))
	for i, d := range []time.Duration{2200 * time.Millisecond, 4400 * time.Millisecond} {
		waitFor(t, "backoff timer", clk.HasWaiters)
		n := lw.listCount()
		clk.Step(d - 500*time.Millisecond)
		time.Sleep(20 * time.Millisecond) // give a wrong early relist the chance to show
		if lw.listCount() != n {
			t.Fatalf("backoff %d: relisted before %v", i, d)
		}
		clk.Step(500 * time.Millisecond)
		waitFor(t, "relist", func() bool { return lw.listCount() == n+1 })
	}
}

func TestHandlerAddedLaterGetsTheCacheFirst(t *testing.T) {
	lw := newFakeLW(listOf("10", pod("a", "5", "")))
	inf := informer.New[*v1.Pod](lw, 0)
	first := &recorder{}
	inf.AddEventHandler(first)
	run(t, inf)
	w := lw.nextWatch(t)
	first.waitLines(t, "add a@5 initial=true")

	late := &recorder{}
	reg := inf.AddEventHandler(late)
	w.send(client.Added, pod("b", "11", ""))
	late.waitLines(t, "add a@5 initial=true", "add b@11 initial=false")
	first.waitLines(t, "add a@5 initial=true", "add b@11 initial=false")
	if !informer.WaitForCacheSync(context.Background(), reg) {
		t.Fatal("registration not synced")
	}
}

func TestWaitForCacheSyncGivesUp(t *testing.T) {
	lw := newFakeLW(func() ([]*v1.Pod, string, error) { return nil, "", errdefs.Forbidden("no") })
	inf := informer.New[*v1.Pod](lw, 0, informer.WithBackoff(time.Millisecond, time.Millisecond))
	run(t, inf)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if informer.WaitForCacheSync(ctx, inf) {
		t.Fatal("synced without a list")
	}
	if err := inf.Run(context.Background()); !errdefs.IsPrecondition(err) {
		t.Fatalf("second Run = %v, want a Precondition error", err)
	}
}

func TestResync(t *testing.T) {
	clk := testclock.NewFakeClock(time.Now())
	lw := newFakeLW(listOf("10", pod("a", "5", "")))
	inf := informer.New[*v1.Pod](lw, time.Minute, informer.WithClock(clk))
	rec := &recorder{}
	inf.AddEventHandler(rec)
	run(t, inf)
	lw.nextWatch(t)
	rec.waitLines(t, "add a@5 initial=true")
	waitFor(t, "resync ticker", clk.HasWaiters)
	clk.Step(time.Minute)
	rec.waitLines(t, "add a@5 initial=true", "update a@5->5")
}

func TestIndexersAndLister(t *testing.T) {
	lw := newFakeLW(listOf("10", pod("a", "5", "n1"), pod("b", "6", "n1"), pod("c", "7", "")))
	inf := informer.New[*v1.Pod](lw, 0)
	if err := inf.AddIndexers(informer.Indexers[*v1.Pod]{
		"spec.nodeName": func(p *v1.Pod) []string { return []string{p.GetSpec().GetNodeName()} },
	}); err != nil {
		t.Fatal(err)
	}
	if err := inf.AddIndexers(informer.Indexers[*v1.Pod]{informer.NamespaceIndex: nil}); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("adding a duplicate index = %v, want AlreadyExists", err)
	}
	run(t, inf)
	w := lw.nextWatch(t)
	if !informer.WaitForCacheSync(context.Background(), inf) {
		t.Fatal("not synced")
	}
	names := func(pods []*v1.Pod) []string {
		var out []string
		for _, p := range pods {
			out = append(out, p.GetMetadata().GetName())
		}
		sort.Strings(out)
		return out
	}
	byNode := func(node string) []string {
		pods, err := inf.Store().ByIndex("spec.nodeName", node)
		if err != nil {
			t.Fatal(err)
		}
		return names(pods)
	}
	if got := byNode("n1"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("pods on n1: %v", got)
	}
	w.send(client.Modified, pod("b", "11", "n2"))
	waitFor(t, "b moved to n2", func() bool { return slices.Equal(byNode("n2"), []string{"b"}) })
	if got := byNode("n1"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("pods on n1 after the move: %v", got)
	}
	if _, err := inf.Store().ByIndex("nope", "x"); !errdefs.IsNotFound(err) {
		t.Fatalf("unknown index = %v, want NotFound", err)
	}

	l := inf.Lister()
	if p, err := l.Get("default", "c"); err != nil || p.GetMetadata().GetName() != "c" {
		t.Fatalf("Get = %v, %v", p, err)
	}
	if _, err := l.Get("default", "zz"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get of a missing pod = %v, want NotFound", err)
	}
	sel, err := labels.Parse("app in (a,c)")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give []*v1.Pod
		want []string
	}{
		{name: "by selector", give: l.ListBySelector(sel), want: []string{"a", "c"}},
		{name: "everything", give: l.ListBySelector(labels.Everything()), want: []string{"a", "b", "c"}},
		{name: "by namespace", give: l.ListByNamespace("default"), want: []string{"a", "b", "c"}},
		{name: "other namespace", give: l.ListByNamespace("kube-system"), want: nil},
		{name: "by namespace and selector", give: l.ListByNamespaceAndSelector("default", labels.SelectorFromSet(map[string]string{"app": "b"})), want: []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(tt.give); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFilteringHandler(t *testing.T) {
	unassigned := func(p *v1.Pod) bool { return p.GetSpec().GetNodeName() == "" }
	tests := []struct {
		name string
		call func(h informer.ResourceEventHandler[*v1.Pod])
		want []string
	}{
		{name: "add passing", call: func(h informer.ResourceEventHandler[*v1.Pod]) { h.OnAdd(pod("a", "1", ""), false) }, want: []string{"add a@1 initial=false"}},
		{name: "add filtered out", call: func(h informer.ResourceEventHandler[*v1.Pod]) { h.OnAdd(pod("a", "1", "n1"), false) }, want: nil},
		{name: "update staying in", call: func(h informer.ResourceEventHandler[*v1.Pod]) { h.OnUpdate(pod("a", "1", ""), pod("a", "2", "")) }, want: []string{"update a@1->2"}},
		{name: "update leaving", call: func(h informer.ResourceEventHandler[*v1.Pod]) { h.OnUpdate(pod("a", "1", ""), pod("a", "2", "n1")) }, want: []string{"delete a@1"}},
		{name: "update entering", call: func(h informer.ResourceEventHandler[*v1.Pod]) { h.OnUpdate(pod("a", "1", "n1"), pod("a", "2", "")) }, want: []string{"add a@2 initial=false"}},
		{name: "update staying out", call: func(h informer.ResourceEventHandler[*v1.Pod]) { h.OnUpdate(pod("a", "1", "n1"), pod("a", "2", "n2")) }, want: nil},
		{name: "tombstone passing", call: func(h informer.ResourceEventHandler[*v1.Pod]) {
			h.OnDelete(informer.DeletedFinalStateUnknown[*v1.Pod]{Key: "default/a", Obj: pod("a", "1", "")})
		}, want: []string{"tombstone default/a@1"}},
		{name: "delete filtered out", call: func(h informer.ResourceEventHandler[*v1.Pod]) { h.OnDelete(pod("a", "1", "n1")) }, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			tt.call(informer.FilteringHandler[*v1.Pod]{Filter: unassigned, Handler: rec})
			if got := rec.snapshot(); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestKeyOfAndDeletedObject(t *testing.T) {
	p := pod("a", "1", "")
	tomb := informer.DeletedFinalStateUnknown[*v1.Pod]{Key: "default/a", Obj: p}
	tests := []struct {
		name    string
		give    any
		wantKey string
		wantOK  bool
	}{
		{name: "object", give: p, wantKey: "default/a", wantOK: true},
		{name: "tombstone", give: tomb, wantKey: "default/a", wantOK: true},
		{name: "other", give: "x", wantKey: "", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := informer.KeyOf(tt.give); got != tt.wantKey {
				t.Fatalf("KeyOf = %q, want %q", got, tt.wantKey)
			}
			obj, ok := informer.DeletedObject[*v1.Pod](tt.give)
			if ok != tt.wantOK || ok && obj != p {
				t.Fatalf("DeletedObject = %v, %v", obj, ok)
			}
		})
	}
}

// TestOverTheClient runs an informer through the real client against the
// fake apiserver: sync, events, and a gap (watch frozen, pod deleted,
// history compacted) healed by a relist with a tombstone.
func TestOverTheClient(t *testing.T) {
	fakeapi.NoLeaks(t)
	env := fakeapi.Start(t)
	cs, err := client.New(client.Config{Address: env.Address, TLS: env.ClientTLS(t, "admin", "system:masters")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{"x", "y"} {
		if _, err := cs.Pods().Create(ctx, pod(name, "", "")); err != nil {
			t.Fatal(err)
		}
	}
	inf := informer.New(informer.NewListWatch(cs.Pods(), client.ListOptions{Namespace: "default"}), 0, informer.WithBackoff(10*time.Millisecond, 50*time.Millisecond))
	rec := &recorder{}
	inf.AddEventHandler(rec)
	run(t, inf)
	if !informer.WaitForCacheSync(ctx, inf) {
		t.Fatal("not synced")
	}
	waitFor(t, "watch open", func() bool { return env.Server.OpenWatches() == 1 })
	z, err := cs.Pods().Create(ctx, pod("z", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "z cached", func() bool { _, ok := inf.Store().Get("default/z"); return ok })

	x, _ := inf.Store().Get("default/x")
	env.Server.Freeze()
	if _, _, err := cs.Pods().Delete(ctx, "default", "x", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.Server.Compact()
	env.Server.BreakWatches(nil)
	env.Server.Thaw()
	want := fmt.Sprintf("tombstone default/x@%s", x.GetMetadata().GetResourceVersion())
	waitFor(t, "tombstone", func() bool { return slices.Contains(rec.snapshot(), want) })
	if _, ok := inf.Store().Get("default/x"); ok {
		t.Fatal("x still cached")
	}
	if got := rec.snapshot(); !slices.Contains(got, fmt.Sprintf("add z@%s initial=false", z.GetMetadata().GetResourceVersion())) {
		t.Fatalf("handler saw %v", got)
	}
}
