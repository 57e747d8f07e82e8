package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

func samplePod() *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{
			Name: "web", Namespace: "default", Uid: "6b1c", ResourceVersion: "42", Generation: 3,
			Labels:            map[string]string{"tier": "front", "app": "web"},
			CreationTimestamp: &timestamppb.Timestamp{Seconds: 1714557600},
		},
		Spec: &v1.PodSpec{
			Containers: []*v1.Container{{
				Name: "c", Image: "nginx",
				Ports:          []*v1.ContainerPort{{ContainerPort: 80}},
				Resources:      &v1.ResourceRequirements{Limits: map[string]string{"memory": "1Gi", "cpu": "1"}},
				ReadinessProbe: &v1.Probe{HttpGet: &v1.HTTPGetAction{Port: "8080"}},
			}},
			Volumes:                       []*v1.Volume{{Name: "v", EmptyDir: &v1.EmptyDirVolumeSource{}}},
			TerminationGracePeriodSeconds: proto.Int64(30),
		},
		Status: &v1.PodStatus{Phase: "Running", PodIp: "10.2.0.5", ContainerStatuses: []*v1.ContainerStatus{{Name: "c", Ready: true, ContainerId: "docker://abc"}}},
	}
}

func TestEncodeYAMLShape(t *testing.T) {
	out, err := EncodeYAML(samplePod())
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  uid: 6b1c
  resourceVersion: "42"
  generation: 3
  labels:
    app: web
    tier: front
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  containers:
  - name: c
    image: nginx
    ports:
    - containerPort: 80
    resources:
      limits:
        cpu: "1"
        memory: 1Gi
    readinessProbe:
      httpGet:
        port: 8080
  volumes:
  - name: v
    emptyDir: {}
  terminationGracePeriodSeconds: 30
status:
  phase: Running
  podIP: 10.2.0.5
  containerStatuses:
  - name: c
    ready: true
    containerID: docker://abc
`
	if d := cmp.Diff(want, string(out)); d != "" {
		t.Fatalf("EncodeYAML (-want +got):\n%s", d)
	}
}

func TestEncodeJSONShape(t *testing.T) {
	lease := &v1.Lease{
		Metadata: &v1.ObjectMeta{Name: "n1", Namespace: "kube-node-lease"},
		Spec:     &v1.LeaseSpec{HolderIdentity: "n1", LeaseDurationSeconds: 40, RenewTime: &timestamppb.Timestamp{Seconds: 1714557600, Nanos: 5000}},
	}
	out, err := EncodeJSON(lease)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
    "apiVersion": "coordination.k8s.io/v1",
    "kind": "Lease",
    "metadata": {
        "name": "n1",
        "namespace": "kube-node-lease"
    },
    "spec": {
        "holderIdentity": "n1",
        "leaseDurationSeconds": 40,
        "renewTime": "2024-05-01T10:00:00.000005Z"
    }
}
`
	if d := cmp.Diff(want, string(out)); d != "" {
		t.Fatalf("EncodeJSON (-want +got):\n%s", d)
	}
}

func TestEncodeOverridesTypeMeta(t *testing.T) {
	// apiVersion and kind come from the object's kind, whatever it holds.
	obj := &v1.Deployment{ApiVersion: "v1", Kind: "Pod", Metadata: &v1.ObjectMeta{Name: "d"}}
	out, err := EncodeYAML(obj)
	if err != nil {
		t.Fatal(err)
	}
	if want := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n"; string(out) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	// An empty object still has its type.
	out, err = EncodeJSON(&v1.Namespace{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"Namespace\"\n}\n"; string(out) != want {
		t.Fatalf("got %q", out)
	}
	// Not a kind: an error, not a panic.
	if _, err := EncodeJSON(&v1.Binding{}); err == nil {
		t.Fatal("Binding is not a kind")
	}
}

func TestEncodeStringEscapes(t *testing.T) {
	cm := &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "c"}, Data: map[string]string{
		"ctl": "a\x01b\tc\n\"q\"\\ <html>&\u2028",
	}}
	out, err := EncodeJSON(cm)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"ctl": "a\u0001b\tc\n\"q\"\\ <html>&\u2028"`; !strings.Contains(string(out), want) {
		t.Fatalf("output lacks %s:\n%s", want, out)
	}
}

func TestToMap(t *testing.T) {
	m, err := ToMap(samplePod())
	if err != nil {
		t.Fatal(err)
	}
	md := m["metadata"].(map[string]any)
	spec := m["spec"].(map[string]any)
	c := spec["containers"].([]any)[0].(map[string]any)
	status := m["status"].(map[string]any)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"apiVersion", m["apiVersion"], "v1"},
		{"kind", m["kind"], "Pod"},
		{"metadata.name", md["name"], "web"},
		{"metadata.generation", md["generation"], int64(3)},
		{"metadata.labels.app", md["labels"].(map[string]any)["app"], "web"},
		{"containerPort", c["ports"].([]any)[0].(map[string]any)["containerPort"], int64(80)},
		{"httpGet.port", c["readinessProbe"].(map[string]any)["httpGet"].(map[string]any)["port"], int64(8080)},
		{"emptyDir", spec["volumes"].([]any)[0].(map[string]any)["emptyDir"], map[string]any{}},
		{"terminationGracePeriodSeconds", spec["terminationGracePeriodSeconds"], int64(30)},
		{"ready", status["containerStatuses"].([]any)[0].(map[string]any)["ready"], true},
		{"podIP", status["podIP"], "10.2.0.5"},
	}
	for _, c := range checks {
		if !cmp.Equal(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if _, ok := spec["nodeName"]; ok {
		t.Error("an empty field must be left out")
	}
}

func TestEncodeList(t *testing.T) {
	objs := []apis.Object{samplePod(), &v1.Node{Metadata: &v1.ObjectMeta{Name: "n1"}}}
	for _, enc := range []func([]apis.Object) ([]byte, error){EncodeListJSON, EncodeListYAML} {
		out, err := enc(objs)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(out)
		if err != nil {
			t.Fatalf("decode list: %v\n%s", err, out)
		}
		if len(back) != 2 || !proto.Equal(back[1], &v1.Node{ApiVersion: "v1", Kind: "Node", Metadata: &v1.ObjectMeta{Name: "n1"}}) {
			t.Fatalf("list decoded to %v", back)
		}
	}
}

// roundTripObjects covers every kind and the tricky values: strings YAML
// would read as something else, optional zeros, empty messages, bytes,
// int64 extremes, timestamps with nanoseconds.
func roundTripObjects() []apis.Object {
	ts := &timestamppb.Timestamp{Seconds: 1714557600, Nanos: 123}
	tricky := map[string]string{
		"yes": "no", "on": "off", "y": "n", "1": "2", "08": "0x1F", "1e3": "1.5", "null": "~", "empty": "",
		"true": "false", "colon": "a: b", "hash": "#c", "dash": "- x", "multi": "line1\nline2\n", "lead": "  sp",
		"unicode": "日本語 ü", "quote": `"'`, "brace": "{a}", "star": "*anchor", "pct": "%x", "at": "@x", "tab": "a\tb",
		"---":      "...",
		"long":     strings.Repeat("a long annotation value with spaces ", 8),
		"longword": strings.Repeat("x", 300),
	}
	pod := samplePod()
	pod.Metadata.Annotations = tricky
	pod.Metadata.DeletionGracePeriodSeconds = proto.Int64(0)
	pod.Metadata.DeletionTimestamp = ts
	pod.Metadata.OwnerReferences = []*v1.OwnerReference{{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", Uid: "u", Controller: proto.Bool(true), BlockOwnerDeletion: proto.Bool(false)}}
	pod.Metadata.Finalizers = []string{"f"}
	pod.Spec.Containers[0].Env = []*v1.EnvVar{{Name: "E", Value: "yes"}, {Name: "N", Value: "0755"}, {}}
	pod.Spec.Containers[0].Command = []string{"sh", "-c", "echo 'hi'; exit 0"}
	pod.Spec.Containers[0].LivenessProbe = &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "http"}, TerminationGracePeriodSeconds: proto.Int64(0)}
	pod.Spec.Containers[0].StartupProbe = &v1.Probe{}
	pod.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
		NodeSelectorTerms: []*v1.NodeSelectorTerm{{MatchFields: []*v1.NodeSelectorRequirement{{Key: "metadata.name", Operator: "In", Values: []string{"n1"}}}}, {}},
	}}}
	pod.Spec.Tolerations = []*v1.Toleration{{Operator: "Exists", TolerationSeconds: proto.Int64(-1)}}
	pod.Spec.ActiveDeadlineSeconds = proto.Int64(9223372036854775807)
	pod.Spec.Priority = -2147483648
	pod.Spec.NodeSelector = map[string]string{"true": "yes"}
	pod.Status.StartTime = ts
	pod.Status.Conditions = []*v1.Condition{{Type: "Ready", Status: "True", LastTransitionTime: ts, LastProbeTime: &timestamppb.Timestamp{}}}
	pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, &v1.ContainerStatus{
		Name:      "d",
		State:     &v1.ContainerState{Terminated: &v1.ContainerStateTerminated{ExitCode: -1, Signal: 9, Reason: "Error", StartedAt: ts, FinishedAt: ts, ContainerId: "x"}},
		LastState: &v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		Started:   proto.Bool(false), RestartCount: 7, ImageId: "sha256:1",
	})
	for _, obj := range []apis.Object{pod} {
		apis.SetTypeMeta(obj)
	}
	objs := []apis.Object{
		pod,
		&v1.Node{
			Metadata: &v1.ObjectMeta{Name: "n1", Labels: map[string]string{"kubernetes.io/hostname": "n1"}},
			Spec:     &v1.NodeSpec{PodCidr: "10.2.1.0/24", PodCidrs: []string{"10.2.1.0/24"}, Unschedulable: true, Taints: []*v1.Taint{{Key: "k", Effect: "NoSchedule", TimeAdded: ts}}, ProviderId: "p"},
			Status: &v1.NodeStatus{
				Capacity: map[string]string{"cpu": "4", "memory": "8Gi", "pods": "110"}, Allocatable: map[string]string{"cpu": "3800m"},
				Conditions:      []*v1.Condition{{Type: "Ready", Status: "True", LastHeartbeatTime: ts}},
				Addresses:       []*v1.NodeAddress{{Type: "InternalIP", Address: "172.17.0.2"}},
				NodeInfo:        &v1.NodeSystemInfo{MachineId: "m", SystemUuid: "s", BootId: "b", OsImage: "o", KubeletVersion: "v1", Architecture: "amd64"},
				DaemonEndpoints: &v1.NodeDaemonEndpoints{KubeletEndpoint: &v1.DaemonEndpoint{Port: 10250}},
				Images:          []*v1.ContainerImage{{Names: []string{"pause"}, SizeBytes: 1 << 40}},
			},
		},
		&v1.Deployment{
			Metadata: &v1.ObjectMeta{Name: "d", Namespace: "default"},
			Spec: &v1.DeploymentSpec{
				Replicas: proto.Int32(0), Selector: &v1.LabelSelector{MatchExpressions: []*v1.LabelSelectorRequirement{{Key: "a", Operator: "Exists"}}},
				Template:             &v1.PodTemplateSpec{Metadata: &v1.ObjectMeta{Labels: map[string]string{"a": "b"}}, Spec: &v1.PodSpec{Containers: []*v1.Container{{Name: "c", Image: "i"}}}},
				Strategy:             &v1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &v1.RollingUpdateDeployment{MaxSurge: "25%", MaxUnavailable: "0"}},
				RevisionHistoryLimit: proto.Int32(10), Paused: true, ProgressDeadlineSeconds: proto.Int32(600),
			},
			Status: &v1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, CollisionCount: proto.Int32(0)},
		},
		&v1.ReplicaSet{Metadata: &v1.ObjectMeta{Name: "rs"}, Spec: &v1.ReplicaSetSpec{Replicas: proto.Int32(3)}, Status: &v1.ReplicaSetStatus{ReadyReplicas: 2}},
		&v1.Secret{Metadata: &v1.ObjectMeta{Name: "s"}, Data: map[string][]byte{"bin": {0, 255, 10}, "empty": {}}, StringData: map[string]string{"a": "b"}, Type: "Opaque", Immutable: proto.Bool(false)},
		&v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: "cm"}, Data: tricky, BinaryData: map[string][]byte{"b": []byte("hi")}},
		&v1.Event{
			Metadata: &v1.ObjectMeta{Name: "e"}, InvolvedObject: &v1.ObjectReference{Kind: "Pod", Name: "web", FieldPath: "spec.containers{c}"},
			Reason: "Started", Message: "Started container c", Source: &v1.EventSource{Component: "kubelet", Host: "n1"},
			FirstTimestamp: ts, LastTimestamp: ts, Count: 2, Type: "Normal",
		},
		&v1.Lease{Metadata: &v1.ObjectMeta{Name: "l"}, Spec: &v1.LeaseSpec{HolderIdentity: "h", AcquireTime: ts, LeaseTransitions: 1}},
		&v1.Namespace{Metadata: &v1.ObjectMeta{Name: "ns"}, Spec: &v1.NamespaceSpec{Finalizers: []string{"kubernetes"}}, Status: &v1.NamespaceStatus{Phase: "Active"}},
		&v1.CertificateSigningRequest{
			Metadata: &v1.ObjectMeta{Name: "csr"},
			Spec:     &v1.CertificateSigningRequestSpec{Request: []byte("-----BEGIN CERTIFICATE REQUEST-----\n"), SignerName: "kubernetes.io/kube-apiserver-client-kubelet", ExpirationSeconds: proto.Int32(3600), Usages: []string{"client auth"}, Groups: []string{"system:nodes"}},
			Status:   &v1.CertificateSigningRequestStatus{Conditions: []*v1.Condition{{Type: "Approved", Status: "True", LastUpdateTime: ts}}, Certificate: []byte{1, 2, 3}},
		},
	}
	for _, obj := range objs {
		apis.SetTypeMeta(obj)
	}
	return objs
}

func TestRoundTrip(t *testing.T) {
	encoders := []struct {
		name string
		enc  func(apis.Object) ([]byte, error)
	}{
		{"json", EncodeJSON},
		{"yaml", EncodeYAML},
	}
	for _, obj := range roundTripObjects() {
		for _, e := range encoders {
			r, _ := apis.ForObject(obj)
			t.Run(r.Kind+"/"+e.name, func(t *testing.T) {
				out, err := e.enc(obj)
				if err != nil {
					t.Fatal(err)
				}
				back, err := Decode(out)
				if err != nil {
					t.Fatalf("decode: %v\n%s", err, out)
				}
				if len(back) != 1 {
					t.Fatalf("decoded %d objects", len(back))
				}
				if !proto.Equal(obj, back[0]) {
					t.Fatalf("round trip changed the object (-want +got):\n%s\n%s", diff(obj, back[0]), out)
				}
			})
		}
	}
}

func TestRoundTripManifests(t *testing.T) {
	// decode -> encode -> decode is stable for the real-world manifests.
	for _, name := range []string{"nginx-pod.yaml", "mysql-deployment.yaml"} {
		t.Run(name, func(t *testing.T) {
			objs, err := Decode(readFile(t, name))
			if err != nil {
				t.Fatal(err)
			}
			out, err := EncodeYAML(objs[0])
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !proto.Equal(objs[0], back[0]) {
				t.Fatalf("(-want +got):\n%s", diff(objs[0], back[0]))
			}
		})
	}
}

func BenchmarkDecodePod(b *testing.B) {
	data := readFile(b, "nginx-pod.yaml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeYAMLPod(b *testing.B) {
	objs, err := Decode(readFile(b, "nginx-pod.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeYAML(objs[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeJSONPod(b *testing.B) {
	objs, err := Decode(readFile(b, "nginx-pod.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeJSON(objs[0]); err != nil {
			b.Fatal(err)
		}
	}
}
