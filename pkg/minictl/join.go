package minictl

import (
	"github.com/spf13/cobra"

	"minik8s/pkg/minictl/kubeadm"
)

// newJoinCommand is kubeadm's `join`: token discovery with the pinned CA,
// then the kubelet's TLS bootstrap (pkg/minictl/kubeadm holds the work).
func newJoinCommand(f *Factory) *cobra.Command {
	return kubeadm.NewJoinCommand(f.Out)
}
