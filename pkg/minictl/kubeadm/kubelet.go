package kubeadm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// Files of the kubelet, as kubeadm names them.
const (
	KubeletConfigFile     = "config.yaml"
	KubeletFlagsEnvFile   = "kubeadm-flags.env"
	KubeletFlagsEnvVar    = "KUBELET_KUBEADM_ARGS"
	BootstrapKubeconfig   = "bootstrap-kubelet.conf"
	kubeletClientCurrent  = "kubelet-client-current.pem"
	kubeletLogFile        = "kubelet.log"
	kubeletPIDFile        = "kubelet.pid"
	kubeletHealthzPort    = 10248
	kubeletStatusInterval = 10 * time.Second
)

// KubeletConfiguration is the kubelet's configuration as kubeadm writes
// it to config.yaml and to the kubelet-config ConfigMap
// (kubelet.config.k8s.io/v1beta1), with the fields minik8s' kubelet has.
type KubeletConfiguration struct {
	APIVersion                string                `json:"apiVersion"`
	Kind                      string                `json:"kind"`
	Authentication            KubeletAuthentication `json:"authentication"`
	ClusterDNS                []string              `json:"clusterDNS,omitempty"`
	ClusterDomain             string                `json:"clusterDomain"`
	HealthzBindAddress        string                `json:"healthzBindAddress"`
	HealthzPort               int                   `json:"healthzPort"`
	Port                      int                   `json:"port"`
	RotateCertificates        bool                  `json:"rotateCertificates"`
	StaticPodPath             string                `json:"staticPodPath"`
	NodeStatusUpdateFrequency string                `json:"nodeStatusUpdateFrequency"`
	ContainerRuntimeEndpoint  string                `json:"containerRuntimeEndpoint"`
}

// KubeletAuthentication says whom the kubelet's server trusts.
type KubeletAuthentication struct {
	X509 struct {
		ClientCAFile string `json:"clientCAFile"`
	} `json:"x509"`
}

// kubeletConfiguration is the cluster-wide kubelet configuration.
func kubeletConfiguration(d *InitData, caFile string) KubeletConfiguration {
	c := KubeletConfiguration{
		APIVersion:                "kubelet.config.k8s.io/v1beta1",
		Kind:                      "KubeletConfiguration",
		ClusterDomain:             d.DNSDomain,
		HealthzBindAddress:        "127.0.0.1",
		HealthzPort:               kubeletHealthzPort,
		Port:                      portKubelet,
		RotateCertificates:        true,
		StaticPodPath:             d.ManifestDir(),
		NodeStatusUpdateFrequency: kubeletStatusInterval.String(),
		ContainerRuntimeEndpoint:  d.CRISocket,
	}
	c.Authentication.X509.ClientCAFile = caFile
	// The cluster DNS service address, as kubeadm derives it: the tenth
	// address of the service range.
	a := d.ServiceCIDR.Masked().Addr()
	for i := 0; i < 10; i++ {
		a = a.Next()
	}
	if d.ServiceCIDR.Contains(a) {
		c.ClusterDNS = []string{a.String()}
	}
	return c
}

// kubeletFlags are the flags of the kubelet on this node, written to
// kubeadm-flags.env (KUBELET_KUBEADM_ARGS) and used when init or join
// starts it.
type kubeletFlags struct {
	kubeconfig, bootstrapKubeconfig string
	nodeName, nodeIP                string
	rootDir, manifestDir, caFile    string
	criSocket, podNetworkCIDR       string
	extra                           []string
}

func (f kubeletFlags) args() []string {
	args := []string{}
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name+"="+value)
		}
	}
	add("bootstrap-kubeconfig", f.bootstrapKubeconfig)
	add("kubeconfig", f.kubeconfig)
	add("hostname-override", f.nodeName)
	add("node-ip", f.nodeIP)
	add("root-dir", f.rootDir)
	add("pod-manifest-path", f.manifestDir)
	add("client-ca-file", f.caFile)
	add("container-runtime-endpoint", f.criSocket)
	add("pod-network-cidr", f.podNetworkCIDR)
	return append(args, f.extra...)
}

// flagsEnv is kubeadm-flags.env: KUBELET_KUBEADM_ARGS="...".
func flagsEnv(args []string) []byte {
	return []byte(KubeletFlagsEnvVar + "=" + strconv.Quote(strings.Join(args, " ")) + "\n")
}

// writeKubeletFiles writes config.yaml and kubeadm-flags.env into dir,
// printing kubeadm's lines (environment file first, as kubeadm 1.25).
func writeKubeletFiles(printf func(string, ...any), dir string, cfg KubeletConfiguration, args []string) error {
	envPath := filepath.Join(dir, KubeletFlagsEnvFile)
	printf("[kubelet-start] Writing kubelet environment file with flags to file %q", envPath)
	if err := pki.WriteFile(envPath, flagsEnv(args), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", envPath, err)
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode the kubelet configuration: %w", err)
	}
	cfgPath := filepath.Join(dir, KubeletConfigFile)
	printf("[kubelet-start] Writing kubelet configuration to file %q", cfgPath)
	if err := pki.WriteFile(cfgPath, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", cfgPath, err)
	}
	return nil
}

// controlPlaneKubeletFlags are the flags of the control-plane node's
// kubelet: kubelet.conf from the kubeconfig phase, the static pods of the
// manifest directory.
func controlPlaneKubeletFlags(d *InitData) kubeletFlags {
	f := kubeletFlags{
		kubeconfig:  filepath.Join(d.KubeconfigDir, KubeletKubeconfig),
		nodeName:    d.NodeName,
		nodeIP:      d.AdvertiseAddress.String(),
		rootDir:     d.KubeletDir,
		manifestDir: d.ManifestDir(),
		caFile:      d.Certs().CertPath(CACertName),
		criSocket:   d.CRISocket,
		extra:       d.KubeletArgs,
	}
	if d.PodNetworkCIDR.IsValid() {
		f.podNetworkCIDR = d.PodNetworkCIDR.String()
	}
	return f
}

func kubeletStartPhase() Phase {
	return Phase{
		Name:  "kubelet-start",
		Short: "Write kubelet settings and (re)start the kubelet",
		Long:  "Write a file with KubeletConfiguration and an environment file with node specific kubelet settings, and then (with --start-kubelet) start the kubelet.",
		Flags: []string{flagCRISocket, flagStartKubelet, flagKubeletArg},
		Run: func(ctx context.Context, d *InitData) error {
			args := controlPlaneKubeletFlags(d).args()
			if err := writeKubeletFiles(d.printf, d.KubeletDir, kubeletConfiguration(d, d.Certs().CertPath(CACertName)), args); err != nil {
				return err
			}
			return startKubelet(d.printf, d.env, d.DryRun, d.StartKubelet, d.KubeletDir, args)
		},
	}
}

// startKubelet starts the kubelet binary with args (when asked to), or
// says how to.
func startKubelet(printf func(string, ...any), e env, dryRun, start bool, dir string, args []string) error {
	envPath := filepath.Join(dir, KubeletFlagsEnvFile)
	switch {
	case dryRun && start:
		printf("[dryrun] Would start the kubelet")
		return nil
	case !start:
		printf("[kubelet-start] Not starting the kubelet (--%s was not given): run it as `kubelet $%s` with the variable of %q", flagStartKubelet, KubeletFlagsEnvVar, envPath)
		return nil
	}
	printf("[kubelet-start] Starting the kubelet")
	pid, err := e.startKubelet(args, filepath.Join(dir, kubeletLogFile))
	if err != nil {
		return fmt.Errorf("start the kubelet: %w", err)
	}
	if err := pki.WriteFile(filepath.Join(dir, kubeletPIDFile), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return err
	}
	return nil
}

// kubeletBinary is the kubelet next to the running minictl, else on $PATH.
func kubeletBinary() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "kubelet")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("kubelet")
	if err != nil {
		return "", fmt.Errorf("no kubelet binary next to minictl or on $PATH: %w", err)
	}
	return p, nil
}

// startKubeletProcess starts the kubelet in its own session, its output
// appended to logFile, and leaves it running.
func startKubeletProcess(args []string, logFile string) (int, error) {
	bin, err := kubeletBinary()
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(logFile), 0o755); err != nil {
		return 0, err
	}
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer log.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	return pid, cmd.Process.Release()
}

func kubeletFinalizePhase() Phase {
	return Phase{
		Name:  "kubelet-finalize",
		Short: "Updates settings relevant to the kubelet after TLS bootstrap",
		Long:  "Point kubelet.conf at a rotatable client certificate in the kubelet's pki directory.",
		Run: func(_ context.Context, d *InitData) error {
			return finalizeKubelet(d)
		},
	}
}

// finalizeKubelet moves the control-plane kubelet's client certificate
// out of kubelet.conf into <kubelet-root-dir>/pki/kubelet-client-current.pem
// (unless the kubelet wrote one already) and points kubelet.conf at it, so
// that the kubelet can rotate it, as kubeadm's kubelet-finalize does.
func finalizeKubelet(d *InitData) error {
	path := filepath.Join(d.KubeconfigDir, KubeletKubeconfig)
	kc, err := kubeconfig.Load(path)
	if errdefs.IsNotFound(err) {
		d.printf("[kubelet-finalize] Skipping phase: %q does not exist", path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubelet-finalize: %w", err)
	}
	_, _, au, err := kc.Current()
	if err != nil {
		return fmt.Errorf("kubelet-finalize: %s: %w", path, err)
	}
	current := filepath.Join(d.KubeletCertDir(), kubeletClientCurrent)
	if au.ClientCertificate == current && au.ClientKey == current {
		return nil
	}
	if _, err := os.Stat(current); os.IsNotExist(err) {
		if len(au.ClientCertificateData) == 0 || len(au.ClientKeyData) == 0 {
			return fmt.Errorf("kubelet-finalize: %s holds no client certificate and key to move", path)
		}
		if _, err := pki.X509KeyPair(au.ClientCertificateData, au.ClientKeyData); err != nil {
			return fmt.Errorf("kubelet-finalize: %s: %w", path, err)
		}
		data := append(append([]byte{}, au.ClientCertificateData...), au.ClientKeyData...)
		if err := pki.WriteFile(current, data, 0o600); err != nil {
			return fmt.Errorf("kubelet-finalize: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("kubelet-finalize: %w", err)
	}
	d.printf("[kubelet-finalize] Updating %q to point to a rotatable kubelet client certificate and key", path)
	*au = kubeconfig.AuthInfo{ClientCertificate: current, ClientKey: current}
	return kubeconfig.Write(path, kc)
}
