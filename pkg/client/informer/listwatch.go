package informer

import (
	"context"

	"minik8s/pkg/apis"
	"minik8s/pkg/client"
)

// ListerWatcher is what an informer runs on: a list, and a watch from the
// list's resourceVersion, over the same namespace and selectors.
type ListerWatcher[T apis.Object] interface {
	// List returns the objects and the resourceVersion to watch from.
	List(ctx context.Context) ([]T, string, error)
	// Watch sends the changes strictly after resourceVersion. It should
	// send Bookmark events when it can.
	Watch(ctx context.Context, resourceVersion string) (Watch[T], error)
}

// Watch is an open watch (client.Watcher satisfies it).
type Watch[T apis.Object] interface {
	// Next blocks for the next event; io.EOF when the server ended the
	// watch cleanly, an errdefs Expired error when the version is gone.
	Next() (client.Event[T], error)
	Stop()
}

// NewListWatch narrows a Resource client to a namespace and selectors
// (opts.ResourceVersion and opts.Limit are ignored).
func NewListWatch[T apis.Object](r *client.Resource[T], opts client.ListOptions) ListerWatcher[T] {
	opts.ResourceVersion, opts.Limit = "", 0
	return listWatch[T]{r: r, opts: opts}
}

type listWatch[T apis.Object] struct {
	r    *client.Resource[T]
	opts client.ListOptions
}

func (lw listWatch[T]) List(ctx context.Context) ([]T, string, error) {
	return lw.r.List(ctx, lw.opts)
}

func (lw listWatch[T]) Watch(ctx context.Context, resourceVersion string) (Watch[T], error) {
	opts := lw.opts
	opts.ResourceVersion = resourceVersion
	opts.AllowBookmarks = true
	w, err := lw.r.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	return w, nil
}
