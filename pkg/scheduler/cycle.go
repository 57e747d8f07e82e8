package scheduler

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"minik8s/pkg/scheduler/framework"
)

// Kubernetes' bounds on how many feasible nodes a cycle looks for.
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// numFeasibleNodesToFind is how many feasible nodes a cycle looks for
// before it stops filtering, as kube-scheduler: every node below 100;
// otherwise percentage of them (0 means the adaptive 50 - nodes/125, at
// least 5%), and never fewer than 100.
func numFeasibleNodesToFind(percentage int32, numAllNodes int) int {
	if numAllNodes < minFeasibleNodesToFind || percentage >= 100 {
		return numAllNodes
	}
	if percentage <= 0 {
		percentage = int32(50 - numAllNodes/125)
		if percentage < minFeasibleNodesPercentageToFind {
			percentage = minFeasibleNodesPercentageToFind
		}
	}
	n := numAllNodes * int(percentage) / 100
	if n < minFeasibleNodesToFind {
		return minFeasibleNodesToFind
	}
	return n
}

// ScheduleResult is a cycle's decision.
type ScheduleResult struct {
	// SuggestedHost is the chosen node.
	SuggestedHost string
	// EvaluatedNodes were filtered; FeasibleNodes of them fit.
	EvaluatedNodes int
	FeasibleNodes  int
}

// algorithm decides where one pod goes: a pure function of a snapshot and
// a pod, apart from the rotating start index and the random tie-breaks it
// keeps between cycles. It is used by one goroutine at a time.
type algorithm struct {
	fw                       *framework.Framework
	parallelizer             framework.Parallelizer
	percentageOfNodesToScore int32
	rng                      *rand.Rand
	// nextStartNodeIndex rotates where filtering starts, so that early
	// stops do not always favour the same nodes.
	nextStartNodeIndex int

	// observe, when set, observes the duration of each extension point.
	observe func(ep string, code framework.Code, d time.Duration)

	// Buffers reused across cycles.
	feasible []*framework.NodeInfo
	statuses []*framework.Status
	scores   []int64
}

func newAlgorithm(fw *framework.Framework, parallelism int, percentage int32, rng *rand.Rand) *algorithm {
	return &algorithm{fw: fw, parallelizer: framework.NewParallelizer(parallelism), percentageOfNodesToScore: percentage, rng: rng}
}

// schedulePod chooses a node for pod from the nodes of snap. It returns a
// *framework.FitError when no node fits, framework.ErrNoNodesAvailable when
// there are no nodes, and another error when a plugin failed.
func (a *algorithm) schedulePod(state *framework.CycleState, snap framework.NodeInfoLister, pod *framework.PodInfo) (ScheduleResult, error) {
	nodes := snap.List()
	if len(nodes) == 0 {
		return ScheduleResult{}, framework.ErrNoNodesAvailable
	}
	t0 := time.Now()
	st := a.fw.RunPreFilterPlugins(state, pod)
	a.observeSince(framework.ExtensionPreFilter, st.Code(), t0)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return ScheduleResult{}, st.AsError()
		}
		return ScheduleResult{}, &framework.FitError{
			PodKey:      pod.Key,
			NumAllNodes: len(nodes),
			Diagnosis: framework.Diagnosis{
				PreFilterMsg:         st.Message(),
				UnschedulablePlugins: map[string]bool{st.Plugin(): true},
			},
		}
	}
	t0 = time.Now()
	feasible, evaluated, err := a.findFeasible(state, pod, nodes)
	switch {
	case err != nil:
		a.observeSince(framework.ExtensionFilter, framework.Error, t0)
		return ScheduleResult{}, err
	case len(feasible) == 0:
		a.observeSince(framework.ExtensionFilter, framework.Unschedulable, t0)
	default:
		a.observeSince(framework.ExtensionFilter, framework.Success, t0)
	}
	if len(feasible) == 0 {
		diag := framework.Diagnosis{NodeToStatus: make(map[string]*framework.Status, len(nodes)), UnschedulablePlugins: map[string]bool{}}
		for i, st := range a.statuses[:len(nodes)] {
			if st != nil {
				diag.NodeToStatus[nodes[i].Name()] = st
				diag.UnschedulablePlugins[st.Plugin()] = true
			}
		}
		return ScheduleResult{}, &framework.FitError{PodKey: pod.Key, NumAllNodes: len(nodes), Diagnosis: diag}
	}
	res := ScheduleResult{EvaluatedNodes: evaluated, FeasibleNodes: len(feasible)}
	if len(feasible) == 1 || !a.fw.HasScorePlugins() {
		res.SuggestedHost = feasible[0].Name()
		return res, nil
	}
	t0 = time.Now()
	host, err := a.prioritize(state, pod, feasible)
	if err != nil {
		a.observeSince(framework.ExtensionScore, framework.Error, t0)
		return ScheduleResult{}, err
	}
	a.observeSince(framework.ExtensionScore, framework.Success, t0)
	res.SuggestedHost = host
	return res, nil
}

func (a *algorithm) observeSince(ep string, code framework.Code, start time.Time) {
	if a.observe != nil {
		a.observe(ep, code, time.Since(start))
	}
}

// findFeasible filters nodes in parallel, starting at the rotating index,
// until enough nodes fit. a.statuses[i] is the rejection of nodes[i] (nil
// when it fit or was not evaluated).
func (a *algorithm) findFeasible(state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo) ([]*framework.NodeInfo, int, error) {
	n := len(nodes)
	want := numFeasibleNodesToFind(a.percentageOfNodesToScore, n)
	if cap(a.feasible) < want {
		a.feasible = make([]*framework.NodeInfo, want)
	}
	feasible := a.feasible[:want]
	if cap(a.statuses) < n {
		a.statuses = make([]*framework.Status, n)
	}
	statuses := a.statuses[:n]
	clear(statuses)
	var (
		found     atomic.Int64
		rejected  atomic.Int64
		errOnce   sync.Once
		firstErr  error
		start     = a.nextStartNodeIndex % n
		wantCount = int64(want)
	)
	a.parallelizer.Until(n, func(i int) bool {
		idx := (start + i) % n
		st := a.fw.RunFilterPlugins(state, pod, nodes[idx], state.TimeNode(i))
		switch {
		case st.IsSuccess():
			k := found.Add(1)
			if k > wantCount {
				return false
			}
			feasible[k-1] = nodes[idx]
			return k < wantCount
		case st.IsRejected():
			statuses[idx] = st
			rejected.Add(1)
			return true
		default:
			errOnce.Do(func() { firstErr = st.AsError() })
			return false
		}
	})
	if firstErr != nil {
		return nil, 0, firstErr
	}
	got := int(min(found.Load(), wantCount))
	evaluated := got + int(rejected.Load())
	a.nextStartNodeIndex = (start + evaluated) % n
	return feasible[:got], evaluated, nil
}

// prioritize scores the feasible nodes and picks one of the best at
// random (reservoir sampling).
func (a *algorithm) prioritize(state *framework.CycleState, pod *framework.PodInfo, feasible []*framework.NodeInfo) (string, error) {
	if cap(a.scores) < len(feasible) {
		a.scores = make([]int64, len(feasible))
	}
	scores := a.scores[:len(feasible)]
	var (
		errOnce  sync.Once
		firstErr error
	)
	a.parallelizer.Until(len(feasible), func(i int) bool {
		s, st := a.fw.RunScorePlugins(state, pod, feasible[i], state.TimeNode(i))
		if !st.IsSuccess() {
			errOnce.Do(func() { firstErr = st.AsError() })
			return false
		}
		scores[i] = s
		return true
	})
	if firstErr != nil {
		return "", firstErr
	}
	best, count := 0, 1
	for i := 1; i < len(scores); i++ {
		switch {
		case scores[i] > scores[best]:
			best, count = i, 1
		case scores[i] == scores[best]:
			count++
			if a.rng.IntN(count) == 0 {
				best = i
			}
		}
	}
	return feasible[best].Name(), nil
}
