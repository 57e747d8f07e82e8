package podsync

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/defaults"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/quantity"
	"minik8s/pkg/kubelet/runtime"
)

// Annotations the kubelet keeps on sandboxes and containers.
const (
	// AnnotationGrace on a sandbox: the pod's termination grace period in
	// seconds, for killing a pod whose spec is gone.
	AnnotationGrace = "minik8s.io/termination-grace-period-seconds"
	// AnnotationHash on a container: the Hash of its spec; a running
	// container whose spec changed is restarted.
	AnnotationHash = "minik8s.io/container-hash"
)

// Hash is a stable hash of a container's spec.
func Hash(c *v1.Container) string {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return ""
	}
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 16)
}

// PodRef is the runtime's reference to pod.
func PodRef(pod *v1.Pod) runtime.PodRef {
	m := pod.GetMetadata()
	return runtime.PodRef{UID: m.GetUid(), Name: m.GetName(), Namespace: m.GetNamespace()}
}

// SandboxSpec is the sandbox of attempt of pod, at ip on the pod network
// (ignored with hostNetwork), publishing the containers' hostPorts.
func SandboxSpec(pod *v1.Pod, attempt int, ip netip.Addr) runtime.SandboxSpec {
	spec := pod.GetSpec()
	grace := defaults.TerminationGracePeriodSeconds
	if spec.TerminationGracePeriodSeconds != nil {
		grace = spec.GetTerminationGracePeriodSeconds()
	}
	s := runtime.SandboxSpec{
		Pod:         PodRef(pod),
		Attempt:     attempt,
		Hostname:    spec.GetHostname(),
		HostNetwork: spec.GetHostNetwork(),
		Annotations: map[string]string{AnnotationGrace: strconv.FormatInt(grace, 10)},
	}
	if !s.HostNetwork {
		s.IP = ip
	}
	for _, c := range spec.GetContainers() {
		for _, p := range c.GetPorts() {
			if p.GetHostPort() == 0 {
				continue
			}
			s.Ports = append(s.Ports, runtime.PortMapping{
				Protocol:      p.GetProtocol(),
				ContainerPort: p.GetContainerPort(),
				HostPort:      p.GetHostPort(),
				HostIP:        p.GetHostIp(),
			})
		}
	}
	return s
}

// EmptyDirPath is where the kubelet keeps an emptyDir volume of a pod,
// under its root directory: removed with the pod.
func EmptyDirPath(rootDir, podUID, volume string) string {
	return filepath.Join(rootDir, "pods", podUID, "volumes", "empty-dir", volume)
}

// ConfigMapPath is where the kubelet writes the files of a configMap
// volume of a pod, under its root directory (Kubernetes' layout): removed
// with the pod.
func ConfigMapPath(rootDir, podUID, volume string) string {
	return filepath.Join(rootDir, "pods", podUID, "volumes", "kubernetes.io~configmap", volume)
}

// EtcHostsPath is the pod's /etc/hosts, written by the kubelet under its
// root directory (Kubernetes' kubelet-managed hosts file): removed with the
// pod.
func EtcHostsPath(rootDir, podUID string) string {
	return filepath.Join(rootDir, "pods", podUID, "etc-hosts")
}

// Hostname is the pod's hostname (runtime.PodHostname).
func Hostname(pod *v1.Pod) string {
	return runtime.PodHostname(pod.GetSpec().GetHostname(), pod.GetMetadata().GetName())
}

// EtcHosts is the content of a pod's /etc/hosts, as Kubernetes' kubelet
// writes it: localhost, and the pod's IP (when known) with its hostname.
func EtcHosts(ip netip.Addr, hostname string) []byte {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\n")
	b.WriteString("fe00::0\tip6-mcastprefix\n")
	b.WriteString("fe00::1\tip6-allnodes\n")
	b.WriteString("fe00::2\tip6-allrouters\n")
	if ip.IsValid() {
		b.WriteString(ip.String() + "\t" + hostname + "\n")
	}
	return []byte(b.String())
}

// Mounts maps the volumeMounts of container c of pod to host paths under
// rootDir (the kubelet's --root-dir). A configMap volume is always mounted
// read-only; a subPath mounts one file or directory of the volume (a
// configMap file mounted so no longer follows updates, as in Kubernetes).
// It fails with Invalid on a mount of no volume of the pod, a volume type
// it does not know, or a subPath that leaves the volume.
func Mounts(pod *v1.Pod, c *v1.Container, rootDir string) ([]runtime.Mount, error) {
	name := c.GetName()
	volumes := make(map[string]*v1.Volume)
	for _, v := range pod.GetSpec().GetVolumes() {
		volumes[v.GetName()] = v
	}
	var out []runtime.Mount
	for _, m := range c.GetVolumeMounts() {
		v := volumes[m.GetName()]
		readOnly := m.GetReadOnly()
		var host string
		switch {
		case v == nil:
			return nil, errdefs.Invalid("container %s: volume mount %q names no volume of the pod", name, m.GetName())
		case v.GetEmptyDir() != nil:
			host = EmptyDirPath(rootDir, pod.GetMetadata().GetUid(), v.GetName())
		case v.GetHostPath() != nil:
			host = v.GetHostPath().GetPath()
		case v.GetConfigMap() != nil:
			host = ConfigMapPath(rootDir, pod.GetMetadata().GetUid(), v.GetName())
			readOnly = true
		default:
			return nil, errdefs.Invalid("container %s: volume %q: only emptyDir, hostPath and configMap volumes are supported", name, v.GetName())
		}
		if sp := m.GetSubPath(); sp != "" {
			if filepath.IsAbs(sp) || strings.Contains(filepath.Clean(sp), "..") {
				return nil, errdefs.Invalid("container %s: subPath %q must be a relative path inside the volume", name, sp)
			}
			host = filepath.Join(host, sp)
		}
		out = append(out, runtime.Mount{HostPath: host, ContainerPath: m.GetMountPath(), ReadOnly: readOnly})
	}
	return out, nil
}

// Container finds the container named name in pod's spec, among the init
// containers (then isInit is true) and the containers; nil if there is none.
func Container(pod *v1.Pod, name string) (c *v1.Container, isInit bool) {
	for _, ct := range pod.GetSpec().GetInitContainers() {
		if ct.GetName() == name {
			return ct, true
		}
	}
	for _, ct := range pod.GetSpec().GetContainers() {
		if ct.GetName() == name {
			return ct, false
		}
	}
	return nil, false
}

// ContainerSpec is the runtime's spec for attempt of the container named
// name of pod. rootDir is the kubelet's --root-dir, where emptyDir and
// configMap volumes live. It fails with Invalid on what the runtime cannot run (an unknown or
// unsupported volume, a bad quantity).
func ContainerSpec(pod *v1.Pod, name string, attempt int, rootDir string) (runtime.ContainerSpec, error) {
	c, isInit := Container(pod, name)
	if c == nil {
		return runtime.ContainerSpec{}, errdefs.Invalid("pod %s/%s has no container %q", pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName(), name)
	}
	s := runtime.ContainerSpec{
		Pod:         PodRef(pod),
		Name:        name,
		Attempt:     attempt,
		Image:       c.GetImage(),
		Command:     c.GetCommand(),
		Args:        c.GetArgs(),
		WorkingDir:  c.GetWorkingDir(),
		Annotations: map[string]string{AnnotationHash: Hash(c)},
		Init:        isInit,
	}
	for _, e := range c.GetEnv() {
		s.Env = append(s.Env, runtime.EnvVar{Name: e.GetName(), Value: e.GetValue()})
	}
	limits := c.GetResources().GetLimits()
	if v, ok := limits["cpu"]; ok {
		q, err := quantity.Parse(v)
		if err != nil {
			return runtime.ContainerSpec{}, errdefs.Invalid("container %s: cpu limit %q: %v", name, v, err)
		}
		s.CPUMillis = q.MilliValue()
	}
	if v, ok := limits["memory"]; ok {
		q, err := quantity.Parse(v)
		if err != nil {
			return runtime.ContainerSpec{}, errdefs.Invalid("container %s: memory limit %q: %v", name, v, err)
		}
		s.MemoryBytes = q.Value()
	}
	mounts, err := Mounts(pod, c, rootDir)
	if err != nil {
		return runtime.ContainerSpec{}, err
	}
	// The pod's /etc/hosts, unless the pod shares the node's or the
	// container mounts its own there (as Kubernetes decides).
	if !pod.GetSpec().GetHostNetwork() && !slices.ContainsFunc(mounts, func(m runtime.Mount) bool { return filepath.Clean(m.ContainerPath) == "/etc/hosts" }) {
		mounts = append(mounts, runtime.Mount{HostPath: EtcHostsPath(rootDir, pod.GetMetadata().GetUid()), ContainerPath: "/etc/hosts"})
	}
	s.Mounts = mounts
	return s, nil
}

// String shows an Action list one per line, for logs and tests.
func String(actions []Action) string {
	var b strings.Builder
	for _, a := range actions {
		fmt.Fprintln(&b, a)
	}
	return b.String()
}
