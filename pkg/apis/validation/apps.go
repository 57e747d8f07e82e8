package validation

import (
	"math"
	"strconv"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/labels"
)

func validateReplicaSet(rs *v1.ReplicaSet) ErrorList {
	errs := ValidateObjectMeta(rs.Metadata, true, NameIsDNSSubdomain, metadataPath)
	sp := NewPath("spec")
	s := rs.GetSpec()
	if s == nil {
		return append(errs, Required(sp, ""))
	}
	if s.Replicas != nil && *s.Replicas < 0 {
		errs = append(errs, Invalid(sp.Child("replicas"), int64(*s.Replicas), "must be greater than or equal to 0"))
	}
	if s.MinReadySeconds < 0 {
		errs = append(errs, Invalid(sp.Child("minReadySeconds"), int64(s.MinReadySeconds), "must be greater than or equal to 0"))
	}
	return append(errs, validateSelectorAndTemplate(s.Selector, s.Template, sp)...)
}

func validateDeployment(d *v1.Deployment) ErrorList {
	errs := ValidateObjectMeta(d.Metadata, true, NameIsDNSSubdomain, metadataPath)
	sp := NewPath("spec")
	s := d.GetSpec()
	if s == nil {
		return append(errs, Required(sp, ""))
	}
	if s.Replicas != nil && *s.Replicas < 0 {
		errs = append(errs, Invalid(sp.Child("replicas"), int64(*s.Replicas), "must be greater than or equal to 0"))
	}
	errs = append(errs, validateSelectorAndTemplate(s.Selector, s.Template, sp)...)
	errs = append(errs, validateStrategy(s.Strategy, sp.Child("strategy"))...)
	if s.MinReadySeconds < 0 {
		errs = append(errs, Invalid(sp.Child("minReadySeconds"), int64(s.MinReadySeconds), "must be greater than or equal to 0"))
	}
	if v := s.RevisionHistoryLimit; v != nil && *v < 0 {
		errs = append(errs, Invalid(sp.Child("revisionHistoryLimit"), int64(*v), "must be greater than or equal to 0"))
	}
	if v := s.ProgressDeadlineSeconds; v != nil {
		if *v < 0 {
			errs = append(errs, Invalid(sp.Child("progressDeadlineSeconds"), int64(*v), "must be greater than or equal to 0"))
		}
		if *v <= s.MinReadySeconds {
			errs = append(errs, Invalid(sp.Child("progressDeadlineSeconds"), int64(*v), "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateSelectorAndTemplate checks a workload's selector (required, not
// empty, matching the template's labels) and its pod template, which must
// restart Always.
func validateSelectorAndTemplate(sel *v1.LabelSelector, t *v1.PodTemplateSpec, sp *Path) ErrorList {
	var errs ErrorList
	selPath := sp.Child("selector")
	if sel == nil {
		errs = append(errs, Required(selPath, ""))
	} else {
		errs = append(errs, ValidateLabelSelector(sel, selPath)...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, Invalid(selPath, selectorString{sel}, "empty selector is invalid for deployment"))
		}
	}
	tp := sp.Child("template")
	if t == nil {
		return append(errs, Required(tp, ""))
	}
	selector, err := labels.FromLabelSelector(sel)
	if err != nil {
		errs = append(errs, Invalid(selPath, selectorString{sel}, "invalid label selector"))
	} else if sel != nil && !selector.Empty() && !selector.Matches(t.GetMetadata().GetLabels()) {
		errs = append(errs, Invalid(tp.Child("metadata", "labels"), t.GetMetadata().GetLabels(), "`selector` does not match template `labels`"))
	}
	errs = append(errs, ValidateLabels(t.GetMetadata().GetLabels(), tp.Child("metadata", "labels"))...)
	errs = append(errs, ValidateAnnotations(t.GetMetadata().GetAnnotations(), tp.Child("metadata", "annotations"))...)
	errs = append(errs, ValidatePodSpec(t.Spec, tp.Child("spec"))...)
	if t.Spec != nil {
		if t.Spec.RestartPolicy != "Always" {
			errs = append(errs, NotSupported(tp.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []string{"Always"}))
		}
		if t.Spec.ActiveDeadlineSeconds != nil {
			errs = append(errs, Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
		}
	}
	return errs
}

func validateStrategy(s *v1.DeploymentStrategy, p *Path) ErrorList {
	var errs ErrorList
	switch s.GetType() {
	case "Recreate":
		if s.RollingUpdate != nil {
			errs = append(errs, Forbidden(p.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case "RollingUpdate":
		ru := s.RollingUpdate
		if ru == nil {
			return append(errs, Required(p.Child("rollingUpdate"), "this should be defaulted and never be nil"))
		}
		rp := p.Child("rollingUpdate")
		errs = append(errs, ValidatePositiveIntOrPercent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, ValidatePositiveIntOrPercent(ru.MaxSurge, rp.Child("maxSurge"))...)
		if intOrPercentValue(ru.MaxUnavailable) == 0 && intOrPercentValue(ru.MaxSurge) == 0 {
			errs = append(errs, Invalid(rp.Child("maxUnavailable"), intOrStringValue(ru.MaxUnavailable), "may not be 0 when `maxSurge` is 0"))
		}
		if _, isInt := ParseIntOrString(ru.MaxUnavailable); !isInt && len(IsValidPercent(ru.MaxUnavailable)) == 0 && intOrPercentValue(ru.MaxUnavailable) > 100 {
			errs = append(errs, Invalid(rp.Child("maxUnavailable"), ru.MaxUnavailable, "must not be greater than 100%"))
		}
	default:
		errs = append(errs, NotSupported(p.Child("type"), s.GetType(), []string{"Recreate", "RollingUpdate"}))
	}
	return errs
}

// ValidatePositiveIntOrPercent checks an int-or-percent field ("25%", 1):
// an integer >= 0 or a valid percent.
func ValidatePositiveIntOrPercent(s string, p *Path) ErrorList {
	if n, isInt := ParseIntOrString(s); isInt {
		if n < 0 {
			return ErrorList{Invalid(p, int64(n), "must be greater than or equal to 0")}
		}
		return nil
	}
	var errs ErrorList
	for _, msg := range IsValidPercent(s) {
		errs = append(errs, Invalid(p, s, msg))
	}
	return errs
}

// intOrPercentValue is the number of an int or a percent (-1 when neither).
func intOrPercentValue(s string) int {
	if n, isInt := ParseIntOrString(s); isInt {
		return n
	}
	if len(IsValidPercent(s)) > 0 {
		return -1
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil {
		return math.MaxInt // all digits: only too large to parse
	}
	return n
}

// intOrStringValue is the value to print for an int-or-string field.
func intOrStringValue(s string) any {
	if n, isInt := ParseIntOrString(s); isInt {
		return int64(n)
	}
	return s
}
