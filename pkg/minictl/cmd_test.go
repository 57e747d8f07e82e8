package minictl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

func TestCommandLineErrors(t *testing.T) {
	dir := t.TempDir()
	podFile := filepath.Join(dir, "pod.yaml")
	if err := os.WriteFile(podFile, []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown kind", []string{"get", "foo"}, "error: the server doesn't have a resource type \"foo\"\n"},
		{"unknown kind in kind/name", []string{"delete", "foo/bar"}, "error: the server doesn't have a resource type \"foo\"\n"},
		{"get without kind", []string{"get"}, "You must specify the type of resource to get. Use \"minictl api-resources\" for a complete list of supported resources.\n\n" +
			"error: Required resource not specified.\nSee 'minictl get -h' for help and examples\n"},
		{"create without -f", []string{"create"}, "error: must specify one of -f and -k\nSee 'minictl create -h' for help and examples\n"},
		{"apply without -f", []string{"apply"}, "error: must specify one of -f and -k\nSee 'minictl apply -h' for help and examples\n"},
		{"delete with names and -f", []string{"delete", "pod", "web", "-f", podFile}, "error: when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well\nSee 'minictl delete -h' for help and examples\n"},
		{"delete without anything", []string{"delete"}, "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'\nSee 'minictl delete -h' for help and examples\n"},
		{"delete kind without name", []string{"delete", "pods"}, "error: resource(s) were provided, but no name was specified\n"},
		{"name with selector", []string{"get", "pod", "web", "-l", "app=web"}, "error: name cannot be provided when a selector is specified\n"},
		{"name across namespaces", []string{"get", "pod", "web", "-A"}, "error: a resource cannot be retrieved by name across all namespaces\n"},
		{"mixed name forms", []string{"get", "pods", "pod/web"}, "error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'minictl get resource/<resource_name>' instead of 'minictl get resource resource/<resource_name>'\n"},
		{"kind/name without name", []string{"get", "pod/"}, "error: arguments in resource/name form must have a single resource and name\n"},
		{"bad output", []string{"get", "pods", "-o", "table"}, "error: unable to match a printer suitable for the output format \"table\", allowed formats are: wide,name,yaml,json\n"},
		{"unknown flag", []string{"get", "pods", "--bogus"}, "error: unknown flag: --bogus\nSee 'minictl get -h' for help and examples\n"},
		{"unknown command", []string{"frobnicate"}, "error: unknown command \"frobnicate\" for \"minictl\"\n"},
		{"missing file", []string{"create", "-f", filepath.Join(dir, "nope.yaml")}, "error: the path \"" + filepath.Join(dir, "nope.yaml") + "\" does not exist\n"},
		{"bad cascade", []string{"delete", "pod", "web", "--cascade=sideways"}, "error: invalid cascade value (sideways). Must be \"background\", \"foreground\", or \"orphan\"\n"},
		{"bad request timeout", []string{"get", "pods", "--request-timeout", "soon"}, "error: invalid timeout value. Timeout must be a single integer in seconds, or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, newFakeClient(), tt.args...)
			if r.code != 1 {
				t.Errorf("exit status %d, want 1", r.code)
			}
			if r.err != tt.wantErr {
				t.Errorf("stderr:\n%q\nwant:\n%q", r.err, tt.wantErr)
			}
			if r.out != "" {
				t.Errorf("stdout %q, want nothing", r.out)
			}
		})
	}
}

func TestServerErrorsPrintAsKubectl(t *testing.T) {
	fc := newFakeClient(pod("web", "Running", running()))
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"pod not found", []string{"get", "pod", "nope"}, "", "Error from server (NotFound): pods \"nope\" not found\n"},
		{"grouped kind not found", []string{"get", "deploy", "nope"}, "", "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
		{"found and not found", []string{"get", "pods", "web", "nope", "-o", "name"}, "pod/web\n", "Error from server (NotFound): pods \"nope\" not found\n"},
		{"delete not found", []string{"delete", "pod", "nope"}, "", "Error from server (NotFound): pods \"nope\" not found\n"},
		{"describe not found", []string{"describe", "pod", "nope"}, "", "Error from server (NotFound): pods \"nope\" not found\n"},
		{"bad field selector", []string{"get", "pods", "--field-selector", "spec.color=blue"}, "", "Error from server (Invalid): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, fc, tt.args...)
			if r.code != 1 {
				t.Errorf("exit status %d, want 1", r.code)
			}
			if r.out != tt.wantOut {
				t.Errorf("stdout %q, want %q", r.out, tt.wantOut)
			}
			if !strings.HasPrefix(r.err, tt.wantErr) || (!strings.HasSuffix(tt.wantErr, ": ") && r.err != tt.wantErr) {
				t.Errorf("stderr %q, want %q", r.err, tt.wantErr)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		give error
		want string
	}{
		{&ServerError{Err: errdefs.Forbidden(`pods is forbidden: User "system:node:a" cannot update pods bound to node b`)}, `Error from server (Forbidden): pods is forbidden: User "system:node:a" cannot update pods bound to node b`},
		{&ServerError{Err: errdefs.Invalid(`Pod "Web" is invalid: metadata.name: Invalid value: "Web"`)}, `Error from server (Invalid): Pod "Web" is invalid: metadata.name: Invalid value: "Web"`},
		{&ServerError{Err: errdefs.Unauthenticated("the server has asked for the client to provide credentials")}, "error: You must be logged in to the server (the server has asked for the client to provide credentials)"},
		{&ServerError{Err: errdefs.Unavailable("connection error: connection refused")}, "Unable to connect to the server: connection error: connection refused"},
		{&ServerError{Err: errdefs.Unavailable(`connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:6443: connect: connection refused"`)}, "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"},
		{errdefs.Invalid("local"), "error: local"},
	}
	for _, tt := range tests {
		if got := errorText(tt.give); got != tt.want {
			t.Errorf("errorText = %q, want %q", got, tt.want)
		}
	}
}

func TestGetEmpty(t *testing.T) {
	fc := newFakeClient()
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"get", "pods"}, "No resources found in default namespace.\n"},
		{[]string{"get", "pods", "-n", "kube-system"}, "No resources found in kube-system namespace.\n"},
		{[]string{"get", "pods", "-A"}, "No resources found\n"},
		{[]string{"get", "nodes"}, "No resources found\n"},
	}
	for _, tt := range tests {
		r := run(t, fc, tt.args...)
		if r.code != 0 || r.out != "" || r.err != tt.wantErr {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0, nothing, %q", tt.args, r.code, r.out, r.err, tt.wantErr)
		}
	}
}

func TestGetAll(t *testing.T) {
	fc := newFakeClient(pod("web-1", "Running", running(), ready), &v1.Deployment{Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: ago(time.Hour)}})
	r := run(t, fc, "get", "all")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	golden(t, r.out, `
NAME        READY   STATUS    RESTARTS   AGE
pod/web-1   1/1     Running   0          5m

NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   0/1     0            0           60m
`)
}

func TestNamespaceFromKubeconfigContext(t *testing.T) {
	fc := newFakeClient(pod("web", "Running", running()), pod("dns", "Running", running(), func(p *v1.Pod) { p.Metadata.Namespace = "kube-system" }))
	var out, errOut syncBuffer
	f := testFactory(fc, "", &out, &errOut)
	f.ContextNamespace = func(string) string { return "kube-system" }
	if code := Run(context.Background(), f, []string{"get", "pods", "-o", "name"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	golden(t, out.String(), "\npod/dns\n")
}

func TestKubeconfigPath(t *testing.T) {
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{"flag wins", "/flag", map[string]string{"MINIK8S_CONFIG": "/m", "KUBECONFIG": "/k"}, "/flag"},
		{"MINIK8S_CONFIG before KUBECONFIG", "", map[string]string{"MINIK8S_CONFIG": "/m", "KUBECONFIG": "/k"}, "/m"},
		{"first file of KUBECONFIG", "", map[string]string{"KUBECONFIG": "/k1" + string(os.PathListSeparator) + "/k2"}, "/k1"},
		{"home default", "", map[string]string{"HOME": "/home/u"}, "/home/u/.minik8s/config"},
	}
	for _, tt := range tests {
		f := &Factory{KubeconfigFlag: tt.flag, Getenv: func(k string) string { return tt.env[k] }}
		if got := f.Kubeconfig(); got != tt.want {
			t.Errorf("%s: Kubeconfig() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	tests := []struct {
		give string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"", 0, true},
		{"5", 5 * time.Second, true},
		{"1m", time.Minute, true},
		{"250ms", 250 * time.Millisecond, true},
		{"-1", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		f := &Factory{RequestTimeoutFlag: tt.give}
		got, err := f.RequestTimeout()
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("RequestTimeout(%q) = %v, %v; want %v, ok=%v", tt.give, got, err, tt.want, tt.ok)
		}
	}
}

func boundPod(name, node string) *v1.Pod {
	return pod(name, "Running", running(), func(p *v1.Pod) {
		p.Spec.NodeName = node
		p.Metadata.Labels = map[string]string{"app": name}
	})
}

func TestDelete(t *testing.T) {
	t.Run("by name", func(t *testing.T) {
		fc := newFakeClient(pod("web", "Pending", nil), pod("db", "Pending", nil))
		r := run(t, fc, "delete", "pod", "web", "db")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		golden(t, r.out, "\npod \"web\" deleted\npod \"db\" deleted\n")
		if len(fc.objs) != 0 {
			t.Errorf("%d objects left", len(fc.objs))
		}
		if got := fc.deletes[0]; got.GracePeriodSeconds != nil || got.PropagationPolicy != "Background" {
			t.Errorf("delete options %+v, want no grace period override and Background", got)
		}
	})
	t.Run("selector, output name, orphan", func(t *testing.T) {
		fc := newFakeClient(boundPod("web", ""), boundPod("db", ""))
		r := run(t, fc, "delete", "pods", "-l", "app=web", "-o", "name", "--cascade=orphan")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		golden(t, r.out, "\npod/web\n")
		if fc.deletes[0].PropagationPolicy != "Orphan" {
			t.Errorf("propagation %q, want Orphan", fc.deletes[0].PropagationPolicy)
		}
	})
	t.Run("all", func(t *testing.T) {
		fc := newFakeClient(boundPod("web", ""), boundPod("db", ""))
		r := run(t, fc, "delete", "pods", "--all")
		golden(t, r.out, "\npod \"db\" deleted\npod \"web\" deleted\n")
	})
	t.Run("none selected", func(t *testing.T) {
		r := run(t, newFakeClient(), "delete", "pods", "--all")
		if r.code != 0 || r.err != "No resources found\n" {
			t.Errorf("exit %d, stderr %q", r.code, r.err)
		}
	})
	t.Run("ignore not found", func(t *testing.T) {
		r := run(t, newFakeClient(), "delete", "pod", "nope", "--ignore-not-found")
		if r.code != 0 || r.out != "" || r.err != "" {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
		}
	})
	t.Run("grace periods", func(t *testing.T) {
		tests := []struct {
			args []string
			want int64
		}{
			{[]string{"--now"}, 1},
			{[]string{"--grace-period=30"}, 30},
			{[]string{"--grace-period=0"}, 1},
			{[]string{"--force", "--grace-period=0"}, 0},
			{[]string{"--force"}, 0},
		}
		for _, tt := range tests {
			fc := newFakeClient(pod("web", "Pending", nil))
			r := run(t, fc, append([]string{"delete", "pod", "web"}, tt.args...)...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d: %s", tt.args, r.code, r.err)
			}
			g := fc.deletes[0].GracePeriodSeconds
			if g == nil || *g != tt.want {
				t.Errorf("%v: grace period %v, want %d", tt.args, g, tt.want)
			}
		}
	})
	t.Run("force warns", func(t *testing.T) {
		r := run(t, newFakeClient(pod("web", "Pending", nil)), "delete", "pod", "web", "--force", "--grace-period=0")
		golden(t, r.out, "\npod \"web\" force deleted\n")
		if !strings.HasPrefix(r.err, "Warning: Immediate deletion does not wait") {
			t.Errorf("stderr %q, want the warning", r.err)
		}
	})
	t.Run("wait for graceful deletion", func(t *testing.T) {
		fc := newFakeClient(boundPod("web", "node-1"))
		fc.graceful = true
		var out, errOut syncBuffer
		f := testFactory(fc, "", &out, &errOut)
		polls := 0
		f.Sleep = func(ctx context.Context, _ time.Duration) error {
			polls++
			if polls == 3 {
				fc.finishDeletion(mustLookup(t, "pods"), "default", "web")
			}
			return ctx.Err()
		}
		if code := Run(context.Background(), f, []string{"delete", "pod", "web"}); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		golden(t, out.String(), "\npod \"web\" deleted\n")
		if polls != 3 {
			t.Errorf("polled %d times, want 3 (until the kubelet finished)", polls)
		}
	})
	t.Run("no wait", func(t *testing.T) {
		fc := newFakeClient(boundPod("web", "node-1"))
		fc.graceful = true
		r := run(t, fc, "delete", "pod", "web", "--wait=false")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.err)
		}
		if len(fc.objs) != 1 {
			t.Errorf("the pod should still be terminating")
		}
	})
	t.Run("wait times out", func(t *testing.T) {
		fc := newFakeClient(boundPod("web", "node-1"))
		fc.graceful = true
		var out, errOut syncBuffer
		f := testFactory(fc, "", &out, &errOut)
		f.Sleep = func(ctx context.Context, d time.Duration) error { return sleepTimer(ctx, time.Millisecond) }
		code := Run(context.Background(), f, []string{"delete", "pod", "web", "--timeout=50ms"})
		if code != 1 || errOut.String() != "error: timed out waiting for the condition on pods/web\n" {
			t.Errorf("exit %d, stderr %q", code, errOut.String())
		}
	})
}

func TestGetWatch(t *testing.T) {
	fc := newFakeClient(pod("web", "Pending", nil))
	var out, errOut syncBuffer
	f := testFactory(fc, "", &out, &errOut)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- Run(ctx, f, []string{"get", "pods", "-w"}) }()

	waitFor(t, func() bool { return strings.Contains(out.String(), "web") && watching(fc) })
	res := mustLookup(t, "pods")
	if _, err := fc.Create(ctx, res, pod("a-much-longer-name", "Pending", nil)); err != nil {
		t.Fatal(err)
	}
	obj, err := fc.Get(ctx, res, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	p := obj.(*v1.Pod)
	p.Status = &v1.PodStatus{Phase: "Running", ContainerStatuses: []*v1.ContainerStatus{{Name: "app", State: running(), Ready: true}}}
	if _, err := fc.Update(ctx, res, p); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Count(out.String(), "\n") == 4 })
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	// Later rows keep the widths of the header; a longer name widens the
	// column from its row on, as kubectl's remembered widths do.
	golden(t, out.String(), `
NAME   READY   STATUS    RESTARTS   AGE
web    0/1     Pending   0          5m
a-much-longer-name   0/1     Pending   0          0s
web                  1/1     Running   0          5m
`)
}

func watching(fc *fakeClient) bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return len(fc.watchers) > 0
}

// waitFor polls cond with a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// approver is what a CSR verb would declare for the call Client lacks.
type approver interface {
	ApproveCSR(ctx context.Context, name, reason, message string) (*v1.CertificateSigningRequest, error)
}

type approvingFake struct {
	*fakeClient
	approved []string
}

func (a *approvingFake) ApproveCSR(_ context.Context, name, _, _ string) (*v1.CertificateSigningRequest, error) {
	a.approved = append(a.approved, name)
	return &v1.CertificateSigningRequest{}, nil
}

func TestClientAs(t *testing.T) {
	af := &approvingFake{fakeClient: newFakeClient()}
	f := testFactory(af.fakeClient, "", &syncBuffer{}, &syncBuffer{})
	f.NewClient = func(string) (Client, error) { return af, nil }
	a, err := ClientAs[approver](f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApproveCSR(t.Context(), "csr-1", "", ""); err != nil {
		t.Fatal(err)
	}
	if len(af.approved) != 1 {
		t.Errorf("approved %v", af.approved)
	}

	plain := testFactory(newFakeClient(), "", &syncBuffer{}, &syncBuffer{})
	if _, err := ClientAs[approver](plain); err == nil {
		t.Error("a client without the method must be refused")
	}
	// The real client has it.
	var _ approver = (*apiClient)(nil)
}
