package kubeadm

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/manifest"
	"minik8s/pkg/pki"
)

// The control-plane static pods, kubeadm's names; the images are
// <image-repository>/<image>:<kubernetes-version>, each a FROM scratch
// image with its binary at /<image>.
const (
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
	Etcd                  = "etcd"
	// EtcdVersion is the tag of the etcd image.
	EtcdVersion = "3.7.3"
	// apiServerMetricsPort serves the apiserver's /livez and /readyz.
	apiServerMetricsPort = 6080
	// etcdMetricsPort serves etcd's /health over plain HTTP.
	etcdMetricsPort = 2381
	// priorityNodeCritical is system-node-critical's priority.
	priorityNodeCritical = 2000001000
)

var controlPlaneComponents = []string{KubeAPIServer, KubeControllerManager, KubeScheduler}

// componentImage is the image of a control-plane component.
func componentImage(d *InitData, component string) string {
	names := map[string]string{
		KubeAPIServer:         "apiserver",
		KubeControllerManager: "controller-manager",
		KubeScheduler:         "scheduler",
	}
	return d.ImageRepository + "/" + names[component] + ":" + d.KubernetesVersion
}

func binaryOf(component string) string {
	return map[string]string{
		KubeAPIServer:         "/apiserver",
		KubeControllerManager: "/controller-manager",
		KubeScheduler:         "/scheduler",
		Etcd:                  "/etcd",
	}[component]
}

// hostPath is a hostPath volume and its mount.
type hostPath struct {
	name, path, typ string
	readOnly        bool
}

func staticPod(component, image string, command []string, mounts []hostPath, cpu, memory string, probes probeSet) *v1.Pod {
	grace := int64(30)
	c := &v1.Container{
		Name:            component,
		Image:           image,
		ImagePullPolicy: "IfNotPresent",
		Command:         command,
		Resources:       &v1.ResourceRequirements{Requests: map[string]string{"cpu": cpu}},
		LivenessProbe:   probes.liveness,
		ReadinessProbe:  probes.readiness,
		StartupProbe:    probes.startup,
	}
	if memory != "" {
		c.Resources.Requests["memory"] = memory
	}
	pod := &v1.Pod{
		ApiVersion: "v1",
		Kind:       "Pod",
		Metadata: &v1.ObjectMeta{
			Name:      component,
			Namespace: "kube-system",
			Labels:    map[string]string{"component": component, "tier": "control-plane"},
		},
		Spec: &v1.PodSpec{
			Containers:                    []*v1.Container{c},
			HostNetwork:                   true,
			PriorityClassName:             "system-node-critical",
			Priority:                      priorityNodeCritical,
			RestartPolicy:                 "Always",
			TerminationGracePeriodSeconds: &grace,
		},
	}
	for _, m := range mounts {
		c.VolumeMounts = append(c.VolumeMounts, &v1.VolumeMount{Name: m.name, MountPath: m.path, ReadOnly: m.readOnly})
		pod.Spec.Volumes = append(pod.Spec.Volumes, &v1.Volume{Name: m.name, HostPath: &v1.HostPathVolumeSource{Path: m.path, Type: m.typ}})
	}
	return pod
}

// probeSet is a component's liveness, readiness and startup probes.
type probeSet struct{ liveness, readiness, startup *v1.Probe }

// httpProbes are kubeadm's probes of a component on 127.0.0.1:port
// (host network).
func httpProbes(port int, live, ready string) probeSet {
	get := func(path string) *v1.HTTPGetAction {
		return &v1.HTTPGetAction{Host: "127.0.0.1", Path: path, Port: strconv.Itoa(port), Scheme: "HTTP"}
	}
	ps := probeSet{
		liveness: &v1.Probe{HttpGet: get(live), InitialDelaySeconds: 10, PeriodSeconds: 10, TimeoutSeconds: 15, FailureThreshold: 8},
		startup:  &v1.Probe{HttpGet: get(live), InitialDelaySeconds: 10, PeriodSeconds: 10, TimeoutSeconds: 15, FailureThreshold: 24},
	}
	if ready != "" {
		ps.readiness = &v1.Probe{HttpGet: get(ready), PeriodSeconds: 1, TimeoutSeconds: 15, FailureThreshold: 3}
	}
	return ps
}

// controlPlanePods are the static pods of kube-apiserver,
// kube-controller-manager and kube-scheduler with minik8s' flags.
func controlPlanePods(d *InitData) []*v1.Pod {
	certs := d.Certs()
	etcdEndpoint := "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(portEtcdClient))
	apiserver := []string{
		binaryOf(KubeAPIServer),
		"--bind-address=0.0.0.0",
		"--secure-port=" + strconv.Itoa(d.BindPort),
		"--metrics-bind-address=" + net.JoinHostPort("127.0.0.1", strconv.Itoa(apiServerMetricsPort)),
		"--client-ca-file=" + certs.CertPath(CACertName),
		"--tls-cert-file=" + certs.CertPath(APIServerCertName),
		"--tls-private-key-file=" + certs.KeyPath(APIServerCertName),
		"--etcd-servers=" + etcdEndpoint,
		"--etcd-cafile=" + certs.CertPath(EtcdCACertName),
		"--etcd-certfile=" + certs.CertPath(APIServerEtcdClientCertName),
		"--etcd-keyfile=" + certs.KeyPath(APIServerEtcdClientCertName),
		"--kubelet-client-certificate=" + certs.CertPath(APIServerKubeletClientCertName),
		"--kubelet-client-key=" + certs.KeyPath(APIServerKubeletClientCertName),
		"--service-cluster-ip-range=" + d.ServiceCIDR.String(),
		"--enable-bootstrap-token-auth=true",
		"--cluster-signing-cert-file=" + certs.CertPath(CACertName),
		"--cluster-signing-key-file=" + certs.KeyPath(CACertName),
	}
	pki := hostPath{name: "k8s-certs", path: d.CertDir, typ: "DirectoryOrCreate", readOnly: true}
	kcm := []string{
		binaryOf(KubeControllerManager),
		"--kubeconfig=" + filepath.Join(d.KubeconfigDir, ControllerManagerKubeconfig),
		"--leader-elect=true",
		"--metrics-bind-address=" + net.JoinHostPort("127.0.0.1", strconv.Itoa(portControllerManager)),
	}
	if d.PodNetworkCIDR.IsValid() {
		kcm = append(kcm, "--allocate-node-cidrs=true", "--cluster-cidr="+d.PodNetworkCIDR.String())
	}
	sched := []string{
		binaryOf(KubeScheduler),
		"--kubeconfig=" + filepath.Join(d.KubeconfigDir, SchedulerKubeconfig),
		"--leader-elect=true",
		"--metrics-bind-address=" + net.JoinHostPort("127.0.0.1", strconv.Itoa(portScheduler)),
	}
	kubeconfigFile := func(name string) hostPath {
		return hostPath{name: "kubeconfig", path: filepath.Join(d.KubeconfigDir, name), typ: "FileOrCreate", readOnly: true}
	}
	apiPod := staticPod(KubeAPIServer, componentImage(d, KubeAPIServer), apiserver, []hostPath{pki}, "250m", "",
		httpProbes(apiServerMetricsPort, "/livez", "/readyz"))
	apiPod.Metadata.Annotations = map[string]string{
		"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": net.JoinHostPort(d.AdvertiseAddress.String(), strconv.Itoa(d.BindPort)),
	}
	return []*v1.Pod{
		apiPod,
		staticPod(KubeControllerManager, componentImage(d, KubeControllerManager), kcm,
			[]hostPath{kubeconfigFile(ControllerManagerKubeconfig)}, "200m", "", httpProbes(portControllerManager, "/healthz", "")),
		staticPod(KubeScheduler, componentImage(d, KubeScheduler), sched,
			[]hostPath{kubeconfigFile(SchedulerKubeconfig)}, "100m", "", httpProbes(portScheduler, "/healthz", "")),
	}
}

// etcdPod is the local etcd member, as kubeadm configures it.
func etcdPod(d *InitData) *v1.Pod {
	certs := d.Certs()
	ip := d.AdvertiseAddress.String()
	client := func(host string) string { return "https://" + net.JoinHostPort(host, strconv.Itoa(portEtcdClient)) }
	peer := "https://" + net.JoinHostPort(ip, strconv.Itoa(portEtcdPeer))
	cmd := []string{
		binaryOf(Etcd),
		"--name=" + d.NodeName,
		"--data-dir=" + d.EtcdDataDir,
		"--advertise-client-urls=" + client(ip),
		"--listen-client-urls=" + client("127.0.0.1") + "," + client(ip),
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + d.NodeName + "=" + peer,
		"--listen-metrics-urls=http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(etcdMetricsPort)),
		"--client-cert-auth=true",
		"--trusted-ca-file=" + certs.CertPath(EtcdCACertName),
		"--cert-file=" + certs.CertPath(EtcdServerCertName),
		"--key-file=" + certs.KeyPath(EtcdServerCertName),
		"--peer-client-cert-auth=true",
		"--peer-trusted-ca-file=" + certs.CertPath(EtcdCACertName),
		"--peer-cert-file=" + certs.CertPath(EtcdPeerCertName),
		"--peer-key-file=" + certs.KeyPath(EtcdPeerCertName),
		"--snapshot-count=10000",
	}
	mounts := []hostPath{
		{name: "etcd-data", path: d.EtcdDataDir, typ: "DirectoryOrCreate"},
		{name: "etcd-certs", path: filepath.Join(d.CertDir, "etcd"), typ: "DirectoryOrCreate", readOnly: true},
	}
	return staticPod(Etcd, d.ImageRepository+"/etcd:"+EtcdVersion, cmd, mounts, "100m", "100Mi",
		httpProbes(etcdMetricsPort, "/health", ""))
}

// writeManifest writes a static pod manifest as Kubernetes YAML.
func writeManifest(dir string, pod *v1.Pod) error {
	data, err := manifest.EncodeYAML(pod)
	if err != nil {
		return fmt.Errorf("encode the %s manifest: %w", pod.GetMetadata().GetName(), err)
	}
	path := filepath.Join(dir, pod.GetMetadata().GetName()+".yaml")
	if err := pki.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func controlPlanePhase() Phase {
	p := Phase{
		Name:  "control-plane",
		Short: "Generate all static Pod manifest files necessary to establish the control plane",
		Flags: []string{},
		Run: func(_ context.Context, d *InitData) error {
			d.printf("[control-plane] Using manifest folder %q", d.ManifestDir())
			return nil
		},
	}
	short := map[string]string{
		KubeAPIServer:         "Generates the kube-apiserver static Pod manifest",
		KubeControllerManager: "Generates the kube-controller-manager static Pod manifest",
		KubeScheduler:         "Generates the kube-scheduler static Pod manifest",
	}
	for i, c := range controlPlaneComponents {
		i, c := i, c
		p.Phases = append(p.Phases, Phase{
			Name:  map[string]string{KubeAPIServer: "apiserver", KubeControllerManager: "controller-manager", KubeScheduler: "scheduler"}[c],
			Short: short[c],
			Run: func(_ context.Context, d *InitData) error {
				d.printf("[control-plane] Creating static Pod manifest for %q", c)
				return writeManifest(d.ManifestDir(), controlPlanePods(d)[i])
			},
		})
	}
	return p
}

func etcdPhase() Phase {
	return Phase{
		Name:  "etcd",
		Short: "Generate static Pod manifest file for local etcd",
		Phases: []Phase{{
			Name:  "local",
			Short: "Generate the static Pod manifest file for a local, single-node local etcd instance",
			Run: func(_ context.Context, d *InitData) error {
				d.printf("[etcd] Creating static Pod manifest for local etcd in %q", d.ManifestDir())
				return writeManifest(d.ManifestDir(), etcdPod(d))
			},
		}},
	}
}
