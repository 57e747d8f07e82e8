// Command cluster-init is the one-shot `init` service of docker-compose.yaml.
// It does what `kubeadm init` does on a control-plane host, phase by phase
// through `minictl init phase`, for a control plane whose members are compose
// services instead of static pods:
//
//  1. certs: the cluster PKI in <dir>/pki; the apiserver's certificate is
//     valid for the service name (apiserver) and for 127.0.0.1, where the
//     host reaches the published port;
//  2. etcd: a server and a peer certificate per etcd member, signed by
//     etcd/ca, in <dir>/etcd/<member>/ (what kubeadm creates on each
//     control-plane node), then <dir>/etcd/<member>/ready;
//  3. kubeconfig: <dir>/admin.conf for the host user (server
//     https://127.0.0.1:6443) and admin, scheduler and controller-manager in
//     <dir>/cluster/ for the services (server https://apiserver:6443);
//  4. wait-control-plane: waits until the apiserver answers (compose starts
//     etcd and the apiserver meanwhile);
//  5. bootstrap-token: the token and cluster-info, and the join command in
//     <dir>/join/join-command for the kubelets of the nodes.
//
// Every file is finally handed to --owner (uid:gid, the host user running
// `make up`), so that the bind-mounted folder stays the user's. Run again on
// an initialised folder it reuses everything that is still valid, so a
// second `make up` changes nothing.
//
// `cluster-init clean DIR` removes DIR, as root: `make down` falls back to it
// when files written by containers cannot be removed by the host user.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"minik8s/pkg/pki"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "clean" {
		os.Exit(clean(os.Args[2:], os.Stderr))
	}
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "error execution phase %v\n", err)
		os.Exit(1)
	}
}

// options are the flags of cluster-init.
type options struct {
	dir            string // the bind-mounted .minik8s folder
	minictl        string
	endpoint       string // host:port of the apiserver for the services
	hostAddress    string // IP the host reaches the published port on
	port           int
	controlPlane   string // node name of the control plane (the apiserver's certificate)
	etcdMembers    []string
	nodes          []string
	owner          string // uid:gid
	serviceCIDR    string
	nodeCredential string // token or kubeconfig
	waitTimeout    time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("cluster-init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var members, nodes string
	fs.StringVar(&o.dir, "dir", "/minik8s", "the folder to write (bind-mounted .minik8s)")
	fs.StringVar(&o.minictl, "minictl", "/minictl", "the minictl binary")
	fs.StringVar(&o.endpoint, "control-plane-endpoint", "apiserver:6443", "where the services reach the apiserver")
	fs.StringVar(&o.hostAddress, "host-address", "127.0.0.1", "address the host reaches the published apiserver port on")
	fs.IntVar(&o.port, "apiserver-bind-port", 6443, "the apiserver's port (the same inside and published)")
	fs.StringVar(&o.controlPlane, "node-name", "apiserver", "node name of the control plane in its certificates")
	fs.StringVar(&members, "etcd-members", "etcd-1,etcd-2,etcd-3", "names of the etcd members (their service names)")
	fs.StringVar(&nodes, "nodes", "node-1,node-2", "names of the nodes whose kubelet folders to prepare")
	fs.StringVar(&o.owner, "owner", os.Getenv("MINIK8S_OWNER"), "uid:gid to hand every written file to (default $MINIK8S_OWNER; empty keeps root)")
	fs.StringVar(&o.serviceCIDR, "service-cidr", "10.96.0.0/12", "the service CIDR (the apiserver's certificate holds its first IP)")
	fs.StringVar(&o.nodeCredential, "node-credentials", "token", "how the kubelets authenticate: token (join with a bootstrap token) or kubeconfig (a client certificate per node, written now)")
	fs.DurationVar(&o.waitTimeout, "wait-timeout", 4*time.Minute, "how long to wait for the apiserver")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.etcdMembers = splitList(members)
	o.nodes = splitList(nodes)
	switch o.nodeCredential {
	case "token", "kubeconfig":
	default:
		fmt.Fprintf(stderr, "--node-credentials %q: must be token or kubeconfig\n", o.nodeCredential)
		return nil, errors.New("bad flag")
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Paths under the folder.
func (o *options) pkiDir() string          { return filepath.Join(o.dir, "pki") }
func (o *options) clusterDir() string      { return filepath.Join(o.dir, "cluster") }
func (o *options) etcdDir(m string) string { return filepath.Join(o.dir, "etcd", m) }
func (o *options) nodeDir(n string) string { return filepath.Join(o.dir, "nodes", n) }
func (o *options) joinFile() string        { return filepath.Join(o.dir, "join", "join-command") }
func (o *options) clusterAdmin() string    { return filepath.Join(o.clusterDir(), "admin.conf") }
func (o *options) hostEndpoint() string    { return o.hostAddress + ":" + strconv.Itoa(o.port) }
func (o *options) certFlags(node string) []string {
	return []string{
		"--cert-dir", o.pkiDir(),
		"--apiserver-advertise-address", o.hostAddress,
		"--apiserver-bind-port", strconv.Itoa(o.port),
		"--service-cidr", o.serviceCIDR,
		"--node-name", node,
	}
}

func run(ctx context.Context, o *options, out io.Writer) error {
	for _, d := range []string{o.pkiDir(), o.clusterDir(), filepath.Join(o.dir, "join")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	m := &minictl{path: o.minictl, out: out}
	// certs: the control-plane endpoint puts the service name into the
	// apiserver's certificate; the loopback advertise address puts 127.0.0.1
	// and localhost there.
	if err := m.run(ctx, append([]string{"init", "phase", "certs", "all",
		"--control-plane-endpoint", o.endpoint}, o.certFlags(o.controlPlane)...)...); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	for _, member := range o.etcdMembers {
		if err := etcdMemberCerts(ctx, o, m, member, out); err != nil {
			return fmt.Errorf("certs/etcd %s: %w", member, err)
		}
	}
	// kubeconfig: one admin.conf for the host, the services' files for the
	// compose network.
	if err := m.run(ctx, append([]string{"init", "phase", "kubeconfig", "admin",
		"--kubeconfig-dir", o.dir, "--control-plane-endpoint", o.hostEndpoint()}, o.certFlags(o.controlPlane)...)...); err != nil {
		return fmt.Errorf("kubeconfig/admin: %w", err)
	}
	for _, sub := range []string{"admin", "scheduler", "controller-manager"} {
		if err := m.run(ctx, append([]string{"init", "phase", "kubeconfig", sub,
			"--kubeconfig-dir", o.clusterDir(), "--control-plane-endpoint", o.endpoint}, o.certFlags(o.controlPlane)...)...); err != nil {
			return fmt.Errorf("kubeconfig/%s: %w", sub, err)
		}
	}
	for _, n := range o.nodes {
		if err := os.MkdirAll(o.nodeDir(n), 0o755); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		if o.nodeCredential == "kubeconfig" {
			if err := m.run(ctx, append([]string{"init", "phase", "kubeconfig", "kubelet",
				"--kubeconfig-dir", o.nodeDir(n), "--control-plane-endpoint", o.endpoint}, o.certFlags(n)...)...); err != nil {
				return fmt.Errorf("kubeconfig/kubelet %s: %w", n, err)
			}
		}
	}
	if err := chownTree(o.dir, o.owner); err != nil {
		return err
	}

	if err := waitControlPlane(ctx, o, m, out); err != nil {
		return fmt.Errorf("wait-control-plane: %w", err)
	}
	if o.nodeCredential == "token" {
		if err := bootstrapToken(ctx, o, m, out); err != nil {
			return fmt.Errorf("bootstrap-token: %w", err)
		}
	}
	if err := chownTree(o.dir, o.owner); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nYour minik8s control-plane has initialized successfully!\n\n"+
		"To start using your cluster from the host:\n\n  export MINIK8S_CONFIG=$PWD/.minik8s/admin.conf\n  bin/minictl get nodes\n\n")
	return nil
}

// etcdMemberCerts creates the server and peer certificates of one member,
// as kubeadm does on each control-plane node: the member's name is its node
// name, so the certificates are valid for the service name the peers and the
// apiserver dial. They are made in a scratch folder holding a copy of the
// etcd CA, and only the member's own files (never the CA key) are kept.
func etcdMemberCerts(ctx context.Context, o *options, m *minictl, member string, out io.Writer) error {
	dst := o.etcdDir(member)
	ready := filepath.Join(dst, "ready")
	if _, err := os.Stat(ready); err == nil {
		fmt.Fprintf(out, "[certs] Using existing certificates of etcd member %q in %q\n", member, dst)
		return nil
	}
	work := filepath.Join(o.dir, "etcd", ".work-"+member)
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	defer os.RemoveAll(work) //nolint:errcheck // best effort: a scratch folder
	for _, f := range []string{"ca.crt", "ca.key"} {
		if err := copyFile(filepath.Join(o.pkiDir(), "etcd", f), filepath.Join(work, "pki", "etcd", f), 0o600); err != nil {
			return err
		}
	}
	flags := []string{"--cert-dir", filepath.Join(work, "pki"), "--apiserver-advertise-address", o.hostAddress, "--node-name", member}
	for _, sub := range []string{"etcd-server", "etcd-peer"} {
		if err := m.run(ctx, append([]string{"init", "phase", "certs", sub}, flags...)...); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range []string{"ca.crt", "server.crt", "server.key", "peer.crt", "peer.key"} {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(f, ".key") {
			mode = 0o600
		}
		if err := copyFile(filepath.Join(work, "pki", "etcd", f), filepath.Join(dst, f), mode); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "[certs] etcd member %q: server and peer certificates in %q\n", member, dst)
	return os.WriteFile(ready, []byte("ok\n"), 0o644)
}

// waitControlPlane polls the apiserver with the services' admin.conf until
// it answers, as kubeadm's wait-control-plane phase does.
func waitControlPlane(ctx context.Context, o *options, m *minictl, out io.Writer) error {
	fmt.Fprintf(out, "[wait-control-plane] Waiting for the API server at https://%s (compose starts etcd and the apiserver). This can take up to %s\n", o.endpoint, o.waitTimeout)
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, o.waitTimeout)
	defer cancel()
	var last []byte
	for {
		b, err := m.output(ctx, "--kubeconfig", o.clusterAdmin(), "--request-timeout", "5s", "get", "namespaces")
		if err == nil {
			fmt.Fprintf(out, "[apiclient] All control plane components are healthy after %.6f seconds\n", time.Since(start).Seconds())
			return nil
		}
		last = b
		select {
		case <-ctx.Done():
			return fmt.Errorf("the apiserver did not answer within %s: %s", o.waitTimeout, bytes.TrimSpace(last))
		case <-time.After(time.Second):
		}
	}
}

// joinRE is what `minictl token create --print-join-command` prints.
var joinRE = regexp.MustCompile(`^minictl join (\S+) --token ([a-z0-9]{6})\.([a-z0-9]{16}) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})$`)

// bootstrapToken runs the bootstrap-token phase (the token's Secret and the
// signed cluster-info ConfigMap) with a token generated here, and writes
// the join command that kubeadm init prints at its end: the endpoint of the
// services, the token and the hash of the cluster CA. A join command whose
// token the cluster still lists is kept, so running init again creates no
// second token.
func bootstrapToken(ctx context.Context, o *options, m *minictl, out io.Writer) error {
	if b, err := os.ReadFile(o.joinFile()); err == nil {
		if g := joinRE.FindStringSubmatch(strings.TrimSpace(string(b))); g != nil {
			list, err := m.output(ctx, "token", "list", "--kubeconfig", o.clusterAdmin())
			if err == nil && bytes.Contains(list, []byte(g[2]+".")) {
				fmt.Fprintf(out, "[bootstrap-token] Using the existing token %s.<hidden> of %q\n", g[2], o.joinFile())
				return nil
			}
		}
	}
	token, err := pki.GenerateToken()
	if err != nil {
		return err
	}
	if err := m.run(ctx, append([]string{"init", "phase", "bootstrap-token", "--token", token,
		"--kubeconfig-dir", o.clusterDir(), "--control-plane-endpoint", o.endpoint}, o.certFlags(o.controlPlane)...)...); err != nil {
		return err
	}
	cas, err := pki.ReadCertFile(filepath.Join(o.pkiDir(), "ca.crt"))
	if err != nil {
		return err
	}
	line := fmt.Sprintf("minictl join %s --token %s --discovery-token-ca-cert-hash %s", o.endpoint, token, pki.CAHash(cas[0]))
	if !joinRE.MatchString(line) {
		return fmt.Errorf("the join command %q is malformed", line)
	}
	tmp := o.joinFile() + ".tmp"
	if err := os.WriteFile(tmp, []byte(line+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, o.joinFile()); err != nil {
		return err
	}
	fmt.Fprintf(out, "[bootstrap-token] The nodes join with the command in %q:\n\n  minictl join %s --token <hidden> --discovery-token-ca-cert-hash %s\n\n",
		o.joinFile(), o.endpoint, pki.CAHash(cas[0]))
	return nil
}

// minictl runs the minictl binary.
type minictl struct {
	path string
	out  io.Writer
}

// run runs minictl with its output on out (kubeadm's phase lines).
func (m *minictl) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, m.path, args...)
	cmd.Stdout, cmd.Stderr = m.out, m.out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("minictl %s: %w", strings.Join(args[:min(3, len(args))], " "), err)
	}
	return nil
}

// output runs minictl and returns its standard output, or its combined
// output when it fails.
func (m *minictl) output(ctx context.Context, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, m.path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// chownTree hands every file under dir to owner ("uid:gid"; empty: nothing).
func chownTree(dir, owner string) error {
	if owner == "" {
		return nil
	}
	uidS, gidS, ok := strings.Cut(owner, ":")
	uid, err1 := strconv.Atoi(uidS)
	gid, err2 := strconv.Atoi(gidS)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("--owner %q: want uid:gid", owner)
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// The kubelets' folders are theirs (pods write into emptyDir
		// volumes there); hand over only the folder itself.
		if d.IsDir() && filepath.Base(filepath.Dir(p)) == "nodes" && p != dir {
			if err := os.Lchown(p, uid, gid); err != nil {
				return fmt.Errorf("chown %s: %w", p, err)
			}
			return fs.SkipDir
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
		return nil
	})
}

// clean removes each folder given, as root; for `make down`.
func clean(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: cluster-init clean DIR...")
		return 2
	}
	for _, d := range args {
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintf(stderr, "clean %s: %v\n", d, err)
			return 1
		}
	}
	return 0
}
