// Package etcdtest starts an embedded etcd for tests of any package: a
// fresh member in a temporary directory on free ports, closed when the test
// ends. It lives outside _test files so that other packages' tests can
// import it; production code never does.
package etcdtest

import (
	"context"
	"os"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"minik8s/pkg/storage/embedetcd"
)

// Start starts a member for t and returns its client. The member and the
// client are closed by t.Cleanup, after the cleanups the caller registers
// later (those run first), so watches and caches built on the client can
// stop cleanly.
func Start(t testing.TB) *clientv3.Client {
	t.Helper()
	return StartServer(t).Client()
}

// StartServer is Start for tests that need the server itself (its
// endpoint, or closing it early to see how callers cope). Each modify
// function may change the configuration before the start.
func StartServer(t testing.TB, modify ...func(*embedetcd.Config)) *embedetcd.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := embedetcd.Config{
		Dir: t.TempDir(),
		// etcd logs from its own goroutines, some of which outlive the
		// test's logger, so errors go straight to stderr.
		Logger: zap.New(zapcore.NewCore(
			zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
			zapcore.Lock(os.Stderr), zapcore.ErrorLevel)),
		UnsafeNoFsync: true,
		// Progress notifications every half second keep idle watch caches
		// fresh without flooding test logs.
		ProgressNotifyInterval: 500 * time.Millisecond,
	}
	for _, m := range modify {
		m(&cfg)
	}
	srv, err := embedetcd.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}
