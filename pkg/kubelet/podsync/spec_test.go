package podsync

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/kubelet/runtime"
)

func specPod() *v1.Pod {
	grace := int64(45)
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: "web", Namespace: "prod", Uid: "u1"},
		Spec: &v1.PodSpec{
			Hostname:                      "h",
			TerminationGracePeriodSeconds: &grace,
			Volumes: []*v1.Volume{
				{Name: "scratch", EmptyDir: &v1.EmptyDirVolumeSource{}},
				{Name: "host", HostPath: &v1.HostPathVolumeSource{Path: "/srv/data"}},
				{Name: "cfg", ConfigMap: &v1.ConfigMapVolumeSource{Name: "c"}},
			},
			Containers: []*v1.Container{{
				Name: "app", Image: "minik8s/testapp:v1",
				Command: []string{"/testapp"}, Args: []string{"serve"}, WorkingDir: "/w",
				Env:   []*v1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "x=y"}},
				Ports: []*v1.ContainerPort{{ContainerPort: 8080, HostPort: 30080, Protocol: "TCP"}, {ContainerPort: 9090}},
				Resources: &v1.ResourceRequirements{
					Limits: map[string]string{"cpu": "250m", "memory": "64Mi"},
				},
				VolumeMounts: []*v1.VolumeMount{
					{Name: "scratch", MountPath: "/scratch"},
					{Name: "host", MountPath: "/data", ReadOnly: true, SubPath: "sub/dir"},
				},
			}},
		},
	}
}

func TestContainerSpec(t *testing.T) {
	pod := specPod()
	got, err := ContainerSpec(pod, "app", 2, "/var/lib/kubelet")
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.ContainerSpec{
		Pod:         runtime.PodRef{UID: "u1", Name: "web", Namespace: "prod"},
		Name:        "app",
		Attempt:     2,
		Image:       "minik8s/testapp:v1",
		Command:     []string{"/testapp"},
		Args:        []string{"serve"},
		WorkingDir:  "/w",
		Env:         []runtime.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "x=y"}},
		CPUMillis:   250,
		MemoryBytes: 64 << 20,
		Mounts: []runtime.Mount{
			{HostPath: "/var/lib/kubelet/pods/u1/volumes/empty-dir/scratch", ContainerPath: "/scratch"},
			{HostPath: "/srv/data/sub/dir", ContainerPath: "/data", ReadOnly: true},
			{HostPath: "/var/lib/kubelet/pods/u1/etc-hosts", ContainerPath: "/etc/hosts"},
		},
		Annotations: map[string]string{AnnotationHash: Hash(pod.Spec.Containers[0])},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ContainerSpec\n got  %+v\n want %+v", got, want)
	}
}

// The pod's /etc/hosts is mounted unless the pod is on the node's network
// or the container mounts a file of its own there.
func TestContainerSpecEtcHosts(t *testing.T) {
	hostsMount := func(spec runtime.ContainerSpec) string {
		for _, m := range spec.Mounts {
			if m.ContainerPath == "/etc/hosts" {
				return m.HostPath
			}
		}
		return ""
	}
	pod := specPod()
	pod.Spec.HostNetwork = true
	if spec, err := ContainerSpec(pod, "app", 0, "/r"); err != nil || hostsMount(spec) != "" {
		t.Errorf("hostNetwork pod: /etc/hosts from %q (%v), want the node's", hostsMount(spec), err)
	}
	pod = specPod()
	pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts, &v1.VolumeMount{Name: "host", MountPath: "/etc/hosts", SubPath: "hosts"})
	if spec, err := ContainerSpec(pod, "app", 0, "/r"); err != nil || hostsMount(spec) != "/srv/data/hosts" {
		t.Errorf("own /etc/hosts: mounted from %q (%v), want /srv/data/hosts", hostsMount(spec), err)
	}
}

func TestEtcHosts(t *testing.T) {
	want := "# Kubernetes-managed hosts file.\n" +
		"127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\n" +
		"fe00::1\tip6-allnodes\n" +
		"fe00::2\tip6-allrouters\n"
	if got := string(EtcHosts(netip.Addr{}, "web")); got != want {
		t.Errorf("without an IP:\n%s\nwant\n%s", got, want)
	}
	if got := string(EtcHosts(netip.MustParseAddr("10.2.1.7"), "web")); got != want+"10.2.1.7\tweb\n" {
		t.Errorf("with an IP:\n%s", got)
	}
	long := specPod()
	long.Metadata.Name = strings.Repeat("a", 62) + "-b"
	long.Spec.Hostname = ""
	if got := Hostname(long); got != strings.Repeat("a", 62) {
		t.Errorf("Hostname of a 64-character name = %q", got)
	}
	long.Spec.Hostname = "db-0"
	if got := Hostname(long); got != "db-0" {
		t.Errorf("Hostname with spec.hostname = %q", got)
	}
}

func TestContainerSpecErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *v1.Pod)
	}{
		{name: "no such container", change: func(p *v1.Pod) { p.Spec.Containers[0].Name = "other" }},
		{name: "unsupported volume type", change: func(p *v1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, &v1.Volume{Name: "none"})
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, &v1.VolumeMount{Name: "none", MountPath: "/none"})
		}},
		{name: "configMap subPath leaving the volume", change: func(p *v1.Pod) {
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, &v1.VolumeMount{Name: "cfg", MountPath: "/cfg", SubPath: "../../../etc/passwd"})
		}},
		{name: "unknown volume", change: func(p *v1.Pod) {
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, &v1.VolumeMount{Name: "nope", MountPath: "/x"})
		}},
		{name: "escaping subPath", change: func(p *v1.Pod) { p.Spec.Containers[0].VolumeMounts[1].SubPath = "../../etc" }},
		{name: "absolute subPath", change: func(p *v1.Pod) { p.Spec.Containers[0].VolumeMounts[1].SubPath = "/etc" }},
		{name: "bad cpu", change: func(p *v1.Pod) { p.Spec.Containers[0].Resources.Limits["cpu"] = "lots" }},
		{name: "bad memory", change: func(p *v1.Pod) { p.Spec.Containers[0].Resources.Limits["memory"] = "1Qi" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := specPod()
			tt.change(pod)
			if _, err := ContainerSpec(pod, "app", 0, "/r"); !errdefs.IsInvalid(err) {
				t.Errorf("err = %v, want Invalid", err)
			}
		})
	}
}

func TestMounts(t *testing.T) {
	pod := specPod()
	c := pod.Spec.Containers[0]
	c.VolumeMounts = []*v1.VolumeMount{
		{Name: "cfg", MountPath: "/etc/cfg"},
		{Name: "cfg", MountPath: "/etc/hello.txt", SubPath: "greeting", ReadOnly: false},
		{Name: "scratch", MountPath: "/tmp/s", SubPath: "a/b"},
		{Name: "host", MountPath: "/h"},
	}
	got, err := Mounts(pod, c, "/r")
	if err != nil {
		t.Fatal(err)
	}
	want := []runtime.Mount{
		// A configMap volume is read-only whatever the mount says.
		{HostPath: "/r/pods/u1/volumes/kubernetes.io~configmap/cfg", ContainerPath: "/etc/cfg", ReadOnly: true},
		{HostPath: "/r/pods/u1/volumes/kubernetes.io~configmap/cfg/greeting", ContainerPath: "/etc/hello.txt", ReadOnly: true},
		{HostPath: "/r/pods/u1/volumes/empty-dir/scratch/a/b", ContainerPath: "/tmp/s"},
		{HostPath: "/srv/data", ContainerPath: "/h"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Mounts\n got  %+v\n want %+v", got, want)
	}
	if p := ConfigMapPath("/r", "u1", "cfg"); p != want[0].HostPath {
		t.Errorf("ConfigMapPath = %q, want %q", p, want[0].HostPath)
	}
}

func TestSandboxSpec(t *testing.T) {
	pod := specPod()
	ip := netip.MustParseAddr("10.2.1.7")
	got := SandboxSpec(pod, 1, ip)
	want := runtime.SandboxSpec{
		Pod:         runtime.PodRef{UID: "u1", Name: "web", Namespace: "prod"},
		Attempt:     1,
		Hostname:    "h",
		IP:          ip,
		Ports:       []runtime.PortMapping{{Protocol: "TCP", ContainerPort: 8080, HostPort: 30080}},
		Annotations: map[string]string{AnnotationGrace: "45"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SandboxSpec\n got  %+v\n want %+v", got, want)
	}
	pod.Spec.HostNetwork = true
	pod.Spec.TerminationGracePeriodSeconds = nil
	got = SandboxSpec(pod, 0, ip)
	if !got.HostNetwork || got.IP.IsValid() || got.Annotations[AnnotationGrace] != "30" {
		t.Errorf("host network sandbox %+v, want no IP and the default grace", got)
	}
}

func TestHashFollowsTheSpec(t *testing.T) {
	a := specPod().Spec.Containers[0]
	b := specPod().Spec.Containers[0]
	if Hash(a) == "" || Hash(a) != Hash(b) {
		t.Fatalf("equal specs hash to %q and %q", Hash(a), Hash(b))
	}
	b.Image = "minik8s/testapp:v2"
	if Hash(a) == Hash(b) {
		t.Errorf("an image change keeps the hash")
	}
}
