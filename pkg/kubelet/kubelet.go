// Package kubelet is the node agent: it registers its Node, keeps the
// node's Lease and status fresh, and runs the pods bound to the node (and
// the static pods of its manifest directory) through a container runtime,
// reporting their status back to the apiserver.
//
// The work is split as Kubernetes' kubelet splits it:
//
//   - sources of desired pods: an informer on the pods bound to this node
//     (field selector spec.nodeName, which the node authorizer requires)
//     and the static pod directory (package config);
//   - one worker goroutine per pod (package podworkers), woken by pod
//     updates, runtime events, a periodic relist of the runtime (as PLEG)
//     and timers; each sync asks the pure decision function of package
//     podsync what to do, does it through the runtime, and hands the status
//     to the status manager (package status), which writes it when it
//     changed;
//   - the node's registration, Lease and Ready status (package nodestatus);
//   - probes (package prober), the logs/exec server (package server) and
//     the metrics and health endpoint.
//
// Running containers keep running whatever happens to the apiserver: every
// call to it is retried, and a restarted kubelet adopts the containers it
// finds (their restart counts are in their labels).
package kubelet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/record"
	"minik8s/pkg/kubelet/config"
	"minik8s/pkg/kubelet/ipam"
	"minik8s/pkg/kubelet/metrics"
	"minik8s/pkg/kubelet/nodestatus"
	"minik8s/pkg/kubelet/podworkers"
	"minik8s/pkg/kubelet/prober"
	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/kubelet/server"
	"minik8s/pkg/kubelet/status"
)

// Version is the kubelet's version, shown as nodeInfo.kubeletVersion.
const Version = "v1.31.0-minik8s"

// Defaults of Config.
const (
	DefaultMaxPods      = 110
	DefaultRelistPeriod = time.Second
	DefaultRootDir      = "/var/lib/minik8s/kubelet"
	// DefaultResyncPeriod: every pod is synced at least this often.
	DefaultResyncPeriod = time.Minute
)

// Well-known node labels.
const (
	LabelHostname = "kubernetes.io/hostname"
	LabelOS       = "kubernetes.io/os"
	LabelArch     = "kubernetes.io/arch"
)

// Config configures a kubelet.
type Config struct {
	// NodeName (--hostname-override, else the host's name). Required.
	NodeName string
	// Client talks to the apiserver with the node's identity
	// (system:node:<NodeName>). nil runs standalone: static pods only.
	Client *client.Clientset
	// Runtime runs the containers. Required.
	Runtime runtime.Runtime
	// NodeLabels are added to the well-known labels (--node-labels).
	NodeLabels map[string]string
	// Taints are registered with the Node (--register-with-taints).
	Taints []*v1.Taint
	// NodeIP is the node's InternalIP (--node-ip); default the host's.
	NodeIP string
	// PodCIDR is used until the Node's spec.podCIDR is set (--pod-cidr).
	PodCIDR string
	// PodManifestPath is the static pod directory; empty: none.
	PodManifestPath string
	// FileCheckFrequency: how often PodManifestPath is read again.
	FileCheckFrequency time.Duration
	// RootDir holds the pods' emptyDir volumes (--root-dir).
	RootDir string
	// MaxPods is the pods capacity (--max-pods); default DefaultMaxPods.
	MaxPods int
	// Capacity overrides what the host reports (--capacity).
	Capacity map[string]string
	// MetricsBindAddress serves /metrics and /healthz over HTTP; empty:
	// not served.
	MetricsBindAddress string
	// Address and Port of the logs/exec gRPC server (--address, --port);
	// Port < 0 disables it, 0 picks a free port.
	Address string
	Port    int
	// ClientCAFile verifies the apiserver's client certificate on the
	// logs/exec server (--client-ca-file); required when the server runs.
	ClientCAFile string
	// TLSCertFile and TLSPrivateKeyFile are the server's certificate; a
	// self-signed one is made when they are empty.
	TLSCertFile       string
	TLSPrivateKeyFile string
	// BootstrapKubeconfig is kept for the TLS bootstrap (not done here).
	BootstrapKubeconfig string
	// NodeStatusUpdateFrequency (--node-status-update-frequency).
	NodeStatusUpdateFrequency time.Duration
	// RelistPeriod is how often the runtime is listed (as PLEG); default
	// DefaultRelistPeriod.
	RelistPeriod time.Duration
	// ResyncPeriod: every pod is synced at least this often.
	ResyncPeriod time.Duration
	Clock        clockwork.Clock
	Logger       *zap.Logger
	// Registerer registers the kubelet's metrics; Gatherer serves them.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// Kubelet is a node agent.
type Kubelet struct {
	cfg     Config
	lg      *zap.Logger
	clk     clockwork.Clock
	rt      runtime.Runtime
	metrics *metrics.Metrics

	pods     *podManager
	index    *runtimeIndex
	workers  *podworkers.Workers
	statuses *status.Manager
	prober   *prober.Manager
	node     *nodestatus.Manager
	informer *informer.Informer[*v1.Pod]
	recorder *record.Recorder
	server   *server.Server
	images   *imageCache

	metricsLn net.Listener
	hostIP    string

	runtimeName  atomic.Value // string
	relisted     atomic.Bool  // the runtime was listed once and IPAM rebuilt
	staticSynced atomic.Bool

	ipamMu sync.Mutex
	ipam   *ipam.Allocator
	cidr   string

	stateMu sync.Mutex
	states  map[string]*podState

	ready chan struct{}
}

// New validates cfg, binds the listeners and builds the kubelet; Run
// starts it.
func New(cfg Config) (*Kubelet, error) {
	if cfg.NodeName == "" {
		return nil, errdefs.Invalid("kubelet: node name is required")
	}
	cfg.NodeName = strings.ToLower(cfg.NodeName)
	if cfg.Runtime == nil {
		return nil, errdefs.Invalid("kubelet: a container runtime is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.MaxPods <= 0 {
		cfg.MaxPods = DefaultMaxPods
	}
	if cfg.RelistPeriod <= 0 {
		cfg.RelistPeriod = DefaultRelistPeriod
	}
	if cfg.ResyncPeriod <= 0 {
		cfg.ResyncPeriod = DefaultResyncPeriod
	}
	if cfg.RootDir == "" {
		cfg.RootDir = DefaultRootDir
	}
	if cfg.PodCIDR != "" {
		if _, err := ipam.New(cfg.PodCIDR); err != nil {
			return nil, fmt.Errorf("kubelet: --pod-cidr: %w", err)
		}
	}
	lg := cfg.Logger.Named("kubelet").With(zap.String("node", cfg.NodeName))
	m := metrics.New(cfg.Registerer)
	k := &Kubelet{
		cfg:     cfg,
		lg:      lg,
		clk:     cfg.Clock,
		rt:      metrics.InstrumentRuntime(cfg.Runtime, m),
		metrics: m,
		pods:    newPodManager(),
		index:   newRuntimeIndex(),
		states:  map[string]*podState{},
		images:  newImageCache(cfg.Clock),
		ready:   make(chan struct{}),
	}
	k.runtimeName.Store("")
	k.workers = podworkers.New(k.syncPod, cfg.Clock, lg)
	k.prober = prober.New(prober.Config{Runtime: k.rt, OnChange: k.workers.Update, Clock: cfg.Clock, Logger: lg})

	host := nodestatus.ReadHost()
	capacity, err := nodestatus.Capacity(host, cfg.MaxPods, cfg.Capacity)
	if err != nil {
		return nil, errdefs.Invalid("kubelet: %v", err)
	}
	addrs := nodestatus.Addresses(cfg.NodeIP, cfg.NodeName)
	for _, a := range addrs {
		if a.GetType() == "InternalIP" {
			k.hostIP = a.GetAddress()
		}
	}
	labels := map[string]string{LabelHostname: cfg.NodeName, LabelOS: goruntime.GOOS, LabelArch: goruntime.GOARCH}
	maps.Copy(labels, cfg.NodeLabels)
	info := host.Info
	info.KubeletVersion = Version

	if cfg.Port >= 0 && cfg.ClientCAFile == "" {
		lg.Warn("No --client-ca-file: the logs and exec server is off")
	}
	if cfg.Port >= 0 && cfg.ClientCAFile != "" {
		srv, err := server.New(server.Config{
			Address:           net.JoinHostPort(cfg.Address, fmt.Sprint(cfg.Port)),
			ClientCAFile:      cfg.ClientCAFile,
			TLSCertFile:       cfg.TLSCertFile,
			TLSPrivateKeyFile: cfg.TLSPrivateKeyFile,
			NodeName:          cfg.NodeName,
			HostIP:            k.hostIP,
			Pods:              k,
			Runtime:           k.rt,
			Logger:            lg,
		})
		if err != nil {
			return nil, fmt.Errorf("kubelet: %w", err)
		}
		k.server = srv
	}
	port := int32(0)
	if k.server != nil {
		port = int32(k.server.Port())
	}

	if cfg.Client != nil {
		k.node, err = nodestatus.New(nodestatus.Config{
			NodeName:              cfg.NodeName,
			Nodes:                 cfg.Client.Nodes(),
			Leases:                cfg.Client.Leases(),
			Labels:                labels,
			Taints:                cfg.Taints,
			PodCIDR:               cfg.PodCIDR,
			Addresses:             addrs,
			Capacity:              capacity,
			Allocatable:           maps.Clone(capacity),
			NodeInfo:              info,
			KubeletPort:           port,
			Health:                k.runtimeHealthy,
			RuntimeVersion:        k.runtimeVersion,
			OnNode:                k.onNode,
			StatusUpdateFrequency: cfg.NodeStatusUpdateFrequency,
			Clock:                 cfg.Clock,
			Logger:                lg,
		})
		if err != nil {
			k.closeListeners()
			return nil, err
		}
		k.statuses, err = status.New(status.Config{Pods: cfg.Client.Pods(), Clock: cfg.Clock, Logger: lg})
		if err != nil {
			k.closeListeners()
			return nil, err
		}
		lw := informer.NewListWatch(cfg.Client.Pods(), client.ListOptions{FieldSelector: "spec.nodeName=" + cfg.NodeName})
		k.informer = informer.New(lw, 0, informer.WithLogger(lg), informer.WithName("pods"), informer.WithBackoff(500*time.Millisecond, 5*time.Second))
		k.informer.AddEventHandler(informer.HandlerFuncs[*v1.Pod]{
			AddFunc: func(p *v1.Pod) {
				if !config.IsMirror(p) {
					k.state(p.GetMetadata().GetUid()) // seen now: the start latency counts from here
				}
				k.wake(k.pods.setAPI(p)...)
			},
			UpdateFunc: func(_, p *v1.Pod) { k.wake(k.pods.setAPI(p)...) },
			DeleteFunc: func(obj any) { k.wake(k.pods.deleteAPI(obj)...) },
		})
		k.recorder, err = record.New(record.Config{Sink: cfg.Client.Events(), Component: "kubelet", Host: cfg.NodeName, Logger: lg})
		if err != nil {
			k.closeListeners()
			return nil, err
		}
	}
	if cfg.MetricsBindAddress != "" {
		ln, err := net.Listen("tcp", cfg.MetricsBindAddress)
		if err != nil {
			k.closeListeners()
			return nil, fmt.Errorf("kubelet: listen on --metrics-bind-address %s: %w", cfg.MetricsBindAddress, err)
		}
		k.metricsLn = ln
	}
	if cfg.PodCIDR != "" {
		k.cidr = cfg.PodCIDR
	}
	return k, nil
}

func (k *Kubelet) closeListeners() {
	if k.metricsLn != nil {
		k.metricsLn.Close()
	}
	if k.server != nil {
		k.server.Close()
	}
}

// NodeName is the node's name.
func (k *Kubelet) NodeName() string { return k.cfg.NodeName }

// MetricsAddr is the address of /metrics and /healthz; "" when not served.
func (k *Kubelet) MetricsAddr() string {
	if k.metricsLn == nil {
		return ""
	}
	return k.metricsLn.Addr().String()
}

// ServerAddr is the address of the logs/exec server; "" when not served.
func (k *Kubelet) ServerAddr() string {
	if k.server == nil {
		return ""
	}
	return k.server.Addr()
}

// Ready is closed once the runtime has been listed and pods are synced.
func (k *Kubelet) Ready() <-chan struct{} { return k.ready }

// Run runs the kubelet until ctx ends; it returns nil then, or the error
// that stopped it.
func (k *Kubelet) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	k.lg.Info("Starting kubelet", zap.String("version", Version))
	if k.metricsLn != nil {
		srv := &http.Server{Handler: k.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			if err := srv.Serve(k.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve metrics: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	if k.server != nil {
		g.Go(func() error { return k.server.Run(ctx) })
	}
	g.Go(func() error { return k.workers.Run(ctx) })
	g.Go(func() error { return k.prober.Run(ctx) })
	if k.cfg.Client != nil {
		g.Go(func() error { return k.recorder.Run(ctx) })
		g.Go(func() error { return k.statuses.Run(ctx) })
		g.Go(func() error { return k.node.Run(ctx) })
		g.Go(func() error { return k.informer.Run(ctx) })
		g.Go(func() error {
			// Once the apiserver's pods are known, unknown pods in the
			// runtime are orphans: look at every one.
			if informer.WaitForCacheSync(ctx, k.informer) {
				k.lg.Info("Pods of the apiserver synced")
				k.wake(k.index.pods()...)
			}
			return nil
		})
	}
	if k.cfg.PodManifestPath != "" {
		src := &config.Source{Dir: k.cfg.PodManifestPath, NodeName: k.cfg.NodeName, Period: k.cfg.FileCheckFrequency, Clock: k.clk, Logger: k.lg}
		g.Go(func() error {
			return src.Run(ctx, func(pods []*v1.Pod) {
				wake := k.pods.setStatic(pods)
				k.staticSynced.Store(true)
				k.wake(wake...)
			})
		})
	} else {
		k.staticSynced.Store(true)
	}
	g.Go(func() error { k.relistLoop(ctx); return nil })
	g.Go(func() error { k.eventLoop(ctx); return nil })
	g.Go(func() error { k.resyncLoop(ctx); return nil })
	err := g.Wait()
	k.lg.Info("Kubelet stopped")
	if ctx.Err() != nil && err == nil {
		return nil
	}
	return err
}

func (k *Kubelet) httpHandler() http.Handler {
	mux := http.NewServeMux()
	if k.cfg.Gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(k.cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if err := k.runtimeHealthy(r.Context()); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "[-]runtime failed: %v\nhealthz check failed\n", err)
			return
		}
		fmt.Fprint(w, "ok")
	})
	return mux
}

// runtimeHealthy is the node's readiness: the runtime answers a ping.
func (k *Kubelet) runtimeHealthy(ctx context.Context) error {
	if err := k.rt.Ping(ctx); err != nil {
		return err
	}
	return nil
}

func (k *Kubelet) runtimeVersion(ctx context.Context) (string, error) {
	v, err := k.rt.Version(ctx)
	if err != nil {
		return "", err
	}
	k.runtimeName.Store(v.Name)
	return v.String(), nil
}

// onNode learns the node's podCIDR from the apiserver.
func (k *Kubelet) onNode(n *v1.Node) {
	cidr := n.GetSpec().GetPodCidr()
	if cidr == "" {
		return
	}
	k.ipamMu.Lock()
	defer k.ipamMu.Unlock()
	if k.cidr == cidr {
		return
	}
	if k.ipam != nil {
		k.lg.Warn("The node's podCIDR changed; keeping the first one", zap.String("podCIDR", cidr), zap.String("inUse", k.cidr))
		return
	}
	k.cidr = cidr
	k.lg.Info("Pod CIDR set", zap.String("podCIDR", cidr))
}

// allocator returns the pod IP allocator, building it (with the addresses
// of the running sandboxes reserved) once the podCIDR is known; nil while
// it is not, and then the runtime picks addresses.
func (k *Kubelet) allocator(ctx context.Context) (*ipam.Allocator, error) {
	k.ipamMu.Lock()
	defer k.ipamMu.Unlock()
	if k.ipam != nil || k.cidr == "" {
		return k.ipam, nil
	}
	a, err := ipam.New(k.cidr)
	if err != nil {
		return nil, err
	}
	sbs, err := k.rt.ListSandboxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list sandboxes to rebuild the pod IP allocator: %w", err)
	}
	for _, sb := range sbs {
		if sb.State != runtime.SandboxReady || sb.HostNetwork || !sb.IP.IsValid() || !a.Prefix().Contains(sb.IP) {
			continue
		}
		if err := a.Reserve(sb.Pod.UID, sb.IP); err != nil {
			k.lg.Warn("Could not reserve the IP of a running sandbox", zap.String("podUID", sb.Pod.UID), zap.Stringer("ip", sb.IP), zap.Error(err))
		}
	}
	k.ipam = a
	k.lg.Info("Pod IP allocator ready", zap.String("podCIDR", k.cidr), zap.Int("reserved", a.Used()))
	return a, nil
}

// wake asks for a sync of each pod uid.
func (k *Kubelet) wake(uids ...string) {
	for _, uid := range uids {
		if uid != "" {
			k.workers.Update(uid)
		}
	}
}

// sourcesReady: every source of desired pods has been read once, so a pod
// that none of them has is an orphan.
func (k *Kubelet) sourcesReady() bool {
	if !k.staticSynced.Load() {
		return false
	}
	return k.informer == nil || k.informer.HasSynced()
}

// relistLoop lists the runtime every RelistPeriod and wakes the pods
// whose containers changed, and the orphans.
func (k *Kubelet) relistLoop(ctx context.Context) {
	t := k.clk.NewTicker(k.cfg.RelistPeriod)
	defer t.Stop()
	healthy := true
	for {
		err := k.relist(ctx)
		if ctx.Err() != nil {
			return
		}
		if (err == nil) != healthy {
			healthy = err == nil
			if k.node != nil {
				k.node.Poke()
			}
		}
		if err != nil {
			k.lg.Warn("Relisting the runtime failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
	}
}

func (k *Kubelet) relist(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sbs, err := k.rt.ListSandboxes(cctx)
	if err != nil {
		return err
	}
	cts, err := k.rt.ListContainers(cctx)
	if err != nil {
		return err
	}
	changed := k.index.relisted(sbs, cts)
	first := !k.relisted.Load()
	if first {
		if _, err := k.allocator(cctx); err != nil {
			return err
		}
		if v, err := k.rt.Version(cctx); err == nil {
			k.runtimeName.Store(v.Name)
		}
		k.relisted.Store(true)
		k.lg.Info("Listed the runtime", zap.Int("sandboxes", len(sbs)), zap.Int("containers", len(cts)))
		// Every pod (desired or found) gets a first look.
		k.wake(k.pods.UIDs()...)
		k.wake(k.index.pods()...)
		select {
		case <-k.ready:
		default:
			close(k.ready)
		}
	}
	k.wake(changed...)
	if k.sourcesReady() {
		for _, uid := range k.index.pods() {
			if _, ok := k.pods.Get(uid); !ok && !k.workers.Has(uid) {
				k.wake(uid) // an orphan: its worker kills and removes it
			}
		}
	}
	running := 0
	for _, sb := range sbs {
		if sb.State == runtime.SandboxReady {
			running++
		}
	}
	states := map[runtime.ContainerState]int{}
	for _, c := range cts {
		states[c.State]++
	}
	k.metrics.SetRunning(running, states)
	return nil
}

// eventLoop follows the runtime's events, waking the pod each one is
// about; when the stream breaks it starts again after a second.
func (k *Kubelet) eventLoop(ctx context.Context) {
	for {
		err := k.rt.Events(ctx, func(ev runtime.Event) {
			if ev.Type == runtime.EventRemoved {
				k.index.remove(ev.Pod.UID, ev.ContainerID, ev.Sandbox)
			} else {
				k.index.add(ev.Pod, ev.ContainerID, ev.Sandbox)
			}
			if _, ok := k.pods.Get(ev.Pod.UID); ok || k.workers.Has(ev.Pod.UID) || k.sourcesReady() {
				k.wake(ev.Pod.UID)
			}
		})
		if ctx.Err() != nil {
			return
		}
		k.lg.Warn("Runtime event stream broke; following it again", zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-k.clk.After(time.Second):
		}
	}
}

// resyncLoop syncs every desired pod each ResyncPeriod.
func (k *Kubelet) resyncLoop(ctx context.Context) {
	t := k.clk.NewTicker(k.cfg.ResyncPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		}
		k.wake(k.pods.UIDs()...)
	}
}

// podDir is where a pod's volumes live under the root directory.
func (k *Kubelet) podDir(uid string) string {
	return filepath.Join(k.cfg.RootDir, "pods", uid)
}

func (k *Kubelet) removePodDir(uid string) error {
	if uid == "" || strings.ContainsAny(uid, "/.") {
		return nil
	}
	if err := os.RemoveAll(k.podDir(uid)); err != nil {
		return fmt.Errorf("remove volumes of pod %s: %w", uid, err)
	}
	return nil
}
