package kubeconfig

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"minik8s/pkg/pki"
)

type testPKI struct {
	ca     *pki.KeyPair
	server *pki.KeyPair
	client *pki.KeyPair
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	ca, err := pki.NewCA(pki.CertConfig{CommonName: "kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	var alt pki.AltNames
	alt.Add("localhost", "127.0.0.1")
	server, err := pki.NewCert(ca, pki.CertConfig{CommonName: "kube-apiserver", AltNames: alt, Usages: pki.UsageServer})
	if err != nil {
		t.Fatal(err)
	}
	client, err := pki.NewCert(ca, pki.CertConfig{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}, Usages: pki.UsageClient})
	if err != nil {
		t.Fatal(err)
	}
	return testPKI{ca: ca, server: server, client: client}
}

func mustKeyPEM(t *testing.T, kp *pki.KeyPair) []byte {
	t.Helper()
	b, err := kp.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteLoadRoundTrip(t *testing.T) {
	p := newTestPKI(t)
	path := filepath.Join(t.TempDir(), "sub", "admin.conf")
	want := New("https://10.10.10.100:6443", p.ca.CertPEM(), "kubernetes-admin", p.client.CertPEM(), mustKeyPEM(t, p.client))
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Server() != "https://10.10.10.100:6443" {
		t.Errorf("Server() = %q", got.Server())
	}
	if got.Address() != "10.10.10.100:6443" {
		t.Errorf("Address() = %q", got.Address())
	}
	if got.User() != "kubernetes-admin" || got.Namespace() != "default" || got.Token() != "" {
		t.Errorf("User/Namespace/Token = %q %q %q", got.User(), got.Namespace(), got.Token())
	}
	if cert := got.ClientCertificate(); cert == nil || cert.Subject.CommonName != "kubernetes-admin" {
		t.Errorf("ClientCertificate() = %v", cert)
	}
	a, _ := want.Marshal()
	b, _ := got.Marshal()
	if string(a) != string(b) {
		t.Errorf("round trip changed the file:\n%s\n---\n%s", a, b)
	}
}

// TestStandardFormat checks the field names and layout against the shape
// Kubernetes' clientcmd writes, decoding generically (not through our types).
func TestStandardFormat(t *testing.T) {
	p := newTestPKI(t)
	data, err := New("https://127.0.0.1:6443", p.ca.CertPEM(), "system:node:k8s-master", p.client.CertPEM(), mustKeyPEM(t, p.client)).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["apiVersion"] != "v1" || doc["kind"] != "Config" || doc["current-context"] != "system:node:k8s-master@kubernetes" {
		t.Errorf("header = %v %v %v", doc["apiVersion"], doc["kind"], doc["current-context"])
	}
	if _, ok := doc["preferences"].(map[string]any); !ok {
		t.Errorf("preferences missing: %s", data)
	}
	cluster := doc["clusters"].([]any)[0].(map[string]any)
	if cluster["name"] != "kubernetes" {
		t.Errorf("cluster name = %v", cluster["name"])
	}
	cl := cluster["cluster"].(map[string]any)
	if cl["server"] != "https://127.0.0.1:6443" {
		t.Errorf("server = %v", cl["server"])
	}
	if s, _ := cl["certificate-authority-data"].(string); !strings.HasPrefix(s, "LS0tLS1CRUdJTi") { // base64 of "-----BEGIN"
		t.Errorf("certificate-authority-data = %q, want base64 PEM", s)
	}
	user := doc["users"].([]any)[0].(map[string]any)
	if user["name"] != "system:node:k8s-master" {
		t.Errorf("user name = %v", user["name"])
	}
	u := user["user"].(map[string]any)
	for _, k := range []string{"client-certificate-data", "client-key-data"} {
		if s, _ := u[k].(string); !strings.HasPrefix(s, "LS0tLS1CRUdJTi") {
			t.Errorf("%s = %q, want base64 PEM", k, s)
		}
	}
	ctx := doc["contexts"].([]any)[0].(map[string]any)
	if ctx["name"] != "system:node:k8s-master@kubernetes" {
		t.Errorf("context name = %v", ctx["name"])
	}
	c := ctx["context"].(map[string]any)
	if c["cluster"] != "kubernetes" || c["user"] != "system:node:k8s-master" {
		t.Errorf("context = %v", c)
	}
}

// A kubeconfig as kubectl/kind write it, with files, a namespace, a token and
// fields we do not use, loads.
func TestLoadForeign(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), p.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	const doc = `apiVersion: v1
kind: Config
preferences: {}
clusters:
- cluster:
    certificate-authority: ca.crt
    server: https://localhost:7443
    extensions:
    - name: foo
      extension: {a: b}
  name: other
- cluster:
    server: https://example.com
  name: ext
contexts:
- context:
    cluster: other
    user: bob
    namespace: kube-system
  name: bob@other
- context:
    cluster: ext
    user: bob
  name: ext
current-context: bob@other
users:
- name: bob
  user:
    token: abcdef.0123456789abcdef
`
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace() != "kube-system" || c.Token() != "abcdef.0123456789abcdef" || c.Address() != "localhost:7443" {
		t.Errorf("Namespace/Token/Address = %q %q %q", c.Namespace(), c.Token(), c.Address())
	}
	cfg, err := c.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "localhost" || cfg.MinVersion != tls.VersionTLS13 || len(cfg.Certificates) != 0 {
		t.Errorf("TLS config: serverName %q, min %x, %d certs", cfg.ServerName, cfg.MinVersion, len(cfg.Certificates))
	}
	c.CurrentContext = "ext"
	if c.Address() != "example.com:443" {
		t.Errorf("Address() = %q", c.Address())
	}
	if _, err := c.TLSConfig(); err == nil {
		t.Error("TLSConfig without any CA: want error")
	}
}

func TestAddress(t *testing.T) {
	tests := []struct {
		server string
		want   string
	}{
		{"https://127.0.0.1:6443", "127.0.0.1:6443"},
		{"https://[::1]:6443", "[::1]:6443"},
		{"https://k8s-master:6443/", "k8s-master:6443"},
		{"https://k8s-master", "k8s-master:443"},
		{"10.0.0.1:6443", "10.0.0.1:6443"},
		{"http://10.0.0.1:8080", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.server, func(t *testing.T) {
			c := NewToken(tt.server, nil, "u", "t")
			if got := c.Address(); got != tt.want {
				t.Errorf("Address() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCurrentErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"no current context", func(c *Config) { c.CurrentContext = "" }, "current-context is not set"},
		{"missing context", func(c *Config) { c.CurrentContext = "x" }, `context "x" not found`},
		{"missing cluster", func(c *Config) { c.Clusters[0].Name = "x" }, `cluster "kubernetes" of context`},
		{"missing user", func(c *Config) { c.Users[0].Name = "x" }, `user "u" of context`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewToken("https://a:1", []byte("x"), "u", "t")
			tt.mod(c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
			if c.Server() != "" {
				t.Errorf("Server() = %q, want empty", c.Server())
			}
		})
	}
}

// TestTLSConfigHandshake proves the generated configuration does mutual TLS
// 1.3 with a server built by pki.ServerTLSConfig, with inline data and with
// files, and refuses a server from another CA.
func TestTLSConfigHandshake(t *testing.T) {
	p := newTestPKI(t)
	other := newTestPKI(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := pki.WriteCertFile(certFile, p.client.Cert); err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteKeyFile(keyFile, p.client.Key); err != nil {
		t.Fatal(err)
	}
	fileCfg := New("", p.ca.CertPEM(), "kubernetes-admin", nil, nil)
	fileCfg.Users[0].User.ClientCertificate = "c.crt"
	fileCfg.Users[0].User.ClientKey = keyFile
	path := filepath.Join(dir, "admin.conf")

	tests := []struct {
		name     string
		serverCA *pki.KeyPair
		server   *pki.KeyPair
		cfg      func(addr string) *Config
		wantErr  bool
	}{
		{"inline", p.ca, p.server, func(addr string) *Config {
			return New("https://"+addr, p.ca.CertPEM(), "kubernetes-admin", p.client.CertPEM(), mustKeyPEM(t, p.client))
		}, false},
		{"files", p.ca, p.server, func(addr string) *Config {
			fileCfg.Clusters[0].Cluster.Server = "https://" + addr
			if err := Write(path, fileCfg); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, false},
		{"server from another CA", p.ca, other.server, func(addr string) *Config {
			return New("https://"+addr, p.ca.CertPEM(), "kubernetes-admin", p.client.CertPEM(), mustKeyPEM(t, p.client))
		}, true},
		{"client from another CA", other.ca, other.server, func(addr string) *Config {
			return New("https://"+addr, other.ca.CertPEM(), "kubernetes-admin", p.client.CertPEM(), mustKeyPEM(t, p.client))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := tls.Listen("tcp", "127.0.0.1:0", pki.ServerTLSConfig(tt.serverCA.CertPool(), tt.server.TLSCertificate(), true))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan error, 1)
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					done <- err
					return
				}
				defer conn.Close()
				done <- conn.(*tls.Conn).Handshake()
			}()
			c := tt.cfg(ln.Addr().String())
			tc, err := c.TLSConfig()
			if err != nil {
				t.Fatal(err)
			}
			conn, err := tls.Dial("tcp", c.Address(), tc)
			if err == nil {
				// TLS 1.3: the server's verdict on the client cert arrives with the first read.
				_ = conn.Handshake()
				_, err = conn.Read(make([]byte, 1))
				if err != nil && strings.Contains(err.Error(), "EOF") {
					err = nil
				}
				if err == nil && conn.ConnectionState().Version != tls.VersionTLS13 {
					t.Errorf("version %x, want TLS 1.3", conn.ConnectionState().Version)
				}
				conn.Close()
			}
			serr := <-done
			if tt.wantErr {
				if err == nil && serr == nil {
					t.Fatal("handshake succeeded, want failure")
				}
				return
			}
			if err != nil || serr != nil {
				t.Fatalf("client %v, server %v", err, serr)
			}
		})
	}
}
