package client_test

import (
	"path/filepath"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/client"
	"minik8s/pkg/client/internal/fakeapi"
	"minik8s/pkg/pki/kubeconfig"
)

func TestFromKubeconfig(t *testing.T) {
	env := fakeapi.Start(t)
	certPEM, keyPEM, err := env.PKI.ClientPEM("system:kube-scheduler")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scheduler.conf")
	if err := kubeconfig.Write(path, kubeconfig.New("https://"+env.Address, env.PKI.CAPEM(), "system:kube-scheduler", certPEM, keyPEM)); err != nil {
		t.Fatal(err)
	}
	cs, err := client.FromKubeconfig(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ctx := ctxT(t)
	if _, err := cs.Nodes().Create(ctx, &v1.Node{Metadata: &v1.ObjectMeta{Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Nodes().Get(ctx, "", "n1"); err != nil {
		t.Fatal(err)
	}
	if cns, _, _ := env.Server.Seen(); cns[len(cns)-1] != "system:kube-scheduler" {
		t.Fatalf("server saw %v", cns)
	}

	tokenPath := filepath.Join(t.TempDir(), "bootstrap-kubelet.conf")
	if err := kubeconfig.Write(tokenPath, kubeconfig.NewToken("https://"+env.Address, env.PKI.CAPEM(), "tls-bootstrap-token-user", "abcdef.0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	cfg, err := client.ConfigFromKubeconfig(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Token != "abcdef.0123456789abcdef" || cfg.Address != env.Address {
		t.Fatalf("config from a token kubeconfig = %+v", cfg)
	}

	if _, err := client.FromKubeconfig(filepath.Join(t.TempDir(), "missing.conf")); err == nil {
		t.Fatalf("FromKubeconfig of a missing file = %v, want an error", err)
	}
}
