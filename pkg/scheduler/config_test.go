package scheduler

import (
	"fmt"
	"testing"

	"minik8s/pkg/scheduler/plugins"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name      string
		give      string
		wantScore string // fmt of the score plugins
		wantFilt  int    // number of filters
		wantErr   bool
	}{
		{name: "empty", give: "", wantScore: "[{LeastAllocated 1} {BalancedAllocation 1}]", wantFilt: 7},
		{name: "weights", give: `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      enabled:
      - name: BalancedAllocation
        weight: 3
`, wantScore: "[{LeastAllocated 1} {BalancedAllocation 3}]", wantFilt: 7},
		{name: "Kubernetes names", give: `
profiles:
- plugins:
    score:
      enabled:
      - name: NodeResourcesBalancedAllocation
        weight: 2
      disabled:
      - name: NodeResourcesFit
`, wantScore: "[{BalancedAllocation 2}]", wantFilt: 7},
		{name: "disable a filter", give: `
profiles:
- plugins:
    filter:
      disabled:
      - name: NodePorts
`, wantScore: "[{LeastAllocated 1} {BalancedAllocation 1}]", wantFilt: 6},
		{name: "disable all scores", give: `
profiles:
- plugins:
    score:
      disabled:
      - name: "*"
`, wantScore: "[]", wantFilt: 7},
		{name: "unknown field", give: "profiles:\n- plugin: {}\n", wantErr: true},
		{name: "unknown plugin", give: "profiles:\n- plugins:\n    score:\n      enabled:\n      - name: Nope\n", wantErr: true},
		{name: "two profiles", give: "profiles:\n- schedulerName: a\n- schedulerName: b\n", wantErr: true},
		{name: "wrong kind", give: "kind: Pod\n", wantErr: true},
		{name: "negative weight", give: "profiles:\n- plugins:\n    score:\n      enabled:\n      - name: LeastAllocated\n        weight: -1\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc, err := ParseConfig([]byte(tt.give))
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := fc.Profile()
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(p.Score); got != tt.wantScore {
				t.Errorf("score = %s, want %s", got, tt.wantScore)
			}
			if len(p.Filter) != tt.wantFilt {
				t.Errorf("filters = %v", p.Filter)
			}
		})
	}
}

func TestConfigApply(t *testing.T) {
	fc, err := ParseConfig([]byte("parallelism: 4\npercentageOfNodesToScore: 30\nprofiles:\n- schedulerName: mine\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Parallelism: 16}
	if err := fc.Apply(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Parallelism != 4 || cfg.PercentageOfNodesToScore != 30 || cfg.SchedulerName != "mine" || cfg.Profile == nil ||
		cfg.Profile.Filter[0] != plugins.NameNodeUnschedulable {
		t.Fatalf("cfg = %+v", cfg)
	}
}
