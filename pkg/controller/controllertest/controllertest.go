// Package controllertest holds the fakes the controllers' unit tests run
// on: an informer whose cache a test fills by hand and whose handlers run
// synchronously, an in-memory client per kind that keeps resourceVersions
// and conflicts and reaches the informer only when the test says so
// (Flush: the cache lags the apiserver as it does for real), and an event
// recorder that remembers what it was told.
package controllertest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
)

// Informer is a fake shared informer: a Store plus handlers that run
// synchronously on Add, Update and Delete.
type Informer[T apis.Object] struct {
	store *informer.Store[T]

	mu       sync.Mutex
	handlers []informer.ResourceEventHandler[T]
}

// NewInformer returns an empty fake informer holding objs.
func NewInformer[T apis.Object](objs ...T) *Informer[T] {
	inf := &Informer[T]{store: informer.NewStore[T]()}
	for _, o := range objs {
		inf.store.Upsert(o)
	}
	return inf
}

// Lister reads the cache.
func (inf *Informer[T]) Lister() informer.Lister[T] { return informer.NewLister(inf.store) }

// AddEventHandler registers h; it returns nil (nothing to sync).
func (inf *Informer[T]) AddEventHandler(h informer.ResourceEventHandler[T]) *informer.Registration {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	inf.handlers = append(inf.handlers, h)
	return nil
}

func (inf *Informer[T]) snapshot() []informer.ResourceEventHandler[T] {
	inf.mu.Lock()
	defer inf.mu.Unlock()
	return slices.Clone(inf.handlers)
}

// Add stores obj (or updates it when its key is taken) and notifies.
func (inf *Informer[T]) Add(obj T) {
	old, ok := inf.store.Get(apis.Key(obj))
	inf.store.Upsert(obj)
	for _, h := range inf.snapshot() {
		if ok {
			h.OnUpdate(old, obj)
		} else {
			h.OnAdd(obj, false)
		}
	}
}

// Update is Add.
func (inf *Informer[T]) Update(obj T) { inf.Add(obj) }

// Delete removes obj and notifies.
func (inf *Informer[T]) Delete(obj T) {
	key := apis.Key(obj)
	if _, ok := inf.store.Get(key); !ok {
		return
	}
	inf.store.Delete(key)
	for _, h := range inf.snapshot() {
		h.OnDelete(obj)
	}
}

// Get returns the cached object of key.
func (inf *Informer[T]) Get(key string) (T, bool) { return inf.store.Get(key) }

// List returns the cached objects sorted by key.
func (inf *Informer[T]) List() []T {
	out := inf.store.List()
	sort.Slice(out, func(i, j int) bool { return apis.Key(out[i]) < apis.Key(out[j]) })
	return out
}

// change is a write the informer has not seen yet.
type change[T apis.Object] struct {
	obj     T
	deleted bool
}

// Client is an in-memory apiserver for one kind with the verbs of
// client.Resource: resourceVersions from a counter, Conflict on a stale
// one, generateName, uid, generation bumps on spec changes, Update
// keeping status and UpdateStatus keeping spec. Writes reach the paired
// informer on Flush. Every call is logged in Actions.
type Client[T apis.Object] struct {
	inf   *Informer[T]
	clock clock.PassiveClock
	res   *apis.Resource

	mu      sync.Mutex
	rv      int64
	names   int
	objects map[string]T
	pending []change[T]
	actions []string
	fail    map[string][]error
	// Graceful, when set, makes Delete of objects with no finalizers set
	// deletionTimestamp instead of removing them (a pod bound to a node).
	Graceful func(obj T) bool
}

// NewClient returns a client whose server state starts as what inf
// holds; clk stamps creationTimestamps (nil: the real clock).
func NewClient[T apis.Object](inf *Informer[T], clk clock.PassiveClock) *Client[T] {
	if clk == nil {
		clk = clock.RealClock{}
	}
	var zero T
	res, err := apis.ForObject(zero.ProtoReflect().Type().New().Interface())
	if err != nil {
		panic(err)
	}
	c := &Client[T]{inf: inf, clock: clk, res: res, objects: map[string]T{}, fail: map[string][]error{}}
	for _, o := range inf.List() {
		c.objects[apis.Key(o)] = o
		if rv, err := strconv.ParseInt(o.GetMetadata().GetResourceVersion(), 10, 64); err == nil && rv > c.rv {
			c.rv = rv
		}
	}
	return c
}

// FailNext makes the next calls of verb ("create", "update",
// "updateStatus", "delete", "get") fail with errs, one per call.
func (c *Client[T]) FailNext(verb string, errs ...error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail[verb] = append(c.fail[verb], errs...)
}

func (c *Client[T]) injected(verb string) error {
	if errs := c.fail[verb]; len(errs) > 0 {
		c.fail[verb] = errs[1:]
		return errs[0]
	}
	return nil
}

// Actions returns the calls made so far ("create default/web-", "delete
// default/web-00001", ...) and forgets them.
func (c *Client[T]) Actions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.actions
	c.actions = nil
	return out
}

// Objects returns the server state sorted by key.
func (c *Client[T]) Objects() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]T, 0, len(c.objects))
	for _, o := range c.objects {
		out = append(out, proto.Clone(o).(T))
	}
	sort.Slice(out, func(i, j int) bool { return apis.Key(out[i]) < apis.Key(out[j]) })
	return out
}

// Put stores obj on the server as is (a change made by someone else),
// with a new resourceVersion; it reaches the informer on Flush.
func (c *Client[T]) Put(obj T) T {
	c.mu.Lock()
	defer c.mu.Unlock()
	obj = proto.Clone(obj).(T)
	c.rv++
	apis.Meta(obj).ResourceVersion = strconv.FormatInt(c.rv, 10)
	c.objects[apis.Key(obj)] = obj
	c.pending = append(c.pending, change[T]{obj: obj})
	return proto.Clone(obj).(T)
}

// Remove deletes key from the server (someone else's delete).
func (c *Client[T]) Remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o, ok := c.objects[key]; ok {
		delete(c.objects, key)
		c.pending = append(c.pending, change[T]{obj: o, deleted: true})
	}
}

// Flush delivers the writes so far to the informer, in order, and
// returns how many there were.
func (c *Client[T]) Flush() int {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, ch := range pending {
		if ch.deleted {
			c.inf.Delete(ch.obj)
		} else {
			c.inf.Add(ch.obj)
		}
	}
	return len(pending)
}

func (c *Client[T]) log(format string, args ...any) {
	c.actions = append(c.actions, fmt.Sprintf(format, args...))
}

// Create implements client.Resource.Create.
func (c *Client[T]) Create(_ context.Context, obj T) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero T
	obj = proto.Clone(obj).(T)
	md := apis.Meta(obj)
	if md.Name == "" && md.GenerateName != "" {
		c.log("create %s/%s", md.GetNamespace(), md.GetGenerateName())
	} else {
		c.log("create %s", apis.Key(obj))
	}
	if err := c.injected("create"); err != nil {
		return zero, err
	}
	if md.Name == "" && md.GenerateName != "" {
		c.names++
		md.Name = fmt.Sprintf("%s%05d", md.GenerateName, c.names)
	}
	key := apis.Key(obj)
	if _, ok := c.objects[key]; ok {
		return zero, errdefs.AlreadyExists("%s %q already exists", c.res.Name, md.Name)
	}
	c.rv++
	md.ResourceVersion = strconv.FormatInt(c.rv, 10)
	md.Uid = fmt.Sprintf("uid-%s-%d", md.Name, c.rv)
	md.Generation = 1
	md.CreationTimestamp = timestamppb.New(c.clock.Now())
	apis.SetTypeMeta(obj)
	c.objects[key] = obj
	c.pending = append(c.pending, change[T]{obj: obj})
	return proto.Clone(obj).(T), nil
}

// Get implements client.Resource.Get.
func (c *Client[T]) Get(_ context.Context, namespace, name string) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero T
	if err := c.injected("get"); err != nil {
		return zero, err
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	o, ok := c.objects[key]
	if !ok {
		return zero, errdefs.NotFound("%s %q not found", c.res.Name, name)
	}
	return proto.Clone(o).(T), nil
}

// Update implements client.Resource.Update: spec and metadata change,
// status is kept.
func (c *Client[T]) Update(_ context.Context, obj T) (T, error) {
	return c.update(obj, false)
}

// UpdateStatus implements client.Resource.UpdateStatus: status changes,
// spec and metadata are kept.
func (c *Client[T]) UpdateStatus(_ context.Context, obj T) (T, error) {
	return c.update(obj, true)
}

func (c *Client[T]) update(obj T, status bool) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero T
	verb := "update"
	if status {
		verb = "updateStatus"
	}
	key := apis.Key(obj)
	c.log("%s %s", verb, key)
	if err := c.injected(verb); err != nil {
		return zero, err
	}
	cur, ok := c.objects[key]
	if !ok {
		return zero, errdefs.NotFound("%s %q not found", c.res.Name, obj.GetMetadata().GetName())
	}
	if rv := obj.GetMetadata().GetResourceVersion(); rv != "" && rv != cur.GetMetadata().GetResourceVersion() {
		return zero, errdefs.Conflict("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", c.res.Name, obj.GetMetadata().GetName())
	}
	var next T
	if status {
		next = proto.Clone(cur).(T)
		copyField(next, obj, "status")
	} else {
		next = proto.Clone(obj).(T)
		nmd := next.GetMetadata()
		cmd := cur.GetMetadata()
		nmd.Uid, nmd.CreationTimestamp, nmd.DeletionTimestamp, nmd.Generation = cmd.Uid, cmd.CreationTimestamp, cmd.DeletionTimestamp, cmd.Generation
		copyField(next, cur, "status")
		if !fieldEqual(next, cur, "spec") {
			nmd.Generation++
		}
	}
	c.rv++
	next.GetMetadata().ResourceVersion = strconv.FormatInt(c.rv, 10)
	if md := next.GetMetadata(); md.GetDeletionTimestamp() != nil && len(md.GetFinalizers()) == 0 && !status {
		delete(c.objects, key)
		c.pending = append(c.pending, change[T]{obj: next, deleted: true})
		return proto.Clone(next).(T), nil
	}
	c.objects[key] = next
	c.pending = append(c.pending, change[T]{obj: next})
	return proto.Clone(next).(T), nil
}

// Delete implements client.Resource.Delete: an object with finalizers
// (or, with Graceful, a pod on a node) gets deletionTimestamp; others go.
// The propagation policy adds the orphan or foregroundDeletion finalizer
// as the apiserver does.
func (c *Client[T]) Delete(_ context.Context, namespace, name string, opts client.DeleteOptions) (T, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero T
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	if opts.PropagationPolicy != "" {
		c.log("delete %s (%s)", key, opts.PropagationPolicy)
	} else {
		c.log("delete %s", key)
	}
	if err := c.injected("delete"); err != nil {
		return zero, false, err
	}
	cur, ok := c.objects[key]
	if !ok {
		return zero, false, errdefs.NotFound("%s %q not found", c.res.Name, name)
	}
	if p := opts.Preconditions; p != nil && p.UID != "" && p.UID != cur.GetMetadata().GetUid() {
		return zero, false, errdefs.Conflict("Precondition failed: UID in precondition: %s, UID in object meta: %s", p.UID, cur.GetMetadata().GetUid())
	}
	next := proto.Clone(cur).(T)
	md := next.GetMetadata()
	switch opts.PropagationPolicy {
	case client.PropagationOrphan:
		md.Finalizers = appendOnce(md.Finalizers, "orphan")
	case client.PropagationForeground:
		md.Finalizers = appendOnce(md.Finalizers, "foregroundDeletion")
	}
	graceful := c.Graceful != nil && c.Graceful(cur)
	if len(md.Finalizers) == 0 && !graceful {
		delete(c.objects, key)
		c.pending = append(c.pending, change[T]{obj: cur, deleted: true})
		return proto.Clone(cur).(T), true, nil
	}
	if md.DeletionTimestamp == nil {
		md.DeletionTimestamp = timestamppb.New(c.clock.Now().Truncate(time.Second))
	}
	c.rv++
	md.ResourceVersion = strconv.FormatInt(c.rv, 10)
	c.objects[key] = next
	c.pending = append(c.pending, change[T]{obj: next})
	return proto.Clone(next).(T), false, nil
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func copyField(dst, src apis.Object, name protoreflect.Name) {
	f := dst.ProtoReflect().Descriptor().Fields().ByName(name)
	if f == nil {
		return
	}
	if src.ProtoReflect().Has(f) {
		dst.ProtoReflect().Set(f, protoreflect.ValueOfMessage(proto.Clone(src.ProtoReflect().Get(f).Message().Interface()).ProtoReflect()))
	} else {
		dst.ProtoReflect().Clear(f)
	}
}

func fieldEqual(a, b apis.Object, name protoreflect.Name) bool {
	f := a.ProtoReflect().Descriptor().Fields().ByName(name)
	if f == nil {
		return true
	}
	return proto.Equal(a.ProtoReflect().Get(f).Message().Interface(), b.ProtoReflect().Get(f).Message().Interface())
}

// Recorder remembers events as "Type Reason Message" lines.
type Recorder struct {
	mu     sync.Mutex
	events []string
}

// Eventf implements controller.EventRecorder.
func (r *Recorder) Eventf(obj apis.Object, eventType, reason, messageFmt string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, eventType+" "+reason+" "+fmt.Sprintf(messageFmt, args...))
}

// Events returns the events so far and forgets them.
func (r *Recorder) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// Time is a timestamp for test objects.
func Time(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }

// ReadyPod sets the pod's phase Running and Ready=True since since.
func ReadyPod(p *v1.Pod, since time.Time) *v1.Pod {
	if p.Status == nil {
		p.Status = &v1.PodStatus{}
	}
	p.Status.Phase = "Running"
	p.Status.Conditions = []*v1.Condition{{Type: "Ready", Status: "True", LastTransitionTime: timestamppb.New(since)}}
	return p
}
