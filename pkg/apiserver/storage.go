package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"

	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
	"minik8s/pkg/storage"
)

// backend is the storage the server runs on; every call into pkg/storage's
// constructors is in this file.
type backend struct {
	store storage.Interface
	// healthy checks that etcd answers.
	healthy func(ctx context.Context) error
	// synced reports whether the watch caches are filled.
	synced func() bool
	// run runs background work (compaction) until ctx ends.
	run func(ctx context.Context) error
	// close releases the caches, the etcd client and then the embedded
	// etcd; called once, after run returned.
	close func()
}

// etcdClientTLS is the mTLS configuration towards external etcd servers.
func etcdClientTLS(cfg Config) (*tls.Config, error) {
	cc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.EtcdCAFile != "" {
		p, err := pki.CertPoolFromFile(cfg.EtcdCAFile)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cafile: %w", err)
		}
		cc.RootCAs = p
	}
	if cfg.EtcdCertFile != "" {
		pair, err := pki.LoadX509KeyPair(cfg.EtcdCertFile, cfg.EtcdKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--etcd-certfile/--etcd-keyfile: %w", err)
		}
		cc.Certificates = []tls.Certificate{*pair}
	}
	return cc, nil
}

// openStorage connects to etcd (or starts the embedded one) and builds the
// store with its watch caches.
func (s *Server) openStorage(ctx context.Context) (*backend, error) {
	if s.openStorageFunc != nil {
		return s.openStorageFunc(ctx)
	}
	return nil, errdefs.NotImplemented("the etcd store is not wired yet")
}
