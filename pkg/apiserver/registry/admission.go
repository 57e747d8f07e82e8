package registry

import (
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
