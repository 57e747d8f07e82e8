package kubeadm

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of the init transcripts")

// seedInitFlags is the seed transcript's kubeadm init command line with
// our names: its addresses, ranges, node name and token, every pre-flight
// error ignored.
var seedInitFlags = []string{
	"--apiserver-advertise-address", "10.10.10.100", "--service-cidr", "10.1.0.0/16",
	"--pod-network-cidr", "10.2.0.0/16", "--node-name", "k8s-master", "--service-dns-domain", "cluster.local",
	"--token", "hjdyqz.byzmutnkmn448i5z", "--ignore-preflight-errors=all",
}

var caHashRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// checkGolden compares got with testdata/name (rewritten with -update).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := golden(t, name); got != want {
		t.Errorf("output:\n%s\nwant (%s):\n%s", got, path, want)
	}
}

// seedLines are lines of the seed transcript, with our names, that init's
// output must hold word for word.
var seedLines = []string{
	`[preflight] Running pre-flight checks`,
	`[certs] Generating "ca" certificate and key`,
	`[certs] apiserver serving cert is signed for DNS names [k8s-master kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.cluster.local] and IPs [10.1.0.1 10.10.10.100]`,
	`[certs] etcd/server serving cert is signed for DNS names [k8s-master localhost] and IPs [10.10.10.100 127.0.0.1 ::1]`,
	`[certs] Generating "sa" key and public key`,
	`[kubeconfig] Writing "admin.conf" kubeconfig file`,
	`[kubeconfig] Writing "kubelet.conf" kubeconfig file`,
	`[control-plane] Creating static Pod manifest for "kube-apiserver"`,
	`[control-plane] Creating static Pod manifest for "kube-controller-manager"`,
	`[control-plane] Creating static Pod manifest for "kube-scheduler"`,
	`[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace`,
	`[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the kubelets in the cluster`,
	`[upload-certs] Skipping phase. Please see --upload-certs`,
	`[mark-control-plane] Marking the node k8s-master as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]`,
	`[mark-control-plane] Marking the node k8s-master as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]`,
	`[bootstrap-token] Using token: hjdyqz.byzmutnkmn448i5z`,
	`[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles`,
	`[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials`,
	`[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace`,
	`Then you can join any number of worker nodes by running the following on each as root:`,
	`minictl join 10.10.10.100:6443 --token hjdyqz.byzmutnkmn448i5z --discovery-token-ca-cert-hash sha256:<hash>`,
}

// TestInitDryRunGolden: `init --dry-run` with the seed's command line
// prints kubeadm's lines with our names (golden file), writes nothing
// where it was pointed, and leaves no temporary directory behind.
func TestInitDryRunGolden(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	var tmp string
	e.mkdirTemp = func() (string, error) {
		var err error
		tmp, err = os.MkdirTemp(t.TempDir(), "minik8s-init-dryrun")
		return tmp, err
	}
	out, err := runInit(t, e, dir, append([]string{"--dry-run"}, seedInitFlags...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out = strings.ReplaceAll(out, tmp, "/etc/kubernetes/tmp/minik8s-init-dryrun")
	out = caHashRE.ReplaceAllString(out, "sha256:<hash>")
	for _, l := range seedLines {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("dry-run output lacks the line %q", l)
		}
	}
	for _, l := range []string{"[etcd] Creating static Pod manifest for local etcd in ", "[kubelet-start] Writing kubelet configuration to file ", "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "} {
		if !strings.Contains(out, l) {
			t.Errorf("dry-run output lacks %q", l)
		}
	}
	checkGolden(t, "seed-dryrun.golden", out)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the dry run wrote %d entries where init was pointed", len(entries))
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("dry-run directory %s left behind (%v)", tmp, err)
	}
}

// TestInitGolden: a real init against a cluster that comes up at once
// prints the same lines, with wait-control-plane's [apiclient] line.
func TestInitGolden(t *testing.T) {
	dir := t.TempDir()
	out, err := runInit(t, testEnv(t), dir, seedInitFlags...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out = caHashRE.ReplaceAllString(out, "sha256:<hash>")
	for _, l := range append(seedLines, "[apiclient] All control plane components are healthy after 0.000000 seconds") {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("init output lacks the line %q", l)
		}
	}
	checkGolden(t, "seed-init.golden", out)
}
