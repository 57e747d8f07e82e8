package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"minik8s/pkg/apis/errdefs"
)

// continueVersion is the version of the continue token's encoding:
// Kubernetes' own, so a token reads the same as one of kube-apiserver.
const continueVersion = "meta.k8s.io/v1"

// ContinueExpiredMessage is Kubernetes' answer to a continue token whose
// revision etcd has compacted.
const ContinueExpiredMessage = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."

// continueToken is the state of a paged list between two pages, encoded
// as base64url of its JSON: the revision every page is read at and the
// key to start after, relative to the list's prefix (so that a token can
// never reach outside the prefix of the list it is used with).
type continueToken struct {
	APIVersion string `json:"v"`
	Revision   int64  `json:"rv"`
	StartKey   string `json:"start"`
}

// EncodeContinue returns the token of the page that starts at key (the
// key after the last one returned: last + "\x00") of the list of prefix
// read at rev.
func EncodeContinue(key, prefix string, rev int64) (string, error) {
	rel, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return "", fmt.Errorf("encode continue token: key %q is not under %q", key, prefix)
	}
	out, err := json.Marshal(&continueToken{APIVersion: continueVersion, Revision: rev, StartKey: rel})
	if err != nil {
		return "", fmt.Errorf("encode continue token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// DecodeContinue returns the key to start from and the revision to read at
// of token, used with the list of prefix. The key is always under prefix:
// a start key that would climb out of it ("../") is refused. Errors are
// errdefs.Invalid naming the continue field.
func DecodeContinue(token, prefix string) (key string, rev int64, err error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", 0, invalidContinue(token, err.Error())
	}
	var c continueToken
	if err := json.Unmarshal(data, &c); err != nil {
		return "", 0, invalidContinue(token, err.Error())
	}
	if c.APIVersion != continueVersion {
		return "", 0, invalidContinue(token, fmt.Sprintf("server does not recognize this encoded version %q", c.APIVersion))
	}
	if c.Revision <= 0 {
		return "", 0, invalidContinue(token, "incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	if c.StartKey == "" {
		return "", 0, invalidContinue(token, "encoded start key empty (version meta.k8s.io/v1)")
	}
	// As Kubernetes: a cleaned path cannot climb above the prefix it is
	// appended to, so a token reads nothing outside the list it is used
	// with, whichever list it came from.
	start := c.StartKey
	if !strings.HasPrefix(start, "/") {
		start = "/" + start
	}
	if path.Clean(start) != start {
		return "", 0, invalidContinue(token, fmt.Sprintf("start key %q is not a clean path", c.StartKey))
	}
	return prefix + start[1:], c.Revision, nil
}

func invalidContinue(token, why string) error {
	const maxShown = 64
	if len(token) > maxShown {
		token = token[:maxShown] + "..."
	}
	return errdefs.Invalid("continue: Invalid value: %q: continue key is not valid: %s", token, why)
}
