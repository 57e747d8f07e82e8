package workqueue

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricsProvider holds the workqueue metrics of one registry, with
// Kubernetes' names, each labelled by queue name.
type MetricsProvider struct {
	depth        *prometheus.GaugeVec
	adds         *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	workDuration *prometheus.HistogramVec
	retries      *prometheus.CounterVec
	inflight     *inflightCollector
}

// NewMetricsProvider registers the workqueue metrics with reg (reusing
// them when reg already has them). A nil reg gives a nil provider: no
// metrics.
func NewMetricsProvider(reg prometheus.Registerer) (*MetricsProvider, error) {
	if reg == nil {
		return nil, nil
	}
	buckets := prometheus.ExponentialBuckets(10e-9, 10, 10)
	p := &MetricsProvider{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "workqueue_depth", Help: "Current depth of workqueue",
		}, []string{"name"}),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workqueue_adds_total", Help: "Total number of adds handled by workqueue",
		}, []string{"name"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "workqueue_queue_duration_seconds", Help: "How long in seconds an item stays in workqueue before being requested.", Buckets: buckets,
		}, []string{"name"}),
		workDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "workqueue_work_duration_seconds", Help: "How long in seconds processing an item from workqueue takes.", Buckets: buckets,
		}, []string{"name"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "workqueue_retries_total", Help: "Total number of retries handled by workqueue",
		}, []string{"name"}),
		inflight: newInflightCollector(),
	}
	var err error
	p.depth, err = register(reg, p.depth)
	if err != nil {
		return nil, err
	}
	if p.adds, err = register(reg, p.adds); err != nil {
		return nil, err
	}
	if p.latency, err = register(reg, p.latency); err != nil {
		return nil, err
	}
	if p.workDuration, err = register(reg, p.workDuration); err != nil {
		return nil, err
	}
	if p.retries, err = register(reg, p.retries); err != nil {
		return nil, err
	}
	if p.inflight, err = register(reg, p.inflight); err != nil {
		return nil, err
	}
	return p, nil
}

// register registers c, or returns the collector reg already has.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

// queueMetrics are one queue's children of the provider's vectors.
type queueMetrics struct {
	depth        prometheus.Gauge
	adds         prometheus.Counter
	latency      prometheus.Observer
	workDuration prometheus.Observer
	retries      prometheus.Counter
}

func (p *MetricsProvider) forQueue(name string) *queueMetrics {
	if p == nil {
		return nil
	}
	return &queueMetrics{
		depth:        p.depth.WithLabelValues(name),
		adds:         p.adds.WithLabelValues(name),
		latency:      p.latency.WithLabelValues(name),
		workDuration: p.workDuration.WithLabelValues(name),
		retries:      p.retries.WithLabelValues(name),
	}
}

// inflightSource is a queue that can report its items in processing.
type inflightSource interface {
	// inflight returns the name, the summed and the longest processing
	// time so far, in seconds.
	inflight() (name string, unfinished, longest float64)
}

// inflightCollector computes workqueue_unfinished_work_seconds and
// workqueue_longest_running_processor_seconds when scraped, so no
// goroutine has to refresh them.
type inflightCollector struct {
	unfinished *prometheus.Desc
	longest    *prometheus.Desc

	mu     sync.Mutex
	queues map[inflightSource]struct{}
}

func newInflightCollector() *inflightCollector {
	return &inflightCollector{
		unfinished: prometheus.NewDesc("workqueue_unfinished_work_seconds",
			"How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
			[]string{"name"}, nil),
		longest: prometheus.NewDesc("workqueue_longest_running_processor_seconds",
			"How many seconds has the longest running processor for workqueue been running.",
			[]string{"name"}, nil),
		queues: map[inflightSource]struct{}{},
	}
}

func (c *inflightCollector) add(q inflightSource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queues[q] = struct{}{}
}

func (c *inflightCollector) remove(q inflightSource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.queues, q)
}

// Describe implements prometheus.Collector.
func (c *inflightCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.unfinished
	ch <- c.longest
}

// Collect implements prometheus.Collector. Queues of the same name are
// summed (unfinished) and maxed (longest).
func (c *inflightCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	queues := make([]inflightSource, 0, len(c.queues))
	for q := range c.queues {
		queues = append(queues, q)
	}
	c.mu.Unlock()
	type agg struct{ unfinished, longest float64 }
	byName := map[string]agg{}
	for _, q := range queues {
		name, u, l := q.inflight()
		a := byName[name]
		a.unfinished += u
		a.longest = max(a.longest, l)
		byName[name] = a
	}
	for name, a := range byName {
		ch <- prometheus.MustNewConstMetric(c.unfinished, prometheus.GaugeValue, a.unfinished, name)
		ch <- prometheus.MustNewConstMetric(c.longest, prometheus.GaugeValue, a.longest, name)
	}
}
