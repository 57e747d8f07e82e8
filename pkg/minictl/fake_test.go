package minictl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/fields"
	"minik8s/pkg/apis/labels"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// ago is a creation timestamp d before testNow.
func ago(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(testNow.Add(-d)) }

// fakeClient is an in-memory API: objects by resource/namespace/name, a
// revision counter for resourceVersions, and watchers fed on every write.
type fakeClient struct {
	mu       sync.Mutex
	rev      int
	objs     map[string]apis.Object
	watchers []*fakeWatch
	// graceful makes deleting a pod bound to a node set its
	// deletionTimestamp instead of removing it (a kubelet finishes it).
	graceful bool
	// failCreate fails the creation of objects of these names.
	failCreate map[string]error
	calls      []string
	deletes    []DeleteOptions
}

var _ Client = (*fakeClient)(nil)

func newFakeClient(objs ...apis.Object) *fakeClient {
	c := &fakeClient{objs: map[string]apis.Object{}}
	for _, o := range objs {
		res, err := apis.ForObject(o)
		if err != nil {
			panic(err)
		}
		c.rev++
		o = proto.Clone(o).(apis.Object)
		md := apis.Meta(o)
		md.ResourceVersion = strconv.Itoa(c.rev)
		if md.Uid == "" {
			md.Uid = "uid-" + md.GetName()
		}
		c.objs[fakeKey(res, md.GetNamespace(), md.GetName())] = o
	}
	return c
}

func fakeKey(res *apis.Resource, ns, name string) string {
	return res.Name + "/" + ns + "/" + name
}

func (c *fakeClient) record(format string, args ...any) {
	c.calls = append(c.calls, fmt.Sprintf(format, args...))
}

func (c *fakeClient) notify(typ string, obj apis.Object) {
	for _, w := range c.watchers {
		if w.matches(obj) {
			w.send(WatchEvent{Type: typ, Object: proto.Clone(obj).(apis.Object), ResourceVersion: obj.GetMetadata().GetResourceVersion()})
		}
	}
}

func (c *fakeClient) Create(_ context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	md := obj.GetMetadata()
	c.record("create %s %s/%s", res.Name, md.GetNamespace(), md.GetName())
	if err := c.failCreate[md.GetName()]; err != nil {
		return nil, err
	}
	k := fakeKey(res, md.GetNamespace(), md.GetName())
	if _, ok := c.objs[k]; ok {
		return nil, errdefs.AlreadyExists("%s %q already exists", res.Name, md.GetName())
	}
	o := proto.Clone(obj).(apis.Object)
	c.rev++
	m := apis.Meta(o)
	m.ResourceVersion = strconv.Itoa(c.rev)
	m.Uid = "uid-" + m.GetName()
	m.CreationTimestamp = timestamppb.New(testNow)
	c.objs[k] = o
	c.notify(EventAdded, o)
	return proto.Clone(o).(apis.Object), nil
}

func (c *fakeClient) Get(_ context.Context, res *apis.Resource, ns, name string) (apis.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("get %s %s/%s", res.Name, ns, name)
	o, ok := c.objs[fakeKey(res, ns, name)]
	if !ok {
		return nil, errdefs.NotFound("%s %q not found", res.Name, name)
	}
	return proto.Clone(o).(apis.Object), nil
}

func (c *fakeClient) List(_ context.Context, res *apis.Resource, ns string, opts ListOptions) (*ObjectList, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call := fmt.Sprintf("list %s %s l=%s f=%s", res.Name, ns, opts.LabelSelector, opts.FieldSelector)
	if opts.Limit > 0 {
		call += fmt.Sprintf(" limit=%d", opts.Limit)
	}
	if opts.Continue != "" {
		call += " continue=" + opts.Continue
	}
	c.record("%s", call)
	match, err := selectorFunc(res, ns, opts)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k, o := range c.objs {
		// The fake's continue token is the last key of the previous page.
		if strings.HasPrefix(k, res.Name+"/") && match(o) && (opts.Continue == "" || k > opts.Continue) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	list := &ObjectList{ResourceVersion: strconv.Itoa(c.rev)}
	if opts.Limit > 0 && int64(len(keys)) > opts.Limit {
		keys = keys[:opts.Limit]
		list.Continue = keys[len(keys)-1]
	}
	for _, k := range keys {
		list.Items = append(list.Items, proto.Clone(c.objs[k]).(apis.Object))
	}
	return list, nil
}

func selectorFunc(res *apis.Resource, ns string, opts ListOptions) (func(apis.Object) bool, error) {
	ls, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, errdefs.Invalid("%v", err)
	}
	fs, err := fields.Parse(opts.FieldSelector)
	if err != nil {
		return nil, errdefs.Invalid("%v", err)
	}
	if err := fields.Validate(res.Name, fs); err != nil {
		return nil, err
	}
	return func(o apis.Object) bool {
		return (ns == "" || o.GetMetadata().GetNamespace() == ns) && ls.Matches(o.GetMetadata().GetLabels()) && fs.Matches(o)
	}, nil
}

func (c *fakeClient) Update(_ context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	md := obj.GetMetadata()
	c.record("update %s %s/%s", res.Name, md.GetNamespace(), md.GetName())
	k := fakeKey(res, md.GetNamespace(), md.GetName())
	cur, ok := c.objs[k]
	if !ok {
		return nil, errdefs.NotFound("%s %q not found", res.Name, md.GetName())
	}
	if rv := md.GetResourceVersion(); rv != "" && rv != cur.GetMetadata().GetResourceVersion() {
		return nil, errdefs.Conflict("stale resourceVersion")
	}
	o := proto.Clone(obj).(apis.Object)
	c.rev++
	apis.Meta(o).ResourceVersion = strconv.Itoa(c.rev)
	c.objs[k] = o
	c.notify(EventModified, o)
	return proto.Clone(o).(apis.Object), nil
}

func (c *fakeClient) Delete(_ context.Context, res *apis.Resource, ns, name string, opts DeleteOptions) (apis.Object, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("delete %s %s/%s", res.Name, ns, name)
	c.deletes = append(c.deletes, opts)
	k := fakeKey(res, ns, name)
	o, ok := c.objs[k]
	if !ok {
		return nil, false, errdefs.NotFound("%s %q not found", res.Name, name)
	}
	grace := opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds > 0
	if pod, ok := o.(*v1.Pod); ok && c.graceful && grace && pod.GetSpec().GetNodeName() != "" {
		c.rev++
		md := apis.Meta(o)
		md.ResourceVersion = strconv.Itoa(c.rev)
		md.DeletionTimestamp = timestamppb.New(testNow)
		c.notify(EventModified, o)
		return proto.Clone(o).(apis.Object), false, nil
	}
	delete(c.objs, k)
	c.rev++
	apis.Meta(o).ResourceVersion = strconv.Itoa(c.rev)
	c.notify(EventDeleted, o)
	return proto.Clone(o).(apis.Object), true, nil
}

// finishDeletion removes an object whose deletion is graceful, as a
// kubelet would.
func (c *fakeClient) finishDeletion(res *apis.Resource, ns, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := fakeKey(res, ns, name)
	if o, ok := c.objs[k]; ok {
		delete(c.objs, k)
		c.rev++
		c.notify(EventDeleted, o)
	}
}

func (c *fakeClient) Watch(ctx context.Context, res *apis.Resource, ns string, opts ListOptions) (WatchStream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.record("watch %s %s rv=%s f=%s", res.Name, ns, opts.ResourceVersion, opts.FieldSelector)
	match, err := selectorFunc(res, ns, opts)
	if err != nil {
		return nil, err
	}
	w := &fakeWatch{ctx: ctx, ch: make(chan WatchEvent, 100), matches: func(o apis.Object) bool {
		r, err := apis.ForObject(o)
		return err == nil && r == res && match(o)
	}}
	c.watchers = append(c.watchers, w)
	return w, nil
}

type fakeWatch struct {
	ctx     context.Context
	ch      chan WatchEvent
	matches func(apis.Object) bool
}

func (w *fakeWatch) send(ev WatchEvent) {
	select {
	case w.ch <- ev:
	default:
	}
}

func (w *fakeWatch) Recv() (WatchEvent, error) {
	select {
	case <-w.ctx.Done():
		return WatchEvent{}, w.ctx.Err()
	case ev := <-w.ch:
		return ev, nil
	}
}

func (w *fakeWatch) Close() {}

// syncBuffer is a bytes.Buffer safe for a command writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what one command line printed.
type result struct {
	out, err string
	code     int
}

// testFactory builds a Factory on fc with the fixed clock.
func testFactory(fc *fakeClient, stdin string, out, errOut io.Writer) *Factory {
	return &Factory{
		In:        strings.NewReader(stdin),
		Out:       out,
		ErrOut:    errOut,
		Now:       func() time.Time { return testNow },
		NewClient: func(string) (Client, error) { return fc, nil },
		Sleep:     func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
}

// run runs one command line against fc.
func run(t *testing.T, fc *fakeClient, args ...string) result {
	t.Helper()
	return runStdin(t, fc, "", args...)
}

func runStdin(t *testing.T, fc *fakeClient, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), testFactory(fc, stdin, &out, &errOut), args)
	return result{out: out.String(), err: errOut.String(), code: code}
}

func mustLookup(t *testing.T, name string) *apis.Resource {
	t.Helper()
	r, err := apis.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
