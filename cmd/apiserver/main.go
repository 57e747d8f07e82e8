// Command apiserver is minik8s' API server: the only door to etcd, serving
// the minik8s API over gRPC with mutual TLS.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"minik8s/pkg/apiserver"
	"minik8s/pkg/logs"
)

func main() {
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	var (
		cfg         apiserver.Config
		etcdServers string
		logFormat   string
		verbosity   int
	)
	cmd := &cobra.Command{
		Use:   "apiserver",
		Short: "The minik8s API server: gRPC with mutual TLS in front of etcd",
		Long: `The minik8s API server validates and stores every object in etcd and serves the
minik8s API (create, get, list, watch, update, delete, bind) over gRPC with TLS 1.3
and client certificates. With no --etcd-servers it runs an embedded single-member
etcd in --data-dir, which it calls in the process (its client URL, for etcdctl, is
logged at start). Metrics, /healthz, /livez and /readyz are served over plain
HTTP on --metrics-bind-address (default 127.0.0.1:6080).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lg, err := logs.New(logFormat, verbosity)
			if err != nil {
				return err
			}
			defer lg.Sync() //nolint:errcheck // stderr may not sync
			if cfg.EventTTL <= 0 {
				return fmt.Errorf("--event-ttl %s: must be greater than 0", cfg.EventTTL)
			}
			if etcdServers != "" {
				for _, s := range strings.Split(etcdServers, ",") {
					if s = strings.TrimSpace(s); s != "" {
						cfg.EtcdServers = append(cfg.EtcdServers, s)
					}
				}
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			cfg.Registerer, cfg.Gatherer = reg, reg
			cfg.Logger = lg.Named("apiserver")

			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			s, err := apiserver.New(cfg)
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ClientCAFile, "client-ca-file", "", "CA bundle that client certificates must chain to (required)")
	f.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "serving certificate (required; reloaded when the file is replaced)")
	f.StringVar(&cfg.TLSPrivateKeyFile, "tls-private-key-file", "", "private key of --tls-cert-file (required)")
	f.StringVar(&cfg.BindAddress, "bind-address", apiserver.DefaultBindAddress, "IP address to serve the secure port on")
	f.IntVar(&cfg.SecurePort, "secure-port", apiserver.DefaultSecurePort, "port to serve gRPC with mutual TLS on (0 picks a free port)")
	f.StringVar(&cfg.MetricsBindAddress, "metrics-bind-address", apiserver.DefaultMetricsBindAddress, "host:port for plain-HTTP /metrics, /healthz, /livez and /readyz")
	f.StringVar(&cfg.DataDir, "data-dir", apiserver.DefaultDataDir, "data directory of the embedded etcd (used when --etcd-servers is empty)")
	f.StringVar(&etcdServers, "etcd-servers", "", "comma-separated etcd client URLs; empty runs an embedded single-member etcd in --data-dir")
	f.StringVar(&cfg.EtcdCAFile, "etcd-cafile", "", "CA bundle to verify the etcd servers")
	f.StringVar(&cfg.EtcdCertFile, "etcd-certfile", "", "client certificate for etcd (apiserver-etcd-client)")
	f.StringVar(&cfg.EtcdKeyFile, "etcd-keyfile", "", "private key of --etcd-certfile")
	f.DurationVar(&cfg.EtcdCompactionInterval, "etcd-compaction-interval", apiserver.DefaultEtcdCompactionInterval, "interval of compaction of old etcd revisions (negative disables)")
	f.DurationVar(&cfg.EventTTL, "event-ttl", apiserver.DefaultEventTTL, "how long an Event is kept after its last create or update; etcd then deletes it (it may outlive the TTL by up to 5%, a minute at most)")
	f.StringVar(&cfg.KubeletClientCertFile, "kubelet-client-certificate", "", "client certificate the apiserver presents to kubelets (apiserver-kubelet-client)")
	f.StringVar(&cfg.KubeletClientKeyFile, "kubelet-client-key", "", "private key of --kubelet-client-certificate")
	f.StringVar(&cfg.ServiceClusterIPRange, "service-cluster-ip-range", apiserver.DefaultServiceClusterIPRange, "CIDR range of service cluster IPs")
	f.BoolVar(&cfg.EnableBootstrapTokenAuth, "enable-bootstrap-token-auth", false, "admit the bootstrap tokens stored as Secrets in kube-system (TLS bootstrap of joining nodes); expired tokens are removed and cluster-info is signed with the valid ones")
	f.StringVar(&cfg.ClusterSigningCertFile, "cluster-signing-cert-file", "", "CA certificate that signs approved certificate signing requests (default: --client-ca-file)")
	f.StringVar(&cfg.ClusterSigningKeyFile, "cluster-signing-key-file", "", "private key of --cluster-signing-cert-file (default: the .key next to --client-ca-file; without one, requests are not signed)")
	f.DurationVar(&cfg.ClusterSigningDuration, "cluster-signing-duration", apiserver.DefaultClusterSigningDuration, "the longest validity of a signed certificate")
	f.DurationVar(&cfg.RequestTimeout, "request-timeout", apiserver.DefaultRequestTimeout, "deadline of calls that carry none")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", apiserver.DefaultShutdownTimeout, "how long in-flight calls may run on after SIGTERM")
	f.StringVar(&logFormat, "log-format", "console", "log format: json or console")
	f.IntVarP(&verbosity, "v", "v", 0, "log verbosity: 0 info; 2 and more also debug (every request)")
	return cmd
}
