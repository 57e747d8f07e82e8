package minictl

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
)

func rolloutDeployment(replicas int32, image string, st *v1.DeploymentStatus) *v1.Deployment {
	return &v1.Deployment{
		Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default", Uid: "uid-web", Generation: 2,
			Annotations: map[string]string{rolloutRevisionAnnotation: "2"}},
		Spec: &v1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &v1.PodTemplateSpec{
				Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "web", Image: image}}},
			},
		},
		Status: st,
	}
}

func rolloutRS(name, revision, image, cause string, owner *v1.Deployment) *v1.ReplicaSet {
	yes := true
	rs := &v1.ReplicaSet{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default",
			Annotations:     map[string]string{rolloutRevisionAnnotation: revision},
			OwnerReferences: []*v1.OwnerReference{{ApiVersion: "apps/v1", Kind: "Deployment", Name: "web", Uid: owner.GetMetadata().GetUid(), Controller: &yes}}},
		Spec: &v1.ReplicaSetSpec{Template: &v1.PodTemplateSpec{
			Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": "web", rolloutPodTemplateHashLabel: name[len("web-"):]}},
			Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "web", Image: image}}},
		}},
	}
	if cause != "" {
		rs.Metadata.Annotations[rolloutChangeCauseAnnotation] = cause
	}
	return rs
}

func TestDeploymentRolloutStatus(t *testing.T) {
	timedOut := []*v1.Condition{{Type: "Progressing", Status: "False", Reason: rolloutTimedOutReason}}
	tests := []struct {
		name     string
		gen      int64
		st       *v1.DeploymentStatus
		revision int64
		want     string
		done     bool
		wantErr  string
	}{
		{"spec not observed", 3, &v1.DeploymentStatus{ObservedGeneration: 2}, 0, "Waiting for deployment spec update to be observed...\n", false, ""},
		{"updating", 2, &v1.DeploymentStatus{ObservedGeneration: 2, Replicas: 6, UpdatedReplicas: 2}, 0,
			"Waiting for deployment \"web\" rollout to finish: 2 out of 5 new replicas have been updated...\n", false, ""},
		{"old pending", 2, &v1.DeploymentStatus{ObservedGeneration: 2, Replicas: 7, UpdatedReplicas: 5}, 0,
			"Waiting for deployment \"web\" rollout to finish: 2 old replicas are pending termination...\n", false, ""},
		{"available", 2, &v1.DeploymentStatus{ObservedGeneration: 2, Replicas: 5, UpdatedReplicas: 5, AvailableReplicas: 2}, 0,
			"Waiting for deployment \"web\" rollout to finish: 2 of 5 updated replicas are available...\n", false, ""},
		{"done", 2, &v1.DeploymentStatus{ObservedGeneration: 2, Replicas: 5, UpdatedReplicas: 5, AvailableReplicas: 5}, 0,
			"deployment \"web\" successfully rolled out\n", true, ""},
		{"timed out", 2, &v1.DeploymentStatus{ObservedGeneration: 2, Conditions: timedOut}, 0, "", false, `deployment "web" exceeded its progress deadline`},
		{"other revision", 2, &v1.DeploymentStatus{ObservedGeneration: 2}, 1, "", false, "desired revision (1) is different from the running revision (2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := rolloutDeployment(5, "img:2", tt.st)
			d.Metadata.Generation = tt.gen
			msg, done, err := DeploymentRolloutStatus(d, tt.revision)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || msg != tt.want || done != tt.done {
				t.Fatalf("got %q %v %v, want %q %v", msg, done, err, tt.want, tt.done)
			}
		})
	}
}

func TestRolloutStatusWatchesUntilDone(t *testing.T) {
	fc := newFakeClient(rolloutDeployment(2, "img:2", &v1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 1}))
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(context.Background(), testFactory(fc, "", &out, &errOut), []string{"rollout", "status", "deployment/web"})
	}()
	steps := []*v1.DeploymentStatus{
		{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 2, AvailableReplicas: 1},
		{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1},
		{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2},
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "1 out of 2") {
		if time.Now().After(deadline) {
			t.Fatalf("no first status line: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The watch is open once the first line is out: feed the changes.
	for !hasWatch(fc) {
		time.Sleep(5 * time.Millisecond)
	}
	for _, st := range steps {
		obj, _ := fc.Get(context.Background(), deploymentsResource(), "default", "web")
		d := obj.(*v1.Deployment)
		d.Status = st
		if _, err := fc.Update(context.Background(), deploymentsResource(), d); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("rollout status did not return; printed %q", out.String())
	}
	want := "Waiting for deployment \"web\" rollout to finish: 1 out of 2 new replicas have been updated...\n" +
		"Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...\n" +
		"Waiting for deployment \"web\" rollout to finish: 1 of 2 updated replicas are available...\n" +
		"deployment \"web\" successfully rolled out\n"
	if out.String() != want {
		t.Fatalf("printed\n%s\nwant\n%s", out.String(), want)
	}
}

func hasWatch(fc *fakeClient) bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return len(fc.watchers) > 0
}

func TestRolloutHistory(t *testing.T) {
	d := rolloutDeployment(3, "img:2", nil)
	other := &v1.Deployment{Metadata: &v1.ObjectMeta{Name: "other", Namespace: "default", Uid: "uid-other"}}
	fc := newFakeClient(d,
		rolloutRS("web-aaa", "1", "img:1", "", d),
		rolloutRS("web-bbb", "2", "img:2", "minictl set image deployment/web web=img:2", d),
		rolloutRS("web-ccc", "7", "img:9", "", other),
	)
	r := run(t, fc, "rollout", "history", "deployment/web")
	want := "deployment.apps/web\nREVISION  CHANGE-CAUSE\n1         <none>\n2         minictl set image deployment/web web=img:2\n\n"
	if r.code != 0 || r.out != want {
		t.Fatalf("exit %d\n%q\nwant\n%q\nstderr %s", r.code, r.out, want, r.err)
	}
	r = run(t, fc, "rollout", "history", "deployment", "web", "--revision", "1")
	if r.code != 0 || !strings.HasPrefix(r.out, "deployment.apps/web with revision #1\nPod Template:\n") || !strings.Contains(r.out, "Image:\timg:1") {
		t.Fatalf("exit %d %q %s", r.code, r.out, r.err)
	}
	r = run(t, fc, "rollout", "history", "deployment/web", "--revision", "5")
	if r.code != 1 || r.err != "error: unable to find the specified revision\n" {
		t.Fatalf("exit %d %q", r.code, r.err)
	}
}

func TestRolloutUndo(t *testing.T) {
	d := rolloutDeployment(3, "img:2", nil)
	d.Metadata.Annotations[rolloutChangeCauseAnnotation] = "second"
	old := rolloutRS("web-aaa", "1", "img:1", "first", d)
	cur := rolloutRS("web-bbb", "2", "img:2", "second", d)
	tests := []struct {
		name      string
		args      []string
		paused    bool
		wantOut   string
		wantErr   string
		wantImage string
	}{
		{"previous", nil, false, "deployment.apps/web rolled back\n", "", "img:1"},
		{"to revision 1", []string{"--to-revision", "1"}, false, "deployment.apps/web rolled back\n", "", "img:1"},
		{"to the current revision", []string{"--to-revision", "2"}, false, "deployment.apps/web skipped rollback (current template already matches revision 2)\n", "", "img:2"},
		{"unknown revision", []string{"--to-revision", "9"}, false, "", "error: unable to find specified revision 9 in history\n", "img:2"},
		{"paused", nil, true, "", "error: you cannot rollback a paused deployment; resume it first with 'minictl rollout resume deployment/web' and try again\n", "img:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dd := proto.Clone(d).(*v1.Deployment)
			dd.Spec.Paused = tt.paused
			fc := newFakeClient(dd, old, cur)
			r := run(t, fc, append([]string{"rollout", "undo", "deployment/web"}, tt.args...)...)
			if r.out != tt.wantOut || r.err != tt.wantErr {
				t.Fatalf("out %q err %q, want %q %q", r.out, r.err, tt.wantOut, tt.wantErr)
			}
			obj, _ := fc.Get(context.Background(), deploymentsResource(), "default", "web")
			got := obj.(*v1.Deployment)
			if img := got.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage(); img != tt.wantImage {
				t.Fatalf("image %s, want %s", img, tt.wantImage)
			}
			if tt.wantImage == "img:1" {
				if _, ok := got.GetSpec().GetTemplate().GetMetadata().GetLabels()[rolloutPodTemplateHashLabel]; ok {
					t.Fatal("pod-template-hash copied into the deployment")
				}
				a := got.GetMetadata().GetAnnotations()
				if a[rolloutChangeCauseAnnotation] != "first" || a[rolloutRevisionAnnotation] != "2" {
					t.Fatalf("annotations %v", a)
				}
			}
		})
	}
}

func TestScale(t *testing.T) {
	three := int32(3)
	rs := &v1.ReplicaSet{Metadata: &v1.ObjectMeta{Name: "web-aaa", Namespace: "default"}, Spec: &v1.ReplicaSetSpec{Replicas: &three}}
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
		check   func(t *testing.T, fc *fakeClient)
	}{
		{"deployment", []string{"scale", "deployment", "web", "--replicas", "7"}, "deployment.apps/web scaled\n", "", func(t *testing.T, fc *fakeClient) {
			obj, _ := fc.Get(context.Background(), deploymentsResource(), "default", "web")
			if got := obj.(*v1.Deployment).GetSpec().GetReplicas(); got != 7 {
				t.Fatalf("replicas %d", got)
			}
		}},
		{"slash form", []string{"scale", "--replicas=0", "deployment/web"}, "deployment.apps/web scaled\n", "", nil},
		{"replicaset", []string{"scale", "rs", "web-aaa", "--replicas", "1"}, "replicaset.apps/web-aaa scaled\n", "", nil},
		{"precondition", []string{"scale", "deployment/web", "--replicas", "1", "--current-replicas", "2"}, "", "error: Expected replicas to be 2, was 5\n", nil},
		{"no replicas", []string{"scale", "deployment/web"}, "", "error: --replicas=COUNT is required, and COUNT must be greater than or equal to 0\nSee 'minictl scale -h' for help and examples\n", nil},
		{"pods", []string{"scale", "pod", "x", "--replicas", "1"}, "", "error: cannot scale pods: only deployments and replicasets can be scaled\n", nil},
		{"missing", []string{"scale", "deployment/nope", "--replicas", "1"}, "", "Error from server (NotFound): deployments.apps \"nope\" not found\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFakeClient(rolloutDeployment(5, "img:1", nil), rs)
			r := run(t, fc, tt.args...)
			if r.out != tt.want || r.err != tt.wantErr {
				t.Fatalf("out %q err %q, want %q %q", r.out, r.err, tt.want, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, fc)
			}
		})
	}
}

func TestRolloutPauseResumeRestart(t *testing.T) {
	fc := newFakeClient(rolloutDeployment(2, "img:1", nil))
	steps := []struct {
		args    []string
		out, er string
	}{
		{[]string{"rollout", "pause", "deployment/web"}, "deployment.apps/web paused\n", ""},
		{[]string{"rollout", "pause", "deployment/web"}, "", "error: deployments.apps \"web\" is already paused\n"},
		{[]string{"rollout", "restart", "deployment/web"}, "", "error: can't restart paused deployment (run rollout resume first)\n"},
		{[]string{"rollout", "resume", "deployment/web"}, "deployment.apps/web resumed\n", ""},
		{[]string{"rollout", "resume", "deployment/web"}, "", "error: deployments.apps \"web\" is not paused\n"},
		{[]string{"rollout", "restart", "deployment/web"}, "deployment.apps/web restarted\n", ""},
		{[]string{"rollout", "status", "pod/web"}, "", "error: no status viewer has been implemented for \"Pod\"\n"},
	}
	for _, s := range steps {
		r := run(t, fc, s.args...)
		if r.out != s.out || r.err != s.er {
			t.Fatalf("%v: out %q err %q, want %q %q", s.args, r.out, r.err, s.out, s.er)
		}
	}
	obj, _ := fc.Get(context.Background(), deploymentsResource(), "default", "web")
	if obj.(*v1.Deployment).GetSpec().GetTemplate().GetMetadata().GetAnnotations()[rolloutRestartedAtAnnotation] != testNow.Format(time.RFC3339) {
		t.Fatalf("restartedAt not set: %v", obj.(*v1.Deployment).GetSpec().GetTemplate().GetMetadata())
	}
}
