// Package defaults fills the fields of API objects that Kubernetes defaults
// when a client leaves them empty: a pod's restartPolicy, imagePullPolicy,
// probe timings, a Deployment's rolling-update strategy and so on. The
// apiserver runs it on every create and update before validation; other
// components may run it on objects they build (pod templates, static pods)
// to see them as the apiserver will.
//
// Defaulting is idempotent and only ever fills empty fields; it never
// overwrites what a client set. Metadata (namespace, uid, timestamps) and
// status are the apiserver's business and are not touched here, except where
// Kubernetes' own defaulters do so (Namespace status phase, Node allocatable).
package defaults

import (
	"github.com/distribution/reference"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

// Kubernetes' default values.
const (
	RestartPolicyAlways           = "Always"
	DNSClusterFirst               = "ClusterFirst"
	DefaultSchedulerName          = "default-scheduler"
	TerminationGracePeriodSeconds = int64(30)
	PullAlways                    = "Always"
	PullIfNotPresent              = "IfNotPresent"
	TerminationMessagePath        = "/dev/termination-log"
	TerminationMessagePolicyFile  = "File"
	ProtocolTCP                   = "TCP"
	ProbeTimeoutSeconds           = int32(1)
	ProbePeriodSeconds            = int32(10)
	ProbeSuccessThreshold         = int32(1)
	ProbeFailureThreshold         = int32(3)
	HTTPGetPath                   = "/"
	SchemeHTTP                    = "HTTP"
	DefaultReplicas               = int32(1)
	StrategyRollingUpdate         = "RollingUpdate"
	MaxSurge                      = "25%"
	MaxUnavailable                = "25%"
	RevisionHistoryLimit          = int32(10)
	ProgressDeadlineSeconds       = int32(600)
	NamespaceActive               = "Active"
	EventTypeNormal               = "Normal"
	SecretTypeOpaque              = "Opaque"
)

// Default fills the defaults of obj in place. Objects of kinds without
// defaults, and nil objects, are left alone.
func Default(obj apis.Object) {
	switch o := obj.(type) {
	case *v1.Pod:
		if o == nil {
			return
		}
		if o.Spec == nil {
			o.Spec = &v1.PodSpec{}
		}
		DefaultPodSpec(o.Spec)
		defaultRequestsFromLimits(o.Spec.Containers)
		defaultRequestsFromLimits(o.Spec.InitContainers)
	case *v1.ReplicaSet:
		if o == nil {
			return
		}
		if o.Spec == nil {
			o.Spec = &v1.ReplicaSetSpec{}
		}
		if o.Spec.Replicas == nil {
			o.Spec.Replicas = ptr(DefaultReplicas)
		}
		defaultTemplate(o.Spec.Template)
	case *v1.Deployment:
		if o == nil {
			return
		}
		defaultDeployment(o)
	case *v1.Node:
		if o == nil {
			return
		}
		defaultNode(o)
	case *v1.Namespace:
		if o == nil {
			return
		}
		if o.Status == nil {
			o.Status = &v1.NamespaceStatus{}
		}
		if o.Status.Phase == "" {
			o.Status.Phase = NamespaceActive
		}
	case *v1.Event:
		if o == nil {
			return
		}
		if o.Type == "" {
			o.Type = EventTypeNormal
		}
		if o.Count == 0 {
			o.Count = 1
		}
	case *v1.Secret:
		if o == nil {
			return
		}
		if o.Type == "" {
			o.Type = SecretTypeOpaque
		}
	}
}

// DefaultPodSpec fills the defaults of a pod spec, as Kubernetes does for
// pods and for the pod templates of workloads. (Requests copied from limits
// are a pod-only default, done by Default.)
func DefaultPodSpec(spec *v1.PodSpec) {
	if spec == nil {
		return
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = RestartPolicyAlways
	}
	if spec.DnsPolicy == "" {
		spec.DnsPolicy = DNSClusterFirst
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = DefaultSchedulerName
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptr(TerminationGracePeriodSeconds)
	}
	for _, c := range spec.InitContainers {
		defaultContainer(c, spec.HostNetwork)
	}
	for _, c := range spec.Containers {
		defaultContainer(c, spec.HostNetwork)
	}
	for _, vol := range spec.Volumes {
		if vol == nil {
			continue
		}
		// A volume with no source is an emptyDir.
		if vol.EmptyDir == nil && vol.HostPath == nil && vol.ConfigMap == nil {
			vol.EmptyDir = &v1.EmptyDirVolumeSource{}
		}
	}
}

func defaultContainer(c *v1.Container, hostNetwork bool) {
	if c == nil {
		return
	}
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = PullPolicyFor(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = TerminationMessagePath
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = TerminationMessagePolicyFile
	}
	for _, p := range c.Ports {
		if p == nil {
			continue
		}
		if p.Protocol == "" {
			p.Protocol = ProtocolTCP
		}
		// On the host's network a container port is a host port.
		if hostNetwork && p.HostPort == 0 {
			p.HostPort = p.ContainerPort
		}
	}
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
}

// PullPolicyFor is Kubernetes' default imagePullPolicy for an image: Always
// when the tag is "latest" or there is neither tag nor digest, else
// IfNotPresent. A reference that does not parse gets IfNotPresent, and
// validation reports it.
func PullPolicyFor(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return PullIfNotPresent
	}
	tag := ""
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	_, digested := named.(reference.Digested)
	if tag == "latest" || (tag == "" && !digested) {
		return PullAlways
	}
	return PullIfNotPresent
}

func defaultProbe(p *v1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = ProbeTimeoutSeconds
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = ProbePeriodSeconds
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = ProbeSuccessThreshold
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = ProbeFailureThreshold
	}
	if h := p.HttpGet; h != nil {
		if h.Path == "" {
			h.Path = HTTPGetPath
		}
		if h.Scheme == "" {
			h.Scheme = SchemeHTTP
		}
	}
}

// defaultRequestsFromLimits copies each limit without a request into the
// requests, as Kubernetes does for pods.
func defaultRequestsFromLimits(cs []*v1.Container) {
	for _, c := range cs {
		if c == nil || c.Resources == nil || len(c.Resources.Limits) == 0 {
			continue
		}
		if c.Resources.Requests == nil {
			c.Resources.Requests = make(map[string]string, len(c.Resources.Limits))
		}
		for k, v := range c.Resources.Limits {
			if _, ok := c.Resources.Requests[k]; !ok {
				c.Resources.Requests[k] = v
			}
		}
	}
}

func defaultTemplate(t *v1.PodTemplateSpec) {
	if t == nil {
		return
	}
	if t.Spec == nil {
		t.Spec = &v1.PodSpec{}
	}
	DefaultPodSpec(t.Spec)
}

func defaultDeployment(d *v1.Deployment) {
	if d.Spec == nil {
		d.Spec = &v1.DeploymentSpec{}
	}
	s := d.Spec
	if s.Replicas == nil {
		s.Replicas = ptr(DefaultReplicas)
	}
	if s.Strategy == nil {
		s.Strategy = &v1.DeploymentStrategy{}
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = StrategyRollingUpdate
	}
	if s.Strategy.Type == StrategyRollingUpdate {
		if s.Strategy.RollingUpdate == nil {
			s.Strategy.RollingUpdate = &v1.RollingUpdateDeployment{}
		}
		ru := s.Strategy.RollingUpdate
		if ru.MaxUnavailable == "" {
			ru.MaxUnavailable = MaxUnavailable
		}
		if ru.MaxSurge == "" {
			ru.MaxSurge = MaxSurge
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = ptr(RevisionHistoryLimit)
	}
	if s.ProgressDeadlineSeconds == nil {
		s.ProgressDeadlineSeconds = ptr(ProgressDeadlineSeconds)
	}
	defaultTemplate(s.Template)
}

func defaultNode(n *v1.Node) {
	// Allocatable defaults to capacity, as Kubernetes does.
	st := n.Status
	if st == nil || len(st.Capacity) == 0 || len(st.Allocatable) != 0 {
		return
	}
	st.Allocatable = make(map[string]string, len(st.Capacity))
	for k, v := range st.Capacity {
		st.Allocatable[k] = v
	}
}

func ptr[T any](v T) *T { return &v }
