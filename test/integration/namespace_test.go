package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/test/integration/framework"
)

const shopManifest = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  color: blue
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: held
  namespace: shop
  finalizers: ["example.com/hold"]
---
apiVersion: v1
kind: Pod
metadata:
  name: single
  namespace: shop
spec:
  containers:
  - name: app
    image: minik8s/testapp:v1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: minik8s/testapp:v1
`

// shopContent lists what is left in namespace shop, "kind/name" each.
func shopContent(ctx context.Context, admin *client.Clientset) ([]string, error) {
	var out []string
	add := func(kind string, n int, name func(i int) string, err error) error {
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			out = append(out, kind+"/"+name(i))
		}
		return nil
	}
	opts := client.ListOptions{Namespace: "shop"}
	cms, _, err := admin.ConfigMaps().List(ctx, opts)
	if err := add("configmap", len(cms), func(i int) string { return cms[i].GetMetadata().GetName() }, err); err != nil {
		return nil, err
	}
	pods, _, err := admin.Pods().List(ctx, opts)
	if err := add("pod", len(pods), func(i int) string { return pods[i].GetMetadata().GetName() }, err); err != nil {
		return nil, err
	}
	rss, _, err := admin.ReplicaSets().List(ctx, opts)
	if err := add("replicaset", len(rss), func(i int) string { return rss[i].GetMetadata().GetName() }, err); err != nil {
		return nil, err
	}
	ds, _, err := admin.Deployments().List(ctx, opts)
	if err := add("deployment", len(ds), func(i int) string { return ds[i].GetMetadata().GetName() }, err); err != nil {
		return nil, err
	}
	evs, _, err := admin.Events().List(ctx, opts)
	if err := add("event", len(evs), func(i int) string { return evs[i].GetMetadata().GetName() }, err); err != nil {
		return nil, err
	}
	return out, nil
}

// Deleting a namespace empties it, then removes it: Terminating meanwhile,
// with new content refused.
func TestNamespaceDeletion(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	cp.StartControllerManager(t)
	ctx := framework.Context(t)

	cp.MustMinictl(t, shopManifest, "create", "-f", "-")
	// The Deployment's ReplicaSet made its (unscheduled) pods, and events
	// about it.
	framework.Eventually(t, time.Minute, "deployment web made its pods", func() error {
		pods, err := framework.ActivePods(ctx, admin, "shop", "app=web")
		if err != nil {
			return err
		}
		if len(pods) != 2 {
			return fmt.Errorf("%d pods", len(pods))
		}
		return nil
	})
	if out := cp.MustMinictl(t, "", "get", "namespace", "shop"); !strings.Contains(out, "Active") {
		t.Fatalf("get namespace shop:\n%s", out)
	}

	out := cp.MustMinictl(t, "", "delete", "namespace", "shop", "--wait=false")
	if strings.TrimSpace(out) != `namespace "shop" deleted` {
		t.Fatalf("delete output %q", out)
	}
	if out := cp.MustMinictl(t, "", "get", "namespace", "shop"); !strings.Contains(out, "Terminating") {
		t.Fatalf("get namespace shop after delete:\n%s", out)
	}
	_, err := admin.ConfigMaps().Create(ctx, &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "late", Namespace: "shop"}})
	if !errdefs.IsForbidden(err) || !strings.Contains(err.Error(), "unable to create new content in namespace shop because it is being terminated") {
		t.Fatalf("create in the terminating namespace: %v, want Forbidden", err)
	}
	res := cp.Minictl(t, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: late\n  namespace: shop\n", "create", "-f", "-")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "unable to create new content in namespace shop because it is being terminated") {
		t.Fatalf("minictl create in the terminating namespace: exit %d\n%s", res.ExitCode, res.Stderr)
	}

	// Everything goes but the configmap a finalizer holds; the namespace
	// waits for it.
	framework.Eventually(t, 2*time.Minute, "namespace emptied but for the held configmap", func() error {
		left, err := shopContent(ctx, admin)
		if err != nil {
			return err
		}
		if len(left) != 1 || left[0] != "configmap/held" {
			return fmt.Errorf("left: %v", left)
		}
		return nil
	})
	held, err := admin.ConfigMaps().Get(ctx, "shop", "held")
	if err != nil || held.GetMetadata().GetDeletionTimestamp() == nil {
		t.Fatalf("held configmap: %v, %v; want it being deleted", held, err)
	}
	ns, err := admin.Namespaces().Get(ctx, "", "shop")
	if err != nil || ns.GetStatus().GetPhase() != "Terminating" {
		t.Fatalf("namespace while content is left: %v, %v", ns, err)
	}

	// Its owner lets the configmap go; then the namespace goes.
	held.Metadata.Finalizers = nil
	if _, err := admin.ConfigMaps().Update(ctx, held); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 2*time.Minute, "namespace shop removed", func() error {
		_, err := admin.Namespaces().Get(ctx, "", "shop")
		if errdefs.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("still there")
	})
	left, err := shopContent(ctx, admin)
	if err != nil || len(left) != 0 {
		t.Fatalf("content after the namespace went: %v, %v", left, err)
	}
	_, err = admin.ConfigMaps().Create(ctx, &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "late", Namespace: "shop"}})
	if !errdefs.IsNotFound(err) {
		t.Fatalf("create in the removed namespace: %v, want NotFound", err)
	}

	// The name is free again: a new, Active namespace.
	cp.MustMinictl(t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n", "create", "-f", "-")
	if _, err := admin.ConfigMaps().Create(ctx, &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "fresh", Namespace: "shop"}}); err != nil {
		t.Fatalf("create in the recreated namespace: %v", err)
	}
}
