// Package podworkers runs one goroutine per pod, as Kubernetes' kubelet
// does: a pod's syncs never overlap, pods never wait for each other, and
// an update that arrives while a pod syncs waits in a single pending slot,
// so any number of updates during one sync cause exactly one more sync.
//
// Syncs are level-triggered: an update carries no payload, only "look at
// this pod again"; the sync function reads the pod's current desired and
// actual state itself.
package podworkers

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
)

// Outcome is what one sync of a pod says about the next.
type Outcome struct {
	// RequeueAfter > 0 syncs the pod again after it (a backoff ends, a
	// grace period passes), unless an update comes sooner.
	RequeueAfter time.Duration
	// Done: nothing is left to do for this pod (it is gone and cleaned
	// up); its worker ends unless an update is pending.
	Done bool
}

// SyncFunc syncs the pod uid. An error makes the worker retry after a
// backoff (ErrorBackoffInitial doubling to ErrorBackoffMax).
type SyncFunc func(ctx context.Context, uid string) (Outcome, error)

// Backoff of a worker whose sync failed.
const (
	ErrorBackoffInitial = 500 * time.Millisecond
	ErrorBackoffMax     = 30 * time.Second
)

// Workers owns the per-pod goroutines.
type Workers struct {
	sync SyncFunc
	clk  clockwork.Clock
	lg   *zap.Logger

	mu      sync.Mutex
	workers map[string]*worker
	spawn   []string
	spawned chan struct{}
	stopped bool
}

type worker struct {
	wake chan struct{} // capacity 1: the pending slot
}

// New returns Workers that call sync; clk and lg may be nil.
func New(sync SyncFunc, clk clockwork.Clock, lg *zap.Logger) *Workers {
	if clk == nil {
		clk = clockwork.NewRealClock()
	}
	if lg == nil {
		lg = zap.NewNop()
	}
	return &Workers{sync: sync, clk: clk, lg: lg.Named("podworkers"), workers: make(map[string]*worker), spawned: make(chan struct{}, 1)}
}

// Update asks for a sync of uid: at once when its worker is idle, after
// the current sync when one runs (coalescing with other updates), and in
// a new worker when uid has none.
func (w *Workers) Update(uid string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if wk, ok := w.workers[uid]; ok {
		select {
		case wk.wake <- struct{}{}:
		default: // an update is already pending
		}
		return
	}
	if w.stopped {
		return
	}
	wk := &worker{wake: make(chan struct{}, 1)}
	wk.wake <- struct{}{}
	w.workers[uid] = wk
	w.spawn = append(w.spawn, uid)
	select {
	case w.spawned <- struct{}{}:
	default:
	}
}

// Has reports whether uid has a worker.
func (w *Workers) Has(uid string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.workers[uid]
	return ok
}

// UIDs lists the pods that have a worker, sorted.
func (w *Workers) UIDs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.workers))
	for uid := range w.workers {
		out = append(out, uid)
	}
	sort.Strings(out)
	return out
}

// Run starts workers as updates ask for them until ctx ends, then waits
// for every worker to return and returns nil.
func (w *Workers) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			w.mu.Lock()
			w.stopped = true
			w.mu.Unlock()
			return nil
		case <-w.spawned:
		}
		w.mu.Lock()
		uids := w.spawn
		w.spawn = nil
		for _, uid := range uids {
			wk := w.workers[uid]
			wg.Go(func() { w.loop(ctx, uid, wk) })
		}
		w.mu.Unlock()
	}
}

func (w *Workers) loop(ctx context.Context, uid string, wk *worker) {
	var timer clockwork.Timer
	var timerC <-chan time.Time
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer, timerC = nil, nil
		}
	}
	defer stopTimer()
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-wk.wake:
		case <-timerC:
		}
		stopTimer()
		out, err := w.sync(ctx, uid)
		if ctx.Err() != nil {
			return
		}
		var after time.Duration
		switch {
		case err != nil:
			if backoff == 0 {
				backoff = ErrorBackoffInitial
			} else {
				backoff = min(2*backoff, ErrorBackoffMax)
			}
			after = backoff
			w.lg.Warn("Error syncing pod, retrying", zap.String("podUID", uid), zap.Error(err), zap.Duration("backoff", backoff))
		case out.Done:
			w.mu.Lock()
			select {
			case <-wk.wake:
				// An update came in during the last sync: keep going.
				wk.wake <- struct{}{}
				w.mu.Unlock()
				continue
			default:
			}
			delete(w.workers, uid)
			w.mu.Unlock()
			w.lg.Debug("Pod worker done", zap.String("podUID", uid))
			return
		default:
			backoff = 0
			after = out.RequeueAfter
		}
		if after > 0 {
			timer = w.clk.NewTimer(after)
			timerC = timer.Chan()
		}
	}
}
