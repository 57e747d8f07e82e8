package framework

import (
	"slices"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/quantity"
)

// Resource names as the API carries them.
const (
	ResourceCPU    = "cpu"
	ResourceMemory = "memory"
	ResourcePods   = "pods"
)

// Defaults the scoring plugins use for a container that requests no cpu or
// memory, as Kubernetes' (Filter counts such a container as 0).
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of the resources the scheduler accounts for.
type Resource struct {
	MilliCPU int64
	Memory   int64
}

// Add adds r2 to r.
func (r *Resource) Add(r2 Resource) {
	r.MilliCPU += r2.MilliCPU
	r.Memory += r2.Memory
}

// Sub subtracts r2 from r.
func (r *Resource) Sub(r2 Resource) {
	r.MilliCPU -= r2.MilliCPU
	r.Memory -= r2.Memory
}

// HostPort is a port a pod takes on its node's address.
type HostPort struct {
	// IP is the host IP, "0.0.0.0" for every address.
	IP       string
	Protocol string
	Port     int32
}

// conflicts reports whether two host ports cannot both be taken.
func (p HostPort) conflicts(q HostPort) bool {
	if p.Port != q.Port || p.Protocol != q.Protocol {
		return false
	}
	return p.IP == q.IP || p.IP == allIPs || q.IP == allIPs
}

const allIPs = "0.0.0.0"

// PodInfo is a pod with what the scheduler derives from it once (parsed
// requests, host ports), so that no cycle parses a quantity. It is
// immutable once built; a changed pod gets a new PodInfo.
type PodInfo struct {
	Pod *v1.Pod
	// Key is "namespace/name".
	Key string
	// Requests is what Filter counts: the sum over containers (or the
	// largest init container, when larger), 0 for a container without
	// requests.
	Requests Resource
	// NonZeroRequests is what scoring counts: as Requests, with
	// DefaultMilliCPURequest and DefaultMemoryRequest for a container that
	// requests none.
	NonZeroRequests Resource
	// HostPorts the pod takes.
	HostPorts []HostPort
}

// NewPodInfo derives a PodInfo from pod (which it keeps, read-only).
func NewPodInfo(pod *v1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Key: pod.GetMetadata().GetNamespace() + "/" + pod.GetMetadata().GetName()}
	var initMax, initMaxNZ Resource
	for _, c := range pod.GetSpec().GetInitContainers() {
		r, nz := containerRequests(c)
		initMax.MilliCPU = max(initMax.MilliCPU, r.MilliCPU)
		initMax.Memory = max(initMax.Memory, r.Memory)
		initMaxNZ.MilliCPU = max(initMaxNZ.MilliCPU, nz.MilliCPU)
		initMaxNZ.Memory = max(initMaxNZ.Memory, nz.Memory)
	}
	for _, c := range pod.GetSpec().GetContainers() {
		r, nz := containerRequests(c)
		pi.Requests.Add(r)
		pi.NonZeroRequests.Add(nz)
		for _, p := range c.GetPorts() {
			if p.GetHostPort() <= 0 {
				continue
			}
			hp := HostPort{IP: p.GetHostIp(), Protocol: p.GetProtocol(), Port: p.GetHostPort()}
			if hp.IP == "" {
				hp.IP = allIPs
			}
			if hp.Protocol == "" {
				hp.Protocol = "TCP"
			}
			pi.HostPorts = append(pi.HostPorts, hp)
		}
	}
	pi.Requests.MilliCPU = max(pi.Requests.MilliCPU, initMax.MilliCPU)
	pi.Requests.Memory = max(pi.Requests.Memory, initMax.Memory)
	pi.NonZeroRequests.MilliCPU = max(pi.NonZeroRequests.MilliCPU, initMaxNZ.MilliCPU)
	pi.NonZeroRequests.Memory = max(pi.NonZeroRequests.Memory, initMaxNZ.Memory)
	return pi
}

// UID is the pod's uid.
func (p *PodInfo) UID() string { return p.Pod.GetMetadata().GetUid() }

// containerRequests returns a container's requests and its non-zero
// variant for scoring. Quantities were validated by the apiserver; one that
// does not parse counts as absent.
func containerRequests(c *v1.Container) (r, nonZero Resource) {
	req := c.GetResources().GetRequests()
	cpuSet, memSet := false, false
	if s, ok := req[ResourceCPU]; ok {
		if q, err := quantity.Parse(s); err == nil {
			r.MilliCPU = q.MilliValue()
			cpuSet = true
		}
	}
	if s, ok := req[ResourceMemory]; ok {
		if q, err := quantity.Parse(s); err == nil {
			r.Memory = q.Value()
			memSet = true
		}
	}
	nonZero = r
	if !cpuSet {
		nonZero.MilliCPU = DefaultMilliCPURequest
	}
	if !memSet {
		nonZero.Memory = DefaultMemoryRequest
	}
	return r, nonZero
}

// NodeInfo is a node with the pods on it (bound and assumed) and their
// summed requests. The scheduler cache owns the live ones; a cycle reads
// immutable clones from a snapshot.
type NodeInfo struct {
	node *v1.Node
	// Pods on the node, bound or assumed.
	Pods []*PodInfo
	// Requested sums Pods' Requests; NonZeroRequested their
	// NonZeroRequests.
	Requested        Resource
	NonZeroRequested Resource
	// Allocatable is the node's status.allocatable (cpu, memory), and
	// AllowedPodNumber its pods entry.
	Allocatable      Resource
	AllowedPodNumber int64
	// UsedPorts are the host ports the pods take.
	UsedPorts []HostPort
	// Generation increases with every change (set by the cache).
	Generation int64
}

// NewNodeInfo returns a NodeInfo holding pods and no node yet.
func NewNodeInfo(pods ...*PodInfo) *NodeInfo {
	ni := &NodeInfo{}
	for _, p := range pods {
		ni.AddPod(p)
	}
	return ni
}

// Node is the node object; nil while only pods are known (a pod's node not
// seen yet).
func (n *NodeInfo) Node() *v1.Node { return n.node }

// Name is the node's name ("" without a node).
func (n *NodeInfo) Name() string { return n.node.GetMetadata().GetName() }

// SetNode sets the node object and parses its allocatable resources.
func (n *NodeInfo) SetNode(node *v1.Node) {
	n.node = node
	n.Allocatable = Resource{}
	n.AllowedPodNumber = 0
	alloc := node.GetStatus().GetAllocatable()
	if q, err := quantity.Parse(alloc[ResourceCPU]); err == nil {
		n.Allocatable.MilliCPU = q.MilliValue()
	}
	if q, err := quantity.Parse(alloc[ResourceMemory]); err == nil {
		n.Allocatable.Memory = q.Value()
	}
	if q, err := quantity.Parse(alloc[ResourcePods]); err == nil {
		n.AllowedPodNumber = q.Value()
	}
}

// AddPod counts p on the node.
func (n *NodeInfo) AddPod(p *PodInfo) {
	n.Pods = append(n.Pods, p)
	n.Requested.Add(p.Requests)
	n.NonZeroRequested.Add(p.NonZeroRequests)
	n.UsedPorts = append(n.UsedPorts, p.HostPorts...)
}

// RemovePod uncounts the pod with key; false when it is not on the node.
func (n *NodeInfo) RemovePod(key string) bool {
	for i, p := range n.Pods {
		if p.Key != key {
			continue
		}
		last := len(n.Pods) - 1
		n.Pods[i] = n.Pods[last]
		n.Pods[last] = nil
		n.Pods = n.Pods[:last]
		n.Requested.Sub(p.Requests)
		n.NonZeroRequested.Sub(p.NonZeroRequests)
		for _, hp := range p.HostPorts {
			if j := slices.Index(n.UsedPorts, hp); j >= 0 {
				n.UsedPorts = slices.Delete(n.UsedPorts, j, j+1)
			}
		}
		return true
	}
	return false
}

// PortsConflict reports whether any of ports is taken on the node.
func (n *NodeInfo) PortsConflict(ports []HostPort) bool {
	for _, want := range ports {
		for _, used := range n.UsedPorts {
			if want.conflicts(used) {
				return true
			}
		}
	}
	return false
}

// Clone returns a copy that shares the node and pod objects (read-only)
// but none of the slices.
func (n *NodeInfo) Clone() *NodeInfo {
	c := *n
	c.Pods = slices.Clone(n.Pods)
	c.UsedPorts = slices.Clone(n.UsedPorts)
	return &c
}

// NodeInfoLister is what a scheduling cycle reads nodes from: a snapshot.
type NodeInfoLister interface {
	// List returns every node that has a Node object, in a stable order.
	List() []*NodeInfo
	// Get returns the node name, or nil.
	Get(name string) *NodeInfo
	// NumNodes is len(List()).
	NumNodes() int
}
