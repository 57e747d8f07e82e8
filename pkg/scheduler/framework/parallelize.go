package framework

import (
	"math"
	"sync"
	"sync/atomic"
)

// DefaultParallelism is how many goroutines filter and score nodes, as
// kube-scheduler's --parallelism.
const DefaultParallelism = 16

// Parallelizer runs work pieces on a bounded number of goroutines.
type Parallelizer struct {
	workers int
}

// NewParallelizer returns a Parallelizer of workers goroutines (at least 1).
func NewParallelizer(workers int) Parallelizer {
	return Parallelizer{workers: max(workers, 1)}
}

// chunkSize hands pieces out in chunks of about sqrt(pieces), fewer when
// that would leave workers idle, as kube-scheduler does.
func chunkSize(pieces, workers int) int {
	s := int(math.Sqrt(float64(pieces)))
	if r := pieces/workers + 1; s > r {
		s = r
	}
	return max(s, 1)
}

// Until calls fn(i) for every i in [0, pieces) on up to the Parallelizer's
// goroutines (the caller's one of them) and returns once every call has
// returned. When fn returns false no further pieces are started (calls in
// progress finish).
func (p Parallelizer) Until(pieces int, fn func(i int) bool) {
	if pieces <= 0 {
		return
	}
	chunk := chunkSize(pieces, p.workers)
	chunks := (pieces + chunk - 1) / chunk
	workers := min(p.workers, chunks)
	if workers <= 1 {
		for i := 0; i < pieces; i++ {
			if !fn(i) {
				return
			}
		}
		return
	}
	var (
		next atomic.Int64
		stop atomic.Bool
		wg   sync.WaitGroup
	)
	work := func() {
		for !stop.Load() {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			end := min((c+1)*chunk, pieces)
			for i := c * chunk; i < end; i++ {
				if !fn(i) {
					stop.Store(true)
					return
				}
			}
		}
	}
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
