package deployment

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	testclock "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/controller"
	"minik8s/pkg/controller/controllertest"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t        *testing.T
	clock    *testclock.FakeClock
	ds       *controllertest.Informer[*v1.Deployment]
	rss      *controllertest.Informer[*v1.ReplicaSet]
	pods     *controllertest.Informer[*v1.Pod]
	dAPI     *controllertest.Client[*v1.Deployment]
	rsAPI    *controllertest.Client[*v1.ReplicaSet]
	recorder *controllertest.Recorder
	c        *Controller
	// maxSpec is the largest sum of ReplicaSet replicas the cache went
	// through, every intermediate write included.
	maxSpec int32
}

func newEnv(t *testing.T, ds []*v1.Deployment, rss []*v1.ReplicaSet, pods []*v1.Pod) *env {
	t.Helper()
	e := &env{t: t, clock: testclock.NewFakeClock(t0), recorder: &controllertest.Recorder{}}
	e.ds = controllertest.NewInformer(ds...)
	e.rss = controllertest.NewInformer(rss...)
	e.pods = controllertest.NewInformer(pods...)
	e.dAPI = controllertest.NewClient(e.ds, e.clock)
	e.rsAPI = controllertest.NewClient(e.rss, e.clock)
	c, err := New(Config{Deployments: e.ds, ReplicaSets: e.rss, Pods: e.pods, DeploymentClient: e.dAPI, RSClient: e.rsAPI, Recorder: e.recorder, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	e.c = c
	track := func() {
		var sum int32
		for _, rs := range e.rss.List() {
			sum += rsReplicas(rs)
		}
		e.maxSpec = max(e.maxSpec, sum)
	}
	e.rss.AddEventHandler(informer.HandlerFuncs[*v1.ReplicaSet]{
		AddFunc:    func(*v1.ReplicaSet) { track() },
		UpdateFunc: func(_, _ *v1.ReplicaSet) { track() },
	})
	return e
}

func deployment(name string, replicas int32, image string) *v1.Deployment {
	limit, deadline := int32(10), int32(600)
	return &v1.Deployment{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name, ResourceVersion: "1", Generation: 1},
		Spec: &v1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: &v1.PodTemplateSpec{
				Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Image: image}}},
			},
			Strategy:                &v1.DeploymentStrategy{Type: StrategyRollingUpdate, RollingUpdate: &v1.RollingUpdateDeployment{MaxSurge: "25%", MaxUnavailable: "25%"}},
			RevisionHistoryLimit:    &limit,
			ProgressDeadlineSeconds: &deadline,
		},
	}
}

// sync runs the controller once on key (a Conflict is a stale cache,
// which the real loop retries) and delivers the writes to the caches.
func (e *env) sync(key string) {
	e.t.Helper()
	if err := e.c.sync(context.Background(), key); err != nil && !strings.Contains(err.Error(), "modified") {
		e.t.Fatalf("sync %s: %v", key, err)
	}
	e.dAPI.Flush()
	e.rsAPI.Flush()
}

// rsStep plays the ReplicaSet controller and the kubelets: pods of a
// ReplicaSet scaled down go at once (unavailable ones first), new pods
// exist at once but become available only with ready=true.
func (e *env) rsStep(ready bool) {
	for _, rs := range e.rsAPI.Objects() {
		st := rs.GetStatus()
		if st == nil {
			st = &v1.ReplicaSetStatus{}
		}
		spec := rsReplicas(rs)
		avail := min(st.GetAvailableReplicas(), spec)
		if ready {
			avail = spec
		}
		next := &v1.ReplicaSetStatus{Replicas: spec, ReadyReplicas: avail, AvailableReplicas: avail, FullyLabeledReplicas: spec, ObservedGeneration: rs.GetMetadata().GetGeneration()}
		if proto.Equal(next, rs.GetStatus()) {
			continue
		}
		rs.Status = next
		if _, err := e.rsAPI.UpdateStatus(context.Background(), rs); err != nil {
			e.t.Fatal(err)
		}
	}
	e.rsAPI.Flush()
}

func (e *env) deployment(name string) *v1.Deployment {
	d, err := e.dAPI.Get(context.Background(), "default", name)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) update(d *v1.Deployment) {
	e.t.Helper()
	if _, err := e.dAPI.Update(context.Background(), d); err != nil {
		e.t.Fatal(err)
	}
	e.dAPI.Flush()
}

type totals struct{ spec, available int32 }

func (e *env) totals() totals {
	var t totals
	for _, rs := range e.rsAPI.Objects() {
		t.spec += rsReplicas(rs)
		t.available += rs.GetStatus().GetAvailableReplicas()
	}
	return t
}

// converge drives syncs and ReplicaSet steps until nothing changes,
// checking the surge and availability bounds after every step.
func (e *env) converge(name string, maxTotal, minAvailable int32) int {
	e.t.Helper()
	key := "default/" + name
	e.maxSpec = 0
	defer func() {
		if e.maxSpec > maxTotal {
			e.t.Fatalf("%d pods wanted at some write, more than replicas+maxSurge=%d", e.maxSpec, maxTotal)
		}
	}()
	for step := 0; step < 200; step++ {
		e.sync(key)
		if tt := e.totals(); tt.spec > maxTotal {
			e.t.Fatalf("step %d: %d pods wanted, more than replicas+maxSurge=%d", step, tt.spec, maxTotal)
		}
		e.rsStep(false) // scale-downs happen, new pods not ready yet
		if tt := e.totals(); tt.available < minAvailable {
			e.t.Fatalf("step %d: %d available, fewer than replicas-maxUnavailable=%d", step, tt.available, minAvailable)
		}
		e.sync(key)
		if tt := e.totals(); tt.spec > maxTotal {
			e.t.Fatalf("step %d: %d pods wanted, more than replicas+maxSurge=%d", step, tt.spec, maxTotal)
		}
		e.rsStep(false)
		if tt := e.totals(); tt.available < minAvailable {
			e.t.Fatalf("step %d: %d available, fewer than %d", step, tt.available, minAvailable)
		}
		before := e.dAPI.Objects()[0].GetMetadata().GetResourceVersion() + fmt.Sprint(e.rsAPI.Objects())
		e.rsStep(true)
		e.sync(key)
		after := e.dAPI.Objects()[0].GetMetadata().GetResourceVersion() + fmt.Sprint(e.rsAPI.Objects())
		if before == after {
			return step
		}
	}
	e.t.Fatal("no convergence in 200 steps")
	return 0
}

func (e *env) replicaSets() []*v1.ReplicaSet {
	out := e.rsAPI.Objects()
	byRevision(out)
	return out
}

func TestRollingUpdateStaysWithinBounds(t *testing.T) {
	tests := []struct {
		name                  string
		replicas              int32
		surge, unavailable    string
		wantMaxTotal, wantMin int32
	}{
		{"defaults, 5 replicas", 5, "25%", "25%", 7, 4},
		{"defaults, 10 replicas", 10, "25%", "25%", 13, 8},
		{"no surge", 10, "0", "1", 10, 9},
		{"no unavailability", 10, "3", "0", 13, 10},
		{"one replica", 1, "25%", "25%", 2, 1},
		{"both zero means one unavailable", 4, "0%", "0%", 4, 3},
		{"absolute numbers", 6, "2", "2", 8, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deployment("web", tt.replicas, "img:1")
			d.Spec.Strategy.RollingUpdate = &v1.RollingUpdateDeployment{MaxSurge: tt.surge, MaxUnavailable: tt.unavailable}
			e := newEnv(t, []*v1.Deployment{d}, nil, nil)
			e.converge("web", tt.replicas, 0) // the first rollout starts from nothing
			rss := e.replicaSets()
			if len(rss) != 1 || rsReplicas(rss[0]) != tt.replicas || Revision(rss[0]) != 1 {
				t.Fatalf("after the first rollout: %v", rss)
			}
			d = e.deployment("web")
			d.Spec.Template.Spec.Containers[0].Image = "img:2"
			e.update(d)
			e.converge("web", tt.wantMaxTotal, tt.wantMin)
			rss = e.replicaSets()
			if len(rss) != 2 || rsReplicas(rss[0]) != 0 || rsReplicas(rss[1]) != tt.replicas {
				t.Fatalf("after the rollout: old %d, new %d replicas", rsReplicas(rss[0]), rsReplicas(rss[1]))
			}
			if rss[1].GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage() != "img:2" || Revision(rss[1]) != 2 {
				t.Fatalf("new replicaset %v", rss[1])
			}
			d = e.deployment("web")
			st := d.GetStatus()
			if st.GetReplicas() != tt.replicas || st.GetUpdatedReplicas() != tt.replicas || st.GetAvailableReplicas() != tt.replicas || st.GetUnavailableReplicas() != 0 || st.GetObservedGeneration() != d.GetMetadata().GetGeneration() {
				t.Fatalf("status %v", st)
			}
			if c := getCondition(st, ConditionProgressing); c.GetReason() != ReasonNewRSAvailable || c.GetStatus() != "True" {
				t.Fatalf("Progressing %v", c)
			}
			if c := getCondition(st, ConditionAvailable); c.GetStatus() != "True" || c.GetReason() != ReasonMinimumReplicasAvailable {
				t.Fatalf("Available %v", c)
			}
			if d.GetMetadata().GetAnnotations()[RevisionAnnotation] != "2" {
				t.Fatalf("deployment revision %q", d.GetMetadata().GetAnnotations()[RevisionAnnotation])
			}
		})
	}
}

func TestNewReplicaSetShape(t *testing.T) {
	d := deployment("web", 3, "img:1")
	d.Metadata.Annotations = map[string]string{ChangeCauseAnnotation: "first", LastAppliedAnnotation: "{}"}
	e := newEnv(t, []*v1.Deployment{d}, nil, nil)
	e.sync("default/web")
	rss := e.replicaSets()
	if len(rss) != 1 {
		t.Fatalf("%d replicasets", len(rss))
	}
	rs := rss[0]
	hash := ComputeHash(d.Spec.Template, nil)
	md := rs.GetMetadata()
	if md.GetName() != "web-"+hash || md.GetLabels()[PodTemplateHashLabel] != hash || rs.GetSpec().GetSelector().GetMatchLabels()[PodTemplateHashLabel] != hash ||
		rs.GetSpec().GetTemplate().GetMetadata().GetLabels()[PodTemplateHashLabel] != hash {
		t.Fatalf("replicaset %v does not carry hash %s", rs, hash)
	}
	want := map[string]string{RevisionAnnotation: "1", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4", ChangeCauseAnnotation: "first"}
	for k, v := range want {
		if md.GetAnnotations()[k] != v {
			t.Errorf("annotation %s=%q, want %q", k, md.GetAnnotations()[k], v)
		}
	}
	if _, ok := md.GetAnnotations()[LastAppliedAnnotation]; ok {
		t.Error("last-applied-configuration copied")
	}
	if !controller.IsControlledBy(rs, d) || rsReplicas(rs) != 3 {
		t.Fatalf("owner %v, replicas %d", md.GetOwnerReferences(), rsReplicas(rs))
	}
	if ev := e.recorder.Events(); !slices.Contains(ev, "Normal ScalingReplicaSet Scaled up replica set web-"+hash+" from 0 to 3") {
		t.Fatalf("events %v", ev)
	}
	got := e.deployment("web")
	if c := getCondition(got.GetStatus(), ConditionProgressing); c.GetReason() != ReasonNewReplicaSet || c.GetMessage() != fmt.Sprintf("Created new replica set %q", "web-"+hash) {
		t.Fatalf("Progressing %v", c)
	}
}

func TestComputeHash(t *testing.T) {
	a := deployment("web", 1, "img:1").Spec.Template
	b := deployment("web", 1, "img:2").Spec.Template
	one := int32(1)
	if ComputeHash(a, nil) != ComputeHash(proto.Clone(a).(*v1.PodTemplateSpec), nil) {
		t.Fatal("hash not stable")
	}
	if ComputeHash(a, nil) == ComputeHash(b, nil) || ComputeHash(a, nil) == ComputeHash(a, &one) {
		t.Fatal("hash does not tell templates or collision counts apart")
	}
	for _, c := range ComputeHash(a, nil) {
		if !strings.ContainsRune("bcdfghjklmnpqrstvwxz2456789", c) {
			t.Fatalf("hash %q has %q", ComputeHash(a, nil), c)
		}
	}
	withLabel := proto.Clone(a).(*v1.PodTemplateSpec)
	withLabel.Metadata.Labels[PodTemplateHashLabel] = "x"
	if !EqualIgnoreHash(a, withLabel) || EqualIgnoreHash(a, b) {
		t.Fatal("EqualIgnoreHash")
	}
}

func TestRollbackReusesTheOldReplicaSet(t *testing.T) {
	e := newEnv(t, []*v1.Deployment{deployment("web", 4, "img:1")}, nil, nil)
	e.converge("web", 4, 0)
	d := e.deployment("web")
	v1Template := proto.Clone(d.Spec.Template).(*v1.PodTemplateSpec)
	d.Spec.Template.Spec.Containers[0].Image = "img:2"
	e.update(d)
	e.converge("web", 5, 3)
	// What `rollout undo` does: the old template back into the Deployment.
	d = e.deployment("web")
	d.Spec.Template = v1Template
	e.update(d)
	e.converge("web", 5, 3)
	rss := e.replicaSets()
	if len(rss) != 2 {
		t.Fatalf("%d replicasets after the rollback, want the 2 there were", len(rss))
	}
	img2, img1 := rss[0], rss[1]
	if Revision(img2) != 2 || Revision(img1) != 3 || img1.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage() != "img:1" {
		t.Fatalf("revisions: %s=%d, %s=%d", img2.GetMetadata().GetName(), Revision(img2), img1.GetMetadata().GetName(), Revision(img1))
	}
	if img1.GetMetadata().GetAnnotations()[RevisionHistoryAnnotation] != "1" || rsReplicas(img1) != 4 || rsReplicas(img2) != 0 {
		t.Fatalf("rolled-back replicaset %v", img1.GetMetadata())
	}
	if got := e.deployment("web").GetMetadata().GetAnnotations()[RevisionAnnotation]; got != "3" {
		t.Fatalf("deployment revision %s", got)
	}
}

func TestRevisionHistoryLimit(t *testing.T) {
	d := deployment("web", 2, "img:0")
	two := int32(2)
	d.Spec.RevisionHistoryLimit = &two
	e := newEnv(t, []*v1.Deployment{d}, nil, nil)
	e.converge("web", 2, 0)
	for i := 1; i <= 4; i++ {
		d = e.deployment("web")
		d.Spec.Template.Spec.Containers[0].Image = "img:" + strconv.Itoa(i)
		e.update(d)
		e.converge("web", 3, 1)
	}
	var revs []int64
	for _, rs := range e.replicaSets() {
		revs = append(revs, Revision(rs))
	}
	if !slices.Equal(revs, []int64{3, 4, 5}) {
		t.Fatalf("revisions kept %v, want [3 4 5] (two old and the current)", revs)
	}
}

func TestRecreateWaitsForOldPods(t *testing.T) {
	d := deployment("web", 3, "img:1")
	d.Spec.Strategy = &v1.DeploymentStrategy{Type: StrategyRecreate}
	e := newEnv(t, []*v1.Deployment{d}, nil, nil)
	e.converge("web", 3, 0)
	old := e.replicaSets()[0]
	// The old ReplicaSet's pods, as the informer shows them.
	var pods []*v1.Pod
	for i := range 3 {
		p := &v1.Pod{Metadata: &v1.ObjectMeta{Name: fmt.Sprintf("old-%d", i), Namespace: "default", Labels: old.GetSpec().GetTemplate().GetMetadata().GetLabels(),
			OwnerReferences: []*v1.OwnerReference{controller.NewControllerRef(old)}}, Status: &v1.PodStatus{Phase: "Running"}}
		e.pods.Add(p)
		pods = append(pods, p)
	}
	d = e.deployment("web")
	d.Spec.Template.Spec.Containers[0].Image = "img:2"
	e.update(d)
	e.sync("default/web")
	if rss := e.replicaSets(); len(rss) != 1 || rsReplicas(rss[0]) != 0 {
		t.Fatalf("first step: %d replicasets, old at %d; want only the old one, scaled to 0", len(rss), rsReplicas(rss[0]))
	}
	e.rsStep(false)
	e.sync("default/web")
	if rss := e.replicaSets(); len(rss) != 1 {
		t.Fatalf("a new replicaset while old pods run: %d", len(rss))
	}
	for _, p := range pods {
		e.pods.Delete(p)
	}
	e.sync("default/web")
	rss := e.replicaSets()
	if len(rss) != 2 || rsReplicas(rss[1]) != 3 {
		t.Fatalf("after the old pods went: %d replicasets", len(rss))
	}
}

func TestScaleMidRolloutIsProportional(t *testing.T) {
	d := deployment("web", 10, "img:1")
	d.Spec.Strategy.RollingUpdate = &v1.RollingUpdateDeployment{MaxSurge: "3", MaxUnavailable: "2"}
	e := newEnv(t, []*v1.Deployment{d}, nil, nil)
	e.converge("web", 10, 0)
	d = e.deployment("web")
	d.Spec.Template.Spec.Containers[0].Image = "img:2"
	e.update(d)
	// One step of the rollout: new scaled up by the surge (3), old down by 2+... then stop.
	e.sync("default/web")
	e.rsStep(false)
	e.sync("default/web")
	e.rsStep(false)
	before := e.replicaSets()
	oldN, newN := rsReplicas(before[0]), rsReplicas(before[1])
	if oldN+newN != 13 || newN == 0 || oldN == 0 {
		t.Fatalf("mid-rollout sizes old %d new %d, want 13 in all with both non-empty", oldN, newN)
	}
	d = e.deployment("web")
	twenty := int32(20)
	d.Spec.Replicas = &twenty
	e.update(d)
	e.sync("default/web")
	after := e.replicaSets()
	total := rsReplicas(after[0]) + rsReplicas(after[1])
	if total != 23 {
		t.Fatalf("after scaling to 20: %d pods wanted, want 23 (20 + surge 3)", total)
	}
	// Each keeps about its share of 13 -> 23.
	for i, rs := range after {
		want := float64(rsReplicas(before[i])) * 23 / 13
		if got := float64(rsReplicas(rs)); got < want-1.01 || got > want+1.01 {
			t.Errorf("%s: %v, want about %.1f", rs.GetMetadata().GetName(), got, want)
		}
	}
}

func TestAdoptsOrphanReplicaSet(t *testing.T) {
	d := deployment("web", 2, "img:1")
	hash := ComputeHash(d.Spec.Template, nil)
	two := int32(2)
	orphan := &v1.ReplicaSet{
		Metadata: &v1.ObjectMeta{Name: "web-" + hash, Namespace: "default", Uid: "uid-orphan", ResourceVersion: "1",
			Labels: map[string]string{"app": "web", PodTemplateHashLabel: hash}, Annotations: map[string]string{RevisionAnnotation: "1"}},
		Spec: &v1.ReplicaSetSpec{Replicas: &two,
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "web", PodTemplateHashLabel: hash}},
			Template: &v1.PodTemplateSpec{Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": "web", PodTemplateHashLabel: hash}}, Spec: proto.Clone(d.Spec.Template.Spec).(*v1.PodSpec)}},
	}
	e := newEnv(t, []*v1.Deployment{d}, []*v1.ReplicaSet{orphan}, nil)
	e.sync("default/web")
	rss := e.replicaSets()
	if len(rss) != 1 || !controller.IsControlledBy(rss[0], d) {
		t.Fatalf("replicasets %v, want the orphan adopted and no new one", rss)
	}
}

func TestScaledValue(t *testing.T) {
	tests := []struct {
		v       string
		total   int32
		up      bool
		want    int32
		wantErr bool
	}{
		{"25%", 5, true, 2, false},
		{"25%", 5, false, 1, false},
		{"25%", 4, true, 1, false},
		{"0%", 10, true, 0, false},
		{"100%", 3, false, 3, false},
		{"3", 10, false, 3, false},
		{"", 10, false, 0, false},
		{"x%", 10, false, 0, true},
		{"-1", 10, false, 0, true},
	}
	for _, tt := range tests {
		got, err := ScaledValue(tt.v, tt.total, tt.up)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ScaledValue(%q, %d, %v) = %d, %v; want %d (error %v)", tt.v, tt.total, tt.up, got, err, tt.want, tt.wantErr)
		}
	}
}

// A ReplicaSet status from before its scale-down (more available than
// wanted) must never make the controller scale that ReplicaSet up again,
// nor count pods that are already going.
func TestStaleStatusNeverScalesOldUp(t *testing.T) {
	e := newEnv(t, []*v1.Deployment{deployment("web", 5, "img:1")}, nil, nil)
	e.converge("web", 5, 0)
	d := e.deployment("web")
	d.Spec.Template.Spec.Containers[0].Image = "img:2"
	e.update(d)
	e.sync("default/web") // creates the new ReplicaSet
	rss := e.replicaSets()
	if len(rss) != 2 {
		t.Fatalf("%d replicasets", len(rss))
	}
	// The state mid-rollout, as a lagging cache shows it: the old
	// ReplicaSet scaled down to 2 but its status still says 4 available;
	// the new one at 5, all available.
	old, cur := rss[0], rss[1]
	two, five := int32(2), int32(5)
	old.Spec.Replicas = &two
	old.Status = &v1.ReplicaSetStatus{Replicas: 4, ReadyReplicas: 4, AvailableReplicas: 4, ObservedGeneration: old.GetMetadata().GetGeneration()}
	cur.Spec.Replicas = &five
	cur.Status = &v1.ReplicaSetStatus{Replicas: 5, ReadyReplicas: 5, AvailableReplicas: 5, ObservedGeneration: cur.GetMetadata().GetGeneration()}
	e.rsAPI.Put(old)
	e.rsAPI.Put(cur)
	e.rsAPI.Flush()
	e.recorder.Events()
	for range 3 {
		_ = e.c.sync(context.Background(), "default/web")
		e.dAPI.Flush()
		e.rsAPI.Flush()
		for _, ev := range e.recorder.Events() {
			if strings.HasPrefix(ev, "Normal ScalingReplicaSet Scaled up replica set "+old.GetMetadata().GetName()) {
				t.Fatalf("old replicaset scaled up on a stale status: %s", ev)
			}
		}
		if tt := e.totals(); tt.spec > 7 {
			t.Fatalf("%d wanted", tt.spec)
		}
	}
}
