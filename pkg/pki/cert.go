package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"time"

	"minik8s/pkg/apis/errdefs"
)

// Lifetimes, as kubeadm's.
const (
	CADuration   = 10 * 365 * 24 * time.Hour
	CertDuration = 365 * 24 * time.Hour
	// clockSkew backdates NotBefore so a freshly issued certificate is valid
	// on a machine whose clock is a little behind.
	clockSkew = 5 * time.Minute
)

var errKeyMismatch = errdefs.Invalid("private key does not match the certificate's public key")

// GenerateKey creates an ECDSA P-256 private key.
func GenerateKey() (crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ECDSA P-256 key: %w", err)
	}
	return key, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// KeyPair is a certificate and its private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// CertPEM is the certificate as PEM.
func (kp *KeyPair) CertPEM() []byte { return EncodeCertPEM(kp.Cert) }

// KeyPEM is the private key as PEM.
func (kp *KeyPair) KeyPEM() ([]byte, error) { return EncodeKeyPEM(kp.Key) }

// TLSCertificate is the pair as a tls.Certificate.
func (kp *KeyPair) TLSCertificate() *tls.Certificate {
	return &tls.Certificate{Certificate: [][]byte{kp.Cert.Raw}, PrivateKey: kp.Key, Leaf: kp.Cert}
}

// CertPool is a pool holding only this certificate (for a CA).
func (kp *KeyPair) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(kp.Cert)
	return p
}

// Usage is what a leaf certificate may be used for.
type Usage int

// Usages. A certificate may have both.
const (
	UsageServer Usage = 1 << iota // TLS server authentication
	UsageClient                   // TLS client authentication
)

func (u Usage) extKeyUsages() []x509.ExtKeyUsage {
	var out []x509.ExtKeyUsage
	if u&UsageServer != 0 {
		out = append(out, x509.ExtKeyUsageServerAuth)
	}
	if u&UsageClient != 0 {
		out = append(out, x509.ExtKeyUsageClientAuth)
	}
	return out
}

// UsageOf reports the usages a certificate carries.
func UsageOf(cert *x509.Certificate) Usage {
	var u Usage
	for _, e := range cert.ExtKeyUsage {
		switch e {
		case x509.ExtKeyUsageServerAuth:
			u |= UsageServer
		case x509.ExtKeyUsageClientAuth:
			u |= UsageClient
		case x509.ExtKeyUsageAny:
			u |= UsageServer | UsageClient
		}
	}
	return u
}

// String names the usages as Kubernetes' CSR API does.
func (u Usage) String() string {
	switch u {
	case UsageServer:
		return "server auth"
	case UsageClient:
		return "client auth"
	case UsageServer | UsageClient:
		return "server auth, client auth"
	default:
		return "none"
	}
}

// AltNames are the subject alternative names of a certificate.
type AltNames struct {
	DNSNames []string
	IPs      []net.IP
}

// Add appends a name, as an IP when it parses as one and as a DNS name
// otherwise, unless it is there already.
func (a *AltNames) Add(names ...string) {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			a.AddIP(ip)
			continue
		}
		if n != "" && !containsString(a.DNSNames, n) {
			a.DNSNames = append(a.DNSNames, n)
		}
	}
}

// AddIP appends IPs that are not there already.
func (a *AltNames) AddIP(ips ...net.IP) {
	for _, ip := range ips {
		if ip == nil || containsIP(a.IPs, ip) {
			continue
		}
		a.IPs = append(a.IPs, ip)
	}
}

// Missing lists the names of want that a certificate with names a does not
// cover (exact DNS names, or wildcards as TLS verification matches them;
// IPs compared as addresses).
func (a AltNames) Missing(want AltNames) []string {
	probe := &x509.Certificate{DNSNames: a.DNSNames, IPAddresses: a.IPs}
	var missing []string
	for _, d := range want.DNSNames {
		if !containsString(a.DNSNames, d) && probe.VerifyHostname(d) != nil {
			missing = append(missing, d)
		}
	}
	for _, ip := range want.IPs {
		if !containsIP(a.IPs, ip) {
			missing = append(missing, ip.String())
		}
	}
	return missing
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsIP(list []net.IP, ip net.IP) bool {
	for _, x := range list {
		if x.Equal(ip) {
			return true
		}
	}
	return false
}

// CertConfig describes a certificate to issue.
type CertConfig struct {
	CommonName   string
	Organization []string
	AltNames     AltNames
	Usages       Usage
	// Duration is the validity; zero means CertDuration for a leaf and
	// CADuration for a CA.
	Duration time.Duration
	// Now is the issuing time; zero means time.Now().
	Now time.Time
}

func (c CertConfig) window(defaultDuration time.Duration) (time.Time, time.Time) {
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	d := c.Duration
	if d <= 0 {
		d = defaultDuration
	}
	return now.Add(-clockSkew).UTC(), now.Add(d).UTC()
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).SetInt64(math.MaxInt64-1))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	spki, err := parseSPKI(der)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki) //nolint:gosec // RFC 5280 method 1 key identifier, not a security property
	return sum[:], nil
}

// NewCA creates a key and a self-signed CA certificate (10 years unless
// cfg.Duration says otherwise) with cfg's subject.
func NewCA(cfg CertConfig) (*KeyPair, error) {
	if cfg.CommonName == "" {
		return nil, errdefs.Invalid("CA common name must not be empty")
	}
	key, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	skid, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := cfg.window(CADuration)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cfg.CommonName, Organization: cfg.Organization},
		DNSNames:              []string{cfg.CommonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          skid,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate %q: %w", cfg.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate %q: %w", cfg.CommonName, err)
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

// NewCert creates a key and a leaf certificate signed by ca.
func NewCert(ca *KeyPair, cfg CertConfig) (*KeyPair, error) {
	key, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	cert, err := SignCert(ca, key.Public(), cfg)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

// SignCert issues a leaf certificate for pub, signed by ca, with cfg's
// subject, SANs and usages (1 year unless cfg.Duration says otherwise, never
// beyond the CA's own expiry).
func SignCert(ca *KeyPair, pub crypto.PublicKey, cfg CertConfig) (*x509.Certificate, error) {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return nil, errdefs.Invalid("sign certificate %q: no CA key pair", cfg.CommonName)
	}
	if !ca.Cert.IsCA {
		return nil, errdefs.Invalid("sign certificate %q: %q is not a CA", cfg.CommonName, ca.Cert.Subject.CommonName)
	}
	if cfg.CommonName == "" {
		return nil, errdefs.Invalid("certificate common name must not be empty")
	}
	if cfg.Usages == 0 {
		return nil, errdefs.Invalid("certificate %q: at least one usage is required", cfg.CommonName)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	notBefore, notAfter := cfg.window(CertDuration)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: cfg.CommonName, Organization: cfg.Organization},
		DNSNames:       cfg.AltNames.DNSNames,
		IPAddresses:    cfg.AltNames.IPs,
		NotBefore:      notBefore,
		NotAfter:       notAfter,
		KeyUsage:       x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    cfg.Usages.extKeyUsages(),
		AuthorityKeyId: ca.Cert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("create certificate %q: %w", cfg.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %q: %w", cfg.CommonName, err)
	}
	return cert, nil
}

// VerifySignedBy checks that cert chains to ca, is valid at now and carries
// the usages u (any usage when u is zero).
func VerifySignedBy(cert, ca *x509.Certificate, u Usage, now time.Time) error {
	opts := x509.VerifyOptions{Roots: x509.NewCertPool(), CurrentTime: now, KeyUsages: u.extKeyUsages()}
	opts.Roots.AddCert(ca)
	if len(opts.KeyUsages) == 0 {
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	if _, err := cert.Verify(opts); err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return errdefs.Wrap(errdefs.ClassExpired, err, "certificate has expired or is not yet valid")
		}
		return errdefs.Wrap(errdefs.ClassInvalid, err, fmt.Sprintf("certificate is not signed by CA %q", ca.Subject.CommonName))
	}
	return nil
}
