// Package prober runs the startup, liveness and readiness probes of
// running containers, as Kubernetes' kubelet does: one worker per container
// and probe kind, probing every periodSeconds after initialDelaySeconds,
// each probe bounded by timeoutSeconds, a result flipping only after
// successThreshold successes or failureThreshold failures in a row.
// Liveness and readiness probes wait until the startup probe (if any) has
// succeeded. Results are read by the pod worker; a change wakes it.
package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/defaults"
	"minik8s/pkg/kubelet/podsync"
	"minik8s/pkg/kubelet/runtime"
)

// Kind is a probe kind.
type Kind string

// Probe kinds.
const (
	Startup   Kind = "startup"
	Liveness  Kind = "liveness"
	Readiness Kind = "readiness"
)

// Execer runs a command in a container (runtime.Runtime satisfies it).
type Execer interface {
	Exec(ctx context.Context, id string, opts runtime.ExecOptions) (int, error)
}

// Config configures a Manager.
type Config struct {
	Runtime Execer
	// OnChange is called with a pod's UID when a result of one of its
	// containers changed; it must not block.
	OnChange func(podUID string)
	Clock    clockwork.Clock
	Logger   *zap.Logger
	// Dialer dials tcpSocket and httpGet probes; default a net.Dialer.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Target is a running container to probe.
type Target struct {
	PodUID string
	// ContainerID is the runtime's ID of the running container.
	ContainerID string
	Container   *v1.Container
	// Host is where httpGet and tcpSocket probes connect: the pod's IP, or
	// 127.0.0.1 for a pod on the host's network.
	Host string
	// StartedAt is when the container started (initialDelaySeconds counts
	// from it).
	StartedAt time.Time
}

type key struct {
	containerID string
	kind        Kind
}

type result struct {
	known   bool // a probe has decided the result
	success bool
}

// Manager owns the probe workers.
type Manager struct {
	cfg Config
	lg  *zap.Logger
	clk clockwork.Clock

	mu      sync.Mutex
	workers map[key]*worker
	results map[key]result
	pods    map[string]map[string]bool // pod UID -> container IDs with workers
	spawn   []*worker
	spawned chan struct{}
	stopped bool
}

type worker struct {
	key    key
	target Target
	probe  *v1.Probe
	stop   chan struct{}
}

// New returns a Manager.
func New(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func(string) {}
	}
	if cfg.Dialer == nil {
		d := &net.Dialer{}
		cfg.Dialer = d.DialContext
	}
	return &Manager{
		cfg:     cfg,
		lg:      cfg.Logger.Named("prober"),
		clk:     cfg.Clock,
		workers: make(map[key]*worker),
		results: make(map[key]result),
		pods:    make(map[string]map[string]bool),
		spawned: make(chan struct{}, 1),
	}
}

// SyncPod makes the running containers of pod podUID the ones probed:
// workers start for new targets and stop for containers no longer listed.
func (m *Manager) SyncPod(podUID string, targets []Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[key]Target{}
	for _, t := range targets {
		c := t.Container
		for kind, p := range map[Kind]*v1.Probe{Startup: c.GetStartupProbe(), Liveness: c.GetLivenessProbe(), Readiness: c.GetReadinessProbe()} {
			if p != nil {
				want[key{t.ContainerID, kind}] = t
			}
		}
	}
	old := m.pods[podUID]
	ids := map[string]bool{}
	for k, t := range want {
		ids[k.containerID] = true
		if _, ok := m.workers[k]; ok || m.stopped {
			continue
		}
		w := &worker{key: k, target: t, probe: probeOf(t.Container, k.kind), stop: make(chan struct{})}
		m.workers[k] = w
		m.spawn = append(m.spawn, w)
	}
	for id := range old {
		if ids[id] {
			continue
		}
		for _, kind := range []Kind{Startup, Liveness, Readiness} {
			k := key{id, kind}
			if w, ok := m.workers[k]; ok {
				close(w.stop)
				delete(m.workers, k)
			}
			delete(m.results, k)
		}
	}
	if len(ids) == 0 {
		delete(m.pods, podUID)
	} else {
		m.pods[podUID] = ids
	}
	if len(m.spawn) > 0 {
		select {
		case m.spawned <- struct{}{}:
		default:
		}
	}
}

// RemovePod stops every worker of pod podUID.
func (m *Manager) RemovePod(podUID string) { m.SyncPod(podUID, nil) }

func probeOf(c *v1.Container, k Kind) *v1.Probe {
	switch k {
	case Startup:
		return c.GetStartupProbe()
	case Liveness:
		return c.GetLivenessProbe()
	}
	return c.GetReadinessProbe()
}

// Results returns the probe results of pod podUID's containers by
// container ID, in podsync's terms.
func (m *Manager) Results(podUID string) map[string]podsync.ProbeResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]podsync.ProbeResult{}
	for id := range m.pods[podUID] {
		out[id] = m.resultLocked(id)
	}
	return out
}

func (m *Manager) resultLocked(id string) podsync.ProbeResult {
	s := m.results[key{id, Startup}]
	l := m.results[key{id, Liveness}]
	r := m.results[key{id, Readiness}]
	return podsync.ProbeResult{
		Started:   s.known && s.success,
		Ready:     r.known && r.success,
		Unhealthy: (l.known && !l.success) || (s.known && !s.success),
	}
}

// started reports whether the container's startup probe (if any) passed.
func (m *Manager) started(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.workers[key{id, Startup}]; !ok {
		if r, ok := m.results[key{id, Startup}]; ok {
			return r.known && r.success
		}
		return true
	}
	r := m.results[key{id, Startup}]
	return r.known && r.success
}

func (m *Manager) set(w *worker, success bool) {
	m.mu.Lock()
	if cur, ok := m.workers[w.key]; !ok || cur != w {
		m.mu.Unlock()
		return // stopped meanwhile
	}
	old := m.results[w.key]
	next := result{known: true, success: success}
	m.results[w.key] = next
	m.mu.Unlock()
	if old != next {
		m.lg.Debug("Probe result changed", zap.String("podUID", w.target.PodUID), zap.String("containerID", w.key.containerID),
			zap.String("probe", string(w.key.kind)), zap.Bool("success", success))
		m.cfg.OnChange(w.target.PodUID)
	}
}

// Run runs the probe workers until ctx ends, then waits for them and
// returns nil.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			m.mu.Lock()
			m.stopped = true
			m.mu.Unlock()
			return nil
		case <-m.spawned:
		}
		m.mu.Lock()
		ws := m.spawn
		m.spawn = nil
		m.mu.Unlock()
		for _, w := range ws {
			wg.Go(func() { m.loop(ctx, w) })
		}
	}
}

func (m *Manager) loop(ctx context.Context, w *worker) {
	p := w.probe
	period := time.Duration(orDefault(p.GetPeriodSeconds(), defaults.ProbePeriodSeconds)) * time.Second
	timeout := time.Duration(orDefault(p.GetTimeoutSeconds(), defaults.ProbeTimeoutSeconds)) * time.Second
	successThreshold := int(orDefault(p.GetSuccessThreshold(), defaults.ProbeSuccessThreshold))
	failureThreshold := int(orDefault(p.GetFailureThreshold(), defaults.ProbeFailureThreshold))
	if w.key.kind != Readiness {
		successThreshold = 1 // Kubernetes requires 1 for liveness and startup
	}
	// The first probe: initialDelaySeconds after the container started.
	first := w.target.StartedAt.Add(time.Duration(p.GetInitialDelaySeconds()) * time.Second)
	wait := first.Sub(m.clk.Now())
	var successes, failures int
	for {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-w.stop:
				return
			case <-m.clk.After(wait):
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		default:
		}
		wait = period
		if w.key.kind != Startup && !m.started(w.key.containerID) {
			continue // liveness and readiness wait for the startup probe
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := m.probe(pctx, w)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			successes++
			failures = 0
			if successes >= successThreshold {
				m.set(w, true)
				if w.key.kind == Startup {
					return // started: the startup probe is done
				}
			}
		} else {
			failures++
			successes = 0
			m.lg.Debug("Probe failed", zap.String("podUID", w.target.PodUID), zap.String("containerID", w.key.containerID),
				zap.String("probe", string(w.key.kind)), zap.Error(err))
			if failures >= failureThreshold {
				m.set(w, false)
				if w.key.kind != Readiness {
					return // the container is restarted; a new one gets new workers
				}
			}
		}
	}
}

func orDefault(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

// probe runs one probe; nil is a success.
func (m *Manager) probe(ctx context.Context, w *worker) error {
	p := w.probe
	switch {
	case p.GetExec() != nil:
		code, err := m.cfg.Runtime.Exec(ctx, w.key.containerID, runtime.ExecOptions{Cmd: p.GetExec().GetCommand(), Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			return fmt.Errorf("exec probe: %w", err)
		}
		if code != 0 {
			return fmt.Errorf("exec probe: exit code %d", code)
		}
		return nil
	case p.GetHttpGet() != nil:
		return m.httpProbe(ctx, w)
	case p.GetTcpSocket() != nil:
		t := p.GetTcpSocket()
		port, err := resolvePort(t.GetPort(), w.target.Container)
		if err != nil {
			return err
		}
		host := t.GetHost()
		if host == "" {
			host = w.target.Host
		}
		conn, err := m.cfg.Dialer(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("tcp probe: %w", err)
		}
		return conn.Close()
	}
	return errors.New("probe has no handler")
}

func (m *Manager) httpProbe(ctx context.Context, w *worker) error {
	g := w.probe.GetHttpGet()
	port, err := resolvePort(g.GetPort(), w.target.Container)
	if err != nil {
		return err
	}
	host := g.GetHost()
	if host == "" {
		host = w.target.Host
	}
	scheme := strings.ToLower(g.GetScheme())
	if scheme == "" {
		scheme = "http"
	}
	path := g.GetPath()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	full := u.String() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	if err != nil {
		return fmt.Errorf("http probe: %w", err)
	}
	req.Header.Set("User-Agent", "kube-probe/1.31")
	for _, h := range g.GetHttpHeaders() {
		if strings.EqualFold(h.GetName(), "host") {
			req.Host = h.GetValue()
			continue
		}
		req.Header.Add(h.GetName(), h.GetValue())
	}
	tr := &http.Transport{
		DialContext:       m.cfg.Dialer,
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // Kubernetes' probes do not verify
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("http probe: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("http probe: %s answered %d", full, resp.StatusCode)
	}
	return nil
}

// resolvePort turns a probe's port (a number or a container port's name)
// into a number.
func resolvePort(port string, c *v1.Container) (int, error) {
	if n, err := strconv.Atoi(port); err == nil {
		if n <= 0 || n > 65535 {
			return 0, fmt.Errorf("probe port %d out of range", n)
		}
		return n, nil
	}
	for _, p := range c.GetPorts() {
		if p.GetName() == port {
			return int(p.GetContainerPort()), nil
		}
	}
	return 0, fmt.Errorf("probe port %q names no port of container %s", port, c.GetName())
}
