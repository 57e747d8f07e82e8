package minictl

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }

// pod builds a pod created 5 minutes before testNow with one container
// "app" in the given phase and container state.
func pod(name, phase string, state *v1.ContainerState, mods ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(5 * time.Minute)},
		Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "app", Image: "minik8s/testapp:v1"}}},
		Status:   &v1.PodStatus{Phase: phase},
	}
	if state != nil {
		p.Status.ContainerStatuses = []*v1.ContainerStatus{{Name: "app", State: state}}
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func running() *v1.ContainerState {
	return &v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: ago(4 * time.Minute)}}
}

func waiting(reason string) *v1.ContainerState {
	return &v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, code int32) *v1.ContainerState {
	return &v1.ContainerState{Terminated: &v1.ContainerStateTerminated{Reason: reason, ExitCode: code, StartedAt: ago(4 * time.Minute), FinishedAt: ago(3 * time.Minute)}}
}

func ready(p *v1.Pod) {
	p.Status.ContainerStatuses[0].Ready = true
	p.Status.Conditions = append(p.Status.Conditions, &v1.Condition{Type: "Ready", Status: "True"})
}

func TestPodStatusColumns(t *testing.T) {
	tests := []struct {
		name                    string
		pod                     *v1.Pod
		ready, status, restarts string
	}{
		{"pending unscheduled", pod("p", "Pending", nil), "0/1", "Pending", "0"},
		{"running", pod("p", "Running", running(), ready), "1/1", "Running", "0"},
		{"running not ready", pod("p", "Running", running()), "0/1", "Running", "0"},
		{"container creating", pod("p", "Pending", waiting("ContainerCreating")), "0/1", "ContainerCreating", "0"},
		{"err image pull", pod("p", "Pending", waiting("ErrImagePull")), "0/1", "ErrImagePull", "0"},
		{"image pull backoff", pod("p", "Pending", waiting("ImagePullBackOff")), "0/1", "ImagePullBackOff", "0"},
		{"crash loop", pod("p", "Running", waiting("CrashLoopBackOff"), func(p *v1.Pod) {
			cs := p.Status.ContainerStatuses[0]
			cs.RestartCount = 5
			cs.LastState = &v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: ago(2 * time.Minute)}}
		}), "0/1", "CrashLoopBackOff", "5 (2m ago)"},
		{"completed", pod("p", "Succeeded", terminated("Completed", 0)), "0/1", "Completed", "0"},
		{"error", pod("p", "Failed", terminated("Error", 1)), "0/1", "Error", "0"},
		{"exit code without reason", pod("p", "Failed", terminated("", 137)), "0/1", "ExitCode:137", "0"},
		{"signal without reason", pod("p", "Failed", &v1.ContainerState{Terminated: &v1.ContainerStateTerminated{Signal: 9}}), "0/1", "Signal:9", "0"},
		{"terminating", pod("p", "Running", running(), ready, func(p *v1.Pod) {
			p.Metadata.DeletionTimestamp = ago(time.Second)
		}), "1/1", "Terminating", "0"},
		{"terminated pod being deleted keeps its phase", pod("p", "Succeeded", terminated("Completed", 0), func(p *v1.Pod) {
			p.Metadata.DeletionTimestamp = ago(time.Second)
		}), "0/1", "Completed", "0"},
		{"node lost", pod("p", "Running", running(), func(p *v1.Pod) {
			p.Metadata.DeletionTimestamp = ago(time.Second)
			p.Status.Reason = "NodeLost"
		}), "0/1", "Unknown", "0"},
		{"status reason", pod("p", "Failed", nil, func(p *v1.Pod) { p.Status.Reason = "Evicted" }), "0/1", "Evicted", "0"},
		{"init running", pod("p", "Pending", waiting("PodInitializing"), func(p *v1.Pod) {
			p.Spec.InitContainers = []*v1.Container{{Name: "init"}}
			p.Status.InitContainerStatuses = []*v1.ContainerStatus{{Name: "init", State: running()}}
		}), "0/1", "Init:0/1", "0"},
		{"second init of two", pod("p", "Pending", waiting("PodInitializing"), func(p *v1.Pod) {
			p.Spec.InitContainers = []*v1.Container{{Name: "a"}, {Name: "b"}}
			p.Status.InitContainerStatuses = []*v1.ContainerStatus{{Name: "a", State: terminated("Completed", 0)}, {Name: "b", State: waiting("PodInitializing")}}
		}), "0/1", "Init:1/2", "0"},
		{"init crash loop", pod("p", "Pending", waiting("PodInitializing"), func(p *v1.Pod) {
			p.Spec.InitContainers = []*v1.Container{{Name: "init"}}
			p.Status.InitContainerStatuses = []*v1.ContainerStatus{{Name: "init", State: waiting("CrashLoopBackOff"), RestartCount: 3}}
		}), "0/1", "Init:CrashLoopBackOff", "3"},
		{"init error", pod("p", "Pending", nil, func(p *v1.Pod) {
			p.Spec.InitContainers = []*v1.Container{{Name: "init"}}
			p.Status.InitContainerStatuses = []*v1.ContainerStatus{{Name: "init", State: terminated("Error", 2)}}
		}), "0/1", "Init:Error", "0"},
		{"init exit code", pod("p", "Pending", nil, func(p *v1.Pod) {
			p.Spec.InitContainers = []*v1.Container{{Name: "init"}}
			p.Status.InitContainerStatuses = []*v1.ContainerStatus{{Name: "init", State: terminated("", 2)}}
		}), "0/1", "Init:ExitCode:2", "0"},
		{"one of two completed, one running", pod("p", "Running", running(), func(p *v1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, &v1.Container{Name: "job"})
			p.Status.ContainerStatuses[0].Ready = true
			p.Status.ContainerStatuses = append([]*v1.ContainerStatus{{Name: "job", State: terminated("Completed", 0)}}, p.Status.ContainerStatuses...)
		}), "1/2", "NotReady", "0"},
		{"scheduling gated", pod("p", "Pending", nil, func(p *v1.Pod) {
			p.Status.Conditions = []*v1.Condition{{Type: "PodScheduled", Status: "False", Reason: "SchedulingGated"}}
		}), "0/1", "SchedulingGated", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, total, status, restarts := podSummary(tt.pod, testNow)
			got := fmt.Sprintf("%d/%d | %s | %s", ready, total, status, restarts)
			if want := tt.ready + " | " + tt.status + " | " + tt.restarts; got != want {
				t.Errorf("READY | STATUS | RESTARTS = %s, want %s", got, want)
			}
			if got := PodStatus(tt.pod); got != tt.status {
				t.Errorf("PodStatus = %q, want %q", got, tt.status)
			}
		})
	}
}

func node(name string, mods ...func(*v1.Node)) *v1.Node {
	n := &v1.Node{
		Metadata: &v1.ObjectMeta{Name: name, CreationTimestamp: ago(3 * 24 * time.Hour), Labels: map[string]string{"kubernetes.io/hostname": name}},
		Spec:     &v1.NodeSpec{},
		Status: &v1.NodeStatus{
			Conditions: []*v1.Condition{{Type: "Ready", Status: "True"}},
			Addresses:  []*v1.NodeAddress{{Type: "InternalIP", Address: "10.0.0.1"}, {Type: "Hostname", Address: name}},
			NodeInfo:   &v1.NodeSystemInfo{KubeletVersion: "v0.1.0", OsImage: "Debian GNU/Linux 13 (trixie)", KernelVersion: "6.12.0", ContainerRuntimeVersion: "docker://28.5.2"},
		},
	}
	for _, m := range mods {
		m(n)
	}
	return n
}

func TestNodeStatusAndRoles(t *testing.T) {
	tests := []struct {
		name          string
		node          *v1.Node
		status, roles string
	}{
		{"ready worker", node("n"), "Ready", "<none>"},
		{"not ready", node("n", func(n *v1.Node) { n.Status.Conditions[0].Status = "False" }), "NotReady", "<none>"},
		{"unknown condition", node("n", func(n *v1.Node) { n.Status.Conditions[0].Status = "Unknown" }), "NotReady", "<none>"},
		{"no ready condition", node("n", func(n *v1.Node) { n.Status.Conditions = nil }), "Unknown", "<none>"},
		{"cordoned", node("n", func(n *v1.Node) { n.Spec.Unschedulable = true }), "Ready,SchedulingDisabled", "<none>"},
		{"control plane", node("n", func(n *v1.Node) {
			n.Metadata.Labels["node-role.kubernetes.io/control-plane"] = ""
		}), "Ready", "control-plane"},
		{"several roles sorted", node("n", func(n *v1.Node) {
			n.Metadata.Labels["node-role.kubernetes.io/worker"] = ""
			n.Metadata.Labels["node-role.kubernetes.io/control-plane"] = ""
			n.Metadata.Labels["kubernetes.io/role"] = "edge"
		}), "Ready", "control-plane,edge,worker"},
		{"empty role suffix ignored", node("n", func(n *v1.Node) {
			n.Metadata.Labels["node-role.kubernetes.io/"] = ""
		}), "Ready", "<none>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NodeStatus(tt.node); got != tt.status {
				t.Errorf("NodeStatus = %q, want %q", got, tt.status)
			}
			if got := NodeRoles(tt.node); got != tt.roles {
				t.Errorf("NodeRoles = %q, want %q", got, tt.roles)
			}
		})
	}
}

func TestCSRCondition(t *testing.T) {
	cond := func(types ...string) *v1.CertificateSigningRequest {
		c := &v1.CertificateSigningRequest{Status: &v1.CertificateSigningRequestStatus{}}
		for _, typ := range types {
			c.Status.Conditions = append(c.Status.Conditions, &v1.Condition{Type: typ, Status: "True"})
		}
		return c
	}
	issued := cond("Approved")
	issued.Status.Certificate = []byte("pem")
	tests := []struct {
		name string
		csr  *v1.CertificateSigningRequest
		want string
	}{
		{"pending", cond(), "Pending"},
		{"approved", cond("Approved"), "Approved"},
		{"issued", issued, "Approved,Issued"},
		{"denied", cond("Denied"), "Denied"},
		{"denied wins", cond("Approved", "Denied"), "Denied"},
		{"failed", cond("Approved", "Failed"), "Approved,Failed"},
	}
	for _, tt := range tests {
		if got := CSRCondition(tt.csr); got != tt.want {
			t.Errorf("%s: CSRCondition = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// golden compares a command's output with the expected text, which is
// written with a leading newline for readability.
func golden(t *testing.T, got, want string) {
	t.Helper()
	want = strings.TrimPrefix(want, "\n")
	if got != want {
		t.Errorf("output mismatch\n--- got:\n%s--- want:\n%s", got, want)
	}
}

func tablePods() []*v1.Pod {
	web := pod("web", "Running", running(), ready, func(p *v1.Pod) {
		p.Metadata.Labels = map[string]string{"app": "web", "tier": "front"}
		p.Spec.NodeName = "node-1"
		p.Status.PodIp = "10.2.0.5"
	})
	crash := pod("crashy-with-a-long-name", "Running", waiting("CrashLoopBackOff"), func(p *v1.Pod) {
		p.Metadata.CreationTimestamp = ago(3*time.Hour + 12*time.Minute)
		p.Spec.NodeName = "node-2"
		p.Status.PodIp = "10.2.1.7"
		cs := p.Status.ContainerStatuses[0]
		cs.RestartCount = 12
		cs.LastState = &v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: ago(40 * time.Second)}}
	})
	pending := pod("pending", "Pending", nil, func(p *v1.Pod) {
		p.Metadata.Namespace = "kube-system"
		p.Metadata.CreationTimestamp = ago(3 * time.Second)
	})
	return []*v1.Pod{web, crash, pending}
}

func TestGetPodsTable(t *testing.T) {
	ps := tablePods()
	fc := newFakeClient(ps[0], ps[1], ps[2])
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"default namespace", []string{"get", "pods"}, `
NAME                      READY   STATUS             RESTARTS       AGE
crashy-with-a-long-name   0/1     CrashLoopBackOff   12 (40s ago)   3h12m
web                       1/1     Running            0              5m
`},
		{"wide", []string{"get", "po", "-o", "wide"}, `
NAME                      READY   STATUS             RESTARTS       AGE     IP         NODE     NOMINATED NODE   READINESS GATES
crashy-with-a-long-name   0/1     CrashLoopBackOff   12 (40s ago)   3h12m   10.2.1.7   node-2   <none>           <none>
web                       1/1     Running            0              5m      10.2.0.5   node-1   <none>           <none>
`},
		{"all namespaces", []string{"get", "pods", "-A"}, `
NAMESPACE     NAME                      READY   STATUS             RESTARTS       AGE
default       crashy-with-a-long-name   0/1     CrashLoopBackOff   12 (40s ago)   3h12m
default       web                       1/1     Running            0              5m
kube-system   pending                   0/1     Pending            0              3s
`},
		{"show labels and no headers", []string{"get", "pods", "--show-labels", "--no-headers"}, `
crashy-with-a-long-name   0/1   CrashLoopBackOff   12 (40s ago)   3h12m   <none>
web                       1/1   Running            0              5m      app=web,tier=front
`},
		{"by name", []string{"get", "pod", "web"}, `
NAME   READY   STATUS    RESTARTS   AGE
web    1/1     Running   0          5m
`},
		{"kind/name form", []string{"get", "pods/web", "-o", "name"}, `
pod/web
`},
		{"label selector", []string{"get", "pods", "-l", "app=web", "-o", "name"}, `
pod/web
`},
		{"field selector", []string{"get", "pods", "-A", "--field-selector", "spec.nodeName=node-2", "-o", "name"}, `
pod/crashy-with-a-long-name
`},
		{"namespace flag", []string{"get", "pods", "-n", "kube-system"}, `
NAME      READY   STATUS    RESTARTS   AGE
pending   0/1     Pending   0          3s
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, fc, tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.err)
			}
			golden(t, r.out, tt.want)
		})
	}
}

func TestGetOtherKindsTables(t *testing.T) {
	cp := node("master", func(n *v1.Node) {
		n.Metadata.Labels["node-role.kubernetes.io/control-plane"] = ""
		n.Spec.Unschedulable = true
	})
	worker := node("worker-1", func(n *v1.Node) {
		n.Metadata.CreationTimestamp = ago(90 * time.Minute)
		n.Status.Conditions[0].Status = "Unknown"
		n.Status.Addresses[0].Address = "10.0.0.2"
		n.Status.Addresses = append(n.Status.Addresses, &v1.NodeAddress{Type: "ExternalIP", Address: "203.0.113.9"})
	})
	replicas := int32(3)
	deploy := &v1.Deployment{
		Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: ago(10 * time.Minute)},
		Spec: &v1.DeploymentSpec{Replicas: &replicas, Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &v1.PodTemplateSpec{Spec: &v1.PodSpec{Containers: []*v1.Container{{Name: "web", Image: "minik8s/testapp:v1"}, {Name: "side", Image: "pause"}}}}},
		Status: &v1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2},
	}
	rs := &v1.ReplicaSet{
		Metadata: &v1.ObjectMeta{Name: "web-5d8f", Namespace: "default", CreationTimestamp: ago(10 * time.Minute)},
		Spec:     &v1.ReplicaSetSpec{Replicas: &replicas, Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "web", "pod-template-hash": "5d8f"}}},
		Status:   &v1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2},
	}
	csr := &v1.CertificateSigningRequest{
		Metadata: &v1.ObjectMeta{Name: "csr-abc12", CreationTimestamp: ago(20 * time.Second)},
		Spec:     &v1.CertificateSigningRequestSpec{SignerName: "kubernetes.io/kube-apiserver-client-kubelet", Username: "system:bootstrap:abcdef"},
		Status:   &v1.CertificateSigningRequestStatus{Conditions: []*v1.Condition{{Type: "Approved", Status: "True"}}, Certificate: []byte("x")},
	}
	csr2 := &v1.CertificateSigningRequest{
		Metadata: &v1.ObjectMeta{Name: "csr-pending", CreationTimestamp: ago(2 * time.Minute)},
		Spec:     &v1.CertificateSigningRequestSpec{Username: "system:node:worker-1", ExpirationSeconds: i32(3600)},
	}
	ev := &v1.Event{
		Metadata:       &v1.ObjectMeta{Name: "web.17a", Namespace: "default", CreationTimestamp: ago(time.Minute)},
		InvolvedObject: &v1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default"},
		Reason:         "Scheduled", Message: "Successfully assigned default/web to node-1\n", Type: "Normal",
		FirstTimestamp: ago(time.Minute), LastTimestamp: ago(30 * time.Second), Count: 1,
	}
	cm := &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "cluster-info", Namespace: "default", CreationTimestamp: ago(48 * time.Hour)},
		Data: map[string]string{"kubeconfig": "x"}, BinaryData: map[string][]byte{"b": []byte("y")}}
	sec := &v1.Secret{Metadata: &v1.ObjectMeta{Name: "bootstrap-token-abcdef", Namespace: "default", CreationTimestamp: ago(time.Hour)},
		Type: "bootstrap.kubernetes.io/token", Data: map[string][]byte{"token-id": []byte("abcdef"), "token-secret": []byte("x")}}
	lease := &v1.Lease{Metadata: &v1.ObjectMeta{Name: "master", Namespace: "default", CreationTimestamp: ago(3 * 24 * time.Hour)},
		Spec: &v1.LeaseSpec{HolderIdentity: "master"}}
	ns := &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "default", CreationTimestamp: ago(3 * 24 * time.Hour)}, Status: &v1.NamespaceStatus{Phase: "Active"}}
	fc := newFakeClient(cp, worker, deploy, rs, csr, csr2, ev, cm, sec, lease, ns)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nodes", []string{"get", "nodes"}, `
NAME       STATUS                     ROLES           AGE   VERSION
master     Ready,SchedulingDisabled   control-plane   3d    v0.1.0
worker-1   NotReady                   <none>          90m   v0.1.0
`},
		{"nodes wide", []string{"get", "no", "-o", "wide"}, `
NAME       STATUS                     ROLES           AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE                       KERNEL-VERSION   CONTAINER-RUNTIME
master     Ready,SchedulingDisabled   control-plane   3d    v0.1.0    10.0.0.1      <none>        Debian GNU/Linux 13 (trixie)   6.12.0           docker://28.5.2
worker-1   NotReady                   <none>          90m   v0.1.0    10.0.0.2      203.0.113.9   Debian GNU/Linux 13 (trixie)   6.12.0           docker://28.5.2
`},
		{"deployments", []string{"get", "deploy"}, `
NAME   READY   UP-TO-DATE   AVAILABLE   AGE
web    2/3     3            2           10m
`},
		{"deployments wide", []string{"get", "deployments.apps", "-o", "wide"}, `
NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES                     SELECTOR
web    2/3     3            2           10m   web,side     minik8s/testapp:v1,pause   app=web
`},
		{"replicasets", []string{"get", "rs"}, `
NAME       DESIRED   CURRENT   READY   AGE
web-5d8f   3         3         2       10m
`},
		{"csr", []string{"get", "csr"}, `
NAME          AGE   SIGNERNAME                                    REQUESTOR                 REQUESTEDDURATION   CONDITION
csr-abc12     20s   kubernetes.io/kube-apiserver-client-kubelet   system:bootstrap:abcdef   <none>              Approved,Issued
csr-pending   2m    <none>                                        system:node:worker-1      60m                 Pending
`},
		{"events", []string{"get", "ev"}, `
LAST SEEN   TYPE     REASON      OBJECT    MESSAGE
30s         Normal   Scheduled   pod/web   Successfully assigned default/web to node-1
`},
		{"configmaps", []string{"get", "cm"}, `
NAME           DATA   AGE
cluster-info   2      2d
`},
		{"secrets", []string{"get", "secrets"}, `
NAME                     TYPE                            DATA   AGE
bootstrap-token-abcdef   bootstrap.kubernetes.io/token   2      60m
`},
		{"leases", []string{"get", "leases"}, `
NAME     HOLDER   AGE
master   master   3d
`},
		{"namespaces", []string{"get", "ns"}, `
NAME      STATUS   AGE
default   Active   3d
`},
		{"two kinds", []string{"get", "deploy,rs"}, `
NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   2/3     3            2           10m

NAME                       DESIRED   CURRENT   READY   AGE
replicaset.apps/web-5d8f   3         3         2       10m
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, fc, tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.err)
			}
			golden(t, r.out, tt.want)
		})
	}
}

func TestTableWriterRemembersWidths(t *testing.T) {
	var b strings.Builder
	w := newTableWriter(&b)
	w.Row("NAME", "STATUS", "AGE")
	w.Row("a", "Running", "5s")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	w.Row("b", "Pending", "1s")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	golden(t, b.String(), `
NAME   STATUS    AGE
a      Running   5s
b      Pending   1s
`)
}

// Objects with nothing but a name (no spec, no status) print and describe
// without panicking, whatever their kind.
func TestEmptyObjectsOfEveryKind(t *testing.T) {
	for _, res := range apis.Resources() {
		t.Run(res.Name, func(t *testing.T) {
			obj := res.New()
			md := apis.Meta(obj)
			md.Name = "x"
			if res.Namespaced {
				md.Namespace = "default"
			}
			fc := newFakeClient(obj)
			for _, args := range [][]string{
				{"get", res.Name, "-o", "wide", "--show-labels"},
				{"get", res.Name, "x", "-o", "yaml"},
				{"describe", res.Name, "x"},
			} {
				if r := run(t, fc, args...); r.code != 0 || r.out == "" {
					t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.out, r.err)
				}
			}
		})
	}
}
