package queue

import "container/heap"

// podHeap is a heap of queued pods with lookup by key.
type podHeap struct {
	items []*QueuedPodInfo
	index map[string]int
	less  func(a, b *QueuedPodInfo) bool
}

func newPodHeap(less func(a, b *QueuedPodInfo) bool) *podHeap {
	return &podHeap{index: map[string]int{}, less: less}
}

// heap.Interface, on the items.
type heapImpl struct{ h *podHeap }

func (x heapImpl) Len() int           { return len(x.h.items) }
func (x heapImpl) Less(i, j int) bool { return x.h.less(x.h.items[i], x.h.items[j]) }
func (x heapImpl) Swap(i, j int) {
	h := x.h
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[h.items[i].Key] = i
	h.index[h.items[j].Key] = j
}
func (x heapImpl) Push(v any) {
	h := x.h
	p := v.(*QueuedPodInfo)
	h.index[p.Key] = len(h.items)
	h.items = append(h.items, p)
}
func (x heapImpl) Pop() any {
	h := x.h
	last := len(h.items) - 1
	p := h.items[last]
	h.items[last] = nil
	h.items = h.items[:last]
	delete(h.index, p.Key)
	return p
}

func (h *podHeap) Len() int { return len(h.items) }

// AddOrUpdate inserts p or replaces the item of its key.
func (h *podHeap) AddOrUpdate(p *QueuedPodInfo) {
	if i, ok := h.index[p.Key]; ok {
		h.items[i] = p
		heap.Fix(heapImpl{h}, i)
		return
	}
	heap.Push(heapImpl{h}, p)
}

// Get returns the item of key.
func (h *podHeap) Get(key string) (*QueuedPodInfo, bool) {
	i, ok := h.index[key]
	if !ok {
		return nil, false
	}
	return h.items[i], true
}

// Delete removes the item of key; false when absent.
func (h *podHeap) Delete(key string) bool {
	i, ok := h.index[key]
	if !ok {
		return false
	}
	heap.Remove(heapImpl{h}, i)
	return true
}

// Peek returns the first item, or nil.
func (h *podHeap) Peek() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

// Pop removes and returns the first item, or nil.
func (h *podHeap) Pop() *QueuedPodInfo {
	if len(h.items) == 0 {
		return nil
	}
	return heap.Pop(heapImpl{h}).(*QueuedPodInfo)
}
