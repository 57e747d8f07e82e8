package nodelifecycle

import (
	"context"
	"fmt"
	"slices"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/controller"
)

// zoneState is the health of a zone.
type zoneState string

const (
	stateInitial           zoneState = "Initial"
	stateNormal            zoneState = "Normal"
	stateFullDisruption    zoneState = "FullDisruption"
	statePartialDisruption zoneState = "PartialDisruption"
)

// zoneTainter queues the nodes of one zone waiting for a NoExecute taint
// and hands them out at a limited rate.
type zoneTainter struct {
	limiter *rate.Limiter // nil: tainting stopped
	queue   []string
}

func (z *zoneTainter) add(name string) {
	if !slices.Contains(z.queue, name) {
		z.queue = append(z.queue, name)
	}
}

func (z *zoneTainter) remove(name string) {
	z.queue = slices.DeleteFunc(z.queue, func(s string) bool { return s == name })
}

func hasTaint(n *v1.Node, key, effect string) bool {
	for _, t := range n.GetSpec().GetTaints() {
		if t.GetKey() == key && t.GetEffect() == effect {
			return true
		}
	}
	return false
}

func noExecuteTaints(n *v1.Node) []*v1.Taint {
	var out []*v1.Taint
	for _, t := range n.GetSpec().GetTaints() {
		if t.GetEffect() == effectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// swapTaints writes node with add added and remove removed (each
// key/effect); it is a no-op when nothing changes.
func (c *Controller) swapTaints(ctx context.Context, node *v1.Node, add, remove []*v1.Taint) (bool, error) {
	next := proto.Clone(node).(*v1.Node)
	if next.Spec == nil {
		next.Spec = &v1.NodeSpec{}
	}
	changed := false
	var kept []*v1.Taint
	for _, t := range next.Spec.Taints {
		drop := false
		for _, r := range remove {
			if t.GetKey() == r.GetKey() && t.GetEffect() == r.GetEffect() {
				drop = true
			}
		}
		if drop {
			changed = true
			continue
		}
		kept = append(kept, t)
	}
	now := timestamppb.New(c.clock.Now())
	for _, a := range add {
		if hasTaint(&v1.Node{Spec: &v1.NodeSpec{Taints: kept}}, a.GetKey(), a.GetEffect()) {
			continue
		}
		t := proto.Clone(a).(*v1.Taint)
		t.TimeAdded = now
		kept = append(kept, t)
		changed = true
	}
	if !changed {
		return false, nil
	}
	next.Spec.Taints = kept
	if _, err := c.cfg.NodeClient.Update(ctx, next); err != nil {
		return false, fmt.Errorf("update taints of node %s: %w", node.GetMetadata().GetName(), err)
	}
	return true, nil
}

var (
	notReadyNoExecute    = &v1.Taint{Key: TaintNodeNotReady, Effect: effectNoExecute}
	unreachableNoExecute = &v1.Taint{Key: TaintNodeUnreachable, Effect: effectNoExecute}
)

// processTaintBaseEviction queues a not-ready or unreachable node for its
// NoExecute taint, swaps a taint that no longer fits at once, and removes
// both from a node that is Ready again.
func (c *Controller) processTaintBaseEviction(ctx context.Context, node *v1.Node, ready *v1.Condition) {
	name := node.GetMetadata().GetName()
	var swapFrom, want *v1.Taint
	switch ready.GetStatus() {
	case controller.ConditionFalse:
		swapFrom, want = unreachableNoExecute, notReadyNoExecute
	case controller.ConditionUnknown:
		swapFrom, want = notReadyNoExecute, unreachableNoExecute
	default:
		c.mu.Lock()
		for _, t := range c.tainters {
			t.remove(name)
		}
		c.mu.Unlock()
		removed, err := c.swapTaints(ctx, node, nil, []*v1.Taint{notReadyNoExecute, unreachableNoExecute})
		if err != nil {
			c.lg.Warn("Could not remove NoExecute taints", zap.String("node", name), zap.Error(err))
		} else if removed {
			c.lg.Info("Node is healthy again; removed its NoExecute taints", zap.String("node", name))
		}
		return
	}
	if hasTaint(node, want.GetKey(), want.GetEffect()) {
		return
	}
	if hasTaint(node, swapFrom.GetKey(), swapFrom.GetEffect()) {
		// Already being evicted: the other reason replaces the first at once.
		if _, err := c.swapTaints(ctx, node, []*v1.Taint{want}, []*v1.Taint{swapFrom}); err != nil {
			c.lg.Warn("Could not swap NoExecute taints", zap.String("node", name), zap.Error(err))
		}
		return
	}
	c.mu.Lock()
	c.tainter(zoneKey(node)).add(name)
	c.mu.Unlock()
}

// tainter returns the zone's tainter; c.mu is held.
func (c *Controller) tainter(zone string) *zoneTainter {
	t, ok := c.tainters[zone]
	if !ok {
		t = &zoneTainter{limiter: rate.NewLimiter(rate.Limit(c.cfg.NodeEvictionRate), 1)}
		c.tainters[zone] = t
	}
	return t
}

// doNoExecuteTaintingPass taints the queued nodes, as fast as each zone's
// limiter allows.
func (c *Controller) doNoExecuteTaintingPass(ctx context.Context) {
	c.mu.Lock()
	zones := make(map[string]*zoneTainter, len(c.tainters))
	for z, t := range c.tainters {
		zones[z] = t
	}
	c.mu.Unlock()
	for zone, t := range zones {
		for {
			c.mu.Lock()
			if len(t.queue) == 0 {
				c.mu.Unlock()
				break
			}
			name := t.queue[0]
			c.mu.Unlock()
			node, err := c.nodes.Get("", name)
			var want, other *v1.Taint
			if err == nil {
				switch readyCondition(node.GetStatus()).GetStatus() {
				case controller.ConditionFalse:
					want, other = notReadyNoExecute, unreachableNoExecute
				case controller.ConditionUnknown:
					want, other = unreachableNoExecute, notReadyNoExecute
				}
			}
			if want == nil || hasTaint(node, want.GetKey(), want.GetEffect()) {
				c.mu.Lock()
				t.remove(name)
				c.mu.Unlock()
				continue
			}
			c.mu.Lock()
			allowed := t.limiter != nil && t.limiter.AllowN(c.clock.Now(), 1)
			c.mu.Unlock()
			if !allowed {
				break
			}
			if _, err := c.swapTaints(ctx, node, []*v1.Taint{want}, []*v1.Taint{other}); err != nil {
				if !errdefs.IsConflict(err) {
					c.lg.Warn("Could not taint node", zap.String("node", name), zap.Error(err))
				}
				break // retried on the next pass
			}
			c.lg.Info("Tainted node for eviction", zap.String("node", name), zap.String("taint", want.GetKey()))
			c.metrics.evictions.WithLabelValues(zone).Inc()
			c.mu.Lock()
			t.remove(name)
			c.mu.Unlock()
		}
	}
}

// computeZoneState counts the nodes of a zone that are not Ready.
func (c *Controller) computeZoneState(conds []*v1.Condition) (int, zoneState) {
	ready, notReady := 0, 0
	for _, cond := range conds {
		if cond != nil && cond.GetStatus() == controller.ConditionTrue {
			ready++
		} else {
			notReady++
		}
	}
	switch {
	case ready == 0 && notReady > 0:
		return notReady, stateFullDisruption
	case notReady > 2 && float64(notReady)/float64(notReady+ready) >= c.cfg.UnhealthyZoneThreshold:
		return notReady, statePartialDisruption
	}
	return notReady, stateNormal
}

// handleDisruption sets each zone's tainting rate from its state, and
// stops tainting everywhere while every zone is fully disrupted.
func (c *Controller) handleDisruption(ctx context.Context, zoneConditions map[string][]*v1.Condition, nodes []*v1.Node) {
	c.mu.Lock()
	newStates := map[string]zoneState{}
	allAreFull := true
	for zone, conds := range zoneConditions {
		unhealthy, state := c.computeZoneState(conds)
		size := len(conds)
		c.metrics.zoneSize.WithLabelValues(zone).Set(float64(size))
		c.metrics.unhealthy.WithLabelValues(zone).Set(float64(unhealthy))
		c.metrics.zoneHealth.WithLabelValues(zone).Set(100 * float64(size-unhealthy) / float64(size))
		newStates[zone] = state
		if state != stateFullDisruption {
			allAreFull = false
		}
		if _, ok := c.zoneStates[zone]; !ok {
			c.zoneStates[zone] = stateInitial
		}
	}
	allWereFull := true
	for zone, state := range c.zoneStates {
		if _, ok := zoneConditions[zone]; !ok {
			delete(c.zoneStates, zone)
			delete(c.tainters, zone)
			c.metrics.zoneSize.DeleteLabelValues(zone)
			c.metrics.unhealthy.DeleteLabelValues(zone)
			c.metrics.zoneHealth.DeleteLabelValues(zone)
			continue
		}
		if state != stateFullDisruption {
			allWereFull = false
		}
	}
	if len(c.zoneStates) == 0 {
		allWereFull = false
	}
	switch {
	case allAreFull && !allWereFull && len(newStates) > 0:
		c.lg.Warn("Every node is not ready: entering master disruption mode (no taint-based evictions)")
		for zone := range newStates {
			t := c.tainter(zone)
			t.limiter = nil
			t.queue = nil
		}
		c.zoneStates = newStates
		c.mu.Unlock()
		for _, n := range nodes {
			if _, err := c.swapTaints(ctx, n, nil, []*v1.Taint{notReadyNoExecute, unreachableNoExecute}); err != nil {
				c.lg.Warn("Could not remove NoExecute taints", zap.String("node", n.GetMetadata().GetName()), zap.Error(err))
			}
		}
		return
	case !allAreFull && allWereFull:
		c.lg.Info("Some nodes are ready: exiting master disruption mode")
		now := c.clock.Now()
		for _, h := range c.health {
			h.probeTimestamp = now
			h.readyTransitionTimestamp = now
		}
		for zone, state := range newStates {
			c.setLimiterInZone(zone, len(zoneConditions[zone]), state)
		}
		c.zoneStates = newStates
		c.mu.Unlock()
		return
	}
	for zone, state := range newStates {
		if c.zoneStates[zone] != state {
			c.setLimiterInZone(zone, len(zoneConditions[zone]), state)
			c.zoneStates[zone] = state
		}
	}
	c.mu.Unlock()
}

// setLimiterInZone sets the tainting rate of a zone; c.mu is held.
func (c *Controller) setLimiterInZone(zone string, size int, state zoneState) {
	t := c.tainter(zone)
	qps := c.cfg.NodeEvictionRate
	if state == statePartialDisruption {
		qps = 0
		if size > c.cfg.LargeClusterSizeThreshold {
			qps = c.cfg.SecondaryNodeEvictionRate
		}
	}
	if qps <= 0 {
		t.limiter = nil
		return
	}
	if t.limiter == nil {
		t.limiter = rate.NewLimiter(rate.Limit(qps), 1)
		return
	}
	t.limiter.SetLimitAt(c.clock.Now(), rate.Limit(qps))
}

// conditionTaints maps node conditions to NoSchedule taints.
var conditionTaints = map[string]map[string]string{
	conditionReady:       {controller.ConditionFalse: TaintNodeNotReady, controller.ConditionUnknown: TaintNodeUnreachable},
	"MemoryPressure":     {controller.ConditionTrue: TaintNodeMemoryPressure},
	"DiskPressure":       {controller.ConditionTrue: TaintNodeDiskPressure},
	"PIDPressure":        {controller.ConditionTrue: TaintNodePIDPressure},
	"NetworkUnavailable": {controller.ConditionTrue: TaintNodeNetworkUnavailable},
}

var managedNoScheduleKeys = []string{TaintNodeNotReady, TaintNodeUnreachable, TaintNodeMemoryPressure, TaintNodeDiskPressure,
	TaintNodePIDPressure, TaintNodeNetworkUnavailable, TaintNodeUnschedulable}

// syncNoScheduleTaints makes a node's NoSchedule taints follow its
// conditions and spec.unschedulable.
func (c *Controller) syncNoScheduleTaints(ctx context.Context, key string) error {
	node, err := c.nodes.Get("", key)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, cond := range node.GetStatus().GetConditions() {
		if k, ok := conditionTaints[cond.GetType()][cond.GetStatus()]; ok {
			want[k] = true
		}
	}
	if node.GetSpec().GetUnschedulable() {
		want[TaintNodeUnschedulable] = true
	}
	var add, remove []*v1.Taint
	for _, k := range managedNoScheduleKeys {
		has := hasTaint(node, k, effectNoSchedule)
		switch {
		case want[k] && !has:
			add = append(add, &v1.Taint{Key: k, Effect: effectNoSchedule})
		case !want[k] && has:
			remove = append(remove, &v1.Taint{Key: k, Effect: effectNoSchedule})
		}
	}
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	_, err = c.swapTaints(ctx, node, add, remove)
	return err
}
