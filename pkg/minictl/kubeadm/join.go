package kubeadm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// Defaults of join, as kubeadm's.
const (
	DefaultDiscoveryTimeout    = 5 * time.Minute
	DefaultTLSBootstrapTimeout = 4 * time.Minute
	// BootstrapTokenUser is the user of bootstrap-kubelet.conf.
	BootstrapTokenUser = "tls-bootstrap-token-user"
	discoveryRetry     = 2 * time.Second
)

// DiscoveryConfig is what token discovery needs.
type DiscoveryConfig struct {
	// Endpoint is the apiserver's host:port.
	Endpoint string
	// Token is the bootstrap token: its ID names the signature to check,
	// its secret keys it. It is never sent during discovery.
	Token pki.Token
	// CAHashes pin the cluster CA ("sha256:<hex>"); one must match.
	CAHashes []string
	// Timeout bounds the retries while cluster-info cannot be read or is
	// not signed with the token yet; 0 means DefaultDiscoveryTimeout.
	Timeout time.Duration
	// Printf receives kubeadm's [discovery] lines; nil prints nothing.
	Printf func(format string, args ...any)
	// Sleep waits between attempts; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock of the timeout; nil means time.Now.
	Now func() time.Time
}

// DiscoveryResult is a cluster that passed every check.
type DiscoveryResult struct {
	// Server is the apiserver URL nodes use (https://<endpoint>).
	Server string
	// CAPEM is the cluster CA that matched the pinned hash.
	CAPEM []byte
	// CA is its first certificate.
	CA *x509.Certificate
}

// errDiscoveryRetry marks what may change while discovery waits: the
// apiserver not up yet, a token signature not added yet.
type errDiscoveryRetry struct{ err error }

func (e *errDiscoveryRetry) Error() string { return e.err.Error() }
func (e *errDiscoveryRetry) Unwrap() error { return e.err }

// Discover does kubeadm's token discovery without trusting the server or
// sending it anything secret: it reads cluster-info over TLS it does not
// verify, checks that cluster-info is signed with the token (a detached
// JWS keyed by the token secret), checks the CA in it against the pinned
// hashes, and reads cluster-info again over TLS verified with that CA
// (the server holds a certificate of the pinned CA) to see the same
// content. The error says which check failed. Only a missing signature and
// an unreachable server are retried, until the timeout.
func Discover(ctx context.Context, cfg DiscoveryConfig) (*DiscoveryResult, error) {
	if cfg.Printf == nil {
		cfg.Printf = func(string, ...any) {}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultDiscoveryTimeout
	}
	if len(cfg.CAHashes) == 0 {
		return nil, errdefs.Invalid("discovery: --discovery-token-ca-cert-hash is required: the cluster CA must be pinned")
	}
	for _, h := range cfg.CAHashes {
		if _, err := pki.NormalizeCAHash(h); err != nil {
			return nil, fmt.Errorf("--discovery-token-ca-cert-hash: %w", err)
		}
	}
	host, _, err := net.SplitHostPort(cfg.Endpoint)
	if err != nil {
		return nil, errdefs.Invalid("discovery: the API server endpoint %q is not host:port", cfg.Endpoint)
	}
	cfg.Printf("[discovery] Trying to connect to API Server %q", cfg.Endpoint)
	deadline := cfg.Now().Add(cfg.Timeout)
	for {
		res, err := discoverOnce(ctx, cfg, host)
		if err == nil {
			cfg.Printf("[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server %q", cfg.Endpoint)
			cfg.Printf("[discovery] Successfully established connection with API Server %q", cfg.Endpoint)
			return res, nil
		}
		var retry *errDiscoveryRetry
		if !errors.As(err, &retry) {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !cfg.Now().Before(deadline) {
			return nil, errdefs.Wrap(errdefs.ClassTimeout, retry.err, fmt.Sprintf("discovery: gave up after %s", cfg.Timeout))
		}
		cfg.Printf("[discovery] Failed to request cluster-info, will try again: %v", retry.err)
		if err := cfg.Sleep(ctx, discoveryRetry); err != nil {
			return nil, err
		}
	}
}

func discoverOnce(ctx context.Context, cfg DiscoveryConfig, host string) (*DiscoveryResult, error) {
	cfg.Printf("[discovery] Created cluster-info discovery client, requesting info from %q", cfg.Endpoint)
	cm, err := clusterInfo(ctx, cfg.Endpoint, pki.InsecureDiscoveryTLSConfig())
	if err != nil {
		return nil, &errDiscoveryRetry{err}
	}
	content, ok := cm.GetData()[ClusterInfoKubeconfigKey]
	if !ok {
		return nil, errdefs.Invalid("discovery: the cluster-info ConfigMap holds no %q", ClusterInfoKubeconfigKey)
	}
	sig, ok := cm.GetData()[ClusterInfoSignaturePrefix+cfg.Token.ID]
	if !ok {
		return nil, &errDiscoveryRetry{errdefs.NotFound("there is no JWS signed token in the cluster-info ConfigMap: token ID %q is invalid for this cluster or has expired, or it was created a moment ago", cfg.Token.ID)}
	}
	if err := pki.VerifyJWS(sig, []byte(content), cfg.Token.ID, cfg.Token.Secret); err != nil {
		return nil, errdefs.Wrap(errdefs.ClassUnauthenticated, err,
			"discovery: the token check failed: cluster-info is not signed with this token (a wrong token secret, or not the cluster you think); refusing to trust this API server")
	}
	kc, err := kubeconfig.Parse([]byte(content))
	if err != nil || len(kc.Clusters) == 0 {
		return nil, errdefs.Invalid("discovery: the kubeconfig in cluster-info has no cluster")
	}
	caPEM := kc.Clusters[0].Cluster.CertificateAuthorityData
	certs, err := pki.ParseCertsPEM(caPEM)
	if err != nil {
		return nil, fmt.Errorf("discovery: the cluster CA in cluster-info: %w", err)
	}
	if err := pki.VerifyCAHash(certs[0], cfg.CAHashes...); err != nil {
		return nil, errdefs.Wrap(errdefs.ClassUnauthenticated, err,
			"discovery: the CA check failed: refusing to trust this API server")
	}
	// The same cluster-info, now over TLS verified with the pinned CA.
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	pinned, err := clusterInfo(ctx, cfg.Endpoint, pki.ClientTLSConfig(pool, nil, host))
	if err != nil {
		if errdefs.IsUnavailable(err) {
			return nil, errdefs.Wrap(errdefs.ClassUnauthenticated, err,
				"discovery: the TLS check failed: the API server does not present a certificate of the pinned CA")
		}
		return nil, err
	}
	if pinned.GetData()[ClusterInfoKubeconfigKey] != content {
		return nil, errdefs.Unauthenticated("discovery: cluster-info changed between the unverified and the verified read")
	}
	return &DiscoveryResult{Server: "https://" + cfg.Endpoint, CAPEM: caPEM, CA: certs[0]}, nil
}

// kubeletPort is the port of the kubelet's server: --port among the extra
// kubelet flags, else Kubernetes' 10250; not positive when it is off.
func kubeletPort(args []string) int {
	port := portKubelet
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--port="); ok {
			if p, err := strconv.Atoi(v); err == nil {
				port = p
			}
		}
	}
	return port
}

// clusterInfo reads cluster-info through the Discovery service, without
// credentials.
func clusterInfo(ctx context.Context, endpoint string, tlsCfg *tls.Config) (*v1.ConfigMap, error) {
	cs, err := client.New(client.Config{Address: endpoint, TLS: tlsCfg, Timeout: 10 * time.Second, UserAgent: "minictl/join"})
	if err != nil {
		return nil, err
	}
	defer cs.Close()
	return cs.GetClusterInfo(ctx)
}

// joinOptions are join's flags.
type joinOptions struct {
	token            string
	caHashes         []string
	nodeName         string
	kubeconfigDir    string
	kubeletDir       string
	criSocket        string
	startKubelet     bool
	kubeletArgs      []string
	ignorePreflight  []string
	discoveryTimeout time.Duration
	bootstrapTimeout time.Duration
}

// NewJoinCommand is kubeadm's `join` for a worker node.
func NewJoinCommand(out io.Writer) *cobra.Command {
	return newJoinCommand(out, osEnv())
}

func newJoinCommand(out io.Writer, e env) *cobra.Command {
	o := &joinOptions{}
	cmd := &cobra.Command{
		Use:   "join [api-server-endpoint]",
		Short: "Run this on any machine you wish to join an existing cluster",
		Long: `When joining a cluster with a bootstrap token, minictl join checks the cluster
before it trusts it, as kubeadm does: it reads the public cluster-info without
trusting the server, checks that cluster-info is signed with the token and that
the cluster CA's public key matches --discovery-token-ca-cert-hash, and only then
writes bootstrap-kubelet.conf (the token) and pki/ca.crt into --kubeconfig-dir.
The kubelet started with --bootstrap-kubeconfig then obtains its own certificate
(TLS bootstrap); with --start-kubelet, join starts it and waits for that.`,
		Example:      "  minictl join 10.10.10.100:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:<hex>",
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runJoin(ctx, out, e, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.token, flagToken, "", "Use this token for both discovery-token and tls-bootstrap-token.")
	f.StringSliceVar(&o.caHashes, "discovery-token-ca-cert-hash", nil, `For token-based discovery, validate that the root CA public key matches this hash (format: "sha256:<hex>").`)
	f.StringVar(&o.nodeName, flagNodeName, "", "Specify the node name (default: the host name, lower-cased).")
	f.StringVar(&o.kubeconfigDir, flagKubeconfigDir, DefaultKubeconfigDir, "Where bootstrap-kubelet.conf, kubelet.conf (written by the kubelet) and pki/ca.crt go.")
	f.StringVar(&o.kubeletDir, flagKubeletDir, DefaultKubeletDir, "The kubelet's --root-dir (with --start-kubelet: config.yaml, kubeadm-flags.env and the kubelet's certificates).")
	f.StringVar(&o.criSocket, flagCRISocket, DefaultCRISocket, "Path to the container runtime's socket (the Docker Engine).")
	f.BoolVar(&o.startKubelet, flagStartKubelet, false, "Start the kubelet binary (next to minictl, or on $PATH) and wait for its TLS bootstrap.")
	f.StringArrayVar(&o.kubeletArgs, flagKubeletArg, nil, "An extra flag for the kubelet (e.g. --kubelet-arg=--runtime=hollow). Repeatable.")
	f.StringSliceVar(&o.ignorePreflight, flagIgnorePreflight, nil, "A list of checks whose errors will be shown as warnings. Value 'all' ignores errors from all checks.")
	f.DurationVar(&o.discoveryTimeout, "discovery-timeout", DefaultDiscoveryTimeout, "How long to wait for the cluster to answer discovery.")
	f.DurationVar(&o.bootstrapTimeout, "tls-bootstrap-timeout", DefaultTLSBootstrapTimeout, "With --start-kubelet: how long to wait for the kubelet's TLS bootstrap.")
	return cmd
}

func runJoin(ctx context.Context, out io.Writer, e env, o *joinOptions, endpoint string) error {
	printf := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	if _, _, err := net.SplitHostPort(endpoint); err != nil {
		return errdefs.Invalid("the API server endpoint %q is not host:port (e.g. 10.10.10.100:6443)", endpoint)
	}
	if o.token == "" {
		return errdefs.Invalid("--%s is required: join with a bootstrap token (`minictl token create --print-join-command` on the control plane)", flagToken)
	}
	tok, err := pki.ParseToken(o.token)
	if err != nil {
		return errdefs.Invalid("--%s: the token is not of the form %q", flagToken, pki.TokenFormat)
	}
	if len(o.caHashes) == 0 {
		return errdefs.Invalid("--discovery-token-ca-cert-hash is required: the cluster CA must be pinned (`minictl token create --print-join-command` prints it)")
	}
	name := o.nodeName
	if name == "" {
		h, err := e.hostname()
		if err != nil {
			return fmt.Errorf("get host name for the node name: %w", err)
		}
		name = h
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if len(name) > 253 || !dns1123Subdomain.MatchString(name) {
		return errdefs.Invalid("--%s: %q is not a valid node name (a lowercase RFC 1123 subdomain)", flagNodeName, name)
	}
	ignore, err := ignoredChecks(o.ignorePreflight)
	if err != nil {
		return err
	}
	bootConf := filepath.Join(o.kubeconfigDir, BootstrapKubeconfig)
	kubeletConf := filepath.Join(o.kubeconfigDir, KubeletKubeconfig)
	caFile := filepath.Join(o.kubeconfigDir, "pki", CACertName+".crt")

	printf("[preflight] Running pre-flight checks")
	checks := []check{fileAvailableCheck(kubeletConf), fileAvailableCheck(bootConf), fileAvailableCheck(caFile), dirWritableCheck(o.kubeconfigDir)}
	if o.startKubelet {
		if port := kubeletPort(o.kubeletArgs); port > 0 {
			checks = append(checks, portCheck(e, port))
		}
		if !slices.Contains(o.kubeletArgs, "--runtime=hollow") {
			checks = append(checks, criCheck(e, o.criSocket))
		}
		checks = append(checks, dirWritableCheck(o.kubeletDir))
	}
	if err := runChecks(ctx, printf, ignore, checks); err != nil {
		return fmt.Errorf("error execution phase preflight: %w", err)
	}

	res, err := Discover(ctx, DiscoveryConfig{
		Endpoint: endpoint, Token: tok, CAHashes: o.caHashes, Timeout: o.discoveryTimeout,
		Printf: printf, Sleep: e.sleep, Now: e.now,
	})
	if err != nil {
		return fmt.Errorf("error execution phase preflight: couldn't validate the identity of the API Server: %w", err)
	}

	// Every check passed: now, and only now, the token is written down.
	if err := pki.WriteFile(caFile, res.CAPEM, pki.CertFileMode); err != nil {
		return fmt.Errorf("write the cluster CA: %w", err)
	}
	if err := kubeconfig.Write(bootConf, kubeconfig.NewToken(res.Server, res.CAPEM, BootstrapTokenUser, tok.String())); err != nil {
		return err
	}
	flags := kubeletFlags{
		kubeconfig: kubeletConf, bootstrapKubeconfig: bootConf, nodeName: name, rootDir: o.kubeletDir,
		caFile: caFile, criSocket: o.criSocket, extra: o.kubeletArgs,
	}
	if !o.startKubelet {
		printf("[kubelet-start] Wrote the TLS bootstrap credentials to %q", bootConf)
		printf("[kubelet-start] Not starting the kubelet (--%s was not given); start it with:\n\n\tkubelet %s\n", flagStartKubelet, strings.Join(flags.args(), " "))
		printf("This node is ready to join the cluster: the kubelet started that way sends a certificate signing request to the apiserver and uses the certificate it receives.")
		return nil
	}
	cfg := KubeletConfiguration{
		APIVersion: "kubelet.config.k8s.io/v1beta1", Kind: "KubeletConfiguration",
		HealthzBindAddress: "127.0.0.1", HealthzPort: kubeletHealthzPort, Port: portKubelet,
		RotateCertificates: true, NodeStatusUpdateFrequency: kubeletStatusInterval.String(), ContainerRuntimeEndpoint: o.criSocket,
	}
	cfg.Authentication.X509.ClientCAFile = caFile
	if err := writeKubeletFiles(printf, o.kubeletDir, cfg, flags.args()); err != nil {
		return err
	}
	if err := startKubelet(printf, e, false, true, o.kubeletDir, flags.args()); err != nil {
		return err
	}
	printf("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...")
	deadline := e.now().Add(o.bootstrapTimeout)
	for {
		if _, err := os.Stat(kubeletConf); err == nil {
			break
		}
		if !e.now().Before(deadline) {
			return errdefs.Wrap(errdefs.ClassTimeout, context.DeadlineExceeded, fmt.Sprintf(
				"error execution phase kubelet-start: the kubelet did not write %s within %s; see %s", kubeletConf, o.bootstrapTimeout, filepath.Join(o.kubeletDir, kubeletLogFile)))
		}
		if err := e.sleep(ctx, pollInterval); err != nil {
			return err
		}
	}
	fmt.Fprint(out, `
This node has joined the cluster:
* Certificate signing request was sent to apiserver and a response was received.
* The Kubelet was informed of the new secure connection details.

Run 'minictl get nodes' on the control-plane to see this node join the cluster.
`)
	return nil
}
