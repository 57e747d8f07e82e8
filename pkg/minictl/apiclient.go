package minictl

import (
	"context"
	"fmt"

	"minik8s/pkg/apis"
	"minik8s/pkg/client"
	"minik8s/pkg/pki/kubeconfig"
)

// apiClient adapts pkg/client's generic Resource client to Client. It
// embeds the Clientset, so verbs that need more than Client (logs, exec,
// CSR approval) reach its methods through ClientAs.
type apiClient struct {
	*client.Clientset
	cs *client.Clientset
}

var _ Client = (*apiClient)(nil)

// newAPIClient connects to the apiserver named by a kubeconfig file.
func newAPIClient(path string) (Client, error) {
	kc, err := kubeconfig.Load(path)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := kc.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	addr := kc.Address()
	if addr == "" {
		return nil, fmt.Errorf("kubeconfig %s: the current context has no usable server", path)
	}
	cs, err := client.New(client.Config{Address: addr, TLS: tlsCfg, Token: kc.Token(), UserAgent: "minictl/" + Version})
	if err != nil {
		return nil, err
	}
	return &apiClient{Clientset: cs, cs: cs}, nil
}

// Close closes the connection.
func (a *apiClient) Close() error { return a.cs.Close() }

func (a *apiClient) Create(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error) {
	return a.cs.ForResource(res).Create(ctx, obj)
}

func (a *apiClient) Get(ctx context.Context, res *apis.Resource, namespace, name string) (apis.Object, error) {
	return a.cs.ForResource(res).Get(ctx, namespace, name)
}

func (a *apiClient) List(ctx context.Context, res *apis.Resource, namespace string, opts ListOptions) (*ObjectList, error) {
	p, err := a.cs.ForResource(res).ListPage(ctx, client.ListOptions{
		Namespace:       namespace,
		LabelSelector:   opts.LabelSelector,
		FieldSelector:   opts.FieldSelector,
		ResourceVersion: opts.ResourceVersion,
		Limit:           opts.Limit,
		Continue:        opts.Continue,
	})
	if err != nil {
		return nil, err
	}
	return &ObjectList{Items: p.Items, ResourceVersion: p.ResourceVersion, Continue: p.Continue}, nil
}

func (a *apiClient) Update(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error) {
	return a.cs.ForResource(res).Update(ctx, obj)
}

func (a *apiClient) Delete(ctx context.Context, res *apis.Resource, namespace, name string, opts DeleteOptions) (apis.Object, bool, error) {
	return a.cs.ForResource(res).Delete(ctx, namespace, name, client.DeleteOptions{
		GracePeriodSeconds: opts.GracePeriodSeconds,
		PropagationPolicy:  opts.PropagationPolicy,
	})
}

func (a *apiClient) Watch(ctx context.Context, res *apis.Resource, namespace string, opts ListOptions) (WatchStream, error) {
	w, err := a.cs.ForResource(res).Watch(ctx, client.ListOptions{
		Namespace:       namespace,
		LabelSelector:   opts.LabelSelector,
		FieldSelector:   opts.FieldSelector,
		ResourceVersion: opts.ResourceVersion,
	})
	if err != nil {
		return nil, err
	}
	return apiWatch{w}, nil
}

type apiWatch struct{ w *client.Watcher[apis.Object] }

func (a apiWatch) Recv() (WatchEvent, error) {
	ev, err := a.w.Next()
	if err != nil {
		return WatchEvent{}, err
	}
	return WatchEvent{Type: ev.Type.String(), Object: ev.Object, ResourceVersion: ev.ResourceVersion}, nil
}

func (a apiWatch) Close() { a.w.Stop() }
