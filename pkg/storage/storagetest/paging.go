package storagetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
)

// Compactor is a store whose history can be discarded up to a revision;
// the contract's case of a compacted continue token needs it (the etcd
// store is one; a cache's test gives the cache its store's Compact).
type Compactor interface {
	Compact(ctx context.Context, rev int64) error
}

// ListPages reads every page of the list of prefix with limit, failing t
// on an error or on a page that breaks the paging contract (a page over
// the limit, a revision that moves between pages, a non-last page without
// a token). It returns the pages in order.
func ListPages(t testing.TB, s storage.Interface, prefix string, limit int64, filter func(apis.Object) bool) []*storage.Page {
	t.Helper()
	var pages []*storage.Page
	token := ""
	for {
		p, err := s.ListPage(Ctx(t), prefix, storage.PageOptions{Limit: limit, Continue: token}, NewPod, filter)
		if err != nil {
			t.Fatalf("page %d of %s (limit %d): %v", len(pages)+1, prefix, limit, err)
		}
		if int64(len(p.Items)) > limit {
			t.Fatalf("page %d holds %d objects, over the limit %d", len(pages)+1, len(p.Items), limit)
		}
		if len(pages) > 0 && p.Revision != pages[0].Revision {
			t.Fatalf("page %d read at revision %d, the first at %d", len(pages)+1, p.Revision, pages[0].Revision)
		}
		if p.Revision <= 0 {
			t.Fatalf("page %d has revision %d", len(pages)+1, p.Revision)
		}
		for _, o := range p.Items {
			RV(t, o)
		}
		pages = append(pages, p)
		if p.Continue == "" {
			return pages
		}
		if len(pages) > 1000 {
			t.Fatalf("more than 1000 pages of %s at limit %d", prefix, limit)
		}
		token = p.Continue
	}
}

// keysOf is "namespace/name" of every object of pages, in order.
func keysOf(pages ...*storage.Page) []string {
	var out []string
	for _, p := range pages {
		for _, o := range p.Items {
			out = append(out, apis.Key(o))
		}
	}
	return out
}

// makePods creates pods p0..p<n-1> in each namespace, labeled team=x on
// even and team=y on odd numbers, and returns the last revision.
func makePods(t *testing.T, s storage.Interface, n int, namespaces ...string) int64 {
	var last int64
	for _, ns := range namespaces {
		for i := range n {
			team := "x"
			if i%2 == 1 {
				team = "y"
			}
			last = MustCreate(t, s, Pod(ns, fmt.Sprintf("p%02d", i), map[string]string{"team": team}))
		}
	}
	return last
}

func podNames(n int, namespaces ...string) []string {
	var out []string
	for _, ns := range namespaces {
		for i := range n {
			out = append(out, fmt.Sprintf("%s/p%02d", ns, i))
		}
	}
	return out
}

func testListPages(t *testing.T, s storage.Interface) {
	// "ab" sorts between "a" and "b" and shares a's first letter: a list
	// of namespace a must not reach it.
	last := makePods(t, s, 5, "a", "ab", "b")
	tests := []struct {
		prefix string
		want   []string
	}{
		{PodPrefix, podNames(5, "a", "ab", "b")},
		{PodPrefix + "a/", podNames(5, "a")},
		{PodPrefix + "ab/", podNames(5, "ab")},
		{PodPrefix + "c/", nil},
	}
	for _, tt := range tests {
		for _, limit := range []int64{1, 2, 3, 5, 14, 15, 16, 1000} {
			t.Run(fmt.Sprintf("%s/limit%d", tt.prefix, limit), func(t *testing.T) {
				pages := ListPages(t, s, tt.prefix, limit, nil)
				if got := keysOf(pages...); !slices.Equal(got, tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				if pages[0].Revision < last {
					t.Fatalf("read at revision %d, before the last write %d", pages[0].Revision, last)
				}
				// Without a filter every page but the last is full, and
				// each says how many objects the later pages hold.
				seen := 0
				for i, p := range pages {
					seen += len(p.Items)
					last := i == len(pages)-1
					if !last && int64(len(p.Items)) != limit {
						t.Fatalf("page %d of %d holds %d objects, want %d", i+1, len(pages), len(p.Items), limit)
					}
					switch {
					case last && p.RemainingItemCount != nil:
						t.Fatalf("last page has remainingItemCount %d", *p.RemainingItemCount)
					case !last && p.RemainingItemCount == nil:
						t.Fatalf("page %d of %d has no remainingItemCount", i+1, len(pages))
					case !last && *p.RemainingItemCount != int64(len(tt.want)-seen):
						t.Fatalf("page %d: remainingItemCount %d, want %d", i+1, *p.RemainingItemCount, len(tt.want)-seen)
					}
				}
			})
		}
	}
}

func testListPagesFiltered(t *testing.T, s storage.Interface) {
	makePods(t, s, 10, "a", "b")
	team := func(name string) func(apis.Object) bool {
		return func(o apis.Object) bool { return o.GetMetadata().GetLabels()["team"] == name }
	}
	var wantY []string
	for _, k := range podNames(10, "a", "b") {
		if n := k[len(k)-1] - '0'; n%2 == 1 {
			wantY = append(wantY, k)
		}
	}
	tests := []struct {
		name   string
		prefix string
		filter func(apis.Object) bool
		want   []string
	}{
		{"every other", PodPrefix, team("y"), wantY},
		{"one namespace", PodPrefix + "b/", team("y"), wantY[5:]},
		{"nothing matches", PodPrefix, team("z"), nil},
		{"one object", PodPrefix, func(o apis.Object) bool { return apis.Key(o) == "b/p09" }, []string{"b/p09"}},
	}
	for _, tt := range tests {
		for _, limit := range []int64{1, 2, 3, 4, 100} {
			t.Run(fmt.Sprintf("%s/limit%d", tt.name, limit), func(t *testing.T) {
				pages := ListPages(t, s, tt.prefix, limit, tt.filter)
				if got := keysOf(pages...); !slices.Equal(got, tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				for i, p := range pages {
					// The store reads on until a page is full: only the
					// last may hold fewer.
					if i < len(pages)-1 && int64(len(p.Items)) != limit {
						t.Fatalf("page %d of %d holds %d objects, want %d", i+1, len(pages), len(p.Items), limit)
					}
					if p.RemainingItemCount != nil {
						t.Fatalf("page %d of a filtered list has remainingItemCount %d", i+1, *p.RemainingItemCount)
					}
				}
			})
		}
	}
}

func testListPagesSnapshot(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	makePods(t, s, 6, "a")
	first, err := s.ListPage(ctx, PodPrefix, storage.PageOptions{Limit: 2}, NewPod, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(first); !slices.Equal(got, []string{"a/p00", "a/p01"}) || first.Continue == "" {
		t.Fatalf("first page: %v, continue %q", got, first.Continue)
	}
	// Writes between the pages: delete an object not yet listed, add one
	// that sorts among the later pages and one at the end, change one not
	// yet listed.
	if err := s.Delete(ctx, Key("a", "p03"), nil, nil); err != nil {
		t.Fatal(err)
	}
	MustCreate(t, s, Pod("a", "p02a", nil))
	MustCreate(t, s, Pod("z", "late", nil))
	p04 := NewPod()
	if err := s.Get(ctx, Key("a", "p04"), p04); err != nil {
		t.Fatal(err)
	}
	oldRV := RV(t, p04)
	if err := s.GuaranteedUpdate(ctx, Key("a", "p04"), NewPod(), func(cur apis.Object) (apis.Object, error) {
		cur.GetMetadata().Labels = map[string]string{"changed": "yes"}
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}

	var rest []*storage.Page
	token := first.Continue
	for token != "" {
		p, err := s.ListPage(ctx, PodPrefix, storage.PageOptions{Limit: 2, Continue: token}, NewPod, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Revision != first.Revision {
			t.Fatalf("a later page is read at revision %d, the first at %d", p.Revision, first.Revision)
		}
		rest = append(rest, p)
		token = p.Continue
	}
	if got, want := keysOf(rest...), []string{"a/p02", "a/p03", "a/p04", "a/p05"}; !slices.Equal(got, want) {
		t.Fatalf("later pages: got %v, want the snapshot's %v", got, want)
	}
	for _, p := range rest {
		for _, o := range p.Items {
			if apis.Key(o) == "a/p04" && (RV(t, o) != oldRV || o.GetMetadata().GetLabels()["changed"] != "") {
				t.Fatalf("a/p04 on a later page is its new state (resourceVersion %d), want the snapshot's %d", RV(t, o), oldRV)
			}
		}
	}
	// A new list sees the writes.
	if got, want := keysOf(ListPages(t, s, PodPrefix, 2, nil)...), []string{"a/p00", "a/p01", "a/p02", "a/p02a", "a/p04", "a/p05", "z/late"}; !slices.Equal(got, want) {
		t.Fatalf("a new list: got %v, want %v", got, want)
	}
}

func testListPageAtRevision(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	rev := makePods(t, s, 3, "a")
	makePods(t, s, 3, "b")
	pages := []*storage.Page{}
	opts := storage.PageOptions{Limit: 2, Revision: rev}
	for {
		p, err := s.ListPage(ctx, PodPrefix, opts, NewPod, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.Revision != rev {
			t.Fatalf("page read at revision %d, want exactly %d", p.Revision, rev)
		}
		pages = append(pages, p)
		if p.Continue == "" {
			break
		}
		opts = storage.PageOptions{Limit: 2, Continue: p.Continue}
	}
	if got, want := keysOf(pages...), podNames(3, "a"); !slices.Equal(got, want) {
		t.Fatalf("list at revision %d: got %v, want %v", rev, got, want)
	}
	_, err := s.ListPage(ctx, PodPrefix, storage.PageOptions{Limit: 2, Revision: pages[0].Revision + 1000}, NewPod, nil)
	if errdefs.ClassOf(err) != errdefs.ClassTimeout || !strings.Contains(err.Error(), "too large resource version") {
		t.Fatalf("first page at a future revision: got %v, want a Timeout (too large resource version)", err)
	}
}

func testListPageCompacted(t *testing.T, s storage.Interface) {
	c, ok := s.(Compactor)
	if !ok {
		t.Fatalf("the store under test (%T) must implement storagetest.Compactor", s)
	}
	ctx := Ctx(t)
	old := makePods(t, s, 4, "a")
	first, err := s.ListPage(ctx, PodPrefix, storage.PageOptions{Limit: 2}, NewPod, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := MustCreate(t, s, Pod("a", "q", nil))
	if err := c.Compact(ctx, now); err != nil {
		t.Fatal(err)
	}
	_, err = s.ListPage(ctx, PodPrefix, storage.PageOptions{Limit: 2, Continue: first.Continue}, NewPod, nil)
	if !errdefs.IsExpired(err) {
		t.Fatalf("continue at a compacted revision: got %v, want Expired", err)
	}
	if err.Error() != storage.ContinueExpiredMessage {
		t.Fatalf("continue at a compacted revision: message %q, want Kubernetes' %q", err.Error(), storage.ContinueExpiredMessage)
	}
	if _, err := s.ListPage(ctx, PodPrefix, storage.PageOptions{Limit: 2, Revision: old}, NewPod, nil); !errdefs.IsExpired(err) {
		t.Fatalf("first page at a compacted revision: got %v, want Expired", err)
	}
	// A new list works.
	if got, want := keysOf(ListPages(t, s, PodPrefix, 2, nil)...), append(podNames(4, "a"), "a/q"); !slices.Equal(got, want) {
		t.Fatalf("a new list: got %v, want %v", got, want)
	}
}

// token encodes a continue token by hand.
func token(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }

func testListPageBadRequests(t *testing.T, s storage.Interface) {
	ctx := Ctx(t)
	rev := makePods(t, s, 3, "a", "b")
	good := ListPages(t, s, PodPrefix+"a/", 1, nil)[0].Continue

	invalid := []struct {
		name string
		opts storage.PageOptions
	}{
		{"not base64", storage.PageOptions{Limit: 1, Continue: "not a token!"}},
		{"not JSON", storage.PageOptions{Limit: 1, Continue: token("nope")}},
		{"unknown version", storage.PageOptions{Limit: 1, Continue: token(fmt.Sprintf(`{"v":"x/v9","rv":%d,"start":"a/p01"}`, rev))}},
		{"no revision", storage.PageOptions{Limit: 1, Continue: token(`{"v":"meta.k8s.io/v1","start":"a/p01"}`)}},
		{"no start", storage.PageOptions{Limit: 1, Continue: token(fmt.Sprintf(`{"v":"meta.k8s.io/v1","rv":%d}`, rev))}},
		{"climbs out of the prefix", storage.PageOptions{Limit: 1, Continue: token(fmt.Sprintf(`{"v":"meta.k8s.io/v1","rv":%d,"start":"../b/p00"}`, rev))}},
		{"future revision", storage.PageOptions{Limit: 1, Continue: token(fmt.Sprintf(`{"v":"meta.k8s.io/v1","rv":%d,"start":"p01"}`, rev+1000))}},
		{"with a revision", storage.PageOptions{Limit: 1, Continue: good, Revision: rev}},
		{"no limit", storage.PageOptions{}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.ListPage(ctx, PodPrefix+"a/", tt.opts, NewPod, nil)
			if !errdefs.IsInvalid(err) {
				t.Fatalf("got %v, want Invalid", err)
			}
			field := "continue"
			switch {
			case tt.opts.Limit == 0:
				field = "limit"
			case tt.opts.Revision != 0:
				field = "resource version"
			}
			if !strings.Contains(err.Error(), field) {
				t.Fatalf("error %q does not name %s", err, field)
			}
		})
	}

	// A token of one namespace's list, used with another's, reads only
	// the other namespace: its start key is relative to the prefix.
	t.Run("token of another namespace", func(t *testing.T) {
		p, err := s.ListPage(ctx, PodPrefix+"b/", storage.PageOptions{Limit: 10, Continue: good}, NewPod, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := keysOf(p), []string{"b/p01", "b/p02"}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
	t.Run("token of every namespace", func(t *testing.T) {
		all, err := s.ListPage(ctx, PodPrefix, storage.PageOptions{Limit: 1}, NewPod, nil)
		if err != nil {
			t.Fatal(err)
		}
		// start "a/p00\x00" under b's prefix is /registry/pods/b/a/p00\x00:
		// still inside b.
		p, err := s.ListPage(ctx, PodPrefix+"b/", storage.PageOptions{Limit: 10, Continue: all.Continue}, NewPod, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := keysOf(p), podNames(3, "b"); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}
