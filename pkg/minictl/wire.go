package minictl

import (
	"github.com/spf13/cobra"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/manifest"
	"minik8s/pkg/minictl/kubeadm"
	"minik8s/pkg/pki/kubeconfig"
)

// This file connects minictl to the packages it builds on besides the API
// client (apiclient.go): the kubeconfig, the manifest codec and the init
// phases.

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
	return manifest.Decode(data)
}

// encodeJSON prints obj in the manifest shape as JSON.
func encodeJSON(obj apis.Object) ([]byte, error) {
	return manifest.EncodeJSON(obj)
}

// encodeYAML prints obj in the manifest shape as YAML.
func encodeYAML(obj apis.Object) ([]byte, error) {
	return manifest.EncodeYAML(obj)
}

// encodeList prints objects as a kubectl-style v1 List, in JSON or YAML.
func encodeList(format string, objs []apis.Object) ([]byte, error) {
	if format == outputYAML {
		return manifest.EncodeListYAML(objs)
	}
	return manifest.EncodeListJSON(objs)
}

// toMap returns obj in the manifest shape as generic values.
func toMap(obj apis.Object) (map[string]any, error) {
	return manifest.ToMap(obj)
}

// newInitCommand is kubeadm's `init` with its phases.
func newInitCommand(f *Factory) *cobra.Command {
	return kubeadm.NewInitCommand(f.Out)
}
