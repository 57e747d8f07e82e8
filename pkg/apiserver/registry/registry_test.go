package registry

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

func TestPropagate(t *testing.T) {
	tests := []struct {
		name   string
		give   []string
		policy string
		want   []string
	}{
		{"default keeps", []string{"a"}, "", []string{"a"}},
		{"default keeps none", nil, "", nil},
		{"orphan adds", nil, PropagationOrphan, []string{FinalizerOrphan}},
		{"orphan once", []string{FinalizerOrphan}, PropagationOrphan, []string{FinalizerOrphan}},
		{"orphan replaces foreground", []string{"a", FinalizerForeground}, PropagationOrphan, []string{"a", FinalizerOrphan}},
		{"foreground adds", []string{"a"}, PropagationForeground, []string{"a", FinalizerForeground}},
		{"foreground replaces orphan", []string{FinalizerOrphan}, PropagationForeground, []string{FinalizerForeground}},
		{"background drops both", []string{FinalizerOrphan, "a", FinalizerForeground}, PropagationBackground, []string{"a"}},
		{"background on nothing", nil, PropagationBackground, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := propagate(tt.give, tt.policy); !slices.Equal(got, tt.want) {
				t.Errorf("propagate(%v, %q) = %v, want %v", tt.give, tt.policy, got, tt.want)
			}
		})
	}
}

func i64(v int64) *int64 { return &v }

func pod(node, phase string, tgps *int64) *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: "p", Namespace: "default"},
		Spec:     &v1.PodSpec{NodeName: node, TerminationGracePeriodSeconds: tgps},
		Status:   &v1.PodStatus{Phase: phase},
	}
}

func TestPodGracePeriod(t *testing.T) {
	tests := []struct {
		name      string
		pod       *v1.Pod
		requested *int64
		want      int64
	}{
		{"bound, default", pod("n1", "Running", nil), nil, 30},
		{"bound, pod's own", pod("n1", "Running", i64(10)), nil, 10},
		{"bound, request wins", pod("n1", "Running", i64(10)), i64(3), 3},
		{"bound, request 0", pod("n1", "Running", nil), i64(0), 0},
		{"bound, negative is 1", pod("n1", "Running", nil), i64(-5), 1},
		{"unbound goes at once", pod("", "Pending", i64(10)), i64(7), 0},
		{"succeeded goes at once", pod("n1", "Succeeded", nil), nil, 0},
		{"failed goes at once", pod("n1", "Failed", nil), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podGracePeriod(tt.pod, tt.requested); got != tt.want {
				t.Errorf("grace = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDecideDeletion(t *testing.T) {
	kinds := newKinds()
	pods, cms := kinds["pods"], kinds["configmaps"]
	deleting := func(p *v1.Pod, grace int64, fin ...string) *v1.Pod {
		p.Metadata.DeletionTimestamp = timestamppb.Now()
		p.Metadata.DeletionGracePeriodSeconds = i64(grace)
		p.Metadata.Finalizers = fin
		return p
	}
	cm := func(fin ...string) apis.Object {
		return &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "c", Finalizers: fin}}
	}
	tests := []struct {
		name string
		kind *Kind
		obj  apis.Object
		opts DeleteOptions
		want deletion
	}{
		{"configmap goes", cms, cm(), DeleteOptions{}, deletion{now: true}},
		{"configmap held by finalizer", cms, cm("x"), DeleteOptions{}, deletion{finalizers: []string{"x"}}},
		{"orphan holds", cms, cm(), DeleteOptions{PropagationPolicy: PropagationOrphan}, deletion{finalizers: []string{FinalizerOrphan}}},
		{"unbound pod goes", pods, pod("", "Pending", nil), DeleteOptions{}, deletion{now: true}},
		{"bound pod waits", pods, pod("n1", "Running", nil), DeleteOptions{}, deletion{grace: 30}},
		{"bound pod, grace 0", pods, pod("n1", "Running", nil), DeleteOptions{GracePeriodSeconds: i64(0)}, deletion{now: true}},
		{"deleting pod is not extended", pods, deleting(pod("n1", "Running", nil), 5), DeleteOptions{GracePeriodSeconds: i64(60)}, deletion{grace: 5}},
		{"deleting pod is shortened", pods, deleting(pod("n1", "Running", nil), 30), DeleteOptions{GracePeriodSeconds: i64(2)}, deletion{grace: 2}},
		{"kubelet finishes", pods, deleting(pod("n1", "Running", nil), 30), DeleteOptions{GracePeriodSeconds: i64(0)}, deletion{now: true}},
		{"kubelet finishes, finalizer holds", pods, deleting(pod("n1", "Running", nil), 30, "x"), DeleteOptions{GracePeriodSeconds: i64(0)}, deletion{finalizers: []string{"x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideDeletion(tt.kind, tt.obj, tt.opts)
			if got.now != tt.want.now || got.grace != tt.want.grace || !slices.Equal(got.finalizers, tt.want.finalizers) {
				t.Errorf("decideDeletion = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDeletionApply(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := pod("n1", "Running", nil)
	if !(deletion{grace: 30}).apply(p, now) {
		t.Fatal("first apply reported no change")
	}
	md := p.GetMetadata()
	if md.GetDeletionGracePeriodSeconds() != 30 || !md.GetDeletionTimestamp().AsTime().Equal(now.Add(30*time.Second)) {
		t.Errorf("deletion = %v / %d", md.GetDeletionTimestamp().AsTime(), md.GetDeletionGracePeriodSeconds())
	}
	if (deletion{grace: 30}).apply(p, now.Add(time.Minute)) {
		t.Error("applying the same deletion again reported a change")
	}
	if !(deletion{grace: 0, finalizers: []string{"x"}}).apply(p, now) || md.GetDeletionGracePeriodSeconds() != 0 {
		t.Error("shortening to 0 with a finalizer did not apply")
	}
}

func TestNameError(t *testing.T) {
	for _, ok := range []string{"web", "web-1", "a.b", "Web"} {
		if err := nameError("metadata.name", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", "a%2f", "a\nb"} {
		if err := nameError("metadata.name", bad); !errdefs.IsInvalid(err) {
			t.Errorf("%q: got %v, want Invalid", bad, err)
		}
	}
}

func TestNewUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		u := newUID()
		if !re.MatchString(u) {
			t.Fatalf("%q is not a UUIDv4", u)
		}
		if seen[u] {
			t.Fatalf("%q twice", u)
		}
		seen[u] = true
	}
	if s := nameSuffix(); len(s) != 5 {
		t.Errorf("suffix %q", s)
	}
}

func TestFieldEqual(t *testing.T) {
	k := newKinds()["pods"]
	a, b := pod("n1", "", nil), pod("n1", "", nil)
	if !fieldEqual(a, b, k.spec) {
		t.Error("equal specs differ")
	}
	b.Spec.NodeName = "n2"
	if fieldEqual(a, b, k.spec) {
		t.Error("different specs equal")
	}
	a.Spec, b.Spec = nil, &v1.PodSpec{}
	if !fieldEqual(a, b, k.spec) {
		t.Error("absent spec differs from empty spec")
	}
}
