package metrics

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"minik8s/pkg/scheduler/framework"
)

// series prints every series of family name in reg as
// `{label=value,...} value` (counters and gauges) or `{...} count=N`
// (histograms), sorted.
func series(t *testing.T, reg *prometheus.Registry, name string) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			var v string
			switch {
			case m.GetHistogram() != nil:
				v = fmt.Sprintf("count=%d", m.GetHistogram().GetSampleCount())
			case m.GetCounter() != nil:
				v = fmt.Sprint(m.GetCounter().GetValue())
			case m.GetGauge() != nil:
				v = fmt.Sprint(m.GetGauge().GetValue())
			}
			out = append(out, "{"+strings.Join(labels, ",")+"} "+v)
		}
	}
	sort.Strings(out)
	return out
}

func TestMetricNamesAndLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	pending := map[string]int{"active": 3, "backoff": 1, "unschedulable": 2, "gated": 0}
	m, err := New(reg, "default-scheduler", func() map[string]int { return pending })
	if err != nil {
		t.Fatal(err)
	}
	m.Attempt(ResultScheduled, 2*time.Millisecond)
	m.Attempt(ResultScheduled, 3*time.Millisecond)
	m.Attempt(ResultUnschedulable, time.Millisecond)
	m.PodScheduled(1, 50*time.Millisecond)
	m.ObservePluginDuration("NodeResourcesFit", framework.ExtensionFilter, framework.Success, time.Microsecond)
	m.ObservePluginDuration("NodeResourcesFit", framework.ExtensionFilter, framework.Success, time.Microsecond)
	m.ObservePluginDuration("NodeResourcesFit", framework.ExtensionFilter, framework.Unschedulable, time.Microsecond)
	m.ExtensionPoint(framework.ExtensionFilter, framework.Success, time.Millisecond)

	tests := []struct {
		name string
		want []string
	}{
		{name: "scheduler_pending_pods", want: []string{
			"{queue=active} 3", "{queue=backoff} 1", "{queue=gated} 0", "{queue=unschedulable} 2"}},
		{name: "scheduler_schedule_attempts_total", want: []string{
			"{profile=default-scheduler,result=error} 0", "{profile=default-scheduler,result=scheduled} 2",
			"{profile=default-scheduler,result=unschedulable} 1"}},
		{name: "scheduler_scheduling_attempt_duration_seconds", want: []string{
			"{profile=default-scheduler,result=error} count=0", "{profile=default-scheduler,result=scheduled} count=2",
			"{profile=default-scheduler,result=unschedulable} count=1"}},
		{name: "scheduler_pod_scheduling_sli_duration_seconds", want: []string{"{attempts=1} count=1"}},
		{name: "scheduler_plugin_execution_duration_seconds", want: []string{
			"{extension_point=Filter,plugin=NodeResourcesFit,status=Success} count=2",
			"{extension_point=Filter,plugin=NodeResourcesFit,status=Unschedulable} count=1"}},
		{name: "scheduler_framework_extension_point_duration_seconds", want: []string{
			"{extension_point=Filter,profile=default-scheduler,status=Success} count=1"}},
	}
	for _, tt := range tests {
		if got := series(t, reg, tt.name); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s:\n got  %q\n want %q", tt.name, got, tt.want)
		}
	}
}

func TestRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg, "p", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg, "p", nil); err == nil {
		t.Fatal("registering twice on one registry succeeded")
	}
	if _, err := New(nil, "p", nil); err != nil {
		t.Fatalf("no registry: %v", err)
	}
}
