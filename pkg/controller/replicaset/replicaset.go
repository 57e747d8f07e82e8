// Package replicaset is the ReplicaSet controller: it keeps spec.replicas
// pods matching a ReplicaSet's selector, owned through ownerReferences
// (controller=true, blockOwnerDeletion=true), as Kubernetes'
// ReplicaSetController does:
//
//   - orphans the selector matches are adopted, owned pods whose labels no
//     longer match are released;
//   - missing pods are created from the template (generateName "<rs>-") in
//     slow-start batches of 1, 2, 4, ... so that a failing create stops
//     early; surplus pods are deleted, unscheduled before pending before
//     not ready before ready, newer before older;
//   - expectations record the creations and deletions asked for, and the
//     ReplicaSet is not acted on again until the informer has seen them
//     all, so a burst of events never over-creates;
//   - status (replicas, fullyLabeledReplicas, readyReplicas,
//     availableReplicas after minReadySeconds, observedGeneration and the
//     ReplicaFailure condition) is written with UpdateStatus.
package replicaset

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/labels"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/workqueue"
	"minik8s/pkg/controller"
)

// Defaults, Kubernetes' values.
const (
	// DefaultBurstReplicas caps the creations or deletions of one sync.
	DefaultBurstReplicas = 500
	// SlowStartInitialBatchSize is the first batch of creations.
	SlowStartInitialBatchSize = 1
	// ReplicaFailure is the condition a failed create or delete sets.
	ReplicaFailure = "ReplicaFailure"
)

// PodClient is what the controller writes pods with;
// client.Clientset.Pods() satisfies it.
type PodClient interface {
	Create(ctx context.Context, pod *v1.Pod) (*v1.Pod, error)
	Update(ctx context.Context, pod *v1.Pod) (*v1.Pod, error)
	Delete(ctx context.Context, namespace, name string, opts client.DeleteOptions) (*v1.Pod, bool, error)
}

// ReplicaSetClient is what the controller reads and writes ReplicaSets
// with; client.Clientset.ReplicaSets() satisfies it.
type ReplicaSetClient interface {
	Get(ctx context.Context, namespace, name string) (*v1.ReplicaSet, error)
	UpdateStatus(ctx context.Context, rs *v1.ReplicaSet) (*v1.ReplicaSet, error)
}

// Config describes a controller.
type Config struct {
	Pods        controller.Informer[*v1.Pod]
	ReplicaSets controller.Informer[*v1.ReplicaSet]
	PodClient   PodClient
	RSClient    ReplicaSetClient
	// Recorder, optional, gets SuccessfulCreate, FailedCreate,
	// SuccessfulDelete and FailedDelete events.
	Recorder controller.EventRecorder
	// BurstReplicas; 0 means DefaultBurstReplicas.
	BurstReplicas int
	// Clock; nil means the real clock.
	Clock clock.WithTicker
	// Logger; nil means none.
	Logger *zap.Logger
	// Metrics for the workqueue ("replicaset"); nil means none.
	Metrics *workqueue.MetricsProvider
}

// Controller is the ReplicaSet controller.
type Controller struct {
	cfg          Config
	lg           *zap.Logger
	clock        clock.WithTicker
	pods         informer.Lister[*v1.Pod]
	rss          informer.Lister[*v1.ReplicaSet]
	queue        *workqueue.Queue[string]
	expectations *controller.Expectations
}

// New validates cfg and registers the event handlers. Run starts the
// workers; a controller that is never run must be Shutdown.
func New(cfg Config) (*Controller, error) {
	switch {
	case cfg.Pods == nil || cfg.ReplicaSets == nil:
		return nil, errdefs.Invalid("replicaset controller: pod and replicaset informers are required")
	case cfg.PodClient == nil || cfg.RSClient == nil:
		return nil, errdefs.Invalid("replicaset controller: pod and replicaset clients are required")
	}
	if cfg.BurstReplicas <= 0 {
		cfg.BurstReplicas = DefaultBurstReplicas
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.Recorder == nil {
		cfg.Recorder = controller.NopRecorder{}
	}
	c := &Controller{
		cfg:          cfg,
		lg:           lg,
		clock:        cfg.Clock,
		pods:         cfg.Pods.Lister(),
		rss:          cfg.ReplicaSets.Lister(),
		queue:        workqueue.New(workqueue.Config[string]{Name: "replicaset", Clock: cfg.Clock, Metrics: cfg.Metrics}),
		expectations: controller.NewExpectations(cfg.Clock),
	}
	cfg.ReplicaSets.AddEventHandler(informer.HandlerFuncs[*v1.ReplicaSet]{
		AddFunc:    func(rs *v1.ReplicaSet) { c.enqueue(rs) },
		UpdateFunc: func(_, rs *v1.ReplicaSet) { c.enqueue(rs) },
		DeleteFunc: c.deleteRS,
	})
	cfg.Pods.AddEventHandler(informer.HandlerFuncs[*v1.Pod]{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	})
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error {
	c.lg.Info("Starting the replicaset controller", zap.Int("workers", workers))
	controller.RunWorkers(ctx, c.queue, workers, c.sync, c.lg)
	return nil
}

// Shutdown stops the queue of a controller that is not running.
func (c *Controller) Shutdown() { c.queue.ShutDown() }

func (c *Controller) enqueue(rs *v1.ReplicaSet) { c.queue.Add(apis.Key(rs)) }

func (c *Controller) deleteRS(obj any) {
	rs, ok := informer.DeletedObject[*v1.ReplicaSet](obj)
	if !ok {
		return
	}
	key := apis.Key(rs)
	c.expectations.Delete(key)
	c.queue.Add(key)
}

// resolveControllerRef returns the ReplicaSet ref names in namespace if
// it is the one (same uid) in the cache.
func (c *Controller) resolveControllerRef(namespace string, ref *v1.OwnerReference) *v1.ReplicaSet {
	rs, _ := controller.ResolveControllerRef[*v1.ReplicaSet](c.rss, "ReplicaSet", namespace, ref)
	return rs
}

// podReplicaSets are the ReplicaSets whose selector matches an orphan pod.
func (c *Controller) podReplicaSets(pod *v1.Pod) []*v1.ReplicaSet {
	return controller.MatchingOwners(c.rss, pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetLabels(),
		func(rs *v1.ReplicaSet) *v1.LabelSelector { return rs.GetSpec().GetSelector() })
}

func (c *Controller) addPod(pod *v1.Pod) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		// Seen first while being deleted (a relist after a restart).
		c.deletePod(pod)
		return
	}
	if ref := controller.GetControllerOf(pod); ref != nil {
		rs := c.resolveControllerRef(pod.GetMetadata().GetNamespace(), ref)
		if rs == nil {
			return
		}
		key := apis.Key(rs)
		c.expectations.CreationObserved(key)
		c.queue.Add(key)
		return
	}
	for _, rs := range c.podReplicaSets(pod) {
		c.enqueue(rs)
	}
}

func (c *Controller) updatePod(old, cur *v1.Pod) {
	if old.GetMetadata().GetResourceVersion() == cur.GetMetadata().GetResourceVersion() {
		return // a resync
	}
	labelChanged := !equalMaps(old.GetMetadata().GetLabels(), cur.GetMetadata().GetLabels())
	if cur.GetMetadata().GetDeletionTimestamp() != nil {
		// Graceful deletion started: the pod no longer counts, so the
		// deletion is observed now, not when the kubelet is done.
		c.deletePod(cur)
		if labelChanged {
			c.deletePod(old)
		}
		return
	}
	curRef, oldRef := controller.GetControllerOf(cur), controller.GetControllerOf(old)
	refChanged := !proto.Equal(curRef, oldRef)
	if refChanged && oldRef != nil {
		if rs := c.resolveControllerRef(old.GetMetadata().GetNamespace(), oldRef); rs != nil {
			c.enqueue(rs)
		}
	}
	if curRef != nil {
		rs := c.resolveControllerRef(cur.GetMetadata().GetNamespace(), curRef)
		if rs == nil {
			return
		}
		c.enqueue(rs)
		// Availability needs another look once minReadySeconds passed.
		if mrs := rs.GetSpec().GetMinReadySeconds(); mrs > 0 && !controller.IsPodReady(old) && controller.IsPodReady(cur) {
			c.queue.AddAfter(apis.Key(rs), time.Duration(mrs)*time.Second+time.Second)
		}
		return
	}
	if labelChanged || refChanged {
		for _, rs := range c.podReplicaSets(cur) {
			c.enqueue(rs)
		}
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := informer.DeletedObject[*v1.Pod](obj)
	if !ok {
		return
	}
	ref := controller.GetControllerOf(pod)
	if ref == nil {
		return
	}
	rs := c.resolveControllerRef(pod.GetMetadata().GetNamespace(), ref)
	if rs == nil {
		return
	}
	key := apis.Key(rs)
	c.expectations.DeletionObserved(key, apis.Key(pod))
	c.queue.Add(key)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// sync reconciles one ReplicaSet.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name := apis.SplitKey(key)
	rs, err := c.rss.Get(ns, name)
	if errdefs.IsNotFound(err) {
		c.expectations.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	needsSync := c.expectations.Satisfied(key)
	sel, err := labels.FromLabelSelector(rs.GetSpec().GetSelector())
	if err != nil {
		c.lg.Warn("Invalid selector; not syncing", zap.String("replicaSet", key), zap.Error(err))
		return nil
	}
	var active []*v1.Pod
	for _, p := range c.pods.ListByNamespace(ns) {
		if controller.IsPodActive(p) {
			active = append(active, p)
		}
	}
	rm := &controller.RefManager[*v1.Pod]{
		Owner:    rs,
		Selector: sel,
		CanAdopt: controller.RecheckOwner(rs, c.cfg.RSClient.Get),
		Update:   c.cfg.PodClient.Update,
	}
	pods, err := rm.Claim(ctx, active)
	if err != nil {
		return err
	}
	var manageErr error
	if needsSync && rs.GetMetadata().GetDeletionTimestamp() == nil {
		manageErr = c.manageReplicas(ctx, key, pods, rs)
	}
	status := c.calculateStatus(rs, pods, manageErr)
	updated, err := c.updateStatus(ctx, rs, status)
	if err != nil {
		return errors.Join(manageErr, err)
	}
	mrs := updated.GetSpec().GetMinReadySeconds()
	st := updated.GetStatus()
	if manageErr == nil && mrs > 0 && st.GetReadyReplicas() == replicas(updated) && st.GetAvailableReplicas() != replicas(updated) {
		c.queue.AddAfter(key, time.Duration(mrs)*time.Second)
	}
	return manageErr
}

func replicas(rs *v1.ReplicaSet) int32 {
	if r := rs.GetSpec().Replicas; r != nil {
		return *r
	}
	return 1
}

// manageReplicas creates or deletes pods so that len(pods) becomes the
// desired count, recording expectations first.
func (c *Controller) manageReplicas(ctx context.Context, key string, pods []*v1.Pod, rs *v1.ReplicaSet) error {
	diff := len(pods) - int(replicas(rs))
	switch {
	case diff < 0:
		n := min(-diff, c.cfg.BurstReplicas)
		c.expectations.ExpectCreations(key, n)
		c.lg.Debug("Creating pods", zap.String("replicaSet", key), zap.Int("need", int(replicas(rs))), zap.Int("creating", n))
		successes, err := SlowStartBatch(n, SlowStartInitialBatchSize, func() error {
			pod := podFromTemplate(rs)
			created, err := c.cfg.PodClient.Create(ctx, pod)
			if err != nil {
				c.cfg.Recorder.Eventf(rs, controller.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
				return err
			}
			c.cfg.Recorder.Eventf(rs, controller.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.GetMetadata().GetName())
			return nil
		})
		// The creations that failed or never ran will not be observed.
		for range n - successes {
			c.expectations.CreationObserved(key)
		}
		if err != nil {
			return fmt.Errorf("create pods for %s: %w", key, err)
		}
		return nil
	case diff > 0:
		n := min(diff, c.cfg.BurstReplicas)
		victims := podsToDelete(pods, c.relatedPods(rs), n)
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = apis.Key(p)
		}
		c.expectations.ExpectDeletions(key, keys)
		c.lg.Debug("Deleting pods", zap.String("replicaSet", key), zap.Int("need", int(replicas(rs))), zap.Int("deleting", n))
		var wg sync.WaitGroup
		errs := make([]error, len(victims))
		for i, p := range victims {
			wg.Go(func() {
				md := p.GetMetadata()
				_, _, err := c.cfg.PodClient.Delete(ctx, md.GetNamespace(), md.GetName(), client.DeleteOptions{Preconditions: &client.Preconditions{UID: md.GetUid()}})
				if err != nil {
					if errdefs.IsNotFound(err) {
						return // gone already: its deletion event comes
					}
					c.expectations.DeletionObserved(key, keys[i])
					c.cfg.Recorder.Eventf(rs, controller.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
					errs[i] = fmt.Errorf("delete pod %s: %w", keys[i], err)
					return
				}
				c.cfg.Recorder.Eventf(rs, controller.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", md.GetName())
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return nil
}

// SlowStartBatch calls fn count times, in batches of initial, 2*initial,
// 4*initial, ... run concurrently, stopping after the first batch with a
// failure. It returns the number of successes and the first error.
func SlowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining := count
	successes := 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errCh := make(chan error, batch)
		var wg sync.WaitGroup
		for range batch {
			wg.Go(func() {
				if err := fn(); err != nil {
					errCh <- err
				}
			})
		}
		wg.Wait()
		successes += batch - len(errCh)
		if len(errCh) > 0 {
			return successes, <-errCh
		}
		remaining -= batch
	}
	return successes, nil
}

// podFromTemplate is a new pod of rs.
func podFromTemplate(rs *v1.ReplicaSet) *v1.Pod {
	t := rs.GetSpec().GetTemplate()
	tmd := t.GetMetadata()
	pod := &v1.Pod{
		Metadata: &v1.ObjectMeta{
			GenerateName:    rs.GetMetadata().GetName() + "-",
			Namespace:       rs.GetMetadata().GetNamespace(),
			Labels:          cloneMap(tmd.GetLabels()),
			Annotations:     cloneMap(tmd.GetAnnotations()),
			Finalizers:      append([]string(nil), tmd.GetFinalizers()...),
			OwnerReferences: []*v1.OwnerReference{controller.NewControllerRef(rs)},
		},
		Spec: proto.Clone(t.GetSpec()).(*v1.PodSpec),
	}
	if pod.Spec == nil {
		pod.Spec = &v1.PodSpec{}
	}
	apis.SetTypeMeta(pod)
	return pod
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// relatedPods are the active pods of every ReplicaSet controlled by the
// same owner as rs (a Deployment's old and new ReplicaSets), rs included:
// they rank pods that share a node with many of their kind.
func (c *Controller) relatedPods(rs *v1.ReplicaSet) []*v1.Pod {
	owner := controller.GetControllerOf(rs)
	sets := []*v1.ReplicaSet{rs}
	if owner != nil {
		sets = nil
		for _, other := range c.rss.ListByNamespace(rs.GetMetadata().GetNamespace()) {
			if ref := controller.GetControllerOf(other); ref != nil && ref.GetUid() == owner.GetUid() {
				sets = append(sets, other)
			}
		}
	}
	uids := map[string]bool{}
	for _, s := range sets {
		uids[s.GetMetadata().GetUid()] = true
	}
	var out []*v1.Pod
	for _, p := range c.pods.ListByNamespace(rs.GetMetadata().GetNamespace()) {
		if ref := controller.GetControllerOf(p); ref != nil && uids[ref.GetUid()] && controller.IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// podsToDelete picks n of pods, the cheapest to lose first.
func podsToDelete(pods, related []*v1.Pod, n int) []*v1.Pod {
	if n >= len(pods) {
		return pods
	}
	perNode := map[string]int{}
	for _, p := range related {
		if node := p.GetSpec().GetNodeName(); node != "" {
			perNode[node]++
		}
	}
	ranked := make([]rankedPod, len(pods))
	for i, p := range pods {
		rank := 0
		if node := p.GetSpec().GetNodeName(); node != "" {
			rank = perNode[node]
		}
		ranked[i] = rankedPod{pod: p, rank: rank}
	}
	sort.SliceStable(ranked, func(i, j int) bool { return deleteFirst(ranked[i], ranked[j]) })
	out := make([]*v1.Pod, n)
	for i := range out {
		out[i] = ranked[i].pod
	}
	return out
}

type rankedPod struct {
	pod  *v1.Pod
	rank int // active related pods on the same node
}

var phaseOrder = map[string]int{controller.PodPending: 0, controller.PodUnknown: 1, controller.PodRunning: 2}

// deleteFirst orders pods for deletion as Kubernetes' ActivePodsWithRanks:
// unscheduled < scheduled; Pending < Unknown < Running; not ready < ready;
// more pods of the owner on the node < fewer; ready for less time < more;
// more restarts < fewer; newer < older.
func deleteFirst(a, b rankedPod) bool {
	pa, pb := a.pod, b.pod
	if na, nb := pa.GetSpec().GetNodeName(), pb.GetSpec().GetNodeName(); (na == "") != (nb == "") {
		return na == ""
	}
	if oa, ob := phaseOrder[pa.GetStatus().GetPhase()], phaseOrder[pb.GetStatus().GetPhase()]; oa != ob {
		return oa < ob
	}
	if ra, rb := controller.IsPodReady(pa), controller.IsPodReady(pb); ra != rb {
		return !ra
	}
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	if controller.IsPodReady(pa) && controller.IsPodReady(pb) {
		ta, tb := readySince(pa), readySince(pb)
		if !ta.Equal(tb) {
			return ta.After(tb)
		}
	}
	if ca, cb := restarts(pa), restarts(pb); ca != cb {
		return ca > cb
	}
	ta, tb := pa.GetMetadata().GetCreationTimestamp(), pb.GetMetadata().GetCreationTimestamp()
	if (ta == nil) != (tb == nil) {
		return ta == nil
	}
	if ta != nil && !ta.AsTime().Equal(tb.AsTime()) {
		return ta.AsTime().After(tb.AsTime())
	}
	return pa.GetMetadata().GetName() > pb.GetMetadata().GetName()
}

func readySince(p *v1.Pod) time.Time {
	if c := controller.PodReadyCondition(p); c != nil && c.GetLastTransitionTime() != nil {
		return c.GetLastTransitionTime().AsTime()
	}
	return time.Time{}
}

func restarts(p *v1.Pod) int32 {
	var n int32
	for _, cs := range p.GetStatus().GetContainerStatuses() {
		n = max(n, cs.GetRestartCount())
	}
	return n
}

// calculateStatus is the status rs should have with pods (its active,
// claimed pods).
func (c *Controller) calculateStatus(rs *v1.ReplicaSet, pods []*v1.Pod, manageErr error) *v1.ReplicaSetStatus {
	st := &v1.ReplicaSetStatus{}
	if cur := rs.GetStatus(); cur != nil {
		st = proto.Clone(cur).(*v1.ReplicaSetStatus)
	}
	templateSel := labels.SelectorFromSet(rs.GetSpec().GetTemplate().GetMetadata().GetLabels())
	now := c.clock.Now()
	var full, ready, available int32
	for _, p := range pods {
		if templateSel.Matches(p.GetMetadata().GetLabels()) {
			full++
		}
		if controller.IsPodReady(p) {
			ready++
			if controller.IsPodAvailable(p, rs.GetSpec().GetMinReadySeconds(), now) {
				available++
			}
		}
	}
	st.Replicas = int32(len(pods))
	st.FullyLabeledReplicas = full
	st.ReadyReplicas = ready
	st.AvailableReplicas = available
	st.ObservedGeneration = rs.GetMetadata().GetGeneration()
	failure := findCondition(st.Conditions, ReplicaFailure)
	switch {
	case manageErr != nil && failure == nil:
		reason := "FailedCreate"
		if len(pods) > int(replicas(rs)) {
			reason = "FailedDelete"
		}
		st.Conditions = append(st.Conditions, &v1.Condition{
			Type: ReplicaFailure, Status: controller.ConditionTrue, Reason: reason,
			Message: manageErr.Error(), LastTransitionTime: timestamppb.New(now),
		})
	case manageErr == nil && failure != nil:
		st.Conditions = removeCondition(st.Conditions, ReplicaFailure)
	}
	return st
}

func findCondition(conds []*v1.Condition, typ string) *v1.Condition {
	for _, c := range conds {
		if c.GetType() == typ {
			return c
		}
	}
	return nil
}

func removeCondition(conds []*v1.Condition, typ string) []*v1.Condition {
	var out []*v1.Condition
	for _, c := range conds {
		if c.GetType() != typ {
			out = append(out, c)
		}
	}
	return out
}

// statusUpdateRetries is how often a status write that conflicts is
// retried on a freshly read ReplicaSet (Kubernetes' value).
const statusUpdateRetries = 1

// updateStatus writes status unless rs already has it. A conflict (the
// Deployment controller scaled rs meanwhile) is retried on the current
// object: the status describes the pods, not the spec.
func (c *Controller) updateStatus(ctx context.Context, rs *v1.ReplicaSet, status *v1.ReplicaSetStatus) (*v1.ReplicaSet, error) {
	for attempt := 0; ; attempt++ {
		if proto.Equal(rs.GetStatus(), status) {
			return rs, nil
		}
		next := proto.Clone(rs).(*v1.ReplicaSet)
		next.Status = status
		out, err := c.cfg.RSClient.UpdateStatus(ctx, next)
		if err == nil {
			return out, nil
		}
		if !errdefs.IsConflict(err) || attempt >= statusUpdateRetries {
			return nil, fmt.Errorf("update status of replicaset %s: %w", apis.Key(rs), err)
		}
		md := rs.GetMetadata()
		if rs, err = c.cfg.RSClient.Get(ctx, md.GetNamespace(), md.GetName()); err != nil {
			return nil, fmt.Errorf("update status of replicaset %s: %w", apis.Key(next), err)
		}
	}
}
