package authz

import (
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

// fieldSet is a field selector of exact matches.
type fieldSet map[string]string

func (f fieldSet) RequiresExactMatch(field string) (string, bool) {
	v, ok := f[field]
	return v, ok
}

var (
	admin      = &User{Name: "kubernetes-admin", Groups: []string{GroupMasters, GroupAuthenticated}}
	sched      = &User{Name: UserScheduler, Groups: []string{GroupAuthenticated}}
	kcm        = &User{Name: UserControllerMgr, Groups: []string{GroupAuthenticated}}
	nodeA      = &User{Name: "system:node:a", Groups: []string{GroupNodes, GroupAuthenticated}}
	nodeNoGrp  = &User{Name: "system:node:a", Groups: []string{GroupAuthenticated}}
	bootstrap  = &User{Name: "system:bootstrap:abcdef", Groups: []string{GroupBootstrappers, GroupAuthenticated}}
	someone    = &User{Name: "jane", Groups: []string{"developers", GroupAuthenticated}}
	fakeMaster = &User{Name: "system:masters", Groups: []string{GroupAuthenticated}}
)

func pod(node string, annotations map[string]string) apis.Object {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: "p", Namespace: "default", Annotations: annotations},
		Spec:     &v1.PodSpec{NodeName: node},
	}
}

func nodeObj(name string) apis.Object { return &v1.Node{Metadata: &v1.ObjectMeta{Name: name}} }

func lease(ns, name string) apis.Object {
	return &v1.Lease{Metadata: &v1.ObjectMeta{Name: name, Namespace: ns}}
}

func csr(user string) apis.Object {
	return &v1.CertificateSigningRequest{Metadata: &v1.ObjectMeta{Name: "csr-1"}, Spec: &v1.CertificateSigningRequestSpec{Username: user}}
}

func namespace(name string, deleting bool) apis.Object {
	ns := &v1.Namespace{Metadata: &v1.ObjectMeta{Name: name}}
	if deleting {
		ns.Metadata.DeletionTimestamp = timestamppb.Now()
	}
	return ns
}

var mirror = map[string]string{MirrorPodAnnotation: "abc"}

// mounts is a PodIndex: the set of "node/namespace/name" a pod on node
// mounts.
type mounts map[string]bool

func (m mounts) NodeMountsConfigMap(node, namespace, name string) bool {
	return m[node+"/"+namespace+"/"+name]
}

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name string
		give Attributes
		want Decision
	}{
		// Nobody and strangers.
		{"no user", Attributes{Verb: VerbGet, Resource: "pods"}, Deny},
		{"stranger get pods", Attributes{User: someone, Verb: VerbGet, Resource: "pods", Namespace: "default", Name: "p"}, Deny},
		{"stranger list namespaces", Attributes{User: someone, Verb: VerbList, Resource: "namespaces"}, Deny},
		{"user named like a group is not the group", Attributes{User: fakeMaster, Verb: VerbDelete, Resource: "pods", Namespace: "default", Name: "p"}, Deny},

		// system:masters may do everything.
		{"admin create pod", Attributes{User: admin, Verb: VerbCreate, Resource: "pods"}, Allow},
		{"admin delete node", Attributes{User: admin, Verb: VerbDelete, Resource: "nodes", Name: "a"}, Allow},
		{"admin approve csr", Attributes{User: admin, Verb: VerbUpdate, Resource: "certificatesigningrequests", Subresource: SubApproval, Name: "x"}, Allow},
		{"admin exec", Attributes{User: admin, Verb: VerbCreate, Resource: "pods", Subresource: SubExec, Namespace: "default", Name: "p"}, Allow},

		// The scheduler.
		{"scheduler list pods", Attributes{User: sched, Verb: VerbList, Resource: "pods"}, Allow},
		{"scheduler watch nodes", Attributes{User: sched, Verb: VerbWatch, Resource: "nodes"}, Allow},
		{"scheduler get namespace", Attributes{User: sched, Verb: VerbGet, Resource: "namespaces", Name: "default"}, Allow},
		{"scheduler bind", Attributes{User: sched, Verb: VerbCreate, Resource: "pods", Subresource: SubBinding, Namespace: "default", Name: "p"}, Allow},
		{"scheduler update pod status", Attributes{User: sched, Verb: VerbUpdate, Resource: "pods", Subresource: SubStatus, Namespace: "default", Name: "p"}, Allow},
		{"scheduler update pod", Attributes{User: sched, Verb: VerbUpdate, Resource: "pods", Namespace: "default", Name: "p"}, Deny},
		{"scheduler create pod", Attributes{User: sched, Verb: VerbCreate, Resource: "pods"}, Deny},
		{"scheduler delete pod", Attributes{User: sched, Verb: VerbDelete, Resource: "pods", Namespace: "default", Name: "p"}, Deny},
		{"scheduler update node", Attributes{User: sched, Verb: VerbUpdate, Resource: "nodes", Name: "a"}, Deny},
		{"scheduler create event", Attributes{User: sched, Verb: VerbCreate, Resource: "events"}, Allow},
		{"scheduler update event", Attributes{User: sched, Verb: VerbUpdate, Resource: "events", Namespace: "default", Name: "e"}, Allow},
		{"scheduler delete event", Attributes{User: sched, Verb: VerbDelete, Resource: "events", Namespace: "default", Name: "e"}, Deny},
		{"scheduler get lease kube-system", Attributes{User: sched, Verb: VerbGet, Resource: "leases", Namespace: "kube-system", Name: "kube-scheduler"}, Allow},
		{"scheduler update lease kube-system", Attributes{User: sched, Verb: VerbUpdate, Resource: "leases", Namespace: "kube-system", Name: "kube-scheduler"}, Allow},
		{"scheduler get lease default", Attributes{User: sched, Verb: VerbGet, Resource: "leases", Namespace: "default", Name: "kube-scheduler"}, Deny},
		{"scheduler create lease, namespace not known yet", Attributes{User: sched, Verb: VerbCreate, Resource: "leases"}, NeedObject},
		{"scheduler create lease kube-system", Attributes{User: sched, Verb: VerbCreate, Resource: "leases", Namespace: "kube-system", Complete: true, NewObject: lease("kube-system", "kube-scheduler")}, Allow},
		{"scheduler create lease kube-node-lease", Attributes{User: sched, Verb: VerbCreate, Resource: "leases", Namespace: "kube-node-lease", Complete: true, NewObject: lease("kube-node-lease", "a")}, Deny},
		{"scheduler list configmaps", Attributes{User: sched, Verb: VerbList, Resource: "configmaps"}, Deny},
		{"scheduler list secrets", Attributes{User: sched, Verb: VerbList, Resource: "secrets"}, Deny},

		// The controller-manager.
		{"kcm create pod", Attributes{User: kcm, Verb: VerbCreate, Resource: "pods"}, Allow},
		{"kcm delete pod", Attributes{User: kcm, Verb: VerbDelete, Resource: "pods", Namespace: "default", Name: "p"}, Allow},
		{"kcm update replicaset status", Attributes{User: kcm, Verb: VerbUpdate, Resource: "replicasets", Subresource: SubStatus, Namespace: "default", Name: "rs"}, Allow},
		{"kcm update deployment", Attributes{User: kcm, Verb: VerbUpdate, Resource: "deployments", Namespace: "default", Name: "d"}, Allow},
		{"kcm update node", Attributes{User: kcm, Verb: VerbUpdate, Resource: "nodes", Name: "a"}, Allow},
		{"kcm update node status", Attributes{User: kcm, Verb: VerbUpdate, Resource: "nodes", Subresource: SubStatus, Name: "a"}, Allow},
		{"kcm delete node", Attributes{User: kcm, Verb: VerbDelete, Resource: "nodes", Name: "a"}, Allow},
		{"kcm create node", Attributes{User: kcm, Verb: VerbCreate, Resource: "nodes"}, Deny},
		{"kcm list namespaces", Attributes{User: kcm, Verb: VerbList, Resource: "namespaces"}, Allow},
		{"kcm delete namespace", Attributes{User: kcm, Verb: VerbDelete, Resource: "namespaces", Name: "x"}, Deny},
		{"kcm watch csr", Attributes{User: kcm, Verb: VerbWatch, Resource: "certificatesigningrequests"}, Allow},
		{"kcm approve csr", Attributes{User: kcm, Verb: VerbUpdate, Resource: "certificatesigningrequests", Subresource: SubApproval, Name: "x"}, Allow},
		{"kcm delete csr", Attributes{User: kcm, Verb: VerbDelete, Resource: "certificatesigningrequests", Name: "x"}, Deny},
		{"kcm lease kube-system", Attributes{User: kcm, Verb: VerbUpdate, Resource: "leases", Namespace: "kube-system", Name: "kube-controller-manager"}, Allow},
		{"kcm list configmaps", Attributes{User: kcm, Verb: VerbList, Resource: "configmaps", Namespace: "gone"}, Allow},
		{"kcm delete configmap", Attributes{User: kcm, Verb: VerbDelete, Resource: "configmaps", Namespace: "gone", Name: "c"}, Allow},
		{"kcm delete secret", Attributes{User: kcm, Verb: VerbDelete, Resource: "secrets", Namespace: "gone", Name: "s"}, Allow},
		{"kcm create configmap", Attributes{User: kcm, Verb: VerbCreate, Resource: "configmaps"}, Deny},
		{"kcm update secret", Attributes{User: kcm, Verb: VerbUpdate, Resource: "secrets", Namespace: "gone", Name: "s"}, Deny},
		{"kcm watch secrets", Attributes{User: kcm, Verb: VerbWatch, Resource: "secrets"}, Deny},
		{"kcm update namespace, not known yet", Attributes{User: kcm, Verb: VerbUpdate, Resource: "namespaces", Name: "x"}, NeedObject},
		{"kcm finalize terminating namespace", Attributes{User: kcm, Verb: VerbUpdate, Resource: "namespaces", Name: "x", Complete: true, Object: namespace("x", true), NewObject: namespace("x", true)}, Allow},
		{"kcm update active namespace", Attributes{User: kcm, Verb: VerbUpdate, Resource: "namespaces", Name: "x", Complete: true, Object: namespace("x", false), NewObject: namespace("x", false)}, Deny},
		{"kcm update missing namespace", Attributes{User: kcm, Verb: VerbUpdate, Resource: "namespaces", Name: "x", Complete: true}, Deny},
		{"kcm update namespace status", Attributes{User: kcm, Verb: VerbUpdate, Resource: "namespaces", Subresource: SubStatus, Name: "x", Complete: true, Object: namespace("x", true)}, Deny},
		{"kcm create namespace", Attributes{User: kcm, Verb: VerbCreate, Resource: "namespaces"}, Deny},
		{"kcm exec", Attributes{User: kcm, Verb: VerbCreate, Resource: "pods", Subresource: SubExec, Namespace: "default", Name: "p"}, Deny},

		// A node: its Node object.
		{"node get other node", Attributes{User: nodeA, Verb: VerbGet, Resource: "nodes", Name: "b"}, Allow},
		{"node list nodes", Attributes{User: nodeA, Verb: VerbList, Resource: "nodes"}, Allow},
		{"node create own node, name unknown", Attributes{User: nodeA, Verb: VerbCreate, Resource: "nodes"}, NeedObject},
		{"node create own node", Attributes{User: nodeA, Verb: VerbCreate, Resource: "nodes", Complete: true, NewObject: nodeObj("a")}, Allow},
		{"node create other node", Attributes{User: nodeA, Verb: VerbCreate, Resource: "nodes", Complete: true, NewObject: nodeObj("b")}, Deny},
		{"node update own node", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "nodes", Name: "a"}, Allow},
		{"node update other node", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "nodes", Name: "b"}, Deny},
		{"node update own node status", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "nodes", Subresource: SubStatus, Name: "a"}, Allow},
		{"node update other node status", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "nodes", Subresource: SubStatus, Name: "b"}, Deny},
		{"node delete own node", Attributes{User: nodeA, Verb: VerbDelete, Resource: "nodes", Name: "a"}, Deny},
		{"node without nodes group", Attributes{User: nodeNoGrp, Verb: VerbUpdate, Resource: "nodes", Name: "a"}, Deny},

		// A node: leases.
		{"node get own lease", Attributes{User: nodeA, Verb: VerbGet, Resource: "leases", Namespace: "kube-node-lease", Name: "a"}, Allow},
		{"node update own lease", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "leases", Namespace: "kube-node-lease", Name: "a"}, Allow},
		{"node update other lease", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "leases", Namespace: "kube-node-lease", Name: "b"}, Deny},
		{"node update own-named lease elsewhere", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "leases", Namespace: "kube-system", Name: "a"}, Deny},
		{"node create lease, unknown", Attributes{User: nodeA, Verb: VerbCreate, Resource: "leases"}, NeedObject},
		{"node create own lease", Attributes{User: nodeA, Verb: VerbCreate, Resource: "leases", Namespace: "kube-node-lease", Complete: true, NewObject: lease("kube-node-lease", "a")}, Allow},
		{"node create other lease", Attributes{User: nodeA, Verb: VerbCreate, Resource: "leases", Namespace: "kube-node-lease", Complete: true, NewObject: lease("kube-node-lease", "b")}, Deny},
		{"node list leases", Attributes{User: nodeA, Verb: VerbList, Resource: "leases", Namespace: "kube-node-lease"}, Deny},

		// A node: pods.
		{"node list own pods", Attributes{User: nodeA, Verb: VerbList, Resource: "pods", Fields: fieldSet{"spec.nodeName": "a"}}, Allow},
		{"node watch own pods", Attributes{User: nodeA, Verb: VerbWatch, Resource: "pods", Fields: fieldSet{"spec.nodeName": "a"}}, Allow},
		{"node list all pods", Attributes{User: nodeA, Verb: VerbList, Resource: "pods"}, Deny},
		{"node watch other node's pods", Attributes{User: nodeA, Verb: VerbWatch, Resource: "pods", Fields: fieldSet{"spec.nodeName": "b"}}, Deny},
		{"node get pod, unknown", Attributes{User: nodeA, Verb: VerbGet, Resource: "pods", Namespace: "default", Name: "p"}, NeedObject},
		{"node get own pod", Attributes{User: nodeA, Verb: VerbGet, Resource: "pods", Namespace: "default", Name: "p", Complete: true, Object: pod("a", nil)}, Allow},
		{"node get other pod", Attributes{User: nodeA, Verb: VerbGet, Resource: "pods", Namespace: "default", Name: "p", Complete: true, Object: pod("b", nil)}, Deny},
		{"node get missing pod", Attributes{User: nodeA, Verb: VerbGet, Resource: "pods", Namespace: "default", Name: "p", Complete: true}, Deny},
		{"node update own pod status", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "pods", Subresource: SubStatus, Namespace: "default", Name: "p", Complete: true, Object: pod("a", nil), NewObject: pod("a", nil)}, Allow},
		{"node update other pod status", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "pods", Subresource: SubStatus, Namespace: "default", Name: "p", Complete: true, Object: pod("b", nil), NewObject: pod("a", nil)}, Deny},
		{"node update unbound pod status", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "pods", Subresource: SubStatus, Namespace: "default", Name: "p", Complete: true, Object: pod("", nil)}, Deny},
		{"node update own pod", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "pods", Namespace: "default", Name: "p", Complete: true, Object: pod("a", nil)}, Deny},
		{"node delete own pod", Attributes{User: nodeA, Verb: VerbDelete, Resource: "pods", Namespace: "default", Name: "p", Complete: true, Object: pod("a", nil)}, Allow},
		{"node delete other pod", Attributes{User: nodeA, Verb: VerbDelete, Resource: "pods", Namespace: "default", Name: "p", Complete: true, Object: pod("b", nil)}, Deny},
		{"node create mirror pod for itself", Attributes{User: nodeA, Verb: VerbCreate, Resource: "pods", Namespace: "kube-system", Complete: true, NewObject: pod("a", mirror)}, Allow},
		{"node create mirror pod for other", Attributes{User: nodeA, Verb: VerbCreate, Resource: "pods", Namespace: "kube-system", Complete: true, NewObject: pod("b", mirror)}, Deny},
		{"node create plain pod", Attributes{User: nodeA, Verb: VerbCreate, Resource: "pods", Namespace: "default", Complete: true, NewObject: pod("a", nil)}, Deny},
		{"node bind pod", Attributes{User: nodeA, Verb: VerbCreate, Resource: "pods", Subresource: SubBinding, Namespace: "default", Name: "p"}, Deny},
		{"node exec", Attributes{User: nodeA, Verb: VerbCreate, Resource: "pods", Subresource: SubExec, Namespace: "default", Name: "p"}, Deny},

		// A node: the rest.
		{"node create event", Attributes{User: nodeA, Verb: VerbCreate, Resource: "events"}, Allow},
		{"node list events", Attributes{User: nodeA, Verb: VerbList, Resource: "events"}, Deny},
		{"node get configmap: a pod must mount it", Attributes{User: nodeA, Verb: VerbGet, Resource: "configmaps", Namespace: "default", Name: "c"}, NeedObject},
		{"node get configmap its pod mounts", Attributes{User: nodeA, Verb: VerbGet, Resource: "configmaps", Namespace: "default", Name: "c", Complete: true, Pods: mounts{"a/default/c": true}}, Allow},
		{"node get configmap another node's pod mounts", Attributes{User: nodeA, Verb: VerbGet, Resource: "configmaps", Namespace: "default", Name: "c", Complete: true, Pods: mounts{"b/default/c": true}}, Deny},
		{"node get configmap of the same name elsewhere", Attributes{User: nodeA, Verb: VerbGet, Resource: "configmaps", Namespace: "other", Name: "c", Complete: true, Pods: mounts{"a/default/c": true}}, Deny},
		{"node get configmap, nothing known of pods", Attributes{User: nodeA, Verb: VerbGet, Resource: "configmaps", Namespace: "default", Name: "c", Complete: true}, Deny},
		{"node list configmaps", Attributes{User: nodeA, Verb: VerbList, Resource: "configmaps", Namespace: "default", Complete: true, Pods: mounts{"a/default/c": true}}, Deny},
		{"node watch configmap by name", Attributes{User: nodeA, Verb: VerbWatch, Resource: "configmaps", Namespace: "default", Fields: fieldSet{"metadata.name": "c"}, Pods: mounts{"a/default/c": true}}, Deny},
		{"node update configmap its pod mounts", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "configmaps", Namespace: "default", Name: "c", Complete: true, Pods: mounts{"a/default/c": true}}, Deny},
		{"node get secret", Attributes{User: nodeA, Verb: VerbGet, Resource: "secrets", Namespace: "default", Name: "s"}, Deny},
		{"node list namespaces", Attributes{User: nodeA, Verb: VerbList, Resource: "namespaces"}, Deny},
		{"node create csr", Attributes{User: nodeA, Verb: VerbCreate, Resource: "certificatesigningrequests"}, Allow},
		{"node get own csr", Attributes{User: nodeA, Verb: VerbGet, Resource: "certificatesigningrequests", Name: "csr-1", Complete: true, Object: csr("system:node:a")}, Allow},
		{"node get other csr", Attributes{User: nodeA, Verb: VerbGet, Resource: "certificatesigningrequests", Name: "csr-1", Complete: true, Object: csr("system:node:b")}, Deny},
		{"node approve csr", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "certificatesigningrequests", Subresource: SubApproval, Name: "csr-1"}, Deny},
		{"node update replicaset", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "replicasets", Namespace: "default", Name: "rs"}, Deny},

		// A bootstrapper.
		{"bootstrapper create csr", Attributes{User: bootstrap, Verb: VerbCreate, Resource: "certificatesigningrequests"}, Allow},
		{"bootstrapper get own csr", Attributes{User: bootstrap, Verb: VerbGet, Resource: "certificatesigningrequests", Name: "csr-1", Complete: true, Object: csr("system:bootstrap:abcdef")}, Allow},
		{"bootstrapper get csr, unknown", Attributes{User: bootstrap, Verb: VerbGet, Resource: "certificatesigningrequests", Name: "csr-1"}, NeedObject},
		{"bootstrapper get other csr", Attributes{User: bootstrap, Verb: VerbGet, Resource: "certificatesigningrequests", Name: "csr-1", Complete: true, Object: csr("system:node:a")}, Deny},
		{"bootstrapper watch csr by name", Attributes{User: bootstrap, Verb: VerbWatch, Resource: "certificatesigningrequests", Fields: fieldSet{"metadata.name": "csr-1"}}, Allow},
		{"bootstrapper list all csr", Attributes{User: bootstrap, Verb: VerbList, Resource: "certificatesigningrequests"}, Deny},
		{"bootstrapper approve csr", Attributes{User: bootstrap, Verb: VerbUpdate, Resource: "certificatesigningrequests", Subresource: SubApproval, Name: "csr-1"}, Deny},
		{"bootstrapper get node", Attributes{User: bootstrap, Verb: VerbGet, Resource: "nodes", Name: "a"}, Deny},
		{"bootstrapper create node", Attributes{User: bootstrap, Verb: VerbCreate, Resource: "nodes"}, Deny},
		{"bootstrapper list pods", Attributes{User: bootstrap, Verb: VerbList, Resource: "pods", Fields: fieldSet{"spec.nodeName": "a"}}, Deny},
		{"bootstrapper update csr", Attributes{User: bootstrap, Verb: VerbUpdate, Resource: "certificatesigningrequests", Name: "csr-1"}, Deny},
		{"bootstrapper write csr status", Attributes{User: bootstrap, Verb: VerbUpdate, Resource: "certificatesigningrequests", Subresource: SubStatus, Name: "csr-1"}, Deny},
		{"bootstrapper delete csr", Attributes{User: bootstrap, Verb: VerbDelete, Resource: "certificatesigningrequests", Name: "csr-1"}, Deny},
		{"bootstrapper get token secret", Attributes{User: bootstrap, Verb: VerbGet, Resource: "secrets", Namespace: "kube-system", Name: "bootstrap-token-abcdef"}, Deny},
		{"bootstrapper get cluster-info", Attributes{User: bootstrap, Verb: VerbGet, Resource: "configmaps", Namespace: "kube-public", Name: "cluster-info"}, Deny},
		{"bootstrapper create lease", Attributes{User: bootstrap, Verb: VerbCreate, Resource: "leases", Namespace: "kube-node-lease"}, Deny},
		{"bootstrapper with a node name is no node", Attributes{User: &User{Name: "system:node:a", Groups: []string{GroupBootstrappers}}, Verb: VerbGet, Resource: "nodes", Name: "a"}, Deny},
		{"node write csr status", Attributes{User: nodeA, Verb: VerbUpdate, Resource: "certificatesigningrequests", Subresource: SubStatus, Name: "csr-1"}, Deny},
		{"node delete csr", Attributes{User: nodeA, Verb: VerbDelete, Resource: "certificatesigningrequests", Name: "csr-1"}, Deny},
		{"controller manager denies csr", Attributes{User: kcm, Verb: VerbUpdate, Resource: "certificatesigningrequests", Subresource: SubApproval, Name: "csr-1"}, Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.give
			if got := Authorize(&a); got != tt.want {
				t.Errorf("Authorize(%s %s/%s ns=%q name=%q complete=%v) = %v, want %v",
					a.Verb, a.Resource, a.Subresource, a.Namespace, a.Name, a.Complete, got, tt.want)
			}
		})
	}
}

// A NeedObject answer must turn into Allow or Deny once the registry asks
// with the objects: never NeedObject again.
func TestAuthorizeCompleteNeverNeedsObject(t *testing.T) {
	users := []*User{admin, sched, kcm, nodeA, bootstrap, someone}
	verbs := []string{VerbCreate, VerbGet, VerbList, VerbWatch, VerbUpdate, VerbDelete}
	subs := []string{"", SubStatus, SubBinding, SubApproval, SubLog, SubExec}
	for _, u := range users {
		for _, r := range apis.Resources() {
			for _, v := range verbs {
				for _, s := range subs {
					a := Attributes{User: u, Verb: v, Resource: r.Name, Subresource: s, Complete: true}
					if d := Authorize(&a); d == NeedObject {
						t.Errorf("%s %s %s/%s: complete request answered NeedObject", u.Name, v, r.Name, s)
					}
				}
			}
		}
	}
}
