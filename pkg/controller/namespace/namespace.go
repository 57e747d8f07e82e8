// Package namespace is the namespace controller: it empties a namespace
// that is being deleted and then lets the apiserver remove it, as
// Kubernetes' NamespaceController does:
//
//   - a namespace with a deletionTimestamp (phase Terminating) that still
//     carries the "kubernetes" finalizer in spec.finalizers is synced; the
//     apiserver refuses new content in it meanwhile;
//   - every object of every namespaced kind of the resource table
//     (pkg/apis) is deleted with background propagation: pods gracefully,
//     so that their kubelets stop them; objects already being deleted are
//     left to finish;
//   - while anything is left, the namespace is looked at again: after
//     half the longest remaining pod grace period plus a second (as
//     Kubernetes estimates), at once when a pod of it goes, and after
//     backoff when a call fails;
//   - once a pass finds the namespace empty, the "kubernetes" finalizer is
//     removed with an Update (Kubernetes' finalize step) and the apiserver
//     removes the namespace when no finalizer is left.
//
// As Kubernetes' controller, it records no events on success; it logs at
// debug level.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/workqueue"
	"minik8s/pkg/controller"
)

// FinalizerKubernetes is the spec.finalizers entry this controller
// removes once a namespace is empty.
const FinalizerKubernetes = "kubernetes"

// Kubernetes' retry pacing of namespace syncs: per namespace exponential
// from 5 ms to a minute, and at most 10 retries a second overall.
const (
	retryBase  = 5 * time.Millisecond
	retryMax   = time.Minute
	retryQPS   = 10
	retryBurst = 100
)

// Client reads and deletes the content of a namespace, any kind; the
// manager adapts a client.Clientset to it.
type Client interface {
	// List returns the objects of kind res in namespace.
	List(ctx context.Context, res *apis.Resource, namespace string) ([]apis.Object, error)
	// Delete deletes one object; finished says whether it is gone, the
	// object is its state (being deleted, when not finished).
	Delete(ctx context.Context, res *apis.Resource, namespace, name string, opts client.DeleteOptions) (apis.Object, bool, error)
}

// NamespaceClient reads and finalizes namespaces;
// client.Clientset.Namespaces() satisfies it.
type NamespaceClient interface {
	Get(ctx context.Context, namespace, name string) (*v1.Namespace, error)
	Update(ctx context.Context, ns *v1.Namespace) (*v1.Namespace, error)
}

// Config describes a controller.
type Config struct {
	Namespaces      controller.Informer[*v1.Namespace]
	NamespaceClient NamespaceClient
	Client          Client
	// Pods, optional: a pod that goes from a Terminating namespace makes
	// the namespace be looked at again at once.
	Pods controller.Informer[*v1.Pod]
	// Resources are the kinds to delete; nil means every namespaced kind
	// of apis.Resources().
	Resources []*apis.Resource
	// Clock; nil means the real clock.
	Clock clock.WithTicker
	// Logger; nil means none.
	Logger *zap.Logger
	// Metrics for the workqueue ("namespace"); nil means none.
	Metrics *workqueue.MetricsProvider
}

// Controller is the namespace controller.
type Controller struct {
	cfg       Config
	lg        *zap.Logger
	clock     clock.WithTicker
	lister    informer.Lister[*v1.Namespace]
	resources []*apis.Resource
	queue     *workqueue.Queue[string]
}

// New validates cfg and registers the event handlers. Run starts the
// workers; a controller that is never run must be Shutdown.
func New(cfg Config) (*Controller, error) {
	switch {
	case cfg.Namespaces == nil:
		return nil, errdefs.Invalid("namespace controller: a namespace informer is required")
	case cfg.NamespaceClient == nil || cfg.Client == nil:
		return nil, errdefs.Invalid("namespace controller: a namespace client and a content client are required")
	}
	res := cfg.Resources
	if res == nil {
		for _, r := range apis.Resources() {
			if r.Namespaced {
				res = append(res, r)
			}
		}
	}
	for _, r := range res {
		if !r.Namespaced {
			return nil, errdefs.Invalid("namespace controller: %s are not namespaced", r.Name)
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	c := &Controller{
		cfg:       cfg,
		lg:        lg,
		clock:     cfg.Clock,
		lister:    cfg.Namespaces.Lister(),
		resources: deletionOrder(res),
		queue: workqueue.New(workqueue.Config[string]{
			Name:  "namespace",
			Clock: cfg.Clock,
			RateLimiter: workqueue.NewMaxOfRateLimiter[string](
				workqueue.NewItemExponentialFailureRateLimiter[string](retryBase, retryMax),
				workqueue.NewBucketRateLimiter[string](retryQPS, retryBurst, cfg.Clock),
			),
			Metrics: cfg.Metrics,
		}),
	}
	cfg.Namespaces.AddEventHandler(informer.HandlerFuncs[*v1.Namespace]{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, ns *v1.Namespace) { c.enqueue(ns) },
	})
	if cfg.Pods != nil {
		cfg.Pods.AddEventHandler(informer.HandlerFuncs[*v1.Pod]{DeleteFunc: c.deletePod})
	}
	return c, nil
}

// deletionOrder puts the kinds whose controllers make other objects
// (Deployments make ReplicaSets, ReplicaSets make pods) first, so that
// nothing tries to replace what is deleted, and Events last, since the
// deletions may still cause some.
func deletionOrder(res []*apis.Resource) []*apis.Resource {
	rank := func(r *apis.Resource) int {
		switch r.Name {
		case "deployments":
			return 0
		case "replicasets":
			return 1
		case "events":
			return 3
		}
		return 2
	}
	out := slices.Clone(res)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// Run runs workers until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) error {
	c.lg.Info("Starting the namespace controller", zap.Int("workers", workers))
	controller.RunWorkers(ctx, c.queue, workers, c.sync, c.lg)
	return nil
}

// Shutdown stops the queue of a controller that is not running.
func (c *Controller) Shutdown() { c.queue.ShutDown() }

func (c *Controller) enqueue(ns *v1.Namespace) {
	if ns.GetMetadata().GetDeletionTimestamp() != nil {
		c.queue.Add(ns.GetMetadata().GetName())
	}
}

func (c *Controller) deletePod(obj any) {
	pod, ok := informer.DeletedObject[*v1.Pod](obj)
	if !ok {
		return
	}
	if ns, err := c.lister.Get("", pod.GetMetadata().GetNamespace()); err == nil {
		c.enqueue(ns)
	}
}

// remaining is what a deletion pass did and left: how many objects it
// deleted, how many are still being deleted, and the longest grace period
// those have left.
type remaining struct {
	count    int
	deleted  int
	estimate time.Duration
}

// sync empties the namespace name if it is being deleted, then finalizes
// it.
func (c *Controller) sync(ctx context.Context, name string) error {
	cached, err := c.lister.Get("", name)
	if errdefs.IsNotFound(err) || (err == nil && cached.GetMetadata().GetDeletionTimestamp() == nil) {
		return nil
	}
	// The cache may lag: act on what the apiserver holds, so that a
	// namespace recreated under the same name is never emptied.
	ns, err := c.cfg.NamespaceClient.Get(ctx, "", name)
	switch {
	case errdefs.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("get namespace %s: %w", name, err)
	case ns.GetMetadata().GetDeletionTimestamp() == nil || !slices.Contains(ns.GetSpec().GetFinalizers(), FinalizerKubernetes):
		return nil
	}
	lg := c.lg.With(zap.String("namespace", name))
	left, err := c.deleteContent(ctx, ns)
	if err != nil {
		return err
	}
	switch {
	case left.count > 0:
		// Objects are being deleted (pods stopped by their kubelets,
		// finalizers): look again once about half their time is up.
		wait := left.estimate/2 + time.Second
		lg.Debug("Namespace content is being deleted", zap.Int("remaining", left.count), zap.Duration("recheck", wait))
		c.queue.AddAfter(name, wait)
		return nil
	case left.deleted > 0:
		// Everything listed is gone: a fresh pass must find nothing
		// before the namespace goes.
		lg.Debug("Deleted the namespace content", zap.Int("deleted", left.deleted))
		c.queue.AddRateLimited(name)
		return nil
	}
	return c.finalize(ctx, lg, ns)
}

// deleteContent deletes every object in ns and reports what is left.
func (c *Controller) deleteContent(ctx context.Context, ns *v1.Namespace) (remaining, error) {
	var left remaining
	var errs []error
	name := ns.GetMetadata().GetName()
	now := c.clock.Now()
	for _, res := range c.resources {
		objs, err := c.cfg.Client.List(ctx, res, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s in %s: %w", res.Name, name, err))
			continue
		}
		for _, obj := range objs {
			md := obj.GetMetadata()
			if md.GetDeletionTimestamp() == nil {
				opts := client.DeleteOptions{
					PropagationPolicy: client.PropagationBackground,
					Preconditions:     &client.Preconditions{UID: md.GetUid()},
				}
				out, finished, err := c.cfg.Client.Delete(ctx, res, name, md.GetName(), opts)
				switch {
				case errdefs.IsNotFound(err):
					continue // gone already
				case errdefs.IsConflict(err):
					// Replaced by another object of the same name: the
					// next pass sees it.
					left.deleted++
					continue
				case err != nil:
					errs = append(errs, fmt.Errorf("delete %s %s/%s: %w", res.Singular, name, md.GetName(), err))
					continue
				}
				left.deleted++
				if finished || out == nil {
					continue
				}
				md = out.GetMetadata()
			}
			left.count++
			if dl := md.GetDeletionTimestamp(); dl != nil && res.Name == "pods" {
				// A pod's deletionTimestamp is the end of its grace period.
				left.estimate = max(left.estimate, dl.AsTime().Sub(now))
			}
		}
	}
	return left, errors.Join(errs...)
}

// finalize removes the "kubernetes" finalizer of an empty namespace; the
// apiserver removes the namespace when it was the last one.
func (c *Controller) finalize(ctx context.Context, lg *zap.Logger, ns *v1.Namespace) error {
	next := proto.Clone(ns).(*v1.Namespace)
	next.Spec.Finalizers = slices.DeleteFunc(next.Spec.Finalizers, func(f string) bool { return f == FinalizerKubernetes })
	if _, err := c.cfg.NamespaceClient.Update(ctx, next); err != nil {
		if errdefs.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("finalize namespace %s: %w", ns.GetMetadata().GetName(), err)
	}
	lg.Debug("Namespace is empty; removed its kubernetes finalizer")
	return nil
}
