package cacher

import (
	"context"
	"strings"
	"sync"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
)

// watcher is one client watch on a Cacher. The cache appends events to
// its queue without ever blocking; its own goroutine filters them and
// hands them to the client. A queue that outgrows the limit ends the
// watcher with errdefs.Expired.
type watcher struct {
	c        *Cacher
	prefix   string
	filter   func(apis.Object) bool
	result   chan storage.Event
	signal   chan struct{} // an event was queued
	done     chan struct{} // closed by end
	exited   chan struct{} // closed when run returns
	startRev int64         // events at or before it are not sent
	initial  []*entry      // history to replay first; owned by run

	lastRev int64 // last revision queued (guarded by c.mu)

	mu    sync.Mutex
	queue []*entry
	spare []*entry // owned by run
	ended bool
	err   error
}

var _ storage.Watcher = (*watcher)(nil)

func (w *watcher) ResultChan() <-chan storage.Event { return w.result }

func (w *watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stop ends the watch and waits until its goroutine has exited.
func (w *watcher) Stop() {
	w.c.removeWatcher(w)
	<-w.exited
}

// add queues e for the watcher (c.mu held). It never blocks.
func (w *watcher) add(e *entry) {
	if e.Type != storage.Bookmark {
		if e.Revision <= w.startRev || !strings.HasPrefix(e.Key, w.prefix) {
			return
		}
	}
	w.mu.Lock()
	if w.ended {
		w.mu.Unlock()
		return
	}
	if len(w.queue) >= w.c.queueSize {
		w.mu.Unlock()
		w.c.metrics.WatcherTerminated(w.c.resource)
		w.c.lg.Debug("Ending a watcher that fell behind")
		w.c.terminateLocked(w, errdefs.Expired("watch of %s fell more than %d events behind; relist", w.c.resource, w.c.queueSize))
		return
	}
	w.queue = append(w.queue, e)
	w.mu.Unlock()
	w.lastRev = e.Revision
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// end stops the watcher with err (nil: stopped by its client).
func (w *watcher) end(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return
	}
	w.ended, w.err, w.queue = true, err, nil
	close(w.done)
}

func (w *watcher) run(ctx context.Context) {
	defer w.c.watcherWG.Done()
	defer close(w.exited)
	defer close(w.result)
	defer w.c.removeWatcher(w)
	for _, e := range w.initial {
		if !w.send(ctx, e) {
			return
		}
	}
	w.initial = nil
	for {
		select {
		case <-w.signal:
		case <-w.done:
			return
		case <-ctx.Done():
			return
		}
		w.mu.Lock()
		batch := w.queue
		w.queue = w.spare
		w.mu.Unlock()
		for _, e := range batch {
			if !w.send(ctx, e) {
				return
			}
		}
		clear(batch)
		w.spare = batch[:0]
	}
}

func (w *watcher) send(ctx context.Context, e *entry) bool {
	ev, ok := w.convert(e)
	if !ok {
		return true
	}
	select {
	case w.result <- ev:
		return true
	case <-w.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// convert applies the filter as Kubernetes does: an object that starts
// matching is ADDED, one that stops matching is DELETED.
func (w *watcher) convert(e *entry) (storage.Event, bool) {
	if w.filter == nil || e.Type == storage.Bookmark {
		return e.Event, true
	}
	switch e.Type {
	case storage.Added:
		return e.Event, w.filter(e.Object)
	case storage.Deleted:
		return e.Event, w.filter(e.Object)
	}
	cur := w.filter(e.Object)
	prev := e.prev != nil && w.filter(e.prev)
	ev := e.Event
	switch {
	case cur && prev:
	case cur:
		ev.Type = storage.Added
	case prev:
		ev.Type = storage.Deleted
	default:
		return ev, false
	}
	return ev, true
}
