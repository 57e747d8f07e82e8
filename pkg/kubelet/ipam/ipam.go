// Package ipam hands out pod IPs from a node's podCIDR.
//
// Each kubelet owns one podCIDR (a /24 of the cluster's pod network by
// default) and gives every pod sandbox a fixed address from it. The network
// address, the first host address (the gateway of the range) and the
// broadcast address are never handed out. Allocation is round-robin, so a
// freed address is reused as late as possible. The allocator keeps no state
// of its own on disk: after a restart the kubelet rebuilds it with Reserve
// from the sandboxes it finds running.
package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"minik8s/pkg/apis/errdefs"
)

// ErrFull is wrapped by Allocate when every address of the range is taken.
var ErrFull = errors.New("pod CIDR has no free address")

// Allocator hands out the addresses of one IPv4 prefix to owners (pod UIDs).
// It is safe for concurrent use.
type Allocator struct {
	prefix netip.Prefix
	first  netip.Addr // first address handed out
	last   netip.Addr // last address handed out
	size   int

	mu      sync.Mutex
	byAddr  map[netip.Addr]string
	byOwner map[string]netip.Addr
	next    netip.Addr // where the next search starts
}

// New returns an allocator for podCIDR, e.g. "10.2.1.0/24". The prefix must
// be IPv4, from /16 (65533 addresses) to /30 (one address).
func New(podCIDR string) (*Allocator, error) {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return nil, errdefs.Invalid("pod CIDR %q: %v", podCIDR, err)
	}
	p = p.Masked()
	if !p.Addr().Is4() {
		return nil, errdefs.Invalid("pod CIDR %q: only IPv4 is supported", podCIDR)
	}
	hostBits := 32 - p.Bits()
	if hostBits < 2 || hostBits > 16 {
		return nil, errdefs.Invalid("pod CIDR %q: prefix length must be between /16 and /30", podCIDR)
	}
	total := 1 << hostBits
	network := p.Addr()
	a := &Allocator{
		prefix:  p,
		first:   network.Next().Next(), // skip the network and the gateway
		last:    addrAdd(network, total-2),
		size:    total - 3,
		byAddr:  make(map[netip.Addr]string),
		byOwner: make(map[string]netip.Addr),
	}
	a.next = a.first
	return a, nil
}

// Prefix is the range the allocator serves.
func (a *Allocator) Prefix() netip.Prefix { return a.prefix }

// Gateway is the range's first host address, never handed out.
func (a *Allocator) Gateway() netip.Addr { return a.prefix.Addr().Next() }

// Size is the number of addresses that can be handed out.
func (a *Allocator) Size() int { return a.size }

// Used is the number of addresses handed out.
func (a *Allocator) Used() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byAddr)
}

// Allocate gives owner an address. An owner that already has one gets the
// same address again, so retries are harmless.
func (a *Allocator) Allocate(owner string) (netip.Addr, error) {
	if owner == "" {
		return netip.Addr{}, errdefs.Invalid("allocate pod IP: empty owner")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip, ok := a.byOwner[owner]; ok {
		return ip, nil
	}
	ip := a.next
	for range a.size {
		if _, taken := a.byAddr[ip]; !taken {
			a.byAddr[ip] = owner
			a.byOwner[owner] = ip
			a.next = a.after(ip)
			return ip, nil
		}
		ip = a.after(ip)
	}
	return netip.Addr{}, fmt.Errorf("allocate pod IP in %s for %s: %w", a.prefix, owner, ErrFull)
}

// Reserve records that owner holds ip, as found on a running sandbox after a
// restart. It fails with AlreadyExists when another owner holds ip or owner
// holds another address, and with Invalid when ip is not one this allocator
// hands out.
func (a *Allocator) Reserve(owner string, ip netip.Addr) error {
	if owner == "" {
		return errdefs.Invalid("reserve pod IP %s: empty owner", ip)
	}
	if !a.valid(ip) {
		return errdefs.Invalid("reserve pod IP %s: not an allocatable address of %s", ip, a.prefix)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if other, ok := a.byAddr[ip]; ok {
		if other == owner {
			return nil
		}
		return errdefs.AlreadyExists("reserve pod IP %s for %s: held by %s", ip, owner, other)
	}
	if held, ok := a.byOwner[owner]; ok {
		return errdefs.AlreadyExists("reserve pod IP %s for %s: it holds %s", ip, owner, held)
	}
	a.byAddr[ip] = owner
	a.byOwner[owner] = ip
	return nil
}

// Release frees owner's address, if it has one.
func (a *Allocator) Release(owner string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip, ok := a.byOwner[owner]; ok {
		delete(a.byOwner, owner)
		delete(a.byAddr, ip)
	}
}

// Lookup returns owner's address, if it has one.
func (a *Allocator) Lookup(owner string) (netip.Addr, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ip, ok := a.byOwner[owner]
	return ip, ok
}

// Owners returns a copy of the owner -> address table.
func (a *Allocator) Owners() map[string]netip.Addr {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]netip.Addr, len(a.byOwner))
	for o, ip := range a.byOwner {
		out[o] = ip
	}
	return out
}

func (a *Allocator) valid(ip netip.Addr) bool {
	return ip.Is4() && a.prefix.Contains(ip) && ip.Compare(a.first) >= 0 && ip.Compare(a.last) <= 0
}

func (a *Allocator) after(ip netip.Addr) netip.Addr {
	if ip == a.last {
		return a.first
	}
	return ip.Next()
}

func addrAdd(ip netip.Addr, n int) netip.Addr {
	b := ip.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
