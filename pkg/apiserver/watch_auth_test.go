package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
)

type seen struct {
	typ  v1.EventType
	name string
	rv   string
}

// collect reads n events from a watch stream (bookmarks skipped).
func collect(t *testing.T, w v1.API_WatchClient, n int) []seen {
	t.Helper()
	var out []seen
	for len(out) < n {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		if ev.GetType() == v1.EventType_EVENT_TYPE_BOOKMARK {
			continue
		}
		p := unwrap[*v1.Pod](t, ev.GetObject())
		if p.GetMetadata().GetResourceVersion() != ev.GetResourceVersion() {
			t.Errorf("event rv %s, object rv %s", ev.GetResourceVersion(), p.GetMetadata().GetResourceVersion())
		}
		out = append(out, seen{ev.GetType(), p.GetMetadata().GetName(), ev.GetResourceVersion()})
	}
	return out
}

func TestWatchFromResourceVersion(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	first := createPod(t, c, newPod("default", "p0"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := c.Watch(ctx, &v1.WatchRequest{Resource: "pods", Namespace: "default", ResourceVersion: first.GetMetadata().GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	// Every later change, in order, each once.
	var want []seen
	for i := 1; i <= 20; i++ {
		p := createPod(t, c, newPod("default", fmt.Sprintf("p%d", i)))
		want = append(want, seen{v1.EventType_EVENT_TYPE_ADDED, p.GetMetadata().GetName(), p.GetMetadata().GetResourceVersion()})
	}
	for i := 1; i <= 20; i += 2 {
		p, err := getPod(t, c, "default", fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		p.Metadata.Labels["touched"] = "yes"
		u, err := update(t, c, p)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, seen{v1.EventType_EVENT_TYPE_MODIFIED, u.GetMetadata().GetName(), u.GetMetadata().GetResourceVersion()})
	}
	resp, err := deletePod(t, c, "default", "p2", nil)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, seen{v1.EventType_EVENT_TYPE_DELETED, "p2", unwrap[*v1.Pod](t, resp.GetObject()).GetMetadata().GetResourceVersion()})
	got := collect(t, w, len(want))
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %v, want %v", i, got[i], want[i])
		}
	}

	// A second watch from the same version sees the same history.
	w2, err := c.Watch(ctx, &v1.WatchRequest{Resource: "pods", Namespace: "default", ResourceVersion: first.GetMetadata().GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	got2 := collect(t, w2, len(want))
	for i := range want {
		if got2[i] != want[i] {
			t.Errorf("replayed event %d = %v, want %v", i, got2[i], want[i])
		}
	}
}

func TestWatchCurrentStateFirstAndSelectors(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	createPod(t, c, newPod("default", "a"))
	b := newPod("default", "b")
	b.Metadata.Labels["tier"] = "db"
	createPod(t, c, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := c.Watch(ctx, &v1.WatchRequest{Resource: "pods", LabelSelector: "tier!=db"})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, w, 1)
	if got[0].typ != v1.EventType_EVENT_TYPE_ADDED || got[0].name != "a" {
		t.Fatalf("first event %v, want ADDED a", got[0])
	}
	createPod(t, c, newPod("default", "c"))
	got = collect(t, w, 1)
	if got[0].name != "c" {
		t.Fatalf("next event %v, want c (b does not match)", got[0])
	}

	// Field selectors, list too.
	if _, err := bind(t, c, "default", "a", "n1"); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", FieldSelector: "spec.nodeName=n1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetItems()) != 1 || unwrap[*v1.Pod](t, list.GetItems()[0]).GetMetadata().GetName() != "a" {
		t.Errorf("list spec.nodeName=n1: %d items", len(list.GetItems()))
	}
	if _, err := strconv.ParseInt(list.GetResourceVersion(), 10, 64); err != nil {
		t.Errorf("list resourceVersion %q", list.GetResourceVersion())
	}
	_, err = c.List(ctxT(t), &v1.ListRequest{Resource: "pods", FieldSelector: "spec.color=blue"})
	wantCode(t, err, codes.InvalidArgument, "spec.color")
	_, err = c.List(ctxT(t), &v1.ListRequest{Resource: "pods", LabelSelector: "a in (b"})
	wantCode(t, err, codes.InvalidArgument, "")
	_, err = c.List(ctxT(t), &v1.ListRequest{Resource: "pods", ResourceVersion: "x"})
	wantCode(t, err, codes.InvalidArgument, "resourceVersion")
}

func TestAuthentication(t *testing.T) {
	e := startEnv(t)
	createPod(t, e.admin(), newPod("default", "web"))

	// No client certificate: the handshake succeeds, the call does not.
	anon := v1.NewAPIClient(e.conn(e.tlsConfig(nil, "")))
	_, err := anon.Get(ctxT(t), &v1.GetRequest{Resource: "pods", Namespace: "default", Name: "web"})
	wantCode(t, err, codes.Unauthenticated, "client certificate")
	w, err := anon.Watch(ctxT(t), &v1.WatchRequest{Resource: "pods"})
	if err == nil {
		_, err = w.Recv()
	}
	wantCode(t, err, codes.Unauthenticated, "")

	// A certificate from another CA fails the handshake when the client
	// insists on sending it...
	other := newCA(t, "other-ca")
	forced := e.tlsConfig(other, "kubernetes-admin", "system:masters")
	cert := forced.Certificates[0]
	forced.Certificates = nil
	forced.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	stranger := v1.NewAPIClient(e.conn(forced))
	_, err = stranger.Get(ctxT(t), &v1.GetRequest{Resource: "pods", Namespace: "default", Name: "web"})
	wantCode(t, err, codes.Unavailable, "")
	// ...and a client that picks certificates by the server's CA list sends
	// none, and gets nothing either.
	stranger = v1.NewAPIClient(e.conn(e.tlsConfig(other, "kubernetes-admin", "system:masters")))
	_, err = stranger.Get(ctxT(t), &v1.GetRequest{Resource: "pods", Namespace: "default", Name: "web"})
	wantCode(t, err, codes.Unauthenticated, "")

	// Discovery is public; there is no cluster-info yet.
	disc := v1.NewDiscoveryClient(e.conn(e.tlsConfig(nil, "")))
	_, err = disc.GetClusterInfo(ctxT(t), &v1.GetClusterInfoRequest{})
	wantCode(t, err, codes.NotFound, "cluster-info")
	info := &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"}, Data: map[string]string{"kubeconfig": "x"}}
	if _, err := e.admin().Create(ctxT(t), &v1.CreateRequest{Resource: "configmaps", Object: wrap(t, info)}); err != nil {
		t.Fatal(err)
	}
	resp, err := disc.GetClusterInfo(ctxT(t), &v1.GetClusterInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetConfigMap().GetData()["kubeconfig"] != "x" {
		t.Errorf("cluster-info = %v", resp.GetConfigMap())
	}

	// An authenticated stranger is authorized for nothing.
	jane := e.client("jane", "developers")
	_, err = jane.List(ctxT(t), &v1.ListRequest{Resource: "pods"})
	wantCode(t, err, codes.PermissionDenied, `User "jane" cannot list resource "pods"`)
}

func TestNodeRestriction(t *testing.T) {
	e := startEnv(t)
	admin := e.admin()
	createPod(t, admin, newPod("default", "on-a"))
	createPod(t, admin, newPod("default", "on-b"))
	if _, err := bind(t, admin, "default", "on-a", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := bind(t, admin, "default", "on-b", "b"); err != nil {
		t.Fatal(err)
	}
	node := e.client("system:node:a", "system:nodes")

	// Status of its own pod: yes; of another node's pod: no.
	own, err := getPod(t, node, "default", "on-a")
	if err != nil {
		t.Fatal(err)
	}
	own.Status.Phase = "Running"
	if _, err := updateStatus(t, node, own); err != nil {
		t.Fatalf("node a updating its own pod's status: %v", err)
	}
	_, err = getPod(t, node, "default", "on-b")
	wantCode(t, err, codes.PermissionDenied, "")
	foreign, err := getPod(t, admin, "default", "on-b")
	if err != nil {
		t.Fatal(err)
	}
	foreign.Status.Phase = "Failed"
	_, err = updateStatus(t, node, foreign)
	wantCode(t, err, codes.PermissionDenied, `User "system:node:a" cannot update resource "pods/status"`)
	if p, _ := getPod(t, admin, "default", "on-b"); p.GetStatus().GetPhase() == "Failed" {
		t.Error("node a changed the status of a pod bound to b")
	}
	// A missing pod is refused like a foreign one.
	_, err = getPod(t, node, "default", "nope")
	wantCode(t, err, codes.PermissionDenied, "")

	// Update (not status) of its own pod, delete of another's: no.
	_, err = update(t, node, own)
	wantCode(t, err, codes.PermissionDenied, "")
	_, err = deletePod(t, node, "default", "on-b", nil)
	wantCode(t, err, codes.PermissionDenied, "")
	zero := int64(0)
	if _, err := deletePod(t, node, "default", "on-a", &zero); err != nil {
		t.Fatalf("node a deleting its own pod: %v", err)
	}

	// Lists and watches of pods only with its own spec.nodeName.
	_, err = node.List(ctxT(t), &v1.ListRequest{Resource: "pods"})
	wantCode(t, err, codes.PermissionDenied, "")
	if _, err := node.List(ctxT(t), &v1.ListRequest{Resource: "pods", FieldSelector: "spec.nodeName=a"}); err != nil {
		t.Fatal(err)
	}
	w, err := node.Watch(ctxT(t), &v1.WatchRequest{Resource: "pods", FieldSelector: "spec.nodeName=b"})
	if err == nil {
		_, err = w.Recv()
	}
	wantCode(t, err, codes.PermissionDenied, "")

	// Its own Node: create and update; another's: no.
	mk := func(name string) error {
		n := &v1.Node{Metadata: &v1.ObjectMeta{Name: name}, Status: &v1.NodeStatus{Capacity: map[string]string{"cpu": "2"}}}
		_, err := node.Create(ctxT(t), &v1.CreateRequest{Resource: "nodes", Object: wrap(t, n)})
		return err
	}
	if err := mk("a"); err != nil {
		t.Fatalf("node a registering itself: %v", err)
	}
	wantCode(t, mk("b"), codes.PermissionDenied, "")
	got, err := node.Get(ctxT(t), &v1.GetRequest{Resource: "nodes", Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	n := unwrap[*v1.Node](t, got.GetObject())
	if n.GetStatus().GetCapacity()["cpu"] != "2" {
		t.Error("a node's status was not kept on create")
	}
	n.Status.Allocatable = map[string]string{"cpu": "2"}
	if _, err := node.UpdateStatus(ctxT(t), &v1.UpdateStatusRequest{Resource: "nodes", Object: wrap(t, n)}); err != nil {
		t.Fatal(err)
	}

	// Mirror pods for itself only.
	mirror := newPod("kube-system", "static-a")
	mirror.Spec.NodeName = "a"
	mirror.Metadata.Annotations = map[string]string{"kubernetes.io/config.mirror": "hash"}
	if _, err := node.Create(ctxT(t), &v1.CreateRequest{Resource: "pods", Object: wrap(t, mirror)}); err != nil {
		t.Fatalf("mirror pod: %v", err)
	}
	plain := newPod("default", "sneaky")
	plain.Spec.NodeName = "a"
	_, err = node.Create(ctxT(t), &v1.CreateRequest{Resource: "pods", Object: wrap(t, plain)})
	wantCode(t, err, codes.PermissionDenied, "")
	if _, err := getPod(t, admin, "default", "sneaky"); err == nil {
		t.Error("a refused create was stored")
	}

	// Its lease only.
	lease := &v1.Lease{Metadata: &v1.ObjectMeta{Name: "a", Namespace: "kube-node-lease"}, Spec: &v1.LeaseSpec{HolderIdentity: "a"}}
	if _, err := node.Create(ctxT(t), &v1.CreateRequest{Resource: "leases", Object: wrap(t, lease)}); err != nil {
		t.Fatalf("own lease: %v", err)
	}
	lease = proto.Clone(lease).(*v1.Lease)
	lease.Metadata.Name = "b"
	_, err = node.Create(ctxT(t), &v1.CreateRequest{Resource: "leases", Object: wrap(t, lease)})
	wantCode(t, err, codes.PermissionDenied, "")
}

func TestProbesAndMetrics(t *testing.T) {
	e := startEnv(t)
	createPod(t, e.admin(), newPod("default", "web"))
	for _, path := range []string{"/livez", "/healthz", "/readyz"} {
		if code, body := e.httpGet(path); code != 200 || body != "ok" {
			t.Errorf("%s = %d %q", path, code, body)
		}
	}
	code, body := e.httpGet("/readyz?verbose")
	if code != 200 || !strings.Contains(body, "[+]etcd ok") {
		t.Errorf("/readyz?verbose = %d %q", code, body)
	}
	_, body = e.httpGet("/metrics")
	for _, want := range []string{
		`apiserver_request_total{code="OK",resource="pods",subresource="",verb="create"} 1`,
		`apiserver_request_duration_seconds_bucket{resource="pods",subresource="",verb="create",le="0.005"}`,
		`etcd_request_duration_seconds`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestShutdownEndsWatches(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := c.Watch(ctx, &v1.WatchRequest{Resource: "pods"})
	if err != nil {
		t.Fatal(err)
	}
	createPod(t, c, newPod("default", "web"))
	collect(t, w, 1)
	if err := e.stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for {
		if _, err := w.Recv(); err != nil {
			break
		}
	}
}

func TestWatchCompactedIsOutOfRange(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	var last *v1.Pod
	for i := 0; i < 5; i++ {
		last = createPod(t, c, newPod("default", fmt.Sprintf("p%d", i)))
	}
	rev, err := strconv.ParseInt(last.GetMetadata().GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.probes.backend.Load().compact(ctxT(t), rev); err != nil {
		t.Fatal(err)
	}
	// After a restart the watch cache starts at the current version; a
	// version older than it and compacted in etcd fails with OutOfRange
	// (Kubernetes' 410 Gone) and the client relists: events are never
	// skipped silently.
	e.restart()
	c = e.admin()
	w, err := c.Watch(ctxT(t), &v1.WatchRequest{Resource: "pods", ResourceVersion: "2"})
	if err == nil {
		_, err = w.Recv()
	}
	wantCode(t, err, codes.OutOfRange, "")
	list, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetItems()) != 5 {
		t.Fatalf("list after compaction: %d pods, want 5", len(list.GetItems()))
	}
	w, err = c.Watch(ctxT(t), &v1.WatchRequest{Resource: "pods", ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	createPod(t, c, newPod("default", "after"))
	if got := collect(t, w, 1); got[0].name != "after" {
		t.Errorf("event after the list: %v", got)
	}
}

func TestPanicBecomesInternal(t *testing.T) {
	e := startEnv(t)
	_, err := e.srv.unaryRecover(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/test/Panic"}, func(context.Context, any) (any, error) {
		panic("boom")
	})
	wantCode(t, err, codes.Internal, "internal error")
	err = e.srv.streamRecover(nil, nil, &grpc.StreamServerInfo{FullMethod: "/test/Panic"}, func(any, grpc.ServerStream) error {
		panic("boom")
	})
	wantCode(t, err, codes.Internal, "internal error")
	// A plain error gets a code (never Unknown).
	_, err = e.srv.unaryRecover(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/test/Err"}, func(context.Context, any) (any, error) {
		return nil, fmt.Errorf("plain")
	})
	wantCode(t, err, codes.Internal, "plain")
}
