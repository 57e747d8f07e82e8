package scheduler

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
)

// fakeCluster is an in-memory apiserver for the scheduler's tests: pods and
// nodes with list/watch, Bind that holds only while a pod is unbound (as the
// real one), UpdateStatus with resourceVersion checks.
type fakeCluster struct {
	mu      sync.Mutex
	rv      int64
	pods    map[string]*v1.Pod
	nodes   map[string]*v1.Node
	podLog  []client.Event[*v1.Pod]
	nodeLog []client.Event[*v1.Node]
	podW    []*fakeWatch[*v1.Pod]
	nodeW   []*fakeWatch[*v1.Node]
	// binds counts successful binds per pod key; bindCalls every call.
	binds     map[string]int
	bindCalls map[string]int
	// bindErr, when set, may fail a bind before it happens.
	bindErr func(key string, attempt int) error
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{pods: map[string]*v1.Pod{}, nodes: map[string]*v1.Node{}, binds: map[string]int{}, bindCalls: map[string]int{}}
}

type fakeWatch[T apis.Object] struct {
	ctx  context.Context
	ch   chan client.Event[T]
	done chan struct{}
	once sync.Once
}

func (w *fakeWatch[T]) Next() (client.Event[T], error) {
	select {
	case ev := <-w.ch:
		return ev, nil
	case <-w.done:
		return client.Event[T]{}, io.EOF
	case <-w.ctx.Done():
		return client.Event[T]{}, w.ctx.Err()
	}
}

func (w *fakeWatch[T]) Stop() { w.once.Do(func() { close(w.done) }) }

// emit appends an event to log and sends it to the open watches; c.mu is
// held.
func emit[T apis.Object](c *fakeCluster, log *[]client.Event[T], watches []*fakeWatch[T], typ client.EventType, obj T) {
	ev := client.Event[T]{Type: typ, Object: obj, ResourceVersion: obj.GetMetadata().GetResourceVersion()}
	*log = append(*log, ev)
	for _, w := range watches {
		select {
		case w.ch <- ev:
		case <-w.done:
		case <-w.ctx.Done():
		}
	}
}

func (c *fakeCluster) nextRV() string {
	c.rv++
	return strconv.FormatInt(c.rv, 10)
}

func (c *fakeCluster) putPod(p *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p = proto.Clone(p).(*v1.Pod)
	p.Metadata.ResourceVersion = c.nextRV()
	key := apis.Key(p)
	typ := client.Modified
	if _, ok := c.pods[key]; !ok {
		typ = client.Added
	}
	c.pods[key] = p
	emit(c, &c.podLog, c.podW, typ, p)
}

func (c *fakeCluster) deletePod(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pods[key]
	if !ok {
		return
	}
	delete(c.pods, key)
	p = proto.Clone(p).(*v1.Pod)
	p.Metadata.ResourceVersion = c.nextRV()
	emit(c, &c.podLog, c.podW, client.Deleted, p)
}

func (c *fakeCluster) putNode(n *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n = proto.Clone(n).(*v1.Node)
	n.Metadata.ResourceVersion = c.nextRV()
	typ := client.Modified
	if _, ok := c.nodes[n.Metadata.Name]; !ok {
		typ = client.Added
	}
	c.nodes[n.Metadata.Name] = n
	emit(c, &c.nodeLog, c.nodeW, typ, n)
}

func (c *fakeCluster) pod(key string) *v1.Pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pods[key]
}

func (c *fakeCluster) bindCount(key string) (binds, calls int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.binds[key], c.bindCalls[key]
}

// Bind implements API.
func (c *fakeCluster) Bind(_ context.Context, b *v1.Binding) (*v1.Pod, error) {
	key := b.Metadata.Namespace + "/" + b.Metadata.Name
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bindCalls[key]++
	if c.bindErr != nil {
		if err := c.bindErr(key, c.bindCalls[key]); err != nil {
			return nil, err
		}
	}
	p, ok := c.pods[key]
	switch {
	case !ok:
		return nil, errdefs.NotFound("pods %q not found", b.Metadata.Name)
	case b.Metadata.Uid != "" && b.Metadata.Uid != p.Metadata.Uid:
		return nil, errdefs.Conflict("uid mismatch")
	case p.Spec.NodeName != "":
		return nil, errdefs.Precondition("pod %s is already assigned to node %q", b.Metadata.Name, p.Spec.NodeName)
	}
	p = proto.Clone(p).(*v1.Pod)
	p.Spec.NodeName = b.Target.Name
	if p.Status == nil {
		p.Status = &v1.PodStatus{}
	}
	p.Status.Conditions = []*v1.Condition{{Type: conditionPodScheduled, Status: "True"}}
	p.Metadata.ResourceVersion = c.nextRV()
	c.pods[key] = p
	c.binds[key]++
	emit(c, &c.podLog, c.podW, client.Modified, p)
	return p, nil
}

// UpdatePodStatus implements API.
func (c *fakeCluster) UpdatePodStatus(_ context.Context, pod *v1.Pod) (*v1.Pod, error) {
	key := apis.Key(pod)
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pods[key]
	if !ok {
		return nil, errdefs.NotFound("pods %q not found", pod.Metadata.Name)
	}
	if rv := pod.Metadata.ResourceVersion; rv != "" && rv != p.Metadata.ResourceVersion {
		return nil, errdefs.Conflict("the object has been modified")
	}
	p = proto.Clone(p).(*v1.Pod)
	p.Status = proto.Clone(pod.Status).(*v1.PodStatus)
	p.Metadata.ResourceVersion = c.nextRV()
	c.pods[key] = p
	emit(c, &c.podLog, c.podW, client.Modified, p)
	return p, nil
}

type podLW struct{ c *fakeCluster }

func (l podLW) List(context.Context) ([]*v1.Pod, string, error) {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	out := make([]*v1.Pod, 0, len(l.c.pods))
	for _, p := range l.c.pods {
		out = append(out, p)
	}
	return out, strconv.FormatInt(l.c.rv, 10), nil
}

func (l podLW) Watch(ctx context.Context, rv string) (informer.Watch[*v1.Pod], error) {
	return openWatch(ctx, l.c, &l.c.podLog, &l.c.podW, rv)
}

type nodeLW struct{ c *fakeCluster }

func (l nodeLW) List(context.Context) ([]*v1.Node, string, error) {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	out := make([]*v1.Node, 0, len(l.c.nodes))
	for _, n := range l.c.nodes {
		out = append(out, n)
	}
	return out, strconv.FormatInt(l.c.rv, 10), nil
}

func (l nodeLW) Watch(ctx context.Context, rv string) (informer.Watch[*v1.Node], error) {
	return openWatch(ctx, l.c, &l.c.nodeLog, &l.c.nodeW, rv)
}

// openWatch replays the log after rv and registers a watch.
func openWatch[T apis.Object](ctx context.Context, c *fakeCluster, log *[]client.Event[T], watches *[]*fakeWatch[T], rv string) (informer.Watch[T], error) {
	from, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("bad resourceVersion %q", rv)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &fakeWatch[T]{ctx: ctx, ch: make(chan client.Event[T], 100000), done: make(chan struct{})}
	for _, ev := range *log {
		if n, _ := strconv.ParseInt(ev.ResourceVersion, 10, 64); n > from {
			w.ch <- ev
		}
	}
	*watches = append(*watches, w)
	return w, nil
}

// fakeEvent is one recorded event.
type fakeEvent struct {
	object, eventType, reason, message string
}

type fakeRecorder struct {
	mu     sync.Mutex
	events []fakeEvent
}

func (r *fakeRecorder) Eventf(obj apis.Object, eventType, reason, messageFmt string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fakeEvent{object: apis.Key(obj), eventType: eventType, reason: reason, message: fmt.Sprintf(messageFmt, args...)})
}

func (r *fakeRecorder) find(object, reason string) (fakeEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.object == object && e.reason == reason {
			return e, true
		}
	}
	return fakeEvent{}, false
}
