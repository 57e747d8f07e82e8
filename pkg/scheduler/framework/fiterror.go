package framework

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNoNodesAvailable: the cluster has no nodes at all (Kubernetes' text).
var ErrNoNodesAvailable = errors.New("no nodes available to schedule pods")

// Diagnosis records why a pod fits no node.
type Diagnosis struct {
	// NodeToStatus is each rejected node's status.
	NodeToStatus map[string]*Status
	// PreFilterMsg is set when a PreFilter plugin rejected the pod for
	// every node at once.
	PreFilterMsg string
	// UnschedulablePlugins names the plugins that rejected nodes.
	UnschedulablePlugins map[string]bool
}

// FitError is a scheduling cycle's answer when the pod fits no node.
type FitError struct {
	// PodKey is "namespace/name".
	PodKey      string
	NumAllNodes int
	Diagnosis   Diagnosis
}

// Error is the message Kubernetes writes into the PodScheduled condition
// and the FailedScheduling event: "0/3 nodes are available: 1 node(s) had
// untolerated taint {node-role.kubernetes.io/control-plane: }, 2
// Insufficient cpu." — every reason counted over the nodes, the
// "<count> <reason>" strings sorted as strings.
func (f *FitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "0/%d nodes are available:", f.NumAllNodes)
	if msg := f.Diagnosis.PreFilterMsg; msg != "" {
		fmt.Fprintf(&b, " %s.", msg)
		return b.String()
	}
	counts := map[string]int{}
	for _, st := range f.Diagnosis.NodeToStatus {
		for _, r := range st.Reasons() {
			counts[r]++
		}
	}
	if len(counts) == 0 {
		return b.String()
	}
	parts := make([]string, 0, len(counts))
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	fmt.Fprintf(&b, " %s.", strings.Join(parts, ", "))
	return b.String()
}
