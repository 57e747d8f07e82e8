package kubeadm

import (
	"context"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// fakeClock moves only when something sleeps.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

// fakeCluster is an in-memory apiserver for the phases: objects by
// resource/namespace/name with resourceVersions and optimistic concurrency.
// Nodes exist once registered (a test's kubelet registers with addNode);
// down makes every call fail with Unavailable, as a control plane that has
// not come up.
type fakeCluster struct {
	mu      sync.Mutex
	objects map[string]apis.Object
	rv      int
	down    int // calls that fail before the apiserver "comes up"
	// autoNodes registers any node that is asked for.
	autoNodes bool
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{objects: map[string]apis.Object{}, autoNodes: true}
}

func (f *fakeCluster) key(resource, namespace, name string) string {
	res, err := apis.Lookup(resource)
	if err == nil {
		resource = res.Name
		if !res.Namespaced {
			namespace = ""
		}
	}
	return resource + "/" + namespace + "/" + name
}

func (f *fakeCluster) unavailable() error {
	if f.down > 0 {
		f.down--
		return errdefs.Unavailable("connection refused")
	}
	return nil
}

func (f *fakeCluster) get(resource, namespace, name string) apis.Object {
	f.mu.Lock()
	defer f.mu.Unlock()
	obj := f.objects[f.key(resource, namespace, name)]
	if obj == nil {
		return nil
	}
	return proto.Clone(obj).(apis.Object)
}

func (f *fakeCluster) Get(_ context.Context, resource, namespace, name string) (apis.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return nil, err
	}
	if resource == "namespaces" {
		return &v1.Namespace{Metadata: &v1.ObjectMeta{Name: name}}, nil
	}
	k := f.key(resource, namespace, name)
	obj, ok := f.objects[k]
	if !ok && resource == "nodes" && f.autoNodes {
		f.rv++
		obj = &v1.Node{Metadata: &v1.ObjectMeta{Name: name, ResourceVersion: strconv.Itoa(f.rv)}, Spec: &v1.NodeSpec{}}
		f.objects[k] = obj
		ok = true
	}
	if !ok {
		return nil, errdefs.NotFound("%s %q not found", resource, name)
	}
	return proto.Clone(obj).(apis.Object), nil
}

func (f *fakeCluster) Create(_ context.Context, resource string, obj apis.Object) (apis.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return nil, err
	}
	md := apis.Meta(obj)
	k := f.key(resource, md.GetNamespace(), md.GetName())
	if _, ok := f.objects[k]; ok {
		return nil, errdefs.AlreadyExists("%s %q already exists", resource, md.GetName())
	}
	f.rv++
	obj = proto.Clone(obj).(apis.Object)
	apis.Meta(obj).ResourceVersion = strconv.Itoa(f.rv)
	f.objects[k] = obj
	return proto.Clone(obj).(apis.Object), nil
}

func (f *fakeCluster) Update(_ context.Context, resource string, obj apis.Object) (apis.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unavailable(); err != nil {
		return nil, err
	}
	md := apis.Meta(obj)
	k := f.key(resource, md.GetNamespace(), md.GetName())
	cur, ok := f.objects[k]
	if !ok {
		return nil, errdefs.NotFound("%s %q not found", resource, md.GetName())
	}
	if rv := md.GetResourceVersion(); rv != "" && rv != cur.GetMetadata().GetResourceVersion() {
		return nil, errdefs.Conflict("the object has been modified")
	}
	f.rv++
	obj = proto.Clone(obj).(apis.Object)
	apis.Meta(obj).ResourceVersion = strconv.Itoa(f.rv)
	f.objects[k] = obj
	return proto.Clone(obj).(apis.Object), nil
}

func (f *fakeCluster) Close() error { return nil }
