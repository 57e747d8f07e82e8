package embedetcd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"minik8s/pkg/storage/embedetcd"
)

func TestStartPutGetCloseTwice(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	srv, err := embedetcd.Start(ctx, embedetcd.Config{Dir: dir, UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client().Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	srv.Close()
	srv.Close() // a second Close must neither panic nor block
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %s, want well under the 7s etcd needs when a client is left open", d)
	}

	// The data survives a restart in the same directory.
	srv, err = embedetcd.Start(ctx, embedetcd.Config{Dir: dir, UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	resp, err := srv.Client().Get(ctx, "/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("after restart got %v, want /k=v", resp.Kvs)
	}
}

func TestStartNeedsDir(t *testing.T) {
	if _, err := embedetcd.Start(context.Background(), embedetcd.Config{}); err == nil {
		t.Fatal("Start without a data directory succeeded")
	}
}

func TestStartOnPortZero(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := embedetcd.Start(ctx, embedetcd.Config{Dir: t.TempDir(), ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0", UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if strings.HasSuffix(srv.Endpoint(), ":0") {
		t.Fatalf("endpoint %s still has port 0", srv.Endpoint())
	}
	if _, err := srv.Client().Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
}
