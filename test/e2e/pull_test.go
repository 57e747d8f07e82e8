package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/test/integration/framework"
)

// registryPackage is Debian's build of the Docker registry (distribution
// v2); its binary is docker-registry.
const registryPackage = "docker-registry"

// registry is a Docker registry running as a child of the test, on a free
// port of 127.0.0.1 (which Docker trusts without TLS), storing in a
// temporary directory.
type registry struct {
	addr string
	mu   sync.Mutex
	log  bytes.Buffer
}

func (r *registry) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.Write(p)
}

// logSince returns what the registry logged after offset, and the new
// offset.
func (r *registry) logSince(offset int) (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.log.Bytes()
	return string(b[min(offset, len(b)):]), len(b)
}

// registryBinary finds docker-registry, installing Debian's package when
// it is missing (tests run as root in CI).
func registryBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath(registryPackage); err == nil {
		return p
	}
	install := func(args ...string) error {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	t.Logf("%s is missing: installing Debian's package", registryPackage)
	err := install("install", "-y", "--no-install-recommends", registryPackage)
	if err != nil {
		// The package lists may be missing or stale.
		if uerr := install("update"); uerr != nil {
			t.Fatalf("install %s: %v; then %v", registryPackage, err, uerr)
		}
		err = install("install", "-y", "--no-install-recommends", registryPackage)
	}
	if err != nil {
		t.Fatalf("install %s: %v", registryPackage, err)
	}
	p, err := exec.LookPath(registryPackage)
	if err != nil {
		t.Fatalf("%s installed, yet: %v", registryPackage, err)
	}
	return p
}

// startRegistry runs a registry with a minimal configuration of its own
// (loopback only, filesystem storage in a temporary directory) until the
// test ends.
func startRegistry(t *testing.T) *registry {
	t.Helper()
	bin := registryBinary(t)
	dir := t.TempDir()
	r := &registry{addr: fmt.Sprintf("127.0.0.1:%d", framework.FreePort(t))}
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), r.addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = r, r
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case err := <-exited:
			log, _ := r.logSince(0)
			t.Fatalf("the registry exited: %v\n%s", err, log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			log, _ := r.logSince(0)
			t.Fatalf("the registry does not answer on %s: %v\n%s", r.addr, err, log)
		}
	}
}

// TestRealPullOnDocker pulls the test image from a registry: pushed there
// under the registry's name and untagged locally, it runs in a pod whose
// imagePullPolicy is Always only after the kubelet pulled it. An image the
// registry does not have fails the pull (ErrImagePull, ImagePullBackOff).
func TestRealPullOnDocker(t *testing.T) {
	framework.RequireDocker(t)
	framework.EnsureImages(t)
	reg := startRegistry(t)
	image := reg.addr + "/minik8s/testapp:v1"
	framework.Docker(t, "tag", framework.TestappImage, image)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", image).Run() })
	framework.Docker(t, "push", image)
	framework.Docker(t, "rmi", image) // only the tag goes: the layers stay under the test image's name
	if err := exec.Command("docker", "image", "inspect", image).Run(); err == nil {
		t.Fatalf("%s is still present after rmi", image)
	}
	_, offset := reg.logSince(0)

	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	n := startNode(t, cp, "e2e-pull")
	p := pod("pulled", n.name, "Always", "log", "pulled-from-the-registry")
	p.Spec.Containers[0].Image = image
	p.Spec.Containers[0].ImagePullPolicy = "Always"
	create(t, admin, p)
	missing := pod("missing", n.name, "Always", "sleep")
	missing.Spec.Containers[0].Image = reg.addr + "/minik8s/nothing:v1"
	missing.Spec.Containers[0].ImagePullPolicy = "Always"
	reasons := framework.WatchReasons(t, admin, "default", "missing")
	create(t, admin, missing)

	running := framework.WaitPod(t, admin, 90*time.Second, "default", "pulled", "Running", framework.PodRunning)
	if got := running.GetStatus().GetContainerStatuses()[0].GetImage(); got != image {
		t.Errorf("status image %q, want %q", got, image)
	}
	if err := exec.Command("docker", "image", "inspect", image).Run(); err != nil {
		t.Errorf("%s is not present after the pod ran: %v", image, err)
	}
	// The kubelet's pull asked the registry for the manifest (the engine
	// knows its digest from the push, so a HEAD may be all it needs).
	log, _ := reg.logSince(offset)
	if !registryServed(log, "/v2/minik8s/testapp/manifests/v1") {
		t.Errorf("the registry was not asked for the manifest after the push:\n%s", log)
	}
	framework.Eventually(t, 30*time.Second, "minictl logs of the pulled image", func() error {
		r := cp.Minictl(t, "", "logs", "pulled")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "pulled-from-the-registry") {
			return fmt.Errorf("exit %d stdout %q stderr %q", r.ExitCode, r.Stdout, r.Stderr)
		}
		return nil
	})

	framework.WaitPod(t, admin, 90*time.Second, "default", "missing", "ErrImagePull and ImagePullBackOff", func(p *v1.Pod) error {
		if seen := reasons(); !seen["ErrImagePull"] || !seen["ImagePullBackOff"] {
			return fmt.Errorf("seen %v: %s", seen, framework.DescribeStatus(p))
		}
		return nil
	})
	log, _ = reg.logSince(offset)
	if !registryServed(log, "/v2/minik8s/nothing/manifests/v1") {
		t.Errorf("the registry was not asked for the missing image:\n%s", log)
	}
}

// registryServed reports whether the registry's access log shows a GET or
// HEAD of path.
func registryServed(log, path string) bool {
	return strings.Contains(log, `"GET `+path+" ") || strings.Contains(log, `"HEAD `+path+" ")
}
