// Package cacher is the apiserver's watch cache: one per resource, built
// on one watch of the underlying store, holding the current objects and a
// ring of recent events. It serves Lists from memory at a requested
// freshness and any number of Watches from a recent resourceVersion, so a
// thousand watchers cost etcd nothing. Writes, Gets and paged Lists (a
// limit and a continue token) pass through.
//
// A watcher that cannot keep up is ended with errdefs.Expired (its client
// relists), never allowed to hold up the cache or the writers.
package cacher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"k8s.io/utils/clock"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
)

// Store is what a Cacher is built on: the storage contract plus the two
// calls that let a cache prove it is fresh. *storage.Etcd is one. Its
// watches must send a Bookmark once every event of a revision was sent
// (at the latest before the next progress report): the cache applies a
// revision only when it is complete.
type Store interface {
	storage.Interface
	// CurrentRevision returns the store's latest revision.
	CurrentRevision(ctx context.Context) (int64, error)
	// RequestProgress asks the store to send every watch a Bookmark at its
	// current revision, once the watch has caught up with it.
	RequestProgress(ctx context.Context) error
}

// Defaults of Config.
const (
	DefaultHistorySize      = 10000
	DefaultWatcherQueueSize = 1000
	DefaultBookmarkInterval = 10 * time.Second
	DefaultProgressInterval = 100 * time.Millisecond
	DefaultWaitTimeout      = 3 * time.Second
)

// Config configures a Cacher.
type Config struct {
	// Store is the store under the cache (required).
	Store Store
	// Prefix is the resource's key prefix, "/registry/pods/" (required).
	Prefix string
	// NewFunc returns an empty object of the resource (required).
	NewFunc func() apis.Object
	// Resource names the resource in metrics; default from Prefix.
	Resource string
	// Logger; default none.
	Logger *zap.Logger
	// Metrics to record into; default none.
	Metrics *storage.Metrics
	// Clock for bookmarks, progress requests and waits; default real.
	Clock clock.WithTicker
	// HistorySize is how many recent events the cache keeps for watches
	// that resume from an older resourceVersion.
	HistorySize int
	// WatcherQueueSize is how many events a watcher may lag behind before
	// it is ended with errdefs.Expired.
	WatcherQueueSize int
	// BookmarkInterval is how often watchers get a Bookmark with the
	// current revision (when it moved since their last event).
	BookmarkInterval time.Duration
	// ProgressInterval is how often the store is asked for progress while
	// a List waits for the cache to reach a revision.
	ProgressInterval time.Duration
	// WaitTimeout bounds how long a List or Watch waits for the cache to be
	// ready or fresh enough.
	WaitTimeout time.Duration
}

// entry is the cached state of one key, or one change of it.
type entry struct {
	storage.Event
	// prev is the object before the change (nil when there was none).
	prev apis.Object
}

// Cacher is the watch cache of one resource. It implements
// storage.Interface; Run keeps it in step with the store.
type Cacher struct {
	store    Store
	prefix   string
	newFunc  func() apis.Object
	resource string
	lg       *zap.Logger
	metrics  *storage.Metrics
	clock    clock.WithTicker

	queueSize        int
	bookmarkInterval time.Duration
	progressInterval time.Duration
	waitTimeout      time.Duration

	progressWanted chan struct{} // a waiter wants the store's progress
	watcherWG      sync.WaitGroup

	mu       sync.RWMutex
	ready    bool
	done     bool // Run has ended
	rev      int64
	items    map[string]*entry
	history  *ring
	watchers map[*watcher]struct{}
	changed  chan struct{} // closed and replaced when rev or ready changes
	waiters  int
}

var _ storage.Interface = (*Cacher)(nil)

// New checks cfg and returns a Cacher that serves once Run has loaded it.
func New(cfg Config) (*Cacher, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("watch cache: no store")
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("watch cache: prefix %q must start and end with /", cfg.Prefix)
	}
	if cfg.NewFunc == nil {
		return nil, fmt.Errorf("watch cache %s: no NewFunc", cfg.Prefix)
	}
	if cfg.Resource == "" {
		cfg.Resource = storage.ResourceOf(cfg.Prefix)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.HistorySize <= 0 {
		cfg.HistorySize = DefaultHistorySize
	}
	if cfg.WatcherQueueSize <= 0 {
		cfg.WatcherQueueSize = DefaultWatcherQueueSize
	}
	if cfg.BookmarkInterval <= 0 {
		cfg.BookmarkInterval = DefaultBookmarkInterval
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = DefaultProgressInterval
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = DefaultWaitTimeout
	}
	return &Cacher{
		store:            cfg.Store,
		prefix:           cfg.Prefix,
		newFunc:          cfg.NewFunc,
		resource:         cfg.Resource,
		lg:               cfg.Logger.With(zap.String("resource", cfg.Resource)),
		metrics:          cfg.Metrics,
		clock:            cfg.Clock,
		queueSize:        cfg.WatcherQueueSize,
		bookmarkInterval: cfg.BookmarkInterval,
		progressInterval: cfg.ProgressInterval,
		waitTimeout:      cfg.WaitTimeout,
		progressWanted:   make(chan struct{}, 1),
		items:            map[string]*entry{},
		history:          newRing(cfg.HistorySize),
		watchers:         map[*watcher]struct{}{},
		changed:          make(chan struct{}),
	}, nil
}

// Run loads the cache and keeps it in step with the store until ctx ends:
// list, then watch from the list's revision; when the watch breaks, watch
// again from the cache's revision. When that revision has been compacted
// the cache lists again: if nothing of the resource changed meanwhile it
// goes on from the list's revision and its watchers notice nothing;
// otherwise it reloads and ends every watcher with errdefs.Expired (they
// relist). On return every watcher has ended and every goroutine of the
// cache has exited.
func (c *Cacher) Run(ctx context.Context) error {
	// The cache's watch and its progress requests share a stream of their
	// own (see storage.WithWatchStream).
	ctx = storage.WithWatchStream(ctx, c.prefix)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.progressLoop(ctx) }()
	go func() { defer wg.Done(); c.bookmarkLoop(ctx) }()

	backoff := newBackoff(c.clock, 100*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		err := c.listAndWatch(ctx)
		if ctx.Err() != nil {
			break
		}
		c.lg.Warn("Watch cache lost its watch; relisting", zap.Error(err))
		backoff.wait(ctx)
	}

	c.mu.Lock()
	c.ready, c.done = false, true
	for w := range c.watchers {
		c.terminateLocked(w, errdefs.Unavailable("watch cache for %s stopped", c.resource))
	}
	c.notifyLocked()
	c.mu.Unlock()
	wg.Wait()
	c.watcherWG.Wait()
	return nil
}

// listAndWatch lists the store into the cache and follows it. It returns
// when the cache must start over (or ctx ends).
func (c *Cacher) listAndWatch(ctx context.Context) error {
	objs, rev, err := c.store.List(ctx, c.prefix, 0, c.newFunc, nil)
	if err != nil {
		return fmt.Errorf("list %s: %w", c.prefix, err)
	}
	if err := c.load(objs, rev); err != nil {
		return err
	}

	backoff := newBackoff(c.clock, 100*time.Millisecond, 5*time.Second)
	for {
		progressed, err := c.follow(ctx)
		if ctx.Err() != nil {
			return err
		}
		if progressed {
			backoff.reset()
		}
		if errdefs.IsExpired(err) {
			// The revision to resume from is compacted: typically an idle
			// resource whose watch had to reconnect. Listing tells whether
			// anything was missed.
			if rerr := c.resync(ctx, err); rerr != nil {
				// The cache can no longer follow the store: it serves
				// nothing until it has relisted, and its watchers
				// relist too.
				c.mu.Lock()
				c.ready = false
				for w := range c.watchers {
					c.terminateLocked(w, errdefs.Expired("watch cache for %s must reload; relist", c.resource))
				}
				c.notifyLocked()
				c.mu.Unlock()
				return errors.Join(err, rerr)
			}
			continue
		}
		c.lg.Warn("Watch cache watch ended; watching again", zap.Error(err))
		backoff.wait(ctx)
	}
}

// load replaces the cache's state with objs, listed at rev. Watchers of a
// cache that held a state before may have missed changes: they end with
// errdefs.Expired and relist.
func (c *Cacher) load(objs []apis.Object, rev int64) error {
	events, err := toEvents(c.prefix, objs)
	if err != nil {
		return err
	}
	items := make(map[string]*entry, len(events))
	for _, ev := range events {
		items[ev.Key] = &entry{Event: ev}
	}
	c.mu.Lock()
	if c.ready || c.rev > 0 {
		for w := range c.watchers {
			c.terminateLocked(w, errdefs.Expired("watch cache for %s was reloaded; relist", c.resource))
		}
	}
	c.items = items
	c.rev = rev
	c.history.reset(rev)
	c.ready = true
	c.metrics.SetObjects(c.resource, len(items))
	c.notifyLocked()
	c.mu.Unlock()
	c.lg.Debug("Watch cache loaded", zap.Int("objects", len(items)), zap.Int64("resourceVersion", rev))
	return nil
}

// revisionLister is a store that can list a prefix as it was at a past
// revision (*storage.Etcd can).
type revisionLister interface {
	ListAt(ctx context.Context, prefix string, rev int64, newObj func() apis.Object) ([]apis.Object, error)
}

// resync lists the store after the watch could not resume (cause) because
// its revision was compacted. When every key is still at the revision the
// cache holds, the resource did not change between the cache's revision
// and the list's: the cache moves on to the list's revision and keeps its
// watchers. (An object created and deleted while the watch was away
// leaves no trace in the list: the watchers miss it, as they would after
// a relist.) The list is taken at the oldest revision etcd still has,
// when the store can, so that changes made after it do not count (the
// next watch delivers them); else at the current one. When the resource
// changed the cache reloads (its watchers end with errdefs.Expired). An
// error means the store could not be listed.
func (c *Cacher) resync(ctx context.Context, cause error) error {
	var compacted *storage.CompactedError
	if rl, ok := c.store.(revisionLister); ok && errors.As(cause, &compacted) {
		objs, err := rl.ListAt(ctx, c.prefix, compacted.Revision, c.newFunc)
		if err == nil && c.moveOnIfUnchanged(objs, compacted.Revision, cause) {
			return nil
		}
		// Compacted further meanwhile (Expired), or changed: the current
		// state decides.
		if err != nil && !errdefs.IsExpired(err) {
			return fmt.Errorf("list %s at revision %d: %w", c.prefix, compacted.Revision, err)
		}
	}
	objs, rev, err := c.store.List(ctx, c.prefix, 0, c.newFunc, nil)
	if err != nil {
		return fmt.Errorf("list %s: %w", c.prefix, err)
	}
	if c.moveOnIfUnchanged(objs, rev, cause) {
		return nil
	}
	c.lg.Warn("Watch cache missed changes while its revision was compacted; reloading", zap.Error(cause))
	return c.load(objs, rev)
}

// moveOnIfUnchanged moves the cache to rev when objs, the resource as it
// was at rev, is what the cache holds.
func (c *Cacher) moveOnIfUnchanged(objs []apis.Object, rev int64, cause error) bool {
	c.mu.Lock()
	if !c.ready || !c.unchangedLocked(objs) {
		c.mu.Unlock()
		return false
	}
	from := c.rev
	if rev > c.rev {
		c.rev = rev
		c.notifyLocked()
	}
	c.mu.Unlock()
	c.lg.Debug("Watch cache resumed after a compaction; nothing was missed",
		zap.Int64("fromResourceVersion", from), zap.Int64("resourceVersion", rev), zap.NamedError("cause", cause))
	return true
}

// unchangedLocked reports whether objs (a full list of the resource) are
// exactly the cached keys at the cached revisions (c.mu held).
func (c *Cacher) unchangedLocked(objs []apis.Object) bool {
	if len(objs) != len(c.items) {
		return false
	}
	for _, obj := range objs {
		e, ok := c.items[c.prefix+apis.Key(obj)]
		if !ok {
			return false
		}
		rev, err := storage.ParseRevision(obj.GetMetadata().GetResourceVersion())
		if err != nil || rev != e.Revision {
			return false
		}
	}
	return true
}

// follow watches the store from the cache's revision and applies events
// until the watch ends. progressed says whether the cache's revision
// moved.
func (c *Cacher) follow(ctx context.Context) (progressed bool, err error) {
	c.mu.RLock()
	from := c.rev
	c.mu.RUnlock()
	w, err := c.store.Watch(ctx, c.prefix, from, nil)
	if err != nil {
		return false, err
	}
	defer w.Stop()
	// Events are gathered per revision and applied when the revision is
	// known to be complete: an event of a later revision or a Bookmark
	// says so. A revision still pending when the watch ends is dropped;
	// the next watch, from the cache's revision, delivers it again whole.
	var pending []storage.Event
	flush := func() {
		if len(pending) > 0 {
			c.apply(pending)
			clear(pending)
			pending = pending[:0]
		}
	}
	for ev := range w.ResultChan() {
		switch {
		case ev.Type == storage.Bookmark:
			flush()
			c.advance(ev.Revision)
		case len(pending) > 0 && ev.Revision != pending[0].Revision:
			flush()
			pending = append(pending, ev)
		default:
			pending = append(pending, ev)
		}
	}
	progressed = c.Revision() > from
	if err := w.Err(); err != nil {
		return progressed, err
	}
	return progressed, errdefs.Unavailable("watch of %s ended", c.prefix)
}

// apply puts the events of one revision into the cache at once and hands
// them to every watcher; only then does the cache's revision move to
// theirs, so that nobody sees part of a revision. It never blocks on a
// watcher. Events the cache already holds are skipped.
func (c *Cacher) apply(evs []storage.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rev := evs[0].Revision
	if rev <= c.rev {
		return // already in the cache
	}
	for _, ev := range evs {
		e := &entry{Event: ev}
		if old, ok := c.items[ev.Key]; ok {
			e.prev = old.Object
		}
		if ev.Type == storage.Deleted {
			delete(c.items, ev.Key)
		} else {
			c.items[ev.Key] = e
		}
		c.history.push(e)
		for w := range c.watchers {
			w.add(e)
		}
	}
	c.rev = rev
	c.metrics.SetObjects(c.resource, len(c.items))
	c.notifyLocked()
}

// advance moves the cache's revision to rev, which the store reported as
// complete (a Bookmark).
func (c *Cacher) advance(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev > c.rev {
		c.rev = rev
		c.notifyLocked()
	}
}

func (c *Cacher) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Ready reports whether the cache holds the resource's full state and
// follows the store.
func (c *Cacher) Ready() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ready
}

// WaitReady blocks until the cache is ready or ctx ends.
func (c *Cacher) WaitReady(ctx context.Context) error {
	for {
		c.mu.RLock()
		ready, done, ch := c.ready, c.done, c.changed
		c.mu.RUnlock()
		switch {
		case ready:
			return nil
		case done:
			return errdefs.Unavailable("watch cache for %s stopped", c.resource)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctxError(ctx, "wait for the watch cache of "+c.resource)
		}
	}
}

// Revision is the revision the cache has caught up to.
func (c *Cacher) Revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// waitFresh waits until the cache is ready and at rev or later, asking the
// store for progress meanwhile, at most WaitTimeout.
func (c *Cacher) waitFresh(ctx context.Context, rev int64) error {
	c.mu.Lock()
	if c.ready && c.rev >= rev {
		c.mu.Unlock()
		return nil
	}
	if c.done {
		c.mu.Unlock()
		return errdefs.Unavailable("watch cache for %s stopped", c.resource)
	}
	c.waiters++
	ch := c.changed
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.waiters--
		c.mu.Unlock()
	}()
	select {
	case c.progressWanted <- struct{}{}:
	default:
	}
	timer := c.clock.NewTimer(c.waitTimeout)
	defer timer.Stop()
	for {
		select {
		case <-ch:
		case <-timer.C():
			c.mu.RLock()
			ready, have := c.ready, c.rev
			c.mu.RUnlock()
			if !ready {
				return errdefs.Unavailable("watch cache for %s is not ready", c.resource)
			}
			return &errdefs.Error{Class: errdefs.ClassTimeout, Msg: fmt.Sprintf("too large resource version: %d, current: %d", rev, have)}
		case <-ctx.Done():
			return ctxError(ctx, "wait for the watch cache of "+c.resource)
		}
		c.mu.RLock()
		ok, done := c.ready && c.rev >= rev, c.done
		ch = c.changed
		c.mu.RUnlock()
		if ok {
			return nil
		}
		if done {
			return errdefs.Unavailable("watch cache for %s stopped", c.resource)
		}
	}
}

// progressLoop asks the store for progress while Lists wait for the cache:
// at once, then every ProgressInterval. That is what moves the cache's
// revision when the newest write was to another resource.
func (c *Cacher) progressLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.progressWanted:
		}
		for {
			if err := c.store.RequestProgress(ctx); err != nil && ctx.Err() == nil {
				c.lg.Debug("Progress request failed", zap.Error(err))
			}
			select {
			case <-ctx.Done():
				return
			case <-c.clock.After(c.progressInterval):
			}
			c.mu.RLock()
			waiting := c.waiters > 0
			c.mu.RUnlock()
			if !waiting {
				break
			}
		}
	}
}

// bookmarkLoop sends watchers a Bookmark every BookmarkInterval and asks
// the store for progress, so that the next one is fresh also when this
// resource is idle.
func (c *Cacher) bookmarkLoop(ctx context.Context) {
	t := c.clock.NewTicker(c.bookmarkInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		c.mu.Lock()
		if c.ready {
			bm := &entry{Event: storage.Event{Type: storage.Bookmark, Revision: c.rev}}
			for w := range c.watchers {
				if w.lastRev < c.rev {
					w.add(bm)
				}
			}
		}
		c.mu.Unlock()
		if err := c.store.RequestProgress(ctx); err != nil && ctx.Err() == nil {
			c.lg.Debug("Progress request failed", zap.Error(err))
		}
	}
}

func ctxError(ctx context.Context, what string) error {
	err := ctx.Err()
	if err == context.DeadlineExceeded {
		return errdefs.Wrap(errdefs.ClassTimeout, err, what)
	}
	return errdefs.Wrap(errdefs.ClassCanceled, err, what)
}

func (c *Cacher) checkPrefix(prefix string) error {
	if !strings.HasPrefix(prefix, c.prefix) {
		return errdefs.Invalid("prefix %s is not under the watch cache's %s", prefix, c.prefix)
	}
	return nil
}

// Create passes through to the store.
func (c *Cacher) Create(ctx context.Context, key string, obj apis.Object) error {
	return c.store.Create(ctx, key, obj)
}

// encodedCreator is a store that can write an object it is given the
// encoding of (*storage.Etcd can).
type encodedCreator interface {
	CreateEncoded(ctx context.Context, key string, obj apis.Object, data []byte) error
}

// CreateEncoded passes through to the store (see
// storage.Etcd.CreateEncoded); a store without it encodes again.
func (c *Cacher) CreateEncoded(ctx context.Context, key string, obj apis.Object, data []byte) error {
	if ec, ok := c.store.(encodedCreator); ok {
		return ec.CreateEncoded(ctx, key, obj, data)
	}
	return c.store.Create(ctx, key, obj)
}

// Get passes through to the store: a consistent read.
func (c *Cacher) Get(ctx context.Context, key string, out apis.Object) error {
	return c.store.Get(ctx, key, out)
}

// cachedWriter is a store that can start a write from a cached copy of
// the object instead of reading it first (*storage.Etcd can).
type cachedWriter interface {
	GuaranteedUpdateFrom(ctx context.Context, key string, out apis.Object, tryUpdate storage.UpdateFunc, cached apis.Object) error
	DeleteFrom(ctx context.Context, key string, out apis.Object, check func(current apis.Object) error, cached apis.Object) error
}

// cached returns the cache's copy of key (read-only), or nil.
func (c *Cacher) cached(key string) apis.Object {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e := c.items[key]; c.ready && e != nil {
		return e.Object
	}
	return nil
}

// GuaranteedUpdate passes through to the store, starting from the cached
// copy when the store can (saving a read; a stale copy costs a retry).
func (c *Cacher) GuaranteedUpdate(ctx context.Context, key string, out apis.Object, tryUpdate storage.UpdateFunc) error {
	if cw, ok := c.store.(cachedWriter); ok {
		return cw.GuaranteedUpdateFrom(ctx, key, out, tryUpdate, c.cached(key))
	}
	return c.store.GuaranteedUpdate(ctx, key, out, tryUpdate)
}

// Delete passes through to the store, starting from the cached copy as
// GuaranteedUpdate does.
func (c *Cacher) Delete(ctx context.Context, key string, out apis.Object, check func(current apis.Object) error) error {
	if cw, ok := c.store.(cachedWriter); ok {
		return cw.DeleteFrom(ctx, key, out, check, c.cached(key))
	}
	return c.store.Delete(ctx, key, out, check)
}

// List implements storage.Interface from memory, sorted by key. minRevision
// 0 is a consistent list: the cache first catches up with the store's
// current revision. The objects are the cache's own: read-only. newObj is
// not used.
func (c *Cacher) List(ctx context.Context, prefix string, minRevision int64, newObj func() apis.Object, filter func(apis.Object) bool) ([]apis.Object, int64, error) {
	events, rev, err := c.ListEvents(ctx, prefix, minRevision, filter)
	if err != nil {
		return nil, 0, err
	}
	out := make([]apis.Object, len(events))
	for i := range events {
		out[i] = events[i].Object
	}
	return out, rev, nil
}

// ListPage passes through to the store: a page is read at the revision of
// the list's first page, which the cache does not keep.
func (c *Cacher) ListPage(ctx context.Context, prefix string, opts storage.PageOptions, newObj func() apis.Object, filter func(apis.Object) bool) (*storage.Page, error) {
	if err := c.checkPrefix(prefix); err != nil {
		return nil, err
	}
	return c.store.ListPage(ctx, prefix, opts, newObj, filter)
}

// ListEvents is List returning each object with its key, revision and
// encoding (Value, with resourceVersion), so a server can send the list
// without encoding it again. Type is Added. Read-only.
func (c *Cacher) ListEvents(ctx context.Context, prefix string, minRevision int64, filter func(apis.Object) bool) ([]storage.Event, int64, error) {
	if err := c.checkPrefix(prefix); err != nil {
		return nil, 0, err
	}
	if minRevision == 0 {
		cur, err := c.store.CurrentRevision(ctx)
		if err != nil {
			return nil, 0, err
		}
		minRevision = cur
	}
	if err := c.waitFresh(ctx, minRevision); err != nil {
		return nil, 0, err
	}
	c.mu.RLock()
	rev := c.rev
	matched := make([]*entry, 0, len(c.items))
	whole := prefix == c.prefix
	for key, e := range c.items {
		if whole || strings.HasPrefix(key, prefix) {
			matched = append(matched, e)
		}
	}
	c.mu.RUnlock()
	out := make([]storage.Event, 0, len(matched))
	for _, e := range matched {
		if filter == nil || filter(e.Object) {
			ev := e.Event
			ev.Type = storage.Added
			out = append(out, ev)
		}
	}
	slices.SortFunc(out, func(a, b storage.Event) int { return strings.Compare(a.Key, b.Key) })
	return out, rev, nil
}

// Watch implements storage.Interface from the cache: events after
// revision come from the cache's history (errdefs.Expired when revision is
// older than the history holds), then live. revision 0 is the store's
// current revision, as for List. A revision the cache has not reached yet
// is waited for (at most WaitTimeout, then errdefs.ClassTimeout). Event
// objects are shared: read-only.
func (c *Cacher) Watch(ctx context.Context, prefix string, revision int64, filter func(apis.Object) bool) (storage.Watcher, error) {
	if err := c.checkPrefix(prefix); err != nil {
		return nil, err
	}
	if revision == 0 {
		cur, err := c.store.CurrentRevision(ctx)
		if err != nil {
			return nil, err
		}
		revision = cur
	}
	if err := c.waitFresh(ctx, revision); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.done || !c.ready {
		c.mu.Unlock()
		return nil, errdefs.Unavailable("watch cache for %s is not ready", c.resource)
	}
	if revision < c.history.start {
		start := c.history.start
		c.mu.Unlock()
		return nil, errdefs.Expired("too old resource version: %d (%d)", revision, start)
	}
	w := &watcher{
		c:        c,
		prefix:   prefix,
		filter:   filter,
		result:   make(chan storage.Event, 64),
		signal:   make(chan struct{}, 1),
		done:     make(chan struct{}),
		exited:   make(chan struct{}),
		startRev: revision,
		lastRev:  max(revision, c.rev),
	}
	if revision < c.rev {
		w.initial = c.history.since(revision, prefix)
	}
	c.watchers[w] = struct{}{}
	c.watcherWG.Add(1)
	c.mu.Unlock()
	c.metrics.AddWatchers(c.resource, 1)
	go w.run(ctx)
	return w, nil
}

// terminateLocked ends w with err (c.mu held).
func (c *Cacher) terminateLocked(w *watcher, err error) {
	if _, ok := c.watchers[w]; !ok {
		return
	}
	delete(c.watchers, w)
	c.metrics.AddWatchers(c.resource, -1)
	w.end(err)
}

func (c *Cacher) removeWatcher(w *watcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.terminateLocked(w, nil)
}

// backoff waits between retries, doubling up to a maximum.
type backoff struct {
	clk               clock.Clock
	initial, cur, max time.Duration
}

func newBackoff(clk clock.Clock, initial, maxDelay time.Duration) *backoff {
	return &backoff{clk: clk, initial: initial, cur: initial, max: maxDelay}
}

func (b *backoff) reset() { b.cur = b.initial }

func (b *backoff) wait(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-b.clk.After(b.cur):
	}
	b.cur = min(2*b.cur, b.max)
}

// toEvents turns listed objects of the resource under resourcePrefix into
// Added events with their keys and encodings.
func toEvents(resourcePrefix string, objs []apis.Object) ([]storage.Event, error) {
	out := make([]storage.Event, len(objs))
	for i, obj := range objs {
		key := resourcePrefix + apis.Key(obj)
		value, err := proto.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", key, err)
		}
		rev, err := storage.ParseRevision(obj.GetMetadata().GetResourceVersion())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out[i] = storage.Event{Type: storage.Added, Key: key, Object: obj, Value: value, Revision: rev}
	}
	return out, nil
}
