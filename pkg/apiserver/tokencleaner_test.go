package apiserver

import (
	"slices"
	"strings"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/pki"
)

func TestTokenCleanerAndClusterInfoSigner(t *testing.T) {
	e := startEnv(t, func(c *Config) {
		c.EnableBootstrapTokenAuth = true
		c.BootstrapTokenSyncPeriod = 50 * time.Millisecond
	})
	admin := e.admin()
	content := "apiVersion: v1\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: \"\"\nkind: Config\n"
	cm := &v1.ConfigMap{
		Metadata: &v1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"},
		Data:     map[string]string{"kubeconfig": content, "jws-kubeconfig-stale0": "forged..sig"},
	}
	if _, err := admin.Create(ctxT(t), &v1.CreateRequest{Resource: "configmaps", Object: wrap(t, cm)}); err != nil {
		t.Fatal(err)
	}
	noSign := tokenSecret("nosign", "0123456789abcdef", time.Time{})
	delete(noSign.Data, BootstrapTokenUsageSigning)
	for _, s := range []*v1.Secret{
		tokenSecret("abcdef", "0123456789abcdef", time.Now().Add(time.Hour)),
		tokenSecret("expire", "0123456789abcdef", time.Now().Add(-time.Second)),
		noSign,
	} {
		createSecret(t, admin, s)
	}

	secretNames := func() []string {
		resp, err := admin.List(ctxT(t), &v1.ListRequest{Resource: "secrets", Namespace: "kube-system"})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, it := range resp.GetItems() {
			names = append(names, unwrap[*v1.Secret](t, it).GetMetadata().GetName())
		}
		slices.Sort(names)
		return names
	}
	signatures := func() map[string]string {
		resp, err := admin.Get(ctxT(t), &v1.GetRequest{Resource: "configmaps", Namespace: "kube-public", Name: "cluster-info"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for k, v := range unwrap[*v1.ConfigMap](t, resp.GetObject()).GetData() {
			if strings.HasPrefix(k, "jws-kubeconfig-") {
				out[strings.TrimPrefix(k, "jws-kubeconfig-")] = v
			}
		}
		return out
	}
	eventually(t, "the expired token is deleted", func() bool {
		return strings.Join(secretNames(), " ") == "bootstrap-token-abcdef bootstrap-token-nosign"
	})
	eventually(t, "cluster-info is signed by the signing token only", func() bool {
		sigs := signatures()
		return len(sigs) == 1 && sigs["abcdef"] != ""
	})
	if err := pki.VerifyJWS(signatures()["abcdef"], []byte(content), "abcdef", "0123456789abcdef"); err != nil {
		t.Errorf("signature: %v", err)
	}

	// A deleted token stops vouching for cluster-info.
	if _, err := admin.Delete(ctxT(t), &v1.DeleteRequest{Resource: "secrets", Namespace: "kube-system", Name: "bootstrap-token-abcdef"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted token's signature is removed", func() bool { return len(signatures()) == 0 })
}

// eventually polls cond for up to 30 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
