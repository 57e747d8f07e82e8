package kubeadm

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// Bootstrap tokens are Secrets in kube-system as Kubernetes stores them;
// the apiserver authenticates them, deletes them when they expire and signs
// cluster-info with them.
const (
	BootstrapTokenSecretType     = "bootstrap.kubernetes.io/token"
	BootstrapTokenSecretPrefix   = "bootstrap-token-"
	bootstrapTokenIDKey          = "token-id"
	bootstrapTokenSecretKey      = "token-secret"
	bootstrapTokenExpirationKey  = "expiration"
	bootstrapTokenDescriptionKey = "description"
	bootstrapTokenGroupsKey      = "auth-extra-groups"
	bootstrapTokenUsagePrefix    = "usage-bootstrap-"
	// DefaultTokenGroup is the extra group of the tokens init and `token
	// create` make, as kubeadm's.
	DefaultTokenGroup = "system:bootstrappers:kubeadm:default-node-token"
	// The cluster-info ConfigMap in kube-public.
	ClusterInfoConfigMap       = "cluster-info"
	ClusterInfoKubeconfigKey   = "kubeconfig"
	ClusterInfoSignaturePrefix = "jws-kubeconfig-"
)

// DefaultTokenUsages are the usages of a new token: it signs cluster-info
// (discovery) and authenticates the TLS bootstrap.
func DefaultTokenUsages() []string { return []string{"signing", "authentication"} }

// ValidTokenUsages are the usages a token may have.
func ValidTokenUsages() []string { return []string{"signing", "authentication"} }

// BootstrapToken is what a bootstrap-token Secret holds.
type BootstrapToken struct {
	Token       pki.Token
	Description string
	// Expires is the end of the token's life; zero means never.
	Expires time.Time
	// Usages: "signing", "authentication".
	Usages []string
	// Groups are the extra groups (system:bootstrappers:...).
	Groups []string
}

// Secret is the token as Kubernetes stores it: bootstrap-token-<id> in
// kube-system, of type bootstrap.kubernetes.io/token.
func (t *BootstrapToken) Secret() *v1.Secret {
	data := map[string][]byte{
		bootstrapTokenIDKey:     []byte(t.Token.ID),
		bootstrapTokenSecretKey: []byte(t.Token.Secret),
	}
	if t.Description != "" {
		data[bootstrapTokenDescriptionKey] = []byte(t.Description)
	}
	if !t.Expires.IsZero() {
		data[bootstrapTokenExpirationKey] = []byte(t.Expires.UTC().Format(time.RFC3339))
	}
	for _, u := range t.Usages {
		data[bootstrapTokenUsagePrefix+u] = []byte("true")
	}
	if len(t.Groups) > 0 {
		data[bootstrapTokenGroupsKey] = []byte(strings.Join(t.Groups, ","))
	}
	return &v1.Secret{
		ApiVersion: "v1", Kind: "Secret",
		Metadata: &v1.ObjectMeta{Name: BootstrapTokenSecretPrefix + t.Token.ID, Namespace: KubeSystemNamespace},
		Type:     BootstrapTokenSecretType,
		Data:     data,
	}
}

// BootstrapTokenFromSecret reads a bootstrap-token Secret.
func BootstrapTokenFromSecret(s *v1.Secret) (*BootstrapToken, error) {
	if s.GetType() != BootstrapTokenSecretType {
		return nil, errdefs.Invalid("secret %q is not of type %s", s.GetMetadata().GetName(), BootstrapTokenSecretType)
	}
	data := s.GetData()
	tok, err := pki.ParseToken(string(data[bootstrapTokenIDKey]) + "." + string(data[bootstrapTokenSecretKey]))
	if err != nil {
		return nil, fmt.Errorf("secret %q: %w", s.GetMetadata().GetName(), err)
	}
	t := &BootstrapToken{Token: tok, Description: string(data[bootstrapTokenDescriptionKey])}
	if exp := string(data[bootstrapTokenExpirationKey]); exp != "" {
		if t.Expires, err = time.Parse(time.RFC3339, exp); err != nil {
			return nil, errdefs.Invalid("secret %q: expiration %q is not RFC 3339", s.GetMetadata().GetName(), exp)
		}
	}
	for _, k := range sortedKeys(data) {
		if u, ok := strings.CutPrefix(k, bootstrapTokenUsagePrefix); ok && string(data[k]) == "true" {
			t.Usages = append(t.Usages, u)
		}
	}
	if g := string(data[bootstrapTokenGroupsKey]); g != "" {
		for _, group := range strings.Split(g, ",") {
			t.Groups = append(t.Groups, strings.TrimSpace(group))
		}
	}
	return t, nil
}

// ClusterInfo is the kube-public/cluster-info ConfigMap: a kubeconfig
// holding only the cluster (server and CA), as kubeadm writes it.
func ClusterInfo(server string, caPEM []byte) (*v1.ConfigMap, error) {
	kc := &kubeconfig.Config{
		APIVersion: "v1",
		Kind:       "Config",
		Clusters:   []kubeconfig.NamedCluster{{Name: "", Cluster: kubeconfig.Cluster{Server: server, CertificateAuthorityData: caPEM}}},
	}
	data, err := kc.Marshal()
	if err != nil {
		return nil, err
	}
	return &v1.ConfigMap{
		ApiVersion: "v1", Kind: "ConfigMap",
		Metadata: &v1.ObjectMeta{Name: ClusterInfoConfigMap, Namespace: KubePublicNamespace},
		Data:     map[string]string{ClusterInfoKubeconfigKey: string(data)},
	}, nil
}

// SignClusterInfo adds the detached JWS of cluster-info's kubeconfig made
// with tok (jws-kubeconfig-<id>).
func SignClusterInfo(cm *v1.ConfigMap, tok pki.Token) error {
	content, ok := cm.GetData()[ClusterInfoKubeconfigKey]
	if !ok {
		return errdefs.Invalid("the %s ConfigMap has no %q", ClusterInfoConfigMap, ClusterInfoKubeconfigKey)
	}
	sig, err := pki.SignJWS([]byte(content), tok.ID, tok.Secret)
	if err != nil {
		return err
	}
	cm.Data[ClusterInfoSignaturePrefix+tok.ID] = sig
	return nil
}

// keepSignatures merges into next the signatures of the existing
// cluster-info when both hold the same kubeconfig (other tokens' signatures
// stay valid); a changed kubeconfig drops them.
func keepSignatures(existing, next apis.Object) {
	old, ok1 := existing.(*v1.ConfigMap)
	cm, ok2 := next.(*v1.ConfigMap)
	if !ok1 || !ok2 || old.GetData()[ClusterInfoKubeconfigKey] != cm.GetData()[ClusterInfoKubeconfigKey] {
		return
	}
	for k, v := range old.GetData() {
		if _, mine := cm.Data[k]; !mine && strings.HasPrefix(k, ClusterInfoSignaturePrefix) {
			cm.Data[k] = v
		}
	}
}

// JoinCommand is the command a node joins with: minictl join <host:port>
// --token <token> --discovery-token-ca-cert-hash sha256:<hash>.
func JoinCommand(endpoint string, tok pki.Token, caHash string) string {
	return fmt.Sprintf("minictl join %s --token %s --discovery-token-ca-cert-hash %s", endpoint, tok, caHash)
}

// Endpoint turns a server URL into the host:port a join command names.
func Endpoint(server string) string {
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return u.Host
	}
	return strings.TrimPrefix(server, "https://")
}

// ClusterOf returns the server and CA of a kubeconfig's current cluster.
func ClusterOf(kc *kubeconfig.Config) (server string, caPEM []byte, err error) {
	if err := kc.Validate(); err != nil {
		return "", nil, err
	}
	caPEM, err = kc.CAData()
	if err != nil {
		return "", nil, err
	}
	return kc.Server(), caPEM, nil
}

// CAHashOf is the discovery hash of the first CA certificate in caPEM.
func CAHashOf(caPEM []byte) (string, error) {
	certs, err := pki.ParseCertsPEM(caPEM)
	if err != nil {
		return "", err
	}
	return pki.CAHash(certs[0]), nil
}

// adminKubeconfig is the kubeconfig the phases talk to the cluster with:
// --kubeconfig, else admin.conf of the kubeconfig directory.
func (d *InitData) adminKubeconfig() string {
	if d.AdminKubeconfig != "" && !d.DryRun {
		return d.AdminKubeconfig
	}
	return filepath.Join(d.KubeconfigDir, AdminKubeconfig)
}

// cluster is the server and CA nodes join: those of the admin kubeconfig,
// as kubeadm builds cluster-info from admin.conf; without one, the
// configured endpoint and the CA of the certificate directory.
func (d *InitData) cluster() (server string, caPEM []byte, err error) {
	if kc, err := kubeconfig.Load(d.adminKubeconfig()); err == nil {
		return ClusterOf(kc)
	}
	ca, err := d.Certs().LoadCert(CACertName)
	if err != nil {
		return "", nil, fmt.Errorf("no admin kubeconfig and no cluster CA: %w", err)
	}
	return d.ServerURL(), pki.EncodeCertPEM(ca), nil
}

func bootstrapTokenPhase() Phase {
	return Phase{
		Name:  "bootstrap-token",
		Short: "Generates bootstrap tokens used to join a node to a cluster",
		Flags: []string{flagToken, flagTokenTTL},
		Run:   runBootstrapToken,
	}
}

func runBootstrapToken(ctx context.Context, d *InitData) error {
	d.printf("[bootstrap-token] Using token: %s", d.Token)
	d.printf("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
	c, err := d.clusterClient()
	if err != nil {
		return err
	}
	tok := &BootstrapToken{
		Token:       d.Token,
		Description: "The default bootstrap token generated by 'minictl init'.",
		Usages:      DefaultTokenUsages(),
		Groups:      []string{DefaultTokenGroup},
	}
	if d.TokenTTL > 0 {
		tok.Expires = d.now().Add(d.TokenTTL)
	}
	if err := createOrUpdate(ctx, c, "secrets", tok.Secret(), nil); err != nil {
		return fmt.Errorf("create bootstrap token: %w", err)
	}
	// The authorization of a token is minik8s' fixed policy
	// (pkg/apiserver/authz): what kubeadm configures as RBAC rules.
	d.printf("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term certificate credentials")
	d.printf("[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node Bootstrap Token")
	d.printf("[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster")
	d.printf("[bootstrap-token] Creating the %q ConfigMap in the %q namespace", ClusterInfoConfigMap, KubePublicNamespace)
	server, caPEM, err := d.cluster()
	if err != nil {
		return err
	}
	cm, err := ClusterInfo(server, caPEM)
	if err != nil {
		return err
	}
	if err := SignClusterInfo(cm, d.Token); err != nil {
		return err
	}
	if err := createOrUpdate(ctx, c, "configmaps", cm, keepSignatures); err != nil {
		return fmt.Errorf("create the cluster-info ConfigMap: %w", err)
	}
	return nil
}

// printInitSuccess is kubeadm's closing text, with the join command.
func printInitSuccess(d *InitData) error {
	server, caPEM, err := d.cluster()
	if err != nil {
		return err
	}
	hash, err := CAHashOf(caPEM)
	if err != nil {
		return err
	}
	admin := filepath.Join(d.RealKubeconfigDir, AdminKubeconfig)
	fmt.Fprintf(d.Out, `
Your minik8s control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.minik8s
  sudo cp -i %[1]s $HOME/.minik8s/config
  sudo chown $(id -u):$(id -g) $HOME/.minik8s/config

Alternatively, if you are the root user, you can run:

  export MINIK8S_CONFIG=%[1]s

Then you can join any number of worker nodes by running the following on each as root:

%[2]s
`, admin, JoinCommand(Endpoint(server), d.Token, hash))
	return nil
}
