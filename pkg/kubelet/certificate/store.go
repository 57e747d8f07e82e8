// Package certificate is the kubelet's client certificate: the TLS
// bootstrap that turns a bootstrap token into a node certificate, and its
// rotation, as Kubernetes' kubelet does them.
//
// With --bootstrap-kubeconfig and no usable --kubeconfig, the kubelet makes
// a key, submits a CertificateSigningRequest for CN=system:node:<name>,
// O=system:nodes authenticated by the token, waits for the apiserver to
// approve and sign it, stores certificate and key in
// <root-dir>/pki/kubelet-client-<time>.pem with kubelet-client-current.pem
// pointing at it, and writes --kubeconfig to reference that file; from then
// on (also after a restart) it uses the stored certificate.
//
// Once 70-90% (jittered) of the certificate's lifetime has passed, the
// Manager asks for a new one the same way, authenticated by the current
// certificate, and swaps the link. The kubelet's client reads its
// certificate through pkg/pki's CertReloader, so new connections present
// the new certificate; nothing restarts and no pod is touched.
package certificate

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
)

// File names in the certificate directory, as Kubernetes'.
const (
	// ClientPrefix names the kubelet's client certificate files.
	ClientPrefix = "kubelet-client"
	// CurrentSuffix marks the link to the certificate in use.
	CurrentSuffix = "-current.pem"
	// timeLayout is the time in a stored file's name.
	timeLayout = "2006-01-02-15-04-05"
)

// Store keeps certificates with their keys in a directory as the kubelet
// does: each one in <prefix>-<time>.pem (certificate, then key; mode 0600),
// and <prefix>-current.pem a symbolic link to the one in use, replaced
// atomically.
type Store struct {
	Dir    string
	Prefix string
}

// ClientStore is the store of the kubelet's client certificate in dir
// (<root-dir>/pki).
func ClientStore(dir string) Store { return Store{Dir: dir, Prefix: ClientPrefix} }

// CurrentPath is the path of the link to the certificate in use.
func (s Store) CurrentPath() string { return filepath.Join(s.Dir, s.Prefix+CurrentSuffix) }

// Current loads the certificate in use and its key; NotFound when there is
// none.
func (s Store) Current() (*tls.Certificate, error) {
	p := s.CurrentPath()
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, errdefs.NotFound("no certificate in %s", p)
	}
	pair, err := pki.LoadX509KeyPair(p, p)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", p, err)
	}
	return pair, nil
}

// Update stores a new certificate (PEM, possibly a chain) with its key and
// makes it the current one; it returns the path of the new file.
func (s Store) Update(certPEM []byte, key crypto.Signer, now time.Time) (string, error) {
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return "", err
	}
	if _, err := pki.X509KeyPair(certPEM, keyPEM); err != nil {
		return "", fmt.Errorf("the certificate does not match its key: %w", err)
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return "", fmt.Errorf("create certificate directory: %w", err)
	}
	base := s.Prefix + "-" + now.UTC().Format(timeLayout)
	name := base + ".pem"
	for i := 1; ; i++ {
		if _, err := os.Lstat(filepath.Join(s.Dir, name)); errors.Is(err, os.ErrNotExist) {
			break
		}
		name = base + "-" + strconv.Itoa(i) + ".pem"
	}
	path := filepath.Join(s.Dir, name)
	data := append(append([]byte{}, certPEM...), keyPEM...)
	if err := pki.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("store certificate: %w", err)
	}
	// A new link, renamed over the old one: a reader sees the old or the
	// new certificate, never none.
	tmp := s.CurrentPath() + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(name, tmp); err != nil {
		return "", fmt.Errorf("link the new certificate: %w", err)
	}
	if err := os.Rename(tmp, s.CurrentPath()); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("link the new certificate: %w", err)
	}
	return path, nil
}

// usable reports why cert cannot be used at now, or nil.
func usable(cert *x509.Certificate, now time.Time) error {
	if cert == nil {
		return errors.New("no certificate")
	}
	if now.Before(cert.NotBefore) {
		return fmt.Errorf("the certificate is valid only from %s", cert.NotBefore.Format(time.RFC3339))
	}
	if !now.Before(cert.NotAfter) {
		return fmt.Errorf("the certificate expired at %s", cert.NotAfter.Format(time.RFC3339))
	}
	return nil
}
