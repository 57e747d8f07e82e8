package registry

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
	"minik8s/pkg/storage/etcdtest"
)

// startRegistry is a Registry on a fresh embedded etcd with its namespace
// cache running and synced, and the default namespaces created.
func startRegistry(t *testing.T) (*Registry, storage.Interface) {
	t.Helper()
	store := storage.NewEtcd(etcdtest.Start(t))
	r, err := New(Options{Store: store, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	if err := r.WaitNamespacesSynced(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := r.EnsureNamespaces(testCtx(t), apis.DefaultNamespaces()...); err != nil {
		t.Fatal(err)
	}
	return r, store
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func kind(t *testing.T, r *Registry, name string) *Kind {
	t.Helper()
	k, err := r.Kind(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func createNamespace(t *testing.T, r *Registry, name string) *v1.Namespace {
	t.Helper()
	out, err := r.Create(testCtx(t), kind(t, r, "namespaces"), &v1.Namespace{Metadata: &v1.ObjectMeta{Name: name}}, CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return out.(*v1.Namespace)
}

func getNamespace(t *testing.T, r *Registry, name string) (*v1.Namespace, error) {
	t.Helper()
	out, err := r.Get(testCtx(t), kind(t, r, "namespaces"), "", name)
	if err != nil {
		return nil, err
	}
	return out.(*v1.Namespace), nil
}

func createConfigMap(r *Registry, ctx context.Context, ns, name string) error {
	k, _ := r.Kind("configmaps")
	_, err := r.Create(ctx, k, &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: name, Namespace: ns}}, CreateOptions{})
	return err
}

// updateNamespace reads ns, changes it with f and writes it back.
func updateNamespace(t *testing.T, r *Registry, name string, f func(ns *v1.Namespace)) (*v1.Namespace, error) {
	t.Helper()
	ns, err := getNamespace(t, r, name)
	if err != nil {
		t.Fatal(err)
	}
	f(ns)
	out, err := r.Update(testCtx(t), kind(t, r, "namespaces"), ns, UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return out.(*v1.Namespace), nil
}

func TestNamespaceCreateDefaults(t *testing.T) {
	r, _ := startRegistry(t)
	ns := createNamespace(t, r, "dev")
	if got := ns.GetSpec().GetFinalizers(); !slices.Equal(got, []string{FinalizerKubernetes}) {
		t.Errorf("spec.finalizers = %v, want [kubernetes]", got)
	}
	if got := ns.GetStatus().GetPhase(); got != NamespaceActive {
		t.Errorf("status.phase = %q, want Active", got)
	}
	// A client's own finalizers stay, the kubernetes one is added; a
	// client's status is not taken.
	k := kind(t, r, "namespaces")
	out, err := r.Create(testCtx(t), k, &v1.Namespace{
		Metadata: &v1.ObjectMeta{Name: "own"},
		Spec:     &v1.NamespaceSpec{Finalizers: []string{"example.com/hold"}},
		Status:   &v1.NamespaceStatus{Phase: NamespaceTerminating},
	}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	own := out.(*v1.Namespace)
	if got := own.GetSpec().GetFinalizers(); !slices.Equal(got, []string{"example.com/hold", FinalizerKubernetes}) {
		t.Errorf("spec.finalizers = %v", got)
	}
	if own.GetStatus().GetPhase() != NamespaceActive {
		t.Errorf("status.phase = %q", own.GetStatus().GetPhase())
	}
	// The finalizers of an Active namespace are kept by an update, as
	// Kubernetes' update does (only the finalize step changes them).
	upd, err := updateNamespace(t, r, "dev", func(ns *v1.Namespace) {
		ns.Spec = nil
		ns.Metadata.Labels = map[string]string{"team": "a"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(upd.GetSpec().GetFinalizers(), []string{FinalizerKubernetes}) || upd.GetMetadata().GetLabels()["team"] != "a" {
		t.Errorf("after update: finalizers %v, labels %v", upd.GetSpec().GetFinalizers(), upd.GetMetadata().GetLabels())
	}
}

func TestNamespaceDeleteTerminates(t *testing.T) {
	r, _ := startRegistry(t)
	k := kind(t, r, "namespaces")
	createNamespace(t, r, "dev")
	if err := createConfigMap(r, testCtx(t), "dev", "before"); err != nil {
		t.Fatal(err)
	}

	obj, finished, err := r.Delete(testCtx(t), k, "", "dev", DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns := obj.(*v1.Namespace)
	if finished || ns.GetMetadata().GetDeletionTimestamp() == nil || ns.GetStatus().GetPhase() != NamespaceTerminating {
		t.Fatalf("delete: finished=%v deletionTimestamp=%v phase=%q", finished, ns.GetMetadata().GetDeletionTimestamp(), ns.GetStatus().GetPhase())
	}
	if !slices.Equal(ns.GetSpec().GetFinalizers(), []string{FinalizerKubernetes}) {
		t.Errorf("spec.finalizers = %v", ns.GetSpec().GetFinalizers())
	}

	// Refused at once, without waiting for the watch: this registry
	// wrote the deletion.
	err = createConfigMap(r, testCtx(t), "dev", "after")
	want := `configmaps "after" is forbidden: unable to create new content in namespace dev because it is being terminated`
	if !errdefs.IsForbidden(err) || err.Error() != want {
		t.Fatalf("create in a terminating namespace: %v, want Forbidden %q", err, want)
	}
	// What was there stays until the namespace controller deletes it.
	if _, err := r.Get(testCtx(t), kind(t, r, "configmaps"), "dev", "before"); err != nil {
		t.Fatalf("content of the terminating namespace: %v", err)
	}

	// Deleting again changes nothing.
	again, finished, err := r.Delete(testCtx(t), k, "", "dev", DeleteOptions{})
	if err != nil || finished || again.GetMetadata().GetResourceVersion() != ns.GetMetadata().GetResourceVersion() {
		t.Fatalf("second delete: finished=%v rv %s -> %v, %v", finished, ns.GetMetadata().GetResourceVersion(), again.GetMetadata().GetResourceVersion(), err)
	}
	// Other namespaces are not affected.
	if err := createConfigMap(r, testCtx(t), "default", "elsewhere"); err != nil {
		t.Fatal(err)
	}

	// The phase cannot go back, and no finalizer can be added.
	_, err = updateNamespace(t, r, "dev", func(ns *v1.Namespace) { ns.Spec.Finalizers = append(ns.Spec.Finalizers, "example.com/late") })
	if !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), `spec.finalizers: Forbidden: no new finalizers can be added if the namespace is being terminated, found new finalizers "example.com/late"`) {
		t.Fatalf("adding a finalizer: %v", err)
	}
	cur, _ := getNamespace(t, r, "dev")
	cur.Status.Phase = NamespaceActive
	_, err = r.UpdateStatus(testCtx(t), k, cur, UpdateOptions{})
	if !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), "status.phase: Forbidden: may only be 'Terminating' if `deletionTimestamp` is not empty") {
		t.Fatalf("status back to Active: %v", err)
	}

	// A label change keeps the namespace and its finalizer.
	labelled, err := updateNamespace(t, r, "dev", func(ns *v1.Namespace) { ns.Metadata.Labels = map[string]string{"x": "y"} })
	if err != nil || !slices.Equal(labelled.GetSpec().GetFinalizers(), []string{FinalizerKubernetes}) {
		t.Fatalf("label update: %v, %v", labelled.GetSpec().GetFinalizers(), err)
	}

	// Removing the last finalizer (the finalize step) removes the namespace.
	if _, err := updateNamespace(t, r, "dev", func(ns *v1.Namespace) { ns.Spec.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := getNamespace(t, r, "dev"); !errdefs.IsNotFound(err) {
		t.Fatalf("namespace after finalize: %v, want NotFound", err)
	}
	err = createConfigMap(r, testCtx(t), "dev", "late")
	if !errdefs.IsNotFound(err) || err.Error() != `namespaces "dev" not found` {
		t.Fatalf("create in a removed namespace: %v", err)
	}

	// A namespace of the same name is a new one, Active at once.
	createNamespace(t, r, "dev")
	if err := createConfigMap(r, testCtx(t), "dev", "fresh"); err != nil {
		t.Fatalf("create in the recreated namespace: %v", err)
	}
}

// The cache follows deletions made elsewhere (another apiserver) through
// its watch.
func TestNamespaceCacheFollowsTheWatch(t *testing.T) {
	r, store := startRegistry(t)
	other, err := New(Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	createNamespace(t, r, "dev")
	if err := createConfigMap(r, testCtx(t), "dev", "a"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Delete(testCtx(t), kind(t, other, "namespaces"), "", "dev", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "create refused in the terminating namespace", func() error {
		err := createConfigMap(r, testCtx(t), "dev", "b")
		if errdefs.IsForbidden(err) {
			return nil
		}
		if err == nil {
			return errdefs.Invalid("create succeeded")
		}
		return err
	})
}

func waitFor(t *testing.T, what string, cond func() error) {
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
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNamespaceDeleteWithoutFinalizers(t *testing.T) {
	r, store := startRegistry(t)
	k := kind(t, r, "namespaces")
	// A namespace stored before namespaces had finalizers.
	old := &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "legacy", Uid: "u-1"}, Status: &v1.NamespaceStatus{Phase: NamespaceActive}}
	apis.SetTypeMeta(old)
	if err := store.Create(testCtx(t), k.Key("", "legacy"), proto.Clone(old).(apis.Object)); err != nil {
		t.Fatal(err)
	}
	_, finished, err := r.Delete(testCtx(t), k, "", "legacy", DeleteOptions{})
	if err != nil || !finished {
		t.Fatalf("delete: finished=%v, %v; want removed at once", finished, err)
	}
	if _, err := getNamespace(t, r, "legacy"); !errdefs.IsNotFound(err) {
		t.Fatalf("get: %v, want NotFound", err)
	}

	// metadata.finalizers still hold it, Terminating.
	createNamespace(t, r, "held")
	if _, err := updateNamespace(t, r, "held", func(ns *v1.Namespace) { ns.Metadata.Finalizers = []string{"example.com/hold"} }); err != nil {
		t.Fatal(err)
	}
	obj, finished, err := r.Delete(testCtx(t), k, "", "held", DeleteOptions{})
	if err != nil || finished || obj.(*v1.Namespace).GetStatus().GetPhase() != NamespaceTerminating {
		t.Fatalf("delete held: finished=%v %v, %v", finished, obj, err)
	}
	// Finalized by the controller: still held by metadata.finalizers.
	if _, err := updateNamespace(t, r, "held", func(ns *v1.Namespace) { ns.Spec.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := getNamespace(t, r, "held"); err != nil {
		t.Fatalf("namespace with a metadata finalizer left: %v", err)
	}
	if _, err := updateNamespace(t, r, "held", func(ns *v1.Namespace) { ns.Metadata.Finalizers = nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := getNamespace(t, r, "held"); !errdefs.IsNotFound(err) {
		t.Fatalf("get after the last finalizer: %v, want NotFound", err)
	}
}

func TestDefaultNamespacesUndeletable(t *testing.T) {
	r, _ := startRegistry(t)
	for _, name := range []string{"default", "kube-system", "kube-public"} {
		_, _, err := r.Delete(testCtx(t), kind(t, r, "namespaces"), "", name, DeleteOptions{})
		if !errdefs.IsForbidden(err) {
			t.Errorf("delete %s: %v, want Forbidden", name, err)
		}
		ns, err := getNamespace(t, r, name)
		if err != nil || ns.GetMetadata().GetDeletionTimestamp() != nil || ns.GetStatus().GetPhase() != NamespaceActive {
			t.Errorf("%s after delete: %v, %v", name, ns, err)
		}
	}
}

// The cache keeps the latest state it learnt, whichever way it came:
// events older than an observed write change nothing.
func TestNamespaceCacheOrder(t *testing.T) {
	k := newKinds()["namespaces"]
	c := newNamespaceCache(nil, k, nil)
	ns := func(rv string, deleting bool) *v1.Namespace {
		n := &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "dev", Uid: "u1", ResourceVersion: rv}, Status: &v1.NamespaceStatus{Phase: NamespaceActive}}
		if deleting {
			n.Metadata.DeletionTimestamp = timestamppb.Now()
			n.Status.Phase = NamespaceTerminating
		}
		return n
	}
	phase := func() string {
		e, ok := (*c.m.Load())["dev"]
		switch {
		case !ok:
			return "absent"
		case e.gone:
			return "gone"
		}
		return e.phase
	}
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"created (watch)", func() { c.mutate(func(m map[string]nsEntry) { set(m, "dev", entryOf(ns("5", false))) }) }, NamespaceActive},
		{"deleted here", func() { c.observe(ns("7", true), false) }, NamespaceTerminating},
		{"older label change arrives", func() { c.mutate(func(m map[string]nsEntry) { set(m, "dev", entryOf(ns("6", false))) }) }, NamespaceTerminating},
		{"removed here", func() { c.observe(ns("9", true), true) }, "gone"},
		{"the deletion arrives late", func() { c.mutate(func(m map[string]nsEntry) { set(m, "dev", entryOf(ns("7", true))) }) }, "gone"},
	}
	for _, s := range steps {
		s.do()
		if got := phase(); got != s.want {
			t.Fatalf("%s: %s, want %s", s.name, got, s.want)
		}
	}
}
