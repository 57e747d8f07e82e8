// Package nodestatus keeps a node's presence at the apiserver: it registers
// the Node (adopting one that already exists), renews the node's Lease in
// kube-node-lease, and posts the node's status — capacity, addresses,
// system info and the Ready condition — when it changes and at every
// status update period, as Kubernetes' kubelet does.
//
// Every call to the apiserver may fail (it may be away for minutes): the
// loops retry with a backoff and never give up while their context lives.
package nodestatus

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
)

// NodeLeaseNamespace is where node Leases live.
const NodeLeaseNamespace = "kube-node-lease"

// Defaults of Config, Kubernetes' numbers.
const (
	DefaultStatusUpdateFrequency = 10 * time.Second
	DefaultLeaseDuration         = 40 * time.Second
	// DefaultHealthCheckInterval is how often the runtime's health is
	// checked, so that Ready flips within about a second.
	DefaultHealthCheckInterval = time.Second
	registerBackoffInitial     = 100 * time.Millisecond
	registerBackoffMax         = 7 * time.Second
	callTimeout                = 10 * time.Second
)

// Condition reasons and messages, as Kubernetes' kubelet writes them.
const (
	ReasonKubeletReady    = "KubeletReady"
	ReasonKubeletNotReady = "KubeletNotReady"
	MessageReady          = "kubelet is posting ready status"
)

// NodeClient is what the package needs of the nodes API
// (client.Resource[*v1.Node] satisfies it).
type NodeClient interface {
	Create(ctx context.Context, node *v1.Node) (*v1.Node, error)
	Get(ctx context.Context, namespace, name string) (*v1.Node, error)
	Update(ctx context.Context, node *v1.Node) (*v1.Node, error)
	UpdateStatus(ctx context.Context, node *v1.Node) (*v1.Node, error)
}

// LeaseClient is what the package needs of the leases API.
type LeaseClient interface {
	Create(ctx context.Context, lease *v1.Lease) (*v1.Lease, error)
	Get(ctx context.Context, namespace, name string) (*v1.Lease, error)
	Update(ctx context.Context, lease *v1.Lease) (*v1.Lease, error)
}

// Config describes the node.
type Config struct {
	NodeName string
	Nodes    NodeClient
	Leases   LeaseClient
	// Labels of the node (kubernetes.io/hostname, os, arch and
	// --node-labels); they are added to an existing Node's labels.
	Labels map[string]string
	// Taints registered with a new Node (--register-with-taints).
	Taints []*v1.Taint
	// PodCIDR is set on a new Node (--pod-cidr); the controller-manager may
	// assign one later.
	PodCIDR string
	// Addresses of the node (InternalIP, Hostname).
	Addresses []*v1.NodeAddress
	// Capacity and Allocatable in Kubernetes quantities ("cpu": "8").
	Capacity    map[string]string
	Allocatable map[string]string
	// NodeInfo is the system info; ContainerRuntimeVersion is filled from
	// RuntimeVersion when it answers.
	NodeInfo *v1.NodeSystemInfo
	// KubeletPort is daemonEndpoints.kubeletEndpoint.Port.
	KubeletPort int32
	// Health reports the container runtime's health: an error makes the
	// node NotReady with the error in the message.
	Health func(ctx context.Context) error
	// RuntimeVersion is e.g. "docker://20.10.24".
	RuntimeVersion func(ctx context.Context) (string, error)
	// OnNode is called with every Node the apiserver returns (to learn
	// spec.podCIDR); it must not block.
	OnNode func(node *v1.Node)
	// StatusUpdateFrequency (--node-status-update-frequency): the status is
	// posted at least this often; default DefaultStatusUpdateFrequency.
	StatusUpdateFrequency time.Duration
	// HealthCheckInterval: how often Health is asked; default
	// DefaultHealthCheckInterval.
	HealthCheckInterval time.Duration
	// LeaseDuration is the Lease's leaseDurationSeconds; it is renewed
	// every quarter of it (10 s for the default 40 s).
	LeaseDuration time.Duration
	Clock         clockwork.Clock
	Logger        *zap.Logger
}

// Manager registers the node and keeps its Lease and status fresh.
type Manager struct {
	cfg Config
	lg  *zap.Logger
	clk clockwork.Clock

	mu         sync.Mutex
	node       *v1.Node // the last Node the apiserver returned
	lastPosted *v1.NodeStatus
	lastPostAt time.Time
	lease      *v1.Lease
	registered chan struct{}
	regOnce    sync.Once
	poke       chan struct{}
}

// New validates cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.NodeName == "" {
		return nil, errdefs.Invalid("node status: node name is required")
	}
	if cfg.Nodes == nil || cfg.Leases == nil {
		return nil, errdefs.Invalid("node status: node and lease clients are required")
	}
	if cfg.StatusUpdateFrequency <= 0 {
		cfg.StatusUpdateFrequency = DefaultStatusUpdateFrequency
	}
	if cfg.HealthCheckInterval <= 0 {
		cfg.HealthCheckInterval = DefaultHealthCheckInterval
	}
	if cfg.HealthCheckInterval > cfg.StatusUpdateFrequency {
		cfg.HealthCheckInterval = cfg.StatusUpdateFrequency
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = DefaultLeaseDuration
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Health == nil {
		cfg.Health = func(context.Context) error { return nil }
	}
	return &Manager{
		cfg:        cfg,
		lg:         cfg.Logger.Named("nodestatus").With(zap.String("node", cfg.NodeName)),
		clk:        cfg.Clock,
		registered: make(chan struct{}),
		poke:       make(chan struct{}, 1),
	}, nil
}

// Registered is closed once the Node exists at the apiserver.
func (m *Manager) Registered() <-chan struct{} { return m.registered }

// Node returns the last Node the apiserver returned (nil before
// registration). Callers must not change it.
func (m *Manager) Node() *v1.Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.node
}

// Poke asks for a status check now (e.g. the runtime's health changed).
func (m *Manager) Poke() {
	select {
	case m.poke <- struct{}{}:
	default:
	}
}

// RenewInterval is how often the Lease is renewed: a quarter of its
// duration, 10 s by default.
func (m *Manager) RenewInterval() time.Duration { return m.cfg.LeaseDuration / 4 }

// Run registers the node, then renews the Lease and posts the status until
// ctx ends. It returns nil when ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	if !m.register(ctx) {
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() { m.leaseLoop(ctx) })
	wg.Go(func() { m.statusLoop(ctx) })
	wg.Wait()
	return nil
}

// register creates or adopts the Node, retrying with a backoff; false when
// ctx ended first.
func (m *Manager) register(ctx context.Context) bool {
	backoff := registerBackoffInitial
	for {
		err := m.tryRegister(ctx)
		if err == nil {
			m.regOnce.Do(func() { close(m.registered) })
			m.lg.Info("Registered node")
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		m.lg.Warn("Unable to register node with the apiserver", zap.Error(err), zap.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
			return false
		case <-m.clk.After(backoff):
		}
		backoff = min(2*backoff, registerBackoffMax)
	}
}

// initialNode is the Node this kubelet registers.
func (m *Manager) initialNode(ctx context.Context) *v1.Node {
	n := &v1.Node{
		ApiVersion: "v1",
		Kind:       "Node",
		Metadata: &v1.ObjectMeta{
			Name:   m.cfg.NodeName,
			Labels: maps.Clone(m.cfg.Labels),
		},
		Spec: &v1.NodeSpec{},
	}
	for _, t := range m.cfg.Taints {
		n.Spec.Taints = append(n.Spec.Taints, proto.Clone(t).(*v1.Taint))
	}
	if m.cfg.PodCIDR != "" {
		n.Spec.PodCidr = m.cfg.PodCIDR
		n.Spec.PodCidrs = []string{m.cfg.PodCIDR}
	}
	n.Status = m.desiredStatus(ctx, nil)
	return n
}

func (m *Manager) tryRegister(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	want := m.initialNode(cctx)
	created, err := m.cfg.Nodes.Create(cctx, want)
	if err == nil {
		// Create keeps no status on some servers: post it too.
		m.setNode(created)
		return m.postStatus(ctx, true)
	}
	if !errdefs.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", m.cfg.NodeName, err)
	}
	// The Node exists (this kubelet ran before, or an admin made it): adopt
	// it, adding our labels, and the pod CIDR when it has none.
	existing, err := m.cfg.Nodes.Get(cctx, "", m.cfg.NodeName)
	if err != nil {
		return fmt.Errorf("get existing node %s: %w", m.cfg.NodeName, err)
	}
	upd := proto.Clone(existing).(*v1.Node)
	md := upd.GetMetadata()
	changed := false
	if md.Labels == nil {
		md.Labels = map[string]string{}
	}
	for k, v := range m.cfg.Labels {
		if md.Labels[k] != v {
			md.Labels[k] = v
			changed = true
		}
	}
	if upd.Spec == nil {
		upd.Spec = &v1.NodeSpec{}
	}
	if upd.Spec.PodCidr == "" && m.cfg.PodCIDR != "" {
		upd.Spec.PodCidr = m.cfg.PodCIDR
		upd.Spec.PodCidrs = []string{m.cfg.PodCIDR}
		changed = true
	}
	if changed {
		if existing, err = m.cfg.Nodes.Update(cctx, upd); err != nil {
			return fmt.Errorf("update existing node %s: %w", m.cfg.NodeName, err)
		}
	}
	m.setNode(existing)
	return m.postStatus(ctx, true)
}

func (m *Manager) setNode(n *v1.Node) {
	m.mu.Lock()
	m.node = n
	m.mu.Unlock()
	if m.cfg.OnNode != nil && n != nil {
		m.cfg.OnNode(n)
	}
}

// desiredStatus computes the node's status; old (may be nil) supplies the
// conditions' transition times.
func (m *Manager) desiredStatus(ctx context.Context, old *v1.NodeStatus) *v1.NodeStatus {
	now := timestamppb.New(m.clk.Now().Truncate(time.Second))
	st := &v1.NodeStatus{
		Capacity:    maps.Clone(m.cfg.Capacity),
		Allocatable: maps.Clone(m.cfg.Allocatable),
		DaemonEndpoints: &v1.NodeDaemonEndpoints{
			KubeletEndpoint: &v1.DaemonEndpoint{Port: m.cfg.KubeletPort},
		},
	}
	for _, a := range m.cfg.Addresses {
		st.Addresses = append(st.Addresses, proto.Clone(a).(*v1.NodeAddress))
	}
	info := &v1.NodeSystemInfo{}
	if m.cfg.NodeInfo != nil {
		info = proto.Clone(m.cfg.NodeInfo).(*v1.NodeSystemInfo)
	}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	healthErr := m.cfg.Health(hctx)
	if healthErr == nil && m.cfg.RuntimeVersion != nil {
		if v, err := m.cfg.RuntimeVersion(hctx); err == nil {
			info.ContainerRuntimeVersion = v
		}
	}
	if info.ContainerRuntimeVersion == "" && old != nil {
		info.ContainerRuntimeVersion = old.GetNodeInfo().GetContainerRuntimeVersion()
	}
	st.NodeInfo = info

	ready := &v1.Condition{Type: "Ready", Status: "True", Reason: ReasonKubeletReady, Message: MessageReady}
	if healthErr != nil {
		ready.Status = "False"
		ready.Reason = ReasonKubeletNotReady
		ready.Message = "container runtime is down: " + healthErr.Error()
	}
	conds := []*v1.Condition{
		{Type: "MemoryPressure", Status: "False", Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: "DiskPressure", Status: "False", Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: "PIDPressure", Status: "False", Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		ready,
	}
	for _, c := range conds {
		c.LastHeartbeatTime = now
		c.LastTransitionTime = now
		for _, oc := range old.GetConditions() {
			if oc.GetType() == c.Type && oc.GetStatus() == c.Status && oc.GetLastTransitionTime() != nil {
				c.LastTransitionTime = oc.GetLastTransitionTime()
			}
		}
	}
	st.Conditions = conds
	return st
}

// withoutHeartbeats is st with the heartbeat times cleared, to compare
// statuses for a real change.
func withoutHeartbeats(st *v1.NodeStatus) *v1.NodeStatus {
	if st == nil {
		return nil
	}
	c := proto.Clone(st).(*v1.NodeStatus)
	for _, cond := range c.Conditions {
		cond.LastHeartbeatTime = nil
	}
	return c
}

// postStatus writes the status when it changed or force is set, redoing
// the read-modify-write on a conflict.
func (m *Manager) postStatus(ctx context.Context, force bool) error {
	m.mu.Lock()
	node := m.node
	m.mu.Unlock()
	for attempt := 0; ; attempt++ {
		var old *v1.NodeStatus
		if node != nil {
			old = node.GetStatus()
		}
		want := m.desiredStatus(ctx, old)
		m.mu.Lock()
		same := m.lastPosted != nil && proto.Equal(withoutHeartbeats(m.lastPosted), withoutHeartbeats(want))
		m.mu.Unlock()
		if same && !force {
			return nil
		}
		if node == nil {
			return errdefs.Precondition("node %s is not registered", m.cfg.NodeName)
		}
		upd := proto.Clone(node).(*v1.Node)
		upd.Status = want
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		got, err := m.cfg.Nodes.UpdateStatus(cctx, upd)
		cancel()
		if err == nil {
			m.setNode(got)
			m.mu.Lock()
			m.lastPosted = want
			m.lastPostAt = m.clk.Now()
			m.mu.Unlock()
			if !same {
				m.lg.Debug("Posted node status", zap.String("ready", readyOf(want)))
			}
			return nil
		}
		if attempt >= 4 || !(errdefs.IsConflict(err) || errdefs.IsNotFound(err)) {
			return fmt.Errorf("update status of node %s: %w", m.cfg.NodeName, err)
		}
		// Conflict: read the latest and try again. NotFound: the Node was
		// deleted; register it again.
		cctx, cancel = context.WithTimeout(ctx, callTimeout)
		if errdefs.IsNotFound(err) {
			err = m.tryRecreate(cctx)
			cancel()
			return err
		}
		latest, gerr := m.cfg.Nodes.Get(cctx, "", m.cfg.NodeName)
		cancel()
		if gerr != nil {
			return fmt.Errorf("get node %s after a conflict: %w", m.cfg.NodeName, gerr)
		}
		m.setNode(latest)
		node = latest
		force = true
	}
}

func (m *Manager) tryRecreate(ctx context.Context) error {
	m.lg.Warn("Node was deleted at the apiserver; registering it again")
	return m.tryRegister(ctx)
}

func readyOf(st *v1.NodeStatus) string {
	for _, c := range st.GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus()
		}
	}
	return "Unknown"
}

// statusLoop checks the runtime's health every HealthCheckInterval and
// posts the status when it changed, and at least every
// StatusUpdateFrequency.
func (m *Manager) statusLoop(ctx context.Context) {
	t := m.clk.NewTicker(m.cfg.HealthCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
		case <-m.poke:
		}
		m.mu.Lock()
		due := m.clk.Since(m.lastPostAt) >= m.cfg.StatusUpdateFrequency
		m.mu.Unlock()
		if err := m.postStatus(ctx, due); err != nil && ctx.Err() == nil {
			m.lg.Warn("Unable to update node status", zap.Error(err))
		}
	}
}

// leaseLoop renews the Lease every RenewInterval; after a failure it
// retries sooner (200 ms doubling up to the interval).
func (m *Manager) leaseLoop(ctx context.Context) {
	interval := m.RenewInterval()
	retry := 200 * time.Millisecond
	for {
		next := interval
		if err := m.renewLease(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			m.lg.Warn("Unable to renew the node lease", zap.Error(err))
			next = retry
			retry = min(2*retry, interval)
		} else {
			retry = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-m.clk.After(next):
		}
	}
}

// renewLease creates the Lease or moves its renewTime to now.
func (m *Manager) renewLease(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	now := timestamppb.New(m.clk.Now())
	secs := int32(m.cfg.LeaseDuration / time.Second)
	m.mu.Lock()
	cur := m.lease
	m.mu.Unlock()
	if cur == nil {
		got, err := m.cfg.Leases.Get(cctx, NodeLeaseNamespace, m.cfg.NodeName)
		switch {
		case errdefs.IsNotFound(err):
			l := &v1.Lease{
				ApiVersion: "coordination.k8s.io/v1",
				Kind:       "Lease",
				Metadata:   &v1.ObjectMeta{Name: m.cfg.NodeName, Namespace: NodeLeaseNamespace},
				Spec: &v1.LeaseSpec{
					HolderIdentity:       m.cfg.NodeName,
					LeaseDurationSeconds: secs,
					AcquireTime:          now,
					RenewTime:            now,
				},
			}
			if n := m.Node(); n != nil && n.GetMetadata().GetUid() != "" {
				ctrl := false
				l.Metadata.OwnerReferences = []*v1.OwnerReference{{
					ApiVersion: "v1", Kind: "Node", Name: m.cfg.NodeName, Uid: n.GetMetadata().GetUid(), Controller: &ctrl,
				}}
			}
			created, err := m.cfg.Leases.Create(cctx, l)
			if err != nil {
				return fmt.Errorf("create lease %s/%s: %w", NodeLeaseNamespace, m.cfg.NodeName, err)
			}
			m.setLease(created)
			return nil
		case err != nil:
			return fmt.Errorf("get lease %s/%s: %w", NodeLeaseNamespace, m.cfg.NodeName, err)
		}
		cur = got
	}
	upd := proto.Clone(cur).(*v1.Lease)
	if upd.Spec == nil {
		upd.Spec = &v1.LeaseSpec{}
	}
	upd.Spec.HolderIdentity = m.cfg.NodeName
	upd.Spec.LeaseDurationSeconds = secs
	upd.Spec.RenewTime = now
	got, err := m.cfg.Leases.Update(cctx, upd)
	if err != nil {
		// Read it again next time (conflict, deleted, ...).
		m.setLease(nil)
		return fmt.Errorf("renew lease %s/%s: %w", NodeLeaseNamespace, m.cfg.NodeName, err)
	}
	m.setLease(got)
	return nil
}

func (m *Manager) setLease(l *v1.Lease) {
	m.mu.Lock()
	m.lease = l
	m.mu.Unlock()
}

// ParseTaints parses --register-with-taints: "key[=value]:Effect,...".
func ParseTaints(s string) ([]*v1.Taint, error) {
	var out []*v1.Taint
	if s == "" {
		return nil, nil
	}
	for _, part := range splitComma(s) {
		i := strings.LastIndex(part, ":")
		if i < 0 {
			return nil, errdefs.Invalid("invalid taint %q: want key[=value]:Effect", part)
		}
		kv, effect, ok := part[:i], part[i+1:], true
		if !ok || effect == "" {
			return nil, errdefs.Invalid("invalid taint %q: want key[=value]:Effect", part)
		}
		switch effect {
		case "NoSchedule", "PreferNoSchedule", "NoExecute":
		default:
			return nil, errdefs.Invalid("invalid taint %q: effect must be NoSchedule, PreferNoSchedule or NoExecute", part)
		}
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, errdefs.Invalid("invalid taint %q: empty key", part)
		}
		out = append(out, &v1.Taint{Key: k, Value: v, Effect: effect})
	}
	return out, nil
}

// ParseLabels parses --node-labels: "k=v,k2=v2".
func ParseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, part := range splitComma(s) {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return nil, errdefs.Invalid("invalid node label %q: want key=value", part)
		}
		out[k] = v
	}
	return out, nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
