// Package workqueue is the rate-limited work queue controllers feed with
// object keys, with client-go's semantics:
//
//   - Deduplicating: an item added several times before a worker takes it
//     is handed out once.
//   - Never concurrent per item: an item is handed to one worker at a time;
//     added again while being processed, it is queued again only after
//     that worker calls Done.
//   - Delays and retries: AddAfter queues an item later (on an injectable
//     clock); AddRateLimited queues it after its rate limiter's wait
//     (Kubernetes' default: 5 ms doubling to 1000 s per item, and a 10 qps
//     burst 100 token bucket overall); Forget resets an item's backoff.
//   - Shutdown: ShutDown makes Get return shutdown=true once the queue is
//     empty; ShutDownWithDrain also waits until every item handed out is
//     Done.
//
// Metrics (when a MetricsProvider is given) have Kubernetes' names:
// workqueue_depth, workqueue_adds_total, workqueue_queue_duration_seconds,
// workqueue_work_duration_seconds, workqueue_retries_total,
// workqueue_unfinished_work_seconds and
// workqueue_longest_running_processor_seconds, labelled name=<queue name>.
package workqueue

import (
	"container/heap"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Config describes a queue.
type Config[T comparable] struct {
	// Name labels the metrics ("replicaset").
	Name string
	// Clock of delays, rate limits and metrics; nil means the real clock.
	Clock clock.WithTicker
	// RateLimiter for AddRateLimited; nil means
	// DefaultControllerRateLimiter on Clock.
	RateLimiter RateLimiter[T]
	// Metrics; nil means none.
	Metrics *MetricsProvider
}

// Queue is a work queue. Create it with New and ShutDown it when done:
// that stops its delay goroutine.
type Queue[T comparable] struct {
	name     string
	clock    clock.WithTicker
	limiter  RateLimiter[T]
	metrics  *queueMetrics
	provider *MetricsProvider

	mu         sync.Mutex
	cond       *sync.Cond
	queue      []T
	dirty      map[T]struct{}
	processing map[T]struct{}
	addedAt    map[T]time.Time
	startedAt  map[T]time.Time
	shutdown   bool

	waiting       waitHeap[T]
	waitingByItem map[T]*waitEntry[T]
	waitChanged   chan struct{}
	stop          chan struct{}
	loopDone      chan struct{}
	stopOnce      sync.Once
}

// New creates a queue and starts its delay goroutine.
func New[T comparable](cfg Config[T]) *Queue[T] {
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	limiter := cfg.RateLimiter
	if limiter == nil {
		limiter = DefaultControllerRateLimiter[T](clk)
	}
	q := &Queue[T]{
		name:          cfg.Name,
		clock:         clk,
		limiter:       limiter,
		metrics:       cfg.Metrics.forQueue(cfg.Name),
		provider:      cfg.Metrics,
		dirty:         map[T]struct{}{},
		processing:    map[T]struct{}{},
		addedAt:       map[T]time.Time{},
		startedAt:     map[T]time.Time{},
		waitingByItem: map[T]*waitEntry[T]{},
		waitChanged:   make(chan struct{}, 1),
		stop:          make(chan struct{}),
		loopDone:      make(chan struct{}),
	}
	q.cond = sync.NewCond(&q.mu)
	if q.provider != nil {
		q.provider.inflight.add(q)
	}
	go q.waitLoop()
	return q
}

// Add queues item unless it is already queued (or the queue shut down).
func (q *Queue[T]) Add(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(item)
}

func (q *Queue[T]) addLocked(item T) {
	if q.shutdown {
		return
	}
	if _, ok := q.dirty[item]; ok {
		return
	}
	if q.metrics != nil {
		q.metrics.adds.Inc()
	}
	q.dirty[item] = struct{}{}
	if _, ok := q.addedAt[item]; !ok {
		q.addedAt[item] = q.clock.Now()
	}
	if _, ok := q.processing[item]; ok {
		return // queued again by Done
	}
	q.push(item)
}

func (q *Queue[T]) push(item T) {
	q.queue = append(q.queue, item)
	if q.metrics != nil {
		q.metrics.depth.Inc()
	}
	q.cond.Signal()
}

// Len is the number of items waiting for a worker (not the delayed ones).
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// Get blocks until an item is ready and hands it out; the worker must call
// Done(item) when finished. shutdown is true (and item the zero value) once
// the queue has shut down and is empty.
func (q *Queue[T]) Get() (item T, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if len(q.queue) == 0 {
		return item, true
	}
	item = q.queue[0]
	var zero T
	q.queue[0] = zero
	q.queue = q.queue[1:]
	now := q.clock.Now()
	if q.metrics != nil {
		q.metrics.depth.Dec()
		if t, ok := q.addedAt[item]; ok {
			q.metrics.latency.Observe(now.Sub(t).Seconds())
		}
	}
	delete(q.addedAt, item)
	q.startedAt[item] = now
	q.processing[item] = struct{}{}
	delete(q.dirty, item)
	return item, false
}

// Done marks item as processed; if it was added meanwhile, it is queued
// again.
func (q *Queue[T]) Done(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t, ok := q.startedAt[item]; ok {
		if q.metrics != nil {
			q.metrics.workDuration.Observe(q.clock.Since(t).Seconds())
		}
		delete(q.startedAt, item)
	}
	delete(q.processing, item)
	if _, ok := q.dirty[item]; ok {
		q.push(item)
	}
	if len(q.processing) == 0 {
		q.cond.Broadcast() // a drain may be waiting
	}
}

// AddAfter queues item once d has passed (at once when d <= 0). Added
// again with an earlier time, the earlier one holds.
func (q *Queue[T]) AddAfter(item T, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	if d <= 0 {
		q.addLocked(item)
		return
	}
	readyAt := q.clock.Now().Add(d)
	if e, ok := q.waitingByItem[item]; ok {
		if readyAt.Before(e.readyAt) {
			e.readyAt = readyAt
			heap.Fix(&q.waiting, e.index)
		}
	} else {
		e := &waitEntry[T]{item: item, readyAt: readyAt}
		heap.Push(&q.waiting, e)
		q.waitingByItem[item] = e
	}
	select {
	case q.waitChanged <- struct{}{}:
	default:
	}
}

// AddRateLimited queues item after its rate limiter's wait: a retry.
func (q *Queue[T]) AddRateLimited(item T) {
	if q.metrics != nil {
		q.metrics.retries.Inc()
	}
	q.AddAfter(item, q.limiter.When(item))
}

// Forget resets item's retry backoff (call it when item succeeded or is
// given up).
func (q *Queue[T]) Forget(item T) { q.limiter.Forget(item) }

// NumRequeues is how often item was retried since its last Forget.
func (q *Queue[T]) NumRequeues(item T) int { return q.limiter.NumRequeues(item) }

// ShutDown stops the queue: Add is ignored from now on, waiting Gets
// return once the queue is empty, delayed items are dropped. It does not
// wait for workers.
func (q *Queue[T]) ShutDown() {
	q.mu.Lock()
	q.shutdown = true
	q.cond.Broadcast()
	q.mu.Unlock()
	q.stopLoop()
}

// ShutDownWithDrain shuts the queue down like ShutDown, then waits until
// every item handed out is Done (items still queued are handed out to
// workers that keep calling Get, which reports shutdown once the queue is
// empty).
func (q *Queue[T]) ShutDownWithDrain() {
	q.mu.Lock()
	q.shutdown = true
	q.cond.Broadcast()
	for len(q.processing) > 0 {
		q.cond.Wait()
	}
	q.mu.Unlock()
	q.stopLoop()
}

// ShuttingDown reports whether ShutDown was called.
func (q *Queue[T]) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shutdown
}

func (q *Queue[T]) stopLoop() {
	q.stopOnce.Do(func() {
		close(q.stop)
		<-q.loopDone
		if q.provider != nil {
			q.provider.inflight.remove(q)
		}
	})
}

// waitLoop moves delayed items into the queue when they are due.
func (q *Queue[T]) waitLoop() {
	defer close(q.loopDone)
	for {
		q.mu.Lock()
		now := q.clock.Now()
		for q.waiting.Len() > 0 && !q.waiting[0].readyAt.After(now) {
			e := heap.Pop(&q.waiting).(*waitEntry[T])
			delete(q.waitingByItem, e.item)
			q.addLocked(e.item)
		}
		var timerC <-chan time.Time
		var timer clock.Timer
		if q.waiting.Len() > 0 {
			timer = q.clock.NewTimer(q.waiting[0].readyAt.Sub(now))
			timerC = timer.C()
		}
		q.mu.Unlock()
		select {
		case <-q.stop:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-q.waitChanged:
		case <-timerC:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// inflight implements inflightSource.
func (q *Queue[T]) inflight() (string, float64, float64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	var sum, longest float64
	for _, t := range q.startedAt {
		d := now.Sub(t).Seconds()
		sum += d
		longest = max(longest, d)
	}
	return q.name, sum, longest
}

type waitEntry[T comparable] struct {
	item    T
	readyAt time.Time
	index   int
}

// waitHeap orders delayed items by due time.
type waitHeap[T comparable] []*waitEntry[T]

func (h waitHeap[T]) Len() int           { return len(h) }
func (h waitHeap[T]) Less(i, j int) bool { return h[i].readyAt.Before(h[j].readyAt) }
func (h waitHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *waitHeap[T]) Push(x any) {
	e := x.(*waitEntry[T])
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *waitHeap[T]) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}
