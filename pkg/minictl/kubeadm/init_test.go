package kubeadm

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// seedFlags is the seed transcript's kubeadm init command line, as far as
// the certs and kubeconfig phases read it.
var seedFlags = []string{"--apiserver-advertise-address", "10.10.10.100", "--service-cidr", "10.1.0.0/16", "--node-name", "k8s-master"}

// testEnv is a machine where every pre-flight check passes, time moves
// only when something sleeps, the cluster is the in-memory fakeCluster and
// starting the kubelet is recorded.
func testEnv(t *testing.T) env {
	clock := &fakeClock{now: time.Now()}
	cluster := newFakeCluster()
	return env{
		hostname:      func() (string, error) { return "Build-Host", nil },
		defaultIP:     func() (net.IP, error) { return net.ParseIP("192.0.2.7"), nil },
		mkdirTemp:     func() (string, error) { return os.MkdirTemp(t.TempDir(), "dryrun") },
		now:           clock.Now,
		removeTempDir: os.RemoveAll,
		sleep:         clock.Sleep,
		newClient:     func(string) (clusterClient, error) { return cluster, nil },
		portInUse:     func(int) bool { return false },
		pingDocker:    func(context.Context, string) error { return nil },
		numCPU:        func() int { return 4 },
		memTotalMB:    func() (int, error) { return 8192, nil },
		startKubelet: func([]string, string) (int, error) {
			t.Error("the kubelet was started without --start-kubelet")
			return 0, nil
		},
	}
}

// runInit runs `init <args>` with the kubeconfig dir at dir, the cert dir
// at dir/pki, the kubelet's at dir/var-lib-kubelet and etcd's at
// dir/var-lib-etcd,
// returning the output with them shown as /etc/kubernetes,
// /var/lib/kubelet and /var/lib/etcd.
func runInit(t *testing.T, e env, dir string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newInitCommand(&out, e)
	// Pass the directory flags the selected command takes.
	if sub, _, err := cmd.Find(args); err == nil {
		for flag, value := range map[string]string{
			"cert-dir":         filepath.Join(dir, "pki"),
			"kubeconfig-dir":   dir,
			"kubelet-root-dir": filepath.Join(dir, "var-lib-kubelet"),
			"etcd-data-dir":    filepath.Join(dir, "var-lib-etcd"),
		} {
			if sub.Flags().Lookup(flag) != nil {
				args = append(args, "--"+flag, value)
			}
		}
	}
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	return maskDirs(out.String(), dir), err
}

func maskDirs(s, dir string) string {
	s = strings.ReplaceAll(s, filepath.Join(dir, "var-lib-kubelet"), "/var/lib/kubelet")
	s = strings.ReplaceAll(s, filepath.Join(dir, "var-lib-etcd"), "/var/lib/etcd")
	return strings.ReplaceAll(s, dir, "/etc/kubernetes")
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSeedGolden: `init phase certs all` and `init phase kubeconfig all`
// with the seed's flags print the seed transcript's [certs] and
// [kubeconfig] lines exactly (testdata/seed.golden holds them verbatim,
// with straight quotes); a re-run reuses everything and says so.
func TestSeedGolden(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	var got string
	for _, phase := range []string{"certs", "kubeconfig"} {
		out, err := runInit(t, e, dir, append([]string{"phase", phase, "all"}, seedFlags...)...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", phase, err, out)
		}
		got += out
	}
	if want := golden(t, "seed.golden"); got != want {
		t.Errorf("first run output:\n%s\nwant:\n%s", got, want)
	}

	got = ""
	for _, phase := range []string{"certs", "kubeconfig"} {
		out, err := runInit(t, e, dir, append([]string{"phase", phase, "all"}, seedFlags...)...)
		if err != nil {
			t.Fatalf("re-run %s: %v\n%s", phase, err, out)
		}
		got += out
	}
	if want := golden(t, "seed-rerun.golden"); got != want {
		t.Errorf("re-run output:\n%s\nwant:\n%s", got, want)
	}

	// Plain `init` prints them among its other phases' lines.
	dir2 := t.TempDir()
	out, err := runInit(t, e, dir2, seedFlags...)
	if err != nil {
		t.Fatal(err)
	}
	if want := golden(t, "seed.golden"); !strings.Contains(out, want) {
		t.Errorf("init output:\n%s\nlacks:\n%s", out, want)
	}
}

// TestLayout checks kubeadm's file layout, modes and identities.
func TestLayout(t *testing.T) {
	dir := t.TempDir()
	if out, err := runInit(t, testEnv(t), dir, seedFlags...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var files []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, rel+" "+info.Mode().Perm().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	want := []string{
		"admin.conf -rw-------",
		"controller-manager.conf -rw-------",
		"kubelet.conf -rw-------",
		"manifests/etcd.yaml -rw-------",
		"manifests/kube-apiserver.yaml -rw-------",
		"manifests/kube-controller-manager.yaml -rw-------",
		"manifests/kube-scheduler.yaml -rw-------",
		"pki/apiserver-etcd-client.crt -rw-r--r--",
		"pki/apiserver-etcd-client.key -rw-------",
		"pki/apiserver-kubelet-client.crt -rw-r--r--",
		"pki/apiserver-kubelet-client.key -rw-------",
		"pki/apiserver.crt -rw-r--r--",
		"pki/apiserver.key -rw-------",
		"pki/ca.crt -rw-r--r--",
		"pki/ca.key -rw-------",
		"pki/etcd/ca.crt -rw-r--r--",
		"pki/etcd/ca.key -rw-------",
		"pki/etcd/healthcheck-client.crt -rw-r--r--",
		"pki/etcd/healthcheck-client.key -rw-------",
		"pki/etcd/peer.crt -rw-r--r--",
		"pki/etcd/peer.key -rw-------",
		"pki/etcd/server.crt -rw-r--r--",
		"pki/etcd/server.key -rw-------",
		"pki/front-proxy-ca.crt -rw-r--r--",
		"pki/front-proxy-ca.key -rw-------",
		"pki/front-proxy-client.crt -rw-r--r--",
		"pki/front-proxy-client.key -rw-------",
		"pki/sa.key -rw-------",
		"pki/sa.pub -rw-r--r--",
		"scheduler.conf -rw-------",
		"var-lib-kubelet/config.yaml -rw-r--r--",
		"var-lib-kubelet/kubeadm-flags.env -rw-r--r--",
		"var-lib-kubelet/pki/kubelet-client-current.pem -rw-------",
	}
	if strings.Join(files, "\n") != strings.Join(want, "\n") {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}

	certs := pki.Dir(filepath.Join(dir, "pki"))
	now := time.Now()
	tests := []struct {
		name   string
		ca     string
		cn     string
		orgs   string
		usages pki.Usage
	}{
		{"apiserver", "ca", "kube-apiserver", "", pki.UsageServer},
		{"apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", "system:masters", pki.UsageClient},
		{"front-proxy-client", "front-proxy-ca", "front-proxy-client", "", pki.UsageClient},
		{"etcd/server", "etcd/ca", "k8s-master", "", pki.UsageServer | pki.UsageClient},
		{"etcd/peer", "etcd/ca", "k8s-master", "", pki.UsageServer | pki.UsageClient},
		{"etcd/healthcheck-client", "etcd/ca", "kube-etcd-healthcheck-client", "", pki.UsageClient},
		{"apiserver-etcd-client", "etcd/ca", "kube-apiserver-etcd-client", "", pki.UsageClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := certs.Load(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			ca, err := certs.LoadCert(tt.ca)
			if err != nil {
				t.Fatal(err)
			}
			if err := pki.VerifySignedBy(kp.Cert, ca, tt.usages, now); err != nil {
				t.Error(err)
			}
			if kp.Cert.Subject.CommonName != tt.cn || strings.Join(kp.Cert.Subject.Organization, ",") != tt.orgs {
				t.Errorf("subject %v", kp.Cert.Subject)
			}
			if pki.UsageOf(kp.Cert) != tt.usages {
				t.Errorf("usages %v", pki.UsageOf(kp.Cert))
			}
			if d := kp.Cert.NotAfter.Sub(kp.Cert.NotBefore); d < pki.CertDuration || d > pki.CertDuration+time.Hour {
				t.Errorf("lifetime %v", d)
			}
		})
	}
	for _, ca := range []string{"ca", "front-proxy-ca", "etcd/ca"} {
		c, err := certs.LoadCert(ca)
		if err != nil {
			t.Fatal(err)
		}
		if !c.IsCA || c.NotAfter.Sub(c.NotBefore) < pki.CADuration {
			t.Errorf("%s: IsCA %v, lifetime %v", ca, c.IsCA, c.NotAfter.Sub(c.NotBefore))
		}
	}
	// The three trust domains are distinct.
	a, _ := certs.LoadCert("ca")
	b, _ := certs.LoadCert("etcd/ca")
	if pki.CAHash(a) == pki.CAHash(b) {
		t.Error("etcd CA is the cluster CA")
	}

	kubeconfigs := []struct {
		file, cn, orgs string
	}{
		{"admin.conf", "kubernetes-admin", "system:masters"},
		{"kubelet.conf", "system:node:k8s-master", "system:nodes"},
		{"controller-manager.conf", "system:kube-controller-manager", ""},
		{"scheduler.conf", "system:kube-scheduler", ""},
	}
	for _, kc := range kubeconfigs {
		t.Run(kc.file, func(t *testing.T) {
			c, err := kubeconfig.Load(filepath.Join(dir, kc.file))
			if err != nil {
				t.Fatal(err)
			}
			if c.Server() != "https://10.10.10.100:6443" || c.User() != kc.cn || c.CurrentContext != kc.cn+"@kubernetes" {
				t.Errorf("server %q user %q context %q", c.Server(), c.User(), c.CurrentContext)
			}
			cert := c.ClientCertificate()
			if cert == nil || cert.Subject.CommonName != kc.cn || strings.Join(cert.Subject.Organization, ",") != kc.orgs {
				t.Fatalf("client certificate %v", cert)
			}
			if err := pki.VerifySignedBy(cert, a, pki.UsageClient, now); err != nil {
				t.Error(err)
			}
			if _, err := c.TLSConfig(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAPIServerSANs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantDNS string
		wantIPs string
		server  string
	}{
		{"seed", seedFlags, "k8s-master kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local", "10.1.0.1 10.10.10.100", "https://10.10.10.100:6443"},
		{"defaults", nil, "build-host kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local", "10.96.0.1 192.0.2.7", "https://192.0.2.7:6443"},
		{"loopback adds localhost", []string{"--apiserver-advertise-address", "127.0.0.1", "--apiserver-bind-port", "16443"},
			"build-host kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local localhost", "10.96.0.1 127.0.0.1", "https://127.0.0.1:16443"},
		{"endpoint, extra SANs and domain", []string{"--apiserver-advertise-address", "10.0.0.2", "--control-plane-endpoint", "cp.example.com:7443",
			"--apiserver-cert-extra-sans", "10.9.9.9,api.example.com", "--service-dns-domain", "corp.local", "--node-name", "N1"},
			"n1 kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.corp.local cp.example.com api.example.com", "10.96.0.1 10.0.0.2 10.9.9.9", "https://cp.example.com:7443"},
		{"endpoint without port", []string{"--apiserver-advertise-address", "10.0.0.2", "--control-plane-endpoint", "10.0.0.100"},
			"build-host kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local", "10.96.0.1 10.0.0.2 10.0.0.100", "https://10.0.0.100:6443"},
		{"ipv6", []string{"--apiserver-advertise-address", "fd00::10", "--service-cidr", "fd00:96::/112"},
			"build-host kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local", "fd00:96::1 fd00::10", "https://[fd00::10]:6443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out, err := runInit(t, testEnv(t), dir, tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			want := "[certs] apiserver serving cert is signed for DNS names [" + tt.wantDNS + "] and IPs [" + tt.wantIPs + "]\n"
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
			c, err := pki.Dir(filepath.Join(dir, "pki")).LoadCert("apiserver")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(c.DNSNames, " "); got != tt.wantDNS {
				t.Errorf("certificate DNS names %q", got)
			}
			kc, err := kubeconfig.Load(filepath.Join(dir, "admin.conf"))
			if err != nil {
				t.Fatal(err)
			}
			if kc.Server() != tt.server {
				t.Errorf("server %q, want %q", kc.Server(), tt.server)
			}
			// The server certificate is valid for the host clients dial.
			host, _, _ := net.SplitHostPort(kc.Address())
			if err := c.VerifyHostname(host); err != nil {
				t.Errorf("apiserver certificate not valid for %s: %v", host, err)
			}
		})
	}
}

// TestRerunWithChangedFlags: a certificate or kubeconfig that no longer fits
// the flags is an error naming it, and nothing is overwritten.
func TestRerunWithChangedFlags(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	if out, err := runInit(t, e, dir, seedFlags...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	before, err := os.ReadFile(filepath.Join(dir, "pki", "apiserver.crt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		want  []string
		class func(error) bool
	}{
		{"new advertise address", []string{"phase", "certs", "apiserver", "--apiserver-advertise-address", "10.10.10.101", "--service-cidr", "10.1.0.0/16", "--node-name", "k8s-master"},
			[]string{"certs/apiserver", `"apiserver"`, "apiserver.crt", "10.10.10.101"}, errdefs.IsPrecondition},
		{"new node name", []string{"phase", "certs", "all", "--apiserver-advertise-address", "10.10.10.100", "--service-cidr", "10.1.0.0/16", "--node-name", "other"},
			[]string{"certs/apiserver", `"apiserver"`, "other"}, errdefs.IsPrecondition},
		{"new extra SAN", append([]string{"--apiserver-cert-extra-sans", "api.example.com", "--skip-phases", "preflight"}, seedFlags...),
			[]string{`"apiserver"`, "api.example.com"}, errdefs.IsPrecondition},
		{"kubeconfig with another server", []string{"phase", "kubeconfig", "admin", "--apiserver-advertise-address", "10.10.10.100", "--apiserver-bind-port", "7443"},
			[]string{"admin.conf", "wrong API Server URL"}, errdefs.IsPrecondition},
		{"kubelet.conf for another node", []string{"phase", "kubeconfig", "kubelet", "--apiserver-advertise-address", "10.10.10.100", "--node-name", "other"},
			[]string{"kubelet.conf", "system:node:other"}, errdefs.IsPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runInit(t, e, dir, tt.args...)
			if !tt.class(err) {
				t.Fatalf("err = %v (class %v)\n%s", err, errdefs.ClassOf(err), out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	after, err := os.ReadFile(filepath.Join(dir, "pki", "apiserver.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("apiserver.crt was overwritten")
	}
}

func TestSinglePhases(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	// A leaf without its CA names the missing CA.
	out, err := runInit(t, e, dir, "phase", "certs", "apiserver")
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "ca.crt") {
		t.Fatalf("apiserver without CA: %v\n%s", err, out)
	}
	if _, err := runInit(t, e, dir, "phase", "kubeconfig", "admin"); !errdefs.IsNotFound(err) {
		t.Fatalf("admin.conf without CA: %v", err)
	}

	out, err = runInit(t, e, dir, "phase", "certs", "ca")
	if err != nil {
		t.Fatal(err)
	}
	want := "[certs] Using certificateDir folder \"/etc/kubernetes/pki\"\n[certs] Generating \"ca\" certificate and key\n"
	if out != want {
		t.Errorf("certs ca:\n%s\nwant:\n%s", out, want)
	}
	out, err = runInit(t, e, dir, "phase", "certs", "etcd-server", "--node-name", "n1", "--apiserver-advertise-address", "10.0.0.9")
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "etcd/ca") {
		t.Fatalf("etcd-server without etcd CA: %v\n%s", err, out)
	}
	if _, err := runInit(t, e, dir, "phase", "certs", "etcd-ca"); err != nil {
		t.Fatal(err)
	}
	out, err = runInit(t, e, dir, "phase", "certs", "etcd-server", "--node-name", "n1", "--apiserver-advertise-address", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if want := "[certs] etcd/server serving cert is signed for DNS names [n1 localhost] and IPs [127.0.0.1 ::1]\n"; !strings.Contains(out, want) {
		t.Errorf("etcd-server output lacks %q:\n%s", want, out)
	}
	out, err = runInit(t, e, dir, "phase", "kubeconfig", "kubelet", "--node-name", "n1", "--apiserver-advertise-address", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	want = "[kubeconfig] Using kubeconfig folder \"/etc/kubernetes\"\n[kubeconfig] Writing \"kubelet.conf\" kubeconfig file\n"
	if out != want {
		t.Errorf("kubeconfig kubelet:\n%s\nwant:\n%s", out, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "admin.conf")); !os.IsNotExist(err) {
		t.Errorf("kubeconfig kubelet wrote admin.conf too (%v)", err)
	}
}

func TestSkipPhasesAndDryRun(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	out, err := runInit(t, e, dir, append([]string{"--skip-phases", "certs/etcd-peer,certs/sa,kubeconfig"}, seedFlags...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "etcd/peer") || strings.Contains(out, `"sa"`) || strings.Contains(out, "[kubeconfig]") {
		t.Errorf("skipped phases ran:\n%s", out)
	}
	for _, f := range []string{"pki/etcd/peer.crt", "pki/sa.key", "admin.conf"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s exists (%v)", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pki", "etcd", "server.crt")); err != nil {
		t.Error(err)
	}
	if _, err := runInit(t, e, dir, "--skip-phases", "certs/nope"); !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), "certs/nope") {
		t.Errorf("unknown skip phase: %v", err)
	}

	dry := t.TempDir()
	var tmp string
	e.mkdirTemp = func() (string, error) {
		var err error
		tmp, err = os.MkdirTemp(t.TempDir(), "dryrun")
		return tmp, err
	}
	out, err = runInit(t, e, dry, append([]string{"--dry-run"}, seedFlags...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	entries, err := os.ReadDir(dry)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("dry run wrote %d entries into the real directory", len(entries))
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("dry-run directory %s left behind (%v)", tmp, err)
	}
	if !strings.Contains(out, "[certs] apiserver serving cert is signed for DNS names [k8s-master") || !strings.Contains(out, `[kubeconfig] Writing "admin.conf" kubeconfig file`) {
		t.Errorf("dry-run output:\n%s", out)
	}
}

func TestInvalidFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"advertise", []string{"--apiserver-advertise-address", "10.0.0"}, "apiserver-advertise-address"},
		{"unspecified advertise", []string{"--apiserver-advertise-address", "0.0.0.0"}, "apiserver-advertise-address"},
		{"port", []string{"--apiserver-bind-port", "70000"}, "apiserver-bind-port"},
		{"cidr", []string{"--service-cidr", "10.1.0.0"}, "service-cidr"},
		{"node name", []string{"--node-name", "bad_name"}, "node-name"},
		{"endpoint", []string{"--control-plane-endpoint", "a:b:c:d:x"}, "control-plane-endpoint"},
		{"endpoint port", []string{"--control-plane-endpoint", "cp:0"}, "control-plane-endpoint"},
		{"extra SAN", []string{"--apiserver-cert-extra-sans", "not a name"}, "apiserver-cert-extra-sans"},
		{"domain", []string{"--service-dns-domain", "Bad..Domain"}, "service-dns-domain"},
		{"token", []string{"--token", "ABCDEF.0123456789abcdef"}, "--token"},
		{"token ttl", []string{"--token-ttl", "-1h"}, "token-ttl"},
		{"pod network", []string{"--pod-network-cidr", "10.2.0.0"}, "pod-network-cidr"},
		{"ignore all and one", []string{"--ignore-preflight-errors", "all,Port-6443"}, "ignore-preflight-errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := runInit(t, testEnv(t), dir, tt.args...)
			if !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want Invalid naming %s", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("invalid flags left %d entries behind", len(entries))
			}
		})
	}
}

func TestCommandTree(t *testing.T) {
	cmd := NewInitCommand(&bytes.Buffer{})
	var paths []string
	for _, c := range cmd.Commands() {
		if c.Name() != "phase" {
			continue
		}
		for _, p := range c.Commands() {
			for _, s := range p.Commands() {
				paths = append(paths, p.Name()+"/"+s.Name())
			}
		}
	}
	sort.Strings(paths)
	want := []string{
		"certs/all", "certs/apiserver", "certs/apiserver-etcd-client", "certs/apiserver-kubelet-client", "certs/ca",
		"certs/etcd-ca", "certs/etcd-healthcheck-client", "certs/etcd-peer", "certs/etcd-server",
		"certs/front-proxy-ca", "certs/front-proxy-client", "certs/sa",
		"control-plane/all", "control-plane/apiserver", "control-plane/controller-manager", "control-plane/scheduler",
		"etcd/all", "etcd/local",
		"kubeconfig/admin", "kubeconfig/all", "kubeconfig/controller-manager", "kubeconfig/kubelet", "kubeconfig/scheduler",
		"upload-config/all", "upload-config/kubeadm", "upload-config/kubelet",
	}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("phase commands:\n%v\nwant:\n%v", paths, want)
	}
	// Each command takes the flags its phase reads.
	find := func(path ...string) map[string]bool {
		c, _, err := cmd.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		c.Flags().VisitAll(func(f *pflag.Flag) { got[f.Name] = true })
		return got
	}
	for _, path := range [][]string{{"phase", "certs", "ca"}, {"phase", "certs", "all"}, {"phase", "kubeconfig", "kubelet"}, {"phase", "kubeconfig"}} {
		f := find(path...)
		for _, name := range commonFlags {
			if !f[name] {
				t.Errorf("%v lacks --%s", path, name)
			}
		}
		if f["skip-phases"] {
			t.Errorf("%v takes --skip-phases", path)
		}
	}
	if f := find(); !f["skip-phases"] || !f["dry-run"] {
		t.Errorf("init flags: %v", f)
	}
	if !strings.Contains(cmd.Long, "  /etcd-server") {
		t.Errorf("init help lacks the phase list:\n%s", cmd.Long)
	}
}
