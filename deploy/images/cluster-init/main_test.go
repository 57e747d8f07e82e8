package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// minictlBinary is $MINIK8S_BIN/minictl, else minictl built for the test.
func minictlBinary(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("MINIK8S_BIN"); dir != "" {
		return filepath.Join(dir, "minictl")
	}
	bin := filepath.Join(t.TempDir(), "minictl")
	cmd := exec.Command("go", "build", "-o", bin, "minik8s/cmd/minictl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build minictl: %v\n%s", err, out)
	}
	return bin
}

func loadCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	certs, err := pki.ReadCertFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

// TestInitPhasesWriteTheClusterFiles runs cluster-init up to the point where
// it waits for an apiserver (there is none) and checks what it wrote: the
// names in the certificates, the servers of the kubeconfigs, and that a
// second run reuses everything.
func TestInitPhasesWriteTheClusterFiles(t *testing.T) {
	dir := t.TempDir()
	o, err := parseFlags([]string{"--dir", dir, "--minictl", minictlBinary(t), "--wait-timeout", "1s"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(context.Background(), o, &out)
	if err == nil || !strings.Contains(err.Error(), "wait-control-plane") {
		t.Fatalf("run = %v, want a wait-control-plane error\n%s", err, out.String())
	}

	apiserver := loadCert(t, filepath.Join(dir, "pki", "apiserver.crt"))
	for _, name := range []string{"apiserver", "localhost", "kubernetes.default.svc"} {
		if !slices.Contains(apiserver.DNSNames, name) {
			t.Errorf("apiserver certificate lacks DNS name %q: %v", name, apiserver.DNSNames)
		}
	}
	if err := apiserver.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("apiserver certificate: %v", err)
	}
	ca := loadCert(t, filepath.Join(dir, "pki", "etcd", "ca.crt"))
	for _, m := range []string{"etcd-1", "etcd-2", "etcd-3"} {
		for _, f := range []string{"server.crt", "peer.crt"} {
			c := loadCert(t, filepath.Join(dir, "etcd", m, f))
			if err := c.VerifyHostname(m); err != nil {
				t.Errorf("%s/%s: %v", m, f, err)
			}
			if err := c.CheckSignatureFrom(ca); err != nil {
				t.Errorf("%s/%s is not signed by etcd/ca: %v", m, f, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "etcd", m, "ca.key")); err == nil {
			t.Errorf("the etcd CA key was copied to member %s", m)
		}
		if _, err := os.Stat(filepath.Join(dir, "etcd", m, "ready")); err != nil {
			t.Errorf("member %s is not ready: %v", m, err)
		}
	}
	servers := map[string]string{
		"admin.conf":                      "https://127.0.0.1:6443",
		"cluster/admin.conf":              "https://apiserver:6443",
		"cluster/scheduler.conf":          "https://apiserver:6443",
		"cluster/controller-manager.conf": "https://apiserver:6443",
	}
	for f, want := range servers {
		kc, err := kubeconfig.Load(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if got := kc.Server(); got != want {
			t.Errorf("%s: server %s, want %s", f, got, want)
		}
	}
	for _, n := range []string{"node-1", "node-2"} {
		if fi, err := os.Stat(filepath.Join(dir, "nodes", n)); err != nil || !fi.IsDir() {
			t.Errorf("no kubelet folder for %s: %v", n, err)
		}
	}

	// A second run reuses every file.
	before, err := os.ReadFile(filepath.Join(dir, "etcd", "etcd-1", "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, o, &out); err == nil {
		t.Fatal("second run found an apiserver")
	}
	for _, line := range []string{`Using existing apiserver certificate`, `Using existing certificates of etcd member "etcd-1"`, `Using existing kubeconfig file`} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("second run did not say %q:\n%s", line, out.String())
		}
	}
	after, err := os.ReadFile(filepath.Join(dir, "etcd", "etcd-1", "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("the second run replaced etcd-1's certificate")
	}
}

func TestJoinRE(t *testing.T) {
	hash := "sha256:" + strings.Repeat("0f", 32)
	tests := []struct {
		line string
		want bool
	}{
		{"minictl join apiserver:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash " + hash, true},
		{"minictl join apiserver:6443 --token ABCDEF.0123456789abcdef --discovery-token-ca-cert-hash " + hash, false},
		{"minictl join apiserver:6443 --token abcdef.0123456789abcdef", false},
		{"kubeadm join apiserver:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash " + hash, false},
	}
	for _, tt := range tests {
		if got := joinRE.MatchString(tt.line); got != tt.want {
			t.Errorf("joinRE.MatchString(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}
