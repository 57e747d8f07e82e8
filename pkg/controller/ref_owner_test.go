package controller

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

type rsCache map[string]*v1.ReplicaSet

func (c rsCache) Get(namespace, name string) (*v1.ReplicaSet, error) {
	if rs, ok := c[namespace+"/"+name]; ok {
		return rs, nil
	}
	return nil, errdefs.NotFound("replicasets %q not found", name)
}

func (c rsCache) ListByNamespace(namespace string) []*v1.ReplicaSet {
	var out []*v1.ReplicaSet
	for _, rs := range c {
		if rs.GetMetadata().GetNamespace() == namespace {
			out = append(out, rs)
		}
	}
	return out
}

func TestResolveControllerRef(t *testing.T) {
	cache := rsCache{"ns/web": {Metadata: &v1.ObjectMeta{Name: "web", Namespace: "ns", Uid: "u1"}}}
	tests := []struct {
		name string
		ref  *v1.OwnerReference
		want bool
	}{
		{"same uid", &v1.OwnerReference{Kind: "ReplicaSet", Name: "web", Uid: "u1"}, true},
		{"recreated owner", &v1.OwnerReference{Kind: "ReplicaSet", Name: "web", Uid: "u0"}, false},
		{"other kind", &v1.OwnerReference{Kind: "Deployment", Name: "web", Uid: "u1"}, false},
		{"absent", &v1.OwnerReference{Kind: "ReplicaSet", Name: "db", Uid: "u1"}, false},
	}
	for _, tt := range tests {
		got, ok := ResolveControllerRef[*v1.ReplicaSet](cache, "ReplicaSet", "ns", tt.ref)
		if ok != tt.want || (ok && got.GetMetadata().GetName() != "web") {
			t.Errorf("%s: got %v %v, want found=%v", tt.name, got, ok, tt.want)
		}
	}
}

func TestMatchingOwners(t *testing.T) {
	sel := func(rs *v1.ReplicaSet) *v1.LabelSelector { return rs.GetSpec().GetSelector() }
	mk := func(name string, s *v1.LabelSelector) *v1.ReplicaSet {
		return &v1.ReplicaSet{Metadata: &v1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: &v1.ReplicaSetSpec{Selector: s}}
	}
	cache := rsCache{
		"ns/web":   mk("web", &v1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}),
		"ns/db":    mk("db", &v1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}),
		"ns/empty": mk("empty", &v1.LabelSelector{}),
		"ns/none":  mk("none", nil),
	}
	got := MatchingOwners(cache, "ns", map[string]string{"app": "web", "tier": "front"}, sel)
	if len(got) != 1 || got[0].GetMetadata().GetName() != "web" {
		t.Fatalf("MatchingOwners = %v, want only web (empty and nil selectors adopt nothing)", got)
	}
	if got := MatchingOwners(cache, "other", map[string]string{"app": "web"}, sel); len(got) != 0 {
		t.Fatalf("MatchingOwners in another namespace = %v, want none", got)
	}
}
