package cacher

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"minik8s/pkg/apis"
	"minik8s/pkg/storage"
)

// DefaultKeyRoot is where every resource's keys live.
const DefaultKeyRoot = "/registry/"

// GroupConfig configures a Group.
type GroupConfig struct {
	// Store is the store under every cache (required).
	Store Store
	// Resources to cache; default every kind of apis.Resources.
	Resources []*apis.Resource
	// KeyRoot is the prefix of every key; default "/registry/".
	KeyRoot string
	// Cacher is the template for each cache; its Store, Prefix, NewFunc
	// and Resource are set per resource.
	Cacher Config
}

// Group is one watch cache per resource behind one storage.Interface: List
// and Watch of a cached resource are served by its cache, everything else
// goes to the store.
type Group struct {
	store   Store
	root    string
	cachers map[string]*Cacher
}

var _ storage.Interface = (*Group)(nil)

// NewGroup builds the caches; Run starts them.
func NewGroup(cfg GroupConfig) (*Group, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("watch cache group: no store")
	}
	if cfg.KeyRoot == "" {
		cfg.KeyRoot = DefaultKeyRoot
	}
	if cfg.Resources == nil {
		cfg.Resources = apis.Resources()
	}
	g := &Group{store: cfg.Store, root: cfg.KeyRoot, cachers: map[string]*Cacher{}}
	for _, r := range cfg.Resources {
		cc := cfg.Cacher
		cc.Store = cfg.Store
		cc.Prefix = cfg.KeyRoot + r.Name + "/"
		cc.NewFunc = r.New
		cc.Resource = r.Name
		c, err := New(cc)
		if err != nil {
			return nil, err
		}
		g.cachers[r.Name] = c
	}
	return g, nil
}

// Run runs every cache until ctx ends and they have all stopped.
func (g *Group) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, c := range g.cachers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Run(ctx) // returns nil; it logs its own troubles
		}()
	}
	wg.Wait()
	return nil
}

// WaitReady blocks until every cache is ready or ctx ends.
func (g *Group) WaitReady(ctx context.Context) error {
	for _, c := range g.cachers {
		if err := c.WaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Ready reports whether every cache is ready.
func (g *Group) Ready() bool {
	for _, c := range g.cachers {
		if !c.Ready() {
			return false
		}
	}
	return true
}

// Cacher returns the cache of resource ("pods"), or nil.
func (g *Group) Cacher(resource string) *Cacher { return g.cachers[resource] }

func (g *Group) cacherFor(prefix string) *Cacher {
	if !strings.HasPrefix(prefix, g.root) {
		return nil
	}
	return g.cachers[storage.ResourceOf(prefix)]
}

// Create passes through to the store.
func (g *Group) Create(ctx context.Context, key string, obj apis.Object) error {
	return g.store.Create(ctx, key, obj)
}

// CreateEncoded passes through to the store (see Cacher.CreateEncoded).
func (g *Group) CreateEncoded(ctx context.Context, key string, obj apis.Object, data []byte) error {
	if ec, ok := g.store.(encodedCreator); ok {
		return ec.CreateEncoded(ctx, key, obj, data)
	}
	return g.store.Create(ctx, key, obj)
}

// Get passes through to the store.
func (g *Group) Get(ctx context.Context, key string, out apis.Object) error {
	return g.store.Get(ctx, key, out)
}

// GuaranteedUpdate goes to the store through the resource's cache (see
// Cacher.GuaranteedUpdate).
func (g *Group) GuaranteedUpdate(ctx context.Context, key string, out apis.Object, tryUpdate storage.UpdateFunc) error {
	if c := g.cacherFor(key); c != nil {
		return c.GuaranteedUpdate(ctx, key, out, tryUpdate)
	}
	return g.store.GuaranteedUpdate(ctx, key, out, tryUpdate)
}

// Delete goes to the store through the resource's cache (see
// Cacher.Delete).
func (g *Group) Delete(ctx context.Context, key string, out apis.Object, check func(current apis.Object) error) error {
	if c := g.cacherFor(key); c != nil {
		return c.Delete(ctx, key, out, check)
	}
	return g.store.Delete(ctx, key, out, check)
}

// List is served by the resource's cache (see Cacher.List).
func (g *Group) List(ctx context.Context, prefix string, minRevision int64, newObj func() apis.Object, filter func(apis.Object) bool) ([]apis.Object, int64, error) {
	if c := g.cacherFor(prefix); c != nil {
		return c.List(ctx, prefix, minRevision, newObj, filter)
	}
	return g.store.List(ctx, prefix, minRevision, newObj, filter)
}

// ListPage passes through to the store (see Cacher.ListPage).
func (g *Group) ListPage(ctx context.Context, prefix string, opts storage.PageOptions, newObj func() apis.Object, filter func(apis.Object) bool) (*storage.Page, error) {
	return g.store.ListPage(ctx, prefix, opts, newObj, filter)
}

// ListEvents is Cacher.ListEvents of the resource's cache; a resource
// without a cache is listed from the store and encoded here.
func (g *Group) ListEvents(ctx context.Context, prefix string, minRevision int64, filter func(apis.Object) bool) ([]storage.Event, int64, error) {
	if c := g.cacherFor(prefix); c != nil {
		return c.ListEvents(ctx, prefix, minRevision, filter)
	}
	objs, rev, err := g.store.List(ctx, prefix, minRevision, nil, filter)
	if err != nil {
		return nil, 0, err
	}
	events, err := toEvents(g.root+storage.ResourceOf(prefix)+"/", objs)
	return events, rev, err
}

// Watch is served by the resource's cache (see Cacher.Watch).
func (g *Group) Watch(ctx context.Context, prefix string, revision int64, filter func(apis.Object) bool) (storage.Watcher, error) {
	if c := g.cacherFor(prefix); c != nil {
		return c.Watch(ctx, prefix, revision, filter)
	}
	return g.store.Watch(ctx, prefix, revision, filter)
}
