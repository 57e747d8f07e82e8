package podworkers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func start(t *testing.T, w *Workers) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func TestUpdatesDuringSyncCoalesce(t *testing.T) {
	release := make(chan struct{})
	var syncs atomic.Int32
	entered := make(chan struct{}, 10)
	w := New(func(ctx context.Context, uid string) (Outcome, error) {
		n := syncs.Add(1)
		entered <- struct{}{}
		if n == 1 {
			<-release
		}
		return Outcome{}, nil
	}, nil, nil)
	start(t, w)
	w.Update("a")
	<-entered
	for range 5 {
		w.Update("a") // during the first sync: one pending slot
	}
	close(release)
	<-entered
	// No third sync follows.
	select {
	case <-entered:
		t.Fatalf("a third sync ran; updates did not coalesce")
	case <-time.After(100 * time.Millisecond):
	}
	if got := syncs.Load(); got != 2 {
		t.Fatalf("syncs = %d, want 2", got)
	}
}

func TestPodsDoNotWaitForEachOther(t *testing.T) {
	block := make(chan struct{})
	var bSynced atomic.Bool
	w := New(func(ctx context.Context, uid string) (Outcome, error) {
		if uid == "a" {
			select {
			case <-block:
			case <-ctx.Done():
			}
		} else {
			bSynced.Store(true)
		}
		return Outcome{}, nil
	}, nil, nil)
	start(t, w)
	w.Update("a")
	w.Update("b")
	waitFor(t, "b synced while a blocks", bSynced.Load)
	close(block)
}

func TestDoneEndsTheWorkerUnlessUpdated(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	w := New(func(ctx context.Context, uid string) (Outcome, error) {
		mu.Lock()
		counts[uid]++
		mu.Unlock()
		return Outcome{Done: true}, nil
	}, nil, nil)
	start(t, w)
	w.Update("a")
	waitFor(t, "worker of a ended", func() bool { return !w.Has("a") })
	w.Update("a") // a new worker
	waitFor(t, "second sync of a", func() bool { mu.Lock(); defer mu.Unlock(); return counts["a"] == 2 })
	waitFor(t, "worker of a ended again", func() bool { return !w.Has("a") })
}

func TestRequeueAndErrorBackoffFollowTheClock(t *testing.T) {
	clk := clockwork.NewFakeClock()
	var syncs atomic.Int32
	w := New(func(ctx context.Context, uid string) (Outcome, error) {
		switch syncs.Add(1) {
		case 1:
			return Outcome{RequeueAfter: 10 * time.Second}, nil
		case 2:
			return Outcome{}, errors.New("runtime down")
		}
		return Outcome{}, nil
	}, clk, nil)
	start(t, w)
	w.Update("a")
	waitFor(t, "first sync", func() bool { return syncs.Load() == 1 })
	if err := clk.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if syncs.Load() != 1 {
		t.Fatalf("requeued before its time")
	}
	clk.Advance(time.Second)
	waitFor(t, "requeued sync", func() bool { return syncs.Load() == 2 })
	if err := clk.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(ErrorBackoffInitial)
	waitFor(t, "retry after the error backoff", func() bool { return syncs.Load() == 3 })
}
