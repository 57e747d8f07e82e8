package workqueue

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/clock"
)

// RateLimiter says how long an item waits before its next retry.
type RateLimiter[T comparable] interface {
	// When records a failure of item and returns its wait.
	When(item T) time.Duration
	// Forget clears item's failures (it succeeded or was given up).
	Forget(item T)
	// NumRequeues is item's number of failures since the last Forget.
	NumRequeues(item T) int
}

// DefaultControllerRateLimiter is Kubernetes' default for controllers: the
// larger of a per-item exponential backoff (5 ms doubling to 1000 s) and an
// overall token bucket (10 qps, burst 100).
func DefaultControllerRateLimiter[T comparable](clk clock.PassiveClock) RateLimiter[T] {
	return NewMaxOfRateLimiter(
		NewItemExponentialFailureRateLimiter[T](5*time.Millisecond, 1000*time.Second),
		NewBucketRateLimiter[T](10, 100, clk),
	)
}

// ItemExponentialFailureRateLimiter waits base*2^failures, capped at max.
type ItemExponentialFailureRateLimiter[T comparable] struct {
	mu       sync.Mutex
	failures map[T]int
	base     time.Duration
	max      time.Duration
}

// NewItemExponentialFailureRateLimiter backs each item off on its own.
func NewItemExponentialFailureRateLimiter[T comparable](base, max time.Duration) *ItemExponentialFailureRateLimiter[T] {
	return &ItemExponentialFailureRateLimiter[T]{failures: map[T]int{}, base: base, max: max}
}

// When implements RateLimiter.
func (r *ItemExponentialFailureRateLimiter[T]) When(item T) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	exp := r.failures[item]
	r.failures[item]++
	backoff := float64(r.base.Nanoseconds()) * math.Pow(2, float64(exp))
	if backoff > float64(r.max) || backoff > math.MaxInt64 {
		return r.max
	}
	return time.Duration(backoff)
}

// Forget implements RateLimiter.
func (r *ItemExponentialFailureRateLimiter[T]) Forget(item T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, item)
}

// NumRequeues implements RateLimiter.
func (r *ItemExponentialFailureRateLimiter[T]) NumRequeues(item T) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[item]
}

// BucketRateLimiter spreads all retries with a token bucket; it keeps no
// per-item state.
type BucketRateLimiter[T comparable] struct {
	limiter *rate.Limiter
	clock   clock.PassiveClock
}

// NewBucketRateLimiter allows qps retries a second with bursts of burst.
func NewBucketRateLimiter[T comparable](qps float64, burst int, clk clock.PassiveClock) *BucketRateLimiter[T] {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &BucketRateLimiter[T]{limiter: rate.NewLimiter(rate.Limit(qps), burst), clock: clk}
}

// When implements RateLimiter.
func (r *BucketRateLimiter[T]) When(T) time.Duration {
	now := r.clock.Now()
	return r.limiter.ReserveN(now, 1).DelayFrom(now)
}

// Forget implements RateLimiter.
func (r *BucketRateLimiter[T]) Forget(T) {}

// NumRequeues implements RateLimiter.
func (r *BucketRateLimiter[T]) NumRequeues(T) int { return 0 }

// MaxOfRateLimiter waits as long as the longest of its limiters.
type MaxOfRateLimiter[T comparable] struct {
	limiters []RateLimiter[T]
}

// NewMaxOfRateLimiter combines limiters.
func NewMaxOfRateLimiter[T comparable](limiters ...RateLimiter[T]) *MaxOfRateLimiter[T] {
	return &MaxOfRateLimiter[T]{limiters: limiters}
}

// When implements RateLimiter.
func (r *MaxOfRateLimiter[T]) When(item T) time.Duration {
	var d time.Duration
	for _, l := range r.limiters {
		d = max(d, l.When(item))
	}
	return d
}

// Forget implements RateLimiter.
func (r *MaxOfRateLimiter[T]) Forget(item T) {
	for _, l := range r.limiters {
		l.Forget(item)
	}
}

// NumRequeues implements RateLimiter.
func (r *MaxOfRateLimiter[T]) NumRequeues(item T) int {
	n := 0
	for _, l := range r.limiters {
		n = max(n, l.NumRequeues(item))
	}
	return n
}

var (
	_ RateLimiter[string] = (*ItemExponentialFailureRateLimiter[string])(nil)
	_ RateLimiter[string] = (*BucketRateLimiter[string])(nil)
	_ RateLimiter[string] = (*MaxOfRateLimiter[string])(nil)
)
