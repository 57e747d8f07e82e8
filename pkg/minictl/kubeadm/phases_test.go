package kubeadm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/defaults"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apis/manifest"
	"minik8s/pkg/apis/validation"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// clusterOf returns the fake cluster behind an env.
func clusterOf(t *testing.T, e env) *fakeCluster {
	t.Helper()
	c, err := e.newClient("")
	if err != nil {
		t.Fatal(err)
	}
	return c.(*fakeCluster)
}

func TestStaticPodManifests(t *testing.T) {
	dir := t.TempDir()
	if out, err := runInit(t, testEnv(t), dir, seedInitFlags...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := map[string][]string{
		"kube-apiserver": {"/apiserver", "--secure-port=6443", "--client-ca-file=" + filepath.Join(dir, "pki", "ca.crt"),
			"--etcd-servers=https://127.0.0.1:2379", "--etcd-certfile=" + filepath.Join(dir, "pki", "apiserver-etcd-client.crt"),
			"--service-cluster-ip-range=10.1.0.0/16", "--enable-bootstrap-token-auth=true",
			"--cluster-signing-key-file=" + filepath.Join(dir, "pki", "ca.key")},
		"kube-controller-manager": {"/controller-manager", "--kubeconfig=" + filepath.Join(dir, "controller-manager.conf"),
			"--allocate-node-cidrs=true", "--cluster-cidr=10.2.0.0/16"},
		"kube-scheduler": {"/scheduler", "--kubeconfig=" + filepath.Join(dir, "scheduler.conf"), "--leader-elect=true"},
		"etcd": {"/etcd", "--name=k8s-master", "--data-dir=" + filepath.Join(dir, "var-lib-etcd"),
			"--advertise-client-urls=https://10.10.10.100:2379", "--initial-cluster=k8s-master=https://10.10.10.100:2380",
			"--cert-file=" + filepath.Join(dir, "pki", "etcd", "server.crt"), "--client-cert-auth=true"},
	}
	images := map[string]string{
		"kube-apiserver": "minik8s/apiserver:v0.1.0", "kube-controller-manager": "minik8s/controller-manager:v0.1.0",
		"kube-scheduler": "minik8s/scheduler:v0.1.0", "etcd": "minik8s/etcd:3.7.3",
	}
	for name, args := range want {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "manifests", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			// The kubelet reads it as a manifest: decoded strictly, defaulted,
			// validated.
			objs, err := manifest.Decode(data)
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, data)
			}
			pod, ok := objs[0].(*v1.Pod)
			if len(objs) != 1 || !ok {
				t.Fatalf("decoded %d objects (%T)", len(objs), objs[0])
			}
			defaults.Default(pod)
			if err := validation.Validate(pod); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if pod.GetMetadata().GetNamespace() != "kube-system" || !pod.GetSpec().GetHostNetwork() ||
				pod.GetMetadata().GetLabels()["tier"] != "control-plane" || pod.GetSpec().GetPriorityClassName() != "system-node-critical" {
				t.Errorf("pod %v", pod.GetMetadata())
			}
			c := pod.GetSpec().GetContainers()[0]
			if c.GetImage() != images[name] {
				t.Errorf("image %q", c.GetImage())
			}
			for _, a := range args {
				if !slices.Contains(c.GetCommand(), a) {
					t.Errorf("command lacks %q: %v", a, c.GetCommand())
				}
			}
			if c.GetLivenessProbe().GetHttpGet() == nil {
				t.Error("no liveness probe")
			}
			for _, m := range c.GetVolumeMounts() {
				i := slices.IndexFunc(pod.GetSpec().GetVolumes(), func(v *v1.Volume) bool { return v.GetName() == m.GetName() })
				if i < 0 || pod.GetSpec().GetVolumes()[i].GetHostPath().GetPath() != m.GetMountPath() {
					t.Errorf("mount %s has no hostPath volume at the same path", m.GetName())
				}
			}
		})
	}
}

func TestKubeletStartAndFinalize(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	var started []string
	e.startKubelet = func(args []string, logFile string) (int, error) {
		started = args
		if logFile != filepath.Join(dir, "var-lib-kubelet", "kubelet.log") {
			t.Errorf("log file %s", logFile)
		}
		return 77, nil
	}
	out, err := runInit(t, e, dir, append([]string{"phase", "kubelet-start", "--start-kubelet", "--kubelet-arg=--runtime=hollow"}, seedInitFlags[:8]...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.HasSuffix(out, "[kubelet-start] Starting the kubelet\n") {
		t.Errorf("output:\n%s", out)
	}
	envFile, err := os.ReadFile(filepath.Join(dir, "var-lib-kubelet", "kubeadm-flags.env"))
	if err != nil {
		t.Fatal(err)
	}
	wantArgs := []string{
		"--kubeconfig=" + filepath.Join(dir, "kubelet.conf"), "--hostname-override=k8s-master", "--node-ip=10.10.10.100",
		"--root-dir=" + filepath.Join(dir, "var-lib-kubelet"), "--pod-manifest-path=" + filepath.Join(dir, "manifests"),
		"--client-ca-file=" + filepath.Join(dir, "pki", "ca.crt"), "--container-runtime-endpoint=unix:///var/run/docker.sock",
		"--pod-network-cidr=10.2.0.0/16", "--runtime=hollow",
	}
	if want := `KUBELET_KUBEADM_ARGS="` + strings.Join(wantArgs, " ") + "\"\n"; string(envFile) != want {
		t.Errorf("kubeadm-flags.env:\n%s\nwant:\n%s", envFile, want)
	}
	if strings.Join(started, " ") != strings.Join(wantArgs, " ") {
		t.Errorf("started with %v", started)
	}
	if pid, _ := os.ReadFile(filepath.Join(dir, "var-lib-kubelet", "kubelet.pid")); string(pid) != "77\n" {
		t.Errorf("pid file %q", pid)
	}
	cfgData, err := os.ReadFile(filepath.Join(dir, "var-lib-kubelet", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg KubeletConfiguration
	if err := yaml.UnmarshalStrict(cfgData, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Kind != "KubeletConfiguration" || cfg.StaticPodPath != filepath.Join(dir, "manifests") || cfg.ClusterDomain != "cluster.local" ||
		!slices.Equal(cfg.ClusterDNS, []string{"10.1.0.10"}) || !cfg.RotateCertificates || cfg.Authentication.X509.ClientCAFile != filepath.Join(dir, "pki", "ca.crt") {
		t.Errorf("config.yaml:\n%s", cfgData)
	}

	// kubelet-finalize moves the embedded certificate out of kubelet.conf.
	for _, p := range []string{"certs", "kubeconfig"} {
		if out, err := runInit(t, e, dir, append([]string{"phase", p, "all"}, seedInitFlags[:8]...)...); err != nil {
			t.Fatalf("%s: %v\n%s", p, err, out)
		}
	}
	before, err := kubeconfig.Load(filepath.Join(dir, "kubelet.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cert := before.ClientCertificate()
	out, err = runInit(t, e, dir, "phase", "kubelet-finalize")
	if err != nil || out != "[kubelet-finalize] Updating \"/etc/kubernetes/kubelet.conf\" to point to a rotatable kubelet client certificate and key\n" {
		t.Fatalf("finalize: %v\n%s", err, out)
	}
	after, err := kubeconfig.Load(filepath.Join(dir, "kubelet.conf"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, au, _ := after.Current()
	current := filepath.Join(dir, "var-lib-kubelet", "pki", "kubelet-client-current.pem")
	if au.ClientCertificate != current || au.ClientKey != current || len(au.ClientCertificateData) > 0 {
		t.Errorf("kubelet.conf user %+v", au)
	}
	if got := after.ClientCertificate(); got == nil || !got.Equal(cert) {
		t.Error("kubelet.conf lost its certificate")
	}
	if _, err := after.TLSConfig(); err != nil {
		t.Error(err)
	}
	if out, err := runInit(t, e, dir, "phase", "kubelet-finalize"); err != nil || out != "" {
		t.Errorf("second finalize: %v %q", err, out)
	}
}

func TestWaitControlPlane(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	clusterOf(t, e).down = 3
	out, err := runInit(t, e, dir, "phase", "wait-control-plane")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "[apiclient] All control plane components are healthy after 1.500000 seconds\n") {
		t.Errorf("output:\n%s", out)
	}
	e = testEnv(t)
	clusterOf(t, e).down = 1 << 30
	out, err = runInit(t, e, dir, "phase", "wait-control-plane")
	if errdefs.ClassOf(err) != errdefs.ClassTimeout || !strings.Contains(err.Error(), "did not answer within 4m0s") ||
		!strings.Contains(err.Error(), "kubeadm-flags.env") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("timeout: %v\n%s", err, out)
	}
}

func TestMarkControlPlane(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	cl := clusterOf(t, e)
	cl.autoNodes = false
	ctx := context.Background()
	if _, err := cl.Create(ctx, "nodes", &v1.Node{Metadata: &v1.ObjectMeta{Name: "k8s-master", Labels: map[string]string{"kubernetes.io/hostname": "k8s-master"}},
		Spec: &v1.NodeSpec{Taints: []*v1.Taint{{Key: "other", Effect: "NoExecute"}}}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if out, err := runInit(t, e, dir, "phase", "mark-control-plane", "--node-name", "k8s-master"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	n := cl.get("nodes", "", "k8s-master").(*v1.Node)
	labels := n.GetMetadata().GetLabels()
	if labels["kubernetes.io/hostname"] != "k8s-master" || len(labels) != 3 {
		t.Errorf("labels %v", labels)
	}
	for _, l := range []string{LabelControlPlane, LabelExcludeLoadBalancer} {
		if v, ok := labels[l]; !ok || v != "" {
			t.Errorf("label %s missing", l)
		}
	}
	if got := n.GetSpec().GetTaints(); len(got) != 2 || got[1].GetKey() != LabelControlPlane || got[1].GetEffect() != "NoSchedule" {
		t.Errorf("taints %v", got)
	}
	// A node that never registers.
	out, err := runInit(t, e, dir, "phase", "mark-control-plane", "--node-name", "ghost")
	if errdefs.ClassOf(err) != errdefs.ClassTimeout || !strings.Contains(err.Error(), `node "ghost" did not register within 2m0s`) {
		t.Errorf("ghost: %v\n%s", err, out)
	}
}

func TestBootstrapTokenPhase(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	clock := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	e.now = func() time.Time { return clock }
	cl := clusterOf(t, e)
	for _, p := range []string{"certs", "kubeconfig"} {
		if out, err := runInit(t, e, dir, append([]string{"phase", p, "all"}, seedFlags...)...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	out, err := runInit(t, e, dir, "phase", "bootstrap-token", "--token", "abcdef.0123456789abcdef", "--token-ttl", "2h")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s := cl.get("secrets", "kube-system", "bootstrap-token-abcdef").(*v1.Secret)
	want := map[string]string{
		"token-id": "abcdef", "token-secret": "0123456789abcdef", "expiration": "2026-04-01T10:00:00Z",
		"usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
		"auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
		"description":       "The default bootstrap token generated by 'minictl init'.",
	}
	if s.GetType() != "bootstrap.kubernetes.io/token" || len(s.GetData()) != len(want) {
		t.Errorf("secret %s %v", s.GetType(), s.GetData())
	}
	for k, v := range want {
		if string(s.GetData()[k]) != v {
			t.Errorf("data[%s] = %q, want %q", k, s.GetData()[k], v)
		}
	}
	cm := cl.get("configmaps", "kube-public", "cluster-info").(*v1.ConfigMap)
	kc, err := kubeconfig.Parse([]byte(cm.GetData()["kubeconfig"]))
	if err != nil || len(kc.Clusters) != 1 || kc.Clusters[0].Cluster.Server != "https://10.10.10.100:6443" {
		t.Fatalf("cluster-info kubeconfig %v %v", kc, err)
	}
	ca, _ := pki.Dir(filepath.Join(dir, "pki")).LoadCert("ca")
	if !bytes.Equal(kc.Clusters[0].Cluster.CertificateAuthorityData, pki.EncodeCertPEM(ca)) {
		t.Error("cluster-info holds another CA")
	}
	if err := pki.VerifyJWS(cm.GetData()["jws-kubeconfig-abcdef"], []byte(cm.GetData()["kubeconfig"]), "abcdef", "0123456789abcdef"); err != nil {
		t.Error(err)
	}
	// A second token keeps the first one's signature; --token-ttl 0 never
	// expires.
	if out, err := runInit(t, e, dir, "phase", "bootstrap-token", "--token", "ghijkl.0123456789abcdef", "--token-ttl", "0"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cm = cl.get("configmaps", "kube-public", "cluster-info").(*v1.ConfigMap)
	if cm.GetData()["jws-kubeconfig-abcdef"] == "" || cm.GetData()["jws-kubeconfig-ghijkl"] == "" {
		t.Errorf("signatures %v", cm.GetData())
	}
	if _, ok := cl.get("secrets", "kube-system", "bootstrap-token-ghijkl").(*v1.Secret).GetData()["expiration"]; ok {
		t.Error("a token with --token-ttl 0 expires")
	}
	// The same token again updates its Secret.
	if out, err := runInit(t, e, dir, "phase", "bootstrap-token", "--token", "abcdef.0123456789abcdef"); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
}

func TestUploadConfig(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	cl := clusterOf(t, e)
	if out, err := runInit(t, e, dir, append([]string{"phase", "upload-config", "all"}, seedInitFlags[:10]...)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cm := cl.get("configmaps", "kube-system", "kubeadm-config").(*v1.ConfigMap)
	var cc ClusterConfiguration
	if err := yaml.UnmarshalStrict([]byte(cm.GetData()["ClusterConfiguration"]), &cc); err != nil {
		t.Fatal(err)
	}
	if cc.Kind != "ClusterConfiguration" || cc.Networking.ServiceSubnet != "10.1.0.0/16" || cc.Networking.PodSubnet != "10.2.0.0/16" ||
		cc.Networking.DNSDomain != "cluster.local" || cc.KubernetesVersion != Version || cc.CertificatesDir != filepath.Join(dir, "pki") {
		t.Errorf("ClusterConfiguration %+v", cc)
	}
	kcm := cl.get("configmaps", "kube-system", "kubelet-config").(*v1.ConfigMap)
	var kcfg KubeletConfiguration
	if err := yaml.UnmarshalStrict([]byte(kcm.GetData()["kubelet"]), &kcfg); err != nil || kcfg.Kind != "KubeletConfiguration" {
		t.Errorf("kubelet-config %v %v", kcm.GetData(), err)
	}
}

func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	e.portInUse = func(p int) bool { return p == 6443 || p == 2379 }
	e.numCPU = func() int { return 1 }
	e.pingDocker = func(context.Context, string) error {
		return errdefs.Unavailable("dial unix /var/run/docker.sock: connect: no such file or directory")
	}
	if err := os.MkdirAll(filepath.Join(dir, "var-lib-etcd", "member"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runInit(t, e, dir, "phase", "preflight")
	if !errdefs.IsPrecondition(err) {
		t.Fatalf("err = %v\n%s", err, out)
	}
	msg := maskDirs(err.Error(), dir)
	for _, want := range []string{
		"[preflight] Some fatal errors occurred:",
		"\t[ERROR NumCPU]: the number of available CPUs 1 is less than the required 2",
		"\t[ERROR Port-6443]: Port 6443 is in use",
		"\t[ERROR Port-2379]: Port 2379 is in use",
		"\t[ERROR DirAvailable-" + strings.ReplaceAll(filepath.Join(dir, "var-lib-etcd"), "/", "-") + "]: /var/lib/etcd is not empty",
		"\t[ERROR CRI]: container runtime is not running: dial unix /var/run/docker.sock",
		"you can make a check non-fatal with `--ignore-preflight-errors=...`",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "Port-10250") {
		t.Errorf("a free port reported:\n%s", msg)
	}
	// Named checks become warnings; the rest stay fatal.
	_, err = runInit(t, e, dir, "phase", "preflight", "--ignore-preflight-errors", "numcpu,Port-6443,Port-2379,CRI")
	if err == nil || !strings.Contains(err.Error(), "DirAvailable") || strings.Contains(err.Error(), "NumCPU") {
		t.Errorf("partly ignored: %v", err)
	}
	out, err = runInit(t, e, dir, "phase", "preflight", "--ignore-preflight-errors=all")
	if err != nil || !strings.Contains(out, "\t[WARNING NumCPU]: the number of available CPUs 1 is less than the required 2\n") {
		t.Errorf("all ignored: %v\n%s", err, out)
	}
	// A re-run of init on an initialised directory names what exists.
	if out, err := runInit(t, testEnv(t), dir, seedInitFlags...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	_, err = runInit(t, testEnv(t), dir, "phase", "preflight")
	if err == nil || !strings.Contains(maskDirs(err.Error(), dir), "/etc/kubernetes/manifests/kube-apiserver.yaml already exists") {
		t.Errorf("rerun: %v", err)
	}
}

func TestUploadCertsNotSupported(t *testing.T) {
	dir := t.TempDir()
	_, err := runInit(t, testEnv(t), dir, append([]string{"--upload-certs"}, seedInitFlags...)...)
	if errdefs.ClassOf(err) != errdefs.ClassNotImplemented || !strings.Contains(err.Error(), "--upload-certs is not supported") {
		t.Errorf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("--upload-certs left %d entries behind", len(entries))
	}
}

// TestKubeconfigFlag: minictl's global --kubeconfig is the cluster the
// phases talk to, and its server and CA make cluster-info.
func TestKubeconfigFlag(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	for _, p := range []string{"certs", "kubeconfig"} {
		if out, err := runInit(t, e, dir, append([]string{"phase", p, "all"}, seedFlags...)...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	ca, err := pki.Dir(filepath.Join(dir, "pki")).Load("ca")
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "cluster-admin.conf")
	if err := kubeconfig.Write(other, kubeconfig.New("https://apiserver:6443", ca.CertPEM(), "kubernetes-admin", []byte("c"), []byte("k"))); err != nil {
		t.Fatal(err)
	}
	inner := e.newClient
	var used string
	e.newClient = func(path string) (clusterClient, error) { used = path; return inner(path) }
	root := &cobra.Command{Use: "minictl"}
	root.PersistentFlags().String("kubeconfig", "", "")
	var out bytes.Buffer
	root.AddCommand(newInitCommand(&out, e))
	root.SetArgs([]string{"--kubeconfig", other, "init", "phase", "bootstrap-token", "--kubeconfig-dir", t.TempDir(), "--cert-dir", filepath.Join(t.TempDir(), "pki")})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if used != other {
		t.Errorf("client from %q, want --kubeconfig %q", used, other)
	}
	cm := clusterOf(t, e).get("configmaps", "kube-public", "cluster-info").(*v1.ConfigMap)
	if !strings.Contains(cm.GetData()["kubeconfig"], "server: https://apiserver:6443") {
		t.Errorf("cluster-info:\n%s", cm.GetData()["kubeconfig"])
	}
}
