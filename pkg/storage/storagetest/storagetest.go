// Package storagetest is the contract suite every storage.Interface
// implementation passes (the etcd store and the watch cache): Run it from
// the implementation's tests with a constructor of fresh stores, which
// also implement Compactor. It also holds the small helpers those tests
// share. Not for production code.
package storagetest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
)

// PodPrefix is the prefix of every key the suite writes.
const PodPrefix = "/registry/pods/"

// NewStore returns a fresh, empty store for one test (cleaned up by t).
type NewStore func(t *testing.T) storage.Interface

// Run runs the contract suite, each case on a store of its own.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Interface)
	}{
		{"CreateGetDelete", testCreateGetDelete},
		{"ConcurrentUpdatesWithOneResourceVersion", testConcurrentUpdatesSameRV},
		{"BindOnlyWhileUnbound", testBindOnce},
		{"UpdateRetriesAfterRaces", testUpdateRetries},
		{"UpdateWithoutChangeKeepsResourceVersion", testNoOpUpdate},
		{"TooLargeObject", testTooLarge},
		{"ListPrefixFilterRevision", testList},
		{"ListPagesAllOnce", testListPages},
		{"ListPagesFilterWhilePaging", testListPagesFiltered},
		{"ListPagesConsistentSnapshot", testListPagesSnapshot},
		{"ListPageAtRevision", testListPageAtRevision},
		{"ListPageCompactedContinueIsExpired", testListPageCompacted},
		{"ListPageBadRequestsAreInvalid", testListPageBadRequests},
		{"WatchFromNow", testWatchFromNow},
		{"WatchResumesWithoutGapsOrDuplicates", testWatchResume},
		{"WatchFilterTransitions", testWatchFilter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newStore(t))
		})
	}
}

// Ctx is a context for one test step: generous, so a slow machine under
// the race detector does not fail the test, and bounded, so a hang does.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Key is the key of pod namespace/name.
func Key(namespace, name string) string { return PodPrefix + namespace + "/" + name }

// Pod is a small valid pod.
func Pod(namespace, name string, labels map[string]string) *v1.Pod {
	return &v1.Pod{
		ApiVersion: "v1",
		Kind:       "Pod",
		Metadata:   &v1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels, Uid: namespace + "-" + name},
		Spec:       &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Image: "img:1"}}, RestartPolicy: "Always"},
	}
}

// NewPod returns an empty pod as an apis.Object.
func NewPod() apis.Object { return &v1.Pod{} }

// RV is obj's resourceVersion as a number (failing t when it is none).
func RV(t testing.TB, obj apis.Object) int64 {
	t.Helper()
	rv, err := strconv.ParseInt(obj.GetMetadata().GetResourceVersion(), 10, 64)
	if err != nil || rv <= 0 {
		t.Fatalf("object %s has resourceVersion %q, want a positive number", apis.Key(obj), obj.GetMetadata().GetResourceVersion())
	}
	return rv
}

// MustCreate creates pod and returns its revision.
func MustCreate(t testing.TB, s storage.Interface, pod *v1.Pod) int64 {
	t.Helper()
	if err := s.Create(Ctx(t), Key(pod.Metadata.Namespace, pod.Metadata.Name), pod); err != nil {
		t.Fatalf("create %s: %v", apis.Key(pod), err)
	}
	return RV(t, pod)
}

// Next returns the watcher's next event that is not a Bookmark, failing t
// when none comes within timeout or the watch ends.
func Next(t testing.TB, w storage.Watcher, timeout time.Duration) storage.Event {
	t.Helper()
	ev, err := next(w, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func next(w storage.Watcher, timeout time.Duration) (storage.Event, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return storage.Event{}, fmt.Errorf("watch ended early: %v", w.Err())
			}
			if ev.Type != storage.Bookmark {
				return ev, nil
			}
		case <-timer.C:
			return storage.Event{}, fmt.Errorf("no event within %s", timeout)
		}
	}
}

// Collect reads n events (Bookmarks skipped) from w.
func Collect(t testing.TB, w storage.Watcher, n int) []storage.Event {
	t.Helper()
	out, err := CollectErr(w, n)
	if err != nil {
		t.Fatalf("after %d events: %v", len(out), err)
	}
	return out
}

// CollectErr is Collect for goroutines other than the test's: it returns
// the events read and why it stopped early.
func CollectErr(w storage.Watcher, n int) ([]storage.Event, error) {
	out := make([]storage.Event, 0, n)
	for len(out) < n {
		ev, err := next(w, 30*time.Second)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// ExpectQuiet fails t when w delivers a non-Bookmark event within d.
func ExpectQuiet(t testing.TB, w storage.Watcher, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch ended: %v", w.Err())
			}
			if ev.Type != storage.Bookmark {
				t.Fatalf("unexpected event %s %s at %d", ev.Type, ev.Key, ev.Revision)
			}
		case <-timer.C:
			return
		}
	}
}

// Change is what a watcher should see: type, key, revision.
type Change struct {
	Type     storage.EventType
	Key      string
	Revision int64
}

func (c Change) String() string { return fmt.Sprintf("%s %s @%d", c.Type, c.Key, c.Revision) }

// CheckEvents compares events with want one by one and checks that each
// event's object and encoding agree with it.
func CheckEvents(t testing.TB, got []storage.Event, want []Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i, ev := range got {
		g := Change{ev.Type, ev.Key, ev.Revision}
		if g != want[i] {
			t.Fatalf("event %d: got %v, want %v", i, g, want[i])
		}
		CheckEvent(t, ev)
	}
}

// CheckEvent checks that an event's Object has its revision as
// resourceVersion, sits at its Key, and that Value decodes to Object.
func CheckEvent(t testing.TB, ev storage.Event) {
	t.Helper()
	if got := RV(t, ev.Object); got != ev.Revision {
		t.Fatalf("%s %s: object resourceVersion %d, event revision %d", ev.Type, ev.Key, got, ev.Revision)
	}
	if want := Key(ev.Object.GetMetadata().GetNamespace(), ev.Object.GetMetadata().GetName()); want != ev.Key {
		t.Fatalf("event key %s holds object %s", ev.Key, want)
	}
	decoded := ev.Object.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(ev.Value, decoded); err != nil {
		t.Fatalf("%s %s: decode Value: %v", ev.Type, ev.Key, err)
	}
	if !proto.Equal(decoded, ev.Object) {
		t.Fatalf("%s %s: Value decodes to %v, Object is %v", ev.Type, ev.Key, decoded, ev.Object)
	}
}

func testCreateGetDelete(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	pod := Pod("default", "web", nil)
	rv := MustCreate(t, s, pod)

	if err := s.Create(ctx, Key("default", "web"), Pod("default", "web", nil)); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("second create: got %v, want AlreadyExists", err)
	}
	got := &v1.Pod{}
	if err := s.Get(ctx, Key("default", "web"), got); err != nil {
		t.Fatal(err)
	}
	if RV(t, got) != rv || !proto.Equal(got, pod) {
		t.Fatalf("get: got %v, want %v", got, pod)
	}
	if err := s.Get(ctx, Key("default", "missing"), &v1.Pod{}); !errdefs.IsNotFound(err) {
		t.Fatalf("get missing: got %v, want NotFound", err)
	}

	refuse := errdefs.Conflict("precondition failed")
	err := s.Delete(ctx, Key("default", "web"), &v1.Pod{}, func(cur apis.Object) error {
		if cur.GetMetadata().GetResourceVersion() != strconv.FormatInt(rv, 10) {
			t.Errorf("delete check saw resourceVersion %s, want %d", cur.GetMetadata().GetResourceVersion(), rv)
		}
		return refuse
	})
	if err != refuse {
		t.Fatalf("delete refused by its check: got %v, want the check's error", err)
	}
	if err := s.Get(ctx, Key("default", "web"), &v1.Pod{}); err != nil {
		t.Fatalf("object gone after a refused delete: %v", err)
	}

	deleted := &v1.Pod{}
	if err := s.Delete(ctx, Key("default", "web"), deleted, func(apis.Object) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if RV(t, deleted) <= rv || deleted.GetMetadata().GetName() != "web" {
		t.Fatalf("deleted object: got %v, want web with a resourceVersion after %d", deleted, rv)
	}
	if err := s.Get(ctx, Key("default", "web"), &v1.Pod{}); !errdefs.IsNotFound(err) {
		t.Fatalf("get after delete: got %v, want NotFound", err)
	}
	if err := s.Delete(ctx, Key("default", "web"), &v1.Pod{}, nil); !errdefs.IsNotFound(err) {
		t.Fatalf("delete missing: got %v, want NotFound", err)
	}
	if err := s.GuaranteedUpdate(ctx, Key("default", "web"), &v1.Pod{}, func(cur apis.Object) (apis.Object, error) {
		return cur, nil
	}); !errdefs.IsNotFound(err) {
		t.Fatalf("update missing: got %v, want NotFound", err)
	}
}

// race runs fn(i) for i in [0,n) at once and returns the errors by i.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func testConcurrentUpdatesSameRV(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	rv := strconv.FormatInt(MustCreate(t, s, Pod("default", "web", nil)), 10)
	const n = 16
	errs := race(n, func(i int) error {
		return s.GuaranteedUpdate(ctx, Key("default", "web"), &v1.Pod{}, func(cur apis.Object) (apis.Object, error) {
			if got := cur.GetMetadata().GetResourceVersion(); got != rv {
				return nil, errdefs.Conflict("the object has been modified (resourceVersion %s, want %s)", got, rv)
			}
			pod := cur.(*v1.Pod)
			pod.Metadata.Labels = map[string]string{"writer": strconv.Itoa(i)}
			return pod, nil
		})
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both won", winner, i)
		case err == nil:
			winner = i
		case !errdefs.IsConflict(err):
			t.Fatalf("writer %d: got %v, want Conflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	got := &v1.Pod{}
	if err := s.Get(ctx, Key("default", "web"), got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata.Labels["writer"] != strconv.Itoa(winner) {
		t.Fatalf("stored writer %q, winner %d", got.Metadata.Labels["writer"], winner)
	}
}

func testBindOnce(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	MustCreate(t, s, Pod("default", "web", nil))
	const n = 8
	results := make([]*v1.Pod, n)
	errs := race(n, func(i int) error {
		out := &v1.Pod{}
		err := s.GuaranteedUpdate(ctx, Key("default", "web"), out, func(cur apis.Object) (apis.Object, error) {
			pod := cur.(*v1.Pod)
			if pod.Spec.NodeName != "" {
				return nil, errdefs.Precondition("pod default/web is already assigned to node %q", pod.Spec.NodeName)
			}
			pod.Spec.NodeName = fmt.Sprintf("node-%d", i)
			return pod, nil
		})
		results[i] = out
		return err
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("binds %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errdefs.IsPrecondition(err):
			t.Fatalf("bind %d: got %v, want FailedPrecondition", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no bind succeeded")
	}
	got := &v1.Pod{}
	if err := s.Get(ctx, Key("default", "web"), got); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("node-%d", winner); got.Spec.NodeName != want || results[winner].Spec.NodeName != want {
		t.Fatalf("stored nodeName %q, returned %q, want %q", got.Spec.NodeName, results[winner].Spec.NodeName, want)
	}
	if RV(t, got) != RV(t, results[winner]) {
		t.Fatalf("stored resourceVersion %d, returned %d", RV(t, got), RV(t, results[winner]))
	}
}

func testUpdateRetries(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	MustCreate(t, s, Pod("default", "web", nil))
	const n = 12
	errs := race(n, func(i int) error {
		return s.GuaranteedUpdate(ctx, Key("default", "web"), &v1.Pod{}, func(cur apis.Object) (apis.Object, error) {
			pod := cur.(*v1.Pod)
			count, _ := strconv.Atoi(pod.Metadata.Annotations["count"])
			if pod.Metadata.Annotations == nil {
				pod.Metadata.Annotations = map[string]string{}
			}
			pod.Metadata.Annotations["count"] = strconv.Itoa(count + 1)
			return pod, nil
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	got := &v1.Pod{}
	if err := s.Get(ctx, Key("default", "web"), got); err != nil {
		t.Fatal(err)
	}
	if got.Metadata.Annotations["count"] != strconv.Itoa(n) {
		t.Fatalf("count %s after %d increments: an update was lost", got.Metadata.Annotations["count"], n)
	}
}

func testNoOpUpdate(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	rv := MustCreate(t, s, Pod("default", "web", map[string]string{"a": "1", "b": "2"}))
	out := &v1.Pod{}
	if err := s.GuaranteedUpdate(ctx, Key("default", "web"), out, func(cur apis.Object) (apis.Object, error) {
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if RV(t, out) != rv {
		t.Fatalf("an update that changed nothing moved resourceVersion %d -> %d", rv, RV(t, out))
	}
	if err := s.GuaranteedUpdate(ctx, Key("default", "web"), out, func(cur apis.Object) (apis.Object, error) {
		cur.(*v1.Pod).Metadata.Labels["a"] = "3"
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if RV(t, out) <= rv || out.Metadata.Labels["a"] != "3" {
		t.Fatalf("after a real update got %v, want label a=3 and a resourceVersion after %d", out, rv)
	}
}

func testTooLarge(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	pod := Pod("default", "big", nil)
	pod.Metadata.Annotations = map[string]string{"blob": string(make([]byte, storage.MaxObjectBytes))}
	if err := s.Create(ctx, Key("default", "big"), pod); !errdefs.IsTooLarge(err) {
		t.Fatalf("create of a %d-byte object: got %v, want TooLarge", proto.Size(pod), err)
	}
	MustCreate(t, s, Pod("default", "small", nil))
	err := s.GuaranteedUpdate(ctx, Key("default", "small"), &v1.Pod{}, func(cur apis.Object) (apis.Object, error) {
		cur.GetMetadata().Annotations = map[string]string{"blob": string(make([]byte, storage.MaxObjectBytes))}
		return cur, nil
	})
	if !errdefs.IsTooLarge(err) {
		t.Fatalf("update to a too large object: got %v, want TooLarge", err)
	}
	// Just under the limit is fine.
	pod = Pod("default", "almost", nil)
	pod.Metadata.Annotations = map[string]string{"blob": string(make([]byte, storage.MaxObjectBytes-1024))}
	MustCreate(t, s, pod)
}

func testList(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	var last int64
	for _, ns := range []string{"b", "a"} {
		for i := range 5 {
			team := "x"
			if i%2 == 1 {
				team = "y"
			}
			last = MustCreate(t, s, Pod(ns, fmt.Sprintf("p%d", i), map[string]string{"team": team}))
		}
	}
	names := func(objs []apis.Object) []string {
		var out []string
		for _, o := range objs {
			out = append(out, apis.Key(o))
		}
		return out
	}
	tests := []struct {
		name   string
		prefix string
		filter func(apis.Object) bool
		want   []string
	}{
		{"all", PodPrefix, nil, []string{"a/p0", "a/p1", "a/p2", "a/p3", "a/p4", "b/p0", "b/p1", "b/p2", "b/p3", "b/p4"}},
		{"namespace", PodPrefix + "a/", nil, []string{"a/p0", "a/p1", "a/p2", "a/p3", "a/p4"}},
		{"filter", PodPrefix, func(o apis.Object) bool { return o.GetMetadata().GetLabels()["team"] == "y" }, []string{"a/p1", "a/p3", "b/p1", "b/p3"}},
		{"empty namespace", PodPrefix + "c/", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, minRev := range []int64{0, last} {
				objs, rev, err := s.List(ctx, tt.prefix, minRev, NewPod, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				if rev < last {
					t.Fatalf("list at minRevision %d answered at revision %d, before the last write %d", minRev, rev, last)
				}
				if got := names(objs); fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("minRevision %d: got %v, want %v", minRev, got, tt.want)
				}
				for _, o := range objs {
					RV(t, o)
				}
			}
		})
	}
}

func testWatchFromNow(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	MustCreate(t, s, Pod("default", "before", nil))
	w, err := s.Watch(ctx, PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	rev := MustCreate(t, s, Pod("default", "after", nil))
	CheckEvents(t, Collect(t, w, 1), []Change{{storage.Added, Key("default", "after"), rev}})
	w.Stop()
	if err := w.Err(); err != nil {
		t.Fatalf("Err after Stop: %v", err)
	}
	for range w.ResultChan() {
	}
}

// writeMix does n writes over a few keys (creates, updates, deletes) and
// returns the changes in order; labels flip between team x and y.
func writeMix(t *testing.T, s storage.Interface, n int) ([]Change, map[int64]string) {
	ctx := Ctx(t)
	var changes []Change
	teams := map[int64]string{} // revision -> team label after the change
	exists := map[string]bool{}
	for i := range n {
		name := fmt.Sprintf("p%d", i%37)
		key := Key("ns", name)
		team := []string{"x", "y"}[(i/37)%2]
		switch {
		case !exists[key]:
			rev := MustCreate(t, s, Pod("ns", name, map[string]string{"team": team}))
			changes = append(changes, Change{storage.Added, key, rev})
			teams[rev] = team
			exists[key] = true
		case i%11 == 0:
			out := &v1.Pod{}
			if err := s.Delete(ctx, key, out, nil); err != nil {
				t.Fatal(err)
			}
			changes = append(changes, Change{storage.Deleted, key, RV(t, out)})
			teams[RV(t, out)] = out.Metadata.Labels["team"]
			exists[key] = false
		default:
			out := &v1.Pod{}
			if err := s.GuaranteedUpdate(ctx, key, out, func(cur apis.Object) (apis.Object, error) {
				pod := cur.(*v1.Pod)
				pod.Metadata.Labels["team"] = team
				pod.Metadata.Annotations = map[string]string{"i": strconv.Itoa(i)}
				return pod, nil
			}); err != nil {
				t.Fatal(err)
			}
			changes = append(changes, Change{storage.Modified, key, RV(t, out)})
			teams[RV(t, out)] = team
		}
	}
	return changes, teams
}

func after(changes []Change, rev int64) []Change {
	for i, c := range changes {
		if c.Revision > rev {
			return changes[i:]
		}
	}
	return nil
}

func testWatchResume(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	first := MustCreate(t, s, Pod("other", "first", nil))
	live, err := s.Watch(ctx, PodPrefix+"ns/", first, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Stop()
	const n = 2000
	var (
		wg     sync.WaitGroup
		got    []storage.Event
		gotErr error
	)
	// The live watcher reads while the writes go on.
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, gotErr = CollectErr(live, n)
	}()
	changes, _ := writeMix(t, s, n)
	wg.Wait()
	if gotErr != nil {
		t.Fatalf("live watcher after %d events: %v", len(got), gotErr)
	}
	CheckEvents(t, got, changes)
	ExpectQuiet(t, live, 100*time.Millisecond)

	// Watches resumed from revisions before, inside and at the end of the
	// writes each see exactly the later changes.
	for _, from := range []int64{first, changes[0].Revision, changes[n/2].Revision - 1, changes[n/2].Revision, changes[n-1].Revision} {
		t.Run(fmt.Sprintf("from%d", from), func(t *testing.T) {
			w, err := s.Watch(ctx, PodPrefix+"ns/", from, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			want := after(changes, from)
			CheckEvents(t, Collect(t, w, len(want)), want)
			ExpectQuiet(t, w, 50*time.Millisecond)
		})
	}
}

func testWatchFilter(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	first := MustCreate(t, s, Pod("other", "first", nil))
	const n = 600
	changes, teams := writeMix(t, s, n)
	// A watcher of team x sees a pod that joins x as ADDED and one that
	// leaves as DELETED, as Kubernetes does.
	var want []Change
	inX := map[string]bool{}
	for _, c := range changes {
		team := teams[c.Revision]
		switch c.Type {
		case storage.Added:
			if team == "x" {
				want = append(want, c)
				inX[c.Key] = true
			}
		case storage.Modified:
			switch {
			case team == "x" && inX[c.Key]:
				want = append(want, c)
			case team == "x":
				want = append(want, Change{storage.Added, c.Key, c.Revision})
			case inX[c.Key]:
				want = append(want, Change{storage.Deleted, c.Key, c.Revision})
			}
			inX[c.Key] = team == "x"
		case storage.Deleted:
			if inX[c.Key] {
				want = append(want, c)
			}
			inX[c.Key] = false
		}
	}
	w, err := s.Watch(ctx, PodPrefix, first, func(o apis.Object) bool { return o.GetMetadata().GetLabels()["team"] == "x" })
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	got := Collect(t, w, len(want))
	CheckEvents(t, got, want)
	for _, ev := range got {
		if team := ev.Object.GetMetadata().GetLabels()["team"]; ev.Type != storage.Deleted && team != "x" {
			t.Fatalf("%s %s @%d carries team %q", ev.Type, ev.Key, ev.Revision, team)
		}
	}
	ExpectQuiet(t, w, 50*time.Millisecond)
}
