package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/defaults"
)

func nowProto() *timestamppb.Timestamp { return timestamppb.Now() }

func validNode() *v1.Node {
	n := &v1.Node{
		Metadata: &v1.ObjectMeta{Name: "node-1", Labels: map[string]string{"kubernetes.io/hostname": "node-1"}},
		Spec: &v1.NodeSpec{
			PodCidr:  "10.2.1.0/24",
			PodCidrs: []string{"10.2.1.0/24"},
			Taints:   []*v1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule"}},
		},
		Status: &v1.NodeStatus{Capacity: map[string]string{"cpu": "8", "memory": "16Gi", "pods": "110"}},
	}
	defaults.Default(n)
	return n
}

// kindCase is one mutation of a valid object and the errors it must give.
type kindCase struct {
	name   string
	mutate func(apis.Object)
	want   []string
}

func runKindCases(t *testing.T, valid func() apis.Object, tests []kindCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := valid()
			tt.mutate(obj)
			assertErrors(t, Check(obj), tt.want)
		})
	}
}

func TestNode(t *testing.T) {
	valid := func() apis.Object { return validNode() }
	node := func(o apis.Object) *v1.Node { return o.(*v1.Node) }
	runKindCases(t, valid, []kindCase{
		{"valid", func(apis.Object) {}, nil},
		{"no namespace", func(o apis.Object) { node(o).Metadata.Namespace = "default" },
			[]string{"metadata.namespace: Forbidden: not allowed on this type"}},
		{"name", func(o apis.Object) { node(o).Metadata.Name = "Node_1" },
			[]string{`metadata.name: Invalid value: "Node_1": ` + subdomainMsg}},
		{"taint effect required", func(o apis.Object) { node(o).Spec.Taints[0].Effect = "" },
			[]string{"spec.taints[0].effect: Required value"}},
		{"taint effect", func(o apis.Object) { node(o).Spec.Taints[0].Effect = "Never" },
			[]string{`spec.taints[0].effect: Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`}},
		{"taint key", func(o apis.Object) { node(o).Spec.Taints[0].Key = "" },
			[]string{`spec.taints[0].key: Invalid value: "": name part must be non-empty`, `spec.taints[0].key: Invalid value: "": ` + qnameMsg}},
		{"taint value", func(o apis.Object) { node(o).Spec.Taints[0].Value = "a b" },
			[]string{`spec.taints[0].value: Invalid value: "a b": ` + labelValueMsg}},
		{"duplicate taint", func(o apis.Object) {
			n := node(o)
			n.Spec.Taints = append(n.Spec.Taints, &v1.Taint{Key: "node-role.kubernetes.io/control-plane", Value: "x", Effect: "NoSchedule"})
		}, []string{`spec.taints[1]: Duplicate value: "node-role.kubernetes.io/control-plane:NoSchedule": taints must be unique by key and effect pair`}},
		{"same key other effect", func(o apis.Object) {
			n := node(o)
			n.Spec.Taints = append(n.Spec.Taints, &v1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: "NoExecute"})
		}, nil},
		{"pod cidr", func(o apis.Object) { node(o).Spec.PodCidr, node(o).Spec.PodCidrs = "10.2.1.0", nil },
			[]string{`spec.podCIDR: Invalid value: "10.2.1.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`}},
		{"pod cidrs", func(o apis.Object) { node(o).Spec.PodCidrs = []string{"10.2.1.0/24", "10.3.0.0/24"} },
			[]string{`spec.podCIDRs: Invalid value: "10.2.1.0/24,10.3.0.0/24": may specify no more than one CIDR for each IP family`}},
		{"dual stack", func(o apis.Object) { node(o).Spec.PodCidrs = []string{"10.2.1.0/24", "fd00:1::/64"} }, nil},
		{"pod cidrs must match", func(o apis.Object) { node(o).Spec.PodCidrs = []string{"10.9.0.0/24"} },
			[]string{`spec.podCIDRs[0]: Invalid value: "10.9.0.0/24": must match spec.podCIDR`}},
		{"no cidr yet", func(o apis.Object) { node(o).Spec.PodCidr, node(o).Spec.PodCidrs = "", nil }, nil},
		{"capacity", func(o apis.Object) { node(o).Status.Capacity["memory"] = "lots" },
			[]string{`status.capacity.memory: Invalid value: "lots": ` + quantityMsg}},
		{"allocatable", func(o apis.Object) { node(o).Status.Allocatable["cpu"] = "-1" },
			[]string{`status.allocatable.cpu: Invalid value: "-1": must be greater than or equal to 0`}},
	})

	t.Run("update", func(t *testing.T) {
		old := validNode()
		n := proto.Clone(old).(*v1.Node)
		n.Spec.Unschedulable = true
		n.Spec.Taints = nil
		assertErrors(t, CheckUpdate(n, old), nil)
		n.Spec.PodCidr, n.Spec.PodCidrs = "10.2.9.0/24", []string{"10.2.9.0/24"}
		assertErrors(t, CheckUpdate(n, old), []string{
			`spec.podCIDR: Forbidden: node updates may not change podCIDR except from "" to valid`,
			`spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid`,
		})
		old.Spec.PodCidr, old.Spec.PodCidrs = "", nil
		assertErrors(t, CheckUpdate(n, old), nil) // "" to valid is fine
		old.Spec.ProviderId, n.Spec.ProviderId = "hollow://a", "hollow://b"
		assertErrors(t, CheckUpdate(n, old), []string{`spec.providerID: Forbidden: node updates may not change providerID except from "" to valid`})
	})
}

func TestNamespace(t *testing.T) {
	valid := func() apis.Object {
		ns := &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "kube-system"}, Spec: &v1.NamespaceSpec{Finalizers: []string{"kubernetes"}}}
		defaults.Default(ns)
		return ns
	}
	ns := func(o apis.Object) *v1.Namespace { return o.(*v1.Namespace) }
	runKindCases(t, valid, []kindCase{
		{"valid", func(apis.Object) {}, nil},
		{"label name", func(o apis.Object) { ns(o).Metadata.Name = "kube.system" },
			[]string{`metadata.name: Invalid value: "kube.system": ` + labelMsg}},
		{"too long", func(o apis.Object) { ns(o).Metadata.Name = strings.Repeat("n", 64) },
			[]string{`metadata.name: Invalid value: "` + strings.Repeat("n", 64) + `": must be no more than 63 characters`}},
		{"finalizer", func(o apis.Object) { ns(o).Spec.Finalizers = []string{"mine", "example.com/mine"} },
			[]string{`spec.finalizers: Invalid value: "mine": name is neither a standard finalizer name nor is it fully qualified`}},
		{"phase", func(o apis.Object) { ns(o).Status.Phase = "Gone" },
			[]string{`status.phase: Unsupported value: "Gone": supported values: "Active", "Terminating"`}},
	})
}

func TestConfigMapAndSecret(t *testing.T) {
	validCM := func() apis.Object {
		return &v1.ConfigMap{
			Metadata: &v1.ObjectMeta{Name: "kubeadm-config", Namespace: "kube-system"},
			Data:     map[string]string{"ClusterConfiguration": "x", "a.yaml": "y"},
		}
	}
	cm := func(o apis.Object) *v1.ConfigMap { return o.(*v1.ConfigMap) }
	runKindCases(t, validCM, []kindCase{
		{"valid", func(apis.Object) {}, nil},
		{"key", func(o apis.Object) { cm(o).Data["a/b"] = "" },
			[]string{`data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`}},
		{"dot dot", func(o apis.Object) { cm(o).Data["..x"] = "" },
			[]string{`data[..x]: Invalid value: "..x": must not start with '..'`}},
		{"binary duplicate", func(o apis.Object) { cm(o).BinaryData = map[string][]byte{"a.yaml": []byte("z")} },
			[]string{`data[a.yaml]: Invalid value: "a.yaml": duplicate of key present in binaryData`}},
		{"too large", func(o apis.Object) {
			cm(o).Data["big"] = strings.Repeat("x", 1<<20)
		}, []string{"data: Too long: may not be more than 1048576 bytes"}},
		{"at the limit", func(o apis.Object) {
			cm(o).Data = map[string]string{"a": strings.Repeat("x", 1<<19)}
			cm(o).BinaryData = map[string][]byte{"b": make([]byte, 1<<19)}
		}, nil},
	})

	validSecret := func() apis.Object {
		s := &v1.Secret{
			Metadata: &v1.ObjectMeta{Name: "token", Namespace: "kube-system"},
			Data:     map[string][]byte{"token": []byte("abc")},
		}
		defaults.Default(s)
		return s
	}
	sec := func(o apis.Object) *v1.Secret { return o.(*v1.Secret) }
	runKindCases(t, validSecret, []kindCase{
		{"valid", func(apis.Object) {}, nil},
		{"key", func(o apis.Object) { sec(o).Data["a b"] = nil },
			[]string{`data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`}},
		{"string data key", func(o apis.Object) { sec(o).StringData = map[string]string{".": "x"} },
			[]string{
				`stringData[.]: Invalid value: ".": must not be '.'`,
			}},
		{"too large", func(o apis.Object) { sec(o).StringData = map[string]string{"big": strings.Repeat("x", 1<<20)} },
			[]string{"data: Too long: may not be more than 1048576 bytes"}},
		{"tls needs cert and key", func(o apis.Object) {
			sec(o).Type = "kubernetes.io/tls"
			sec(o).StringData = map[string]string{"tls.crt": "x"}
		},
			[]string{"data[tls.key]: Required value"}},
		{"basic auth", func(o apis.Object) { sec(o).Type = "kubernetes.io/basic-auth" },
			[]string{"data[username]: Required value", "data[password]: Required value"}},
	})

	t.Run("immutable", func(t *testing.T) {
		yes := true
		old := validCM().(*v1.ConfigMap)
		old.Immutable = &yes
		n := proto.Clone(old).(*v1.ConfigMap)
		n.Metadata.Labels = map[string]string{"a": "b"}
		assertErrors(t, CheckUpdate(n, old), nil)
		n.Data["ClusterConfiguration"] = "changed"
		n.Immutable = nil
		assertErrors(t, CheckUpdate(n, old), []string{
			"immutable: Forbidden: field is immutable when `immutable` is set",
			"data: Forbidden: field is immutable when `immutable` is set",
		})

		olds := validSecret().(*v1.Secret)
		ns := proto.Clone(olds).(*v1.Secret)
		ns.Data["token"] = []byte("new")
		assertErrors(t, CheckUpdate(ns, olds), nil) // mutable secret
		olds.Immutable = &yes
		ns.Immutable = &yes
		assertErrors(t, CheckUpdate(ns, olds), []string{"data: Forbidden: field is immutable when `immutable` is set"})
		ns = proto.Clone(olds).(*v1.Secret)
		ns.Type = "kubernetes.io/basic-auth"
		ns.Data["username"] = []byte("u")
		errs := errorStrings(CheckUpdate(ns, olds))
		if len(errs) != 2 || errs[0] != `type: Invalid value: "kubernetes.io/basic-auth": field is immutable` {
			t.Fatalf("type change: %q", errs)
		}
	})
}

func TestEventAndLease(t *testing.T) {
	validEvent := func() apis.Object {
		e := &v1.Event{
			Metadata:       &v1.ObjectMeta{Name: "web.17c3", Namespace: "default"},
			InvolvedObject: &v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
			Reason:         "Scheduled",
		}
		defaults.Default(e)
		return e
	}
	ev := func(o apis.Object) *v1.Event { return o.(*v1.Event) }
	runKindCases(t, validEvent, []kindCase{
		{"valid", func(apis.Object) {}, nil},
		{"involved object name", func(o apis.Object) { ev(o).InvolvedObject.Name = "" },
			[]string{"involvedObject.name: Required value"}},
		{"no involved object", func(o apis.Object) { ev(o).InvolvedObject = nil },
			[]string{"involvedObject.name: Required value"}},
		{"namespace mismatch", func(o apis.Object) { ev(o).InvolvedObject.Namespace = "kube-system" },
			[]string{`involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace`}},
		{"node event in default", func(o apis.Object) { ev(o).InvolvedObject = &v1.ObjectReference{Kind: "Node", Name: "node-1"} }, nil},
		{"node event elsewhere", func(o apis.Object) {
			ev(o).Metadata.Namespace = "kube-system"
			ev(o).InvolvedObject = &v1.ObjectReference{Kind: "Node", Name: "node-1"}
		}, []string{`involvedObject.namespace: Invalid value: "": does not match event.namespace`}},
		{"type", func(o apis.Object) { ev(o).Type = "Error" },
			[]string{`type: Unsupported value: "Error": supported values: "Normal", "Warning"`}},
	})

	validLease := func() apis.Object {
		return &v1.Lease{Metadata: &v1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"},
			Spec: &v1.LeaseSpec{HolderIdentity: "node-1", LeaseDurationSeconds: 40}}
	}
	lease := func(o apis.Object) *v1.Lease { return o.(*v1.Lease) }
	runKindCases(t, validLease, []kindCase{
		{"valid", func(apis.Object) {}, nil},
		{"no spec", func(o apis.Object) { lease(o).Spec = nil }, nil},
		{"duration", func(o apis.Object) { lease(o).Spec.LeaseDurationSeconds = -1 },
			[]string{"spec.leaseDurationSeconds: Invalid value: -1: must be greater than 0"}},
		{"transitions", func(o apis.Object) { lease(o).Spec.LeaseTransitions = -1 },
			[]string{"spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"}},
	})
}

func validDeployment() *v1.Deployment {
	d := &v1.Deployment{
		Metadata: &v1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &v1.DeploymentSpec{
			Replicas: ptr32(5),
			Selector: &v1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &v1.PodTemplateSpec{
				Metadata: &v1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
				Spec:     &v1.PodSpec{Containers: []*v1.Container{{Name: "app", Image: "minik8s/testapp:v1"}}},
			},
		},
	}
	defaults.Default(d)
	return d
}

func TestDeployment(t *testing.T) {
	valid := func() apis.Object { return validDeployment() }
	dep := func(o apis.Object) *v1.Deployment { return o.(*v1.Deployment) }
	runKindCases(t, valid, []kindCase{
		{"valid", func(apis.Object) {}, nil},
		{"selector required", func(o apis.Object) { dep(o).Spec.Selector = nil },
			[]string{"spec.selector: Required value"}},
		{"empty selector", func(o apis.Object) { dep(o).Spec.Selector = &v1.LabelSelector{} },
			[]string{"spec.selector: Invalid value: <none>: empty selector is invalid for deployment"}},
		{"selector does not match", func(o apis.Object) { dep(o).Spec.Selector.MatchLabels["app"] = "api" },
			[]string{"spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\", \"tier\":\"front\"}: `selector` does not match template `labels`"}},
		{"expression selector matches", func(o apis.Object) {
			dep(o).Spec.Selector = &v1.LabelSelector{MatchExpressions: []*v1.LabelSelectorRequirement{{Key: "tier", Operator: "In", Values: []string{"front", "back"}}}}
		}, nil},
		{"bad selector operator", func(o apis.Object) {
			dep(o).Spec.Selector.MatchExpressions = []*v1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}
		}, []string{
			`spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`,
			"spec.selector: Invalid value: <invalid>: invalid label selector",
		}},
		{"replicas", func(o apis.Object) { dep(o).Spec.Replicas = ptr32(-1) },
			[]string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		{"zero replicas", func(o apis.Object) { dep(o).Spec.Replicas = ptr32(0) }, nil},
		{"template restart policy", func(o apis.Object) { dep(o).Spec.Template.Spec.RestartPolicy = "OnFailure" },
			[]string{`spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`}},
		{"template pod spec", func(o apis.Object) { dep(o).Spec.Template.Spec.Containers[0].Image = "" },
			[]string{"spec.template.spec.containers[0].image: Required value"}},
		{"template label", func(o apis.Object) { dep(o).Spec.Template.Metadata.Labels["x"] = "a b" },
			[]string{`spec.template.metadata.labels: Invalid value: "a b": ` + labelValueMsg}},
		{"no template", func(o apis.Object) { dep(o).Spec.Template = nil },
			[]string{"spec.template: Required value"}},
		{"active deadline in template", func(o apis.Object) { dep(o).Spec.Template.Spec.ActiveDeadlineSeconds = ptr64(10) },
			[]string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"}},
		{"strategy type", func(o apis.Object) { dep(o).Spec.Strategy.Type = "BlueGreen" },
			[]string{`spec.strategy.type: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"`}},
		{"recreate with rolling update", func(o apis.Object) { dep(o).Spec.Strategy.Type = "Recreate" },
			[]string{"spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"}},
		{"recreate", func(o apis.Object) { dep(o).Spec.Strategy = &v1.DeploymentStrategy{Type: "Recreate"} }, nil},
		{"both zero", func(o apis.Object) {
			dep(o).Spec.Strategy.RollingUpdate = &v1.RollingUpdateDeployment{MaxSurge: "0%", MaxUnavailable: "0"}
		}, []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"}},
		{"ints", func(o apis.Object) {
			dep(o).Spec.Strategy.RollingUpdate = &v1.RollingUpdateDeployment{MaxSurge: "1", MaxUnavailable: "0"}
		}, nil},
		{"bad values", func(o apis.Object) {
			dep(o).Spec.Strategy.RollingUpdate = &v1.RollingUpdateDeployment{MaxSurge: "-1", MaxUnavailable: "1.5%"}
		}, []string{
			`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "1.5%": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`,
			"spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0",
		}},
		{"more than 100%", func(o apis.Object) {
			dep(o).Spec.Strategy.RollingUpdate.MaxUnavailable = "101%"
		}, []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "101%": must not be greater than 100%`}},
		{"history and deadline", func(o apis.Object) {
			dep(o).Spec.RevisionHistoryLimit = ptr32(-1)
			dep(o).Spec.MinReadySeconds = 10
			dep(o).Spec.ProgressDeadlineSeconds = ptr32(10)
		}, []string{
			"spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
			"spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds",
		}},
		{"no spec", func(o apis.Object) { dep(o).Spec = nil }, []string{"spec: Required value"}},
	})

	t.Run("selector is immutable", func(t *testing.T) {
		old := validDeployment()
		n := proto.Clone(old).(*v1.Deployment)
		n.Spec.Replicas = ptr32(10)
		n.Spec.Template.Spec.Containers[0].Image = "minik8s/testapp:v2"
		assertErrors(t, CheckUpdate(n, old), nil)
		n.Spec.Selector.MatchLabels["tier"] = "front"
		assertErrors(t, CheckUpdate(n, old), []string{"spec.selector: Invalid value: app=web,tier=front: field is immutable"})
	})
}

func TestReplicaSet(t *testing.T) {
	valid := func() apis.Object {
		d := validDeployment()
		rs := &v1.ReplicaSet{
			Metadata: &v1.ObjectMeta{Name: "web-5d4f", Namespace: "default"},
			Spec:     &v1.ReplicaSetSpec{Replicas: ptr32(3), Selector: d.Spec.Selector, Template: d.Spec.Template},
		}
		defaults.Default(rs)
		return rs
	}
	rs := func(o apis.Object) *v1.ReplicaSet { return o.(*v1.ReplicaSet) }
	runKindCases(t, valid, []kindCase{
		{"valid", func(apis.Object) {}, nil},
		{"replicas", func(o apis.Object) { rs(o).Spec.Replicas = ptr32(-3) },
			[]string{"spec.replicas: Invalid value: -3: must be greater than or equal to 0"}},
		{"min ready", func(o apis.Object) { rs(o).Spec.MinReadySeconds = -1 },
			[]string{"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"}},
		{"selector", func(o apis.Object) { rs(o).Spec.Selector = nil },
			[]string{"spec.selector: Required value"}},
		{"mismatch", func(o apis.Object) { rs(o).Spec.Template.Metadata.Labels = nil },
			[]string{"spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`"}},
	})
	t.Run("selector is immutable", func(t *testing.T) {
		old := valid().(*v1.ReplicaSet)
		n := proto.Clone(old).(*v1.ReplicaSet)
		n.Spec.Selector = &v1.LabelSelector{MatchLabels: map[string]string{"tier": "front"}}
		assertErrors(t, CheckUpdate(n, old), []string{"spec.selector: Invalid value: tier=front: field is immutable"})
	})
}

func csrPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestCSR(t *testing.T) {
	req := csrPEM(t, "system:node:node-1")
	valid := func() apis.Object {
		return &v1.CertificateSigningRequest{
			Metadata: &v1.ObjectMeta{Name: "node-csr-abc"},
			Spec: &v1.CertificateSigningRequestSpec{
				Request:    req,
				SignerName: "kubernetes.io/kube-apiserver-client-kubelet",
				Usages:     []string{"digital signature", "client auth"},
			},
		}
	}
	csr := func(o apis.Object) *v1.CertificateSigningRequest { return o.(*v1.CertificateSigningRequest) }
	corrupt := func() []byte {
		b := append([]byte(nil), req...)
		blk, _ := pem.Decode(b)
		blk.Bytes[len(blk.Bytes)-3] ^= 0xff // break the signature
		return pem.EncodeToMemory(blk)
	}
	runKindCases(t, valid, []kindCase{
		{"valid", func(apis.Object) {}, nil},
		{"not pem", func(o apis.Object) { csr(o).Spec.Request = []byte("hello") },
			[]string{"spec.request: Invalid value: PEM block type must be CERTIFICATE REQUEST"}},
		{"wrong block", func(o apis.Object) {
			csr(o).Spec.Request = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})
		}, []string{"spec.request: Invalid value: PEM block type must be CERTIFICATE REQUEST"}},
		{"bad signature", func(o apis.Object) { csr(o).Spec.Request = corrupt() },
			[]string{"spec.request: Invalid value: x509: ECDSA verification failure"}},
		{"usages required", func(o apis.Object) { csr(o).Spec.Usages = nil },
			[]string{"spec.usages: Required value: usages must be provided"}},
		{"unknown usage", func(o apis.Object) { csr(o).Spec.Usages = []string{"client auth", "client auth", "mining"} },
			[]string{`spec.usages[1]: Duplicate value: "client auth"`,
				`spec.usages[2]: Unsupported value: "mining": supported values: ` + quotedList(KeyUsages())}},
		{"signer required", func(o apis.Object) { csr(o).Spec.SignerName = "" },
			[]string{"spec.signerName: Required value"}},
		{"signer form", func(o apis.Object) { csr(o).Spec.SignerName = "kubelet" },
			[]string{`spec.signerName: Invalid value: "kubelet": must be a fully qualified domain and path of the form 'example.com/signer-name'`}},
		{"signer domain", func(o apis.Object) { csr(o).Spec.SignerName = "local/signer" },
			[]string{`spec.signerName: Invalid value: "local": should be a domain with at least two segments separated by dots`}},
		{"signer label", func(o apis.Object) { csr(o).Spec.SignerName = "Example.com/signer" },
			[]string{`spec.signerName: Invalid value: "Example.com": validating label "Example": ` + labelMsg}},
		{"expiration", func(o apis.Object) { csr(o).Spec.ExpirationSeconds = ptr32(60) },
			[]string{"spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds (10 minutes)"}},
		{"approved", func(o apis.Object) {
			csr(o).Status = &v1.CertificateSigningRequestStatus{Conditions: []*v1.Condition{{Type: "Approved", Status: "True", Reason: "AutoApproved"}}}
		}, nil},
		{"approved and denied", func(o apis.Object) {
			csr(o).Status = &v1.CertificateSigningRequestStatus{Conditions: []*v1.Condition{
				{Type: "Approved", Status: "True"}, {Type: "Denied", Status: "True"}, {Type: "Denied", Status: "False"}, {Type: "Odd", Status: "True"},
			}}
		}, []string{
			`status.conditions[2].type: Duplicate value: "Denied"`,
			`status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive`,
			`status.conditions[2].status: Unsupported value: "False": supported values: "True"`,
			`status.conditions[2].type: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive`,
			`status.conditions[3].type: Unsupported value: "Odd": supported values: "Approved", "Denied", "Failed"`,
		}},
		{"name rule", func(o apis.Object) { csr(o).Metadata.Name = "csr/1" },
			[]string{`metadata.name: Invalid value: "csr/1": ` + subdomainMsg}},
	})
	t.Run("garbage der", func(t *testing.T) {
		c := valid().(*v1.CertificateSigningRequest)
		c.Spec.Request = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1, 2, 3}})
		errs := errorStrings(Check(c))
		if len(errs) != 1 || !strings.HasPrefix(errs[0], "spec.request: Invalid value: asn1: ") {
			t.Fatalf("errors = %q", errs)
		}
	})
	t.Run("spec is immutable", func(t *testing.T) {
		old := valid().(*v1.CertificateSigningRequest)
		n := proto.Clone(old).(*v1.CertificateSigningRequest)
		n.Status = &v1.CertificateSigningRequestStatus{Conditions: []*v1.Condition{{Type: "Approved", Status: "True"}}}
		assertErrors(t, CheckUpdate(n, old), nil)
		n.Spec.Usages = []string{"server auth"}
		assertErrors(t, CheckUpdate(n, old), []string{"spec: Invalid value: field is immutable"})
	})
}

func quotedList(ss []string) string {
	return strings.Join(quoteAll(ss), ", ")
}

func TestUnknownAndNil(t *testing.T) {
	assertErrors(t, Check(nil), []string{"object: Required value"})
	if err := Validate(nil); err == nil || err.Error() != `Object "" is invalid: object: Required value` {
		t.Fatalf("Validate(nil) = %v", err)
	}
	// Objects with no metadata or spec report, never panic.
	for _, obj := range []apis.Object{
		&v1.Pod{}, &v1.Node{}, &v1.Namespace{}, &v1.ConfigMap{}, &v1.Secret{}, &v1.Event{},
		&v1.Lease{}, &v1.ReplicaSet{}, &v1.Deployment{}, &v1.CertificateSigningRequest{},
	} {
		if err := Validate(obj); err == nil {
			t.Errorf("Validate(empty %T) = nil", obj)
		}
		if errs := CheckUpdate(obj, proto.Clone(obj).(apis.Object)); len(errs) == 0 {
			t.Errorf("CheckUpdate(empty %T) = nil", obj)
		}
	}
	// Nil entries in lists are reported, not dereferenced.
	p := validPod()
	p.Spec.Containers = append(p.Spec.Containers, nil)
	p.Spec.Volumes = append(p.Spec.Volumes, nil)
	p.Spec.Tolerations = append(p.Spec.Tolerations, nil)
	assertErrors(t, Check(p), []string{"spec.volumes[1]: Required value", "spec.containers[1]: Required value", "spec.tolerations[2]: Required value"})
}

func TestNotAKind(t *testing.T) {
	// Binding has metadata but is not a stored kind.
	b := &v1.Binding{Metadata: &v1.ObjectMeta{Name: "web"}}
	assertErrors(t, Check(b), []string{`kind: Invalid value: "Binding": not a kind minik8s serves`})
	if err := Validate(b); err == nil || !strings.HasPrefix(err.Error(), `Binding "web" is invalid: `) {
		t.Fatalf("Validate(Binding) = %v", err)
	}
}
