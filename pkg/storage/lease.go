package storage

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/utils/clock"
)

// How long one lease is shared, as in Kubernetes' apiserver: 5% of the
// TTL, at most a minute, at most 1000 objects.
const (
	leaseReusePercent    = 5
	maxLeaseReuse        = time.Minute
	maxObjectsPerLease   = 1000
	minLeaseTTLInSeconds = 1
)

// leaseGranter is the part of etcd's lease API the lease manager uses
// (clientv3.Lease is one).
type leaseGranter interface {
	Grant(ctx context.Context, ttl int64) (*clientv3.LeaseGrantResponse, error)
}

// leaseManager hands out the etcd leases that make the objects of one
// resource expire ttl after their last write. A lease per write would cost
// a grant per write and leave etcd with a lease per object; instead the
// writes of a short window (5% of the TTL, at most a minute, at most 1000
// writes) share one lease, granted for the TTL plus the window, so that
// an object written at the end of the window still lives its full TTL. An
// object thus lives between ttl and ttl+window after its last write, give
// or take etcd's own lease granularity (whole seconds, checked every half
// second). Safe for concurrent use: concurrent writes wait for one grant
// rather than each granting a lease.
type leaseManager struct {
	leases     leaseGranter
	clock      clock.PassiveClock
	metrics    *Metrics
	ttl        int64 // seconds, as etcd grants them
	reuse      time.Duration
	maxObjects int

	mu sync.Mutex
	id clientv3.LeaseID // NoLease: none to reuse
	// reuseUntil is when id stops being handed out: until then it outlives
	// the TTL of every object attached to it.
	reuseUntil time.Time
	objects    int // attached to id (counting writes that failed)
}

// newLeaseManager returns a manager of leases for ttl (rounded up to whole
// seconds, as etcd counts them; at least one).
func newLeaseManager(leases leaseGranter, clk clock.PassiveClock, ttl time.Duration, m *Metrics) *leaseManager {
	secs := max(int64((ttl+time.Second-1)/time.Second), minLeaseTTLInSeconds)
	reuse := min(time.Duration(secs*leaseReusePercent/100)*time.Second, maxLeaseReuse)
	return &leaseManager{leases: leases, clock: clk, metrics: m, ttl: secs, reuse: reuse, maxObjects: maxObjectsPerLease}
}

// get returns the lease to attach one write to: the current one while its
// window lasts, else a new one.
func (l *leaseManager) get(ctx context.Context) (clientv3.LeaseID, error) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.id != clientv3.NoLease && now.Before(l.reuseUntil) && l.objects < l.maxObjects {
		l.objects++
		return l.id, nil
	}
	// Granted after now: the lease ends no earlier than now + TTL + the
	// window, so every object attached before reuseUntil lives its TTL.
	resp, err := l.leases.Grant(ctx, l.ttl+int64(l.reuse/time.Second))
	if err != nil {
		return clientv3.NoLease, err
	}
	if l.id != clientv3.NoLease {
		l.metrics.ObserveLeaseObjects(l.objects)
	}
	l.id, l.reuseUntil, l.objects = resp.ID, now.Add(l.reuse), 1
	return resp.ID, nil
}

// forget drops id when it is the current lease (etcd no longer knows it:
// revoked from outside), so that the next write gets a new one.
func (l *leaseManager) forget(id clientv3.LeaseID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.id == id {
		l.id = clientv3.NoLease
	}
}
