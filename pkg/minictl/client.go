package minictl

import (
	"context"

	"minik8s/pkg/apis"
)

// Client is what the verbs need from the API: the generic verbs over any
// kind. It is declared here, by its consumer, so that tests use a fake of a
// few lines; the real one adapts pkg/client (see wire.go).
type Client interface {
	Create(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error)
	Get(ctx context.Context, res *apis.Resource, namespace, name string) (apis.Object, error)
	// List lists namespace ("" for every namespace or a cluster-scoped kind).
	List(ctx context.Context, res *apis.Resource, namespace string, opts ListOptions) (*ObjectList, error)
	// Update replaces metadata and spec; obj's resourceVersion is the
	// precondition (a stale one fails with a Conflict error).
	Update(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error)
	// Delete deletes an object. finished is false while a graceful deletion
	// is in progress (the object still exists with deletionTimestamp set).
	Delete(ctx context.Context, res *apis.Resource, namespace, name string, opts DeleteOptions) (obj apis.Object, finished bool, err error)
	// Watch streams changes after opts.ResourceVersion (or the current state
	// as ADDED events first when it is empty) until ctx ends.
	Watch(ctx context.Context, res *apis.Resource, namespace string, opts ListOptions) (WatchStream, error)
}

// ListOptions select objects by label and field.
type ListOptions struct {
	LabelSelector   string
	FieldSelector   string
	ResourceVersion string
	// Limit makes the List answer one page of at most Limit objects (0:
	// all of them); Continue is the previous page's token.
	Limit    int64
	Continue string
}

// ObjectList is the result of a List.
type ObjectList struct {
	Items []apis.Object
	// ResourceVersion is the version to start a watch from.
	ResourceVersion string
	// Continue is the token of the next page; empty when this is the last.
	Continue string
}

// DeleteOptions shape a delete.
type DeleteOptions struct {
	// GracePeriodSeconds overrides the object's grace period; nil keeps it.
	GracePeriodSeconds *int64
	// PropagationPolicy is Orphan, Background or Foreground ("" = server default).
	PropagationPolicy string
}

// Watch event types, as Kubernetes names them.
const (
	EventAdded    = "ADDED"
	EventModified = "MODIFIED"
	EventDeleted  = "DELETED"
	EventBookmark = "BOOKMARK"
)

// WatchEvent is one change.
type WatchEvent struct {
	// Type is one of EventAdded, EventModified, EventDeleted, EventBookmark.
	Type   string
	Object apis.Object
	// ResourceVersion of the change.
	ResourceVersion string
}

// WatchStream delivers events one at a time.
type WatchStream interface {
	// Recv blocks for the next event; it returns an error when the stream
	// ends (io.EOF when the server closed it cleanly, ctx's error when the
	// context ended).
	Recv() (WatchEvent, error)
	// Close releases the stream.
	Close()
}
