package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/internal/fakeapi"
)

func newClient(t *testing.T, env *fakeapi.Env, mutate func(*client.Config)) *client.Clientset {
	t.Helper()
	cfg := client.Config{Address: env.Address, TLS: env.ClientTLS(t, "admin", "system:masters"), UserAgent: "client-test/1"}
	if mutate != nil {
		mutate(&cfg)
	}
	cs, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pod(name string, labels map[string]string) *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		give client.Config
	}{
		{name: "no address", give: client.Config{TLS: &tls.Config{}}},
		{name: "no tls", give: client.Config{Address: "127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := client.New(tt.give); !errdefs.IsInvalid(err) {
				t.Fatalf("New = %v, want an Invalid error", err)
			}
		})
	}
}

func TestRoundTripOverMutualTLS(t *testing.T) {
	fakeapi.NoLeaks(t)
	env := fakeapi.Start(t)
	cs := newClient(t, env, func(c *client.Config) { c.Token = "abcdef.0123456789abcdef" })
	ctx := ctxT(t)
	pods := cs.Pods()

	created, err := pods.Create(ctx, pod("web", map[string]string{"app": "web"}))
	if err != nil {
		t.Fatal(err)
	}
	if created.GetMetadata().GetUid() == "" || created.GetMetadata().GetResourceVersion() == "" {
		t.Fatalf("created pod lacks uid or resourceVersion: %v", created.GetMetadata())
	}
	if _, err := pods.Create(ctx, pod("web", nil)); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("second Create = %v, want AlreadyExists", err)
	}
	if _, err := pods.Create(ctx, pod("db", map[string]string{"app": "db"})); err != nil {
		t.Fatal(err)
	}

	got, err := pods.Get(ctx, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if got.GetSpec().GetContainers()[0].GetImage() != "busybox" {
		t.Fatalf("Get returned %v", got)
	}

	items, rv, err := pods.List(ctx, client.ListOptions{Namespace: "default", LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].GetMetadata().GetName() != "web" || rv == "" {
		t.Fatalf("List = %d items at %q, want web only", len(items), rv)
	}

	stale := got
	got.Metadata.Labels["tier"] = "front"
	updated, err := pods.Update(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if updated.GetMetadata().GetLabels()["tier"] != "front" {
		t.Fatalf("Update lost the label: %v", updated.GetMetadata().GetLabels())
	}
	stale.Metadata.ResourceVersion = created.GetMetadata().GetResourceVersion()
	if _, err := pods.Update(ctx, stale); !errdefs.IsConflict(err) {
		t.Fatalf("Update with a stale resourceVersion = %v, want Conflict", err)
	}

	updated.Status = &v1.PodStatus{Phase: "Running"}
	withStatus, err := pods.UpdateStatus(ctx, updated)
	if err != nil {
		t.Fatal(err)
	}
	if withStatus.GetStatus().GetPhase() != "Running" {
		t.Fatalf("UpdateStatus = %v", withStatus.GetStatus())
	}

	deleted, finished, err := pods.Delete(ctx, "default", "web", client.DeleteOptions{Preconditions: &client.Preconditions{UID: "other"}})
	if !errdefs.IsConflict(err) {
		t.Fatalf("Delete with a wrong uid precondition = %v, %v, %v; want Conflict", deleted, finished, err)
	}
	zero := int64(0)
	deleted, finished, err = pods.Delete(ctx, "default", "web", client.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &client.Preconditions{UID: created.GetMetadata().GetUid()}})
	if err != nil || !finished || deleted.GetMetadata().GetName() != "web" {
		t.Fatalf("Delete = %v, %v, %v", deleted, finished, err)
	}
	if _, err := pods.Get(ctx, "default", "web"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get after Delete = %v, want NotFound", err)
	}

	cns, auths, agents := env.Server.Seen()
	if len(cns) == 0 || cns[0] != "admin" {
		t.Errorf("server saw client certificates %v, want admin", cns)
	}
	if len(auths) == 0 || auths[0] != "Bearer abcdef.0123456789abcdef" {
		t.Errorf("server saw authorization %v", auths)
	}
	if len(agents) == 0 || !strings.HasPrefix(agents[0], "client-test/1") {
		t.Errorf("server saw user agents %v", agents)
	}
}

func TestErrorClassesSurviveTheWire(t *testing.T) {
	env := fakeapi.Start(t)
	cs := newClient(t, env, nil)
	ctx := ctxT(t)
	tests := []struct {
		name string
		give error
		want errdefs.Class
	}{
		{name: "not found", give: errdefs.NotFound("pods \"x\" not found"), want: errdefs.ClassNotFound},
		{name: "already exists", give: errdefs.AlreadyExists("exists"), want: errdefs.ClassAlreadyExists},
		{name: "conflict", give: errdefs.Conflict("stale"), want: errdefs.ClassConflict},
		{name: "invalid", give: errdefs.Invalid("Pod \"x\" is invalid"), want: errdefs.ClassInvalid},
		{name: "expired", give: errdefs.Expired("too old"), want: errdefs.ClassExpired},
		{name: "forbidden", give: errdefs.Forbidden("no"), want: errdefs.ClassForbidden},
		{name: "unauthenticated", give: errdefs.Unauthenticated("who"), want: errdefs.ClassUnauthenticated},
		{name: "precondition", give: errdefs.Precondition("bound"), want: errdefs.ClassPrecondition},
		{name: "too large", give: errdefs.TooLarge("big"), want: errdefs.ClassTooLarge},
		{name: "not implemented", give: errdefs.NotImplemented("later"), want: errdefs.ClassNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.Server.FailNext("Get", tt.give)
			_, err := cs.Pods().Get(ctx, "default", "x")
			if got := errdefs.ClassOf(err); got != tt.want {
				t.Fatalf("class of %v = %v, want %v", err, got, tt.want)
			}
			if err.Error() != tt.give.Error() {
				t.Fatalf("message %q, want the server's %q", err.Error(), tt.give.Error())
			}
		})
	}
	t.Run("on a watch stream", func(t *testing.T) {
		env.Server.FailNext("Watch", errdefs.Forbidden("no watching"))
		w, err := cs.Pods().Watch(ctx, client.ListOptions{})
		if err == nil {
			_, err = w.Next()
		}
		if !errdefs.IsForbidden(err) {
			t.Fatalf("watch error = %v, want Forbidden", err)
		}
	})
}

func TestUnavailableReadsAreRetried(t *testing.T) {
	env := fakeapi.Start(t)
	cs := newClient(t, env, nil)
	ctx := ctxT(t)
	env.Server.FailNext("Get", errdefs.Unavailable("restarting"), errdefs.Unavailable("restarting"))
	if _, err := cs.Pods().Get(ctx, "default", "x"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get = %v, want NotFound after two retried Unavailable", err)
	}
	env.Server.FailNext("Create", errdefs.Unavailable("restarting"))
	if _, err := cs.Pods().Create(ctx, pod("p", nil)); !errdefs.IsUnavailable(err) {
		t.Fatalf("Create = %v, want Unavailable (writes are not retried)", err)
	}
}

func TestDefaultDeadline(t *testing.T) {
	env := fakeapi.Start(t)
	cs := newClient(t, env, func(c *client.Config) { c.Timeout = 100 * time.Millisecond })
	env.Server.HangNext("Get")
	start := time.Now()
	_, err := cs.Pods().Get(context.Background(), "default", "x")
	if errdefs.ClassOf(err) != errdefs.ClassTimeout {
		t.Fatalf("Get = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the default deadline did not apply: took %v", d)
	}
}

func TestTLSIsRequired(t *testing.T) {
	env := fakeapi.Start(t)
	other, err := fakeapi.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.ClientTLS("admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	foreign.RootCAs = env.PKI.Pool()
	tests := []struct {
		name string
		give *tls.Config
	}{
		{name: "no client certificate", give: &tls.Config{RootCAs: env.PKI.Pool()}},
		{name: "certificate from another CA", give: foreign},
		{name: "server from an unknown CA", give: func() *tls.Config { c, _ := other.ClientTLS("admin"); return c }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := newClient(t, env, func(c *client.Config) { c.TLS = tt.give; c.Timeout = 5 * time.Second })
			if _, err := cs.Pods().Get(context.Background(), "default", "x"); err == nil || errdefs.IsNotFound(err) {
				t.Fatalf("Get = %v, want the connection refused", err)
			}
		})
	}
}

func TestWatch(t *testing.T) {
	fakeapi.NoLeaks(t)
	env := fakeapi.Start(t)
	cs := newClient(t, env, nil)
	ctx := ctxT(t)
	pods := cs.Pods()
	if _, err := pods.Create(ctx, pod("a", nil)); err != nil {
		t.Fatal(err)
	}
	_, rv, err := pods.List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: rv, AllowBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	b, err := pods.Create(ctx, pod("b", nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pods.Delete(ctx, "default", "a", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ  client.EventType
		name string
	}{{client.Added, "b"}, {client.Deleted, "a"}}
	for _, wt := range want {
		ev, err := w.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != wt.typ || ev.Object.GetMetadata().GetName() != wt.name || ev.ResourceVersion != ev.Object.GetMetadata().GetResourceVersion() {
			t.Fatalf("event %v %s@%s, want %v %s", ev.Type, ev.Object.GetMetadata().GetName(), ev.ResourceVersion, wt.typ, wt.name)
		}
	}
	env.Server.Bump()
	env.Server.Bookmark()
	ev, err := w.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != client.Bookmark || ev.ResourceVersion != env.Server.ResourceVersion() || ev.Object != nil {
		t.Fatalf("got %v@%s, want a bookmark at %s", ev.Type, ev.ResourceVersion, env.Server.ResourceVersion())
	}

	env.Server.BreakWatches(nil)
	if _, err := w.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after a clean end = %v, want io.EOF", err)
	}

	env.Server.Compact()
	w2, err := pods.Watch(ctx, client.ListOptions{ResourceVersion: b.GetMetadata().GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w2.Next(); !errdefs.IsExpired(err) {
		t.Fatalf("watch from a compacted version = %v, want Expired", err)
	}

	w3, err := pods.Watch(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err = w3.Next()
	if err != nil || ev.Type != client.Added || ev.Object.GetMetadata().GetName() != "b" {
		t.Fatalf("watch without a version began with %v, %v; want ADDED b", ev, err)
	}
	w3.Stop()
	if _, err := w3.Next(); err == nil {
		t.Fatal("Next after Stop succeeded")
	}
	waitFor(t, func() bool { return env.Server.OpenWatches() == 0 })
}

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

func TestForResourceIsUntyped(t *testing.T) {
	env := fakeapi.Start(t)
	cs := newClient(t, env, nil)
	ctx := ctxT(t)
	res, err := apis.Lookup("cm")
	if err != nil {
		t.Fatal(err)
	}
	dyn := cs.ForResource(res)
	obj, err := dyn.Create(ctx, &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "cfg", Namespace: "kube-system"}, Data: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := obj.(*v1.ConfigMap); !ok {
		t.Fatalf("untyped Create returned %T", obj)
	}
	typed, err := cs.ConfigMaps().Get(ctx, "kube-system", "cfg")
	if err != nil || typed.GetData()["k"] != "v" {
		t.Fatalf("typed Get = %v, %v", typed, err)
	}
	items, _, err := dyn.List(ctx, client.ListOptions{Namespace: "kube-system"})
	if err != nil || len(items) != 1 {
		t.Fatalf("untyped List = %v, %v", items, err)
	}
	if _, err := dyn.Create(ctx, pod("wrong-kind", nil)); !errdefs.IsInvalid(err) {
		t.Fatalf("creating a pod through the configmaps client = %v, want Invalid", err)
	}
}

func TestBindOnlyOnce(t *testing.T) {
	env := fakeapi.Start(t)
	cs := newClient(t, env, nil)
	ctx := ctxT(t)
	if _, err := cs.Pods().Create(ctx, pod("p", nil)); err != nil {
		t.Fatal(err)
	}
	bind := func(node string) (*v1.Pod, error) {
		return cs.Bind(ctx, &v1.Binding{Metadata: &v1.ObjectMeta{Name: "p", Namespace: "default"}, Target: &v1.ObjectReference{Kind: "Node", Name: node}})
	}
	p, err := bind("n1")
	if err != nil || p.GetSpec().GetNodeName() != "n1" {
		t.Fatalf("Bind = %v, %v", p, err)
	}
	if _, err := bind("n2"); !errdefs.IsPrecondition(err) {
		t.Fatalf("second Bind = %v, want Precondition", err)
	}
}

func TestCSRApproval(t *testing.T) {
	env := fakeapi.Start(t)
	cs := newClient(t, env, nil)
	ctx := ctxT(t)
	if _, err := cs.CSRs().Create(ctx, &v1.CertificateSigningRequest{Metadata: &v1.ObjectMeta{Name: "node-csr-1"}}); err != nil {
		t.Fatal(err)
	}
	csr, err := cs.ApproveCSR(ctx, "node-csr-1", "AutoApproved", "bootstrap token")
	if err != nil {
		t.Fatal(err)
	}
	conds := csr.GetStatus().GetConditions()
	if len(conds) != 1 || conds[0].GetType() != client.CSRApproved || conds[0].GetReason() != "AutoApproved" {
		t.Fatalf("conditions = %v", conds)
	}
}

func TestPodLogsExecAndClusterInfo(t *testing.T) {
	fakeapi.NoLeaks(t)
	env := fakeapi.Start(t)
	env.Server.Logs = []string{"line 1\n", "line 2\n", strings.Repeat("x", 100000) + "\n"}
	env.Server.ClusterInfo = &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"}, Data: map[string]string{"kubeconfig": "k"}}
	cs := newClient(t, env, nil)
	ctx := ctxT(t)

	rc, err := cs.PodLogs(ctx, &v1.PodLogsRequest{Namespace: "default", Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.Close()
	if want := strings.Join(env.Server.Logs, ""); string(data) != want {
		t.Fatalf("logs = %d bytes, want %d", len(data), len(want))
	}

	follow, err := cs.PodLogs(ctx, &v1.PodLogsRequest{Namespace: "default", Name: "p", Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(follow, buf); err != nil || string(buf) != "line 1\n" {
		t.Fatalf("first follow read = %q, %v", buf, err)
	}
	if err := follow.Close(); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	code, err := cs.PodExec(ctx, client.ExecOptions{
		Namespace: "default", Name: "p", Command: []string{"sh", "-c", "cat"},
		Stdin: strings.NewReader("hello"), Stdout: &stdout, Stderr: &stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if code != 3 || stdout.String() != "hellodone\n" || stderr.String() != "HELLO" {
		t.Fatalf("exec = %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	code, err = cs.PodExec(ctx, client.ExecOptions{Namespace: "default", Name: "p", Command: []string{"true"}})
	if err != nil || code != 1 {
		t.Fatalf("exec without stdin = %d, %v", code, err)
	}

	ci, err := cs.GetClusterInfo(ctx)
	if err != nil || ci.GetData()["kubeconfig"] != "k" {
		t.Fatalf("GetClusterInfo = %v, %v", ci, err)
	}
}

func TestRetryOnConflict(t *testing.T) {
	env := fakeapi.Start(t)
	cs := newClient(t, env, nil)
	ctx := ctxT(t)
	if _, err := cs.ConfigMaps().Create(ctx, &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "counter", Namespace: "default"}, Data: map[string]string{"n": "0"}}); err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	backoff := client.Backoff{Steps: 1000, Duration: time.Millisecond, Factor: 1, Jitter: 1}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				errs <- client.RetryOnConflict(ctx, backoff, func() error {
					cm, err := cs.ConfigMaps().Get(ctx, "default", "counter")
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(cm.GetData()["n"])
					cm.Data["n"] = strconv.Itoa(n + 1)
					_, err = cs.ConfigMaps().Update(ctx, cm)
					return err
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	cm, err := cs.ConfigMaps().Get(ctx, "default", "counter")
	if err != nil {
		t.Fatal(err)
	}
	if got := cm.GetData()["n"]; got != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s, want %d: an update was lost", got, workers*each)
	}
}

func TestRetryOnConflictGivesUp(t *testing.T) {
	tests := []struct {
		name      string
		give      error
		wantCalls int
	}{
		{name: "conflict every time", give: errdefs.Conflict("stale"), wantCalls: 3},
		{name: "other errors are not retried", give: errdefs.NotFound("gone"), wantCalls: 1},
		{name: "success", give: nil, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := client.RetryOnConflict(context.Background(), client.Backoff{Steps: 3, Duration: time.Microsecond}, func() error {
				calls++
				return tt.give
			})
			if calls != tt.wantCalls || !errors.Is(err, tt.give) {
				t.Fatalf("calls = %d, err = %v; want %d, %v", calls, err, tt.wantCalls, tt.give)
			}
		})
	}
}

// BenchmarkCreateGet measures a Create and a Get through the client over
// mutual TLS against the in-memory fake (client and transport cost only).
func BenchmarkCreateGet(b *testing.B) {
	env := fakeapi.Start(b)
	cs, err := client.New(client.Config{Address: env.Address, TLS: env.ClientTLS(b, "admin")})
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		name := "p" + strconv.Itoa(i)
		if _, err := cs.Pods().Create(ctx, pod(name, map[string]string{"app": "web"})); err != nil {
			b.Fatal(err)
		}
		if _, err := cs.Pods().Get(ctx, "default", name); err != nil {
			b.Fatal(err)
		}
	}
}

func TestListPages(t *testing.T) {
	fakeapi.NoLeaks(t)
	env := fakeapi.Start(t)
	cs := newClient(t, env, nil)
	ctx := ctxT(t)
	pods := cs.Pods()
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		if _, err := pods.Create(ctx, pod(name, map[string]string{"app": name})); err != nil {
			t.Fatal(err)
		}
	}

	// List with a limit keeps its signature and answers one page.
	items, rv, err := pods.List(ctx, client.ListOptions{Namespace: "default", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || rv == "" {
		t.Fatalf("List with a limit = %d items at %q, want 2", len(items), rv)
	}

	opts := client.ListOptions{Namespace: "default", Limit: 2}
	var names []string
	var remaining []int64
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages")
		}
		p, err := pods.ListPage(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			names = append(names, it.GetMetadata().GetName())
		}
		if p.RemainingItemCount != nil {
			remaining = append(remaining, *p.RemainingItemCount)
		}
		if p.Continue == "" {
			break
		}
		opts.Continue = p.Continue
	}
	if got, want := strings.Join(names, ","), "a,b,c,d,e"; got != want {
		t.Fatalf("pages hold %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(remaining), "[3 1]"; got != want {
		t.Fatalf("remainingItemCount per page %s, want %s", got, want)
	}
}
