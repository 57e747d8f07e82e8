package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"minik8s/pkg/apis/errdefs"
)

func mustCA(t *testing.T, cn string) *KeyPair {
	t.Helper()
	ca, err := NewCA(CertConfig{CommonName: cn})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func alt(names ...string) AltNames {
	var a AltNames
	a.Add(names...)
	return a
}

func TestCAProperties(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ca, err := NewCA(CertConfig{CommonName: "kubernetes", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("not a CA: IsCA=%v keyUsage=%v", c.IsCA, c.KeyUsage)
	}
	if c.Subject.CommonName != "kubernetes" || c.Issuer.CommonName != "kubernetes" {
		t.Errorf("subject %v issuer %v", c.Subject, c.Issuer)
	}
	if got := c.NotAfter.Sub(now); got != CADuration {
		t.Errorf("CA lifetime %v, want %v", got, CADuration)
	}
	if c.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", c.PublicKeyAlgorithm)
	}
	if err := VerifySignedBy(c, c, 0, now); err != nil {
		t.Errorf("self-signed CA does not verify: %v", err)
	}
}

func TestLeafChainUsagesAndSANs(t *testing.T) {
	ca := mustCA(t, "kubernetes")
	other := mustCA(t, "other")
	now := time.Now()
	tests := []struct {
		name      string
		cfg       CertConfig
		verifyAs  Usage
		wantValid bool
	}{
		{"server as server", CertConfig{CommonName: "kube-apiserver", Usages: UsageServer, AltNames: alt("k8s-master", "10.1.0.1")}, UsageServer, true},
		{"server as client", CertConfig{CommonName: "kube-apiserver", Usages: UsageServer}, UsageClient, false},
		{"client as client", CertConfig{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}, Usages: UsageClient}, UsageClient, true},
		{"client as server", CertConfig{CommonName: "kubernetes-admin", Usages: UsageClient}, UsageServer, false},
		{"peer as server", CertConfig{CommonName: "k8s-master", Usages: UsageServer | UsageClient, AltNames: alt("localhost", "::1")}, UsageServer, true},
		{"peer as client", CertConfig{CommonName: "k8s-master", Usages: UsageServer | UsageClient}, UsageClient, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kp, err := NewCert(ca, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = VerifySignedBy(kp.Cert, ca.Cert, tt.verifyAs, now)
			if (err == nil) != tt.wantValid {
				t.Fatalf("verify as %v: err=%v, want valid=%v", tt.verifyAs, err, tt.wantValid)
			}
			if err := VerifySignedBy(kp.Cert, other.Cert, 0, now); err == nil {
				t.Error("verifies against another CA")
			}
			c := kp.Cert
			if c.IsCA {
				t.Error("leaf is a CA")
			}
			if c.Subject.CommonName != tt.cfg.CommonName || strings.Join(c.Subject.Organization, ",") != strings.Join(tt.cfg.Organization, ",") {
				t.Errorf("subject %v", c.Subject)
			}
			if UsageOf(c) != tt.cfg.Usages {
				t.Errorf("usages %v, want %v", UsageOf(c), tt.cfg.Usages)
			}
			if missing := (AltNames{DNSNames: c.DNSNames, IPs: c.IPAddresses}).Missing(tt.cfg.AltNames); len(missing) > 0 {
				t.Errorf("missing SANs %v", missing)
			}
			if d := c.NotAfter.Sub(c.NotBefore); d < CertDuration || d > CertDuration+time.Hour {
				t.Errorf("lifetime %v, want about %v", d, CertDuration)
			}
			if !bytes.Equal(c.AuthorityKeyId, ca.Cert.SubjectKeyId) {
				t.Error("authority key id does not name the CA")
			}
		})
	}
}

func TestLeafNeverOutlivesCA(t *testing.T) {
	ca, err := NewCA(CertConfig{CommonName: "short", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	kp, err := NewCert(ca, CertConfig{CommonName: "x", Usages: UsageClient})
	if err != nil {
		t.Fatal(err)
	}
	if kp.Cert.NotAfter.After(ca.Cert.NotAfter) {
		t.Errorf("leaf expires %v after CA %v", kp.Cert.NotAfter, ca.Cert.NotAfter)
	}
}

func TestSignCertRejects(t *testing.T) {
	ca := mustCA(t, "ca")
	leaf, err := NewCert(ca, CertConfig{CommonName: "leaf", Usages: UsageClient})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ca   *KeyPair
		cfg  CertConfig
	}{
		{"no usage", ca, CertConfig{CommonName: "x"}},
		{"no common name", ca, CertConfig{Usages: UsageClient}},
		{"signer not a CA", leaf, CertConfig{CommonName: "x", Usages: UsageClient}},
		{"no CA", nil, CertConfig{CommonName: "x", Usages: UsageClient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCert(tt.ca, tt.cfg); !errdefs.IsInvalid(err) {
				t.Errorf("err = %v, want Invalid", err)
			}
		})
	}
}

// knownCAHash was computed with
// `openssl x509 -pubkey -noout -in testdata/known-ca.crt | openssl pkey -pubin -outform der | sha256sum`.
const knownCAHash = "sha256:e8dcb2640ba74bec2bb4cddcca6f0f63a33f87520a36d4d521b2831d1a573462"

func TestCAHashKnownAnswer(t *testing.T) {
	certs, err := ReadCertFile("testdata/known-ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	if got := CAHash(certs[0]); got != knownCAHash {
		t.Errorf("CAHash = %s, want %s", got, knownCAHash)
	}
	der, err := x509.MarshalPKIXPublicKey(certs[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != knownCAHash {
		t.Errorf("hash of re-marshalled public key = %s", got)
	}
}

// TestCAHashMatchesOpenSSL cross-checks a fresh CA against openssl, which
// .ci/run installs.
func TestCAHashMatchesOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required for this cross-check (.ci/run installs it): %v", err)
	}
	ca := mustCA(t, "kubernetes")
	path := filepath.Join(t.TempDir(), "ca.crt")
	if err := WriteCertFile(path, ca.Cert); err != nil {
		t.Fatal(err)
	}
	pub, err := exec.Command(openssl, "x509", "-pubkey", "-noout", "-in", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(openssl, "pkey", "-pubin", "-outform", "der")
	cmd.Stdin = bytes.NewReader(pub)
	der, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	if want := "sha256:" + hex.EncodeToString(sum[:]); CAHash(ca.Cert) != want {
		t.Errorf("CAHash = %s, openssl says %s", CAHash(ca.Cert), want)
	}
}

func TestVerifyCAHash(t *testing.T) {
	certs, err := ReadCertFile("testdata/known-ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		hashes []string
		class  func(error) bool
	}{
		{"match", []string{knownCAHash}, func(err error) bool { return err == nil }},
		{"match upper case", []string{strings.ToUpper(knownCAHash)}, func(err error) bool { return err == nil }},
		{"match second", []string{"sha256:" + strings.Repeat("0", 64), knownCAHash}, func(err error) bool { return err == nil }},
		{"mismatch", []string{"sha256:" + strings.Repeat("0", 64)}, errdefs.IsUnauthenticated},
		{"no prefix", []string{strings.TrimPrefix(knownCAHash, "sha256:")}, errdefs.IsInvalid},
		{"short", []string{"sha256:abcd"}, errdefs.IsInvalid},
		{"none", nil, errdefs.IsUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyCAHash(certs[0], tt.hashes...); !tt.class(err) {
				t.Errorf("VerifyCAHash = %v", err)
			}
		})
	}
}

// Vectors from Kubernetes' cluster-bootstrap/token/jws tests.
func TestJWSKnownAnswer(t *testing.T) {
	const (
		content = "Hello from the other side. I must have called a thousand times."
		secret  = "my voice is my passcode"
		id      = "joshua"
	)
	tests := []struct {
		content string
		want    string
	}{
		{content, "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8"},
		{"", "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk"},
	}
	for _, tt := range tests {
		got, err := SignJWS([]byte(tt.content), id, secret)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("SignJWS(%q) = %s, want %s", tt.content, got, tt.want)
		}
		if err := VerifyJWS(tt.want, []byte(tt.content), id, secret); err != nil {
			t.Errorf("VerifyJWS(kubernetes vector) = %v", err)
		}
	}
}

func TestJWSVerify(t *testing.T) {
	tok, err := GenerateToken()
	if err != nil {
		t.Fatal(err)
	}
	tk, err := ParseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("apiVersion: v1\nkind: Config\n")
	sig, err := SignJWS(content, tk.ID, tk.Secret)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, err := SignJWS(content, tk.ID, "0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sig     string
		content []byte
		id      string
		secret  string
		class   func(error) bool
		msg     string
	}{
		{"valid", sig, content, tk.ID, tk.Secret, func(err error) bool { return err == nil }, ""},
		{"tampered content", sig, []byte("apiVersion: v1\nkind: Config\n#"), tk.ID, tk.Secret, errdefs.IsUnauthenticated, "does not match"},
		{"wrong secret", otherSig, content, tk.ID, tk.Secret, errdefs.IsUnauthenticated, "does not match"},
		{"wrong token id", sig, content, "zzzzzz", tk.Secret, errdefs.IsUnauthenticated, "signed with token ID"},
		{"extra suffix", sig + "foo", content, tk.ID, tk.Secret, errdefs.IsUnauthenticated, "does not match"},
		{"attached payload", strings.Replace(sig, "..", ".eA.", 1), content, tk.ID, tk.Secret, errdefs.IsInvalid, "detached"},
		{"alg none", "eyJhbGciOiJub25lIiwia2lkIjoiam9zaHVhIn0..", content, "joshua", tk.Secret, errdefs.IsUnauthenticated, "not HS256"},
		{"garbage", "nope", content, tk.ID, tk.Secret, errdefs.IsInvalid, "detached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyJWS(tt.sig, tt.content, tt.id, tt.secret)
			if !tt.class(err) || (tt.msg != "" && !strings.Contains(err.Error(), tt.msg)) {
				t.Errorf("VerifyJWS = %v, want %q", err, tt.msg)
			}
		})
	}
	if _, err := SignJWS(content, "", "x"); !errdefs.IsInvalid(err) {
		t.Errorf("SignJWS with empty id = %v", err)
	}
}

func TestTokens(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)
	seen := map[string]bool{}
	counts := map[rune]int{}
	for i := 0; i < 500; i++ {
		tok, err := GenerateToken()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(tok) {
			t.Fatalf("token %q does not match %s", tok, re)
		}
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
		for _, r := range strings.ReplaceAll(tok, ".", "") {
			counts[r]++
		}
		p, err := ParseToken(tok)
		if err != nil || p.String() != tok || p.UserName() != "system:bootstrap:"+tok[:6] {
			t.Fatalf("ParseToken(%q) = %+v, %v", tok, p, err)
		}
	}
	// 11000 characters over 36 symbols: every symbol appears.
	if len(counts) != 36 {
		t.Errorf("only %d distinct characters in 500 tokens", len(counts))
	}

	bad := []string{"", "abcdef", "abcdef.0123456789abcde", "abcdef.0123456789abcdefg", "ABCDEF.0123456789abcdef",
		"abcdef:0123456789abcdef", "abcde.f0123456789abcdef", " abcdef.0123456789abcdef", "abcdef.0123456789abcdef\n"}
	for _, s := range bad {
		_, err := ParseToken(s)
		if !errdefs.IsInvalid(err) || !strings.Contains(err.Error(), "[a-z0-9]{6}.[a-z0-9]{16}") {
			t.Errorf("ParseToken(%q) = %v, want Invalid naming the format", s, err)
		}
		if len(s) > 6 && strings.Contains(err.Error(), s[7:]) {
			t.Errorf("ParseToken error echoes the secret: %v", err)
		}
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestDirEnsureWritesModesAndReuses(t *testing.T) {
	d := Dir(t.TempDir())
	ca, reused, err := d.EnsureCA("etcd/ca", CertConfig{CommonName: "etcd-ca"})
	if err != nil || reused {
		t.Fatalf("EnsureCA = reused %v, %v", reused, err)
	}
	cfg := CertConfig{CommonName: "k8s-master", Usages: UsageServer | UsageClient, AltNames: alt("k8s-master", "localhost", "10.10.10.100", "127.0.0.1", "::1")}
	leaf, reused, err := d.EnsureCert("etcd/server", ca, cfg)
	if err != nil || reused {
		t.Fatalf("EnsureCert = reused %v, %v", reused, err)
	}
	sa, reused, err := d.EnsureKeyPair("sa")
	if err != nil || reused {
		t.Fatalf("EnsureKeyPair = reused %v, %v", reused, err)
	}
	modes := map[string]os.FileMode{
		"etcd/ca.crt": 0o644, "etcd/ca.key": 0o600, "etcd/server.crt": 0o644, "etcd/server.key": 0o600,
		"sa.key": 0o600, "sa.pub": 0o644,
	}
	for name, want := range modes {
		if got := fileMode(t, filepath.Join(string(d), name)); got != want {
			t.Errorf("%s mode %v, want %v", name, got, want)
		}
	}
	entries, err := os.ReadDir(filepath.Join(string(d), "etcd"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Errorf("etcd/ holds %d files (temporary files left behind?)", len(entries))
	}

	ca2, reused, err := d.EnsureCA("etcd/ca", CertConfig{CommonName: "etcd-ca"})
	if err != nil || !reused || ca2.Cert.SerialNumber.Cmp(ca.Cert.SerialNumber) != 0 {
		t.Fatalf("second EnsureCA: reused %v, %v", reused, err)
	}
	// A subset of the SANs is covered by the existing certificate.
	sub := cfg
	sub.AltNames = alt("localhost", "127.0.0.1")
	leaf2, reused, err := d.EnsureCert("etcd/server", ca2, sub)
	if err != nil || !reused || leaf2.Cert.SerialNumber.Cmp(leaf.Cert.SerialNumber) != 0 {
		t.Fatalf("second EnsureCert: reused %v, %v", reused, err)
	}
	sa2, reused, err := d.EnsureKeyPair("sa")
	if err != nil || !reused || !publicKeysEqual(sa.Public(), sa2.Public()) {
		t.Fatalf("second EnsureKeyPair: reused %v, %v", reused, err)
	}
}

func TestDirEnsureCertRefuses(t *testing.T) {
	d := Dir(t.TempDir())
	ca, _, err := d.EnsureCA("ca", CertConfig{CommonName: "kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := CertConfig{CommonName: "kube-apiserver", Usages: UsageServer, AltNames: alt("k8s-master", "kubernetes", "10.1.0.1", "10.10.10.100")}
	if _, _, err := d.EnsureCert("apiserver", ca, cfg); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(d.CertPath("apiserver"))
	if err != nil {
		t.Fatal(err)
	}
	other := mustCA(t, "other")

	tests := []struct {
		name  string
		ca    *KeyPair
		cfg   func(CertConfig) CertConfig
		class func(error) bool
		want  []string
	}{
		{"new IP SAN", ca, func(c CertConfig) CertConfig { c.AltNames.Add("10.0.0.5"); return c },
			errdefs.IsPrecondition, []string{`"apiserver"`, d.CertPath("apiserver"), "10.0.0.5", "[k8s-master kubernetes]", "[10.1.0.1 10.10.10.100]"}},
		{"new DNS SAN", ca, func(c CertConfig) CertConfig { c.AltNames.Add("api.example.com"); return c },
			errdefs.IsPrecondition, []string{`"apiserver"`, "api.example.com"}},
		{"other CA", other, func(c CertConfig) CertConfig { return c },
			errdefs.IsInvalid, []string{`"apiserver"`, `not signed by CA "other"`}},
		{"client usage", ca, func(c CertConfig) CertConfig { c.Usages = UsageClient; return c },
			errdefs.IsInvalid, []string{`"apiserver"`}},
		{"expired", ca, func(c CertConfig) CertConfig { c.Now = time.Now().Add(2 * CertDuration); return c },
			errdefs.IsExpired, []string{`"apiserver"`, "expired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := d.EnsureCert("apiserver", tt.ca, tt.cfg(cfg))
			if !tt.class(err) {
				t.Fatalf("err = %v, wrong class", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			after, _ := os.ReadFile(d.CertPath("apiserver"))
			if !bytes.Equal(before, after) {
				t.Error("existing certificate was overwritten")
			}
		})
	}

	// Half a pair is an error naming the missing file, never silently replaced.
	if err := os.Remove(d.KeyPath("apiserver")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.EnsureCert("apiserver", ca, cfg); !errdefs.IsPrecondition(err) || !strings.Contains(err.Error(), d.KeyPath("apiserver")) {
		t.Errorf("half pair: %v", err)
	}
	// A key that does not match its certificate.
	if err := WriteKeyFile(d.KeyPath("apiserver"), other.Key); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.EnsureCert("apiserver", ca, cfg); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("mismatched key: %v", err)
	}
	// A leaf where a CA is expected.
	leaf := mustLeaf(t, ca)
	if err := d.Write("leaf", leaf); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.EnsureCA("leaf", CertConfig{CommonName: "x"}); !errdefs.IsPrecondition(err) || !strings.Contains(err.Error(), "is not a CA") {
		t.Errorf("EnsureCA on a leaf: %v", err)
	}
}

func mustLeaf(t *testing.T, ca *KeyPair) *KeyPair {
	t.Helper()
	kp, err := NewCert(ca, CertConfig{CommonName: "leaf", Usages: UsageClient})
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func TestCSRSign(t *testing.T) {
	ca := mustCA(t, "kubernetes")
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	csrPEM, err := NewCSR(key, "system:node:n1", []string{"system:nodes"}, AltNames{})
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ParseCSR(csrPEM)
	if err != nil {
		t.Fatal(err)
	}
	if csr.Subject.CommonName != "system:node:n1" || csr.Subject.Organization[0] != "system:nodes" {
		t.Errorf("subject %v", csr.Subject)
	}
	now := time.Now()
	cert, err := SignCSR(ca, csr, UsageClient, 2*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySignedBy(cert, ca.Cert, UsageClient, now); err != nil {
		t.Error(err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		t.Error("certificate is not for the requester's key")
	}
	if got := cert.NotAfter.Sub(now); got < 2*time.Hour-time.Second || got > 2*time.Hour {
		t.Errorf("lifetime %v", got)
	}
	if UsageOf(cert) != UsageClient {
		t.Errorf("usages %v", UsageOf(cert))
	}
	// The issued certificate and the requester's key make a usable pair.
	keyPEM, _ := EncodeKeyPEM(key)
	if _, err := X509KeyPair(EncodeCertPEM(cert), keyPEM); err != nil {
		t.Error(err)
	}

	// A request whose signature does not verify is refused.
	blk, _ := pem.Decode(csrPEM)
	blk.Bytes[len(blk.Bytes)-1] ^= 0xff // a bit of the signature
	tampered := pem.EncodeToMemory(blk)
	if _, err := ParseCSR(tampered); !errdefs.IsInvalid(err) {
		t.Errorf("ParseCSR(tampered) = %v", err)
	}
	if _, err := ParseCSR(EncodeCertPEM(ca.Cert)); !errdefs.IsInvalid(err) {
		t.Errorf("ParseCSR(certificate) = %v", err)
	}
}

func TestPEMCombinedAndErrors(t *testing.T) {
	ca := mustCA(t, "kubernetes")
	kp := mustLeaf(t, ca)
	keyPEM, err := kp.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(keyPEM, []byte("-----BEGIN EC PRIVATE KEY-----")) {
		t.Errorf("key PEM starts %q", keyPEM[:30])
	}
	combined := append(append([]byte{}, keyPEM...), kp.CertPEM()...)
	pair, err := X509KeyPair(combined, combined)
	if err != nil {
		t.Fatal(err)
	}
	if pair.Leaf.SerialNumber.Cmp(kp.Cert.SerialNumber) != 0 {
		t.Error("wrong leaf")
	}
	if _, err := X509KeyPair(kp.CertPEM(), mustKeyPEM(t, ca)); err == nil {
		t.Error("mismatched pair accepted")
	}
	if _, err := ParseCertsPEM(keyPEM); !errdefs.IsInvalid(err) {
		t.Errorf("ParseCertsPEM(key) = %v", err)
	}
	if _, err := ParseKeyPEM(kp.CertPEM()); !errdefs.IsInvalid(err) {
		t.Errorf("ParseKeyPEM(cert) = %v", err)
	}
	pubPEM, err := EncodePublicKeyPEM(kp.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(pubPEM)
	if err != nil || !publicKeysEqual(pub, kp.Key.Public()) {
		t.Errorf("public key round trip: %v", err)
	}
	if _, err := ReadCertFile(filepath.Join(t.TempDir(), "missing.crt")); !errdefs.IsNotFound(err) {
		t.Errorf("missing file: %v", err)
	}
}

func mustKeyPEM(t *testing.T, kp *KeyPair) []byte {
	t.Helper()
	b, err := kp.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// handshake runs one TLS handshake between the configs and returns the
// client's and the server's errors.
func handshake(t *testing.T, server, client *tls.Config) (clientErr, serverErr error, state tls.ConnectionState) {
	clientErr, serverErr, state, _ = handshake2(t, server, client)
	return clientErr, serverErr, state
}

// handshake2 is handshake that also returns the number of client
// certificates the server verified.
func handshake2(t *testing.T, server, client *tls.Config) (clientErr, serverErr error, state tls.ConnectionState, peerCerts int) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	peers := make(chan int, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			peers <- 0
			done <- err
			return
		}
		defer conn.Close()
		tc := conn.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			peers <- 0
			done <- err
			return
		}
		peers <- len(tc.ConnectionState().VerifiedChains)
		_, err = conn.Write([]byte("x"))
		done <- err
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		_, err = conn.Read(make([]byte, 1))
		state = conn.ConnectionState()
		conn.Close()
	}
	serr := <-done
	return err, serr, state, <-peers
}

func TestTLSConfigs(t *testing.T) {
	ca := mustCA(t, "kubernetes")
	other := mustCA(t, "other")
	srv, err := NewCert(ca, CertConfig{CommonName: "kube-apiserver", Usages: UsageServer, AltNames: alt("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	cli := mustLeaf(t, ca)
	foreign := mustLeaf(t, other)

	tls12 := ClientTLSConfig(ca.CertPool(), cli.TLSCertificate(), "127.0.0.1")
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12

	tests := []struct {
		name      string
		server    *tls.Config
		client    *tls.Config
		wantErr   bool
		wantPeers int
	}{
		{"mutual", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), true), ClientTLSConfig(ca.CertPool(), cli.TLSCertificate(), "127.0.0.1"), false, 1},
		{"required but absent", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), true), ClientTLSConfig(ca.CertPool(), nil, "127.0.0.1"), true, 0},
		{"required, foreign client", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), true), ClientTLSConfig(ca.CertPool(), foreign.TLSCertificate(), "127.0.0.1"), true, 0},
		{"optional, absent", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), false), ClientTLSConfig(ca.CertPool(), nil, "127.0.0.1"), false, 0},
		{"optional, own client", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), false), ClientTLSConfig(ca.CertPool(), cli.TLSCertificate(), "127.0.0.1"), false, 1},
		// The server names its CA; a client whose certificate is from
		// another CA sends none, so it is admitted unauthenticated.
		{"optional, foreign client", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), false), ClientTLSConfig(ca.CertPool(), foreign.TLSCertificate(), "127.0.0.1"), false, 0},
		{"server from other CA", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), true), ClientTLSConfig(other.CertPool(), cli.TLSCertificate(), "127.0.0.1"), true, 0},
		{"wrong server name", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), true), ClientTLSConfig(ca.CertPool(), cli.TLSCertificate(), "10.0.0.1"), true, 0},
		{"nil pool trusts nothing", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), false), ClientTLSConfig(nil, nil, "127.0.0.1"), true, 0},
		{"TLS 1.2 refused", ServerTLSConfig(ca.CertPool(), srv.TLSCertificate(), true), tls12, true, 0},
		{"discovery skips verification", ServerTLSConfig(nil, srv.TLSCertificate(), false), InsecureDiscoveryTLSConfig(), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cerr, serr, state, peers := handshake2(t, tt.server, tt.client)
			if tt.wantErr {
				if cerr == nil && serr == nil {
					t.Fatal("handshake succeeded")
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
			if state.Version != tls.VersionTLS13 {
				t.Errorf("version %x", state.Version)
			}
			if peers != tt.wantPeers {
				t.Errorf("server verified %d client chains, want %d", peers, tt.wantPeers)
			}
		})
	}
}

func TestCertReloaderPicksUpRotation(t *testing.T) {
	ca := mustCA(t, "kubernetes")
	dir := t.TempDir()
	// One combined file, as the kubelet's kubelet-client-current.pem.
	path := filepath.Join(dir, "kubelet-client-current.pem")
	write := func(kp *KeyPair) {
		t.Helper()
		if err := WriteFile(path, append(mustKeyPEM(t, kp), kp.CertPEM()...), KeyFileMode); err != nil {
			t.Fatal(err)
		}
	}
	first := mustLeaf(t, ca)
	write(first)
	r, err := NewCertReloader(path, path)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() string {
		t.Helper()
		c, err := r.GetClientCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.SerialNumber.String()
	}
	if serial() != first.Cert.SerialNumber.String() {
		t.Fatal("wrong initial certificate")
	}
	second := mustLeaf(t, ca)
	write(second)
	if serial() != second.Cert.SerialNumber.String() {
		t.Fatal("rotation not picked up")
	}
	// A broken file keeps the last good pair and records the error.
	if err := WriteFile(path, []byte("garbage"), KeyFileMode); err != nil {
		t.Fatal(err)
	}
	if serial() != second.Cert.SerialNumber.String() {
		t.Fatal("broken file replaced the good pair")
	}
	if r.LastError() == nil {
		t.Error("LastError is nil after a failed reload")
	}

	// Over a real handshake, a server built on a reloader serves the new cert.
	srvDir := t.TempDir()
	d := Dir(srvDir)
	mk := func() *KeyPair {
		kp, err := NewCert(ca, CertConfig{CommonName: "kubelet", Usages: UsageServer, AltNames: alt("127.0.0.1")})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Write("kubelet", kp); err != nil {
			t.Fatal(err)
		}
		return kp
	}
	a := mk()
	sr, err := NewCertReloader(d.CertPath("kubelet"), d.KeyPath("kubelet"))
	if err != nil {
		t.Fatal(err)
	}
	client := ClientTLSConfig(ca.CertPool(), second.TLSCertificate(), "127.0.0.1")
	for i, want := 0, a; i < 2; i, want = i+1, mk() {
		cerr, serr, state := handshake(t, sr.ServerTLSConfig(ca.CertPool(), true), client)
		if cerr != nil || serr != nil {
			t.Fatalf("client %v, server %v", cerr, serr)
		}
		if got := state.PeerCertificates[0].SerialNumber; got.Cmp(want.Cert.SerialNumber) != 0 {
			t.Errorf("served serial %v, want %v", got, want.Cert.SerialNumber)
		}
	}
	if _, err := NewCertReloader(filepath.Join(dir, "missing"), filepath.Join(dir, "missing")); !errdefs.IsNotFound(err) {
		t.Errorf("NewCertReloader(missing) = %v", err)
	}
}

func TestAltNames(t *testing.T) {
	var a AltNames
	a.Add("k8s-master", "10.1.0.1", "k8s-master", "10.1.0.1", "::1", "")
	a.AddIP(net.ParseIP("10.1.0.1").To16(), net.IPv4(127, 0, 0, 1))
	if strings.Join(a.DNSNames, " ") != "k8s-master" || len(a.IPs) != 3 {
		t.Errorf("AltNames = %v %v", a.DNSNames, a.IPs)
	}
	have := AltNames{DNSNames: []string{"*.example.com", "a"}, IPs: []net.IP{net.ParseIP("10.0.0.1")}}
	got := have.Missing(alt("x.example.com", "a", "b", "10.0.0.1", "10.0.0.2"))
	if strings.Join(got, ",") != "b,10.0.0.2" {
		t.Errorf("Missing = %v", got)
	}
}
