package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and one poller.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunShortCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "echo", args: []string{"echo", "hello", "world"}, wantCode: 0, wantStdout: "hello world\n"},
		{name: "exit 0", args: []string{"exit", "0"}, wantCode: 0},
		{name: "exit 3", args: []string{"exit", "3"}, wantCode: 3},
		{name: "exit bad code", args: []string{"exit", "x"}, wantCode: 2, wantStderr: "invalid code"},
		{name: "exit without code", args: []string{"exit"}, wantCode: 2, wantStderr: "usage"},
		{name: "no command", args: nil, wantCode: 2, wantStderr: "usage"},
		{name: "unknown command", args: []string{"bogus"}, wantCode: 2, wantStderr: `unknown command "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("code = %d, want %d", code, tt.wantCode)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestCat(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.txt")
	b := filepath.Join(dir, "b.txt")
	if err := os.WriteFile(a, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("world"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "one file", args: []string{"cat", a}, wantStdout: "hello\n"},
		{name: "files in order", args: []string{"cat", b, a}, wantStdout: "worldhello\n"},
		{name: "a missing file", args: []string{"cat", a, filepath.Join(dir, "nope"), b}, wantCode: 1, wantStdout: "hello\nworld", wantStderr: "nope"},
		{name: "no file", args: []string{"cat"}, wantCode: 2, wantStderr: "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode || stdout.String() != tt.wantStdout || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("code %d stdout %q stderr %q; want %d, %q, stderr with %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestRunLongCommandsEndOnSignal(t *testing.T) {
	tests := []struct {
		name string
		args []string
		// ready reports when the command has produced its first output.
		ready func(stdout string) bool
	}{
		{name: "sleep", args: []string{"sleep"}, ready: func(string) bool { return true }},
		{name: "log", args: []string{"log", "tick", "tock"}, ready: func(s string) bool { return strings.HasPrefix(s, "tick tock\n") }},
		{name: "serve", args: []string{"serve", "--listen", "127.0.0.1:0"}, ready: func(s string) bool { return strings.HasPrefix(s, "serving on") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var stdout, stderr syncBuffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, tt.args, &stdout, &stderr) }()
			waitFor(t, func() bool { return tt.ready(stdout.String()) })
			select {
			case code := <-done:
				t.Fatalf("%s returned %d before the signal; stderr %q", tt.name, code, stderr.String())
			default:
			}
			cancel() // what SIGTERM does
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("code = %d, want 0; stderr %q", code, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("did not return after the signal")
			}
		})
	}
}

func TestServeAndGet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--listen", addr}, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		<-done
	}()

	waitFor(t, func() bool {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	for _, path := range []string{"/", "/healthz", "/a/b?c=d"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "ok") {
			t.Errorf("GET %s = %d %q, want 200 ok...", path, resp.StatusCode, body)
		}
	}

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"get", "http://" + addr + "/x"}, &stdout, &stderr); code != 0 {
		t.Fatalf("get = %d, stderr %q", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "ok ") || !strings.Contains(stdout.String(), "/x") {
		t.Errorf("get printed %q", stdout.String())
	}
	if code := run(context.Background(), []string{"get", "http://127.0.0.1:1/"}, io.Discard, io.Discard); code != 1 {
		t.Errorf("get of a closed port = %d, want 1", code)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
