package kubeadm

import (
	"context"
	"fmt"
	"net"
	"strings"

	"minik8s/pkg/pki"
)

// Certificate names (files under the certificate directory), as kubeadm's.
const (
	CACertName                     = "ca"
	APIServerCertName              = "apiserver"
	APIServerKubeletClientCertName = "apiserver-kubelet-client"
	FrontProxyCACertName           = "front-proxy-ca"
	FrontProxyClientCertName       = "front-proxy-client"
	EtcdCACertName                 = "etcd/ca"
	EtcdServerCertName             = "etcd/server"
	EtcdPeerCertName               = "etcd/peer"
	EtcdHealthcheckClientCertName  = "etcd/healthcheck-client"
	APIServerEtcdClientCertName    = "apiserver-etcd-client"
	ServiceAccountKeyName          = "sa"
)

// Identities in the certificates, as kubeadm's.
const (
	MastersGroup   = "system:masters"
	NodesGroup     = "system:nodes"
	NodeUserPrefix = "system:node:"
)

// certSpec is one certificate of the set: its file name, its phase name,
// its signer and its subject.
type certSpec struct {
	name   string // file name under the cert dir: "etcd/server"
	phase  string // phase name: "etcd-server"
	short  string
	caName string // signer; "" for a CA
	config func(d *InitData) pki.CertConfig
}

// certSpecs is the certificate set in kubeadm's order.
func certSpecs() []certSpec {
	return []certSpec{
		{name: CACertName, phase: "ca", short: "Generate the self-signed Kubernetes CA to provision identities for other Kubernetes components",
			config: func(*InitData) pki.CertConfig { return pki.CertConfig{CommonName: "kubernetes"} }},
		{name: APIServerCertName, phase: "apiserver", caName: CACertName, short: "Generate the certificate for serving the Kubernetes API",
			config: func(d *InitData) pki.CertConfig {
				return pki.CertConfig{CommonName: "kube-apiserver", Usages: pki.UsageServer, AltNames: apiServerAltNames(d)}
			}},
		{name: APIServerKubeletClientCertName, phase: "apiserver-kubelet-client", caName: CACertName, short: "Generate the certificate for the API server to connect to kubelet",
			config: func(*InitData) pki.CertConfig {
				return pki.CertConfig{CommonName: "kube-apiserver-kubelet-client", Organization: []string{MastersGroup}, Usages: pki.UsageClient}
			}},
		{name: FrontProxyCACertName, phase: "front-proxy-ca", short: "Generate the self-signed CA to provision identities for front proxy",
			config: func(*InitData) pki.CertConfig { return pki.CertConfig{CommonName: "front-proxy-ca"} }},
		{name: FrontProxyClientCertName, phase: "front-proxy-client", caName: FrontProxyCACertName, short: "Generate the certificate for the front proxy client",
			config: func(*InitData) pki.CertConfig {
				return pki.CertConfig{CommonName: "front-proxy-client", Usages: pki.UsageClient}
			}},
		{name: EtcdCACertName, phase: "etcd-ca", short: "Generate the self-signed CA to provision identities for etcd",
			config: func(*InitData) pki.CertConfig { return pki.CertConfig{CommonName: "etcd-ca"} }},
		{name: EtcdServerCertName, phase: "etcd-server", caName: EtcdCACertName, short: "Generate the certificate for serving etcd",
			config: func(d *InitData) pki.CertConfig {
				return pki.CertConfig{CommonName: d.NodeName, Usages: pki.UsageServer | pki.UsageClient, AltNames: etcdAltNames(d)}
			}},
		{name: EtcdPeerCertName, phase: "etcd-peer", caName: EtcdCACertName, short: "Generate the certificate for etcd nodes to communicate with each other",
			config: func(d *InitData) pki.CertConfig {
				return pki.CertConfig{CommonName: d.NodeName, Usages: pki.UsageServer | pki.UsageClient, AltNames: etcdAltNames(d)}
			}},
		{name: EtcdHealthcheckClientCertName, phase: "etcd-healthcheck-client", caName: EtcdCACertName, short: "Generate the certificate for liveness probes to healthcheck etcd",
			config: func(*InitData) pki.CertConfig {
				return pki.CertConfig{CommonName: "kube-etcd-healthcheck-client", Usages: pki.UsageClient}
			}},
		{name: APIServerEtcdClientCertName, phase: "apiserver-etcd-client", caName: EtcdCACertName, short: "Generate the certificate the apiserver uses to access etcd",
			config: func(*InitData) pki.CertConfig {
				return pki.CertConfig{CommonName: "kube-apiserver-etcd-client", Usages: pki.UsageClient}
			}},
	}
}

// apiServerAltNames are kubeadm's SANs of the API server certificate: the
// node name, the kubernetes service names, the service IP and the advertise
// address, then the control-plane endpoint and the extra SANs. With a
// loopback advertise address, "localhost" is added too, so a purely local
// control plane can be reached by either name.
func apiServerAltNames(d *InitData) pki.AltNames {
	var a pki.AltNames
	a.Add(d.NodeName, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc."+d.DNSDomain)
	a.AddIP(d.APIServerServiceIP(), d.AdvertiseAddress)
	if d.AdvertiseAddress.IsLoopback() {
		a.Add("localhost")
	}
	if d.ControlPlaneEndpoint != "" {
		host := d.ControlPlaneEndpoint
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		a.Add(strings.Trim(host, "[]"))
	}
	a.Add(d.CertSANs...)
	return a
}

// etcdAltNames are kubeadm's SANs of the etcd server and peer certificates.
func etcdAltNames(d *InitData) pki.AltNames {
	var a pki.AltNames
	a.Add(d.NodeName, "localhost")
	a.AddIP(d.AdvertiseAddress, net.IPv4(127, 0, 0, 1), net.IPv6loopback)
	return a
}

// ipList renders IPs as kubeadm prints them: [10.1.0.1 10.10.10.100].
func ipList(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// certsPhase is kubeadm's certs phase: the folder line, then one sub-phase
// per certificate and the service-account key.
func certsPhase() Phase {
	p := Phase{
		Name:  "certs",
		Short: "Certificate generation",
		Run: func(_ context.Context, d *InitData) error {
			d.printf("[certs] Using certificateDir folder %q", d.CertDir)
			return nil
		},
	}
	for _, spec := range certSpecs() {
		p.Phases = append(p.Phases, Phase{Name: spec.phase, Short: spec.short, Run: runCert(spec)})
	}
	p.Phases = append(p.Phases, Phase{
		Name:  "sa",
		Short: "Generate a private key for signing service account tokens along with its public key",
		Run:   runServiceAccountKey,
	})
	return p
}

// runCert creates or reuses one certificate, printing kubeadm's lines.
func runCert(spec certSpec) func(context.Context, *InitData) error {
	return func(_ context.Context, d *InitData) error {
		dir := d.Certs()
		cfg := spec.config(d)
		cfg.Now = d.now()
		if spec.caName == "" {
			_, reused, err := dir.EnsureCA(spec.name, cfg)
			if err != nil {
				return fmt.Errorf("failure loading or creating %s certificate authority: %w", spec.name, err)
			}
			if reused {
				d.printf("[certs] Using existing %s certificate authority", spec.name)
			} else {
				d.printf("[certs] Generating %q certificate and key", spec.name)
			}
			return nil
		}
		ca, err := dir.Load(spec.caName)
		if err != nil {
			return fmt.Errorf("failure loading %s certificate authority for %q: %w", spec.caName, spec.name, err)
		}
		kp, reused, err := dir.EnsureCert(spec.name, ca, cfg)
		if err != nil {
			return fmt.Errorf("failure loading or creating %s certificate: %w", spec.name, err)
		}
		if reused {
			d.printf("[certs] Using existing %s certificate and key on disk", spec.name)
			return nil
		}
		d.printf("[certs] Generating %q certificate and key", spec.name)
		if cfg.Usages&pki.UsageServer != 0 {
			d.printf("[certs] %s serving cert is signed for DNS names [%s] and IPs %s",
				spec.name, strings.Join(kp.Cert.DNSNames, " "), ipList(kp.Cert.IPAddresses))
		}
		return nil
	}
}

// runServiceAccountKey creates or reuses sa.key and sa.pub.
func runServiceAccountKey(_ context.Context, d *InitData) error {
	_, reused, err := d.Certs().EnsureKeyPair(ServiceAccountKeyName)
	if err != nil {
		return fmt.Errorf("failure loading or creating the service account key: %w", err)
	}
	if reused {
		d.printf("[certs] Using the existing %q key", ServiceAccountKeyName)
	} else {
		d.printf("[certs] Generating %q key and public key", ServiceAccountKeyName)
	}
	return nil
}
