// Package hollow is a simulated runtime.Runtime, as Kubernetes' kubemark
// has: sandboxes and containers live in memory, images pull at once, and
// containers behave as the test application (minik8s/testapp) would, so the
// same pod specs work on the Docker runtime and here:
//
//	serve, sleep   run until stopped (SIGTERM: exit 0)
//	log TEXT       run, printing TEXT every second of the runtime's clock
//	echo TEXT      print TEXT, exit 0
//	exit CODE      exit with CODE
//	get URL        print "ok hollow <path>", exit 0 (nothing is fetched)
//
// Containers of images the simulation does not know run until stopped; as
// init containers they exit 0 at once. Exec runs the same subcommands. An
// instance costs a few maps and no goroutine at rest, so one process can
// host hundreds of hollow nodes.
package hollow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/kubelet/runtime"
)

// Images the simulated registry holds by default: the ones built by
// deploy/images/build.sh.
const (
	PauseImage   = "minik8s/pause:3.10"
	TestappImage = "minik8s/testapp:v1"
)

// Config configures a hollow runtime.
type Config struct {
	// NodeName names the node; informational.
	NodeName string
	// Clock drives timestamps and the output of "log"; default the real clock.
	Clock clockwork.Clock
	// Images are the images of the simulated registry, all present from the
	// start; default PauseImage and TestappImage. Pulling any other image
	// fails with runtime.ErrImageNotFound, as on a node without a registry.
	Images []string
	// AnyImage makes every pull succeed (scale tests with arbitrary
	// images). Containers of images unknown to the simulation just run.
	AnyImage bool
	// PodNetworkCIDR is where sandboxes without a given IP get one; default
	// 10.2.0.0/16.
	PodNetworkCIDR string
}

// Hollow is a simulated runtime. It is safe for concurrent use.
type Hollow struct {
	node     string
	clock    clockwork.Clock
	anyImage bool

	mu         sync.Mutex
	registry   map[string]bool
	present    map[string]bool
	sandboxes  map[string]*sandbox
	containers map[string]*ctr
	names      map[string]string // docker-like name -> ID
	nextID     uint64
	nextIP     netip.Addr
	subnet     netip.Prefix
	subs       map[*subscriber]struct{}
}

var _ runtime.Runtime = (*Hollow)(nil)

type sandbox struct {
	status runtime.SandboxStatus
	name   string
	// ip is the address asked for (zero: the runtime picks one at start).
	ip      netip.Addr
	started bool
}

type logLine struct {
	t    time.Time
	text string
}

type ctr struct {
	status runtime.ContainerStatus
	name   string
	argv   []string
	known  bool      // the image is one the simulation knows
	init   bool      // an init container: one of an unknown image exits 0 at once
	lines  []logLine // output written so far, apart from "log" repetitions
	repeat string    // "log TEXT": TEXT, printed every second while running
	exited chan struct{}
}

// New returns a hollow runtime.
func New(cfg Config) (*Hollow, error) {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Images == nil {
		cfg.Images = []string{PauseImage, TestappImage}
	}
	if cfg.PodNetworkCIDR == "" {
		cfg.PodNetworkCIDR = "10.2.0.0/16"
	}
	subnet, err := netip.ParsePrefix(cfg.PodNetworkCIDR)
	if err != nil || !subnet.Addr().Is4() {
		return nil, errdefs.Invalid("hollow runtime: pod network CIDR %q is not an IPv4 prefix", cfg.PodNetworkCIDR)
	}
	h := &Hollow{
		node:       cfg.NodeName,
		clock:      cfg.Clock,
		anyImage:   cfg.AnyImage,
		registry:   make(map[string]bool),
		present:    make(map[string]bool),
		sandboxes:  make(map[string]*sandbox),
		containers: make(map[string]*ctr),
		names:      make(map[string]string),
		subnet:     subnet.Masked(),
		nextIP:     subnet.Masked().Addr().Next().Next(),
		subs:       make(map[*subscriber]struct{}),
	}
	for _, img := range cfg.Images {
		h.registry[normalize(img)] = true
		h.present[normalize(img)] = true
	}
	return h, nil
}

// normalize gives an image reference its implicit ":latest" tag.
func normalize(image string) string {
	if strings.Contains(image, "@") {
		return image
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image
	}
	return image + ":latest"
}

// Ping implements runtime.Runtime.
func (h *Hollow) Ping(context.Context) error { return nil }

// Version implements runtime.Runtime.
func (h *Hollow) Version(context.Context) (runtime.VersionInfo, error) {
	return runtime.VersionInfo{Name: "hollow", Version: "0.1.0", APIVersion: "0.1.0"}, nil
}

// PullImage implements runtime.Runtime.
func (h *Hollow) PullImage(ctx context.Context, image string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pull image %s: %w", image, err)
	}
	if image == "" || strings.ContainsAny(image, " \t\n") || strings.HasSuffix(image, ":") {
		return errdefs.Invalid("pull image %q: invalid reference format", image)
	}
	img := normalize(image)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.anyImage && !h.registry[img] {
		return fmt.Errorf("pull image %s: %w: manifest for %s not found", image, runtime.ErrImageNotFound, img)
	}
	h.present[img] = true
	return nil
}

// ImagePresent implements runtime.Runtime.
func (h *Hollow) ImagePresent(_ context.Context, image string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.present[normalize(image)], nil
}

func (h *Hollow) newID() string {
	h.nextID++
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%p", h.node, h.nextID, h)))
	return hex.EncodeToString(sum[:])
}

// CreateSandbox implements runtime.Runtime.
func (h *Hollow) CreateSandbox(ctx context.Context, spec runtime.SandboxSpec) (string, error) {
	id, err := h.PrepareSandbox(ctx, spec)
	if err != nil {
		return "", err
	}
	if err := h.StartSandbox(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}

// PrepareSandbox implements runtime.Runtime.
func (h *Hollow) PrepareSandbox(ctx context.Context, spec runtime.SandboxSpec) (string, error) {
	if spec.Pod.UID == "" || spec.Pod.Name == "" || spec.Pod.Namespace == "" {
		return "", errdefs.Invalid("create sandbox: pod uid, name and namespace are required")
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("create sandbox: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	name := fmt.Sprintf("k8s_POD_%s_%s_%s_%d", spec.Pod.Name, spec.Pod.Namespace, spec.Pod.UID, spec.Attempt)
	if _, ok := h.names[name]; ok {
		return "", errdefs.AlreadyExists("create sandbox %s: name in use", name)
	}
	if !spec.HostNetwork && spec.IP.IsValid() && !h.subnet.Contains(spec.IP) {
		return "", errdefs.Invalid("create sandbox %s: IP %s is outside the pod network %s", name, spec.IP, h.subnet)
	}
	st := runtime.SandboxStatus{
		Pod:         spec.Pod,
		Attempt:     spec.Attempt,
		State:       runtime.SandboxNotReady,
		HostNetwork: spec.HostNetwork,
		CreatedAt:   h.clock.Now(),
		Annotations: cloneMap(spec.Annotations),
	}
	id := h.newID()
	st.ID = id
	h.sandboxes[id] = &sandbox{status: st, name: name, ip: spec.IP}
	h.names[name] = id
	h.emit(runtime.Event{Type: runtime.EventCreated, ContainerID: id, Sandbox: true, Pod: spec.Pod, Time: st.CreatedAt})
	return id, nil
}

// StartSandbox implements runtime.Runtime. A prepared sandbox starts once;
// one that was stopped stays stopped, as a sandbox is never restarted.
func (h *Hollow) StartSandbox(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start sandbox %s: %w", id, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	sb, ok := h.sandboxes[id]
	if !ok {
		return errdefs.NotFound("start sandbox %s", id)
	}
	if sb.started {
		if sb.status.State == runtime.SandboxReady {
			return nil
		}
		return errdefs.Precondition("start sandbox %s: it was stopped", id)
	}
	if !sb.status.HostNetwork {
		ip := sb.ip
		if ip.IsValid() {
			for _, other := range h.sandboxes {
				if other.status.IP == ip && other.status.State == runtime.SandboxReady {
					// As the engine does, a sandbox that cannot start is removed.
					h.removeSandboxLocked(sb)
					return errdefs.AlreadyExists("start sandbox %s: address %s already in use", id, ip)
				}
			}
		} else {
			ip = h.nextIP
			h.nextIP = h.nextIP.Next()
		}
		sb.status.IP = ip
	}
	sb.started = true
	sb.status.State = runtime.SandboxReady
	h.emit(runtime.Event{Type: runtime.EventStarted, ContainerID: id, Sandbox: true, Pod: sb.status.Pod, Time: h.clock.Now()})
	return nil
}

// StopSandbox implements runtime.Runtime.
func (h *Hollow) StopSandbox(_ context.Context, id string, _ time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	sb, ok := h.sandboxes[id]
	if !ok {
		return errdefs.NotFound("stop sandbox %s", id)
	}
	if sb.status.State == runtime.SandboxReady {
		sb.status.State = runtime.SandboxNotReady
		sb.status.IP = netip.Addr{}
		h.emit(runtime.Event{Type: runtime.EventDied, ContainerID: id, Sandbox: true, Pod: sb.status.Pod, Time: h.clock.Now()})
	}
	return nil
}

// RemoveSandbox implements runtime.Runtime.
func (h *Hollow) RemoveSandbox(ctx context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	sb, ok := h.sandboxes[id]
	if !ok {
		return nil
	}
	h.removeSandboxLocked(sb)
	return nil
}

func (h *Hollow) removeSandboxLocked(sb *sandbox) {
	now := h.clock.Now()
	id := sb.status.ID
	if sb.status.State == runtime.SandboxReady {
		h.emit(runtime.Event{Type: runtime.EventDied, ContainerID: id, Sandbox: true, Pod: sb.status.Pod, Time: now})
	}
	delete(h.sandboxes, id)
	delete(h.names, sb.name)
	h.emit(runtime.Event{Type: runtime.EventRemoved, ContainerID: id, Sandbox: true, Pod: sb.status.Pod, Time: now})
}

// SandboxStatus implements runtime.Runtime.
func (h *Hollow) SandboxStatus(_ context.Context, id string) (runtime.SandboxStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sb, ok := h.sandboxes[id]
	if !ok {
		return runtime.SandboxStatus{}, errdefs.NotFound("sandbox %s", id)
	}
	return copySandbox(sb.status), nil
}

// ListSandboxes implements runtime.Runtime.
func (h *Hollow) ListSandboxes(context.Context) ([]runtime.SandboxStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]runtime.SandboxStatus, 0, len(h.sandboxes))
	for _, sb := range h.sandboxes {
		out = append(out, copySandbox(sb.status))
	}
	return out, nil
}

// imageDefaults are the entrypoint and arguments the known images declare.
func imageDefaults(image string) (entrypoint, args []string, known bool) {
	repo := normalize(image)
	repo = repo[:strings.LastIndex(repo, ":")]
	switch repo {
	case "minik8s/testapp":
		return []string{"/testapp"}, []string{"serve", "--listen", ":8080"}, true
	case "minik8s/pause":
		return []string{"/pause"}, nil, true
	}
	return nil, nil, false
}

// CreateContainer implements runtime.Runtime.
func (h *Hollow) CreateContainer(ctx context.Context, sandboxID string, spec runtime.ContainerSpec) (string, error) {
	if spec.Pod.UID == "" || spec.Pod.Name == "" || spec.Pod.Namespace == "" || spec.Name == "" || spec.Image == "" {
		return "", errdefs.Invalid("create container: pod uid, name, namespace, container name and image are required")
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("create container: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sandboxes[sandboxID]; !ok {
		return "", errdefs.NotFound("create container %s: no such sandbox %s", spec.Name, sandboxID)
	}
	if !h.present[normalize(spec.Image)] {
		return "", errdefs.Precondition("create container %s: image %s is not present", spec.Name, spec.Image)
	}
	name := fmt.Sprintf("k8s_%s_%s_%s_%s_%d", spec.Name, spec.Pod.Name, spec.Pod.Namespace, spec.Pod.UID, spec.Attempt)
	if _, ok := h.names[name]; ok {
		return "", errdefs.AlreadyExists("create container %s: name in use", name)
	}
	entry, args, known := imageDefaults(spec.Image)
	if len(spec.Command) > 0 {
		entry, args = spec.Command, nil
	}
	if len(spec.Args) > 0 {
		args = spec.Args
	}
	id := h.newID()
	now := h.clock.Now()
	c := &ctr{
		status: runtime.ContainerStatus{
			ID:          id,
			SandboxID:   sandboxID,
			Pod:         spec.Pod,
			Name:        spec.Name,
			Attempt:     spec.Attempt,
			Image:       spec.Image,
			ImageRef:    imageRef(spec.Image),
			State:       runtime.ContainerCreated,
			CreatedAt:   now,
			Annotations: cloneMap(spec.Annotations),
		},
		name:   name,
		argv:   append(slices.Clone(entry), args...),
		known:  known,
		init:   spec.Init,
		exited: make(chan struct{}),
	}
	h.containers[id] = c
	h.names[name] = id
	h.emit(runtime.Event{Type: runtime.EventCreated, ContainerID: id, Pod: spec.Pod, ContainerName: spec.Name, Time: now})
	return id, nil
}

func imageRef(image string) string {
	sum := sha256.Sum256([]byte(normalize(image)))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// StartContainer implements runtime.Runtime.
func (h *Hollow) StartContainer(_ context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.containers[id]
	if !ok {
		return errdefs.NotFound("start container %s", id)
	}
	switch c.status.State {
	case runtime.ContainerRunning:
		return nil
	case runtime.ContainerExited:
		return errdefs.Precondition("start container %s: it has exited", id)
	}
	sb, ok := h.sandboxes[c.status.SandboxID]
	if !ok || sb.status.State != runtime.SandboxReady {
		return errdefs.Precondition("start container %s: its sandbox %s does not run", id, c.status.SandboxID)
	}
	now := h.clock.Now()
	if !c.known {
		h.startRunning(c, now)
		if c.init {
			// An init container does its work and ends.
			h.exit(c, 0, now)
		}
		return nil
	}
	prog, sub := "", []string(nil)
	if len(c.argv) > 0 {
		prog, sub = path.Base(c.argv[0]), c.argv[1:]
	}
	switch prog {
	case "pause":
		h.startRunning(c, now)
		return nil
	case "testapp":
	default:
		// The image has no such binary: the engine refuses to start it.
		msg := fmt.Sprintf("exec: %q: executable file not found in $PATH", strings.Join(c.argv, " "))
		c.status.State = runtime.ContainerExited
		c.status.ExitCode = 127
		c.status.Reason = "ContainerCannotRun"
		c.status.Message = msg
		c.status.FinishedAt = now
		close(c.exited)
		return errdefs.Precondition("start container %s: %s", id, msg)
	}
	h.startRunning(c, now)
	out, code, runs, repeat := simulate(sub, c.status.Pod.Name)
	for _, l := range out {
		c.lines = append(c.lines, logLine{t: now, text: l})
	}
	c.repeat = repeat
	if !runs {
		h.exit(c, code, now)
	}
	return nil
}

func (h *Hollow) startRunning(c *ctr, now time.Time) {
	c.status.State = runtime.ContainerRunning
	c.status.StartedAt = now
	h.emit(runtime.Event{Type: runtime.EventStarted, ContainerID: c.status.ID, Pod: c.status.Pod, ContainerName: c.status.Name, Time: now})
}

// exit ends a running container with code at now. Callers hold h.mu.
func (h *Hollow) exit(c *ctr, code int, now time.Time) {
	if c.repeat != "" {
		c.lines = append(c.lines, repeatLines(c, now)...)
		c.repeat = ""
	}
	c.status.State = runtime.ContainerExited
	c.status.ExitCode = code
	c.status.FinishedAt = now
	close(c.exited)
	h.emit(runtime.Event{Type: runtime.EventDied, ContainerID: c.status.ID, Pod: c.status.Pod, ContainerName: c.status.Name, Time: now})
}

// simulate runs a testapp subcommand: its output lines, its exit code, and
// whether it keeps running (then repeat is the text "log" prints each second).
func simulate(args []string, host string) (out []string, code int, runs bool, repeat string) {
	if len(args) == 0 {
		return []string{"usage: testapp COMMAND [ARGS]"}, 2, false, ""
	}
	rest := args[1:]
	switch args[0] {
	case "serve":
		listen := ":8080"
		for i, a := range rest {
			if a == "--listen" && i+1 < len(rest) {
				listen = rest[i+1]
			} else if v, ok := strings.CutPrefix(a, "--listen="); ok {
				listen = v
			}
		}
		return []string{"serving on " + listen}, 0, true, ""
	case "sleep":
		return nil, 0, true, ""
	case "log":
		return nil, 0, true, strings.Join(rest, " ")
	case "echo":
		return []string{strings.Join(rest, " ")}, 0, false, ""
	case "exit":
		if len(rest) != 1 {
			return []string{"usage: testapp COMMAND [ARGS]"}, 2, false, ""
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 0 || n > 255 {
			return []string{fmt.Sprintf("exit: invalid code %q", rest[0])}, 2, false, ""
		}
		return nil, n, false, ""
	case "get":
		if len(rest) != 1 {
			return []string{"usage: testapp COMMAND [ARGS]"}, 2, false, ""
		}
		p := "/"
		if u, err := url.Parse(rest[0]); err == nil && u.Path != "" {
			p = u.Path
		}
		return []string{fmt.Sprintf("ok %s %s", host, p)}, 0, false, ""
	default:
		return []string{fmt.Sprintf("unknown command %q", args[0])}, 2, false, ""
	}
}

// repeatLines are the lines "log TEXT" printed from its start up to now:
// one at the start, then one each second.
func repeatLines(c *ctr, now time.Time) []logLine {
	var out []logLine
	for t := c.status.StartedAt; !t.After(now); t = t.Add(time.Second) {
		out = append(out, logLine{t: t, text: c.repeat})
	}
	return out
}

// StopContainer implements runtime.Runtime. Every simulated process honours
// SIGTERM at once and exits 0.
func (h *Hollow) StopContainer(_ context.Context, id string, _ time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.containers[id]
	if !ok {
		return errdefs.NotFound("stop container %s", id)
	}
	if c.status.State == runtime.ContainerRunning {
		h.exit(c, 0, h.clock.Now())
	}
	return nil
}

// RemoveContainer implements runtime.Runtime.
func (h *Hollow) RemoveContainer(_ context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.containers[id]
	if !ok {
		return nil
	}
	now := h.clock.Now()
	switch c.status.State {
	case runtime.ContainerRunning:
		h.exit(c, 137, now) // killed
	case runtime.ContainerCreated:
		close(c.exited)
	}
	delete(h.containers, id)
	delete(h.names, c.name)
	h.emit(runtime.Event{Type: runtime.EventRemoved, ContainerID: id, Pod: c.status.Pod, ContainerName: c.status.Name, Time: now})
	return nil
}

// ContainerStatus implements runtime.Runtime.
func (h *Hollow) ContainerStatus(_ context.Context, id string) (runtime.ContainerStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.containers[id]
	if !ok {
		return runtime.ContainerStatus{}, errdefs.NotFound("container %s", id)
	}
	return copyContainer(c.status), nil
}

// ListContainers implements runtime.Runtime.
func (h *Hollow) ListContainers(context.Context) ([]runtime.ContainerStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]runtime.ContainerStatus, 0, len(h.containers))
	for _, c := range h.containers {
		out = append(out, copyContainer(c.status))
	}
	return out, nil
}

// ExitContainer makes a running container exit with code, as if its process
// had ended by itself (a crash, or a liveness failure in a test).
func (h *Hollow) ExitContainer(id string, code int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.containers[id]
	if !ok {
		return errdefs.NotFound("container %s", id)
	}
	if c.status.State != runtime.ContainerRunning {
		return errdefs.Precondition("container %s does not run", id)
	}
	h.exit(c, code, h.clock.Now())
	return nil
}

// snapshot returns the container's output so far and whether it has ended;
// exited is closed when it ends.
func (h *Hollow) snapshot(id string) (lines []logLine, ended bool, exited <-chan struct{}, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.containers[id]
	if !ok {
		return nil, false, nil, errdefs.NotFound("container %s", id)
	}
	lines = slices.Clone(c.lines)
	if c.repeat != "" {
		lines = append(lines, repeatLines(c, h.clock.Now())...)
	}
	return lines, c.status.State == runtime.ContainerExited, c.exited, nil
}

// Logs implements runtime.Runtime.
func (h *Hollow) Logs(ctx context.Context, id string, opts runtime.LogOptions) (io.ReadCloser, error) {
	lines, ended, exited, err := h.snapshot(id)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	lines = filterSince(lines, opts.Since)
	sent := len(lines) // for Follow: what the first write covers
	if opts.TailLines != nil {
		n := int(max(*opts.TailLines, 0))
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
	}
	if !opts.Follow || ended {
		return io.NopCloser(strings.NewReader(format(lines, opts.Timestamps))), nil
	}
	// Follow: a goroutine feeds a pipe until the container ends, ctx ends or
	// the reader is closed; Close waits for it.
	pr, pw := io.Pipe()
	f := &follower{pr: pr, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		if _, err := io.WriteString(pw, format(lines, opts.Timestamps)); err != nil {
			return
		}
		for {
			timer := h.clock.NewTimer(time.Second)
			var end bool
			select {
			case <-ctx.Done():
				timer.Stop()
				pw.CloseWithError(ctx.Err())
				return
			case <-f.stop:
				timer.Stop()
				return
			case <-exited:
				end = true
			case <-timer.Chan():
			}
			timer.Stop()
			all, _, _, err := h.snapshot(id)
			if err != nil {
				pw.Close() // removed: the stream ends
				return
			}
			all = filterSince(all, opts.Since)
			if len(all) > sent {
				if _, err := io.WriteString(pw, format(all[sent:], opts.Timestamps)); err != nil {
					return
				}
				sent = len(all)
			}
			if end {
				pw.Close()
				return
			}
		}
	}()
	return f, nil
}

type follower struct {
	pr   *io.PipeReader
	stop chan struct{}
	once sync.Once
	done chan struct{}
}

func (f *follower) Read(p []byte) (int, error) { return f.pr.Read(p) }

func (f *follower) Close() error {
	f.once.Do(func() {
		close(f.stop)
		f.pr.Close()
	})
	<-f.done
	return nil
}

func filterSince(lines []logLine, since time.Time) []logLine {
	if since.IsZero() {
		return lines
	}
	out := lines[:0:0]
	for _, l := range lines {
		if !l.t.Before(since) {
			out = append(out, l)
		}
	}
	return out
}

func format(lines []logLine, timestamps bool) string {
	var b strings.Builder
	for _, l := range lines {
		if timestamps {
			b.WriteString(l.t.UTC().Format(time.RFC3339Nano))
			b.WriteByte(' ')
		}
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// Exec implements runtime.Runtime: the testapp subcommands, answered at once
// ("sleep", "serve" and "log" block until ctx ends). Stdin is not read.
func (h *Hollow) Exec(ctx context.Context, id string, opts runtime.ExecOptions) (int, error) {
	if len(opts.Cmd) == 0 {
		return 0, errdefs.Invalid("exec in container %s: empty command", id)
	}
	h.mu.Lock()
	c, ok := h.containers[id]
	var known bool
	var podName string
	if ok {
		known, podName = c.known, c.status.Pod.Name
		if c.status.State != runtime.ContainerRunning {
			h.mu.Unlock()
			return 0, errdefs.Precondition("exec in container %s: it does not run", id)
		}
	}
	h.mu.Unlock()
	if !ok {
		return 0, errdefs.NotFound("exec in container %s", id)
	}
	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if !known {
		return 0, nil // an image the simulation does not know: canned success
	}
	if path.Base(opts.Cmd[0]) != "testapp" {
		fmt.Fprintf(stdout, "OCI runtime exec failed: exec failed: %q: executable file not found in $PATH\n", opts.Cmd[0])
		return 126, nil
	}
	out, code, runs, repeat := simulate(opts.Cmd[1:], podName)
	w := stdout
	if code != 0 {
		w = stderr
	}
	for _, l := range out {
		fmt.Fprintln(w, l)
	}
	if !runs {
		return code, nil
	}
	for {
		if repeat != "" {
			fmt.Fprintln(stdout, repeat)
		}
		timer := h.clock.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			timer.Stop()
			return 0, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
		case <-timer.Chan():
		}
	}
}

// subscriber is one Events call: an unbounded queue, so no event is dropped
// and the runtime never blocks on a slow handler.
type subscriber struct {
	mu     sync.Mutex
	queue  []runtime.Event
	notify chan struct{}
}

// emit queues ev for every subscriber. Callers hold h.mu.
func (h *Hollow) emit(ev runtime.Event) {
	for s := range h.subs {
		s.mu.Lock()
		s.queue = append(s.queue, ev)
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

// Events implements runtime.Runtime. The stream never breaks: it ends with
// ctx.
func (h *Hollow) Events(ctx context.Context, handle func(runtime.Event)) error {
	s := &subscriber{notify: make(chan struct{}, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.notify:
		}
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		s.mu.Unlock()
		for _, ev := range batch {
			handle(ev)
		}
	}
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copySandbox(s runtime.SandboxStatus) runtime.SandboxStatus {
	s.Annotations = cloneMap(s.Annotations)
	return s
}

func copyContainer(c runtime.ContainerStatus) runtime.ContainerStatus {
	c.Annotations = cloneMap(c.Annotations)
	return c
}
