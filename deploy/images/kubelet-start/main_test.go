package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantKub []string
	}{
		{name: "kubelet flags after --", args: []string{"--node-name", "node-1", "--dir", "/x/node-1", "--", "--runtime=docker", "--port=10250"},
			wantKub: []string{"--runtime=docker", "--port=10250"}},
		{name: "node name required", args: []string{"--dir", "/x"}, wantErr: "required"},
		{name: "relative dir", args: []string{"--node-name", "n", "--dir", "x"}, wantErr: "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(o.kubeletArgs, " ") != strings.Join(tt.wantKub, " ") {
				t.Errorf("kubelet args %q, want %q", o.kubeletArgs, tt.wantKub)
			}
		})
	}
}

// TestJoin runs the join command of the join file with a fake minictl that
// records its arguments.
func TestJoin(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "minictl")
	script := "#!/bin/sh\necho \"$@\" > " + record + "\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	joinFile := filepath.Join(dir, "join-command")
	line := "minictl join apiserver:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:" + strings.Repeat("a", 64) + "\n"
	if err := os.WriteFile(joinFile, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &options{nodeName: "node-1", dir: "/state/node-1", joinFile: joinFile, minictl: fake, joinTimeout: time.Second}
	var out bytes.Buffer
	if err := join(o, &out); err != nil {
		t.Fatalf("join: %v\n%s", err, out.String())
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	want := "join apiserver:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:" + strings.Repeat("a", 64) +
		" --node-name node-1 --kubeconfig-dir /state/node-1 --kubelet-root-dir /state/node-1\n"
	if string(got) != want {
		t.Errorf("minictl got\n  %s\nwant\n  %s", got, want)
	}

	if err := os.WriteFile(joinFile, []byte("rm -rf /\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := join(o, io.Discard); err == nil || !strings.Contains(err.Error(), "does not hold a join command") {
		t.Errorf("join of a file without a join command: %v", err)
	}
}

func TestNodeIPOutsidePodNetwork(t *testing.T) {
	if _, err := nodeIP("0.0.0.0/0"); err == nil {
		t.Error("nodeIP found an address outside 0.0.0.0/0")
	}
	if _, err := nodeIP("not-a-cidr"); err == nil {
		t.Error("nodeIP accepted a malformed CIDR")
	}
}
