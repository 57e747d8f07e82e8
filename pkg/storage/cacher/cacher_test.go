package cacher_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	clocktesting "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
	"minik8s/pkg/storage/cacher"
	"minik8s/pkg/storage/embedetcd"
	"minik8s/pkg/storage/etcdtest"
	st "minik8s/pkg/storage/storagetest"
)

// start runs a pod cache over store until the test ends.
func start(t *testing.T, store cacher.Store, cfg cacher.Config) *cacher.Cacher {
	t.Helper()
	cfg.Store = store
	cfg.Prefix = st.PodPrefix
	cfg.NewFunc = st.NewPod
	c, err := cacher.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCache(t, c)
	return c
}

// runCache runs c until the test ends and waits until it is ready.
func runCache(t testing.TB, c *cacher.Cacher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := c.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if err := c.WaitReady(st.Ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func newCacher(t *testing.T, cfg cacher.Config) (*cacher.Cacher, *storage.Etcd) {
	s := storage.NewEtcd(etcdtest.Start(t))
	return start(t, s, cfg), s
}

// compactingCacher is a cache that compacts its store's history, for the
// contract's case of a compacted continue token.
type compactingCacher struct {
	*cacher.Cacher
	store *storage.Etcd
}

func (c compactingCacher) Compact(ctx context.Context, rev int64) error {
	return c.store.Compact(ctx, rev)
}

func TestCacherContract(t *testing.T) {
	st.Run(t, func(t *testing.T) storage.Interface {
		c, s := newCacher(t, cacher.Config{})
		return compactingCacher{Cacher: c, store: s}
	})
}

func TestWatchOlderThanHistoryIsExpired(t *testing.T) {
	c, s := newCacher(t, cacher.Config{HistorySize: 10})
	ctx := st.Ctx(t)
	var revs []int64
	for i := range 30 {
		revs = append(revs, st.MustCreate(t, s, st.Pod("default", fmt.Sprint(i), nil)))
	}
	waitRevision(t, c, revs[29])

	// The history holds the last 10 events: a watch from the revision of
	// the 20th write sees them all, one from before that cannot be served.
	w, err := c.Watch(ctx, st.PodPrefix, revs[19], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var want []st.Change
	for i := 20; i < 30; i++ {
		want = append(want, st.Change{Type: storage.Added, Key: st.Key("default", fmt.Sprint(i)), Revision: revs[i]})
	}
	st.CheckEvents(t, st.Collect(t, w, 10), want)

	for _, rev := range []int64{revs[0], revs[18]} {
		if _, err := c.Watch(ctx, st.PodPrefix, rev, nil); !errdefs.IsExpired(err) {
			t.Errorf("watch from %d, older than the history: got %v, want Expired", rev, err)
		}
	}
}

func waitRevision(t *testing.T, c *cacher.Cacher, rev int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for c.Revision() < rev {
		if time.Now().After(deadline) {
			t.Fatalf("cache at revision %d, want %d", c.Revision(), rev)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSlowWatcherIsEndedAndOthersGoOn(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, s := newCacher(t, cacher.Config{WatcherQueueSize: 10, Metrics: storage.NewMetrics(reg)})
	ctx := st.Ctx(t)
	slow, err := c.Watch(ctx, st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Stop()
	fast, err := c.Watch(ctx, st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Stop()
	if got := metric(t, reg, "apiserver_registered_watchers"); got != 2 {
		t.Fatalf("registered watchers %v, want 2", got)
	}

	// The fast watcher reads each event before the next write, so it is
	// never behind, however loaded the machine; the slow one never reads.
	const n = 300
	var (
		got  []storage.Event
		want []st.Change
	)
	for i := range n {
		rev := st.MustCreate(t, s, st.Pod("default", fmt.Sprint(i), nil))
		want = append(want, st.Change{Type: storage.Added, Key: st.Key("default", fmt.Sprint(i)), Revision: rev})
		got = append(got, st.Next(t, fast, 30*time.Second))
	}
	st.CheckEvents(t, got, want)

	// The slow watcher got what fitted in its buffers, in order, then its
	// end with Expired.
	var seen int
	for ev := range slow.ResultChan() {
		if ev.Revision != want[seen].Revision {
			t.Fatalf("slow watcher event %d at %d, want %d", seen, ev.Revision, want[seen].Revision)
		}
		seen++
	}
	if seen >= n {
		t.Fatalf("slow watcher received all %d events; want it ended early", seen)
	}
	if err := slow.Err(); !errdefs.IsExpired(err) {
		t.Fatalf("slow watcher ended with %v, want Expired", err)
	}
	if got := metric(t, reg, "apiserver_registered_watchers"); got != 1 {
		t.Errorf("registered watchers %v, want 1", got)
	}
	if got := metric(t, reg, "apiserver_terminated_watchers_total"); got != 1 {
		t.Errorf("terminated watchers %v, want 1", got)
	}
	if got := metric(t, reg, "apiserver_storage_objects"); got != n {
		t.Errorf("stored objects %v, want %d", got, n)
	}
}

func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "pods" {
				return value(m)
			}
		}
	}
	t.Fatalf("no %s{resource=pods}", name)
	return 0
}

func value(m *dto.Metric) float64 {
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

func TestListWaitsForRevisionOfAnotherResource(t *testing.T) {
	// etcd's own progress notifications are rare here, so the cache must
	// ask for progress to learn that etcd moved on.
	srv := etcdtest.StartServer(t, func(c *embedetcd.Config) { c.ProgressNotifyInterval = 10 * time.Minute })
	s := storage.NewEtcd(srv.Client())
	c := start(t, s, cacher.Config{WaitTimeout: 20 * time.Second})
	ctx := st.Ctx(t)
	podRev := st.MustCreate(t, s, st.Pod("default", "a", nil))

	node := &v1.Node{Metadata: &v1.ObjectMeta{Name: "n1"}}
	if err := s.Create(ctx, "/registry/nodes/n1", node); err != nil {
		t.Fatal(err)
	}
	nodeRev := st.RV(t, node)
	begin := time.Now()
	objs, rev, err := c.List(ctx, st.PodPrefix, nodeRev, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rev < nodeRev || len(objs) != 1 || st.RV(t, objs[0]) != podRev {
		t.Fatalf("list at %d: got %d objects at revision %d", nodeRev, len(objs), rev)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("list at another resource's revision took %s", d)
	}

	// A consistent list (revision 0) also catches up with etcd.
	if err := s.Create(ctx, "/registry/nodes/n2", &v1.Node{Metadata: &v1.ObjectMeta{Name: "n2"}}); err != nil {
		t.Fatal(err)
	}
	if _, rev, err := c.List(ctx, st.PodPrefix, 0, nil, nil); err != nil || rev <= nodeRev {
		t.Fatalf("consistent list: revision %d, err %v; want after %d", rev, err, nodeRev)
	}
}

func TestListAndWatchAheadOfStoreTimeOut(t *testing.T) {
	c, s := newCacher(t, cacher.Config{WaitTimeout: 300 * time.Millisecond})
	rev := st.MustCreate(t, s, st.Pod("default", "a", nil))
	_, _, err := c.List(st.Ctx(t), st.PodPrefix, rev+1000, nil, nil)
	if errdefs.ClassOf(err) != errdefs.ClassTimeout {
		t.Fatalf("list far ahead: got %v, want Timeout", err)
	}
	if _, err := c.Watch(st.Ctx(t), st.PodPrefix, rev+1000, nil); errdefs.ClassOf(err) != errdefs.ClassTimeout {
		t.Fatalf("watch far ahead: got %v, want Timeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.List(ctx, st.PodPrefix, rev+1000, nil, nil); errdefs.ClassOf(err) != errdefs.ClassCanceled {
		t.Fatalf("list with a canceled context: got %v, want Canceled", err)
	}
}

// putPods writes pods ns<i%7>/p<i> for i in [from, to) straight to etcd,
// 100 to a transaction (so they share revisions), quickly also under the
// race detector.
func putPods(t testing.TB, cli *clientv3.Client, from, to int) {
	t.Helper()
	for i := from; i < to; {
		var ops []clientv3.Op
		for ; i < to && len(ops) < 100; i++ {
			ns, name := fmt.Sprintf("ns%d", i%7), fmt.Sprintf("p%05d", i)
			data, err := storage.Encode(st.Pod(ns, name, nil))
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, clientv3.OpPut(st.Key(ns, name), string(data)))
		}
		if _, err := cli.Txn(st.Ctx(t)).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestList10k(t *testing.T) {
	cli := etcdtest.Start(t)
	s := storage.NewEtcd(cli)
	const n = 10000
	// Half is there when the cache loads, half arrives through its watch.
	putPods(t, cli, 0, n/2)
	c := start(t, s, cacher.Config{})
	putPods(t, cli, n/2, n)
	ctx := st.Ctx(t)

	begin := time.Now()
	events, rev, err := c.ListEvents(ctx, st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cache list of %d objects: %s", len(events), time.Since(begin))
	if len(events) != n {
		t.Fatalf("cache listed %d objects, want %d", len(events), n)
	}
	for i := 1; i < len(events); i++ {
		if events[i-1].Key >= events[i].Key {
			t.Fatalf("list not sorted at %d: %s before %s", i, events[i-1].Key, events[i].Key)
		}
	}
	for _, i := range []int{0, n / 2, n - 1} {
		st.CheckEvent(t, events[i])
	}

	begin = time.Now()
	objs, erev, err := s.List(ctx, st.PodPrefix, rev, st.NewPod, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("etcd list of %d objects: %s", len(objs), time.Since(begin))
	if len(objs) != n || erev < rev {
		t.Fatalf("etcd listed %d objects at %d, want %d at %d or later", len(objs), erev, n, rev)
	}
	for i, o := range objs {
		if !proto.Equal(o, events[i].Object) {
			t.Fatalf("object %d differs between etcd and the cache: %v / %v", i, o, events[i].Object)
		}
	}
	ns3, _, err := c.List(ctx, st.PodPrefix+"ns3/", rev, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (n + 7 - 1 - 3) / 7; len(ns3) != want {
		t.Fatalf("namespace ns3 has %d objects, want %d", len(ns3), want)
	}
}

func TestBookmarks(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	c, s := newCacher(t, cacher.Config{Clock: clk, BookmarkInterval: time.Second})
	ctx := st.Ctx(t)
	w, err := c.Watch(ctx, st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	rev := st.MustCreate(t, s, st.Pod("default", "a", nil))
	if ev := st.Next(t, w, 30*time.Second); ev.Revision != rev {
		t.Fatalf("event at %d, want %d", ev.Revision, rev)
	}
	// Another resource moves etcd on; ticks bring the watcher a bookmark
	// at that revision though no pod changed.
	node := &v1.Node{Metadata: &v1.ObjectMeta{Name: "n1"}}
	if err := s.Create(ctx, "/registry/nodes/n1", node); err != nil {
		t.Fatal(err)
	}
	want := st.RV(t, node)
	deadline := time.After(30 * time.Second)
	for {
		clk.Step(time.Second)
		select {
		case ev := <-w.ResultChan():
			if ev.Type != storage.Bookmark || ev.Revision <= rev {
				t.Fatalf("got %s at %d, want a bookmark after %d", ev.Type, ev.Revision, rev)
			}
			if ev.Object != nil {
				t.Fatal("bookmark carries an object")
			}
			if ev.Revision >= want {
				return
			}
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no bookmark at %d", want)
		}
	}
}

// breakableStore is an etcd store whose watches can be broken by the test,
// and whose watches drop every event while drop is set (changes the cache
// misses).
type breakableStore struct {
	*storage.Etcd
	breaks chan error
	drop   atomic.Bool
}

func (b *breakableStore) Watch(ctx context.Context, prefix string, rev int64, filter func(apis.Object) bool) (storage.Watcher, error) {
	inner, err := b.Etcd.Watch(ctx, prefix, rev, filter)
	if err != nil {
		return nil, err
	}
	w := &brokenWatcher{out: make(chan storage.Event), stop: make(chan struct{}), exited: make(chan struct{}), drop: &b.drop}
	go w.run(inner, b.breaks)
	return w, nil
}

type brokenWatcher struct {
	out          chan storage.Event
	stop, exited chan struct{}
	once         sync.Once
	drop         *atomic.Bool
	mu           sync.Mutex
	err          error
}

func (w *brokenWatcher) ResultChan() <-chan storage.Event { return w.out }
func (w *brokenWatcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
func (w *brokenWatcher) Stop() {
	w.once.Do(func() { close(w.stop) })
	<-w.exited
}

func (w *brokenWatcher) run(inner storage.Watcher, breaks chan error) {
	defer close(w.exited)
	defer close(w.out)
	defer inner.Stop()
	for {
		select {
		case ev, ok := <-inner.ResultChan():
			if !ok {
				w.mu.Lock()
				w.err = inner.Err()
				w.mu.Unlock()
				return
			}
			if w.drop.Load() {
				continue
			}
			select {
			case w.out <- ev:
			case <-w.stop:
				return
			}
		case err := <-breaks:
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			return
		case <-w.stop:
			return
		}
	}
}

// compacted is the error of a watch whose revision etcd compacted, up to
// its current revision (nothing is compacted for real: the store can still
// list at it).
func compacted(t *testing.T, s *breakableStore) error {
	t.Helper()
	rev, err := s.CurrentRevision(st.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return errdefs.Wrap(errdefs.ClassExpired, &storage.CompactedError{Revision: rev}, "compacted")
}

func TestCacheSurvivesBrokenWatches(t *testing.T) {
	bs := &breakableStore{Etcd: storage.NewEtcd(etcdtest.Start(t)), breaks: make(chan error)}
	c := start(t, bs, cacher.Config{})
	ctx := st.Ctx(t)
	w, err := c.Watch(ctx, st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	r1 := st.MustCreate(t, bs, st.Pod("default", "a", nil))

	// A watch that breaks is resumed from the cache's revision: the
	// client watcher sees no gap.
	bs.breaks <- errdefs.Unavailable("connection lost")
	r2 := st.MustCreate(t, bs, st.Pod("default", "b", nil))
	st.CheckEvents(t, st.Collect(t, w, 2), []st.Change{
		{Type: storage.Added, Key: st.Key("default", "a"), Revision: r1},
		{Type: storage.Added, Key: st.Key("default", "b"), Revision: r2},
	})

	// A watch that cannot resume because its revision was compacted,
	// when nothing changed meanwhile: the cache lists at the oldest
	// revision left, finds every object as it holds it, and goes on; the
	// watcher notices nothing, and what changes from then on arrives.
	bs.breaks <- compacted(t, bs)
	r3 := st.MustCreate(t, bs, st.Pod("default", "c", nil))
	st.CheckEvents(t, st.Collect(t, w, 1), []st.Change{{Type: storage.Added, Key: st.Key("default", "c"), Revision: r3}})

	// The same when the cache missed a change: it reloads and its
	// watchers are told to relist.
	bs.drop.Store(true)
	st.MustCreate(t, bs, st.Pod("default", "d", nil))
	bs.breaks <- compacted(t, bs)
	bs.drop.Store(false)
	for range w.ResultChan() {
	}
	if err := w.Err(); !errdefs.IsExpired(err) {
		t.Fatalf("watcher of a reloaded cache ended with %v, want Expired", err)
	}
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	r5 := st.MustCreate(t, bs, st.Pod("default", "e", nil))
	objs, rev, err := c.List(ctx, st.PodPrefix, r5, nil, nil)
	if err != nil || len(objs) != 5 || rev < r5 {
		t.Fatalf("list after reload: %d objects at %d, err %v; want 5 at %d", len(objs), rev, err, r5)
	}
}

func TestRunEndsWatchers(t *testing.T) {
	s := storage.NewEtcd(etcdtest.Start(t))
	c, err := cacher.New(cacher.Config{Store: s, Prefix: st.PodPrefix, NewFunc: st.NewPod, WaitTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	if err := c.WaitReady(st.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(st.Ctx(t), st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for range w.ResultChan() {
	}
	if err := w.Err(); !errdefs.IsUnavailable(err) {
		t.Fatalf("watcher of a stopped cache ended with %v, want Unavailable", err)
	}
	w.Stop()
	if _, _, err := c.List(st.Ctx(t), st.PodPrefix, 1, nil, nil); !errdefs.IsUnavailable(err) {
		t.Fatalf("list of a stopped cache: got %v, want Unavailable", err)
	}
	if c.Ready() {
		t.Fatal("a stopped cache is ready")
	}
}

func TestWatchEndsWithItsContext(t *testing.T) {
	c, _ := newCacher(t, cacher.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Watch(ctx, st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range w.ResultChan() {
	}
	if err := w.Err(); err != nil {
		t.Fatalf("watch ended by its context: Err %v, want nil", err)
	}
	w.Stop()
}

func TestNewChecksConfig(t *testing.T) {
	s := storage.NewEtcd(nil)
	tests := []struct {
		name string
		cfg  cacher.Config
	}{
		{"no store", cacher.Config{Prefix: st.PodPrefix, NewFunc: st.NewPod}},
		{"bad prefix", cacher.Config{Store: s, Prefix: "/registry/pods", NewFunc: st.NewPod}},
		{"no NewFunc", cacher.Config{Store: s, Prefix: st.PodPrefix}},
	}
	for _, tt := range tests {
		if _, err := cacher.New(tt.cfg); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}

func TestGroupRoutes(t *testing.T) {
	s := storage.NewEtcd(etcdtest.Start(t))
	g, err := cacher.NewGroup(cacher.GroupConfig{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	if err := g.WaitReady(st.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	if !g.Ready() || g.Cacher("pods") == nil || g.Cacher("nodes") == nil {
		t.Fatal("group not ready or missing caches")
	}
	ctx2 := st.Ctx(t)
	w, err := g.Watch(ctx2, "/registry/nodes/", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	node := &v1.Node{Metadata: &v1.ObjectMeta{Name: "n1"}}
	if err := g.Create(ctx2, "/registry/nodes/n1", node); err != nil {
		t.Fatal(err)
	}
	ev := st.Next(t, w, 30*time.Second)
	if ev.Type != storage.Added || ev.Key != "/registry/nodes/n1" || ev.Revision != st.RV(t, node) {
		t.Fatalf("got %s %s at %d", ev.Type, ev.Key, ev.Revision)
	}
	objs, _, err := g.List(ctx2, "/registry/nodes/", st.RV(t, node), nil, nil)
	if err != nil || len(objs) != 1 {
		t.Fatalf("list nodes: %d objects, err %v", len(objs), err)
	}
	events, _, err := g.ListEvents(ctx2, "/registry/nodes/", 0, nil)
	if err != nil || len(events) != 1 || !strings.HasSuffix(events[0].Key, "/n1") {
		t.Fatalf("list events of nodes: %v, err %v", events, err)
	}
	if err := g.GuaranteedUpdate(ctx2, "/registry/nodes/n1", &v1.Node{}, func(cur apis.Object) (apis.Object, error) {
		cur.(*v1.Node).Spec = &v1.NodeSpec{Unschedulable: true}
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if ev := st.Next(t, w, 30*time.Second); ev.Type != storage.Modified || !ev.Object.(*v1.Node).GetSpec().GetUnschedulable() {
		t.Fatalf("got %s %v", ev.Type, ev.Object)
	}
	got := &v1.Node{}
	if err := g.Get(ctx2, "/registry/nodes/n1", got); err != nil || !got.GetSpec().GetUnschedulable() {
		t.Fatalf("get: %v, err %v", got, err)
	}
	if err := g.Delete(ctx2, "/registry/nodes/n1", nil, nil); err != nil {
		t.Fatal(err)
	}
	if ev := st.Next(t, w, 30*time.Second); ev.Type != storage.Deleted {
		t.Fatalf("got %s, want DELETED", ev.Type)
	}
}
