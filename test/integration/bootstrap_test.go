package integration

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/manifest"
	"minik8s/pkg/apiserver"
	"minik8s/pkg/client"
	"minik8s/pkg/kubelet/config"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
	"minik8s/test/integration/framework"
)

// certLifetime is --cluster-signing-duration: short, so that a node
// rotates its certificate while the test watches (at 70-90% of ~33s,
// counting the 3s the signer backdates).
const certLifetime = 30 * time.Second

// joinRE is the join command init and `token create --print-join-command`
// print.
var joinRE = regexp.MustCompile(`(?m)^minictl join (\S+) --token ([a-z0-9]{6}\.[a-z0-9]{16}) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})$`)

// bootstrapCluster is a control plane made by `minictl init` phase by phase
// (the local phases, then an apiserver from the files they wrote, then the
// phases that talk to it) with a control-plane kubelet.
type bootstrapCluster struct {
	cp    *framework.ControlPlane
	dir   string
	admin *client.Clientset
	token string
	hash  string
	addr  string
}

func initCluster(t *testing.T) *bootstrapCluster {
	t.Helper()
	dir := t.TempDir()
	port := framework.FreePort(t)
	common := []string{
		"--apiserver-advertise-address", "127.0.0.1", "--apiserver-bind-port", strconv.Itoa(port),
		"--cert-dir", filepath.Join(dir, "pki"), "--kubeconfig-dir", dir,
		"--kubelet-root-dir", filepath.Join(dir, "kubelet"), "--etcd-data-dir", filepath.Join(dir, "etcd"),
		"--node-name", "control-plane", "--service-cidr", "10.1.0.0/16", "--pod-network-cidr", "10.2.0.0/16",
	}
	// The phases that need no cluster (preflight probes fixed ports of the
	// machine, which tests must not touch).
	out := framework.MustMinictl(t, "", append([]string{"init", "--skip-phases",
		"preflight,wait-control-plane,upload-config,upload-certs,mark-control-plane,bootstrap-token,kubelet-finalize,addons"}, common...)...)
	for _, want := range []string{
		`[control-plane] Creating static Pod manifest for "kube-apiserver"`,
		`[etcd] Creating static Pod manifest for local etcd in "` + filepath.Join(dir, "manifests") + `"`,
		`[kubelet-start] Writing kubelet configuration to file "` + filepath.Join(dir, "kubelet", "config.yaml") + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("init output lacks %q:\n%s", want, out)
		}
	}
	// The apiserver, started from the files init wrote.
	cp := framework.StartAPIServerWith(t, dir, port, func(c *apiserver.Config) {
		c.EnableBootstrapTokenAuth = true
		c.BootstrapTokenSyncPeriod = 200 * time.Millisecond
		c.ClusterSigningDuration = certLifetime
	})
	admin := cp.Admin(t)
	// The control-plane node's kubelet: kubelet.conf from init, the static
	// pods of the manifest directory.
	cs := cp.Client(t, filepath.Join(dir, "kubelet.conf"))
	framework.StartKubeletWith(t, cs, cp.CertDir, framework.KubeletOptions{
		NodeName: "control-plane", PodManifestPath: filepath.Join(dir, "manifests"), PodCIDR: "10.2.0.0/24",
	})
	// The rest of init, against it.
	out = framework.MustMinictl(t, "", append([]string{"init", "--skip-phases",
		"preflight,certs,kubeconfig,kubelet-start,control-plane,etcd", "--token", "abcdef.0123456789abcdef"}, common...)...)
	for _, want := range []string{
		"[apiclient] All control plane components are healthy after ",
		`[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace`,
		"[mark-control-plane] Marking the node control-plane as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]",
		"[bootstrap-token] Using token: abcdef.0123456789abcdef",
		`[kubelet-finalize] Updating "` + filepath.Join(dir, "kubelet.conf") + `" to point to a rotatable kubelet client certificate and key`,
		"Your minik8s control-plane has initialized successfully!",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("init output lacks %q:\n%s", want, out)
		}
	}
	m := joinRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("init printed no join command:\n%s", out)
	}
	if m[1] != "127.0.0.1:"+strconv.Itoa(port) || m[2] != "abcdef.0123456789abcdef" {
		t.Fatalf("join command %q", m[0])
	}
	return &bootstrapCluster{cp: cp, dir: dir, admin: admin, token: m[2], hash: m[3], addr: m[1]}
}

// join runs `minictl join` for node into a fresh directory of owner (the
// test the node lives as long as).
func (c *bootstrapCluster) join(t, owner *testing.T, node, token, hash string, extra ...string) (string, framework.Result) {
	t.Helper()
	dir := filepath.Join(owner.TempDir(), node)
	args := append([]string{"join", c.addr, "--token", token, "--discovery-token-ca-cert-hash", hash,
		"--node-name", node, "--kubeconfig-dir", dir, "--discovery-timeout", "5s"}, extra...)
	return dir, framework.Minictl(t, "", args...)
}

// tokenClient is a client authenticated by a bootstrap token only.
func (c *bootstrapCluster) tokenClient(t *testing.T, token string) *client.Clientset {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(c.dir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "token.conf")
	if err := kubeconfig.Write(path, kubeconfig.NewToken("https://"+c.addr, ca, "tls-bootstrap-token-user", token)); err != nil {
		t.Fatal(err)
	}
	return c.cp.Client(t, path)
}

func nodeCSR(t *testing.T, name, node string) *v1.CertificateSigningRequest {
	t.Helper()
	key, err := pki.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	req, err := pki.NewCSR(key, "system:node:"+node, []string{"system:nodes"}, pki.AltNames{})
	if err != nil {
		t.Fatal(err)
	}
	return &v1.CertificateSigningRequest{
		Metadata: &v1.ObjectMeta{Name: name},
		Spec: &v1.CertificateSigningRequestSpec{Request: req, SignerName: "kubernetes.io/kube-apiserver-client-kubelet",
			Usages: []string{"digital signature", "client auth"}},
	}
}

func wantClass(t *testing.T, what string, err error, class errdefs.Class) {
	t.Helper()
	if errdefs.ClassOf(err) != class {
		t.Errorf("%s: got %v (class %v), want class %v", what, err, errdefs.ClassOf(err), class)
	}
}

func TestBootstrapInitJoinRotate(t *testing.T) {
	t.Parallel()
	c := initCluster(t)
	ctx := framework.Context(t)
	// Nodes outlive the subtest that starts them.
	cluster := t
	tokenAttempts := func() float64 {
		return c.cp.Metric(t, "apiserver_bootstrap_token_authentication_attempts_total", "result=success") +
			c.cp.Metric(t, "apiserver_bootstrap_token_authentication_attempts_total", "result=failure") +
			c.cp.Metric(t, "apiserver_bootstrap_token_authentication_attempts_total", "result=error")
	}

	t.Run("control plane", func(t *testing.T) {
		n, err := c.admin.Nodes().Get(ctx, "", "control-plane")
		if err != nil {
			t.Fatal(err)
		}
		labels := n.GetMetadata().GetLabels()
		if _, ok := labels["node-role.kubernetes.io/control-plane"]; !ok {
			t.Errorf("labels %v", labels)
		}
		if _, ok := labels["node.kubernetes.io/exclude-from-external-load-balancers"]; !ok {
			t.Errorf("labels %v", labels)
		}
		if !slices.ContainsFunc(n.GetSpec().GetTaints(), func(tt *v1.Taint) bool {
			return tt.GetKey() == "node-role.kubernetes.io/control-plane" && tt.GetEffect() == "NoSchedule"
		}) {
			t.Errorf("taints %v", n.GetSpec().GetTaints())
		}
		for _, name := range []string{"kubeadm-config", "kubelet-config"} {
			if _, err := c.admin.ConfigMaps().Get(ctx, "kube-system", name); err != nil {
				t.Errorf("configmap %s: %v", name, err)
			}
		}
		ci, err := c.admin.ConfigMaps().Get(ctx, "kube-public", "cluster-info")
		if err != nil {
			t.Fatal(err)
		}
		if err := pki.VerifyJWS(ci.GetData()["jws-kubeconfig-abcdef"], []byte(ci.GetData()["kubeconfig"]), "abcdef", "0123456789abcdef"); err != nil {
			t.Errorf("cluster-info signature: %v", err)
		}
		// The static pod manifests are pods our kubelet runs: their mirror
		// pods appear.
		framework.Eventually(t, 30*time.Second, "mirror pods of the static pods", func() error {
			for _, p := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"} {
				pod, err := c.admin.Pods().Get(ctx, "kube-system", p+"-control-plane")
				if err != nil {
					return err
				}
				if !config.IsMirror(pod) || pod.GetSpec().GetNodeName() != "control-plane" {
					return fmt.Errorf("%s is no mirror pod: %v", p, pod.GetMetadata().GetAnnotations())
				}
			}
			return nil
		})
		// Every flag of the control-plane manifests is a flag of our binaries.
		for _, name := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
			data, err := os.ReadFile(filepath.Join(c.dir, "manifests", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := manifest.Decode(data)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			command := objs[0].(*v1.Pod).GetSpec().GetContainers()[0].GetCommand()
			bin := filepath.Join(framework.Binaries(t), filepath.Base(command[0]))
			out, err := exec.Command(bin, append(command[1:], "--help")...).CombinedOutput()
			if err != nil {
				t.Errorf("%s %v: %v\n%s", bin, command[1:], err, out)
			}
		}
		// kubelet.conf now takes the client certificate from the kubelet's
		// directory, where it can be rotated.
		kc, err := kubeconfig.Load(filepath.Join(c.dir, "kubelet.conf"))
		if err != nil {
			t.Fatal(err)
		}
		if cert := kc.ClientCertificate(); cert == nil || cert.Subject.CommonName != "system:node:control-plane" {
			t.Errorf("kubelet.conf certificate %v", cert)
		}
	})

	t.Run("wrong CA hash: join refuses before the token is sent", func(t *testing.T) {
		other, err := pki.NewCA(pki.CertConfig{CommonName: "impostor"})
		if err != nil {
			t.Fatal(err)
		}
		before := tokenAttempts()
		dir, r := c.join(t, t, "node-x", c.token, pki.CAHash(other.Cert))
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "the CA check failed") || !strings.Contains(r.Stderr, "does not match the pinned --discovery-token-ca-cert-hash") {
			t.Fatalf("join with a wrong hash: exit %d\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "bootstrap-kubelet.conf")); !os.IsNotExist(err) {
			t.Errorf("bootstrap-kubelet.conf written after a failed check (%v)", err)
		}
		if after := tokenAttempts(); after != before {
			t.Errorf("the apiserver saw %v bootstrap token(s) from a join that should have sent none", after-before)
		}
		// A wrong token secret fails the signature check, also before
		// anything is sent.
		_, r = c.join(t, t, "node-x", "abcdef.0123456789abcdex", c.hash)
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "the token check failed") {
			t.Fatalf("join with a wrong token: exit %d\n%s", r.ExitCode, r.Stderr)
		}
		if after := tokenAttempts(); after != before {
			t.Errorf("the apiserver saw a token from a join with a wrong token")
		}
	})

	var node1 *framework.BootstrapKubelet
	t.Run("a node joins with token and CA hash and becomes Ready", func(t *testing.T) {
		dir, r := c.join(t, cluster, "node-1", c.token, c.hash)
		if r.ExitCode != 0 {
			t.Fatalf("join: %s\n%s", r.Stdout, r.Stderr)
		}
		for _, want := range []string{"[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots", "--bootstrap-kubeconfig=" + filepath.Join(dir, "bootstrap-kubelet.conf")} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("join output lacks %q:\n%s", want, r.Stdout)
			}
		}
		node1 = framework.StartBootstrapKubelet(cluster, "node-1", dir, framework.KubeletOptions{PodCIDR: "10.2.1.0/24"})
		framework.Eventually(t, 30*time.Second, "node-1 Ready", func() error { return framework.NodeReady(ctx, c.admin, "node-1") })
		cert := node1.Rotation.Current()
		if cert.Subject.CommonName != "system:node:node-1" || strings.Join(cert.Subject.Organization, ",") != "system:nodes" {
			t.Errorf("node-1 certificate subject %v", cert.Subject)
		}
	})
	if node1 == nil {
		t.FailNow()
	}

	var node2Root string
	t.Run("a second node joins through the kubelet binary", func(t *testing.T) {
		root := filepath.Join(cluster.TempDir(), "kubelet")
		node2Root = root
		_, r := c.join(t, cluster, "node-2", c.token, c.hash, "--start-kubelet", "--kubelet-root-dir", root,
			"--kubelet-arg=--runtime=hollow", "--kubelet-arg=--metrics-bind-address=", "--kubelet-arg=--port=-1",
			"--kubelet-arg=--pod-cidr=10.2.2.0/24", "--kubelet-arg=--node-status-update-frequency=2s")
		if _, err := os.Stat(filepath.Join(root, "kubelet.pid")); err == nil {
			framework.KillOnCleanup(cluster, filepath.Join(root, "kubelet.pid"))
		}
		if r.ExitCode != 0 {
			log, _ := os.ReadFile(filepath.Join(root, "kubelet.log"))
			t.Fatalf("join --start-kubelet: %s\n%s\nkubelet log:\n%s", r.Stdout, r.Stderr, log)
		}
		if !strings.Contains(r.Stdout, "This node has joined the cluster:") {
			t.Errorf("join output:\n%s", r.Stdout)
		}
		framework.Eventually(t, 30*time.Second, "node-2 Ready", func() error { return framework.NodeReady(ctx, c.admin, "node-2") })
		if _, err := os.Stat(filepath.Join(root, "pki", "kubelet-client-current.pem")); err != nil {
			t.Errorf("the kubelet binary stored no client certificate: %v", err)
		}
		out := c.cp.MustMinictl(t, "", "get", "csr")
		if !regexp.MustCompile(`(?m)^node-csr-\S+\s+\S+\s+kubernetes\.io/kube-apiserver-client-kubelet\s+system:bootstrap:abcdef\s+<none>\s+Approved,Issued$`).MatchString(out) {
			t.Errorf("get csr:\n%s", out)
		}
	})

	t.Run("wrong, expired or deleted token: Unauthenticated", func(t *testing.T) {
		expired := &v1.Secret{
			Metadata: &v1.ObjectMeta{Name: "bootstrap-token-expird", Namespace: "kube-system"},
			Type:     "bootstrap.kubernetes.io/token",
			StringData: map[string]string{"token-id": "expird", "token-secret": "0123456789abcdef",
				"expiration": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "usage-bootstrap-authentication": "true"},
		}
		if _, err := c.admin.Secrets().Create(ctx, expired); err != nil {
			t.Fatal(err)
		}
		out := c.cp.MustMinictl(t, "", "token", "create", "delete.0123456789abcdef")
		if out != "delete.0123456789abcdef\n" {
			t.Fatalf("token create: %q", out)
		}
		if _, err := c.tokenClient(t, "delete.0123456789abcdef").CSRs().Create(ctx, nodeCSR(t, "before-delete", "x")); err != nil {
			t.Fatalf("a fresh token: %v", err)
		}
		c.cp.MustMinictl(t, "", "token", "delete", "delete")
		for _, tok := range []string{"abcdef.0123456789abcdex", "expird.0123456789abcdef", "delete.0123456789abcdef", "zzzzzz.0123456789abcdef"} {
			_, err := c.tokenClient(t, tok).CSRs().Create(ctx, nodeCSR(t, "x-"+tok[:6], "x"))
			wantClass(t, "token "+tok, err, errdefs.ClassUnauthenticated)
		}
		// The expired token is cleaned up.
		framework.Eventually(t, 30*time.Second, "expired token deleted", func() error {
			_, err := c.admin.Secrets().Get(ctx, "kube-system", "bootstrap-token-expird")
			if errdefs.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("still there: %v", err)
		})
		out = c.cp.MustMinictl(t, "", "token", "list")
		if !strings.Contains(out, "abcdef.0123456789abcdef") || strings.Contains(out, "expird") || strings.Contains(out, "delete.") {
			t.Errorf("token list:\n%s", out)
		}
	})

	t.Run("a bootstrapper can only create and read its own CSRs", func(t *testing.T) {
		boot := c.tokenClient(t, c.token)
		own, err := boot.CSRs().Create(ctx, nodeCSR(t, "own-csr", "node-9"))
		if err != nil {
			t.Fatal(err)
		}
		if own.GetSpec().GetUsername() != "system:bootstrap:abcdef" {
			t.Errorf("requester %q", own.GetSpec().GetUsername())
		}
		if _, err := boot.CSRs().Get(ctx, "", "own-csr"); err != nil {
			t.Errorf("get own csr: %v", err)
		}
		admins, err := c.admin.CSRs().Create(ctx, nodeCSR(t, "admins-csr", "node-8"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = boot.CSRs().Get(ctx, "", admins.GetMetadata().GetName())
		wantClass(t, "get another's csr", err, errdefs.ClassForbidden)
		_, _, err = boot.CSRs().List(ctx, client.ListOptions{})
		wantClass(t, "list csrs", err, errdefs.ClassForbidden)
		_, err = boot.ApproveCSR(ctx, "own-csr", "", "")
		wantClass(t, "approve", err, errdefs.ClassForbidden)
		_, err = boot.CSRs().UpdateStatus(ctx, own)
		wantClass(t, "csr status", err, errdefs.ClassForbidden)
		_, _, err = boot.CSRs().Delete(ctx, "", "own-csr", client.DeleteOptions{})
		wantClass(t, "delete csr", err, errdefs.ClassForbidden)
		_, _, err = boot.Nodes().List(ctx, client.ListOptions{})
		wantClass(t, "list nodes", err, errdefs.ClassForbidden)
		_, err = boot.Nodes().Get(ctx, "", "node-1")
		wantClass(t, "get node", err, errdefs.ClassForbidden)
		_, err = boot.Nodes().Create(ctx, &v1.Node{Metadata: &v1.ObjectMeta{Name: "node-9"}})
		wantClass(t, "create node", err, errdefs.ClassForbidden)
		_, _, err = boot.Pods().List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=node-9"})
		wantClass(t, "list pods", err, errdefs.ClassForbidden)
		_, err = boot.Pods().Create(ctx, testPod("boot", "node-1", "Always"))
		wantClass(t, "create pod", err, errdefs.ClassForbidden)
		_, err = boot.Secrets().Get(ctx, "kube-system", "bootstrap-token-abcdef")
		wantClass(t, "get token secret", err, errdefs.ClassForbidden)
		_, err = boot.ConfigMaps().Get(ctx, "kube-system", "kubeadm-config")
		wantClass(t, "get configmap", err, errdefs.ClassForbidden)
		_, err = boot.Leases().Create(ctx, &v1.Lease{Metadata: &v1.ObjectMeta{Name: "node-9", Namespace: "kube-node-lease"}})
		wantClass(t, "create lease", err, errdefs.ClassForbidden)
		w, err := boot.Pods().Watch(ctx, client.ListOptions{})
		if err == nil {
			_, err = w.Next()
			w.Stop()
		}
		wantClass(t, "watch pods", err, errdefs.ClassForbidden)
	})

	n1 := c.cp.Client(t, node1.Kubeconfig)
	t.Run("a node cannot obtain a certificate for another node's name", func(t *testing.T) {
		csr, err := n1.CSRs().Create(ctx, nodeCSR(t, "node-1-wants-node-2", "node-2"))
		if err != nil {
			t.Fatal(err)
		}
		if csr.GetSpec().GetUsername() != "system:node:node-1" {
			t.Errorf("requester %q", csr.GetSpec().GetUsername())
		}
		framework.Eventually(t, 30*time.Second, "the request is denied", func() error {
			got, err := c.admin.CSRs().Get(ctx, "", "node-1-wants-node-2")
			if err != nil {
				return err
			}
			for _, cond := range got.GetStatus().GetConditions() {
				if cond.GetType() == "Denied" {
					if len(got.GetStatus().GetCertificate()) > 0 {
						return fmt.Errorf("denied but issued")
					}
					return nil
				}
			}
			return fmt.Errorf("conditions %v", got.GetStatus().GetConditions())
		})
		out := c.cp.MustMinictl(t, "", "get", "csr", "node-1-wants-node-2")
		if !strings.Contains(out, "system:node:node-1") || !strings.Contains(out, "Denied") {
			t.Errorf("get csr:\n%s", out)
		}
		// An admin's approval of the own renewal-shaped request signs it
		// (the manual path): certificate approve.
		if _, err := c.admin.CSRs().Create(ctx, func() *v1.CertificateSigningRequest {
			r := nodeCSR(t, "manual", "jane")
			r.Spec.SignerName = "kubernetes.io/kube-apiserver-client"
			return r
		}()); err != nil {
			t.Fatal(err)
		}
		if out := c.cp.MustMinictl(t, "", "certificate", "approve", "manual"); out != "certificatesigningrequest.certificates.k8s.io/manual approved\n" {
			t.Errorf("certificate approve: %q", out)
		}
		got, err := c.admin.CSRs().Get(ctx, "", "manual")
		if err != nil || len(got.GetStatus().GetCertificate()) == 0 {
			t.Errorf("approved request not issued: %v %v", got.GetStatus(), err)
		}
	})

	t.Run("a node cannot touch another node's pods or Node object", func(t *testing.T) {
		create(t, c.admin, testPod("on-node-2", "node-2", "Always", "serve"))
		create(t, c.admin, testPod("on-node-1", "node-1", "Always", "serve"))
		framework.WaitPod(t, c.admin, 30*time.Second, "default", "on-node-2", "Running", framework.PodRunning)
		framework.WaitPod(t, c.admin, 30*time.Second, "default", "on-node-1", "Running", framework.PodRunning)
		if _, err := n1.Pods().Get(ctx, "default", "on-node-1"); err != nil {
			t.Errorf("node-1 reading its own pod: %v", err)
		}
		_, err := n1.Pods().Get(ctx, "default", "on-node-2")
		wantClass(t, "get another node's pod", err, errdefs.ClassForbidden)
		p2, err := c.admin.Pods().Get(ctx, "default", "on-node-2")
		if err != nil {
			t.Fatal(err)
		}
		p2.Status.Phase = "Failed"
		_, err = n1.Pods().UpdateStatus(ctx, p2)
		wantClass(t, "update another node's pod status", err, errdefs.ClassForbidden)
		_, _, err = n1.Pods().Delete(ctx, "default", "on-node-2", client.DeleteOptions{})
		wantClass(t, "delete another node's pod", err, errdefs.ClassForbidden)
		_, _, err = n1.Pods().List(ctx, client.ListOptions{FieldSelector: "spec.nodeName=node-2"})
		wantClass(t, "list another node's pods", err, errdefs.ClassForbidden)
		_, err = n1.Pods().Create(ctx, testPod("sneaky", "node-2", "Always"))
		wantClass(t, "create a pod on another node", err, errdefs.ClassForbidden)
		n2, err := c.admin.Nodes().Get(ctx, "", "node-2")
		if err != nil {
			t.Fatal(err)
		}
		n2.Spec.Unschedulable = true
		_, err = n1.Nodes().Update(ctx, n2)
		wantClass(t, "update another Node", err, errdefs.ClassForbidden)
		_, err = n1.Nodes().UpdateStatus(ctx, n2)
		wantClass(t, "update another Node's status", err, errdefs.ClassForbidden)
		_, _, err = n1.Nodes().Delete(ctx, "", "node-2", client.DeleteOptions{})
		wantClass(t, "delete another Node", err, errdefs.ClassForbidden)
		l, err := c.admin.Leases().Get(ctx, "kube-node-lease", "node-2")
		if err != nil {
			t.Fatal(err)
		}
		_, err = n1.Leases().Update(ctx, l)
		wantClass(t, "renew another node's Lease", err, errdefs.ClassForbidden)
		if got, err := c.admin.Pods().Get(ctx, "default", "on-node-2"); err != nil || got.GetStatus().GetPhase() != "Running" {
			t.Errorf("on-node-2 after the attempts: %v %v", got.GetStatus().GetPhase(), err)
		}
	})

	t.Run("rotation replaces the certificate and the node stays Ready", func(t *testing.T) {
		first := node1.Rotation.Current()
		var mu sync.Mutex
		var notReady []string
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(250 * time.Millisecond):
				}
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := framework.NodeReady(rctx, c.admin, "node-1")
				cancel()
				if err != nil {
					mu.Lock()
					notReady = append(notReady, err.Error())
					mu.Unlock()
				}
			}
		}()
		var second *x509.Certificate
		framework.Eventually(t, 3*certLifetime, "node-1 rotates its certificate", func() error {
			if cur := node1.Rotation.Current(); !cur.Equal(first) {
				second = cur
				return nil
			}
			return fmt.Errorf("still the certificate valid until %s", first.NotAfter.Format(time.TimeOnly))
		})
		// Past the first certificate's end, the node is still Ready.
		if wait := time.Until(first.NotAfter.Add(3 * time.Second)); wait > 0 {
			time.Sleep(wait)
		}
		framework.Eventually(t, 10*time.Second, "node-1 Ready after its first certificate expired", func() error {
			return framework.NodeReady(ctx, c.admin, "node-1")
		})
		close(stop)
		<-done
		mu.Lock()
		if len(notReady) > 0 {
			t.Errorf("node-1 was not Ready %d times during the rotation: %v", len(notReady), notReady[0])
		}
		mu.Unlock()
		rotatedAt := time.Now()
		if second.Subject.CommonName != "system:node:node-1" || second.SerialNumber.Cmp(first.SerialNumber) == 0 {
			t.Errorf("rotated certificate %v serial %v", second.Subject, second.SerialNumber)
		}
		life := first.NotAfter.Sub(first.NotBefore)
		if d := second.NotBefore.Sub(first.NotBefore); d < time.Duration(0.6*float64(life)) || d > life {
			t.Errorf("rotated %v into a lifetime of %v, want at 70-90%%", d, life)
		}
		// The renewal was a CSR made with the node's own certificate.
		csrs, _, err := c.admin.CSRs().List(ctx, client.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		renewals := 0
		for _, r := range csrs {
			if r.GetSpec().GetUsername() == "system:node:node-1" && strings.HasPrefix(r.GetMetadata().GetName(), "csr-") && len(r.GetStatus().GetCertificate()) > 0 {
				renewals++
			}
		}
		if renewals == 0 {
			t.Error("no issued renewal request by system:node:node-1")
		}
		// A new connection presents the new certificate: the first has
		// expired, so only the new one can authenticate it.
		fresh := c.cp.Client(t, node1.Kubeconfig)
		if err := framework.NodeReady(ctx, fresh, "node-1"); err != nil {
			t.Errorf("a new connection with kubelet.conf after the rotation: %v", err)
		}
		// The kubelet binary (node-2, same lifetime) rotated its certificate
		// too, through cmd/kubelet's rotation manager.
		framework.Eventually(t, certLifetime, "node-2 rotates its certificate", func() error {
			stored, err := filepath.Glob(filepath.Join(node2Root, "pki", "kubelet-client-2*.pem"))
			if err != nil || len(stored) < 2 {
				return fmt.Errorf("stored certificates %v (%v)", stored, err)
			}
			return framework.NodeReady(ctx, c.admin, "node-2")
		})
		// The pod kept running.
		if got, err := c.admin.Pods().Get(ctx, "default", "on-node-1"); err != nil || got.GetStatus().GetPhase() != "Running" {
			t.Errorf("on-node-1 after the rotation: %v %v", got.GetStatus().GetPhase(), err)
		}
		t.Logf("node-1 rotated its certificate %.1fs into its %.0fs life; checked until %s", second.NotBefore.Sub(first.NotBefore).Seconds(), life.Seconds(), rotatedAt.Format(time.TimeOnly))
	})
}
