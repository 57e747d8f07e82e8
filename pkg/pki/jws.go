package pki

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"minik8s/pkg/apis/errdefs"
)

// jwsHeader is the protected header of a cluster-info signature. Field
// order (alg, kid) is the order Kubernetes produces, so signatures are
// byte-identical to kubeadm's.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

var b64 = base64.RawURLEncoding

// SignJWS signs content with a bootstrap token the way kubeadm signs the
// cluster-info ConfigMap: a JWS (RFC 7515) with HS256 keyed by the token
// secret and the token ID as "kid", in compact serialization with the
// payload detached: "<header>..<signature>".
func SignJWS(content []byte, tokenID, tokenSecret string) (string, error) {
	if tokenID == "" || tokenSecret == "" {
		return "", errdefs.Invalid("sign JWS: token ID and secret must not be empty")
	}
	hdr, err := json.Marshal(jwsHeader{Alg: "HS256", Kid: tokenID})
	if err != nil {
		return "", errdefs.Wrap(errdefs.ClassInvalid, err, "sign JWS")
	}
	h := b64.EncodeToString(hdr)
	return h + ".." + b64.EncodeToString(jwsMAC(h, content, tokenSecret)), nil
}

func jwsMAC(header string, content []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(header))
	m.Write([]byte{'.'})
	m.Write([]byte(b64.EncodeToString(content)))
	return m.Sum(nil)
}

// VerifyJWS checks a detached JWS produced by SignJWS (or kubeadm) over
// content: the header must say HS256 with kid tokenID and the signature must
// be the HMAC keyed by tokenSecret. The error says which check failed, with
// class Unauthenticated for a wrong signature or key ID and Invalid for a
// malformed value.
func VerifyJWS(detached string, content []byte, tokenID, tokenSecret string) error {
	parts := strings.Split(detached, ".")
	if len(parts) != 3 || parts[1] != "" {
		return errdefs.Invalid("JWS is not a detached compact serialization (<header>..<signature>)")
	}
	raw, err := b64.DecodeString(parts[0])
	if err != nil {
		return errdefs.Wrap(errdefs.ClassInvalid, err, "JWS header")
	}
	var hdr map[string]any
	if err := json.Unmarshal(raw, &hdr); err != nil {
		return errdefs.Wrap(errdefs.ClassInvalid, err, "JWS header")
	}
	if alg, _ := hdr["alg"].(string); alg != "HS256" {
		return errdefs.Unauthenticated("JWS algorithm %q is not HS256", hdr["alg"])
	}
	if kid, _ := hdr["kid"].(string); kid != tokenID {
		return errdefs.Unauthenticated("JWS is signed with token ID %q, not %q", hdr["kid"], tokenID)
	}
	if _, ok := hdr["crit"]; ok {
		return errdefs.Unauthenticated("JWS has critical header parameters")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return errdefs.Wrap(errdefs.ClassInvalid, err, "JWS signature")
	}
	if !hmac.Equal(sig, jwsMAC(parts[0], content, tokenSecret)) {
		return errdefs.Unauthenticated("JWS signature does not match the content for token ID %q", tokenID)
	}
	return nil
}
