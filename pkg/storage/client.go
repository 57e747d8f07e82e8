package storage

import (
	"crypto/tls"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// ClientConfig says how to reach external etcd servers (--etcd-servers,
// --etcd-cafile, --etcd-certfile, --etcd-keyfile).
type ClientConfig struct {
	// Endpoints are the servers' client URLs ("https://10.0.0.1:2379").
	Endpoints []string
	// TLS is the client's TLS configuration (root CAs and client
	// certificate); nil for plain http endpoints.
	TLS *tls.Config
	// Logger receives the client's warnings; nil: none.
	Logger *zap.Logger
	// DialTimeout bounds connection set-up; default 5s.
	DialTimeout time.Duration
}

// NewClient returns an etcd client for cfg, to pass to NewEtcd. It connects
// lazily: an unreachable etcd shows as Unavailable or Timeout errors of the
// store's calls (e.g. CurrentRevision in a health check). The caller
// closes it (*clientv3.Client.Close) after every user of the store is done.
func NewClient(cfg ClientConfig) (*clientv3.Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("etcd client: no endpoints")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	lg := cfg.Logger
	if lg.Core().Enabled(zapcore.InfoLevel) {
		lg = lg.WithOptions(zap.IncreaseLevel(zapcore.WarnLevel))
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		TLS:         cfg.TLS,
		DialTimeout: cfg.DialTimeout,
		Logger:      lg,
		// Keep connections to etcd alive through idle periods and notice
		// dead ones, as the kube-apiserver does.
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %v: %w", cfg.Endpoints, err)
	}
	return cli, nil
}
