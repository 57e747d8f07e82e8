// Package architecture keeps the layout of DESIGN.md honest: it fails when a
// package imports what its place in the data flow forbids. It grows with the
// tree: a new component or leaf gets a line in the tables below.
package architecture

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "minik8s"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps=false", "-json=ImportPath,Imports,Deps", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func underAny(path string, prefixes ...string) bool {
	for _, p := range prefixes {
		if under(path, p) {
			return true
		}
	}
	return false
}

// components never import each other; each may use only pkg/client and
// pkg/apis (and leaves such as pkg/pki).
var components = map[string]string{
	"apiserver":          module + "/pkg/apiserver",
	"scheduler":          module + "/pkg/scheduler",
	"controller-manager": module + "/pkg/controller",
	"kubelet":            module + "/pkg/kubelet",
	"minictl":            module + "/pkg/minictl",
}

func TestComponentsDoNotImportEachOther(t *testing.T) {
	for _, p := range listPackages(t) {
		for name, root := range components {
			if !under(p.ImportPath, root) {
				continue
			}
			for _, d := range p.Deps {
				for other, otherRoot := range components {
					if other != name && under(d, otherRoot) {
						t.Errorf("%s (component %s) depends on %s (component %s): components share only pkg/client and pkg/apis", p.ImportPath, name, d, other)
					}
				}
			}
		}
	}
}

func TestEtcdOnlyInStorage(t *testing.T) {
	for _, p := range listPackages(t) {
		// The etcd image's main is etcd itself, built from the module proxy.
		if underAny(p.ImportPath, module+"/pkg/storage", module+"/test", module+"/deploy/images/etcd") {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "go.etcd.io/etcd/") {
				t.Errorf("%s imports %s: only pkg/storage may talk to etcd", p.ImportPath, imp)
			}
		}
	}
}

func TestClientSideNeverLinksEtcd(t *testing.T) {
	clientSide := []string{
		module + "/pkg/client", module + "/pkg/scheduler", module + "/pkg/controller",
		module + "/pkg/kubelet", module + "/pkg/minictl",
		module + "/cmd/scheduler", module + "/cmd/controller-manager", module + "/cmd/kubelet", module + "/cmd/minictl",
	}
	for _, p := range listPackages(t) {
		if !underAny(p.ImportPath, clientSide...) {
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "go.etcd.io/etcd/") || under(d, module+"/pkg/storage") {
				t.Errorf("%s depends on %s: components reach etcd only through the apiserver", p.ImportPath, d)
			}
		}
	}
}

func TestDockerSDKOnlyInDockerRuntime(t *testing.T) {
	for _, p := range listPackages(t) {
		if under(p.ImportPath, module+"/pkg/kubelet/runtime/docker") {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/moby/moby/") || strings.HasPrefix(imp, "github.com/docker/docker/") {
				t.Errorf("%s imports %s: only the kubelet's Docker runtime may use the Docker SDK", p.ImportPath, imp)
			}
		}
	}
}

// The host's links and network namespaces are changed in one place: the
// Docker runtime's kubenet wiring.
func TestNetlinkOnlyInDockerRuntime(t *testing.T) {
	for _, p := range listPackages(t) {
		if under(p.ImportPath, module+"/pkg/kubelet/runtime/docker") {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/vishvananda/") {
				t.Errorf("%s imports %s: only the kubelet's Docker runtime may change links and network namespaces", p.ImportPath, imp)
			}
		}
	}
}

func TestPkgNeverImportsCmd(t *testing.T) {
	for _, p := range listPackages(t) {
		if !under(p.ImportPath, module+"/pkg") {
			continue
		}
		for _, d := range p.Deps {
			if under(d, module+"/cmd") {
				t.Errorf("%s depends on %s: nothing under pkg/ imports cmd/", p.ImportPath, d)
			}
		}
	}
}

// Leaves import nothing of ours but the generated API and each other.
func TestLeavesStayLeaves(t *testing.T) {
	leaves := []string{module + "/pkg/apis", module + "/pkg/pki"}
	allowed := []string{module + "/api", module + "/pkg/apis", module + "/pkg/pki"}
	for _, p := range listPackages(t) {
		if !underAny(p.ImportPath, leaves...) {
			continue
		}
		for _, d := range p.Deps {
			if under(d, module) && !underAny(d, allowed...) {
				t.Errorf("%s depends on %s: pkg/apis and pkg/pki are leaves", p.ImportPath, d)
			}
		}
	}
}

func TestStorageKnowsNoServices(t *testing.T) {
	for _, p := range listPackages(t) {
		if !under(p.ImportPath, module+"/pkg/storage") {
			continue
		}
		for _, d := range p.Deps {
			if underAny(d, module+"/pkg/apiserver", module+"/pkg/client") {
				t.Errorf("%s depends on %s: storage never imports the gRPC services or the client", p.ImportPath, d)
			}
		}
	}
}

// The rules above must see the tree: a test that finds no packages proves nothing.
func TestSeesTheTree(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range listPackages(t) {
		seen[p.ImportPath] = true
	}
	for _, want := range []string{module + "/pkg/apis", module + "/pkg/apis/errdefs", module + "/pkg/storage"} {
		if !seen[want] {
			t.Errorf("go list did not report %s", want)
		}
	}
}
