package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/test/integration/framework"
)

const podYAML = `apiVersion: v1
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
    ports:
    - containerPort: 8080
    resources:
      requests:
        cpu: 100m
        memory: 64Mi
      limits:
        cpu: 500m
        memory: 128Mi
`

// The pod's first stop, through the built minictl: create, get, apply,
// delete, with kubectl's output.
func TestMinictlRoundTrip(t *testing.T) {
	cp := framework.StartControlPlane(t)

	out := cp.MustMinictl(t, podYAML, "create", "-f", "-")
	if !strings.Contains(out, "pod/web created") {
		t.Fatalf("create printed %q, want pod/web created", out)
	}
	// Creating it again is AlreadyExists, reported as kubectl does.
	r := cp.Minictl(t, podYAML, "create", "-f", "-")
	if r.ExitCode != 1 || !strings.Contains(r.Stderr, "AlreadyExists") || !strings.Contains(r.Stderr, `"web" already exists`) {
		t.Fatalf("second create: exit %d, stderr %q; want exit 1 and AlreadyExists", r.ExitCode, r.Stderr)
	}

	table := cp.MustMinictl(t, "", "get", "pods")
	if !strings.Contains(table, "NAME") || !strings.Contains(table, "READY") || !strings.Contains(table, "STATUS") ||
		!strings.Contains(table, "web") || !strings.Contains(table, "0/1") || !strings.Contains(table, "Pending") {
		t.Fatalf("get pods table:\n%s", table)
	}
	y := cp.MustMinictl(t, "", "get", "pod", "web", "-o", "yaml")
	for _, want := range []string{"apiVersion: v1", "kind: Pod", "name: web", "namespace: default", "uid:", "resourceVersion:", "image: minik8s/testapp:v1", "restartPolicy: Always", "imagePullPolicy: IfNotPresent", "cpu: 100m"} {
		if !strings.Contains(y, want) {
			t.Errorf("get -o yaml lacks %q:\n%s", want, y)
		}
	}
	if got := strings.TrimSpace(cp.MustMinictl(t, "", "get", "po", "-l", "app=web", "-o", "name")); got != "pod/web" {
		t.Errorf("get -l app=web -o name = %q, want pod/web", got)
	}
	if got := strings.TrimSpace(cp.MustMinictl(t, "", "get", "po", "-l", "app=db", "-o", "name")); got != "" {
		t.Errorf("get -l app=db -o name = %q, want nothing", got)
	}

	// apply: unchanged, then configured with a new label.
	out = cp.MustMinictl(t, podYAML, "apply", "-f", "-")
	if !strings.Contains(out, "pod/web") {
		t.Fatalf("apply printed %q", out)
	}
	changed := strings.Replace(podYAML, "app: web", "app: web\n    tier: front", 1)
	out = cp.MustMinictl(t, changed, "apply", "-f", "-")
	if !strings.Contains(out, "pod/web configured") {
		t.Fatalf("apply of a change printed %q, want pod/web configured", out)
	}
	pod, err := cp.Admin(t).Pods().Get(framework.Context(t), "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if pod.GetMetadata().GetLabels()["tier"] != "front" {
		t.Fatalf("labels after apply: %v", pod.GetMetadata().GetLabels())
	}

	// An unbound pod is deleted at once.
	out = cp.MustMinictl(t, "", "delete", "pod", "web")
	if !strings.Contains(out, `pod "web" deleted`) {
		t.Fatalf("delete printed %q", out)
	}
	if _, err := cp.Admin(t).Pods().Get(framework.Context(t), "default", "web"); !errdefs.IsNotFound(err) {
		t.Fatalf("get after delete: %v, want NotFound", err)
	}
	r = cp.Minictl(t, "", "get", "pod", "web")
	if r.ExitCode != 1 || !strings.Contains(r.Stderr, `pods "web" not found`) {
		t.Fatalf("get of a deleted pod: exit %d stderr %q", r.ExitCode, r.Stderr)
	}
}

// Bad input is refused with the field path and leaves nothing behind.
func TestBadManifestLeavesNothing(t *testing.T) {
	cp := framework.StartControlPlane(t)
	tests := []struct {
		name     string
		manifest string
		want     string
	}{
		{"unknown field", strings.Replace(podYAML, "    image: minik8s/testapp:v1\n", "    image: minik8s/testapp:v1\n    securityContext: {privileged: true}\n", 1), "spec.containers[0].securityContext"},
		{"missing image", strings.Replace(podYAML, "    image: minik8s/testapp:v1\n", "", 1), "spec.containers[0].image"},
		{"bad quantity", strings.Replace(podYAML, "cpu: 100m", "cpu: lots", 1), "spec.containers[0].resources.requests"},
		{"request over limit", strings.Replace(podYAML, "memory: 64Mi", "memory: 1Gi", 1), "spec.containers[0].resources.requests"},
		{"bad name", strings.Replace(podYAML, "name: web\n  labels", "name: Web_1\n  labels", 1), "metadata.name"},
		{"malformed yaml", "apiVersion: v1\nkind: Pod\nmetadata: [\n", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cp.Minictl(t, tt.manifest, "create", "-f", "-")
			if r.ExitCode != 1 {
				t.Fatalf("exit %d, want 1; stdout %q", r.ExitCode, r.Stdout)
			}
			if !strings.Contains(r.Stderr, tt.want) {
				t.Fatalf("stderr %q does not name %q", r.Stderr, tt.want)
			}
		})
	}
	pods, _, err := cp.Admin(t).Pods().List(framework.Context(t), clientListAll())
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 0 {
		t.Fatalf("%d pods exist after refused creates, want 0", len(pods))
	}
}

// A client without a certificate from our CA gets nothing.
func TestRefusesStrangers(t *testing.T) {
	cp := framework.StartControlPlane(t)
	caPEM, err := os.ReadFile(filepath.Join(cp.CertDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	call := func(t *testing.T, cfg *tls.Config) error {
		conn, err := grpc.NewClient(cp.Addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = v1.NewAPIClient(conn).List(ctx, &v1.ListRequest{Resource: "namespaces"})
		return err
	}

	t.Run("no client certificate", func(t *testing.T) {
		err := call(t, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13, ServerName: "127.0.0.1"})
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("list without a client certificate: %v, want Unauthenticated", err)
		}
	})
	t.Run("certificate from another CA", func(t *testing.T) {
		other := t.TempDir()
		framework.PKI(t, other, cp.Port)
		pair, err := tls.LoadX509KeyPair(filepath.Join(other, "pki", "apiserver-kubelet-client.crt"), filepath.Join(other, "pki", "apiserver-kubelet-client.key"))
		if err != nil {
			t.Fatal(err)
		}
		err = call(t, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS13, ServerName: "127.0.0.1"})
		if err == nil {
			t.Fatal("a certificate from another CA was accepted")
		}
		if c := status.Code(err); c != codes.Unavailable && c != codes.Unauthenticated {
			t.Fatalf("foreign certificate: %v, want the handshake refused", err)
		}
		// And through minictl with the other cluster's admin.conf.
		r := framework.Minictl(t, "", "--kubeconfig", filepath.Join(other, "admin.conf"), "get", "ns")
		if r.ExitCode != 1 || strings.Contains(r.Stdout, "default") {
			t.Fatalf("minictl with a foreign admin.conf: exit %d stdout %q", r.ExitCode, r.Stdout)
		}
	})
}

// NodeRestriction: system:node:a acts only on its own objects.
func TestNodeCannotTouchAnotherNodesPod(t *testing.T) {
	cp := framework.StartControlPlane(t)
	ctx := framework.Context(t)
	admin := cp.Admin(t)
	nodeA := cp.Client(t, cp.NodeKubeconfig(t, "a"))

	for _, n := range []string{"a", "b"} {
		if _, err := admin.Nodes().Create(ctx, &v1.Node{Metadata: &v1.ObjectMeta{Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(name, node string) *v1.Pod {
		p, err := admin.Pods().Create(ctx, &v1.Pod{
			Metadata: &v1.ObjectMeta{Name: name, Namespace: "default"},
			Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Image: "minik8s/testapp:v1"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		p, err = admin.Bind(ctx, &v1.Binding{Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Uid: p.GetMetadata().GetUid()}, Target: &v1.ObjectReference{Kind: "Node", Name: node}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	onA, onB := mk("on-a", "a"), mk("on-b", "b")

	onB.Status = &v1.PodStatus{Phase: "Running"}
	if _, err := nodeA.Pods().UpdateStatus(ctx, onB); !errdefs.IsForbidden(err) {
		t.Fatalf("node a updating the status of a pod bound to b: %v, want PermissionDenied", err)
	}
	onA.Status = &v1.PodStatus{Phase: "Running"}
	if _, err := nodeA.Pods().UpdateStatus(ctx, onA); err != nil {
		t.Fatalf("node a updating the status of its own pod: %v", err)
	}
	if _, _, err := nodeA.Pods().Delete(ctx, "default", "on-b", clientDeleteNow()); !errdefs.IsForbidden(err) {
		t.Fatalf("node a deleting a pod bound to b: %v, want PermissionDenied", err)
	}
	nb, err := admin.Nodes().Get(ctx, "", "b")
	if err != nil {
		t.Fatal(err)
	}
	nb.GetMetadata().Labels = map[string]string{"evil": "yes"}
	if _, err := nodeA.Nodes().Update(ctx, nb); !errdefs.IsForbidden(err) {
		t.Fatalf("node a updating node b: %v, want PermissionDenied", err)
	}
	if _, err := nodeA.Namespaces().Create(ctx, &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "x"}}); !errdefs.IsForbidden(err) {
		t.Fatalf("node a creating a namespace: %v, want PermissionDenied", err)
	}
	got, err := admin.Pods().Get(ctx, "default", "on-b")
	if err != nil {
		t.Fatal(err)
	}
	if got.GetStatus().GetPhase() == "Running" {
		t.Fatal("the forbidden status update was written")
	}
}

// The documented local start: the built apiserver with exactly the issue's
// flags after `minictl init phase certs all` and `phase kubeconfig all`.
func TestAPIServerBinaryLocalStart(t *testing.T) {
	dir := t.TempDir()
	port := framework.FreePort(t)
	mport := framework.FreePort(t)
	framework.PKI(t, dir, port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(framework.Binaries(t), "apiserver"),
		"--client-ca-file", "pki/ca.crt", "--tls-cert-file", "pki/apiserver.crt", "--tls-private-key-file", "pki/apiserver.key",
		"--bind-address", "127.0.0.1", "--secure-port", strconv.Itoa(port), "--data-dir", filepath.Join(dir, "etcd"),
		"--metrics-bind-address", "127.0.0.1:"+strconv.Itoa(mport))
	cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "apiserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	framework.Eventually(t, time.Minute, "apiserver /readyz", func() error {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(filepath.Join(dir, "apiserver.log"))
			t.Fatalf("apiserver exited: %v\n%s", err, b)
		default:
		}
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(mport) + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	})
	out := framework.MustMinictl(t, "", "--kubeconfig", filepath.Join(dir, "admin.conf"), "get", "namespaces")
	for _, ns := range []string{"default", "kube-system", "kube-public"} {
		if !strings.Contains(out, ns) {
			t.Errorf("get namespaces lacks %s:\n%s", ns, out)
		}
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(mport) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := make([]byte, 4<<20)
	n, _ := ioReadFull(resp.Body, body)
	if !strings.Contains(string(body[:n]), "apiserver_request_total") {
		t.Errorf("/metrics lacks apiserver_request_total")
	}
	// SIGTERM drains and exits cleanly.
	cancel()
	select {
	case err := <-exited:
		// Wait reports the context's error when the process exited on its
		// own after the signal; anything else is a failed shutdown.
		if err != nil && !errors.Is(err, context.Canceled) {
			b, _ := os.ReadFile(filepath.Join(dir, "apiserver.log"))
			t.Fatalf("apiserver exit after SIGINT: %v\n%s", err, b)
		}
	case <-time.After(time.Minute):
		t.Fatal("apiserver did not exit within a minute of SIGINT")
	}
}
