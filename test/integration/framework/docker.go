package framework

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"minik8s/pkg/kubelet/runtime/docker"
)

// Images of deploy/images.
const (
	PauseImage   = "minik8s/pause:3.10"
	TestappImage = "minik8s/testapp:v1"
)

// RequireDocker checks that the Docker engine answers. Without one the
// test fails when CI is set (CI must test on Docker) and is skipped
// otherwise.
func RequireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("the Docker engine is unreachable and CI is set: %v\n%s", err, out)
	}
	t.Skipf("the Docker engine is unreachable (set CI to make this a failure): %v", err)
}

var (
	imagesOnce sync.Once
	imagesErr  error
)

// EnsureImages builds the pause and test images with
// deploy/images/build.sh when they are missing.
func EnsureImages(t testing.TB) {
	t.Helper()
	imagesOnce.Do(func() {
		if exec.Command("docker", "image", "inspect", PauseImage, TestappImage).Run() == nil {
			return
		}
		out, err := exec.Command("bash", filepath.Join(RepoRoot(t), "deploy", "images", "build.sh")).CombinedOutput()
		if err != nil {
			imagesErr = &buildError{err: err, out: string(out)}
		}
	})
	if imagesErr != nil {
		t.Fatalf("build images: %v", imagesErr)
	}
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// RepoRoot is the repository's top directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// UniqueNodeName is a node name no other test run uses, so that the
// containers of one test are found (and removed) by their
// minik8s.io/node label.
func UniqueNodeName(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + "-" + hex.EncodeToString(b)
}

// DockerRuntime is a Docker runtime for node; every container of the node
// is removed when the test ends.
func DockerRuntime(t testing.TB, node string) *docker.Docker {
	t.Helper()
	RequireDocker(t)
	EnsureImages(t)
	rt, err := docker.New(docker.Config{NodeName: node, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("docker runtime: %v", err)
	}
	t.Cleanup(func() {
		RemoveNodeContainers(t, node)
		rt.Close()
	})
	return rt
}

// RemoveNodeContainers force-removes every container labelled with node.
func RemoveNodeContainers(t testing.TB, node string) {
	t.Helper()
	ids := DockerIDs(t, node)
	if len(ids) == 0 {
		return
	}
	args := append([]string{"rm", "-f", "-v"}, ids...)
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Errorf("remove containers of node %s: %v\n%s", node, err, out)
	}
}

// DockerIDs lists the IDs of every container (sandboxes too) of node.
func DockerIDs(t testing.TB, node string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--no-trunc", "--filter", "label=minik8s.io/node="+node).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return strings.Fields(string(out))
}

// Docker runs the docker CLI and returns its standard output.
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}
