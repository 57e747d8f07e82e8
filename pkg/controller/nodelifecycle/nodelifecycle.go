// Package nodelifecycle is the node lifecycle controller with its taint
// eviction part, Kubernetes' semantics:
//
//   - Health: every --node-monitor-period the controller looks at each
//     node's Lease (kube-node-lease/<node>) and Ready condition. A node
//     whose kubelet has renewed neither within --node-monitor-grace-period
//     (measured on the controller's own clock since it last saw a change)
//     gets Ready, MemoryPressure, DiskPressure and PIDPressure Unknown,
//     reason NodeStatusUnknown, "Kubelet stopped posting node status.",
//     and its pods are marked not ready. A node that never posted status
//     gets the same after --node-startup-grace-period.
//   - NoExecute taints: Ready=Unknown gives node.kubernetes.io/unreachable,
//     Ready=False node.kubernetes.io/not-ready; added at a rate limited per
//     zone (--node-eviction-rate; slower or stopped when a large part of a
//     zone is unhealthy, and none at all when every node is: then the
//     fault is more likely ours than theirs); removed at once when the node
//     is Ready again.
//   - NoSchedule taints follow the conditions (not-ready, unreachable,
//     memory/disk/pid pressure, network-unavailable) and
//     spec.unschedulable, so the scheduler keeps pods away.
//   - Taint eviction: a pod on a node with NoExecute taints it does not
//     tolerate is deleted at once; one it tolerates for tolerationSeconds
//     is deleted that long after the taint was added. The apiserver's
//     DefaultTolerationSeconds admission gives every new pod 300 s for
//     not-ready and unreachable; a pod that has no such toleration anyway
//     (created before, or written without admission) is treated as having
//     --default-not-ready-toleration-seconds and
//     --default-unreachable-toleration-seconds (300 s).
package nodelifecycle

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/workqueue"
	"minik8s/pkg/controller"
)

// Kubernetes' defaults.
const (
	DefaultNodeMonitorPeriod          = 5 * time.Second
	DefaultNodeMonitorGracePeriod     = 50 * time.Second
	DefaultNodeStartupGracePeriod     = 60 * time.Second
	DefaultTolerationSeconds          = 300
	DefaultNodeEvictionRate           = 0.1
	DefaultSecondaryNodeEvictionRate  = 0.01
	DefaultLargeClusterSizeThreshold  = 50
	DefaultUnhealthyZoneThreshold     = 0.55
	NodeLeaseNamespace                = "kube-node-lease"
	noExecuteTaintingPeriod           = 100 * time.Millisecond
	nodeStatusUpdateRetry             = 5
	reasonNodeStatusUnknown           = "NodeStatusUnknown"
	reasonNodeStatusNeverUpdated      = "NodeStatusNeverUpdated"
	messageKubeletStoppedPosting      = "Kubelet stopped posting node status."
	messageKubeletNeverPosted         = "Kubelet never posted node status."
	conditionReady                    = "Ready"
	zoneLabel, regionLabel            = "topology.kubernetes.io/zone", "topology.kubernetes.io/region"
	effectNoExecute, effectNoSchedule = "NoExecute", "NoSchedule"
	taintEvictionReason               = "TaintManagerEviction"
	markedForDeletionMessageFmt       = "Marking for deletion Pod %s"
	nodeNotReadyReason                = "NodeNotReady"
	nodeNotReadyMessageFmt            = "Node %s status is now: NodeNotReady"
)

// Taint keys, Kubernetes' names.
const (
	TaintNodeNotReady           = "node.kubernetes.io/not-ready"
	TaintNodeUnreachable        = "node.kubernetes.io/unreachable"
	TaintNodeUnschedulable      = "node.kubernetes.io/unschedulable"
	TaintNodeMemoryPressure     = "node.kubernetes.io/memory-pressure"
	TaintNodeDiskPressure       = "node.kubernetes.io/disk-pressure"
	TaintNodePIDPressure        = "node.kubernetes.io/pid-pressure"
	TaintNodeNetworkUnavailable = "node.kubernetes.io/network-unavailable"
)

// NodeClient is what the controller writes nodes with;
// client.Clientset.Nodes() satisfies it.
type NodeClient interface {
	Get(ctx context.Context, namespace, name string) (*v1.Node, error)
	Update(ctx context.Context, node *v1.Node) (*v1.Node, error)
	UpdateStatus(ctx context.Context, node *v1.Node) (*v1.Node, error)
}

// PodClient is what the controller writes pods with;
// client.Clientset.Pods() satisfies it.
type PodClient interface {
	UpdateStatus(ctx context.Context, pod *v1.Pod) (*v1.Pod, error)
	Delete(ctx context.Context, namespace, name string, opts client.DeleteOptions) (*v1.Pod, bool, error)
}

// Config describes a controller; zero durations and rates mean
// Kubernetes' defaults.
type Config struct {
	Nodes      controller.Informer[*v1.Node]
	Leases     controller.Informer[*v1.Lease]
	Pods       controller.Informer[*v1.Pod]
	NodeClient NodeClient
	PodClient  PodClient
	Recorder   controller.EventRecorder

	NodeMonitorPeriod      time.Duration
	NodeMonitorGracePeriod time.Duration
	NodeStartupGracePeriod time.Duration
	// Default toleration seconds for pods without a toleration of the
	// not-ready or unreachable NoExecute taint; nil means 300.
	DefaultNotReadyTolerationSeconds    *int64
	DefaultUnreachableTolerationSeconds *int64
	NodeEvictionRate                    float64
	SecondaryNodeEvictionRate           float64
	LargeClusterSizeThreshold           int
	UnhealthyZoneThreshold              float64

	// Registerer, optional, gets node_collector_* and
	// taint_eviction_controller_* metrics.
	Registerer prometheus.Registerer
	Clock      clock.WithTicker
	Logger     *zap.Logger
	Metrics    *workqueue.MetricsProvider
}

// nodeHealth is what the controller last saw of a node, on its own clock.
type nodeHealth struct {
	status                   *v1.NodeStatus
	probeTimestamp           time.Time
	readyTransitionTimestamp time.Time
	lease                    *v1.Lease
}

// Controller is the node lifecycle controller.
type Controller struct {
	cfg    Config
	lg     *zap.Logger
	clock  clock.WithTicker
	rec    controller.EventRecorder
	nodes  informer.Lister[*v1.Node]
	leases informer.Lister[*v1.Lease]
	pods   informer.Lister[*v1.Pod]

	defaultTolerations []*v1.Toleration

	noScheduleQueue *workqueue.Queue[string] // nodes
	nodeTaintQueue  *workqueue.Queue[string] // nodes whose NoExecute taints changed
	podQueue        *workqueue.Queue[string] // pods to check for eviction

	metrics metrics

	mu         sync.Mutex
	health     map[string]*nodeHealth
	zoneStates map[string]zoneState
	tainters   map[string]*zoneTainter
	firstSeen  map[string]time.Time // node/taint -> when a taint without timeAdded was first seen
}

// New validates cfg and registers the event handlers.
func New(cfg Config) (*Controller, error) {
	switch {
	case cfg.Nodes == nil || cfg.Leases == nil || cfg.Pods == nil:
		return nil, errdefs.Invalid("nodelifecycle controller: node, lease and pod informers are required")
	case cfg.NodeClient == nil || cfg.PodClient == nil:
		return nil, errdefs.Invalid("nodelifecycle controller: node and pod clients are required")
	}
	if cfg.NodeMonitorPeriod <= 0 {
		cfg.NodeMonitorPeriod = DefaultNodeMonitorPeriod
	}
	if cfg.NodeMonitorGracePeriod <= 0 {
		cfg.NodeMonitorGracePeriod = DefaultNodeMonitorGracePeriod
	}
	if cfg.NodeStartupGracePeriod <= 0 {
		cfg.NodeStartupGracePeriod = DefaultNodeStartupGracePeriod
	}
	if cfg.NodeEvictionRate == 0 {
		cfg.NodeEvictionRate = DefaultNodeEvictionRate
	}
	if cfg.SecondaryNodeEvictionRate == 0 {
		cfg.SecondaryNodeEvictionRate = DefaultSecondaryNodeEvictionRate
	}
	if cfg.LargeClusterSizeThreshold == 0 {
		cfg.LargeClusterSizeThreshold = DefaultLargeClusterSizeThreshold
	}
	if cfg.UnhealthyZoneThreshold == 0 {
		cfg.UnhealthyZoneThreshold = DefaultUnhealthyZoneThreshold
	}
	notReady, unreachable := int64(DefaultTolerationSeconds), int64(DefaultTolerationSeconds)
	if cfg.DefaultNotReadyTolerationSeconds != nil {
		notReady = *cfg.DefaultNotReadyTolerationSeconds
	}
	if cfg.DefaultUnreachableTolerationSeconds != nil {
		unreachable = *cfg.DefaultUnreachableTolerationSeconds
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
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	c := &Controller{
		cfg:    cfg,
		lg:     lg,
		clock:  cfg.Clock,
		rec:    rec,
		nodes:  cfg.Nodes.Lister(),
		leases: cfg.Leases.Lister(),
		pods:   cfg.Pods.Lister(),
		defaultTolerations: []*v1.Toleration{
			{Key: TaintNodeNotReady, Operator: "Exists", Effect: effectNoExecute, TolerationSeconds: &notReady},
			{Key: TaintNodeUnreachable, Operator: "Exists", Effect: effectNoExecute, TolerationSeconds: &unreachable},
		},
		noScheduleQueue: workqueue.New(workqueue.Config[string]{Name: "node_lifecycle_controller", Clock: cfg.Clock, Metrics: cfg.Metrics}),
		nodeTaintQueue:  workqueue.New(workqueue.Config[string]{Name: "noexec_taint_node", Clock: cfg.Clock, Metrics: cfg.Metrics}),
		podQueue:        workqueue.New(workqueue.Config[string]{Name: "noexec_taint_pod", Clock: cfg.Clock, Metrics: cfg.Metrics}),
		metrics:         m,
		health:          map[string]*nodeHealth{},
		zoneStates:      map[string]zoneState{},
		tainters:        map[string]*zoneTainter{},
		firstSeen:       map[string]time.Time{},
	}
	cfg.Nodes.AddEventHandler(informer.HandlerFuncs[*v1.Node]{
		AddFunc: func(n *v1.Node) {
			c.noScheduleQueue.Add(apis.Key(n))
			c.nodeTaintQueue.Add(apis.Key(n))
		},
		UpdateFunc: func(old, n *v1.Node) {
			c.noScheduleQueue.Add(apis.Key(n))
			if !proto.Equal(&v1.NodeSpec{Taints: noExecuteTaints(old)}, &v1.NodeSpec{Taints: noExecuteTaints(n)}) {
				c.nodeTaintQueue.Add(apis.Key(n))
			}
		},
		DeleteFunc: c.deleteNode,
	})
	cfg.Pods.AddEventHandler(informer.HandlerFuncs[*v1.Pod]{
		AddFunc: c.enqueuePod,
		UpdateFunc: func(old, p *v1.Pod) {
			if old.GetSpec().GetNodeName() != p.GetSpec().GetNodeName() || !proto.Equal(&v1.PodSpec{Tolerations: old.GetSpec().GetTolerations()}, &v1.PodSpec{Tolerations: p.GetSpec().GetTolerations()}) {
				c.enqueuePod(p)
			}
		},
	})
	return c, nil
}

func (c *Controller) enqueuePod(p *v1.Pod) {
	if p.GetSpec().GetNodeName() != "" && p.GetMetadata().GetDeletionTimestamp() == nil {
		c.podQueue.Add(apis.Key(p))
	}
}

func (c *Controller) deleteNode(obj any) {
	n, ok := informer.DeletedObject[*v1.Node](obj)
	if !ok {
		return
	}
	name := n.GetMetadata().GetName()
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.health, name)
	for _, t := range c.tainters {
		t.remove(name)
	}
	for k := range c.firstSeen {
		if len(k) > len(name) && k[:len(name)+1] == name+"/" {
			delete(c.firstSeen, k)
		}
	}
}

// Run monitors node health, taints and evicts until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error {
	c.lg.Info("Starting the node lifecycle controller",
		zap.Duration("nodeMonitorPeriod", c.cfg.NodeMonitorPeriod), zap.Duration("nodeMonitorGracePeriod", c.cfg.NodeMonitorGracePeriod))
	var wg sync.WaitGroup
	wg.Go(func() { c.loop(ctx, c.cfg.NodeMonitorPeriod, func() { c.monitorNodeHealth(ctx) }) })
	wg.Go(func() { c.loop(ctx, noExecuteTaintingPeriod, func() { c.doNoExecuteTaintingPass(ctx) }) })
	wg.Go(func() { controller.RunWorkers(ctx, c.noScheduleQueue, workers, c.syncNoScheduleTaints, c.lg) })
	wg.Go(func() { controller.RunWorkers(ctx, c.nodeTaintQueue, 1, c.syncNodeTaints, c.lg) })
	wg.Go(func() { controller.RunWorkers(ctx, c.podQueue, workers, c.syncPodEviction, c.lg) })
	wg.Wait()
	return nil
}

// Shutdown stops the queues of a controller that is not running.
func (c *Controller) Shutdown() {
	c.noScheduleQueue.ShutDown()
	c.nodeTaintQueue.ShutDown()
	c.podQueue.ShutDown()
}

// loop calls fn now and every period until ctx ends.
func (c *Controller) loop(ctx context.Context, period time.Duration, fn func()) {
	t := c.clock.NewTicker(period)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// monitorNodeHealth is one pass over every node: mark the silent ones
// Unknown, queue or remove their NoExecute taints, and set the rate of
// tainting per zone from the zone's health.
func (c *Controller) monitorNodeHealth(ctx context.Context) {
	nodes := c.nodes.List()
	zoneConditions := map[string][]*v1.Condition{}
	for _, node := range nodes {
		name := node.GetMetadata().GetName()
		var observed, current *v1.Condition
		var err error
		for attempt := 0; attempt < nodeStatusUpdateRetry; attempt++ {
			var updated *v1.Node
			updated, observed, current, err = c.tryUpdateNodeHealth(ctx, node)
			if updated != nil {
				node = updated
			}
			if err == nil || ctx.Err() != nil {
				break
			}
			fresh, gerr := c.cfg.NodeClient.Get(ctx, "", name)
			if gerr != nil {
				err = gerr
				break
			}
			node = fresh
		}
		if err != nil {
			if ctx.Err() == nil {
				c.lg.Warn("Could not update node health", zap.String("node", name), zap.Error(err))
			}
			continue
		}
		zone := zoneKey(node)
		zoneConditions[zone] = append(zoneConditions[zone], current)
		if current == nil {
			continue
		}
		c.processTaintBaseEviction(ctx, node, current)
		if current.GetStatus() != controller.ConditionTrue && observed.GetStatus() == controller.ConditionTrue {
			c.rec.Eventf(node, controller.EventTypeNormal, nodeNotReadyReason, nodeNotReadyMessageFmt, name)
			c.lg.Info("Node became not ready", zap.String("node", name), zap.String("ready", current.GetStatus()))
		}
		if current.GetStatus() == controller.ConditionUnknown {
			if err := c.markPodsNotReady(ctx, name); err != nil && ctx.Err() == nil {
				c.lg.Warn("Could not mark pods not ready", zap.String("node", name), zap.Error(err))
			}
		}
	}
	c.handleDisruption(ctx, zoneConditions, nodes)
}

func readyCondition(st *v1.NodeStatus) *v1.Condition {
	for _, c := range st.GetConditions() {
		if c.GetType() == conditionReady {
			return c
		}
	}
	return nil
}

func sameTime(a, b *timestamppb.Timestamp) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.AsTime().Equal(b.AsTime())
}

// tryUpdateNodeHealth updates what the controller knows of node and,
// past the grace period, marks its conditions Unknown. It returns the node
// as written (nil when not written) and its Ready condition as read and
// as it is now.
func (c *Controller) tryUpdateNodeHealth(ctx context.Context, node *v1.Node) (updated *v1.Node, observed, current *v1.Condition, err error) {
	name := node.GetMetadata().GetName()
	now := c.clock.Now()
	node = proto.Clone(node).(*v1.Node)
	if node.Status == nil {
		node.Status = &v1.NodeStatus{}
	}
	c.mu.Lock()
	h := c.health[name]
	created := node.GetMetadata().GetCreationTimestamp()
	grace := c.cfg.NodeMonitorGracePeriod
	current = readyCondition(node.Status)
	if current == nil {
		// The kubelet never posted a status.
		observed = &v1.Condition{Type: conditionReady, Status: controller.ConditionUnknown, LastHeartbeatTime: created, LastTransitionTime: created}
		grace = c.cfg.NodeStartupGracePeriod
		if h == nil {
			start := now
			if created != nil && created.AsTime().Before(now) {
				start = created.AsTime()
			}
			h = &nodeHealth{probeTimestamp: start, readyTransitionTimestamp: start}
		}
		h.status = node.Status
	} else {
		observed = proto.Clone(current).(*v1.Condition)
	}
	var saved *v1.Condition
	if h != nil {
		saved = readyCondition(h.status)
	}
	switch {
	case h == nil:
		h = &nodeHealth{status: node.Status, probeTimestamp: now, readyTransitionTimestamp: now}
	case saved == nil && current != nil:
		h = &nodeHealth{status: node.Status, probeTimestamp: now, readyTransitionTimestamp: now, lease: h.lease}
	case saved != nil && current != nil && !sameTime(saved.GetLastHeartbeatTime(), current.GetLastHeartbeatTime()):
		transition := h.readyTransitionTimestamp
		if !sameTime(saved.GetLastTransitionTime(), current.GetLastTransitionTime()) {
			transition = now
		}
		h = &nodeHealth{status: node.Status, probeTimestamp: now, readyTransitionTimestamp: transition, lease: h.lease}
	case saved != nil && current != nil && saved.GetStatus() != current.GetStatus():
		// The kubelet changed Ready without a new heartbeat: a sign of life.
		h = &nodeHealth{status: node.Status, probeTimestamp: now, readyTransitionTimestamp: now, lease: h.lease}
	}
	if lease, err := c.leases.Get(NodeLeaseNamespace, name); err == nil {
		if h.lease == nil || h.lease.GetSpec().GetRenewTime().AsTime().Before(lease.GetSpec().GetRenewTime().AsTime()) {
			h.lease = lease
			h.probeTimestamp = now
		}
	}
	c.health[name] = h
	probe := h.probeTimestamp
	c.mu.Unlock()

	if !now.After(probe.Add(grace)) {
		return nil, observed, current, nil
	}
	// Silent for longer than the grace period: every condition the kubelet
	// owns becomes Unknown.
	ts := timestamppb.New(now)
	for _, typ := range []string{conditionReady, "MemoryPressure", "DiskPressure", "PIDPressure"} {
		var cond *v1.Condition
		for _, x := range node.Status.Conditions {
			if x.GetType() == typ {
				cond = x
			}
		}
		if cond == nil {
			node.Status.Conditions = append(node.Status.Conditions, &v1.Condition{
				Type: typ, Status: controller.ConditionUnknown, Reason: reasonNodeStatusNeverUpdated, Message: messageKubeletNeverPosted,
				LastHeartbeatTime: created, LastTransitionTime: ts,
			})
			continue
		}
		if cond.GetStatus() != controller.ConditionUnknown {
			cond.Status = controller.ConditionUnknown
			cond.Reason = reasonNodeStatusUnknown
			cond.Message = messageKubeletStoppedPosting
			cond.LastTransitionTime = ts
		}
	}
	current = readyCondition(node.Status)
	if proto.Equal(current, observed) {
		return nil, observed, current, nil
	}
	updated, err = c.cfg.NodeClient.UpdateStatus(ctx, node)
	if err != nil {
		return nil, observed, current, fmt.Errorf("mark node %s Unknown: %w", name, err)
	}
	c.lg.Info("Node stopped posting status; marked Unknown", zap.String("node", name), zap.Time("lastProbe", probe))
	c.mu.Lock()
	c.health[name] = &nodeHealth{status: updated.GetStatus(), probeTimestamp: probe, readyTransitionTimestamp: now, lease: h.lease}
	c.mu.Unlock()
	return updated, observed, readyCondition(updated.GetStatus()), nil
}

// markPodsNotReady sets Ready=False on the ready pods of a node that
// stopped reporting.
func (c *Controller) markPodsNotReady(ctx context.Context, node string) error {
	var firstErr error
	for _, p := range c.podsOnNode(node) {
		cond := controller.PodReadyCondition(p)
		if cond == nil || cond.GetStatus() != controller.ConditionTrue || p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		next := proto.Clone(p).(*v1.Pod)
		for _, x := range next.GetStatus().GetConditions() {
			if x.GetType() == controller.PodReady || x.GetType() == "ContainersReady" {
				x.Status = controller.ConditionFalse
				x.LastTransitionTime = timestamppb.New(c.clock.Now())
			}
		}
		if _, err := c.cfg.PodClient.UpdateStatus(ctx, next); err != nil && !errdefs.IsNotFound(err) && firstErr == nil {
			firstErr = fmt.Errorf("mark pod %s not ready: %w", apis.Key(p), err)
		}
	}
	return firstErr
}

func (c *Controller) podsOnNode(node string) []*v1.Pod {
	var out []*v1.Pod
	for _, p := range c.pods.List() {
		if p.GetSpec().GetNodeName() == node {
			out = append(out, p)
		}
	}
	return out
}

// zoneKey is the node's region and zone, as Kubernetes joins them.
func zoneKey(n *v1.Node) string {
	l := n.GetMetadata().GetLabels()
	region, zone := l[regionLabel], l[zoneLabel]
	if region == "" && zone == "" {
		return ""
	}
	return region + ":\x00:" + zone
}
