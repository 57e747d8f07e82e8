package deployment

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/controller"
)

// syncStatusOnly only writes the status (a Deployment being deleted).
func (c *Controller) syncStatusOnly(ctx context.Context, d *v1.Deployment, rsList []*v1.ReplicaSet) error {
	newRS, oldRSs, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	return c.syncDeploymentStatus(ctx, withNew(oldRSs, newRS), newRS, d)
}

// syncScale handles a paused Deployment or a change of replicas:
// proportional scaling, no rollout.
func (c *Controller) syncScale(ctx context.Context, d *v1.Deployment, rsList []*v1.ReplicaSet) error {
	newRS, oldRSs, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	if err := c.scale(ctx, d, newRS, oldRSs); err != nil {
		return err
	}
	if d.GetSpec().GetPaused() {
		if err := c.cleanupDeployment(ctx, oldRSs, d); err != nil {
			return err
		}
	}
	return c.syncDeploymentStatus(ctx, withNew(oldRSs, newRS), newRS, d)
}

// checkPausedConditions sets Progressing=Unknown on pause and resume.
func (c *Controller) checkPausedConditions(ctx context.Context, d *v1.Deployment) error {
	if !hasProgressDeadline(d) {
		return nil
	}
	cond := getCondition(d.GetStatus(), ConditionProgressing)
	if cond != nil && cond.GetReason() == ReasonTimedOut {
		return nil
	}
	pausedCond := cond != nil && cond.GetReason() == ReasonPaused
	now := c.clock.Now()
	switch {
	case d.GetSpec().GetPaused() && !pausedCond:
		setCondition(ensureStatus(d), newCondition(ConditionProgressing, controller.ConditionUnknown, ReasonPaused, "Deployment is paused", now))
	case !d.GetSpec().GetPaused() && pausedCond:
		setCondition(ensureStatus(d), newCondition(ConditionProgressing, controller.ConditionUnknown, ReasonResumed, "Deployment is resumed", now))
	default:
		return nil
	}
	return c.writeStatus(ctx, d)
}

// isScalingEvent: an active ReplicaSet was scaled for other replicas
// than the Deployment wants now.
func (c *Controller) isScalingEvent(ctx context.Context, d *v1.Deployment, rsList []*v1.ReplicaSet) (bool, error) {
	newRS, oldRSs, err := c.getAllReplicaSetsAndSyncRevision(ctx, d, rsList, false)
	if err != nil {
		return false, err
	}
	for _, rs := range filterActive(withNew(oldRSs, newRS)) {
		if desired, ok := intAnnotation(rs, DesiredReplicasAnnotation); ok && desired != replicasOf(d) {
			return true, nil
		}
	}
	return false, nil
}

// getAllReplicaSetsAndSyncRevision returns the new ReplicaSet (creating
// it when asked and missing) and the old ones, and brings the revision
// annotations up to date.
func (c *Controller) getAllReplicaSetsAndSyncRevision(ctx context.Context, d *v1.Deployment, rsList []*v1.ReplicaSet, create bool) (*v1.ReplicaSet, []*v1.ReplicaSet, error) {
	oldRSs := findOldReplicaSets(d, rsList)
	newRS, err := c.getNewReplicaSet(ctx, d, rsList, oldRSs, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, oldRSs, nil
}

// writeMeta writes d's metadata (the revision annotation) with Update,
// keeping the status d carries for a following writeStatus.
func (c *Controller) writeMeta(ctx context.Context, d *v1.Deployment) error {
	out, err := c.cfg.DeploymentClient.Update(ctx, d)
	if err != nil {
		return fmt.Errorf("update deployment %s: %w", apis.Key(d), err)
	}
	d.Metadata, d.Spec = out.GetMetadata(), out.GetSpec()
	return nil
}

// writeStatus writes d's status with UpdateStatus and takes the new
// resourceVersion.
func (c *Controller) writeStatus(ctx context.Context, d *v1.Deployment) error {
	out, err := c.cfg.DeploymentClient.UpdateStatus(ctx, d)
	if err != nil {
		return fmt.Errorf("update status of deployment %s: %w", apis.Key(d), err)
	}
	d.Metadata.ResourceVersion = out.GetMetadata().GetResourceVersion()
	return nil
}

// getNewReplicaSet returns the ReplicaSet of d's current template with
// its revision made the highest, or creates it when create is set.
func (c *Controller) getNewReplicaSet(ctx context.Context, d *v1.Deployment, rsList, oldRSs []*v1.ReplicaSet, create bool) (*v1.ReplicaSet, error) {
	existing := findNewReplicaSet(d, rsList)
	newRevision := maxRevision(oldRSs) + 1
	now := c.clock.Now()
	if existing != nil {
		rsCopy := proto.Clone(existing).(*v1.ReplicaSet)
		annotationsUpdated := setNewReplicaSetAnnotations(d, rsCopy, newRevision, true)
		minReadyChanged := rsCopy.GetSpec().GetMinReadySeconds() != d.GetSpec().GetMinReadySeconds()
		if annotationsUpdated || minReadyChanged {
			rsCopy.Spec.MinReadySeconds = d.GetSpec().GetMinReadySeconds()
			out, err := c.cfg.RSClient.Update(ctx, rsCopy)
			if err != nil {
				return nil, fmt.Errorf("update replicaset %s: %w", apis.Key(rsCopy), err)
			}
			return out, nil
		}
		metaChanged := setDeploymentRevision(d, rsCopy.GetMetadata().GetAnnotations()[RevisionAnnotation])
		statusChanged := false
		if hasProgressDeadline(d) && getCondition(d.GetStatus(), ConditionProgressing) == nil {
			msg := fmt.Sprintf("Found new replica set %q", rsCopy.GetMetadata().GetName())
			setCondition(ensureStatus(d), newCondition(ConditionProgressing, controller.ConditionTrue, ReasonFoundNewReplicaSet, msg, now))
			statusChanged = true
		}
		if metaChanged {
			if err := c.writeMeta(ctx, d); err != nil {
				return nil, err
			}
		}
		if statusChanged {
			if err := c.writeStatus(ctx, d); err != nil {
				return nil, err
			}
		}
		return rsCopy, nil
	}
	if !create {
		return nil, nil
	}

	// A new ReplicaSet for the current template.
	template := proto.Clone(d.GetSpec().GetTemplate()).(*v1.PodTemplateSpec)
	if template.Metadata == nil {
		template.Metadata = &v1.ObjectMeta{}
	}
	hash := ComputeHash(d.GetSpec().GetTemplate(), collisionCount(d))
	template.Metadata.Labels = withLabel(template.Metadata.Labels, PodTemplateHashLabel, hash)
	selector := proto.Clone(d.GetSpec().GetSelector()).(*v1.LabelSelector)
	selector.MatchLabels = withLabel(selector.MatchLabels, PodTemplateHashLabel, hash)
	zero := int32(0)
	newRS := &v1.ReplicaSet{
		Metadata: &v1.ObjectMeta{
			Name:            d.GetMetadata().GetName() + "-" + hash,
			Namespace:       d.GetMetadata().GetNamespace(),
			Labels:          withLabel(template.Metadata.Labels, PodTemplateHashLabel, hash),
			OwnerReferences: []*v1.OwnerReference{controller.NewControllerRef(d)},
		},
		Spec: &v1.ReplicaSetSpec{
			Replicas:        &zero,
			MinReadySeconds: d.GetSpec().GetMinReadySeconds(),
			Selector:        selector,
			Template:        template,
		},
	}
	apis.SetTypeMeta(newRS)
	n, err := newRSNewReplicas(d, withNew(oldRSs, newRS), newRS)
	if err != nil {
		return nil, err
	}
	newRS.Spec.Replicas = &n
	setNewReplicaSetAnnotations(d, newRS, newRevision, false)

	created, err := c.cfg.RSClient.Create(ctx, newRS)
	alreadyExists := false
	switch {
	case errdefs.IsAlreadyExists(err):
		alreadyExists = true
		rs, getErr := c.rss.Get(newRS.GetMetadata().GetNamespace(), newRS.GetMetadata().GetName())
		if getErr != nil {
			// The cache is behind our own create: read it live.
			rs, getErr = c.cfg.RSClient.Get(ctx, newRS.GetMetadata().GetNamespace(), newRS.GetMetadata().GetName())
		}
		if getErr != nil {
			return nil, fmt.Errorf("get replicaset %s: %w", newRS.GetMetadata().GetName(), getErr)
		}
		if controller.IsControlledBy(rs, d) && EqualIgnoreHash(d.GetSpec().GetTemplate(), rs.GetSpec().GetTemplate()) {
			created, err = rs, nil
			break
		}
		// A hash collision: another template has this name. Bump the
		// collision count so the next hash differs.
		st := ensureStatus(d)
		cc := int32(0)
		if st.CollisionCount != nil {
			cc = *st.CollisionCount
		}
		cc++
		st.CollisionCount = &cc
		if werr := c.writeStatus(ctx, d); werr == nil {
			c.lg.Info("Found a hash collision; bumped collisionCount", zap.String("deployment", apis.Key(d)), zap.Int32("collisionCount", cc))
		}
		return nil, fmt.Errorf("create replicaset %s: %w", newRS.GetMetadata().GetName(), err)
	case errdefs.IsForbidden(err):
		return nil, fmt.Errorf("create replicaset %s: %w", newRS.GetMetadata().GetName(), err)
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", newRS.GetMetadata().GetName(), err)
		if hasProgressDeadline(d) {
			setCondition(ensureStatus(d), newCondition(ConditionProgressing, controller.ConditionFalse, ReasonFailedRSCreate, msg, now))
			_ = c.writeStatus(ctx, d)
		}
		c.rec.Eventf(d, controller.EventTypeWarning, "FailedCreate", "%s", msg)
		return nil, fmt.Errorf("create replicaset %s: %w", newRS.GetMetadata().GetName(), err)
	}
	if !alreadyExists && n > 0 {
		c.rec.Eventf(d, controller.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.GetMetadata().GetName(), n)
	}
	metaChanged := setDeploymentRevision(d, strconv.FormatInt(newRevision, 10))
	statusChanged := false
	if !alreadyExists && hasProgressDeadline(d) {
		msg := fmt.Sprintf("Created new replica set %q", created.GetMetadata().GetName())
		setCondition(ensureStatus(d), newCondition(ConditionProgressing, controller.ConditionTrue, ReasonNewReplicaSet, msg, now))
		statusChanged = true
	}
	if metaChanged {
		if err := c.writeMeta(ctx, d); err != nil {
			return nil, err
		}
	}
	if statusChanged {
		if err := c.writeStatus(ctx, d); err != nil {
			return nil, err
		}
	}
	return created, nil
}

func withLabel(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

// newRSNewReplicas is the size the new ReplicaSet may have now.
func newRSNewReplicas(d *v1.Deployment, allRSs []*v1.ReplicaSet, newRS *v1.ReplicaSet) (int32, error) {
	switch d.GetSpec().GetStrategy().GetType() {
	case StrategyRollingUpdate, "":
		s, u := rollingParams(d)
		surge, _, err := ResolveFenceposts(s, u, replicasOf(d))
		if err != nil {
			return 0, err
		}
		current := specReplicas(allRSs)
		maxTotal := replicasOf(d) + surge
		if current >= maxTotal {
			return rsReplicas(newRS), nil
		}
		up := min(maxTotal-current, replicasOf(d)-rsReplicas(newRS))
		return rsReplicas(newRS) + up, nil
	case StrategyRecreate:
		return replicasOf(d), nil
	}
	return 0, fmt.Errorf("deployment strategy %q not supported", d.GetSpec().GetStrategy().GetType())
}

// scale brings the active ReplicaSets to d's replicas: all to the single
// active one, or proportionally (largest first) during a rollout.
func (c *Controller) scale(ctx context.Context, d *v1.Deployment, newRS *v1.ReplicaSet, oldRSs []*v1.ReplicaSet) error {
	if rs := findActiveOrLatest(newRS, oldRSs); rs != nil {
		if rsReplicas(rs) == replicasOf(d) {
			return nil
		}
		_, _, err := c.scaleReplicaSetAndRecordEvent(ctx, rs, replicasOf(d), d)
		return err
	}
	if isSaturated(d, newRS) {
		for _, old := range filterActive(oldRSs) {
			if _, _, err := c.scaleReplicaSetAndRecordEvent(ctx, old, 0, d); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRollingUpdate(d) {
		return nil
	}
	allRSs := filterActive(withNew(oldRSs, newRS))
	allowed := int32(0)
	if replicasOf(d) > 0 {
		allowed = replicasOf(d) + MaxSurge(d)
	}
	toAdd := allowed - specReplicas(allRSs)
	op := ""
	switch {
	case toAdd > 0:
		bySize(allRSs, true)
		op = "up"
	case toAdd < 0:
		bySize(allRSs, false)
		op = "down"
	}
	added := int32(0)
	sizes := make([]int32, len(allRSs))
	for i, rs := range allRSs {
		sizes[i] = rsReplicas(rs)
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	for i, rs := range allRSs {
		if i == 0 && toAdd != 0 {
			sizes[i] = max(sizes[i]+toAdd-added, 0)
		}
		if _, _, err := c.scaleReplicaSet(ctx, rs, sizes[i], d, op); err != nil {
			return err
		}
	}
	return nil
}

// proportion is how many of toAdd replicas rs takes.
func proportion(rs *v1.ReplicaSet, d *v1.Deployment, toAdd, added int32) int32 {
	if rs == nil || rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	frac := fraction(rs, d)
	allowed := toAdd - added
	if toAdd > 0 {
		return min(frac, allowed)
	}
	return max(frac, allowed)
}

// fraction is the change of rs's size that keeps its share of the
// Deployment when the Deployment resizes.
func fraction(rs *v1.ReplicaSet, d *v1.Deployment) int32 {
	if replicasOf(d) == 0 {
		return -rsReplicas(rs)
	}
	target := replicasOf(d) + MaxSurge(d)
	annotated, ok := intAnnotation(rs, MaxReplicasAnnotation)
	if !ok || annotated <= 0 {
		annotated = d.GetStatus().GetReplicas()
	}
	if annotated <= 0 {
		return 0
	}
	size := math.Round(float64(rsReplicas(rs)) * float64(target) / float64(annotated))
	return min(int32(size), target) - rsReplicas(rs)
}

// findActiveOrLatest is the only active ReplicaSet, or the newest one
// when none is active; nil when several are active.
func findActiveOrLatest(newRS *v1.ReplicaSet, oldRSs []*v1.ReplicaSet) *v1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	old := append([]*v1.ReplicaSet(nil), oldRSs...)
	byCreation(old)
	active := filterActive(withNew(old, newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		return old[len(old)-1]
	case 1:
		return active[0]
	}
	return nil
}

// isSaturated: the new ReplicaSet alone runs every replica, available.
func isSaturated(d *v1.Deployment, rs *v1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := intAnnotation(rs, DesiredReplicasAnnotation)
	return ok && rsReplicas(rs) == replicasOf(d) && desired == replicasOf(d) && rs.GetStatus().GetAvailableReplicas() == replicasOf(d)
}

func (c *Controller) scaleReplicaSetAndRecordEvent(ctx context.Context, rs *v1.ReplicaSet, newScale int32, d *v1.Deployment) (bool, *v1.ReplicaSet, error) {
	if rsReplicas(rs) == newScale {
		return false, rs, nil
	}
	op := "down"
	if rsReplicas(rs) < newScale {
		op = "up"
	}
	return c.scaleReplicaSet(ctx, rs, newScale, d, op)
}

// scaleReplicaSet sets rs's replicas (and replicas annotations).
func (c *Controller) scaleReplicaSet(ctx context.Context, rs *v1.ReplicaSet, newScale int32, d *v1.Deployment, op string) (bool, *v1.ReplicaSet, error) {
	sizeChanged := rsReplicas(rs) != newScale
	maxReplicas := replicasOf(d) + MaxSurge(d)
	if !sizeChanged && !replicasAnnotationsNeedUpdate(rs, replicasOf(d), maxReplicas) {
		return false, rs, nil
	}
	oldScale := rsReplicas(rs)
	next := proto.Clone(rs).(*v1.ReplicaSet)
	next.Spec.Replicas = &newScale
	setReplicasAnnotations(next, replicasOf(d), maxReplicas)
	out, err := c.cfg.RSClient.Update(ctx, next)
	if err != nil {
		return false, rs, fmt.Errorf("scale replicaset %s to %d: %w", apis.Key(rs), newScale, err)
	}
	if sizeChanged {
		c.rec.Eventf(d, controller.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", op, rs.GetMetadata().GetName(), oldScale, newScale)
		c.lg.Debug("Scaled replica set", zap.String("deployment", apis.Key(d)), zap.String("replicaSet", rs.GetMetadata().GetName()), zap.Int32("from", oldScale), zap.Int32("to", newScale))
	}
	return sizeChanged, out, nil
}

// cleanupDeployment deletes the oldest ReplicaSets beyond
// revisionHistoryLimit, those scaled to zero and settled.
func (c *Controller) cleanupDeployment(ctx context.Context, oldRSs []*v1.ReplicaSet, d *v1.Deployment) error {
	limit := d.GetSpec().RevisionHistoryLimit
	if limit == nil {
		return nil
	}
	var cleanable []*v1.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.GetMetadata().GetDeletionTimestamp() == nil {
			cleanable = append(cleanable, rs)
		}
	}
	diff := len(cleanable) - int(*limit)
	if diff <= 0 {
		return nil
	}
	byRevision(cleanable)
	for _, rs := range cleanable[:diff] {
		if rs.GetStatus().GetReplicas() != 0 || rsReplicas(rs) != 0 || rs.GetMetadata().GetGeneration() > rs.GetStatus().GetObservedGeneration() {
			continue
		}
		md := rs.GetMetadata()
		_, _, err := c.cfg.RSClient.Delete(ctx, md.GetNamespace(), md.GetName(), client.DeleteOptions{Preconditions: &client.Preconditions{UID: md.GetUid()}})
		if err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete old replicaset %s: %w", apis.Key(rs), err)
		}
		c.lg.Debug("Deleted old replica set", zap.String("deployment", apis.Key(d)), zap.String("replicaSet", md.GetName()))
	}
	return nil
}

// calculateStatus is d's status from its ReplicaSets.
func (c *Controller) calculateStatus(allRSs []*v1.ReplicaSet, newRS *v1.ReplicaSet, d *v1.Deployment) *v1.DeploymentStatus {
	available := availableReplicas(allRSs)
	unavailable := max(specReplicas(allRSs)-available, 0)
	var updated int32
	if newRS != nil {
		updated = newRS.GetStatus().GetReplicas()
	}
	st := &v1.DeploymentStatus{
		ObservedGeneration:  d.GetMetadata().GetGeneration(),
		Replicas:            actualReplicas(allRSs),
		UpdatedReplicas:     updated,
		ReadyReplicas:       readyReplicas(allRSs),
		AvailableReplicas:   available,
		UnavailableReplicas: unavailable,
		CollisionCount:      collisionCount(d),
	}
	for _, cond := range d.GetStatus().GetConditions() {
		st.Conditions = append(st.Conditions, proto.Clone(cond).(*v1.Condition))
	}
	now := c.clock.Now()
	if available >= replicasOf(d)-MaxUnavailable(d) {
		setCondition(st, newCondition(ConditionAvailable, controller.ConditionTrue, ReasonMinimumReplicasAvailable, "Deployment has minimum availability.", now))
	} else {
		setCondition(st, newCondition(ConditionAvailable, controller.ConditionFalse, ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability.", now))
	}
	return st
}

// syncDeploymentStatus writes the status calculated from the
// ReplicaSets, when it changed.
func (c *Controller) syncDeploymentStatus(ctx context.Context, allRSs []*v1.ReplicaSet, newRS *v1.ReplicaSet, d *v1.Deployment) error {
	st := c.calculateStatus(allRSs, newRS, d)
	if proto.Equal(d.GetStatus(), st) {
		return nil
	}
	d.Status = st
	return c.writeStatus(ctx, d)
}

// syncRolloutStatus writes the status with the Progressing condition
// brought up to date, and requeues a Deployment whose progress deadline
// is still ahead.
func (c *Controller) syncRolloutStatus(ctx context.Context, allRSs []*v1.ReplicaSet, newRS *v1.ReplicaSet, d *v1.Deployment) error {
	st := c.calculateStatus(allRSs, newRS, d)
	now := c.clock.Now()
	if !hasProgressDeadline(d) {
		removeCondition(st, ConditionProgressing)
	}
	cur := getCondition(d.GetStatus(), ConditionProgressing)
	complete := st.GetReplicas() == st.GetUpdatedReplicas() && cur != nil && cur.GetReason() == ReasonNewRSAvailable
	if hasProgressDeadline(d) && !complete {
		switch {
		case deploymentComplete(d, st):
			msg := fmt.Sprintf("Deployment %q has successfully progressed.", d.GetMetadata().GetName())
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.GetMetadata().GetName())
			}
			setCondition(st, newCondition(ConditionProgressing, controller.ConditionTrue, ReasonNewRSAvailable, msg, now))
		case deploymentProgressing(d, st):
			msg := fmt.Sprintf("Deployment %q is progressing.", d.GetMetadata().GetName())
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q is progressing.", newRS.GetMetadata().GetName())
			}
			cond := newCondition(ConditionProgressing, controller.ConditionTrue, ReasonReplicaSetUpdated, msg, now)
			if cur != nil {
				if cur.GetStatus() == controller.ConditionTrue {
					cond.LastTransitionTime = cur.GetLastTransitionTime()
				}
				removeCondition(st, ConditionProgressing)
			}
			setCondition(st, cond)
		case deploymentTimedOut(d, st, now):
			msg := fmt.Sprintf("Deployment %q has timed out progressing.", d.GetMetadata().GetName())
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has timed out progressing.", newRS.GetMetadata().GetName())
			}
			setCondition(st, newCondition(ConditionProgressing, controller.ConditionFalse, ReasonTimedOut, msg, now))
		}
	}
	if failure := replicaFailure(allRSs, newRS); failure != nil {
		setCondition(st, failure)
	} else {
		removeCondition(st, ConditionReplicaFailure)
	}
	if proto.Equal(d.GetStatus(), st) {
		c.requeueStuckDeployment(d, st, now)
		return nil
	}
	d.Status = st
	return c.writeStatus(ctx, d)
}

// replicaFailure surfaces the new ReplicaSet's ReplicaFailure condition.
func replicaFailure(allRSs []*v1.ReplicaSet, newRS *v1.ReplicaSet) *v1.Condition {
	var sets []*v1.ReplicaSet
	if newRS != nil {
		sets = []*v1.ReplicaSet{newRS}
	} else {
		sets = allRSs
	}
	for _, rs := range sets {
		for _, cond := range rs.GetStatus().GetConditions() {
			if cond.GetType() == ConditionReplicaFailure {
				return &v1.Condition{Type: ConditionReplicaFailure, Status: cond.GetStatus(), Reason: cond.GetReason(), Message: cond.GetMessage(),
					LastTransitionTime: cond.GetLastTransitionTime(), LastUpdateTime: cond.GetLastTransitionTime()}
			}
		}
	}
	return nil
}

// requeueStuckDeployment checks d again when its progress deadline
// passes.
func (c *Controller) requeueStuckDeployment(d *v1.Deployment, st *v1.DeploymentStatus, now time.Time) {
	cur := getCondition(st, ConditionProgressing)
	if !hasProgressDeadline(d) || cur == nil || cur.GetReason() == ReasonNewRSAvailable || cur.GetReason() == ReasonTimedOut || deploymentComplete(d, st) {
		return
	}
	after := cur.GetLastUpdateTime().AsTime().Add(time.Duration(*d.GetSpec().ProgressDeadlineSeconds) * time.Second).Sub(now)
	if after < time.Second {
		c.queue.Add(apis.Key(d))
		return
	}
	c.requeueAfter(d, after)
}
