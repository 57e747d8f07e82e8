// Command controller-manager runs minik8s' controllers: node IPAM, node
// lifecycle (with taint-based eviction), ReplicaSet, Deployment, the
// garbage collector and the namespace controller, as one leader-elected
// process.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"minik8s/pkg/controller/manager"
	"minik8s/pkg/logs"
)

func main() {
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newCommand() *cobra.Command {
	opts := manager.NewOptions()
	cmd := &cobra.Command{
		Use:   "controller-manager",
		Short: "The minik8s controller-manager: node lifecycle, ReplicaSets, Deployments, garbage collection, namespaces, pod CIDRs",
		Long: `The minik8s controller-manager runs the control loops that bring the cluster to the
state its objects describe: the node IPAM, node lifecycle (taint-based eviction),
ReplicaSet, Deployment, garbage collector and namespace controllers (the last one
empties a namespace being deleted, then lets it go). With --leader-elect (the
default) only the holder of the kube-system/kube-controller-manager Lease runs them.
Metrics and /healthz are served over plain HTTP on --metrics-bind-address.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lg, err := logs.New(opts.LogFormat, opts.Verbosity)
			if err != nil {
				return err
			}
			defer lg.Sync() //nolint:errcheck // stderr may not sync
			cfg, err := opts.Config()
			if err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			cfg.Registerer, cfg.Gatherer = reg, reg
			cfg.Logger = lg.Named("controller-manager")
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			m, err := manager.New(cfg)
			if err != nil {
				return err
			}
			return m.Run(ctx)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}
