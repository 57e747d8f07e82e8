package nodeipam

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	testclock "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/controller/controllertest"
)

func TestCIDRSet(t *testing.T) {
	tests := []struct {
		name      string
		cluster   string
		mask      int
		wantMax   int
		wantFirst []string
		wantErr   bool
	}{
		{"ipv4 /16 in /24s", "10.2.0.0/16", 24, 256, []string{"10.2.0.0/24", "10.2.1.0/24", "10.2.2.0/24"}, false},
		{"unaligned cluster", "10.2.3.4/16", 24, 256, []string{"10.2.0.0/24"}, false},
		{"ipv4 /30 in /32s", "192.168.0.0/30", 32, 4, []string{"192.168.0.0/32", "192.168.0.1/32", "192.168.0.2/32", "192.168.0.3/32"}, false},
		{"ipv6 /48 in /64s", "2001:db8::/48", 64, 65536, []string{"2001:db8::/64", "2001:db8:0:1::/64"}, false},
		{"ipv6 /56 in /72s", "fd00::/56", 72, 65536, []string{"fd00::/72", "fd00::100:0:0:0/72"}, false},
		{"mask shorter than cluster", "10.2.0.0/16", 8, 0, nil, true},
		{"too many subnets", "10.0.0.0/8", 25, 0, nil, true},
		{"mask beyond the address", "10.2.0.0/16", 33, 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewCIDRSet(netip.MustParsePrefix(tt.cluster), tt.mask)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewCIDRSet: %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if s.Max() != tt.wantMax {
				t.Fatalf("max %d, want %d", s.Max(), tt.wantMax)
			}
			for _, want := range tt.wantFirst {
				got, err := s.AllocateNext()
				if err != nil || got.String() != want {
					t.Fatalf("AllocateNext = %v, %v; want %s", got, err, want)
				}
			}
		})
	}
}

func TestCIDRSetExhaustReleaseOccupy(t *testing.T) {
	s, err := NewCIDRSet(netip.MustParsePrefix("10.2.0.0/22"), 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Occupy(netip.MustParsePrefix("10.2.1.0/24")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		p, err := s.AllocateNext()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.String())
	}
	if want := []string{"10.2.0.0/24", "10.2.2.0/24", "10.2.3.0/24"}; !slices.Equal(got, want) {
		t.Fatalf("allocated %v, want %v (10.2.1.0/24 was occupied)", got, want)
	}
	if _, err := s.AllocateNext(); !errors.Is(err, ErrCIDRRangeNoCIDRsRemaining) {
		t.Fatalf("exhausted set: %v", err)
	}
	if err := s.Release(netip.MustParsePrefix("10.2.2.0/24")); err != nil {
		t.Fatal(err)
	}
	if p, err := s.AllocateNext(); err != nil || p.String() != "10.2.2.0/24" {
		t.Fatalf("after a release: %v, %v", p, err)
	}
	for _, bad := range []string{"10.3.0.0/24", "10.0.0.0/8", "2001:db8::/64"} {
		if err := s.Occupy(netip.MustParsePrefix(bad)); err == nil {
			t.Errorf("Occupy(%s) outside the cluster CIDR succeeded", bad)
		}
	}
	// A block larger than a subnet covers several.
	if err := s.Release(netip.MustParsePrefix("10.2.0.0/23")); err != nil || s.Used() != 2 {
		t.Fatalf("release of a /23: %v, used %d, want 2", err, s.Used())
	}
}

type env struct {
	nodes *controllertest.Informer[*v1.Node]
	api   *controllertest.Client[*v1.Node]
	rec   *controllertest.Recorder
	reg   *prometheus.Registry
	c     *Controller
}

func newEnv(t *testing.T, cluster string, mask int, nodes ...*v1.Node) *env {
	t.Helper()
	e := &env{rec: &controllertest.Recorder{}, reg: prometheus.NewRegistry()}
	clk := testclock.NewFakeClock(time.Now())
	e.nodes = controllertest.NewInformer(nodes...)
	e.api = controllertest.NewClient(e.nodes, clk)
	c, err := New(Config{Nodes: e.nodes, NodeClient: e.api, ClusterCIDR: netip.MustParsePrefix(cluster), NodeCIDRMaskSize: mask,
		Recorder: e.rec, Registerer: e.reg, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	c.rebuild()
	e.c = c
	return e
}

func node(name, cidr string) *v1.Node {
	return &v1.Node{Metadata: &v1.ObjectMeta{Name: name, ResourceVersion: "1"}, Spec: &v1.NodeSpec{PodCidr: cidr}}
}

func (e *env) podCIDR(t *testing.T, name string) string {
	t.Helper()
	n, err := e.api.Get(context.Background(), "", name)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.GetSpec().GetPodCidrs()) > 0 && n.GetSpec().GetPodCidrs()[0] != n.GetSpec().GetPodCidr() {
		t.Fatalf("node %s: podCIDR %s, podCIDRs %v", name, n.GetSpec().GetPodCidr(), n.GetSpec().GetPodCidrs())
	}
	return n.GetSpec().GetPodCidr()
}

func TestAllocatesAroundExistingNodes(t *testing.T) {
	e := newEnv(t, "10.2.0.0/16", 24, node("a", "10.2.0.0/24"), node("b", ""))
	if err := e.c.sync(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	if got := e.podCIDR(t, "b"); got != "10.2.1.0/24" {
		t.Fatalf("b got %s, want 10.2.1.0/24 (10.2.0.0/24 is a's)", got)
	}
	// A second sync before the cache shows the podCIDR reuses the pending one.
	if err := e.c.sync(context.Background(), "b"); err == nil {
		t.Fatal("a write with the stale resourceVersion succeeded")
	}
	if used := e.c.set.Used(); used != 2 {
		t.Fatalf("%d subnets used after a repeated sync, want 2", used)
	}
	e.api.Flush()
	if err := e.c.sync(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	if len(e.c.pending) != 0 {
		t.Fatalf("pending %v after the cache caught up", e.c.pending)
	}
	if got := value(e.c.usage); got != 2.0/256 {
		t.Fatalf("usage %v", got)
	}
}

func TestExhaustionIsAnEventAndAFreedSubnetIsReused(t *testing.T) {
	e := newEnv(t, "10.2.0.0/23", 24, node("a", ""), node("b", ""), node("c", ""))
	for _, n := range []string{"a", "b"} {
		if err := e.c.sync(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	e.api.Flush()
	err := e.c.sync(context.Background(), "c")
	if !errors.Is(err, ErrCIDRRangeNoCIDRsRemaining) {
		t.Fatalf("third node: %v, want exhaustion", err)
	}
	if ev := e.rec.Events(); !slices.Equal(ev, []string{"Warning CIDRNotAvailable Node c status is now: CIDRNotAvailable"}) {
		t.Fatalf("events %v", ev)
	}
	a, _ := e.nodes.Get("a")
	freed := a.GetSpec().GetPodCidr()
	e.api.Remove("a")
	e.api.Flush() // the delete handler frees a's subnet and requeues c
	if e.c.queue.Len() == 0 {
		t.Fatal("the waiting node was not requeued")
	}
	if err := e.c.sync(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	if got := e.podCIDR(t, "c"); got != freed {
		t.Fatalf("c got %s, want the freed %s", got, freed)
	}
	if got := value(e.c.releases); got != 1 {
		t.Fatalf("releases %v", got)
	}
}

func TestRebuildAfterRestart(t *testing.T) {
	e := newEnv(t, "10.2.0.0/16", 24, node("a", "10.2.5.0/24"), node("b", "10.2.0.0/24"), node("outside", "192.168.0.0/24"), node("new", ""))
	if err := e.c.sync(context.Background(), "new"); err != nil {
		t.Fatal(err)
	}
	if got := e.podCIDR(t, "new"); got != "10.2.1.0/24" {
		t.Fatalf("new node got %s", got)
	}
	if e.c.set.Used() != 3 {
		t.Fatalf("used %d, want 3", e.c.set.Used())
	}
}

// value reads a gauge or counter.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Gauge != nil {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}
