package apiserver

import (
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/fields"
	"minik8s/pkg/apis/labels"
)

// selection is a request's label and field selectors, parsed once.
type selection struct {
	labels    labels.Selector
	fields    fields.Selector
	hasLabels bool
	hasFields bool
}

// parseSelection reads the selectors of a list or watch of resource.
func parseSelection(resource, labelSelector, fieldSelector string) (*selection, error) {
	s := &selection{}
	if labelSelector != "" {
		ls, err := labels.Parse(labelSelector)
		if err != nil {
			return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "invalid label selector")
		}
		s.labels, s.hasLabels = ls, !ls.Empty()
	}
	if fieldSelector != "" {
		fs, err := fields.Parse(fieldSelector)
		if err != nil {
			return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "invalid field selector")
		}
		if err := fields.Validate(resource, fs); err != nil {
			return nil, err
		}
		s.fields, s.hasFields = fs, !fs.Empty()
	}
	return s, nil
}

// filter is the predicate the store applies; nil when it selects
// everything.
func (s *selection) filter() func(apis.Object) bool {
	switch {
	case s == nil || (!s.hasLabels && !s.hasFields):
		return nil
	case !s.hasFields:
		ls := s.labels
		return func(o apis.Object) bool { return ls.Matches(o.GetMetadata().GetLabels()) }
	case !s.hasLabels:
		fs := s.fields
		return func(o apis.Object) bool { return fs.Matches(o) }
	}
	ls, fs := s.labels, s.fields
	return func(o apis.Object) bool {
		return ls.Matches(o.GetMetadata().GetLabels()) && fs.Matches(o)
	}
}
