package pki

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"

	"minik8s/pkg/apis/errdefs"
)

// CAHashPrefix is the prefix of a CA hash (the only supported hash type).
const CAHashPrefix = "sha256:"

// CAHash is kubeadm's discovery-token-ca-cert-hash of a CA: "sha256:" and
// the lower-case hex SHA-256 of the certificate's DER SubjectPublicKeyInfo.
// It pins the CA's key (not the certificate), as openssl computes with
// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`.
func CAHash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return CAHashPrefix + hex.EncodeToString(sum[:])
}

// VerifyCAHash checks that cert's hash is one of hashes ("sha256:<hex>",
// case-insensitive hex). The error says which hash the CA has.
func VerifyCAHash(cert *x509.Certificate, hashes ...string) error {
	got := CAHash(cert)
	for _, h := range hashes {
		norm, err := NormalizeCAHash(h)
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(norm), []byte(got)) == 1 {
			return nil
		}
	}
	return errdefs.Unauthenticated("cluster CA found in cluster-info has hash %s, which does not match the pinned --discovery-token-ca-cert-hash", got)
}

// NormalizeCAHash validates a "sha256:<64 hex digits>" hash and returns it
// in lower case.
func NormalizeCAHash(h string) (string, error) {
	typ, value, ok := strings.Cut(h, ":")
	if !ok || !strings.EqualFold(typ, "sha256") {
		return "", errdefs.Invalid("CA hash %q: must be of the form sha256:<hex>", h)
	}
	b, err := hex.DecodeString(value)
	if err != nil || len(b) != sha256.Size {
		return "", errdefs.Invalid("CA hash %q: want %d hex digits of a SHA-256", h, 2*sha256.Size)
	}
	return CAHashPrefix + hex.EncodeToString(b), nil
}

// parseSPKI returns the subjectPublicKey bit string of a DER
// SubjectPublicKeyInfo (the input of an RFC 5280 key identifier).
func parseSPKI(der []byte) ([]byte, error) {
	var spki struct {
		Algorithm        asn1.RawValue
		SubjectPublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("parse subject public key info: %w", err)
	}
	return spki.SubjectPublicKey.Bytes, nil
}
