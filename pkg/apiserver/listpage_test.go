package apiserver

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"google.golang.org/grpc/codes"

	v1 "minik8s/api/proto/minik8s/v1"
)

// listAll pages through req with its limit and returns every page,
// checking that all pages answer at one resourceVersion and only the last
// has no continue token.
func listAll(t *testing.T, c v1.APIClient, req *v1.ListRequest) []*v1.ListResponse {
	t.Helper()
	var pages []*v1.ListResponse
	for {
		resp, err := c.List(ctxT(t), req)
		if err != nil {
			t.Fatalf("page %d: %v", len(pages)+1, err)
		}
		if int64(len(resp.GetItems())) > req.GetLimit() {
			t.Fatalf("page %d holds %d items, over the limit %d", len(pages)+1, len(resp.GetItems()), req.GetLimit())
		}
		if len(pages) > 0 && resp.GetResourceVersion() != pages[0].GetResourceVersion() {
			t.Fatalf("page %d at resourceVersion %s, the first at %s", len(pages)+1, resp.GetResourceVersion(), pages[0].GetResourceVersion())
		}
		pages = append(pages, resp)
		if resp.GetContinue() == "" {
			return pages
		}
		if len(pages) > 100 {
			t.Fatal("more than 100 pages")
		}
		// The token carries the revision: a resourceVersion is not
		// allowed with it (client-go's pager clears it too).
		req = cloneList(req)
		req.Continue, req.ResourceVersion = resp.GetContinue(), ""
	}
}

func cloneList(req *v1.ListRequest) *v1.ListRequest {
	return &v1.ListRequest{
		Resource: req.Resource, Namespace: req.Namespace, LabelSelector: req.LabelSelector,
		FieldSelector: req.FieldSelector, ResourceVersion: req.ResourceVersion, Limit: req.Limit, Continue: req.Continue,
	}
}

func podKeys(t *testing.T, pages ...*v1.ListResponse) []string {
	t.Helper()
	var out []string
	for _, p := range pages {
		for _, a := range p.GetItems() {
			pod := unwrap[*v1.Pod](t, a)
			out = append(out, pod.GetMetadata().GetNamespace()+"/"+pod.GetMetadata().GetName())
		}
	}
	return out
}

func TestListPaging(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	var want []string
	for i := range 7 {
		createPod(t, c, newPod("default", fmt.Sprintf("p%d", i)))
		want = append(want, fmt.Sprintf("default/p%d", i))
	}
	for i := range 2 {
		createPod(t, c, newPod("kube-system", fmt.Sprintf("s%d", i)))
	}

	t.Run("pages of one namespace", func(t *testing.T) {
		pages := listAll(t, c, &v1.ListRequest{Resource: "pods", Namespace: "default", Limit: 3})
		if got := podKeys(t, pages...); !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		if len(pages) != 3 {
			t.Fatalf("got %d pages, want 3", len(pages))
		}
		for i, wantRemaining := range []int64{4, 1} {
			if pages[i].RemainingItemCount == nil || pages[i].GetRemainingItemCount() != wantRemaining {
				t.Fatalf("page %d: remainingItemCount %v, want %d", i+1, pages[i].RemainingItemCount, wantRemaining)
			}
		}
		if pages[2].RemainingItemCount != nil {
			t.Fatalf("last page has remainingItemCount %d", pages[2].GetRemainingItemCount())
		}
	})

	t.Run("every namespace", func(t *testing.T) {
		pages := listAll(t, c, &v1.ListRequest{Resource: "pods", Limit: 4})
		wantAll := append(slices.Clone(want), "kube-system/s0", "kube-system/s1")
		if got := podKeys(t, pages...); !slices.Equal(got, wantAll) {
			t.Fatalf("got %v, want %v", got, wantAll)
		}
	})

	t.Run("selector while paging", func(t *testing.T) {
		pages := listAll(t, c, &v1.ListRequest{Resource: "pods", LabelSelector: "app in (p1,p3,p5,s1)", Limit: 2})
		if got, want := podKeys(t, pages...), []string{"default/p1", "default/p3", "default/p5", "kube-system/s1"}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i, p := range pages {
			if i < len(pages)-1 && len(p.GetItems()) != 2 {
				t.Fatalf("page %d of %d holds %d items, want full pages", i+1, len(pages), len(p.GetItems()))
			}
			if p.RemainingItemCount != nil {
				t.Fatalf("page %d of a selected list has remainingItemCount %d", i+1, p.GetRemainingItemCount())
			}
		}
		pages = listAll(t, c, &v1.ListRequest{Resource: "pods", FieldSelector: "metadata.namespace=kube-system", Limit: 1})
		if got, want := podKeys(t, pages...), []string{"kube-system/s0", "kube-system/s1"}; !slices.Equal(got, want) {
			t.Fatalf("field selector: got %v, want %v", got, want)
		}
	})

	t.Run("a consistent snapshot", func(t *testing.T) {
		first, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Namespace: "default", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		createPod(t, c, newPod("default", "p10"))
		if _, err := c.Delete(ctxT(t), &v1.DeleteRequest{Resource: "pods", Namespace: "default", Name: "p6"}); err != nil {
			t.Fatal(err)
		}
		rest := listAll(t, c, &v1.ListRequest{Resource: "pods", Namespace: "default", Limit: 2, Continue: first.GetContinue()})
		if rest[0].GetResourceVersion() != first.GetResourceVersion() {
			t.Fatalf("later pages at resourceVersion %s, the first at %s", rest[0].GetResourceVersion(), first.GetResourceVersion())
		}
		if got := podKeys(t, append([]*v1.ListResponse{first}, rest...)...); !slices.Equal(got, want) {
			t.Fatalf("got %v, want the snapshot's %v", got, want)
		}
	})

	t.Run("no limit lists everything from the cache", func(t *testing.T) {
		resp, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Namespace: "default"})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(resp.GetItems()); n != 7 || resp.GetContinue() != "" || resp.RemainingItemCount != nil {
			t.Fatalf("got %d items, continue %q, remainingItemCount %v; want 7 items and nothing else", n, resp.GetContinue(), resp.RemainingItemCount)
		}
	})

	t.Run("continue without limit reads the rest", func(t *testing.T) {
		first, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Namespace: "kube-system", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		rest, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Namespace: "kube-system", Continue: first.GetContinue()})
		if err != nil {
			t.Fatal(err)
		}
		if got := podKeys(t, first, rest); !slices.Equal(got, []string{"kube-system/s0", "kube-system/s1"}) || rest.GetContinue() != "" {
			t.Fatalf("got %v, continue %q", got, rest.GetContinue())
		}
	})

	t.Run("a token of another namespace stays in the request's", func(t *testing.T) {
		first, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Namespace: "default", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		other, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Namespace: "kube-system", Limit: 10, Continue: first.GetContinue()})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range podKeys(t, other) {
			if k != "kube-system/s0" && k != "kube-system/s1" {
				t.Fatalf("a list of kube-system returned %s", k)
			}
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		first, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Limit: 1, Continue: "garbage!"})
		wantCode(t, err, codes.InvalidArgument, "continue")
		_, err = c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Limit: 1, Continue: first.GetContinue(), ResourceVersion: first.GetResourceVersion()})
		wantCode(t, err, codes.InvalidArgument, "specifying resource version is not allowed when using continue")
		_, err = c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Limit: -1})
		wantCode(t, err, codes.InvalidArgument, "limit")
		// resourceVersion "0" (any) goes with a continue, as in Kubernetes.
		if _, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Limit: 1, Continue: first.GetContinue(), ResourceVersion: "0"}); err != nil {
			t.Fatalf("continue with resourceVersion 0: %v", err)
		}
	})

	t.Run("first page at a resourceVersion", func(t *testing.T) {
		first, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Namespace: "kube-system", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		createPod(t, c, newPod("kube-system", "s2"))
		pages := listAll(t, c, &v1.ListRequest{Resource: "pods", Namespace: "kube-system", Limit: 1, ResourceVersion: first.GetResourceVersion()})
		if pages[0].GetResourceVersion() != first.GetResourceVersion() {
			t.Fatalf("read at %s, want exactly %s", pages[0].GetResourceVersion(), first.GetResourceVersion())
		}
		if got := podKeys(t, pages...); !slices.Equal(got, []string{"kube-system/s0", "kube-system/s1"}) {
			t.Fatalf("got %v, want the list as it was", got)
		}
	})
}

func TestListContinueCompactedIsOutOfRange(t *testing.T) {
	e := startEnv(t)
	c := e.admin()
	for i := range 3 {
		createPod(t, c, newPod("default", fmt.Sprintf("p%d", i)))
	}
	first, err := c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	last := createPod(t, c, newPod("default", "p3"))
	rev, err := strconv.ParseInt(last.GetMetadata().GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.probes.backend.Load().compact(ctxT(t), rev); err != nil {
		t.Fatal(err)
	}
	// Kubernetes' 410 Gone: the client starts the list again.
	_, err = c.List(ctxT(t), &v1.ListRequest{Resource: "pods", Limit: 1, Continue: first.GetContinue()})
	wantCode(t, err, codes.OutOfRange, "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
	pages := listAll(t, c, &v1.ListRequest{Resource: "pods", Limit: 1})
	if got := podKeys(t, pages...); len(got) != 4 {
		t.Fatalf("a new list: %v, want 4 pods", got)
	}
}
