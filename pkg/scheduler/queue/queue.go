// Package queue is the scheduling queue: the pods waiting for a node, in
// kube-scheduler's three parts.
//
//   - active: pods to try now, by priority (higher first), then creation
//     time (older first);
//   - backoff: pods that failed and wait out a per-pod backoff (1 s doubling
//     to 10 s by default) before they go back to active;
//   - unschedulable: pods that fit no node; they stay until a cluster event
//     that could make them fit (a node added or changed, an assigned pod
//     deleted or finished) moves them to backoff or active, or until they
//     have waited MaxInUnschedulable.
//
// A popped pod is in flight until the scheduler reports Done (it was
// assumed onto a node) or Requeue (it failed). Updates to an in-flight pod
// are kept for its requeue; a pod deleted or bound elsewhere is dropped
// wherever it is. If a move event arrives while a pod is in flight, a
// failed pod goes to backoff rather than unschedulable, so the event is not
// missed.
//
// Time comes from an injected clock; Run flushes the backoff queue every
// second and the unschedulable pods every 30 s, as kube-scheduler does.
package queue

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

// Defaults, as kube-scheduler's.
const (
	DefaultInitialBackoff     = time.Second
	DefaultMaxBackoff         = 10 * time.Second
	DefaultMaxInUnschedulable = 5 * time.Minute
	backoffFlushPeriod        = time.Second
	unschedulableFlushPeriod  = 30 * time.Second
)

// Cluster events that move unschedulable pods (the names kube-scheduler
// logs and labels metrics with).
const (
	EventNodeAdd              = "NodeAdd"
	EventNodeUpdate           = "NodeUpdate"
	EventAssignedPodDelete    = "AssignedPodDelete"
	EventAssignedPodUpdate    = "AssignedPodUpdate"
	EventUnschedulableTimeout = "UnschedulableTimeout"
)

// Queue names, as scheduler_pending_pods labels them.
const (
	QueueActive        = "active"
	QueueBackoff       = "backoff"
	QueueUnschedulable = "unschedulable"
	QueueGated         = "gated"
)

// QueuedPodInfo is a pod in the queue with its scheduling history.
type QueuedPodInfo struct {
	*framework.PodInfo
	// Timestamp is when the pod last entered the queue (its backoff counts
	// from here).
	Timestamp time.Time
	// FirstSeen is when the queue first saw the pod (the SLI starts here).
	FirstSeen time.Time
	// Attempts counts scheduling attempts (Pop increments it).
	Attempts int
	// created is the pod's creation time, the active queue's order.
	created time.Time
}

// flight is a popped pod: the caller owns qp (the queue does not touch
// it) until Done or Requeue; updates meanwhile are kept in latest.
type flight struct {
	qp     *QueuedPodInfo
	latest *framework.PodInfo
}

// Config tunes a queue. Zero values mean the defaults.
type Config struct {
	Clock              clock.WithTicker
	InitialBackoff     time.Duration
	MaxBackoff         time.Duration
	MaxInUnschedulable time.Duration
}

// PriorityQueue is the scheduling queue. It is safe for concurrent use.
type PriorityQueue struct {
	clock              clock.WithTicker
	initialBackoff     time.Duration
	maxBackoff         time.Duration
	maxInUnschedulable time.Duration

	mu            sync.Mutex
	cond          *sync.Cond
	active        *podHeap
	backoff       *podHeap
	unschedulable map[string]*QueuedPodInfo
	inFlight      map[string]*flight
	// schedulingCycle counts Pops; moveRequestCycle is the cycle of the
	// last move event.
	schedulingCycle  int64
	moveRequestCycle int64
	closed           bool
}

// New returns an empty queue.
func New(cfg Config) *PriorityQueue {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxInUnschedulable <= 0 {
		cfg.MaxInUnschedulable = DefaultMaxInUnschedulable
	}
	q := &PriorityQueue{
		clock:              cfg.Clock,
		initialBackoff:     cfg.InitialBackoff,
		maxBackoff:         cfg.MaxBackoff,
		maxInUnschedulable: cfg.MaxInUnschedulable,
		unschedulable:      map[string]*QueuedPodInfo{},
		inFlight:           map[string]*flight{},
		moveRequestCycle:   -1,
	}
	q.cond = sync.NewCond(&q.mu)
	q.active = newPodHeap(activeLess)
	q.backoff = newPodHeap(q.backoffLess)
	return q
}

// activeLess orders by priority (higher first), then creation time, then
// first seen, then key.
func activeLess(a, b *QueuedPodInfo) bool {
	pa, pb := a.Pod.GetSpec().GetPriority(), b.Pod.GetSpec().GetPriority()
	if pa != pb {
		return pa > pb
	}
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	if !a.FirstSeen.Equal(b.FirstSeen) {
		return a.FirstSeen.Before(b.FirstSeen)
	}
	return a.Key < b.Key
}

func (q *PriorityQueue) backoffLess(a, b *QueuedPodInfo) bool {
	return q.backoffExpiry(a).Before(q.backoffExpiry(b))
}

// backoffDuration is initial * 2^(attempts-1), capped at the maximum.
func (q *PriorityQueue) backoffDuration(p *QueuedPodInfo) time.Duration {
	d := q.initialBackoff
	for i := 1; i < p.Attempts; i++ {
		if d > q.maxBackoff-d {
			return q.maxBackoff
		}
		d += d
	}
	return min(d, q.maxBackoff)
}

func (q *PriorityQueue) backoffExpiry(p *QueuedPodInfo) time.Time {
	return p.Timestamp.Add(q.backoffDuration(p))
}

func (q *PriorityQueue) backingOff(p *QueuedPodInfo, now time.Time) bool {
	return q.backoffExpiry(p).After(now)
}

func creationTime(pod *v1.Pod) time.Time {
	if ts := pod.GetMetadata().GetCreationTimestamp(); ts != nil {
		return ts.AsTime()
	}
	return time.Time{}
}

// Add queues a new unscheduled pod (or updates it when already known).
func (q *PriorityQueue) Add(pod *v1.Pod) {
	q.update(pod, true)
}

// Update replaces a queued pod's object. A pod waiting as unschedulable
// whose spec or labels changed is moved to backoff or active (the change
// may make it fit); a status-only change (such as the scheduler's own
// PodScheduled=False) leaves it where it is. An unknown pod is added.
func (q *PriorityQueue) Update(pod *v1.Pod) {
	q.update(pod, false)
}

func (q *PriorityQueue) update(pod *v1.Pod, isAdd bool) {
	pi := framework.NewPodInfo(pod)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	now := q.clock.Now()
	key := pi.Key
	if f, ok := q.inFlight[key]; ok {
		f.latest = pi
		return
	}
	if p, ok := q.active.Get(key); ok {
		p.PodInfo = pi
		p.created = creationTime(pod)
		q.active.AddOrUpdate(p)
		return
	}
	if p, ok := q.backoff.Get(key); ok {
		p.PodInfo = pi
		p.created = creationTime(pod)
		q.backoff.AddOrUpdate(p)
		return
	}
	if p, ok := q.unschedulable[key]; ok {
		changed := !isAdd && podChanged(p.Pod, pod)
		p.PodInfo = pi
		p.created = creationTime(pod)
		if changed {
			delete(q.unschedulable, key)
			if q.backingOff(p, now) {
				q.backoff.AddOrUpdate(p)
			} else {
				q.active.AddOrUpdate(p)
				q.cond.Broadcast()
			}
		}
		return
	}
	q.active.AddOrUpdate(&QueuedPodInfo{PodInfo: pi, Timestamp: now, FirstSeen: now, created: creationTime(pod)})
	q.cond.Broadcast()
}

// podChanged: the spec or the labels differ (what could change a
// scheduling decision).
func podChanged(old, cur *v1.Pod) bool {
	if !proto.Equal(old.GetSpec(), cur.GetSpec()) {
		return true
	}
	ol, cl := old.GetMetadata().GetLabels(), cur.GetMetadata().GetLabels()
	if len(ol) != len(cl) {
		return true
	}
	for k, v := range ol {
		if w, ok := cl[k]; !ok || w != v {
			return true
		}
	}
	return false
}

// Delete drops pod key wherever it is (deleted, or bound by someone else).
// An in-flight pod is forgotten: its Requeue does nothing.
func (q *PriorityQueue) Delete(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inFlight, key)
	q.active.Delete(key)
	q.backoff.Delete(key)
	delete(q.unschedulable, key)
}

// Pop waits for a pod in the active queue and returns it, now in flight;
// false once the queue is closed.
func (q *PriorityQueue) Pop() (*QueuedPodInfo, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, false
	}
	p := q.active.Pop()
	p.Attempts++
	q.schedulingCycle++
	q.inFlight[p.Key] = &flight{qp: p}
	return p, true
}

// SchedulingCycle is the number of Pops so far: the cycle of the pod Pop
// returned last.
func (q *PriorityQueue) SchedulingCycle() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.schedulingCycle
}

// Done ends the flight of pod key with uid (it was bound, or dropped). When
// the in-flight pod was meanwhile replaced by a new pod of the same name
// (another uid), the new pod is queued as active instead.
func (q *PriorityQueue) Done(key, uid string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	f, ok := q.inFlight[key]
	if !ok {
		return
	}
	delete(q.inFlight, key)
	if f.latest != nil && f.latest.UID() != uid && !q.closed {
		now := q.clock.Now()
		q.active.AddOrUpdate(&QueuedPodInfo{PodInfo: f.latest, Timestamp: now, FirstSeen: now, created: creationTime(f.latest.Pod)})
		q.cond.Broadcast()
	}
}

// Requeue puts a pod that failed back: to backoff after an error, or when
// a move event came while it was in flight (cycle is the scheduling cycle
// it was popped in); to unschedulable otherwise. It keeps the latest update
// of the pod, and does nothing when the pod was deleted meanwhile or is not
// in flight. The caller must not touch the QueuedPodInfo afterwards.
func (q *PriorityQueue) Requeue(key string, unschedulable bool, cycle int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	f, ok := q.inFlight[key]
	if !ok || q.closed {
		return
	}
	delete(q.inFlight, key)
	p := f.qp
	if f.latest != nil {
		p.PodInfo = f.latest
		p.created = creationTime(f.latest.Pod)
	}
	p.Timestamp = q.clock.Now()
	if !unschedulable || q.moveRequestCycle >= cycle {
		q.backoff.AddOrUpdate(p)
		return
	}
	q.unschedulable[key] = p
}

// MoveAllToActiveOrBackoffQueue moves every unschedulable pod to active
// (or to backoff while its backoff lasts): a cluster event may have made
// it fit.
func (q *PriorityQueue) MoveAllToActiveOrBackoffQueue(event string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.moveRequestCycle = q.schedulingCycle
	if len(q.unschedulable) == 0 {
		return
	}
	now := q.clock.Now()
	moved := false
	for key, p := range q.unschedulable {
		delete(q.unschedulable, key)
		if q.backingOff(p, now) {
			q.backoff.AddOrUpdate(p)
		} else {
			q.active.AddOrUpdate(p)
			moved = true
		}
	}
	if moved {
		q.cond.Broadcast()
	}
}

// FlushBackoffCompleted moves the pods whose backoff has expired to active.
func (q *PriorityQueue) FlushBackoffCompleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	moved := false
	for p := q.backoff.Peek(); p != nil && !q.backingOff(p, now); p = q.backoff.Peek() {
		q.backoff.Pop()
		q.active.AddOrUpdate(p)
		moved = true
	}
	if moved {
		q.cond.Broadcast()
	}
}

// FlushUnschedulableLeftover moves pods that have been unschedulable for
// longer than MaxInUnschedulable to backoff or active.
func (q *PriorityQueue) FlushUnschedulableLeftover() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	moved := false
	for key, p := range q.unschedulable {
		if now.Sub(p.Timestamp) <= q.maxInUnschedulable {
			continue
		}
		delete(q.unschedulable, key)
		if q.backingOff(p, now) {
			q.backoff.AddOrUpdate(p)
		} else {
			q.active.AddOrUpdate(p)
			moved = true
		}
	}
	if moved {
		q.cond.Broadcast()
	}
}

// Run flushes the backoff queue every second and the unschedulable pods
// every 30 s until ctx ends, then closes the queue (Pop returns false).
func (q *PriorityQueue) Run(ctx context.Context) {
	backoffTick := q.clock.NewTicker(backoffFlushPeriod)
	defer backoffTick.Stop()
	leftoverTick := q.clock.NewTicker(unschedulableFlushPeriod)
	defer leftoverTick.Stop()
	for {
		select {
		case <-ctx.Done():
			q.Close()
			return
		case <-backoffTick.C():
			q.FlushBackoffCompleted()
		case <-leftoverTick.C():
			q.FlushUnschedulableLeftover()
		}
	}
}

// Close wakes every Pop, which returns false from now on.
func (q *PriorityQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Pending counts the pods in each queue (QueueActive, QueueBackoff,
// QueueUnschedulable, QueueGated); in-flight pods are in none.
func (q *PriorityQueue) Pending() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return map[string]int{
		QueueActive:        q.active.Len(),
		QueueBackoff:       q.backoff.Len(),
		QueueUnschedulable: len(q.unschedulable),
		QueueGated:         0,
	}
}

// Where says which queue holds pod key ("inFlight", a queue name, or "").
func (q *PriorityQueue) Where(key string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.inFlight[key] != nil:
		return "inFlight"
	case q.unschedulable[key] != nil:
		return QueueUnschedulable
	}
	if _, ok := q.active.Get(key); ok {
		return QueueActive
	}
	if _, ok := q.backoff.Get(key); ok {
		return QueueBackoff
	}
	return ""
}
