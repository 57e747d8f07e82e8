// Package plugins holds the scheduler's filter and score plugins, one small
// file each, and the registry that lists them by name. Each plugin mirrors
// the kube-scheduler plugin of the same name, reasons worded the same, so
// unschedulable messages read as Kubernetes' do.
package plugins

import "minik8s/pkg/scheduler/framework"

// Plugin names.
const (
	NameNodeName           = "NodeName"
	NameNodeUnschedulable  = "NodeUnschedulable"
	NameNodeReady          = "NodeReady"
	NameTaintToleration    = "TaintToleration"
	NameNodeResourcesFit   = "NodeResourcesFit"
	NameNodePorts          = "NodePorts"
	NameNodeAffinity       = "NodeAffinity"
	NameLeastAllocated     = "LeastAllocated"
	NameBalancedAllocation = "BalancedAllocation"
)

// NewRegistry lists every plugin.
func NewRegistry() framework.Registry {
	return framework.Registry{
		NameNodeName:           newPlugin(NodeName{}),
		NameNodeUnschedulable:  newPlugin(NodeUnschedulable{}),
		NameNodeReady:          newPlugin(NodeReady{}),
		NameTaintToleration:    newPlugin(TaintToleration{}),
		NameNodeResourcesFit:   newPlugin(NodeResourcesFit{}),
		NameNodePorts:          newPlugin(NodePorts{}),
		NameNodeAffinity:       newPlugin(NodeAffinity{}),
		NameLeastAllocated:     newPlugin(LeastAllocated{}),
		NameBalancedAllocation: newPlugin(BalancedAllocation{}),
	}
}

func newPlugin(p framework.Plugin) framework.Factory {
	return func() (framework.Plugin, error) { return p, nil }
}

// DefaultProfile is the default order of filters (kube-scheduler's, with
// NodeReady after NodeUnschedulable) and the default score weights.
func DefaultProfile() framework.Profile {
	return framework.Profile{
		Filter: []string{
			NameNodeUnschedulable,
			NameNodeReady,
			NameNodeName,
			NameTaintToleration,
			NameNodeAffinity,
			NameNodePorts,
			NameNodeResourcesFit,
		},
		Score: []framework.PluginRef{
			{Name: NameLeastAllocated, Weight: 1},
			{Name: NameBalancedAllocation, Weight: 1},
		},
	}
}

// errNoPreFilterState: a Filter ran without its PreFilter (a bug).
const errNoPreFilterState = errorString("the PreFilter state is missing")

type errorString string

func (e errorString) Error() string { return string(e) }
