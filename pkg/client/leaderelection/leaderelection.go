// Package leaderelection elects one leader among replicas of a component
// through a Lease object on the apiserver, as Kubernetes' leaderelection
// does (coordination.k8s.io Lease, holderIdentity, renewTime).
//
// A candidate acquires the lease when it is absent, released (no holder) or
// expired: not renewed for leaseDurationSeconds as measured by the
// candidate's own clock since it last saw the lease change (so clocks of
// different machines need not agree). The leader renews every RetryPeriod;
// when it cannot renew for RenewDeadline, or sees another holder, it stops
// leading: the context given to OnStartedLeading is cancelled. Kubernetes'
// timings are the defaults: LeaseDuration 15 s, RenewDeadline 10 s,
// RetryPeriod 2 s. Every write carries the resourceVersion it read, so two
// candidates can never both win one round.
package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

// Kubernetes' defaults.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	// jitterFactor spreads the retries of candidates, as client-go's 1.2.
	jitterFactor = 1.2
)

// ErrLeadershipLost is what Run returns when the leader stops leading for
// another reason than its context ending.
var ErrLeadershipLost = errors.New("leader election lost")

// LeaseClient is what the elector needs of the apiserver;
// client.Clientset.Leases() satisfies it.
type LeaseClient interface {
	Get(ctx context.Context, namespace, name string) (*v1.Lease, error)
	Create(ctx context.Context, lease *v1.Lease) (*v1.Lease, error)
	Update(ctx context.Context, lease *v1.Lease) (*v1.Lease, error)
}

// Callbacks are called by Run.
type Callbacks struct {
	// OnStartedLeading runs in its own goroutine once leadership is
	// acquired; ctx is cancelled when it is lost (or Run's ctx ends). Run
	// waits for it to return, so it must return soon after ctx ends.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading is called once leadership ended (only if it was
	// acquired), after OnStartedLeading returned.
	OnStoppedLeading func()
	// OnNewLeader, optional, is called when a different holder is seen,
	// including this candidate. It must return quickly.
	OnNewLeader func(identity string)
}

// Config describes a candidate.
type Config struct {
	Client LeaseClient
	// Namespace and Name of the Lease ("kube-system", "kube-scheduler").
	Namespace string
	Name      string
	// Identity of this candidate, unique among them (hostname_uuid).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod: 0 means Kubernetes'
	// default. LeaseDuration > RenewDeadline > RetryPeriod*jitterFactor.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// ReleaseOnCancel gives the lease up when Run's ctx ends while
	// leading, so another candidate takes over at once instead of after
	// LeaseDuration. Only safe when OnStartedLeading's work has stopped by
	// then, which Run guarantees.
	ReleaseOnCancel bool
	Callbacks       Callbacks
	// Clock; nil means the real clock.
	Clock clock.Clock
	// Logger; nil means none.
	Logger *zap.Logger
}

// LeaderElector is one candidate.
type LeaderElector struct {
	cfg Config
	lg  *zap.Logger

	// Touched only by Run's goroutine.
	observed     *v1.Lease
	observedTime time.Time

	leader  atomic.Value // string: the holder last seen
	running atomic.Bool
}

// New validates cfg.
func New(cfg Config) (*LeaderElector, error) {
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = DefaultRenewDeadline
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = DefaultRetryPeriod
	}
	switch {
	case cfg.Client == nil:
		return nil, errdefs.Invalid("leader election: no lease client")
	case cfg.Name == "" || cfg.Namespace == "":
		return nil, errdefs.Invalid("leader election: the lease needs a namespace and a name")
	case cfg.Identity == "":
		return nil, errdefs.Invalid("leader election: no identity")
	case cfg.LeaseDuration <= cfg.RenewDeadline:
		return nil, errdefs.Invalid("leader election: leaseDuration %v must be greater than renewDeadline %v", cfg.LeaseDuration, cfg.RenewDeadline)
	case float64(cfg.RenewDeadline) <= jitterFactor*float64(cfg.RetryPeriod):
		return nil, errdefs.Invalid("leader election: renewDeadline %v must be greater than retryPeriod*%v", cfg.RenewDeadline, jitterFactor)
	case cfg.Callbacks.OnStartedLeading == nil:
		return nil, errdefs.Invalid("leader election: OnStartedLeading is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	le := &LeaderElector{cfg: cfg, lg: lg.With(zap.String("lease", cfg.Namespace+"/"+cfg.Name), zap.String("identity", cfg.Identity))}
	le.leader.Store("")
	return le, nil
}

// IsLeader reports whether this candidate held the lease when last seen.
func (le *LeaderElector) IsLeader() bool { return le.GetLeader() == le.cfg.Identity }

// GetLeader is the holder last seen ("" when none).
func (le *LeaderElector) GetLeader() string { return le.leader.Load().(string) }

// Run campaigns until it leads, leads until it loses the lease or ctx ends,
// and returns: nil when ctx ended, ErrLeadershipLost when the lease was
// lost. It runs once.
func (le *LeaderElector) Run(ctx context.Context) error {
	if !le.running.CompareAndSwap(false, true) {
		return errdefs.Precondition("leader election: Run called twice")
	}
	if !le.acquire(ctx) {
		return nil
	}
	le.lg.Info("Acquired the lease")
	leadCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { le.cfg.Callbacks.OnStartedLeading(leadCtx) })
	lost := le.renew(leadCtx)
	cancel()
	wg.Wait()
	if !lost && le.cfg.ReleaseOnCancel {
		le.release()
	}
	le.setLeader("")
	if le.cfg.Callbacks.OnStoppedLeading != nil {
		le.cfg.Callbacks.OnStoppedLeading()
	}
	if lost {
		le.lg.Info("Lost the lease")
		return ErrLeadershipLost
	}
	return nil
}

// sleep waits d on the clock; false when ctx ended first.
func (le *LeaderElector) sleep(ctx context.Context, d time.Duration) bool {
	t := le.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

func (le *LeaderElector) jittered() time.Duration {
	return le.cfg.RetryPeriod + time.Duration(rand.Float64()*jitterFactor*float64(le.cfg.RetryPeriod))
}

// acquire tries every RetryPeriod (jittered) until it holds the lease;
// false when ctx ended first.
func (le *LeaderElector) acquire(ctx context.Context) bool {
	for {
		if ok, err := le.tryAcquireOrRenew(ctx); ok {
			return true
		} else if err != nil {
			le.lg.Info("Could not acquire the lease", zap.Error(err))
		}
		if !le.sleep(ctx, le.jittered()) {
			return false
		}
	}
}

// renew renews every RetryPeriod until it cannot for RenewDeadline or
// another holder shows up (lost = true), or ctx ends (lost = false).
func (le *LeaderElector) renew(ctx context.Context) (lost bool) {
	lastRenew := le.cfg.Clock.Now()
	for {
		if !le.sleep(ctx, le.cfg.RetryPeriod) {
			return false
		}
		ok, err := le.tryAcquireOrRenew(ctx)
		if ctx.Err() != nil {
			return false
		}
		if ok {
			lastRenew = le.cfg.Clock.Now()
			continue
		}
		if h := le.GetLeader(); h != "" && h != le.cfg.Identity {
			le.lg.Info("Another candidate holds the lease", zap.String("holder", h))
			return true
		}
		if le.cfg.Clock.Since(lastRenew) >= le.cfg.RenewDeadline {
			le.lg.Warn("Could not renew the lease within the renew deadline", zap.Error(err), zap.Duration("renewDeadline", le.cfg.RenewDeadline))
			return true
		}
		le.lg.Info("Could not renew the lease; retrying", zap.Error(err))
	}
}

func (le *LeaderElector) setLeader(h string) {
	if old := le.GetLeader(); old != h {
		le.leader.Store(h)
		if h != "" && le.cfg.Callbacks.OnNewLeader != nil {
			le.cfg.Callbacks.OnNewLeader(h)
		}
	}
}

// observe records the lease as seen now, restarting the expiry clock when
// it changed.
func (le *LeaderElector) observe(lease *v1.Lease, now time.Time) {
	if le.observed == nil || !proto.Equal(le.observed.GetSpec(), lease.GetSpec()) ||
		le.observed.GetMetadata().GetResourceVersion() != lease.GetMetadata().GetResourceVersion() {
		le.observed = lease
		le.observedTime = now
	}
	le.setLeader(lease.GetSpec().GetHolderIdentity())
}

// tryAcquireOrRenew makes one attempt: true when this candidate holds the
// lease afterwards. Each call bounds its RPCs by RenewDeadline.
func (le *LeaderElector) tryAcquireOrRenew(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, le.cfg.RenewDeadline)
	defer cancel()
	now := le.cfg.Clock.Now()
	durationSeconds := int32(le.cfg.LeaseDuration / time.Second)

	lease, err := le.cfg.Client.Get(ctx, le.cfg.Namespace, le.cfg.Name)
	if errdefs.IsNotFound(err) {
		created, err := le.cfg.Client.Create(ctx, &v1.Lease{
			Metadata: &v1.ObjectMeta{Name: le.cfg.Name, Namespace: le.cfg.Namespace},
			Spec: &v1.LeaseSpec{
				HolderIdentity:       le.cfg.Identity,
				LeaseDurationSeconds: durationSeconds,
				AcquireTime:          timestamppb.New(now),
				RenewTime:            timestamppb.New(now),
			},
		})
		if err != nil {
			return false, fmt.Errorf("create lease: %w", err)
		}
		le.observe(created, now)
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("get lease: %w", err)
	}
	le.observe(lease, now)

	spec := lease.GetSpec()
	holder := spec.GetHolderIdentity()
	if holder != "" && holder != le.cfg.Identity {
		expiry := le.observedTime.Add(time.Duration(spec.GetLeaseDurationSeconds()) * time.Second)
		if expiry.After(now) {
			return false, nil // held by another, not expired
		}
		le.lg.Info("Taking over an expired lease", zap.String("holder", holder))
	}

	next := proto.Clone(lease).(*v1.Lease)
	if next.Spec == nil {
		next.Spec = &v1.LeaseSpec{}
	}
	if holder != le.cfg.Identity {
		next.Spec.HolderIdentity = le.cfg.Identity
		next.Spec.AcquireTime = timestamppb.New(now)
		next.Spec.LeaseTransitions++
	}
	next.Spec.LeaseDurationSeconds = durationSeconds
	next.Spec.RenewTime = timestamppb.New(now)
	updated, err := le.cfg.Client.Update(ctx, next)
	if err != nil {
		return false, fmt.Errorf("update lease: %w", err)
	}
	le.observe(updated, now)
	return true, nil
}

// release gives the lease up (no holder, 1 s duration), so that another
// candidate need not wait for it to expire.
func (le *LeaderElector) release() {
	if le.observed == nil || le.observed.GetSpec().GetHolderIdentity() != le.cfg.Identity {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), le.cfg.RenewDeadline)
	defer cancel()
	next := proto.Clone(le.observed).(*v1.Lease)
	now := le.cfg.Clock.Now()
	next.Spec.HolderIdentity = ""
	next.Spec.LeaseDurationSeconds = 1
	next.Spec.RenewTime = timestamppb.New(now)
	next.Spec.AcquireTime = timestamppb.New(now)
	if _, err := le.cfg.Client.Update(ctx, next); err != nil {
		le.lg.Warn("Could not release the lease", zap.Error(err))
		return
	}
	le.lg.Info("Released the lease")
}
