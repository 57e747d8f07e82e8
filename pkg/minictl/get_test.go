package minictl

import (
	"slices"
	"strings"
	"testing"
)

func TestGetChunks(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantCalls []string
	}{
		{
			name: "pages of --chunk-size",
			args: []string{"get", "pods", "--chunk-size", "2"},
			wantCalls: []string{
				"list pods default l= f= limit=2",
				"list pods default l= f= limit=2 continue=pods/default/p2",
				"list pods default l= f= limit=2 continue=pods/default/p4",
			},
		},
		{
			name:      "kubectl's default of 500",
			args:      []string{"get", "pods"},
			wantCalls: []string{"list pods default l= f= limit=500"},
		},
		{
			name:      "0 disables chunking",
			args:      []string{"get", "pods", "--chunk-size=0"},
			wantCalls: []string{"list pods default l= f="},
		},
		{
			name: "a selector pages too",
			args: []string{"get", "pods", "--chunk-size", "4", "-l", "!nope"},
			wantCalls: []string{
				"list pods default l=!nope f= limit=4",
				"list pods default l=!nope f= limit=4 continue=pods/default/p4",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := newFakeClient(
				pod("p1", "Running", running(), ready), pod("p2", "Running", running(), ready),
				pod("p3", "Running", running(), ready), pod("p4", "Running", running(), ready),
				pod("p5", "Running", running(), ready),
			)
			r := run(t, fc, tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.err)
			}
			// One table, every pod once.
			golden(t, r.out, `
NAME   READY   STATUS    RESTARTS   AGE
p1     1/1     Running   0          5m
p2     1/1     Running   0          5m
p3     1/1     Running   0          5m
p4     1/1     Running   0          5m
p5     1/1     Running   0          5m
`)
			if !slices.Equal(fc.calls, tt.wantCalls) {
				t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(fc.calls, "\n"), strings.Join(tt.wantCalls, "\n"))
			}
		})
	}
}

func TestGetChunkSizeMustNotBeNegative(t *testing.T) {
	fc := newFakeClient()
	r := run(t, fc, "get", "pods", "--chunk-size=-1")
	if r.code == 0 || !strings.Contains(r.err, "--chunk-size") {
		t.Fatalf("exit %d, stderr %q; want an error naming --chunk-size", r.code, r.err)
	}
	if len(fc.calls) != 0 {
		t.Fatalf("calls %v, want none", fc.calls)
	}
}
