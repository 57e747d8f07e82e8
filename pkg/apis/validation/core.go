package validation

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "minik8s/api/proto/minik8s/v1"
)

var metadataPath = NewPath("metadata")

// ---------------------------------------------------------------- Pod

func validatePod(pod *v1.Pod) ErrorList {
	errs := ValidateObjectMeta(pod.Metadata, true, NameIsDNSSubdomain, NewPath("metadata"))
	return append(errs, ValidatePodSpec(pod.Spec, NewPath("spec"))...)
}

// podUpdateForbidden is Kubernetes' wording for a pod spec change that is
// not allowed.
const podUpdateForbidden = "pod updates may not change fields other than `spec.containers[*].image`," +
	"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// validatePodUpdate allows, as Kubernetes does, only container images,
// activeDeadlineSeconds (set, or lowered) and added tolerations to change.
func validatePodUpdate(newPod, oldPod *v1.Pod) ErrorList {
	var errs ErrorList
	sp := NewPath("spec")
	newSpec, oldSpec := newPod.GetSpec(), oldPod.GetSpec()
	if newSpec == nil || oldSpec == nil {
		if !proto.Equal(newSpec, oldSpec) {
			errs = append(errs, Forbidden(sp, podUpdateForbidden))
		}
		return errs
	}
	if len(newSpec.Containers) != len(oldSpec.Containers) {
		return append(errs, Forbidden(sp.Child("containers"), "pod updates may not add or remove containers"))
	}
	if len(newSpec.InitContainers) != len(oldSpec.InitContainers) {
		return append(errs, Forbidden(sp.Child("initContainers"), "pod updates may not add or remove containers"))
	}

	if n := newSpec.ActiveDeadlineSeconds; n != nil {
		if *n < 0 || *n > math.MaxInt32 {
			return append(errs, Invalid(sp.Child("activeDeadlineSeconds"), *n, inclusiveRangeError(0, math.MaxInt32)))
		}
		if o := oldSpec.ActiveDeadlineSeconds; o != nil && *o < *n {
			return append(errs, Invalid(sp.Child("activeDeadlineSeconds"), *n, "must be less than or equal to previous value"))
		}
	} else if oldSpec.ActiveDeadlineSeconds != nil {
		errs = append(errs, Invalid(sp.Child("activeDeadlineSeconds"), nil, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, validateOnlyAddedTolerations(newSpec.Tolerations, oldSpec.Tolerations, sp.Child("tolerations"))...)

	// Put back what may change, then the rest must be equal.
	munged := proto.Clone(newSpec).(*v1.PodSpec)
	for i, c := range munged.Containers {
		if c != nil && oldSpec.Containers[i] != nil {
			c.Image = oldSpec.Containers[i].Image
		}
	}
	for i, c := range munged.InitContainers {
		if c != nil && oldSpec.InitContainers[i] != nil {
			c.Image = oldSpec.InitContainers[i].Image
		}
	}
	munged.ActiveDeadlineSeconds = oldSpec.ActiveDeadlineSeconds
	munged.Tolerations = oldSpec.Tolerations
	if o, n := oldSpec.TerminationGracePeriodSeconds, munged.TerminationGracePeriodSeconds; o != nil && *o < 0 && n != nil && *n == 1 {
		munged.TerminationGracePeriodSeconds = o
	}
	if !proto.Equal(munged, oldSpec) {
		changed := diffFields(oldSpec.ProtoReflect(), munged.ProtoReflect(), "spec", nil)
		errs = append(errs, Forbidden(sp, podUpdateForbidden+"\n  changed: "+strings.Join(changed, ", ")))
	}
	return errs
}

// validateOnlyAddedTolerations: existing tolerations stay (their
// tolerationSeconds may change); new ones may be added.
func validateOnlyAddedTolerations(newTs, oldTs []*v1.Toleration, p *Path) ErrorList {
	for _, o := range oldTs {
		found := false
		for _, n := range newTs {
			if o == nil || n == nil {
				found = o == n
				if found {
					break
				}
				continue
			}
			c := proto.Clone(o).(*v1.Toleration)
			c.TolerationSeconds = n.TolerationSeconds
			if proto.Equal(c, n) {
				found = true
				break
			}
		}
		if !found {
			return ErrorList{Forbidden(p, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

// diffFields lists the paths of leaf fields that differ between a and b,
// at most 10 of them, for an update error that says what changed.
func diffFields(a, b protoreflect.Message, prefix string, out []string) []string {
	const limit = 10
	fields := a.Descriptor().Fields()
	for i := 0; i < fields.Len() && len(out) < limit; i++ {
		f := fields.Get(i)
		name := prefix + "." + f.JSONName()
		av, bv := a.Get(f), b.Get(f)
		switch {
		case f.IsList():
			al, bl := av.List(), bv.List()
			if al.Len() != bl.Len() || f.Kind() != protoreflect.MessageKind {
				if !listEqual(al, bl) {
					out = append(out, name)
				}
				continue
			}
			for j := 0; j < al.Len() && len(out) < limit; j++ {
				out = diffFields(al.Get(j).Message(), bl.Get(j).Message(), fmt.Sprintf("%s[%d]", name, j), out)
			}
		case f.IsMap():
			if !mapEqual(av.Map(), bv.Map()) {
				out = append(out, name)
			}
		case f.Kind() == protoreflect.MessageKind:
			if a.Has(f) != b.Has(f) {
				out = append(out, name)
				continue
			}
			if a.Has(f) {
				out = diffFields(av.Message(), bv.Message(), name, out)
			}
		default:
			if a.Has(f) != b.Has(f) || !av.Equal(bv) {
				out = append(out, name)
			}
		}
	}
	return out
}

func listEqual(a, b protoreflect.List) bool {
	if a.Len() != b.Len() {
		return false
	}
	for i := 0; i < a.Len(); i++ {
		if !a.Get(i).Equal(b.Get(i)) {
			return false
		}
	}
	return true
}

func mapEqual(a, b protoreflect.Map) bool {
	if a.Len() != b.Len() {
		return false
	}
	equal := true
	a.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		if !b.Has(k) || !b.Get(k).Equal(v) {
			equal = false
		}
		return equal
	})
	return equal
}

// ---------------------------------------------------------------- Node

func validateNode(n *v1.Node) ErrorList {
	errs := ValidateObjectMeta(n.Metadata, false, NameIsDNSSubdomain, metadataPath)
	if s := n.Spec; s != nil {
		sp := NewPath("spec")
		errs = append(errs, validateTaints(s.Taints, sp.Child("taints"))...)
		if s.PodCidr != "" {
			for _, msg := range IsValidCIDR(s.PodCidr) {
				errs = append(errs, Invalid(sp.Child("podCIDR"), s.PodCidr, msg))
			}
		}
		errs = append(errs, validatePodCIDRs(s.PodCidr, s.PodCidrs, sp.Child("podCIDRs"))...)
	}
	if st := n.Status; st != nil {
		for _, k := range sortedKeys(st.Capacity) {
			_, qErrs := validateResourceQuantity(k, st.Capacity[k], NewPath("status", "capacity", k))
			errs = append(errs, qErrs...)
		}
		for _, k := range sortedKeys(st.Allocatable) {
			_, qErrs := validateResourceQuantity(k, st.Allocatable[k], NewPath("status", "allocatable", k))
			errs = append(errs, qErrs...)
		}
	}
	return errs
}

func validatePodCIDRs(podCIDR string, cidrs []string, p *Path) ErrorList {
	var errs ErrorList
	var families []bool
	for i, c := range cidrs {
		ip, _, err := net.ParseCIDR(c)
		if err != nil {
			errs = append(errs, Invalid(p.Index(i), c, IsValidCIDR(c)[0]))
			continue
		}
		families = append(families, ip.To4() != nil)
	}
	if len(cidrs) > 2 || (len(families) == 2 && families[0] == families[1]) {
		errs = append(errs, Invalid(p, strings.Join(cidrs, ","), "may specify no more than one CIDR for each IP family"))
	}
	if podCIDR != "" && len(cidrs) > 0 && cidrs[0] != podCIDR {
		errs = append(errs, Invalid(p.Index(0), cidrs[0], "must match spec.podCIDR"))
	}
	return errs
}

func validateTaints(ts []*v1.Taint, p *Path) ErrorList {
	var errs ErrorList
	seen := map[string]bool{}
	for i, t := range ts {
		ip := p.Index(i)
		if t == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		errs = append(errs, validateLabelName(t.Key, ip.Child("key"))...)
		if msgs := IsValidLabelValue(t.Value); len(msgs) > 0 {
			errs = append(errs, Invalid(ip.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		errs = append(errs, validateTaintEffect(t.Effect, ip.Child("effect"))...)
		key := t.Key + ":" + t.Effect
		if seen[key] {
			e := Duplicate(ip, key)
			e.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, e)
			continue
		}
		seen[key] = true
	}
	return errs
}

func validateNodeUpdate(n, o *v1.Node) ErrorList {
	var errs ErrorList
	ns, os := n.GetSpec(), o.GetSpec()
	if os.GetPodCidr() != "" && ns.GetPodCidr() != os.GetPodCidr() {
		errs = append(errs, Forbidden(NewPath("spec", "podCIDR"), `node updates may not change podCIDR except from "" to valid`))
	}
	if len(os.GetPodCidrs()) > 0 && !slices.Equal(ns.GetPodCidrs(), os.GetPodCidrs()) {
		errs = append(errs, Forbidden(NewPath("spec", "podCIDRs"), `node updates may not change podCIDR except from "" to valid`))
	}
	if os.GetProviderId() != "" && ns.GetProviderId() != os.GetProviderId() {
		errs = append(errs, Forbidden(NewPath("spec", "providerID"), `node updates may not change providerID except from "" to valid`))
	}
	return errs
}

// ---------------------------------------------------------------- Namespace

var standardFinalizers = []string{"kubernetes", FinalizerOrphanDependents, FinalizerDeleteDependents}

func validateNamespace(ns *v1.Namespace) ErrorList {
	errs := ValidateObjectMeta(ns.Metadata, false, NameIsDNSLabel, metadataPath)
	fp := NewPath("spec", "finalizers")
	for _, f := range ns.GetSpec().GetFinalizers() {
		for _, msg := range IsQualifiedName(f) {
			errs = append(errs, Invalid(fp, f, msg))
		}
		if !strings.Contains(f, "/") && !slices.Contains(standardFinalizers, f) {
			errs = append(errs, Invalid(fp, f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	errs = append(errs, validateEnumAllowEmpty(ns.GetStatus().GetPhase(), []string{"Active", "Terminating"}, NewPath("status", "phase"))...)
	return errs
}

// ---------------------------------------------------------------- ConfigMap, Secret

func validateConfigMap(cm *v1.ConfigMap) ErrorList {
	errs := ValidateObjectMeta(cm.Metadata, true, NameIsDNSSubdomain, metadataPath)
	size := 0
	for _, k := range sortedKeys(cm.Data) {
		kp := NewPath("data").Key(k)
		for _, msg := range IsConfigMapKey(k) {
			errs = append(errs, Invalid(kp, k, msg))
		}
		if _, dup := cm.BinaryData[k]; dup {
			errs = append(errs, Invalid(kp, k, "duplicate of key present in binaryData"))
		}
		size += len(cm.Data[k])
	}
	for _, k := range sortedKeys(cm.BinaryData) {
		for _, msg := range IsConfigMapKey(k) {
			errs = append(errs, Invalid(NewPath("binaryData").Key(k), k, msg))
		}
		size += len(cm.BinaryData[k])
	}
	if size > MaxSecretSize {
		errs = append(errs, TooLong(NewPath("data"), "", MaxSecretSize))
	}
	return errs
}

const immutableDetail = "field is immutable when `immutable` is set"

func validateConfigMapUpdate(n, o *v1.ConfigMap) ErrorList {
	if !o.GetImmutable() {
		return nil
	}
	var errs ErrorList
	if !n.GetImmutable() {
		errs = append(errs, Forbidden(NewPath("immutable"), immutableDetail))
	}
	if !mapsEqual(n.Data, o.Data) {
		errs = append(errs, Forbidden(NewPath("data"), immutableDetail))
	}
	if !bytesMapsEqual(n.BinaryData, o.BinaryData) {
		errs = append(errs, Forbidden(NewPath("binaryData"), immutableDetail))
	}
	return errs
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func bytesMapsEqual(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || string(w) != string(v) {
			return false
		}
	}
	return true
}

// Secret types with required keys.
const (
	SecretTypeTLS              = "kubernetes.io/tls"
	SecretTypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"
	SecretTypeBasicAuth        = "kubernetes.io/basic-auth"
	SecretTypeSSHAuth          = "kubernetes.io/ssh-auth"
)

func validateSecret(s *v1.Secret) ErrorList {
	errs := ValidateObjectMeta(s.Metadata, true, NameIsDNSSubdomain, metadataPath)
	dp := NewPath("data")
	size := 0
	has := func(k string) bool {
		_, inData := s.Data[k]
		_, inString := s.StringData[k]
		return inData || inString
	}
	for _, k := range sortedKeys(s.Data) {
		for _, msg := range IsConfigMapKey(k) {
			errs = append(errs, Invalid(dp.Key(k), k, msg))
		}
		size += len(s.Data[k])
	}
	for _, k := range sortedKeys(s.StringData) {
		for _, msg := range IsConfigMapKey(k) {
			errs = append(errs, Invalid(NewPath("stringData").Key(k), k, msg))
		}
		if _, dup := s.Data[k]; !dup {
			size += len(s.StringData[k])
		}
	}
	if size > MaxSecretSize {
		errs = append(errs, TooLong(dp, "", MaxSecretSize))
	}
	switch s.Type {
	case SecretTypeTLS:
		for _, k := range []string{"tls.crt", "tls.key"} {
			if !has(k) {
				errs = append(errs, Required(dp.Key(k), ""))
			}
		}
	case SecretTypeDockerConfigJSON:
		if !has(".dockerconfigjson") {
			errs = append(errs, Required(dp.Key(".dockerconfigjson"), ""))
		}
	case SecretTypeBasicAuth:
		if !has("username") && !has("password") {
			errs = append(errs, Required(dp.Key("username"), ""), Required(dp.Key("password"), ""))
		}
	case SecretTypeSSHAuth:
		if !has("ssh-privatekey") {
			errs = append(errs, Required(dp.Key("ssh-privatekey"), ""))
		}
	}
	return errs
}

func validateSecretUpdate(n, o *v1.Secret) ErrorList {
	errs := ValidateImmutableField(n.Type, o.Type, NewPath("type"))
	if !o.GetImmutable() {
		return errs
	}
	if !n.GetImmutable() {
		errs = append(errs, Forbidden(NewPath("immutable"), immutableDetail))
	}
	if !bytesMapsEqual(n.Data, o.Data) || len(n.StringData) > 0 {
		errs = append(errs, Forbidden(NewPath("data"), immutableDetail))
	}
	return errs
}

// ---------------------------------------------------------------- Event, Lease

var eventTypes = []string{"Normal", "Warning"}

func validateEvent(e *v1.Event) ErrorList {
	errs := ValidateObjectMeta(e.Metadata, true, NameIsDNSSubdomain, metadataPath)
	ip := NewPath("involvedObject")
	io := e.GetInvolvedObject()
	if io.GetName() == "" {
		errs = append(errs, Required(ip.Child("name"), ""))
	}
	ns := e.GetMetadata().GetNamespace()
	// An event about a cluster-scoped object lives in "default" (or nowhere);
	// one about a namespaced object lives in that object's namespace.
	if io.GetNamespace() == "" {
		if ns != "" && ns != "default" {
			errs = append(errs, Invalid(ip.Child("namespace"), io.GetNamespace(), "does not match event.namespace"))
		}
	} else if ns != io.GetNamespace() {
		errs = append(errs, Invalid(ip.Child("namespace"), io.GetNamespace(), "does not match event.namespace"))
	}
	errs = append(errs, validateEnumAllowEmpty(e.Type, eventTypes, NewPath("type"))...)
	if e.Count < 0 {
		errs = append(errs, Invalid(NewPath("count"), int64(e.Count), "must be greater than or equal to 0"))
	}
	return errs
}

func validateLease(l *v1.Lease) ErrorList {
	errs := ValidateObjectMeta(l.Metadata, true, NameIsDNSSubdomain, metadataPath)
	sp := NewPath("spec")
	if d := l.GetSpec().GetLeaseDurationSeconds(); d < 0 {
		errs = append(errs, Invalid(sp.Child("leaseDurationSeconds"), int64(d), "must be greater than 0"))
	}
	if t := l.GetSpec().GetLeaseTransitions(); t < 0 {
		errs = append(errs, Invalid(sp.Child("leaseTransitions"), int64(t), "must be greater than or equal to 0"))
	}
	return errs
}

// ---------------------------------------------------------------- conditions

var conditionStatuses = []string{"True", "False", "Unknown"}

// validateConditions checks condition types are set and unique and
// statuses are True/False/Unknown.
func validateConditions(cs []*v1.Condition, p *Path) ErrorList {
	var errs ErrorList
	seen := map[string]bool{}
	for i, c := range cs {
		ip := p.Index(i)
		if c == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		if c.Type == "" {
			errs = append(errs, Required(ip.Child("type"), ""))
		} else if seen[c.Type] {
			errs = append(errs, Duplicate(ip.Child("type"), c.Type))
		}
		seen[c.Type] = true
		errs = append(errs, validateEnum(c.Status, conditionStatuses, ip.Child("status"))...)
	}
	return errs
}
