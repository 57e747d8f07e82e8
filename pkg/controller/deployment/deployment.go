// Package deployment is the Deployment controller, Kubernetes' logic on
// minik8s objects: a ReplicaSet per pod template (named
// "<deployment>-<pod-template-hash>", the hash label added to its
// selector and template), rolled out by RollingUpdate (maxSurge and
// maxUnavailable, int or percent, surge rounded up and unavailable down)
// or Recreate; revisions in the deployment.kubernetes.io/revision
// annotation, with old ReplicaSets beyond revisionHistoryLimit deleted;
// proportional scaling of a rollout in progress; status with replicas,
// updated, ready, available and unavailable counts and the Available and
// Progressing conditions.
//
// A rollback is not the controller's business: `minictl rollout undo`
// copies an old ReplicaSet's template into the Deployment, which then
// finds that ReplicaSet as its new one and gives it the next revision.
package deployment

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
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

// DeploymentClient is what the controller writes Deployments with;
// client.Clientset.Deployments() satisfies it.
type DeploymentClient interface {
	Get(ctx context.Context, namespace, name string) (*v1.Deployment, error)
	Update(ctx context.Context, d *v1.Deployment) (*v1.Deployment, error)
	UpdateStatus(ctx context.Context, d *v1.Deployment) (*v1.Deployment, error)
}

// ReplicaSetClient is what the controller writes ReplicaSets with;
// client.Clientset.ReplicaSets() satisfies it.
type ReplicaSetClient interface {
	Create(ctx context.Context, rs *v1.ReplicaSet) (*v1.ReplicaSet, error)
	Get(ctx context.Context, namespace, name string) (*v1.ReplicaSet, error)
	Update(ctx context.Context, rs *v1.ReplicaSet) (*v1.ReplicaSet, error)
	Delete(ctx context.Context, namespace, name string, opts client.DeleteOptions) (*v1.ReplicaSet, bool, error)
}

// Config describes a controller.
type Config struct {
	Deployments      controller.Informer[*v1.Deployment]
	ReplicaSets      controller.Informer[*v1.ReplicaSet]
	Pods             controller.Informer[*v1.Pod]
	DeploymentClient DeploymentClient
	RSClient         ReplicaSetClient
	// Recorder, optional, gets ScalingReplicaSet and the like.
	Recorder controller.EventRecorder
	// Clock; nil means the real clock.
	Clock clock.WithTicker
	// Logger; nil means none.
	Logger *zap.Logger
	// Metrics for the workqueue ("deployment"); nil means none.
	Metrics *workqueue.MetricsProvider
}

// Controller is the Deployment controller.
type Controller struct {
	cfg   Config
	lg    *zap.Logger
	clock clock.WithTicker
	ds    informer.Lister[*v1.Deployment]
	rss   informer.Lister[*v1.ReplicaSet]
	pods  informer.Lister[*v1.Pod]
	queue *workqueue.Queue[string]
	rec   controller.EventRecorder
}

// New validates cfg and registers the event handlers. Run starts the
// workers; a controller that is never run must be Shutdown.
func New(cfg Config) (*Controller, error) {
	switch {
	case cfg.Deployments == nil || cfg.ReplicaSets == nil || cfg.Pods == nil:
		return nil, errdefs.Invalid("deployment controller: deployment, replicaset and pod informers are required")
	case cfg.DeploymentClient == nil || cfg.RSClient == nil:
		return nil, errdefs.Invalid("deployment controller: deployment and replicaset clients are required")
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
	c := &Controller{
		cfg:   cfg,
		lg:    lg,
		clock: cfg.Clock,
		ds:    cfg.Deployments.Lister(),
		rss:   cfg.ReplicaSets.Lister(),
		pods:  cfg.Pods.Lister(),
		queue: workqueue.New(workqueue.Config[string]{Name: "deployment", Clock: cfg.Clock, Metrics: cfg.Metrics}),
		rec:   rec,
	}
	cfg.Deployments.AddEventHandler(informer.HandlerFuncs[*v1.Deployment]{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, d *v1.Deployment) { c.enqueue(d) },
		DeleteFunc: func(obj any) {
			if d, ok := informer.DeletedObject[*v1.Deployment](obj); ok {
				c.enqueue(d)
			}
		},
	})
	cfg.ReplicaSets.AddEventHandler(informer.HandlerFuncs[*v1.ReplicaSet]{
		AddFunc:    c.addReplicaSet,
		UpdateFunc: c.updateReplicaSet,
		DeleteFunc: c.deleteReplicaSet,
	})
	cfg.Pods.AddEventHandler(informer.HandlerFuncs[*v1.Pod]{DeleteFunc: c.deletePod})
	return c, nil
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error {
	c.lg.Info("Starting the deployment controller", zap.Int("workers", workers))
	controller.RunWorkers(ctx, c.queue, workers, c.sync, c.lg)
	return nil
}

// Shutdown stops the queue of a controller that is not running.
func (c *Controller) Shutdown() { c.queue.ShutDown() }

func (c *Controller) enqueue(d *v1.Deployment) { c.queue.Add(apis.Key(d)) }

// resolveControllerRef returns the Deployment ref names, if cached with
// that uid.
func (c *Controller) resolveControllerRef(namespace string, ref *v1.OwnerReference) *v1.Deployment {
	d, _ := controller.ResolveControllerRef[*v1.Deployment](c.ds, "Deployment", namespace, ref)
	return d
}

// deploymentsFor are the Deployments whose selector matches an orphan
// ReplicaSet.
func (c *Controller) deploymentsFor(rs *v1.ReplicaSet) []*v1.Deployment {
	return controller.MatchingOwners(c.ds, rs.GetMetadata().GetNamespace(), rs.GetMetadata().GetLabels(),
		func(d *v1.Deployment) *v1.LabelSelector { return d.GetSpec().GetSelector() })
}

func (c *Controller) addReplicaSet(rs *v1.ReplicaSet) {
	if rs.GetMetadata().GetDeletionTimestamp() != nil {
		c.deleteReplicaSet(rs)
		return
	}
	if ref := controller.GetControllerOf(rs); ref != nil {
		if d := c.resolveControllerRef(rs.GetMetadata().GetNamespace(), ref); d != nil {
			c.enqueue(d)
		}
		return
	}
	for _, d := range c.deploymentsFor(rs) {
		c.enqueue(d)
	}
}

func (c *Controller) updateReplicaSet(old, cur *v1.ReplicaSet) {
	if old.GetMetadata().GetResourceVersion() == cur.GetMetadata().GetResourceVersion() {
		return
	}
	curRef, oldRef := controller.GetControllerOf(cur), controller.GetControllerOf(old)
	refChanged := !proto.Equal(curRef, oldRef)
	if refChanged && oldRef != nil {
		if d := c.resolveControllerRef(old.GetMetadata().GetNamespace(), oldRef); d != nil {
			c.enqueue(d)
		}
	}
	if curRef != nil {
		if d := c.resolveControllerRef(cur.GetMetadata().GetNamespace(), curRef); d != nil {
			c.enqueue(d)
		}
		return
	}
	labelsChanged := !proto.Equal(&v1.ObjectMeta{Labels: old.GetMetadata().GetLabels()}, &v1.ObjectMeta{Labels: cur.GetMetadata().GetLabels()})
	if labelsChanged || refChanged {
		for _, d := range c.deploymentsFor(cur) {
			c.enqueue(d)
		}
	}
}

func (c *Controller) deleteReplicaSet(obj any) {
	rs, ok := informer.DeletedObject[*v1.ReplicaSet](obj)
	if !ok {
		return
	}
	if ref := controller.GetControllerOf(rs); ref != nil {
		if d := c.resolveControllerRef(rs.GetMetadata().GetNamespace(), ref); d != nil {
			c.enqueue(d)
		}
	}
}

// deletePod wakes a Recreate Deployment waiting for its old pods to go.
func (c *Controller) deletePod(obj any) {
	pod, ok := informer.DeletedObject[*v1.Pod](obj)
	if !ok {
		return
	}
	ref := controller.GetControllerOf(pod)
	if ref == nil || ref.GetKind() != "ReplicaSet" {
		return
	}
	rs, err := c.rss.Get(pod.GetMetadata().GetNamespace(), ref.GetName())
	if err != nil || rs.GetMetadata().GetUid() != ref.GetUid() {
		return
	}
	dref := controller.GetControllerOf(rs)
	if dref == nil {
		return
	}
	d := c.resolveControllerRef(rs.GetMetadata().GetNamespace(), dref)
	if d != nil && d.GetSpec().GetStrategy().GetType() == StrategyRecreate {
		c.enqueue(d)
	}
}

// sync reconciles one Deployment.
func (c *Controller) sync(ctx context.Context, key string) error {
	start := c.clock.Now()
	defer func() {
		c.lg.Debug("Synced deployment", zap.String("deployment", key), zap.Duration("took", c.clock.Since(start)))
	}()
	ns, name := apis.SplitKey(key)
	cached, err := c.ds.Get(ns, name)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	d := proto.Clone(cached).(*v1.Deployment)
	sel, err := labels.FromLabelSelector(d.GetSpec().GetSelector())
	if err != nil {
		c.lg.Warn("Invalid selector; not syncing", zap.String("deployment", key), zap.Error(err))
		return nil
	}
	if sel.Empty() {
		c.rec.Eventf(d, controller.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.GetStatus().GetObservedGeneration() < d.GetMetadata().GetGeneration() {
			ensureStatus(d).ObservedGeneration = d.GetMetadata().GetGeneration()
			_, err := c.cfg.DeploymentClient.UpdateStatus(ctx, d)
			return err
		}
		return nil
	}
	rsList, err := c.replicaSetsFor(ctx, d, sel)
	if err != nil {
		return err
	}
	if d.GetMetadata().GetDeletionTimestamp() != nil {
		return c.syncStatusOnly(ctx, d, rsList)
	}
	if err := c.checkPausedConditions(ctx, d); err != nil {
		return err
	}
	if d.GetSpec().GetPaused() {
		return c.syncScale(ctx, d, rsList)
	}
	scaling, err := c.isScalingEvent(ctx, d, rsList)
	if err != nil {
		return err
	}
	if scaling {
		return c.syncScale(ctx, d, rsList)
	}
	switch t := d.GetSpec().GetStrategy().GetType(); t {
	case StrategyRecreate:
		return c.rolloutRecreate(ctx, d, rsList, c.podMap(d, sel, rsList))
	case StrategyRollingUpdate, "":
		return c.rolloutRolling(ctx, d, rsList)
	default:
		return fmt.Errorf("deployment %s: unexpected strategy type %q", key, t)
	}
}

// replicaSetsFor claims the ReplicaSets of d: adopting orphans its
// selector matches, releasing owned ones it no longer matches.
func (c *Controller) replicaSetsFor(ctx context.Context, d *v1.Deployment, sel labels.Selector) ([]*v1.ReplicaSet, error) {
	rm := &controller.RefManager[*v1.ReplicaSet]{
		Owner:    d,
		Selector: sel,
		CanAdopt: controller.RecheckOwner(d, c.cfg.DeploymentClient.Get),
		Update:   c.cfg.RSClient.Update,
	}
	return rm.Claim(ctx, c.rss.ListByNamespace(d.GetMetadata().GetNamespace()))
}

// podMap groups the pods of d by the uid of their ReplicaSet.
func (c *Controller) podMap(d *v1.Deployment, sel labels.Selector, rsList []*v1.ReplicaSet) map[string][]*v1.Pod {
	out := make(map[string][]*v1.Pod, len(rsList))
	for _, rs := range rsList {
		out[rs.GetMetadata().GetUid()] = nil
	}
	for _, p := range c.pods.ListByNamespaceAndSelector(d.GetMetadata().GetNamespace(), sel) {
		ref := controller.GetControllerOf(p)
		if ref == nil {
			continue
		}
		if _, ok := out[ref.GetUid()]; ok {
			out[ref.GetUid()] = append(out[ref.GetUid()], p)
		}
	}
	return out
}

// requeueAfter requeues key in d after a delay.
func (c *Controller) requeueAfter(d *v1.Deployment, after time.Duration) {
	c.queue.AddAfter(apis.Key(d), after)
}
