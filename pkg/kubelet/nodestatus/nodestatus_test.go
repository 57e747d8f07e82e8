package nodestatus

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeAPI is an in-memory apiserver of one Node and its Lease.
type fakeAPI struct {
	mu    sync.Mutex
	node  *v1.Node
	lease *v1.Lease
	// createErrs are returned by the next Node creates, in order.
	createErrs []error
	posts      []*v1.NodeStatus
	renewals   []time.Time
}

func (f *fakeAPI) Create(_ context.Context, n *v1.Node) (*v1.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.createErrs) > 0 {
		err := f.createErrs[0]
		f.createErrs = f.createErrs[1:]
		return nil, err
	}
	if f.node != nil {
		return nil, errdefs.AlreadyExists("node %s", n.GetMetadata().GetName())
	}
	c := proto.Clone(n).(*v1.Node)
	c.Metadata.Uid = "node-uid"
	c.Metadata.ResourceVersion = "1"
	f.node = c
	return proto.Clone(c).(*v1.Node), nil
}

func (f *fakeAPI) Get(_ context.Context, _, _ string) (*v1.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.node == nil {
		return nil, errdefs.NotFound("node")
	}
	return proto.Clone(f.node).(*v1.Node), nil
}

func (f *fakeAPI) Update(_ context.Context, n *v1.Node) (*v1.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := proto.Clone(n).(*v1.Node)
	c.Status = f.node.GetStatus()
	f.node = c
	return proto.Clone(c).(*v1.Node), nil
}

func (f *fakeAPI) UpdateStatus(_ context.Context, n *v1.Node) (*v1.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.node.Status = proto.Clone(n.GetStatus()).(*v1.NodeStatus)
	f.posts = append(f.posts, f.node.Status)
	return proto.Clone(f.node).(*v1.Node), nil
}

// leases is the fake's LeaseClient.
type leases struct{ f *fakeAPI }

func (l leases) Create(_ context.Context, lease *v1.Lease) (*v1.Lease, error) {
	l.f.mu.Lock()
	defer l.f.mu.Unlock()
	l.f.lease = proto.Clone(lease).(*v1.Lease)
	l.f.renewals = append(l.f.renewals, lease.GetSpec().GetRenewTime().AsTime())
	return proto.Clone(lease).(*v1.Lease), nil
}

func (l leases) Get(_ context.Context, _, _ string) (*v1.Lease, error) {
	l.f.mu.Lock()
	defer l.f.mu.Unlock()
	if l.f.lease == nil {
		return nil, errdefs.NotFound("lease")
	}
	return proto.Clone(l.f.lease).(*v1.Lease), nil
}

func (l leases) Update(_ context.Context, lease *v1.Lease) (*v1.Lease, error) {
	l.f.mu.Lock()
	defer l.f.mu.Unlock()
	l.f.lease = proto.Clone(lease).(*v1.Lease)
	l.f.renewals = append(l.f.renewals, lease.GetSpec().GetRenewTime().AsTime())
	return proto.Clone(lease).(*v1.Lease), nil
}

func (f *fakeAPI) state() (posts []*v1.NodeStatus, renewals []time.Time, node *v1.Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*v1.NodeStatus(nil), f.posts...), append([]time.Time(nil), f.renewals...), proto.Clone(f.node).(*v1.Node)
}

// health is a runtime health check the test switches, counting its calls.
type health struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (h *health) check(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	return h.err
}

func (h *health) set(err error) {
	h.mu.Lock()
	h.err = err
	h.mu.Unlock()
}

func (h *health) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// eventually polls cond until it holds, for up to ten seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func ready(st *v1.NodeStatus) *v1.Condition {
	for _, c := range st.GetConditions() {
		if c.GetType() == "Ready" {
			return c
		}
	}
	return nil
}

type fixture struct {
	m   *Manager
	api *fakeAPI
	h   *health
	clk *clockwork.FakeClock
	ctx context.Context
}

func run(t *testing.T, api *fakeAPI) *fixture {
	t.Helper()
	f := &fixture{api: api, h: &health{}, clk: clockwork.NewFakeClockAt(t0)}
	m, err := New(Config{
		NodeName:              "n1",
		Nodes:                 api,
		Leases:                leases{api},
		Labels:                map[string]string{"kubernetes.io/hostname": "n1"},
		Taints:                []*v1.Taint{{Key: "dedicated", Value: "gpu", Effect: "NoSchedule"}},
		PodCIDR:               "10.2.7.0/24",
		Capacity:              map[string]string{"cpu": "4", "pods": "110"},
		Allocatable:           map[string]string{"cpu": "4", "pods": "110"},
		Health:                f.h.check,
		RuntimeVersion:        func(context.Context) (string, error) { return "docker://20.10.24", nil },
		StatusUpdateFrequency: 10 * time.Second,
		HealthCheckInterval:   time.Second,
		LeaseDuration:         40 * time.Second,
		Clock:                 f.clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	f.ctx = ctx
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return f
}

// tick advances the clock by a second and waits until the status loop
// checked the runtime's health for it; whatever it posted for the tick
// before is posted then.
func (f *fixture) tick(t *testing.T) {
	t.Helper()
	n := f.h.count()
	f.clk.Advance(time.Second)
	eventually(t, "a health check", func() bool { return f.h.count() > n })
}

func TestRegisterLeaseAndStatus(t *testing.T) {
	f := run(t, &fakeAPI{})
	select {
	case <-f.m.Registered():
	case <-f.ctx.Done():
		t.Fatal("not registered")
	}
	// The status loop's ticker and the lease loop's timer wait.
	if err := f.clk.BlockUntilContext(f.ctx, 2); err != nil {
		t.Fatal(err)
	}
	posts, renewals, node := f.api.state()
	if node.GetMetadata().GetLabels()["kubernetes.io/hostname"] != "n1" || node.GetSpec().GetPodCidr() != "10.2.7.0/24" ||
		len(node.GetSpec().GetTaints()) != 1 || node.GetStatus().GetCapacity()["cpu"] != "4" ||
		node.GetStatus().GetNodeInfo().GetContainerRuntimeVersion() != "docker://20.10.24" {
		t.Errorf("registered node %v", node)
	}
	if len(posts) != 1 || ready(posts[0]).GetStatus() != "True" || ready(posts[0]).GetReason() != ReasonKubeletReady {
		t.Fatalf("posts %v, want one Ready", posts)
	}
	if !renewals[0].Equal(t0) {
		t.Errorf("lease renewed at %v, want %v", renewals[0], t0)
	}
	f.api.mu.Lock()
	lease := proto.Clone(f.api.lease).(*v1.Lease)
	f.api.mu.Unlock()
	if lease.GetSpec().GetHolderIdentity() != "n1" || lease.GetSpec().GetLeaseDurationSeconds() != 40 ||
		lease.GetMetadata().GetNamespace() != NodeLeaseNamespace || len(lease.GetMetadata().GetOwnerReferences()) != 1 ||
		lease.GetMetadata().GetOwnerReferences()[0].GetUid() != "node-uid" {
		t.Errorf("lease %v", lease)
	}

	// Nothing changes for ten seconds: no post until the status update
	// period, then one (the heartbeat); the lease is renewed at 10 s.
	for i := 1; i <= 11; i++ {
		f.tick(t)
	}
	posts, _, _ = f.api.state()
	if len(posts) != 2 {
		t.Fatalf("%d posts in the first 10 s, want the registration's and one heartbeat", len(posts))
	}
	if hb := ready(posts[1]).GetLastHeartbeatTime().AsTime(); !hb.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("heartbeat at %v, want 10 s", hb.Sub(t0))
	}
	eventually(t, "the lease's renewal", func() bool { _, r, _ := f.api.state(); return len(r) == 2 })
	if _, r, _ := f.api.state(); !r[1].Equal(t0.Add(10 * time.Second)) {
		t.Errorf("lease renewed at %v, want 10 s", r[1].Sub(t0))
	}

	// The runtime goes away: NotReady at the next check, with why.
	f.h.set(errors.New("cannot connect to the Docker daemon"))
	f.tick(t) // 12 s
	f.tick(t)
	posts, _, _ = f.api.state()
	r := ready(posts[len(posts)-1])
	if len(posts) != 3 || r.GetStatus() != "False" || r.GetReason() != ReasonKubeletNotReady ||
		!strings.Contains(r.GetMessage(), "cannot connect") || !r.GetLastTransitionTime().AsTime().Equal(t0.Add(12*time.Second)) {
		t.Fatalf("%d posts, last Ready %v; want a third, False since 12 s", len(posts), r)
	}
	// And back.
	f.h.set(nil)
	f.tick(t) // 14 s
	f.tick(t)
	posts, _, _ = f.api.state()
	if r := ready(posts[len(posts)-1]); len(posts) != 4 || r.GetStatus() != "True" || !r.GetLastTransitionTime().AsTime().Equal(t0.Add(14*time.Second)) {
		t.Fatalf("%d posts, last Ready %v; want a fourth, True since 14 s", len(posts), r)
	}
}

func TestRegisterRetriesThenAdopts(t *testing.T) {
	api := &fakeAPI{
		createErrs: []error{errdefs.Unavailable("apiserver away"), errdefs.Unavailable("apiserver away")},
		node: &v1.Node{
			Metadata: &v1.ObjectMeta{Name: "n1", Uid: "old-uid", Labels: map[string]string{"team": "a"}},
			Spec:     &v1.NodeSpec{},
		},
	}
	f := run(t, api)
	// Two failed creates, each followed by a backoff (100 ms, 200 ms).
	for _, d := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		if err := f.clk.BlockUntilContext(f.ctx, 1); err != nil {
			t.Fatal(err)
		}
		select {
		case <-f.m.Registered():
			t.Fatal("registered while the apiserver was away")
		default:
		}
		f.clk.Advance(d)
	}
	select {
	case <-f.m.Registered():
	case <-f.ctx.Done():
		t.Fatal("not registered")
	}
	_, _, node := f.api.state()
	if l := node.GetMetadata().GetLabels(); l["team"] != "a" || l["kubernetes.io/hostname"] != "n1" {
		t.Errorf("labels %v, want the existing ones and ours", l)
	}
	if node.GetMetadata().GetUid() != "old-uid" || node.GetSpec().GetPodCidr() != "10.2.7.0/24" || ready(node.GetStatus()).GetStatus() != "True" {
		t.Errorf("adopted node %v", node)
	}
}
