package nodelifecycle

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics have Kubernetes' names.
type metrics struct {
	evictions    *prometheus.CounterVec
	zoneHealth   *prometheus.GaugeVec
	zoneSize     *prometheus.GaugeVec
	unhealthy    *prometheus.GaugeVec
	podDeletions prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "node_collector_evictions_total",
			Help: "Number of Node evictions that happened since current instance of NodeController started.",
		}, []string{"zone"}),
		zoneHealth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "node_collector_zone_health",
			Help: "Gauge measuring percentage of healthy nodes per zone.",
		}, []string{"zone"}),
		zoneSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "node_collector_zone_size",
			Help: "Gauge measuring number of registered Nodes per zones.",
		}, []string{"zone"}),
		unhealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "node_collector_unhealthy_nodes_in_zone",
			Help: "Gauge measuring number of not Ready Nodes per zones.",
		}, []string{"zone"}),
		podDeletions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "taint_eviction_controller_pod_deletions_total",
			Help: "Total number of Pods deleted by TaintEvictionController since its start.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.evictions, m.zoneHealth, m.zoneSize, m.unhealthy, m.podDeletions} {
		if err := reg.Register(c); err != nil {
			return m, fmt.Errorf("nodelifecycle metrics: %w", err)
		}
	}
	return m, nil
}
