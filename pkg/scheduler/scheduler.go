// Package scheduler assigns pods to nodes: it watches pods without
// spec.nodeName and nodes through informers (it never talks to etcd),
// queues the pods, runs the filter and score plugins of its framework over
// a snapshot of its cache, assumes the pod onto the chosen node and binds
// it through the apiserver in the background.
//
// The pieces, as kube-scheduler's: queue (active/backoff/unschedulable),
// cache (nodes with the pods counted on them, assume/forget, incremental
// snapshots), framework and plugins (Filter, Score), and the scheduling
// cycle (cycle.go), a function of a snapshot and a pod. A pod that fits no
// node gets the PodScheduled=False condition with reason Unschedulable and
// Kubernetes' message, and a FailedScheduling event; a bound pod gets a
// Scheduled event. Binds are asynchronous (bounded); a bind that loses to
// another binder ("already bound") is forgotten and dropped, any other
// failure forgotten and requeued.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/client/informer"
	"minik8s/pkg/client/leaderelection"
	"minik8s/pkg/client/record"
	"minik8s/pkg/scheduler/cache"
	"minik8s/pkg/scheduler/framework"
	"minik8s/pkg/scheduler/metrics"
	"minik8s/pkg/scheduler/plugins"
	"minik8s/pkg/scheduler/queue"
)

// Defaults of Config, as kube-scheduler's where it has them.
const (
	DefaultSchedulerName      = "default-scheduler"
	DefaultMetricsBindAddress = "127.0.0.1:10259"
	DefaultLeaseNamespace     = "kube-system"
	DefaultLeaseName          = "kube-scheduler"
	// DefaultMaxBindsInFlight bounds the concurrent Bind calls.
	DefaultMaxBindsInFlight = 256
	// DefaultBindTimeout bounds one Bind call.
	DefaultBindTimeout = 30 * time.Second
	statusWorkers      = 2
)

// Reasons the scheduler writes into PodScheduled and events.
const (
	ReasonUnschedulable     = "Unschedulable"
	ReasonSchedulerError    = "SchedulerError"
	EventFailedScheduling   = "FailedScheduling"
	EventScheduled          = "Scheduled"
	conditionPodScheduled   = "PodScheduled"
	conditionStatusFalse    = "False"
	phaseSucceeded          = "Succeeded"
	phaseFailed             = "Failed"
	bindTargetKind          = "Node"
	pluginSampleDenominator = 100
)

// API is what the scheduler writes through the apiserver.
type API interface {
	// Bind sets spec.nodeName; an errdefs Precondition error when the pod
	// is already bound or being deleted.
	Bind(ctx context.Context, b *v1.Binding) (*v1.Pod, error)
	// UpdatePodStatus replaces a pod's status (resourceVersion-checked).
	UpdatePodStatus(ctx context.Context, pod *v1.Pod) (*v1.Pod, error)
}

// EventRecorder records Events without blocking (record.Recorder is one).
type EventRecorder interface {
	Eventf(obj apis.Object, eventType, reason, messageFmt string, args ...any)
}

// LeaderElectionConfig turns leader election on.
type LeaderElectionConfig struct {
	// LeaseDuration, RenewDeadline, RetryPeriod: 0 means Kubernetes'
	// 15 s, 10 s, 2 s.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Namespace and Name of the Lease: kube-system/kube-scheduler by
	// default.
	Namespace string
	Name      string
	// Leases, when set, is used instead of Config.Client.Leases().
	Leases leaderelection.LeaseClient
}

// Config describes a scheduler.
type Config struct {
	// Client reaches the apiserver. Required unless API, Pods, Nodes and
	// Events are all given.
	Client *client.Clientset
	// SchedulerName: pods whose spec.schedulerName is this (or empty) are
	// scheduled; DefaultSchedulerName when empty.
	SchedulerName string
	// Identity names this instance in the lease and in events;
	// hostname_<uuid> when empty.
	Identity string
	// Parallelism is the number of goroutines filtering and scoring nodes
	// (framework.DefaultParallelism when 0).
	Parallelism int
	// PercentageOfNodesToScore: how many feasible nodes a cycle looks for,
	// in percent of the nodes; 0 means Kubernetes' adaptive default.
	PercentageOfNodesToScore int32
	// Profile is the plugins and weights; nil means
	// plugins.DefaultProfile().
	Profile *framework.Profile
	// MaxBindsInFlight bounds concurrent Bind calls
	// (DefaultMaxBindsInFlight when 0).
	MaxBindsInFlight int
	// LeaderElection, when set, makes the scheduler schedule only while it
	// holds the lease.
	LeaderElection *LeaderElectionConfig
	// MetricsBindAddress serves /metrics, /healthz, /livez and /readyz
	// over plain HTTP; empty serves nothing, port 0 picks a free port.
	MetricsBindAddress string
	// Registerer takes the metrics (nil: not registered); Gatherer serves
	// them (nil: Registerer when it is a *prometheus.Registry).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// EnableProfiling serves net/http/pprof under /debug/pprof/ on the
	// metrics endpoint (kube-scheduler's --profiling).
	EnableProfiling bool
	// Logger; nil means none.
	Logger *zap.Logger
	// Clock of the queue's backoffs; nil means the real clock.
	Clock clock.WithTicker
	// InitialBackoff and MaxBackoff of failed pods (1 s and 10 s when 0).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Seed of the random tie-breaks; 0 picks one.
	Seed uint64

	// API, Pods, Nodes and Events replace what Client provides (tests).
	API    API
	Pods   informer.ListerWatcher[*v1.Pod]
	Nodes  informer.ListerWatcher[*v1.Node]
	Events EventRecorder
}

// Scheduler is a running scheduler. Create it with New, then Run it.
type Scheduler struct {
	cfg      Config
	lg       *zap.Logger
	api      API
	events   EventRecorder
	recorder *record.Recorder
	gatherer prometheus.Gatherer

	podInformer  *informer.Informer[*v1.Pod]
	nodeInformer *informer.Informer[*v1.Node]
	queue        *queue.PriorityQueue
	cache        *cache.Cache
	snapshot     *cache.Snapshot
	algo         *algorithm
	rng          *rand.Rand
	metrics      *metrics.Metrics
	status       *statusWriter
	elector      *leaderelection.LeaderElector

	bindSem chan struct{}
	binds   sync.WaitGroup

	started     atomic.Bool
	ready       chan struct{}
	metricsAddr atomic.Value // string
	leading     atomic.Bool
}

// New validates cfg and builds a scheduler.
func New(cfg Config) (*Scheduler, error) {
	if cfg.SchedulerName == "" {
		cfg.SchedulerName = DefaultSchedulerName
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = framework.DefaultParallelism
	}
	if cfg.PercentageOfNodesToScore < 0 || cfg.PercentageOfNodesToScore > 100 {
		return nil, errdefs.Invalid("percentageOfNodesToScore %d: must be between 0 and 100", cfg.PercentageOfNodesToScore)
	}
	if cfg.MaxBindsInFlight <= 0 {
		cfg.MaxBindsInFlight = DefaultMaxBindsInFlight
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Identity == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "scheduler"
		}
		cfg.Identity = host + "_" + uuid.NewString()
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	s := &Scheduler{cfg: cfg, lg: lg, ready: make(chan struct{}), bindSem: make(chan struct{}, cfg.MaxBindsInFlight)}
	s.metricsAddr.Store("")

	if cfg.Client == nil && (cfg.API == nil || cfg.Pods == nil || cfg.Nodes == nil || cfg.Events == nil) {
		return nil, errdefs.Invalid("scheduler: no client")
	}
	s.api = cfg.API
	if s.api == nil {
		s.api = clientAPI{cfg.Client}
	}
	pods, nodes := cfg.Pods, cfg.Nodes
	if pods == nil {
		pods = informer.NewListWatch(cfg.Client.Pods(), client.ListOptions{})
	}
	if nodes == nil {
		nodes = informer.NewListWatch(cfg.Client.Nodes(), client.ListOptions{})
	}
	s.events = cfg.Events
	if s.events == nil {
		rec, err := record.New(record.Config{Sink: cfg.Client.Events(), Component: cfg.SchedulerName, Host: cfg.Identity, Logger: lg.Named("events")})
		if err != nil {
			return nil, fmt.Errorf("event recorder: %w", err)
		}
		s.recorder, s.events = rec, rec
	}
	s.gatherer = cfg.Gatherer
	if s.gatherer == nil {
		if g, ok := cfg.Registerer.(prometheus.Gatherer); ok {
			s.gatherer = g
		}
	}

	s.queue = queue.New(queue.Config{Clock: cfg.Clock, InitialBackoff: cfg.InitialBackoff, MaxBackoff: cfg.MaxBackoff})
	m, err := metrics.New(cfg.Registerer, cfg.SchedulerName, s.queue.Pending)
	if err != nil {
		return nil, fmt.Errorf("register scheduler metrics: %w", err)
	}
	s.metrics = m
	profile := plugins.DefaultProfile()
	if cfg.Profile != nil {
		profile = *cfg.Profile
	}
	fw, err := framework.New(plugins.NewRegistry(), profile, m)
	if err != nil {
		return nil, fmt.Errorf("scheduler profile: %w", err)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s.algo = newAlgorithm(fw, cfg.Parallelism, cfg.PercentageOfNodesToScore, s.rng)
	s.algo.observe = m.ExtensionPoint
	s.cache = cache.New()
	s.snapshot = cache.NewSnapshot()

	s.podInformer = informer.New(pods, 0, informer.WithLogger(lg), informer.WithName("pods"))
	s.nodeInformer = informer.New(nodes, 0, informer.WithLogger(lg), informer.WithName("nodes"))
	s.podInformer.AddEventHandler(podHandler{s})
	s.nodeInformer.AddEventHandler(nodeHandler{s})
	s.status = newStatusWriter(s.api, s.podInformer.Lister(), cfg.Clock, lg.Named("status"))

	if le := cfg.LeaderElection; le != nil {
		leases := le.Leases
		if leases == nil {
			if cfg.Client == nil {
				return nil, errdefs.Invalid("scheduler: leader election needs a client")
			}
			leases = cfg.Client.Leases()
		}
		ns, name := le.Namespace, le.Name
		if ns == "" {
			ns = DefaultLeaseNamespace
		}
		if name == "" {
			name = DefaultLeaseName
		}
		el, err := leaderelection.New(leaderelection.Config{
			Client:          leases,
			Namespace:       ns,
			Name:            name,
			Identity:        cfg.Identity,
			LeaseDuration:   le.LeaseDuration,
			RenewDeadline:   le.RenewDeadline,
			RetryPeriod:     le.RetryPeriod,
			ReleaseOnCancel: true,
			Logger:          lg.Named("leaderelection"),
			Callbacks: leaderelection.Callbacks{
				OnStartedLeading: func(ctx context.Context) {
					s.leading.Store(true)
					defer s.leading.Store(false)
					s.scheduleLoop(ctx)
				},
			},
		})
		if err != nil {
			return nil, err
		}
		s.elector = el
	}
	return s, nil
}

// clientAPI adapts a Clientset to API.
type clientAPI struct{ c *client.Clientset }

func (a clientAPI) Bind(ctx context.Context, b *v1.Binding) (*v1.Pod, error) { return a.c.Bind(ctx, b) }

func (a clientAPI) UpdatePodStatus(ctx context.Context, pod *v1.Pod) (*v1.Pod, error) {
	return a.c.Pods().UpdateStatus(ctx, pod)
}

// Ready is closed once the caches are filled and the metrics endpoint
// listens.
func (s *Scheduler) Ready() <-chan struct{} { return s.ready }

// MetricsAddr is the address /metrics is served on, once Ready.
func (s *Scheduler) MetricsAddr() string { return s.metricsAddr.Load().(string) }

// IsLeader reports whether the scheduler is scheduling: it holds the
// lease, or leader election is off and it runs.
func (s *Scheduler) IsLeader() bool { return s.leading.Load() }

// Identity is the instance's name in the lease and in events.
func (s *Scheduler) Identity() string { return s.cfg.Identity }

// Run schedules until ctx ends (or, with leader election, until the lease
// is lost: then it returns leaderelection.ErrLeadershipLost). It returns
// once every goroutine it started has stopped. It runs once.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errdefs.Precondition("scheduler already started")
	}
	var srv *http.Server
	var ln net.Listener
	if s.cfg.MetricsBindAddress != "" {
		var err error
		ln, err = net.Listen("tcp", s.cfg.MetricsBindAddress)
		if err != nil {
			return fmt.Errorf("listen on --metrics-bind-address %s: %w", s.cfg.MetricsBindAddress, err)
		}
		s.metricsAddr.Store(ln.Addr().String())
		srv = &http.Server{Handler: s.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if srv != nil {
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.lg.Error("Metrics server stopped", zap.Error(err))
			}
		})
	}
	// The recorder outlives ctx a little: it flushes the events of the
	// last binds when Run ends.
	recCtx, recCancel := context.WithCancel(context.WithoutCancel(ctx))
	var recWG sync.WaitGroup
	if s.recorder != nil {
		recWG.Go(func() { _ = s.recorder.Run(recCtx) })
	}
	wg.Go(func() { _ = s.podInformer.Run(ctx) })
	wg.Go(func() { _ = s.nodeInformer.Run(ctx) })
	wg.Go(func() { s.queue.Run(ctx) })
	wg.Go(func() { s.status.Run(ctx, statusWorkers) })

	var runErr error
	if informer.WaitForCacheSync(ctx, s.podInformer, s.nodeInformer) {
		nodes, pods, _ := s.cache.Counts()
		s.lg.Info("Caches synced", zap.Int("nodes", nodes), zap.Int("boundPods", pods), zap.Int("pending", s.queue.Pending()[queue.QueueActive]))
		close(s.ready)
		if s.elector != nil {
			runErr = s.elector.Run(ctx)
		} else {
			s.leading.Store(true)
			s.scheduleLoop(ctx)
			s.leading.Store(false)
		}
	}
	cancel()
	s.binds.Wait()
	if srv != nil {
		shutCtx, shutCancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(shutCtx)
		shutCancel()
	}
	wg.Wait()
	recCancel()
	recWG.Wait()
	return runErr
}

// scheduleLoop schedules one pod after another until ctx ends.
func (s *Scheduler) scheduleLoop(ctx context.Context) {
	stop := context.AfterFunc(ctx, s.queue.Close)
	defer stop()
	s.lg.Info("Scheduling", zap.String("identity", s.cfg.Identity))
	for s.scheduleOne(ctx) {
	}
}

// scheduleOne runs one scheduling cycle; false when the queue is closed.
func (s *Scheduler) scheduleOne(ctx context.Context) bool {
	qp, ok := s.queue.Pop()
	if !ok {
		return false
	}
	if ctx.Err() != nil {
		return false
	}
	cycle := s.queue.SchedulingCycle()
	pod := qp.PodInfo
	if pod.Pod.GetMetadata().GetDeletionTimestamp() != nil || s.cache.IsAssumedPod(pod.Key, pod.UID()) {
		s.queue.Done(pod.Key, pod.UID())
		return true
	}
	start := time.Now()
	if err := s.cache.UpdateSnapshot(s.snapshot); err != nil {
		s.lg.Error("Snapshot out of step with the cache", zap.Error(err))
	}
	state := framework.NewCycleState()
	state.SetRecordPluginMetrics(s.rng.IntN(pluginSampleDenominator) < metrics.PluginSamplePercent)
	result, err := s.algo.schedulePod(state, s.snapshot, pod)
	if err != nil {
		s.handleFailure(qp, err, cycle, start)
		return true
	}
	if err := s.cache.AssumePod(pod, result.SuggestedHost); err != nil {
		s.handleFailure(qp, fmt.Errorf("assume pod %s: %w", pod.Key, err), cycle, start)
		return true
	}
	s.lg.Debug("Assumed pod", zap.String("pod", pod.Key), zap.String("node", result.SuggestedHost),
		zap.Int("evaluatedNodes", result.EvaluatedNodes), zap.Int("feasibleNodes", result.FeasibleNodes))
	select {
	case s.bindSem <- struct{}{}:
	case <-ctx.Done():
		s.cache.ForgetPod(pod.Key, pod.UID())
		return false
	}
	s.binds.Go(func() {
		defer func() { <-s.bindSem }()
		s.bind(ctx, qp, result.SuggestedHost, cycle, start)
	})
	return true
}

// bind binds an assumed pod and settles the assumption.
func (s *Scheduler) bind(ctx context.Context, qp *queue.QueuedPodInfo, node string, cycle int64, start time.Time) {
	pod := qp.Pod
	md := pod.GetMetadata()
	key, uid := qp.Key, qp.UID()
	bctx, cancel := context.WithTimeout(ctx, DefaultBindTimeout)
	_, err := s.api.Bind(bctx, &v1.Binding{
		Metadata: &v1.ObjectMeta{Namespace: md.GetNamespace(), Name: md.GetName(), Uid: uid},
		Target:   &v1.ObjectReference{ApiVersion: "v1", Kind: bindTargetKind, Name: node},
	})
	cancel()
	attempts, firstSeen := qp.Attempts, qp.FirstSeen
	switch {
	case err == nil:
		s.queue.Done(key, uid)
		s.metrics.Attempt(metrics.ResultScheduled, time.Since(start))
		s.metrics.PodScheduled(attempts, s.cfg.Clock.Since(firstSeen))
		s.events.Eventf(pod, record.EventTypeNormal, EventScheduled, "Successfully assigned %s/%s to %s", md.GetNamespace(), md.GetName(), node)
		s.lg.Debug("Bound pod", zap.String("pod", key), zap.String("node", node))
	case errdefs.IsPrecondition(err) || errdefs.IsNotFound(err) || errdefs.IsConflict(err):
		// Bound by another scheduler, deleted, or replaced by a new pod
		// of the same name: nothing left to do for this one.
		s.cache.ForgetPod(key, uid)
		s.queue.Done(key, uid)
		s.lg.Debug("Dropped pod: bind refused", zap.String("pod", key), zap.String("node", node), zap.Error(err))
	default:
		s.cache.ForgetPod(key, uid)
		if ctx.Err() != nil {
			return
		}
		s.metrics.Attempt(metrics.ResultError, time.Since(start))
		s.events.Eventf(pod, record.EventTypeWarning, EventFailedScheduling, "Binding rejected: %v", err)
		s.lg.Warn("Bind failed; retrying after a backoff", zap.String("pod", key), zap.String("node", node), zap.Error(err))
		s.queue.Requeue(key, false, cycle)
		s.queue.MoveAllToActiveOrBackoffQueue(queue.EventAssignedPodDelete)
	}
}

// handleFailure requeues a pod that could not be placed and tells its
// owner why: the PodScheduled condition and a FailedScheduling event.
func (s *Scheduler) handleFailure(qp *queue.QueuedPodInfo, err error, cycle int64, start time.Time) {
	var fitErr *framework.FitError
	reason, result, unschedulable := ReasonUnschedulable, metrics.ResultUnschedulable, true
	if !errors.As(err, &fitErr) && !errors.Is(err, framework.ErrNoNodesAvailable) {
		reason, result, unschedulable = ReasonSchedulerError, metrics.ResultError, false
	}
	s.metrics.Attempt(result, time.Since(start))
	pod, key := qp.Pod, qp.Key
	msg := err.Error()
	s.events.Eventf(pod, record.EventTypeWarning, EventFailedScheduling, "%s", msg)
	s.status.Set(pod, reason, msg)
	if unschedulable {
		s.lg.Debug("Unschedulable pod", zap.String("pod", key), zap.String("reason", msg))
	} else {
		s.lg.Warn("Scheduling failed; retrying after a backoff", zap.String("pod", key), zap.Error(err))
	}
	// Last: from here the queue owns qp again.
	s.queue.Requeue(key, unschedulable, cycle)
}

// httpHandler serves /metrics, /healthz, /livez, /readyz and, when
// enabled, /debug/pprof/.
func (s *Scheduler) httpHandler() http.Handler {
	mux := http.NewServeMux()
	if s.gatherer != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{}))
	}
	ok := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	}
	if s.cfg.EnableProfiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/livez", ok)
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-s.ready:
			ok(w, r)
		default:
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
		}
	})
	return mux
}
