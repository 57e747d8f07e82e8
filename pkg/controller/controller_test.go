package controller_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client/workqueue"
	"minik8s/pkg/controller"
	"minik8s/pkg/controller/controllertest"
)

func TestRunWorkersRetriesAndStops(t *testing.T) {
	q := workqueue.New(workqueue.Config[string]{Name: "test", RateLimiter: workqueue.NewItemExponentialFailureRateLimiter[string](time.Millisecond, 10*time.Millisecond)})
	var mu sync.Mutex
	calls := map[string]int{}
	inFlight := map[string]bool{}
	done := make(chan struct{})
	syncFn := func(_ context.Context, key string) error {
		mu.Lock()
		if inFlight[key] {
			mu.Unlock()
			t.Errorf("key %s handed to two workers at once", key)
			return nil
		}
		inFlight[key] = true
		calls[key]++
		n := calls[key]
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		inFlight[key] = false
		all := calls["conflict"] >= 3 && calls["broken"] >= 2 && calls["fine"] >= 1
		mu.Unlock()
		if all {
			select {
			case <-done:
			default:
				close(done)
			}
		}
		switch {
		case key == "conflict" && n < 3:
			return errdefs.Conflict("stale")
		case key == "broken" && n < 2:
			return errors.New("boom")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		controller.RunWorkers(ctx, q, 4, syncFn, zap.NewNop())
		close(stopped)
	}()
	for _, k := range []string{"conflict", "broken", "fine", "fine", "fine"} {
		q.Add(k)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("keys not retried to success: %v", calls)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("RunWorkers did not return after its context ended")
	}
	if !q.ShuttingDown() {
		t.Fatal("queue not shut down")
	}
	if n := q.NumRequeues("conflict"); n != 0 {
		t.Fatalf("backoff of a key that succeeded not forgotten: %d", n)
	}
}

func TestIsPodAvailable(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ready := func(since time.Time) *v1.Pod { return controllertest.ReadyPod(&v1.Pod{}, since) }
	tests := []struct {
		name     string
		pod      *v1.Pod
		minReady int32
		want     bool
	}{
		{"ready, no minReadySeconds", ready(now), 0, true},
		{"ready long enough", ready(now.Add(-10 * time.Second)), 10, true},
		{"ready too recently", ready(now.Add(-9 * time.Second)), 10, false},
		{"not ready", &v1.Pod{Status: &v1.PodStatus{Phase: "Running"}}, 0, false},
	}
	for _, tt := range tests {
		if got := controller.IsPodAvailable(tt.pod, tt.minReady, now); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	terminating := ready(now)
	terminating.Metadata = &v1.ObjectMeta{DeletionTimestamp: controllertest.Time(now)}
	for _, p := range []*v1.Pod{terminating, {Status: &v1.PodStatus{Phase: "Succeeded"}}, {Status: &v1.PodStatus{Phase: "Failed"}}} {
		if controller.IsPodActive(p) {
			t.Errorf("pod %v counted as active", p)
		}
	}
}
