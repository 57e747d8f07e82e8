package client

import (
	"context"
	"math/rand/v2"
	"time"

	"minik8s/pkg/apis/errdefs"
)

// Backoff says how often and how long to retry, as Kubernetes' wait.Backoff.
type Backoff struct {
	// Duration is the first wait.
	Duration time.Duration
	// Factor multiplies the wait after each attempt (<= 1: constant).
	Factor float64
	// Jitter adds up to Jitter*wait at random to each wait.
	Jitter float64
	// Steps is the number of attempts (at least 1).
	Steps int
	// Cap bounds a wait (0: no bound).
	Cap time.Duration
}

// DefaultRetry is the backoff for conflicts (client-go's retry.DefaultRetry):
// 5 attempts 10 ms apart, since the next try usually wins.
func DefaultRetry() Backoff {
	return Backoff{Steps: 5, Duration: 10 * time.Millisecond, Factor: 1.0, Jitter: 0.1}
}

// DefaultBackoff is the backoff for a contended or unavailable server
// (client-go's retry.DefaultBackoff): 4 attempts, 10 ms growing fivefold.
func DefaultBackoff() Backoff {
	return Backoff{Steps: 4, Duration: 10 * time.Millisecond, Factor: 5.0, Jitter: 0.1}
}

// RetryOnConflict runs fn, a whole read-modify-write, again while it fails
// with an errdefs Conflict (a stale resourceVersion), up to b.Steps times.
// It returns fn's last error (still a Conflict when every attempt lost) or
// the context's error.
func RetryOnConflict(ctx context.Context, b Backoff, fn func() error) error {
	return OnError(ctx, b, errdefs.IsConflict, fn)
}

// OnError runs fn again while it fails with an error retriable accepts.
func OnError(ctx context.Context, b Backoff, retriable func(error) bool, fn func() error) error {
	wait := b.Duration
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !retriable(err) || attempt >= b.Steps {
			return err
		}
		d := wait
		if b.Jitter > 0 {
			d += time.Duration(b.Jitter * rand.Float64() * float64(d))
		}
		if b.Cap > 0 && d > b.Cap {
			d = b.Cap
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if b.Factor > 1 {
			wait = time.Duration(float64(wait) * b.Factor)
		}
	}
}
