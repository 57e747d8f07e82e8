package validation

import (
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/labels"
)

// NameFunc checks a name (prefix is true for a generateName) and returns
// the reasons it is not valid.
type NameFunc func(name string, prefix bool) []string

// NameIsDNSSubdomain is the name rule of most kinds.
func NameIsDNSSubdomain(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return IsDNS1123Subdomain(name)
}

// NameIsDNSLabel is the name rule of namespaces.
func NameIsDNSLabel(name string, prefix bool) []string {
	if prefix {
		name = maskTrailingDash(name)
	}
	return IsDNS1123Label(name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ValidateObjectMeta checks the metadata of an object of a kind with the
// given name rule. A namespaced kind needs a valid namespace; a cluster-scoped
// kind may not have one. A name is required unless generateName is set.
func ValidateObjectMeta(md *v1.ObjectMeta, namespaced bool, nameFn NameFunc, p *Path) ErrorList {
	var errs ErrorList
	if md == nil {
		md = &v1.ObjectMeta{}
	}
	if md.GenerateName != "" {
		for _, msg := range nameFn(md.GenerateName, true) {
			errs = append(errs, Invalid(p.Child("generateName"), md.GenerateName, msg))
		}
	}
	if md.Name == "" {
		if md.GenerateName == "" {
			errs = append(errs, Required(p.Child("name"), "name or generateName is required"))
		}
	} else {
		for _, msg := range nameFn(md.Name, false) {
			errs = append(errs, Invalid(p.Child("name"), md.Name, msg))
		}
	}
	if namespaced {
		if md.Namespace == "" {
			errs = append(errs, Required(p.Child("namespace"), ""))
		} else {
			for _, msg := range IsDNS1123Label(md.Namespace) {
				errs = append(errs, Invalid(p.Child("namespace"), md.Namespace, msg))
			}
		}
	} else if md.Namespace != "" {
		errs = append(errs, Forbidden(p.Child("namespace"), "not allowed on this type"))
	}
	if md.DeletionGracePeriodSeconds != nil && *md.DeletionGracePeriodSeconds < 0 {
		errs = append(errs, Invalid(p.Child("deletionGracePeriodSeconds"), *md.DeletionGracePeriodSeconds, "must be greater than or equal to 0"))
	}
	errs = append(errs, ValidateLabels(md.Labels, p.Child("labels"))...)
	errs = append(errs, ValidateAnnotations(md.Annotations, p.Child("annotations"))...)
	errs = append(errs, validateOwnerReferences(md.OwnerReferences, p.Child("ownerReferences"))...)
	errs = append(errs, validateFinalizers(md.Finalizers, p.Child("finalizers"))...)
	return errs
}

// ValidateLabels checks label keys and values (also used for node selectors).
func ValidateLabels(m map[string]string, p *Path) ErrorList {
	var errs ErrorList
	for _, k := range sortedKeys(m) {
		errs = append(errs, validateLabelName(k, p)...)
		for _, msg := range IsValidLabelValue(m[k]) {
			errs = append(errs, Invalid(p, m[k], msg))
		}
	}
	return errs
}

func validateLabelName(k string, p *Path) ErrorList {
	var errs ErrorList
	for _, msg := range IsQualifiedName(k) {
		errs = append(errs, Invalid(p, k, msg))
	}
	return errs
}

// ValidateAnnotations checks annotation keys and their total size.
func ValidateAnnotations(m map[string]string, p *Path) ErrorList {
	var errs ErrorList
	size := 0
	for _, k := range sortedKeys(m) {
		for _, msg := range IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, Invalid(p, k, msg))
		}
		size += len(k) + len(m[k])
	}
	if size > TotalAnnotationSizeLimit {
		errs = append(errs, TooLong(p, "", TotalAnnotationSizeLimit))
	}
	return errs
}

func validateOwnerReferences(refs []*v1.OwnerReference, p *Path) ErrorList {
	var errs ErrorList
	controllers := 0
	for i, r := range refs {
		ip := p.Index(i)
		if r == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		if r.ApiVersion == "" {
			errs = append(errs, Invalid(ip.Child("apiVersion"), r.ApiVersion, "version must not be empty"))
		}
		if r.Kind == "" {
			errs = append(errs, Invalid(ip.Child("kind"), r.Kind, "kind must not be empty"))
		}
		if r.Name == "" {
			errs = append(errs, Invalid(ip.Child("name"), r.Name, "name must not be empty"))
		}
		if r.Uid == "" {
			errs = append(errs, Invalid(ip.Child("uid"), r.Uid, "uid must not be empty"))
		}
		if r.GetController() {
			controllers++
		}
	}
	if controllers > 1 {
		errs = append(errs, Invalid(p, controllers, "Only one reference can have Controller set to true"))
	}
	return errs
}

// Finalizers the garbage collector understands.
const (
	FinalizerOrphanDependents = "orphan"
	FinalizerDeleteDependents = "foregroundDeletion"
)

func validateFinalizers(fs []string, p *Path) ErrorList {
	var errs ErrorList
	has := map[string]bool{}
	for _, f := range fs {
		for _, msg := range IsQualifiedName(f) {
			errs = append(errs, Invalid(p, f, msg))
		}
		has[f] = true
	}
	if has[FinalizerOrphanDependents] && has[FinalizerDeleteDependents] {
		errs = append(errs, Invalid(p, Omitted{}, "finalizer orphan and foregroundDeletion cannot be both set"))
	}
	return errs
}

// ValidateObjectMetaUpdate checks what may not change in metadata: name,
// namespace and uid (an empty new uid means "keep", as the apiserver fills
// it), and no new finalizers on an object being deleted.
func ValidateObjectMetaUpdate(newMD, oldMD *v1.ObjectMeta, p *Path) ErrorList {
	var errs ErrorList
	if newMD == nil {
		newMD = &v1.ObjectMeta{}
	}
	if oldMD == nil {
		oldMD = &v1.ObjectMeta{}
	}
	errs = append(errs, ValidateImmutableField(newMD.Name, oldMD.Name, p.Child("name"))...)
	errs = append(errs, ValidateImmutableField(newMD.Namespace, oldMD.Namespace, p.Child("namespace"))...)
	if newMD.Uid != "" {
		errs = append(errs, ValidateImmutableField(newMD.Uid, oldMD.Uid, p.Child("uid"))...)
	}
	if newMD.Generation < oldMD.Generation {
		errs = append(errs, Invalid(p.Child("generation"), newMD.Generation, "must not be decremented"))
	}
	if oldMD.DeletionTimestamp != nil {
		old := map[string]bool{}
		for _, f := range oldMD.Finalizers {
			old[f] = true
		}
		var added []string
		for _, f := range newMD.Finalizers {
			if !old[f] {
				added = append(added, f)
			}
		}
		if len(added) > 0 {
			sort.Strings(added)
			errs = append(errs, Forbidden(p.Child("finalizers"),
				"no new finalizers can be added if the object is being deleted, found new finalizers "+strings.Join(quoteAll(added), ", ")))
		}
	}
	return errs
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = `"` + s + `"`
	}
	return out
}

// FieldImmutableErrorMsg is Kubernetes' wording for a changed immutable field.
const FieldImmutableErrorMsg = "field is immutable"

// ValidateImmutableField reports newVal != oldVal as an immutable change.
// Messages compare with proto.Equal; other values with ==.
func ValidateImmutableField[T comparable](newVal, oldVal T, p *Path) ErrorList {
	if newVal == oldVal {
		return nil
	}
	return ErrorList{Invalid(p, newVal, FieldImmutableErrorMsg)}
}

func validateImmutableMessage(newVal, oldVal proto.Message, p *Path, shown any) ErrorList {
	if proto.Equal(newVal, oldVal) {
		return nil
	}
	return ErrorList{Invalid(p, shown, FieldImmutableErrorMsg)}
}

// ValidateLabelSelector checks a label selector's keys, operators and values.
func ValidateLabelSelector(s *v1.LabelSelector, p *Path) ErrorList {
	if s == nil {
		return nil
	}
	var errs ErrorList
	errs = append(errs, ValidateLabels(s.MatchLabels, p.Child("matchLabels"))...)
	for i, r := range s.MatchExpressions {
		ip := p.Child("matchExpressions").Index(i)
		if r == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		switch r.Operator {
		case "In", "NotIn":
			if len(r.Values) == 0 {
				errs = append(errs, Required(ip.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
			}
		case "Exists", "DoesNotExist":
			if len(r.Values) > 0 {
				errs = append(errs, Forbidden(ip.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
			}
		default:
			errs = append(errs, Invalid(ip.Child("operator"), r.Operator, "not a valid selector operator"))
		}
		errs = append(errs, validateLabelName(r.Key, ip.Child("key"))...)
		for j, v := range r.Values {
			for _, msg := range IsValidLabelValue(v) {
				errs = append(errs, Invalid(ip.Child("values").Index(j), v, msg))
			}
		}
	}
	return errs
}

// selectorString prints a label selector as kubectl does ("app=web,tier in (a)").
type selectorString struct{ s *v1.LabelSelector }

func (s selectorString) String() string {
	sel, err := labels.FromLabelSelector(s.s)
	if err != nil || s.s == nil {
		return "<invalid>"
	}
	if sel.Empty() {
		return "<none>"
	}
	return sel.String()
}
