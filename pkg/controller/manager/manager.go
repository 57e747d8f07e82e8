// Package manager is the controller-manager: it turns the command line
// into a Config, serves /metrics and /healthz, takes the
// kube-system/kube-controller-manager Lease (unless --leader-elect=false)
// and, while it leads, runs the enabled controllers over one set of
// shared informers. Losing the lease ends Run with an error, so the
// process exits and its supervisor restarts it as a fresh candidate, as
// Kubernetes' controller-manager does.
package manager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/leaderelection"
	"minik8s/pkg/client/record"
	"minik8s/pkg/client/workqueue"
	"minik8s/pkg/controller"
	"minik8s/pkg/controller/deployment"
	"minik8s/pkg/controller/garbagecollector"
	"minik8s/pkg/controller/namespace"
	"minik8s/pkg/controller/nodeipam"
	"minik8s/pkg/controller/nodelifecycle"
	"minik8s/pkg/controller/replicaset"
)

// Controller names for --controllers.
const (
	NodeIPAM         = "nodeipam"
	NodeLifecycle    = "nodelifecycle"
	ReplicaSet       = "replicaset"
	Deployment       = "deployment"
	GarbageCollector = "garbagecollector"
	Namespace        = "namespace"
)

// KnownControllers lists every controller, in start order.
func KnownControllers() []string {
	return []string{NodeIPAM, NodeLifecycle, ReplicaSet, Deployment, GarbageCollector, Namespace}
}

// EnabledControllers applies Kubernetes' --controllers syntax ("*" all,
// "foo" one, "-foo" not that one) and returns the enabled names.
func EnabledControllers(spec []string) ([]string, error) {
	known := KnownControllers()
	for _, c := range spec {
		name := c
		if len(name) > 0 && name[0] == '-' {
			name = name[1:]
		}
		if name != "*" && !slices.Contains(known, name) {
			return nil, fmt.Errorf("%q is not in the list of known controllers %v", c, known)
		}
	}
	var out []string
	for _, name := range known {
		enabled, star := false, false
		decided := false
		for _, c := range spec {
			switch c {
			case name:
				enabled, decided = true, true
			case "-" + name:
				enabled, decided = false, true
			case "*":
				star = true
			}
			if decided {
				break
			}
		}
		if !decided {
			enabled = star
		}
		if enabled {
			out = append(out, name)
		}
	}
	return out, nil
}

// Config describes a controller-manager.
type Config struct {
	// Kubeconfig is used when Client is nil.
	Kubeconfig string
	// Client, optional, is used instead of Kubeconfig (not closed by Run).
	Client *client.Clientset

	LeaderElect    bool
	LeaseDuration  time.Duration
	RenewDeadline  time.Duration
	RetryPeriod    time.Duration
	LeaseNamespace string
	LeaseName      string
	// Identity in the Lease; empty means hostname_<random>.
	Identity string

	// Controllers in --controllers syntax; empty means all.
	Controllers []string

	NodeMonitorPeriod                   time.Duration
	NodeMonitorGracePeriod              time.Duration
	NodeStartupGracePeriod              time.Duration
	DefaultNotReadyTolerationSeconds    *int64
	DefaultUnreachableTolerationSeconds *int64
	NodeEvictionRate                    float64
	SecondaryNodeEvictionRate           float64
	LargeClusterSizeThreshold           int
	UnhealthyZoneThreshold              float64

	AllocateNodeCIDRs bool
	ClusterCIDR       netip.Prefix
	NodeCIDRMaskSize  int

	ConcurrentReplicaSetSyncs int
	ConcurrentDeploymentSyncs int
	ConcurrentGCSyncs         int
	ConcurrentNamespaceSyncs  int

	// MetricsBindAddress serves /metrics and /healthz; empty means none.
	MetricsBindAddress string

	Logger *zap.Logger
	// Registerer and Gatherer of the metrics; nil means a fresh registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// Manager is a controller-manager.
type Manager struct {
	cfg         Config
	lg          *zap.Logger
	controllers []string
	queueMetric *workqueue.MetricsProvider

	ready       chan struct{}
	metricsAddr string
	leading     chan struct{}
	leadOnce    sync.Once
}

// New validates cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.Client == nil && cfg.Kubeconfig == "" {
		return nil, errdefs.Invalid("controller-manager: a kubeconfig or a client is required")
	}
	if len(cfg.Controllers) == 0 {
		cfg.Controllers = []string{"*"}
	}
	enabled, err := EnabledControllers(cfg.Controllers)
	if err != nil {
		return nil, errdefs.Invalid("controller-manager: %v", err)
	}
	if slices.Contains(enabled, NodeIPAM) && !cfg.AllocateNodeCIDRs {
		enabled = slices.DeleteFunc(enabled, func(s string) bool { return s == NodeIPAM })
	}
	if slices.Contains(enabled, NodeIPAM) {
		if _, err := nodeipam.NewCIDRSet(cfg.ClusterCIDR, cfg.NodeCIDRMaskSize); err != nil {
			return nil, errdefs.Invalid("controller-manager: %v", err)
		}
	}
	if cfg.LeaseNamespace == "" {
		cfg.LeaseNamespace = DefaultLeaseNamespace
	}
	if cfg.LeaseName == "" {
		cfg.LeaseName = DefaultLeaseName
	}
	if cfg.Identity == "" {
		host, _ := os.Hostname()
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		cfg.Identity = host + "_" + hex.EncodeToString(b)
	}
	for _, n := range []*int{&cfg.ConcurrentReplicaSetSyncs, &cfg.ConcurrentDeploymentSyncs, &cfg.ConcurrentGCSyncs, &cfg.ConcurrentNamespaceSyncs} {
		if *n <= 0 {
			*n = 5
		}
	}
	if cfg.Registerer == nil || cfg.Gatherer == nil {
		reg := prometheus.NewRegistry()
		cfg.Registerer, cfg.Gatherer = reg, reg
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	qm, err := workqueue.NewMetricsProvider(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("workqueue metrics: %w", err)
	}
	return &Manager{cfg: cfg, lg: lg, controllers: enabled, queueMetric: qm, ready: make(chan struct{}), leading: make(chan struct{})}, nil
}

// Controllers are the enabled controllers.
func (m *Manager) Controllers() []string { return slices.Clone(m.controllers) }

// Ready is closed once the metrics endpoint listens.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// MetricsAddr is where /metrics is served (valid once Ready).
func (m *Manager) MetricsAddr() string { return m.metricsAddr }

// Leading is closed once this manager leads and its controllers start.
func (m *Manager) Leading() <-chan struct{} { return m.leading }

// Run serves metrics, campaigns for the lease and runs the controllers
// while leading, until ctx ends (nil) or the lease is lost (an error).
func (m *Manager) Run(ctx context.Context) error {
	cs := m.cfg.Client
	if cs == nil {
		ccfg, err := client.ConfigFromKubeconfig(m.cfg.Kubeconfig)
		if err != nil {
			return err
		}
		ccfg.UserAgent = "controller-manager"
		ccfg.Logger = m.lg.Named("client")
		cs, err = client.New(ccfg)
		if err != nil {
			return err
		}
		defer cs.Close()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if m.cfg.MetricsBindAddress != "" {
		ln, err := net.Listen("tcp", m.cfg.MetricsBindAddress)
		if err != nil {
			return fmt.Errorf("listen on --metrics-bind-address %s: %w", m.cfg.MetricsBindAddress, err)
		}
		m.metricsAddr = ln.Addr().String()
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(m.cfg.Gatherer, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.lg.Error("Metrics server failed", zap.Error(err))
			}
		})
		wg.Go(func() {
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			_ = srv.Shutdown(sctx)
		})
		m.lg.Info("Serving metrics", zap.String("address", m.metricsAddr))
	}
	close(m.ready)

	if !m.cfg.LeaderElect {
		m.leadOnce.Do(func() { close(m.leading) })
		return m.runControllers(ctx, cs)
	}
	var runErr error
	le, err := leaderelection.New(leaderelection.Config{
		Client:        cs.Leases(),
		Namespace:     m.cfg.LeaseNamespace,
		Name:          m.cfg.LeaseName,
		Identity:      m.cfg.Identity,
		LeaseDuration: m.cfg.LeaseDuration,
		RenewDeadline: m.cfg.RenewDeadline,
		RetryPeriod:   m.cfg.RetryPeriod,
		// The controllers have stopped when Run's context ends, so a
		// clean shutdown hands the lease over at once.
		ReleaseOnCancel: true,
		Logger:          m.lg.Named("leaderelection"),
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: func(lctx context.Context) {
				m.leadOnce.Do(func() { close(m.leading) })
				runErr = m.runControllers(lctx, cs)
			},
			OnNewLeader: func(id string) { m.lg.Info("New leader", zap.String("identity", id)) },
		},
	})
	if err != nil {
		return err
	}
	if err := le.Run(ctx); err != nil {
		return err
	}
	return runErr
}

// runnable is a started controller.
type runnable interface {
	Run(ctx context.Context, workers int) error
}

// runControllers builds the shared informers and the enabled controllers,
// waits for the caches and runs everything until ctx ends.
func (m *Manager) runControllers(ctx context.Context, cs *client.Clientset) error {
	lg := m.lg
	opts := func(name string) []informer.Option {
		return []informer.Option{informer.WithLogger(lg.Named("informer")), informer.WithName(name)}
	}
	pods := informer.New(informer.NewListWatch(cs.Pods(), client.ListOptions{}), 0, opts("pods")...)
	nodes := informer.New(informer.NewListWatch(cs.Nodes(), client.ListOptions{}), 0, opts("nodes")...)
	leases := informer.New(informer.NewListWatch(cs.Leases(), client.ListOptions{Namespace: nodelifecycle.NodeLeaseNamespace}), 0, opts("leases")...)
	rss := informer.New(informer.NewListWatch(cs.ReplicaSets(), client.ListOptions{}), 0, opts("replicasets")...)
	ds := informer.New(informer.NewListWatch(cs.Deployments(), client.ListOptions{}), 0, opts("deployments")...)
	nss := informer.New(informer.NewListWatch(cs.Namespaces(), client.ListOptions{}), 0, opts("namespaces")...)

	var recorders []*record.Recorder
	newRecorder := func(component string) (*record.Recorder, error) {
		r, err := record.New(record.Config{Sink: cs.Events(), Component: component, Logger: lg.Named("events")})
		if err != nil {
			return nil, err
		}
		recorders = append(recorders, r)
		return r, nil
	}
	type started struct {
		name    string
		r       runnable
		workers int
	}
	var ctrls []started
	for _, name := range m.controllers {
		clg := lg.Named(name)
		switch name {
		case NodeIPAM:
			rec, err := newRecorder("cidrAllocator")
			if err != nil {
				return err
			}
			c, err := nodeipam.New(nodeipam.Config{Nodes: nodes, NodeClient: cs.Nodes(), ClusterCIDR: m.cfg.ClusterCIDR, NodeCIDRMaskSize: m.cfg.NodeCIDRMaskSize,
				Recorder: rec, Registerer: m.cfg.Registerer, Logger: clg, Metrics: m.queueMetric})
			if err != nil {
				return err
			}
			ctrls = append(ctrls, started{name, c, 1})
		case NodeLifecycle:
			rec, err := newRecorder("node-controller")
			if err != nil {
				return err
			}
			c, err := nodelifecycle.New(nodelifecycle.Config{
				Nodes: nodes, Leases: leases, Pods: pods, NodeClient: cs.Nodes(), PodClient: cs.Pods(), Recorder: rec,
				NodeMonitorPeriod: m.cfg.NodeMonitorPeriod, NodeMonitorGracePeriod: m.cfg.NodeMonitorGracePeriod,
				NodeStartupGracePeriod:              m.cfg.NodeStartupGracePeriod,
				DefaultNotReadyTolerationSeconds:    m.cfg.DefaultNotReadyTolerationSeconds,
				DefaultUnreachableTolerationSeconds: m.cfg.DefaultUnreachableTolerationSeconds,
				NodeEvictionRate:                    m.cfg.NodeEvictionRate, SecondaryNodeEvictionRate: m.cfg.SecondaryNodeEvictionRate,
				LargeClusterSizeThreshold: m.cfg.LargeClusterSizeThreshold, UnhealthyZoneThreshold: m.cfg.UnhealthyZoneThreshold,
				Registerer: m.cfg.Registerer, Logger: clg, Metrics: m.queueMetric,
			})
			if err != nil {
				return err
			}
			ctrls = append(ctrls, started{name, c, 2})
		case ReplicaSet:
			rec, err := newRecorder("replicaset-controller")
			if err != nil {
				return err
			}
			c, err := replicaset.New(replicaset.Config{Pods: pods, ReplicaSets: rss, PodClient: cs.Pods(), RSClient: cs.ReplicaSets(),
				Recorder: rec, Logger: clg, Metrics: m.queueMetric})
			if err != nil {
				return err
			}
			ctrls = append(ctrls, started{name, c, m.cfg.ConcurrentReplicaSetSyncs})
		case Deployment:
			rec, err := newRecorder("deployment-controller")
			if err != nil {
				return err
			}
			c, err := deployment.New(deployment.Config{Deployments: ds, ReplicaSets: rss, Pods: pods, DeploymentClient: cs.Deployments(),
				RSClient: cs.ReplicaSets(), Recorder: rec, Logger: clg, Metrics: m.queueMetric})
			if err != nil {
				return err
			}
			ctrls = append(ctrls, started{name, c, m.cfg.ConcurrentDeploymentSyncs})
		case GarbageCollector:
			c, err := garbagecollector.New(garbagecollector.Config{
				Monitors: []garbagecollector.Monitor{
					garbagecollector.NewMonitor(mustResource("deployments"), ds),
					garbagecollector.NewMonitor(mustResource("replicasets"), rss),
					garbagecollector.NewMonitor(mustResource("pods"), pods),
					garbagecollector.NewMonitor(mustResource("nodes"), nodes),
				},
				Client: gcClient{cs}, Logger: clg, Metrics: m.queueMetric,
			})
			if err != nil {
				return err
			}
			ctrls = append(ctrls, started{name, c, m.cfg.ConcurrentGCSyncs})
		case Namespace:
			c, err := namespace.New(namespace.Config{Namespaces: nss, NamespaceClient: cs.Namespaces(), Client: namespaceContent{cs},
				Pods: pods, Logger: clg, Metrics: m.queueMetric})
			if err != nil {
				return err
			}
			ctrls = append(ctrls, started{name, c, m.cfg.ConcurrentNamespaceSyncs})
		}
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	infCtx, stopInformers := context.WithCancel(context.Background())
	defer stopInformers()
	for _, r := range []interface{ Run(context.Context) error }{pods, nodes, leases, rss, ds, nss} {
		wg.Go(func() { _ = r.Run(infCtx) })
	}
	for _, r := range recorders {
		wg.Go(func() { _ = r.Run(infCtx) })
	}
	if !informer.WaitForCacheSync(ctx, pods, nodes, leases, rss, ds, nss) {
		return nil // ctx ended
	}
	lg.Info("Caches synced; starting controllers", zap.Strings("controllers", m.controllers))
	var cwg sync.WaitGroup
	for _, c := range ctrls {
		cwg.Go(func() {
			if err := c.r.Run(ctx, c.workers); err != nil {
				lg.Error("Controller failed", zap.String("controller", c.name), zap.Error(err))
			}
		})
	}
	cwg.Wait()
	// Controllers stopped writing: flush their events, then stop the rest.
	for _, r := range recorders {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = r.Shutdown(sctx)
		cancel()
	}
	stopInformers()
	return nil
}

func mustResource(name string) *apis.Resource {
	r, err := apis.Lookup(name)
	if err != nil {
		panic(err)
	}
	return r
}

// gcClient adapts a Clientset to the collector's untyped Client.
type gcClient struct{ cs *client.Clientset }

func (g gcClient) Get(ctx context.Context, res *apis.Resource, ns, name string) (apis.Object, error) {
	return g.cs.ForResource(res).Get(ctx, ns, name)
}

func (g gcClient) Update(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error) {
	return g.cs.ForResource(res).Update(ctx, obj)
}

func (g gcClient) Delete(ctx context.Context, res *apis.Resource, ns, name string, opts client.DeleteOptions) error {
	_, _, err := g.cs.ForResource(res).Delete(ctx, ns, name, opts)
	return err
}

// namespaceContent adapts a Clientset to the namespace controller's
// untyped Client.
type namespaceContent struct{ cs *client.Clientset }

func (n namespaceContent) List(ctx context.Context, res *apis.Resource, ns string) ([]apis.Object, error) {
	objs, _, err := n.cs.ForResource(res).List(ctx, client.ListOptions{Namespace: ns})
	return objs, err
}

func (n namespaceContent) Delete(ctx context.Context, res *apis.Resource, ns, name string, opts client.DeleteOptions) (apis.Object, bool, error) {
	return n.cs.ForResource(res).Delete(ctx, ns, name, opts)
}

var (
	_ namespace.Client             = namespaceContent{}
	_ namespace.NamespaceClient    = (*client.Resource[*v1.Namespace])(nil)
	_ garbagecollector.Client      = gcClient{}
	_ controller.Informer[*v1.Pod] = (*informer.Informer[*v1.Pod])(nil)
)
