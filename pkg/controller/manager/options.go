package manager

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/spf13/pflag"

	"minik8s/pkg/client/leaderelection"
	"minik8s/pkg/controller/nodelifecycle"
)

// Defaults of the flags, Kubernetes' values where Kubernetes has the flag.
const (
	DefaultMetricsBindAddress        = "127.0.0.1:10257"
	DefaultClusterCIDR               = "10.2.0.0/16"
	DefaultNodeCIDRMaskSize          = 24
	DefaultConcurrentReplicaSetSyncs = 5
	DefaultConcurrentDeploymentSyncs = 5
	DefaultConcurrentGCSyncs         = 20
	DefaultConcurrentNamespaceSyncs  = 10
	DefaultLeaseNamespace            = "kube-system"
	DefaultLeaseName                 = "kube-controller-manager"
)

// Options are the command line of the controller-manager.
type Options struct {
	Kubeconfig string

	LeaderElect              bool
	LeaderElectLeaseDuration time.Duration
	LeaderElectRenewDeadline time.Duration
	LeaderElectRetryPeriod   time.Duration
	LeaderElectNamespace     string
	LeaderElectName          string

	Controllers []string

	NodeMonitorPeriod                   time.Duration
	NodeMonitorGracePeriod              time.Duration
	NodeStartupGracePeriod              time.Duration
	DefaultNotReadyTolerationSeconds    int64
	DefaultUnreachableTolerationSeconds int64
	NodeEvictionRate                    float64
	SecondaryNodeEvictionRate           float64
	LargeClusterSizeThreshold           int
	UnhealthyZoneThreshold              float64

	ClusterCIDR       string
	NodeCIDRMaskSize  int
	AllocateNodeCIDRs bool

	ConcurrentReplicaSetSyncs int
	ConcurrentDeploymentSyncs int
	ConcurrentGCSyncs         int
	ConcurrentNamespaceSyncs  int
	EnableGarbageCollector    bool

	MetricsBindAddress string
	LogFormat          string
	Verbosity          int
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		LeaderElect:                         true,
		LeaderElectLeaseDuration:            leaderelection.DefaultLeaseDuration,
		LeaderElectRenewDeadline:            leaderelection.DefaultRenewDeadline,
		LeaderElectRetryPeriod:              leaderelection.DefaultRetryPeriod,
		LeaderElectNamespace:                DefaultLeaseNamespace,
		LeaderElectName:                     DefaultLeaseName,
		Controllers:                         []string{"*"},
		NodeMonitorPeriod:                   nodelifecycle.DefaultNodeMonitorPeriod,
		NodeMonitorGracePeriod:              nodelifecycle.DefaultNodeMonitorGracePeriod,
		NodeStartupGracePeriod:              nodelifecycle.DefaultNodeStartupGracePeriod,
		DefaultNotReadyTolerationSeconds:    nodelifecycle.DefaultTolerationSeconds,
		DefaultUnreachableTolerationSeconds: nodelifecycle.DefaultTolerationSeconds,
		NodeEvictionRate:                    nodelifecycle.DefaultNodeEvictionRate,
		SecondaryNodeEvictionRate:           nodelifecycle.DefaultSecondaryNodeEvictionRate,
		LargeClusterSizeThreshold:           nodelifecycle.DefaultLargeClusterSizeThreshold,
		UnhealthyZoneThreshold:              nodelifecycle.DefaultUnhealthyZoneThreshold,
		ClusterCIDR:                         DefaultClusterCIDR,
		NodeCIDRMaskSize:                    DefaultNodeCIDRMaskSize,
		AllocateNodeCIDRs:                   true,
		ConcurrentReplicaSetSyncs:           DefaultConcurrentReplicaSetSyncs,
		ConcurrentDeploymentSyncs:           DefaultConcurrentDeploymentSyncs,
		ConcurrentGCSyncs:                   DefaultConcurrentGCSyncs,
		ConcurrentNamespaceSyncs:            DefaultConcurrentNamespaceSyncs,
		EnableGarbageCollector:              true,
		MetricsBindAddress:                  DefaultMetricsBindAddress,
		LogFormat:                           "console",
	}
}

// AddFlags binds the options to fs with Kubernetes' flag names.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Path to a kubeconfig file with the controller-manager's identity (controller-manager.conf).")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Start a leader election client and gain leadership before running the controllers (a Lease in --leader-elect-resource-namespace).")
	fs.DurationVar(&o.LeaderElectLeaseDuration, "leader-elect-lease-duration", o.LeaderElectLeaseDuration, "How long a non-leader waits after the last renewal before it may take the lease.")
	fs.DurationVar(&o.LeaderElectRenewDeadline, "leader-elect-renew-deadline", o.LeaderElectRenewDeadline, "How long the leader retries renewing before it stops leading.")
	fs.DurationVar(&o.LeaderElectRetryPeriod, "leader-elect-retry-period", o.LeaderElectRetryPeriod, "How long candidates wait between attempts to acquire or renew.")
	fs.StringVar(&o.LeaderElectNamespace, "leader-elect-resource-namespace", o.LeaderElectNamespace, "Namespace of the leader election Lease.")
	fs.StringVar(&o.LeaderElectName, "leader-elect-resource-name", o.LeaderElectName, "Name of the leader election Lease.")
	fs.StringSliceVar(&o.Controllers, "controllers", o.Controllers, fmt.Sprintf("A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'.\nAll controllers: %v", KnownControllers()))
	fs.DurationVar(&o.NodeMonitorPeriod, "node-monitor-period", o.NodeMonitorPeriod, "The period for syncing NodeStatus in the node lifecycle controller.")
	fs.DurationVar(&o.NodeMonitorGracePeriod, "node-monitor-grace-period", o.NodeMonitorGracePeriod, "Amount of time a running Node may be unresponsive before it is marked unhealthy.")
	fs.DurationVar(&o.NodeStartupGracePeriod, "node-startup-grace-period", o.NodeStartupGracePeriod, "Amount of time a starting Node may be unresponsive before it is marked unhealthy.")
	fs.Int64Var(&o.DefaultNotReadyTolerationSeconds, "default-not-ready-toleration-seconds", o.DefaultNotReadyTolerationSeconds, "The tolerationSeconds of the not-ready:NoExecute toleration assumed for pods that have none (the apiserver normally gives every pod 300 s).")
	fs.Int64Var(&o.DefaultUnreachableTolerationSeconds, "default-unreachable-toleration-seconds", o.DefaultUnreachableTolerationSeconds, "The tolerationSeconds of the unreachable:NoExecute toleration assumed for pods that have none (the apiserver normally gives every pod 300 s).")
	fs.Float64Var(&o.NodeEvictionRate, "node-eviction-rate", o.NodeEvictionRate, "Number of nodes per second tainted for eviction in a healthy zone.")
	fs.Float64Var(&o.SecondaryNodeEvictionRate, "secondary-node-eviction-rate", o.SecondaryNodeEvictionRate, "Number of nodes per second tainted for eviction in an unhealthy zone of a large cluster.")
	fs.IntVar(&o.LargeClusterSizeThreshold, "large-cluster-size-threshold", o.LargeClusterSizeThreshold, "Number of nodes from which a zone counts as large for the secondary eviction rate.")
	fs.Float64Var(&o.UnhealthyZoneThreshold, "unhealthy-zone-threshold", o.UnhealthyZoneThreshold, "Fraction of not-ready nodes (at least 3) from which a zone is unhealthy.")
	fs.StringVar(&o.ClusterCIDR, "cluster-cidr", o.ClusterCIDR, "CIDR range of pods in the cluster, cut into node podCIDRs (the --pod-network-cidr of minictl init).")
	fs.IntVar(&o.NodeCIDRMaskSize, "node-cidr-mask-size", o.NodeCIDRMaskSize, "Mask size of a node's podCIDR.")
	fs.BoolVar(&o.AllocateNodeCIDRs, "allocate-node-cidrs", o.AllocateNodeCIDRs, "Should CIDRs for Pods be allocated and set on the nodes.")
	fs.IntVar(&o.ConcurrentReplicaSetSyncs, "concurrent-replicaset-syncs", o.ConcurrentReplicaSetSyncs, "The number of replica sets that are allowed to sync concurrently.")
	fs.IntVar(&o.ConcurrentDeploymentSyncs, "concurrent-deployment-syncs", o.ConcurrentDeploymentSyncs, "The number of deployment objects that are allowed to sync concurrently.")
	fs.IntVar(&o.ConcurrentGCSyncs, "concurrent-gc-syncs", o.ConcurrentGCSyncs, "The number of garbage collector workers that are allowed to sync concurrently.")
	fs.IntVar(&o.ConcurrentNamespaceSyncs, "concurrent-namespace-syncs", o.ConcurrentNamespaceSyncs, "The number of namespace objects that are allowed to sync concurrently.")
	fs.BoolVar(&o.EnableGarbageCollector, "enable-garbage-collector", o.EnableGarbageCollector, "Enables the generic garbage collector.")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "host:port for plain-HTTP /metrics and /healthz (port 0 picks a free one).")
	fs.StringVar(&o.LogFormat, "log-format", o.LogFormat, "Log format: json or console.")
	fs.IntVarP(&o.Verbosity, "v", "v", o.Verbosity, "log verbosity: 0 info; 2 and more also debug")
}

// Config turns the options into a Config (without logger and registry,
// which main builds).
func (o *Options) Config() (Config, error) {
	if o.Kubeconfig == "" {
		return Config{}, fmt.Errorf("--kubeconfig is required")
	}
	if _, err := EnabledControllers(o.Controllers); err != nil {
		return Config{}, err
	}
	var cidr netip.Prefix
	if o.AllocateNodeCIDRs {
		p, err := netip.ParsePrefix(o.ClusterCIDR)
		if err != nil {
			return Config{}, fmt.Errorf("--cluster-cidr %q: %w", o.ClusterCIDR, err)
		}
		cidr = p
	}
	notReady, unreachable := o.DefaultNotReadyTolerationSeconds, o.DefaultUnreachableTolerationSeconds
	controllers := o.Controllers
	if !o.EnableGarbageCollector {
		controllers = append(append([]string(nil), controllers...), "-"+GarbageCollector)
	}
	return Config{
		Kubeconfig:                          o.Kubeconfig,
		LeaderElect:                         o.LeaderElect,
		LeaseDuration:                       o.LeaderElectLeaseDuration,
		RenewDeadline:                       o.LeaderElectRenewDeadline,
		RetryPeriod:                         o.LeaderElectRetryPeriod,
		LeaseNamespace:                      o.LeaderElectNamespace,
		LeaseName:                           o.LeaderElectName,
		Controllers:                         controllers,
		NodeMonitorPeriod:                   o.NodeMonitorPeriod,
		NodeMonitorGracePeriod:              o.NodeMonitorGracePeriod,
		NodeStartupGracePeriod:              o.NodeStartupGracePeriod,
		DefaultNotReadyTolerationSeconds:    &notReady,
		DefaultUnreachableTolerationSeconds: &unreachable,
		NodeEvictionRate:                    o.NodeEvictionRate,
		SecondaryNodeEvictionRate:           o.SecondaryNodeEvictionRate,
		LargeClusterSizeThreshold:           o.LargeClusterSizeThreshold,
		UnhealthyZoneThreshold:              o.UnhealthyZoneThreshold,
		AllocateNodeCIDRs:                   o.AllocateNodeCIDRs,
		ClusterCIDR:                         cidr,
		NodeCIDRMaskSize:                    o.NodeCIDRMaskSize,
		ConcurrentReplicaSetSyncs:           o.ConcurrentReplicaSetSyncs,
		ConcurrentDeploymentSyncs:           o.ConcurrentDeploymentSyncs,
		ConcurrentGCSyncs:                   o.ConcurrentGCSyncs,
		ConcurrentNamespaceSyncs:            o.ConcurrentNamespaceSyncs,
		MetricsBindAddress:                  o.MetricsBindAddress,
	}, nil
}
