// Package nodeipam is the node IPAM controller (Kubernetes' range
// allocator): every node gets spec.podCIDR (and podCIDRs), a subnet of
// --node-cidr-mask-size bits cut from --cluster-cidr, from which its
// kubelet hands out pod IPs. The allocator is a bitmap rebuilt from the
// nodes' podCIDRs each time the controller starts; a deleted node's
// subnet is freed; when the range is exhausted the node gets a Warning
// Event CIDRNotAvailable and is retried with backoff (and at once when a
// subnet is freed), never a crash.
package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/workqueue"
	"minik8s/pkg/controller"
)

// NodeClient is what the controller writes nodes with;
// client.Clientset.Nodes() satisfies it.
type NodeClient interface {
	Update(ctx context.Context, node *v1.Node) (*v1.Node, error)
}

// Config describes a controller.
type Config struct {
	Nodes      controller.Informer[*v1.Node]
	NodeClient NodeClient
	// ClusterCIDR is split into node subnets (--cluster-cidr).
	ClusterCIDR netip.Prefix
	// NodeCIDRMaskSize is the size of a node's subnet (--node-cidr-mask-size).
	NodeCIDRMaskSize int
	// Recorder, optional, gets CIDRNotAvailable and CIDRAssignmentFailed.
	Recorder controller.EventRecorder
	// Registerer, optional, gets the node_ipam_controller_* metrics.
	Registerer prometheus.Registerer
	Clock      clock.WithTicker
	Logger     *zap.Logger
	Metrics    *workqueue.MetricsProvider
}

// Controller is the node IPAM controller.
type Controller struct {
	cfg   Config
	lg    *zap.Logger
	nodes informer.Lister[*v1.Node]
	queue *workqueue.Queue[string]
	rec   controller.EventRecorder

	usage       prometheus.Gauge
	allocations prometheus.Counter
	releases    prometheus.Counter

	mu      sync.Mutex
	set     *CIDRSet
	ready   bool                    // set rebuilt from the cache
	pending map[string]netip.Prefix // node -> subnet written, not yet seen in the cache
}

// New validates cfg and registers the event handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Nodes == nil || cfg.NodeClient == nil {
		return nil, errdefs.Invalid("nodeipam controller: a node informer and client are required")
	}
	set, err := NewCIDRSet(cfg.ClusterCIDR, cfg.NodeCIDRMaskSize)
	if err != nil {
		return nil, errdefs.Invalid("nodeipam controller: %v", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	rec := cfg.Recorder
	if rec == nil {
		rec = controller.NopRecorder{}
	}
	cidr := cfg.ClusterCIDR.Masked().String()
	c := &Controller{
		cfg:     cfg,
		lg:      lg,
		nodes:   cfg.Nodes.Lister(),
		queue:   workqueue.New(workqueue.Config[string]{Name: "cidrallocator_node", Clock: cfg.Clock, Metrics: cfg.Metrics}),
		rec:     rec,
		set:     set,
		pending: map[string]netip.Prefix{},
		usage: prometheus.NewGauge(prometheus.GaugeOpts{Name: "node_ipam_controller_cidrset_usage_cidrs",
			Help: "Gauge measuring percentage of allocated CIDRs.", ConstLabels: prometheus.Labels{"clusterCIDR": cidr}}),
		allocations: prometheus.NewCounter(prometheus.CounterOpts{Name: "node_ipam_controller_cidrset_cidrs_allocations_total",
			Help: "Counter measuring total number of CIDR allocations.", ConstLabels: prometheus.Labels{"clusterCIDR": cidr}}),
		releases: prometheus.NewCounter(prometheus.CounterOpts{Name: "node_ipam_controller_cidrset_cidrs_releases_total",
			Help: "Counter measuring total number of CIDR releases.", ConstLabels: prometheus.Labels{"clusterCIDR": cidr}}),
	}
	if cfg.Registerer != nil {
		for _, m := range []prometheus.Collector{c.usage, c.allocations, c.releases} {
			if err := cfg.Registerer.Register(m); err != nil {
				return nil, fmt.Errorf("nodeipam metrics: %w", err)
			}
		}
	}
	cfg.Nodes.AddEventHandler(informer.HandlerFuncs[*v1.Node]{
		AddFunc:    func(n *v1.Node) { c.queue.Add(apis.Key(n)) },
		UpdateFunc: func(_, n *v1.Node) { c.queue.Add(apis.Key(n)) },
		DeleteFunc: c.deleteNode,
	})
	return c, nil
}

// Run rebuilds the allocator from the cached nodes (the cache must have
// synced) and runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error {
	c.rebuild()
	c.lg.Info("Starting the node IPAM controller", zap.String("clusterCIDR", c.cfg.ClusterCIDR.String()), zap.Int("nodeCIDRMaskSize", c.cfg.NodeCIDRMaskSize))
	controller.RunWorkers(ctx, c.queue, workers, c.sync, c.lg)
	return nil
}

// Shutdown stops the queue of a controller that is not running.
func (c *Controller) Shutdown() { c.queue.ShutDown() }

// rebuild marks the subnets of every cached node as taken.
func (c *Controller) rebuild() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes.List() {
		for _, p := range nodeCIDRs(n) {
			if err := c.set.Occupy(p); err != nil {
				c.lg.Warn("Node has a podCIDR outside the cluster CIDR", zap.String("node", n.GetMetadata().GetName()), zap.Error(err))
			}
		}
	}
	c.ready = true
	c.usage.Set(float64(c.set.Used()) / float64(c.set.Max()))
}

// nodeCIDRs are the subnets a node holds.
func nodeCIDRs(n *v1.Node) []netip.Prefix {
	var out []netip.Prefix
	seen := map[string]bool{}
	for _, s := range append([]string{n.GetSpec().GetPodCidr()}, n.GetSpec().GetPodCidrs()...) {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (c *Controller) deleteNode(obj any) {
	n, ok := informer.DeletedObject[*v1.Node](obj)
	if !ok {
		return
	}
	c.mu.Lock()
	name := n.GetMetadata().GetName()
	var release []netip.Prefix
	if p, ok := c.pending[name]; ok {
		delete(c.pending, name)
		release = append(release, p)
	}
	if c.ready {
		for _, p := range nodeCIDRs(n) {
			if !c.heldByOther(name, p) && !containsPrefix(release, p) {
				release = append(release, p)
			}
		}
	}
	for _, p := range release {
		c.releaseLocked(p)
	}
	freed := len(release) > 0
	c.mu.Unlock()
	if freed {
		// Nodes waiting for a subnet may get this one.
		for _, other := range c.nodes.List() {
			if len(nodeCIDRs(other)) == 0 {
				c.queue.Add(apis.Key(other))
			}
		}
	}
}

// heldByOther: another cached node (or pending allocation) holds p.
func (c *Controller) heldByOther(name string, p netip.Prefix) bool {
	for _, other := range c.nodes.List() {
		if other.GetMetadata().GetName() == name {
			continue
		}
		for _, q := range nodeCIDRs(other) {
			if q.Masked() == p.Masked() {
				return true
			}
		}
	}
	for other, q := range c.pending {
		if other != name && q.Masked() == p.Masked() {
			return true
		}
	}
	return false
}

func (c *Controller) releaseLocked(p netip.Prefix) {
	if err := c.set.Release(p); err == nil {
		c.releases.Inc()
		c.usage.Set(float64(c.set.Used()) / float64(c.set.Max()))
		c.lg.Info("Released pod CIDR", zap.String("podCIDR", p.String()))
	}
}

// sync gives a node without a podCIDR one; a node with one has it
// marked as taken.
func (c *Controller) sync(ctx context.Context, key string) error {
	node, err := c.nodes.Get("", key)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	name := node.GetMetadata().GetName()
	if held := nodeCIDRs(node); len(held) > 0 {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range held {
			_ = c.set.Occupy(p) // outside the range: someone else's business
		}
		if p, ok := c.pending[name]; ok {
			delete(c.pending, name)
			if !containsPrefix(held, p) {
				c.releaseLocked(p) // the node got another subnet meanwhile
			}
		}
		c.usage.Set(float64(c.set.Used()) / float64(c.set.Max()))
		return nil
	}

	c.mu.Lock()
	p, ok := c.pending[name]
	if !ok {
		p, err = c.set.AllocateNext()
		if err == nil {
			c.pending[name] = p
			c.allocations.Inc()
			c.usage.Set(float64(c.set.Used()) / float64(c.set.Max()))
		}
	}
	c.mu.Unlock()
	if errors.Is(err, ErrCIDRRangeNoCIDRsRemaining) {
		c.rec.Eventf(node, controller.EventTypeWarning, "CIDRNotAvailable", "Node %s status is now: CIDRNotAvailable", name)
		return fmt.Errorf("allocate a pod CIDR for node %s: %w", name, err)
	}
	if err != nil {
		return err
	}
	next := proto.Clone(node).(*v1.Node)
	if next.Spec == nil {
		next.Spec = &v1.NodeSpec{}
	}
	next.Spec.PodCidr = p.String()
	next.Spec.PodCidrs = []string{p.String()}
	if _, err := c.cfg.NodeClient.Update(ctx, next); err != nil {
		if errdefs.IsNotFound(err) {
			c.mu.Lock()
			delete(c.pending, name)
			c.releaseLocked(p)
			c.mu.Unlock()
			return nil
		}
		if !errdefs.IsConflict(err) {
			c.rec.Eventf(node, controller.EventTypeWarning, "CIDRAssignmentFailed", "Node %s status is now: CIDRAssignmentFailed", name)
		}
		return fmt.Errorf("set podCIDR %s on node %s: %w", p, name, err)
	}
	c.lg.Info("Set node podCIDR", zap.String("node", name), zap.String("podCIDR", p.String()))
	return nil
}

func containsPrefix(list []netip.Prefix, p netip.Prefix) bool {
	for _, q := range list {
		if q.Masked() == p.Masked() {
			return true
		}
	}
	return false
}
