package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"
	clocktesting "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
	"minik8s/pkg/storage/embedetcd"
	"minik8s/pkg/storage/etcdtest"
	st "minik8s/pkg/storage/storagetest"
)

func newEtcd(t *testing.T, opts ...storage.Option) *storage.Etcd {
	return storage.NewEtcd(etcdtest.Start(t), opts...)
}

// clients are the two ways the store reaches etcd: through the member's
// client URL, as it reaches any external etcd, and in the process, as the
// apiserver reaches its embedded etcd. The tests of etcd's semantics (the
// contract, compaction, progress, error classes) run on both.
var clients = []struct {
	name string
	of   func(*embedetcd.Server) *clientv3.Client
}{
	{"network", (*embedetcd.Server).Client},
	{"in-process", (*embedetcd.Server).InProcessClient},
}

// forEachClient runs test once per client, each on a member of its own,
// with a store built with opts.
func forEachClient(t *testing.T, test func(t *testing.T, srv *embedetcd.Server, s *storage.Etcd), opts ...storage.Option) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			srv := etcdtest.StartServer(t)
			test(t, srv, storage.NewEtcd(c.of(srv), opts...))
		})
	}
}

func TestEtcdContract(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			st.Run(t, func(t *testing.T) storage.Interface {
				// A tiny page size makes every List page.
				return storage.NewEtcd(c.of(etcdtest.StartServer(t)), storage.WithListPageSize(3))
			})
		})
	}
}

func TestEtcdWatchCompactedIsExpired(t *testing.T) {
	forEachClient(t, testWatchCompactedIsExpired)
}

func testWatchCompactedIsExpired(t *testing.T, _ *embedetcd.Server, s *storage.Etcd) {
	ctx := st.Ctx(t)
	old := st.MustCreate(t, s, st.Pod("default", "a", nil))
	w, err := s.Watch(ctx, st.PodPrefix, old, nil) // established before the compaction
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var last int64
	for i := range 5 {
		last = st.MustCreate(t, s, st.Pod("default", fmt.Sprintf("b%d", i), nil))
	}
	if err := s.Compact(ctx, last); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx, last); err != nil {
		t.Fatalf("compacting again to the same revision: %v", err)
	}

	// A watch from before the compaction cannot be served.
	w2, err := s.Watch(ctx, st.PodPrefix, old, nil)
	if err == nil {
		for range w2.ResultChan() {
		}
		err = w2.Err()
	}
	var ce *storage.CompactedError
	if !errdefs.IsExpired(err) || !errors.As(err, &ce) || ce.Revision != last {
		t.Fatalf("watch from compacted revision %d: got %v, want Expired, compacted up to %d", old, err, last)
	}
	// One from the compaction revision on can.
	w3, err := s.Watch(ctx, st.PodPrefix, last, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w3.Stop()
	rev := st.MustCreate(t, s, st.Pod("default", "c", nil))
	st.CheckEvents(t, st.Collect(t, w3, 1), []st.Change{{Type: storage.Added, Key: st.Key("default", "c"), Revision: rev}})
	// The watch established earlier went on through the compaction.
	if got := st.Collect(t, w, 6); got[5].Revision != rev {
		t.Fatalf("old watch: last event at %d, want %d", got[5].Revision, rev)
	}
}

func TestEtcdCreateEncoded(t *testing.T) {
	s := newEtcd(t)
	ctx := st.Ctx(t)
	pod := st.Pod("default", "web", map[string]string{"app": "web"})
	data, err := storage.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEncoded(ctx, st.Key("default", "web"), pod, data); err != nil {
		t.Fatal(err)
	}
	// The encoding with the revision appended is the created object.
	answer := &v1.Pod{}
	if err := proto.Unmarshal(storage.WithRevision(data, pod.ProtoReflect().Descriptor(), st.RV(t, pod)), answer); err != nil {
		t.Fatal(err)
	}
	got := &v1.Pod{}
	if err := s.Get(ctx, st.Key("default", "web"), got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, pod) || !proto.Equal(answer, pod) {
		t.Fatalf("stored %v, answer %v, want %v", got, answer, pod)
	}
	big := make([]byte, storage.MaxObjectBytes+1)
	if err := s.CreateEncoded(ctx, st.Key("default", "big"), st.Pod("default", "big", nil), big); errdefs.ClassOf(err) != errdefs.ClassTooLarge {
		t.Fatalf("create of %d bytes: got %v, want TooLarge", len(big), err)
	}
}

func TestEtcdListAt(t *testing.T) {
	s := newEtcd(t, storage.WithListPageSize(2))
	ctx := st.Ctx(t)
	var revs []int64
	for i := range 5 {
		revs = append(revs, st.MustCreate(t, s, st.Pod("default", fmt.Sprint(i), nil)))
	}
	if err := s.Delete(ctx, st.Key("default", "0"), nil, nil); err != nil {
		t.Fatal(err)
	}
	// As it was after the third create, in pages, each object at its own
	// revision.
	objs, err := s.ListAt(ctx, st.PodPrefix, revs[2], nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Fatalf("list at %d: %d objects, want 3", revs[2], len(objs))
	}
	for i, o := range objs {
		if got := st.RV(t, o); got != revs[i] {
			t.Errorf("object %d at %d, want %d", i, got, revs[i])
		}
	}
	if err := s.Compact(ctx, revs[3]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ListAt(ctx, st.PodPrefix, revs[2], nil); !errdefs.IsExpired(err) {
		t.Fatalf("list at compacted revision %d: got %v, want Expired", revs[2], err)
	}
	if objs, err := s.ListAt(ctx, st.PodPrefix, revs[3], nil); err != nil || len(objs) != 4 {
		t.Fatalf("list at the compaction revision: %d objects, err %v; want 4", len(objs), err)
	}
}

func TestEtcdListAheadOfStoreIsTimeout(t *testing.T) {
	forEachClient(t, func(t *testing.T, _ *embedetcd.Server, s *storage.Etcd) {
		rev := st.MustCreate(t, s, st.Pod("default", "a", nil))
		_, _, err := s.List(st.Ctx(t), st.PodPrefix, rev+100, st.NewPod, nil)
		if errdefs.ClassOf(err) != errdefs.ClassTimeout {
			t.Fatalf("list at a future revision: got %v, want a Timeout", err)
		}
	})
}

func TestEtcdErrorClasses(t *testing.T) {
	forEachClient(t, testErrorClasses)
}

func testErrorClasses(t *testing.T, srv *embedetcd.Server, s *storage.Etcd) {
	st.MustCreate(t, s, st.Pod("default", "a", nil))

	expired, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-expired.Done()
	if err := s.Get(expired, st.Key("default", "a"), &v1.Pod{}); errdefs.ClassOf(err) != errdefs.ClassTimeout {
		t.Errorf("get past its deadline: got %v (class %v), want Timeout", err, errdefs.ClassOf(err))
	}
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := s.Create(canceled, st.Key("default", "b"), st.Pod("default", "b", nil)); errdefs.ClassOf(err) != errdefs.ClassCanceled {
		t.Errorf("create with a canceled context: got %v (class %v), want Canceled", err, errdefs.ClassOf(err))
	}
	if _, err := s.Watch(st.Ctx(t), "/registry/nothings/", 0, nil); !errdefs.IsInvalid(err) {
		t.Errorf("watch of an unknown resource: got %v, want Invalid", err)
	}

	srv.Close()
	ctx, cancel3 := context.WithTimeout(context.Background(), time.Second)
	defer cancel3()
	err := s.Get(ctx, st.Key("default", "a"), &v1.Pod{})
	if c := errdefs.ClassOf(err); c != errdefs.ClassTimeout && c != errdefs.ClassUnavailable && c != errdefs.ClassCanceled {
		t.Errorf("get with etcd gone: got %v (class %v), want Timeout, Unavailable or Canceled", err, c)
	}
}

func TestEtcdMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := storage.NewMetrics(reg)
	if m2 := storage.NewMetrics(reg); m2 == nil {
		t.Fatal("registering twice on one registry failed")
	}
	s := newEtcd(t, storage.WithMetrics(m))
	for i := range 3 {
		st.MustCreate(t, s, st.Pod("default", fmt.Sprint(i), nil))
	}
	if _, _, err := s.List(st.Ctx(t), st.PodPrefix, 0, st.NewPod, nil); err != nil {
		t.Fatal(err)
	}
	if got := gauge(t, reg, "apiserver_storage_objects", "resource", "pods"); got != 3 {
		t.Errorf("apiserver_storage_objects{resource=pods} = %v, want 3", got)
	}
	var series []string
	for _, m := range family(t, reg, "etcd_request_duration_seconds").GetMetric() {
		series = append(series, labels(m))
	}
	if fmt.Sprint(series) != "[operation=create,type=pods operation=list,type=pods]" {
		t.Errorf("etcd_request_duration_seconds series: %v", series)
	}
}

func TestEtcdWatchBookmarksOnProgress(t *testing.T) {
	forEachClient(t, testWatchBookmarksOnProgress)
}

func testWatchBookmarksOnProgress(t *testing.T, _ *embedetcd.Server, s *storage.Etcd) {
	ctx := st.Ctx(t)
	w, err := s.Watch(ctx, st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	// A write to another resource moves etcd's revision; progress tells the
	// pods watch so.
	node := &v1.Node{Metadata: &v1.ObjectMeta{Name: "n1"}}
	if err := s.Create(ctx, "/registry/nodes/n1", node); err != nil {
		t.Fatal(err)
	}
	want := st.RV(t, node)
	deadline := time.After(30 * time.Second)
	for {
		if err := s.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-w.ResultChan():
			if ev.Type != storage.Bookmark {
				t.Fatalf("got %s, want only bookmarks", ev.Type)
			}
			if ev.Revision >= want {
				return
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no bookmark at revision %d", want)
		}
	}
}

func TestCompactor(t *testing.T) {
	s := newEtcd(t)
	ctx, cancel := context.WithCancel(context.Background())
	clk := clocktesting.NewFakeClock(time.Now())
	done := make(chan error)
	go func() { done <- s.RunCompactor(ctx, time.Minute, clk) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	first := st.MustCreate(t, s, st.Pod("default", "a", nil))
	watchable := func(rev int64) bool {
		w, err := s.Watch(st.Ctx(t), st.PodPrefix, rev, nil)
		if err != nil {
			if !errdefs.IsExpired(err) {
				t.Fatal(err)
			}
			return false
		}
		defer w.Stop()
		// A compaction may show only once the watch runs.
		select {
		case _, ok := <-w.ResultChan():
			return ok || !errdefs.IsExpired(w.Err())
		case <-time.After(200 * time.Millisecond):
			return true
		}
	}
	// The first tick only notes the revision; the second compacts to it.
	waitTick := func() {
		deadline := time.Now().Add(30 * time.Second)
		for !clk.HasWaiters() {
			if time.Now().After(deadline) {
				t.Fatal("compactor is not waiting on its ticker")
			}
			time.Sleep(time.Millisecond)
		}
		clk.Step(time.Minute)
	}
	waitTick()
	st.MustCreate(t, s, st.Pod("default", "b", nil))
	deadline := time.Now().Add(30 * time.Second)
	for watchable(first - 1) {
		if time.Now().After(deadline) {
			t.Fatal("history before the first tick was never compacted")
		}
		clk.Step(time.Minute)
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWithRevisionMatchesMarshal(t *testing.T) {
	pod := st.Pod("default", "web", map[string]string{"a": "b"})
	pod.Spec.NodeName = "n1"
	stored, err := storage.Encode(pod)
	if err != nil {
		t.Fatal(err)
	}
	got := &v1.Pod{}
	if err := proto.Unmarshal(storage.WithRevision(stored, pod.ProtoReflect().Descriptor(), 12345), got); err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(pod).(*v1.Pod)
	want.Metadata.ResourceVersion = "12345"
	if !proto.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if pod.Metadata.ResourceVersion != "" {
		t.Fatal("Encode changed the object")
	}
}

func TestResourceOf(t *testing.T) {
	tests := []struct{ give, want string }{
		{"/registry/pods/default/web", "pods"},
		{"/registry/nodes/n1", "nodes"},
		{"/registry/pods/", "pods"},
		{"/registry/", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := storage.ResourceOf(tt.give); got != tt.want {
			t.Errorf("ResourceOf(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestEtcdWritesFromStaleCache(t *testing.T) {
	s := newEtcd(t)
	ctx := st.Ctx(t)
	key := st.Key("default", "web")
	// stale is the object as a lagging cache holds it (label a=1);
	// etcd has moved on to a=2.
	stale := st.Pod("default", "web", map[string]string{"a": "1"})
	st.MustCreate(t, s, stale)
	current := &v1.Pod{}
	if err := s.GuaranteedUpdate(ctx, key, current, func(cur apis.Object) (apis.Object, error) {
		cur.GetMetadata().Labels["a"] = "2"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	currentRV := current.Metadata.ResourceVersion
	expect := func(cur apis.Object) error {
		if cur.GetMetadata().GetResourceVersion() != currentRV {
			return errdefs.Conflict("resourceVersion %s, want %s", cur.GetMetadata().GetResourceVersion(), currentRV)
		}
		return nil
	}
	set := func(v string) storage.UpdateFunc {
		return func(cur apis.Object) (apis.Object, error) {
			cur.GetMetadata().Labels["b"] = v
			return cur, nil
		}
	}
	tests := []struct {
		name      string
		tryUpdate storage.UpdateFunc
		wantB     string
	}{
		// The precondition fails on the stale copy, holds on etcd's.
		{"precondition", func(cur apis.Object) (apis.Object, error) {
			if err := expect(cur); err != nil {
				return nil, err
			}
			return set("x")(cur)
		}, "x"},
		// The compare on the stale revision fails; the change is redone on
		// the current object, keeping a=2.
		{"compare", set("y"), "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &v1.Pod{}
			if err := s.GuaranteedUpdateFrom(ctx, key, out, tt.tryUpdate, stale); err != nil {
				t.Fatal(err)
			}
			got := &v1.Pod{}
			if err := s.Get(ctx, key, got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, out) || got.Metadata.Labels["a"] != "2" || got.Metadata.Labels["b"] != tt.wantB {
				t.Fatalf("stored %v, returned %v; want a=2 b=%s", got.Metadata, out.Metadata, tt.wantB)
			}
			currentRV = got.Metadata.ResourceVersion
		})
	}

	// An update that changes nothing compared with the stale copy is
	// checked against etcd: there it changes a, so it is written.
	out := &v1.Pod{}
	if err := s.GuaranteedUpdateFrom(ctx, key, out, func(cur apis.Object) (apis.Object, error) {
		cur.GetMetadata().Labels["a"] = "1"
		delete(cur.GetMetadata().Labels, "b")
		return cur, nil
	}, stale); err != nil {
		t.Fatal(err)
	}
	if out.Metadata.ResourceVersion == currentRV || out.Metadata.Labels["a"] != "1" {
		t.Fatalf("no-op on a stale copy: got %v, want a=1 written after %s", out.Metadata, currentRV)
	}
	currentRV = out.Metadata.ResourceVersion

	// A delete whose check fails on the stale copy is checked again.
	deleted := &v1.Pod{}
	if err := s.DeleteFrom(ctx, key, deleted, expect, stale); err != nil {
		t.Fatal(err)
	}
	if err := s.Get(ctx, key, &v1.Pod{}); !errdefs.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
	// A cached copy of something gone is NotFound, not a resurrection.
	if err := s.GuaranteedUpdateFrom(ctx, key, &v1.Pod{}, set("z"), stale); !errdefs.IsNotFound(err) {
		t.Fatalf("update from a cached copy of a deleted object: got %v, want NotFound", err)
	}
	if err := s.DeleteFrom(ctx, key, nil, nil, stale); !errdefs.IsNotFound(err) {
		t.Fatalf("delete from a cached copy of a deleted object: got %v, want NotFound", err)
	}
}

func TestNewClientReachesEtcd(t *testing.T) {
	srv := etcdtest.StartServer(t)
	cli, err := storage.NewClient(storage.ClientConfig{Endpoints: []string{srv.Endpoint()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	s := storage.NewEtcd(cli)
	rev := st.MustCreate(t, s, st.Pod("default", "a", nil))
	if cur, err := s.CurrentRevision(st.Ctx(t)); err != nil || cur < rev {
		t.Fatalf("current revision %d, err %v; want %d or later", cur, err, rev)
	}
	if _, err := storage.NewClient(storage.ClientConfig{}); err == nil {
		t.Fatal("a client without endpoints was made")
	}
}
