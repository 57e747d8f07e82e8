// Package framework is the scheduler's plugin framework, in the shape of
// kube-scheduler's: one tiny interface per extension point (PreFilter,
// Filter, Score), a Status whose Code separates "this node does not fit"
// (Unschedulable) from "something broke" (Error), the per-pod and per-node
// views plugins read (PodInfo, NodeInfo), and the Framework that runs an
// ordered set of plugins built from an explicit registry.
//
// Plugins do no I/O and keep no state between calls: Filter and Score run
// concurrently over many nodes with the same CycleState, which only
// PreFilter writes.
package framework

import (
	"errors"
	"strings"
)

// Code is the outcome of a plugin call.
type Code int

// The codes, as kube-scheduler's.
const (
	// Success: the node fits (Filter) or the plugin ran (PreFilter, Score).
	Success Code = iota
	// Error: something broke; the pod is retried after a backoff.
	Error
	// Unschedulable: the node does not fit now; it may after a cluster
	// change (preemption or other pods leaving could help).
	Unschedulable
	// UnschedulableAndUnresolvable: the node does not fit and nothing but a
	// change of the node or the pod will make it fit.
	UnschedulableAndUnresolvable
	// Skip: from PreFilter, the plugin has nothing to check for this pod;
	// its Filter is not called.
	Skip
)

var codeNames = [...]string{"Success", "Error", "Unschedulable", "UnschedulableAndUnresolvable", "Skip"}

// String is the code's name, as metrics label it.
func (c Code) String() string {
	if int(c) >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Unknown"
}

// Status is what a plugin returns. A nil *Status means Success.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus returns a status of code with reasons (the strings the
// unschedulable message counts, e.g. "Insufficient cpu").
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// AsStatus wraps err as an Error status; nil gives nil (Success).
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code is the status' code; Success for nil.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess is true for nil and Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip is true for Skip.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected is true for Unschedulable and UnschedulableAndUnresolvable:
// the node does not fit, and nothing is broken.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons are the status' reasons (nil for Success).
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// Plugin names the plugin that returned the status (set by the Framework).
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin records the plugin that returned s and returns s.
func (s *Status) WithPlugin(name string) *Status {
	if s != nil {
		s.plugin = name
	}
	return s
}

// AsError turns a non-success status into an error (nil for Success and
// Skip).
func (s *Status) AsError() error {
	if s.IsSuccess() || s.IsSkip() {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	return errors.New(s.Message())
}

// MaxNodeScore is the highest score a Score plugin gives a node; the lowest
// is 0.
const MaxNodeScore int64 = 100

// Plugin is anything the framework runs.
type Plugin interface {
	// Name is the plugin's registry name ("NodeResourcesFit").
	Name() string
}

// PreFilterPlugin prepares what its Filter needs for one pod, once per
// scheduling cycle, and may reject the pod outright.
type PreFilterPlugin interface {
	Plugin
	// PreFilter may write to state (its own keys). Skip means its Filter
	// has nothing to check; a rejection makes the pod unschedulable on
	// every node.
	PreFilter(state *CycleState, pod *PodInfo) *Status
}

// FilterPlugin says whether a pod fits a node.
type FilterPlugin interface {
	Plugin
	// Filter returns nil when the pod fits, a rejection (with the reasons
	// the unschedulable message counts) when it does not, an Error when it
	// cannot tell. It runs concurrently over nodes; state is read-only.
	Filter(state *CycleState, pod *PodInfo, node *NodeInfo) *Status
}

// ScorePlugin ranks the nodes that fit.
type ScorePlugin interface {
	Plugin
	// Score returns 0..MaxNodeScore; higher is better. It runs
	// concurrently over nodes; state is read-only.
	Score(state *CycleState, pod *PodInfo, node *NodeInfo) (int64, *Status)
}

// StateKey names one datum of a CycleState; plugins use their own name.
type StateKey string

// CycleState carries what PreFilter plugins compute for one pod to their
// Filter and Score. PreFilter writes it (one goroutine); Filter and Score
// only read it, concurrently.
type CycleState struct {
	data map[StateKey]any
	// skipFilter[i] is set when the PreFilter of the i-th Filter plugin
	// returned Skip.
	skipFilter    []bool
	recordMetrics bool
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState { return &CycleState{} }

// Write stores v under k. Only during PreFilter.
func (c *CycleState) Write(k StateKey, v any) {
	if c.data == nil {
		c.data = map[StateKey]any{}
	}
	c.data[k] = v
}

// Read returns what is stored under k.
func (c *CycleState) Read(k StateKey) (any, bool) {
	v, ok := c.data[k]
	return v, ok
}

// SetRecordPluginMetrics marks the cycle as one whose plugin durations are
// observed (a sample of cycles is).
func (c *CycleState) SetRecordPluginMetrics(on bool) { c.recordMetrics = on }

// RecordPluginMetrics says whether plugin durations are observed in this
// cycle.
func (c *CycleState) RecordPluginMetrics() bool { return c.recordMetrics }

// nodeSampleStride: in a sampled cycle, the per-node plugin calls of one
// node in this many are timed. Timing every call of a thousand-node cycle
// would cost more than the plugins themselves.
const nodeSampleStride = 16

// TimeNode says whether the plugin calls on the i-th node of this cycle
// are timed.
func (c *CycleState) TimeNode(i int) bool { return c.recordMetrics && i%nodeSampleStride == 0 }
