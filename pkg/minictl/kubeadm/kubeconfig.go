package kubeadm

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// Kubeconfig file names under the kubeconfig directory, as kubeadm's.
const (
	AdminKubeconfig             = "admin.conf"
	KubeletKubeconfig           = "kubelet.conf"
	ControllerManagerKubeconfig = "controller-manager.conf"
	SchedulerKubeconfig         = "scheduler.conf"
)

// kubeconfigSpec is one kubeconfig file: its phase and the client identity
// it carries.
type kubeconfigSpec struct {
	phase string
	file  string
	short string
	user  func(d *InitData) string
	orgs  []string
}

func kubeconfigSpecs() []kubeconfigSpec {
	return []kubeconfigSpec{
		{phase: "admin", file: AdminKubeconfig, short: "Generate a kubeconfig file for the admin to use and for minictl itself",
			user: func(*InitData) string { return "kubernetes-admin" }, orgs: []string{MastersGroup}},
		{phase: "kubelet", file: KubeletKubeconfig, short: "Generate a kubeconfig file for the kubelet to use *only* for cluster bootstrapping purposes",
			user: func(d *InitData) string { return NodeUserPrefix + d.NodeName }, orgs: []string{NodesGroup}},
		{phase: "controller-manager", file: ControllerManagerKubeconfig, short: "Generate a kubeconfig file for the controller manager to use",
			user: func(*InitData) string { return "system:kube-controller-manager" }},
		{phase: "scheduler", file: SchedulerKubeconfig, short: "Generate a kubeconfig file for the scheduler to use",
			user: func(*InitData) string { return "system:kube-scheduler" }},
	}
}

// kubeconfigPhase is kubeadm's kubeconfig phase.
func kubeconfigPhase() Phase {
	p := Phase{
		Name:  "kubeconfig",
		Short: "Generate all kubeconfig files necessary to establish the control plane and the admin kubeconfig file",
		Run: func(_ context.Context, d *InitData) error {
			d.printf("[kubeconfig] Using kubeconfig folder %q", d.KubeconfigDir)
			return nil
		},
	}
	for _, spec := range kubeconfigSpecs() {
		p.Phases = append(p.Phases, Phase{Name: spec.phase, Short: spec.short, Run: runKubeconfig(spec)})
	}
	return p
}

// runKubeconfig writes one kubeconfig file with a client certificate signed
// by the cluster CA, or reuses an existing one that points at the same
// server, trusts the same CA and carries the same identity.
func runKubeconfig(spec kubeconfigSpec) func(context.Context, *InitData) error {
	return func(_ context.Context, d *InitData) error {
		ca, err := d.Certs().Load(CACertName)
		if err != nil {
			return fmt.Errorf("failure loading %s certificate authority for %q: %w", CACertName, spec.file, err)
		}
		path := filepath.Join(d.KubeconfigDir, spec.file)
		user := spec.user(d)
		existing, err := kubeconfig.Load(path)
		switch {
		case err == nil:
			if err := checkExistingKubeconfig(path, existing, d, ca, user); err != nil {
				return err
			}
			d.printf("[kubeconfig] Using existing kubeconfig file: %q", path)
			return nil
		case !errdefs.IsNotFound(err):
			return err
		}
		kp, err := pki.NewCert(ca, pki.CertConfig{CommonName: user, Organization: spec.orgs, Usages: pki.UsageClient, Now: d.now()})
		if err != nil {
			return err
		}
		keyPEM, err := kp.KeyPEM()
		if err != nil {
			return err
		}
		d.printf("[kubeconfig] Writing %q kubeconfig file", spec.file)
		return kubeconfig.Write(path, kubeconfig.New(d.ServerURL(), ca.CertPEM(), user, kp.CertPEM(), keyPEM))
	}
}

// checkExistingKubeconfig refuses an existing file that no longer fits the
// flags, naming the file and what differs, as kubeadm does.
func checkExistingKubeconfig(path string, c *kubeconfig.Config, d *InitData, ca *pki.KeyPair, user string) error {
	caPEM, err := c.CAData()
	if err != nil {
		return fmt.Errorf("existing kubeconfig file %q: %w", path, err)
	}
	caCerts, err := pki.ParseCertsPEM(caPEM)
	if err != nil || !bytes.Equal(caCerts[0].Raw, ca.Cert.Raw) {
		return errdefs.Precondition("a kubeconfig file %q exists already but has got the wrong CA cert", path)
	}
	if got := c.Server(); got != d.ServerURL() {
		return errdefs.Precondition("a kubeconfig file %q exists already but has got the wrong API Server URL %q (want %q)", path, got, d.ServerURL())
	}
	cert := c.ClientCertificate()
	if cert == nil || cert.Subject.CommonName != user {
		return errdefs.Precondition("a kubeconfig file %q exists already but does not hold a client certificate for %q", path, user)
	}
	if err := pki.VerifySignedBy(cert, ca.Cert, pki.UsageClient, d.now()); err != nil {
		return fmt.Errorf("a kubeconfig file %q exists already but its client certificate is not usable: %w", path, err)
	}
	return nil
}
