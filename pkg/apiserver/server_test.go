package apiserver

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/storage"
	"minik8s/pkg/storage/etcdtest"
)

func TestCreateGet(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	created := createPod(t, c, newPod("", "web"))
	md := created.GetMetadata()
	if md.GetNamespace() != "default" {
		t.Errorf("namespace = %q, want default", md.GetNamespace())
	}
	if len(md.GetUid()) != 36 || md.GetUid()[14] != '4' {
		t.Errorf("uid %q is not a UUIDv4", md.GetUid())
	}
	if md.GetCreationTimestamp() == nil || md.GetGeneration() != 1 || md.GetResourceVersion() == "" {
		t.Errorf("system metadata not set: %v", md)
	}
	if created.GetKind() != "Pod" || created.GetApiVersion() != "v1" {
		t.Errorf("type meta = %q %q", created.GetApiVersion(), created.GetKind())
	}
	got, err := getPod(t, c, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, created) {
		t.Errorf("get = %v\nwant %v", got, created)
	}

	_, err = c.Create(ctxT(t), &v1.CreateRequest{Resource: "pods", Object: wrap(t, newPod("default", "web"))})
	wantCode(t, err, codes.AlreadyExists, `pods "web" already exists`)

	_, err = getPod(t, c, "default", "nope")
	wantCode(t, err, codes.NotFound, `pods "nope" not found`)
}

func TestCreateRefusals(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	big := newPod("default", "big")
	big.Spec.Containers[0].Env = []*v1.EnvVar{{Name: "BIG", Value: strings.Repeat("x", 1600<<10)}}
	huge := newPod("default", "huge")
	huge.Spec.Containers[0].Env = []*v1.EnvVar{{Name: "HUGE", Value: strings.Repeat("x", 3500<<10)}}
	noImage := newPod("default", "web")
	noImage.Spec.Containers[0].Image = ""
	badName := newPod("default", "Web")
	tests := []struct {
		name     string
		resource string
		obj      proto.Message
		code     codes.Code
		msg      string
	}{
		{"namespace missing", "pods", newPod("nope", "web"), codes.NotFound, `namespaces "nope" not found`},
		{"kind does not match resource", "nodes", newPod("default", "web"), codes.InvalidArgument, "minik8s.v1.Pod"},
		{"unknown resource", "widgets", newPod("default", "web"), codes.NotFound, `"widgets"`},
		{"name not a path segment", "pods", newPod("default", "a/b"), codes.InvalidArgument, "metadata.name"},
		{"no name", "configmaps", &v1.ConfigMap{Metadata: &v1.ObjectMeta{}}, codes.InvalidArgument, "metadata.name"},
		{"over 1.5 MiB", "pods", big, codes.ResourceExhausted, "limit"},
		{"over the 3 MiB message limit", "pods", huge, codes.ResourceExhausted, ""},
		{"validation names the field", "pods", noImage, codes.InvalidArgument, `Pod "web" is invalid: spec.containers[0].image: Required value`},
		{"invalid name", "pods", badName, codes.InvalidArgument, `metadata.name: Invalid value: "Web"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := anyOf(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Create(ctxT(t), &v1.CreateRequest{Resource: tt.resource, Object: a})
			wantCode(t, err, tt.code, tt.msg)
		})
	}
	// Nothing was left behind.
	for _, r := range []string{"pods", "configmaps", "nodes"} {
		resp, err := c.List(ctxT(t), &v1.ListRequest{Resource: r})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(resp.GetItems()); n != 0 {
			t.Errorf("%d %s stored after refused creates", n, r)
		}
	}
	_, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "pods"})
	wantCode(t, err, codes.InvalidArgument, "object")
}

func update(t *testing.T, c v1.APIClient, p *v1.Pod) (*v1.Pod, error) {
	t.Helper()
	resp, err := c.Update(ctxT(t), &v1.UpdateRequest{Resource: "pods", Object: wrap(t, p)})
	if err != nil {
		return nil, err
	}
	return unwrap[*v1.Pod](t, resp.GetObject()), nil
}

func updateStatus(t *testing.T, c v1.APIClient, p *v1.Pod) (*v1.Pod, error) {
	t.Helper()
	resp, err := c.UpdateStatus(ctxT(t), &v1.UpdateStatusRequest{Resource: "pods", Object: wrap(t, p)})
	if err != nil {
		return nil, err
	}
	return unwrap[*v1.Pod](t, resp.GetObject()), nil
}

func TestUpdateAndStatus(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	p := createPod(t, c, newPod("default", "web"))
	uid, created := p.GetMetadata().GetUid(), p.GetMetadata().GetCreationTimestamp()

	// Update: labels change, status and system fields in the request are
	// ignored, no spec change means no generation bump.
	in := proto.Clone(p).(*v1.Pod)
	in.Metadata.Labels = map[string]string{"app": "web", "tier": "front"}
	in.Metadata.Uid = "forged"
	in.Metadata.CreationTimestamp = nil
	in.Status = &v1.PodStatus{Phase: "Running"}
	u1, err := update(t, c, in)
	if err != nil {
		t.Fatal(err)
	}
	if u1.GetMetadata().GetLabels()["tier"] != "front" {
		t.Errorf("labels not updated: %v", u1.GetMetadata().GetLabels())
	}
	if u1.GetStatus().GetPhase() == "Running" {
		t.Error("Update changed status")
	}
	if u1.GetMetadata().GetUid() != uid || !proto.Equal(u1.GetMetadata().GetCreationTimestamp(), created) {
		t.Error("Update changed system metadata")
	}
	if u1.GetMetadata().GetGeneration() != 1 {
		t.Errorf("generation = %d after a metadata-only update, want 1", u1.GetMetadata().GetGeneration())
	}
	if u1.GetMetadata().GetResourceVersion() == p.GetMetadata().GetResourceVersion() {
		t.Error("resourceVersion did not change")
	}

	// A stale resourceVersion is Aborted and changes nothing.
	stale := proto.Clone(p).(*v1.Pod)
	stale.Metadata.Labels = map[string]string{"stale": "yes"}
	_, err = update(t, c, stale)
	wantCode(t, err, codes.Aborted, `Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again`)
	if got, _ := getPod(t, c, "default", "web"); got.GetMetadata().GetLabels()["stale"] != "" {
		t.Error("a stale update was written")
	}

	// A spec change bumps the generation.
	in = proto.Clone(u1).(*v1.Pod)
	in.Spec.Containers[0].Image = "minik8s/testapp:v2"
	u2, err := update(t, c, in)
	if err != nil {
		t.Fatal(err)
	}
	if u2.GetMetadata().GetGeneration() != 2 {
		t.Errorf("generation = %d after a spec change, want 2", u2.GetMetadata().GetGeneration())
	}

	// UpdateStatus: status changes, spec and metadata in the request are
	// ignored, the generation stays.
	in = proto.Clone(u2).(*v1.Pod)
	in.Status = &v1.PodStatus{Phase: "Running", PodIp: "10.2.0.5"}
	in.Spec.Containers[0].Image = "evil"
	in.Metadata.Labels = map[string]string{"evil": "yes"}
	s1, err := updateStatus(t, c, in)
	if err != nil {
		t.Fatal(err)
	}
	if s1.GetStatus().GetPhase() != "Running" || s1.GetStatus().GetPodIp() != "10.2.0.5" {
		t.Errorf("status not written: %v", s1.GetStatus())
	}
	if s1.GetSpec().GetContainers()[0].GetImage() != "minik8s/testapp:v2" || s1.GetMetadata().GetLabels()["evil"] != "" {
		t.Error("UpdateStatus changed spec or metadata")
	}
	if s1.GetMetadata().GetGeneration() != 2 {
		t.Errorf("generation = %d after a status update, want 2", s1.GetMetadata().GetGeneration())
	}
	// A stale status update is Aborted too.
	_, err = updateStatus(t, c, in)
	wantCode(t, err, codes.Aborted, "the object has been modified")

	// Update of a missing object, status of a kind without status.
	_, err = update(t, c, newPod("default", "nope"))
	wantCode(t, err, codes.NotFound, `pods "nope" not found`)
	cm := &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "cm", Namespace: "default"}}
	if _, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "configmaps", Object: wrap(t, cm)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateStatus(ctxT(t), &v1.UpdateStatusRequest{Resource: "configmaps", Object: wrap(t, cm)})
	wantCode(t, err, codes.NotFound, "configmaps/status")
}

func TestBind(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	p := createPod(t, c, newPod("default", "web"))
	bound, err := bind(t, c, "default", "web", "n1")
	if err != nil {
		t.Fatal(err)
	}
	if bound.GetSpec().GetNodeName() != "n1" {
		t.Errorf("nodeName = %q", bound.GetSpec().GetNodeName())
	}
	var scheduled *v1.Condition
	for _, cond := range bound.GetStatus().GetConditions() {
		if cond.GetType() == "PodScheduled" {
			scheduled = cond
		}
	}
	if scheduled == nil || scheduled.GetStatus() != "True" || scheduled.GetLastTransitionTime() == nil {
		t.Errorf("PodScheduled condition = %v", scheduled)
	}
	_, err = bind(t, c, "default", "web", "n2")
	wantCode(t, err, codes.FailedPrecondition, `already assigned to node "n1"`)
	_, err = bind(t, c, "default", "nope", "n1")
	wantCode(t, err, codes.NotFound, `pods "nope" not found`)

	// A binding for another incarnation of the pod (uid) is refused.
	createPod(t, c, newPod("default", "web2"))
	_, err = c.Bind(ctxT(t), &v1.BindRequest{Binding: &v1.Binding{
		Metadata: &v1.ObjectMeta{Namespace: "default", Name: "web2", Uid: p.GetMetadata().GetUid()},
		Target:   &v1.ObjectReference{Kind: "Node", Name: "n1"},
	}})
	wantCode(t, err, codes.Aborted, "UID in precondition")
	_, err = c.Bind(ctxT(t), &v1.BindRequest{})
	wantCode(t, err, codes.InvalidArgument, "binding")
}

func TestBindRace(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	createPod(t, c, newPod("default", "web"))
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := c.Bind(ctxT(t), &v1.BindRequest{Binding: &v1.Binding{
				Metadata: &v1.ObjectMeta{Namespace: "default", Name: "web"},
				Target:   &v1.ObjectReference{Kind: "Node", Name: "n" + string(rune('a'+i))},
			}})
			errs <- err
		}()
	}
	won := 0
	for i := 0; i < n; i++ {
		err := <-errs
		if err == nil {
			won++
			continue
		}
		wantCode(t, err, codes.FailedPrecondition, "already assigned")
	}
	if won != 1 {
		t.Errorf("%d binds won, want exactly 1", won)
	}
}

func deletePod(t *testing.T, c v1.APIClient, ns, name string, grace *int64) (*v1.DeleteResponse, error) {
	t.Helper()
	return c.Delete(ctxT(t), &v1.DeleteRequest{Resource: "pods", Namespace: ns, Name: name, GracePeriodSeconds: grace})
}

func TestDeletePods(t *testing.T) {
	e := startEnv(t)
	c := e.admin()

	// An unbound pod goes at once.
	createPod(t, c, newPod("default", "unbound"))
	resp, err := deletePod(t, c, "default", "unbound", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetFinished() {
		t.Error("unbound pod: finished = false")
	}
	_, err = getPod(t, c, "default", "unbound")
	wantCode(t, err, codes.NotFound, "")

	// A bound pod is deleted gracefully; the kubelet finishes with grace 0.
	createPod(t, c, newPod("default", "bound"))
	if _, err := bind(t, c, "default", "bound", "n1"); err != nil {
		t.Fatal(err)
	}
	resp, err = deletePod(t, c, "default", "bound", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := unwrap[*v1.Pod](t, resp.GetObject())
	if resp.GetFinished() || p.GetMetadata().GetDeletionTimestamp() == nil || p.GetMetadata().GetDeletionGracePeriodSeconds() != 30 {
		t.Fatalf("bound pod: finished=%v deletionTimestamp=%v grace=%d, want graceful with 30s", resp.GetFinished(), p.GetMetadata().GetDeletionTimestamp(), p.GetMetadata().GetDeletionGracePeriodSeconds())
	}
	// Deleting again does not extend it; a shorter grace shortens it.
	resp, err = deletePod(t, c, "default", "bound", nil)
	if err != nil || resp.GetFinished() {
		t.Fatalf("second delete: %v finished=%v", err, resp.GetFinished())
	}
	five := int64(5)
	resp, err = deletePod(t, c, "default", "bound", &five)
	if err != nil {
		t.Fatal(err)
	}
	if g := unwrap[*v1.Pod](t, resp.GetObject()).GetMetadata().GetDeletionGracePeriodSeconds(); g != 5 {
		t.Errorf("grace after a shorter delete = %d, want 5", g)
	}
	// Binding a pod being deleted is refused.
	zero := int64(0)
	resp, err = deletePod(t, c, "default", "bound", &zero)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetFinished() {
		t.Error("delete with grace 0: finished = false")
	}
	_, err = getPod(t, c, "default", "bound")
	wantCode(t, err, codes.NotFound, "")

	_, err = deletePod(t, c, "default", "bound", nil)
	wantCode(t, err, codes.NotFound, `pods "bound" not found`)

	// Preconditions.
	p = createPod(t, c, newPod("default", "pre"))
	_, err = c.Delete(ctxT(t), &v1.DeleteRequest{Resource: "pods", Namespace: "default", Name: "pre", PreconditionUid: "other"})
	wantCode(t, err, codes.Aborted, "Precondition failed")
	_, err = c.Delete(ctxT(t), &v1.DeleteRequest{Resource: "pods", Namespace: "default", Name: "pre", PreconditionResourceVersion: "1"})
	wantCode(t, err, codes.Aborted, "Precondition failed")
	if _, err := c.Delete(ctxT(t), &v1.DeleteRequest{Resource: "pods", Namespace: "default", Name: "pre", PreconditionUid: p.GetMetadata().GetUid()}); err != nil {
		t.Fatal(err)
	}
}

func TestBindWhileDeleting(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	p := newPod("default", "fin")
	p.Metadata.Finalizers = []string{"example.com/hold"}
	createPod(t, c, p)
	resp, err := deletePod(t, c, "default", "fin", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetFinished() {
		t.Fatal("a pod with a finalizer was removed at once")
	}
	_, err = bind(t, c, "default", "fin", "n1")
	wantCode(t, err, codes.FailedPrecondition, "being deleted")
}

func TestFinalizersAndPropagation(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	cm := &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "cm", Namespace: "default", Finalizers: []string{"example.com/hold"}}}
	if _, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "configmaps", Object: wrap(t, cm)}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Delete(ctxT(t), &v1.DeleteRequest{Resource: "configmaps", Namespace: "default", Name: "cm"})
	if err != nil {
		t.Fatal(err)
	}
	held := unwrap[*v1.ConfigMap](t, resp.GetObject())
	if resp.GetFinished() || held.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("finished=%v deletionTimestamp=%v, want held by its finalizer", resp.GetFinished(), held.GetMetadata().GetDeletionTimestamp())
	}
	// Removing the last finalizer finishes the deletion.
	held.Metadata.Finalizers = nil
	if _, err := c.Update(ctxT(t), &v1.UpdateRequest{Resource: "configmaps", Object: wrap(t, held)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(ctxT(t), &v1.GetRequest{Resource: "configmaps", Namespace: "default", Name: "cm"})
	wantCode(t, err, codes.NotFound, "")

	// Orphan and Foreground leave their finalizer for the garbage collector.
	for _, tt := range []struct{ policy, finalizer string }{{"Orphan", "orphan"}, {"Foreground", "foregroundDeletion"}} {
		cm := &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: strings.ToLower(tt.policy), Namespace: "default"}}
		if _, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "configmaps", Object: wrap(t, cm)}); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Delete(ctxT(t), &v1.DeleteRequest{Resource: "configmaps", Namespace: "default", Name: cm.Metadata.Name, PropagationPolicy: tt.policy})
		if err != nil {
			t.Fatal(err)
		}
		got := unwrap[*v1.ConfigMap](t, resp.GetObject()).GetMetadata()
		if resp.GetFinished() || len(got.GetFinalizers()) != 1 || got.GetFinalizers()[0] != tt.finalizer {
			t.Errorf("%s: finished=%v finalizers=%v, want [%s]", tt.policy, resp.GetFinished(), got.GetFinalizers(), tt.finalizer)
		}
	}
	_, err = c.Delete(ctxT(t), &v1.DeleteRequest{Resource: "configmaps", Namespace: "default", Name: "orphan", PropagationPolicy: "Sometimes"})
	wantCode(t, err, codes.InvalidArgument, "propagationPolicy")

	// The namespaces that exist from the start cannot be deleted.
	_, err = c.Delete(ctxT(t), &v1.DeleteRequest{Resource: "namespaces", Name: "kube-system"})
	wantCode(t, err, codes.PermissionDenied, "may not be deleted")
}

func TestExternalEtcd(t *testing.T) {
	etcd := etcdtest.StartServer(t)
	e := startEnv(t, func(cfg *Config) {
		cfg.EtcdServers = []string{etcd.Endpoint()}
		cfg.DataDir = ""
	})
	c := e.admin()
	createPod(t, c, newPod("default", "web"))
	if _, err := getPod(t, c, "default", "web"); err != nil {
		t.Fatal(err)
	}
	if code, body := e.httpGet("/readyz"); code != 200 {
		t.Errorf("/readyz = %d %q", code, body)
	}
	if got := e.srv.EmbeddedEtcdEndpoint(); got != "" {
		t.Errorf("EmbeddedEtcdEndpoint with --etcd-servers = %q, want none", got)
	}
}

// The apiserver calls its embedded etcd in the process; the member still
// serves its client URL, and what the apiserver wrote is there.
func TestEmbeddedEtcdEndpoint(t *testing.T) {
	e := startEnv(t)
	createPod(t, e.admin(), newPod("default", "web"))
	endpoint := e.srv.EmbeddedEtcdEndpoint()
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Fatalf("EmbeddedEtcdEndpoint = %q, want http://127.0.0.1:PORT", endpoint)
	}
	cli, err := storage.NewClient(storage.ClientConfig{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	pod := &v1.Pod{}
	if err := storage.NewEtcd(cli).Get(ctxT(t), "/registry/pods/default/web", pod); err != nil {
		t.Fatalf("the pod in etcd at %s: %v", endpoint, err)
	}
	if pod.GetMetadata().GetName() != "web" {
		t.Fatalf("stored pod: %v", pod.GetMetadata())
	}
}
