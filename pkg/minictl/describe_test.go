package minictl

import (
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
)

func describedPod() *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{
			Name: "web", Namespace: "default", Uid: "uid-web", CreationTimestamp: ago(5 * time.Minute),
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": "hello", LastAppliedAnnotation: "{}\n"},
		},
		Spec: &v1.PodSpec{
			NodeName: "node-1",
			Containers: []*v1.Container{{
				Name: "web", Image: "minik8s/testapp:v1", Args: []string{"serve", "--listen", ":8080"},
				Ports:     []*v1.ContainerPort{{ContainerPort: 8080, Protocol: "TCP"}},
				Resources: &v1.ResourceRequirements{Requests: map[string]string{"cpu": "250m", "memory": "64Mi"}, Limits: map[string]string{"cpu": "500m"}},
				Env:       []*v1.EnvVar{{Name: "MODE", Value: "prod"}},
				ReadinessProbe: &v1.Probe{HttpGet: &v1.HTTPGetAction{Path: "/healthz", Port: "8080"},
					TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3},
				VolumeMounts: []*v1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes:     []*v1.Volume{{Name: "data", EmptyDir: &v1.EmptyDirVolumeSource{}}},
			Tolerations: []*v1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: i64(300)}},
		},
		Status: &v1.PodStatus{
			Phase: "Running", HostIp: "10.0.0.1", PodIp: "10.2.0.5", StartTime: ago(5 * time.Minute),
			Conditions: []*v1.Condition{{Type: "PodScheduled", Status: "True"}, {Type: "Ready", Status: "True"}},
			ContainerStatuses: []*v1.ContainerStatus{{
				Name: "web", Ready: true, RestartCount: 1, ContainerId: "docker://abc", ImageId: "sha256:def",
				State:     &v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: ago(4 * time.Minute)}},
				LastState: &v1.ContainerState{Terminated: &v1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, StartedAt: ago(5 * time.Minute), FinishedAt: ago(4*time.Minute + 30*time.Second)}},
			}},
		},
	}
}

func TestDescribePod(t *testing.T) {
	events := []*v1.Event{
		{
			Metadata:       &v1.ObjectMeta{Name: "web.2", Namespace: "default", CreationTimestamp: ago(4 * time.Minute)},
			InvolvedObject: &v1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default", Uid: "uid-web"},
			Type:           "Warning", Reason: "BackOff", Message: "Back-off restarting failed container",
			Source: &v1.EventSource{Component: "kubelet", Host: "node-1"}, Count: 3,
			FirstTimestamp: ago(4*time.Minute + 50*time.Second), LastTimestamp: ago(4 * time.Minute),
		},
		{
			Metadata:       &v1.ObjectMeta{Name: "web.1", Namespace: "default", CreationTimestamp: ago(5 * time.Minute)},
			InvolvedObject: &v1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default"},
			Type:           "Normal", Reason: "Scheduled", Message: "Successfully assigned default/web to node-1",
			Source: &v1.EventSource{Component: "default-scheduler"}, Count: 1,
			FirstTimestamp: ago(5 * time.Minute), LastTimestamp: ago(5 * time.Minute),
		},
		{ // another pod's event
			Metadata:       &v1.ObjectMeta{Name: "db.1", Namespace: "default", CreationTimestamp: ago(5 * time.Minute)},
			InvolvedObject: &v1.ObjectReference{Kind: "Pod", Name: "db", Namespace: "default"},
			Type:           "Normal", Reason: "Scheduled", Message: "Successfully assigned default/db to node-1",
		},
	}
	fc := newFakeClient(describedPod(), events[0], events[1], events[2])
	r := run(t, fc, "describe", "pod", "web")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	golden(t, r.out, `
Name:         web
Namespace:    default
Priority:     0
Node:         node-1/10.0.0.1
Start Time:   Fri, 01 Mar 2024 11:55:00 +0000
Labels:       app=web
              tier=front
Annotations:  note: hello
Status:       Running
IP:           10.2.0.5
IPs:
  IP:  10.2.0.5
Containers:
  web:
    Container ID:  docker://abc
    Image:         minik8s/testapp:v1
    Image ID:      sha256:def
    Port:          8080/TCP
    Host Port:     0/TCP
    Args:
      serve
      --listen
      :8080
    State:          Running
      Started:      Fri, 01 Mar 2024 11:56:00 +0000
    Last State:     Terminated
      Reason:       Error
      Exit Code:    1
      Started:      Fri, 01 Mar 2024 11:55:00 +0000
      Finished:     Fri, 01 Mar 2024 11:55:30 +0000
    Ready:          True
    Restart Count:  1
    Limits:
      cpu:  500m
    Requests:
      cpu:      250m
      memory:   64Mi
    Readiness:  http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:
      MODE:  prod
    Mounts:
      /data from data (rw)
Conditions:
  Type           Status
  PodScheduled   True 
  Ready          True 
Volumes:
  data:
    Type:        EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:      
    SizeLimit:   <unset>
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
Events:
  Type     Reason     Age                 From               Message
  ----     ------     ----                ----               -------
  Normal   Scheduled  5m                  default-scheduler  Successfully assigned default/web to node-1
  Warning  BackOff    4m (x3 over 4m50s)  kubelet            Back-off restarting failed container
`)
	if !containsCall(fc, "list events default l= f=involvedObject.name=web,involvedObject.namespace=default") {
		t.Errorf("events not listed by field selector: %v", fc.calls)
	}
}

func TestDescribeNoEventsAndPrefix(t *testing.T) {
	fc := newFakeClient(
		&v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "settings-a", Namespace: "default"}, Data: map[string]string{"color": "blue"}},
		&v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "settings-b", Namespace: "default"}},
	)
	r := run(t, fc, "describe", "cm", "settings")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	golden(t, r.out, `
Name:         settings-a
Namespace:    default
Labels:       <none>
Annotations:  <none>

Data
====
color:
----
blue


BinaryData
====

Events:  <none>


Name:         settings-b
Namespace:    default
Labels:       <none>
Annotations:  <none>

Data
====

BinaryData
====

Events:  <none>
`)
}

func TestDescribeGeneric(t *testing.T) {
	fc := newFakeClient(&v1.Lease{
		Metadata: &v1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"},
		Spec:     &v1.LeaseSpec{HolderIdentity: "node-1", LeaseDurationSeconds: 40},
	})
	r := run(t, fc, "describe", "lease", "node-1", "-n", "kube-node-lease")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	golden(t, r.out, `
Name:         node-1
Namespace:    kube-node-lease
Labels:       <none>
Annotations:  <none>
API Version:  coordination.k8s.io/v1
Kind:         Lease
Metadata:
  Resource Version:  1
  UID:               uid-node-1
Spec:
  Holder Identity:         node-1
  Lease Duration Seconds:  40
Events:                    <none>
`)
}

func TestDescribeNode(t *testing.T) {
	n := node("node-1", func(n *v1.Node) {
		n.Metadata.Labels["node-role.kubernetes.io/control-plane"] = ""
		n.Spec.Taints = []*v1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule"}}
		n.Spec.PodCidr = "10.2.0.0/24"
		n.Status.Capacity = map[string]string{"cpu": "8", "memory": "16Gi", "pods": "110"}
		n.Status.Conditions[0].Reason = "KubeletReady"
		n.Status.Conditions[0].Message = "kubelet is posting ready status"
		n.Status.Conditions[0].LastHeartbeatTime = ago(10 * time.Second)
		n.Status.Conditions[0].LastTransitionTime = ago(time.Hour)
	})
	lease := &v1.Lease{Metadata: &v1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"}, Spec: &v1.LeaseSpec{HolderIdentity: "node-1", RenewTime: ago(5 * time.Second)}}
	web := boundPod("web", "node-1")
	web.Spec.Containers[0].Resources = &v1.ResourceRequirements{Requests: map[string]string{"cpu": "250m", "memory": "4Gi"}, Limits: map[string]string{"cpu": "2"}}
	done := boundPod("done", "node-1")
	done.Status.Phase = "Succeeded"
	fc := newFakeClient(n, lease, web, done, boundPod("elsewhere", "node-2"))
	r := run(t, fc, "describe", "node", "node-1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	golden(t, r.out, `
Name:               node-1
Roles:              control-plane
Labels:             kubernetes.io/hostname=node-1
                    node-role.kubernetes.io/control-plane=
Annotations:        <none>
CreationTimestamp:  Tue, 27 Feb 2024 12:00:00 +0000
Taints:             node-role.kubernetes.io/control-plane:NoSchedule
Unschedulable:      false
Lease:
  HolderIdentity:  node-1
  AcquireTime:     <unset>
  RenewTime:       Fri, 01 Mar 2024 11:59:55 +0000
Conditions:
  Type    Status  LastHeartbeatTime                 LastTransitionTime                Reason         Message
  ----    ------  -----------------                 ------------------                ------         -------
  Ready   True    Fri, 01 Mar 2024 11:59:50 +0000   Fri, 01 Mar 2024 11:00:00 +0000   KubeletReady   kubelet is posting ready status
Addresses:
  InternalIP:  10.0.0.1
  Hostname:    node-1
Capacity:
  cpu:     8
  memory:  16Gi
  pods:    110
System Info:
  Machine ID:                 
  System UUID:                
  Boot ID:                    
  Kernel Version:             6.12.0
  OS Image:                   Debian GNU/Linux 13 (trixie)
  Operating System:           
  Architecture:               
  Container Runtime Version:  docker://28.5.2
  Kubelet Version:            v0.1.0
PodCIDR:                      10.2.0.0/24
Non-terminated Pods:          (1 in total)
  Namespace                   Name    CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----    ------------  ----------  ---------------  -------------  ---
  default                     web     250m (3%)     2 (25%)     4Gi (25%)        0 (0%)         5m
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource           Requests   Limits
  --------           --------   ------
  cpu                250m (3%)  2 (25%)
  memory             4Gi (25%)  0 (0%)
  ephemeral-storage  0 (0%)     0 (0%)
Events:              <none>
`)
}

func containsCall(fc *fakeClient, call string) bool {
	for _, c := range fc.calls {
		if c == call {
			return true
		}
	}
	return false
}

func TestDescribeDeploymentAndReplicaSet(t *testing.T) {
	three := int32(3)
	zero := int32(0)
	tmpl := &v1.PodTemplateSpec{
		Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: &v1.PodSpec{Containers: []*v1.Container{{Name: "web", Image: "minik8s/testapp:v2",
			Ports: []*v1.ContainerPort{{ContainerPort: 8080, Protocol: "TCP"}}}}},
	}
	dep := &v1.Deployment{
		Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default", Uid: "uid-dep", CreationTimestamp: ago(time.Hour),
			Annotations: map[string]string{revisionAnnotation: "2"}},
		Spec: &v1.DeploymentSpec{Replicas: &three, Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: tmpl,
			Strategy: &v1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &v1.RollingUpdateDeployment{MaxUnavailable: "25%", MaxSurge: "1"}}},
		Status: &v1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 2, UnavailableReplicas: 1,
			Conditions: []*v1.Condition{{Type: "Available", Status: "True", Reason: "MinimumReplicasAvailable"}}},
	}
	ctrl := true
	owner := func(kind, name, uid string) []*v1.OwnerReference {
		return []*v1.OwnerReference{{Kind: kind, Name: name, Uid: uid, Controller: &ctrl}}
	}
	rsNew := &v1.ReplicaSet{
		Metadata: &v1.ObjectMeta{Name: "web-b2", Namespace: "default", Uid: "uid-b2", OwnerReferences: owner("Deployment", "web", "uid-dep"),
			Annotations: map[string]string{revisionAnnotation: "2"}, Labels: map[string]string{"app": "web", "pod-template-hash": "b2"}},
		Spec:   &v1.ReplicaSetSpec{Replicas: &three, Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "web", "pod-template-hash": "b2"}}, Template: tmpl},
		Status: &v1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2},
	}
	rsOld := &v1.ReplicaSet{
		Metadata: &v1.ObjectMeta{Name: "web-a1", Namespace: "default", OwnerReferences: owner("Deployment", "web", "uid-dep"),
			Annotations: map[string]string{revisionAnnotation: "1"}},
		Spec: &v1.ReplicaSetSpec{Replicas: &zero},
	}
	podOf := func(name, phase string) *v1.Pod {
		return pod(name, phase, nil, func(p *v1.Pod) { p.Metadata.OwnerReferences = owner("ReplicaSet", "web-b2", "uid-b2") })
	}
	fc := newFakeClient(dep, rsNew, rsOld, podOf("web-b2-1", "Running"), podOf("web-b2-2", "Running"), podOf("web-b2-3", "Pending"), pod("stray", "Running", nil))

	r := run(t, fc, "describe", "deploy", "web")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	golden(t, r.out, `
Name:                   web
Namespace:              default
CreationTimestamp:      Fri, 01 Mar 2024 11:00:00 +0000
Labels:                 <none>
Annotations:            deployment.kubernetes.io/revision: 2
Selector:               app=web
Replicas:               3 desired | 3 updated | 3 total | 2 available | 1 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 1 max surge
Pod Template:
  Labels:  app=web
  Containers:
   web:
    Image:         minik8s/testapp:v2
    Port:          8080/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      True    MinimumReplicasAvailable
OldReplicaSets:  <none>
NewReplicaSet:   web-b2 (3/3 replicas created)
Events:          <none>
`)

	r = run(t, fc, "describe", "rs", "web-b2")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	golden(t, r.out, `
Name:           web-b2
Namespace:      default
Selector:       app=web,pod-template-hash=b2
Labels:         app=web
                pod-template-hash=b2
Annotations:    deployment.kubernetes.io/revision: 2
Controlled By:  Deployment/web
Replicas:       3 current / 3 desired
Pods Status:    2 Running / 1 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=web
  Containers:
   web:
    Image:         minik8s/testapp:v2
    Port:          8080/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Events:            <none>
`)
}
