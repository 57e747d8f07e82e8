// Package cache is the scheduler's view of the cluster: every node with the
// pods on it and their summed requests, including pods the scheduler has
// assumed onto a node before the apiserver confirmed the binding, so that a
// burst of decisions never overcommits a node.
//
// A pod's life in the cache: AssumePod (the cycle chose a node) -> AddPod
// (the informer saw the pod bound: the assumption is confirmed) ->
// RemovePod (deleted or finished). ForgetPod drops an assumption whose bind
// failed. The cache is safe for concurrent use.
//
// Each scheduling cycle reads an immutable Snapshot, refreshed by
// UpdateSnapshot from the nodes that changed since the last refresh only
// (generation numbers), so a cycle does not copy a thousand nodes.
package cache

import (
	"fmt"
	"sort"
	"sync"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/scheduler/framework"
)

// nodeItem is one node in the cache's recency list.
type nodeItem struct {
	info       *framework.NodeInfo
	prev, next *nodeItem
}

// podState is a pod the cache counts on a node.
type podState struct {
	pod     *framework.PodInfo
	node    string
	assumed bool
}

// Cache holds nodes and the pods counted on them.
type Cache struct {
	mu sync.Mutex
	// nodes by name; an item's info may have no Node (the node is gone or
	// not seen yet) while pods still count on it.
	nodes map[string]*nodeItem
	// head is the most recently changed node.
	head *nodeItem
	// withNode counts items whose info has a Node.
	withNode   int
	pods       map[string]*podState
	generation int64
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{nodes: map[string]*nodeItem{}, pods: map[string]*podState{}}
}

// touch gives item a new generation and moves it to the head of the list;
// c.mu is held.
func (c *Cache) touch(item *nodeItem) {
	c.generation++
	item.info.Generation = c.generation
	if c.head == item {
		return
	}
	if item.prev != nil {
		item.prev.next = item.next
	}
	if item.next != nil {
		item.next.prev = item.prev
	}
	item.prev = nil
	item.next = c.head
	if c.head != nil {
		c.head.prev = item
	}
	c.head = item
}

// unlink removes item from the list and the map; c.mu is held.
func (c *Cache) unlink(name string, item *nodeItem) {
	if item.prev != nil {
		item.prev.next = item.next
	}
	if item.next != nil {
		item.next.prev = item.prev
	}
	if c.head == item {
		c.head = item.next
	}
	delete(c.nodes, name)
}

// item returns the item of node name, creating one without a Node; c.mu is
// held.
func (c *Cache) item(name string) *nodeItem {
	it, ok := c.nodes[name]
	if !ok {
		it = &nodeItem{info: framework.NewNodeInfo()}
		c.nodes[name] = it
	}
	return it
}

// AddNode adds or replaces a node.
func (c *Cache) AddNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := c.item(node.GetMetadata().GetName())
	if it.info.Node() == nil {
		c.withNode++
	}
	it.info.SetNode(node)
	c.touch(it)
}

// UpdateNode replaces a node (AddNode under another name, for handlers).
func (c *Cache) UpdateNode(node *v1.Node) { c.AddNode(node) }

// RemoveNode removes a node. Pods still counted on it keep a placeholder
// until they are removed, as in kube-scheduler.
func (c *Cache) RemoveNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.nodes[name]
	if !ok {
		return
	}
	if it.info.Node() != nil {
		c.withNode--
	}
	if len(it.info.Pods) == 0 {
		c.unlink(name, it)
		c.generation++
		return
	}
	keep := framework.NewNodeInfo()
	for _, p := range it.info.Pods {
		keep.AddPod(p)
	}
	it.info = keep
	c.touch(it)
}

// addPodLocked counts pod on node; c.mu is held.
func (c *Cache) addPodLocked(pi *framework.PodInfo, node string, assumed bool) {
	it := c.item(node)
	it.info.AddPod(pi)
	c.touch(it)
	c.pods[pi.Key] = &podState{pod: pi, node: node, assumed: assumed}
}

// removePodLocked uncounts a pod; c.mu is held.
func (c *Cache) removePodLocked(ps *podState) {
	delete(c.pods, ps.pod.Key)
	it, ok := c.nodes[ps.node]
	if !ok {
		return
	}
	it.info.RemovePod(ps.pod.Key)
	if it.info.Node() == nil && len(it.info.Pods) == 0 {
		c.unlink(ps.node, it)
		c.generation++
		return
	}
	c.touch(it)
}

// AssumePod counts pod on node before the binding is confirmed. It fails
// when the pod is already in the cache.
func (c *Cache) AssumePod(pi *framework.PodInfo, node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pi.Key]; ok {
		return errdefs.AlreadyExists("pod %s is already in the scheduler cache", pi.Key)
	}
	c.addPodLocked(pi, node, true)
	return nil
}

// ForgetPod drops the assumption of pod key (its bind failed). It does
// nothing when the pod is not assumed (any more): an informer update that
// already confirmed or removed it wins.
func (c *Cache) ForgetPod(key, uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[key]
	if !ok || !ps.assumed || ps.pod.UID() != uid {
		return
	}
	c.removePodLocked(ps)
}

// AddPod records a pod the apiserver has bound (pi.Pod.spec.nodeName set):
// it confirms an assumption (moving the pod when it was bound elsewhere) or
// adds the pod.
func (c *Cache) AddPod(pi *framework.PodInfo) {
	node := pi.Pod.GetSpec().GetNodeName()
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.pods[pi.Key]; ok {
		c.removePodLocked(ps)
	}
	c.addPodLocked(pi, node, false)
}

// UpdatePod replaces a bound pod (its requests may have changed).
func (c *Cache) UpdatePod(pi *framework.PodInfo) { c.AddPod(pi) }

// RemovePod uncounts the pod key, whatever its state; false when it was
// not in the cache.
func (c *Cache) RemovePod(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[key]
	if !ok {
		return false
	}
	c.removePodLocked(ps)
	return true
}

// IsAssumedPod reports whether pod key with uid is assumed and not yet
// confirmed.
func (c *Cache) IsAssumedPod(key, uid string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, ok := c.pods[key]
	return ok && ps.assumed && ps.pod.UID() == uid
}

// PodNode returns the node pod key counts on and whether it is assumed.
func (c *Cache) PodNode(key string) (node string, assumed, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps, found := c.pods[key]
	if !found {
		return "", false, false
	}
	return ps.node, ps.assumed, true
}

// Counts returns the number of nodes (with a Node object), of pods and of
// assumed pods.
func (c *Cache) Counts() (nodes, pods, assumed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ps := range c.pods {
		if ps.assumed {
			assumed++
		}
	}
	return c.withNode, len(c.pods), assumed
}

// Snapshot is what one scheduling cycle reads: every node with a Node
// object, as it was when UpdateSnapshot last ran. It belongs to the
// goroutine that runs cycles and must not be read while UpdateSnapshot
// runs.
type Snapshot struct {
	byName     map[string]*framework.NodeInfo
	list       []*framework.NodeInfo
	generation int64
}

var _ framework.NodeInfoLister = (*Snapshot)(nil)

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot { return &Snapshot{byName: map[string]*framework.NodeInfo{}} }

// List implements framework.NodeInfoLister (nodes sorted by name).
func (s *Snapshot) List() []*framework.NodeInfo { return s.list }

// Get implements framework.NodeInfoLister.
func (s *Snapshot) Get(name string) *framework.NodeInfo { return s.byName[name] }

// NumNodes implements framework.NodeInfoLister.
func (s *Snapshot) NumNodes() int { return len(s.list) }

// Generation is the cache generation the snapshot reflects.
func (s *Snapshot) Generation() int64 { return s.generation }

// UpdateSnapshot brings s up to date, copying only the nodes that changed
// since s was last updated.
func (c *Cache) UpdateSnapshot(s *Snapshot) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rebuild := false
	for it := c.head; it != nil && it.info.Generation > s.generation; it = it.next {
		n := it.info.Node()
		if n == nil {
			continue
		}
		name := n.GetMetadata().GetName()
		existing, ok := s.byName[name]
		if !ok {
			existing = &framework.NodeInfo{}
			s.byName[name] = existing
			rebuild = true
		}
		*existing = *it.info.Clone()
	}
	s.generation = c.generation
	if len(s.byName) != c.withNode {
		for name := range s.byName {
			if it, ok := c.nodes[name]; !ok || it.info.Node() == nil {
				delete(s.byName, name)
			}
		}
		rebuild = true
	}
	if rebuild {
		s.list = s.list[:0]
		for _, ni := range s.byName {
			s.list = append(s.list, ni)
		}
		sort.Slice(s.list, func(i, j int) bool { return s.list[i].Name() < s.list[j].Name() })
	}
	if len(s.list) != c.withNode {
		return fmt.Errorf("snapshot has %d nodes, the cache %d", len(s.list), c.withNode)
	}
	return nil
}
