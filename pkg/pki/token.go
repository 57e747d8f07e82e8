package pki

import (
	"crypto/rand"
	"fmt"
	"regexp"

	"minik8s/pkg/apis/errdefs"
)

// Bootstrap token conventions, as Kubernetes'.
const (
	// TokenFormat is the form of a bootstrap token "<id>.<secret>".
	TokenFormat = `[a-z0-9]{6}.[a-z0-9]{16}`
	// BootstrapUserPrefix prefixes the token ID in the user a token
	// authenticates as (system:bootstrap:<id>).
	BootstrapUserPrefix = "system:bootstrap:"
	// BootstrappersGroup is the group of every bootstrap token user.
	BootstrappersGroup = "system:bootstrappers"

	tokenIDLen     = 6
	tokenSecretLen = 16
	tokenChars     = "abcdefghijklmnopqrstuvwxyz0123456789"
)

var tokenRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)

// Token is a bootstrap token: a public ID and a secret.
type Token struct {
	ID     string
	Secret string
}

// String is the token as "<id>.<secret>".
func (t Token) String() string { return t.ID + "." + t.Secret }

// UserName is the user the token authenticates as: system:bootstrap:<id>.
func (t Token) UserName() string { return BootstrapUserPrefix + t.ID }

// GenerateToken returns a new random bootstrap token "<id>.<secret>"
// matching [a-z0-9]{6}.[a-z0-9]{16}.
func GenerateToken() (string, error) {
	id, err := randomString(tokenIDLen)
	if err != nil {
		return "", err
	}
	secret, err := randomString(tokenSecretLen)
	if err != nil {
		return "", err
	}
	return id + "." + secret, nil
}

// randomString draws n characters uniformly from tokenChars (rejection
// sampling, so no character is more likely than another).
func randomString(n int) (string, error) {
	const limit = 256 - 256%len(tokenChars)
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate token: %w", err)
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, tokenChars[int(b)%len(tokenChars)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}

// ParseToken splits and validates "<id>.<secret>". The error does not echo
// the input, which may be a mistyped secret.
func ParseToken(s string) (Token, error) {
	m := tokenRE.FindStringSubmatch(s)
	if m == nil {
		return Token{}, errdefs.Invalid("the bootstrap token is not of the form %q", TokenFormat)
	}
	return Token{ID: m[1], Secret: m[2]}, nil
}
