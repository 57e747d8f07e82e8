package controller

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/labels"
)

// NewControllerRef is an owner reference to owner marking it as the
// managing controller (controller=true) whose foreground deletion waits
// for the dependent (blockOwnerDeletion=true).
func NewControllerRef(owner apis.Object) *v1.OwnerReference {
	yes, block := true, true
	ref := &v1.OwnerReference{
		Name:               owner.GetMetadata().GetName(),
		Uid:                owner.GetMetadata().GetUid(),
		Controller:         &yes,
		BlockOwnerDeletion: &block,
	}
	if r, err := apis.ForObject(owner); err == nil {
		ref.ApiVersion, ref.Kind = r.APIVersion, r.Kind
	}
	return ref
}

// GetControllerOf returns the owner reference of obj marked
// controller=true, or nil.
func GetControllerOf(obj apis.Object) *v1.OwnerReference {
	for _, ref := range obj.GetMetadata().GetOwnerReferences() {
		if ref.GetController() {
			return ref
		}
	}
	return nil
}

// IsControlledBy reports whether obj's controller is owner (by uid).
func IsControlledBy(obj, owner apis.Object) bool {
	ref := GetControllerOf(obj)
	return ref != nil && ref.GetUid() == owner.GetMetadata().GetUid()
}

// RefManager claims objects for an owner, as client-go's
// ControllerRefManager: it adopts orphans its selector matches and
// releases owned objects it no longer matches.
type RefManager[T apis.Object] struct {
	// Owner is the controller object (from the cache; not changed).
	Owner apis.Object
	// Selector picks the owner's objects.
	Selector labels.Selector
	// CanAdopt, optional, is called once before the first adoption; it
	// should re-read the owner from the apiserver and fail when the owner
	// is gone (another uid) or being deleted, so that a stale cache never
	// adopts for a dead owner.
	CanAdopt func(ctx context.Context) error
	// Update writes a changed object; it carries the resourceVersion the
	// object was read at, so a concurrent change fails with Conflict.
	Update func(ctx context.Context, obj T) (T, error)

	adoptChecked bool
	adoptErr     error
}

// Claim returns the objects the owner controls once orphans were adopted
// and owned objects that stopped matching were released. Errors of single
// objects are joined; the objects claimed so far are still returned.
func (m *RefManager[T]) Claim(ctx context.Context, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	for _, obj := range objs {
		got, ok, err := m.claim(ctx, obj)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			claimed = append(claimed, got)
		}
	}
	return claimed, errors.Join(errs...)
}

func (m *RefManager[T]) claim(ctx context.Context, obj T) (T, bool, error) {
	omd := m.Owner.GetMetadata()
	md := obj.GetMetadata()
	match := m.Selector.Matches(md.GetLabels())
	if ref := GetControllerOf(obj); ref != nil {
		if ref.GetUid() != omd.GetUid() {
			return obj, false, nil // someone else's
		}
		if match {
			return obj, true, nil
		}
		if omd.GetDeletionTimestamp() != nil {
			return obj, false, nil // a dying owner releases nothing
		}
		if err := m.release(ctx, obj); err != nil && !errdefs.IsNotFound(err) {
			return obj, false, err
		}
		return obj, false, nil
	}
	// An orphan.
	if !match || omd.GetDeletionTimestamp() != nil || md.GetDeletionTimestamp() != nil || md.GetNamespace() != omd.GetNamespace() {
		return obj, false, nil
	}
	adopted, err := m.adopt(ctx, obj)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return obj, false, nil
		}
		return obj, false, err
	}
	return adopted, true, nil
}

func (m *RefManager[T]) adopt(ctx context.Context, obj T) (T, error) {
	if !m.adoptChecked {
		m.adoptChecked = true
		if m.CanAdopt != nil {
			m.adoptErr = m.CanAdopt(ctx)
		}
	}
	if m.adoptErr != nil {
		var zero T
		return zero, fmt.Errorf("adopt %s: %w", apis.Key(obj), m.adoptErr)
	}
	next := proto.Clone(obj).(T)
	md := next.GetMetadata()
	md.OwnerReferences = append(md.OwnerReferences, NewControllerRef(m.Owner))
	out, err := m.Update(ctx, next)
	if err != nil {
		return out, fmt.Errorf("adopt %s: %w", apis.Key(obj), err)
	}
	return out, nil
}

func (m *RefManager[T]) release(ctx context.Context, obj T) error {
	next := proto.Clone(obj).(T)
	md := next.GetMetadata()
	uid := m.Owner.GetMetadata().GetUid()
	refs := md.OwnerReferences[:0:0]
	for _, ref := range md.GetOwnerReferences() {
		if ref.GetUid() != uid {
			refs = append(refs, ref)
		}
	}
	md.OwnerReferences = refs
	if _, err := m.Update(ctx, next); err != nil {
		return fmt.Errorf("release %s: %w", apis.Key(obj), err)
	}
	return nil
}

// RecheckOwner is a CanAdopt for owners read live by get: it fails when
// the owner is gone, replaced (another uid) or being deleted.
func RecheckOwner[T apis.Object](owner apis.Object, get func(ctx context.Context, namespace, name string) (T, error)) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		md := owner.GetMetadata()
		fresh, err := get(ctx, md.GetNamespace(), md.GetName())
		if err != nil {
			return fmt.Errorf("recheck owner %s: %w", apis.Key(owner), err)
		}
		if fresh.GetMetadata().GetUid() != md.GetUid() {
			return errdefs.Precondition("original %s is gone: got uid %s, wanted %s", apis.Key(owner), fresh.GetMetadata().GetUid(), md.GetUid())
		}
		if fresh.GetMetadata().GetDeletionTimestamp() != nil {
			return errdefs.Precondition("%s has just been deleted at %s", apis.Key(owner), fresh.GetMetadata().GetDeletionTimestamp().AsTime())
		}
		return nil
	}
}

// OwnerGetter reads owners of one kind from a cache; informer.Lister
// satisfies it.
type OwnerGetter[T apis.Object] interface {
	Get(namespace, name string) (T, error)
	ListByNamespace(namespace string) []T
}

// ResolveControllerRef returns the owner of kind that ref names in
// namespace when the cache holds that very object (same uid), else the
// zero value and false.
func ResolveControllerRef[T apis.Object](owners OwnerGetter[T], kind, namespace string, ref *v1.OwnerReference) (T, bool) {
	var zero T
	if ref.GetKind() != kind {
		return zero, false
	}
	o, err := owners.Get(namespace, ref.GetName())
	if err != nil || o.GetMetadata().GetUid() != ref.GetUid() {
		return zero, false
	}
	return o, true
}

// MatchingOwners are the owners in namespace whose selector (read by
// selectorOf) matches lbls: the candidates that may adopt an orphan. An
// owner with an empty or invalid selector adopts nothing.
func MatchingOwners[T apis.Object](owners OwnerGetter[T], namespace string, lbls map[string]string, selectorOf func(T) *v1.LabelSelector) []T {
	var out []T
	for _, o := range owners.ListByNamespace(namespace) {
		sel, err := labels.FromLabelSelector(selectorOf(o))
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(lbls) {
			out = append(out, o)
		}
	}
	return out
}
