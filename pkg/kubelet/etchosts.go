package kubelet

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/kubelet/podsync"
)

// writeEtcHosts writes the /etc/hosts of pod's containers (Kubernetes'
// kubelet-managed hosts file: localhost, and ip with the pod's hostname)
// under the root directory, replacing it at once: a container created
// meanwhile mounts the old file or the new one, never half of it. A pod on
// the node's network keeps the node's /etc/hosts.
func (k *Kubelet) writeEtcHosts(pod *v1.Pod, ip netip.Addr) error {
	if pod.GetSpec().GetHostNetwork() {
		return nil
	}
	path := podsync.EtcHostsPath(k.cfg.RootDir, pod.GetMetadata().GetUid())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write the pod's /etc/hosts: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, podsync.EtcHosts(ip, podsync.Hostname(pod)), 0o644); err != nil {
		return fmt.Errorf("write the pod's /etc/hosts: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write the pod's /etc/hosts: %w", err)
	}
	return nil
}

// ensureEtcHosts writes pod's /etc/hosts, with the IP of its sandbox, when
// it is missing: the runtime would otherwise mount an empty directory in
// its place (a sandbox adopted by a kubelet whose root directory was lost).
func (k *Kubelet) ensureEtcHosts(ctx context.Context, pod *v1.Pod, sandboxID string) error {
	if pod.GetSpec().GetHostNetwork() {
		return nil
	}
	if _, err := os.Stat(podsync.EtcHostsPath(k.cfg.RootDir, pod.GetMetadata().GetUid())); err == nil {
		return nil
	}
	st, err := k.rt.SandboxStatus(ctx, sandboxID)
	if err != nil {
		return err
	}
	return k.writeEtcHosts(pod, st.IP)
}
