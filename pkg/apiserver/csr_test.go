package apiserver

import (
	"crypto"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/pki"
)

func request(t *testing.T, cn string, orgs []string, alt pki.AltNames) *x509.CertificateRequest {
	t.Helper()
	key, err := pki.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	data, err := pki.NewCSR(key, cn, orgs, alt)
	if err != nil {
		t.Fatal(err)
	}
	req, err := pki.ParseCSR(data)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestDecide(t *testing.T) {
	nodes := []string{"system:nodes"}
	clientUsages := []string{"digital signature", "client auth"}
	tests := []struct {
		name     string
		user     string
		groups   []string
		signer   string
		usages   []string
		cn       string
		orgs     []string
		alt      pki.AltNames
		want     approval
		wantText string
	}{
		{"bootstrapper joins", "system:bootstrap:abcdef", []string{"system:bootstrappers"}, SignerKubeletClient, clientUsages, "system:node:a", nodes, pki.AltNames{}, approvalApprove, "AutoApproved"},
		{"bootstrapper with key encipherment", "system:bootstrap:abcdef", []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"}, SignerKubeletClient, []string{"key encipherment", "digital signature", "client auth"}, "system:node:a", nodes, pki.AltNames{}, approvalApprove, "AutoApproved"},
		{"node renews itself", "system:node:a", nodes, SignerKubeletClient, clientUsages, "system:node:a", nodes, pki.AltNames{}, approvalApprove, "AutoApproved"},
		{"node asks for another node", "system:node:a", nodes, SignerKubeletClient, clientUsages, "system:node:b", nodes, pki.AltNames{}, approvalDeny, "NodeNameMismatch"},
		{"node name without the group", "system:node:a", nil, SignerKubeletClient, clientUsages, "system:node:a", nodes, pki.AltNames{}, approvalPending, ""},
		{"bootstrap name without the group", "system:bootstrap:abcdef", nil, SignerKubeletClient, clientUsages, "system:node:a", nodes, pki.AltNames{}, approvalPending, ""},
		{"extra organization", "system:bootstrap:abcdef", []string{"system:bootstrappers"}, SignerKubeletClient, clientUsages, "system:node:a", []string{"system:nodes", "system:masters"}, pki.AltNames{}, approvalPending, ""},
		{"admin subject", "system:bootstrap:abcdef", []string{"system:bootstrappers"}, SignerKubeletClient, clientUsages, "kubernetes-admin", []string{"system:masters"}, pki.AltNames{}, approvalPending, ""},
		{"server usage", "system:bootstrap:abcdef", []string{"system:bootstrappers"}, SignerKubeletClient, []string{"client auth", "server auth"}, "system:node:a", nodes, pki.AltNames{}, approvalPending, ""},
		{"no client auth", "system:bootstrap:abcdef", []string{"system:bootstrappers"}, SignerKubeletClient, []string{"digital signature"}, "system:node:a", nodes, pki.AltNames{}, approvalPending, ""},
		{"SANs", "system:bootstrap:abcdef", []string{"system:bootstrappers"}, SignerKubeletClient, clientUsages, "system:node:a", nodes, pki.AltNames{IPs: []net.IP{net.ParseIP("10.0.0.1")}}, approvalPending, ""},
		{"another signer", "system:bootstrap:abcdef", []string{"system:bootstrappers"}, SignerAPIServerClient, clientUsages, "system:node:a", nodes, pki.AltNames{}, approvalPending, ""},
		{"empty node name", "system:bootstrap:abcdef", []string{"system:bootstrappers"}, SignerKubeletClient, clientUsages, "system:node:", nodes, pki.AltNames{}, approvalPending, ""},
		{"stranger", "jane", []string{"developers"}, SignerKubeletClient, clientUsages, "system:node:a", nodes, pki.AltNames{}, approvalPending, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csr := &v1.CertificateSigningRequest{Spec: &v1.CertificateSigningRequestSpec{
				SignerName: tt.signer, Usages: tt.usages, Username: tt.user, Groups: tt.groups,
			}}
			got, reason, _ := decide(csr, request(t, tt.cn, tt.orgs, tt.alt))
			if got != tt.want || reason != tt.wantText {
				t.Errorf("decide = %v %q, want %v %q", got, reason, tt.want, tt.wantText)
			}
		})
	}
}

func TestSignerRules(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ca, err := pki.NewCA(pki.CertConfig{CommonName: "kubernetes", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	s := &csrSigner{ca: ca, duration: 24 * time.Hour, now: func() time.Time { return now }, lg: zap.NewNop()}
	seconds := func(n int32) *int32 { return &n }
	tests := []struct {
		name       string
		signer     string
		usages     []string
		cn         string
		orgs       []string
		alt        pki.AltNames
		expiration *int32
		wantFailed bool
		wantNone   bool // not our signer
		wantUsage  pki.Usage
		wantLife   time.Duration
	}{
		{"kubelet client", SignerKubeletClient, []string{"digital signature", "client auth"}, "system:node:a", []string{"system:nodes"}, pki.AltNames{}, nil, false, false, pki.UsageClient, 24 * time.Hour},
		{"kubelet client, shorter", SignerKubeletClient, []string{"client auth"}, "system:node:a", []string{"system:nodes"}, pki.AltNames{}, seconds(3600), false, false, pki.UsageClient, time.Hour},
		{"kubelet client, longer is capped", SignerKubeletClient, []string{"client auth"}, "system:node:a", []string{"system:nodes"}, pki.AltNames{}, seconds(7 * 86400), false, false, pki.UsageClient, 24 * time.Hour},
		{"kubelet client for an admin", SignerKubeletClient, []string{"client auth"}, "kubernetes-admin", []string{"system:masters"}, pki.AltNames{}, nil, true, false, 0, 0},
		{"apiserver client", SignerAPIServerClient, []string{"client auth"}, "jane", []string{"developers"}, pki.AltNames{}, nil, false, false, pki.UsageClient, 24 * time.Hour},
		{"apiserver client with server auth", SignerAPIServerClient, []string{"client auth", "server auth"}, "jane", nil, pki.AltNames{}, nil, true, false, 0, 0},
		{"kubelet serving", SignerKubeletServing, []string{"digital signature", "server auth"}, "system:node:a", []string{"system:nodes"}, pki.AltNames{DNSNames: []string{"a"}, IPs: []net.IP{net.ParseIP("10.0.0.5")}}, nil, false, false, pki.UsageServer, 24 * time.Hour},
		{"kubelet serving without SANs", SignerKubeletServing, []string{"server auth"}, "system:node:a", []string{"system:nodes"}, pki.AltNames{}, nil, true, false, 0, 0},
		{"foreign signer", "example.com/custom", []string{"client auth"}, "jane", nil, pki.AltNames{}, nil, false, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := pki.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			data, err := pki.NewCSR(key, tt.cn, tt.orgs, tt.alt)
			if err != nil {
				t.Fatal(err)
			}
			csr := &v1.CertificateSigningRequest{
				Spec:   &v1.CertificateSigningRequestSpec{Request: data, SignerName: tt.signer, Usages: tt.usages, ExpirationSeconds: tt.expiration},
				Status: &v1.CertificateSigningRequestStatus{Conditions: []*v1.Condition{{Type: "Approved", Status: "True"}}},
			}
			out, err := s.signed(csr)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantNone {
				if out != nil {
					t.Fatalf("signed for a foreign signer: %v", out.GetStatus())
				}
				return
			}
			if tt.wantFailed {
				if c := condition(out, "Failed"); c == nil || len(out.GetStatus().GetCertificate()) > 0 {
					t.Fatalf("want Failed without certificate, got %v", out.GetStatus())
				}
				return
			}
			cert, err := pki.ParseCertPEM(out.GetStatus().GetCertificate())
			if err != nil {
				t.Fatal(err)
			}
			if err := pki.VerifySignedBy(cert, ca.Cert, tt.wantUsage, now); err != nil {
				t.Error(err)
			}
			if pki.UsageOf(cert) != tt.wantUsage {
				t.Errorf("usages %v", pki.UsageOf(cert))
			}
			if got := cert.NotAfter.Sub(now); got != tt.wantLife {
				t.Errorf("valid for %v after issuing, want %v", got, tt.wantLife)
			}
			if back := now.Sub(cert.NotBefore); back <= 0 || back > 5*time.Minute || back > tt.wantLife/10 {
				t.Errorf("backdated by %v", back)
			}
			if !publicKeyEqual(cert.PublicKey, key.Public()) {
				t.Error("the certificate is not for the request's key")
			}
			if len(csr.GetStatus().GetCertificate()) > 0 {
				t.Error("signed modified its input")
			}
		})
	}
	// A request that does not parse fails.
	out, err := s.signed(&v1.CertificateSigningRequest{Spec: &v1.CertificateSigningRequestSpec{Request: []byte("junk"), SignerName: SignerKubeletClient}})
	if err != nil || condition(out, "Failed") == nil {
		t.Errorf("junk request: %v %v", out, err)
	}
	// Signing off: nothing is signed.
	off := &csrSigner{duration: time.Hour, now: time.Now, lg: zap.NewNop()}
	if out, err := off.signed(&v1.CertificateSigningRequest{Spec: &v1.CertificateSigningRequestSpec{SignerName: SignerKubeletClient}}); out != nil || err != nil {
		t.Errorf("signing off: %v %v", out, err)
	}
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}
