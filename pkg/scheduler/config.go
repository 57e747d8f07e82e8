package scheduler

import (
	"fmt"
	"os"
	"slices"

	"sigs.k8s.io/yaml"

	"minik8s/pkg/scheduler/framework"
	"minik8s/pkg/scheduler/plugins"
)

// FileConfig is the --config file: the part of Kubernetes'
// KubeSchedulerConfiguration minik8s supports. Unknown fields are errors.
//
//	apiVersion: kubescheduler.config.k8s.io/v1
//	kind: KubeSchedulerConfiguration
//	parallelism: 16
//	percentageOfNodesToScore: 0
//	profiles:
//	- schedulerName: default-scheduler
//	  plugins:
//	    score:
//	      enabled:
//	      - name: BalancedAllocation
//	        weight: 2
//	    filter:
//	      disabled:
//	      - name: NodePorts
type FileConfig struct {
	APIVersion               string          `json:"apiVersion,omitempty"`
	Kind                     string          `json:"kind,omitempty"`
	Parallelism              *int            `json:"parallelism,omitempty"`
	PercentageOfNodesToScore *int32          `json:"percentageOfNodesToScore,omitempty"`
	Profiles                 []ProfileConfig `json:"profiles,omitempty"`
}

// ProfileConfig is one scheduling profile (only one is supported).
type ProfileConfig struct {
	SchedulerName string         `json:"schedulerName,omitempty"`
	Plugins       *PluginsConfig `json:"plugins,omitempty"`
}

// PluginsConfig enables and disables plugins per extension point.
type PluginsConfig struct {
	Filter PluginSet `json:"filter,omitempty"`
	Score  PluginSet `json:"score,omitempty"`
}

// PluginSet changes the default plugins of an extension point: Disabled
// ones are removed ("*" removes all), Enabled ones are added at the end or,
// when already there, get the given weight.
type PluginSet struct {
	Enabled  []PluginConfig `json:"enabled,omitempty"`
	Disabled []PluginConfig `json:"disabled,omitempty"`
}

// PluginConfig names a plugin and, for Score, its weight.
type PluginConfig struct {
	Name   string `json:"name"`
	Weight int64  `json:"weight,omitempty"`
}

// scorePluginName maps kube-scheduler's names of the score plugins to
// ours, so a Kubernetes configuration works.
func scorePluginName(n string) string {
	switch n {
	case "NodeResourcesFit":
		return plugins.NameLeastAllocated
	case "NodeResourcesBalancedAllocation":
		return plugins.NameBalancedAllocation
	}
	return n
}

// LoadConfigFile reads and checks a --config file.
func LoadConfigFile(path string) (*FileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scheduler config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig decodes a --config file's content (YAML or JSON).
func ParseConfig(data []byte) (*FileConfig, error) {
	var fc FileConfig
	if err := yaml.UnmarshalStrict(data, &fc); err != nil {
		return nil, fmt.Errorf("decode scheduler config: %w", err)
	}
	if fc.Kind != "" && fc.Kind != "KubeSchedulerConfiguration" {
		return nil, fmt.Errorf("scheduler config: kind %q, want KubeSchedulerConfiguration", fc.Kind)
	}
	if len(fc.Profiles) > 1 {
		return nil, fmt.Errorf("scheduler config: %d profiles, only one is supported", len(fc.Profiles))
	}
	if _, err := fc.Profile(); err != nil {
		return nil, err
	}
	return &fc, nil
}

// Apply sets the fields of cfg the file sets.
func (fc *FileConfig) Apply(cfg *Config) error {
	if fc.Parallelism != nil {
		cfg.Parallelism = *fc.Parallelism
	}
	if fc.PercentageOfNodesToScore != nil {
		cfg.PercentageOfNodesToScore = *fc.PercentageOfNodesToScore
	}
	if len(fc.Profiles) == 1 && fc.Profiles[0].SchedulerName != "" {
		cfg.SchedulerName = fc.Profiles[0].SchedulerName
	}
	p, err := fc.Profile()
	if err != nil {
		return err
	}
	cfg.Profile = &p
	return nil
}

// Profile is the default profile changed as the file says.
func (fc *FileConfig) Profile() (framework.Profile, error) {
	p := plugins.DefaultProfile()
	if len(fc.Profiles) == 0 || fc.Profiles[0].Plugins == nil {
		return p, nil
	}
	pc := fc.Profiles[0].Plugins
	registry := plugins.NewRegistry()
	name := func(n string, score bool) (string, error) {
		if score {
			n = scorePluginName(n)
		}
		if _, ok := registry[n]; !ok && n != "*" {
			return "", fmt.Errorf("scheduler config: unknown plugin %q", n)
		}
		return n, nil
	}
	for _, d := range pc.Filter.Disabled {
		n, err := name(d.Name, false)
		if err != nil {
			return p, err
		}
		p.Filter = slices.DeleteFunc(p.Filter, func(f string) bool { return n == "*" || f == n })
	}
	for _, e := range pc.Filter.Enabled {
		n, err := name(e.Name, false)
		if err != nil {
			return p, err
		}
		if !slices.Contains(p.Filter, n) {
			p.Filter = append(p.Filter, n)
		}
	}
	for _, d := range pc.Score.Disabled {
		n, err := name(d.Name, true)
		if err != nil {
			return p, err
		}
		p.Score = slices.DeleteFunc(p.Score, func(r framework.PluginRef) bool { return n == "*" || r.Name == n })
	}
	for _, e := range pc.Score.Enabled {
		n, err := name(e.Name, true)
		if err != nil {
			return p, err
		}
		if e.Weight < 0 {
			return p, fmt.Errorf("scheduler config: plugin %s: weight %d must not be negative", n, e.Weight)
		}
		w := max(e.Weight, 1)
		if i := slices.IndexFunc(p.Score, func(r framework.PluginRef) bool { return r.Name == n }); i >= 0 {
			p.Score[i].Weight = w
		} else {
			p.Score = append(p.Score, framework.PluginRef{Name: n, Weight: w})
		}
	}
	if _, err := framework.New(registry, p, nil); err != nil {
		return p, fmt.Errorf("scheduler config: %w", err)
	}
	return p, nil
}
