package certificate

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// Names in the kubeconfig the kubelet writes, as Kubernetes' kubelet
// writes them after its TLS bootstrap.
const (
	kubeconfigCluster = "default-cluster"
	kubeconfigUser    = "default-auth"
	kubeconfigContext = "default-context"
	// pendingKeyFile keeps the key of a request in flight, so a restarted
	// kubelet asks again with the same key (and finds its request).
	pendingKeyFile = ClientPrefix + ".key.tmp"
)

// BootstrapConfig configures LoadOrBootstrap.
type BootstrapConfig struct {
	// NodeName is the node the certificate is for. Required.
	NodeName string
	// KubeconfigPath is --kubeconfig: used when it holds a valid client
	// certificate, written otherwise. Required.
	KubeconfigPath string
	// BootstrapKubeconfigPath is --bootstrap-kubeconfig: the cluster and a
	// bootstrap token. Required.
	BootstrapKubeconfigPath string
	// CertDir holds the client certificates (<root-dir>/pki). Required.
	CertDir string
	// WaitTimeout bounds the wait for approval and signing;
	// DefaultWaitTimeout when 0. PollInterval is how often the request is
	// read; DefaultPollInterval when 0.
	WaitTimeout  time.Duration
	PollInterval time.Duration
	// NewClient connects with a kubeconfig; nil means pkg/client.
	NewClient func(kubeconfigPath string) (CSRClient, func() error, error)
	Clock     clockwork.Clock
	Logger    *zap.Logger
}

// LoadOrBootstrap makes sure KubeconfigPath holds a usable client
// certificate for the node. When it does, nothing happens. When the store
// holds a valid certificate (a kubelet.conf lost or never written),
// KubeconfigPath is written to reference it. Otherwise the TLS bootstrap
// runs: a new key, a request authenticated by the bootstrap token, the
// issued certificate stored, KubeconfigPath written.
func LoadOrBootstrap(ctx context.Context, cfg BootstrapConfig) error {
	if cfg.NodeName == "" || cfg.KubeconfigPath == "" || cfg.BootstrapKubeconfigPath == "" || cfg.CertDir == "" {
		return errdefs.Invalid("TLS bootstrap: node name, kubeconfig, bootstrap kubeconfig and certificate directory are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.NewClient == nil {
		cfg.NewClient = newClient
	}
	lg := cfg.Logger.With(zap.String("kubeconfig", cfg.KubeconfigPath))
	now := cfg.Clock.Now()
	if err := kubeconfigUsable(cfg.KubeconfigPath, now); err == nil {
		lg.Info("Using the client certificate of the existing kubeconfig")
		return nil
	} else if !errdefs.IsNotFound(err) {
		lg.Info("The kubeconfig is not usable; bootstrapping a new client certificate", zap.Error(err))
	}

	boot, err := kubeconfig.Load(cfg.BootstrapKubeconfigPath)
	if err != nil {
		return fmt.Errorf("TLS bootstrap: --bootstrap-kubeconfig: %w", err)
	}
	store := ClientStore(cfg.CertDir)
	if pair, err := store.Current(); err == nil && usable(pair.Leaf, now) == nil && pair.Leaf.Subject.CommonName == NodeUserPrefix+cfg.NodeName {
		lg.Info("Using the stored client certificate", zap.String("certificate", store.CurrentPath()))
		return writeKubeconfig(cfg.KubeconfigPath, boot, store.CurrentPath())
	}

	csrs, closeClient, err := cfg.NewClient(cfg.BootstrapKubeconfigPath)
	if err != nil {
		return fmt.Errorf("TLS bootstrap: %w", err)
	}
	defer closeClient() //nolint:errcheck // nothing to do about it

	key, err := pendingKey(cfg.CertDir)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("TLS bootstrap: %w", err)
	}
	r := &requester{csrs: csrs, nodeName: cfg.NodeName, clock: cfg.Clock, timeout: cfg.WaitTimeout, poll: cfg.PollInterval, lg: lg}
	certPEM, err := r.request(ctx, key, digestedName(der, []string{"digital signature", "client auth"}))
	if err != nil {
		return fmt.Errorf("TLS bootstrap: %w", err)
	}
	path, err := store.Update(certPEM, key, cfg.Clock.Now())
	if err != nil {
		return fmt.Errorf("TLS bootstrap: %w", err)
	}
	_ = os.Remove(filepath.Join(cfg.CertDir, pendingKeyFile))
	lg.Info("TLS bootstrap done: stored the client certificate", zap.String("certificate", path))
	return writeKubeconfig(cfg.KubeconfigPath, boot, store.CurrentPath())
}

// pendingKey reads the key of a request in flight, or makes and keeps a
// new one.
func pendingKey(dir string) (crypto.Signer, error) {
	p := filepath.Join(dir, pendingKeyFile)
	if key, err := pki.ReadKeyFile(p); err == nil {
		return key, nil
	}
	key, err := pki.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := pki.WriteKeyFile(p, key); err != nil {
		return nil, fmt.Errorf("TLS bootstrap: keep the private key: %w", err)
	}
	return key, nil
}

// kubeconfigUsable checks that a kubeconfig exists, resolves, and holds a
// client certificate (inline or in files) that is valid now. NotFound when
// the file does not exist.
func kubeconfigUsable(path string, now time.Time) error {
	kc, err := kubeconfig.Load(path)
	if err != nil {
		return err
	}
	if err := kc.Validate(); err != nil {
		return err
	}
	if _, err := kc.TLSConfig(); err != nil {
		return err
	}
	return usable(kc.ClientCertificate(), now)
}

// writeKubeconfig writes the kubelet's kubeconfig: the cluster of the
// bootstrap kubeconfig (server and CA) and the stored certificate by
// reference, so that a rotated certificate is picked up.
func writeKubeconfig(path string, boot *kubeconfig.Config, certFile string) error {
	_, cl, _, err := boot.Current()
	if err != nil {
		return fmt.Errorf("--bootstrap-kubeconfig: %w", err)
	}
	caPEM, err := boot.CAData()
	if err != nil {
		return fmt.Errorf("--bootstrap-kubeconfig: %w", err)
	}
	certFile, err = filepath.Abs(certFile)
	if err != nil {
		return err
	}
	kc := &kubeconfig.Config{
		APIVersion: "v1",
		Kind:       "Config",
		Clusters: []kubeconfig.NamedCluster{{Name: kubeconfigCluster, Cluster: kubeconfig.Cluster{
			Server: cl.Server, TLSServerName: cl.TLSServerName, CertificateAuthorityData: caPEM,
		}}},
		Contexts: []kubeconfig.NamedContext{{Name: kubeconfigContext, Context: kubeconfig.Context{
			Cluster: kubeconfigCluster, User: kubeconfigUser, Namespace: kubeconfig.DefaultNamespace,
		}}},
		CurrentContext: kubeconfigContext,
		Users: []kubeconfig.NamedUser{{Name: kubeconfigUser, User: kubeconfig.AuthInfo{
			ClientCertificate: certFile, ClientKey: certFile,
		}}},
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := kubeconfig.Write(path, kc); err != nil {
		return err
	}
	return nil
}

// newClient is a CSR client for a kubeconfig, through pkg/client.
func newClient(path string) (CSRClient, func() error, error) {
	cfg, err := client.ConfigFromKubeconfig(path)
	if err != nil {
		return nil, nil, err
	}
	cfg.UserAgent = "kubelet/tls-bootstrap"
	cs, err := client.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cs.CSRs(), cs.Close, nil
}

// UsesStore reports whether the kubeconfig at path takes its client
// certificate from the store in certDir (so that rotating it there changes
// what the kubelet presents).
func UsesStore(path, certDir string) bool {
	kc, err := kubeconfig.Load(path)
	if err != nil {
		return false
	}
	_, _, au, err := kc.Current()
	if err != nil || au.ClientCertificate == "" {
		return false
	}
	cert := au.ClientCertificate
	if !filepath.IsAbs(cert) {
		cert = filepath.Join(filepath.Dir(path), cert)
	}
	want, err := filepath.Abs(ClientStore(certDir).CurrentPath())
	if err != nil {
		return false
	}
	got, err := filepath.Abs(cert)
	return err == nil && filepath.Clean(got) == filepath.Clean(want)
}
