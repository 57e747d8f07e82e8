package client

import (
	"context"
	"fmt"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// ListOptions narrow a List or a Watch.
type ListOptions struct {
	// Namespace; empty means every namespace (and is the only choice for
	// cluster-scoped kinds).
	Namespace string
	// LabelSelector in Kubernetes syntax: "app=web,tier!=db,env in (a,b),!x".
	LabelSelector string
	// FieldSelector: "spec.nodeName=n1", "metadata.name=x", "status.phase!=Failed".
	FieldSelector string
	// ResourceVersion: for List, serve at least this fresh; for Watch, send
	// the changes strictly after it (empty: the current state as Added
	// events first).
	ResourceVersion string
	// Limit caps the number of items of a List (0: no limit). A List with
	// a limit is a page: ListPage returns the token of the next one.
	Limit int64
	// Continue is the token of the previous page (ListPage's Continue):
	// the List returns the next page, read at the revision of the first.
	// ResourceVersion must be empty (or "0") with it. A token too old to
	// serve fails with an errdefs.Expired error: list again from the start.
	Continue string
	// AllowBookmarks asks a Watch for Bookmark events, which only advance
	// the resourceVersion.
	AllowBookmarks bool
}

// Deletion propagation policies.
const (
	PropagationOrphan     = "Orphan"
	PropagationBackground = "Background"
	PropagationForeground = "Foreground"
)

// Preconditions must hold for a Delete to happen (Conflict otherwise).
type Preconditions struct {
	UID             string
	ResourceVersion string
}

// DeleteOptions tune a Delete.
type DeleteOptions struct {
	// GracePeriodSeconds overrides the pod's terminationGracePeriodSeconds;
	// 0 deletes at once. nil keeps the object's own.
	GracePeriodSeconds *int64
	// PropagationPolicy: PropagationOrphan, PropagationBackground (the
	// default when empty) or PropagationForeground.
	PropagationPolicy string
	// Preconditions, optional.
	Preconditions *Preconditions
}

// Resource is the client of one kind, typed by its Go message (*v1.Pod) or
// untyped (apis.Object, from ForResource). Objects it returns are fresh
// copies owned by the caller. Server errors are errdefs classes, returned as
// they come (their message already names the object).
type Resource[T apis.Object] struct {
	api      v1.APIClient
	lg       *zap.Logger
	res      *apis.Resource
	fullName protoreflect.FullName
}

func newResource[T apis.Object](api v1.APIClient, lg *zap.Logger, res *apis.Resource) *Resource[T] {
	return &Resource[T]{api: api, lg: lg, res: res, fullName: res.FullName()}
}

// Resource describes the kind this client serves.
func (r *Resource[T]) Resource() *apis.Resource { return r.res }

// decode unwraps an Any of this kind straight into a new object.
func (r *Resource[T]) decode(a *anypb.Any) (T, error) {
	var zero T
	if a == nil {
		return zero, fmt.Errorf("%s: the server sent no object", r.res.Name)
	}
	if got := a.MessageName(); got != r.fullName {
		return zero, fmt.Errorf("%s: the server sent a %s", r.res.Name, got)
	}
	obj := r.res.New()
	if err := proto.Unmarshal(a.GetValue(), obj); err != nil {
		return zero, fmt.Errorf("decode %s: %w", r.res.Kind, err)
	}
	t, ok := obj.(T)
	if !ok {
		return zero, fmt.Errorf("decode %s: %T is not the client's type", r.res.Kind, obj)
	}
	return t, nil
}

func (r *Resource[T]) encode(obj T) (*anypb.Any, error) {
	if obj.ProtoReflect().Descriptor().FullName() != r.fullName {
		return nil, errdefs.Invalid("a %s client cannot send a %s", r.res.Kind, obj.ProtoReflect().Descriptor().FullName())
	}
	return apis.ToAny(obj)
}

// Create creates obj and returns it as stored (uid, resourceVersion and
// defaults set). AlreadyExists when the name is taken.
func (r *Resource[T]) Create(ctx context.Context, obj T) (T, error) {
	return r.create(ctx, obj, false)
}

// CreateDryRun validates and defaults obj as Create would, without storing it.
func (r *Resource[T]) CreateDryRun(ctx context.Context, obj T) (T, error) {
	return r.create(ctx, obj, true)
}

func (r *Resource[T]) create(ctx context.Context, obj T, dryRun bool) (T, error) {
	var zero T
	a, err := r.encode(obj)
	if err != nil {
		return zero, err
	}
	resp, err := r.api.Create(ctx, &v1.CreateRequest{Resource: r.res.Name, Object: a, DryRun: dryRun})
	if err != nil {
		return zero, err
	}
	return r.decode(resp.GetObject())
}

// Get reads one object; namespace is empty for cluster-scoped kinds.
func (r *Resource[T]) Get(ctx context.Context, namespace, name string) (T, error) {
	var zero T
	resp, err := r.api.Get(ctx, &v1.GetRequest{Resource: r.res.Name, Namespace: namespace, Name: name})
	if err != nil {
		return zero, err
	}
	return r.decode(resp.GetObject())
}

// List returns the matching objects and the resourceVersion to start a
// Watch from to see every later change. With a Limit it returns one page
// only: use ListPage to learn whether more follow.
func (r *Resource[T]) List(ctx context.Context, opts ListOptions) ([]T, string, error) {
	p, err := r.ListPage(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return p.Items, p.ResourceVersion, nil
}

// Page is one answer of a List with a Limit.
type Page[T apis.Object] struct {
	Items []T
	// ResourceVersion is the version every page of the list is read at;
	// a Watch from it sees every later change.
	ResourceVersion string
	// Continue is the token of the next page (ListOptions.Continue);
	// empty on the last page.
	Continue string
	// RemainingItemCount is how many objects the later pages hold, when
	// the server knows (lists without selectors).
	RemainingItemCount *int64
}

// ListPage lists as List does and also returns the continue token of the
// next page. Paging through a list:
//
//	opts.Limit = 500
//	for {
//		p, err := pods.ListPage(ctx, opts)
//		...
//		if p.Continue == "" {
//			break
//		}
//		opts.Continue, opts.ResourceVersion = p.Continue, ""
//	}
func (r *Resource[T]) ListPage(ctx context.Context, opts ListOptions) (*Page[T], error) {
	resp, err := r.api.List(ctx, &v1.ListRequest{
		Resource:        r.res.Name,
		Namespace:       opts.Namespace,
		LabelSelector:   opts.LabelSelector,
		FieldSelector:   opts.FieldSelector,
		ResourceVersion: opts.ResourceVersion,
		Limit:           opts.Limit,
		Continue:        opts.Continue,
	})
	if err != nil {
		return nil, err
	}
	items := make([]T, 0, len(resp.GetItems()))
	for _, a := range resp.GetItems() {
		obj, err := r.decode(a)
		if err != nil {
			return nil, err
		}
		items = append(items, obj)
	}
	return &Page[T]{
		Items:              items,
		ResourceVersion:    resp.GetResourceVersion(),
		Continue:           resp.GetContinue(),
		RemainingItemCount: resp.RemainingItemCount,
	}, nil
}

// Update replaces metadata and spec of obj (status is ignored). A non-empty
// metadata.resourceVersion is a precondition: a stale one fails with
// Conflict, and the caller redoes its read-modify-write (RetryOnConflict).
func (r *Resource[T]) Update(ctx context.Context, obj T) (T, error) {
	return r.update(ctx, obj, false)
}

// UpdateDryRun validates an Update without storing it.
func (r *Resource[T]) UpdateDryRun(ctx context.Context, obj T) (T, error) {
	return r.update(ctx, obj, true)
}

func (r *Resource[T]) update(ctx context.Context, obj T, dryRun bool) (T, error) {
	var zero T
	a, err := r.encode(obj)
	if err != nil {
		return zero, err
	}
	resp, err := r.api.Update(ctx, &v1.UpdateRequest{Resource: r.res.Name, Object: a, DryRun: dryRun})
	if err != nil {
		return zero, err
	}
	return r.decode(resp.GetObject())
}

// UpdateStatus replaces the status of obj (spec is ignored), with the same
// resourceVersion precondition as Update.
func (r *Resource[T]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	var zero T
	a, err := r.encode(obj)
	if err != nil {
		return zero, err
	}
	resp, err := r.api.UpdateStatus(ctx, &v1.UpdateStatusRequest{Resource: r.res.Name, Object: a})
	if err != nil {
		return zero, err
	}
	return r.decode(resp.GetObject())
}

// Delete deletes an object. It returns the object as deleted and finished
// = true when it is gone from storage, or the object as it is now and
// finished = false when deletion is graceful (deletionTimestamp set, a
// kubelet or finalizer finishes it).
func (r *Resource[T]) Delete(ctx context.Context, namespace, name string, opts DeleteOptions) (T, bool, error) {
	var zero T
	req := &v1.DeleteRequest{
		Resource:           r.res.Name,
		Namespace:          namespace,
		Name:               name,
		GracePeriodSeconds: opts.GracePeriodSeconds,
		PropagationPolicy:  opts.PropagationPolicy,
	}
	if p := opts.Preconditions; p != nil {
		req.PreconditionUid = p.UID
		req.PreconditionResourceVersion = p.ResourceVersion
	}
	resp, err := r.api.Delete(ctx, req)
	if err != nil {
		return zero, false, err
	}
	if resp.GetObject() == nil {
		return zero, resp.GetFinished(), nil
	}
	obj, err := r.decode(resp.GetObject())
	if err != nil {
		return zero, false, err
	}
	return obj, resp.GetFinished(), nil
}

// Watch opens a watch. It lives until ctx ends or Stop; read it with Next.
func (r *Resource[T]) Watch(ctx context.Context, opts ListOptions) (*Watcher[T], error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := r.api.Watch(ctx, &v1.WatchRequest{
		Resource:        r.res.Name,
		Namespace:       opts.Namespace,
		LabelSelector:   opts.LabelSelector,
		FieldSelector:   opts.FieldSelector,
		ResourceVersion: opts.ResourceVersion,
		AllowBookmarks:  opts.AllowBookmarks,
	})
	if err != nil {
		cancel()
		return nil, err
	}
	r.lg.Debug("Watch opened", zap.String("resource", r.res.Name), zap.String("resourceVersion", opts.ResourceVersion))
	return &Watcher[T]{r: r, stream: stream, cancel: cancel}, nil
}
