package deployment

import (
	"context"
	"fmt"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

// rolloutRolling moves pods to the new ReplicaSet within maxSurge and
// maxUnavailable: scale the new one up as far as the surge allows, scale
// old ones down as far as availability allows, one step per sync.
func (c *Controller) rolloutRolling(ctx context.Context, d *v1.Deployment, rsList []*v1.ReplicaSet) error {
	newRS, oldRSs, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	allRSs := withNew(oldRSs, newRS)
	scaledUp, err := c.reconcileNewReplicaSet(ctx, allRSs, newRS, d)
	if err != nil {
		return err
	}
	if scaledUp {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	scaledDown, err := c.reconcileOldReplicaSets(ctx, allRSs, filterActive(oldRSs), newRS, d)
	if err != nil {
		return err
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if deploymentComplete(d, d.GetStatus()) {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, allRSs, newRS, d)
}

func (c *Controller) reconcileNewReplicaSet(ctx context.Context, allRSs []*v1.ReplicaSet, newRS *v1.ReplicaSet, d *v1.Deployment) (bool, error) {
	switch {
	case rsReplicas(newRS) == replicasOf(d):
		return false, nil
	case rsReplicas(newRS) > replicasOf(d):
		scaled, _, err := c.scaleReplicaSetAndRecordEvent(ctx, newRS, replicasOf(d), d)
		return scaled, err
	}
	n, err := newRSNewReplicas(d, allRSs, newRS)
	if err != nil {
		return false, err
	}
	scaled, _, err := c.scaleReplicaSetAndRecordEvent(ctx, newRS, n, d)
	return scaled, err
}

// reconcileOldReplicaSets scales old ReplicaSets down: first their
// unhealthy pods, then healthy ones while at least replicas-maxUnavailable
// stay available.
func (c *Controller) reconcileOldReplicaSets(ctx context.Context, allRSs, oldRSs []*v1.ReplicaSet, newRS *v1.ReplicaSet, d *v1.Deployment) (bool, error) {
	if specReplicas(oldRSs) == 0 {
		return false, nil
	}
	allPods := specReplicas(allRSs)
	minAvailable := replicasOf(d) - MaxUnavailable(d)
	newUnavailable := rsReplicas(newRS) - newRS.GetStatus().GetAvailableReplicas()
	maxScaledDown := allPods - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	oldRSs, cleaned, err := c.cleanupUnhealthyReplicas(ctx, oldRSs, d, maxScaledDown)
	if err != nil {
		return false, err
	}
	scaledDown, err := c.scaleDownOldReplicaSetsForRollingUpdate(ctx, withNew(oldRSs, newRS), oldRSs, d)
	if err != nil {
		return false, err
	}
	return cleaned+scaledDown > 0, nil
}

// cleanupUnhealthyReplicas scales old ReplicaSets down by their
// unavailable pods, oldest first, at most maxCleanup in all.
func (c *Controller) cleanupUnhealthyReplicas(ctx context.Context, oldRSs []*v1.ReplicaSet, d *v1.Deployment, maxCleanup int32) ([]*v1.ReplicaSet, int32, error) {
	oldRSs = append([]*v1.ReplicaSet(nil), oldRSs...)
	byCreation(oldRSs)
	var total int32
	for i, rs := range oldRSs {
		if total >= maxCleanup {
			break
		}
		if rsReplicas(rs) == 0 || rsReplicas(rs) == rs.GetStatus().GetAvailableReplicas() {
			continue
		}
		n := min(maxCleanup-total, rsReplicas(rs)-rs.GetStatus().GetAvailableReplicas())
		if n < 0 {
			// More available than wanted: the status predates a scale-down.
			// Acting on it could only scale up; wait for a fresh status.
			return nil, total, fmt.Errorf("cleaning up unhealthy replicas of %s: invalid scale %d -> %d (stale status)", apis.Key(rs), rsReplicas(rs), rsReplicas(rs)-n)
		}
		_, updated, err := c.scaleReplicaSetAndRecordEvent(ctx, rs, rsReplicas(rs)-n, d)
		if err != nil {
			return nil, total, err
		}
		total += n
		oldRSs[i] = updated
	}
	return oldRSs, total, nil
}

// scaleDownOldReplicaSetsForRollingUpdate scales old ReplicaSets down,
// oldest first, while the available pods stay above the minimum.
func (c *Controller) scaleDownOldReplicaSetsForRollingUpdate(ctx context.Context, allRSs, oldRSs []*v1.ReplicaSet, d *v1.Deployment) (int32, error) {
	minAvailable := replicasOf(d) - MaxUnavailable(d)
	// A ReplicaSet cannot have more available pods than it wants: a larger
	// count is a status from before a scale-down.
	var available int32
	for _, rs := range allRSs {
		available += min(rs.GetStatus().GetAvailableReplicas(), rsReplicas(rs))
	}
	if available <= minAvailable {
		return 0, nil
	}
	want := available - minAvailable
	oldRSs = append([]*v1.ReplicaSet(nil), oldRSs...)
	byCreation(oldRSs)
	var total int32
	for _, rs := range oldRSs {
		if total >= want {
			break
		}
		if rsReplicas(rs) == 0 {
			continue
		}
		n := min(rsReplicas(rs), want-total)
		if _, _, err := c.scaleReplicaSetAndRecordEvent(ctx, rs, rsReplicas(rs)-n, d); err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// rolloutRecreate scales every old ReplicaSet to zero, waits until their
// pods are gone, then scales the new one up.
func (c *Controller) rolloutRecreate(ctx context.Context, d *v1.Deployment, rsList []*v1.ReplicaSet, podMap map[string][]*v1.Pod) error {
	newRS, oldRSs, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	allRSs := withNew(oldRSs, newRS)
	scaledDown := false
	for _, rs := range filterActive(oldRSs) {
		scaled, _, err := c.scaleReplicaSetAndRecordEvent(ctx, rs, 0, d)
		if err != nil {
			return err
		}
		scaledDown = scaledDown || scaled
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if oldPodsRunning(newRS, oldRSs, podMap) {
		return c.syncRolloutStatus(ctx, allRSs, newRS, d)
	}
	if newRS == nil {
		newRS, oldRSs, err = c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, true)
		if err != nil {
			return err
		}
		allRSs = withNew(oldRSs, newRS)
	}
	if _, _, err := c.scaleReplicaSetAndRecordEvent(ctx, newRS, replicasOf(d), d); err != nil {
		return err
	}
	if deploymentComplete(d, d.GetStatus()) {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, allRSs, newRS, d)
}

// oldPodsRunning: some pod of an old ReplicaSet has not finished (one
// being deleted still runs).
func oldPodsRunning(newRS *v1.ReplicaSet, oldRSs []*v1.ReplicaSet, podMap map[string][]*v1.Pod) bool {
	if actualReplicas(oldRSs) > 0 {
		return true
	}
	for uid, pods := range podMap {
		if newRS != nil && newRS.GetMetadata().GetUid() == uid {
			continue
		}
		for _, p := range pods {
			switch p.GetStatus().GetPhase() {
			case "Failed", "Succeeded":
				continue
			}
			return true
		}
	}
	return false
}
