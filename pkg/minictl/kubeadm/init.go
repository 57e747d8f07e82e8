package kubeadm

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
)

// Defaults, as kubeadm's.
const (
	DefaultCertDir       = "/etc/kubernetes/pki"
	DefaultKubeconfigDir = "/etc/kubernetes"
	DefaultBindPort      = 6443
	DefaultServiceCIDR   = "10.96.0.0/12"
	DefaultDNSDomain     = "cluster.local"
	DefaultKubeletDir    = "/var/lib/kubelet"
	DefaultEtcdDataDir   = "/var/lib/etcd"
	DefaultTokenTTL      = 24 * time.Hour
	DefaultCRISocket     = "unix:///var/run/docker.sock"
	// DefaultImageRepository holds the control-plane images, built
	// locally (there is no registry).
	DefaultImageRepository = "minik8s"
	// Version is the minik8s version init sets up: the tag of the
	// control-plane images.
	Version = "v0.1.0"
	// DefaultWaitTimeout bounds wait-control-plane, as kubeadm's 4m0s.
	DefaultWaitTimeout = 4 * time.Minute
	// DefaultNodeWaitTimeout bounds the wait for the control-plane Node
	// in mark-control-plane.
	DefaultNodeWaitTimeout = 2 * time.Minute
)

// Flag names, shared by init and its phases.
const (
	flagCertDir              = "cert-dir"
	flagKubeconfigDir        = "kubeconfig-dir"
	flagAdvertiseAddress     = "apiserver-advertise-address"
	flagBindPort             = "apiserver-bind-port"
	flagCertSANs             = "apiserver-cert-extra-sans"
	flagServiceCIDR          = "service-cidr"
	flagDNSDomain            = "service-dns-domain"
	flagNodeName             = "node-name"
	flagControlPlaneEndpoint = "control-plane-endpoint"
	flagSkipPhases           = "skip-phases"
	flagDryRun               = "dry-run"
	flagPodNetworkCIDR       = "pod-network-cidr"
	flagToken                = "token"
	flagTokenTTL             = "token-ttl"
	flagIgnorePreflight      = "ignore-preflight-errors"
	flagUploadCerts          = "upload-certs"
	flagKubeletDir           = "kubelet-root-dir"
	flagEtcdDataDir          = "etcd-data-dir"
	flagKubernetesVersion    = "kubernetes-version"
	flagImageRepository      = "image-repository"
	flagCRISocket            = "cri-socket"
	flagStartKubelet         = "start-kubelet"
	flagKubeletArg           = "kubelet-arg"
)

// commonFlags are the flags of the cluster configuration that every phase
// command accepts, so one set of flags serves `init` and each of its
// phases alike; phase-specific flags are listed in Phase.Flags.
var commonFlags = []string{
	flagCertDir, flagKubeconfigDir, flagAdvertiseAddress, flagBindPort, flagCertSANs,
	flagServiceCIDR, flagDNSDomain, flagNodeName, flagControlPlaneEndpoint, flagDryRun,
	flagPodNetworkCIDR, flagKubeletDir, flagEtcdDataDir, flagKubernetesVersion, flagImageRepository,
	flagToken, flagTokenTTL,
}

// options are the raw flag values.
type options struct {
	certDir              string
	kubeconfigDir        string
	advertiseAddress     string
	bindPort             int
	certSANs             []string
	serviceCIDR          string
	dnsDomain            string
	nodeName             string
	controlPlaneEndpoint string
	skipPhases           []string
	dryRun               bool
	podNetworkCIDR       string
	token                string
	tokenTTL             time.Duration
	ignorePreflight      []string
	uploadCerts          bool
	kubeletDir           string
	etcdDataDir          string
	kubernetesVersion    string
	imageRepository      string
	criSocket            string
	startKubelet         bool
	kubeletArgs          []string
}

func (o *options) flagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("init", pflag.ContinueOnError)
	fs.StringVar(&o.certDir, flagCertDir, DefaultCertDir, "The path where to save and store the certificates.")
	fs.StringVar(&o.kubeconfigDir, flagKubeconfigDir, DefaultKubeconfigDir, "The path where to save the kubeconfig file.")
	fs.StringVar(&o.advertiseAddress, flagAdvertiseAddress, "", "The IP address the API Server will advertise it's listening on. If not set the default network interface will be used.")
	fs.IntVar(&o.bindPort, flagBindPort, DefaultBindPort, "Port for the API Server to bind to.")
	fs.StringSliceVar(&o.certSANs, flagCertSANs, nil, "Optional extra Subject Alternative Names (SANs) to use for the API Server serving certificate. Can be both IP addresses and DNS names.")
	fs.StringVar(&o.serviceCIDR, flagServiceCIDR, DefaultServiceCIDR, "Use alternative range of IP address for service VIPs.")
	fs.StringVar(&o.dnsDomain, flagDNSDomain, DefaultDNSDomain, `Use alternative domain for services, e.g. "myorg.internal".`)
	fs.StringVar(&o.nodeName, flagNodeName, "", "Specify the node name (default: the host name, lower-cased).")
	fs.StringVar(&o.controlPlaneEndpoint, flagControlPlaneEndpoint, "", "Specify a stable IP address or DNS name for the control plane, with an optional port.")
	fs.StringSliceVar(&o.skipPhases, flagSkipPhases, nil, "List of phases to be skipped")
	fs.BoolVar(&o.dryRun, flagDryRun, false, "Don't apply any changes; just output what would be done.")
	fs.StringVar(&o.podNetworkCIDR, flagPodNetworkCIDR, "", "Specify range of IP addresses for the pod network. If set, the control plane will automatically allocate CIDRs for every node.")
	fs.StringVar(&o.token, flagToken, "", "The token to use for establishing bidirectional trust between nodes and control-plane nodes. The format is [a-z0-9]{6}\\.[a-z0-9]{16} - e.g. abcdef.0123456789abcdef")
	fs.DurationVar(&o.tokenTTL, flagTokenTTL, DefaultTokenTTL, "The duration before the token is automatically deleted (e.g. 1s, 2m, 3h). If set to '0', the token will never expire")
	fs.StringSliceVar(&o.ignorePreflight, flagIgnorePreflight, nil, "A list of checks whose errors will be shown as warnings. Example: 'IsPrivilegedUser,Swap'. Value 'all' ignores errors from all checks.")
	fs.BoolVar(&o.uploadCerts, flagUploadCerts, false, "Upload control-plane certificates to the kubeadm-certs Secret (not supported: minik8s has one control-plane node).")
	fs.StringVar(&o.kubeletDir, flagKubeletDir, DefaultKubeletDir, "The kubelet's --root-dir: where config.yaml and kubeadm-flags.env are written and the kubelet keeps its certificates (pki/).")
	fs.StringVar(&o.etcdDataDir, flagEtcdDataDir, DefaultEtcdDataDir, "The data directory of the local etcd (kubeadm's etcd.local.dataDir).")
	fs.StringVar(&o.kubernetesVersion, flagKubernetesVersion, Version, "Choose a specific version for the control plane: the tag of the control-plane images.")
	fs.StringVar(&o.imageRepository, flagImageRepository, DefaultImageRepository, "Choose a container registry to pull control plane images from (minik8s builds them locally).")
	fs.StringVar(&o.criSocket, flagCRISocket, DefaultCRISocket, "Path to the container runtime's socket (the Docker Engine).")
	fs.BoolVar(&o.startKubelet, flagStartKubelet, false, "Start the kubelet binary (next to minictl, or on $PATH) with the flags init writes; otherwise start it yourself.")
	fs.StringArrayVar(&o.kubeletArgs, flagKubeletArg, nil, "An extra flag for the kubelet, written to kubeadm-flags.env (e.g. --kubelet-arg=--runtime=hollow). Repeatable.")
	return fs
}

// InitData is what every init phase reads: the validated configuration,
// where to write, and where to print.
type InitData struct {
	// Out receives the phase lines.
	Out io.Writer
	// CertDir is where certificates are written (a temporary directory in
	// a dry run).
	CertDir string
	// KubeconfigDir is where kubeconfig files are written (a temporary
	// directory in a dry run).
	KubeconfigDir string
	// AdvertiseAddress is the API server's address on the node.
	AdvertiseAddress net.IP
	// BindPort is the API server's secure port.
	BindPort int
	// ServiceCIDR is the range of service virtual IPs.
	ServiceCIDR netip.Prefix
	// DNSDomain is the cluster's service domain (cluster.local).
	DNSDomain string
	// NodeName is the name of this node (lower-case).
	NodeName string
	// ControlPlaneEndpoint is the optional stable host[:port] of the control
	// plane; when set, kubeconfigs point at it.
	ControlPlaneEndpoint string
	// CertSANs are extra SANs of the API server certificate.
	CertSANs []string
	// DryRun says to change nothing on the machine.
	DryRun bool
	// Now is the clock certificates are issued by.
	Now func() time.Time

	// PodNetworkCIDR is the pod network (--pod-network-cidr); invalid
	// (zero) when not given.
	PodNetworkCIDR netip.Prefix
	// Token is the bootstrap token (--token, else a new one) and TokenTTL
	// its lifetime (0: forever).
	Token    pki.Token
	TokenTTL time.Duration
	// KubeletDir is the kubelet's --root-dir (a temporary directory in a
	// dry run).
	KubeletDir string
	// EtcdDataDir is the local etcd's data directory.
	EtcdDataDir string
	// KubernetesVersion and ImageRepository name the control-plane images.
	KubernetesVersion string
	ImageRepository   string
	// CRISocket is the container runtime's endpoint.
	CRISocket string
	// StartKubelet: kubelet-start starts the kubelet binary.
	StartKubelet bool
	// KubeletArgs are extra kubelet flags.
	KubeletArgs []string
	// IgnorePreflight lists the checks (lower case) whose errors are only
	// warnings; "all" ignores every one.
	IgnorePreflight map[string]bool
	// RealKubeconfigDir is --kubeconfig-dir, also in a dry run.
	RealKubeconfigDir string
	// AdminKubeconfig is the kubeconfig the phases talk to the cluster
	// with (--kubeconfig); empty means admin.conf in KubeconfigDir.
	AdminKubeconfig string
	// WaitTimeout bounds wait-control-plane; NodeWaitTimeout the wait for
	// the Node in mark-control-plane.
	WaitTimeout     time.Duration
	NodeWaitTimeout time.Duration

	env    env
	client clusterClient
}

// ManifestDir is the static pod directory: <kubeconfig-dir>/manifests.
func (d *InitData) ManifestDir() string { return filepath.Join(d.KubeconfigDir, "manifests") }

// KubeletCertDir is where the kubelet keeps its client certificates.
func (d *InitData) KubeletCertDir() string { return filepath.Join(d.KubeletDir, "pki") }

// Certs is the certificate directory.
func (d *InitData) Certs() pki.Dir { return pki.Dir(d.CertDir) }

// APIServerServiceIP is the first IP of the service range (10.96.0.1): the
// address of the `kubernetes` service.
func (d *InitData) APIServerServiceIP() net.IP {
	a := d.ServiceCIDR.Masked().Addr().Next()
	return net.IP(a.AsSlice())
}

// ControlPlaneHostPort is where clients reach the API server: the
// control-plane endpoint (with the bind port when it names none), else the
// advertise address and the bind port.
func (d *InitData) ControlPlaneHostPort() string {
	if d.ControlPlaneEndpoint != "" {
		host, port, err := net.SplitHostPort(d.ControlPlaneEndpoint)
		if err != nil {
			return net.JoinHostPort(strings.Trim(d.ControlPlaneEndpoint, "[]"), strconv.Itoa(d.BindPort))
		}
		return net.JoinHostPort(host, port)
	}
	return net.JoinHostPort(d.AdvertiseAddress.String(), strconv.Itoa(d.BindPort))
}

// ServerURL is the API server URL written into kubeconfigs.
func (d *InitData) ServerURL() string { return "https://" + d.ControlPlaneHostPort() }

// now is the issuing clock.
func (d *InitData) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// printf writes one phase line.
func (d *InitData) printf(format string, args ...any) {
	fmt.Fprintf(d.Out, format+"\n", args...)
}

// env is what the command needs from the machine; tests replace it.
type env struct {
	hostname      func() (string, error)
	defaultIP     func() (net.IP, error)
	mkdirTemp     func() (string, error)
	now           func() time.Time
	removeTempDir func(string) error
	// sleep waits d or until ctx ends (polls).
	sleep func(ctx context.Context, d time.Duration) error
	// newClient connects to the API with a kubeconfig file.
	newClient func(kubeconfigPath string) (clusterClient, error)
	// The pre-flight probes.
	portInUse  func(port int) bool
	pingDocker func(ctx context.Context, endpoint string) error
	numCPU     func() int
	memTotalMB func() (int, error)
	// startKubelet starts the kubelet binary with args, detached, its
	// output appended to logFile; it returns the process ID.
	startKubelet func(args []string, logFile string) (int, error)
}

func osEnv() env {
	return env{
		hostname:      os.Hostname,
		defaultIP:     defaultIPv4,
		mkdirTemp:     func() (string, error) { return os.MkdirTemp("", "minik8s-init-dryrun") },
		now:           time.Now,
		removeTempDir: os.RemoveAll,
		sleep:         sleepCtx,
		newClient:     newAPIClient,
		portInUse:     portInUse,
		pingDocker:    pingDocker,
		numCPU:        runtime.NumCPU,
		memTotalMB:    memTotalMB,
		startKubelet:  startKubeletProcess,
	}
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// defaultIPv4 is the first non-loopback IPv4 address of an interface that is
// up, else 127.0.0.1.
func defaultIPv4() (net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
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
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip4 := ipn.IP.To4(); ip4 != nil && ip4.IsGlobalUnicast() {
				return ip4, nil
			}
		}
	}
	return net.IPv4(127, 0, 0, 1).To4(), nil
}

var dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// newInitData validates the options and fills the defaults that depend on
// the machine.
func newInitData(o *options, out io.Writer, e env) (*InitData, error) {
	d := &InitData{
		Out:               out,
		CertDir:           o.certDir,
		KubeconfigDir:     o.kubeconfigDir,
		RealKubeconfigDir: o.kubeconfigDir,
		BindPort:          o.bindPort,
		DNSDomain:         strings.TrimSuffix(o.dnsDomain, "."),
		DryRun:            o.dryRun,
		Now:               e.now,
		CertSANs:          o.certSANs,
		TokenTTL:          o.tokenTTL,
		KubeletDir:        o.kubeletDir,
		EtcdDataDir:       o.etcdDataDir,
		KubernetesVersion: o.kubernetesVersion,
		ImageRepository:   strings.TrimSuffix(o.imageRepository, "/"),
		CRISocket:         o.criSocket,
		StartKubelet:      o.startKubelet,
		KubeletArgs:       o.kubeletArgs,
		WaitTimeout:       DefaultWaitTimeout,
		NodeWaitTimeout:   DefaultNodeWaitTimeout,
		env:               e,
	}
	if o.uploadCerts {
		return nil, errdefs.NotImplemented("--%s is not supported: minik8s runs a single control-plane node, so there are no control-plane certificates to share; copy %s by hand if you need them elsewhere", flagUploadCerts, o.certDir)
	}
	if d.CertDir == "" || d.KubeconfigDir == "" || d.KubeletDir == "" || d.EtcdDataDir == "" {
		return nil, errdefs.Invalid("--%s, --%s, --%s and --%s must not be empty", flagCertDir, flagKubeconfigDir, flagKubeletDir, flagEtcdDataDir)
	}
	if d.TokenTTL < 0 {
		return nil, errdefs.Invalid("--%s: %s must not be negative", flagTokenTTL, d.TokenTTL)
	}
	if o.token != "" {
		tok, err := pki.ParseToken(o.token)
		if err != nil {
			return nil, errdefs.Invalid("--%s: the token is not of the form %q", flagToken, pki.TokenFormat)
		}
		d.Token = tok
	} else {
		raw, err := pki.GenerateToken()
		if err != nil {
			return nil, err
		}
		d.Token, _ = pki.ParseToken(raw)
	}
	if o.podNetworkCIDR != "" {
		p, err := netip.ParsePrefix(o.podNetworkCIDR)
		if err != nil {
			return nil, errdefs.Invalid("--%s: %q is not a valid CIDR", flagPodNetworkCIDR, o.podNetworkCIDR)
		}
		d.PodNetworkCIDR = p.Masked()
	}
	if d.KubernetesVersion == "" || d.ImageRepository == "" {
		return nil, errdefs.Invalid("--%s and --%s must not be empty", flagKubernetesVersion, flagImageRepository)
	}
	ignore, err := ignoredChecks(o.ignorePreflight)
	if err != nil {
		return nil, err
	}
	d.IgnorePreflight = ignore
	if o.advertiseAddress == "" {
		ip, err := e.defaultIP()
		if err != nil {
			return nil, err
		}
		d.AdvertiseAddress = ip
	} else {
		ip := net.ParseIP(o.advertiseAddress)
		if ip == nil || ip.IsUnspecified() {
			return nil, errdefs.Invalid("--%s: %q is not a valid IP address", flagAdvertiseAddress, o.advertiseAddress)
		}
		d.AdvertiseAddress = ip
	}
	if ip4 := d.AdvertiseAddress.To4(); ip4 != nil {
		d.AdvertiseAddress = ip4
	}
	if d.BindPort < 1 || d.BindPort > 65535 {
		return nil, errdefs.Invalid("--%s: %d is not a valid port", flagBindPort, d.BindPort)
	}
	cidr, err := netip.ParsePrefix(o.serviceCIDR)
	if err != nil {
		return nil, errdefs.Invalid("--%s: %q is not a valid CIDR", flagServiceCIDR, o.serviceCIDR)
	}
	d.ServiceCIDR = cidr.Masked()
	if !dns1123Subdomain.MatchString(d.DNSDomain) {
		return nil, errdefs.Invalid("--%s: %q is not a valid DNS domain", flagDNSDomain, o.dnsDomain)
	}
	name := o.nodeName
	if name == "" {
		h, err := e.hostname()
		if err != nil {
			return nil, fmt.Errorf("get host name for the node name: %w", err)
		}
		name = h
	}
	d.NodeName = strings.ToLower(strings.TrimSpace(name))
	if len(d.NodeName) > 253 || !dns1123Subdomain.MatchString(d.NodeName) {
		return nil, errdefs.Invalid("--%s: %q is not a valid node name (a lowercase RFC 1123 subdomain)", flagNodeName, d.NodeName)
	}
	if ep := o.controlPlaneEndpoint; ep != "" {
		host := ep
		if h, port, err := net.SplitHostPort(ep); err == nil {
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				return nil, errdefs.Invalid("--%s: %q has an invalid port", flagControlPlaneEndpoint, ep)
			}
			host = h
		}
		host = strings.Trim(host, "[]")
		if net.ParseIP(host) == nil && !dns1123Subdomain.MatchString(host) {
			return nil, errdefs.Invalid("--%s: %q is not a valid host[:port]", flagControlPlaneEndpoint, ep)
		}
		d.ControlPlaneEndpoint = ep
	}
	for _, s := range d.CertSANs {
		if net.ParseIP(s) == nil && !dns1123Subdomain.MatchString(strings.TrimPrefix(s, "*.")) {
			return nil, errdefs.Invalid("--%s: %q is neither an IP address nor a DNS name", flagCertSANs, s)
		}
	}
	return d, nil
}

// initPhases is init's workflow, in kubeadm's order.
func initPhases() []Phase {
	return []Phase{
		preflightPhase(),
		certsPhase(),
		kubeconfigPhase(),
		kubeletStartPhase(),
		controlPlanePhase(),
		etcdPhase(),
		waitControlPlanePhase(),
		uploadConfigPhase(),
		uploadCertsPhase(),
		markControlPlanePhase(),
		bootstrapTokenPhase(),
		kubeletFinalizePhase(),
		addonsPhase(),
	}
}

// NewInitCommand is `init`: it runs every phase of initPhases, and
// `init phase <name> [sub]` runs one.
func NewInitCommand(out io.Writer) *cobra.Command {
	return newInitCommand(out, osEnv())
}

func newInitCommand(out io.Writer, e env) *cobra.Command {
	o := &options{}
	fs := o.flagSet()
	phases := initPhases()

	run := func(cmd *cobra.Command, selected []string, skipped []string) error {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		sel, err := newSelection(phases, selected, skipped)
		if err != nil {
			return err
		}
		d, err := newInitData(o, out, e)
		if err != nil {
			return err
		}
		// minictl's global --kubeconfig is kubeadm's: the cluster the
		// phases talk to.
		if f := cmd.Flag("kubeconfig"); f != nil && f.Changed {
			d.AdminKubeconfig = f.Value.String()
		}
		if len(selected) == 0 {
			d.printf("[init] Using minik8s version: %s", d.KubernetesVersion)
		}
		if d.DryRun {
			tmp, err := e.mkdirTemp()
			if err != nil {
				return fmt.Errorf("create dry-run directory: %w", err)
			}
			defer func() { _ = e.removeTempDir(tmp) }()
			d.CertDir = filepath.Join(tmp, "pki")
			d.KubeconfigDir = tmp
			d.KubeletDir = filepath.Join(tmp, "kubelet")
			d.printf("[dryrun] Writing the files init would write to the temporary directory %q", tmp)
		}
		defer d.closeClient()
		if err := runPhases(ctx, phases, "", d, sel); err != nil {
			return err
		}
		if len(selected) == 0 {
			return printInitSuccess(d)
		}
		return nil
	}

	cmd := &cobra.Command{
		Use:   "init",
		Short: "Run this command in order to set up the Kubernetes control plane",
		Long: `Run this command in order to set up the Kubernetes control plane.

The "init" command executes the following phases:
` + phaseList(phases),
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd, nil, o.skipPhases)
		},
	}
	var all []string
	fs.VisitAll(func(f *pflag.Flag) { all = append(all, f.Name) })
	addFlags(cmd, fs, all)

	phaseCmd := &cobra.Command{
		Use:   "phase",
		Short: "Use this command to invoke single phase of the init workflow",
		Args:  cobra.NoArgs,
	}
	phaseCommands(phaseCmd, phases, "", commonFlags, fs, func(cmd *cobra.Command, path string) error {
		return run(cmd, []string{path}, nil)
	})
	cmd.AddCommand(phaseCmd)
	return cmd
}

// phaseList renders the phase tree for help, as kubeadm does.
func phaseList(phases []Phase) string {
	var b strings.Builder
	b.WriteString("```\n")
	var walk func(ps []Phase, indent string)
	walk = func(ps []Phase, indent string) {
		for _, p := range ps {
			name := indent + p.Name
			if indent != "" {
				name = indent + "/" + p.Name
			}
			fmt.Fprintf(&b, "%-28s %s\n", name, p.Short)
			if len(p.Phases) > 0 {
				walk(append([]Phase{{Name: "all", Short: "Run all " + p.Name + " phases"}}, p.Phases...), strings.Repeat(" ", len(indent)+2))
			}
		}
	}
	walk(phases, "")
	b.WriteString("```\n")
	return b.String()
}
