package validation

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/defaults"
	"minik8s/pkg/apis/errdefs"
)

// Kubernetes' messages, spelled out once.
const (
	subdomainMsg  = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	labelMsg      = `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
	qnameMsg      = `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`
	labelValueMsg = `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`
	quantityMsg   = `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`
)

func validPod() *v1.Pod {
	p := &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: &v1.PodSpec{
			Containers: []*v1.Container{{
				Name:  "app",
				Image: "minik8s/testapp:v1",
				Args:  []string{"serve", "--listen", ":8080"},
				Ports: []*v1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Env:   []*v1.EnvVar{{Name: "MODE", Value: "x"}, {Name: "my.var-1", Value: "y"}},
				Resources: &v1.ResourceRequirements{
					Requests: map[string]string{"cpu": "250m", "memory": "64Mi"},
					Limits:   map[string]string{"cpu": "1", "memory": "128Mi"},
				},
				VolumeMounts:   []*v1.VolumeMount{{Name: "data", MountPath: "/data"}},
				LivenessProbe:  &v1.Probe{HttpGet: &v1.HTTPGetAction{Port: "http"}},
				ReadinessProbe: &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "8080"}},
			}},
			Volumes:      []*v1.Volume{{Name: "data", EmptyDir: &v1.EmptyDirVolumeSource{}}},
			NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
			Tolerations: []*v1.Toleration{
				{Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: ptr64(300)},
				{Operator: "Exists"},
			},
			Affinity: &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []*v1.NodeSelectorTerm{{
					MatchExpressions: []*v1.NodeSelectorRequirement{{Key: "zone", Operator: "In", Values: []string{"a", "b"}}},
				}}},
			}},
		},
	}
	defaults.Default(p)
	return p
}

func ptr64(v int64) *int64 { return &v }
func ptr32(v int32) *int32 { return &v }

func errorStrings(l ErrorList) []string {
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.Error()
	}
	return out
}

func assertErrors(t *testing.T, got ErrorList, want []string) {
	t.Helper()
	g := errorStrings(got)
	if !slices.Equal(g, want) {
		t.Errorf("errors:\n got: %q\nwant: %q", g, want)
	}
}

func TestValidPodIsValid(t *testing.T) {
	if err := Validate(validPod()); err != nil {
		t.Fatal(err)
	}
}

func TestPod(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *v1.Pod)
		want   []string
	}{
		{"valid", func(p *v1.Pod) {}, nil},
		{"name required", func(p *v1.Pod) { p.Metadata.Name = "" },
			[]string{"metadata.name: Required value: name or generateName is required"}},
		{"generateName is enough", func(p *v1.Pod) { p.Metadata.Name, p.Metadata.GenerateName = "", "web-" }, nil},
		{"bad generateName", func(p *v1.Pod) { p.Metadata.Name, p.Metadata.GenerateName = "", "Web-" },
			[]string{`metadata.generateName: Invalid value: "Web-": ` + subdomainMsg}},
		{"uppercase name", func(p *v1.Pod) { p.Metadata.Name = "Web" },
			[]string{`metadata.name: Invalid value: "Web": ` + subdomainMsg}},
		{"dotted name is a subdomain", func(p *v1.Pod) { p.Metadata.Name = "web.v1" }, nil},
		{"name too long", func(p *v1.Pod) { p.Metadata.Name = strings.Repeat("a", 254) },
			[]string{`metadata.name: Invalid value: "` + strings.Repeat("a", 254) + `": must be no more than 253 characters`}},
		{"namespace required", func(p *v1.Pod) { p.Metadata.Namespace = "" },
			[]string{"metadata.namespace: Required value"}},
		{"namespace is a label", func(p *v1.Pod) { p.Metadata.Namespace = "a.b" },
			[]string{`metadata.namespace: Invalid value: "a.b": ` + labelMsg}},
		{"label key", func(p *v1.Pod) { p.Metadata.Labels["-bad"] = "x" },
			[]string{`metadata.labels: Invalid value: "-bad": ` + qnameMsg}},
		{"label key with prefix", func(p *v1.Pod) { p.Metadata.Labels["example.com/tier"] = "front_end.1" }, nil},
		{"label key bad prefix", func(p *v1.Pod) { p.Metadata.Labels["Example.com/tier"] = "x" },
			[]string{`metadata.labels: Invalid value: "Example.com/tier": prefix part ` + subdomainMsg}},
		{"label key too long", func(p *v1.Pod) { p.Metadata.Labels[strings.Repeat("k", 64)] = "" },
			[]string{`metadata.labels: Invalid value: "` + strings.Repeat("k", 64) + `": name part must be no more than 63 characters`}},
		{"label value", func(p *v1.Pod) { p.Metadata.Labels["app"] = "web!" },
			[]string{`metadata.labels: Invalid value: "web!": ` + labelValueMsg}},
		{"empty label value", func(p *v1.Pod) { p.Metadata.Labels["app"] = "" }, nil},
		{"label value too long", func(p *v1.Pod) { p.Metadata.Labels["app"] = strings.Repeat("v", 64) },
			[]string{`metadata.labels: Invalid value: "` + strings.Repeat("v", 64) + `": must be no more than 63 characters`}},
		{"annotations too large", func(p *v1.Pod) {
			p.Metadata.Annotations = map[string]string{"a": strings.Repeat("x", 256<<10)}
		}, []string{"metadata.annotations: Too long: may not be more than 262144 bytes"}},
		{"annotation at the limit", func(p *v1.Pod) {
			p.Metadata.Annotations = map[string]string{"a": strings.Repeat("x", 256<<10-1)}
		}, nil},
		{"owner reference incomplete", func(p *v1.Pod) {
			p.Metadata.OwnerReferences = []*v1.OwnerReference{{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1"}}
		}, []string{`metadata.ownerReferences[0].uid: Invalid value: "": uid must not be empty`}},
		{"two controllers", func(p *v1.Pod) {
			ctl := true
			p.Metadata.OwnerReferences = []*v1.OwnerReference{
				{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "a", Uid: "1", Controller: &ctl},
				{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "b", Uid: "2", Controller: &ctl},
			}
		}, []string{"metadata.ownerReferences: Invalid value: 2: Only one reference can have Controller set to true"}},
		{"finalizers", func(p *v1.Pod) { p.Metadata.Finalizers = []string{"orphan", "foregroundDeletion", "bad finalizer"} },
			[]string{
				`metadata.finalizers: Invalid value: "bad finalizer": ` + qnameMsg,
				"metadata.finalizers: Invalid value: finalizer orphan and foregroundDeletion cannot be both set",
			}},

		{"no containers", func(p *v1.Pod) { p.Spec.Containers = nil },
			[]string{"spec.containers: Required value"}},
		{"image required", func(p *v1.Pod) { p.Spec.Containers[0].Image = "" },
			[]string{"spec.containers[0].image: Required value"}},
		{"image whitespace", func(p *v1.Pod) { p.Spec.Containers[0].Image = "nginx " },
			[]string{`spec.containers[0].image: Invalid value: "nginx ": must not have leading or trailing whitespace`}},
		{"container name required", func(p *v1.Pod) { p.Spec.Containers[0].Name = "" },
			[]string{"spec.containers[0].name: Required value"}},
		{"container name is a label", func(p *v1.Pod) { p.Spec.Containers[0].Name = "app.v1" },
			[]string{`spec.containers[0].name: Invalid value: "app.v1": ` + labelMsg}},
		{"duplicate container", func(p *v1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, proto.Clone(p.Spec.Containers[0]).(*v1.Container))
			p.Spec.Containers[1].Ports = nil
		}, []string{`spec.containers[1].name: Duplicate value: "app"`}},
		{"init container clashes with container", func(p *v1.Pod) {
			p.Spec.InitContainers = []*v1.Container{{Name: "app", Image: "busybox:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File"}}
		}, []string{`spec.initContainers[0].name: Duplicate value: "app"`}},
		{"init container probes", func(p *v1.Pod) {
			p.Spec.InitContainers = []*v1.Container{
				{Name: "init0", Image: "busybox:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File"},
				{Name: "init1", Image: "busybox:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File",
					LivenessProbe:  &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "80"}, SuccessThreshold: 1},
					ReadinessProbe: &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "80"}, SuccessThreshold: 1},
					StartupProbe:   &v1.Probe{TcpSocket: &v1.TCPSocketAction{Port: "80"}, SuccessThreshold: 1}},
			}
			defaults.Default(p)
		}, []string{
			"spec.initContainers[1].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
			"spec.initContainers[1].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
			"spec.initContainers[1].startupProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
		}},
		{"pull policy", func(p *v1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "Sometimes" },
			[]string{`spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`}},
		{"pull policy required", func(p *v1.Pod) { p.Spec.Containers[0].ImagePullPolicy = "" },
			[]string{"spec.containers[0].imagePullPolicy: Required value"}},
		{"restart policy", func(p *v1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			[]string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		{"dns policy", func(p *v1.Pod) { p.Spec.DnsPolicy = "Google" },
			[]string{`spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"`}},
		{"termination message policy", func(p *v1.Pod) { p.Spec.Containers[0].TerminationMessagePolicy = "Never" },
			[]string{`spec.containers[0].terminationMessagePolicy: Unsupported value: "Never": supported values: "FallbackToLogsOnError", "File"`}},

		{"container port range", func(p *v1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 },
			[]string{"spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"}},
		{"container port required", func(p *v1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 },
			[]string{"spec.containers[0].ports[0].containerPort: Required value"}},
		{"host port range", func(p *v1.Pod) { p.Spec.Containers[0].Ports[0].HostPort = -1 },
			[]string{"spec.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive"}},
		{"protocol", func(p *v1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "tcp" },
			[]string{`spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"`}},
		{"port name rules", func(p *v1.Pod) { p.Spec.Containers[0].Ports[0].Name = "-Web--1234567890-" },
			[]string{
				`spec.containers[0].ports[0].name: Invalid value: "-Web--1234567890-": must be no more than 15 characters`,
				`spec.containers[0].ports[0].name: Invalid value: "-Web--1234567890-": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`,
				`spec.containers[0].ports[0].name: Invalid value: "-Web--1234567890-": must not contain consecutive hyphens`,
				`spec.containers[0].ports[0].name: Invalid value: "-Web--1234567890-": must not begin or end with a hyphen`,
			}},
		{"port name needs a letter", func(p *v1.Pod) { p.Spec.Containers[0].Ports[0].Name = "8080" },
			[]string{`spec.containers[0].ports[0].name: Invalid value: "8080": must contain at least one letter (a-z)`}},
		{"duplicate port name", func(p *v1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, &v1.ContainerPort{Name: "http", ContainerPort: 9090, Protocol: "TCP"})
		}, []string{`spec.containers[0].ports[1].name: Duplicate value: "http"`}},
		{"host port conflict across containers", func(p *v1.Pod) {
			p.Spec.Containers[0].Ports[0].HostPort = 80
			p.Spec.Containers = append(p.Spec.Containers, &v1.Container{
				Name: "side", Image: "x:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File",
				Ports: []*v1.ContainerPort{{ContainerPort: 81, HostPort: 80, Protocol: "TCP"}},
			})
		}, []string{`spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//80"`}},
		{"same host port, other protocol", func(p *v1.Pod) {
			p.Spec.Containers[0].Ports[0].HostPort = 53
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, &v1.ContainerPort{ContainerPort: 53, HostPort: 53, Protocol: "UDP"})
		}, nil},
		{"host network ports must match", func(p *v1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 9090
		}, []string{"spec.containers[0].ports[0].hostPort: Invalid value: 9090: must match `containerPort` when `hostNetwork` is true"}},

		{"env name", func(p *v1.Pod) { p.Spec.Containers[0].Env[0].Name = "A=B" },
			[]string{`spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`}},
		{"env name required", func(p *v1.Pod) { p.Spec.Containers[0].Env[0].Name = "" },
			[]string{"spec.containers[0].env[0].name: Required value", `spec.containers[0].env[0].name: Invalid value: "": environment variable name must be non-empty`}},

		{"resource name", func(p *v1.Pod) { p.Spec.Containers[0].Resources.Limits["gpu"] = "1" },
			[]string{`spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers`}},
		{"pods is not a container resource", func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests["pods"] = "1" },
			[]string{`spec.containers[0].resources.requests[pods]: Invalid value: "pods": must be a standard resource for containers`}},
		{"bad quantity", func(p *v1.Pod) { p.Spec.Containers[0].Resources.Limits["memory"] = "1 Gi" },
			[]string{`spec.containers[0].resources.limits[memory]: Invalid value: "1 Gi": ` + quantityMsg}},
		{"negative quantity", func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests["cpu"] = "-100m" },
			[]string{`spec.containers[0].resources.requests[cpu]: Invalid value: "-100m": must be greater than or equal to 0`}},
		{"request above limit", func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests["cpu"] = "1500m" },
			[]string{`spec.containers[0].resources.requests: Invalid value: "1500m": must be less than or equal to cpu limit of 1`}},
		{"request equal to limit in another unit", func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests["memory"] = "0.125Gi" }, nil},
		{"ephemeral storage", func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests["ephemeral-storage"] = "1Gi" }, nil},
		{"extended resource must equal limit", func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Limits["example.com/gpu"] = "2"
			p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = "1"
		}, []string{`spec.containers[0].resources.requests: Invalid value: "1": must be equal to example.com/gpu limit of 2`}},
		{"extended resource needs a limit", func(p *v1.Pod) { p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = "1" },
			[]string{"spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"}},
		{"extended resource is whole", func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Limits["example.com/gpu"] = "500m"
			p.Spec.Containers[0].Resources.Requests["example.com/gpu"] = "500m"
		}, []string{
			`spec.containers[0].resources.limits[example.com/gpu]: Invalid value: "500m": must be an integer`,
			`spec.containers[0].resources.requests[example.com/gpu]: Invalid value: "500m": must be an integer`,
		}},

		{"mount of unknown volume", func(p *v1.Pod) { p.Spec.Containers[0].VolumeMounts[0].Name = "other" },
			[]string{`spec.containers[0].volumeMounts[0].name: Not found: "other"`}},
		{"mount path required", func(p *v1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "" },
			[]string{"spec.containers[0].volumeMounts[0].mountPath: Required value"}},
		{"mount path absolute", func(p *v1.Pod) { p.Spec.Containers[0].VolumeMounts[0].MountPath = "data" },
			[]string{`spec.containers[0].volumeMounts[0].mountPath: Invalid value: "data": must be an absolute path`}},
		{"mount path unique", func(p *v1.Pod) {
			c := p.Spec.Containers[0]
			c.VolumeMounts = append(c.VolumeMounts, &v1.VolumeMount{Name: "data", MountPath: "/data"})
		}, []string{`spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique`}},
		{"sub path", func(p *v1.Pod) { p.Spec.Containers[0].VolumeMounts[0].SubPath = "../etc" },
			[]string{`spec.containers[0].volumeMounts[0].subPath: Invalid value: "../etc": must not contain '..'`}},
		{"duplicate volume", func(p *v1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, &v1.Volume{Name: "data", HostPath: &v1.HostPathVolumeSource{Path: "/tmp"}})
		}, []string{`spec.volumes[1].name: Duplicate value: "data"`}},
		{"volume with two sources", func(p *v1.Pod) { p.Spec.Volumes[0].HostPath = &v1.HostPathVolumeSource{Path: "/tmp"} },
			[]string{"spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"}},
		{"volume without source", func(p *v1.Pod) { p.Spec.Volumes[0].EmptyDir = nil },
			[]string{"spec.volumes[0]: Required value: must specify a volume type"}},
		{"volume name", func(p *v1.Pod) {
			p.Spec.Volumes[0].Name = "Data"
			p.Spec.Containers[0].VolumeMounts[0].Name = "Data"
		}, []string{`spec.volumes[0].name: Invalid value: "Data": ` + labelMsg}},
		{"host path", func(p *v1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes,
				&v1.Volume{Name: "a", HostPath: &v1.HostPathVolumeSource{}},
				&v1.Volume{Name: "b", HostPath: &v1.HostPathVolumeSource{Path: "/var/../etc", Type: "Pipe"}},
			)
		}, []string{
			"spec.volumes[1].hostPath.path: Required value",
			`spec.volumes[2].hostPath.path: Invalid value: "/var/../etc": must not contain '..'`,
			`spec.volumes[2].hostPath.type: Unsupported value: "Pipe": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"`,
		}},
		{"empty dir size", func(p *v1.Pod) { p.Spec.Volumes[0].EmptyDir.SizeLimit = "-1Gi" },
			[]string{`spec.volumes[0].emptyDir.sizeLimit: Invalid value: "-1Gi": must be greater than or equal to 0`}},
		{"config map volume", func(p *v1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, &v1.Volume{Name: "cfg", ConfigMap: &v1.ConfigMapVolumeSource{}})
		}, []string{"spec.volumes[1].configMap.name: Required value"}},
		{"config map items and modes", func(p *v1.Pod) {
			bad, good := int32(0o1000), int32(0o400)
			p.Spec.Volumes = append(p.Spec.Volumes, &v1.Volume{Name: "cfg", ConfigMap: &v1.ConfigMapVolumeSource{
				Name: "cfg", DefaultMode: &bad,
				Items: []*v1.KeyToPath{
					{Key: "ok", Path: "conf/app.ini", Mode: &good},
					{Key: "", Path: "/abs"},
					{Key: "a b", Path: "../up", Mode: &bad},
					{Key: "k", Path: "..x"},
				},
			}})
		}, []string{
			"spec.volumes[1].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
			"spec.volumes[1].configMap.items[1].key: Required value",
			`spec.volumes[1].configMap.items[1].path: Invalid value: "/abs": must be a relative path`,
			`spec.volumes[1].configMap.items[2].key: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
			`spec.volumes[1].configMap.items[2].path: Invalid value: "../up": must not contain '..'`,
			`spec.volumes[1].configMap.items[2].path: Invalid value: "../up": must not start with '..'`,
			"spec.volumes[1].configMap.items[2].mode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
			`spec.volumes[1].configMap.items[3].path: Invalid value: "..x": must not start with '..'`,
		}},

		{"probe without handler", func(p *v1.Pod) { p.Spec.Containers[0].LivenessProbe.HttpGet = nil },
			[]string{"spec.containers[0].livenessProbe: Required value: must specify a handler type"}},
		{"probe with two handlers", func(p *v1.Pod) {
			p.Spec.Containers[0].ReadinessProbe.Exec = &v1.ExecAction{Command: []string{"true"}}
		}, []string{"spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"}},
		{"probe port", func(p *v1.Pod) { p.Spec.Containers[0].ReadinessProbe.TcpSocket.Port = "0" },
			[]string{"spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
		{"probe port name", func(p *v1.Pod) { p.Spec.Containers[0].LivenessProbe.HttpGet.Port = "HTTP" },
			[]string{`spec.containers[0].livenessProbe.httpGet.port: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`,
				`spec.containers[0].livenessProbe.httpGet.port: Invalid value: "HTTP": must contain at least one letter (a-z)`}},
		{"probe scheme", func(p *v1.Pod) { p.Spec.Containers[0].LivenessProbe.HttpGet.Scheme = "FTP" },
			[]string{`spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"`}},
		{"exec command", func(p *v1.Pod) {
			p.Spec.Containers[0].StartupProbe = &v1.Probe{Exec: &v1.ExecAction{}, PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3}
		}, []string{"spec.containers[0].startupProbe.exec.command: Required value"}},
		{"probe numbers", func(p *v1.Pod) {
			pr := p.Spec.Containers[0].ReadinessProbe
			pr.PeriodSeconds, pr.FailureThreshold, pr.TerminationGracePeriodSeconds = -1, -2, ptr64(0)
		}, []string{
			"spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
			"spec.containers[0].readinessProbe.failureThreshold: Invalid value: -2: must be greater than or equal to 0",
			"spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0",
		}},
		{"liveness success threshold", func(p *v1.Pod) { p.Spec.Containers[0].LivenessProbe.SuccessThreshold = 2 },
			[]string{"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"}},
		{"header name", func(p *v1.Pod) {
			p.Spec.Containers[0].LivenessProbe.HttpGet.HttpHeaders = []*v1.HTTPHeader{{Name: "X Bad", Value: "1"}}
		}, []string{`spec.containers[0].livenessProbe.httpGet.httpHeaders: Invalid value: "X Bad": a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')`}},

		{"toleration operator", func(p *v1.Pod) { p.Spec.Tolerations[0].Operator = "Like" },
			[]string{`spec.tolerations[0].operator: Unsupported value: "Like": supported values: "Equal", "Exists"`}},
		{"exists with value", func(p *v1.Pod) { p.Spec.Tolerations[0].Value = "x" },
			[]string{`spec.tolerations[0].operator: Invalid value: "x": value must be empty when ` + "`operator`" + ` is 'Exists'`}},
		{"empty key needs exists", func(p *v1.Pod) { p.Spec.Tolerations[1].Operator = "Equal" },
			[]string{`spec.tolerations[1].operator: Invalid value: "Equal": operator must be Exists when ` + "`key`" + ` is empty, which means "match all values and all keys"`}},
		{"empty operator means equal", func(p *v1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, &v1.Toleration{Key: "dedicated", Value: "db", Effect: "NoSchedule"})
		}, nil},
		{"toleration effect", func(p *v1.Pod) { p.Spec.Tolerations[1].Effect = "NoRun" },
			[]string{`spec.tolerations[1].effect: Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`}},
		{"toleration seconds only with NoExecute", func(p *v1.Pod) { p.Spec.Tolerations[0].Effect = "NoSchedule" },
			[]string{`spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be 'NoExecute' when ` + "`tolerationSeconds`" + ` is set`}},
		{"toleration key", func(p *v1.Pod) { p.Spec.Tolerations[0].Key = "a b" },
			[]string{`spec.tolerations[0].key: Invalid value: "a b": ` + qnameMsg}},

		{"node selector", func(p *v1.Pod) { p.Spec.NodeSelector["disk"] = "ssd only" },
			[]string{`spec.nodeSelector: Invalid value: "ssd only": ` + labelValueMsg}},
		{"affinity needs terms", func(p *v1.Pod) {
			p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = nil
		}, []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term"}},
		{"affinity operators", func(p *v1.Pod) {
			term := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0]
			term.MatchExpressions = []*v1.NodeSelectorRequirement{
				{Key: "a", Operator: "In"},
				{Key: "b", Operator: "Exists", Values: []string{"x"}},
				{Key: "c", Operator: "Gt", Values: []string{"1", "2"}},
				{Key: "d", Operator: "Lt", Values: []string{"ten"}},
				{Key: "e", Operator: "Near"},
				{Key: "f", Operator: "Gt", Values: []string{"10"}},
				{Key: "g", Operator: "DoesNotExist"},
			}
		}, []string{
			"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
			"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
			"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[2].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'",
			`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[3].values[0]: Invalid value: "ten": must be an integer when ` + "`operator`" + ` is 'Lt' or 'Gt'`,
			`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[4].operator: Invalid value: "Near": not a valid selector operator`,
		}},
		{"affinity match fields", func(p *v1.Pod) {
			term := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0]
			term.MatchFields = []*v1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: "In", Values: []string{"node-1"}},
				{Key: "spec.nodeName", Operator: "In", Values: []string{"a", "b"}},
			}
		}, []string{
			"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[1].values: Required value: must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
			`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[1].key: Invalid value: "spec.nodeName": not a valid field selector key`,
		}},
		{"preferred weight", func(p *v1.Pod) {
			p.Spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = []*v1.PreferredSchedulingTerm{
				{Weight: 0, Preference: &v1.NodeSelectorTerm{}},
				{Weight: 100, Preference: &v1.NodeSelectorTerm{}},
			}
		}, []string{"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100"}},

		{"grace period", func(p *v1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr64(-1) },
			[]string{"spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"}},
		{"zero grace period", func(p *v1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr64(0) }, nil},
		{"active deadline", func(p *v1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr64(0) },
			[]string{"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"}},
		{"node name", func(p *v1.Pod) { p.Spec.NodeName = "Node_1" },
			[]string{`spec.nodeName: Invalid value: "Node_1": ` + subdomainMsg}},
		{"hostname", func(p *v1.Pod) { p.Spec.Hostname = "a.b" },
			[]string{`spec.hostname: Invalid value: "a.b": ` + labelMsg}},
		{"scheduler name", func(p *v1.Pod) { p.Spec.SchedulerName = "My Scheduler" },
			[]string{`spec.schedulerName: Invalid value: "My Scheduler": ` + subdomainMsg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPod()
			tt.mutate(p)
			assertErrors(t, Check(p), tt.want)
		})
	}
}

func TestErrorMessage(t *testing.T) {
	p := validPod()
	p.Metadata.Name = "Web"
	p.Spec.Containers[0].Image = ""
	err := Validate(p)
	if !errdefs.IsInvalid(err) {
		t.Fatalf("Validate() = %v, want a ClassInvalid error", err)
	}
	var e *errdefs.Error
	if !errorsAs(err, &e) || e.Class != errdefs.ClassInvalid {
		t.Fatalf("error is %T, want *errdefs.Error", err)
	}
	want := `Pod "Web" is invalid: [metadata.name: Invalid value: "Web": ` + subdomainMsg + `, spec.containers[0].image: Required value]`
	if err.Error() != want {
		t.Fatalf("message:\n got: %s\nwant: %s", err, want)
	}

	// One error: no brackets.
	p = validPod()
	p.Spec.Containers[0].Image = ""
	if got, want := Validate(p).Error(), `Pod "web" is invalid: spec.containers[0].image: Required value`; got != want {
		t.Fatalf("message:\n got: %s\nwant: %s", got, want)
	}

	// The same message twice is reported once.
	l := ErrorList{Required(NewPath("a"), ""), Required(NewPath("a"), ""), Required(NewPath("b"), "")}
	if got := l.Message(); got != "[a: Required value, b: Required value]" {
		t.Fatalf("Message() = %s", got)
	}
	if got := (ErrorList{}).Message(); got != "" {
		t.Fatalf("empty Message() = %q", got)
	}
}

func errorsAs(err error, target **errdefs.Error) bool {
	e, ok := err.(*errdefs.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestQualifiedKinds(t *testing.T) {
	tests := []struct {
		obj  apis.Object
		want string
	}{
		{&v1.Pod{Metadata: &v1.ObjectMeta{Name: "x"}}, `Pod "x" is invalid: `},
		{&v1.Deployment{Metadata: &v1.ObjectMeta{Name: "x"}}, `Deployment.apps "x" is invalid: `},
		{&v1.ReplicaSet{Metadata: &v1.ObjectMeta{Name: "x"}}, `ReplicaSet.apps "x" is invalid: `},
		{&v1.Lease{Metadata: &v1.ObjectMeta{Name: "x"}}, `Lease.coordination.k8s.io "x" is invalid: `},
		{&v1.CertificateSigningRequest{Metadata: &v1.ObjectMeta{Name: "x"}}, `CertificateSigningRequest.certificates.k8s.io "x" is invalid: `},
		{&v1.Node{Metadata: &v1.ObjectMeta{Name: "X"}}, `Node "X" is invalid: `},
	}
	for _, tt := range tests {
		err := Validate(tt.obj)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Validate(%T) = %v, want prefix %q", tt.obj, err, tt.want)
		}
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		p    *Path
		want string
	}{
		{NewPath("spec"), "spec"},
		{NewPath("spec").Child("containers").Index(0), "spec.containers[0]"},
		{NewPath("spec", "containers").Index(1).Child("resources", "limits").Key("cpu"), "spec.containers[1].resources.limits[cpu]"},
		{NewPath("data").Key("a.b"), "data[a.b]"},
		{NewPath("metadata").Child("labels"), "metadata.labels"},
		{(*Path)(nil), "<nil>"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Path = %q, want %q", got, tt.want)
		}
	}
	// Building on a shared parent does not disturb siblings.
	base := NewPath("spec")
	a, b := base.Child("a"), base.Child("b")
	if a.String() != "spec.a" || b.String() != "spec.b" || base.String() != "spec" {
		t.Fatalf("paths share state: %s %s %s", a, b, base)
	}
}

func TestFieldErrors(t *testing.T) {
	p := NewPath("spec", "x")
	tests := []struct {
		e    *FieldError
		want string
	}{
		{Required(p, ""), "spec.x: Required value"},
		{Required(p, "must be set"), "spec.x: Required value: must be set"},
		{Invalid(p, "v", "bad"), `spec.x: Invalid value: "v": bad`},
		{Invalid(p, int32(3), "bad"), "spec.x: Invalid value: 3: bad"},
		{Invalid(p, nil, "bad"), "spec.x: Invalid value: null: bad"},
		{Invalid(p, (*int64)(nil), "bad"), "spec.x: Invalid value: null: bad"},
		{Invalid(p, ptr64(5), "bad"), "spec.x: Invalid value: 5: bad"},
		{Invalid(p, true, "bad"), "spec.x: Invalid value: true: bad"},
		{Invalid(p, Omitted{}, "bad"), "spec.x: Invalid value: bad"},
		{Invalid(p, map[string]string{"b": "2", "a": "1"}, "bad"), `spec.x: Invalid value: map[string]string{"a":"1", "b":"2"}: bad`},
		{NotSupported(p, "z", []string{"a", "b"}), `spec.x: Unsupported value: "z": supported values: "a", "b"`},
		{Duplicate(p, "d"), `spec.x: Duplicate value: "d"`},
		{NotFound(p, "n"), `spec.x: Not found: "n"`},
		{Forbidden(p, "no"), "spec.x: Forbidden: no"},
		{TooLong(p, "long", 10), "spec.x: Too long: may not be more than 10 bytes"},
		{TooLong(p, "l", 1), "spec.x: Too long: may not be more than 1 byte"},
		{TooMany(p, 5, 2), "spec.x: Too many: must have at most 2 items"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %s, want %s", got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		fn    func(string) []string
		name  string
		give  string
		valid bool
	}{
		{IsDNS1123Label, "label", "a", true},
		{IsDNS1123Label, "label", "a-1", true},
		{IsDNS1123Label, "label", "1a", true},
		{IsDNS1123Label, "label", strings.Repeat("a", 63), true},
		{IsDNS1123Label, "label", strings.Repeat("a", 64), false},
		{IsDNS1123Label, "label", "", false},
		{IsDNS1123Label, "label", "-a", false},
		{IsDNS1123Label, "label", "a-", false},
		{IsDNS1123Label, "label", "a.b", false},
		{IsDNS1123Label, "label", "A", false},
		{IsDNS1123Subdomain, "subdomain", "a.b-c.d", true},
		{IsDNS1123Subdomain, "subdomain", "a..b", false},
		{IsDNS1123Subdomain, "subdomain", ".a", false},
		{IsDNS1123Subdomain, "subdomain", "a.", false},
		{IsDNS1123Subdomain, "subdomain", "a_b", false},
		{IsDNS1123Subdomain, "subdomain", strings.Repeat("a", 253), true},
		{IsDNS1123Subdomain, "subdomain", strings.Repeat("a", 254), false},
		{IsQualifiedName, "qualified", "app", true},
		{IsQualifiedName, "qualified", "App_Name.v1", true},
		{IsQualifiedName, "qualified", "kubernetes.io/hostname", true},
		{IsQualifiedName, "qualified", "node-role.kubernetes.io/control-plane", true},
		{IsQualifiedName, "qualified", "/name", false},
		{IsQualifiedName, "qualified", "a/b/c", false},
		{IsQualifiedName, "qualified", "example.com/", false},
		{IsQualifiedName, "qualified", "_a", false},
		{IsValidLabelValue, "label value", "", true},
		{IsValidLabelValue, "label value", "v1.2_3-x", true},
		{IsValidLabelValue, "label value", "-v", false},
		{IsConfigMapKey, "config key", "app.properties", true},
		{IsConfigMapKey, "config key", ".hidden", true},
		{IsConfigMapKey, "config key", "KEY_1", true},
		{IsConfigMapKey, "config key", "..data", false},
		{IsConfigMapKey, "config key", ".", false},
		{IsConfigMapKey, "config key", "a/b", false},
		{IsConfigMapKey, "config key", "", false},
		{IsValidPercent, "percent", "25%", true},
		{IsValidPercent, "percent", "%", false},
		{IsValidPercent, "percent", "25", false},
		{IsValidPercent, "percent", "2.5%", false},
		{IsRelaxedEnvVarName, "env", "PATH", true},
		{IsRelaxedEnvVarName, "env", "1.weird-name:ok", true},
		{IsRelaxedEnvVarName, "env", "A=B", false},
		{IsRelaxedEnvVarName, "env", "tab\there", false},
		{IsRelaxedEnvVarName, "env", "é", false},
		{IsValidCIDR, "cidr", "10.2.0.0/24", true},
		{IsValidCIDR, "cidr", "fd00::/64", true},
		{IsValidCIDR, "cidr", "10.2.0.0", false},
		{IsValidCIDR, "cidr", "10.2.0.0/33", false},
	}
	for _, tt := range tests {
		if got := len(tt.fn(tt.give)) == 0; got != tt.valid {
			t.Errorf("%s %q: valid = %v, want %v (%v)", tt.name, tt.give, got, tt.valid, tt.fn(tt.give))
		}
	}
}

func TestPodUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *v1.Pod)
		want   []string
	}{
		{"nothing changed", func(p *v1.Pod) {}, nil},
		{"labels and annotations may change", func(p *v1.Pod) {
			p.Metadata.Labels["tier"] = "front"
			p.Metadata.Annotations = map[string]string{"note": "x"}
		}, nil},
		{"image may change", func(p *v1.Pod) { p.Spec.Containers[0].Image = "minik8s/testapp:v2" }, nil},
		{"status may change", func(p *v1.Pod) { p.Status = &v1.PodStatus{Phase: "Running", PodIp: "10.2.0.5"} }, nil},
		{"image may not be removed", func(p *v1.Pod) { p.Spec.Containers[0].Image = "" },
			[]string{"spec.containers[0].image: Required value"}},
		{"toleration may be added", func(p *v1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, &v1.Toleration{Key: "k", Operator: "Exists", Effect: "NoSchedule"})
		}, nil},
		{"toleration seconds may change", func(p *v1.Pod) { p.Spec.Tolerations[0].TolerationSeconds = ptr64(30) }, nil},
		{"toleration may not be removed", func(p *v1.Pod) { p.Spec.Tolerations = p.Spec.Tolerations[1:] },
			[]string{"spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"}},
		{"active deadline may be set", func(p *v1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr64(100) }, nil},
		{"name is immutable", func(p *v1.Pod) { p.Metadata.Name = "web2" },
			[]string{`metadata.name: Invalid value: "web2": field is immutable`}},
		{"namespace is immutable", func(p *v1.Pod) { p.Metadata.Namespace = "other" },
			[]string{`metadata.namespace: Invalid value: "other": field is immutable`}},
		{"uid is immutable", func(p *v1.Pod) { p.Metadata.Uid = "u2" },
			[]string{`metadata.uid: Invalid value: "u2": field is immutable`}},
		{"empty uid keeps the old one", func(p *v1.Pod) { p.Metadata.Uid = "" }, nil},
		{"generation never goes back", func(p *v1.Pod) { p.Metadata.Generation = 1 },
			[]string{"metadata.generation: Invalid value: 1: must not be decremented"}},
		{"restart policy may not change", func(p *v1.Pod) { p.Spec.RestartPolicy = "Never" },
			[]string{"spec: Forbidden: " + podUpdateForbidden + "\n  changed: spec.restartPolicy"}},
		{"env and node name may not change", func(p *v1.Pod) {
			p.Spec.Containers[0].Env[0].Value = "z"
			p.Spec.NodeName = "node-2"
		}, []string{"spec: Forbidden: " + podUpdateForbidden + "\n  changed: spec.containers[0].env[0].value, spec.nodeName"}},
		{"containers may not be added", func(p *v1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, &v1.Container{Name: "b", Image: "x:1", ImagePullPolicy: "IfNotPresent", TerminationMessagePolicy: "File"})
		}, []string{"spec.containers: Forbidden: pod updates may not add or remove containers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validPod()
			old.Metadata.Uid, old.Metadata.Generation = "u1", 2
			n := proto.Clone(old).(*v1.Pod)
			tt.mutate(n)
			assertErrors(t, CheckUpdate(n, old), tt.want)
		})
	}

	t.Run("active deadline only goes down", func(t *testing.T) {
		old := validPod()
		old.Spec.ActiveDeadlineSeconds = ptr64(100)
		n := proto.Clone(old).(*v1.Pod)
		n.Spec.ActiveDeadlineSeconds = ptr64(50)
		assertErrors(t, CheckUpdate(n, old), nil)
		n.Spec.ActiveDeadlineSeconds = ptr64(200)
		assertErrors(t, CheckUpdate(n, old), []string{"spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"})
		n.Spec.ActiveDeadlineSeconds = nil
		assertErrors(t, CheckUpdate(n, old), []string{"spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"})
	})
	t.Run("no new finalizers while deleting", func(t *testing.T) {
		old := validPod()
		old.Metadata.Finalizers = []string{"a.io/x"}
		old.Metadata.DeletionTimestamp = nowProto()
		n := proto.Clone(old).(*v1.Pod)
		n.Metadata.Finalizers = []string{"a.io/x", "b.io/y"}
		assertErrors(t, CheckUpdate(n, old), []string{`metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers "b.io/y"`})
		n.Metadata.Finalizers = nil // removing is fine
		assertErrors(t, CheckUpdate(n, old), nil)
	})
	t.Run("kind mismatch", func(t *testing.T) {
		errs := CheckUpdate(validPod(), validNode())
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "does not match the kind") {
			t.Fatalf("errors = %v", errorStrings(errs))
		}
	})
	t.Run("ValidateUpdate wraps", func(t *testing.T) {
		old := validPod()
		n := proto.Clone(old).(*v1.Pod)
		n.Metadata.Name = "other"
		err := ValidateUpdate(n, old)
		if !errdefs.IsInvalid(err) || err.Error() != `Pod "other" is invalid: metadata.name: Invalid value: "other": field is immutable` {
			t.Fatalf("ValidateUpdate() = %v", err)
		}
		if err := ValidateUpdate(old, proto.Clone(old).(*v1.Pod)); err != nil {
			t.Fatalf("unchanged update: %v", err)
		}
	})
}
