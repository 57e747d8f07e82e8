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
)

// commonFlags are the flags of the cluster configuration that every phase
// command accepts, so one set of flags serves `init` and each of its
// phases alike; phase-specific flags are listed in Phase.Flags.
var commonFlags = []string{
	flagCertDir, flagKubeconfigDir, flagAdvertiseAddress, flagBindPort, flagCertSANs,
	flagServiceCIDR, flagDNSDomain, flagNodeName, flagControlPlaneEndpoint, flagDryRun,
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
}

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
}

func osEnv() env {
	return env{
		hostname:      os.Hostname,
		defaultIP:     defaultIPv4,
		mkdirTemp:     func() (string, error) { return os.MkdirTemp("", "minik8s-init-dryrun") },
		now:           time.Now,
		removeTempDir: os.RemoveAll,
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
		Out:           out,
		CertDir:       o.certDir,
		KubeconfigDir: o.kubeconfigDir,
		BindPort:      o.bindPort,
		DNSDomain:     strings.TrimSuffix(o.dnsDomain, "."),
		DryRun:        o.dryRun,
		Now:           e.now,
		CertSANs:      o.certSANs,
	}
	if d.CertDir == "" || d.KubeconfigDir == "" {
		return nil, errdefs.Invalid("--%s and --%s must not be empty", flagCertDir, flagKubeconfigDir)
	}
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

// initPhases is init's workflow, in order. The later phases of init
// (preflight, kubelet-start, control-plane, etcd, wait-control-plane,
// upload-config, mark-control-plane, bootstrap-token, kubelet-finalize,
// addons) are appended here.
func initPhases() []Phase {
	return []Phase{
		certsPhase(),
		kubeconfigPhase(),
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
		if d.DryRun {
			tmp, err := e.mkdirTemp()
			if err != nil {
				return fmt.Errorf("create dry-run directory: %w", err)
			}
			defer func() { _ = e.removeTempDir(tmp) }()
			d.CertDir = filepath.Join(tmp, "pki")
			d.KubeconfigDir = tmp
			d.printf("[dryrun] Writing the files init would write to the temporary directory %q", tmp)
		}
		return runPhases(ctx, phases, "", d, sel)
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
