package storage

import (
	"context"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	clocktesting "k8s.io/utils/clock/testing"

	"minik8s/pkg/storage/etcdtest"
)

func TestLeaseManagerReusesLeaseForAWindow(t *testing.T) {
	cli := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	granted := func(id clientv3.LeaseID) int64 {
		t.Helper()
		resp, err := cli.TimeToLive(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return resp.GrantedTTL
	}
	tests := []struct {
		name        string
		ttl         time.Duration
		wantReuse   time.Duration
		wantGranted int64 // seconds
	}{
		// 5% of an hour is three minutes: the window is capped at one.
		{"hour", time.Hour, time.Minute, 3660},
		{"100s", 100 * time.Second, 5 * time.Second, 105},
		// Under 20s the window is under a second: every write gets its own
		// lease, rounded up to whole seconds.
		{"1.5s", 1500 * time.Millisecond, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(time.Now())
			m := newLeaseManager(cli.Lease, clk, tt.ttl, nil)
			get := func() clientv3.LeaseID {
				t.Helper()
				id, err := m.get(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			first := get()
			if got := granted(first); got != tt.wantGranted {
				t.Fatalf("lease granted for %ds, want %ds (TTL + reuse window)", got, tt.wantGranted)
			}
			if tt.wantReuse == 0 {
				if second := get(); second == first {
					t.Fatal("a lease was reused without a reuse window")
				}
				return
			}
			clk.SetTime(clk.Now().Add(tt.wantReuse - time.Millisecond))
			if second := get(); second != first {
				t.Fatalf("within the window: lease %x, want %x again", second, first)
			}
			clk.SetTime(clk.Now().Add(time.Millisecond))
			if third := get(); third == first {
				t.Fatal("the lease was reused after its window")
			}
		})
	}
}

func TestLeaseManagerCapsObjectsPerLease(t *testing.T) {
	cli := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := newLeaseManager(cli.Lease, clocktesting.NewFakePassiveClock(time.Now()), time.Hour, nil)
	m.maxObjects = 3
	var ids []clientv3.LeaseID
	for range 4 {
		id, err := m.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] || ids[3] == ids[0] {
		t.Fatalf("leases %x: want the first three shared, the fourth new", ids)
	}
}

func TestLeaseManagerForgetsRevokedLease(t *testing.T) {
	cli := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := newLeaseManager(cli.Lease, clocktesting.NewFakePassiveClock(time.Now()), time.Hour, nil)
	first, err := m.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.forget(first + 1) // not the current lease: nothing changes
	if again, err := m.get(ctx); err != nil || again != first {
		t.Fatalf("after forgetting another lease: %x, %v; want %x", again, err, first)
	}
	m.forget(first)
	if next, err := m.get(ctx); err != nil || next == first {
		t.Fatalf("after forgetting the lease: %x, %v; want a new one", next, err)
	}
}

func TestLeaseManagerGrantsOnceForConcurrentWrites(t *testing.T) {
	cli := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := newLeaseManager(cli.Lease, clocktesting.NewFakePassiveClock(time.Now()), time.Hour, nil)
	const n = 50
	ids := make([]clientv3.LeaseID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = m.get(ctx) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("concurrent writes got leases %x and %x, want one", ids[0], ids[i])
		}
	}
	resp, err := cli.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Leases) != 1 {
		t.Fatalf("etcd holds %d leases, want 1", len(resp.Leases))
	}
}
