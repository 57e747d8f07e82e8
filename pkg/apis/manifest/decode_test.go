package manifest

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeOne(t *testing.T, data string) apis.Object {
	t.Helper()
	objs, err := Decode([]byte(data))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if len(objs) != 1 {
		t.Fatalf("Decode returned %d objects, want 1", len(objs))
	}
	return objs[0]
}

func diff(want, got proto.Message) string { return cmp.Diff(want, got, protocmp.Transform()) }

func TestDecodeRealWorldPod(t *testing.T) {
	objs, err := Decode(readFile(t, "nginx-pod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects", len(objs))
	}
	want := &v1.Pod{
		ApiVersion: "v1",
		Kind:       "Pod",
		Metadata: &v1.ObjectMeta{
			Name:        "nginx",
			Namespace:   "web",
			Labels:      map[string]string{"app": "nginx", "tier": "frontend"},
			Annotations: map[string]string{"example.com/owner": "team-a"},
		},
		Spec: &v1.PodSpec{
			RestartPolicy:                 "Always",
			TerminationGracePeriodSeconds: proto.Int64(45),
			NodeSelector:                  map[string]string{"kubernetes.io/os": "linux", "disktype": "ssd"},
			Affinity: &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []*v1.NodeSelectorTerm{{
					MatchExpressions: []*v1.NodeSelectorRequirement{
						{Key: "topology.kubernetes.io/zone", Operator: "In", Values: []string{"zone-a", "zone-b"}},
						{Key: "cpus", Operator: "Gt", Values: []string{"3"}},
					},
				}}},
				PreferredDuringSchedulingIgnoredDuringExecution: []*v1.PreferredSchedulingTerm{{
					Weight: 10,
					Preference: &v1.NodeSelectorTerm{MatchExpressions: []*v1.NodeSelectorRequirement{
						{Key: "gpu", Operator: "DoesNotExist"},
					}},
				}},
			}},
			Tolerations: []*v1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: proto.Int64(300)},
				{Key: "dedicated", Operator: "Equal", Value: "web", Effect: "NoSchedule"},
			},
			Containers: []*v1.Container{{
				Name:            "nginx",
				Image:           "nginx:1.27",
				ImagePullPolicy: "IfNotPresent",
				Command:         []string{"nginx"},
				Args:            []string{"-g", "daemon off;"},
				WorkingDir:      "/usr/share/nginx",
				Env:             []*v1.EnvVar{{Name: "NGINX_PORT", Value: "80"}, {Name: "MODE", Value: "production"}},
				Ports: []*v1.ContainerPort{
					{Name: "http", ContainerPort: 80, Protocol: "TCP"},
					{ContainerPort: 443, HostPort: 8443, HostIp: "127.0.0.1"},
				},
				Resources: &v1.ResourceRequirements{
					Requests: map[string]string{"cpu": "250m", "memory": "64Mi"},
					Limits:   map[string]string{"cpu": "1", "memory": "128Mi"},
				},
				VolumeMounts: []*v1.VolumeMount{
					{Name: "html", MountPath: "/usr/share/nginx/html", ReadOnly: true},
					{Name: "logs", MountPath: "/var/log/nginx", SubPath: "nginx"},
				},
				LivenessProbe: &v1.Probe{
					HttpGet: &v1.HTTPGetAction{
						Path: "/healthz", Port: "http", Scheme: "HTTP",
						HttpHeaders: []*v1.HTTPHeader{{Name: "X-Probe", Value: "liveness"}},
					},
					InitialDelaySeconds: 5, PeriodSeconds: 10, FailureThreshold: 3,
				},
				ReadinessProbe: &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "80"}, TimeoutSeconds: 2},
				StartupProbe:   &v1.Probe{Exec: &v1.ExecAction{Command: []string{"cat", "/tmp/ready"}}, SuccessThreshold: 1},
			}},
			Volumes: []*v1.Volume{
				{Name: "html", HostPath: &v1.HostPathVolumeSource{Path: "/srv/www", Type: "Directory"}},
				{Name: "logs", EmptyDir: &v1.EmptyDirVolumeSource{}},
				{Name: "cache", EmptyDir: &v1.EmptyDirVolumeSource{Medium: "Memory", SizeLimit: "1Gi"}},
			},
		},
	}
	if d := diff(want, objs[0]); d != "" {
		t.Fatalf("decoded pod (-want +got):\n%s", d)
	}
	// emptyDir: {} is present, not dropped.
	if objs[0].(*v1.Pod).GetSpec().GetVolumes()[1].EmptyDir == nil {
		t.Fatal("emptyDir: {} was dropped")
	}
}

func TestDecodeMySQLDeployment(t *testing.T) {
	objs, err := Decode(readFile(t, "mysql-deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &v1.Deployment{
		ApiVersion: "apps/v1",
		Kind:       "Deployment",
		Metadata:   &v1.ObjectMeta{Name: "mysql", Labels: map[string]string{"app": "mysql"}},
		Spec: &v1.DeploymentSpec{
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "mysql"}},
			Strategy: &v1.DeploymentStrategy{Type: "Recreate"},
			Template: &v1.PodTemplateSpec{
				Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": "mysql"}},
				Spec: &v1.PodSpec{
					Containers: []*v1.Container{{
						Name:  "mysql",
						Image: "mysql:8.0",
						Env:   []*v1.EnvVar{{Name: "MYSQL_ROOT_PASSWORD", Value: "password"}},
						Ports: []*v1.ContainerPort{{ContainerPort: 3306, Name: "mysql"}},
						Resources: &v1.ResourceRequirements{
							Requests: map[string]string{"cpu": "500m", "memory": "512Mi"},
							Limits:   map[string]string{"memory": "1Gi"},
						},
						VolumeMounts: []*v1.VolumeMount{{Name: "mysql-persistent-storage", MountPath: "/var/lib/mysql"}},
					}},
					Volumes: []*v1.Volume{{Name: "mysql-persistent-storage", EmptyDir: &v1.EmptyDirVolumeSource{}}},
				},
			},
		},
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects", len(objs))
	}
	if d := diff(want, objs[0]); d != "" {
		t.Fatalf("decoded deployment (-want +got):\n%s", d)
	}
	if objs[0].(*v1.Deployment).GetSpec().Replicas != nil {
		t.Fatal("replicas absent in the manifest must stay absent")
	}
}

func kindsAndNames(objs []apis.Object) []string {
	var out []string
	for _, o := range objs {
		r, _ := apis.ForObject(o)
		out = append(out, r.Kind+"/"+o.GetMetadata().GetName())
	}
	return out
}

func TestDecodeStreams(t *testing.T) {
	tests := []struct {
		name string
		give string
		want []string
	}{
		{name: "empty input", give: "", want: nil},
		{name: "only comments and separators", give: "# nothing\n---\n---\n# still nothing\n", want: nil},
		{
			name: "multi-document YAML with empty documents",
			give: "---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n\n---\n# comment\n--- # trailing comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n...\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: c}\n",
			want: []string{"Pod/a", "ConfigMap/b", "Deployment/c"},
		},
		{
			name: "CRLF line ends",
			give: "apiVersion: v1\r\nkind: Pod\r\nmetadata: {name: a}\r\n---\r\napiVersion: v1\r\nkind: Node\r\nmetadata: {name: n1}\r\n",
			want: []string{"Pod/a", "Node/n1"},
		},
		{name: "inline document start", give: "--- {apiVersion: v1, kind: Namespace, metadata: {name: ns}}\n", want: []string{"Namespace/ns"}},
		{name: "indented --- is content", give: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: |\n    ---\n    not a separator\n", want: []string{"ConfigMap/a"}},
		{name: "JSON object", give: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}`, want: []string{"Pod/a"}},
		{
			name: "JSON stream",
			give: "\n {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}",
			want: []string{"Pod/a", "Pod/b"},
		},
		{name: "byte order mark", give: "\xef\xbb\xbf{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}", want: []string{"Pod/a"}},
		{
			name: "List",
			give: "apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: b}}\n",
			want: []string{"Pod/a", "Deployment/b"},
		},
		{
			name: "typed list items without type",
			give: `{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"a"}},{"kind":"Pod","apiVersion":"v1","metadata":{"name":"b"}}]}`,
			want: []string{"Pod/a", "Pod/b"},
		},
		{name: "empty List", give: "apiVersion: v1\nkind: List\nitems: []\n", want: nil},
		{
			name: "List between documents",
			give: "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: c}\n",
			want: []string{"Pod/a", "Pod/b", "Pod/c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode([]byte(tt.give))
			if err != nil {
				t.Fatal(err)
			}
			if got := kindsAndNames(objs); !cmp.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

const podHead = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		give string
		// want is the exact error message.
		want string
	}{
		{
			name: "unknown field in a container",
			give: podHead + "spec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      runAsUser: 0\n",
			want: `Pod "web": spec.containers[0].securityContext: field not supported`,
		},
		{
			name: "unknown field deep in lists",
			give: podHead + "spec:\n  containers:\n  - name: a\n  - name: b\n    ports:\n    - containerPort: 80\n      appProtocol: http\n",
			want: `Pod "web": spec.containers[1].ports[0].appProtocol: field not supported`,
		},
		{
			name: "unknown top-level field",
			give: podHead + "foo: bar\n",
			want: `Pod "web": foo: field not supported`,
		},
		{
			name: "unknown metadata field",
			give: podHead + "  managedFields: []\n",
			want: `Pod "web": metadata.managedFields: field not supported`,
		},
		{
			name: "protobuf field names are not manifest names",
			give: "api_version: v1\napiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {node_name: n1}\n",
			want: `Pod "web": [api_version: field not supported, spec.node_name: field not supported]`,
		},
		{
			name: "Kubernetes spelling is required where it differs",
			give: podHead + "status: {podIp: 10.0.0.1, hostIP: 10.0.0.2}\n",
			want: `Pod "web": status.podIp: field not supported`,
		},
		{
			name: "string for an integer",
			give: podHead + "spec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: x\n",
			want: `Pod "web": spec.containers[0].ports[0].containerPort: expected integer, got string "x"`,
		},
		{
			name: "quoted number for an integer",
			give: podHead + "spec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: \"80\"\n",
			want: `Pod "web": spec.containers[0].ports[0].containerPort: expected integer, got string "80"`,
		},
		{
			name: "fraction for an integer",
			give: podHead + "spec:\n  terminationGracePeriodSeconds: 1.5\n",
			want: `Pod "web": spec.terminationGracePeriodSeconds: expected integer, got number 1.5`,
		},
		{
			name: "int32 out of range",
			give: podHead + "spec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: 3000000000\n",
			want: `Pod "web": spec.containers[0].ports[0].containerPort: value 3000000000 out of range for int32`,
		},
		{
			name: "int64 out of range",
			give: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"activeDeadlineSeconds":9223372036854775808}}`,
			want: `Pod "web": spec.activeDeadlineSeconds: value 9223372036854775808 out of range for int64`,
		},
		{
			name: "huge exponent",
			give: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"priority":1e999}}`,
			want: `Pod "web": spec.priority: value 1e999 out of range for int32`,
		},
		{
			name: "string for a boolean",
			give: podHead + "spec:\n  hostNetwork: \"true\"\n",
			want: `Pod "web": spec.hostNetwork: expected boolean, got string "true"`,
		},
		{
			name: "YAML boolean for a string",
			give: podHead + "spec:\n  nodeSelector:\n    ssd: yes\n",
			want: `Pod "web": spec.nodeSelector[ssd]: expected string, got boolean true (quote the value: YAML reads y, n, yes, no, on, off, true and false as booleans)`,
		},
		{
			name: "number for a label",
			give: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    version: 2\n",
			want: `Pod "web": metadata.labels[version]: expected string, got number 2`,
		},
		{
			name: "number for an env value",
			give: podHead + "spec:\n  containers:\n  - name: c\n    env:\n    - name: PORT\n      value: 3306\n",
			want: `Pod "web": spec.containers[0].env[0].value: expected string, got number 3306`,
		},
		{
			name: "object for a list",
			give: podHead + "spec:\n  containers: {name: c}\n",
			want: `Pod "web": spec.containers: expected array, got object`,
		},
		{
			name: "list for an object",
			give: podHead + "spec: []\n",
			want: `Pod "web": spec: expected object, got array`,
		},
		{
			name: "scalar for a list element",
			give: podHead + "spec:\n  containers: [c]\n",
			want: `Pod "web": spec.containers[0]: expected object, got string "c"`,
		},
		{
			name: "bad timestamp",
			give: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  creationTimestamp: yesterday\n",
			want: `Pod "web": metadata.creationTimestamp: expected RFC 3339 time string ("2006-01-02T15:04:05Z"), got string "yesterday"`,
		},
		{
			name: "timestamp before year 1",
			give: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  creationTimestamp: \"0001-01-01T00:00:00+01:00\"\n",
			want: `Pod "web": metadata.creationTimestamp: time 0001-01-01T00:00:00+01:00 out of range (years 0001 to 9999, UTC)`,
		},
		{
			name: "YAML reads n as false",
			give: "apiVersion: v1\nkind: Node\nmetadata:\n  name: n\n",
			want: `Node: metadata.name: expected string, got boolean false (quote the value: YAML reads y, n, yes, no, on, off, true and false as booleans)`,
		},
		{
			name: "number for a timestamp",
			give: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  creationTimestamp: 12\n",
			want: `Pod "web": metadata.creationTimestamp: expected RFC 3339 time string ("2006-01-02T15:04:05Z"), got number 12`,
		},
		{
			name: "bad base64",
			give: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  password: not base64!\n",
			want: `Secret "s": data[password]: expected base64-encoded string: illegal base64 data at input byte 3`,
		},
		{
			name: "boolean quantity",
			give: podHead + "spec:\n  containers:\n  - name: c\n    resources:\n      limits: {cpu: true}\n",
			want: `Pod "web": spec.containers[0].resources.limits[cpu]: expected quantity (a string such as "250m" or a number), got boolean true`,
		},
		{
			name: "fractional int-or-string",
			give: podHead + "spec:\n  containers:\n  - name: c\n    livenessProbe:\n      tcpSocket: {port: 80.5}\n",
			want: `Pod "web": spec.containers[0].livenessProbe.tcpSocket.port: expected integer, got number 80.5`,
		},
		{
			name: "every error of a document",
			give: podHead + "  uid: 7\nspec:\n  bogus: 1\n  containers:\n  - name: c\n    image: [x]\n    ports:\n    - containerPort: x\n    - hostPort: -1.5\n",
			want: `Pod "web": [metadata.uid: expected string, got number 7, spec.bogus: field not supported, spec.containers[0].image: expected string, got array, spec.containers[0].ports[0].containerPort: expected integer, got string "x", spec.containers[0].ports[1].hostPort: expected integer, got number -1.5]`,
		},
		{
			name: "missing kind",
			give: "apiVersion: v1\nmetadata: {name: a}\n",
			want: `kind: Required value`,
		},
		{
			name: "missing apiVersion and kind",
			give: "metadata: {name: a}\n",
			want: `[apiVersion: Required value, kind: Required value]`,
		},
		{
			name: "kind not a string",
			give: "apiVersion: v1\nkind: [Pod]\n",
			want: `kind: expected string, got array`,
		},
		{
			name: "unknown kind",
			give: "apiVersion: v1\nkind: Widget\nmetadata: {name: w}\n",
			want: `Widget "w": kind: no kind "Widget" is registered (supported: CertificateSigningRequest, ConfigMap, Deployment, Event, Lease, Namespace, Node, Pod, ReplicaSet, Secret)`,
		},
		{
			name: "wrong apiVersion",
			give: "apiVersion: v1\nkind: Deployment\nmetadata: {name: d}\n",
			want: `Deployment "d": apiVersion: no kind "Deployment" is registered for version "v1" (use apiVersion: apps/v1)`,
		},
		{
			name: "not an object",
			give: "just a string\n",
			want: `expected an object with apiVersion and kind, got string "just a string"`,
		},
		{
			name: "duplicate YAML key",
			give: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n",
			want: "yaml: unmarshal errors:\n  line 5: key \"name\" already set in map",
		},
		{
			name: "duplicate JSON key",
			give: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","name":"b"}}`,
			want: `invalid JSON: duplicate key "name"`,
		},
		{
			name: "broken JSON",
			give: `{"apiVersion":"v1","kind":"Pod"`,
			want: `invalid JSON: unexpected EOF`,
		},
		{
			name: "second document broken, with its line number in the stream",
			give: podHead + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n   bad: indent\n",
			want: "document 2: yaml: line 10: mapping values are not allowed in this context",
		},
		{
			name: "errors name the document when there are several",
			give: podHead + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {nodeName: 5}\n---\n" + podHead + "x: 1\n",
			want: "document 2 (Pod \"b\"): spec.nodeName: expected string, got number 5\ndocument 3 (Pod \"web\"): x: field not supported",
		},
		{
			name: "List with errors in items",
			give: "apiVersion: v1\nkind: List\nextra: 1\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {foo: 1}}\n- 7\n",
			want: `List: [extra: field not supported, items[1].spec.foo: field not supported, items[2]: expected an object with apiVersion and kind, got number 7]`,
		},
		{
			name: "List with another apiVersion",
			give: "apiVersion: apps/v1\nkind: List\nitems: []\n",
			want: `List: apiVersion: kind List has apiVersion v1, not "apps/v1"`,
		},
		{
			name: "typed list of an unknown kind",
			give: "apiVersion: v1\nkind: WidgetList\nitems: []\n",
			want: `WidgetList: kind: no kind "Widget" is registered (supported: CertificateSigningRequest, ConfigMap, Deployment, Event, Lease, Namespace, Node, Pod, ReplicaSet, Secret)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode([]byte(tt.give))
			if err == nil {
				t.Fatalf("Decode succeeded with %v", objs)
			}
			if objs != nil {
				t.Fatalf("Decode returned objects with an error: %v", objs)
			}
			if err.Error() != tt.want {
				t.Fatalf("error:\n%s\nwant:\n%s", err, tt.want)
			}
			if !errdefs.IsInvalid(err) {
				t.Fatalf("error is not of class Invalid")
			}
			var de *DocumentError
			if !errors.As(err, &de) || len(de.Fields) == 0 {
				t.Fatalf("error carries no *DocumentError with fields")
			}
		})
	}
}

func TestDocumentErrorFields(t *testing.T) {
	_, err := Decode([]byte(podHead + "spec:\n  containers:\n  - name: c\n    securityContext: {}\n    ports:\n    - containerPort: x\n"))
	var de *DocumentError
	if !errors.As(err, &de) {
		t.Fatalf("no DocumentError in %v", err)
	}
	want := &DocumentError{Index: 1, Count: 1, Kind: "Pod", Name: "web", Fields: []FieldError{
		{Path: "spec.containers[0].ports[0].containerPort", Detail: `expected integer, got string "x"`},
		{Path: "spec.containers[0].securityContext", Detail: "field not supported"},
	}}
	if d := cmp.Diff(want, de); d != "" {
		t.Fatalf("DocumentError (-want +got):\n%s", d)
	}
}

func TestTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString(podHead)
	for i := range 200 {
		b.WriteString("x")
		b.WriteString(strings.Repeat("y", i))
		b.WriteString(": 1\n")
	}
	_, err := Decode([]byte(b.String()))
	var de *DocumentError
	if !errors.As(err, &de) {
		t.Fatal(err)
	}
	if len(de.Fields) != maxErrorsPerDocument+1 || !strings.Contains(err.Error(), "too many errors") {
		t.Fatalf("got %d errors", len(de.Fields))
	}
}

func TestQuantities(t *testing.T) {
	tests := []struct {
		give string // YAML value of limits.cpu
		want string
	}{
		{"1", "1"},
		{"0.5", "0.5"},
		{"\"250m\"", "250m"},
		{"250m", "250m"},
		{"1Gi", "1Gi"},
		{"1073741824", "1073741824"},
		{"1e3", "1000"}, // YAML reads 1e3 as a float; the decimal text is kept
		{"\"1e3\"", "1e3"},
		{"-1", "-1"},
		{"\"\"", ""}, // not checked here: validation refuses it
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			pod := decodeOne(t, podHead+"spec:\n  containers:\n  - name: c\n    resources:\n      limits:\n        cpu: "+tt.give+"\n").(*v1.Pod)
			if got := pod.GetSpec().GetContainers()[0].GetResources().GetLimits()["cpu"]; got != tt.want {
				t.Fatalf("cpu = %q, want %q", got, tt.want)
			}
		})
	}
	// JSON keeps the number's text as written.
	pod := decodeOne(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"volumes":[{"name":"v","emptyDir":{"sizeLimit":1.5e3}}]}}`).(*v1.Pod)
	if got := pod.GetSpec().GetVolumes()[0].GetEmptyDir().GetSizeLimit(); got != "1.5e3" {
		t.Fatalf("sizeLimit = %q", got)
	}
	// Node capacity and allocatable are quantities too.
	node := decodeOne(t, "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus:\n  capacity: {cpu: 4, memory: 8Gi, pods: 110}\n").(*v1.Node)
	if d := cmp.Diff(map[string]string{"cpu": "4", "memory": "8Gi", "pods": "110"}, node.GetStatus().GetCapacity()); d != "" {
		t.Fatal(d)
	}
}

func TestIntOrString(t *testing.T) {
	tests := []struct {
		give    string
		want    string
		printed string // the value in EncodeYAML's output
	}{
		{"8080", "8080", "port: 8080"},
		{"http", "http", "port: http"},
		{"\"8080\"", "8080", "port: 8080"},
		{"\"08\"", "08", `port: "08"`},
		{"-1", "-1", "port: -1"},
		{"\"99999999999\"", "99999999999", `port: "99999999999"`},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			pod := decodeOne(t, podHead+"spec:\n  containers:\n  - name: c\n    readinessProbe:\n      httpGet:\n        port: "+tt.give+"\n").(*v1.Pod)
			if got := pod.GetSpec().GetContainers()[0].GetReadinessProbe().GetHttpGet().GetPort(); got != tt.want {
				t.Fatalf("port = %q, want %q", got, tt.want)
			}
			out, err := EncodeYAML(pod)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "        "+tt.printed+"\n") {
				t.Fatalf("output lacks %q:\n%s", tt.printed, out)
			}
		})
	}
	d := decodeOne(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  strategy:\n    rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}\n").(*v1.Deployment)
	if ru := d.GetSpec().GetStrategy().GetRollingUpdate(); ru.GetMaxSurge() != "25%" || ru.GetMaxUnavailable() != "1" {
		t.Fatalf("rollingUpdate = %v", ru)
	}
	_, err := Decode([]byte(podHead + "spec:\n  containers:\n  - name: c\n    livenessProbe:\n      tcpSocket: {port: 99999999999}\n"))
	if err == nil || !strings.Contains(err.Error(), "tcpSocket.port: value 99999999999 out of range for int32") {
		t.Fatalf("err = %v", err)
	}
	_, err = Decode([]byte(podHead + "spec:\n  containers:\n  - name: c\n    livenessProbe:\n      tcpSocket: {port: [80]}\n"))
	if err == nil || !strings.Contains(err.Error(), "tcpSocket.port: expected integer or string, got array") {
		t.Fatalf("err = %v", err)
	}
}

func TestTimestamps(t *testing.T) {
	tests := []struct {
		give    string
		want    *timestamppb.Timestamp
		printed string
	}{
		{"2024-05-01T10:00:00Z", &timestamppb.Timestamp{Seconds: 1714557600}, "2024-05-01T10:00:00Z"},
		{"2024-05-01T12:00:00+02:00", &timestamppb.Timestamp{Seconds: 1714557600}, "2024-05-01T10:00:00Z"},
		{"2024-05-01T10:00:00.123456789Z", &timestamppb.Timestamp{Seconds: 1714557600, Nanos: 123456789}, "2024-05-01T10:00:00.123456789Z"},
		{"1970-01-01T00:00:00Z", &timestamppb.Timestamp{}, "1970-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			obj := decodeOne(t, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  creationTimestamp: \""+tt.give+"\"\n")
			got := obj.GetMetadata().GetCreationTimestamp()
			if d := diff(tt.want, got); d != "" {
				t.Fatal(d)
			}
			m, err := ToMap(obj)
			if err != nil {
				t.Fatal(err)
			}
			if p := m["metadata"].(map[string]any)["creationTimestamp"]; p != tt.printed {
				t.Fatalf("printed %v, want %v", p, tt.printed)
			}
		})
	}
	// An unquoted YAML timestamp also arrives as a string.
	obj := decodeOne(t, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  creationTimestamp: 2024-05-01T10:00:00Z\n")
	if obj.GetMetadata().GetCreationTimestamp().GetSeconds() != 1714557600 {
		t.Fatalf("got %v", obj.GetMetadata().GetCreationTimestamp())
	}
	// Out of a Timestamp's range: refused when encoding.
	bad := &v1.Pod{Metadata: &v1.ObjectMeta{Name: "a", CreationTimestamp: &timestamppb.Timestamp{Seconds: 1 << 40}}}
	if _, err := EncodeJSON(bad); err == nil || !strings.Contains(err.Error(), "metadata: creationTimestamp: invalid timestamp") {
		t.Fatalf("err = %v", err)
	}
}

func TestSecretAndBytes(t *testing.T) {
	s := decodeOne(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\ndata:\n  password: cGFzc3dvcmQ=\n  empty: \"\"\nstringData:\n  user: admin\n").(*v1.Secret)
	want := &v1.Secret{
		ApiVersion: "v1", Kind: "Secret", Metadata: &v1.ObjectMeta{Name: "s"}, Type: "Opaque",
		Data:       map[string][]byte{"password": []byte("password"), "empty": {}},
		StringData: map[string]string{"user": "admin"},
	}
	if d := diff(want, s); d != "" {
		t.Fatal(d)
	}
	out, err := EncodeYAML(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "  password: cGFzc3dvcmQ=\n") {
		t.Fatalf("secret data not printed as base64:\n%s", out)
	}
	csr := decodeOne(t, "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata: {name: c}\nspec:\n  request: LS0tLS1CRUdJTg==\n  usages: [client auth]\n").(*v1.CertificateSigningRequest)
	if string(csr.GetSpec().GetRequest()) != "-----BEGIN" {
		t.Fatalf("request = %q", csr.GetSpec().GetRequest())
	}
	cm := decodeOne(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nbinaryData: {blob: AAEC}\n").(*v1.ConfigMap)
	if d := cmp.Diff([]byte{0, 1, 2}, cm.GetBinaryData()["blob"]); d != "" {
		t.Fatal(d)
	}
}

func TestNullsAndPresence(t *testing.T) {
	pod := decodeOne(t, `apiVersion: v1
kind: Pod
metadata:
  name: a
  creationTimestamp: null
  labels: ~
spec:
  nodeName: null
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    args: [a, null]
    env: [null]
  nodeSelector:
    x: null
`).(*v1.Pod)
	want := &v1.Pod{
		ApiVersion: "v1", Kind: "Pod",
		Metadata: &v1.ObjectMeta{Name: "a"},
		Spec: &v1.PodSpec{
			TerminationGracePeriodSeconds: proto.Int64(0),
			Containers:                    []*v1.Container{{Name: "c", Args: []string{"a", ""}, Env: []*v1.EnvVar{{}}}},
			NodeSelector:                  map[string]string{"x": ""},
		},
	}
	if d := diff(want, pod); d != "" {
		t.Fatal(d)
	}
	// optional fields keep their presence, also when zero.
	d := decodeOne(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 0, paused: false}\n").(*v1.Deployment)
	if d.GetSpec().Replicas == nil || d.GetSpec().GetReplicas() != 0 {
		t.Fatal("replicas: 0 lost its presence")
	}
	out, err := EncodeYAML(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "replicas: 0") || strings.Contains(string(out), "paused") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestIntegerForms(t *testing.T) {
	tests := []struct {
		give string
		want int32
	}{
		{"3", 3},
		{"3.0", 3},
		{"0x10", 16}, // YAML 1.1 hexadecimal
		{"1e2", 100},
		{"-2147483648", -2147483648},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			d := decodeOne(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {minReadySeconds: "+tt.give+"}\n").(*v1.Deployment)
			if got := d.GetSpec().GetMinReadySeconds(); got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
	big := decodeOne(t, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","generation":9223372036854775807}}`)
	if big.GetMetadata().GetGeneration() != 9223372036854775807 {
		t.Fatalf("generation = %d", big.GetMetadata().GetGeneration())
	}
}
