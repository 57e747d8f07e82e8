package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
)

// CertReloader serves a certificate and key from files and picks up a
// replaced file (certificate rotation) on the next handshake. Each handshake
// costs two stat calls; the files are parsed again only when one changed.
// When the new files do not form a valid pair yet (the certificate is
// replaced but the key not yet), the previous pair is kept and the load is
// retried on the next handshake. certFile and keyFile may be the same file
// holding both PEM blocks (as the kubelet's kubelet-client-current.pem).
type CertReloader struct {
	certFile, keyFile string

	mu        sync.Mutex
	cert      *tls.Certificate
	certStat  os.FileInfo
	keyStat   os.FileInfo
	lastError error
}

// NewCertReloader loads the pair once; an unreadable or invalid pair is an
// error.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile}
	if _, err := r.Certificate(); err != nil {
		return nil, err
	}
	return r, nil
}

// Certificate returns the current pair, reloading it when a file changed.
func (r *CertReloader) Certificate() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs, cerr := os.Stat(r.certFile)
	ks, kerr := os.Stat(r.keyFile)
	if cerr == nil && kerr == nil && r.cert != nil && sameStat(cs, r.certStat) && sameStat(ks, r.keyStat) {
		return r.cert, nil
	}
	cert, err := LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.lastError = err
		if r.cert != nil {
			return r.cert, nil
		}
		return nil, err
	}
	r.cert, r.certStat, r.keyStat, r.lastError = cert, cs, ks, nil
	return r.cert, nil
}

// LastError is the error of the latest failed reload, nil after a success.
func (r *CertReloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastError
}

// GetCertificate is a tls.Config.GetCertificate for servers.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate()
}

// GetClientCertificate is a tls.Config.GetClientCertificate for clients.
func (r *CertReloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.Certificate()
}

// ServerTLSConfig is ServerTLSConfig serving the reloaded certificate.
func (r *CertReloader) ServerTLSConfig(caPool *x509.CertPool, requireClientCert bool) *tls.Config {
	cfg := serverBase(caPool, requireClientCert)
	cfg.GetCertificate = r.GetCertificate
	return cfg
}

// ClientTLSConfig is ClientTLSConfig presenting the reloaded certificate.
func (r *CertReloader) ClientTLSConfig(caPool *x509.CertPool, serverName string) *tls.Config {
	cfg := clientBase(caPool, serverName)
	cfg.GetClientCertificate = r.GetClientCertificate
	return cfg
}

func sameStat(a, b os.FileInfo) bool {
	return b != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// LoadX509KeyPair reads a certificate (chain) and its key from PEM files,
// which may be one combined file, and checks that they belong together.
func LoadX509KeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := readFile(certFile)
	if err != nil {
		return nil, err
	}
	keyPEM := certPEM
	if keyFile != certFile {
		if keyPEM, err = readFile(keyFile); err != nil {
			return nil, err
		}
	}
	return X509KeyPair(certPEM, keyPEM)
}

// X509KeyPair builds a TLS certificate from PEM data, accepting (unlike
// tls.X509KeyPair) PEM data that holds both the certificate and the key.
func X509KeyPair(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	certs, err := ParseCertsPEM(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(certs[0].PublicKey, key.Public()) {
		return nil, fmt.Errorf("certificate %q: %w", certs[0].Subject.CommonName, errKeyMismatch)
	}
	out := &tls.Certificate{PrivateKey: key, Leaf: certs[0]}
	for _, c := range certs {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}
