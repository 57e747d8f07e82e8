package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"minik8s/pkg/apis/errdefs"
)

// PEM block types, as Kubernetes writes them.
const (
	CertificateBlockType        = "CERTIFICATE"
	CertificateRequestBlockType = "CERTIFICATE REQUEST"
	ECPrivateKeyBlockType       = "EC PRIVATE KEY"
	RSAPrivateKeyBlockType      = "RSA PRIVATE KEY"
	PrivateKeyBlockType         = "PRIVATE KEY"
	PublicKeyBlockType          = "PUBLIC KEY"
)

// File modes: private keys are readable by their owner only.
const (
	KeyFileMode  fs.FileMode = 0o600
	CertFileMode fs.FileMode = 0o644
	DirMode      fs.FileMode = 0o755
)

// EncodeCertPEM encodes one certificate as PEM.
func EncodeCertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: CertificateBlockType, Bytes: cert.Raw})
}

// EncodeCertsPEM encodes certificates as consecutive PEM blocks.
func EncodeCertsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, EncodeCertPEM(c)...)
	}
	return out
}

// ParseCertsPEM parses every CERTIFICATE block of data; other blocks (a key
// in a combined file) are skipped. No certificate at all is an error.
func ParseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != CertificateBlockType {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "parse certificate")
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errdefs.Invalid("no certificate found in PEM data")
	}
	return certs, nil
}

// ParseCertPEM parses the first certificate of data.
func ParseCertPEM(data []byte) (*x509.Certificate, error) {
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// EncodeKeyPEM encodes a private key the way Kubernetes does: ECDSA as
// "EC PRIVATE KEY" (SEC 1), RSA as "RSA PRIVATE KEY" (PKCS #1), anything
// else as "PRIVATE KEY" (PKCS #8).
func EncodeKeyPEM(key crypto.Signer) ([]byte, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, fmt.Errorf("marshal EC private key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: ECPrivateKeyBlockType, Bytes: der}), nil
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: RSAPrivateKeyBlockType, Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	default:
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("marshal private key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: PrivateKeyBlockType, Bytes: der}), nil
	}
}

// ParseKeyPEM parses the first private key block of data (EC, RSA or
// PKCS #8); other blocks (a certificate in a combined file) are skipped.
func ParseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errdefs.Invalid("no private key found in PEM data")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case ECPrivateKeyBlockType:
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case RSAPrivateKeyBlockType:
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case PrivateKeyBlockType:
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "parse "+block.Type)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, errdefs.Invalid("private key of type %T cannot sign", key)
		}
		return signer, nil
	}
}

// EncodePublicKeyPEM encodes a public key as a PKIX "PUBLIC KEY" block (the
// format of kubeadm's sa.pub).
func EncodePublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PublicKeyBlockType, Bytes: der}), nil
}

// ParsePublicKeyPEM parses the first "PUBLIC KEY" block of data.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errdefs.Invalid("no public key found in PEM data")
		}
		if block.Type != PublicKeyBlockType {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, errdefs.Wrap(errdefs.ClassInvalid, err, "parse public key")
		}
		switch pub.(type) {
		case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
			return pub, nil
		default:
			return nil, errdefs.Invalid("unsupported public key type %T", pub)
		}
	}
}

// WriteFile writes data to path atomically (a temporary file in the same
// directory, then a rename) with the given mode, creating the parent
// directories. A reader never sees a half-written certificate or key.
func WriteFile(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	cleanup := func() { _ = os.Remove(name) }
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// readFile reads a file, turning a missing file into a NotFound error.
func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errdefs.Wrap(errdefs.ClassNotFound, err, "read "+path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

func wrapFile(path string, err error) error { return fmt.Errorf("%s: %w", path, err) }

// ReadCertFile reads the certificates of a PEM file.
func ReadCertFile(path string) ([]*x509.Certificate, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertsPEM(data)
	if err != nil {
		return nil, wrapFile(path, err)
	}
	return certs, nil
}

// ReadKeyFile reads the private key of a PEM file.
func ReadKeyFile(path string) (crypto.Signer, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	key, err := ParseKeyPEM(data)
	if err != nil {
		return nil, wrapFile(path, err)
	}
	return key, nil
}

// WriteCertFile writes certificates as PEM with mode 0644.
func WriteCertFile(path string, certs ...*x509.Certificate) error {
	return WriteFile(path, EncodeCertsPEM(certs...), CertFileMode)
}

// WriteKeyFile writes a private key as PEM with mode 0600.
func WriteKeyFile(path string, key crypto.Signer) error {
	data, err := EncodeKeyPEM(key)
	if err != nil {
		return err
	}
	return WriteFile(path, data, KeyFileMode)
}
