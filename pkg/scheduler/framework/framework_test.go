package framework

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
)

// fakePlugin filters and scores by table.
type fakePlugin struct {
	name    string
	pre     Code
	reject  map[string]string // node -> reason
	score   map[string]int64
	filters atomic.Int64
}

func (p *fakePlugin) Name() string { return p.name }

func (p *fakePlugin) PreFilter(*CycleState, *PodInfo) *Status {
	if p.pre == Success {
		return nil
	}
	return NewStatus(p.pre, p.name+" says no")
}

func (p *fakePlugin) Filter(_ *CycleState, _ *PodInfo, n *NodeInfo) *Status {
	p.filters.Add(1)
	if r, ok := p.reject[n.Name()]; ok {
		return NewStatus(Unschedulable, r)
	}
	return nil
}

func (p *fakePlugin) Score(_ *CycleState, _ *PodInfo, n *NodeInfo) (int64, *Status) {
	return p.score[n.Name()], nil
}

func registryOf(ps ...*fakePlugin) Registry {
	r := Registry{}
	for _, p := range ps {
		r[p.name] = func() (Plugin, error) { return p, nil }
	}
	return r
}

func node(name string) *NodeInfo {
	ni := NewNodeInfo()
	ni.SetNode(&v1.Node{Metadata: &v1.ObjectMeta{Name: name}})
	return ni
}

func TestFilterOrderAndPlugin(t *testing.T) {
	a := &fakePlugin{name: "A", reject: map[string]string{"n1": "a-reason"}}
	b := &fakePlugin{name: "B", reject: map[string]string{"n1": "b-reason", "n2": "b-reason"}}
	fw, err := New(registryOf(a, b), Profile{Filter: []string{"A", "B"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	state := NewCycleState()
	pod := NewPodInfo(&v1.Pod{Metadata: &v1.ObjectMeta{Name: "p", Namespace: "default"}})
	if st := fw.RunPreFilterPlugins(state, pod); !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st.Message())
	}
	tests := []struct {
		node       string
		wantPlugin string
		wantReason string
	}{
		{node: "n1", wantPlugin: "A", wantReason: "a-reason"},
		{node: "n2", wantPlugin: "B", wantReason: "b-reason"},
		{node: "n3"},
	}
	for _, tt := range tests {
		st := fw.RunFilterPlugins(state, pod, node(tt.node), false)
		if st.Plugin() != tt.wantPlugin || st.Message() != tt.wantReason {
			t.Errorf("%s: plugin %q reason %q, want %q %q", tt.node, st.Plugin(), st.Message(), tt.wantPlugin, tt.wantReason)
		}
	}
}

func TestPreFilterSkipAndReject(t *testing.T) {
	skip := &fakePlugin{name: "Skipper", pre: Skip, reject: map[string]string{"n1": "never"}}
	fw, err := New(registryOf(skip), Profile{Filter: []string{"Skipper"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	state := NewCycleState()
	pod := NewPodInfo(&v1.Pod{Metadata: &v1.ObjectMeta{Name: "p"}})
	if st := fw.RunPreFilterPlugins(state, pod); !st.IsSuccess() {
		t.Fatalf("PreFilter with Skip = %v, want success", st.Code())
	}
	if st := fw.RunFilterPlugins(state, pod, node("n1"), false); !st.IsSuccess() || skip.filters.Load() != 0 {
		t.Fatalf("a skipped filter ran (%d calls, status %v)", skip.filters.Load(), st.Code())
	}

	rej := &fakePlugin{name: "Rejecter", pre: UnschedulableAndUnresolvable}
	fw, err = New(registryOf(rej), Profile{Filter: []string{"Rejecter"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := fw.RunPreFilterPlugins(NewCycleState(), pod)
	if st.Code() != UnschedulableAndUnresolvable || st.Plugin() != "Rejecter" {
		t.Fatalf("PreFilter rejection = %v from %q", st.Code(), st.Plugin())
	}
}

func TestScoreWeights(t *testing.T) {
	a := &fakePlugin{name: "A", score: map[string]int64{"n1": 10, "n2": 200}}
	b := &fakePlugin{name: "B", score: map[string]int64{"n1": 50, "n2": -5}}
	fw, err := New(registryOf(a, b), Profile{Score: []PluginRef{{Name: "A", Weight: 1}, {Name: "B", Weight: 3}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := NewPodInfo(&v1.Pod{Metadata: &v1.ObjectMeta{Name: "p"}})
	tests := []struct {
		node string
		want int64
	}{
		{node: "n1", want: 10 + 3*50},
		{node: "n2", want: 100 + 0}, // clamped to 0..100
	}
	for _, tt := range tests {
		got, st := fw.RunScorePlugins(NewCycleState(), pod, node(tt.node), false)
		if !st.IsSuccess() || got != tt.want {
			t.Errorf("%s: score %d, want %d", tt.node, got, tt.want)
		}
	}
}

type recorder struct {
	mu  sync.Mutex
	got map[string]int
}

func (r *recorder) ObservePluginDuration(plugin, ep string, code Code, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[plugin+"/"+ep+"/"+code.String()]++
}

func TestPluginMetricsOnlyWhenSampled(t *testing.T) {
	a := &fakePlugin{name: "A", reject: map[string]string{"n1": "no"}, score: map[string]int64{}}
	rec := &recorder{got: map[string]int{}}
	fw, err := New(registryOf(a), Profile{Filter: []string{"A"}, Score: []PluginRef{{Name: "A"}}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	pod := NewPodInfo(&v1.Pod{Metadata: &v1.ObjectMeta{Name: "p"}})
	state := NewCycleState()
	fw.RunPreFilterPlugins(state, pod)
	fw.RunFilterPlugins(state, pod, node("n1"), state.TimeNode(0))
	if len(rec.got) != 0 {
		t.Fatalf("observed %v in an unsampled cycle", rec.got)
	}
	state.SetRecordPluginMetrics(true)
	if !state.TimeNode(0) || state.TimeNode(1) || !state.TimeNode(nodeSampleStride) {
		t.Fatal("TimeNode does not sample one node in nodeSampleStride")
	}
	fw.RunPreFilterPlugins(state, pod)
	fw.RunFilterPlugins(state, pod, node("n1"), state.TimeNode(0))
	fw.RunFilterPlugins(state, pod, node("n2"), state.TimeNode(nodeSampleStride))
	fw.RunFilterPlugins(state, pod, node("n3"), state.TimeNode(1))
	fw.RunScorePlugins(state, pod, node("n2"), state.TimeNode(0))
	want := map[string]int{"A/PreFilter/Success": 1, "A/Filter/Unschedulable": 1, "A/Filter/Success": 1, "A/Score/Success": 1}
	for k, v := range want {
		if rec.got[k] != v {
			t.Errorf("%s observed %d times, want %d (all: %v)", k, rec.got[k], v, rec.got)
		}
	}
}

func TestFitErrorMessage(t *testing.T) {
	taint := "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
	tests := []struct {
		name string
		give FitError
		want string
	}{
		{
			name: "the issue's example",
			give: FitError{NumAllNodes: 3, Diagnosis: Diagnosis{NodeToStatus: map[string]*Status{
				"cp": NewStatus(UnschedulableAndUnresolvable, taint),
				"n1": NewStatus(Unschedulable, "Insufficient cpu"),
				"n2": NewStatus(Unschedulable, "Insufficient cpu"),
			}}},
			want: "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.",
		},
		{
			name: "several reasons of one node each count",
			give: FitError{NumAllNodes: 2, Diagnosis: Diagnosis{NodeToStatus: map[string]*Status{
				"n1": NewStatus(Unschedulable, "Insufficient cpu", "Insufficient memory"),
				"n2": NewStatus(Unschedulable, "Insufficient memory"),
			}}},
			want: "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory.",
		},
		{
			name: "sorted as strings, as Kubernetes does",
			give: FitError{NumAllNodes: 12, Diagnosis: Diagnosis{NodeToStatus: func() map[string]*Status {
				m := map[string]*Status{"x": NewStatus(Unschedulable, "node(s) were unschedulable"), "y": NewStatus(Unschedulable, "node(s) were unschedulable")}
				for i := range 10 {
					m[string(rune('a'+i))] = NewStatus(Unschedulable, "Insufficient cpu")
				}
				return m
			}()}},
			want: "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable.",
		},
		{
			name: "prefilter rejection",
			give: FitError{NumAllNodes: 5, Diagnosis: Diagnosis{PreFilterMsg: "pod has unbound PersistentVolumeClaims"}},
			want: "0/5 nodes are available: pod has unbound PersistentVolumeClaims.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.give.Error(); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	var nilStatus *Status
	if !nilStatus.IsSuccess() || nilStatus.AsError() != nil || nilStatus.Code() != Success {
		t.Fatal("a nil status is not success")
	}
	err := errors.New("boom")
	st := AsStatus(err)
	if st.Code() != Error || !errors.Is(st.AsError(), err) {
		t.Fatalf("AsStatus: %v %v", st.Code(), st.AsError())
	}
	if !NewStatus(UnschedulableAndUnresolvable).IsRejected() || NewStatus(Error).IsRejected() {
		t.Fatal("IsRejected is wrong")
	}
}

func TestParallelizerVisitsEveryPieceOnce(t *testing.T) {
	for _, pieces := range []int{0, 1, 7, 100, 1000} {
		for _, workers := range []int{1, 2, 16} {
			seen := make([]atomic.Int32, pieces)
			NewParallelizer(workers).Until(pieces, func(i int) bool {
				seen[i].Add(1)
				return true
			})
			for i := range seen {
				if n := seen[i].Load(); n != 1 {
					t.Fatalf("pieces %d workers %d: piece %d visited %d times", pieces, workers, i, n)
				}
			}
		}
	}
}

func TestParallelizerStopsEarly(t *testing.T) {
	var calls atomic.Int64
	NewParallelizer(4).Until(10000, func(i int) bool {
		return calls.Add(1) < 50
	})
	// Every worker may finish the piece it started and the stopping
	// worker stops at once: far fewer than all pieces run.
	if n := calls.Load(); n < 50 || n > 50+4*200 {
		t.Fatalf("%d calls after asking to stop at 50", n)
	}
}

func TestNodeInfoAccounting(t *testing.T) {
	pod := func(name, cpu string) *PodInfo {
		return NewPodInfo(&v1.Pod{
			Metadata: &v1.ObjectMeta{Name: name, Namespace: "ns"},
			Spec: &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Resources: &v1.ResourceRequirements{
				Requests: map[string]string{"cpu": cpu, "memory": "1Mi"}}}}},
		})
	}
	ni := NewNodeInfo(pod("a", "100m"), pod("b", "250m"))
	clone := ni.Clone()
	if !ni.RemovePod("ns/a") || ni.RemovePod("ns/a") {
		t.Fatal("RemovePod found the pod not exactly once")
	}
	if ni.Requested.MilliCPU != 250 || len(ni.Pods) != 1 {
		t.Fatalf("after remove: %+v, %d pods", ni.Requested, len(ni.Pods))
	}
	if clone.Requested.MilliCPU != 350 || len(clone.Pods) != 2 || clone.Requested.Memory != 2<<20 {
		t.Fatalf("the clone changed: %+v, %d pods", clone.Requested, len(clone.Pods))
	}
}
