package framework

import (
	"fmt"
	"time"
)

// Factory builds a plugin.
type Factory func() (Plugin, error)

// Registry maps plugin names to factories: the explicit list of plugins a
// profile may name.
type Registry map[string]Factory

// PluginRef names a plugin in a profile, with its weight (Score only).
type PluginRef struct {
	Name   string
	Weight int64
}

// Profile says which plugins run, in which order, with which weights.
type Profile struct {
	// Filter plugins, run in this order on each node; the first rejection
	// decides the node's reason.
	Filter []string
	// Score plugins with their weights (a weight <= 0 counts as 1).
	Score []PluginRef
}

// Extension point names, as metrics label them.
const (
	ExtensionPreFilter = "PreFilter"
	ExtensionFilter    = "Filter"
	ExtensionScore     = "Score"
)

// PluginRecorder observes plugin durations (in sampled cycles only).
type PluginRecorder interface {
	ObservePluginDuration(plugin, extensionPoint string, code Code, d time.Duration)
}

// Framework runs the plugins of one profile.
type Framework struct {
	preFilter []PreFilterPlugin
	filter    []FilterPlugin
	// filterIndex is the index in filter of each Filter plugin by name.
	filterIndex map[string]int
	score       []ScorePlugin
	weights     []int64
	recorder    PluginRecorder
}

// New builds the plugins p names from r. rec may be nil.
func New(r Registry, p Profile, rec PluginRecorder) (*Framework, error) {
	f := &Framework{recorder: rec, filterIndex: map[string]int{}}
	built := map[string]Plugin{}
	get := func(name string) (Plugin, error) {
		if pl, ok := built[name]; ok {
			return pl, nil
		}
		factory, ok := r[name]
		if !ok {
			return nil, fmt.Errorf("plugin %q is not registered", name)
		}
		pl, err := factory()
		if err != nil {
			return nil, fmt.Errorf("build plugin %s: %w", name, err)
		}
		built[name] = pl
		return pl, nil
	}
	seenPre := map[string]bool{}
	addPre := func(pl Plugin) {
		if pre, ok := pl.(PreFilterPlugin); ok && !seenPre[pl.Name()] {
			seenPre[pl.Name()] = true
			f.preFilter = append(f.preFilter, pre)
		}
	}
	for _, name := range p.Filter {
		pl, err := get(name)
		if err != nil {
			return nil, err
		}
		fp, ok := pl.(FilterPlugin)
		if !ok {
			return nil, fmt.Errorf("plugin %q is not a Filter plugin", name)
		}
		addPre(pl)
		if _, dup := f.filterIndex[name]; dup {
			return nil, fmt.Errorf("filter plugin %q is listed twice", name)
		}
		f.filterIndex[name] = len(f.filter)
		f.filter = append(f.filter, fp)
	}
	for _, ref := range p.Score {
		pl, err := get(ref.Name)
		if err != nil {
			return nil, err
		}
		sp, ok := pl.(ScorePlugin)
		if !ok {
			return nil, fmt.Errorf("plugin %q is not a Score plugin", ref.Name)
		}
		addPre(pl)
		w := ref.Weight
		if w <= 0 {
			w = 1
		}
		f.score = append(f.score, sp)
		f.weights = append(f.weights, w)
	}
	return f, nil
}

// HasScorePlugins says whether there is anything to rank nodes by.
func (f *Framework) HasScorePlugins() bool { return len(f.score) > 0 }

func (f *Framework) observe(state *CycleState, plugin, ep string, st *Status, start time.Time) {
	if f.recorder != nil {
		f.recorder.ObservePluginDuration(plugin, ep, st.Code(), time.Since(start))
	}
}

// RunPreFilterPlugins runs every PreFilter plugin for pod. A rejection or an
// error stops it and is returned, naming its plugin.
func (f *Framework) RunPreFilterPlugins(state *CycleState, pod *PodInfo) *Status {
	for _, pl := range f.preFilter {
		var st *Status
		if state.recordMetrics {
			start := time.Now()
			st = pl.PreFilter(state, pod)
			f.observe(state, pl.Name(), ExtensionPreFilter, st, start)
		} else {
			st = pl.PreFilter(state, pod)
		}
		switch {
		case st.IsSuccess():
		case st.IsSkip():
			if i, ok := f.filterIndex[pl.Name()]; ok {
				if state.skipFilter == nil {
					state.skipFilter = make([]bool, len(f.filter))
				}
				state.skipFilter[i] = true
			}
		default:
			return st.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunFilterPlugins runs the Filter plugins on one node in order and returns
// the first failure (naming its plugin), or nil when the pod fits. timed
// observes each plugin's duration (see CycleState.TimeNode).
func (f *Framework) RunFilterPlugins(state *CycleState, pod *PodInfo, node *NodeInfo, timed bool) *Status {
	for i, pl := range f.filter {
		if state.skipFilter != nil && state.skipFilter[i] {
			continue
		}
		var st *Status
		if timed {
			start := time.Now()
			st = pl.Filter(state, pod, node)
			f.observe(state, pl.Name(), ExtensionFilter, st, start)
		} else {
			st = pl.Filter(state, pod, node)
		}
		if !st.IsSuccess() {
			return st.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunScorePlugins returns the weighted sum of every Score plugin for one
// node; timed observes each plugin's duration.
func (f *Framework) RunScorePlugins(state *CycleState, pod *PodInfo, node *NodeInfo, timed bool) (int64, *Status) {
	var total int64
	for i, pl := range f.score {
		var (
			s  int64
			st *Status
		)
		if timed {
			start := time.Now()
			s, st = pl.Score(state, pod, node)
			f.observe(state, pl.Name(), ExtensionScore, st, start)
		} else {
			s, st = pl.Score(state, pod, node)
		}
		if !st.IsSuccess() {
			return 0, st.WithPlugin(pl.Name())
		}
		s = min(max(s, 0), MaxNodeScore)
		total += s * f.weights[i]
	}
	return total, nil
}
