package pki

import (
	"crypto/tls"
	"crypto/x509"
)

// ServerTLSConfig is the TLS configuration of every minik8s server: TLS 1.3
// only, serving cert. With requireClientCert the client must present a
// certificate that chains to caPool (tls.RequireAndVerifyClientCert); without
// it a client certificate is verified against caPool when one is given, so a
// server can also admit callers that authenticate otherwise (a bootstrap
// token). caPool may be nil only when requireClientCert is false; then client
// certificates are not requested at all.
func ServerTLSConfig(caPool *x509.CertPool, cert *tls.Certificate, requireClientCert bool) *tls.Config {
	cfg := serverBase(caPool, requireClientCert)
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg
}

func serverBase(caPool *x509.CertPool, requireClientCert bool) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		ClientCAs:  caPool,
	}
	switch {
	case requireClientCert:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case caPool != nil:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	default:
		cfg.ClientAuth = tls.NoClientCert
	}
	return cfg
}

// ClientTLSConfig is the TLS configuration of every minik8s client: TLS 1.3
// only, the server verified against caPool (which must not be nil) for
// serverName (a DNS name or an IP literal), and cert as the client
// certificate when it is not nil.
func ClientTLSConfig(caPool *x509.CertPool, cert *tls.Certificate, serverName string) *tls.Config {
	cfg := clientBase(caPool, serverName)
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg
}

func clientBase(caPool *x509.CertPool, serverName string) *tls.Config {
	if caPool == nil {
		// Never fall back to the system roots: a minik8s client trusts only the
		// cluster CA. An empty pool makes every handshake fail loudly.
		caPool = x509.NewCertPool()
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		RootCAs:    caPool,
		ServerName: serverName,
	}
}

// InsecureDiscoveryTLSConfig is a TLS 1.3 client configuration that does not
// verify the server. It exists only for token discovery, where the client
// reads the public cluster-info before it trusts anything and then checks what
// it read against the CA hash and the token signature. Never send a secret
// over a connection made with it.
func InsecureDiscoveryTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, //nolint:gosec // discovery: verified out of band (CA hash + JWS)
		NextProtos:         []string{"h2"},
	}
}

// CertPoolFromPEM builds a certificate pool from PEM data holding one or more
// CA certificates.
func CertPoolFromPEM(caPEM []byte) (*x509.CertPool, error) {
	certs, err := ParseCertsPEM(caPEM)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// CertPoolFromFile builds a certificate pool from a PEM file of CA
// certificates.
func CertPoolFromFile(path string) (*x509.CertPool, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	pool, err := CertPoolFromPEM(data)
	if err != nil {
		return nil, wrapFile(path, err)
	}
	return pool, nil
}
