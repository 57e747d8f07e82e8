// Package authz is the apiserver's authorization policy: a small fixed set of
// rules in code deciding what each identity may do. It is the ONE place the
// policy lives; the gRPC layer and the registry both ask it.
//
// A request is first checked with what the request names (verb, resource,
// namespace, name); rules that depend on the object (a pod bound to the
// asking node, a mirror pod, the namespace of a created object) answer
// NeedObject, and the registry asks again, Complete, once it holds the
// stored object and the new one.
package authz

import (
	"strings"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

// Well-known users and groups.
const (
	GroupMasters         = "system:masters"
	GroupNodes           = "system:nodes"
	GroupBootstrappers   = "system:bootstrappers"
	GroupAuthenticated   = "system:authenticated"
	GroupUnauthenticated = "system:unauthenticated"
	UserScheduler        = "system:kube-scheduler"
	UserControllerMgr    = "system:kube-controller-manager"
	UserAnonymous        = "system:anonymous"
	NodeUserPrefix       = "system:node:"
	BootstrapUserPrefix  = "system:bootstrap:"
)

// Verbs as Kubernetes' RBAC names them.
const (
	VerbCreate = "create"
	VerbGet    = "get"
	VerbList   = "list"
	VerbWatch  = "watch"
	VerbUpdate = "update"
	VerbDelete = "delete"
)

// Subresources.
const (
	SubStatus   = "status"
	SubBinding  = "binding"
	SubApproval = "approval"
	SubLog      = "log"
	SubExec     = "exec"
)

// MirrorPodAnnotation marks a pod the kubelet created for a static pod.
const MirrorPodAnnotation = "kubernetes.io/config.mirror"

// Well-known namespaces the policy names.
const (
	nsKubeSystem    = "kube-system"
	nsKubeNodeLease = "kube-node-lease"
)

// Decision is the policy's answer.
type Decision int

const (
	// Deny refuses the request (PermissionDenied).
	Deny Decision = iota
	// Allow lets the request through.
	Allow
	// NeedObject means the answer depends on what only the registry knows:
	// ask again with Complete set and the objects filled in.
	NeedObject
)

// String names the decision.
func (d Decision) String() string {
	switch d {
	case Allow:
		return "allow"
	case NeedObject:
		return "needObject"
	}
	return "deny"
}

// FieldMatcher tells which value a field selector requires for a field
// (pkg/apis/fields.Selector implements it).
type FieldMatcher interface {
	RequiresExactMatch(field string) (string, bool)
}

// PodIndex answers what the policy needs to know about pods besides the
// request itself: a node may read a ConfigMap only while a pod bound to it
// mounts it, as Kubernetes' node authorizer allows.
type PodIndex interface {
	// NodeMountsConfigMap reports whether a pod bound to node has a
	// configMap volume of the ConfigMap namespace/name.
	NodeMountsConfigMap(node, namespace, name string) bool
}

// User is an authenticated identity.
type User struct {
	Name   string
	Groups []string
}

// InGroup reports whether u is a member of g.
func (u *User) InGroup(g string) bool {
	for _, x := range u.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// Attributes describe one request.
type Attributes struct {
	User        *User
	Verb        string
	Resource    string
	Subresource string
	// Namespace and Name as the request names them (empty when it does not).
	Namespace string
	Name      string
	// Fields is the request's field selector (list and watch), may be nil.
	Fields FieldMatcher
	// Complete is set when the registry asks: Namespace is final and Object
	// and NewObject are filled in as far as they exist.
	Complete bool
	// Object is the stored object the verb acts on (get, update, delete,
	// bind); nil when it does not exist.
	Object apis.Object
	// NewObject is the object being written (create, update).
	NewObject apis.Object
	// Pods answers questions about pods (set when Complete); nil knows
	// nothing, and what depends on it is denied.
	Pods PodIndex
}

// Authorize decides a request. It is a pure function of its attributes.
func Authorize(a *Attributes) Decision {
	u := a.User
	if u == nil {
		return Deny
	}
	switch {
	case u.InGroup(GroupMasters):
		return Allow
	case u.Name == UserScheduler:
		return scheduler(a)
	case u.Name == UserControllerMgr:
		return controllerManager(a)
	case u.InGroup(GroupNodes) && strings.HasPrefix(u.Name, NodeUserPrefix):
		return node(a, strings.TrimPrefix(u.Name, NodeUserPrefix))
	case u.InGroup(GroupBootstrappers):
		return bootstrapper(a)
	}
	return Deny
}

func allowIf(ok bool) Decision {
	if ok {
		return Allow
	}
	return Deny
}

func isRead(verb string) bool {
	return verb == VerbGet || verb == VerbList || verb == VerbWatch
}

// namespaceIs allows when the (final) namespace is ns; before the registry
// has decoded a created object, an empty namespace is not final yet.
func namespaceIs(a *Attributes, ns string) Decision {
	if a.Namespace == "" && !a.Complete {
		return NeedObject
	}
	return allowIf(a.Namespace == ns)
}

// scheduler: read pods, nodes and namespaces; bind pods; write pod status
// (the PodScheduled=False condition); write events; its leader-election
// Lease in kube-system.
func scheduler(a *Attributes) Decision {
	switch a.Resource {
	case "pods":
		switch a.Subresource {
		case "":
			return allowIf(isRead(a.Verb))
		case SubBinding:
			return allowIf(a.Verb == VerbCreate)
		case SubStatus:
			return allowIf(a.Verb == VerbUpdate || a.Verb == VerbGet)
		}
	case "nodes", "namespaces":
		return allowIf(a.Subresource == "" && isRead(a.Verb))
	case "events":
		return allowIf(a.Subresource == "" && (a.Verb == VerbCreate || a.Verb == VerbUpdate || isRead(a.Verb)))
	case "leases":
		if a.Subresource == "" && (a.Verb == VerbGet || a.Verb == VerbCreate || a.Verb == VerbUpdate) {
			return namespaceIs(a, nsKubeSystem)
		}
	}
	return Deny
}

// controllerManager: everything on the workloads it runs and the objects
// its controllers (node lifecycle, ipam, replicaset, deployment, garbage
// collector, leader election, CSR approval) touch. The namespace
// controller reads and deletes the content of a Terminating namespace
// (every namespaced kind) and finalizes the namespace: an update of a
// namespace only while it is being deleted (Kubernetes' namespaces/finalize).
func controllerManager(a *Attributes) Decision {
	switch a.Resource {
	case "pods", "replicasets", "deployments", "events", "leases":
		return allowIf(a.Subresource == "" || a.Subresource == SubStatus)
	case "configmaps", "secrets":
		return allowIf(a.Subresource == "" && (a.Verb == VerbGet || a.Verb == VerbList || a.Verb == VerbDelete))
	case "nodes":
		if a.Subresource == "" {
			return allowIf(isRead(a.Verb) || a.Verb == VerbUpdate || a.Verb == VerbDelete)
		}
		return allowIf(a.Subresource == SubStatus && (a.Verb == VerbUpdate || a.Verb == VerbGet))
	case "namespaces":
		switch {
		case a.Subresource != "":
			return Deny
		case isRead(a.Verb):
			return Allow
		case a.Verb == VerbUpdate:
			return beingDeleted(a)
		}
	case "certificatesigningrequests":
		switch a.Subresource {
		case "":
			return allowIf(isRead(a.Verb))
		case SubApproval:
			return allowIf(a.Verb == VerbUpdate)
		}
	}
	return Deny
}

// beingDeleted allows when the stored object has a deletionTimestamp.
func beingDeleted(a *Attributes) Decision {
	if !a.Complete {
		return NeedObject
	}
	return allowIf(a.Object != nil && a.Object.GetMetadata().GetDeletionTimestamp() != nil)
}

// node is the NodeRestriction rule: a node reads what it needs (the
// ConfigMaps its pods mount) and writes only its own Node and Lease, the
// status of pods bound to it, and mirror pods for itself.
func node(a *Attributes, self string) Decision {
	switch a.Resource {
	case "configmaps":
		return nodeConfigMaps(a, self)
	case "nodes":
		return nodeNodes(a, self)
	case "leases":
		if a.Subresource != "" {
			return Deny
		}
		switch a.Verb {
		case VerbGet, VerbCreate, VerbUpdate, VerbDelete:
			if d := namespaceIs(a, nsKubeNodeLease); d != Allow {
				return d
			}
			return nameIs(a, self)
		}
	case "pods":
		return nodePods(a, self)
	case "events":
		return allowIf(a.Subresource == "" && (a.Verb == VerbCreate || a.Verb == VerbUpdate))
	case "certificatesigningrequests":
		return csrOwn(a)
	}
	return Deny
}

// nameIs allows when the object is named name: the request's name, or the
// new object's when the request names none (create).
func nameIs(a *Attributes, name string) Decision {
	if a.Name != "" {
		return allowIf(a.Name == name)
	}
	if !a.Complete {
		return NeedObject
	}
	return allowIf(a.NewObject != nil && a.NewObject.GetMetadata().GetName() == name)
}

func nodeNodes(a *Attributes, self string) Decision {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case VerbGet, VerbList, VerbWatch:
			return Allow
		case VerbCreate, VerbUpdate:
			return nameIs(a, self)
		}
	case SubStatus:
		if a.Verb == VerbUpdate || a.Verb == VerbGet {
			return nameIs(a, self)
		}
	}
	return Deny
}

// boundTo reports whether a pod object is bound to node.
func boundTo(obj apis.Object, node string) bool {
	p, ok := obj.(*v1.Pod)
	return ok && p != nil && p.GetSpec().GetNodeName() == node
}

func nodePods(a *Attributes, self string) Decision {
	switch a.Subresource {
	case "":
		switch a.Verb {
		case VerbList, VerbWatch:
			// Only the pods bound to it: the request must say so.
			if a.Fields == nil {
				return allowIf(false)
			}
			n, ok := a.Fields.RequiresExactMatch("spec.nodeName")
			return allowIf(ok && n == self)
		case VerbGet, VerbDelete:
			if !a.Complete {
				return NeedObject
			}
			return allowIf(boundTo(a.Object, self))
		case VerbCreate:
			// Mirror pods of its static pods, bound to itself.
			if !a.Complete {
				return NeedObject
			}
			p, ok := a.NewObject.(*v1.Pod)
			if !ok || p == nil || !boundTo(p, self) {
				return Deny
			}
			_, mirror := p.GetMetadata().GetAnnotations()[MirrorPodAnnotation]
			return allowIf(mirror)
		}
	case SubStatus:
		if a.Verb == VerbUpdate || a.Verb == VerbGet {
			if !a.Complete {
				return NeedObject
			}
			return allowIf(boundTo(a.Object, self))
		}
	}
	return Deny
}

// nodeConfigMaps lets a node get a ConfigMap that a pod bound to it mounts
// as a volume; nothing else (no list or watch, no writes).
func nodeConfigMaps(a *Attributes, self string) Decision {
	if a.Subresource != "" || a.Verb != VerbGet || a.Name == "" {
		return Deny
	}
	if !a.Complete {
		return NeedObject
	}
	return allowIf(a.Pods != nil && a.Pods.NodeMountsConfigMap(self, a.Namespace, a.Name))
}

// csrOwn lets a node or a bootstrapper create a CertificateSigningRequest
// and read back the ones it created (get, or list/watch by name).
func csrOwn(a *Attributes) Decision {
	if a.Subresource != "" {
		return Deny
	}
	switch a.Verb {
	case VerbCreate:
		return Allow
	case VerbGet:
		if !a.Complete {
			return NeedObject
		}
		csr, ok := a.Object.(*v1.CertificateSigningRequest)
		return allowIf(ok && csr != nil && csr.GetSpec().GetUsername() == a.User.Name)
	case VerbList, VerbWatch:
		if a.Fields == nil {
			return Deny
		}
		_, ok := a.Fields.RequiresExactMatch("metadata.name")
		return allowIf(ok)
	}
	return Deny
}

// bootstrapper: a token holder may only ask for a node certificate.
func bootstrapper(a *Attributes) Decision {
	if a.Resource == "certificatesigningrequests" {
		return csrOwn(a)
	}
	return Deny
}
