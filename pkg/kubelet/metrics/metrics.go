// Package metrics holds the kubelet's Prometheus metrics, with Kubernetes'
// names, and a runtime.Runtime wrapper that counts every runtime operation
// and its errors.
package metrics

import (
	"context"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"minik8s/pkg/kubelet/runtime"
)

// Operation types of kubelet_pod_worker_duration_seconds, as Kubernetes
// names them.
const (
	OperationCreate = "create"
	OperationUpdate = "update"
	OperationSync   = "sync"
)

// Metrics are the kubelet's metrics. A nil *Metrics records nothing.
type Metrics struct {
	// RunningPods is kubelet_running_pods: pods with a running sandbox.
	RunningPods prometheus.Gauge
	// RunningContainers is kubelet_running_containers{container_state}.
	RunningContainers *prometheus.GaugeVec
	// PodStartDuration is kubelet_pod_start_duration_seconds: from the
	// kubelet first seeing a pod to all its containers running.
	PodStartDuration prometheus.Histogram
	// RuntimeOperations is kubelet_runtime_operations_total{operation_type}.
	RuntimeOperations *prometheus.CounterVec
	// RuntimeOperationErrors is
	// kubelet_runtime_operations_errors_total{operation_type}.
	RuntimeOperationErrors *prometheus.CounterVec
	// RuntimeOperationDuration is
	// kubelet_runtime_operations_duration_seconds{operation_type}.
	RuntimeOperationDuration *prometheus.HistogramVec
	// PodWorkerDuration is kubelet_pod_worker_duration_seconds{operation_type}.
	PodWorkerDuration *prometheus.HistogramVec
}

// New creates the metrics and registers them with reg (nil: unregistered).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RunningPods: prometheus.NewGauge(prometheus.GaugeOpts{
			Subsystem: "kubelet", Name: "running_pods",
			Help: "Number of pods that have a running pod sandbox.",
		}),
		RunningContainers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "kubelet", Name: "running_containers",
			Help: "Number of containers currently running, by state.",
		}, []string{"container_state"}),
		PodStartDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubelet", Name: "pod_start_duration_seconds",
			Help:    "Duration in seconds from the kubelet seeing a pod for the first time to the pod starting to run.",
			Buckets: []float64{0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200},
		}),
		RuntimeOperations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "kubelet", Name: "runtime_operations_total",
			Help: "Cumulative number of runtime operations by operation type.",
		}, []string{"operation_type"}),
		RuntimeOperationErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "kubelet", Name: "runtime_operations_errors_total",
			Help: "Cumulative number of runtime operation errors by operation type.",
		}, []string{"operation_type"}),
		RuntimeOperationDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "kubelet", Name: "runtime_operations_duration_seconds",
			Help:    "Duration in seconds of runtime operations, by operation type.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"operation_type"}),
		PodWorkerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "kubelet", Name: "pod_worker_duration_seconds",
			Help:    "Duration in seconds to sync a single pod, by operation type: create, update or sync.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"operation_type"}),
	}
	if reg != nil {
		reg.MustRegister(m.RunningPods, m.RunningContainers, m.PodStartDuration, m.RuntimeOperations,
			m.RuntimeOperationErrors, m.RuntimeOperationDuration, m.PodWorkerDuration)
	}
	return m
}

// ObservePodWorker records one pod sync.
func (m *Metrics) ObservePodWorker(op string, d time.Duration) {
	if m == nil {
		return
	}
	m.PodWorkerDuration.WithLabelValues(op).Observe(d.Seconds())
}

// ObservePodStart records the start latency of one pod.
func (m *Metrics) ObservePodStart(d time.Duration) {
	if m == nil {
		return
	}
	m.PodStartDuration.Observe(d.Seconds())
}

// SetRunning sets the gauges of running pods and of containers by state
// (every state of the runtime package, zero when absent from counts).
func (m *Metrics) SetRunning(pods int, containers map[runtime.ContainerState]int) {
	if m == nil {
		return
	}
	m.RunningPods.Set(float64(pods))
	for _, s := range []runtime.ContainerState{runtime.ContainerCreated, runtime.ContainerRunning, runtime.ContainerExited, runtime.ContainerUnknown} {
		m.RunningContainers.WithLabelValues(StateLabel(s)).Set(float64(containers[s]))
	}
}

// StateLabel is the container_state label of a state, as Kubernetes'
// ("created", "running", "exited", "unknown").
func StateLabel(s runtime.ContainerState) string {
	switch s {
	case runtime.ContainerCreated:
		return "created"
	case runtime.ContainerRunning:
		return "running"
	case runtime.ContainerExited:
		return "exited"
	}
	return "unknown"
}

// Runtime operation types, as Kubernetes' CRI metrics name them.
const (
	opPing            = "ping"
	opVersion         = "version"
	opPullImage       = "pull_image"
	opImageStatus     = "image_status"
	opRunSandbox      = "run_podsandbox"
	opCreateSandbox   = "create_podsandbox"
	opStartSandbox    = "start_podsandbox"
	opStopSandbox     = "stop_podsandbox"
	opRemoveSandbox   = "remove_podsandbox"
	opSandboxStatus   = "podsandbox_status"
	opListSandboxes   = "list_podsandbox"
	opCreateContainer = "create_container"
	opStartContainer  = "start_container"
	opStopContainer   = "stop_container"
	opRemoveContainer = "remove_container"
	opContainerStatus = "container_status"
	opListContainers  = "list_containers"
	opContainerLogs   = "container_logs"
	opExec            = "exec"
	opEvents          = "events"
)

// instrumented counts the operations of a runtime.
type instrumented struct {
	rt runtime.Runtime
	m  *Metrics
}

// InstrumentRuntime wraps rt so that every call counts in
// kubelet_runtime_operations_total and, when it fails,
// kubelet_runtime_operations_errors_total. With m nil it returns rt.
func InstrumentRuntime(rt runtime.Runtime, m *Metrics) runtime.Runtime {
	if m == nil {
		return rt
	}
	return &instrumented{rt: rt, m: m}
}

// Unwrap returns the runtime an instrumented one wraps, else rt itself.
func Unwrap(rt runtime.Runtime) runtime.Runtime {
	if i, ok := rt.(*instrumented); ok {
		return i.rt
	}
	return rt
}

func (r *instrumented) record(op string, start time.Time, err error) {
	r.m.RuntimeOperations.WithLabelValues(op).Inc()
	r.m.RuntimeOperationDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		r.m.RuntimeOperationErrors.WithLabelValues(op).Inc()
	}
}

func (r *instrumented) Ping(ctx context.Context) error {
	start := time.Now()
	err := r.rt.Ping(ctx)
	r.record(opPing, start, err)
	return err
}

func (r *instrumented) Version(ctx context.Context) (v runtime.VersionInfo, err error) {
	start := time.Now()
	v, err = r.rt.Version(ctx)
	r.record(opVersion, start, err)
	return v, err
}

func (r *instrumented) PullImage(ctx context.Context, image string) error {
	start := time.Now()
	err := r.rt.PullImage(ctx, image)
	r.record(opPullImage, start, err)
	return err
}

func (r *instrumented) ImagePresent(ctx context.Context, image string) (bool, error) {
	start := time.Now()
	ok, err := r.rt.ImagePresent(ctx, image)
	r.record(opImageStatus, start, err)
	return ok, err
}

func (r *instrumented) CreateSandbox(ctx context.Context, spec runtime.SandboxSpec) (string, error) {
	start := time.Now()
	id, err := r.rt.CreateSandbox(ctx, spec)
	r.record(opRunSandbox, start, err)
	return id, err
}

func (r *instrumented) PrepareSandbox(ctx context.Context, spec runtime.SandboxSpec) (string, error) {
	start := time.Now()
	id, err := r.rt.PrepareSandbox(ctx, spec)
	r.record(opCreateSandbox, start, err)
	return id, err
}

func (r *instrumented) StartSandbox(ctx context.Context, id string) error {
	start := time.Now()
	err := r.rt.StartSandbox(ctx, id)
	r.record(opStartSandbox, start, err)
	return err
}

func (r *instrumented) StopSandbox(ctx context.Context, id string, grace time.Duration) error {
	start := time.Now()
	err := r.rt.StopSandbox(ctx, id, grace)
	r.record(opStopSandbox, start, err)
	return err
}

func (r *instrumented) RemoveSandbox(ctx context.Context, id string) error {
	start := time.Now()
	err := r.rt.RemoveSandbox(ctx, id)
	r.record(opRemoveSandbox, start, err)
	return err
}

func (r *instrumented) SandboxStatus(ctx context.Context, id string) (runtime.SandboxStatus, error) {
	start := time.Now()
	st, err := r.rt.SandboxStatus(ctx, id)
	r.record(opSandboxStatus, start, err)
	return st, err
}

func (r *instrumented) ListSandboxes(ctx context.Context) ([]runtime.SandboxStatus, error) {
	start := time.Now()
	l, err := r.rt.ListSandboxes(ctx)
	r.record(opListSandboxes, start, err)
	return l, err
}

func (r *instrumented) CreateContainer(ctx context.Context, sandboxID string, spec runtime.ContainerSpec) (string, error) {
	start := time.Now()
	id, err := r.rt.CreateContainer(ctx, sandboxID, spec)
	r.record(opCreateContainer, start, err)
	return id, err
}

func (r *instrumented) StartContainer(ctx context.Context, id string) error {
	start := time.Now()
	err := r.rt.StartContainer(ctx, id)
	r.record(opStartContainer, start, err)
	return err
}

func (r *instrumented) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	start := time.Now()
	err := r.rt.StopContainer(ctx, id, grace)
	r.record(opStopContainer, start, err)
	return err
}

func (r *instrumented) RemoveContainer(ctx context.Context, id string) error {
	start := time.Now()
	err := r.rt.RemoveContainer(ctx, id)
	r.record(opRemoveContainer, start, err)
	return err
}

func (r *instrumented) ContainerStatus(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	start := time.Now()
	st, err := r.rt.ContainerStatus(ctx, id)
	r.record(opContainerStatus, start, err)
	return st, err
}

func (r *instrumented) ListContainers(ctx context.Context) ([]runtime.ContainerStatus, error) {
	start := time.Now()
	l, err := r.rt.ListContainers(ctx)
	r.record(opListContainers, start, err)
	return l, err
}

func (r *instrumented) Logs(ctx context.Context, id string, opts runtime.LogOptions) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := r.rt.Logs(ctx, id, opts)
	r.record(opContainerLogs, start, err)
	return rc, err
}

func (r *instrumented) Exec(ctx context.Context, id string, opts runtime.ExecOptions) (int, error) {
	start := time.Now()
	code, err := r.rt.Exec(ctx, id, opts)
	r.record(opExec, start, err)
	return code, err
}

func (r *instrumented) Events(ctx context.Context, handle func(runtime.Event)) error {
	r.m.RuntimeOperations.WithLabelValues(opEvents).Inc()
	err := r.rt.Events(ctx, handle)
	if err != nil && ctx.Err() == nil {
		r.m.RuntimeOperationErrors.WithLabelValues(opEvents).Inc()
	}
	return err
}
