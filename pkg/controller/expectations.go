package controller

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ExpectationsTimeout is how long expectations hold at most: a watch
// event that never comes (a create the apiserver dropped) delays a
// controller by this much, not forever. Kubernetes' value.
const ExpectationsTimeout = 5 * time.Minute

// Expectations remember, per controller key, the creations and deletions
// a controller has asked for and not yet seen in its informer cache, as
// client-go's UIDTrackingControllerExpectations. While any are pending
// the cache is known to be behind, and the controller must not act on it
// again (it would create or delete twice). Safe for concurrent use.
type Expectations struct {
	clock clock.PassiveClock

	mu    sync.Mutex
	items map[string]*expectation
}

type expectation struct {
	add, del  int64
	deleting  map[string]struct{} // keys of the objects whose deletion is expected
	timestamp time.Time
}

// NewExpectations returns empty expectations on clk (nil: the real clock).
func NewExpectations(clk clock.PassiveClock) *Expectations {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Expectations{clock: clk, items: map[string]*expectation{}}
}

// Satisfied reports whether the controller of key may act: it has no
// expectations, they were all observed, or they expired.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.items[key]
	if !ok {
		return true
	}
	if x.add <= 0 && x.del <= 0 {
		return true
	}
	return e.clock.Since(x.timestamp) > ExpectationsTimeout
}

// ExpectCreations records that n creations were requested for key,
// replacing what was expected before.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.items[key] = &expectation{add: int64(n), timestamp: e.clock.Now()}
}

// ExpectDeletions records that the objects with the given keys are being
// deleted for key, replacing what was expected before.
func (e *Expectations) ExpectDeletions(key string, objectKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	set := make(map[string]struct{}, len(objectKeys))
	for _, k := range objectKeys {
		set[k] = struct{}{}
	}
	e.items[key] = &expectation{del: int64(len(set)), deleting: set, timestamp: e.clock.Now()}
}

// CreationObserved lowers the pending creations of key by one: a created
// object reached the cache, or a creation failed or was skipped.
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.items[key]; ok && x.add > 0 {
		x.add--
	}
}

// DeletionObserved lowers the pending deletions of key by one if the
// object objectKey was expected to go; a deletion seen twice (an update
// setting deletionTimestamp, then the delete) counts once.
func (e *Expectations) DeletionObserved(key, objectKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.items[key]
	if !ok {
		return
	}
	if _, expected := x.deleting[objectKey]; expected {
		delete(x.deleting, objectKey)
		if x.del > 0 {
			x.del--
		}
	}
}

// Delete forgets key (its controller object is gone).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.items, key)
}

// Pending returns the creations and deletions still expected for key.
func (e *Expectations) Pending(key string) (add, del int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.items[key]; ok {
		return x.add, x.del
	}
	return 0, 0
}
