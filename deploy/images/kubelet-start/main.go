// Command kubelet-start is the entrypoint of the minik8s/kubelet image: what
// `kubeadm join` and its kubelet-start phase do on a machine that joins a
// cluster, for a node that is a compose service.
//
//  1. Unless <dir>/kubelet.conf exists already (the node joined before and
//     the kubelet holds its own certificate), it runs the join command that
//     init wrote (`minictl join <addr> --token T
//     --discovery-token-ca-cert-hash sha256:H`) with --node-name and
//     --kubeconfig-dir <dir>: discovery checks the CA against the pinned hash
//     and writes <dir>/bootstrap-kubelet.conf.
//  2. It writes <dir>/pki/ca.crt (the CA that join verified) for the
//     kubelet's --client-ca-file, unless join did.
//  3. It picks the node's IP: the container's first IPv4 address outside
//     the pod network (the address the apiserver reaches the kubelet on).
//  4. It replaces itself with the kubelet: --bootstrap-kubeconfig,
//     --kubeconfig, --hostname-override, --node-ip, --root-dir and
//     --client-ca-file, followed by every argument after "--".
//
// <dir> is the kubelet's root directory and must be the same path inside the
// container and on the host: the kubelet hands emptyDir folders under it to
// the host's Docker engine as bind mounts.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"minik8s/pkg/pki/kubeconfig"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "kubelet-start: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	nodeName    string
	dir         string
	joinFile    string
	minictl     string
	kubelet     string
	podCIDR     string
	nodeIP      string
	joinTimeout time.Duration
	kubeletArgs []string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("kubelet-start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.nodeName, "node-name", "", "the node's name (required)")
	fs.StringVar(&o.dir, "dir", "", "the kubelet's root directory, the same path on the host (required)")
	fs.StringVar(&o.joinFile, "join-file", "/etc/minik8s/join/join-command", "file holding the join command that init wrote")
	fs.StringVar(&o.minictl, "minictl", "/minictl", "the minictl binary")
	fs.StringVar(&o.kubelet, "kubelet", "/kubelet", "the kubelet binary")
	fs.StringVar(&o.podCIDR, "pod-network-cidr", "10.2.0.0/16", "the pod network; the node's IP is outside it")
	fs.StringVar(&o.nodeIP, "node-ip", "", "the node's IP (default: the first IPv4 address outside --pod-network-cidr)")
	fs.DurationVar(&o.joinTimeout, "join-timeout", 2*time.Minute, "how long to retry the join while the apiserver is not ready")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.nodeName == "" || o.dir == "" {
		return nil, errors.New("--node-name and --dir are required")
	}
	if !filepath.IsAbs(o.dir) {
		return nil, fmt.Errorf("--dir %q must be absolute (the same path on the host)", o.dir)
	}
	o.kubeletArgs = fs.Args()
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	kubeletConf := filepath.Join(o.dir, "kubelet.conf")
	bootstrapConf := filepath.Join(o.dir, "bootstrap-kubelet.conf")
	if _, err := os.Stat(kubeletConf); err == nil {
		fmt.Fprintf(stdout, "[kubelet-start] %s exists: node %q joined before\n", kubeletConf, o.nodeName)
	} else if err := join(o, stdout); err != nil {
		return err
	}
	caFile := filepath.Join(o.dir, "pki", "ca.crt")
	if err := writeCA(caFile, kubeletConf, bootstrapConf); err != nil {
		return err
	}
	ip := o.nodeIP
	if ip == "" {
		if ip, err = nodeIP(o.podCIDR); err != nil {
			return err
		}
	}
	argv := []string{o.kubelet,
		"--kubeconfig", kubeletConf,
		"--hostname-override", o.nodeName,
		"--node-ip", ip,
		"--root-dir", o.dir,
		"--client-ca-file", caFile,
	}
	if _, err := os.Stat(bootstrapConf); err == nil {
		argv = append(argv, "--bootstrap-kubeconfig", bootstrapConf)
	}
	argv = append(argv, o.kubeletArgs...)
	fmt.Fprintf(stdout, "[kubelet-start] Starting the kubelet: %s\n", strings.Join(argv, " "))
	return syscall.Exec(o.kubelet, argv, os.Environ())
}

// join runs the join command of the join file for this node, retrying while
// the apiserver does not answer yet.
func join(o *options, stdout io.Writer) error {
	b, err := os.ReadFile(o.joinFile)
	if err != nil {
		return fmt.Errorf("read the join command: %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) < 3 || fields[0] != "minictl" || fields[1] != "join" {
		return fmt.Errorf("%s does not hold a join command", o.joinFile)
	}
	args := append(fields[1:], "--node-name", o.nodeName, "--kubeconfig-dir", o.dir, "--kubelet-root-dir", o.dir)
	deadline := time.Now().Add(o.joinTimeout)
	for {
		var out bytes.Buffer
		cmd := exec.Command(o.minictl, args...)
		cmd.Stdout, cmd.Stderr = io.MultiWriter(stdout, &out), io.MultiWriter(stdout, &out)
		err := cmd.Run()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minictl join: %w", err)
		}
		time.Sleep(2 * time.Second)
	}
}

// writeCA writes the cluster CA of the node's kubeconfig (or of the
// bootstrap kubeconfig, whose CA join pinned) to path, unless it exists.
func writeCA(path string, kubeconfigs ...string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	for _, kc := range kubeconfigs {
		c, err := kubeconfig.Load(kc)
		if err != nil {
			continue
		}
		ca, err := c.CAData()
		if err != nil || len(ca) == 0 {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		return os.WriteFile(path, ca, 0o644)
	}
	return fmt.Errorf("no cluster CA in %s", strings.Join(kubeconfigs, " or "))
}

// nodeIP is the first IPv4 address of an interface that is up, not
// loopback and outside the pod network.
func nodeIP(podCIDR string) (string, error) {
	pods, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return "", fmt.Errorf("--pod-network-cidr: %w", err)
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.Is4() && !pods.Contains(ip) {
				return ip.String(), nil
			}
		}
	}
	return "", fmt.Errorf("no IPv4 address outside the pod network %s", podCIDR)
}
