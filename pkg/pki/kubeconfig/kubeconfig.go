// Package kubeconfig reads and writes kubeconfig files in the format
// Kubernetes uses (apiVersion v1, kind Config, clusters, users, contexts,
// current-context), so that admin.conf written by `minictl init` is an
// ordinary kubeconfig and a kubeconfig from elsewhere loads here; and it
// turns the current context into what a gRPC client needs: the server's
// host:port and a TLS 1.3 configuration pinned to the cluster CA.
package kubeconfig

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
)

// Names kubeadm uses in the files it writes.
const (
	// DefaultClusterName is the name of the cluster entry.
	DefaultClusterName = "kubernetes"
	// DefaultNamespace is the namespace of a context that names none.
	DefaultNamespace = "default"
	// FileMode is the mode of a written kubeconfig: it holds credentials.
	FileMode os.FileMode = 0o600
)

// Config is a kubeconfig file. Field names and layout are Kubernetes'
// (clientcmd/api/v1).
type Config struct {
	APIVersion     string         `json:"apiVersion"`
	Kind           string         `json:"kind"`
	Clusters       []NamedCluster `json:"clusters"`
	Contexts       []NamedContext `json:"contexts"`
	CurrentContext string         `json:"current-context"`
	Preferences    Preferences    `json:"preferences"`
	Users          []NamedUser    `json:"users"`

	// dir is the directory of the file the config was loaded from, against
	// which relative file references are resolved.
	dir string
}

// Preferences is kept for the format's sake (Kubernetes writes `preferences: {}`).
type Preferences struct {
	Colors bool `json:"colors,omitempty"`
}

// NamedCluster is a cluster entry.
type NamedCluster struct {
	Name    string  `json:"name"`
	Cluster Cluster `json:"cluster"`
}

// Cluster is how to reach and trust an apiserver.
type Cluster struct {
	Server                   string `json:"server"`
	TLSServerName            string `json:"tls-server-name,omitempty"`
	InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify,omitempty"`
	CertificateAuthority     string `json:"certificate-authority,omitempty"`
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
}

// NamedUser is a user (credentials) entry.
type NamedUser struct {
	Name string   `json:"name"`
	User AuthInfo `json:"user"`
}

// AuthInfo is a user's credentials: a client certificate (inline or as
// files) or a bearer token.
type AuthInfo struct {
	ClientCertificate     string `json:"client-certificate,omitempty"`
	ClientCertificateData []byte `json:"client-certificate-data,omitempty"`
	ClientKey             string `json:"client-key,omitempty"`
	ClientKeyData         []byte `json:"client-key-data,omitempty"`
	Token                 string `json:"token,omitempty"`
	TokenFile             string `json:"tokenFile,omitempty"`
}

// NamedContext is a context entry.
type NamedContext struct {
	Name    string  `json:"name"`
	Context Context `json:"context"`
}

// Context binds a cluster, a user and a default namespace.
type Context struct {
	Cluster   string `json:"cluster"`
	User      string `json:"user"`
	Namespace string `json:"namespace,omitempty"`
}

// New is a kubeconfig with one cluster ("kubernetes" at server, trusting
// caPEM), one user authenticated by a client certificate, and a current
// context "<user>@kubernetes", as kubeadm writes admin.conf.
func New(server string, caPEM []byte, user string, certPEM, keyPEM []byte) *Config {
	return newConfig(server, caPEM, user, AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM})
}

// NewToken is like New with a bearer token (a bootstrap token) as the
// credential, as kubeadm writes bootstrap-kubelet.conf.
func NewToken(server string, caPEM []byte, user, token string) *Config {
	return newConfig(server, caPEM, user, AuthInfo{Token: token})
}

func newConfig(server string, caPEM []byte, user string, auth AuthInfo) *Config {
	ctx := user + "@" + DefaultClusterName
	return &Config{
		APIVersion:     "v1",
		Kind:           "Config",
		Clusters:       []NamedCluster{{Name: DefaultClusterName, Cluster: Cluster{Server: server, CertificateAuthorityData: caPEM}}},
		Contexts:       []NamedContext{{Name: ctx, Context: Context{Cluster: DefaultClusterName, User: user}}},
		CurrentContext: ctx,
		Users:          []NamedUser{{Name: user, User: auth}},
	}
}

// Parse decodes kubeconfig YAML (or JSON). Fields this package does not use
// (extensions, exec plugins) are ignored, as kubectl ignores what it does
// not know. Relative file references resolve against the working directory.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "decode kubeconfig")
	}
	if c.Kind != "" && c.Kind != "Config" {
		return nil, errdefs.Invalid("decode kubeconfig: kind %q, want Config", c.Kind)
	}
	if c.APIVersion != "" && c.APIVersion != "v1" {
		return nil, errdefs.Invalid("decode kubeconfig: apiVersion %q, want v1", c.APIVersion)
	}
	return &c, nil
}

// Load reads a kubeconfig file. Relative file references in it
// (certificate-authority, client-certificate, client-key, tokenFile) resolve
// against the file's directory, as Kubernetes resolves them.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, errdefs.Wrap(errdefs.ClassNotFound, err, "load kubeconfig")
	}
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", path, err)
	}
	c.dir = filepath.Dir(abs)
	return c, nil
}

// Marshal encodes the config as Kubernetes does (YAML, keys sorted).
func (c *Config) Marshal() ([]byte, error) {
	out := *c
	if out.APIVersion == "" {
		out.APIVersion = "v1"
	}
	if out.Kind == "" {
		out.Kind = "Config"
	}
	data, err := yaml.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("encode kubeconfig: %w", err)
	}
	return data, nil
}

// Write writes the config to path with mode 0600, atomically, creating the
// parent directories.
func Write(path string, c *Config) error {
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	if err := pki.WriteFile(path, data, FileMode); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// Current returns the current context and the cluster and user it names.
func (c *Config) Current() (*Context, *Cluster, *AuthInfo, error) {
	if c.CurrentContext == "" {
		return nil, nil, nil, errdefs.Invalid("kubeconfig: current-context is not set")
	}
	var ctx *Context
	for i := range c.Contexts {
		if c.Contexts[i].Name == c.CurrentContext {
			ctx = &c.Contexts[i].Context
			break
		}
	}
	if ctx == nil {
		return nil, nil, nil, errdefs.Invalid("kubeconfig: context %q not found", c.CurrentContext)
	}
	var cl *Cluster
	for i := range c.Clusters {
		if c.Clusters[i].Name == ctx.Cluster {
			cl = &c.Clusters[i].Cluster
			break
		}
	}
	if cl == nil {
		return nil, nil, nil, errdefs.Invalid("kubeconfig: cluster %q of context %q not found", ctx.Cluster, c.CurrentContext)
	}
	var au *AuthInfo
	for i := range c.Users {
		if c.Users[i].Name == ctx.User {
			au = &c.Users[i].User
			break
		}
	}
	if au == nil {
		if ctx.User != "" {
			return nil, nil, nil, errdefs.Invalid("kubeconfig: user %q of context %q not found", ctx.User, c.CurrentContext)
		}
		au = &AuthInfo{}
	}
	return ctx, cl, au, nil
}

// Validate checks that the current context resolves and names a server.
func (c *Config) Validate() error {
	_, cl, _, err := c.Current()
	if err != nil {
		return err
	}
	if _, err := parseServer(cl.Server); err != nil {
		return err
	}
	return nil
}

// Server is the server URL of the current context ("" when the current
// context does not resolve).
func (c *Config) Server() string {
	_, cl, _, err := c.Current()
	if err != nil {
		return ""
	}
	return cl.Server
}

// Address is the server of the current context as host:port, the target of
// a gRPC client: https://10.0.0.1:6443 -> 10.0.0.1:6443; a URL without a
// port gets 443; a bare host:port is returned as it is. "" when the current
// context does not resolve or its server does not parse.
func (c *Config) Address() string {
	u, err := parseServer(c.Server())
	if err != nil {
		return ""
	}
	return u
}

// parseServer turns a server URL into host:port.
func parseServer(server string) (string, error) {
	if server == "" {
		return "", errdefs.Invalid("kubeconfig: server is empty")
	}
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", errdefs.Wrap(errdefs.ClassInvalid, err, "kubeconfig: server")
	}
	if u.Scheme != "https" {
		return "", errdefs.Invalid("kubeconfig: server %q: scheme must be https", server)
	}
	if u.Hostname() == "" {
		return "", errdefs.Invalid("kubeconfig: server %q has no host", server)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// Namespace is the namespace of the current context, "default" when it
// names none.
func (c *Config) Namespace() string {
	ctx, _, _, err := c.Current()
	if err != nil || ctx.Namespace == "" {
		return DefaultNamespace
	}
	return ctx.Namespace
}

// User is the user name of the current context.
func (c *Config) User() string {
	ctx, _, _, err := c.Current()
	if err != nil {
		return ""
	}
	return ctx.User
}

// Token is the bearer token of the current user: the token field, else the
// content of tokenFile, else "".
func (c *Config) Token() string {
	_, _, au, err := c.Current()
	if err != nil {
		return ""
	}
	if au.Token != "" {
		return au.Token
	}
	if au.TokenFile != "" {
		data, err := os.ReadFile(c.resolve(au.TokenFile))
		if err == nil {
			return strings.TrimSpace(string(data))
		}
	}
	return ""
}

// CAData is the PEM of the current cluster's CA: the inline data, else the
// content of the certificate-authority file.
func (c *Config) CAData() ([]byte, error) {
	_, cl, _, err := c.Current()
	if err != nil {
		return nil, err
	}
	if len(cl.CertificateAuthorityData) > 0 {
		return cl.CertificateAuthorityData, nil
	}
	if cl.CertificateAuthority != "" {
		data, err := os.ReadFile(c.resolve(cl.CertificateAuthority))
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: read certificate-authority: %w", err)
		}
		return data, nil
	}
	return nil, errdefs.Invalid("kubeconfig: cluster %q has neither certificate-authority-data nor certificate-authority", c.Server())
}

// TLSConfig is the TLS 1.3 client configuration of the current context: the
// server verified against the cluster CA only (inline data or file; never
// the system roots) for the server's host (or tls-server-name), and the
// user's client certificate when it has one. A client certificate given as
// files is reloaded when the files are replaced (certificate rotation).
// insecure-skip-tls-verify is refused: minik8s always pins its CA.
func (c *Config) TLSConfig() (*tls.Config, error) {
	_, cl, au, err := c.Current()
	if err != nil {
		return nil, err
	}
	addr, err := parseServer(cl.Server)
	if err != nil {
		return nil, err
	}
	if cl.InsecureSkipTLSVerify {
		return nil, errdefs.Invalid("kubeconfig: insecure-skip-tls-verify is not supported; give the cluster CA")
	}
	caPEM, err := c.CAData()
	if err != nil {
		return nil, err
	}
	pool, err := pki.CertPoolFromPEM(caPEM)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: certificate authority: %w", err)
	}
	serverName := cl.TLSServerName
	if serverName == "" {
		serverName, _, _ = net.SplitHostPort(addr)
	}

	certPEM, keyPEM := au.ClientCertificateData, au.ClientKeyData
	switch {
	case len(certPEM) > 0 || len(keyPEM) > 0:
		if len(certPEM) == 0 {
			if au.ClientCertificate == "" {
				return nil, errdefs.Invalid("kubeconfig: user %q has client-key-data but no client certificate", c.User())
			}
			if certPEM, err = os.ReadFile(c.resolve(au.ClientCertificate)); err != nil {
				return nil, fmt.Errorf("kubeconfig: read client-certificate: %w", err)
			}
		}
		if len(keyPEM) == 0 {
			if au.ClientKey == "" {
				return nil, errdefs.Invalid("kubeconfig: user %q has client-certificate-data but no client key", c.User())
			}
			if keyPEM, err = os.ReadFile(c.resolve(au.ClientKey)); err != nil {
				return nil, fmt.Errorf("kubeconfig: read client-key: %w", err)
			}
		}
		pair, err := pki.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: client certificate of user %q: %w", c.User(), err)
		}
		return pki.ClientTLSConfig(pool, pair, serverName), nil
	case au.ClientCertificate != "" || au.ClientKey != "":
		certFile, keyFile := c.resolve(au.ClientCertificate), c.resolve(au.ClientKey)
		if au.ClientCertificate == "" {
			certFile = keyFile
		}
		if au.ClientKey == "" {
			keyFile = certFile
		}
		r, err := pki.NewCertReloader(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: client certificate of user %q: %w", c.User(), err)
		}
		return r.ClientTLSConfig(pool, serverName), nil
	default:
		return pki.ClientTLSConfig(pool, nil, serverName), nil
	}
}

// ClientCertificate is the current user's client certificate (the leaf),
// or nil when the user has none or it does not parse.
func (c *Config) ClientCertificate() *x509.Certificate {
	_, _, au, err := c.Current()
	if err != nil {
		return nil
	}
	data := au.ClientCertificateData
	if len(data) == 0 && au.ClientCertificate != "" {
		if data, err = os.ReadFile(c.resolve(au.ClientCertificate)); err != nil {
			return nil
		}
	}
	if len(data) == 0 {
		return nil
	}
	cert, err := pki.ParseCertPEM(data)
	if err != nil {
		return nil
	}
	return cert
}

// resolve makes a relative file reference absolute against the directory of
// the loaded file.
func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.dir == "" {
		return p
	}
	return filepath.Join(c.dir, p)
}
