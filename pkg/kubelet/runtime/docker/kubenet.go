package docker

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// How a sandbox joins the pod network (Config.NetworkPlugin).
const (
	// NetworkPluginDocker: the sandbox is an endpoint of the pod network;
	// Docker makes its interface and address (and, on a user-defined
	// network, its embedded DNS server).
	NetworkPluginDocker = "docker"
	// NetworkPluginKubenet: the sandbox starts with no network and the
	// kubelet connects it to the pod network's bridge with a veth pair and
	// the pod IP, as Kubernetes' kubenet plugin did for its Docker
	// integration. It needs the kubelet in the host's network and PID
	// namespaces, with the rights to change links (CAP_NET_ADMIN) and to
	// enter a container's network namespace (CAP_SYS_ADMIN). Sandboxes that
	// publish host ports stay Docker endpoints: Docker publishes the ports.
	NetworkPluginKubenet = "kubenet"
	// NetworkPluginAuto: kubenet where the kubelet can wire sandboxes (it
	// sees the pod network's bridge and may create links), docker
	// elsewhere, e.g. in a container of the docker compose cluster.
	NetworkPluginAuto = "auto"
)

// NetworkPlugins lists the values of Config.NetworkPlugin.
var NetworkPlugins = []string{NetworkPluginAuto, NetworkPluginDocker, NetworkPluginKubenet}

// bridgeName is the Linux bridge Docker made for a bridge network.
func bridgeName(networkID string, options map[string]string) string {
	if name := options["com.docker.network.bridge.name"]; name != "" {
		return name
	}
	if len(networkID) > 12 {
		networkID = networkID[:12]
	}
	return "br-" + networkID
}

// wirer connects sandboxes to a bridge: a veth pair, one end on the bridge,
// the other the sandbox's eth0 with the pod IP and a default route through
// the bridge's gateway address.
type wirer struct {
	bridge  netlink.Link
	gateway netip.Addr
	bits    int
}

// newWirer checks that the bridge is in this network namespace and that
// this process may create links (it creates and deletes a veth pair, the
// kind of link it makes for sandboxes).
func newWirer(bridge string, subnet netip.Prefix, gateway netip.Addr) (*wirer, error) {
	link, err := netlink.LinkByName(bridge)
	if err != nil {
		return nil, fmt.Errorf("bridge %s is not in this network namespace: %w", bridge, err)
	}
	if !gateway.IsValid() || !subnet.Contains(gateway) {
		return nil, fmt.Errorf("bridge %s: gateway %v is not in the pod network %s", bridge, gateway, subnet)
	}
	probe := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("mk8sprobe%d", os.Getpid()%100000)}, PeerName: fmt.Sprintf("mk8speer%d", os.Getpid()%100000)}
	if err := netlink.LinkAdd(probe); err != nil {
		return nil, fmt.Errorf("may not create links: %w", err)
	}
	if err := netlink.LinkDel(probe); err != nil {
		return nil, fmt.Errorf("delete probe link %s: %w", probe.Name, err)
	}
	self, err := netns.GetFromPid(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("may not open network namespaces: %w", err)
	}
	_ = self.Close()
	return &wirer{bridge: link, gateway: gateway, bits: subnet.Bits()}, nil
}

// hostVeth is the name of the bridge end of sandbox id's veth pair (at
// most 15 characters, the kernel's limit).
func hostVeth(id string) string {
	if len(id) > 11 {
		id = id[:11]
	}
	return "veth" + id
}

// wire connects the network namespace of the process pid (the sandbox's)
// to the bridge with address ip. A half-made pair is removed; the pair
// goes away by itself with the namespace when the sandbox ends.
func (w *wirer) wire(pid int, id string, ip netip.Addr) (err error) {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("network namespace of process %d: %w", pid, err)
	}
	defer ns.Close()
	name := hostVeth(id)
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: name, MasterIndex: w.bridge.Attrs().Index, MTU: w.bridge.Attrs().MTU},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth pair %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = netlink.LinkDel(veth)
		}
	}()
	if err := netlink.LinkSetUp(veth); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("enter network namespace of process %d: %w", pid, err)
	}
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("find eth0 of process %d: %w", pid, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(w.bits, 32)}}
	if err := h.AddrAdd(eth0, addr); err != nil {
		return fmt.Errorf("add %s to eth0: %w", addr, err)
	}
	for _, l := range []string{"lo", "eth0"} {
		link, err := h.LinkByName(l)
		if err == nil {
			err = h.LinkSetUp(link)
		}
		if err != nil {
			return fmt.Errorf("set %s up: %w", l, err)
		}
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: w.gateway.AsSlice()}); err != nil {
		return fmt.Errorf("default route via %s: %w", w.gateway, err)
	}
	return nil
}

// wired reports whether sandbox id's bridge end exists: a sandbox that
// runs but was never wired (the kubelet stopped in between) is not ready.
func (w *wirer) wired(id string) bool {
	_, err := netlink.LinkByName(hostVeth(id))
	return err == nil
}
