package docker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/kubelet/runtime/runtimetest"
)

// errNoDocker is set by TestMain when no engine answers; the tests then
// skip, except in CI (CI set), where TestMain fails instead.
var errNoDocker error

func TestMain(m *testing.M) {
	if err := prepare(); err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "docker runtime tests need a Docker engine in CI: %v\n", err)
			os.Exit(1)
		}
		errNoDocker = err
	}
	os.Exit(m.Run())
}

// prepare checks that the engine answers and builds the test images when
// they are missing.
func prepare() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	d, err := New(Config{NodeName: "prepare", Endpoint: endpoint()})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Ping(ctx); err != nil {
		return err
	}
	for _, img := range []string{runtimetest.TestappImage, runtimetest.PauseImage} {
		ok, err := d.ImagePresent(ctx, img)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		root, err := repoRoot()
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, filepath.Join(root, "deploy/images/build.sh"))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build images: %w", err)
		}
		break
	}
	return nil
}

func endpoint() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return DefaultEndpoint
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func newDocker(t *testing.T) *Docker {
	t.Helper()
	if errNoDocker != nil {
		t.Skipf("no Docker engine (set CI to make this fatal): %v", errNoDocker)
	}
	node := fmt.Sprintf("runtimetest-%08x", rand.Uint32())
	d, err := New(Config{NodeName: node, Endpoint: endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// removeAllAtCleanup removes, when t ends, every container and sandbox of
// d's node.
func removeAllAtCleanup(t *testing.T, d *Docker) {
	t.Cleanup(func() {
		cs, _ := d.ListContainers(context.Background())
		for _, c := range cs {
			_ = d.RemoveContainer(context.Background(), c.ID)
		}
		sbs, _ := d.ListSandboxes(context.Background())
		for _, s := range sbs {
			_ = d.RemoveSandbox(context.Background(), s.ID)
		}
	})
}

func TestContract(t *testing.T) {
	runtimetest.RunSuite(t, func(t *testing.T) runtime.Runtime { return newDocker(t) })
}

// TestDockerShape checks what only the engine shows: labels, names,
// namespaces, limits and mounts as Kubernetes' Docker integration set them.
func TestDockerShape(t *testing.T) {
	d := newDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pod := runtime.PodRef{UID: fmt.Sprintf("uid-%08x", rand.Uint32()), Name: "shape", Namespace: "ns1"}
	removeAllAtCleanup(t, d)
	tcpPort, udpPort := freePort(t), freeUDPPort(t)
	sb, err := d.CreateSandbox(ctx, runtime.SandboxSpec{
		Pod: pod,
		Ports: []runtime.PortMapping{
			{ContainerPort: 8080, HostPort: int32(tcpPort), HostIP: "127.0.0.1"},
			{ContainerPort: 53, HostPort: int32(udpPort), Protocol: "UDP", HostIP: "127.0.0.1"},
			{ContainerPort: 9090}, // no hostPort: not published
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	id, err := d.CreateContainer(ctx, sb, runtime.ContainerSpec{
		Pod: pod, Name: "app", Attempt: 3, Image: runtimetest.TestappImage,
		Command:     []string{"/testapp"},
		Args:        []string{"sleep"},
		Env:         []runtime.EnvVar{{Name: "GREETING", Value: "hi=there"}},
		WorkingDir:  "/tmp",
		CPUMillis:   500,
		MemoryBytes: 32 << 20,
		Mounts:      []runtime.Mount{{HostPath: dir, ContainerPath: "/data"}, {HostPath: dir, ContainerPath: "/ro", ReadOnly: true}},
		Annotations: map[string]string{"hash": "h1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sbc, err := d.cli.ContainerInspect(ctx, sb, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantSandboxLabels := map[string]string{
		"io.kubernetes.pod.name":               "shape",
		"io.kubernetes.pod.namespace":          "ns1",
		"io.kubernetes.pod.uid":                pod.UID,
		"io.kubernetes.container.name":         "POD",
		"io.kubernetes.docker.type":            "podsandbox",
		"io.kubernetes.container.restartCount": "0",
		"minik8s.io/node":                      d.NodeName(),
	}
	for k, v := range wantSandboxLabels {
		if got := sbc.Container.Config.Labels[k]; got != v {
			t.Errorf("sandbox label %s = %q, want %q", k, got, v)
		}
	}
	wantLabels := map[string]string{
		"io.kubernetes.pod.name":               "shape",
		"io.kubernetes.pod.namespace":          "ns1",
		"io.kubernetes.pod.uid":                pod.UID,
		"io.kubernetes.container.name":         "app",
		"io.kubernetes.docker.type":            "container",
		"io.kubernetes.container.restartCount": "3",
		"io.kubernetes.sandbox.id":             sb,
		"minik8s.io/node":                      d.NodeName(),
		"annotation.hash":                      "h1",
	}
	for k, v := range wantLabels {
		if got := c.Container.Config.Labels[k]; got != v {
			t.Errorf("container label %s = %q, want %q", k, got, v)
		}
	}
	if got, want := sbc.Container.Name, "/k8s_POD_shape_ns1_"+pod.UID+"_0"; got != want {
		t.Errorf("sandbox name %q, want %q", got, want)
	}
	if got, want := c.Container.Name, "/k8s_app_shape_ns1_"+pod.UID+"_3"; got != want {
		t.Errorf("container name %q, want %q", got, want)
	}
	hc := c.Container.HostConfig
	if string(hc.NetworkMode) != "container:"+sb || string(hc.IpcMode) != "container:"+sb {
		t.Errorf("namespaces: network %q ipc %q, want container:%s", hc.NetworkMode, hc.IpcMode, sb)
	}
	if string(sbc.Container.HostConfig.IpcMode) != "shareable" || string(sbc.Container.HostConfig.NetworkMode) != DefaultPodNetwork {
		t.Errorf("sandbox: ipc %q network %q", sbc.Container.HostConfig.IpcMode, sbc.Container.HostConfig.NetworkMode)
	}
	if hc.NanoCPUs != 500_000_000 || hc.Memory != 32<<20 {
		t.Errorf("limits: NanoCPUs %d Memory %d", hc.NanoCPUs, hc.Memory)
	}
	if want := []string{dir + ":/data", dir + ":/ro:ro"}; !slices.Equal(hc.Binds, want) {
		t.Errorf("binds %v, want %v", hc.Binds, want)
	}
	cfg := c.Container.Config
	if !slices.Equal(cfg.Entrypoint, []string{"/testapp"}) || !slices.Equal(cfg.Cmd, []string{"sleep"}) || cfg.WorkingDir != "/tmp" ||
		!slices.Contains(cfg.Env, "GREETING=hi=there") {
		t.Errorf("config: entrypoint %v cmd %v workdir %q env %v", cfg.Entrypoint, cfg.Cmd, cfg.WorkingDir, cfg.Env)
	}
	var ports []string
	for p, bs := range sbc.Container.HostConfig.PortBindings {
		for _, b := range bs {
			ports = append(ports, p.String()+"->"+b.HostPort)
		}
	}
	slices.Sort(ports)
	if want := []string{fmt.Sprintf("53/udp->%d", udpPort), fmt.Sprintf("8080/tcp->%d", tcpPort)}; !slices.Equal(ports, want) {
		t.Errorf("sandbox port bindings %v, want %v", ports, want)
	}
}

// TestHostPort publishes a pod's port on the host and reaches it there.
func TestHostPort(t *testing.T) {
	d := newDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pod := runtime.PodRef{UID: fmt.Sprintf("uid-%08x", rand.Uint32()), Name: "hostport", Namespace: "default"}
	removeAllAtCleanup(t, d)
	port := freePort(t)
	sb, err := d.CreateSandbox(ctx, runtime.SandboxSpec{
		Pod:   pod,
		Ports: []runtime.PortMapping{{ContainerPort: 8080, HostPort: int32(port), HostIP: "127.0.0.1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id, err := d.CreateContainer(ctx, sb, runtime.ContainerSpec{Pod: pod, Name: "web", Image: runtimetest.TestappImage})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/via-host", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := httpGet(ctx, url)
		if err == nil && strings.HasPrefix(body, "ok ") && strings.Contains(body, "/via-host") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %q, %v", url, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNetworkPlugins starts a pod with a fixed IP under each network
// plugin and reaches its server from the host at that IP: as a Docker
// endpoint of the pod network (docker), and wired by the runtime to the
// network's bridge with a veth pair (kubenet), whose bridge end goes with
// the sandbox.
func TestNetworkPlugins(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("kubenet wires sandboxes as root: CI must run the Docker runtime tests as root")
		}
		t.Skip("kubenet wires sandboxes as root (set CI to make this fatal)")
	}
	for _, plugin := range []string{NetworkPluginDocker, NetworkPluginKubenet} {
		t.Run(plugin, func(t *testing.T) {
			d := newDocker(t)
			d.plugin = plugin
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			pod := runtime.PodRef{UID: fmt.Sprintf("uid-%08x", rand.Uint32()), Name: "net-" + plugin, Namespace: "default"}
			removeAllAtCleanup(t, d)
			ip := netip.AddrFrom4([4]byte{10, 2, 250, byte(2 + rand.IntN(250))})
			sb, err := d.CreateSandbox(ctx, runtime.SandboxSpec{Pod: pod, IP: ip})
			if err != nil {
				t.Fatal(err)
			}
			if d.plugin != plugin {
				t.Fatalf("network plugin in use %q, want %q", d.plugin, plugin)
			}
			st, err := d.SandboxStatus(ctx, sb)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != runtime.SandboxReady || st.IP != ip {
				t.Fatalf("sandbox status: state %s IP %v, want ready with %v", st.State, st.IP, ip)
			}
			res, err := d.cli.ContainerInspect(ctx, sb, client.ContainerInspectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantMode := map[string]string{NetworkPluginDocker: DefaultPodNetwork, NetworkPluginKubenet: "none"}[plugin]
			if got := string(res.Container.HostConfig.NetworkMode); got != wantMode {
				t.Errorf("sandbox network mode %q, want %q", got, wantMode)
			}
			id, err := d.CreateContainer(ctx, sb, runtime.ContainerSpec{Pod: pod, Name: "web", Image: runtimetest.TestappImage})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.StartContainer(ctx, id); err != nil {
				t.Fatal(err)
			}
			url := fmt.Sprintf("http://%s:8080/%s", ip, plugin)
			deadline := time.Now().Add(30 * time.Second)
			for {
				body, err := httpGet(ctx, url)
				if err == nil && strings.HasPrefix(body, "ok ") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET %s: %q, %v", url, body, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if plugin != NetworkPluginKubenet {
				return
			}
			if !d.wirer.wired(sb) {
				t.Fatalf("no bridge end %s of the sandbox's veth pair", hostVeth(sb))
			}
			if err := d.RemoveContainer(ctx, id); err != nil {
				t.Fatal(err)
			}
			if err := d.RemoveSandbox(ctx, sb); err != nil {
				t.Fatal(err)
			}
			for d.wirer.wired(sb) {
				if time.Now().After(deadline) {
					t.Fatalf("the bridge end %s outlived the sandbox", hostVeth(sb))
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
