package replicaset

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	testclock "k8s.io/utils/clock/testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/controller"
	"minik8s/pkg/controller/controllertest"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	clock    *testclock.FakeClock
	pods     *controllertest.Informer[*v1.Pod]
	rss      *controllertest.Informer[*v1.ReplicaSet]
	podAPI   *controllertest.Client[*v1.Pod]
	rsAPI    *controllertest.Client[*v1.ReplicaSet]
	recorder *controllertest.Recorder
	c        *Controller
}

func newEnv(t *testing.T, rss []*v1.ReplicaSet, pods []*v1.Pod) *env {
	t.Helper()
	e := &env{clock: testclock.NewFakeClock(t0), recorder: &controllertest.Recorder{}}
	e.pods = controllertest.NewInformer(pods...)
	e.rss = controllertest.NewInformer(rss...)
	e.podAPI = controllertest.NewClient(e.pods, e.clock)
	e.rsAPI = controllertest.NewClient(e.rss, e.clock)
	c, err := New(Config{Pods: e.pods, ReplicaSets: e.rss, PodClient: e.podAPI, RSClient: e.rsAPI, Recorder: e.recorder, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	e.c = c
	return e
}

func (e *env) sync(t *testing.T, key string) {
	t.Helper()
	if err := e.c.sync(context.Background(), key); err != nil {
		t.Fatalf("sync %s: %v", key, err)
	}
}

// flush delivers the apiserver's state to the caches.
func (e *env) flush() { e.podAPI.Flush(); e.rsAPI.Flush() }

func rs(name string, replicas int32) *v1.ReplicaSet {
	return &v1.ReplicaSet{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name, ResourceVersion: "1", Generation: 1},
		Spec: &v1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: &v1.PodTemplateSpec{
				Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Image: "img:1"}}},
			},
		},
	}
}

// pod is a pod owned by owner (nil: an orphan) labelled app=app.
func pod(name, app string, owner *v1.ReplicaSet) *v1.Pod {
	p := &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Uid: "uid-" + name, ResourceVersion: "1",
			Labels: map[string]string{"app": app}, CreationTimestamp: controllertest.Time(t0)},
		Spec:   &v1.PodSpec{NodeName: "n1"},
		Status: &v1.PodStatus{Phase: "Running"},
	}
	if owner != nil {
		p.Metadata.OwnerReferences = []*v1.OwnerReference{controller.NewControllerRef(owner)}
	}
	return p
}

func count(actions []string, prefix string) int {
	n := 0
	for _, a := range actions {
		if strings.HasPrefix(a, prefix) {
			n++
		}
	}
	return n
}

func TestScaleUpWithExpectations(t *testing.T) {
	web := rs("web", 3)
	e := newEnv(t, []*v1.ReplicaSet{web}, nil)
	e.sync(t, "default/web")
	if got := e.podAPI.Actions(); !slices.Equal(got, []string{"create default/web-", "create default/web-", "create default/web-"}) {
		t.Fatalf("first sync: %v, want three creates", got)
	}
	// The cache has not seen the pods: a second sync must not create more.
	e.rsAPI.Flush()
	e.sync(t, "default/web")
	if got := e.podAPI.Actions(); len(got) != 0 {
		t.Fatalf("sync before the cache caught up: %v, want nothing", got)
	}
	e.flush()
	if add, _ := e.c.expectations.Pending("default/web"); add != 0 {
		t.Fatalf("pending creations after the pods were seen: %d", add)
	}
	e.sync(t, "default/web")
	if got := e.podAPI.Actions(); len(got) != 0 {
		t.Fatalf("sync at the desired count: %v", got)
	}
	e.flush()
	got, _ := e.rss.Get("default/web")
	if st := got.GetStatus(); st.GetReplicas() != 3 || st.GetObservedGeneration() != 1 || st.GetFullyLabeledReplicas() != 3 {
		t.Fatalf("status %v, want replicas 3, fullyLabeled 3, observedGeneration 1", st)
	}
	for _, p := range e.podAPI.Objects() {
		ref := controller.GetControllerOf(p)
		if ref == nil || ref.GetUid() != "uid-web" || !ref.GetBlockOwnerDeletion() || ref.GetKind() != "ReplicaSet" || ref.GetApiVersion() != "apps/v1" {
			t.Errorf("pod %s: controller ref %v", p.GetMetadata().GetName(), ref)
		}
		if !strings.HasPrefix(p.GetMetadata().GetName(), "web-") || p.GetMetadata().GetLabels()["app"] != "web" {
			t.Errorf("pod %s labels %v", p.GetMetadata().GetName(), p.GetMetadata().GetLabels())
		}
	}
	if ev := e.recorder.Events(); count(ev, "Normal SuccessfulCreate Created pod: web-") != 3 {
		t.Errorf("events %v", ev)
	}
}

func TestSlowStartStopsAtTheFirstFailingBatch(t *testing.T) {
	e := newEnv(t, []*v1.ReplicaSet{rs("web", 10)}, nil)
	boom := errdefs.Unavailable("apiserver away")
	// Batch 1 (1 pod) succeeds, batch 2 (2 pods) has one failure: stop.
	e.podAPI.FailNext("create", nil, boom)
	err := e.c.sync(context.Background(), "default/web")
	if err == nil {
		t.Fatal("sync succeeded despite a failed create")
	}
	if got := count(e.podAPI.Actions(), "create"); got != 3 {
		t.Fatalf("%d create calls, want 3 (batches of 1 and 2)", got)
	}
	if add, _ := e.c.expectations.Pending("default/web"); add != 2 {
		t.Fatalf("pending creations %d, want the 2 that succeeded", add)
	}
	e.flush()
	got, _ := e.rss.Get("default/web")
	cond := findCondition(got.GetStatus().GetConditions(), ReplicaFailure)
	if cond == nil || cond.GetReason() != "FailedCreate" {
		t.Fatalf("conditions %v, want ReplicaFailure FailedCreate", got.GetStatus().GetConditions())
	}
	// Next round: 8 more in batches 1, 2, 4, 1; the failure clears.
	e.sync(t, "default/web")
	if got := count(e.podAPI.Actions(), "create"); got != 8 {
		t.Fatalf("%d creates in the second round, want 8", got)
	}
	e.flush()
	e.sync(t, "default/web")
	e.flush()
	got, _ = e.rss.Get("default/web")
	if findCondition(got.GetStatus().GetConditions(), ReplicaFailure) != nil || got.GetStatus().GetReplicas() != 10 {
		t.Fatalf("status %v, want 10 replicas and no failure", got.GetStatus())
	}
}

func TestSlowStartBatch(t *testing.T) {
	tests := []struct {
		name      string
		count     int
		failAt    int // the call that fails, 1-based (0: none)
		wantCalls int
		wantOK    int
	}{
		{"all succeed", 7, 0, 7, 7},
		{"first fails", 7, 1, 1, 0},
		{"in the third batch", 20, 5, 7, 6},
		{"zero", 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The calls are numbered through a channel used as a mutex.
			seq := make(chan int, 1)
			seq <- 0
			ok, err := SlowStartBatch(tt.count, 1, func() error {
				i := <-seq + 1
				seq <- i
				if i == tt.failAt {
					return fmt.Errorf("call %d failed", i)
				}
				return nil
			})
			calls2 := <-seq
			if calls2 != tt.wantCalls || ok != tt.wantOK || (tt.failAt != 0) != (err != nil) {
				t.Fatalf("calls %d ok %d err %v, want calls %d ok %d", calls2, ok, err, tt.wantCalls, tt.wantOK)
			}
		})
	}
}

func TestScaleDownPicksTheCheapestPods(t *testing.T) {
	web := rs("web", 2)
	old := t0.Add(-time.Hour)
	unscheduled := pod("unscheduled", "web", web)
	unscheduled.Spec.NodeName = ""
	unscheduled.Status.Phase = "Pending"
	pending := pod("pending", "web", web)
	pending.Status.Phase = "Pending"
	notReady := pod("not-ready", "web", web)
	readyNew := controllertest.ReadyPod(pod("ready-new", "web", web), t0)
	readyOld := controllertest.ReadyPod(pod("ready-old", "web", web), old)
	e := newEnv(t, []*v1.ReplicaSet{web}, []*v1.Pod{readyOld, readyNew, notReady, pending, unscheduled})
	e.sync(t, "default/web")
	got := e.podAPI.Actions()
	slices.Sort(got)
	want := []string{"delete default/not-ready", "delete default/pending", "delete default/unscheduled"}
	if !slices.Equal(got, want) {
		t.Fatalf("deleted %v, want %v", got, want)
	}
	// The deletions are expected: until they are seen, nothing more happens.
	e.rsAPI.Flush()
	e.sync(t, "default/web")
	if got := e.podAPI.Actions(); len(got) != 0 {
		t.Fatalf("second sync before the cache caught up: %v", got)
	}
	e.flush()
	if _, del := e.c.expectations.Pending("default/web"); del != 0 {
		t.Fatalf("pending deletions %d after the cache caught up", del)
	}
	e.sync(t, "default/web")
	e.flush()
	st, _ := e.rss.Get("default/web")
	if st.GetStatus().GetReplicas() != 2 || st.GetStatus().GetReadyReplicas() != 2 {
		t.Fatalf("status %v, want 2 ready replicas", st.GetStatus())
	}
}

func TestDeleteOrder(t *testing.T) {
	mk := func(name, node, phase string, readySince *time.Time, created time.Time, restarts int32) *v1.Pod {
		p := &v1.Pod{
			Metadata: &v1.ObjectMeta{Name: name, CreationTimestamp: controllertest.Time(created)},
			Spec:     &v1.PodSpec{NodeName: node},
			Status:   &v1.PodStatus{Phase: phase, ContainerStatuses: []*v1.ContainerStatus{{RestartCount: restarts}}},
		}
		if readySince != nil {
			p.Status.Conditions = []*v1.Condition{{Type: "Ready", Status: "True", LastTransitionTime: controllertest.Time(*readySince)}}
		}
		return p
	}
	early, late := t0.Add(-time.Hour), t0
	tests := []struct {
		name        string
		first, then rankedPod
	}{
		{"unscheduled before scheduled", rankedPod{pod: mk("a", "", "Pending", nil, early, 0)}, rankedPod{pod: mk("b", "n", "Pending", nil, late, 0)}},
		{"pending before running", rankedPod{pod: mk("a", "n", "Pending", nil, early, 0)}, rankedPod{pod: mk("b", "n", "Running", nil, late, 0)}},
		{"unknown before running", rankedPod{pod: mk("a", "n", "Unknown", nil, early, 0)}, rankedPod{pod: mk("b", "n", "Running", nil, late, 0)}},
		{"not ready before ready", rankedPod{pod: mk("a", "n", "Running", nil, early, 0)}, rankedPod{pod: mk("b", "n", "Running", &early, late, 0)}},
		{"doubled up before alone", rankedPod{pod: mk("a", "n", "Running", &early, early, 0), rank: 3}, rankedPod{pod: mk("b", "m", "Running", &late, late, 0), rank: 1}},
		{"ready recently before ready long", rankedPod{pod: mk("a", "n", "Running", &late, early, 0)}, rankedPod{pod: mk("b", "n", "Running", &early, late, 0)}},
		{"more restarts first", rankedPod{pod: mk("a", "n", "Running", nil, early, 5)}, rankedPod{pod: mk("b", "n", "Running", nil, late, 1)}},
		{"newer before older", rankedPod{pod: mk("a", "n", "Running", nil, late, 0)}, rankedPod{pod: mk("b", "n", "Running", nil, early, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !deleteFirst(tt.first, tt.then) {
				t.Errorf("%s not before %s", tt.first.pod.GetMetadata().GetName(), tt.then.pod.GetMetadata().GetName())
			}
			if deleteFirst(tt.then, tt.first) {
				t.Errorf("order not strict")
			}
		})
	}
}

func TestAdoptAndRelease(t *testing.T) {
	web := rs("web", 2)
	other := rs("other", 1)
	orphan := pod("orphan", "web", nil)
	relabelled := pod("relabelled", "db", web) // owned, but no longer matching
	foreign := pod("foreign", "web", other)    // matching, but someone else's
	terminating := pod("terminating", "web", nil)
	terminating.Metadata.DeletionTimestamp = controllertest.Time(t0)
	e := newEnv(t, []*v1.ReplicaSet{web, other}, []*v1.Pod{orphan, relabelled, foreign, terminating})
	e.sync(t, "default/web")
	got := e.podAPI.Actions()
	want := []string{"update default/orphan", "update default/relabelled", "create default/web-"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	for _, p := range e.podAPI.Objects() {
		ref := controller.GetControllerOf(p)
		switch p.GetMetadata().GetName() {
		case "orphan":
			if ref == nil || ref.GetUid() != "uid-web" {
				t.Errorf("orphan not adopted: %v", p.GetMetadata().GetOwnerReferences())
			}
		case "relabelled":
			if len(p.GetMetadata().GetOwnerReferences()) != 0 {
				t.Errorf("relabelled pod not released: %v", p.GetMetadata().GetOwnerReferences())
			}
		case "foreign":
			if ref.GetUid() != "uid-other" {
				t.Errorf("foreign pod taken: %v", ref)
			}
		}
	}
}

func TestNoAdoptionByADyingOwner(t *testing.T) {
	web := rs("web", 1)
	e := newEnv(t, []*v1.ReplicaSet{web}, []*v1.Pod{pod("orphan", "web", nil)})
	// The cache still shows web alive; the apiserver knows it is being deleted.
	dying := rs("web", 1)
	dying.Metadata.DeletionTimestamp = controllertest.Time(t0)
	dying.Metadata.Finalizers = []string{"foregroundDeletion"}
	e.rsAPI.Put(dying)
	if err := e.c.sync(context.Background(), "default/web"); err == nil {
		t.Fatal("adopted for an owner being deleted")
	}
	if got := e.podAPI.Actions(); len(got) != 0 {
		t.Fatalf("actions %v, want none", got)
	}
}

func TestAvailabilityWaitsForMinReadySeconds(t *testing.T) {
	web := rs("web", 2)
	web.Spec.MinReadySeconds = 10
	a := controllertest.ReadyPod(pod("a", "web", web), t0.Add(-time.Minute))
	b := controllertest.ReadyPod(pod("b", "web", web), t0.Add(-5*time.Second))
	e := newEnv(t, []*v1.ReplicaSet{web}, []*v1.Pod{a, b})
	e.sync(t, "default/web")
	e.flush()
	got, _ := e.rss.Get("default/web")
	if st := got.GetStatus(); st.GetReadyReplicas() != 2 || st.GetAvailableReplicas() != 1 {
		t.Fatalf("status %v, want 2 ready, 1 available", st)
	}
	e.clock.Step(6 * time.Second)
	e.sync(t, "default/web")
	e.flush()
	got, _ = e.rss.Get("default/web")
	if st := got.GetStatus(); st.GetAvailableReplicas() != 2 {
		t.Fatalf("status %v after minReadySeconds, want 2 available", st)
	}
}

func TestPodEventsObserveExpectations(t *testing.T) {
	web := rs("web", 1)
	e := newEnv(t, []*v1.ReplicaSet{web}, []*v1.Pod{pod("a", "web", web), pod("b", "web", web)})
	e.sync(t, "default/web")
	if got := count(e.podAPI.Actions(), "delete"); got != 1 {
		t.Fatalf("%d deletes, want 1", got)
	}
	if e.c.expectations.Satisfied("default/web") {
		t.Fatal("satisfied before the deletion was seen")
	}
	// A graceful deletion (deletionTimestamp set) already counts as seen.
	var victim *v1.Pod
	for _, name := range []string{"a", "b"} {
		if _, err := e.podAPI.Get(context.Background(), "default", name); errdefs.IsNotFound(err) {
			victim, _ = e.pods.Get("default/" + name)
		}
	}
	if victim == nil {
		t.Fatal("no pod was deleted")
	}
	terminating := controllertest.ReadyPod(pod(victim.GetMetadata().GetName(), "web", web), t0)
	terminating.Metadata.ResourceVersion = "99"
	terminating.Metadata.DeletionTimestamp = controllertest.Time(t0)
	e.pods.Update(terminating)
	if !e.c.expectations.Satisfied("default/web") {
		t.Fatal("not satisfied after the pod started terminating")
	}
	// The final delete of the same pod does not count twice.
	e.pods.Delete(terminating)
	if _, del := e.c.expectations.Pending("default/web"); del != 0 {
		t.Fatalf("pending deletions %d", del)
	}
}

func TestExpectationsExpire(t *testing.T) {
	clk := testclock.NewFakeClock(t0)
	x := controller.NewExpectations(clk)
	x.ExpectCreations("k", 2)
	x.CreationObserved("k")
	if x.Satisfied("k") {
		t.Fatal("satisfied with one creation pending")
	}
	clk.Step(controller.ExpectationsTimeout + time.Second)
	if !x.Satisfied("k") {
		t.Fatal("expectations did not expire")
	}
	x.ExpectDeletions("k", []string{"ns/a", "ns/b"})
	x.DeletionObserved("k", "ns/a")
	x.DeletionObserved("k", "ns/a")
	x.DeletionObserved("k", "ns/other")
	if add, del := x.Pending("k"); add != 0 || del != 1 {
		t.Fatalf("pending %d/%d, want 0/1", add, del)
	}
	x.DeletionObserved("k", "ns/b")
	if !x.Satisfied("k") {
		t.Fatal("not satisfied after both deletions")
	}
}

func TestDeletedReplicaSetForgetsExpectations(t *testing.T) {
	web := rs("web", 2)
	e := newEnv(t, []*v1.ReplicaSet{web}, nil)
	e.sync(t, "default/web")
	e.rss.Delete(web)
	e.sync(t, "default/web")
	if add, _ := e.c.expectations.Pending("default/web"); add != 0 {
		t.Fatalf("expectations kept for a deleted replicaset: %d", add)
	}
	if got := e.podAPI.Actions(); count(got, "create") != 2 {
		t.Fatalf("actions %v", got)
	}
}

func TestStatusConflictIsRetriedOnTheCurrentObject(t *testing.T) {
	web := rs("web", 1)
	e := newEnv(t, []*v1.ReplicaSet{web}, []*v1.Pod{controllertest.ReadyPod(pod("a", "web", web), t0)})
	// Someone (the Deployment controller) scales the ReplicaSet; the cache
	// has not seen it yet.
	scaled := rs("web", 1)
	scaled.Metadata.Annotations = map[string]string{"deployment.kubernetes.io/desired-replicas": "1"}
	e.rsAPI.Put(scaled)
	e.sync(t, "default/web")
	got := e.rsAPI.Objects()[0]
	if got.GetStatus().GetReadyReplicas() != 1 || got.GetMetadata().GetAnnotations()["deployment.kubernetes.io/desired-replicas"] != "1" {
		t.Fatalf("replicaset %v, want the status written onto the current object", got)
	}
	if got := e.rsAPI.Actions(); !slices.Equal(got, []string{"updateStatus default/web", "updateStatus default/web"}) {
		t.Fatalf("actions %v, want a conflict and a retry", got)
	}
}
