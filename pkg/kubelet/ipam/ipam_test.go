package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"minik8s/pkg/apis/errdefs"
)

func TestNew(t *testing.T) {
	tests := []struct {
		give        string
		wantErr     bool
		wantSize    int
		wantGateway string
	}{
		{give: "10.2.1.0/24", wantSize: 253, wantGateway: "10.2.1.1"},
		{give: "10.2.1.7/24", wantSize: 253, wantGateway: "10.2.1.1"}, // masked
		{give: "10.2.0.0/16", wantSize: 65533, wantGateway: "10.2.0.1"},
		{give: "10.2.1.4/30", wantSize: 1, wantGateway: "10.2.1.5"},
		{give: "10.2.1.0/31", wantErr: true},
		{give: "10.0.0.0/8", wantErr: true},
		{give: "fd00::/120", wantErr: true},
		{give: "nonsense", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			a, err := New(tt.give)
			if tt.wantErr {
				if !errdefs.IsInvalid(err) {
					t.Fatalf("New(%q) error = %v, want Invalid", tt.give, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Size() != tt.wantSize {
				t.Errorf("Size = %d, want %d", a.Size(), tt.wantSize)
			}
			if got := a.Gateway().String(); got != tt.wantGateway {
				t.Errorf("Gateway = %s, want %s", got, tt.wantGateway)
			}
		})
	}
}

func TestAllocateSkipsReservedAddressesAndWraps(t *testing.T) {
	a, err := New("10.2.3.0/29") // .0 network, .1 gateway, .2-.6 usable, .7 broadcast
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range 5 {
		ip, err := a.Allocate(fmt.Sprintf("pod-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip.String())
	}
	want := []string{"10.2.3.2", "10.2.3.3", "10.2.3.4", "10.2.3.5", "10.2.3.6"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("allocated %v, want %v", got, want)
	}
	if _, err := a.Allocate("pod-5"); !errors.Is(err, ErrFull) {
		t.Fatalf("Allocate on a full range: %v, want ErrFull", err)
	}
	// Round-robin: a freed address comes back only after the search wraps.
	a.Release("pod-1")
	a.Release("pod-3")
	ip, err := a.Allocate("pod-6")
	if err != nil {
		t.Fatal(err)
	}
	if ip.String() != "10.2.3.3" {
		t.Errorf("after wrap got %s, want 10.2.3.3", ip)
	}
	ip, err = a.Allocate("pod-7")
	if err != nil {
		t.Fatal(err)
	}
	if ip.String() != "10.2.3.5" {
		t.Errorf("next got %s, want 10.2.3.5", ip)
	}
	if a.Used() != 5 {
		t.Errorf("Used = %d, want 5", a.Used())
	}
}

func TestAllocateIsIdempotentPerOwner(t *testing.T) {
	a, err := New("10.2.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	first, err := a.Allocate("uid-a")
	if err != nil {
		t.Fatal(err)
	}
	again, err := a.Allocate("uid-a")
	if err != nil {
		t.Fatal(err)
	}
	if first != again || a.Used() != 1 {
		t.Fatalf("second Allocate gave %s (first %s), used %d", again, first, a.Used())
	}
	if ip, ok := a.Lookup("uid-a"); !ok || ip != first {
		t.Errorf("Lookup = %s %v", ip, ok)
	}
	a.Release("uid-a")
	a.Release("uid-a") // releasing twice is harmless
	if _, ok := a.Lookup("uid-a"); ok || a.Used() != 0 {
		t.Errorf("after Release: used %d", a.Used())
	}
	if _, err := a.Allocate(""); !errdefs.IsInvalid(err) {
		t.Errorf("Allocate with empty owner: %v", err)
	}
}

func TestReserveRebuildsAfterRestart(t *testing.T) {
	a, err := New("10.2.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		owner string
		ip    string
		check func(error) bool
	}{
		{name: "free address", owner: "a", ip: "10.2.1.2", check: func(err error) bool { return err == nil }},
		{name: "same again", owner: "a", ip: "10.2.1.2", check: func(err error) bool { return err == nil }},
		{name: "another owner's", owner: "b", ip: "10.2.1.2", check: errdefs.IsAlreadyExists},
		{name: "owner holds another", owner: "a", ip: "10.2.1.9", check: errdefs.IsAlreadyExists},
		{name: "second owner", owner: "b", ip: "10.2.1.3", check: func(err error) bool { return err == nil }},
		{name: "network address", owner: "c", ip: "10.2.1.0", check: errdefs.IsInvalid},
		{name: "gateway", owner: "c", ip: "10.2.1.1", check: errdefs.IsInvalid},
		{name: "broadcast", owner: "c", ip: "10.2.1.255", check: errdefs.IsInvalid},
		{name: "outside", owner: "c", ip: "10.2.2.5", check: errdefs.IsInvalid},
		{name: "empty owner", owner: "", ip: "10.2.1.7", check: errdefs.IsInvalid},
	}
	for _, tt := range tests {
		err := a.Reserve(tt.owner, netip.MustParseAddr(tt.ip))
		if !tt.check(err) {
			t.Errorf("%s: Reserve(%q, %s) = %v", tt.name, tt.owner, tt.ip, err)
		}
	}
	// New allocations step around the reserved addresses.
	ip, err := a.Allocate("c")
	if err != nil {
		t.Fatal(err)
	}
	if ip.String() != "10.2.1.4" {
		t.Errorf("Allocate after Reserve = %s, want 10.2.1.4", ip)
	}
	if got := len(a.Owners()); got != 3 {
		t.Errorf("Owners has %d entries, want 3", got)
	}
}

func TestConcurrentAllocateGivesDistinctAddresses(t *testing.T) {
	a, err := New("10.2.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ips := make([]netip.Addr, a.Size())
	for i := range ips {
		wg.Go(func() {
			ip, err := a.Allocate(fmt.Sprintf("pod-%d", i))
			if err != nil {
				t.Error(err)
			}
			ips[i] = ip
		})
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for _, ip := range ips {
		if seen[ip] {
			t.Fatalf("address %s handed out twice", ip)
		}
		seen[ip] = true
	}
	if _, err := a.Allocate("one-more"); !errors.Is(err, ErrFull) {
		t.Errorf("Allocate past the end: %v", err)
	}
}
