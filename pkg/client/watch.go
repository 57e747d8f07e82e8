package client

import (
	"context"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

// EventType says what happened to an object in a watch.
type EventType int

// The event types of a watch.
const (
	Added EventType = iota + 1
	Modified
	Deleted
	// Bookmark carries only a ResourceVersion: every change up to it was sent.
	Bookmark
)

// String is the Kubernetes name of the type ("ADDED").
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
type Event[T apis.Object] struct {
	Type EventType
	// Object after the change; for Deleted its last state; the zero value
	// for Bookmark.
	Object T
	// ResourceVersion of the change: resume a watch from it.
	ResourceVersion string
}

// Watcher is an open watch. Next blocks for the next event; it is meant for
// one reading goroutine. Stop (or the end of the Watch's context) releases
// the stream.
type Watcher[T apis.Object] struct {
	r      *Resource[T]
	stream v1.API_WatchClient
	cancel context.CancelFunc
}

// Next returns the next event. It fails with io.EOF when the server ended
// the watch cleanly, with an errdefs Expired error when the resourceVersion
// can no longer be served (relist), and with a Canceled error after Stop or
// the end of the context. After an error the watch is over.
func (w *Watcher[T]) Next() (Event[T], error) {
	for {
		resp, err := w.stream.Recv()
		if err != nil {
			w.cancel()
			return Event[T]{}, err
		}
		ev := Event[T]{ResourceVersion: resp.GetResourceVersion()}
		switch resp.GetType() {
		case v1.EventType_EVENT_TYPE_BOOKMARK:
			ev.Type = Bookmark
			return ev, nil
		case v1.EventType_EVENT_TYPE_ADDED:
			ev.Type = Added
		case v1.EventType_EVENT_TYPE_MODIFIED:
			ev.Type = Modified
		case v1.EventType_EVENT_TYPE_DELETED:
			ev.Type = Deleted
		default:
			// A type this client does not know: skip it, as Kubernetes
			// clients skip unknown watch events.
			w.r.lg.Debug("Skipped watch event of unknown type")
			continue
		}
		obj, err := w.r.decode(resp.GetObject())
		if err != nil {
			w.cancel()
			return Event[T]{}, err
		}
		ev.Object = obj
		if ev.ResourceVersion == "" {
			ev.ResourceVersion = obj.GetMetadata().GetResourceVersion()
		}
		return ev, nil
	}
}

// Stop ends the watch; a Next in progress returns an error.
func (w *Watcher[T]) Stop() { w.cancel() }
