package nodestatus

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/quantity"
)

// Host is what the machine tells of itself.
type Host struct {
	CPUs        int
	MemoryBytes int64
	Info        *v1.NodeSystemInfo
}

// ReadHost reads the machine's CPUs, memory (/proc/meminfo) and system
// info (/etc/machine-id, /proc/sys/kernel/..., /etc/os-release). Missing
// files leave fields empty.
func ReadHost() Host {
	h := Host{CPUs: goruntime.NumCPU(), Info: &v1.NodeSystemInfo{
		OperatingSystem: goruntime.GOOS,
		Architecture:    goruntime.GOARCH,
	}}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		h.MemoryBytes = memTotal(data)
	}
	h.Info.MachineId = readTrim("/etc/machine-id")
	h.Info.SystemUuid = readTrim("/sys/class/dmi/id/product_uuid")
	h.Info.BootId = readTrim("/proc/sys/kernel/random/boot_id")
	h.Info.KernelVersion = readTrim("/proc/sys/kernel/osrelease")
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		h.Info.OsImage = prettyName(data)
	}
	return h
}

func readTrim(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// memTotal is MemTotal of /proc/meminfo in bytes.
func memTotal(meminfo []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

func prettyName(osRelease []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(osRelease))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// Capacity is the node's capacity: the host's CPUs and memory, maxPods
// pods, then the overrides (--capacity cpu=8,memory=16Gi,pods=110), each
// checked as a quantity and written in canonical form.
func Capacity(h Host, maxPods int, overrides map[string]string) (map[string]string, error) {
	c := map[string]string{
		"cpu":    strconv.Itoa(h.CPUs),
		"memory": fmt.Sprintf("%dKi", h.MemoryBytes/1024),
		"pods":   strconv.Itoa(maxPods),
	}
	for k, v := range overrides {
		q, err := quantity.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("capacity %s=%s: %w", k, v, err)
		}
		c[k] = q.String()
	}
	return c, nil
}

// Addresses are the node's InternalIP (nodeIP, else the host's first
// non-loopback IPv4 address) and Hostname.
func Addresses(nodeIP, hostname string) []*v1.NodeAddress {
	ip := nodeIP
	if ip == "" {
		ip = HostIP()
	}
	var out []*v1.NodeAddress
	if ip != "" {
		out = append(out, &v1.NodeAddress{Type: "InternalIP", Address: ip})
	}
	if hostname != "" {
		out = append(out, &v1.NodeAddress{Type: "Hostname", Address: hostname})
	}
	return out
}

// HostIP is the host's first global unicast IPv4 address, or "127.0.0.1".
func HostIP() string {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 ||
			strings.HasPrefix(ifc.Name, "docker") || strings.HasPrefix(ifc.Name, "br-") || strings.HasPrefix(ifc.Name, "veth") {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
