// Package controller holds what the controllers of the controller-manager
// share: the worker loop that drains a rate-limited workqueue of
// "namespace/name" keys, client-go style expectations, owner-reference
// claiming (adopt and release), and pod predicates (active, ready,
// available). Each controller lives in its own subpackage (nodeipam,
// nodelifecycle, replicaset, deployment, garbagecollector, namespace); the manager
// subpackage wires them to shared informers, leader election and metrics.
//
// Controllers are level-triggered: event handlers only enqueue keys; a
// worker takes a key, reads the current state from the informer caches
// (read-only: clone before changing), writes with the resourceVersion it
// read, and on any error (a Conflict included) requeues the key with
// backoff.
package controller

import (
	"context"
	"sync"

	"go.uber.org/zap"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/workqueue"
)

// Informer is what a controller needs of a shared informer: its cache and
// its change notifications. *informer.Informer[T] satisfies it; tests use
// controllertest.Informer, whose cache they fill by hand.
type Informer[T apis.Object] interface {
	Lister() informer.Lister[T]
	AddEventHandler(h informer.ResourceEventHandler[T]) *informer.Registration
}

var _ Informer[apis.Object] = (*informer.Informer[apis.Object])(nil)

// EventRecorder records Events about objects without blocking;
// *record.Recorder satisfies it.
type EventRecorder interface {
	Eventf(obj apis.Object, eventType, reason, messageFmt string, args ...any)
}

// NopRecorder drops every event: the recorder of a controller built
// without one.
type NopRecorder struct{}

// Eventf does nothing.
func (NopRecorder) Eventf(apis.Object, string, string, string, ...any) {}

// Event types, as Kubernetes'.
const (
	EventTypeNormal  = "Normal"
	EventTypeWarning = "Warning"
)

// SyncFunc reconciles the object a key names. A nil error forgets the
// key's backoff; any error requeues the key after its backoff.
type SyncFunc func(ctx context.Context, key string) error

// RunWorkers runs workers goroutines that take keys from q and call sync,
// until ctx ends; then it shuts q down and returns once every worker has
// returned. A key is never handed to two workers at once.
func RunWorkers(ctx context.Context, q *workqueue.Queue[string], workers int, syncFn SyncFunc, lg *zap.Logger) {
	if workers < 1 {
		workers = 1
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for processNext(ctx, q, syncFn, lg) {
			}
		})
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
}

// processNext handles one key; false once the queue has shut down.
func processNext(ctx context.Context, q *workqueue.Queue[string], syncFn SyncFunc, lg *zap.Logger) bool {
	key, shutdown := q.Get()
	if shutdown {
		return false
	}
	defer q.Done(key)
	if ctx.Err() != nil {
		return true // draining after shutdown: nothing more is written
	}
	HandleResult(ctx, q, key, syncFn(ctx, key), lg)
	return true
}

// HandleResult forgets key's backoff after a success and requeues it
// with backoff after an error. A Conflict (the cache was stale) is
// expected and logged at debug level only.
func HandleResult(ctx context.Context, q *workqueue.Queue[string], key string, err error, lg *zap.Logger) {
	if err == nil {
		q.Forget(key)
		return
	}
	if ctx.Err() != nil {
		return
	}
	if errdefs.IsConflict(err) || errdefs.IsAlreadyExists(err) {
		lg.Debug("Requeued after a conflict", zap.String("key", key), zap.Error(err))
	} else {
		lg.Info("Sync failed; requeued", zap.String("key", key), zap.Int("retries", q.NumRequeues(key)), zap.Error(err))
	}
	q.AddRateLimited(key)
}

// KeyOf is the queue key of an object or a tombstone ("" when obj is
// neither).
func KeyOf(obj any) string { return informer.KeyOf(obj) }
