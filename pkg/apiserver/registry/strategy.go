package registry

import (
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/quantity"
	"minik8s/pkg/apiserver/authz"
)

// Kind is one served resource: its table entry, where it lives in etcd, and
// the strategy that makes the generic verbs right for it.
type Kind struct {
	// Resource is the kind's entry in the resource table.
	Resource *apis.Resource
	// TypeURL is the google.protobuf.Any type URL of the kind's message.
	TypeURL string

	prefix   string // "/registry/pods/"
	spec     protoreflect.FieldDescriptor
	status   protoreflect.FieldDescriptor
	strategy strategy
}

// Prefix is the etcd prefix of the kind in namespace ns ("" for every
// namespace, and for cluster-scoped kinds).
func (k *Kind) Prefix(ns string) string {
	if ns == "" || !k.Resource.Namespaced {
		return k.prefix
	}
	return k.prefix + ns + "/"
}

// Key is the etcd key of the object ns/name.
func (k *Kind) Key(ns, name string) string {
	if !k.Resource.Namespaced {
		return k.prefix + name
	}
	return k.prefix + ns + "/" + name
}

// strategy holds what differs between kinds; the zero value is right for
// most.
type strategy struct {
	// keepStatusOnCreate keeps a created object's status (a kubelet
	// registers its Node with status); otherwise create resets it.
	keepStatusOnCreate bool
	// prepareForCreate fills kind-specific fields of a new object (status,
	// the requester), after defaulting and before validation.
	prepareForCreate func(obj apis.Object, user *authz.User)
	// prepareForUpdate adjusts an update's new object once the generic
	// rules (system metadata and status from the stored object) applied.
	prepareForUpdate func(newObj, oldObj apis.Object)
	// normalize runs on every write (Secret stringData into data).
	normalize func(obj apis.Object)
	// gracePeriod is the grace period of a delete; nil means none: the
	// object goes at once (unless finalizers hold it).
	gracePeriod func(obj apis.Object, requested *int64) int64
	// checkDelete refuses deleting protected objects.
	checkDelete func(obj apis.Object) error
	// validateUpdate checks kind-specific rules of a change (Update and
	// UpdateStatus), after the generic ones applied.
	validateUpdate func(newObj, oldObj apis.Object) error
	// held reports whether kind-specific finalizers (a namespace's
	// spec.finalizers) keep an object that is being deleted.
	held func(obj apis.Object) bool
	// prepareForDelete adjusts an object (a private copy) that a delete
	// marks as being deleted, a namespace turning Terminating; true when
	// it changed something.
	prepareForDelete func(obj apis.Object) bool
}

// strategies lists the kinds whose behaviour differs from the generic one.
func strategies() map[string]strategy {
	return map[string]strategy{
		"pods":                       {prepareForCreate: podCreate, gracePeriod: podGracePeriod},
		"nodes":                      {keepStatusOnCreate: true},
		"namespaces":                 namespaceStrategy(),
		"certificatesigningrequests": {prepareForCreate: csrCreate, prepareForUpdate: csrUpdate},
		"secrets":                    {normalize: secretNormalize},
	}
}

func newKinds() map[string]*Kind {
	strats := strategies()
	out := map[string]*Kind{}
	for _, r := range apis.Resources() {
		fields := r.New().ProtoReflect().Descriptor().Fields()
		k := &Kind{
			Resource: r,
			TypeURL:  "type.googleapis.com/" + string(r.FullName()),
			prefix:   "/registry/" + r.Name + "/",
			spec:     messageField(fields, "spec"),
			strategy: strats[r.Name],
		}
		if r.HasStatus {
			k.status = messageField(fields, "status")
		}
		out[r.Name] = k
	}
	return out
}

func messageField(fields protoreflect.FieldDescriptors, name protoreflect.Name) protoreflect.FieldDescriptor {
	fd := fields.ByName(name)
	if fd == nil || fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
		return nil
	}
	return fd
}

// copyField sets dst's field fd to src's (sharing the value: src must be
// a private copy that is not used afterwards).
func copyField(dst, src apis.Object, fd protoreflect.FieldDescriptor) {
	sm, dm := src.ProtoReflect(), dst.ProtoReflect()
	if sm.Has(fd) {
		dm.Set(fd, sm.Get(fd))
	} else {
		dm.Clear(fd)
	}
}

// fieldEqual reports whether a and b hold equal values in message field fd;
// an absent message equals an empty one.
func fieldEqual(a, b apis.Object, fd protoreflect.FieldDescriptor) bool {
	am, bm := a.ProtoReflect(), b.ProtoReflect()
	ha, hb := am.Has(fd), bm.Has(fd)
	switch {
	case !ha && !hb:
		return true
	case !ha:
		return proto.Size(bm.Get(fd).Message().Interface()) == 0
	case !hb:
		return proto.Size(am.Get(fd).Message().Interface()) == 0
	}
	return proto.Equal(am.Get(fd).Message().Interface(), bm.Get(fd).Message().Interface())
}

// Pods.

const defaultTerminationGracePeriod = 30

// podGracePeriod is Kubernetes' rule: the request's grace period, else the
// pod's terminationGracePeriodSeconds; none for a pod that never reached a
// node or has finished, since no kubelet has anything to stop.
func podGracePeriod(obj apis.Object, requested *int64) int64 {
	p := obj.(*v1.Pod)
	var period int64 = defaultTerminationGracePeriod
	switch {
	case requested != nil:
		period = *requested
	case p.GetSpec().TerminationGracePeriodSeconds != nil:
		period = p.GetSpec().GetTerminationGracePeriodSeconds()
	}
	if period < 0 {
		period = 1
	}
	if p.GetSpec().GetNodeName() == "" {
		return 0
	}
	if ph := p.GetStatus().GetPhase(); ph == "Succeeded" || ph == "Failed" {
		return 0
	}
	return period
}

// Pods.

// Taints the node lifecycle controller puts on nodes that stopped
// reporting, and how long a pod tolerates them by default (Kubernetes'
// DefaultTolerationSeconds admission).
const (
	taintNotReady                              = "node.kubernetes.io/not-ready"
	taintUnreachable                           = "node.kubernetes.io/unreachable"
	defaultTolerationSeconds                   = int64(300)
	effectNoExecute                            = "NoExecute"
	tolerationOperatorExists                   = "Exists"
	podPhasePending                            = "Pending"
	qosGuaranteed, qosBurstable, qosBestEffort = "Guaranteed", "Burstable", "BestEffort"
)

// podCreate starts a pod's life as Kubernetes does: phase Pending with its
// QoS class, and the default tolerations of the not-ready and unreachable
// taints unless the pod has its own.
func podCreate(obj apis.Object, _ *authz.User) {
	pod := obj.(*v1.Pod)
	pod.Status = &v1.PodStatus{Phase: podPhasePending, QosClass: podQOS(pod.GetSpec())}
	if pod.Spec == nil {
		return
	}
	for _, key := range []string{taintNotReady, taintUnreachable} {
		if toleratesNoExecute(pod.Spec.Tolerations, key) {
			continue
		}
		secs := defaultTolerationSeconds
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, &v1.Toleration{
			Key: key, Operator: tolerationOperatorExists, Effect: effectNoExecute, TolerationSeconds: &secs,
		})
	}
}

func toleratesNoExecute(tols []*v1.Toleration, key string) bool {
	for _, t := range tols {
		if (t.GetKey() == key || (t.GetKey() == "" && t.GetOperator() == tolerationOperatorExists)) &&
			(t.GetEffect() == "" || t.GetEffect() == effectNoExecute) {
			return true
		}
	}
	return false
}

// podQOS is Kubernetes' QoS class: Guaranteed when every container limits
// cpu and memory and requests the same (requests default to limits),
// BestEffort when nothing is requested or limited, else Burstable.
func podQOS(spec *v1.PodSpec) string {
	any, guaranteed := false, true
	for _, c := range append(append([]*v1.Container(nil), spec.GetInitContainers()...), spec.GetContainers()...) {
		req, lim := c.GetResources().GetRequests(), c.GetResources().GetLimits()
		if len(req) > 0 || len(lim) > 0 {
			any = true
		}
		for _, r := range []string{"cpu", "memory"} {
			l, ok := lim[r]
			if !ok {
				guaranteed = false
				continue
			}
			if q, ok := req[r]; ok && !sameQuantity(q, l) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return qosBestEffort
	case guaranteed:
		return qosGuaranteed
	}
	return qosBurstable
}

func sameQuantity(a, b string) bool {
	qa, errA := quantity.Parse(a)
	qb, errB := quantity.Parse(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return qa.Cmp(qb) == 0
}

// Namespaces.

// namespaceStrategy: namespaces are held by their spec.finalizers and
// turn Terminating when deleted; the defaults cannot be deleted.
func namespaceStrategy() strategy {
	return strategy{
		prepareForCreate: namespaceCreate, prepareForUpdate: namespaceUpdate, validateUpdate: validateNamespaceUpdate,
		checkDelete: namespaceDelete, held: namespaceHeld, prepareForDelete: namespaceTerminate,
	}
}

// namespaceCreate starts a namespace Active, with the "kubernetes"
// finalizer that keeps it until the namespace controller has deleted its
// content (as Kubernetes' strategy does, on create only: the finalizer
// is removed over the namespace's life).
func namespaceCreate(obj apis.Object, _ *authz.User) {
	ns := obj.(*v1.Namespace)
	ns.Status = &v1.NamespaceStatus{Phase: NamespaceActive}
	if ns.Spec == nil {
		ns.Spec = &v1.NamespaceSpec{}
	}
	if !slices.Contains(ns.Spec.Finalizers, FinalizerKubernetes) {
		ns.Spec.Finalizers = append(ns.Spec.Finalizers, FinalizerKubernetes)
	}
}

// namespaceUpdate keeps an Active namespace's spec.finalizers: only the
// finalize step of a Terminating namespace may change them (Kubernetes'
// namespaces/finalize subresource), and validateNamespaceUpdate lets it
// only remove some.
func namespaceUpdate(newObj, oldObj apis.Object) {
	if isTerminating(oldObj) {
		return
	}
	newObj.(*v1.Namespace).Spec = oldObj.(*v1.Namespace).Spec
}

// namespaceHeld: spec.finalizers keep a namespace being deleted.
func namespaceHeld(obj apis.Object) bool {
	return len(obj.(*v1.Namespace).GetSpec().GetFinalizers()) > 0
}

// namespaceTerminate turns a namespace that is being deleted Terminating.
func namespaceTerminate(obj apis.Object) bool {
	ns := obj.(*v1.Namespace)
	if ns.GetStatus().GetPhase() == NamespaceTerminating {
		return false
	}
	if ns.Status == nil {
		ns.Status = &v1.NamespaceStatus{}
	}
	ns.Status.Phase = NamespaceTerminating
	return true
}

func namespaceDelete(obj apis.Object) error {
	name := obj.GetMetadata().GetName()
	for _, n := range apis.DefaultNamespaces() {
		if n == name {
			return errdefs.Forbidden("namespaces %q is forbidden: this namespace may not be deleted", name)
		}
	}
	return nil
}

// CertificateSigningRequests.

// csrCreate records who asks: the requester's identity, never the client's
// claim.
func csrCreate(obj apis.Object, user *authz.User) {
	csr := obj.(*v1.CertificateSigningRequest)
	if csr.Spec == nil {
		csr.Spec = &v1.CertificateSigningRequestSpec{}
	}
	csr.Spec.Username, csr.Spec.Groups, csr.Spec.Uid = "", nil, ""
	if user != nil {
		csr.Spec.Username = user.Name
		csr.Spec.Groups = append([]string(nil), user.Groups...)
	}
}

// csrUpdate keeps the spec: a request is immutable once made.
func csrUpdate(newObj, oldObj apis.Object) {
	newObj.(*v1.CertificateSigningRequest).Spec = oldObj.(*v1.CertificateSigningRequest).Spec
}

// Secrets.

// secretNormalize merges stringData into data, as Kubernetes does on write.
func secretNormalize(obj apis.Object) {
	s := obj.(*v1.Secret)
	if len(s.StringData) == 0 {
		return
	}
	if s.Data == nil {
		s.Data = make(map[string][]byte, len(s.StringData))
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// nameError checks that a name can be part of a key; the validation
// package checks the full rules on create.
func nameError(what, name string) error {
	switch {
	case name == "":
		return errdefs.Invalid("%s: Required value: %s name may not be empty", what, what)
	case name == "." || name == "..":
		return errdefs.Invalid("%s: Invalid value: %q: may not be '.' or '..'", what, name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '/' || c == '%' || c < ' ' {
			return errdefs.Invalid("%s: Invalid value: %q: may not contain '/', '%%' or control characters", what, name)
		}
	}
	return nil
}

func kindError(resource string) error {
	return errdefs.NotFound("the server doesn't have a resource type %q", resource)
}
