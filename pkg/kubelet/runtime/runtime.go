// Package runtime declares what the kubelet needs from a container runtime:
// pod sandboxes, containers joined to them, images, logs, exec and a stream
// of container events, in small domain types that know nothing of Docker.
//
// Two implementations exist: runtime/docker drives a Docker Engine, and
// runtime/hollow simulates containers in memory for scale tests. Both pass
// the contract suite in runtime/runtimetest.
//
// Every object a runtime creates belongs to one node (Config.NodeName of the
// implementation): several kubelets may share one engine, and a runtime
// lists, watches and touches only its own node's sandboxes and containers.
package runtime

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"time"
)

// Runtime is the container runtime of one node, as the kubelet uses it.
//
// Errors carry classes from pkg/apis/errdefs: a missing sandbox or container
// is NotFound, an unreachable runtime Unavailable, a name already taken
// AlreadyExists. PullImage additionally wraps one of ErrImageNotFound,
// ErrUnauthorized or ErrRegistryUnavailable.
type Runtime interface {
	// Ping reports whether the runtime answers; nil means healthy.
	Ping(ctx context.Context) error
	// Version names the runtime and its version, for the node's status.
	Version(ctx context.Context) (VersionInfo, error)

	// PullImage fetches image from its registry. Pull policies are the
	// caller's business: PullImage always asks the registry.
	PullImage(ctx context.Context, image string) error
	// ImagePresent reports whether image is available on the node.
	ImagePresent(ctx context.Context, image string) (bool, error)

	// CreateSandbox creates and starts the sandbox of a pod, which owns its
	// network namespace, and returns the sandbox's ID. It is PrepareSandbox
	// and StartSandbox in one call.
	CreateSandbox(ctx context.Context, spec SandboxSpec) (string, error)
	// PrepareSandbox creates the sandbox of a pod without starting it and
	// returns its ID; the sandbox is SandboxNotReady, without an IP, until
	// StartSandbox. Containers may be created in a prepared sandbox (not
	// started), so that a pod's containers are created while its sandbox
	// starts.
	PrepareSandbox(ctx context.Context, spec SandboxSpec) (string, error)
	// StartSandbox starts a prepared sandbox. When the sandbox cannot start
	// (e.g. its IP is taken: AlreadyExists) it is removed, as CreateSandbox
	// leaves nothing half made; the caller removes the containers it
	// created in it.
	StartSandbox(ctx context.Context, id string) error
	// StopSandbox stops a sandbox, giving it grace to exit after SIGTERM.
	// Stopping a stopped sandbox is a no-op.
	StopSandbox(ctx context.Context, id string, grace time.Duration) error
	// RemoveSandbox removes a sandbox, stopping it first if needed. Removing
	// a sandbox that does not exist is a no-op. The caller removes the
	// sandbox's containers first.
	RemoveSandbox(ctx context.Context, id string) error
	// SandboxStatus inspects one sandbox.
	SandboxStatus(ctx context.Context, id string) (SandboxStatus, error)
	// ListSandboxes lists the node's sandboxes, running or not.
	ListSandboxes(ctx context.Context) ([]SandboxStatus, error)

	// CreateContainer creates an application container joined to the
	// sandbox's network and IPC namespaces and returns its ID. The image
	// must be present. The sandbox may be prepared and not yet started; the
	// container starts only once it runs.
	CreateContainer(ctx context.Context, sandboxID string, spec ContainerSpec) (string, error)
	// StartContainer starts a created container.
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends SIGTERM, waits up to grace for the container to
	// exit, then kills it. Stopping an exited container is a no-op.
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	// RemoveContainer removes a container, killing it if it still runs.
	// Removing a container that does not exist is a no-op.
	RemoveContainer(ctx context.Context, id string) error
	// ContainerStatus inspects one container.
	ContainerStatus(ctx context.Context, id string) (ContainerStatus, error)
	// ListContainers lists the node's application containers (not the
	// sandboxes), running or not, with their states and exit codes.
	ListContainers(ctx context.Context) ([]ContainerStatus, error)

	// Logs streams a container's output, stdout and stderr interleaved as
	// plain text lines. With Follow the stream lasts until the container
	// exits, ctx ends or the reader is closed. The caller closes the reader.
	Logs(ctx context.Context, id string, opts LogOptions) (io.ReadCloser, error)
	// Exec runs a command in a running container, wiring the streams of
	// opts, and returns the command's exit code once it ends.
	Exec(ctx context.Context, id string, opts ExecOptions) (exitCode int, err error)

	// Events calls handle for every event of the node's sandboxes and
	// containers until ctx ends (it then returns ctx's error) or the stream
	// breaks (it returns why; the caller relists and calls Events again).
	// handle runs on the caller's goroutine and must not block for long.
	Events(ctx context.Context, handle func(Event)) error
}

// VersionInfo names a runtime.
type VersionInfo struct {
	// Name is the runtime's name, e.g. "docker" or "hollow".
	Name string
	// Version is the runtime's version, e.g. "20.10.24".
	Version string
	// APIVersion is the version of the API spoken to it, e.g. "1.41".
	APIVersion string
}

// String is the form Kubernetes shows as containerRuntimeVersion:
// "docker://20.10.24".
func (v VersionInfo) String() string { return v.Name + "://" + v.Version }

// PodRef identifies the pod a sandbox or container belongs to.
type PodRef struct {
	UID       string
	Name      string
	Namespace string
}

// PortMapping publishes a container port of a pod on the node (hostPort).
type PortMapping struct {
	// Protocol is TCP, UDP or SCTP; empty means TCP.
	Protocol      string
	ContainerPort int32
	HostPort      int32
	// HostIP is the node address to bind; empty means every address.
	HostIP string
}

// SandboxSpec describes the sandbox of a pod.
type SandboxSpec struct {
	Pod PodRef
	// Attempt counts the sandboxes created for this pod before, from 0.
	Attempt int
	// Hostname is the pod's hostname; empty means the pod's name.
	Hostname string
	// HostNetwork puts the pod in the node's network namespace; IP and
	// Ports are then ignored.
	HostNetwork bool
	// IP is the pod's address on the pod network, from the node's podCIDR.
	// The zero Addr lets the runtime choose one.
	IP netip.Addr
	// Ports are published on the node.
	Ports []PortMapping
	// Annotations are kept with the sandbox and returned by its status
	// (e.g. the pod's termination grace period, for adoption after a
	// restart of the kubelet).
	Annotations map[string]string
}

// SandboxState is the state of a sandbox.
type SandboxState string

// Sandbox states, as the CRI names them.
const (
	// SandboxReady: the sandbox runs and holds the pod's namespaces.
	SandboxReady SandboxState = "SANDBOX_READY"
	// SandboxNotReady: the sandbox is created, stopped or gone bad.
	SandboxNotReady SandboxState = "SANDBOX_NOTREADY"
)

// SandboxStatus is what a runtime knows of a sandbox.
type SandboxStatus struct {
	ID          string
	Pod         PodRef
	Attempt     int
	State       SandboxState
	HostNetwork bool
	// IP is the pod's IP; zero with host network or when not running.
	IP          netip.Addr
	CreatedAt   time.Time
	Annotations map[string]string
}

// EnvVar is an environment variable of a container.
type EnvVar struct {
	Name  string
	Value string
}

// Mount binds a directory of the node into a container.
type Mount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
}

// ContainerSpec describes an application container of a pod.
type ContainerSpec struct {
	Pod PodRef
	// Name is the container's name in the pod spec.
	Name string
	// Attempt is the container's restart count: 0 for the first container
	// of this name in this pod, then 1, 2, ...
	Attempt int
	Image   string
	// Command replaces the image's entrypoint and Args its arguments, as in
	// a Kubernetes container: with Command set and Args empty the image's
	// default arguments are dropped.
	Command    []string
	Args       []string
	WorkingDir string
	Env        []EnvVar
	Mounts     []Mount
	// CPUMillis limits CPU time (1000 = one CPU); 0 means no limit.
	CPUMillis int64
	// MemoryBytes limits memory; 0 means no limit.
	MemoryBytes int64
	// Annotations are kept with the container and returned by its status
	// (e.g. a hash of the container's spec).
	Annotations map[string]string
	// Init marks an init container, which the kubelet runs to completion
	// before the pod's other containers. Real runtimes run it as any
	// container; the hollow runtime lets one of an image it does not
	// simulate exit 0 at once instead of running forever.
	Init bool
}

// ContainerState is the state of a container.
type ContainerState string

// Container states, as the CRI names them.
const (
	ContainerCreated ContainerState = "CONTAINER_CREATED"
	ContainerRunning ContainerState = "CONTAINER_RUNNING"
	ContainerExited  ContainerState = "CONTAINER_EXITED"
	ContainerUnknown ContainerState = "CONTAINER_UNKNOWN"
)

// ContainerStatus is what a runtime knows of an application container.
type ContainerStatus struct {
	ID        string
	SandboxID string
	Pod       PodRef
	Name      string
	Attempt   int
	// Image is the image as the spec named it; ImageRef is the ID of the
	// image the container runs (e.g. "sha256:...").
	Image    string
	ImageRef string
	State    ContainerState
	// ExitCode is the exit code of an exited container.
	ExitCode int
	// Reason is "OOMKilled" when the kernel killed the container for memory,
	// otherwise empty.
	Reason string
	// Message is the runtime's error for a container that failed to start.
	Message     string
	CreatedAt   time.Time
	StartedAt   time.Time // zero if never started
	FinishedAt  time.Time // zero unless exited
	Annotations map[string]string
}

// LogOptions select what Logs returns.
type LogOptions struct {
	// Follow keeps the stream open for new output.
	Follow bool
	// TailLines, if not nil, returns only the last *TailLines lines (as
	// Kubernetes' PodLogOptions.TailLines).
	TailLines *int64
	// Timestamps prefixes each line with its RFC 3339 nano time and a space.
	Timestamps bool
	// Since returns only lines written after it; zero means all.
	Since time.Time
}

// ExecOptions are the command and streams of an Exec.
type ExecOptions struct {
	Cmd []string
	// Stdin, if not nil, is copied to the command until EOF.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output; nil discards it.
	// With TTY the terminal's output goes to Stdout only.
	Stdout io.Writer
	Stderr io.Writer
	TTY    bool
}

// EventType is what happened to a sandbox or container.
type EventType string

// Event types.
const (
	EventCreated EventType = "created"
	EventStarted EventType = "started"
	// EventDied: the process exited (also after a stop or a kill).
	EventDied    EventType = "died"
	EventRemoved EventType = "removed"
)

// Event tells that a sandbox or container of the node changed. Events only
// wake the kubelet's pod workers: they re-read the runtime's state.
type Event struct {
	Type        EventType
	ContainerID string
	// Sandbox is true when the event is about a sandbox.
	Sandbox bool
	Pod     PodRef
	// ContainerName is the name in the pod spec; empty for a sandbox.
	ContainerName string
	Time          time.Time
}

// Classes of image pull failures, wrapped by PullImage's errors (test them
// with errors.Is). Kubernetes shows every one of them as ErrImagePull.
var (
	// ErrImageNotFound: the registry has no such repository or tag.
	ErrImageNotFound = errors.New("image not found")
	// ErrUnauthorized: the registry refused the credentials (or their absence).
	ErrUnauthorized = errors.New("registry refused access")
	// ErrRegistryUnavailable: the registry could not be reached or failed.
	ErrRegistryUnavailable = errors.New("registry unavailable")
)

// PodHostname is a pod's hostname: hostname (the pod's spec.hostname) when
// set, else the pod's name, cut to the 63 characters a hostname may have.
// The sandbox carries it and the kubelet's /etc/hosts names it.
func PodHostname(hostname, podName string) string {
	h := hostname
	if h == "" {
		h = podName
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}
