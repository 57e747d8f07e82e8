// Package embedetcd runs a single-member etcd inside the process: the
// apiserver's default when no --etcd-servers is given, and the etcd every
// storage test runs against. Start returns a running server with a client;
// Close shuts both down in the only order that is quick (client first) and
// only once (etcd panics on a second Close).
package embedetcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config says where and how the embedded etcd runs.
type Config struct {
	// Dir is the data directory (required). It is created when missing and
	// reused when it holds data of an earlier run.
	Dir string
	// Name is the member name; "default" when empty.
	Name string
	// ClientURL is the URL clients connect to, e.g. "http://127.0.0.1:2379".
	// Empty: a free port on 127.0.0.1; port 0: a free port.
	ClientURL string
	// PeerURL is the member's peer URL. Empty: a free port on 127.0.0.1;
	// port 0: a free port.
	PeerURL string
	// Logger receives etcd's own logs at warn level and above; nil: none.
	Logger *zap.Logger
	// UnsafeNoFsync skips fsync: much faster, loses acknowledged writes on
	// a machine crash. For tests and benchmarks of the layers above only.
	UnsafeNoFsync bool
	// ProgressNotifyInterval is how often etcd tells idle watches its
	// current revision (what lets a watch cache prove it is fresh).
	// Default 5s, as Kubernetes recommends for etcd.
	ProgressNotifyInterval time.Duration
	// QuotaBackendBytes caps the database size; default etcd's 2 GiB.
	QuotaBackendBytes int64
	// StartTimeout bounds the wait for the member to be ready; default 30s.
	StartTimeout time.Duration
}

// MaxRequestBytes is the largest request the embedded etcd accepts: a bit
// over the 1.5 MiB object limit, so that an object at the limit still fits
// in a transaction together with its key and compares.
const MaxRequestBytes = 1536*1024 + 64*1024

// Server is a running embedded etcd with two clients: one connected
// through its client URL (Client), as any etcd client connects, and one
// that calls the member in the process (InProcessClient).
type Server struct {
	etcd     *embed.Etcd
	client   *clientv3.Client
	local    *clientv3.Client
	endpoint string
	closing  *atomic.Bool
	once     sync.Once
}

// Start starts the member, waits until it serves, and connects a client.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedded etcd: a data directory is required")
	}
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if cfg.ProgressNotifyInterval == 0 {
		cfg.ProgressNotifyInterval = 5 * time.Second
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	closing := &atomic.Bool{}
	// etcd logs its listeners' errors when it closes them; those are
	// expected then and dropped.
	cfg.Logger = cfg.Logger.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return &quietCore{Core: atLeast(c, zapcore.WarnLevel), closing: closing}
	}))
	// Free ports are picked by listening and closing; another process may
	// grab one in between, so a start that fails to bind is retried.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e, endpoint, err := startOnce(ctx, cfg)
		if err == nil {
			cli, err := clientv3.New(clientv3.Config{
				Endpoints:          []string{endpoint},
				DialTimeout:        5 * time.Second,
				Logger:             cfg.Logger.Named("etcd-client"),
				MaxCallSendMsgSize: MaxRequestBytes + 1024,
			})
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("connect to embedded etcd at %s: %w", endpoint, err)
			}
			return &Server{etcd: e, client: cli, local: v3client.New(e.Server), endpoint: endpoint, closing: closing}, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") || (fixedPort(cfg.ClientURL) && fixedPort(cfg.PeerURL)) {
			return nil, err
		}
	}
	return nil, lastErr
}

func startOnce(ctx context.Context, cfg Config) (*embed.Etcd, string, error) {
	clientURL, err := urlOrFree(cfg.ClientURL)
	if err != nil {
		return nil, "", fmt.Errorf("embedded etcd client URL: %w", err)
	}
	peerURL, err := urlOrFree(cfg.PeerURL)
	if err != nil {
		return nil, "", fmt.Errorf("embedded etcd peer URL: %w", err)
	}
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = cfg.Dir
	ec.ListenClientUrls = []url.URL{*clientURL}
	ec.AdvertiseClientUrls = []url.URL{*clientURL}
	ec.ListenPeerUrls = []url.URL{*peerURL}
	ec.AdvertisePeerUrls = []url.URL{*peerURL}
	ec.InitialCluster = cfg.Name + "=" + peerURL.String()
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(cfg.Logger.Named("etcd"))
	ec.LogLevel = "warn"
	ec.EnableGRPCGateway = false
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	ec.WatchProgressNotifyInterval = cfg.ProgressNotifyInterval
	ec.MaxRequestBytes = MaxRequestBytes
	if cfg.QuotaBackendBytes > 0 {
		ec.QuotaBackendBytes = cfg.QuotaBackendBytes
	}
	// Compaction is the apiserver's job (storage.Compactor), as in
	// Kubernetes; etcd's own auto compaction stays off (retention 0).
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = "0"

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, "", fmt.Errorf("start embedded etcd in %s: %w", cfg.Dir, err)
	}
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return e, clientURL.String(), nil
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("start embedded etcd in %s: %w", cfg.Dir, err)
	case <-timer.C:
		e.Server.Stop()
		e.Close()
		return nil, "", fmt.Errorf("start embedded etcd in %s: not ready after %s", cfg.Dir, cfg.StartTimeout)
	case <-ctx.Done():
		e.Server.Stop()
		e.Close()
		return nil, "", fmt.Errorf("start embedded etcd in %s: %w", cfg.Dir, ctx.Err())
	}
}

// urlOrFree parses s; an empty s, or one with port 0, gets a free port
// (on 127.0.0.1 when s is empty).
func urlOrFree(s string) (*url.URL, error) {
	if s == "" {
		s = "http://127.0.0.1:0"
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Port() == "0" {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		u.Host = net.JoinHostPort(u.Hostname(), fmt.Sprint(port))
	}
	return u, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Client is the client connected to the member through its client URL.
// Close closes it.
func (s *Server) Client() *clientv3.Client { return s.client }

// InProcessClient is a client that calls the member's gRPC services as
// functions in this process: no socket, no HTTP/2 framing, no encoding of
// requests and responses. The apiserver reaches its embedded etcd this way.
// Close closes it.
func (s *Server) InProcessClient() *clientv3.Client { return s.local }

// Endpoint is the client URL ("http://127.0.0.1:PORT").
func (s *Server) Endpoint() string { return s.endpoint }

// Err reports a fatal error of the running server.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close closes the client, then the server. Only the first call acts; it
// is safe to call again (etcd's own Close would panic).
func (s *Server) Close() {
	s.once.Do(func() {
		s.closing.Store(true)
		_ = s.local.Close()
		_ = s.client.Close()
		s.etcd.Close()
	})
}

// atLeast raises c's level to level, if it is lower.
func atLeast(c zapcore.Core, level zapcore.Level) zapcore.Core {
	if !c.Enabled(level - 1) {
		return c
	}
	return &levelCore{Core: c, level: level}
}

type levelCore struct {
	zapcore.Core
	level zapcore.Level
}

func (c *levelCore) Enabled(l zapcore.Level) bool { return l >= c.level && c.Core.Enabled(l) }

func (c *levelCore) With(f []zapcore.Field) zapcore.Core {
	return &levelCore{Core: c.Core.With(f), level: c.level}
}

func (c *levelCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if !c.Enabled(e.Level) {
		return ce
	}
	return c.Core.Check(e, ce)
}

// quietCore drops errors logged while the server closes.
type quietCore struct {
	zapcore.Core
	closing *atomic.Bool
}

func (c *quietCore) With(f []zapcore.Field) zapcore.Core {
	return &quietCore{Core: c.Core.With(f), closing: c.closing}
}

func (c *quietCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.closing.Load() && e.Level <= zapcore.ErrorLevel {
		return ce
	}
	return c.Core.Check(e, ce)
}

func fixedPort(s string) bool {
	u, err := url.Parse(s)
	return s != "" && err == nil && u.Port() != "0"
}
