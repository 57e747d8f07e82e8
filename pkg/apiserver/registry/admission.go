package registry

import (
	"slices"
	"strconv"
	"strings"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/defaults"
	"minik8s/pkg/apis/validation"
)

// The calls into the admission packages (pkg/apis/defaults and
// pkg/apis/validation) live here, in one place.

// defaultObject applies Kubernetes defaulting; idempotent.
func defaultObject(obj apis.Object) { defaults.Default(obj) }

// validateObject checks a new (defaulted) object; nil or an
// errdefs.ClassInvalid error naming the field paths.
func validateObject(obj apis.Object) error { return validation.Validate(obj) }

// validateObjectUpdate checks a change of an object.
func validateObjectUpdate(newObj, oldObj apis.Object) error {
	return validation.ValidateUpdate(newObj, oldObj)
}

// validateNamespaceUpdate keeps a namespace's lifecycle one-way: its
// phase follows its deletion (Active until deleted, Terminating after),
// and a Terminating namespace's spec.finalizers may only lose entries.
func validateNamespaceUpdate(newObj, oldObj apis.Object) error {
	n, o := newObj.(*v1.Namespace), oldObj.(*v1.Namespace)
	var errs validation.ErrorList
	phase := validation.NewPath("status", "phase")
	switch p := n.GetStatus().GetPhase(); {
	case n.GetMetadata().GetDeletionTimestamp() == nil && p != NamespaceActive:
		errs = append(errs, validation.Forbidden(phase, "may only be 'Active' if `deletionTimestamp` is empty"))
	case n.GetMetadata().GetDeletionTimestamp() != nil && p != NamespaceTerminating:
		errs = append(errs, validation.Forbidden(phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	if isTerminating(o) {
		var added []string
		for _, f := range n.GetSpec().GetFinalizers() {
			if !slices.Contains(o.GetSpec().GetFinalizers(), f) {
				added = append(added, strconv.Quote(f))
			}
		}
		if len(added) > 0 {
			errs = append(errs, validation.Forbidden(validation.NewPath("spec", "finalizers"),
				"no new finalizers can be added if the namespace is being terminated, found new finalizers "+strings.Join(added, ", ")))
		}
	}
	return validation.NewInvalid(newObj, errs)
}
