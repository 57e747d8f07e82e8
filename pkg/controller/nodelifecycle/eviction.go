package nodelifecycle

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/controller"
)

// ToleratesTaint is Kubernetes' matching rule: the effect (if set) and
// the key (if set) are the taint's, and Exists matches any value while
// Equal (the default) wants the same value.
func ToleratesTaint(t *v1.Toleration, taint *v1.Taint) bool {
	if t.GetEffect() != "" && t.GetEffect() != taint.GetEffect() {
		return false
	}
	if t.GetKey() != "" && t.GetKey() != taint.GetKey() {
		return false
	}
	switch t.GetOperator() {
	case "", "Equal":
		return t.GetValue() == taint.GetValue()
	case "Exists":
		return true
	}
	return false
}

// effectiveTolerations are the pod's tolerations plus the default ones
// for not-ready and unreachable when it has none of its own for them.
func (c *Controller) effectiveTolerations(p *v1.Pod) []*v1.Toleration {
	tols := p.GetSpec().GetTolerations()
	out := append([]*v1.Toleration(nil), tols...)
	for _, d := range c.defaultTolerations {
		covered := false
		for _, t := range tols {
			keyMatch := t.GetKey() == d.GetKey() || (t.GetKey() == "" && t.GetOperator() == "Exists")
			if keyMatch && (t.GetEffect() == "" || t.GetEffect() == effectNoExecute) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, d)
		}
	}
	return out
}

// evictionDeadline is when pod must go from a node with taints: the
// zero time for "now", ok=false for "never".
func (c *Controller) evictionDeadline(p *v1.Pod, node string, taints []*v1.Taint) (time.Time, bool) {
	tols := c.effectiveTolerations(p)
	var deadline time.Time
	found := false
	for _, taint := range taints {
		var match *v1.Toleration
		for _, t := range tols {
			if ToleratesTaint(t, taint) {
				match = t
				break
			}
		}
		if match == nil {
			return time.Time{}, true
		}
		if match.TolerationSeconds == nil {
			continue // tolerated for ever
		}
		secs := max(match.GetTolerationSeconds(), 0)
		at := c.taintSince(node, taint).Add(time.Duration(secs) * time.Second)
		if !found || at.Before(deadline) {
			deadline, found = at, true
		}
	}
	return deadline, found
}

// taintSince is when a taint was added: its timeAdded, else when the
// controller first saw it.
func (c *Controller) taintSince(node string, taint *v1.Taint) time.Time {
	if ts := taint.GetTimeAdded(); ts != nil {
		return ts.AsTime()
	}
	key := node + "/" + taint.GetKey() + ":" + taint.GetEffect()
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.firstSeen[key]
	if !ok {
		t = c.clock.Now()
		c.firstSeen[key] = t
	}
	return t
}

// syncNodeTaints queues every pod of a node whose NoExecute taints
// changed.
func (c *Controller) syncNodeTaints(_ context.Context, key string) error {
	node, err := c.nodes.Get("", key)
	if err == nil {
		// Forget first-seen times of taints that are gone.
		present := map[string]bool{}
		for _, t := range noExecuteTaints(node) {
			present[key+"/"+t.GetKey()+":"+t.GetEffect()] = true
		}
		c.mu.Lock()
		for k := range c.firstSeen {
			if len(k) > len(key) && k[:len(key)+1] == key+"/" && !present[k] {
				delete(c.firstSeen, k)
			}
		}
		c.mu.Unlock()
	}
	for _, p := range c.podsOnNode(key) {
		c.enqueuePod(p)
	}
	return nil
}

// syncPodEviction deletes a pod whose node's NoExecute taints it does not
// (or no longer) tolerate, or checks it again when its toleration ends.
func (c *Controller) syncPodEviction(ctx context.Context, key string) error {
	ns, name := apis.SplitKey(key)
	p, err := c.pods.Get(ns, name)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	nodeName := p.GetSpec().GetNodeName()
	if nodeName == "" || p.GetMetadata().GetDeletionTimestamp() != nil {
		return nil
	}
	node, err := c.nodes.Get("", nodeName)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	taints := noExecuteTaints(node)
	if len(taints) == 0 {
		return nil
	}
	deadline, ok := c.evictionDeadline(p, nodeName, taints)
	if !ok {
		return nil
	}
	if now := c.clock.Now(); deadline.After(now) {
		c.podQueue.AddAfter(key, deadline.Sub(now))
		return nil
	}
	md := p.GetMetadata()
	_, _, err = c.cfg.PodClient.Delete(ctx, ns, name, client.DeleteOptions{Preconditions: &client.Preconditions{UID: md.GetUid()}})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("evict pod %s from node %s: %w", key, nodeName, err)
	}
	if err == nil {
		c.rec.Eventf(p, controller.EventTypeNormal, taintEvictionReason, markedForDeletionMessageFmt, key)
		c.metrics.podDeletions.Inc()
		c.lg.Info("Evicted pod from a tainted node", zap.String("pod", key), zap.String("node", nodeName))
	}
	return nil
}
