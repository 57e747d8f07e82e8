package storage_test

import (
	"encoding/base64"
	"testing"

	"minik8s/pkg/storage"
)

// The token is Kubernetes' own: base64url of {"v","rv","start"} with the
// start key relative to the list's prefix.
func TestContinueTokenIsKubernetes(t *testing.T) {
	tok, err := storage.EncodeContinue("/registry/pods/default/web\x00", "/registry/pods/", 42)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(raw), `{"v":"meta.k8s.io/v1","rv":42,"start":"default/web\u0000"}`; got != want {
		t.Fatalf("token %s, want %s", got, want)
	}
	key, rev, err := storage.DecodeContinue(tok, "/registry/pods/")
	if err != nil {
		t.Fatal(err)
	}
	if key != "/registry/pods/default/web\x00" || rev != 42 {
		t.Fatalf("decoded %q at %d", key, rev)
	}
	if _, err := storage.EncodeContinue("/registry/nodes/n1\x00", "/registry/pods/", 42); err == nil {
		t.Fatal("encoding a key outside the prefix succeeded")
	}
}
