package informer

import (
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/labels"
)

// Lister reads a Store by namespace, name and labels. What it returns is
// shared with the cache: read-only.
type Lister[T apis.Object] struct {
	store *Store[T]
}

// NewLister is a Lister over store.
func NewLister[T apis.Object](store *Store[T]) Lister[T] { return Lister[T]{store: store} }

// Get returns the object namespace/name (namespace empty for cluster-scoped
// kinds), or an errdefs NotFound error.
func (l Lister[T]) Get(namespace, name string) (T, error) {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	obj, ok := l.store.Get(key)
	if !ok {
		return obj, errdefs.NotFound("%q not found in the cache", key)
	}
	return obj, nil
}

// List returns every object.
func (l Lister[T]) List() []T { return l.store.List() }

// ListByNamespace returns the objects of one namespace.
func (l Lister[T]) ListByNamespace(namespace string) []T {
	out, _ := l.store.ByIndex(NamespaceIndex, namespace)
	return out
}

// ListBySelector returns the objects whose labels sel matches.
func (l Lister[T]) ListBySelector(sel labels.Selector) []T {
	return filter(l.store.List(), sel)
}

// ListByNamespaceAndSelector returns the objects of one namespace whose
// labels sel matches.
func (l Lister[T]) ListByNamespaceAndSelector(namespace string, sel labels.Selector) []T {
	return filter(l.ListByNamespace(namespace), sel)
}

func filter[T apis.Object](objs []T, sel labels.Selector) []T {
	if sel == nil || sel.Empty() {
		return objs
	}
	out := objs[:0:0]
	for _, obj := range objs {
		if sel.Matches(obj.GetMetadata().GetLabels()) {
			out = append(out, obj)
		}
	}
	return out
}
