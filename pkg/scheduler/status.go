package scheduler

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/workqueue"
)

// statusWriter writes PodScheduled=False conditions in the background, so
// the scheduling loop never waits for the apiserver. It is level-triggered:
// Set records the wanted condition and queues the pod's key; a worker reads
// the pod from the informer cache and writes only when the pod is still
// unbound, still the same pod, and its condition differs. A conflict
// (stale cache) is retried with a backoff.
type statusWriter struct {
	api   API
	pods  informer.Lister[*v1.Pod]
	clock clock.WithTicker
	lg    *zap.Logger
	queue *workqueue.Queue[string]

	mu   sync.Mutex
	want map[string]wantedCondition
}

type wantedCondition struct {
	uid, reason, message string
}

func newStatusWriter(api API, pods informer.Lister[*v1.Pod], clk clock.WithTicker, lg *zap.Logger) *statusWriter {
	return &statusWriter{
		api:   api,
		pods:  pods,
		clock: clk,
		lg:    lg,
		queue: workqueue.New(workqueue.Config[string]{Name: "scheduler_pod_status", Clock: clk}),
		want:  map[string]wantedCondition{},
	}
}

// Set asks for pod's PodScheduled condition to be False with reason and
// message.
func (w *statusWriter) Set(pod *v1.Pod, reason, message string) {
	key := podKey(pod)
	w.mu.Lock()
	w.want[key] = wantedCondition{uid: pod.GetMetadata().GetUid(), reason: reason, message: message}
	w.mu.Unlock()
	w.queue.Add(key)
}

// Run runs workers until ctx ends, then stops the queue and waits for them.
func (w *statusWriter) Run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				key, shutdown := w.queue.Get()
				if shutdown {
					return
				}
				if err := w.sync(ctx, key); err != nil && ctx.Err() == nil {
					w.lg.Debug("Pod status update failed; retrying", zap.String("pod", key), zap.Error(err))
					w.queue.AddRateLimited(key)
				} else {
					w.queue.Forget(key)
				}
				w.queue.Done(key)
			}
		})
	}
	<-ctx.Done()
	w.queue.ShutDown()
	wg.Wait()
}

// sync writes the wanted condition of key if it still applies.
func (w *statusWriter) sync(ctx context.Context, key string) error {
	w.mu.Lock()
	want, ok := w.want[key]
	w.mu.Unlock()
	if !ok {
		return nil
	}
	ns, name := splitKey(key)
	pod, err := w.pods.Get(ns, name)
	if err != nil || pod.GetMetadata().GetUid() != want.uid || assigned(pod) || pod.GetMetadata().GetDeletionTimestamp() != nil {
		w.forget(key, want)
		return nil
	}
	cur := podScheduledCondition(pod)
	if cur != nil && cur.GetStatus() == conditionStatusFalse && cur.GetReason() == want.reason && cur.GetMessage() == want.message {
		w.forget(key, want)
		return nil
	}
	next := proto.Clone(pod).(*v1.Pod)
	if next.Status == nil {
		next.Status = &v1.PodStatus{}
	}
	cond := &v1.Condition{Type: conditionPodScheduled, Status: conditionStatusFalse, Reason: want.reason, Message: want.message,
		LastTransitionTime: timestamppb.New(w.clock.Now())}
	if cur != nil && cur.GetStatus() == conditionStatusFalse && cur.LastTransitionTime != nil {
		cond.LastTransitionTime = cur.LastTransitionTime
	}
	replaced := false
	for i, c := range next.Status.Conditions {
		if c.GetType() == conditionPodScheduled {
			next.Status.Conditions[i] = cond
			replaced = true
		}
	}
	if !replaced {
		next.Status.Conditions = append(next.Status.Conditions, cond)
	}
	if next.Status.Phase == "" {
		next.Status.Phase = "Pending"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := w.api.UpdatePodStatus(ctx, next); err != nil {
		if errdefs.IsNotFound(err) {
			w.forget(key, want)
			return nil
		}
		return err
	}
	w.forget(key, want)
	return nil
}

// forget drops the wanted condition of key unless a newer one was set.
func (w *statusWriter) forget(key string, done wantedCondition) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.want[key] == done {
		delete(w.want, key)
	}
}

func podScheduledCondition(p *v1.Pod) *v1.Condition {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == conditionPodScheduled {
			return c
		}
	}
	return nil
}

func splitKey(key string) (namespace, name string) {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}
