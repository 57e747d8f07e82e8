package minictl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

const webPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
spec:
  containers:
  - name: web
    image: minik8s/testapp:v1
    args: ["serve", "--listen", ":8080"]
`

const twoObjects = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: minik8s/testapp:v1
`

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCreate(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a-pod.yaml":     webPod,
		"b-objects.yml":  twoObjects,
		"notes.txt":      "not a manifest",
		"sub/other.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nested\n",
	})
	t.Run("file", func(t *testing.T) {
		fc := newFakeClient()
		r := run(t, fc, "create", "-f", filepath.Join(dir, "a-pod.yaml"))
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		golden(t, r.out, "\npod/web created\n")
		obj, err := fc.Get(t.Context(), mustLookup(t, "pods"), "default", "web")
		if err != nil {
			t.Fatal(err)
		}
		if got := obj.(*v1.Pod).GetSpec().GetContainers()[0].GetArgs(); strings.Join(got, " ") != "serve --listen :8080" {
			t.Errorf("args %v", got)
		}
	})
	t.Run("directory in lexical order, not recursive", func(t *testing.T) {
		fc := newFakeClient()
		r := run(t, fc, "create", "-f", dir)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		golden(t, r.out, "\npod/web created\nconfigmap/settings created\ndeployment.apps/web created\n")
		if _, err := fc.Get(t.Context(), mustLookup(t, "deployments"), "prod", "web"); err != nil {
			t.Errorf("the deployment keeps its own namespace: %v", err)
		}
	})
	t.Run("recursive", func(t *testing.T) {
		r := run(t, newFakeClient(), "create", "-R", "-f", dir, "-o", "name")
		golden(t, r.out, "\npod/web\nconfigmap/settings\ndeployment.apps/web\nconfigmap/nested\n")
	})
	t.Run("stdin", func(t *testing.T) {
		r := runStdin(t, newFakeClient(), webPod, "create", "-f", "-")
		golden(t, r.out, "\npod/web created\n")
	})
	t.Run("partial failure continues and exits 1", func(t *testing.T) {
		fc := newFakeClient(&v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "settings", Namespace: "default"}})
		fc.failCreate = map[string]error{}
		r := run(t, fc, "create", "-f", filepath.Join(dir, "b-objects.yml"))
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
		golden(t, r.out, "\ndeployment.apps/web created\n")
		golden(t, r.err, "\nError from server (AlreadyExists): error when creating \""+filepath.Join(dir, "b-objects.yml")+"\": configmaps \"settings\" already exists\n")
	})
	t.Run("invalid object from the server", func(t *testing.T) {
		fc := newFakeClient()
		fc.failCreate = map[string]error{"web": errdefs.Invalid(`Pod "web" is invalid: spec.containers[0].image: Required value`)}
		r := run(t, fc, "create", "-f", filepath.Join(dir, "a-pod.yaml"))
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
		golden(t, r.err, "\nThe Pod \"web\" is invalid: spec.containers[0].image: Required value\n")
	})
	t.Run("several failures print one per line", func(t *testing.T) {
		fc := newFakeClient()
		fc.failCreate = map[string]error{
			"settings": errdefs.Invalid(`ConfigMap "settings" is invalid: data[bad key]: Invalid value`),
			"web":      errdefs.Forbidden(`deployments.apps is forbidden: User "x" cannot create resource "deployments"`),
		}
		file := filepath.Join(dir, "b-objects.yml")
		r := run(t, fc, "create", "-f", file)
		if r.code != 1 || r.out != "" {
			t.Errorf("exit %d, stdout %q", r.code, r.out)
		}
		golden(t, r.err, "\nError from server (Invalid): error when creating \""+file+"\": ConfigMap \"settings\" is invalid: data[bad key]: Invalid value\n"+
			"Error from server (Forbidden): error when creating \""+file+"\": deployments.apps is forbidden: User \"x\" cannot create resource \"deployments\"\n")
	})
	t.Run("unsupported field", func(t *testing.T) {
		bad := writeFiles(t, map[string]string{"bad.yaml": strings.Replace(webPod, "    image:", "    securityContext: {}\n    image:", 1)})
		fc := newFakeClient()
		r := run(t, fc, "create", "-f", filepath.Join(bad, "bad.yaml"))
		if r.code != 1 || !strings.Contains(r.err, "spec.containers[0].securityContext: field not supported") {
			t.Errorf("exit %d, stderr %q", r.code, r.err)
		}
		if len(fc.calls) != 0 {
			t.Errorf("nothing may reach the server: %v", fc.calls)
		}
	})
	t.Run("namespace mismatch with -n", func(t *testing.T) {
		r := run(t, newFakeClient(), "create", "-f", filepath.Join(dir, "b-objects.yml"), "-n", "dev")
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
		golden(t, r.out, "\nconfigmap/settings created\n")
		golden(t, r.err, "\nerror: the namespace from the provided object \"prod\" does not match the namespace \"dev\". You must pass '--namespace=prod' to perform this operation.\n")
	})
	t.Run("empty file", func(t *testing.T) {
		empty := writeFiles(t, map[string]string{"empty.yaml": "---\n"})
		r := run(t, newFakeClient(), "create", "-f", filepath.Join(empty, "empty.yaml"))
		if r.code != 1 || r.err != "error: no objects passed to create\n" {
			t.Errorf("exit %d, stderr %q", r.code, r.err)
		}
	})
}

func TestApply(t *testing.T) {
	dir := writeFiles(t, map[string]string{"pod.yaml": webPod})
	file := filepath.Join(dir, "pod.yaml")
	fc := newFakeClient()
	podRes := mustLookup(t, "pods")

	r := run(t, fc, "apply", "-f", file)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	golden(t, r.out, "\npod/web created\n")
	obj, _ := fc.Get(t.Context(), podRes, "default", "web")
	last := obj.GetMetadata().GetAnnotations()[LastAppliedAnnotation]
	if !strings.HasPrefix(last, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"`) || !strings.HasSuffix(last, "}\n") {
		t.Errorf("last-applied annotation %q", last)
	}

	// The server (or a controller) sets fields the manifest does not name.
	p := obj.(*v1.Pod)
	p.Spec.NodeName = "node-1"
	p.Spec.RestartPolicy = "Always"
	p.Spec.Containers[0].ImagePullPolicy = "IfNotPresent"
	p.Status = &v1.PodStatus{Phase: "Running"}
	if _, err := fc.Update(t.Context(), podRes, p); err != nil {
		t.Fatal(err)
	}

	r = run(t, fc, "apply", "-f", file)
	golden(t, r.out, "\npod/web unchanged\n")

	// Change the image and drop the label: configured, server-set fields kept.
	changed := strings.Replace(strings.Replace(webPod, "testapp:v1", "testapp:v2", 1), "  labels:\n    app: web\n", "", 1)
	if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	updatesBefore := countCalls(fc, "update")
	r = run(t, fc, "apply", "-f", file)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	golden(t, r.out, "\npod/web configured\n")
	if got := countCalls(fc, "update") - updatesBefore; got != 1 {
		t.Errorf("%d updates, want 1", got)
	}
	obj, _ = fc.Get(t.Context(), podRes, "default", "web")
	p = obj.(*v1.Pod)
	if got := p.Spec.Containers[0].Image; got != "minik8s/testapp:v2" {
		t.Errorf("image %q, want v2", got)
	}
	if p.Spec.NodeName != "node-1" || p.Spec.RestartPolicy != "Always" || p.Spec.Containers[0].ImagePullPolicy != "IfNotPresent" {
		t.Errorf("server-set fields lost: %v", p.Spec)
	}
	if len(p.Metadata.Labels) != 0 {
		t.Errorf("labels %v: the label removed from the manifest must go", p.Metadata.Labels)
	}

	r = run(t, fc, "apply", "-f", file, "-o", "name")
	golden(t, r.out, "\npod/web\n")
}

func TestApplyRetriesConflicts(t *testing.T) {
	dir := writeFiles(t, map[string]string{"pod.yaml": webPod})
	fc := newFakeClient()
	if r := run(t, fc, "apply", "-f", filepath.Join(dir, "pod.yaml")); r.code != 0 {
		t.Fatal(r.err)
	}
	changed := strings.Replace(webPod, "testapp:v1", "testapp:v2", 1)
	if err := os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &conflictOnce{fakeClient: fc}
	var out, errOut syncBuffer
	f := testFactory(fc, "", &out, &errOut)
	f.NewClient = func(string) (Client, error) { return c, nil }
	if code := Run(t.Context(), f, []string{"apply", "-f", filepath.Join(dir, "pod.yaml")}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	golden(t, out.String(), "\npod/web configured\n")
	if c.conflicts != 1 {
		t.Errorf("%d conflicts injected, want 1", c.conflicts)
	}
}

// conflictOnce fails the first update with a Conflict, as if another
// writer came first.
type conflictOnce struct {
	*fakeClient
	conflicts int
}

func (c *conflictOnce) Update(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error) {
	if c.conflicts == 0 {
		c.conflicts++
		return nil, errdefs.Conflict("the object has been modified")
	}
	return c.fakeClient.Update(ctx, res, obj)
}

func TestApplyWarnsWithoutAnnotation(t *testing.T) {
	dir := writeFiles(t, map[string]string{"pod.yaml": webPod})
	fc := newFakeClient()
	run(t, fc, "create", "-f", filepath.Join(dir, "pod.yaml"))
	r := run(t, fc, "apply", "-f", filepath.Join(dir, "pod.yaml"))
	golden(t, r.out, "\npod/web configured\n")
	if !strings.HasPrefix(r.err, "Warning: resource pods/web is missing the kubectl.kubernetes.io/last-applied-configuration annotation") {
		t.Errorf("stderr %q", r.err)
	}
	r = run(t, fc, "apply", "-f", filepath.Join(dir, "pod.yaml"))
	golden(t, r.out, "\npod/web unchanged\n")
	if r.err != "" {
		t.Errorf("stderr %q", r.err)
	}
}

func countCalls(fc *fakeClient, verb string) int {
	n := 0
	for _, c := range fc.calls {
		if strings.HasPrefix(c, verb+" ") {
			n++
		}
	}
	return n
}

func TestGetYAMLAndJSON(t *testing.T) {
	fc := newFakeClient(
		&v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "a", Namespace: "default", ResourceVersion: "1"}, Data: map[string]string{"k": "v"}},
		&v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "b", Namespace: "default"}},
	)
	r := run(t, fc, "get", "cm", "a", "-o", "yaml")
	golden(t, r.out, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  namespace: default
  uid: uid-a
  resourceVersion: "1"
data:
  k: v
`)
	r = run(t, fc, "get", "configmap/a", "-o", "json")
	golden(t, r.out, `
{
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {
        "name": "a",
        "namespace": "default",
        "uid": "uid-a",
        "resourceVersion": "1"
    },
    "data": {
        "k": "v"
    }
}
`)
	r = run(t, fc, "get", "cm", "-o", "yaml")
	golden(t, r.out, `
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a
    namespace: default
    uid: uid-a
    resourceVersion: "1"
  data:
    k: v
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: b
    namespace: default
    uid: uid-b
    resourceVersion: "2"
`)
	r = run(t, newFakeClient(), "get", "pods", "-o", "json")
	if !strings.Contains(r.out, `"kind": "List"`) || !strings.Contains(r.out, `"items": []`) {
		t.Errorf("an empty list prints as an empty List:\n%s", r.out)
	}
}

func TestLocalValidation(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"noimage.yaml":   strings.Replace(webPod, "    image: minik8s/testapp:v1\n", "", 1),
		"bigdeploy.yaml": strings.Replace(twoObjects, "name: web\n  namespace: prod", "name: Web_1\n  namespace: prod", 1),
	})
	t.Run("refused before reaching the server", func(t *testing.T) {
		fc := newFakeClient()
		r := run(t, fc, "create", "-f", filepath.Join(dir, "noimage.yaml"))
		if r.code != 1 || r.out != "" {
			t.Errorf("exit %d, stdout %q", r.code, r.out)
		}
		golden(t, r.err, "\nThe Pod \"web\" is invalid: spec.containers[0].image: Required value\n")
		if len(fc.calls) != 0 {
			t.Errorf("calls %v, want none", fc.calls)
		}
	})
	t.Run("grouped kind prints without its group", func(t *testing.T) {
		fc := newFakeClient()
		r := run(t, fc, "apply", "-f", filepath.Join(dir, "bigdeploy.yaml"))
		if r.code != 1 {
			t.Errorf("exit %d", r.code)
		}
		golden(t, r.out, "\nconfigmap/settings created\n")
		if !strings.HasPrefix(r.err, "The Deployment \"Web_1\" is invalid: metadata.name: Invalid value: \"Web_1\"") {
			t.Errorf("stderr %q", r.err)
		}
	})
	t.Run("validate=false leaves it to the server", func(t *testing.T) {
		fc := newFakeClient()
		r := run(t, fc, "create", "--validate=false", "-f", filepath.Join(dir, "noimage.yaml"))
		if r.code != 0 {
			t.Errorf("exit %d: %s", r.code, r.err)
		}
	})
	t.Run("warn", func(t *testing.T) {
		fc := newFakeClient()
		r := run(t, fc, "create", "--validate=warn", "-f", filepath.Join(dir, "noimage.yaml"))
		if r.code != 0 || r.out != "pod/web created\n" || !strings.HasPrefix(r.err, "Warning: Pod \"web\" is invalid") {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
		}
	})
	t.Run("real-world manifests pass", func(t *testing.T) {
		for _, name := range []string{"mysql-deployment.yaml", "nginx-pod.yaml"} {
			fc := newFakeClient()
			r := run(t, fc, "create", "-f", filepath.Join("testdata", name))
			if r.code != 0 {
				t.Errorf("%s: exit %d: %s", name, r.code, r.err)
			}
		}
	})
}
