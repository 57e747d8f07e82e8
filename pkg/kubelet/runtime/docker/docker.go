// Package docker implements the kubelet's runtime.Runtime on a Docker Engine,
// through the Engine API client github.com/moby/moby/client. It is the only
// package of minik8s that imports the Docker SDK.
//
// A pod is a sandbox container running the pause image, which owns the pod's
// network namespace (on a Docker bridge network, with a fixed IP from the
// node's podCIDR, or the host's network) and a shareable IPC namespace, plus
// the application containers joined to both with "container:<sandbox>".
// Every container carries the labels Kubernetes' Docker integration used
// (io.kubernetes.pod.name, ...), plus minik8s.io/node with the node's name:
// several kubelets may share one engine and each sees only its own
// containers.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/kubelet/runtime"
)

// Labels set on every sandbox and container, as Kubernetes' Docker
// integration (dockershim) set them, so that a restarted kubelet recognises
// what it started.
const (
	LabelPodName       = "io.kubernetes.pod.name"
	LabelPodNamespace  = "io.kubernetes.pod.namespace"
	LabelPodUID        = "io.kubernetes.pod.uid"
	LabelContainerName = "io.kubernetes.container.name"
	LabelRestartCount  = "io.kubernetes.container.restartCount"
	LabelContainerType = "io.kubernetes.docker.type"
	LabelSandboxID     = "io.kubernetes.sandbox.id"
	LabelNode          = "minik8s.io/node"
	// LabelPodIP, on a sandbox the kubelet wired itself (kubenet), is
	// the pod IP it gave it: Docker does not know it.
	LabelPodIP          = "minik8s.io/pod-ip"
	annotationPrefix    = "annotation."
	sandboxContainerTag = "POD" // io.kubernetes.container.name of a sandbox

	typeSandbox   = "podsandbox"
	typeContainer = "container"
)

// Defaults of Config.
const (
	DefaultEndpoint       = "unix:///var/run/docker.sock"
	DefaultPodNetwork     = "minik8s-pods"
	DefaultPodNetworkCIDR = "10.2.0.0/16"
	DefaultSandboxImage   = "minik8s/pause:3.10"
)

// Config configures a Docker runtime.
type Config struct {
	// Endpoint is the engine's address (--container-runtime-endpoint);
	// default DefaultEndpoint.
	Endpoint string
	// NodeName labels everything this runtime creates and scopes what it
	// lists and watches. Required.
	NodeName string
	// PodNetwork is the Docker bridge network of the pods; it is created on
	// first use when missing. Default DefaultPodNetwork.
	PodNetwork string
	// PodNetworkCIDR is the subnet of PodNetwork, the cluster's pod network
	// (--pod-network-cidr); default DefaultPodNetworkCIDR.
	PodNetworkCIDR string
	// SandboxImage is the pause image; default DefaultSandboxImage.
	SandboxImage string
	// NetworkPlugin says how sandboxes join the pod network: one of
	// NetworkPlugins; default NetworkPluginAuto.
	NetworkPlugin string
	// Logger; default zap.NewNop().
	Logger *zap.Logger
}

// Docker is a runtime.Runtime on a Docker Engine.
type Docker struct {
	cli        *client.Client
	node       string
	network    string
	subnet     netip.Prefix
	sandboxImg string
	lg         *zap.Logger

	netMu    sync.Mutex
	netReady bool
	// plugin is the network plugin asked for and, once the network is
	// ready, the one in use; wirer is set when that is kubenet.
	plugin string
	wirer  *wirer

	// toWire maps a prepared kubenet sandbox to its pod IP, until it is
	// started and wired.
	wireMu sync.Mutex
	toWire map[string]netip.Addr

	cacheMu sync.Mutex
	cache   map[string]cachedStatus // container ID -> last inspected status
}

type cachedStatus struct {
	dockerState container.ContainerState
	status      runtime.ContainerStatus
}

var _ runtime.Runtime = (*Docker)(nil)

// New validates cfg and builds a client; it does not contact the engine.
func New(cfg Config) (*Docker, error) {
	if cfg.NodeName == "" {
		return nil, errdefs.Invalid("docker runtime: node name is required")
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	if cfg.PodNetwork == "" {
		cfg.PodNetwork = DefaultPodNetwork
	}
	if cfg.PodNetworkCIDR == "" {
		cfg.PodNetworkCIDR = DefaultPodNetworkCIDR
	}
	if cfg.SandboxImage == "" {
		cfg.SandboxImage = DefaultSandboxImage
	}
	if cfg.NetworkPlugin == "" {
		cfg.NetworkPlugin = NetworkPluginAuto
	}
	if !slices.Contains(NetworkPlugins, cfg.NetworkPlugin) {
		return nil, errdefs.Invalid("docker runtime: network plugin %q: must be one of %s", cfg.NetworkPlugin, strings.Join(NetworkPlugins, ", "))
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	subnet, err := netip.ParsePrefix(cfg.PodNetworkCIDR)
	if err != nil || !subnet.Addr().Is4() {
		return nil, errdefs.Invalid("docker runtime: pod network CIDR %q is not an IPv4 prefix", cfg.PodNetworkCIDR)
	}
	cli, err := client.New(client.WithHost(cfg.Endpoint))
	if err != nil {
		return nil, errdefs.Invalid("docker runtime: endpoint %q: %v", cfg.Endpoint, err)
	}
	return &Docker{
		cli:        cli,
		node:       cfg.NodeName,
		network:    cfg.PodNetwork,
		subnet:     subnet.Masked(),
		sandboxImg: cfg.SandboxImage,
		lg:         cfg.Logger.Named("docker"),
		plugin:     cfg.NetworkPlugin,
		toWire:     make(map[string]netip.Addr),
		cache:      make(map[string]cachedStatus),
	}, nil
}

// Close releases the client's idle connections.
func (d *Docker) Close() error { return d.cli.Close() }

// NodeName is the node this runtime acts for.
func (d *Docker) NodeName() string { return d.node }

// Ping implements runtime.Runtime.
func (d *Docker) Ping(ctx context.Context) error {
	_, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	return classify(err, "ping docker")
}

// Version implements runtime.Runtime.
func (d *Docker) Version(ctx context.Context) (runtime.VersionInfo, error) {
	v, err := d.cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return runtime.VersionInfo{}, classify(err, "docker version")
	}
	return runtime.VersionInfo{Name: "docker", Version: v.Version, APIVersion: d.cli.ClientVersion()}, nil
}

// EnsureNetwork creates the pod network when it does not exist. It is
// idempotent and safe against other kubelets creating it at the same time;
// CreateSandbox calls it on first use.
func (d *Docker) EnsureNetwork(ctx context.Context) error {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	if d.netReady {
		return nil
	}
	var bridge string
	var gateway netip.Addr
	check := func() (bool, error) {
		res, err := d.cli.NetworkInspect(ctx, d.network, client.NetworkInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, classify(err, "inspect pod network "+d.network)
		}
		for _, c := range res.Network.IPAM.Config {
			if c.Subnet.Masked() == d.subnet {
				bridge, gateway = bridgeName(res.Network.ID, res.Network.Options), c.Gateway
				return true, nil
			}
		}
		return false, errdefs.Precondition("pod network %s exists without subnet %s", d.network, d.subnet)
	}
	ok, err := check()
	if err != nil {
		return err
	}
	if !ok {
		_, err := d.cli.NetworkCreate(ctx, d.network, client.NetworkCreateOptions{
			Driver: "bridge",
			IPAM: &network.IPAM{
				Driver: "default",
				Config: []network.IPAMConfig{{Subnet: d.subnet, Gateway: d.subnet.Addr().Next()}},
			},
			Labels: map[string]string{"minik8s.io/pod-network": "true"},
		})
		if err != nil {
			// Another kubelet may have won the race, and its network may
			// take a moment to show: look again for a while.
			found := false
			for try := 0; try < 50 && !found; try++ {
				if found, _ = check(); !found {
					select {
					case <-ctx.Done():
						return classify(ctx.Err(), "create pod network "+d.network)
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
			if !found {
				return classify(err, "create pod network "+d.network)
			}
		}
		d.lg.Info("Created pod network", zap.String("network", d.network), zap.Stringer("subnet", d.subnet))
		if bridge == "" {
			if _, err := check(); err != nil {
				return err
			}
		}
	}
	if err := d.choosePlugin(bridge, gateway); err != nil {
		return err
	}
	d.netReady = true
	return nil
}

// NetworkPlugin is the network plugin in use: NetworkPluginDocker or
// NetworkPluginKubenet once the pod network is ready (the first sandbox
// ensures it), the one configured before.
func (d *Docker) NetworkPlugin() string {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	return d.plugin
}

// choosePlugin settles the network plugin once the pod network is ready:
// kubenet needs a wirer for its bridge; auto becomes kubenet when one can
// be made, docker otherwise.
func (d *Docker) choosePlugin(bridge string, gateway netip.Addr) error {
	if d.plugin == NetworkPluginDocker {
		d.lg.Info("Sandboxes join the pod network as Docker endpoints", zap.String("network", d.network))
		return nil
	}
	w, err := newWirer(bridge, d.subnet, gateway)
	if err != nil {
		if d.plugin == NetworkPluginKubenet {
			return errdefs.Precondition("network plugin kubenet on pod network %s: %v", d.network, err)
		}
		d.plugin = NetworkPluginDocker
		d.lg.Info("Sandboxes join the pod network as Docker endpoints: this kubelet cannot wire them itself", zap.String("network", d.network), zap.String("reason", err.Error()))
		return nil
	}
	d.plugin, d.wirer = NetworkPluginKubenet, w
	d.lg.Info("Sandboxes join the pod network through veth pairs on its bridge (kubenet)", zap.String("network", d.network), zap.String("bridge", bridge), zap.Stringer("gateway", gateway))
	return nil
}

// PullImage implements runtime.Runtime.
func (d *Docker) PullImage(ctx context.Context, image string) error {
	resp, err := d.cli.ImagePull(ctx, image, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
		resp.Close()
	}
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("pull image %s: %w", image, ctxErr)
	}
	if client.IsErrConnectionFailed(err) {
		return errdefs.Wrap(errdefs.ClassUnavailable, err, "pull image "+image)
	}
	if strings.Contains(err.Error(), "invalid reference format") || isParseError(err) {
		return errdefs.Wrap(errdefs.ClassInvalid, err, "pull image "+image)
	}
	return fmt.Errorf("pull image %s: %w: %w", image, pullFailure(err), err)
}

func isParseError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "repository name must") || strings.Contains(msg, "invalid reference")
}

// pullFailure sorts a registry's answer into the runtime's classes.
func pullFailure(err error) error {
	msg := strings.ToLower(err.Error())
	switch {
	case cerrdefs.IsNotFound(err),
		strings.Contains(msg, "manifest unknown"),
		strings.Contains(msg, "not found"),
		strings.Contains(msg, "does not exist"):
		return runtime.ErrImageNotFound
	case cerrdefs.IsUnauthorized(err), cerrdefs.IsPermissionDenied(err),
		strings.Contains(msg, "unauthorized"),
		strings.Contains(msg, "authentication required"),
		strings.Contains(msg, "denied"):
		return runtime.ErrUnauthorized
	default:
		return runtime.ErrRegistryUnavailable
	}
}

// ImagePresent implements runtime.Runtime.
func (d *Docker) ImagePresent(ctx context.Context, image string) (bool, error) {
	_, err := d.cli.ImageInspect(ctx, image)
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, classify(err, "inspect image "+image)
	}
	return true, nil
}

func (d *Docker) baseLabels(pod runtime.PodRef, containerName string, attempt int, kind string, annotations map[string]string) map[string]string {
	l := map[string]string{
		LabelPodName:       pod.Name,
		LabelPodNamespace:  pod.Namespace,
		LabelPodUID:        pod.UID,
		LabelContainerName: containerName,
		LabelRestartCount:  strconv.Itoa(attempt),
		LabelContainerType: kind,
		LabelNode:          d.node,
	}
	for k, v := range annotations {
		l[annotationPrefix+k] = v
	}
	return l
}

func annotationsOf(labels map[string]string) map[string]string {
	var out map[string]string
	for k, v := range labels {
		if a, ok := strings.CutPrefix(k, annotationPrefix); ok {
			if out == nil {
				out = make(map[string]string)
			}
			out[a] = v
		}
	}
	return out
}

// containerName is the Docker name dockershim gave: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>.
func containerName(pod runtime.PodRef, name string, attempt int) string {
	return fmt.Sprintf("k8s_%s_%s_%s_%s_%d", name, pod.Name, pod.Namespace, pod.UID, attempt)
}

func logConfig() container.LogConfig {
	return container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "2"}}
}

// CreateSandbox implements runtime.Runtime.
func (d *Docker) CreateSandbox(ctx context.Context, spec runtime.SandboxSpec) (string, error) {
	id, err := d.PrepareSandbox(ctx, spec)
	if err != nil {
		return "", err
	}
	if err := d.StartSandbox(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}

// PrepareSandbox implements runtime.Runtime.
func (d *Docker) PrepareSandbox(ctx context.Context, spec runtime.SandboxSpec) (string, error) {
	if spec.Pod.UID == "" || spec.Pod.Name == "" || spec.Pod.Namespace == "" {
		return "", errdefs.Invalid("create sandbox: pod uid, name and namespace are required")
	}
	cfg := &container.Config{
		Image:  d.sandboxImg,
		Labels: d.baseLabels(spec.Pod, sandboxContainerTag, spec.Attempt, typeSandbox, spec.Annotations),
	}
	hc := &container.HostConfig{
		IpcMode:       container.IPCModeShareable,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig:     logConfig(),
	}
	var nc *network.NetworkingConfig
	if spec.HostNetwork {
		hc.NetworkMode = "host"
	} else {
		if err := d.EnsureNetwork(ctx); err != nil {
			return "", fmt.Errorf("create sandbox for pod %s/%s: %w", spec.Pod.Namespace, spec.Pod.Name, err)
		}
		cfg.Hostname = runtime.PodHostname(spec.Hostname, spec.Pod.Name)
		if spec.IP.IsValid() && !d.subnet.Contains(spec.IP) {
			return "", errdefs.Invalid("create sandbox for pod %s/%s: IP %s is outside the pod network %s", spec.Pod.Namespace, spec.Pod.Name, spec.IP, d.subnet)
		}
		if d.wirer != nil && spec.IP.IsValid() && !publishesHostPorts(spec) {
			// kubenet: no network from Docker; StartSandbox wires it.
			hc.NetworkMode = "none"
			cfg.Labels[LabelPodIP] = spec.IP.String()
			return d.createSandbox(ctx, spec, cfg, hc, nil, spec.IP)
		}
		hc.NetworkMode = container.NetworkMode(d.network)
		ep := &network.EndpointSettings{}
		if spec.IP.IsValid() {
			ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: spec.IP}
		}
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{d.network: ep}}
		if len(spec.Ports) > 0 {
			cfg.ExposedPorts = network.PortSet{}
			hc.PortBindings = network.PortMap{}
		}
		for _, p := range spec.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := strings.ToLower(p.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			port, ok := network.PortFrom(uint16(p.ContainerPort), network.IPProtocol(proto))
			if !ok || p.ContainerPort <= 0 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
				return "", errdefs.Invalid("create sandbox for pod %s/%s: bad port mapping %+v", spec.Pod.Namespace, spec.Pod.Name, p)
			}
			b := network.PortBinding{HostPort: strconv.Itoa(int(p.HostPort))}
			if p.HostIP != "" {
				ip, err := netip.ParseAddr(p.HostIP)
				if err != nil {
					return "", errdefs.Invalid("create sandbox for pod %s/%s: host IP %q: %v", spec.Pod.Namespace, spec.Pod.Name, p.HostIP, err)
				}
				b.HostIP = ip
			}
			cfg.ExposedPorts[port] = struct{}{}
			hc.PortBindings[port] = append(hc.PortBindings[port], b)
		}
	}
	return d.createSandbox(ctx, spec, cfg, hc, nc, netip.Addr{})
}

// createSandbox creates the sandbox container; wireIP, when valid, is the
// address StartSandbox wires it with.
func (d *Docker) createSandbox(ctx context.Context, spec runtime.SandboxSpec, cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig, wireIP netip.Addr) (string, error) {
	name := containerName(spec.Pod, sandboxContainerTag, spec.Attempt)
	res, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc, NetworkingConfig: nc})
	if err != nil {
		return "", d.classifyCreate(err, "create sandbox "+name, d.sandboxImg)
	}
	if wireIP.IsValid() {
		d.wireMu.Lock()
		d.toWire[res.ID] = wireIP
		d.wireMu.Unlock()
	}
	return res.ID, nil
}

// publishesHostPorts reports whether the sandbox publishes a host port.
func publishesHostPorts(spec runtime.SandboxSpec) bool {
	for _, p := range spec.Ports {
		if p.HostPort != 0 {
			return true
		}
	}
	return false
}

// StartSandbox implements runtime.Runtime. A kubenet sandbox is wired to
// the pod network's bridge before it counts as started.
func (d *Docker) StartSandbox(ctx context.Context, id string) error {
	d.wireMu.Lock()
	ip, wire := d.toWire[id]
	delete(d.toWire, id)
	d.wireMu.Unlock()
	// Docker does not know the addresses the kubelet wires: whether the
	// address is taken is looked up while the sandbox starts.
	var taken error
	var wg sync.WaitGroup
	if wire {
		wg.Go(func() { taken = d.addressTaken(ctx, id, ip) })
	}
	_, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{})
	wg.Wait()
	if err != nil {
		d.removeFailedSandbox(ctx, id)
		return classifyStart(err, "start sandbox "+id)
	}
	if !wire {
		return nil
	}
	if taken != nil {
		d.removeFailedSandbox(ctx, id)
		return taken
	}
	res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err == nil && (res.Container.State == nil || res.Container.State.Pid == 0) {
		err = errdefs.Unavailable("sandbox %s has no process", id)
	}
	if err == nil {
		err = d.wirer.wire(res.Container.State.Pid, id, ip)
	}
	if err != nil {
		d.removeFailedSandbox(ctx, id)
		return fmt.Errorf("connect sandbox %s to the pod network with %s: %w", id, ip, err)
	}
	return nil
}

// addressTaken returns AlreadyExists when a running sandbox other than id
// holds ip: one the kubelet wired, or an endpoint of the pod network.
func (d *Docker) addressTaken(ctx context.Context, id string, ip netip.Addr) error {
	f := client.Filters{}
	f.Add("label", LabelPodIP+"="+ip.String())
	list, err := d.cli.ContainerList(ctx, client.ContainerListOptions{Filters: f})
	if err != nil {
		return classify(err, "list sandboxes at "+ip.String())
	}
	for _, c := range list.Items {
		if c.ID != id {
			return errdefs.AlreadyExists("address %s is already in use by sandbox %s", ip, c.ID)
		}
	}
	res, err := d.cli.NetworkInspect(ctx, d.network, client.NetworkInspectOptions{})
	if err != nil {
		return classify(err, "inspect pod network "+d.network)
	}
	for cid, ep := range res.Network.Containers {
		if ep.IPv4Address.Addr() == ip {
			return errdefs.AlreadyExists("address %s is already in use by container %s on %s", ip, cid, d.network)
		}
	}
	return nil
}

// removeFailedSandbox removes a sandbox that could not start: no half-made
// sandbox is left behind.
func (d *Docker) removeFailedSandbox(ctx context.Context, id string) {
	rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, rmErr := d.cli.ContainerRemove(rmCtx, id, client.ContainerRemoveOptions{Force: true}); rmErr != nil && !cerrdefs.IsNotFound(rmErr) {
		d.lg.Warn("Could not remove a sandbox that failed to start", zap.String("containerID", id), zap.Error(rmErr))
	}
}

// StopSandbox implements runtime.Runtime.
func (d *Docker) StopSandbox(ctx context.Context, id string, grace time.Duration) error {
	return d.stop(ctx, id, grace, "stop sandbox")
}

// RemoveSandbox implements runtime.Runtime.
func (d *Docker) RemoveSandbox(ctx context.Context, id string) error {
	return d.remove(ctx, id, "remove sandbox")
}

// SandboxStatus implements runtime.Runtime.
func (d *Docker) SandboxStatus(ctx context.Context, id string) (runtime.SandboxStatus, error) {
	res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return runtime.SandboxStatus{}, classify(err, "inspect sandbox "+id)
	}
	c := res.Container
	if c.Config == nil || c.Config.Labels[LabelNode] != d.node || c.Config.Labels[LabelContainerType] != typeSandbox {
		return runtime.SandboxStatus{}, errdefs.NotFound("sandbox %s", id)
	}
	labels := c.Config.Labels
	st := runtime.SandboxStatus{
		ID:          c.ID,
		Pod:         podOf(labels),
		Attempt:     atoi(labels[LabelRestartCount]),
		State:       runtime.SandboxNotReady,
		CreatedAt:   parseTime(c.Created),
		Annotations: annotationsOf(labels),
	}
	if c.State != nil && c.State.Running {
		st.State = runtime.SandboxReady
	}
	if c.HostConfig != nil && c.HostConfig.NetworkMode.IsHost() {
		st.HostNetwork = true
	} else if st.State == runtime.SandboxReady {
		var networks map[string]*network.EndpointSettings
		if c.NetworkSettings != nil {
			networks = c.NetworkSettings.Networks
		}
		st.IP = d.sandboxIP(labels, networks)
		st.State = d.wiredState(st.ID, labels)
	}
	return st, nil
}

// sandboxIP is the pod IP of a running sandbox: its address on the pod
// network, or the one the kubelet wired it with (kubenet).
func (d *Docker) sandboxIP(labels map[string]string, networks map[string]*network.EndpointSettings) netip.Addr {
	if ip, err := netip.ParseAddr(labels[LabelPodIP]); err == nil {
		return ip
	}
	if ep := networks[d.network]; ep != nil {
		return ep.IPAddress
	}
	return netip.Addr{}
}

// wiredState is the state of a running sandbox: ready, unless the kubelet
// was to wire it (kubenet) and did not.
func (d *Docker) wiredState(id string, labels map[string]string) runtime.SandboxState {
	d.netMu.Lock()
	w := d.wirer
	d.netMu.Unlock()
	if labels[LabelPodIP] != "" && w != nil && !w.wired(id) {
		return runtime.SandboxNotReady
	}
	return runtime.SandboxReady
}

// ListSandboxes implements runtime.Runtime.
func (d *Docker) ListSandboxes(ctx context.Context) ([]runtime.SandboxStatus, error) {
	items, err := d.list(ctx, typeSandbox)
	if err != nil {
		return nil, err
	}
	out := make([]runtime.SandboxStatus, 0, len(items))
	for _, s := range items {
		st := runtime.SandboxStatus{
			ID:          s.ID,
			Pod:         podOf(s.Labels),
			Attempt:     atoi(s.Labels[LabelRestartCount]),
			State:       runtime.SandboxNotReady,
			CreatedAt:   time.Unix(s.Created, 0),
			Annotations: annotationsOf(s.Labels),
		}
		if s.State == container.StateRunning {
			st.State = runtime.SandboxReady
		}
		if container.NetworkMode(s.HostConfig.NetworkMode).IsHost() {
			st.HostNetwork = true
		} else if st.State == runtime.SandboxReady {
			var networks map[string]*network.EndpointSettings
			if s.NetworkSettings != nil {
				networks = s.NetworkSettings.Networks
			}
			st.IP = d.sandboxIP(s.Labels, networks)
			st.State = d.wiredState(st.ID, s.Labels)
		}
		out = append(out, st)
	}
	return out, nil
}

func (d *Docker) list(ctx context.Context, kind string) ([]container.Summary, error) {
	f := client.Filters{}
	f.Add("label", LabelNode+"="+d.node, LabelContainerType+"="+kind)
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, classify(err, "list "+kind+"s")
	}
	return res.Items, nil
}

// CreateContainer implements runtime.Runtime.
func (d *Docker) CreateContainer(ctx context.Context, sandboxID string, spec runtime.ContainerSpec) (string, error) {
	if spec.Pod.UID == "" || spec.Pod.Name == "" || spec.Pod.Namespace == "" || spec.Name == "" || spec.Image == "" {
		return "", errdefs.Invalid("create container: pod uid, name, namespace, container name and image are required")
	}
	if sandboxID == "" {
		return "", errdefs.Invalid("create container %s: no sandbox", spec.Name)
	}
	labels := d.baseLabels(spec.Pod, spec.Name, spec.Attempt, typeContainer, spec.Annotations)
	labels[LabelSandboxID] = sandboxID
	cfg := &container.Config{
		Image:      spec.Image,
		WorkingDir: spec.WorkingDir,
		Labels:     labels,
	}
	if len(spec.Command) > 0 {
		cfg.Entrypoint = append([]string(nil), spec.Command...)
	}
	if len(spec.Args) > 0 {
		cfg.Cmd = append([]string(nil), spec.Args...)
	}
	for _, e := range spec.Env {
		cfg.Env = append(cfg.Env, e.Name+"="+e.Value)
	}
	joined := "container:" + sandboxID
	hc := &container.HostConfig{
		NetworkMode:   container.NetworkMode(joined),
		IpcMode:       container.IpcMode(joined),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig:     logConfig(),
		Resources: container.Resources{
			NanoCPUs: spec.CPUMillis * 1_000_000,
			Memory:   spec.MemoryBytes,
		},
	}
	for _, m := range spec.Mounts {
		if m.HostPath == "" || !strings.HasPrefix(m.ContainerPath, "/") {
			return "", errdefs.Invalid("create container %s: bad mount %+v", spec.Name, m)
		}
		b := m.HostPath + ":" + m.ContainerPath
		if m.ReadOnly {
			b += ":ro"
		}
		hc.Binds = append(hc.Binds, b)
	}
	name := containerName(spec.Pod, spec.Name, spec.Attempt)
	res, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: hc})
	if err != nil {
		return "", d.classifyCreate(err, "create container "+name, spec.Image)
	}
	return res.ID, nil
}

// StartContainer implements runtime.Runtime.
func (d *Docker) StartContainer(ctx context.Context, id string) error {
	_, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{})
	return classifyStart(err, "start container "+id)
}

// StopContainer implements runtime.Runtime.
func (d *Docker) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	return d.stop(ctx, id, grace, "stop container")
}

func (d *Docker) stop(ctx context.Context, id string, grace time.Duration, what string) error {
	secs := max(int((grace+time.Second-1)/time.Second), 0)
	_, err := d.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs})
	return classify(err, what+" "+id)
}

// RemoveContainer implements runtime.Runtime.
func (d *Docker) RemoveContainer(ctx context.Context, id string) error {
	return d.remove(ctx, id, "remove container")
}

func (d *Docker) remove(ctx context.Context, id, what string) error {
	_, err := d.cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil || cerrdefs.IsNotFound(err) ||
		// A removal already under way ends the same.
		(cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress")) {
		d.cacheMu.Lock()
		delete(d.cache, id)
		d.cacheMu.Unlock()
		return nil
	}
	return classify(err, what+" "+id)
}

// ContainerStatus implements runtime.Runtime.
func (d *Docker) ContainerStatus(ctx context.Context, id string) (runtime.ContainerStatus, error) {
	res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return runtime.ContainerStatus{}, classify(err, "inspect container "+id)
	}
	c := res.Container
	if c.Config == nil || c.Config.Labels[LabelNode] != d.node || c.Config.Labels[LabelContainerType] != typeContainer {
		return runtime.ContainerStatus{}, errdefs.NotFound("container %s", id)
	}
	return containerStatus(c), nil
}

func containerStatus(c container.InspectResponse) runtime.ContainerStatus {
	labels := c.Config.Labels
	st := runtime.ContainerStatus{
		ID:          c.ID,
		SandboxID:   labels[LabelSandboxID],
		Pod:         podOf(labels),
		Name:        labels[LabelContainerName],
		Attempt:     atoi(labels[LabelRestartCount]),
		Image:       c.Config.Image,
		ImageRef:    c.Image,
		State:       runtime.ContainerUnknown,
		CreatedAt:   parseTime(c.Created),
		Annotations: annotationsOf(labels),
	}
	s := c.State
	if s == nil {
		return st
	}
	st.StartedAt = parseTime(s.StartedAt)
	st.FinishedAt = parseTime(s.FinishedAt)
	switch s.Status {
	case container.StateCreated:
		st.State = runtime.ContainerCreated
		if s.Error != "" {
			// The runtime could not start the process (e.g. no such binary).
			st.State = runtime.ContainerExited
			st.ExitCode = s.ExitCode
			st.Reason = "ContainerCannotRun"
			st.Message = s.Error
			if st.FinishedAt.IsZero() {
				st.FinishedAt = st.CreatedAt
			}
		}
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		st.State = runtime.ContainerRunning
		st.FinishedAt = time.Time{}
	case container.StateExited, container.StateDead, container.StateRemoving:
		st.State = runtime.ContainerExited
		st.ExitCode = s.ExitCode
		st.Message = s.Error
		if s.OOMKilled {
			st.Reason = "OOMKilled"
		}
		// The engine stamps the start after the process runs, so a quick
		// process can seem to finish before it started.
		if !st.StartedAt.IsZero() && st.FinishedAt.Before(st.StartedAt) {
			st.FinishedAt = st.StartedAt
		}
	}
	return st
}

// ListContainers implements runtime.Runtime. Docker's list lacks exit codes
// and times, so each container is inspected, once per state it is seen in.
func (d *Docker) ListContainers(ctx context.Context) ([]runtime.ContainerStatus, error) {
	items, err := d.list(ctx, typeContainer)
	if err != nil {
		return nil, err
	}
	out := make([]runtime.ContainerStatus, len(items))
	found := make([]bool, len(items))
	seen := make(map[string]bool, len(items))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, s := range items {
		seen[s.ID] = true
		d.cacheMu.Lock()
		c, ok := d.cache[s.ID]
		d.cacheMu.Unlock()
		if ok && c.dockerState == s.State {
			out[i], found[i] = c.status, true
			continue
		}
		g.Go(func() error {
			res, err := d.cli.ContainerInspect(gctx, s.ID, client.ContainerInspectOptions{})
			if cerrdefs.IsNotFound(err) {
				return nil // removed since the list
			}
			if err != nil {
				return classify(err, "inspect container "+s.ID)
			}
			if res.Container.Config == nil || res.Container.State == nil {
				return nil
			}
			st := containerStatus(res.Container)
			out[i], found[i] = st, true
			d.cacheMu.Lock()
			d.cache[s.ID] = cachedStatus{dockerState: res.Container.State.Status, status: st}
			d.cacheMu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	d.cacheMu.Lock()
	for id := range d.cache {
		if !seen[id] {
			delete(d.cache, id)
		}
	}
	d.cacheMu.Unlock()
	res := out[:0]
	for i := range out {
		if found[i] {
			res = append(res, out[i])
		}
	}
	return res, nil
}

// Logs implements runtime.Runtime.
func (d *Docker) Logs(ctx context.Context, id string, opts runtime.LogOptions) (io.ReadCloser, error) {
	o := client.ContainerLogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     opts.Follow,
		Timestamps: opts.Timestamps,
	}
	if opts.TailLines != nil {
		o.Tail = strconv.FormatInt(max(*opts.TailLines, 0), 10)
	}
	if !opts.Since.IsZero() {
		o.Since = opts.Since.UTC().Format(time.RFC3339Nano)
	}
	rc, err := d.cli.ContainerLogs(ctx, id, o)
	if err != nil {
		return nil, classify(err, "logs of container "+id)
	}
	return newDemux(rc), nil
}

// demux turns Docker's multiplexed log stream into plain text. Close stops
// the copying goroutine and waits for it.
type demux struct {
	pr   *io.PipeReader
	src  io.ReadCloser
	done chan struct{}
}

func newDemux(src io.ReadCloser) *demux {
	pr, pw := io.Pipe()
	d := &demux{pr: pr, src: src, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		_, err := stdcopy.StdCopy(pw, pw, src)
		pw.CloseWithError(err) // nil: EOF
	}()
	return d
}

func (d *demux) Read(p []byte) (int, error) { return d.pr.Read(p) }

func (d *demux) Close() error {
	err := d.src.Close()
	d.pr.Close()
	<-d.done
	return err
}

// Exec implements runtime.Runtime. It returns when the command's output has
// ended. A Stdin whose Read still blocks then is abandoned: its copying ends
// when that Read returns.
func (d *Docker) Exec(ctx context.Context, id string, opts runtime.ExecOptions) (int, error) {
	if len(opts.Cmd) == 0 {
		return 0, errdefs.Invalid("exec in container %s: empty command", id)
	}
	created, err := d.cli.ExecCreate(ctx, id, client.ExecCreateOptions{
		Cmd:          opts.Cmd,
		TTY:          opts.TTY,
		AttachStdin:  opts.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if cerrdefs.IsConflict(err) { // the container does not run
		return 0, errdefs.Wrap(errdefs.ClassPrecondition, err, "exec in container "+id)
	}
	if err != nil {
		return 0, classify(err, "exec in container "+id)
	}
	att, err := d.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: opts.TTY})
	if err != nil {
		return 0, classify(err, "attach exec in container "+id)
	}
	defer att.Close()
	stop := context.AfterFunc(ctx, func() { att.Close() })
	defer stop()

	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, opts.Stdin)
			_ = att.CloseWrite()
		}()
	}
	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if opts.TTY {
		_, err = io.Copy(stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, att.Reader)
	}
	if ctx.Err() != nil {
		return 0, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("exec in container %s: read output: %w", id, err)
	}
	// The output ends a moment before the engine records the exit code.
	for {
		ins, err := d.cli.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
		if err != nil {
			return 0, classify(err, "inspect exec in container "+id)
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("exec in container %s: %w", id, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Events implements runtime.Runtime.
func (d *Docker) Events(ctx context.Context, handle func(runtime.Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	f := client.Filters{}
	f.Add("type", string(events.ContainerEventType))
	f.Add("label", LabelNode+"="+d.node)
	f.Add("event", string(events.ActionCreate), string(events.ActionStart), string(events.ActionDie), string(events.ActionDestroy))
	res := d.cli.Events(ctx, client.EventsListOptions{Filters: f})
	defer func() {
		cancel()
		for range res.Err { // the client's goroutine closes Err when it ends
		}
	}()
	for {
		select {
		case m := <-res.Messages:
			if ev, ok := d.event(m); ok {
				handle(ev)
			}
		case err := <-res.Err:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == nil {
				err = io.EOF
			}
			return classify(err, "docker events")
		}
	}
}

func (d *Docker) event(m events.Message) (runtime.Event, bool) {
	attrs := m.Actor.Attributes
	if attrs[LabelNode] != d.node {
		return runtime.Event{}, false
	}
	var t runtime.EventType
	switch m.Action {
	case events.ActionCreate:
		t = runtime.EventCreated
	case events.ActionStart:
		t = runtime.EventStarted
	case events.ActionDie:
		t = runtime.EventDied
	case events.ActionDestroy:
		t = runtime.EventRemoved
	default:
		return runtime.Event{}, false
	}
	ev := runtime.Event{
		Type:        t,
		ContainerID: m.Actor.ID,
		Sandbox:     attrs[LabelContainerType] == typeSandbox,
		Pod:         podOf(attrs),
		Time:        time.Unix(0, m.TimeNano),
	}
	if !ev.Sandbox {
		ev.ContainerName = attrs[LabelContainerName]
	}
	if m.TimeNano == 0 {
		ev.Time = time.Unix(m.Time, 0)
	}
	return ev, true
}

func podOf(labels map[string]string) runtime.PodRef {
	return runtime.PodRef{UID: labels[LabelPodUID], Name: labels[LabelPodName], Namespace: labels[LabelPodNamespace]}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// classify gives a Docker error its errdefs class, keeping the cause.
func classify(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, err)
	case client.IsErrConnectionFailed(err), cerrdefs.IsUnavailable(err):
		return errdefs.Wrap(errdefs.ClassUnavailable, err, what)
	case cerrdefs.IsNotFound(err):
		return errdefs.Wrap(errdefs.ClassNotFound, err, what)
	case cerrdefs.IsConflict(err), cerrdefs.IsAlreadyExists(err):
		return errdefs.Wrap(errdefs.ClassAlreadyExists, err, what)
	case cerrdefs.IsInvalidArgument(err):
		return errdefs.Wrap(errdefs.ClassInvalid, err, what)
	case cerrdefs.IsPermissionDenied(err), cerrdefs.IsUnauthorized(err):
		return errdefs.Wrap(errdefs.ClassForbidden, err, what)
	case cerrdefs.IsFailedPrecondition(err):
		return errdefs.Wrap(errdefs.ClassPrecondition, err, what)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}

// classifyCreate is classify for a create, where a missing image is a failed
// precondition (the caller pulls first).
func (d *Docker) classifyCreate(err error, what, image string) error {
	if cerrdefs.IsNotFound(err) && strings.Contains(strings.ToLower(err.Error()), "no such image") {
		return errdefs.Wrap(errdefs.ClassPrecondition, err, what+": image "+image+" is not present")
	}
	return classify(err, what)
}

// classifyStart is classify for a start: the engine answers a missing binary
// or a taken address with a server error.
func classifyStart(err error, what string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "address already in use") || strings.Contains(msg, "Address already in use") {
		return errdefs.Wrap(errdefs.ClassAlreadyExists, err, what)
	}
	return classify(err, what)
}
