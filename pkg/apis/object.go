// Package apis describes the kinds minik8s serves: which Go message each
// resource name maps to, whether it lives in a namespace, its short names and
// its manifest apiVersion/kind. Its subpackages hold the object helpers
// (validation, defaulting, quantities, selectors, manifest decoding). It is a
// leaf: it imports nothing of ours but the generated API.
package apis

import (
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	v1 "minik8s/api/proto/minik8s/v1"
)

// Object is any top-level kind: a message with metadata.
type Object interface {
	proto.Message
	GetMetadata() *v1.ObjectMeta
}

// Resource describes one kind.
type Resource struct {
	// Name is the plural, lower-case resource name used on the wire ("pods").
	Name string
	// Singular is the lower-case singular ("pod").
	Singular string
	// Kind is the manifest kind ("Pod").
	Kind string
	// APIVersion is the manifest apiVersion ("v1", "apps/v1").
	APIVersion string
	// ShortNames as kubectl knows them ("po").
	ShortNames []string
	// Namespaced is false for cluster-scoped kinds (nodes, namespaces, csr).
	Namespaced bool
	// HasStatus is true when the kind has a status subresource.
	HasStatus bool
	// New returns an empty object of the kind.
	New func() Object
}

// FullName is the protobuf full name of the kind's message.
func (r *Resource) FullName() protoreflect.FullName {
	return r.New().ProtoReflect().Descriptor().FullName()
}

var resources = []*Resource{
	{Name: "pods", Singular: "pod", Kind: "Pod", APIVersion: "v1", ShortNames: []string{"po"}, Namespaced: true, HasStatus: true, New: func() Object { return &v1.Pod{} }},
	{Name: "nodes", Singular: "node", Kind: "Node", APIVersion: "v1", ShortNames: []string{"no"}, HasStatus: true, New: func() Object { return &v1.Node{} }},
	{Name: "namespaces", Singular: "namespace", Kind: "Namespace", APIVersion: "v1", ShortNames: []string{"ns"}, HasStatus: true, New: func() Object { return &v1.Namespace{} }},
	{Name: "configmaps", Singular: "configmap", Kind: "ConfigMap", APIVersion: "v1", ShortNames: []string{"cm"}, Namespaced: true, New: func() Object { return &v1.ConfigMap{} }},
	{Name: "secrets", Singular: "secret", Kind: "Secret", APIVersion: "v1", Namespaced: true, New: func() Object { return &v1.Secret{} }},
	{Name: "events", Singular: "event", Kind: "Event", APIVersion: "v1", ShortNames: []string{"ev"}, Namespaced: true, New: func() Object { return &v1.Event{} }},
	{Name: "leases", Singular: "lease", Kind: "Lease", APIVersion: "coordination.k8s.io/v1", Namespaced: true, New: func() Object { return &v1.Lease{} }},
	{Name: "replicasets", Singular: "replicaset", Kind: "ReplicaSet", APIVersion: "apps/v1", ShortNames: []string{"rs"}, Namespaced: true, HasStatus: true, New: func() Object { return &v1.ReplicaSet{} }},
	{Name: "deployments", Singular: "deployment", Kind: "Deployment", APIVersion: "apps/v1", ShortNames: []string{"deploy"}, Namespaced: true, HasStatus: true, New: func() Object { return &v1.Deployment{} }},
	{Name: "certificatesigningrequests", Singular: "certificatesigningrequest", Kind: "CertificateSigningRequest", APIVersion: "certificates.k8s.io/v1", ShortNames: []string{"csr"}, HasStatus: true, New: func() Object { return &v1.CertificateSigningRequest{} }},
}

// Read-only lookup tables built once from the literal above.
var byName, byKind, byFullName = index()

func index() (map[string]*Resource, map[string]*Resource, map[protoreflect.FullName]*Resource) {
	names := map[string]*Resource{}
	kinds := map[string]*Resource{}
	full := map[protoreflect.FullName]*Resource{}
	for _, r := range resources {
		names[r.Name] = r
		names[r.Singular] = r
		for _, s := range r.ShortNames {
			names[s] = r
		}
		kinds[r.Kind] = r
		full[r.FullName()] = r
	}
	return names, kinds, full
}

// Resources lists every kind, in a stable order.
func Resources() []*Resource { return append([]*Resource(nil), resources...) }

// Lookup finds a resource by plural, singular, short name or Kind, case
// insensitively ("pods", "pod", "po", "Pod", "deployments.apps").
func Lookup(name string) (*Resource, error) {
	n := strings.ToLower(name)
	if i := strings.IndexByte(n, '.'); i > 0 {
		n = n[:i]
	}
	if r, ok := byName[n]; ok {
		return r, nil
	}
	for _, r := range resources {
		if strings.EqualFold(r.Kind, name) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("the server doesn't have a resource type %q", name)
}

// ForKind finds the resource of a manifest's apiVersion and kind.
func ForKind(apiVersion, kind string) (*Resource, error) {
	r, ok := byKind[kind]
	if !ok {
		return nil, fmt.Errorf("no kind %q is registered (supported: %s)", kind, strings.Join(kinds(), ", "))
	}
	if apiVersion != r.APIVersion {
		return nil, fmt.Errorf("no kind %q is registered for version %q (use apiVersion: %s)", kind, apiVersion, r.APIVersion)
	}
	return r, nil
}

// ForObject finds the resource of a Go object.
func ForObject(obj proto.Message) (*Resource, error) {
	r, ok := byFullName[obj.ProtoReflect().Descriptor().FullName()]
	if !ok {
		return nil, fmt.Errorf("%s is not a kind", obj.ProtoReflect().Descriptor().FullName())
	}
	return r, nil
}

func kinds() []string {
	out := make([]string, 0, len(resources))
	for _, r := range resources {
		out = append(out, r.Kind)
	}
	sort.Strings(out)
	return out
}

// SetTypeMeta fills apiVersion and kind of obj from its resource.
func SetTypeMeta(obj Object) {
	r, err := ForObject(obj)
	if err != nil {
		return
	}
	m := obj.ProtoReflect()
	fields := m.Descriptor().Fields()
	if f := fields.ByName("api_version"); f != nil {
		m.Set(f, protoreflect.ValueOfString(r.APIVersion))
	}
	if f := fields.ByName("kind"); f != nil {
		m.Set(f, protoreflect.ValueOfString(r.Kind))
	}
}

// Meta returns obj's metadata, creating it when absent.
func Meta(obj Object) *v1.ObjectMeta {
	if md := obj.GetMetadata(); md != nil {
		return md
	}
	m := obj.ProtoReflect()
	f := m.Descriptor().Fields().ByName("metadata")
	md := &v1.ObjectMeta{}
	m.Set(f, protoreflect.ValueOfMessage(md.ProtoReflect()))
	return md
}

// Key is "namespace/name", or "name" for cluster-scoped objects: the key
// informers, workqueues and logs use.
func Key(obj Object) string {
	md := obj.GetMetadata()
	if md.GetNamespace() == "" {
		return md.GetName()
	}
	return md.GetNamespace() + "/" + md.GetName()
}

// SplitKey splits a Key.
func SplitKey(key string) (namespace, name string) {
	if i := strings.IndexByte(key, '/'); i >= 0 {
		return key[:i], key[i+1:]
	}
	return "", key
}

// ToAny wraps obj for the wire.
func ToAny(obj Object) (*anypb.Any, error) {
	a, err := anypb.New(obj)
	if err != nil {
		return nil, fmt.Errorf("wrap %s: %w", obj.ProtoReflect().Descriptor().FullName(), err)
	}
	return a, nil
}

// FromAny unwraps an object of a registered kind.
func FromAny(a *anypb.Any) (Object, error) {
	if a == nil {
		return nil, fmt.Errorf("no object")
	}
	r, ok := byFullName[a.MessageName()]
	if !ok {
		return nil, fmt.Errorf("object of type %q is not a kind", a.GetTypeUrl())
	}
	obj := r.New()
	if err := proto.Unmarshal(a.GetValue(), obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", r.Kind, err)
	}
	return obj, nil
}

// DefaultNamespaces are the namespaces that exist from the start.
func DefaultNamespaces() []string {
	return []string{"default", "kube-system", "kube-public", "kube-node-lease"}
}
