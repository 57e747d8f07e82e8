package minictl

import (
	"errors"

	"github.com/spf13/cobra"

	"minik8s/pkg/apis"
	"minik8s/pkg/minictl/kubeadm"
	"minik8s/pkg/pki/kubeconfig"
)

// This file connects minictl to the packages it builds on: the API client,
// the manifest codec and the init phases.

// errNotWired is returned by the parts whose package has not landed yet.
var errNotWired = errors.New("not available in this build")

// kubeconfigNamespace is the namespace of the kubeconfig's current context.
func kubeconfigNamespace(path string) string {
	cfg, err := kubeconfig.Load(path)
	if err != nil {
		return ""
	}
	return cfg.Namespace()
}

// decodeManifests decodes multi-document YAML or JSON into objects.
func decodeManifests(data []byte) ([]apis.Object, error) {
	return nil, errNotWired
}

// encodeJSON prints obj in the manifest shape as JSON.
func encodeJSON(obj apis.Object) ([]byte, error) {
	return nil, errNotWired
}

// encodeYAML prints obj in the manifest shape as YAML.
func encodeYAML(obj apis.Object) ([]byte, error) {
	return nil, errNotWired
}

// newInitCommand is kubeadm's `init` with its phases.
func newInitCommand(f *Factory) *cobra.Command {
	return kubeadm.NewInitCommand(f.Out)
}
