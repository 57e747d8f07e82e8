package kubeadm

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
)

// clusterClient is what the phases that talk to the cluster need: the
// apiserver through pkg/client, or in a dry run a recorder that prints
// what would be written.
type clusterClient interface {
	Get(ctx context.Context, resource, namespace, name string) (apis.Object, error)
	Create(ctx context.Context, resource string, obj apis.Object) (apis.Object, error)
	Update(ctx context.Context, resource string, obj apis.Object) (apis.Object, error)
	Close() error
}

// apiClient is clusterClient over pkg/client.
type apiClient struct{ cs *client.Clientset }

func newAPIClient(kubeconfigPath string) (clusterClient, error) {
	cs, err := client.FromKubeconfig(kubeconfigPath)
	if err != nil {
		return nil, err
	}
	return &apiClient{cs: cs}, nil
}

func (a *apiClient) resource(name string) (*client.Resource[apis.Object], error) {
	r, err := apis.Lookup(name)
	if err != nil {
		return nil, err
	}
	return a.cs.ForResource(r), nil
}

func (a *apiClient) Get(ctx context.Context, resource, namespace, name string) (apis.Object, error) {
	r, err := a.resource(resource)
	if err != nil {
		return nil, err
	}
	return r.Get(ctx, namespace, name)
}

func (a *apiClient) Create(ctx context.Context, resource string, obj apis.Object) (apis.Object, error) {
	r, err := a.resource(resource)
	if err != nil {
		return nil, err
	}
	return r.Create(ctx, obj)
}

func (a *apiClient) Update(ctx context.Context, resource string, obj apis.Object) (apis.Object, error) {
	r, err := a.resource(resource)
	if err != nil {
		return nil, err
	}
	return r.Update(ctx, obj)
}

func (a *apiClient) Close() error { return a.cs.Close() }

// dryRunClient answers reads from what a dry run wrote and from a
// pretend cluster (the control-plane Node exists, so does kube-system),
// and prints every write instead of doing it.
type dryRunClient struct {
	d *InitData

	mu      sync.Mutex
	objects map[string]apis.Object
}

func dryRunKey(resource, namespace, name string) string {
	return resource + "/" + namespace + "/" + name
}

func (c *dryRunClient) Get(_ context.Context, resource, namespace, name string) (apis.Object, error) {
	res, err := apis.Lookup(resource)
	if err != nil {
		return nil, err
	}
	if !res.Namespaced {
		namespace = ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if obj, ok := c.objects[dryRunKey(res.Name, namespace, name)]; ok {
		return proto.Clone(obj).(apis.Object), nil
	}
	switch {
	case res.Name == "nodes" && name == c.d.NodeName:
		return &v1.Node{ApiVersion: "v1", Kind: "Node", Metadata: &v1.ObjectMeta{Name: name, ResourceVersion: "1"}, Spec: &v1.NodeSpec{}}, nil
	case res.Name == "namespaces":
		return &v1.Namespace{ApiVersion: "v1", Kind: "Namespace", Metadata: &v1.ObjectMeta{Name: name}}, nil
	}
	return nil, errdefs.NotFound("%s %q not found", res.Name, name)
}

func (c *dryRunClient) write(verb, resource string, obj apis.Object) (apis.Object, error) {
	res, err := apis.ForObject(obj)
	if err != nil {
		return nil, err
	}
	md := apis.Meta(obj)
	where := ""
	if res.Namespaced {
		where = fmt.Sprintf(" in the %q namespace", md.GetNamespace())
	}
	c.d.printf("[dryrun] Would %s %s %q%s", verb, res.Kind, md.GetName(), where)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.objects == nil {
		c.objects = map[string]apis.Object{}
	}
	ns := md.GetNamespace()
	if !res.Namespaced {
		ns = ""
	}
	c.objects[dryRunKey(res.Name, ns, md.GetName())] = proto.Clone(obj).(apis.Object)
	return obj, nil
}

func (c *dryRunClient) Create(_ context.Context, resource string, obj apis.Object) (apis.Object, error) {
	return c.write("create", resource, obj)
}

func (c *dryRunClient) Update(_ context.Context, resource string, obj apis.Object) (apis.Object, error) {
	return c.write("update", resource, obj)
}

func (c *dryRunClient) Close() error { return nil }

// clusterClient returns the client of the phases that talk to the
// cluster: admin.conf's identity, or the dry-run recorder.
func (d *InitData) clusterClient() (clusterClient, error) {
	if d.client != nil {
		return d.client, nil
	}
	if d.DryRun {
		d.client = &dryRunClient{d: d}
		return d.client, nil
	}
	c, err := d.env.newClient(d.adminKubeconfig())
	if err != nil {
		return nil, fmt.Errorf("client from %s: %w", d.adminKubeconfig(), err)
	}
	d.client = c
	return c, nil
}

func (d *InitData) closeClient() {
	if d.client != nil {
		_ = d.client.Close()
		d.client = nil
	}
}

// createOrUpdate creates obj, or replaces the existing object of the same
// name (redoing the read-modify-write when another writer came first).
// mutate, when not nil, merges what must be kept from the existing object.
func createOrUpdate(ctx context.Context, c clusterClient, resource string, obj apis.Object, mutate func(existing, obj apis.Object)) error {
	md := apis.Meta(obj)
	_, err := c.Create(ctx, resource, obj)
	if !errdefs.IsAlreadyExists(err) {
		return err
	}
	for attempt := 0; ; attempt++ {
		cur, err := c.Get(ctx, resource, md.GetNamespace(), md.GetName())
		if err != nil {
			return err
		}
		next := proto.Clone(obj).(apis.Object)
		if mutate != nil {
			mutate(cur, next)
		}
		apis.Meta(next).ResourceVersion = cur.GetMetadata().GetResourceVersion()
		_, err = c.Update(ctx, resource, next)
		if errdefs.IsConflict(err) && attempt < 10 {
			continue
		}
		return err
	}
}

// sortedKeys lists a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quoteList renders names as kubeadm prints lists: [a b c].
func quoteList(names []string) string { return "[" + strings.Join(names, " ") + "]" }
