package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"minik8s/pkg/apis/errdefs"
)

// Dir is a directory of certificates and keys named as kubeadm names them:
// <name>.crt and <name>.key, where a name may contain a subdirectory
// ("etcd/ca" -> etcd/ca.crt, etcd/ca.key).
type Dir string

// CertPath is the path of the named certificate.
func (d Dir) CertPath(name string) string { return filepath.Join(string(d), name+".crt") }

// KeyPath is the path of the named private key.
func (d Dir) KeyPath(name string) string { return filepath.Join(string(d), name+".key") }

// PublicKeyPath is the path of the named public key (<name>.pub, as sa.pub).
func (d Dir) PublicKeyPath(name string) string { return filepath.Join(string(d), name+".pub") }

// LoadCert reads the named certificate.
func (d Dir) LoadCert(name string) (*x509.Certificate, error) {
	certs, err := ReadCertFile(d.CertPath(name))
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// Load reads the named certificate and key and checks that they belong
// together.
func (d Dir) Load(name string) (*KeyPair, error) {
	cert, err := d.LoadCert(name)
	if err != nil {
		return nil, err
	}
	key, err := ReadKeyFile(d.KeyPath(name))
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s: %w", d.KeyPath(name), errKeyMismatch)
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

// Write writes the named certificate (0644) and key (0600). The key is
// written first, so a reader that finds the certificate finds its key.
func (d Dir) Write(name string, kp *KeyPair) error {
	if err := WriteKeyFile(d.KeyPath(name), kp.Key); err != nil {
		return err
	}
	return WriteCertFile(d.CertPath(name), kp.Cert)
}

// exists reports whether path exists; an error other than "does not exist"
// is returned.
func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("stat %s: %w", path, err)
}

// pairState says whether the named certificate and key exist: both (true),
// neither (false), or only one of them (an error naming the missing file).
func (d Dir) pairState(name string) (bool, error) {
	c, err := exists(d.CertPath(name))
	if err != nil {
		return false, err
	}
	k, err := exists(d.KeyPath(name))
	if err != nil {
		return false, err
	}
	switch {
	case c && k:
		return true, nil
	case !c && !k:
		return false, nil
	case c:
		return false, errdefs.Precondition("certificate %q exists at %s but its key %s does not", name, d.CertPath(name), d.KeyPath(name))
	default:
		return false, errdefs.Precondition("key %q exists at %s but its certificate %s does not", name, d.KeyPath(name), d.CertPath(name))
	}
}

// EnsureCA loads the named CA when it exists and is a valid CA now, or
// creates and writes a new one from cfg. reused says which happened. An
// existing CA that is not a CA, has expired or lacks its key is an error
// naming it; it is never overwritten.
func (d Dir) EnsureCA(name string, cfg CertConfig) (kp *KeyPair, reused bool, err error) {
	found, err := d.pairState(name)
	if err != nil {
		return nil, false, err
	}
	if found {
		kp, err := d.Load(name)
		if err != nil {
			return nil, false, fmt.Errorf("existing CA %q: %w", name, err)
		}
		if !kp.Cert.IsCA {
			return nil, false, errdefs.Precondition("existing certificate %q (%s) is not a CA", name, d.CertPath(name))
		}
		if err := VerifySignedBy(kp.Cert, kp.Cert, 0, nowOr(cfg.Now)); err != nil {
			return nil, false, fmt.Errorf("existing CA %q (%s): %w", name, d.CertPath(name), err)
		}
		return kp, true, nil
	}
	kp, err = NewCA(cfg)
	if err != nil {
		return nil, false, err
	}
	if err := d.Write(name, kp); err != nil {
		return nil, false, err
	}
	return kp, false, nil
}

// EnsureCert loads the named certificate when it exists and is valid for
// cfg (signed by ca, valid now, carrying cfg's usages and covering every SAN
// of cfg), or issues and writes a new one. reused says which happened. An
// existing certificate that is not valid for cfg is an error naming the
// certificate and, for SANs, the missing names; it is never overwritten.
func (d Dir) EnsureCert(name string, ca *KeyPair, cfg CertConfig) (kp *KeyPair, reused bool, err error) {
	found, err := d.pairState(name)
	if err != nil {
		return nil, false, err
	}
	if found {
		kp, err := d.Load(name)
		if err != nil {
			return nil, false, fmt.Errorf("existing certificate %q: %w", name, err)
		}
		if err := VerifySignedBy(kp.Cert, ca.Cert, cfg.Usages, nowOr(cfg.Now)); err != nil {
			return nil, false, fmt.Errorf("existing certificate %q (%s): %w", name, d.CertPath(name), err)
		}
		have := AltNames{DNSNames: kp.Cert.DNSNames, IPs: kp.Cert.IPAddresses}
		if missing := have.Missing(cfg.AltNames); len(missing) > 0 {
			return nil, false, errdefs.Precondition(
				"existing certificate %q (%s) is not valid for %s: it is signed for DNS names [%s] and IPs [%s]; remove it and its key to have it regenerated",
				name, d.CertPath(name), strings.Join(missing, ", "),
				strings.Join(have.DNSNames, " "), ipList(have.IPs))
		}
		return kp, true, nil
	}
	kp, err = NewCert(ca, cfg)
	if err != nil {
		return nil, false, err
	}
	if err := d.Write(name, kp); err != nil {
		return nil, false, err
	}
	return kp, false, nil
}

// EnsureKeyPair loads the named private key (<name>.key) and checks its
// public key (<name>.pub) when they exist, or creates and writes both (key
// 0600, public key 0644), as kubeadm's service-account key sa.key/sa.pub.
func (d Dir) EnsureKeyPair(name string) (key crypto.Signer, reused bool, err error) {
	keyPath, pubPath := d.KeyPath(name), d.PublicKeyPath(name)
	k, err := exists(keyPath)
	if err != nil {
		return nil, false, err
	}
	if k {
		key, err := ReadKeyFile(keyPath)
		if err != nil {
			return nil, false, err
		}
		data, err := readFile(pubPath)
		if err != nil {
			return nil, false, fmt.Errorf("existing key %q: %w", name, err)
		}
		pub, err := ParsePublicKeyPEM(data)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", pubPath, err)
		}
		if !publicKeysEqual(pub, key.Public()) {
			return nil, false, errdefs.Precondition("existing key %q: %s does not match %s", name, pubPath, keyPath)
		}
		return key, true, nil
	}
	key, err = GenerateKey()
	if err != nil {
		return nil, false, err
	}
	pubPEM, err := EncodePublicKeyPEM(key.Public())
	if err != nil {
		return nil, false, err
	}
	if err := WriteKeyFile(keyPath, key); err != nil {
		return nil, false, err
	}
	if err := WriteFile(pubPath, pubPEM, CertFileMode); err != nil {
		return nil, false, err
	}
	return key, false, nil
}

func nowOr(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

func ipList(ips []net.IP) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, " ")
}
