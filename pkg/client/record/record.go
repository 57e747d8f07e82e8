// Package record writes Events about objects ("Scheduled", "FailedScheduling",
// "Pulled") to the apiserver, as Kubernetes' event recorder does, without
// ever blocking its caller.
//
// Eventf puts the event in a bounded buffer and returns; when the buffer is
// full the event is dropped (and counted). Run writes the buffered events:
// repeats of one (object, type, reason, message) are aggregated into one
// Event object whose count and lastTimestamp grow, within a batch and
// across batches (a cache remembers the Events it wrote). When Run's
// context ends or Shutdown is called, what is buffered is written before
// Run returns.
package record

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// Event types, as Kubernetes'.
const (
	EventTypeNormal  = "Normal"
	EventTypeWarning = "Warning"
)

// Defaults of Config.
const (
	DefaultBufferSize   = 1000
	DefaultCacheSize    = 4096
	DefaultFlushTimeout = 5 * time.Second
)

// EventSink is where events are written; client.Clientset.Events()
// satisfies it.
type EventSink interface {
	Create(ctx context.Context, ev *v1.Event) (*v1.Event, error)
	Update(ctx context.Context, ev *v1.Event) (*v1.Event, error)
}

// Config describes a recorder.
type Config struct {
	Sink EventSink
	// Component is source.component and reportingComponent
	// ("default-scheduler", "kubelet").
	Component string
	// Host is source.host and reportingInstance (the node name of a
	// kubelet); optional.
	Host string
	// BufferSize bounds the events waiting to be written; 0 means
	// DefaultBufferSize.
	BufferSize int
	// CacheSize bounds the Events remembered for aggregation; 0 means
	// DefaultCacheSize.
	CacheSize int
	// FlushTimeout bounds the final write when Run stops; 0 means
	// DefaultFlushTimeout.
	FlushTimeout time.Duration
	// Clock stamps the events; nil means the real clock.
	Clock clock.PassiveClock
	// Logger; nil means none.
	Logger *zap.Logger
}

// pending is one Eventf call.
type pending struct {
	key aggKey
	ref *v1.ObjectReference
	at  time.Time
}

// aggKey identifies events that aggregate into one Event object.
type aggKey struct {
	kind, namespace, name, uid string
	eventType, reason, message string
}

// written is what the cache remembers of an Event it wrote.
type written struct {
	key   aggKey
	event *v1.Event
}

// Recorder records events. Its methods are safe for concurrent use.
type Recorder struct {
	cfg  Config
	lg   *zap.Logger
	buf  chan pending
	stop chan struct{}
	// writer (capacity 1) is held by whoever writes to the sink: Run, or
	// Shutdown flushing. It guards the fields below.
	writer  chan struct{}
	closing atomic.Bool
	once    sync.Once
	running atomic.Bool
	dropped atomic.Uint64

	// Touched only while holding writer.
	cache *list.List // of *written, most recent first
	index map[aggKey]*list.Element
	// lastName is the time suffix of the last Event name, kept increasing
	// so names of one recorder never collide.
	lastName int64
}

// New validates cfg.
func New(cfg Config) (*Recorder, error) {
	if cfg.Sink == nil {
		return nil, errdefs.Invalid("event recorder: no sink")
	}
	if cfg.Component == "" {
		return nil, errdefs.Invalid("event recorder: no component")
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = DefaultFlushTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	return &Recorder{
		cfg:    cfg,
		lg:     lg,
		buf:    make(chan pending, cfg.BufferSize),
		stop:   make(chan struct{}),
		writer: make(chan struct{}, 1),
		cache:  list.New(),
		index:  map[aggKey]*list.Element{},
	}, nil
}

// Event records an event about obj; it never blocks.
func (r *Recorder) Event(obj apis.Object, eventType, reason, message string) {
	if r.closing.Load() || obj == nil {
		r.dropped.Add(1)
		return
	}
	md := obj.GetMetadata()
	ref := &v1.ObjectReference{
		Namespace:       md.GetNamespace(),
		Name:            md.GetName(),
		Uid:             md.GetUid(),
		ResourceVersion: md.GetResourceVersion(),
	}
	if res, err := apis.ForObject(obj); err == nil {
		ref.ApiVersion, ref.Kind = res.APIVersion, res.Kind
	}
	p := pending{
		key: aggKey{kind: ref.Kind, namespace: ref.Namespace, name: ref.Name, uid: ref.Uid, eventType: eventType, reason: reason, message: message},
		ref: ref,
		at:  r.cfg.Clock.Now(),
	}
	select {
	case r.buf <- p:
	default:
		r.dropped.Add(1)
	}
}

// Eventf records an event about obj with a formatted message; it never
// blocks.
func (r *Recorder) Eventf(obj apis.Object, eventType, reason, messageFmt string, args ...any) {
	r.Event(obj, eventType, reason, fmt.Sprintf(messageFmt, args...))
}

// Dropped counts the events dropped because the buffer was full or the
// recorder was shutting down.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// Run writes buffered events until ctx ends or Shutdown, then writes what
// is left (within FlushTimeout) and returns nil. It runs once.
func (r *Recorder) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errdefs.Precondition("event recorder: Run called twice")
	}
	select {
	case r.writer <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	defer func() { <-r.writer }()
	for {
		select {
		case <-ctx.Done():
			r.flush(context.Background())
			return nil
		case <-r.stop:
			r.flush(context.Background())
			return nil
		case p := <-r.buf:
			r.write(ctx, r.batch(p))
		}
	}
}

// Shutdown stops accepting events and returns once every buffered event
// was written (by Run, or by Shutdown itself when no Run is writing), or
// when ctx ends.
func (r *Recorder) Shutdown(ctx context.Context) error {
	r.closing.Store(true)
	r.once.Do(func() { close(r.stop) })
	select {
	case r.writer <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("flush events: %w", ctx.Err())
	}
	defer func() { <-r.writer }()
	r.flush(ctx)
	return nil
}

// flush writes what is buffered, bounded by FlushTimeout; the caller holds
// writer.
func (r *Recorder) flush(ctx context.Context) {
	r.closing.Store(true)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.FlushTimeout)
	defer cancel()
	for {
		select {
		case p := <-r.buf:
			r.write(ctx, r.batch(p))
		default:
			return
		}
	}
}

// group is the events of one key within a batch.
type group struct {
	first pending
	last  time.Time
	count int32
}

// batch takes p and whatever else is buffered now, grouped by key in
// order of first appearance.
func (r *Recorder) batch(p pending) []*group {
	groups := []*group{{first: p, last: p.at, count: 1}}
	byKey := map[aggKey]*group{p.key: groups[0]}
	for {
		select {
		case q := <-r.buf:
			if g, ok := byKey[q.key]; ok {
				g.count++
				g.last = q.at
				continue
			}
			g := &group{first: q, last: q.at, count: 1}
			byKey[q.key] = g
			groups = append(groups, g)
		default:
			return groups
		}
	}
}

func (r *Recorder) write(ctx context.Context, groups []*group) {
	for _, g := range groups {
		if err := r.writeGroup(ctx, g); err != nil {
			r.lg.Warn("Could not write event", zap.String("object", g.first.key.namespace+"/"+g.first.key.name),
				zap.String("reason", g.first.key.reason), zap.Error(err))
		}
	}
}

// writeGroup adds a group to the Event the cache remembers for its key, or
// creates a new Event when there is none (or it is gone or changed).
func (r *Recorder) writeGroup(ctx context.Context, g *group) error {
	key := g.first.key
	if el, ok := r.index[key]; ok {
		w := el.Value.(*written)
		next := proto.Clone(w.event).(*v1.Event)
		next.Count += g.count
		next.LastTimestamp = timestamppb.New(g.last)
		updated, err := r.cfg.Sink.Update(ctx, next)
		if err == nil {
			w.event = updated
			r.cache.MoveToFront(el)
			return nil
		}
		r.cache.Remove(el)
		delete(r.index, key)
		if !errdefs.IsConflict(err) && !errdefs.IsNotFound(err) {
			return fmt.Errorf("update event %s: %w", w.event.GetMetadata().GetName(), err)
		}
		// Changed or deleted meanwhile: start a new Event.
	}
	ns := key.namespace
	if ns == "" {
		ns = "default" // events about cluster-scoped objects, as Kubernetes
	}
	ev := &v1.Event{
		Metadata:           &v1.ObjectMeta{Namespace: ns},
		InvolvedObject:     g.first.ref,
		Reason:             key.reason,
		Message:            key.message,
		Source:             &v1.EventSource{Component: r.cfg.Component, Host: r.cfg.Host},
		FirstTimestamp:     timestamppb.New(g.first.at),
		LastTimestamp:      timestamppb.New(g.last),
		Count:              g.count,
		Type:               key.eventType,
		ReportingComponent: r.cfg.Component,
		ReportingInstance:  r.cfg.Host,
	}
	var created *v1.Event
	for attempt := 0; ; attempt++ {
		// <object>.<hex nanoseconds>, as Kubernetes names events.
		r.lastName = max(g.first.at.UnixNano(), r.lastName+1)
		ev.Metadata.Name = fmt.Sprintf("%s.%x", key.name, r.lastName)
		var err error
		created, err = r.cfg.Sink.Create(ctx, ev)
		if err == nil {
			break
		}
		if !errdefs.IsAlreadyExists(err) || attempt == 2 {
			return fmt.Errorf("create event %s/%s: %w", ns, ev.GetMetadata().GetName(), err)
		}
	}
	r.index[key] = r.cache.PushFront(&written{key: key, event: created})
	for r.cache.Len() > r.cfg.CacheSize {
		old := r.cache.Back()
		r.cache.Remove(old)
		delete(r.index, old.Value.(*written).key)
	}
	return nil
}
