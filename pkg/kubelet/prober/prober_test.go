package prober

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/kubelet/podsync"
	"minik8s/pkg/kubelet/runtime"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeExec answers exec probes by the command's first word: the exit code
// set for it (0 when none), or err.
type fakeExec struct {
	mu    sync.Mutex
	codes map[string]int
	err   error
	calls map[string]int
}

func newFakeExec() *fakeExec { return &fakeExec{codes: map[string]int{}, calls: map[string]int{}} }

func (f *fakeExec) Exec(_ context.Context, _ string, opts runtime.ExecOptions) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[opts.Cmd[0]]++
	if f.err != nil {
		return 0, f.err
	}
	return f.codes[opts.Cmd[0]], nil
}

func (f *fakeExec) set(cmd string, code int) {
	f.mu.Lock()
	f.codes[cmd] = code
	f.mu.Unlock()
}

func (f *fakeExec) count(cmd string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[cmd]
}

func execProbe(cmd string) *v1.Probe {
	return &v1.Probe{Exec: &v1.ExecAction{Command: []string{cmd}}}
}

// hostPort splits a listener's address.
func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

func TestProbeHandlers(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	host, port := hostPort(t, u.Host)

	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	_, openPort := hostPort(t, open.Addr().String())
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, closedPort := hostPort(t, closed.Addr().String())
	closed.Close()

	container := &v1.Container{Name: "app", Ports: []*v1.ContainerPort{{Name: "http", ContainerPort: int32(mustAtoi(t, port))}}}
	exec := newFakeExec()
	exec.set("false", 1)
	broken := newFakeExec()
	broken.err = errors.New("container is not running")

	tests := []struct {
		name    string
		probe   *v1.Probe
		execer  Execer
		wantErr string // empty: success
	}{
		{name: "exec exits 0", probe: execProbe("true"), execer: exec},
		{name: "exec exits 1", probe: execProbe("false"), execer: exec, wantErr: "exit code 1"},
		{name: "exec cannot run", probe: execProbe("true"), execer: broken, wantErr: "not running"},
		{name: "httpGet 200", probe: &v1.Probe{HttpGet: &v1.HTTPGetAction{Path: "/healthz", Port: port,
			HttpHeaders: []*v1.HTTPHeader{{Name: "X-Probe", Value: "yes"}, {Name: "Host", Value: "web.example"}}}}},
		{name: "httpGet by port name, path without a slash", probe: &v1.Probe{HttpGet: &v1.HTTPGetAction{Path: "ready", Port: "http"}}},
		{name: "httpGet 500", probe: &v1.Probe{HttpGet: &v1.HTTPGetAction{Path: "/fail", Port: port}}, wantErr: "answered 500"},
		{name: "httpGet redirect is a success, not followed", probe: &v1.Probe{HttpGet: &v1.HTTPGetAction{Path: "/moved", Port: port}}},
		{name: "httpGet times out", probe: &v1.Probe{HttpGet: &v1.HTTPGetAction{Path: "/slow", Port: port}}, wantErr: "deadline exceeded"},
		{name: "httpGet unknown port name", probe: &v1.Probe{HttpGet: &v1.HTTPGetAction{Port: "metrics"}}, wantErr: `names no port`},
		{name: "tcpSocket open", probe: &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: openPort}}},
		{name: "tcpSocket refused", probe: &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: closedPort}}, wantErr: "refused"},
		{name: "tcpSocket port out of range", probe: &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "70000"}}, wantErr: "out of range"},
		{name: "no handler", probe: &v1.Probe{}, wantErr: "no handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(Config{Runtime: tt.execer})
			w := &worker{key: key{"cid", Readiness}, target: Target{PodUID: "pod", ContainerID: "cid", Container: container, Host: host}, probe: tt.probe}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			err := m.probe(ctx, w)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("probe = %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("probe = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}

	mu.Lock()
	defer mu.Unlock()
	var healthz *http.Request
	paths := map[string]bool{}
	for _, r := range seen {
		paths[r.URL.Path] = true
		if r.URL.Path == "/healthz" {
			healthz = r
		}
	}
	if healthz == nil || healthz.Header.Get("X-Probe") != "yes" || healthz.Host != "web.example" || !strings.HasPrefix(healthz.UserAgent(), "kube-probe/") {
		t.Errorf("the httpGet probe sent %+v, want its header, its Host and the kube-probe user agent", healthz)
	}
	if !paths["/ready"] || paths["/elsewhere"] {
		t.Errorf("paths asked %v: want /ready and no redirect followed", paths)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// probed is a Manager on a fake clock whose exec probes answer from a
// fakeExec, with a record of the OnChange calls.
type probed struct {
	m       *Manager
	clk     *clockwork.FakeClock
	exec    *fakeExec
	changes chan string
	ctx     context.Context
}

func newProbed(t *testing.T) *probed {
	t.Helper()
	p := &probed{clk: clockwork.NewFakeClockAt(t0), exec: newFakeExec(), changes: make(chan string, 100)}
	p.m = New(Config{Runtime: p.exec, Clock: p.clk, OnChange: func(uid string) { p.changes <- uid }})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	p.ctx = ctx
	done := make(chan error, 1)
	go func() { done <- p.m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p
}

// step advances the clock by d and waits until n probe workers wait on it
// again (each has done what the tick asked).
func (p *probed) step(t *testing.T, d time.Duration, n int) {
	t.Helper()
	p.clk.Advance(d)
	if err := p.clk.BlockUntilContext(p.ctx, n); err != nil {
		t.Fatalf("waiting for %d probe workers: %v", n, err)
	}
}

func (p *probed) result(id string) podsync.ProbeResult { return p.m.Results("pod")[id] }

func (p *probed) changed() int {
	n := 0
	for {
		select {
		case <-p.changes:
			n++
		default:
			return n
		}
	}
}

func TestReadinessThresholdsAndInitialDelay(t *testing.T) {
	p := newProbed(t)
	probe := execProbe("check")
	probe.InitialDelaySeconds, probe.PeriodSeconds = 5, 10
	probe.SuccessThreshold, probe.FailureThreshold = 2, 3
	c := &v1.Container{Name: "app", ReadinessProbe: probe}
	p.m.SyncPod("pod", []Target{{PodUID: "pod", ContainerID: "c1", Container: c, StartedAt: t0}})
	if err := p.clk.BlockUntilContext(p.ctx, 1); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after      time.Duration
		code       int
		wantProbes int
		wantReady  bool
		wantChange bool
	}{
		{after: 4 * time.Second, wantProbes: 0}, // inside initialDelaySeconds
		{after: time.Second, wantProbes: 1},     // first probe at 5 s: one success of two
		{after: 10 * time.Second, wantProbes: 2, wantReady: true, wantChange: true},
		{after: 10 * time.Second, code: 1, wantProbes: 3, wantReady: true}, // failures 1 and 2 of 3
		{after: 10 * time.Second, code: 1, wantProbes: 4, wantReady: true},
		{after: 10 * time.Second, code: 1, wantProbes: 5, wantChange: true},
		{after: 10 * time.Second, wantProbes: 6}, // one success is not enough again
		{after: 10 * time.Second, wantProbes: 7, wantReady: true, wantChange: true},
	}
	for i, s := range steps {
		p.exec.set("check", s.code)
		p.step(t, s.after, 1)
		if got := p.exec.count("check"); got != s.wantProbes {
			t.Fatalf("step %d: %d probes, want %d", i, got, s.wantProbes)
		}
		r := p.result("c1")
		if r.Ready != s.wantReady || r.Unhealthy {
			t.Fatalf("step %d: result %+v, want ready=%v", i, r, s.wantReady)
		}
		if changed := p.changed() > 0; changed != s.wantChange {
			t.Fatalf("step %d: OnChange called %v, want %v", i, changed, s.wantChange)
		}
	}
	// The container stops running: its workers and results go.
	p.m.SyncPod("pod", nil)
	if r := p.m.Results("pod"); len(r) != 0 {
		t.Errorf("results after the container left: %v", r)
	}
}

func TestLivenessWaitsForStartup(t *testing.T) {
	p := newProbed(t)
	startup := execProbe("startup")
	startup.PeriodSeconds, startup.FailureThreshold = 1, 30
	live := execProbe("live")
	live.PeriodSeconds, live.FailureThreshold = 1, 2
	c := &v1.Container{Name: "app", StartupProbe: startup, LivenessProbe: live}
	p.exec.set("startup", 1)
	p.m.SyncPod("pod", []Target{{PodUID: "pod", ContainerID: "c1", Container: c, StartedAt: t0}})
	if err := p.clk.BlockUntilContext(p.ctx, 2); err != nil {
		t.Fatal(err)
	}
	// Both workers probe at once (no initial delay): the startup probe
	// fails, the liveness probe waits for it.
	for range 3 {
		p.step(t, time.Second, 2)
	}
	if s, l := p.exec.count("startup"), p.exec.count("live"); s != 4 || l != 0 {
		t.Fatalf("%d startup and %d liveness probes, want 4 and none", s, l)
	}
	if r := p.result("c1"); r.Started || r.Unhealthy {
		t.Fatalf("result %+v while the startup probe fails below its threshold", r)
	}
	// The startup probe succeeds and its worker ends; the liveness probe
	// starts.
	p.exec.set("startup", 0)
	p.step(t, time.Second, 1)
	for r := p.result("c1"); !r.Started; r = p.result("c1") {
		if r.Unhealthy || p.ctx.Err() != nil {
			t.Fatalf("result %+v, want started", r)
		}
		time.Sleep(time.Millisecond)
	}
	p.step(t, time.Second, 1)
	if r := p.result("c1"); r.Unhealthy {
		t.Fatalf("result %+v, want healthy", r)
	}
	if p.exec.count("live") == 0 {
		t.Fatal("no liveness probe after the start")
	}
	// Two liveness failures in a row: unhealthy (the container is to be
	// restarted), and the worker ends.
	p.exec.set("live", 1)
	p.step(t, time.Second, 1)
	if r := p.result("c1"); r.Unhealthy {
		t.Fatalf("unhealthy after one failure of two: %+v", r)
	}
	p.changed()
	p.clk.Advance(time.Second)
	select {
	case <-p.changes:
	case <-p.ctx.Done():
		t.Fatal("no OnChange after the second liveness failure")
	}
	if r := p.result("c1"); !r.Unhealthy {
		t.Fatalf("result %+v, want unhealthy", r)
	}
}

func TestStartupFailureIsUnhealthy(t *testing.T) {
	p := newProbed(t)
	startup := execProbe("startup")
	startup.PeriodSeconds, startup.FailureThreshold = 2, 2
	c := &v1.Container{Name: "app", StartupProbe: startup}
	p.exec.set("startup", 1)
	p.m.SyncPod("pod", []Target{{PodUID: "pod", ContainerID: "c1", Container: c, StartedAt: t0}})
	if err := p.clk.BlockUntilContext(p.ctx, 1); err != nil {
		t.Fatal(err)
	}
	// The first probe ran at the start (no initial delay).
	if n := p.exec.count("startup"); n != 1 {
		t.Fatalf("%d startup probes, want the first", n)
	}
	if r := p.result("c1"); r.Unhealthy {
		t.Fatalf("unhealthy after one failure of two: %+v", r)
	}
	p.clk.Advance(2 * time.Second)
	select {
	case <-p.changes:
	case <-p.ctx.Done():
		t.Fatal("no OnChange after the startup probe's last failure")
	}
	if r := p.result("c1"); !r.Unhealthy || r.Started {
		t.Errorf("result %+v, want unhealthy, not started", r)
	}
}
