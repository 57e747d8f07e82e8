package informer

import (
	"fmt"
	"sort"
	"sync"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// NamespaceIndex is the index every Store has: objects by namespace.
const NamespaceIndex = "namespace"

// IndexFunc returns the values an object is indexed under (none, one or
// several).
type IndexFunc[T apis.Object] func(obj T) []string

// Indexers name index functions.
type Indexers[T apis.Object] map[string]IndexFunc[T]

// Store is a thread-safe map of objects by key (apis.Key: "namespace/name"
// or "name") with indices. The objects it holds and returns are shared:
// read-only; clone one (proto.Clone) before changing it.
type Store[T apis.Object] struct {
	mu       sync.RWMutex
	items    map[string]T
	indexers Indexers[T]
	// indices[indexName][value] is the set of keys indexed under value.
	indices map[string]map[string]map[string]struct{}
}

// NewStore returns an empty store with the namespace index.
func NewStore[T apis.Object]() *Store[T] {
	s := &Store[T]{
		items:    map[string]T{},
		indexers: Indexers[T]{},
		indices:  map[string]map[string]map[string]struct{}{},
	}
	s.indexers[NamespaceIndex] = func(obj T) []string { return []string{obj.GetMetadata().GetNamespace()} }
	s.indices[NamespaceIndex] = map[string]map[string]struct{}{}
	return s
}

// AddIndexers adds indices, indexing the objects already stored. A name
// already in use is an error.
func (s *Store[T]) AddIndexers(indexers Indexers[T]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range indexers {
		if _, ok := s.indexers[name]; ok {
			return errdefs.AlreadyExists("index %q already exists", name)
		}
	}
	for name, fn := range indexers {
		s.indexers[name] = fn
		idx := map[string]map[string]struct{}{}
		s.indices[name] = idx
		for key, obj := range s.items {
			for _, v := range fn(obj) {
				addKey(idx, v, key)
			}
		}
	}
	return nil
}

func addKey(idx map[string]map[string]struct{}, value, key string) {
	set := idx[value]
	if set == nil {
		set = map[string]struct{}{}
		idx[value] = set
	}
	set[key] = struct{}{}
}

// Get returns the object stored under key.
func (s *Store[T]) Get(key string) (T, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	obj, ok := s.items[key]
	return obj, ok
}

// Len is the number of objects.
func (s *Store[T]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}

// List returns every object, in no particular order.
func (s *Store[T]) List() []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]T, 0, len(s.items))
	for _, obj := range s.items {
		out = append(out, obj)
	}
	return out
}

// ListKeys returns every key, sorted.
func (s *Store[T]) ListKeys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.items))
	for k := range s.items {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ByIndex returns the objects indexed under value in the index indexName.
func (s *Store[T]) ByIndex(indexName, value string) ([]T, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx, ok := s.indices[indexName]
	if !ok {
		return nil, errdefs.NotFound("index %q does not exist", indexName)
	}
	set := idx[value]
	out := make([]T, 0, len(set))
	for k := range set {
		out = append(out, s.items[k])
	}
	return out, nil
}

// IndexKeys returns the keys indexed under value in the index indexName,
// sorted.
func (s *Store[T]) IndexKeys(indexName, value string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	idx, ok := s.indices[indexName]
	if !ok {
		return nil, errdefs.NotFound("index %q does not exist", indexName)
	}
	out := make([]string, 0, len(idx[value]))
	for k := range idx[value] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// Upsert stores obj under its key, replacing what was there. An informer
// feeds its own store; Upsert and Delete are for stores a test or a
// component fills itself — never call them on an informer's store.
func (s *Store[T]) Upsert(obj T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(apis.Key(obj), obj)
}

// Delete removes the object stored under key.
func (s *Store[T]) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(key)
}

// put stores obj under key; s.mu is held.
func (s *Store[T]) put(key string, obj T) {
	if old, ok := s.items[key]; ok {
		s.unindex(key, old)
	}
	s.items[key] = obj
	for name, fn := range s.indexers {
		idx := s.indices[name]
		for _, v := range fn(obj) {
			addKey(idx, v, key)
		}
	}
}

// remove deletes key; s.mu is held.
func (s *Store[T]) remove(key string) {
	old, ok := s.items[key]
	if !ok {
		return
	}
	s.unindex(key, old)
	delete(s.items, key)
}

func (s *Store[T]) unindex(key string, obj T) {
	for name, fn := range s.indexers {
		idx := s.indices[name]
		for _, v := range fn(obj) {
			if set := idx[v]; set != nil {
				delete(set, key)
				if len(set) == 0 {
					delete(idx, v)
				}
			}
		}
	}
}

// snapshot copies the map of items; s.mu is not held.
func (s *Store[T]) snapshot() map[string]T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]T, len(s.items))
	for k, v := range s.items {
		out[k] = v
	}
	return out
}

// String is for debugging.
func (s *Store[T]) String() string { return fmt.Sprintf("Store(%d objects)", s.Len()) }
