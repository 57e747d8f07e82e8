// Command scheduler is minik8s' scheduler: it watches pods without a node,
// chooses one for each with filter and score plugins, and binds them
// through the apiserver.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"minik8s/pkg/client"
	"minik8s/pkg/client/leaderelection"
	"minik8s/pkg/logs"
	"minik8s/pkg/scheduler"
)

func main() {
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	var (
		cfg        scheduler.Config
		le         scheduler.LeaderElectionConfig
		kubeconfig string
		configFile string
		leaderElec bool
		logFormat  string
		verbosity  int
	)
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "The minik8s scheduler: assigns pods to nodes",
		Long: `The minik8s scheduler watches pods that have no node, filters the nodes they fit
(taints, resources, ports, node affinity, readiness) and scores the rest, then binds
each pod through the apiserver. With --leader-elect (the default) only the holder of
the kube-system/kube-scheduler Lease schedules. Metrics, /healthz and /readyz are
served over plain HTTP on --metrics-bind-address.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lg, err := logs.New(logFormat, verbosity)
			if err != nil {
				return err
			}
			defer lg.Sync() //nolint:errcheck // stderr may not sync
			if kubeconfig == "" {
				return fmt.Errorf("--kubeconfig is required")
			}
			if configFile != "" {
				fc, err := scheduler.LoadConfigFile(configFile)
				if err != nil {
					return err
				}
				if err := fc.Apply(&cfg); err != nil {
					return err
				}
			}
			ccfg, err := client.ConfigFromKubeconfig(kubeconfig)
			if err != nil {
				return err
			}
			ccfg.UserAgent = "scheduler"
			ccfg.Logger = lg.Named("client")
			cs, err := client.New(ccfg)
			if err != nil {
				return err
			}
			defer cs.Close()

			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			cfg.Client = cs
			cfg.Registerer, cfg.Gatherer = reg, reg
			cfg.Logger = lg.Named("scheduler")
			if leaderElec {
				cfg.LeaderElection = &le
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			s, err := scheduler.New(cfg)
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file with the scheduler's identity (scheduler.conf)")
	f.StringVar(&cfg.MetricsBindAddress, "metrics-bind-address", scheduler.DefaultMetricsBindAddress, "host:port for plain-HTTP /metrics, /healthz, /livez and /readyz (empty: off)")
	f.BoolVar(&leaderElec, "leader-elect", true, "schedule only while holding the leader Lease, so that replicas can stand by")
	f.DurationVar(&le.LeaseDuration, "leader-elect-lease-duration", leaderelection.DefaultLeaseDuration, "how long a standby waits after the last renewal before taking the lease")
	f.DurationVar(&le.RenewDeadline, "leader-elect-renew-deadline", leaderelection.DefaultRenewDeadline, "how long the leader keeps trying to renew before it stops leading")
	f.DurationVar(&le.RetryPeriod, "leader-elect-retry-period", leaderelection.DefaultRetryPeriod, "how often candidates try to acquire or renew the lease")
	f.StringVar(&le.Namespace, "leader-elect-resource-namespace", scheduler.DefaultLeaseNamespace, "namespace of the leader Lease")
	f.StringVar(&le.Name, "leader-elect-resource-name", scheduler.DefaultLeaseName, "name of the leader Lease")
	f.IntVar(&cfg.Parallelism, "parallelism", 16, "goroutines that filter and score nodes")
	f.Int32Var(&cfg.PercentageOfNodesToScore, "percentage-of-nodes-to-score", 0, "feasible nodes to find before scoring, in percent of the nodes (0: Kubernetes' adaptive default, 50 - nodes/125, at least 5% and 100 nodes)")
	f.BoolVar(&cfg.EnableProfiling, "profiling", true, "serve /debug/pprof/ on --metrics-bind-address")
	f.StringVar(&configFile, "config", "", "KubeSchedulerConfiguration file (plugins, weights, parallelism); its fields override the flags")
	f.StringVar(&logFormat, "log-format", "console", "log format: json or console")
	f.IntVarP(&verbosity, "v", "v", 0, "log verbosity: 0 info, 2 and more also every pod (debug)")
	return cmd
}
