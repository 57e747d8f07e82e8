// Package storage keeps minik8s objects in etcd: protobuf values under
// /registry/<resource>/<namespace>/<name>, resourceVersion = etcd mod
// revision, optimistic concurrency through transactions, and a watch cache
// per resource (one etcd watch, many client watches). It knows nothing of
// gRPC services; errors are errdefs classes.
package storage

import (
	"context"

	"minik8s/pkg/apis"
)

// EventType says what happened to an object.
type EventType int

const (
	Added EventType = iota + 1
	Modified
	Deleted
	// Bookmark carries only a Revision: every change up to it was sent.
	Bookmark
)

func (t EventType) String() string {
	switch t {
	case Added:
		return "ADDED"
	case Modified:
		return "MODIFIED"
	case Deleted:
		return "DELETED"
	case Bookmark:
		return "BOOKMARK"
	}
	return "UNKNOWN"
}

// Event is one change of one object.
type Event struct {
	Type EventType
	// Key is the etcd key of the object.
	Key string
	// Object is the object after the change; for Deleted, its last state
	// with resourceVersion set to the revision of the delete. Shared by every
	// watcher: read-only.
	Object apis.Object
	// Value is Object's protobuf encoding (with the resourceVersion set), so
	// a server can put it on the wire without encoding it again. Read-only.
	Value []byte
	// Revision is the etcd revision of the change.
	Revision int64
}

// Watcher delivers events until Stop or until its context ends.
type Watcher interface {
	// ResultChan is closed when the watch ends; Err then says why
	// (nil after Stop, an errdefs.Expired error when the watcher fell too far
	// behind or the revision was compacted).
	ResultChan() <-chan Event
	Err() error
	Stop()
}

// PageOptions select one page of a paged list.
type PageOptions struct {
	// Limit is the most objects the page holds (> 0).
	Limit int64
	// Continue is the previous page's token; "" asks for the first page.
	Continue string
	// Revision is the revision to read the first page at exactly (0: the
	// current one, a consistent read), as Kubernetes reads a list with a
	// limit and a resourceVersion. Not allowed with Continue.
	Revision int64
}

// Page is one page of a paged list.
type Page struct {
	// Items are the page's objects, each with its resourceVersion.
	Items []apis.Object
	// Revision is the revision every page of the list is read at.
	Revision int64
	// Continue is the token of the next page; "" on the last page.
	Continue string
	// RemainingItemCount is how many objects the later pages hold; set
	// only with a Continue and without a filter (the store counts keys,
	// not matches), as Kubernetes' remainingItemCount.
	RemainingItemCount *int64
}

// UpdateFunc receives a private copy of the current object and returns the
// object to write, or an error to abort (returned as is).
type UpdateFunc func(current apis.Object) (apis.Object, error)

// Interface is the store the apiserver's registry works on. Keys are full
// etcd keys ("/registry/pods/default/web"); prefixes end in "/".
type Interface interface {
	// Create writes obj at key when key is absent (AlreadyExists otherwise)
	// and sets obj's resourceVersion to the revision of the write.
	Create(ctx context.Context, key string, obj apis.Object) error
	// Get reads key into out (NotFound when absent).
	Get(ctx context.Context, key string, out apis.Object) error
	// GuaranteedUpdate reads key, calls tryUpdate, and writes the result with
	// a compare on the mod revision it read, retrying the read-modify-write
	// when another writer came first. tryUpdate checks preconditions (a
	// stale resourceVersion -> errdefs.Conflict). out receives the stored
	// result with its new resourceVersion. NotFound when absent.
	GuaranteedUpdate(ctx context.Context, key string, out apis.Object, tryUpdate UpdateFunc) error
	// Delete removes key when check (may be nil) accepts the current object,
	// comparing on the revision it read; out (may be nil) receives the last
	// state with resourceVersion = the delete's revision.
	Delete(ctx context.Context, key string, out apis.Object, check func(current apis.Object) error) error
	// List returns every object under prefix and the revision of the read.
	// With minRevision > 0 the result is at least that fresh; with 0 it is
	// consistent (at least as fresh as etcd when the call began). A
	// minRevision the store cannot reach in time fails with
	// errdefs.ClassTimeout ("too large resource version"). Objects served
	// by a watch cache are shared with it: read-only, clone before changing.
	List(ctx context.Context, prefix string, minRevision int64, newObj func() apis.Object, filter func(apis.Object) bool) ([]apis.Object, int64, error)
	// ListPage returns one page of the objects under prefix that filter
	// (may be nil) accepts, in key order: at most opts.Limit of them and a
	// continue token for the rest. Every page of a list is read at the
	// revision of the first, so the pages together are one consistent
	// snapshot (Kubernetes' paged list). A token whose revision was
	// compacted fails with errdefs.Expired; a malformed one, or a token
	// together with a Revision, with errdefs.Invalid. Always served by the
	// store itself (a watch cache passes it through).
	ListPage(ctx context.Context, prefix string, opts PageOptions, newObj func() apis.Object, filter func(apis.Object) bool) (*Page, error)
	// Watch delivers every change under prefix strictly after revision, in
	// order, each once, filtered by filter (may be nil): an object that
	// starts matching arrives as Added, one that stops matching as Deleted
	// (with its new state), as in Kubernetes. revision 0 means
	// "from now". A compacted revision fails with errdefs.Expired. Bookmark
	// events (progress, no object) may come in between; a caller that has
	// no use for them drops them.
	Watch(ctx context.Context, prefix string, revision int64, filter func(apis.Object) bool) (Watcher, error)
}
