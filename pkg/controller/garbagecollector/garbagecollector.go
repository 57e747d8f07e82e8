// Package garbagecollector deletes objects whose owners are gone, as
// Kubernetes' garbage collector does, over the informers of the kinds
// that own or are owned (pods, replicasets, deployments, nodes) rather
// than a dynamic graph of every kind:
//
//   - Background (the default): once an owner is gone, a dependent whose
//     ownerReferences all point at absent objects is deleted (with
//     foreground propagation when it has dependents of its own and one of
//     its owners waits for them). An owner missing from the cache is
//     looked up on the apiserver before anything is deleted, so a cache
//     that lags never costs a live object.
//   - Orphan: an owner deleted with propagationPolicy=Orphan carries the
//     "orphan" finalizer; its dependents lose their ownerReference to it,
//     then the finalizer is removed and the apiserver finishes the delete.
//   - Foreground: an owner carrying "foregroundDeletion" has its
//     dependents deleted first; the finalizer is removed once no
//     dependent with blockOwnerDeletion=true is left.
package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

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

// Finalizers the apiserver adds for a propagation policy.
const (
	FinalizerOrphan           = "orphan"
	FinalizerDeleteDependents = "foregroundDeletion"
	maxAbsentOwners           = 4096
)

// Client reaches objects of any kind; the manager adapts a
// client.Clientset to it.
type Client interface {
	Get(ctx context.Context, res *apis.Resource, namespace, name string) (apis.Object, error)
	Update(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error)
	Delete(ctx context.Context, res *apis.Resource, namespace, name string, opts client.DeleteOptions) error
}

// Monitor is the collector's untyped view of one kind's informer.
type Monitor interface {
	Resource() *apis.Resource
	Get(namespace, name string) (apis.Object, bool)
	AddHandlers(add func(apis.Object), update func(old, cur apis.Object), del func(apis.Object))
}

// NewMonitor wraps a typed informer of the kind res.
func NewMonitor[T apis.Object](res *apis.Resource, inf controller.Informer[T]) Monitor {
	return &monitor[T]{res: res, inf: inf, lister: inf.Lister()}
}

type monitor[T apis.Object] struct {
	res    *apis.Resource
	inf    controller.Informer[T]
	lister informer.Lister[T]
}

func (m *monitor[T]) Resource() *apis.Resource { return m.res }

func (m *monitor[T]) Get(namespace, name string) (apis.Object, bool) {
	o, err := m.lister.Get(namespace, name)
	if err != nil {
		return nil, false
	}
	return o, true
}

func (m *monitor[T]) AddHandlers(add func(apis.Object), update func(old, cur apis.Object), del func(apis.Object)) {
	m.inf.AddEventHandler(informer.HandlerFuncs[T]{
		AddFunc:    func(o T) { add(o) },
		UpdateFunc: func(old, cur T) { update(old, cur) },
		DeleteFunc: func(obj any) {
			if o, ok := informer.DeletedObject[T](obj); ok {
				del(o)
			}
		},
	})
}

// Config describes a collector.
type Config struct {
	Monitors []Monitor
	Client   Client
	Clock    clock.WithTicker
	Logger   *zap.Logger
	Metrics  *workqueue.MetricsProvider
}

// GarbageCollector is the collector.
type GarbageCollector struct {
	cfg      Config
	lg       *zap.Logger
	monitors map[string]Monitor // by resource name
	queue    *workqueue.Queue[string]

	mu         sync.Mutex
	dependents map[string]map[string]struct{} // owner uid -> item keys
	owners     map[string][]string            // item key -> owner uids
	absent     map[string]struct{}            // owner uids known to be gone
}

// New validates cfg and registers the event handlers.
func New(cfg Config) (*GarbageCollector, error) {
	if cfg.Client == nil || len(cfg.Monitors) == 0 {
		return nil, errdefs.Invalid("garbage collector: a client and monitors are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	gc := &GarbageCollector{
		cfg:        cfg,
		lg:         lg,
		monitors:   map[string]Monitor{},
		queue:      workqueue.New(workqueue.Config[string]{Name: "garbage_collector_attempt_to_delete", Clock: cfg.Clock, Metrics: cfg.Metrics}),
		dependents: map[string]map[string]struct{}{},
		owners:     map[string][]string{},
		absent:     map[string]struct{}{},
	}
	for _, m := range cfg.Monitors {
		res := m.Resource()
		gc.monitors[res.Name] = m
		m.AddHandlers(
			func(o apis.Object) { gc.onAdd(res, o) },
			func(old, cur apis.Object) { gc.onUpdate(res, old, cur) },
			func(o apis.Object) { gc.onDelete(res, o) },
		)
	}
	return gc, nil
}

// Run runs workers until ctx ends.
func (gc *GarbageCollector) Run(ctx context.Context, workers int) error {
	gc.lg.Info("Starting the garbage collector", zap.Int("workers", workers))
	controller.RunWorkers(ctx, gc.queue, workers, gc.sync, gc.lg)
	return nil
}

// Shutdown stops the queue of a collector that is not running.
func (gc *GarbageCollector) Shutdown() { gc.queue.ShutDown() }

// itemKey is "resource/namespace/name".
func itemKey(res *apis.Resource, namespace, name string) string {
	return res.Name + "/" + namespace + "/" + name
}

func keyOf(res *apis.Resource, o apis.Object) string {
	return itemKey(res, o.GetMetadata().GetNamespace(), o.GetMetadata().GetName())
}

func hasFinalizer(o apis.Object, f string) bool {
	return slices.Contains(o.GetMetadata().GetFinalizers(), f)
}

// beingCollected: deleting with a finalizer the collector handles.
func beingCollected(o apis.Object) bool {
	return o.GetMetadata().GetDeletionTimestamp() != nil && (hasFinalizer(o, FinalizerOrphan) || hasFinalizer(o, FinalizerDeleteDependents))
}

func (gc *GarbageCollector) index(res *apis.Resource, o apis.Object) {
	key := keyOf(res, o)
	gc.mu.Lock()
	defer gc.mu.Unlock()
	gc.unindexLocked(key)
	var uids []string
	for _, ref := range o.GetMetadata().GetOwnerReferences() {
		set := gc.dependents[ref.GetUid()]
		if set == nil {
			set = map[string]struct{}{}
			gc.dependents[ref.GetUid()] = set
		}
		set[key] = struct{}{}
		uids = append(uids, ref.GetUid())
	}
	if len(uids) > 0 {
		gc.owners[key] = uids
	}
}

func (gc *GarbageCollector) unindexLocked(key string) {
	for _, uid := range gc.owners[key] {
		if set := gc.dependents[uid]; set != nil {
			delete(set, key)
			if len(set) == 0 {
				delete(gc.dependents, uid)
			}
		}
	}
	delete(gc.owners, key)
}

func (gc *GarbageCollector) onAdd(res *apis.Resource, o apis.Object) {
	gc.index(res, o)
	if len(o.GetMetadata().GetOwnerReferences()) > 0 || beingCollected(o) {
		gc.queue.Add(keyOf(res, o))
	}
}

func (gc *GarbageCollector) onUpdate(res *apis.Resource, old, cur apis.Object) {
	gc.index(res, cur)
	omd, cmd := old.GetMetadata(), cur.GetMetadata()
	refsChanged := !proto.Equal(&v1.ObjectMeta{OwnerReferences: omd.GetOwnerReferences()}, &v1.ObjectMeta{OwnerReferences: cmd.GetOwnerReferences()})
	deletionChanged := (omd.GetDeletionTimestamp() == nil) != (cmd.GetDeletionTimestamp() == nil) || !slices.Equal(omd.GetFinalizers(), cmd.GetFinalizers())
	if refsChanged || deletionChanged || beingCollected(cur) {
		gc.queue.Add(keyOf(res, cur))
	}
	if refsChanged {
		// An owner waiting for its dependents may have lost one.
		gc.enqueueOwners(old)
	}
}

func (gc *GarbageCollector) onDelete(res *apis.Resource, o apis.Object) {
	key := keyOf(res, o)
	uid := o.GetMetadata().GetUid()
	gc.mu.Lock()
	gc.unindexLocked(key)
	var deps []string
	for k := range gc.dependents[uid] {
		deps = append(deps, k)
	}
	gc.mu.Unlock()
	for _, k := range deps {
		gc.queue.Add(k)
	}
	gc.enqueueOwners(o)
}

// enqueueOwners queues the owners of o that are monitored.
func (gc *GarbageCollector) enqueueOwners(o apis.Object) {
	for _, ref := range o.GetMetadata().GetOwnerReferences() {
		res, err := apis.ForKind(ref.GetApiVersion(), ref.GetKind())
		if err != nil {
			continue
		}
		if _, ok := gc.monitors[res.Name]; !ok {
			continue
		}
		ns := ""
		if res.Namespaced {
			ns = o.GetMetadata().GetNamespace()
		}
		gc.queue.Add(itemKey(res, ns, ref.GetName()))
	}
}

// dependentsOf returns the cached dependents of an owner uid.
func (gc *GarbageCollector) dependentsOf(uid string) []depItem {
	gc.mu.Lock()
	keys := make([]string, 0, len(gc.dependents[uid]))
	for k := range gc.dependents[uid] {
		keys = append(keys, k)
	}
	gc.mu.Unlock()
	slices.Sort(keys)
	var out []depItem
	for _, k := range keys {
		res, ns, name, ok := gc.parseKey(k)
		if !ok {
			continue
		}
		if o, ok := gc.monitors[res.Name].Get(ns, name); ok {
			out = append(out, depItem{res: res, obj: o})
		}
	}
	return out
}

type depItem struct {
	res *apis.Resource
	obj apis.Object
}

func (gc *GarbageCollector) parseKey(key string) (*apis.Resource, string, string, bool) {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) != 3 {
		return nil, "", "", false
	}
	m, ok := gc.monitors[parts[0]]
	if !ok {
		return nil, "", "", false
	}
	return m.Resource(), parts[1], parts[2], true
}

// sync handles one item.
func (gc *GarbageCollector) sync(ctx context.Context, key string) error {
	res, ns, name, ok := gc.parseKey(key)
	if !ok {
		return nil
	}
	obj, ok := gc.monitors[res.Name].Get(ns, name)
	if !ok {
		return nil
	}
	md := obj.GetMetadata()
	if md.GetDeletionTimestamp() != nil {
		switch {
		case hasFinalizer(obj, FinalizerOrphan):
			return gc.orphanDependents(ctx, res, obj)
		case hasFinalizer(obj, FinalizerDeleteDependents):
			return gc.processDeletingDependents(ctx, res, obj)
		}
		return nil
	}
	if len(md.GetOwnerReferences()) == 0 {
		return nil
	}
	return gc.attemptToDeleteItem(ctx, res, obj)
}

type ownerState int

const (
	ownerSolid ownerState = iota
	ownerAbsent
	ownerWaiting // being deleted in the foreground, waiting for its dependents
)

// ownerStateOf looks the owner ref names up: in the cache, and on the
// apiserver when the cache does not have it (or has another uid).
func (gc *GarbageCollector) ownerStateOf(ctx context.Context, namespace string, ref *v1.OwnerReference) (ownerState, error) {
	res, err := apis.ForKind(ref.GetApiVersion(), ref.GetKind())
	if err != nil {
		// A kind we do not know: never collect on its account.
		return ownerSolid, nil
	}
	ns := ""
	if res.Namespaced {
		ns = namespace
	}
	gc.mu.Lock()
	_, gone := gc.absent[ref.GetUid()]
	gc.mu.Unlock()
	if gone {
		return ownerAbsent, nil
	}
	stateOf := func(o apis.Object) ownerState {
		if o.GetMetadata().GetDeletionTimestamp() != nil && hasFinalizer(o, FinalizerDeleteDependents) {
			return ownerWaiting
		}
		return ownerSolid
	}
	if m, ok := gc.monitors[res.Name]; ok {
		if o, ok := m.Get(ns, ref.GetName()); ok && o.GetMetadata().GetUid() == ref.GetUid() {
			return stateOf(o), nil
		}
	}
	o, err := gc.cfg.Client.Get(ctx, res, ns, ref.GetName())
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return ownerSolid, fmt.Errorf("look up owner %s %s: %w", res.Kind, ref.GetName(), err)
	case o.GetMetadata().GetUid() == ref.GetUid():
		return stateOf(o), nil
	}
	gc.mu.Lock()
	if len(gc.absent) >= maxAbsentOwners {
		clear(gc.absent)
	}
	gc.absent[ref.GetUid()] = struct{}{}
	gc.mu.Unlock()
	return ownerAbsent, nil
}

// attemptToDeleteItem deletes obj when none of its owners is left, or
// removes the references to owners that are gone or waiting when others
// remain.
func (gc *GarbageCollector) attemptToDeleteItem(ctx context.Context, res *apis.Resource, obj apis.Object) error {
	md := obj.GetMetadata()
	var solid, dangling, waiting []*v1.OwnerReference
	for _, ref := range md.GetOwnerReferences() {
		st, err := gc.ownerStateOf(ctx, md.GetNamespace(), ref)
		if err != nil {
			return err
		}
		switch st {
		case ownerSolid:
			solid = append(solid, ref)
		case ownerAbsent:
			dangling = append(dangling, ref)
		case ownerWaiting:
			waiting = append(waiting, ref)
		}
	}
	switch {
	case len(solid) > 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return nil
		}
		drop := map[string]bool{}
		for _, r := range append(dangling, waiting...) {
			drop[r.GetUid()] = true
		}
		return gc.removeOwnerRefs(ctx, res, obj, drop)
	case len(waiting) > 0 && len(gc.dependentsOf(md.GetUid())) > 0:
		// Its owner waits: its own dependents go first.
		return gc.deleteObject(ctx, res, obj, client.PropagationForeground)
	default:
		policy := client.PropagationBackground
		switch {
		case hasFinalizer(obj, FinalizerOrphan):
			policy = client.PropagationOrphan
		case hasFinalizer(obj, FinalizerDeleteDependents):
			policy = client.PropagationForeground
		}
		return gc.deleteObject(ctx, res, obj, policy)
	}
}

func (gc *GarbageCollector) deleteObject(ctx context.Context, res *apis.Resource, obj apis.Object, policy string) error {
	md := obj.GetMetadata()
	err := gc.cfg.Client.Delete(ctx, res, md.GetNamespace(), md.GetName(), client.DeleteOptions{
		PropagationPolicy: policy,
		Preconditions:     &client.Preconditions{UID: md.GetUid()},
	})
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete %s %s: %w", res.Singular, apis.Key(obj), err)
	}
	gc.lg.Info("Deleted object whose owners are gone", zap.String("resource", res.Name), zap.String("object", apis.Key(obj)), zap.String("propagationPolicy", policy))
	return nil
}

// removeOwnerRefs writes obj without the owner references in drop.
func (gc *GarbageCollector) removeOwnerRefs(ctx context.Context, res *apis.Resource, obj apis.Object, drop map[string]bool) error {
	next := proto.Clone(obj).(apis.Object)
	md := next.GetMetadata()
	var kept []*v1.OwnerReference
	for _, r := range md.GetOwnerReferences() {
		if !drop[r.GetUid()] {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(md.GetOwnerReferences()) {
		return nil
	}
	md.OwnerReferences = kept
	if _, err := gc.cfg.Client.Update(ctx, res, next); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove owner references of %s %s: %w", res.Singular, apis.Key(obj), err)
	}
	return nil
}

// removeFinalizer writes obj without finalizer f; the apiserver finishes
// the deletion when it was the last.
func (gc *GarbageCollector) removeFinalizer(ctx context.Context, res *apis.Resource, obj apis.Object, f string) error {
	next := proto.Clone(obj).(apis.Object)
	md := next.GetMetadata()
	md.Finalizers = slices.DeleteFunc(slices.Clone(md.GetFinalizers()), func(s string) bool { return s == f })
	if _, err := gc.cfg.Client.Update(ctx, res, next); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove finalizer %s of %s %s: %w", f, res.Singular, apis.Key(obj), err)
	}
	return nil
}

// orphanDependents removes the owner's references from its dependents,
// then its orphan finalizer.
func (gc *GarbageCollector) orphanDependents(ctx context.Context, res *apis.Resource, owner apis.Object) error {
	uid := owner.GetMetadata().GetUid()
	var errs []error
	for _, d := range gc.dependentsOf(uid) {
		if err := gc.removeOwnerRefs(ctx, d.res, d.obj, map[string]bool{uid: true}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := gc.removeFinalizer(ctx, res, owner, FinalizerOrphan); err != nil {
		return err
	}
	gc.lg.Info("Orphaned the dependents of a deleted owner", zap.String("resource", res.Name), zap.String("owner", apis.Key(owner)))
	return nil
}

// processDeletingDependents deletes the dependents of an owner deleted
// in the foreground and removes its finalizer once no blocking dependent
// is left.
func (gc *GarbageCollector) processDeletingDependents(ctx context.Context, res *apis.Resource, owner apis.Object) error {
	uid := owner.GetMetadata().GetUid()
	blocking := 0
	var errs []error
	for _, d := range gc.dependentsOf(uid) {
		for _, r := range d.obj.GetMetadata().GetOwnerReferences() {
			if r.GetUid() == uid && r.GetBlockOwnerDeletion() {
				blocking++
			}
		}
		if d.obj.GetMetadata().GetDeletionTimestamp() == nil {
			if err := gc.attemptToDeleteItem(ctx, d.res, d.obj); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if blocking > 0 {
		return nil // their deletion events bring the owner back here
	}
	if err := gc.removeFinalizer(ctx, res, owner, FinalizerDeleteDependents); err != nil {
		return err
	}
	gc.lg.Info("Deleted the dependents of an owner in the foreground", zap.String("resource", res.Name), zap.String("owner", apis.Key(owner)))
	return nil
}
