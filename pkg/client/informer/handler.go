package informer

import "minik8s/pkg/apis"

// ResourceEventHandler receives an informer's notifications, one at a time
// and in order. It must return quickly (enqueue a key, do the work
// elsewhere) and must not change the objects it is given.
type ResourceEventHandler[T apis.Object] interface {
	// OnAdd: obj appeared; isInInitialList when it came with the first
	// list (or, for a handler added later, with the replay of the cache).
	OnAdd(obj T, isInInitialList bool)
	// OnUpdate: obj changed from oldObj to newObj; also called with
	// oldObj == newObj on every resync.
	OnUpdate(oldObj, newObj T)
	// OnDelete: obj is gone. obj is a T (its last state), or a
	// DeletedFinalStateUnknown[T] when the informer missed the delete and
	// noticed it in a relist. DeletedObject and KeyOf unwrap both.
	OnDelete(obj any)
}

// DeletedFinalStateUnknown is what OnDelete receives when a delete was
// missed (the object was gone from a relist): Obj is the last state the
// cache had, possibly stale.
type DeletedFinalStateUnknown[T apis.Object] struct {
	Key string
	Obj T
}

// TombstoneKey is the key of the deleted object.
func (d DeletedFinalStateUnknown[T]) TombstoneKey() string { return d.Key }

// DeletedObject unwraps what OnDelete receives.
func DeletedObject[T apis.Object](obj any) (T, bool) {
	switch o := obj.(type) {
	case T:
		return o, true
	case DeletedFinalStateUnknown[T]:
		return o.Obj, true
	}
	var zero T
	return zero, false
}

// KeyOf is the key (apis.Key) of an object or of a tombstone; "" for
// anything else.
func KeyOf(obj any) string {
	switch o := obj.(type) {
	case interface{ TombstoneKey() string }:
		return o.TombstoneKey()
	case apis.Object:
		return apis.Key(o)
	}
	return ""
}

// HandlerFuncs adapts functions to a ResourceEventHandler; nil ones are
// skipped.
type HandlerFuncs[T apis.Object] struct {
	AddFunc    func(obj T)
	UpdateFunc func(oldObj, newObj T)
	DeleteFunc func(obj any)
}

// OnAdd implements ResourceEventHandler.
func (h HandlerFuncs[T]) OnAdd(obj T, _ bool) {
	if h.AddFunc != nil {
		h.AddFunc(obj)
	}
}

// OnUpdate implements ResourceEventHandler.
func (h HandlerFuncs[T]) OnUpdate(oldObj, newObj T) {
	if h.UpdateFunc != nil {
		h.UpdateFunc(oldObj, newObj)
	}
}

// OnDelete implements ResourceEventHandler.
func (h HandlerFuncs[T]) OnDelete(obj any) {
	if h.DeleteFunc != nil {
		h.DeleteFunc(obj)
	}
}

// FilteringHandler passes on only objects Filter accepts, turning an update
// that crosses the filter into an add or a delete (the scheduler's
// "unassigned pods" and "assigned pods" views of one pod informer).
type FilteringHandler[T apis.Object] struct {
	Filter  func(obj T) bool
	Handler ResourceEventHandler[T]
}

// OnAdd implements ResourceEventHandler.
func (f FilteringHandler[T]) OnAdd(obj T, isInInitialList bool) {
	if f.Filter(obj) {
		f.Handler.OnAdd(obj, isInInitialList)
	}
}

// OnUpdate implements ResourceEventHandler.
func (f FilteringHandler[T]) OnUpdate(oldObj, newObj T) {
	was, is := f.Filter(oldObj), f.Filter(newObj)
	switch {
	case was && is:
		f.Handler.OnUpdate(oldObj, newObj)
	case !was && is:
		f.Handler.OnAdd(newObj, false)
	case was && !is:
		f.Handler.OnDelete(oldObj)
	}
}

// OnDelete implements ResourceEventHandler.
func (f FilteringHandler[T]) OnDelete(obj any) {
	o, ok := DeletedObject[T](obj)
	if ok && f.Filter(o) {
		f.Handler.OnDelete(obj)
	}
}
