package defaults

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestPullPolicyFor(t *testing.T) {
	tests := []struct {
		image string
		want  string
	}{
		{"nginx", PullAlways},
		{"nginx:latest", PullAlways},
		{"nginx:1.25", PullIfNotPresent},
		{"nginx@" + digest, PullIfNotPresent},
		{"nginx:1.25@" + digest, PullIfNotPresent},
		{"nginx:latest@" + digest, PullAlways},
		{"docker.io/library/nginx", PullAlways},
		{"localhost:5000/app", PullAlways},
		{"localhost:5000/app:v1", PullIfNotPresent},
		{"127.0.0.1:5000/minik8s/testapp:latest", PullAlways},
		{"minik8s/testapp:v1", PullIfNotPresent},
		{"minik8s/pause:3.10", PullIfNotPresent},
		{"nginx:LATEST", PullIfNotPresent},
		{"", PullIfNotPresent},      // does not parse; validation reports it
		{"Nginx", PullIfNotPresent}, // does not parse
		{"nginx:", PullIfNotPresent},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			if got := PullPolicyFor(tt.image); got != tt.want {
				t.Errorf("PullPolicyFor(%q) = %s, want %s", tt.image, got, tt.want)
			}
		})
	}
}

func ptr64(v int64) *int64 { return &v }
func ptr32(v int32) *int32 { return &v }

func TestDefaultPod(t *testing.T) {
	tests := []struct {
		name string
		give *v1.Pod
		want *v1.Pod
	}{
		{
			name: "minimal pod",
			give: &v1.Pod{
				Metadata: &v1.ObjectMeta{Name: "web"},
				Spec: &v1.PodSpec{Containers: []*v1.Container{{
					Name: "app", Image: "nginx",
				}}},
			},
			want: &v1.Pod{
				Metadata: &v1.ObjectMeta{Name: "web"},
				Spec: &v1.PodSpec{
					Containers: []*v1.Container{{
						Name: "app", Image: "nginx", ImagePullPolicy: "Always",
						TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
					}},
					RestartPolicy: "Always", DnsPolicy: "ClusterFirst", SchedulerName: "default-scheduler",
					TerminationGracePeriodSeconds: ptr64(30),
				},
			},
		},
		{
			name: "nil spec",
			give: &v1.Pod{},
			want: &v1.Pod{Spec: &v1.PodSpec{
				RestartPolicy: "Always", DnsPolicy: "ClusterFirst", SchedulerName: "default-scheduler",
				TerminationGracePeriodSeconds: ptr64(30),
			}},
		},
		{
			name: "everything defaulted",
			give: &v1.Pod{Spec: &v1.PodSpec{
				InitContainers: []*v1.Container{{Name: "init", Image: "busybox:1.36"}},
				Containers: []*v1.Container{{
					Name: "app", Image: "minik8s/testapp:v1",
					Ports: []*v1.ContainerPort{{ContainerPort: 8080}, {ContainerPort: 53, Protocol: "UDP"}},
					Resources: &v1.ResourceRequirements{
						Limits:   map[string]string{"cpu": "500m", "memory": "128Mi"},
						Requests: map[string]string{"cpu": "250m"},
					},
					LivenessProbe:  &v1.Probe{HttpGet: &v1.HTTPGetAction{Port: "8080"}},
					ReadinessProbe: &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "http"}, PeriodSeconds: 5},
					StartupProbe:   &v1.Probe{Exec: &v1.ExecAction{Command: []string{"true"}}, FailureThreshold: 30},
				}},
				Volumes: []*v1.Volume{
					{Name: "scratch"},
					{Name: "host", HostPath: &v1.HostPathVolumeSource{Path: "/var/log"}},
				},
				Tolerations: []*v1.Toleration{{Key: "k", Value: "v", Effect: "NoSchedule"}},
			}},
			want: &v1.Pod{Spec: &v1.PodSpec{
				InitContainers: []*v1.Container{{
					Name: "init", Image: "busybox:1.36", ImagePullPolicy: "IfNotPresent",
					TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
				}},
				Containers: []*v1.Container{{
					Name: "app", Image: "minik8s/testapp:v1", ImagePullPolicy: "IfNotPresent",
					Ports: []*v1.ContainerPort{{ContainerPort: 8080, Protocol: "TCP"}, {ContainerPort: 53, Protocol: "UDP"}},
					Resources: &v1.ResourceRequirements{
						Limits:   map[string]string{"cpu": "500m", "memory": "128Mi"},
						Requests: map[string]string{"cpu": "250m", "memory": "128Mi"},
					},
					LivenessProbe: &v1.Probe{
						HttpGet:        &v1.HTTPGetAction{Port: "8080", Path: "/", Scheme: "HTTP"},
						TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
					},
					ReadinessProbe: &v1.Probe{
						TcpSocket:      &v1.TCPSocketAction{Port: "http"},
						TimeoutSeconds: 1, PeriodSeconds: 5, SuccessThreshold: 1, FailureThreshold: 3,
					},
					StartupProbe: &v1.Probe{
						Exec:           &v1.ExecAction{Command: []string{"true"}},
						TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 30,
					},
					TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
				}},
				Volumes: []*v1.Volume{
					{Name: "scratch", EmptyDir: &v1.EmptyDirVolumeSource{}},
					{Name: "host", HostPath: &v1.HostPathVolumeSource{Path: "/var/log"}},
				},
				Tolerations:   []*v1.Toleration{{Key: "k", Value: "v", Effect: "NoSchedule"}},
				RestartPolicy: "Always", DnsPolicy: "ClusterFirst", SchedulerName: "default-scheduler",
				TerminationGracePeriodSeconds: ptr64(30),
			}},
		},
		{
			name: "set values are kept",
			give: &v1.Pod{Spec: &v1.PodSpec{
				Containers: []*v1.Container{{
					Name: "app", Image: "nginx", ImagePullPolicy: "Never",
					TerminationMessagePath: "/tmp/msg", TerminationMessagePolicy: "FallbackToLogsOnError",
					LivenessProbe: &v1.Probe{
						HttpGet:        &v1.HTTPGetAction{Port: "https", Path: "/healthz", Scheme: "HTTPS"},
						TimeoutSeconds: 3, PeriodSeconds: 7, SuccessThreshold: 1, FailureThreshold: 9,
					},
				}},
				RestartPolicy: "Never", DnsPolicy: "Default", SchedulerName: "other",
				TerminationGracePeriodSeconds: ptr64(0),
			}},
			want: &v1.Pod{Spec: &v1.PodSpec{
				Containers: []*v1.Container{{
					Name: "app", Image: "nginx", ImagePullPolicy: "Never",
					TerminationMessagePath: "/tmp/msg", TerminationMessagePolicy: "FallbackToLogsOnError",
					LivenessProbe: &v1.Probe{
						HttpGet:        &v1.HTTPGetAction{Port: "https", Path: "/healthz", Scheme: "HTTPS"},
						TimeoutSeconds: 3, PeriodSeconds: 7, SuccessThreshold: 1, FailureThreshold: 9,
					},
				}},
				RestartPolicy: "Never", DnsPolicy: "Default", SchedulerName: "other",
				TerminationGracePeriodSeconds: ptr64(0),
			}},
		},
		{
			name: "host network: host ports follow container ports",
			give: &v1.Pod{Spec: &v1.PodSpec{
				HostNetwork: true,
				Containers: []*v1.Container{{
					Name: "app", Image: "nginx:1",
					Ports: []*v1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 443, HostPort: 443}},
				}},
			}},
			want: &v1.Pod{Spec: &v1.PodSpec{
				HostNetwork: true,
				Containers: []*v1.Container{{
					Name: "app", Image: "nginx:1", ImagePullPolicy: "IfNotPresent",
					Ports: []*v1.ContainerPort{
						{ContainerPort: 80, HostPort: 80, Protocol: "TCP"},
						{ContainerPort: 443, HostPort: 443, Protocol: "TCP"},
					},
					TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
				}},
				RestartPolicy: "Always", DnsPolicy: "ClusterFirst", SchedulerName: "default-scheduler",
				TerminationGracePeriodSeconds: ptr64(30),
			}},
		},
		{
			name: "requests from limits only for missing keys, init containers too",
			give: &v1.Pod{Spec: &v1.PodSpec{
				InitContainers: []*v1.Container{{Name: "i", Image: "x:1", Resources: &v1.ResourceRequirements{
					Limits: map[string]string{"cpu": "1"},
				}}},
				Containers: []*v1.Container{
					{Name: "a", Image: "x:1", Resources: &v1.ResourceRequirements{
						Requests: map[string]string{"memory": "64Mi"},
					}},
					{Name: "b", Image: "x:1", Resources: &v1.ResourceRequirements{
						Limits:   map[string]string{"cpu": "2", "example.com/gpu": "1"},
						Requests: map[string]string{"cpu": "1"},
					}},
				},
			}},
			want: &v1.Pod{Spec: &v1.PodSpec{
				InitContainers: []*v1.Container{{Name: "i", Image: "x:1", ImagePullPolicy: "IfNotPresent",
					Resources: &v1.ResourceRequirements{
						Limits:   map[string]string{"cpu": "1"},
						Requests: map[string]string{"cpu": "1"},
					},
					TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
				}},
				Containers: []*v1.Container{
					{Name: "a", Image: "x:1", ImagePullPolicy: "IfNotPresent",
						Resources: &v1.ResourceRequirements{
							Requests: map[string]string{"memory": "64Mi"},
						},
						TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
					},
					{Name: "b", Image: "x:1", ImagePullPolicy: "IfNotPresent",
						Resources: &v1.ResourceRequirements{
							Limits:   map[string]string{"cpu": "2", "example.com/gpu": "1"},
							Requests: map[string]string{"cpu": "1", "example.com/gpu": "1"},
						},
						TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
					},
				},
				RestartPolicy: "Always", DnsPolicy: "ClusterFirst", SchedulerName: "default-scheduler",
				TerminationGracePeriodSeconds: ptr64(30),
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertDefaults(t, tt.give, tt.want)
		})
	}
}

// assertDefaults defaults give, compares it with want, and checks that a
// second pass changes nothing.
func assertDefaults(t *testing.T, give, want apis.Object) {
	t.Helper()
	Default(give)
	if diff := cmp.Diff(want, give, protocmp.Transform()); diff != "" {
		t.Fatalf("Default() mismatch (-want +got):\n%s", diff)
	}
	again := proto.Clone(give).(apis.Object)
	Default(again)
	if !proto.Equal(again, give) {
		t.Fatalf("Default() is not idempotent:\n%s", cmp.Diff(give, again, protocmp.Transform()))
	}
}

func defaultedSpec(image, pull string) *v1.PodSpec {
	return &v1.PodSpec{
		Containers: []*v1.Container{{
			Name: "app", Image: image, ImagePullPolicy: pull,
			TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: "File",
		}},
		RestartPolicy: "Always", DnsPolicy: "ClusterFirst", SchedulerName: "default-scheduler",
		TerminationGracePeriodSeconds: ptr64(30),
	}
}

func TestDefaultWorkloads(t *testing.T) {
	template := func() *v1.PodTemplateSpec {
		return &v1.PodTemplateSpec{
			Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec: &v1.PodSpec{Containers: []*v1.Container{{
				Name: "app", Image: "nginx:1.25",
				// Templates do not get requests from limits; the pods do.
				Resources: &v1.ResourceRequirements{Limits: map[string]string{"cpu": "1"}},
			}}},
		}
	}
	wantTemplate := func() *v1.PodTemplateSpec {
		s := defaultedSpec("nginx:1.25", "IfNotPresent")
		s.Containers[0].Resources = &v1.ResourceRequirements{Limits: map[string]string{"cpu": "1"}}
		return &v1.PodTemplateSpec{Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: s}
	}
	tests := []struct {
		name       string
		give, want apis.Object
	}{
		{
			name: "deployment",
			give: &v1.Deployment{Spec: &v1.DeploymentSpec{Template: template()}},
			want: &v1.Deployment{Spec: &v1.DeploymentSpec{
				Replicas: ptr32(1),
				Strategy: &v1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &v1.RollingUpdateDeployment{
					MaxSurge: "25%", MaxUnavailable: "25%",
				}},
				RevisionHistoryLimit:    ptr32(10),
				ProgressDeadlineSeconds: ptr32(600),
				Template:                wantTemplate(),
			}},
		},
		{
			name: "deployment keeps explicit zeroes",
			give: &v1.Deployment{Spec: &v1.DeploymentSpec{
				Replicas:             ptr32(0),
				Strategy:             &v1.DeploymentStrategy{RollingUpdate: &v1.RollingUpdateDeployment{MaxUnavailable: "0"}},
				RevisionHistoryLimit: ptr32(0),
			}},
			want: &v1.Deployment{Spec: &v1.DeploymentSpec{
				Replicas: ptr32(0),
				Strategy: &v1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &v1.RollingUpdateDeployment{
					MaxSurge: "25%", MaxUnavailable: "0",
				}},
				RevisionHistoryLimit:    ptr32(0),
				ProgressDeadlineSeconds: ptr32(600),
			}},
		},
		{
			name: "recreate gets no rolling update",
			give: &v1.Deployment{Spec: &v1.DeploymentSpec{Strategy: &v1.DeploymentStrategy{Type: "Recreate"}}},
			want: &v1.Deployment{Spec: &v1.DeploymentSpec{
				Replicas:                ptr32(1),
				Strategy:                &v1.DeploymentStrategy{Type: "Recreate"},
				RevisionHistoryLimit:    ptr32(10),
				ProgressDeadlineSeconds: ptr32(600),
			}},
		},
		{
			name: "deployment without spec",
			give: &v1.Deployment{},
			want: &v1.Deployment{Spec: &v1.DeploymentSpec{
				Replicas: ptr32(1),
				Strategy: &v1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &v1.RollingUpdateDeployment{
					MaxSurge: "25%", MaxUnavailable: "25%",
				}},
				RevisionHistoryLimit:    ptr32(10),
				ProgressDeadlineSeconds: ptr32(600),
			}},
		},
		{
			name: "replicaset",
			give: &v1.ReplicaSet{Spec: &v1.ReplicaSetSpec{Template: template()}},
			want: &v1.ReplicaSet{Spec: &v1.ReplicaSetSpec{Replicas: ptr32(1), Template: wantTemplate()}},
		},
		{
			name: "replicaset keeps replicas",
			give: &v1.ReplicaSet{Spec: &v1.ReplicaSetSpec{Replicas: ptr32(3)}},
			want: &v1.ReplicaSet{Spec: &v1.ReplicaSetSpec{Replicas: ptr32(3)}},
		},
		{
			name: "replicaset without spec",
			give: &v1.ReplicaSet{},
			want: &v1.ReplicaSet{Spec: &v1.ReplicaSetSpec{Replicas: ptr32(1)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertDefaults(t, tt.give, tt.want)
		})
	}
}

func TestDefaultOtherKinds(t *testing.T) {
	tests := []struct {
		name       string
		give, want apis.Object
	}{
		{
			name: "namespace phase",
			give: &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "dev"}},
			want: &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "dev"}, Status: &v1.NamespaceStatus{Phase: "Active"}},
		},
		{
			name: "terminating namespace stays",
			give: &v1.Namespace{Status: &v1.NamespaceStatus{Phase: "Terminating"}},
			want: &v1.Namespace{Status: &v1.NamespaceStatus{Phase: "Terminating"}},
		},
		{
			name: "event",
			give: &v1.Event{Reason: "Pulled"},
			want: &v1.Event{Reason: "Pulled", Type: "Normal", Count: 1},
		},
		{
			name: "warning event keeps its count",
			give: &v1.Event{Type: "Warning", Count: 7},
			want: &v1.Event{Type: "Warning", Count: 7},
		},
		{
			name: "node allocatable from capacity",
			give: &v1.Node{Status: &v1.NodeStatus{Capacity: map[string]string{"cpu": "8", "memory": "16Gi", "pods": "110"}}},
			want: &v1.Node{Status: &v1.NodeStatus{
				Capacity:    map[string]string{"cpu": "8", "memory": "16Gi", "pods": "110"},
				Allocatable: map[string]string{"cpu": "8", "memory": "16Gi", "pods": "110"},
			}},
		},
		{
			name: "node allocatable kept",
			give: &v1.Node{Status: &v1.NodeStatus{Capacity: map[string]string{"cpu": "8"}, Allocatable: map[string]string{"cpu": "7"}}},
			want: &v1.Node{Status: &v1.NodeStatus{Capacity: map[string]string{"cpu": "8"}, Allocatable: map[string]string{"cpu": "7"}}},
		},
		{
			name: "node without status",
			give: &v1.Node{Spec: &v1.NodeSpec{PodCidr: "10.2.1.0/24"}},
			want: &v1.Node{Spec: &v1.NodeSpec{PodCidr: "10.2.1.0/24"}},
		},
		{
			name: "secret type",
			give: &v1.Secret{},
			want: &v1.Secret{Type: "Opaque"},
		},
		{
			name: "tls secret",
			give: &v1.Secret{Type: "kubernetes.io/tls"},
			want: &v1.Secret{Type: "kubernetes.io/tls"},
		},
		{
			name: "lease untouched",
			give: &v1.Lease{Spec: &v1.LeaseSpec{HolderIdentity: "n1"}},
			want: &v1.Lease{Spec: &v1.LeaseSpec{HolderIdentity: "n1"}},
		},
		{
			name: "configmap untouched",
			give: &v1.ConfigMap{Data: map[string]string{"a": "b"}},
			want: &v1.ConfigMap{Data: map[string]string{"a": "b"}},
		},
		{
			name: "csr untouched",
			give: &v1.CertificateSigningRequest{Spec: &v1.CertificateSigningRequestSpec{SignerName: "x.io/y"}},
			want: &v1.CertificateSigningRequest{Spec: &v1.CertificateSigningRequestSpec{SignerName: "x.io/y"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertDefaults(t, tt.give, tt.want)
		})
	}
}

func TestDefaultNil(t *testing.T) {
	// Typed nils and nil entries must not panic.
	Default(nil)
	Default((*v1.Pod)(nil))
	Default((*v1.Deployment)(nil))
	Default((*v1.ReplicaSet)(nil))
	Default((*v1.Node)(nil))
	Default((*v1.Namespace)(nil))
	Default((*v1.Event)(nil))
	Default((*v1.Secret)(nil))
	DefaultPodSpec(nil)
	p := &v1.Pod{Spec: &v1.PodSpec{
		Containers: []*v1.Container{nil, {Name: "a", Image: "x", Ports: []*v1.ContainerPort{nil}}},
		Volumes:    []*v1.Volume{nil},
	}}
	Default(p)
	if p.Spec.Containers[1].ImagePullPolicy != "Always" {
		t.Fatalf("container after a nil entry not defaulted: %v", p.Spec.Containers[1])
	}
}

func TestDefaultPodSpecForTemplates(t *testing.T) {
	s := &v1.PodSpec{Containers: []*v1.Container{{Name: "app", Image: "nginx:latest",
		Resources: &v1.ResourceRequirements{Limits: map[string]string{"cpu": "1"}}}}}
	DefaultPodSpec(s)
	want := defaultedSpec("nginx:latest", "Always")
	want.Containers[0].Resources = &v1.ResourceRequirements{Limits: map[string]string{"cpu": "1"}}
	if diff := cmp.Diff(want, s, protocmp.Transform()); diff != "" {
		t.Fatalf("DefaultPodSpec() mismatch (-want +got):\n%s", diff)
	}
}
