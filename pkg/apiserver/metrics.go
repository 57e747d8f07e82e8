package apiserver

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the apiserver's own series, with Kubernetes' names. The
// storage layer registers its own (etcd_request_duration_seconds,
// apiserver_storage_objects, apiserver_registered_watchers) on the same
// registry.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight *prometheus.GaugeVec
}

// requestDurationBuckets are kube-apiserver's buckets for
// apiserver_request_duration_seconds.
var requestDurationBuckets = []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out by verb, resource, subresource and gRPC code.",
		}, []string{"verb", "resource", "subresource", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb, resource and subresource (watches and other long-running calls excluded).",
			Buckets: requestDurationBuckets,
		}, []string{"verb", "resource", "subresource"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_current_inflight_requests",
			Help: "Number of requests being served, by kind (readOnly, mutating, longRunning).",
		}, []string{"request_kind"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inflight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
