package apiserver

import (
	"testing"

	"google.golang.org/grpc/codes"

	v1 "minik8s/api/proto/minik8s/v1"
)

// A node reads a ConfigMap only while a pod bound to it mounts it.
func TestNodeGetsConfigMapsItsPodsMount(t *testing.T) {
	e := startEnv(t)
	admin := e.admin()
	for _, name := range []string{"mounted-on-a", "mounted-on-b", "unused"} {
		cm := &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: name, Namespace: "default"}, Data: map[string]string{"k": "v"}}
		if _, err := admin.Create(ctxT(t), &v1.CreateRequest{Resource: "configmaps", Object: wrap(t, cm)}); err != nil {
			t.Fatal(err)
		}
	}
	mounting := func(name, cm string) *v1.Pod {
		p := newPod("default", name)
		p.Spec.Volumes = []*v1.Volume{{Name: "config", ConfigMap: &v1.ConfigMapVolumeSource{Name: cm}}}
		return p
	}
	createPod(t, admin, mounting("on-a", "mounted-on-a"))
	createPod(t, admin, mounting("on-b", "mounted-on-b"))
	// Not bound yet: mounting is not enough.
	node := e.client("system:node:a", "system:nodes")
	getCM := func(ns, name string) error {
		_, err := node.Get(ctxT(t), &v1.GetRequest{Resource: "configmaps", Namespace: ns, Name: name})
		return err
	}
	wantCode(t, getCM("default", "mounted-on-a"), codes.PermissionDenied, `configmaps "mounted-on-a" is forbidden: User "system:node:a" cannot get resource "configmaps"`)

	if _, err := bind(t, admin, "default", "on-a", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := bind(t, admin, "default", "on-b", "b"); err != nil {
		t.Fatal(err)
	}
	resp, err := node.Get(ctxT(t), &v1.GetRequest{Resource: "configmaps", Namespace: "default", Name: "mounted-on-a"})
	if err != nil {
		t.Fatalf("node a getting the ConfigMap its pod mounts: %v", err)
	}
	if got := unwrap[*v1.ConfigMap](t, resp.GetObject()); got.GetData()["k"] != "v" {
		t.Fatalf("got %v", got)
	}
	wantCode(t, getCM("default", "mounted-on-b"), codes.PermissionDenied, "")
	wantCode(t, getCM("default", "unused"), codes.PermissionDenied, "")
	// A missing one is refused like a foreign one.
	wantCode(t, getCM("default", "nope"), codes.PermissionDenied, "")
	_, err = node.List(ctxT(t), &v1.ListRequest{Resource: "configmaps", Namespace: "default"})
	wantCode(t, err, codes.PermissionDenied, "")
}
