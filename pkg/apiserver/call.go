package apiserver

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/health/grpc_health_v1"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apiserver/authz"
	"minik8s/pkg/apiserver/registry"
)

// method describes an RPC for the interceptors.
type method struct {
	verb        string
	subresource string
	// resourceRequest: the call acts on a resource and is authorized by
	// the policy; other calls (health) need only authentication.
	resourceRequest bool
	// public calls are served without credentials (cluster-info discovery).
	public bool
	// kind of request for the in-flight gauge: readOnly, mutating,
	// longRunning; long-running calls are left out of the latency histogram.
	requestKind string
}

const (
	kindReadOnly    = "readOnly"
	kindMutating    = "mutating"
	kindLongRunning = "longRunning"
)

// methodTable maps every RPC the server knows to its description.
func methodTable() map[string]*method {
	res := func(verb, sub, kind string) *method {
		return &method{verb: verb, subresource: sub, resourceRequest: true, requestKind: kind}
	}
	return map[string]*method{
		v1.API_Create_FullMethodName:               res(authz.VerbCreate, "", kindMutating),
		v1.API_Get_FullMethodName:                  res(authz.VerbGet, "", kindReadOnly),
		v1.API_List_FullMethodName:                 res(authz.VerbList, "", kindReadOnly),
		v1.API_Update_FullMethodName:               res(authz.VerbUpdate, "", kindMutating),
		v1.API_UpdateStatus_FullMethodName:         res(authz.VerbUpdate, authz.SubStatus, kindMutating),
		v1.API_Delete_FullMethodName:               res(authz.VerbDelete, "", kindMutating),
		v1.API_Watch_FullMethodName:                res(authz.VerbWatch, "", kindLongRunning),
		v1.API_Bind_FullMethodName:                 res(authz.VerbCreate, authz.SubBinding, kindMutating),
		v1.API_UpdateApproval_FullMethodName:       res(authz.VerbUpdate, authz.SubApproval, kindMutating),
		v1.API_PodLogs_FullMethodName:              res(authz.VerbGet, authz.SubLog, kindLongRunning),
		v1.API_PodExec_FullMethodName:              res(authz.VerbCreate, authz.SubExec, kindLongRunning),
		v1.Discovery_GetClusterInfo_FullMethodName: {verb: authz.VerbGet, public: true, requestKind: kindReadOnly},
		grpc_health_v1.Health_Check_FullMethodName: {verb: authz.VerbGet, requestKind: kindReadOnly},
		grpc_health_v1.Health_List_FullMethodName:  {verb: authz.VerbList, requestKind: kindReadOnly},
		grpc_health_v1.Health_Watch_FullMethodName: {verb: authz.VerbWatch, requestKind: kindLongRunning},
	}
}

// unknownMethod describes RPCs missing from the table (gRPC answers them
// Unimplemented after authentication).
func unknownMethod() *method { return &method{verb: "other", requestKind: kindReadOnly} }

// call is what the interceptors learn about one RPC; the handler reads it
// back from the context. One per RPC, written by the goroutine serving it.
type call struct {
	m         *method
	kind      *registry.Kind // nil when the resource is unknown
	resource  string         // the kind's plural, or what the request said
	namespace string
	name      string
	user      *authz.User
	decision  authz.Decision
	sel       *selection // list and watch
}

type callKey struct{}

func withCall(ctx context.Context, c *call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// callFrom returns the RPC's call record; a handler reached without the
// interceptors (never in a server built by New) gets an empty one that no
// policy allows.
func callFrom(ctx context.Context) *call {
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		return c
	}
	return &call{m: unknownMethod()}
}

func (s *Server) newCall(fullMethod string) *call {
	m, ok := s.methods[fullMethod]
	if !ok {
		m = s.unknownMethod
	}
	return &call{m: m}
}

// describe fills in what the request names: resource, namespace, name.
// Objects inside Create and Update are decoded later, by the handler.
func (s *Server) describe(c *call, req any) {
	var resource string
	switch r := req.(type) {
	case *v1.CreateRequest:
		resource = r.GetResource()
	case *v1.GetRequest:
		resource, c.namespace, c.name = r.GetResource(), r.GetNamespace(), r.GetName()
	case *v1.ListRequest:
		resource, c.namespace = r.GetResource(), r.GetNamespace()
	case *v1.UpdateRequest:
		resource = r.GetResource()
	case *v1.UpdateStatusRequest:
		resource = r.GetResource()
	case *v1.DeleteRequest:
		resource, c.namespace, c.name = r.GetResource(), r.GetNamespace(), r.GetName()
	case *v1.WatchRequest:
		resource, c.namespace = r.GetResource(), r.GetNamespace()
	case *v1.BindRequest:
		md := r.GetBinding().GetMetadata()
		resource, c.namespace, c.name = "pods", md.GetNamespace(), md.GetName()
	case *v1.UpdateApprovalRequest:
		resource, c.name = "certificatesigningrequests", r.GetName()
	case *v1.PodLogsRequest:
		resource, c.namespace, c.name = "pods", r.GetNamespace(), r.GetName()
	case *v1.PodExecRequest:
		st := r.GetStart()
		resource, c.namespace, c.name = "pods", st.GetNamespace(), st.GetName()
	case *v1.GetClusterInfoRequest:
		resource, c.namespace, c.name = "configmaps", clusterInfoNamespace, clusterInfoName
	default:
		return
	}
	k, err := s.api.reg.Kind(resource)
	if err != nil {
		c.resource = resource
		return
	}
	c.kind, c.resource = k, k.Resource.Name
	switch {
	case !k.Resource.Namespaced:
		c.namespace = ""
	case c.namespace == "" && c.name != "":
		c.namespace = "default"
	}
}

// metricResource is the resource label: only known kinds, so that a
// client cannot grow the label set.
func (c *call) metricResource() string {
	if c.kind != nil {
		return c.resource
	}
	if c.resource == "" {
		return ""
	}
	return "unknown"
}

func (c *call) attributes() authz.Attributes {
	a := authz.Attributes{
		User:        c.user,
		Verb:        c.m.verb,
		Resource:    c.resource,
		Subresource: c.m.subresource,
		Namespace:   c.namespace,
		Name:        c.name,
	}
	if c.sel != nil && c.sel.hasFields {
		a.Fields = c.sel.fields
	}
	return a
}

// authorize is the policy check of the authorization interceptor, on what
// the request names.
func (s *Server) authorize(c *call, req any) error {
	if !c.m.resourceRequest {
		return nil
	}
	switch r := req.(type) {
	case *v1.ListRequest:
		sel, err := parseSelection(c.resource, r.GetLabelSelector(), r.GetFieldSelector())
		if err != nil {
			return err
		}
		c.sel = sel
	case *v1.WatchRequest:
		sel, err := parseSelection(c.resource, r.GetLabelSelector(), r.GetFieldSelector())
		if err != nil {
			return err
		}
		c.sel = sel
	}
	a := c.attributes()
	c.decision = authz.Authorize(&a)
	if c.decision == authz.Deny {
		return forbidden(&a)
	}
	return nil
}

// check is the object-level authorization the registry runs, on the
// stored object and the one being written; nil when the policy already
// allowed the request as named.
func (s *Server) check(c *call) registry.Check {
	if c.decision == authz.Allow {
		return nil
	}
	return func(current, next apis.Object) error {
		a := c.attributes()
		a.Complete, a.Object, a.NewObject = true, current, next
		a.Pods = podIndex{s: s}
		for _, o := range []apis.Object{next, current} {
			if o == nil {
				continue
			}
			md := o.GetMetadata()
			if a.Name == "" {
				a.Name = md.GetName()
			}
			if a.Namespace == "" {
				a.Namespace = md.GetNamespace()
			}
		}
		if authz.Authorize(&a) == authz.Allow {
			return nil
		}
		return forbidden(&a)
	}
}

// forbidden is Kubernetes' wording of a refusal.
func forbidden(a *authz.Attributes) error {
	var b strings.Builder
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	if a.Name != "" {
		fmt.Fprintf(&b, "%s %q is forbidden: ", res, a.Name)
	} else {
		fmt.Fprintf(&b, "%s is forbidden: ", res)
	}
	user := "system:anonymous"
	if a.User != nil {
		user = a.User.Name
	}
	fmt.Fprintf(&b, "User %q cannot %s resource %q", user, a.Verb, res)
	if a.Namespace != "" {
		fmt.Fprintf(&b, " in the namespace %q", a.Namespace)
	} else {
		b.WriteString(" at the cluster scope")
	}
	return errdefs.Forbidden("%s", b.String())
}
