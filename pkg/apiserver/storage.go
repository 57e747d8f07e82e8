package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"minik8s/pkg/pki"
	"minik8s/pkg/storage"
	"minik8s/pkg/storage/cacher"
	"minik8s/pkg/storage/embedetcd"
)

// backend is the storage the server runs on; every call into pkg/storage's
// constructors is in this file.
type backend struct {
	store storage.Interface
	// healthy checks that etcd answers.
	healthy func(ctx context.Context) error
	// synced reports whether the watch caches are filled; waitSynced
	// blocks until they are or ctx ends.
	synced     func() bool
	waitSynced func(ctx context.Context) error
	// run runs background work (compaction) until ctx ends.
	run func(ctx context.Context) error
	// compact discards history before a revision (tests).
	compact func(ctx context.Context, rev int64) error
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
// store with its watch caches (one per resource).
func (s *Server) openStorage(ctx context.Context) (*backend, error) {
	lg := s.lg.Named("storage")
	m := storage.NewMetrics(s.cfg.Registerer)
	// Events expire after --event-ttl, as in Kubernetes, so that etcd does
	// not grow forever with them.
	opts := []storage.Option{storage.WithLogger(lg), storage.WithMetrics(m), storage.WithTTL("events", s.cfg.EventTTL)}
	var st *storage.Etcd
	var closeEtcd func()
	if len(s.cfg.EtcdServers) > 0 {
		cli, err := storage.NewClient(storage.ClientConfig{Endpoints: s.cfg.EtcdServers, TLS: s.etcdTLS, Logger: lg.Named("etcd-client")})
		if err != nil {
			return nil, err
		}
		st = storage.NewEtcd(cli, opts...)
		closeEtcd = func() { _ = cli.Close() }
	} else {
		srv, err := embedetcd.Start(ctx, embedetcd.Config{
			Dir:           s.cfg.DataDir,
			Logger:        s.lg.Named("etcd"),
			UnsafeNoFsync: s.cfg.EtcdUnsafeNoFsync,
		})
		if err != nil {
			return nil, err
		}
		// The embedded member is called in the process: no second gRPC hop
		// for every request.
		st = storage.NewEtcd(srv.InProcessClient(), opts...)
		s.etcdEndpoint = srv.Endpoint()
		lg.Info("Started embedded etcd", zap.String("dataDir", s.cfg.DataDir), zap.String("clientURL", srv.Endpoint()))
		// The embedded server closes its clients first, then itself.
		closeEtcd = srv.Close
	}
	caches, err := cacher.NewGroup(cacher.GroupConfig{
		Store:  st,
		Cacher: cacher.Config{Logger: lg.Named("cacher"), Metrics: m},
	})
	if err != nil {
		closeEtcd()
		return nil, err
	}
	interval := s.cfg.EtcdCompactionInterval
	return &backend{
		store: caches,
		healthy: func(ctx context.Context) error {
			_, err := st.CurrentRevision(ctx)
			return err
		},
		synced:     caches.Ready,
		waitSynced: caches.WaitReady,
		run: func(ctx context.Context) error {
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return caches.Run(ctx) })
			if interval >= 0 {
				g.Go(func() error { return st.RunCompactor(ctx, interval, nil) })
			}
			return g.Wait()
		},
		compact: st.Compact,
		close:   closeEtcd,
	}, nil
}
