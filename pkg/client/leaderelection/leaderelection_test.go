package leaderelection_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/internal/fakeapi"
	"minik8s/pkg/client/leaderelection"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// candidate is one elector running in the background.
type candidate struct {
	le       *leaderelection.LeaderElector
	leading  atomic.Bool
	leadCtx  atomic.Value // context.Context of the current term
	stopped  atomic.Int32
	cancel   context.CancelFunc
	done     chan error
	runError error
}

func start(t *testing.T, cs *client.Clientset, clk *testclock.FakeClock, id string, release bool) *candidate {
	t.Helper()
	c := &candidate{done: make(chan error, 1)}
	le, err := leaderelection.New(leaderelection.Config{
		Client:          cs.Leases(),
		Namespace:       "kube-system",
		Name:            "kube-scheduler",
		Identity:        id,
		ReleaseOnCancel: release,
		Clock:           clk,
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: func(ctx context.Context) {
				c.leadCtx.Store(ctx)
				c.leading.Store(true)
				<-ctx.Done()
				c.leading.Store(false)
			},
			OnStoppedLeading: func() { c.stopped.Add(1) },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.le = le
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() { c.done <- le.Run(ctx) }()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop cancels the candidate and waits for Run to return.
func (c *candidate) stop(t *testing.T) error {
	t.Helper()
	c.cancel()
	if c.done == nil {
		return c.runError
	}
	select {
	case err := <-c.done:
		c.done, c.runError = nil, err
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
		return nil
	}
}

func setup(t *testing.T) (*fakeapi.Env, *client.Clientset, *testclock.FakeClock) {
	t.Helper()
	fakeapi.NoLeaks(t)
	env := fakeapi.Start(t)
	cs, err := client.New(client.Config{Address: env.Address, TLS: env.ClientTLS(t, "system:kube-scheduler")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return env, cs, testclock.NewFakeClock(time.Now())
}

// step advances the clock by one second and waits until the n running
// candidates are asleep on it again (each sleeps on exactly one timer).
func step(t *testing.T, clk *testclock.FakeClock, n int) {
	t.Helper()
	stepOr(t, clk, n, func() bool { return false })
}

// stepOr is step that also stops waiting once done holds (a candidate that
// stopped no longer sleeps).
func stepOr(t *testing.T, clk *testclock.FakeClock, n int, done func() bool) {
	t.Helper()
	waitFor(t, "candidates asleep", func() bool { return clk.Waiters() == n })
	clk.Step(time.Second)
	waitFor(t, "candidates asleep again", func() bool { return clk.Waiters() == n || done() })
}

// stepUntil steps until cond holds and returns the fake time that took.
func stepUntil(t *testing.T, clk *testclock.FakeClock, n int, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	var elapsed time.Duration
	for !cond() {
		if elapsed >= limit {
			t.Fatalf("condition not met within %v of fake time", limit)
		}
		stepOr(t, clk, n, cond)
		elapsed += time.Second
	}
	return elapsed
}

func TestSecondCandidateTakesOverAfterExpiry(t *testing.T) {
	_, cs, clk := setup(t)
	a := start(t, cs, clk, "a", false)
	waitFor(t, "a leads", a.leading.Load)
	b := start(t, cs, clk, "b", false)
	waitFor(t, "b sees a", func() bool { return b.le.GetLeader() == "a" })

	// While a renews, b never leads.
	for range 30 {
		step(t, clk, 2)
		if b.leading.Load() || b.le.IsLeader() {
			t.Fatal("b leads while a renews")
		}
		if !a.le.IsLeader() {
			t.Fatal("a stopped leading while nothing failed")
		}
	}

	// a dies without releasing the lease: b takes over once the lease
	// expired, about LeaseDuration later by b's own clock.
	if err := a.stop(t); err != nil {
		t.Fatalf("a's Run = %v, want nil after its context ended", err)
	}
	if ctx := a.leadCtx.Load().(context.Context); ctx.Err() == nil || a.stopped.Load() != 1 {
		t.Fatalf("a's term: ctx err %v, OnStoppedLeading called %d times", ctx.Err(), a.stopped.Load())
	}
	// b last saw the lease change at most one jittered retry (<= 4.4 s,
	// 5 s in whole-second steps) before a died, and notices the expiry at
	// most one retry after it.
	elapsed := stepUntil(t, clk, 1, time.Minute, b.leading.Load)
	if elapsed < 10*time.Second || elapsed > 25*time.Second {
		t.Fatalf("b took over %v after a died, want about the 15s lease duration", elapsed)
	}
	lease, err := cs.Leases().Get(context.Background(), "kube-system", "kube-scheduler")
	if err != nil {
		t.Fatal(err)
	}
	if lease.GetSpec().GetHolderIdentity() != "b" || lease.GetSpec().GetLeaseTransitions() != 1 || lease.GetSpec().GetLeaseDurationSeconds() != 15 {
		t.Fatalf("lease spec after the takeover: %v", lease.GetSpec())
	}
}

func TestLeaderThatCannotRenewStops(t *testing.T) {
	env, cs, clk := setup(t)
	a := start(t, cs, clk, "a", false)
	waitFor(t, "a leads", a.leading.Load)
	var errs []error
	for range 20 {
		errs = append(errs, errdefs.Unavailable("etcd is away"))
	}
	env.Server.FailNext("Update", errs...)
	elapsed := stepUntil(t, clk, 1, time.Minute, func() bool { return !a.leading.Load() })
	if elapsed < 10*time.Second {
		t.Fatalf("a stopped leading %v after its renewals began failing, before the 10s renew deadline", elapsed)
	}
	select {
	case err := <-a.done:
		a.done, a.runError = nil, err
		if !errors.Is(err, leaderelection.ErrLeadershipLost) {
			t.Fatalf("Run = %v, want ErrLeadershipLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after losing the lease")
	}
	if ctx := a.leadCtx.Load().(context.Context); ctx.Err() == nil || a.stopped.Load() != 1 {
		t.Fatalf("a's term: ctx err %v, OnStoppedLeading called %d times", ctx.Err(), a.stopped.Load())
	}
}

func TestReleaseOnCancelHandsOverAtOnce(t *testing.T) {
	_, cs, clk := setup(t)
	a := start(t, cs, clk, "a", true)
	waitFor(t, "a leads", a.leading.Load)
	b := start(t, cs, clk, "b", false)
	waitFor(t, "b sees a", func() bool { return b.le.GetLeader() == "a" })
	step(t, clk, 2)
	if err := a.stop(t); err != nil {
		t.Fatal(err)
	}
	// IsLeader turns true as b acquires, before its renew timer starts;
	// the OnStartedLeading callback (b.leading) runs concurrently with
	// that timer, so counting steps on it could count one step too many.
	if elapsed := stepUntil(t, clk, 1, time.Minute, b.le.IsLeader); elapsed > 5*time.Second {
		t.Fatalf("b took over %v after a released the lease, want within one retry period", elapsed)
	}
	waitFor(t, "b's OnStartedLeading", b.leading.Load)
}

func TestNewValidates(t *testing.T) {
	lc := (&client.Clientset{}).Leases()
	ok := leaderelection.Config{Client: lc, Namespace: "kube-system", Name: "x", Identity: "a",
		Callbacks: leaderelection.Callbacks{OnStartedLeading: func(context.Context) {}}}
	tests := []struct {
		name   string
		mutate func(*leaderelection.Config)
		valid  bool
	}{
		{name: "defaults", mutate: func(*leaderelection.Config) {}, valid: true},
		{name: "no identity", mutate: func(c *leaderelection.Config) { c.Identity = "" }},
		{name: "no name", mutate: func(c *leaderelection.Config) { c.Name = "" }},
		{name: "no client", mutate: func(c *leaderelection.Config) { c.Client = nil }},
		{name: "no callback", mutate: func(c *leaderelection.Config) { c.Callbacks.OnStartedLeading = nil }},
		{name: "lease not longer than renew deadline", mutate: func(c *leaderelection.Config) { c.LeaseDuration = 10 * time.Second }},
		{name: "renew deadline too short for retries", mutate: func(c *leaderelection.Config) { c.RenewDeadline = 2 * time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			_, err := leaderelection.New(cfg)
			if tt.valid != (err == nil) || err != nil && !errdefs.IsInvalid(err) {
				t.Fatalf("New = %v, valid %v", err, tt.valid)
			}
		})
	}
}
