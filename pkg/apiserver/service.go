package apiserver

import (
	"context"
	"math"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apiserver/registry"
)

// apiService is the minik8s.v1.API service: a thin shim that decodes
// requests, hands them to the registry and encodes the answers. Errors are
// errdefs classes; the interceptors turn them into gRPC codes.
type apiService struct {
	v1.UnimplementedAPIServer
	s   *Server
	reg *registry.Registry
}

var _ v1.APIServer = (*apiService)(nil)

// kindOf is the kind the call names, or NotFound.
func kindOf(c *call) (*registry.Kind, error) {
	if c.kind == nil {
		return nil, errdefs.NotFound("the server doesn't have a resource type %q", c.resource)
	}
	return c.kind, nil
}

// decode unwraps a request's object and checks it is of the request's kind.
func decode(k *registry.Kind, a *anypb.Any) (apis.Object, error) {
	if a == nil {
		return nil, errdefs.Invalid("object: Required value")
	}
	obj, err := apis.FromAny(a)
	if err != nil {
		return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "decode object")
	}
	if got, want := obj.ProtoReflect().Descriptor().FullName(), k.Resource.FullName(); got != want {
		return nil, errdefs.Invalid("object of type %s sent to resource %q, which holds %s", got, k.Resource.Name, want)
	}
	return obj, nil
}

// encode wraps an object for the wire.
func encode(k *registry.Kind, obj apis.Object) (*anypb.Any, error) {
	b, err := proto.Marshal(obj)
	if err != nil {
		return nil, errdefs.Wrap(errdefs.ClassUnknown, err, "encode "+k.Resource.Name)
	}
	return &anypb.Any{TypeUrl: k.TypeURL, Value: b}, nil
}

// Create admits and stores a new object (registry.Create).
func (a *apiService) Create(ctx context.Context, req *v1.CreateRequest) (*v1.CreateResponse, error) {
	c := callFrom(ctx)
	k, err := kindOf(c)
	if err != nil {
		return nil, err
	}
	obj, err := decode(k, req.GetObject())
	if err != nil {
		return nil, err
	}
	_, data, err := a.reg.CreateEncoded(ctx, k, obj, registry.CreateOptions{DryRun: req.GetDryRun(), User: c.user, Check: a.s.check(c)})
	if err != nil {
		return nil, err
	}
	return &v1.CreateResponse{Object: &anypb.Any{TypeUrl: k.TypeURL, Value: data}}, nil
}

// Get reads one object.
func (a *apiService) Get(ctx context.Context, req *v1.GetRequest) (*v1.GetResponse, error) {
	c := callFrom(ctx)
	k, err := kindOf(c)
	if err != nil {
		return nil, err
	}
	obj, err := a.reg.Get(ctx, k, req.GetNamespace(), req.GetName())
	if check := a.s.check(c); check != nil {
		// The answer depends on the object; a missing object is refused
		// like a foreign one, so that existence does not leak.
		if err != nil && !errdefs.IsNotFound(err) {
			return nil, err
		}
		if cerr := check(obj, nil); cerr != nil {
			return nil, cerr
		}
	}
	if err != nil {
		return nil, err
	}
	wire, err := encode(k, obj)
	if err != nil {
		return nil, err
	}
	return &v1.GetResponse{Object: wire}, nil
}

// List returns the matching objects from the watch cache with the
// version to watch from. With a limit or a continue token the list is
// paged, as in Kubernetes: read from etcd at the revision of the first
// page, each answer carrying the token of the next.
func (a *apiService) List(ctx context.Context, req *v1.ListRequest) (*v1.ListResponse, error) {
	c := callFrom(ctx)
	k, err := kindOf(c)
	if err != nil {
		return nil, err
	}
	if check := a.s.check(c); check != nil {
		if err := check(nil, nil); err != nil {
			return nil, err
		}
	}
	rv, err := registry.ParseResourceVersion(req.GetResourceVersion())
	if err != nil {
		return nil, err
	}
	if req.GetLimit() < 0 {
		return nil, errdefs.Invalid("limit: Invalid value: %d: must be non-negative", req.GetLimit())
	}
	opts := registry.ListOptions{Namespace: req.GetNamespace(), Filter: c.sel.filter(), ResourceVersion: rv}
	if req.GetLimit() > 0 || req.GetContinue() != "" {
		return a.listPage(ctx, k, opts, req.GetLimit(), req.GetContinue())
	}
	items, rev, err := a.reg.ListEncoded(ctx, k, opts)
	if err != nil {
		return nil, err
	}
	resp := &v1.ListResponse{Items: make([]*anypb.Any, len(items)), ResourceVersion: strconv.FormatInt(rev, 10)}
	wire := make([]anypb.Any, len(items))
	for i := range items {
		wire[i].TypeUrl, wire[i].Value = k.TypeURL, items[i].Value
		resp.Items[i] = &wire[i]
	}
	return resp, nil
}

// listPage answers a paged list. A continue token without a limit reads
// the rest of the list, as Kubernetes does.
func (a *apiService) listPage(ctx context.Context, k *registry.Kind, opts registry.ListOptions, limit int64, continueToken string) (*v1.ListResponse, error) {
	if limit == 0 {
		limit = math.MaxInt64
	}
	page, err := a.reg.ListPage(ctx, k, opts, limit, continueToken)
	if err != nil {
		return nil, err
	}
	resp := &v1.ListResponse{
		Items:              make([]*anypb.Any, len(page.Items)),
		ResourceVersion:    strconv.FormatInt(page.Revision, 10),
		Continue:           page.Continue,
		RemainingItemCount: page.RemainingItemCount,
	}
	for i, obj := range page.Items {
		if resp.Items[i], err = encode(k, obj); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// Update replaces spec and user metadata; status is kept.
func (a *apiService) Update(ctx context.Context, req *v1.UpdateRequest) (*v1.UpdateResponse, error) {
	wire, err := a.write(ctx, req.GetObject(), func(c *call, k *registry.Kind, obj apis.Object) (apis.Object, error) {
		return a.reg.Update(ctx, k, obj, registry.UpdateOptions{DryRun: req.GetDryRun(), Check: a.s.check(c)})
	})
	if err != nil {
		return nil, err
	}
	return &v1.UpdateResponse{Object: wire}, nil
}

// UpdateStatus replaces status; spec and metadata are kept.
func (a *apiService) UpdateStatus(ctx context.Context, req *v1.UpdateStatusRequest) (*v1.UpdateStatusResponse, error) {
	wire, err := a.write(ctx, req.GetObject(), func(c *call, k *registry.Kind, obj apis.Object) (apis.Object, error) {
		return a.reg.UpdateStatus(ctx, k, obj, registry.UpdateOptions{Check: a.s.check(c)})
	})
	if err != nil {
		return nil, err
	}
	return &v1.UpdateStatusResponse{Object: wire}, nil
}

// write decodes the object of a write call, runs the registry verb and
// encodes the stored result.
func (a *apiService) write(ctx context.Context, in *anypb.Any, verb func(c *call, k *registry.Kind, obj apis.Object) (apis.Object, error)) (*anypb.Any, error) {
	c := callFrom(ctx)
	k, err := kindOf(c)
	if err != nil {
		return nil, err
	}
	obj, err := decode(k, in)
	if err != nil {
		return nil, err
	}
	out, err := verb(c, k, obj)
	if err != nil {
		return nil, err
	}
	return encode(k, out)
}

// Delete removes an object or starts its graceful deletion.
func (a *apiService) Delete(ctx context.Context, req *v1.DeleteRequest) (*v1.DeleteResponse, error) {
	c := callFrom(ctx)
	k, err := kindOf(c)
	if err != nil {
		return nil, err
	}
	out, finished, err := a.reg.Delete(ctx, k, req.GetNamespace(), req.GetName(), registry.DeleteOptions{
		GracePeriodSeconds:          req.GracePeriodSeconds,
		PropagationPolicy:           req.GetPropagationPolicy(),
		PreconditionUID:             req.GetPreconditionUid(),
		PreconditionResourceVersion: req.GetPreconditionResourceVersion(),
		Check:                       a.s.check(c),
	})
	if err != nil {
		return nil, err
	}
	wire, err := encode(k, out)
	if err != nil {
		return nil, err
	}
	return &v1.DeleteResponse{Object: wire, Finished: finished}, nil
}

// Bind assigns a pod to a node, once.
func (a *apiService) Bind(ctx context.Context, req *v1.BindRequest) (*v1.BindResponse, error) {
	c := callFrom(ctx)
	if req.GetBinding() == nil {
		return nil, errdefs.Invalid("binding: Required value")
	}
	pod, err := a.reg.Bind(ctx, req.GetBinding(), a.s.check(c))
	if err != nil {
		return nil, err
	}
	return &v1.BindResponse{Pod: pod}, nil
}
