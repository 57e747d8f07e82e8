package apiserver

import (
	"strconv"

	"google.golang.org/protobuf/types/known/anypb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apiserver/registry"
	"minik8s/pkg/storage"
)

func wireEventType(t storage.EventType) v1.EventType {
	switch t {
	case storage.Added:
		return v1.EventType_EVENT_TYPE_ADDED
	case storage.Modified:
		return v1.EventType_EVENT_TYPE_MODIFIED
	case storage.Deleted:
		return v1.EventType_EVENT_TYPE_DELETED
	case storage.Bookmark:
		return v1.EventType_EVENT_TYPE_BOOKMARK
	}
	return v1.EventType_EVENT_TYPE_UNSPECIFIED
}

// Watch streams the changes of a resource after a resourceVersion, each
// once and in order, served from the watch cache. With no
// resourceVersion ("" or "0") the current state goes first, as ADDED
// events. The cache's encoding of each event is put on the wire as it is:
// nothing is encoded per watcher. The stream ends when the client goes,
// when the server shuts down (cleanly: the client watches again from its
// last version), or with OutOfRange when the version can no longer be
// served.
func (a *apiService) Watch(req *v1.WatchRequest, stream v1.API_WatchServer) error {
	ctx := stream.Context()
	c := callFrom(ctx)
	k, err := kindOf(c)
	if err != nil {
		return err
	}
	if check := a.s.check(c); check != nil {
		if err := check(nil, nil); err != nil {
			return err
		}
	}
	rv, err := registry.ParseResourceVersion(req.GetResourceVersion())
	if err != nil {
		return err
	}
	opts := registry.ListOptions{Namespace: req.GetNamespace(), Filter: c.sel.filter(), ResourceVersion: rv}
	var initial []storage.Event
	if rv == 0 {
		// The current state first, then the changes after it.
		initial, opts.ResourceVersion, err = a.reg.ListEncoded(ctx, k, opts)
		if err != nil {
			return err
		}
	}
	w, err := a.reg.Watch(ctx, k, opts)
	if err != nil {
		return err
	}
	defer w.Stop()
	for i := range initial {
		ev := &initial[i]
		resp := &v1.WatchResponse{
			Type:            v1.EventType_EVENT_TYPE_ADDED,
			Object:          &anypb.Any{TypeUrl: k.TypeURL, Value: ev.Value},
			ResourceVersion: strconv.FormatInt(ev.Revision, 10),
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
	initial = nil
	bookmarks := req.GetAllowBookmarks()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return w.Err()
			}
			resp := &v1.WatchResponse{Type: wireEventType(ev.Type), ResourceVersion: strconv.FormatInt(ev.Revision, 10)}
			if ev.Type == storage.Bookmark {
				if !bookmarks {
					continue
				}
			} else {
				resp.Object = &anypb.Any{TypeUrl: k.TypeURL, Value: ev.Value}
			}
			if err := stream.Send(resp); err != nil {
				return err
			}
		case <-a.s.watchesDone:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}
