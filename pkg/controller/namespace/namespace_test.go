package namespace

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/controller/controllertest"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// kindAPI is one kind's fake apiserver, untyped.
type kindAPI interface {
	list(ns string) []apis.Object
	delete(ctx context.Context, ns, name string, opts client.DeleteOptions) (apis.Object, bool, error)
	actions() []string
}

type typedAPI[T apis.Object] struct{ c *controllertest.Client[T] }

func (a typedAPI[T]) list(ns string) []apis.Object {
	var out []apis.Object
	for _, o := range a.c.Objects() {
		if o.GetMetadata().GetNamespace() == ns {
			out = append(out, o)
		}
	}
	return out
}

func (a typedAPI[T]) delete(ctx context.Context, ns, name string, opts client.DeleteOptions) (apis.Object, bool, error) {
	o, finished, err := a.c.Delete(ctx, ns, name, opts)
	if err != nil {
		return nil, false, err
	}
	return o, finished, nil
}

func (a typedAPI[T]) actions() []string { return a.c.Actions() }

// content is the fake Client over one fake apiserver per kind.
type content struct {
	mu       sync.Mutex
	kinds    map[string]kindAPI
	failList map[string]error
	lists    []string
}

func (c *content) List(_ context.Context, res *apis.Resource, ns string) ([]apis.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists = append(c.lists, res.Name)
	if err := c.failList[res.Name]; err != nil {
		return nil, err
	}
	return c.kinds[res.Name].list(ns), nil
}

func (c *content) Delete(ctx context.Context, res *apis.Resource, ns, name string, opts client.DeleteOptions) (apis.Object, bool, error) {
	return c.kinds[res.Name].delete(ctx, ns, name, opts)
}

// deletes returns the deletes so far, "<resource> ns/name", in order of
// kinds.
func (c *content) deletes(order []*apis.Resource) []string {
	var out []string
	for _, r := range order {
		for _, a := range c.kinds[r.Name].actions() {
			out = append(out, r.Name+" "+strings.TrimPrefix(a, "delete "))
		}
	}
	return out
}

type env struct {
	clock  *testclock.FakeClock
	nss    *controllertest.Informer[*v1.Namespace]
	nsAPI  *controllertest.Client[*v1.Namespace]
	pods   *controllertest.Informer[*v1.Pod]
	podAPI *controllertest.Client[*v1.Pod]
	cms    *controllertest.Client[*v1.ConfigMap]
	api    *content
	c      *Controller
}

func newEnv(t *testing.T, nss []*v1.Namespace, objs ...apis.Object) *env {
	t.Helper()
	e := &env{clock: testclock.NewFakeClock(t0)}
	e.nss = controllertest.NewInformer(nss...)
	e.nsAPI = controllertest.NewClient(e.nss, e.clock)
	e.api = &content{kinds: map[string]kindAPI{}, failList: map[string]error{}}
	var pods []*v1.Pod
	var cms []*v1.ConfigMap
	var secrets []*v1.Secret
	var events []*v1.Event
	var leases []*v1.Lease
	var rss []*v1.ReplicaSet
	var ds []*v1.Deployment
	for _, o := range objs {
		switch o := o.(type) {
		case *v1.Pod:
			pods = append(pods, o)
		case *v1.ConfigMap:
			cms = append(cms, o)
		case *v1.Secret:
			secrets = append(secrets, o)
		case *v1.Event:
			events = append(events, o)
		case *v1.Lease:
			leases = append(leases, o)
		case *v1.ReplicaSet:
			rss = append(rss, o)
		case *v1.Deployment:
			ds = append(ds, o)
		default:
			t.Fatalf("no fake for %T", o)
		}
	}
	e.pods = controllertest.NewInformer(pods...)
	e.podAPI = controllertest.NewClient(e.pods, e.clock)
	// A pod bound to a node is deleted gracefully: its kubelet finishes.
	e.podAPI.Graceful = func(p *v1.Pod) bool { return p.GetSpec().GetNodeName() != "" }
	e.cms = controllertest.NewClient(controllertest.NewInformer(cms...), e.clock)
	e.api.kinds["pods"] = typedAPI[*v1.Pod]{e.podAPI}
	e.api.kinds["configmaps"] = typedAPI[*v1.ConfigMap]{e.cms}
	e.api.kinds["secrets"] = typedAPI[*v1.Secret]{controllertest.NewClient(controllertest.NewInformer(secrets...), e.clock)}
	e.api.kinds["events"] = typedAPI[*v1.Event]{controllertest.NewClient(controllertest.NewInformer(events...), e.clock)}
	e.api.kinds["leases"] = typedAPI[*v1.Lease]{controllertest.NewClient(controllertest.NewInformer(leases...), e.clock)}
	e.api.kinds["replicasets"] = typedAPI[*v1.ReplicaSet]{controllertest.NewClient(controllertest.NewInformer(rss...), e.clock)}
	e.api.kinds["deployments"] = typedAPI[*v1.Deployment]{controllertest.NewClient(controllertest.NewInformer(ds...), e.clock)}
	c, err := New(Config{Namespaces: e.nss, NamespaceClient: e.nsAPI, Client: e.api, Pods: e.pods, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	e.c = c
	return e
}

func (e *env) sync(t *testing.T, name string) {
	t.Helper()
	if err := e.c.sync(context.Background(), name); err != nil {
		t.Fatalf("sync %s: %v", name, err)
	}
}

func (e *env) deletes() []string { return e.api.deletes(e.c.resources) }

// step advances the fake clock by d once the queue's delayed add has its
// timer: a step taken before the timer exists would not fire it.
func (e *env) step(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !e.clock.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("no delayed add is waiting on the clock")
		}
		time.Sleep(time.Millisecond)
	}
	e.clock.Step(d)
}

// waitQueued waits until the queue holds n keys (delayed adds land
// asynchronously once the fake clock passed them).
func (e *env) waitQueued(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.c.queue.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d keys, want %d", e.c.queue.Len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// drain empties the queue.
func (e *env) drain() {
	for e.c.queue.Len() > 0 {
		k, _ := e.c.queue.Get()
		e.c.queue.Done(k)
		e.c.queue.Forget(k)
	}
}

func namespace(name string, deleting bool, finalizers ...string) *v1.Namespace {
	ns := &v1.Namespace{
		Metadata: &v1.ObjectMeta{Name: name, Uid: "uid-" + name, ResourceVersion: "1"},
		Spec:     &v1.NamespaceSpec{Finalizers: finalizers},
		Status:   &v1.NamespaceStatus{Phase: "Active"},
	}
	if deleting {
		ns.Metadata.DeletionTimestamp = controllertest.Time(t0)
		ns.Metadata.DeletionGracePeriodSeconds = controllertest.Ptr(int64(0))
		ns.Status.Phase = "Terminating"
	}
	return ns
}

func meta(ns, name string) *v1.ObjectMeta {
	return &v1.ObjectMeta{Namespace: ns, Name: name, Uid: "uid-" + ns + "-" + name, ResourceVersion: "1"}
}

func pod(ns, name, node string) *v1.Pod {
	return &v1.Pod{Metadata: meta(ns, name), Spec: &v1.PodSpec{NodeName: node}}
}

func TestEmptiesThenFinalizes(t *testing.T) {
	e := newEnv(t, []*v1.Namespace{namespace("dev", true, FinalizerKubernetes)},
		&v1.ConfigMap{Metadata: meta("dev", "cm")},
		&v1.ConfigMap{Metadata: meta("other", "cm")},
		&v1.Secret{Metadata: meta("dev", "s")},
		&v1.Event{Metadata: meta("dev", "ev")},
		&v1.Lease{Metadata: meta("dev", "l")},
		&v1.Deployment{Metadata: meta("dev", "web")},
		&v1.ReplicaSet{Metadata: meta("dev", "web-1")},
		pod("dev", "web-1-a", ""),
	)
	e.sync(t, "dev")
	want := []string{
		"deployments dev/web (Background)", "replicasets dev/web-1 (Background)",
		"pods dev/web-1-a (Background)", "configmaps dev/cm (Background)", "secrets dev/s (Background)", "leases dev/l (Background)",
		"events dev/ev (Background)",
	}
	if got := e.deletes(); !slices.Equal(got, want) {
		t.Fatalf("deletes\n got %q\nwant %q", got, want)
	}
	if got := e.nsAPI.Actions(); len(got) != 0 {
		t.Fatalf("namespace written in the pass that deleted: %q", got)
	}
	// A fresh pass must find the namespace empty; it is queued for that,
	// after the first backoff step.
	e.step(t, retryBase)
	e.waitQueued(t, 1)
	e.drain()

	e.sync(t, "dev")
	if got := e.deletes(); len(got) != 0 {
		t.Fatalf("second pass deleted %q", got)
	}
	if got := e.nsAPI.Actions(); !slices.Contains(got, "update dev") {
		t.Fatalf("namespace actions %q, want an update (finalize)", got)
	}
	if objs := e.nsAPI.Objects(); len(objs) != 0 {
		t.Fatalf("namespace left: %v", objs)
	}
	// The other namespace keeps its content.
	if cms := e.cms.Objects(); len(cms) != 1 || cms[0].GetMetadata().GetNamespace() != "other" {
		t.Fatalf("configmaps left: %v", cms)
	}
}

// The finalize step removes only the kubernetes finalizer.
func TestFinalizeKeepsOtherFinalizers(t *testing.T) {
	ns := namespace("dev", true, "example.com/mine", FinalizerKubernetes)
	ns.Metadata.Finalizers = []string{"example.com/meta"} // so that the fake keeps it
	e := newEnv(t, []*v1.Namespace{ns})
	e.sync(t, "dev")
	objs := e.nsAPI.Objects()
	if len(objs) != 1 || !slices.Equal(objs[0].GetSpec().GetFinalizers(), []string{"example.com/mine"}) {
		t.Fatalf("namespace after finalize: %v", objs)
	}
	// Without the kubernetes finalizer there is nothing left to do.
	e.nss.Update(objs[0])
	e.nsAPI.Actions()
	e.sync(t, "dev")
	if got := e.nsAPI.Actions(); slices.ContainsFunc(got, func(a string) bool { return strings.HasPrefix(a, "update") }) {
		t.Fatalf("finalized twice: %q", got)
	}
}

func TestWaitsForGracefulPods(t *testing.T) {
	e := newEnv(t, []*v1.Namespace{namespace("dev", true, FinalizerKubernetes)}, pod("dev", "web", "n1"))
	e.sync(t, "dev")
	if got := e.deletes(); !slices.Equal(got, []string{"pods dev/web (Background)"}) {
		t.Fatalf("deletes %q", got)
	}
	e.podAPI.Flush()
	if got := e.podAPI.Objects(); len(got) != 1 || got[0].GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("pod after delete: %v", got)
	}
	// Looked at again a second later (the fake's deletionTimestamp is now:
	// no grace left), and the pod is not deleted twice.
	if e.c.queue.Len() != 0 {
		t.Fatalf("requeued at once")
	}
	e.step(t, time.Second)
	e.waitQueued(t, 1)
	e.drain()
	e.sync(t, "dev")
	if got := e.deletes(); len(got) != 0 {
		t.Fatalf("deleted again: %q", got)
	}
	if slices.ContainsFunc(e.nsAPI.Actions(), func(a string) bool { return strings.HasPrefix(a, "update") }) {
		t.Fatal("finalized while a pod is terminating")
	}

	// The kubelet finishes: the pod's removal queues the namespace at once.
	e.podAPI.Remove("dev/web")
	e.podAPI.Flush()
	e.waitQueued(t, 1)
	e.drain()
	e.sync(t, "dev")
	if got := e.nsAPI.Objects(); len(got) != 0 {
		t.Fatalf("namespace left: %v", got)
	}
}

func TestEstimatesFromGracePeriod(t *testing.T) {
	p := pod("dev", "web", "n1")
	p.Metadata.DeletionTimestamp = controllertest.Time(t0.Add(20 * time.Second))
	p.Metadata.DeletionGracePeriodSeconds = controllertest.Ptr(int64(20))
	e := newEnv(t, []*v1.Namespace{namespace("dev", true, FinalizerKubernetes)}, p)
	e.sync(t, "dev")
	if got := e.deletes(); len(got) != 0 {
		t.Fatalf("a pod being deleted was deleted again: %q", got)
	}
	// Half the 20 s left plus a second.
	e.step(t, 10*time.Second)
	time.Sleep(20 * time.Millisecond)
	if e.c.queue.Len() != 0 {
		t.Fatal("requeued before 11 s")
	}
	e.step(t, time.Second)
	e.waitQueued(t, 1)
}

func TestLeavesOtherNamespacesAlone(t *testing.T) {
	recreated := namespace("dev", false, FinalizerKubernetes)
	recreated.Metadata.Uid = "uid-new"
	tests := []struct {
		name   string
		cached *v1.Namespace
		live   *v1.Namespace
	}{
		{"active", namespace("dev", false, FinalizerKubernetes), namespace("dev", false, FinalizerKubernetes)},
		{"finalized already", namespace("dev", true, "example.com/x"), namespace("dev", true, "example.com/x")},
		{"gone", namespace("dev", true, FinalizerKubernetes), nil},
		{"recreated, cache lags", namespace("dev", true, FinalizerKubernetes), recreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, []*v1.Namespace{tt.cached}, &v1.ConfigMap{Metadata: meta("dev", "cm")})
			e.nsAPI.Remove("dev")
			if tt.live != nil {
				e.nsAPI.Put(tt.live)
			}
			e.sync(t, "dev")
			if got := e.deletes(); len(got) != 0 {
				t.Fatalf("deleted %q", got)
			}
			if slices.ContainsFunc(e.nsAPI.Actions(), func(a string) bool { return strings.HasPrefix(a, "update") }) {
				t.Fatal("namespace updated")
			}
		})
	}
}

func TestErrorsKeepTheNamespace(t *testing.T) {
	e := newEnv(t, []*v1.Namespace{namespace("dev", true, FinalizerKubernetes)},
		&v1.Secret{Metadata: meta("dev", "s")}, &v1.ConfigMap{Metadata: meta("dev", "cm")})
	e.api.failList["secrets"] = errdefs.Forbidden(`secrets is forbidden`)
	e.cms.FailNext("delete", errdefs.Unavailable("etcd is away"))
	err := e.c.sync(context.Background(), "dev")
	if err == nil || !strings.Contains(err.Error(), "list secrets in dev: secrets is forbidden") ||
		!strings.Contains(err.Error(), "delete configmap dev/cm: etcd is away") {
		t.Fatalf("sync: %v, want the list and the delete errors", err)
	}
	if len(e.nsAPI.Objects()) != 1 {
		t.Fatal("namespace finalized despite errors")
	}
	// Once the calls work again, the namespace empties and goes.
	delete(e.api.failList, "secrets")
	for i := 0; i < 3 && len(e.nsAPI.Objects()) > 0; i++ {
		e.sync(t, "dev")
	}
	if len(e.nsAPI.Objects()) != 0 || len(e.cms.Objects()) != 0 {
		t.Fatalf("left: namespaces %v, configmaps %v", e.nsAPI.Objects(), e.cms.Objects())
	}
}

func TestHandlers(t *testing.T) {
	e := newEnv(t, nil)
	e.nss.Add(namespace("active", false, FinalizerKubernetes))
	if e.c.queue.Len() != 0 {
		t.Fatal("an active namespace was queued")
	}
	e.nss.Add(namespace("dev", true, FinalizerKubernetes))
	if e.c.queue.Len() != 1 {
		t.Fatal("a terminating namespace was not queued")
	}
	e.drain()
	// Pods leaving an active namespace change nothing.
	e.pods.Add(pod("active", "p", "n1"))
	e.pods.Delete(pod("active", "p", "n1"))
	if e.c.queue.Len() != 0 {
		t.Fatal("a pod of an active namespace queued it")
	}
}

func TestNewRejectsClusterScopedKinds(t *testing.T) {
	nodes, _ := apis.Lookup("nodes")
	_, err := New(Config{Namespaces: controllertest.NewInformer[*v1.Namespace](), NamespaceClient: &controllertest.Client[*v1.Namespace]{}, Client: &content{},
		Resources: []*apis.Resource{nodes}})
	if !errdefs.IsInvalid(err) {
		t.Fatalf("New with nodes: %v, want Invalid", err)
	}
}
