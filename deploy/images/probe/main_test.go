package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok")) //nolint:errcheck // test server
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	dir := t.TempDir()
	present := filepath.Join(dir, "present")
	if err := os.WriteFile(present, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "http 200", args: []string{"http", srv.URL + "/healthz"}, wantCode: 0},
		{name: "http 503", args: []string{"http", srv.URL + "/readyz"}, wantCode: 1},
		{name: "http refused", args: []string{"http", "http://127.0.0.1:1/"}, wantCode: 1},
		{name: "get prints the body", args: []string{"get", srv.URL + "/healthz"}, wantCode: 0, wantOut: "ok"},
		{name: "file present", args: []string{"file", present}, wantCode: 0},
		{name: "file missing", args: []string{"file", present, filepath.Join(dir, "missing")}, wantCode: 1},
		{name: "wait without command", args: []string{"wait", present, "--"}, wantCode: 2},
		{name: "wait times out", args: []string{"wait", "--timeout", "300ms", filepath.Join(dir, "missing"), "--", "/bin/true"}, wantCode: 1},
		{name: "no arguments", args: nil, wantCode: 2},
		{name: "unknown verb", args: []string{"tcp", "x"}, wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := run(tt.args, &out, &errOut); got != tt.wantCode {
				t.Fatalf("run(%q) = %d, want %d (stderr %q)", tt.args, got, tt.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q does not contain %q", out.String(), tt.wantOut)
			}
		})
	}
}
