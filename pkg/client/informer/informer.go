// Package informer keeps a local, indexed cache of one kind in step with
// the apiserver and tells handlers about changes — client-go's shared
// informer contract:
//
//   - Eventually consistent: the cache lags the apiserver; after a change
//     stops, the cache converges to the server's state and handlers have
//     been told every difference (possibly collapsed: a relist after a gap
//     reports the net difference, not every intermediate state).
//   - Per-object order: notifications about one object arrive in the order
//     the changes happened; all handlers of an informer see one sequence,
//     one notification at a time.
//   - Shared, read-only objects: objects in the cache and in notifications
//     are shared by every reader; clone one (proto.Clone) before changing
//     it, and never write through it.
//   - Level-triggered use: handlers enqueue keys; workers re-read the cache
//     (Lister) and converge from the current state, never from an event's
//     payload alone.
//
// The informer lists, then watches from the list's resourceVersion. A watch
// that fails with Expired (the version was compacted) or breaks is followed
// by a relist (with an exponential backoff on an injectable clock, except
// for a first Expired, which relists at once); the relist is diffed against
// the cache and handlers get the synthesized adds, updates and deletes
// (DeletedFinalStateUnknown for objects that vanished). Bookmarks only
// advance the resourceVersion.
package informer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
)

// Defaults of the relist backoff, as client-go's reflector.
const (
	DefaultBackoffInitial = 800 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
	// minWatchDuration: a watch that ends cleanly sooner than this without
	// an event is treated as broken (backoff, relist), not resumed at once.
	minWatchDuration = time.Second
)

type options struct {
	clock          clock.WithTicker
	lg             *zap.Logger
	backoffInitial time.Duration
	backoffMax     time.Duration
	name           string
}

// Option tunes an Informer.
type Option func(*options)

// WithClock sets the clock of backoffs and resyncs.
func WithClock(c clock.WithTicker) Option { return func(o *options) { o.clock = c } }

// WithLogger sets the logger.
func WithLogger(lg *zap.Logger) Option { return func(o *options) { o.lg = lg } }

// WithBackoff sets the relist backoff: initial, doubling to max.
func WithBackoff(initial, max time.Duration) Option {
	return func(o *options) { o.backoffInitial, o.backoffMax = initial, max }
}

// WithName names the informer in logs ("pods").
func WithName(name string) Option { return func(o *options) { o.name = name } }

type notifyKind int

const (
	notifyAdd notifyKind = iota
	notifyUpdate
	notifyDelete
	notifyRegister
)

type notification[T apis.Object] struct {
	kind     notifyKind
	obj, old T
	deleted  any
	initial  bool
	handler  ResourceEventHandler[T]
	snapshot []T
	seq      uint64
}

// Informer caches one kind. Create it with New, add indexers and handlers,
// then Run it.
type Informer[T apis.Object] struct {
	lw     ListerWatcher[T]
	resync time.Duration
	opts   options
	store  *Store[T]

	// mu orders store writes with the notifications they cause and with
	// handler registration.
	mu      sync.Mutex
	pending []notification[T]
	seq     uint64
	lastRV  string
	wake    chan struct{}

	started    atomic.Bool
	listed     atomic.Bool
	initialSeq atomic.Uint64
	delivered  atomic.Uint64
}

// New creates an informer over lw. resync > 0 makes every handler get
// OnUpdate(obj, obj) for every cached object at that period; 0 disables it.
func New[T apis.Object](lw ListerWatcher[T], resync time.Duration, opts ...Option) *Informer[T] {
	o := options{clock: clock.RealClock{}, lg: zap.NewNop(), backoffInitial: DefaultBackoffInitial, backoffMax: DefaultBackoffMax}
	for _, opt := range opts {
		opt(&o)
	}
	if o.name != "" {
		o.lg = o.lg.With(zap.String("informer", o.name))
	}
	return &Informer[T]{lw: lw, resync: resync, opts: o, store: NewStore[T](), wake: make(chan struct{}, 1)}
}

// Store is the informer's cache: read-only for everyone but the informer.
func (inf *Informer[T]) Store() *Store[T] { return inf.store }

// Lister reads the cache.
func (inf *Informer[T]) Lister() Lister[T] { return NewLister(inf.store) }

// AddIndexers adds indices to the cache (e.g. pods by spec.nodeName).
func (inf *Informer[T]) AddIndexers(indexers Indexers[T]) error {
	return inf.store.AddIndexers(indexers)
}

// HasSynced is true once the first list is in the cache and every handler
// registered by then has been told about it.
func (inf *Informer[T]) HasSynced() bool {
	return inf.listed.Load() && inf.delivered.Load() >= inf.initialSeq.Load()
}

// LastSyncResourceVersion is the resourceVersion the cache reflects.
func (inf *Informer[T]) LastSyncResourceVersion() string {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	return inf.lastRV
}

// Registration is a handler added to an informer.
type Registration struct {
	seq    uint64
	synced func(seq uint64) bool
}

// HasSynced is true once the handler has been told about the informer's
// first list (or, when added later, about the cache as it was then).
func (r *Registration) HasSynced() bool { return r.synced(r.seq) }

// AddEventHandler registers h. Added while the informer runs, h first gets
// OnAdd for every cached object, then the notifications that follow, so it
// misses nothing and sees nothing twice.
func (inf *Informer[T]) AddEventHandler(h ResourceEventHandler[T]) *Registration {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	snap := inf.store.List()
	seq := inf.enqueue(notification[T]{kind: notifyRegister, handler: h, snapshot: snap})
	return &Registration{seq: seq, synced: func(seq uint64) bool {
		return inf.HasSynced() && inf.delivered.Load() >= seq
	}}
}

// enqueue appends a notification; inf.mu is held.
func (inf *Informer[T]) enqueue(n notification[T]) uint64 {
	inf.seq++
	n.seq = inf.seq
	inf.pending = append(inf.pending, n)
	select {
	case inf.wake <- struct{}{}:
	default:
	}
	return n.seq
}

// Run fills the cache and keeps it in step until ctx ends, then returns nil
// once every goroutine it started has stopped. It runs once.
func (inf *Informer[T]) Run(ctx context.Context) error {
	if !inf.started.CompareAndSwap(false, true) {
		return errdefs.Precondition("informer already started")
	}
	var wg sync.WaitGroup
	wg.Go(func() { inf.dispatch(ctx) })
	wg.Go(func() { inf.reflect(ctx) })
	if inf.resync > 0 {
		wg.Go(func() { inf.resyncLoop(ctx) })
	}
	wg.Wait()
	return nil
}

// dispatch calls the handlers, one notification at a time, in order.
func (inf *Informer[T]) dispatch(ctx context.Context) {
	var handlers []ResourceEventHandler[T]
	for {
		select {
		case <-ctx.Done():
			return
		case <-inf.wake:
		}
		inf.mu.Lock()
		batch := inf.pending
		inf.pending = nil
		inf.mu.Unlock()
		for _, n := range batch {
			if ctx.Err() != nil {
				return
			}
			switch n.kind {
			case notifyRegister:
				handlers = append(handlers, n.handler)
				for _, obj := range n.snapshot {
					n.handler.OnAdd(obj, true)
				}
			case notifyAdd:
				for _, h := range handlers {
					h.OnAdd(n.obj, n.initial)
				}
			case notifyUpdate:
				for _, h := range handlers {
					h.OnUpdate(n.old, n.obj)
				}
			case notifyDelete:
				for _, h := range handlers {
					h.OnDelete(n.deleted)
				}
			}
			inf.delivered.Store(n.seq)
		}
	}
}

// errShortWatch marks a watch that ended at once without an event.
var errShortWatch = errors.New("the watch ended at once without an event")

// reflect lists and watches until ctx ends, relisting after failures.
func (inf *Informer[T]) reflect(ctx context.Context) {
	clk := inf.opts.clock
	backoff := inf.opts.backoffInitial
	quickRelist := true
	for {
		start := clk.Now()
		progressed, err := inf.listAndWatch(ctx)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			quickRelist = true
		}
		if clk.Since(start) > 2*inf.opts.backoffMax {
			backoff = inf.opts.backoffInitial
		}
		if errdefs.IsExpired(err) && quickRelist {
			// The common case after a long disconnection: relist at once,
			// but only once until an event gets through again.
			quickRelist = false
			inf.opts.lg.Info("Relisting: the watch's resourceVersion expired", zap.Error(err))
			continue
		}
		inf.opts.lg.Warn("List and watch failed; relisting after a backoff", zap.Error(err), zap.Duration("backoff", backoff))
		d := backoff + time.Duration(rand.Float64()*0.1*float64(backoff))
		t := clk.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		backoff = min(2*backoff, inf.opts.backoffMax)
	}
}

// listAndWatch lists into the cache, then watches until the watch fails.
// progressed says whether any watch event got through.
func (inf *Informer[T]) listAndWatch(ctx context.Context) (progressed bool, err error) {
	items, rv, err := inf.lw.List(ctx)
	if err != nil {
		return false, fmt.Errorf("list: %w", err)
	}
	inf.replace(items, rv)
	for {
		w, err := inf.lw.Watch(ctx, rv)
		if err != nil {
			return progressed, fmt.Errorf("watch from %s: %w", rv, err)
		}
		start := inf.opts.clock.Now()
		events := 0
		for {
			ev, err := w.Next()
			if err != nil {
				w.Stop()
				if errors.Is(err, io.EOF) {
					if events == 0 && inf.opts.clock.Since(start) < minWatchDuration {
						return progressed, fmt.Errorf("watch from %s: %w", rv, errShortWatch)
					}
					break // resume from rv
				}
				return progressed, fmt.Errorf("watch from %s: %w", rv, err)
			}
			events++
			progressed = true
			if ev.Type == client.Bookmark {
				inf.setRV(ev.ResourceVersion)
			} else {
				inf.apply(ev)
			}
			if ev.ResourceVersion != "" {
				rv = ev.ResourceVersion
			}
		}
	}
}

func (inf *Informer[T]) setRV(rv string) {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	if rv != "" {
		inf.lastRV = rv
	}
}

// apply puts one watch event into the cache and queues its notification.
func (inf *Informer[T]) apply(ev client.Event[T]) {
	key := apis.Key(ev.Object)
	inf.mu.Lock()
	defer inf.mu.Unlock()
	inf.store.mu.Lock()
	old, existed := inf.store.items[key]
	switch ev.Type {
	case client.Added, client.Modified:
		inf.store.put(key, ev.Object)
	case client.Deleted:
		inf.store.remove(key)
	}
	inf.store.mu.Unlock()
	switch {
	case ev.Type == client.Deleted && existed:
		inf.enqueue(notification[T]{kind: notifyDelete, deleted: ev.Object})
	case ev.Type == client.Deleted:
		// Never seen: nothing to tell.
	case existed:
		inf.enqueue(notification[T]{kind: notifyUpdate, old: old, obj: ev.Object})
	default:
		inf.enqueue(notification[T]{kind: notifyAdd, obj: ev.Object})
	}
	if ev.ResourceVersion != "" {
		inf.lastRV = ev.ResourceVersion
	}
}

// replace makes the cache equal to a list and queues the differences.
func (inf *Informer[T]) replace(items []T, rv string) {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	first := !inf.listed.Load()
	old := inf.store.snapshot()
	var notes []notification[T]
	inf.store.mu.Lock()
	for _, obj := range items {
		key := apis.Key(obj)
		prev, ok := old[key]
		inf.store.put(key, obj)
		switch {
		case !ok:
			notes = append(notes, notification[T]{kind: notifyAdd, obj: obj, initial: first})
		case prev.GetMetadata().GetResourceVersion() != obj.GetMetadata().GetResourceVersion():
			notes = append(notes, notification[T]{kind: notifyUpdate, old: prev, obj: obj})
		}
		delete(old, key)
	}
	for key, prev := range old {
		inf.store.remove(key)
		notes = append(notes, notification[T]{kind: notifyDelete, deleted: DeletedFinalStateUnknown[T]{Key: key, Obj: prev}})
	}
	inf.store.mu.Unlock()
	for _, n := range notes {
		inf.enqueue(n)
	}
	inf.lastRV = rv
	if first {
		inf.initialSeq.Store(inf.seq)
		inf.listed.Store(true)
	}
	inf.opts.lg.Debug("Listed", zap.Int("objects", len(items)), zap.Int("changes", len(notes)), zap.String("resourceVersion", rv))
}

// resyncLoop re-delivers every cached object as an update each period.
func (inf *Informer[T]) resyncLoop(ctx context.Context) {
	t := inf.opts.clock.NewTicker(inf.resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		inf.mu.Lock()
		for _, obj := range inf.store.List() {
			inf.enqueue(notification[T]{kind: notifyUpdate, old: obj, obj: obj})
		}
		inf.mu.Unlock()
	}
}

// Synced is anything that can say it has synced (an Informer, a
// Registration).
type Synced interface{ HasSynced() bool }

// WaitForCacheSync waits until every one of synced has synced (true) or ctx
// ends (false).
func WaitForCacheSync(ctx context.Context, synced ...Synced) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		all := true
		for _, s := range synced {
			if !s.HasSynced() {
				all = false
				break
			}
		}
		if all {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
