package nodeipam

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
)

// ErrCIDRRangeNoCIDRsRemaining is what AllocateNext returns when every
// subnet of the cluster CIDR is taken.
var ErrCIDRRangeNoCIDRsRemaining = errors.New("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")

// maxCIDRBits bounds the number of subnets (2^16), as Kubernetes does.
const maxCIDRBits = 16

// CIDRSet hands out the subnets of size maskSize of a cluster CIDR,
// tracked in a bitmap. It is not safe for concurrent use.
type CIDRSet struct {
	cluster  netip.Prefix
	maskSize int
	max      int
	used     []uint64
	count    int
	next     int // where the next search starts, so freed subnets rest
}

// NewCIDRSet splits cluster into subnets of maskSize bits.
func NewCIDRSet(cluster netip.Prefix, maskSize int) (*CIDRSet, error) {
	cluster = cluster.Masked()
	if !cluster.IsValid() {
		return nil, fmt.Errorf("invalid cluster CIDR %v", cluster)
	}
	addrBits := cluster.Addr().BitLen()
	switch {
	case maskSize < cluster.Bits():
		return nil, fmt.Errorf("node CIDR mask size /%d is larger than the cluster CIDR %v", maskSize, cluster)
	case maskSize > addrBits:
		return nil, fmt.Errorf("node CIDR mask size /%d is too long for %v", maskSize, cluster)
	case maskSize-cluster.Bits() > maxCIDRBits:
		return nil, fmt.Errorf("node CIDR mask size /%d is more than %d bits longer than the cluster CIDR %v", maskSize, maxCIDRBits, cluster)
	}
	n := 1 << (maskSize - cluster.Bits())
	return &CIDRSet{cluster: cluster, maskSize: maskSize, max: n, used: make([]uint64, (n+63)/64)}, nil
}

// Max is the number of subnets.
func (s *CIDRSet) Max() int { return s.max }

// Used is the number of subnets taken.
func (s *CIDRSet) Used() int { return s.count }

func (s *CIDRSet) isSet(i int) bool { return s.used[i/64]&(1<<(i%64)) != 0 }

func (s *CIDRSet) set(i int) {
	if !s.isSet(i) {
		s.used[i/64] |= 1 << (i % 64)
		s.count++
	}
}

func (s *CIDRSet) clear(i int) {
	if s.isSet(i) {
		s.used[i/64] &^= 1 << (i % 64)
		s.count--
	}
}

// AllocateNext takes a free subnet.
func (s *CIDRSet) AllocateNext() (netip.Prefix, error) {
	if s.count >= s.max {
		return netip.Prefix{}, ErrCIDRRangeNoCIDRsRemaining
	}
	for k := 0; k < s.max; k++ {
		i := (s.next + k) % s.max
		if !s.isSet(i) {
			s.set(i)
			s.next = (i + 1) % s.max
			return s.subnet(i), nil
		}
	}
	return netip.Prefix{}, ErrCIDRRangeNoCIDRsRemaining
}

// Occupy marks the subnets p covers as taken (p may be one subnet or a
// larger or smaller block inside the cluster CIDR).
func (s *CIDRSet) Occupy(p netip.Prefix) error {
	lo, hi, err := s.indexRange(p)
	if err != nil {
		return err
	}
	for i := lo; i <= hi; i++ {
		s.set(i)
	}
	return nil
}

// Release frees the subnets p covers.
func (s *CIDRSet) Release(p netip.Prefix) error {
	lo, hi, err := s.indexRange(p)
	if err != nil {
		return err
	}
	for i := lo; i <= hi; i++ {
		s.clear(i)
	}
	return nil
}

// Contains reports whether p lies inside the cluster CIDR.
func (s *CIDRSet) Contains(p netip.Prefix) bool {
	_, _, err := s.indexRange(p)
	return err == nil
}

func (s *CIDRSet) indexRange(p netip.Prefix) (int, int, error) {
	p = p.Masked()
	if !p.IsValid() || p.Addr().BitLen() != s.cluster.Addr().BitLen() || p.Bits() < s.cluster.Bits() || !s.cluster.Contains(p.Addr()) {
		return 0, 0, fmt.Errorf("CIDR %v is not inside the cluster CIDR %v", p, s.cluster)
	}
	first := s.index(p.Addr())
	if p.Bits() >= s.maskSize {
		return first, first, nil
	}
	return first, first + (1 << (s.maskSize - p.Bits())) - 1, nil
}

// index is the subnet number of addr.
func (s *CIDRSet) index(addr netip.Addr) int {
	hi, lo := toUint128(addr)
	bhi, blo := toUint128(s.cluster.Addr())
	// offset = (addr - base) >> (addrBits - maskSize)
	lo, borrow := bits.Sub64(lo, blo, 0)
	hi, _ = bits.Sub64(hi, bhi, borrow)
	shift := uint(s.cluster.Addr().BitLen() - s.maskSize)
	_, lo = shr128(hi, lo, shift)
	return int(lo)
}

// subnet is subnet number i.
func (s *CIDRSet) subnet(i int) netip.Prefix {
	bhi, blo := toUint128(s.cluster.Addr())
	shift := uint(s.cluster.Addr().BitLen() - s.maskSize)
	ohi, olo := shl128(0, uint64(i), shift)
	lo, carry := bits.Add64(blo, olo, 0)
	hi, _ := bits.Add64(bhi, ohi, carry)
	return netip.PrefixFrom(fromUint128(hi, lo, s.cluster.Addr().Is4()), s.maskSize)
}

func toUint128(a netip.Addr) (uint64, uint64) {
	if a.Is4() {
		b := a.As4()
		return 0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	}
	b := a.As16()
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return hi, lo
}

func fromUint128(hi, lo uint64, v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)})
	}
	var b [16]byte
	for i := 7; i >= 0; i-- {
		b[i] = byte(hi)
		hi >>= 8
		b[8+i] = byte(lo)
		lo >>= 8
	}
	return netip.AddrFrom16(b)
}

func shl128(hi, lo uint64, n uint) (uint64, uint64) {
	switch {
	case n == 0:
		return hi, lo
	case n >= 64:
		return lo << (n - 64), 0
	}
	return hi<<n | lo>>(64-n), lo << n
}

func shr128(hi, lo uint64, n uint) (uint64, uint64) {
	switch {
	case n == 0:
		return hi, lo
	case n >= 64:
		return 0, hi >> (n - 64)
	}
	return hi >> n, lo>>n | hi<<(64-n)
}
