// Package validation checks API objects the way Kubernetes' apiserver does
// and words its findings the same way: every problem names its field path,
// and the error reads
//
//	Pod "web" is invalid: [spec.containers[0].image: Required value, metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain must ...]
//
// Validate and ValidateUpdate expect defaulted objects (run
// defaults.Default first), because Kubernetes validates after defaulting:
// an empty restartPolicy or imagePullPolicy is reported as Required. Objects
// of namespaced kinds need metadata.namespace set; the apiserver fills it
// from the request before validating.
//
// The field-error toolkit (Path, FieldError, ErrorList and the Required,
// Invalid, NotSupported, Duplicate, Forbidden, TooLong constructors) and the
// name checks (IsDNS1123Label, IsQualifiedName, ...) are exported for other
// packages that validate input of their own.
package validation

import (
	"fmt"
	"strings"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// Validate checks a new object. It returns nil, or an error of class
// errdefs.ClassInvalid listing every problem.
func Validate(obj apis.Object) error {
	return NewInvalid(obj, Check(obj))
}

// ValidateUpdate checks newObj as a replacement of oldObj: newObj must be
// valid, and the fields Kubernetes keeps immutable must not have changed.
func ValidateUpdate(newObj, oldObj apis.Object) error {
	return NewInvalid(newObj, CheckUpdate(newObj, oldObj))
}

// NewInvalid builds the Kubernetes-worded ClassInvalid error for obj from
// errs; it is nil when errs is empty.
func NewInvalid(obj apis.Object, errs ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	name := ""
	if obj != nil {
		name = obj.GetMetadata().GetName()
	}
	return &errdefs.Error{
		Class: errdefs.ClassInvalid,
		Msg:   fmt.Sprintf("%s %q is invalid: %s", qualifiedKind(obj), name, errs.Message()),
	}
}

// qualifiedKind is "Pod", "Deployment.apps", "Lease.coordination.k8s.io".
func qualifiedKind(obj apis.Object) string {
	if obj == nil {
		return "Object"
	}
	r, err := apis.ForObject(obj)
	if err != nil {
		return string(obj.ProtoReflect().Descriptor().Name())
	}
	if i := strings.IndexByte(r.APIVersion, '/'); i > 0 {
		return r.Kind + "." + r.APIVersion[:i]
	}
	return r.Kind
}

// Check returns every problem of a new object.
func Check(obj apis.Object) ErrorList {
	switch o := obj.(type) {
	case *v1.Pod:
		return validatePod(o)
	case *v1.Node:
		return validateNode(o)
	case *v1.Namespace:
		return validateNamespace(o)
	case *v1.ConfigMap:
		return validateConfigMap(o)
	case *v1.Secret:
		return validateSecret(o)
	case *v1.Event:
		return validateEvent(o)
	case *v1.Lease:
		return validateLease(o)
	case *v1.ReplicaSet:
		return validateReplicaSet(o)
	case *v1.Deployment:
		return validateDeployment(o)
	case *v1.CertificateSigningRequest:
		return validateCSR(o)
	case nil:
		return ErrorList{Required(NewPath("object"), "")}
	}
	return ErrorList{Invalid(NewPath("kind"), qualifiedKind(obj), "not a kind minik8s serves")}
}

// CheckUpdate returns every problem of newObj replacing oldObj.
func CheckUpdate(newObj, oldObj apis.Object) ErrorList {
	errs := Check(newObj)
	if newObj == nil || oldObj == nil {
		return errs
	}
	if newObj.ProtoReflect().Descriptor() != oldObj.ProtoReflect().Descriptor() {
		return append(errs, Invalid(NewPath("kind"), qualifiedKind(newObj), "does not match the kind of the existing object"))
	}
	errs = append(errs, ValidateObjectMetaUpdate(newObj.GetMetadata(), oldObj.GetMetadata(), NewPath("metadata"))...)
	switch n := newObj.(type) {
	case *v1.Pod:
		errs = append(errs, validatePodUpdate(n, oldObj.(*v1.Pod))...)
	case *v1.Node:
		errs = append(errs, validateNodeUpdate(n, oldObj.(*v1.Node))...)
	case *v1.ConfigMap:
		errs = append(errs, validateConfigMapUpdate(n, oldObj.(*v1.ConfigMap))...)
	case *v1.Secret:
		errs = append(errs, validateSecretUpdate(n, oldObj.(*v1.Secret))...)
	case *v1.ReplicaSet:
		o := oldObj.(*v1.ReplicaSet)
		errs = append(errs, validateImmutableMessage(n.GetSpec().GetSelector(), o.GetSpec().GetSelector(),
			NewPath("spec", "selector"), selectorString{n.GetSpec().GetSelector()})...)
	case *v1.Deployment:
		o := oldObj.(*v1.Deployment)
		errs = append(errs, validateImmutableMessage(n.GetSpec().GetSelector(), o.GetSpec().GetSelector(),
			NewPath("spec", "selector"), selectorString{n.GetSpec().GetSelector()})...)
	case *v1.CertificateSigningRequest:
		o := oldObj.(*v1.CertificateSigningRequest)
		errs = append(errs, validateImmutableMessage(n.GetSpec(), o.GetSpec(), NewPath("spec"), Omitted{})...)
	}
	return errs
}
