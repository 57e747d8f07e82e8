package deployment

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
)

// Strategy types.
const (
	StrategyRollingUpdate = "RollingUpdate"
	StrategyRecreate      = "Recreate"
)

// Labels and annotations, Kubernetes' names.
const (
	// PodTemplateHashLabel tells the pods of one template apart.
	PodTemplateHashLabel = "pod-template-hash"
	// RevisionAnnotation is the revision of a ReplicaSet (and, copied, of
	// its Deployment).
	RevisionAnnotation = "deployment.kubernetes.io/revision"
	// RevisionHistoryAnnotation lists the revisions a ReplicaSet had
	// before a rollback gave it a new one.
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	// DesiredReplicasAnnotation is the Deployment's replicas when the
	// ReplicaSet was last scaled.
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	// MaxReplicasAnnotation is replicas+maxSurge when the ReplicaSet was
	// last scaled.
	MaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
	// ChangeCauseAnnotation is copied from the Deployment to its
	// ReplicaSets; `rollout history` prints it.
	ChangeCauseAnnotation = "kubernetes.io/change-cause"
	// LastAppliedAnnotation is never copied to ReplicaSets.
	LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

	maxRevisionHistoryChars = 2000
)

// Conditions and their reasons.
const (
	ConditionAvailable      = "Available"
	ConditionProgressing    = "Progressing"
	ConditionReplicaFailure = "ReplicaFailure"

	ReasonMinimumReplicasAvailable   = "MinimumReplicasAvailable"
	ReasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
	ReasonNewReplicaSet              = "NewReplicaSetCreated"
	ReasonFoundNewReplicaSet         = "FoundNewReplicaSet"
	ReasonReplicaSetUpdated          = "ReplicaSetUpdated"
	ReasonNewRSAvailable             = "NewReplicaSetAvailable"
	ReasonFailedRSCreate             = "ReplicaSetCreateError"
	ReasonTimedOut                   = "ProgressDeadlineExceeded"
	ReasonPaused                     = "DeploymentPaused"
	ReasonResumed                    = "DeploymentResumed"
)

func replicasOf(d *v1.Deployment) int32 {
	if r := d.GetSpec().Replicas; r != nil {
		return *r
	}
	return 1
}

func rsReplicas(rs *v1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	if r := rs.GetSpec().Replicas; r != nil {
		return *r
	}
	return 1
}

func ensureStatus(d *v1.Deployment) *v1.DeploymentStatus {
	if d.Status == nil {
		d.Status = &v1.DeploymentStatus{}
	}
	return d.Status
}

// ScaledValue resolves an int-or-percent ("3", "25%") against total,
// rounding a percentage up or down.
func ScaledValue(v string, total int32, roundUp bool) (int32, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	if p, ok := strings.CutSuffix(v, "%"); ok {
		pct, err := strconv.Atoi(p)
		if err != nil || pct < 0 {
			return 0, fmt.Errorf("invalid value for IntOrString: invalid value %q", v)
		}
		x := float64(pct) * float64(total) / 100
		if roundUp {
			return int32(math.Ceil(x)), nil
		}
		return int32(math.Floor(x)), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid value for IntOrString: invalid value %q", v)
	}
	return int32(n), nil
}

// ResolveFenceposts returns maxSurge (rounded up) and maxUnavailable
// (rounded down) for desired replicas; both zero would deadlock, so
// maxUnavailable becomes 1 then.
func ResolveFenceposts(maxSurge, maxUnavailable string, desired int32) (int32, int32, error) {
	surge, err := ScaledValue(maxSurge, desired, true)
	if err != nil {
		return 0, 0, fmt.Errorf("maxSurge: %w", err)
	}
	unavailable, err := ScaledValue(maxUnavailable, desired, false)
	if err != nil {
		return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable, nil
}

func isRollingUpdate(d *v1.Deployment) bool {
	t := d.GetSpec().GetStrategy().GetType()
	return t == StrategyRollingUpdate || t == ""
}

func rollingParams(d *v1.Deployment) (string, string) {
	ru := d.GetSpec().GetStrategy().GetRollingUpdate()
	surge, unavailable := ru.GetMaxSurge(), ru.GetMaxUnavailable()
	if surge == "" {
		surge = "25%"
	}
	if unavailable == "" {
		unavailable = "25%"
	}
	return surge, unavailable
}

// MaxUnavailable is how many of d's pods may be unavailable during a
// rolling update (never more than replicas).
func MaxUnavailable(d *v1.Deployment) int32 {
	if !isRollingUpdate(d) || replicasOf(d) == 0 {
		return 0
	}
	s, u := rollingParams(d)
	_, unavailable, err := ResolveFenceposts(s, u, replicasOf(d))
	if err != nil {
		return 0
	}
	return min(unavailable, replicasOf(d))
}

// MaxSurge is how many pods d may run above replicas during a rolling
// update.
func MaxSurge(d *v1.Deployment) int32 {
	if !isRollingUpdate(d) {
		return 0
	}
	s, u := rollingParams(d)
	surge, _, err := ResolveFenceposts(s, u, replicasOf(d))
	if err != nil {
		return 0
	}
	return surge
}

// ComputeHash is the pod-template-hash of a template: FNV-32a over its
// deterministic encoding (and the collision count, when set), printed as
// Kubernetes prints it (decimal digits mapped to a safe alphabet).
func ComputeHash(t *v1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(t)
	h.Write(b)
	if collisionCount != nil {
		var buf [8]byte
		binary.LittleEndian.PutUint32(buf[:], uint32(*collisionCount))
		h.Write(buf[:4])
	}
	return safeEncode(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// safeEncode is Kubernetes' rand.SafeEncodeString: no vowels, no
// look-alike characters, so a hash never spells a word.
func safeEncode(s string) string {
	const alphanums = "bcdfghjklmnpqrstvwxz2456789"
	r := make([]byte, len(s))
	for i, b := range []byte(s) {
		r[i] = alphanums[int(b)%len(alphanums)]
	}
	return string(r)
}

// EqualIgnoreHash compares two templates, ignoring the
// pod-template-hash label.
func EqualIgnoreHash(a, b *v1.PodTemplateSpec) bool {
	a = proto.Clone(a).(*v1.PodTemplateSpec)
	b = proto.Clone(b).(*v1.PodTemplateSpec)
	if a.GetMetadata() != nil {
		delete(a.Metadata.Labels, PodTemplateHashLabel)
	}
	if b.GetMetadata() != nil {
		delete(b.Metadata.Labels, PodTemplateHashLabel)
	}
	if a.Metadata == nil {
		a.Metadata = &v1.ObjectMeta{}
	}
	if b.Metadata == nil {
		b.Metadata = &v1.ObjectMeta{}
	}
	return proto.Equal(a, b)
}

// Revision is rs's revision annotation (0 when absent or bad).
func Revision(obj interface{ GetMetadata() *v1.ObjectMeta }) int64 {
	n, err := strconv.ParseInt(obj.GetMetadata().GetAnnotations()[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func maxRevision(rss []*v1.ReplicaSet) int64 {
	var m int64
	for _, rs := range rss {
		if rs != nil {
			m = max(m, Revision(rs))
		}
	}
	return m
}

// byCreation sorts ReplicaSets oldest first (name breaks ties).
func byCreation(rss []*v1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		ti, tj := rss[i].GetMetadata().GetCreationTimestamp().AsTime(), rss[j].GetMetadata().GetCreationTimestamp().AsTime()
		if ti.Equal(tj) {
			return rss[i].GetMetadata().GetName() < rss[j].GetMetadata().GetName()
		}
		return ti.Before(tj)
	})
}

// byRevision sorts ReplicaSets by revision, oldest first.
func byRevision(rss []*v1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		ri, rj := Revision(rss[i]), Revision(rss[j])
		if ri == rj {
			ti, tj := rss[i].GetMetadata().GetCreationTimestamp().AsTime(), rss[j].GetMetadata().GetCreationTimestamp().AsTime()
			return ti.Before(tj)
		}
		return ri < rj
	})
}

// bySize sorts ReplicaSets larger first; among equal sizes newer first
// (newer=true, for scaling up) or older first (for scaling down).
func bySize(rss []*v1.ReplicaSet, newer bool) {
	sort.SliceStable(rss, func(i, j int) bool {
		si, sj := rsReplicas(rss[i]), rsReplicas(rss[j])
		if si != sj {
			return si > sj
		}
		ti, tj := rss[i].GetMetadata().GetCreationTimestamp().AsTime(), rss[j].GetMetadata().GetCreationTimestamp().AsTime()
		if ti.Equal(tj) {
			return rss[i].GetMetadata().GetName() < rss[j].GetMetadata().GetName()
		}
		if newer {
			return ti.After(tj)
		}
		return ti.Before(tj)
	})
}

// findNewReplicaSet is the oldest ReplicaSet whose template is d's.
func findNewReplicaSet(d *v1.Deployment, rss []*v1.ReplicaSet) *v1.ReplicaSet {
	sorted := append([]*v1.ReplicaSet(nil), rss...)
	byCreation(sorted)
	for _, rs := range sorted {
		if EqualIgnoreHash(rs.GetSpec().GetTemplate(), d.GetSpec().GetTemplate()) {
			return rs
		}
	}
	return nil
}

// findOldReplicaSets are the ReplicaSets other than the new one.
func findOldReplicaSets(d *v1.Deployment, rss []*v1.ReplicaSet) []*v1.ReplicaSet {
	newRS := findNewReplicaSet(d, rss)
	var old []*v1.ReplicaSet
	for _, rs := range rss {
		if newRS != nil && rs.GetMetadata().GetUid() == newRS.GetMetadata().GetUid() {
			continue
		}
		old = append(old, rs)
	}
	return old
}

func filterActive(rss []*v1.ReplicaSet) []*v1.ReplicaSet {
	var out []*v1.ReplicaSet
	for _, rs := range rss {
		if rs != nil && rsReplicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

func withNew(old []*v1.ReplicaSet, newRS *v1.ReplicaSet) []*v1.ReplicaSet {
	all := append([]*v1.ReplicaSet(nil), old...)
	if newRS != nil {
		all = append(all, newRS)
	}
	return all
}

// Sums over ReplicaSets: spec replicas, status replicas, ready,
// available.
func specReplicas(rss []*v1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += rsReplicas(rs)
	}
	return n
}

func actualReplicas(rss []*v1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += rs.GetStatus().GetReplicas()
	}
	return n
}

func readyReplicas(rss []*v1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += rs.GetStatus().GetReadyReplicas()
	}
	return n
}

func availableReplicas(rss []*v1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		n += rs.GetStatus().GetAvailableReplicas()
	}
	return n
}

func intAnnotation(rs *v1.ReplicaSet, key string) (int32, bool) {
	s, ok := rs.GetMetadata().GetAnnotations()[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int32(n), true
}

// setReplicasAnnotations records desired and max replicas on rs; true
// when something changed.
func setReplicasAnnotations(rs *v1.ReplicaSet, desired, maxReplicas int32) bool {
	md := rs.GetMetadata()
	if md.Annotations == nil {
		md.Annotations = map[string]string{}
	}
	changed := false
	for k, v := range map[string]string{DesiredReplicasAnnotation: strconv.Itoa(int(desired)), MaxReplicasAnnotation: strconv.Itoa(int(maxReplicas))} {
		if md.Annotations[k] != v {
			md.Annotations[k] = v
			changed = true
		}
	}
	return changed
}

func replicasAnnotationsNeedUpdate(rs *v1.ReplicaSet, desired, maxReplicas int32) bool {
	a := rs.GetMetadata().GetAnnotations()
	return a[DesiredReplicasAnnotation] != strconv.Itoa(int(desired)) || a[MaxReplicasAnnotation] != strconv.Itoa(int(maxReplicas))
}

func skipCopyAnnotation(k string) bool {
	switch k {
	case LastAppliedAnnotation, RevisionAnnotation, RevisionHistoryAnnotation, DesiredReplicasAnnotation, MaxReplicasAnnotation:
		return true
	}
	return false
}

// copyDeploymentAnnotations copies d's annotations (change-cause among
// them) to rs; true when something changed.
func copyDeploymentAnnotations(d *v1.Deployment, rs *v1.ReplicaSet) bool {
	md := rs.GetMetadata()
	if md.Annotations == nil {
		md.Annotations = map[string]string{}
	}
	changed := false
	for k, v := range d.GetMetadata().GetAnnotations() {
		if skipCopyAnnotation(k) {
			continue
		}
		if cur, ok := md.Annotations[k]; ok && cur == v {
			continue
		}
		md.Annotations[k] = v
		changed = true
	}
	return changed
}

// setNewReplicaSetAnnotations brings the annotations of the new
// ReplicaSet up to date (revision, revision history on a rollback, and
// for a ReplicaSet about to be created the replicas annotations).
func setNewReplicaSetAnnotations(d *v1.Deployment, rs *v1.ReplicaSet, newRevision int64, exists bool) bool {
	changed := copyDeploymentAnnotations(d, rs)
	a := rs.GetMetadata().Annotations
	oldRevision, had := a[RevisionAnnotation]
	oldN, err := strconv.ParseInt(oldRevision, 10, 64)
	if err != nil {
		if oldRevision != "" {
			return changed
		}
		oldN = 0
	}
	if oldN < newRevision {
		a[RevisionAnnotation] = strconv.FormatInt(newRevision, 10)
		changed = true
		if had && oldRevision != "" {
			// A rollback: this ReplicaSet had a revision before.
			hist := a[RevisionHistoryAnnotation]
			if hist == "" {
				hist = oldRevision
			} else {
				hist = hist + "," + oldRevision
			}
			for len(hist) > maxRevisionHistoryChars {
				_, rest, ok := strings.Cut(hist, ",")
				if !ok {
					break
				}
				hist = rest
			}
			a[RevisionHistoryAnnotation] = hist
		}
	}
	if !exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d)+MaxSurge(d)) {
		changed = true
	}
	return changed
}

// setDeploymentRevision sets d's revision annotation; true when changed.
func setDeploymentRevision(d *v1.Deployment, revision string) bool {
	md := d.GetMetadata()
	if md.Annotations[RevisionAnnotation] == revision {
		return false
	}
	if md.Annotations == nil {
		md.Annotations = map[string]string{}
	}
	md.Annotations[RevisionAnnotation] = revision
	return true
}

// Conditions.

func getCondition(st *v1.DeploymentStatus, typ string) *v1.Condition {
	for _, c := range st.GetConditions() {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

func newCondition(typ, status, reason, message string, now time.Time) *v1.Condition {
	ts := timestamppb.New(now)
	return &v1.Condition{Type: typ, Status: status, Reason: reason, Message: message, LastUpdateTime: ts, LastTransitionTime: proto.Clone(ts).(*timestamppb.Timestamp)}
}

// setCondition puts c into st; a condition of the same status and reason
// stays as it is, and one of the same status keeps its transition time.
func setCondition(st *v1.DeploymentStatus, c *v1.Condition) {
	cur := getCondition(st, c.GetType())
	if cur != nil && cur.GetStatus() == c.GetStatus() && cur.GetReason() == c.GetReason() {
		return
	}
	if cur != nil && cur.GetStatus() == c.GetStatus() {
		c.LastTransitionTime = cur.GetLastTransitionTime()
	}
	removeCondition(st, c.GetType())
	st.Conditions = append(st.Conditions, c)
}

func removeCondition(st *v1.DeploymentStatus, typ string) {
	var out []*v1.Condition
	for _, c := range st.GetConditions() {
		if c.GetType() != typ {
			out = append(out, c)
		}
	}
	st.Conditions = out
}

func hasProgressDeadline(d *v1.Deployment) bool {
	p := d.GetSpec().ProgressDeadlineSeconds
	return p != nil && *p != math.MaxInt32
}

// deploymentComplete: every replica is updated and available, and the
// status describes the current generation.
func deploymentComplete(d *v1.Deployment, st *v1.DeploymentStatus) bool {
	r := replicasOf(d)
	return st.GetUpdatedReplicas() == r && st.GetReplicas() == r && st.GetAvailableReplicas() == r &&
		st.GetObservedGeneration() >= d.GetMetadata().GetGeneration()
}

// deploymentProgressing: the new status shows progress over d's.
func deploymentProgressing(d *v1.Deployment, st *v1.DeploymentStatus) bool {
	old := d.GetStatus()
	oldOld := old.GetReplicas() - old.GetUpdatedReplicas()
	newOld := st.GetReplicas() - st.GetUpdatedReplicas()
	return st.GetUpdatedReplicas() > old.GetUpdatedReplicas() || newOld < oldOld ||
		st.GetReadyReplicas() > old.GetReadyReplicas() || st.GetAvailableReplicas() > old.GetAvailableReplicas()
}

// deploymentTimedOut: no progress for progressDeadlineSeconds.
func deploymentTimedOut(d *v1.Deployment, st *v1.DeploymentStatus, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	c := getCondition(st, ConditionProgressing)
	if c == nil {
		return false
	}
	switch c.GetReason() {
	case ReasonNewRSAvailable:
		return false
	case ReasonTimedOut:
		return true
	}
	from := c.GetLastUpdateTime().AsTime()
	return from.Add(time.Duration(*d.GetSpec().ProgressDeadlineSeconds) * time.Second).Before(now)
}

func collisionCount(d *v1.Deployment) *int32 {
	if d.GetStatus() == nil {
		return nil
	}
	return d.Status.CollisionCount
}
