package client

import (
	"fmt"

	"minik8s/pkg/pki/kubeconfig"
)

// ConfigFromKubeconfig reads a kubeconfig file into a Config (address, TLS
// with the pinned cluster CA and the user's certificate, bearer token), for
// callers that set more fields (UserAgent, Logger) before New.
func ConfigFromKubeconfig(path string) (Config, error) {
	kc, err := kubeconfig.Load(path)
	if err != nil {
		return Config{}, fmt.Errorf("load kubeconfig %s: %w", path, err)
	}
	tlsCfg, err := kc.TLSConfig()
	if err != nil {
		return Config{}, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	addr := kc.Address()
	if addr == "" {
		return Config{}, fmt.Errorf("kubeconfig %s: the current context has no usable server", path)
	}
	return Config{Address: addr, TLS: tlsCfg, Token: kc.Token()}, nil
}

// FromKubeconfig creates a Clientset from a kubeconfig file with the
// defaults of Config.
func FromKubeconfig(path string) (*Clientset, error) {
	cfg, err := ConfigFromKubeconfig(path)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}
