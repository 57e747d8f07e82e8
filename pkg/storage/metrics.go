package storage

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the storage layer's Prometheus metrics, under Kubernetes'
// names. One Metrics is shared by the etcd store and every watch cache of
// an apiserver. A nil *Metrics records nothing.
type Metrics struct {
	requestDuration    *prometheus.HistogramVec
	objects            *prometheus.GaugeVec
	watchers           *prometheus.GaugeVec
	terminatedWatchers *prometheus.CounterVec
	leaseObjects       prometheus.Histogram
}

// NewMetrics creates the metrics and registers them on reg (nil: not
// registered). Registering twice on one registry returns metrics that share
// the collectors registered first. It panics only on a registration error
// that is a programming mistake (a clashing metric of another shape).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return &Metrics{
		requestDuration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "etcd_request_duration_seconds",
			Help: "Etcd request latency in seconds for each operation and object type.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4,
				0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		}, []string{"operation", "type"})),
		objects: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_storage_objects",
			Help: "Number of stored objects at the time of last check split by resource.",
		}, []string{"resource"})),
		watchers: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers",
			Help: "Number of currently registered watchers for a given resource.",
		}, []string{"resource"})),
		terminatedWatchers: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_terminated_watchers_total",
			Help: "Number of watchers terminated because they could not keep up, by resource.",
		}, []string{"resource"})),
		leaseObjects: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "etcd_lease_object_counts",
			Help:    "Number of objects attached to a single etcd lease.",
			Buckets: []float64{10, 50, 100, 500, 1000, 2500, 5000},
		})),
	}
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// ObserveRequest records the duration of one etcd request. operation is
// create, get, update, delete, list or watch; typ the resource ("pods").
func (m *Metrics) ObserveRequest(operation, typ string, d time.Duration) {
	if m == nil {
		return
	}
	m.requestDuration.WithLabelValues(operation, typ).Observe(d.Seconds())
}

// SetObjects records how many objects of resource are stored.
func (m *Metrics) SetObjects(resource string, n int) {
	if m == nil {
		return
	}
	m.objects.WithLabelValues(resource).Set(float64(n))
}

// AddWatchers adds delta (negative to remove) to the registered watchers of
// resource.
func (m *Metrics) AddWatchers(resource string, delta int) {
	if m == nil {
		return
	}
	m.watchers.WithLabelValues(resource).Add(float64(delta))
}

// WatcherTerminated counts a watcher ended because it fell behind.
func (m *Metrics) WatcherTerminated(resource string) {
	if m == nil {
		return
	}
	m.terminatedWatchers.WithLabelValues(resource).Inc()
}

// ObserveLeaseObjects records how many objects were attached to a lease
// the store has stopped handing out.
func (m *Metrics) ObserveLeaseObjects(n int) {
	if m == nil {
		return
	}
	m.leaseObjects.Observe(float64(n))
}
