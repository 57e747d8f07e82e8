package config

import (
	"os"
	"path/filepath"
	"testing"
)

const webManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: minik8s/testapp:v1
`

func TestReadDirMakesStaticPods(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(webManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("kind: Pod\nspec: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a manifest"), 0o644); err != nil {
		t.Fatal(err)
	}
	pods, errs := ReadDir(dir, "node-a")
	if len(pods) != 1 || len(errs) != 1 {
		t.Fatalf("pods %d errs %v: want one pod and one error (bad.yaml)", len(pods), errs)
	}
	p := pods[0]
	md := p.GetMetadata()
	if md.GetName() != "web-node-a" || md.GetNamespace() != "default" || p.GetSpec().GetNodeName() != "node-a" {
		t.Errorf("name %s/%s node %s", md.GetNamespace(), md.GetName(), p.GetSpec().GetNodeName())
	}
	if md.GetUid() == "" || md.GetAnnotations()[AnnotationConfigHash] != md.GetUid() || !IsStatic(p) || IsMirror(p) {
		t.Errorf("annotations %v uid %q", md.GetAnnotations(), md.GetUid())
	}
	again, _ := ReadDir(dir, "node-a")
	if again[0].GetMetadata().GetUid() != md.GetUid() {
		t.Errorf("the UID of a static pod changed between reads")
	}
	other, _ := ReadDir(dir, "node-b")
	if other[0].GetMetadata().GetUid() == md.GetUid() {
		t.Errorf("two nodes share a static pod UID")
	}
	m := MirrorPod(p)
	if !IsMirror(m) || m.GetMetadata().GetUid() != "" || m.GetMetadata().GetAnnotations()[AnnotationConfigMirror] != md.GetUid() {
		t.Errorf("mirror pod %v", m.GetMetadata())
	}
	if p.GetMetadata().GetUid() == "" {
		t.Errorf("MirrorPod changed the static pod")
	}
}

func TestReadDirOfAMissingDirectory(t *testing.T) {
	pods, errs := ReadDir(filepath.Join(t.TempDir(), "nope"), "n")
	if len(pods) != 0 || len(errs) != 0 {
		t.Errorf("pods %v errs %v", pods, errs)
	}
}
