package kubeadm

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// The objects init stores in the cluster, kubeadm's names.
const (
	KubeSystemNamespace     = "kube-system"
	KubePublicNamespace     = "kube-public"
	KubeadmConfigConfigMap  = "kubeadm-config"
	ClusterConfigurationKey = "ClusterConfiguration"
	KubeletConfigConfigMap  = "kubelet-config"
	KubeletConfigKey        = "kubelet"
	// The control-plane labels and taint.
	LabelControlPlane        = "node-role.kubernetes.io/control-plane"
	LabelExcludeLoadBalancer = "node.kubernetes.io/exclude-from-external-load-balancers"
	// pollInterval is how often the waits poll.
	pollInterval = 500 * time.Millisecond
)

func waitControlPlanePhase() Phase {
	return Phase{
		Name:  "wait-control-plane",
		Short: "Wait for the control plane to start",
		Run: func(ctx context.Context, d *InitData) error {
			d.printf("[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory %q. This can take up to %s", d.ManifestDir(), d.WaitTimeout)
			if d.DryRun {
				d.printf("[dryrun] Would wait for the API server to answer with the identity of %q", d.adminKubeconfig())
				return nil
			}
			c, err := d.clusterClient()
			if err != nil {
				return err
			}
			start := d.now()
			if err := waitAPIServer(ctx, d, c); err != nil {
				return err
			}
			d.printf("[apiclient] All control plane components are healthy after %f seconds", d.now().Sub(start).Seconds())
			return nil
		},
	}
}

// waitAPIServer polls the apiserver until it serves a read of the
// kube-system namespace (authenticated, authorized, read from etcd).
func waitAPIServer(ctx context.Context, d *InitData, c clusterClient) error {
	deadline := d.now().Add(d.WaitTimeout)
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.Get(rctx, "namespaces", "", KubeSystemNamespace)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.now().Before(deadline) {
			return errdefs.Wrap(errdefs.ClassTimeout, err, fmt.Sprintf(
				"the control plane did not answer within %s; this error is likely caused by:\n"+
					"\t- the kubelet is not running (start it with the flags in %q, or pass --%s)\n"+
					"\t- the control-plane containers crashed (see the kubelet's log and `docker ps -a`)\n"+
					"last error", d.WaitTimeout, filepath.Join(d.KubeletDir, KubeletFlagsEnvFile), flagStartKubelet))
		}
		if err := d.env.sleep(ctx, pollInterval); err != nil {
			return err
		}
	}
}

// ClusterConfiguration is what upload-config stores in kubeadm-config
// (kubeadm.k8s.io/v1beta3), with the fields minik8s has.
type ClusterConfiguration struct {
	APIVersion           string           `json:"apiVersion"`
	Kind                 string           `json:"kind"`
	APIServer            APIServerConfig  `json:"apiServer"`
	CertificatesDir      string           `json:"certificatesDir"`
	ClusterName          string           `json:"clusterName"`
	ControlPlaneEndpoint string           `json:"controlPlaneEndpoint"`
	Etcd                 EtcdConfig       `json:"etcd"`
	ImageRepository      string           `json:"imageRepository"`
	KubernetesVersion    string           `json:"kubernetesVersion"`
	Networking           NetworkingConfig `json:"networking"`
}

// APIServerConfig is ClusterConfiguration.apiServer.
type APIServerConfig struct {
	CertSANs []string `json:"certSANs,omitempty"`
}

// EtcdConfig is ClusterConfiguration.etcd.
type EtcdConfig struct {
	Local struct {
		DataDir string `json:"dataDir"`
	} `json:"local"`
}

// NetworkingConfig is ClusterConfiguration.networking.
type NetworkingConfig struct {
	DNSDomain     string `json:"dnsDomain"`
	PodSubnet     string `json:"podSubnet,omitempty"`
	ServiceSubnet string `json:"serviceSubnet"`
}

func clusterConfiguration(d *InitData) ClusterConfiguration {
	c := ClusterConfiguration{
		APIVersion:           "kubeadm.k8s.io/v1beta3",
		Kind:                 "ClusterConfiguration",
		APIServer:            APIServerConfig{CertSANs: d.CertSANs},
		CertificatesDir:      d.CertDir,
		ClusterName:          "kubernetes",
		ControlPlaneEndpoint: d.ControlPlaneEndpoint,
		ImageRepository:      d.ImageRepository,
		KubernetesVersion:    d.KubernetesVersion,
		Networking:           NetworkingConfig{DNSDomain: d.DNSDomain, ServiceSubnet: d.ServiceCIDR.String()},
	}
	c.Etcd.Local.DataDir = d.EtcdDataDir
	if d.PodNetworkCIDR.IsValid() {
		c.Networking.PodSubnet = d.PodNetworkCIDR.String()
	}
	return c
}

func uploadConfigPhase() Phase {
	return Phase{
		Name:  "upload-config",
		Short: "Upload the kubeadm and kubelet configuration to a ConfigMap",
		Phases: []Phase{
			{Name: "kubeadm", Short: "Upload the kubeadm ClusterConfiguration to a ConfigMap", Run: uploadKubeadmConfig},
			{Name: "kubelet", Short: "Upload the kubelet component config to a ConfigMap", Run: uploadKubeletConfig},
		},
	}
}

func configMap(namespace, name, key string, v any) (*v1.ConfigMap, error) {
	data, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	return &v1.ConfigMap{
		ApiVersion: "v1", Kind: "ConfigMap",
		Metadata: &v1.ObjectMeta{Name: name, Namespace: namespace},
		Data:     map[string]string{key: string(data)},
	}, nil
}

func uploadKubeadmConfig(ctx context.Context, d *InitData) error {
	d.printf("[upload-config] Storing the configuration used in ConfigMap %q in the %q Namespace", KubeadmConfigConfigMap, KubeSystemNamespace)
	cm, err := configMap(KubeSystemNamespace, KubeadmConfigConfigMap, ClusterConfigurationKey, clusterConfiguration(d))
	if err != nil {
		return err
	}
	c, err := d.clusterClient()
	if err != nil {
		return err
	}
	return createOrUpdate(ctx, c, "configmaps", cm, nil)
}

func uploadKubeletConfig(ctx context.Context, d *InitData) error {
	d.printf("[kubelet] Creating a ConfigMap %q in namespace %s with the configuration for the kubelets in the cluster", KubeletConfigConfigMap, KubeSystemNamespace)
	cm, err := configMap(KubeSystemNamespace, KubeletConfigConfigMap, KubeletConfigKey, kubeletConfiguration(d, d.Certs().CertPath(CACertName)))
	if err != nil {
		return err
	}
	c, err := d.clusterClient()
	if err != nil {
		return err
	}
	return createOrUpdate(ctx, c, "configmaps", cm, nil)
}

func uploadCertsPhase() Phase {
	return Phase{
		Name:  "upload-certs",
		Short: "Upload certificates to kubeadm-certs (not supported: one control-plane node)",
		Flags: []string{flagUploadCerts},
		Run: func(_ context.Context, d *InitData) error {
			// --upload-certs itself is refused before any phase runs.
			d.printf("[upload-certs] Skipping phase. Please see --%s", flagUploadCerts)
			return nil
		},
	}
}

func markControlPlanePhase() Phase {
	return Phase{
		Name:  "mark-control-plane",
		Short: "Mark a node as a control-plane",
		Run: func(ctx context.Context, d *InitData) error {
			labels := []string{LabelControlPlane, LabelExcludeLoadBalancer}
			taint := &v1.Taint{Key: LabelControlPlane, Effect: "NoSchedule"}
			d.printf("[mark-control-plane] Marking the node %s as control-plane by adding the labels: %s", d.NodeName, quoteList(labels))
			d.printf("[mark-control-plane] Marking the node %s as control-plane by adding the taints %s", d.NodeName, quoteList([]string{taint.Key + ":" + taint.Effect}))
			c, err := d.clusterClient()
			if err != nil {
				return err
			}
			return markNode(ctx, d, c, labels, taint)
		},
	}
}

// markNode waits for the node to register, then adds the labels and the
// taint (once), redoing the read-modify-write when the kubelet came first.
func markNode(ctx context.Context, d *InitData, c clusterClient, labels []string, taint *v1.Taint) error {
	deadline := d.now().Add(d.NodeWaitTimeout)
	for {
		obj, err := c.Get(ctx, "nodes", "", d.NodeName)
		if err == nil {
			node := proto.Clone(obj).(*v1.Node)
			md := apis.Meta(node)
			if md.Labels == nil {
				md.Labels = map[string]string{}
			}
			for _, l := range labels {
				md.Labels[l] = ""
			}
			if node.Spec == nil {
				node.Spec = &v1.NodeSpec{}
			}
			if !slices.ContainsFunc(node.Spec.Taints, func(t *v1.Taint) bool { return t.GetKey() == taint.Key && t.GetEffect() == taint.Effect }) {
				node.Spec.Taints = append(node.Spec.Taints, taint)
			}
			_, err = c.Update(ctx, "nodes", node)
			if err == nil {
				return nil
			}
		}
		if !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) && !errdefs.IsUnavailable(err) {
			return fmt.Errorf("mark node %s: %w", d.NodeName, err)
		}
		if !d.now().Before(deadline) {
			return errdefs.Wrap(errdefs.ClassTimeout, err, fmt.Sprintf("node %q did not register within %s (is its kubelet running?)", d.NodeName, d.NodeWaitTimeout))
		}
		if err := d.env.sleep(ctx, pollInterval); err != nil {
			return err
		}
	}
}

func addonsPhase() Phase {
	return Phase{
		Name:  "addons",
		Short: "Install required addons for passing conformance tests",
		Run: func(_ context.Context, d *InitData) error {
			d.printf("[addons] No essential addons to apply: minik8s has neither CoreDNS nor kube-proxy yet")
			return nil
		},
	}
}
