package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"time"

	"minik8s/pkg/apis/errdefs"
)

// NewCSR creates a PEM certificate signing request for key with the given
// subject and SANs (a kubelet asks for CN=system:node:<name>,
// O=system:nodes and no SANs).
func NewCSR(key crypto.Signer, commonName string, organization []string, alt AltNames) ([]byte, error) {
	tmpl := &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: commonName, Organization: organization},
		DNSNames:    alt.DNSNames,
		IPAddresses: alt.IPs,
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate request %q: %w", commonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: CertificateRequestBlockType, Bytes: der}), nil
}

// ParseCSR decodes a PEM certificate signing request and checks its
// signature (the requester holds the key).
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errdefs.Invalid("no %s block found in PEM data", CertificateRequestBlockType)
		}
		if block.Type != CertificateRequestBlockType {
			continue
		}
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "parse certificate request")
		}
		if err := csr.CheckSignature(); err != nil {
			return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "certificate request signature")
		}
		return csr, nil
	}
}

// SignCSR issues a certificate for a parsed request: subject and SANs from
// the request, usages and validity from the signer (the requester does not
// choose them). A zero duration means CertDuration; a zero now means
// time.Now(). The validity never extends past the CA's.
func SignCSR(ca *KeyPair, csr *x509.CertificateRequest, usages Usage, duration time.Duration, now time.Time) (*x509.Certificate, error) {
	if err := csr.CheckSignature(); err != nil {
		return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "certificate request signature")
	}
	cfg := CertConfig{
		CommonName:   csr.Subject.CommonName,
		Organization: csr.Subject.Organization,
		AltNames:     AltNames{DNSNames: csr.DNSNames, IPs: csr.IPAddresses},
		Usages:       usages,
		Duration:     duration,
		Now:          now,
	}
	return SignCert(ca, csr.PublicKey, cfg)
}
