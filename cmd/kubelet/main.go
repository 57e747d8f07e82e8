// Command kubelet is minik8s' node agent: it registers the node with the
// apiserver and runs the pods bound to it through Docker (or, with
// --runtime hollow, a simulated runtime for scale tests).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"minik8s/pkg/client"
	"minik8s/pkg/kubelet"
	"minik8s/pkg/kubelet/certificate"
	"minik8s/pkg/kubelet/nodestatus"
	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/kubelet/runtime/docker"
	"minik8s/pkg/kubelet/runtime/hollow"
	"minik8s/pkg/logs"
)

func main() {
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

type options struct {
	kubeconfig, bootstrapKubeconfig string
	rotateCertificates              bool
	hostnameOverride                string
	nodeLabels, taints, capacity    string
	runtime, endpoint               string
	podNetwork, podNetworkCIDR      string
	networkPlugin                   string
	podInfraImage                   string
	logFormat                       string
	verbosity                       int
}

func newCommand() *cobra.Command {
	var (
		cfg kubelet.Config
		o   options
	)
	cmd := &cobra.Command{
		Use:   "kubelet",
		Short: "The minik8s node agent: runs the pods bound to its node",
		Long: `The kubelet registers its Node with the apiserver, renews the node's Lease, and runs
the pods bound to the node (and the static pods of --pod-manifest-path) through the
Docker Engine API, reporting their status back. It serves /metrics and /healthz on
--metrics-bind-address and container logs and exec to the apiserver on --port.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lg, err := logs.New(o.logFormat, o.verbosity)
			if err != nil {
				return err
			}
			defer lg.Sync() //nolint:errcheck // stderr may not sync
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if err := complete(ctx, &cfg, &o, lg); err != nil {
				return err
			}
			if cfg.Client != nil {
				defer cfg.Client.Close()
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			cfg.Registerer, cfg.Gatherer = reg, reg
			cfg.Logger = lg
			rotation, err := clientCertificateManager(&cfg, &o, reg, lg)
			if err != nil {
				return err
			}
			k, err := kubelet.New(cfg)
			if err != nil {
				return err
			}
			if rotation == nil {
				return k.Run(ctx)
			}
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return rotation.Run(ctx) })
			g.Go(func() error { return k.Run(ctx) })
			return g.Wait()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the node's identity (system:node:<name>); empty runs standalone (static pods only)")
	f.StringVar(&o.bootstrapKubeconfig, "bootstrap-kubeconfig", "", "kubeconfig with a bootstrap token, used to obtain --kubeconfig when it does not exist (TLS bootstrap)")
	f.BoolVar(&o.rotateCertificates, "rotate-certificates", true, "renew the client certificate kept in <root-dir>/pki before it expires")
	f.StringVar(&o.hostnameOverride, "hostname-override", "", "the node's name instead of the host's name")
	f.StringVar(&o.nodeLabels, "node-labels", "", "labels to add to the Node, k=v,k2=v2")
	f.StringVar(&o.taints, "register-with-taints", "", "taints of the Node when it registers, key[=value]:Effect,...")
	f.StringVar(&cfg.NodeIP, "node-ip", "", "the node's InternalIP (default: the host's first IPv4 address)")
	f.StringVar(&cfg.PodCIDR, "pod-cidr", "", "the node's pod CIDR until the Node's spec.podCIDR is set")
	f.StringVar(&cfg.PodManifestPath, "pod-manifest-path", "", "directory of static pod manifests")
	f.DurationVar(&cfg.FileCheckFrequency, "file-check-frequency", 0, "how often --pod-manifest-path is read again (default 20s)")
	f.StringVar(&cfg.RootDir, "root-dir", kubelet.DefaultRootDir, "directory of the kubelet's files (emptyDir volumes)")
	f.StringVar(&o.endpoint, "container-runtime-endpoint", docker.DefaultEndpoint, "the Docker Engine's address")
	f.StringVar(&o.runtime, "runtime", "docker", "container runtime: docker, or hollow (simulated containers)")
	f.StringVar(&o.podNetwork, "pod-network", docker.DefaultPodNetwork, "name of the Docker bridge network of the pods")
	f.StringVar(&o.podNetworkCIDR, "pod-network-cidr", docker.DefaultPodNetworkCIDR, "subnet of the pod network (the cluster's pod network)")
	f.StringVar(&o.podInfraImage, "pod-infra-container-image", docker.DefaultSandboxImage, "the sandbox (pause) image")
	f.StringVar(&o.networkPlugin, "network-plugin", docker.NetworkPluginAuto, "how sandboxes join --pod-network: docker (Docker endpoints), kubenet (the kubelet wires a veth pair to the network's bridge; needs the host's network and PID namespaces and CAP_NET_ADMIN), or auto (kubenet where the kubelet can, else docker)")
	f.IntVar(&cfg.MaxPods, "max-pods", kubelet.DefaultMaxPods, "pods capacity of the node")
	f.StringVar(&o.capacity, "capacity", "", "capacity overriding what the host reports, cpu=8,memory=16Gi,pods=110")
	f.StringVar(&cfg.MetricsBindAddress, "metrics-bind-address", "127.0.0.1:10248", "host:port of plain-HTTP /metrics and /healthz (empty: off)")
	f.StringVar(&cfg.Address, "address", "0.0.0.0", "IP address of the logs/exec server")
	f.IntVar(&cfg.Port, "port", 10250, "port of the logs/exec server (gRPC, mutual TLS); negative: off")
	f.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "CA that signs the apiserver's client certificate (required for --port)")
	f.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "serving certificate of --port (self-signed when empty)")
	f.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "private key of --tls-cert-file")
	f.DurationVar(&cfg.NodeStatusUpdateFrequency, "node-status-update-frequency", nodestatus.DefaultStatusUpdateFrequency, "how often the node's status is posted")
	f.StringVar(&o.logFormat, "log-format", "console", "log format: json or console")
	f.IntVarP(&o.verbosity, "v", "v", 0, "log verbosity: 0 info; 2 and more also debug")
	return cmd
}

// complete turns the flags into cfg.
func complete(ctx context.Context, cfg *kubelet.Config, o *options, lg *zap.Logger) error {
	name := o.hostnameOverride
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("node name: %w", err)
		}
		name = h
	}
	cfg.NodeName = strings.ToLower(strings.TrimSpace(name))
	var err error
	if cfg.NodeLabels, err = nodestatus.ParseLabels(o.nodeLabels); err != nil {
		return fmt.Errorf("--node-labels: %w", err)
	}
	if cfg.Taints, err = nodestatus.ParseTaints(o.taints); err != nil {
		return fmt.Errorf("--register-with-taints: %w", err)
	}
	if o.capacity != "" {
		c, err := nodestatus.ParseLabels(o.capacity)
		if err != nil {
			return fmt.Errorf("--capacity: %w", err)
		}
		cfg.Capacity = c
	}
	cfg.BootstrapKubeconfig = o.bootstrapKubeconfig
	if o.kubeconfig != "" {
		if o.bootstrapKubeconfig != "" {
			if err := certificate.LoadOrBootstrap(ctx, certificate.BootstrapConfig{
				NodeName: cfg.NodeName, KubeconfigPath: o.kubeconfig, BootstrapKubeconfigPath: o.bootstrapKubeconfig,
				CertDir: filepath.Join(cfg.RootDir, "pki"), Logger: lg,
			}); err != nil {
				return err
			}
		}
		ccfg, err := client.ConfigFromKubeconfig(o.kubeconfig)
		if err != nil {
			return err
		}
		ccfg.UserAgent = "kubelet/" + kubelet.Version
		ccfg.Logger = lg
		if cfg.Client, err = client.New(ccfg); err != nil {
			return err
		}
	}
	var rt runtime.Runtime
	switch o.runtime {
	case "docker":
		rt, err = docker.New(docker.Config{
			Endpoint:       o.endpoint,
			NodeName:       cfg.NodeName,
			PodNetwork:     o.podNetwork,
			PodNetworkCIDR: o.podNetworkCIDR,
			SandboxImage:   o.podInfraImage,
			NetworkPlugin:  o.networkPlugin,
			Logger:         lg,
		})
	case "hollow":
		rt, err = hollow.New(hollow.Config{NodeName: cfg.NodeName, PodNetworkCIDR: o.podNetworkCIDR})
	default:
		return fmt.Errorf("--runtime %q: must be docker or hollow", o.runtime)
	}
	if err != nil {
		return err
	}
	cfg.Runtime = rt
	return nil
}

// clientCertificateManager renews the client certificate when
// --kubeconfig takes it from <root-dir>/pki (after a TLS bootstrap); nil
// otherwise.
func clientCertificateManager(cfg *kubelet.Config, o *options, reg prometheus.Registerer, lg *zap.Logger) (*certificate.Manager, error) {
	certDir := filepath.Join(cfg.RootDir, "pki")
	if cfg.Client == nil || !o.rotateCertificates || !certificate.UsesStore(o.kubeconfig, certDir) {
		return nil, nil
	}
	return certificate.NewManager(certificate.ManagerConfig{
		NodeName: cfg.NodeName, CertDir: certDir, CSRs: cfg.Client.CSRs(), Registerer: reg, Logger: lg,
	})
}
