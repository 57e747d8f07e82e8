// Package metrics holds the scheduler's Prometheus metrics, with
// kube-scheduler's names and labels, registered on an injected registry.
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"minik8s/pkg/scheduler/framework"
)

// Results of a scheduling attempt, as the result label has them.
const (
	ResultScheduled     = "scheduled"
	ResultUnschedulable = "unschedulable"
	ResultError         = "error"
)

// PluginSamplePercent is the share of cycles whose plugin durations are
// observed, as kube-scheduler's (timing every plugin call of every cycle
// would cost more than the plugins).
const PluginSamplePercent = 10

// Metrics are the scheduler's metrics.
type Metrics struct {
	profile          string
	attempts         *prometheus.CounterVec
	attemptDuration  *prometheus.HistogramVec
	sli              *prometheus.HistogramVec
	pluginDuration   *prometheus.HistogramVec
	extensionPoint   *prometheus.HistogramVec
	pluginObservers  sync.Map // pluginKey -> prometheus.Observer
	attemptCounters  map[string]prometheus.Counter
	attemptObservers map[string]prometheus.Observer
}

type pluginKey struct {
	plugin, ep string
	code       framework.Code
}

// pendingCollector reports scheduler_pending_pods at scrape time, so the
// queue pays nothing per change.
type pendingCollector struct {
	desc    *prometheus.Desc
	pending func() map[string]int
}

func (c pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c pendingCollector) Collect(ch chan<- prometheus.Metric) {
	for q, n := range c.pending() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), q)
	}
}

// New registers the metrics on reg (nil: unregistered) for profile
// ("default-scheduler"). pending returns the number of pods per queue
// (active, backoff, unschedulable, gated).
func New(reg prometheus.Registerer, profile string, pending func() map[string]int) (*Metrics, error) {
	m := &Metrics{
		profile: profile,
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Subsystem: "scheduler", Name: "schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
		}, []string{"result", "profile"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "scheduling_attempt_duration_seconds",
			Help:    "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"result", "profile"}),
		sli: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "pod_scheduling_sli_duration_seconds",
			Help:    "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue to its binding; may involve multiple scheduling attempts.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 20),
		}, []string{"attempts"}),
		pluginDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "plugin_execution_duration_seconds",
			Help:    "Duration for running a plugin at a specific extension point (a sample of cycles).",
			Buckets: prometheus.ExponentialBuckets(0.00001, 1.5, 20),
		}, []string{"plugin", "extension_point", "status"}),
		extensionPoint: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Subsystem: "scheduler", Name: "framework_extension_point_duration_seconds",
			Help:    "Latency for running all plugins of a specific extension point.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 12),
		}, []string{"extension_point", "status", "profile"}),
		attemptCounters:  map[string]prometheus.Counter{},
		attemptObservers: map[string]prometheus.Observer{},
	}
	// Resolve the hot-path label sets once.
	for _, r := range []string{ResultScheduled, ResultUnschedulable, ResultError} {
		m.attemptCounters[r] = m.attempts.WithLabelValues(r, profile)
		m.attemptObservers[r] = m.attemptDuration.WithLabelValues(r, profile)
	}
	if reg != nil {
		cs := []prometheus.Collector{m.attempts, m.attemptDuration, m.sli, m.pluginDuration, m.extensionPoint}
		if pending != nil {
			cs = append(cs, pendingCollector{
				desc: prometheus.NewDesc("scheduler_pending_pods",
					"Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods; 'gated' means number of pods gated by scheduling gates.",
					[]string{"queue"}, nil),
				pending: pending,
			})
		}
		for _, c := range cs {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Attempt counts a scheduling attempt with its result and duration.
func (m *Metrics) Attempt(result string, d time.Duration) {
	m.attemptCounters[result].Inc()
	m.attemptObservers[result].Observe(d.Seconds())
}

// PodScheduled observes the SLI of a bound pod: from when it was first
// queued, after attempts attempts.
func (m *Metrics) PodScheduled(attempts int, sinceFirstSeen time.Duration) {
	m.sli.WithLabelValues(strconv.Itoa(attempts)).Observe(sinceFirstSeen.Seconds())
}

// ExtensionPoint observes the duration of one extension point of a cycle.
func (m *Metrics) ExtensionPoint(ep string, code framework.Code, d time.Duration) {
	m.extensionPoint.WithLabelValues(ep, code.String(), m.profile).Observe(d.Seconds())
}

// ObservePluginDuration implements framework.PluginRecorder.
func (m *Metrics) ObservePluginDuration(plugin, ep string, code framework.Code, d time.Duration) {
	k := pluginKey{plugin: plugin, ep: ep, code: code}
	o, ok := m.pluginObservers.Load(k)
	if !ok {
		o, _ = m.pluginObservers.LoadOrStore(k, m.pluginDuration.WithLabelValues(plugin, ep, code.String()))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}
