// Package status is the kubelet's status manager: pod workers tell it the
// status each pod should show, and it writes that status to the apiserver
// through UpdateStatus — only when it differs from what the apiserver
// already has (compared after normalising timestamps to whole seconds, the
// precision Kubernetes' API keeps), retrying with a backoff while the
// apiserver is away and re-reading the pod on a conflict.
package status

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

// PodClient is what the manager needs of the pods API
// (client.Resource[*v1.Pod] satisfies it).
type PodClient interface {
	Get(ctx context.Context, namespace, name string) (*v1.Pod, error)
	UpdateStatus(ctx context.Context, pod *v1.Pod) (*v1.Pod, error)
}

// Target names the API pod whose status is written: the pod itself, or
// the mirror pod of a static pod.
type Target struct {
	Namespace string
	Name      string
	UID       string
}

// Defaults of Config.
const (
	DefaultWorkers   = 4
	retryInitial     = 200 * time.Millisecond
	retryMax         = 10 * time.Second
	writeTimeout     = 10 * time.Second
	conflictAttempts = 5
)

// Config configures a Manager.
type Config struct {
	Pods PodClient
	// Workers write statuses in parallel; default DefaultWorkers.
	Workers int
	Clock   clockwork.Clock
	Logger  *zap.Logger
}

type entry struct {
	target    Target
	status    *v1.PodStatus // normalised
	setAt     time.Time     // when status was set
	written   bool          // status is at the apiserver
	rv        string        // resourceVersion of our last successful write
	retry     time.Duration // next retry backoff
	notBefore time.Time
	queued    bool
	// inflight: a worker is writing this pod's status; no second one may
	// (an older status could land after a newer one).
	inflight bool
}

// Manager writes pod statuses. Its methods are safe for concurrent use.
type Manager struct {
	cfg Config
	lg  *zap.Logger
	clk clockwork.Clock

	mu      sync.Mutex
	entries map[string]*entry // by key (the target's UID)
	queue   []string
	wake    chan struct{}
}

// New validates cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.Pods == nil {
		return nil, errdefs.Invalid("status manager: no pod client")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Manager{
		cfg:     cfg,
		lg:      cfg.Logger.Named("status"),
		clk:     cfg.Clock,
		entries: make(map[string]*entry),
		wake:    make(chan struct{}, 1),
	}, nil
}

// Normalize returns a copy of st with every timestamp cut to whole seconds
// and the conditions of each type in a fixed order, so that two statuses
// that would look the same through the API compare equal.
func Normalize(st *v1.PodStatus) *v1.PodStatus {
	if st == nil {
		return &v1.PodStatus{}
	}
	c := proto.Clone(st).(*v1.PodStatus)
	truncate(c.ProtoReflect())
	return c
}

var timestampName = (&timestamppb.Timestamp{}).ProtoReflect().Descriptor().FullName()

func truncate(m protoreflect.Message) {
	if m.Descriptor().FullName() == timestampName {
		ts := m.Interface().(*timestamppb.Timestamp)
		ts.Nanos = 0
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				truncate(l.Get(i).Message())
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					truncate(mv.Message())
					return true
				})
			}
		case fd.Message() != nil:
			truncate(v.Message())
		}
		return true
	})
}

// Equal reports whether two statuses look the same through the API.
func Equal(a, b *v1.PodStatus) bool { return proto.Equal(Normalize(a), Normalize(b)) }

// SetPodStatus records the status the pod target should show. current is
// the pod as the kubelet last saw it from the apiserver (nil when unknown);
// when its status already equals st nothing is written.
func (m *Manager) SetPodStatus(target Target, current *v1.Pod, st *v1.PodStatus) {
	norm := Normalize(st)
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[target.UID]
	if !ok {
		e = &entry{target: target}
		m.entries[target.UID] = e
	}
	e.target = target
	if current != nil && current.GetMetadata().GetUid() == target.UID {
		if rvNewer(current.GetMetadata().GetResourceVersion(), e.rv) {
			e.rv = current.GetMetadata().GetResourceVersion()
		}
		if proto.Equal(Normalize(current.GetStatus()), norm) {
			// The apiserver has it: nothing to write, unless a write of
			// another status is still pending (then it must be replaced).
			if e.status == nil || e.written || proto.Equal(e.status, norm) {
				e.status, e.written = norm, true
				return
			}
		}
	}
	if e.status != nil && proto.Equal(e.status, norm) {
		return // unchanged: already written or queued
	}
	e.status, e.written, e.setAt = norm, false, m.clk.Now()
	m.enqueueLocked(target.UID)
}

// Status returns the last status set for the pod target uid.
func (m *Manager) Status(uid string) (*v1.PodStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[uid]
	if !ok || e.status == nil {
		return nil, false
	}
	return e.status, true
}

// Synced reports whether the last status set for uid is at the apiserver.
func (m *Manager) Synced(uid string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[uid]
	return ok && e.written
}

// Forget drops what is known of uid (the pod is gone).
func (m *Manager) Forget(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, uid)
}

func (m *Manager) enqueueLocked(uid string) {
	e := m.entries[uid]
	if e == nil || e.queued {
		return
	}
	e.queued = true
	m.queue = append(m.queue, uid)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run writes statuses until ctx ends, then returns nil.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	work := make(chan string)
	for range m.cfg.Workers {
		wg.Go(func() {
			for uid := range work {
				m.write(ctx, uid)
			}
		})
	}
	defer wg.Wait()
	defer close(work)
	for {
		uid, wait, ok := m.next()
		if ok {
			select {
			case work <- uid:
			case <-ctx.Done():
				return nil
			}
			continue
		}
		var timer <-chan time.Time
		if wait > 0 {
			timer = m.clk.After(wait)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		case <-timer:
		}
	}
}

// next pops the first queued uid whose backoff has passed; otherwise it
// says how long until one is due (0: nothing queued).
func (m *Manager) next() (string, time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clk.Now()
	var wait time.Duration
	var picked string
	found := false
	kept := m.queue[:0]
	for _, uid := range m.queue {
		e := m.entries[uid]
		if e == nil {
			continue // forgotten
		}
		if !found && !e.inflight {
			d := e.notBefore.Sub(now)
			if d <= 0 {
				picked, found = uid, true
				e.queued = false
				e.inflight = true
				continue
			}
			if wait == 0 || d < wait {
				wait = d
			}
		}
		kept = append(kept, uid)
	}
	m.queue = kept
	return picked, wait, found
}

// write sends the pending status of uid.
func (m *Manager) write(ctx context.Context, uid string) {
	m.mu.Lock()
	e, ok := m.entries[uid]
	if !ok {
		m.mu.Unlock()
		return
	}
	if e.written || e.status == nil {
		e.inflight = false
		m.mu.Unlock()
		return
	}
	target, st, rv, setAt := e.target, e.status, e.rv, e.setAt
	m.mu.Unlock()

	start := m.clk.Now()
	newRV, err := m.update(ctx, target, st, rv)
	if err == nil {
		if ce := m.lg.Check(zap.DebugLevel, "Wrote pod status"); ce != nil {
			ce.Write(zap.String("pod", target.Namespace+"/"+target.Name), zap.String("phase", st.GetPhase()),
				zap.Duration("queued", start.Sub(setAt)), zap.Duration("took", m.clk.Since(start)))
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.entries[uid]
	if !ok || cur != e {
		return // forgotten meanwhile
	}
	e.inflight = false
	if e.queued {
		// A newer status waits for this write to end.
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
	if err != nil {
		if errdefs.IsNotFound(err) || isUIDMismatch(err) {
			// The pod is gone (or replaced): nothing to write any more.
			m.lg.Debug("Dropped the status of a pod that is gone", zap.String("pod", target.Namespace+"/"+target.Name), zap.Error(err))
			e.written = true
			return
		}
		if ctx.Err() != nil {
			return
		}
		if e.retry == 0 {
			e.retry = retryInitial
		} else {
			e.retry = min(2*e.retry, retryMax)
		}
		e.notBefore = m.clk.Now().Add(e.retry)
		m.lg.Warn("Unable to update pod status", zap.String("pod", target.Namespace+"/"+target.Name), zap.Error(err), zap.Duration("backoff", e.retry))
		m.enqueueLocked(uid)
		return
	}
	e.retry = 0
	if rvNewer(newRV, e.rv) {
		e.rv = newRV
	}
	if proto.Equal(e.status, st) {
		e.written = true
	} else {
		e.written = false
		m.enqueueLocked(uid) // it changed while we wrote
	}
}

type uidMismatch struct{ error }

func isUIDMismatch(err error) bool {
	_, ok := err.(uidMismatch)
	return ok
}

// update writes st to the pod, redoing the write with the latest
// resourceVersion on a conflict.
func (m *Manager) update(ctx context.Context, target Target, st *v1.PodStatus, rv string) (string, error) {
	for attempt := 0; ; attempt++ {
		pod := &v1.Pod{
			Metadata: &v1.ObjectMeta{Namespace: target.Namespace, Name: target.Name, Uid: target.UID, ResourceVersion: rv},
			Status:   proto.Clone(st).(*v1.PodStatus),
		}
		cctx, cancel := context.WithTimeout(ctx, writeTimeout)
		got, err := m.cfg.Pods.UpdateStatus(cctx, pod)
		cancel()
		if err == nil {
			if got.GetMetadata().GetUid() != target.UID && got.GetMetadata().GetUid() != "" {
				// Written to a pod of the same name that is not ours: this
				// cannot happen with the resourceVersion check, but say so.
				return "", uidMismatch{fmt.Errorf("pod %s/%s has uid %s, not %s", target.Namespace, target.Name, got.GetMetadata().GetUid(), target.UID)}
			}
			return got.GetMetadata().GetResourceVersion(), nil
		}
		if !errdefs.IsConflict(err) || attempt >= conflictAttempts {
			return "", fmt.Errorf("update status of pod %s/%s: %w", target.Namespace, target.Name, err)
		}
		cctx, cancel = context.WithTimeout(ctx, writeTimeout)
		latest, gerr := m.cfg.Pods.Get(cctx, target.Namespace, target.Name)
		cancel()
		if gerr != nil {
			return "", fmt.Errorf("get pod %s/%s after a conflict: %w", target.Namespace, target.Name, gerr)
		}
		if latest.GetMetadata().GetUid() != target.UID {
			return "", uidMismatch{fmt.Errorf("pod %s/%s was replaced (uid %s, not %s)", target.Namespace, target.Name, latest.GetMetadata().GetUid(), target.UID)}
		}
		rv = latest.GetMetadata().GetResourceVersion()
	}
}

// rvNewer reports whether resourceVersion a is newer than b (both are
// etcd revisions; an empty one is oldest).
func rvNewer(a, b string) bool {
	if a == "" {
		return false
	}
	if b == "" {
		return true
	}
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil {
		return a != b
	}
	return x > y
}
