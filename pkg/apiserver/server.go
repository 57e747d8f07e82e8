// Package apiserver is minik8s' API server: the only door to etcd. It
// serves the generic minik8s.v1.API service (and cluster-info discovery)
// over gRPC with TLS 1.3 and client certificates, authenticates callers by
// their certificate (CN = user, O = groups), authorizes them with the fixed
// policy of package authz, admits objects (defaults, validation, size) and
// stores them through the generic registry on etcd, with a watch cache per
// resource. Metrics, /healthz, /livez and /readyz are served over plain
// HTTP on a separate address.
package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apiserver/registry"
	"minik8s/pkg/pki"
)

// Defaults of Config.
const (
	DefaultBindAddress            = "0.0.0.0"
	DefaultSecurePort             = 6443
	DefaultMetricsBindAddress     = "127.0.0.1:6080"
	DefaultDataDir                = "/var/lib/minik8s/etcd"
	DefaultServiceClusterIPRange  = "10.96.0.0/12"
	DefaultEtcdCompactionInterval = 5 * time.Minute
	DefaultEventTTL               = time.Hour // as kube-apiserver's --event-ttl
	DefaultRequestTimeout         = 60 * time.Second
	DefaultShutdownTimeout        = 30 * time.Second
	// MaxRecvMsgSize bounds one request message: 3 MiB, twice the object
	// limit, so that an oversized object is refused with a clear message by
	// the size check rather than by the transport.
	MaxRecvMsgSize = 3 << 20
	// MaxObjectSize is the largest object stored: 1.5 MiB, as etcd's
	// request limit.
	MaxObjectSize = registry.DefaultMaxObjectSize
)

// Config configures the apiserver. The zero value of every optional field
// means its default above.
type Config struct {
	// BindAddress and SecurePort: where gRPC is served. Port 0 picks a free
	// port (see Addr).
	BindAddress string
	SecurePort  int
	// ClientCAFile verifies client certificates; TLSCertFile and
	// TLSPrivateKeyFile are the serving pair (reloaded when replaced).
	ClientCAFile      string
	TLSCertFile       string
	TLSPrivateKeyFile string
	// MetricsBindAddress (host:port) serves /metrics, /healthz, /livez and
	// /readyz over plain HTTP; port 0 picks a free port (see MetricsAddr).
	MetricsBindAddress string

	// EtcdServers lists the etcd client URLs; empty runs an embedded
	// single-member etcd in DataDir.
	EtcdServers []string
	// EtcdCAFile, EtcdCertFile, EtcdKeyFile: mTLS to the etcd servers.
	EtcdCAFile   string
	EtcdCertFile string
	EtcdKeyFile  string
	// DataDir holds the embedded etcd's data.
	DataDir string
	// EtcdCompactionInterval: how often old revisions are compacted;
	// negative disables compaction.
	EtcdCompactionInterval time.Duration
	// EtcdUnsafeNoFsync runs the embedded etcd without fsync: for tests and
	// benchmarks only (a crash loses acknowledged writes).
	EtcdUnsafeNoFsync bool
	// EventTTL is how long an Event is kept after its last create or
	// update: etcd deletes it then (whole seconds, rounded up; it may live
	// up to 5% longer, a minute at most). 0 means DefaultEventTTL.
	EventTTL time.Duration

	// KubeletClientCertFile and KubeletClientKeyFile: the identity the
	// apiserver presents to kubelets (logs and exec proxies).
	KubeletClientCertFile string
	KubeletClientKeyFile  string
	// ServiceClusterIPRange is the service CIDR (recorded for later use).
	ServiceClusterIPRange string

	// RequestTimeout is the deadline of unary calls that carry none.
	RequestTimeout time.Duration
	// ShutdownTimeout bounds the drain of in-flight requests on shutdown.
	ShutdownTimeout time.Duration
	// MaxObjectSize bounds an object's encoding; 0 means MaxObjectSize.
	MaxObjectSize int

	// TokenAuthenticator, when set, admits bearer tokens (bootstrap
	// tokens); nil refuses them.
	TokenAuthenticator TokenAuthenticator
	// EnableBootstrapTokenAuth admits the bootstrap tokens stored as
	// Secrets in kube-system (--enable-bootstrap-token-auth), removes them
	// when they expire and signs cluster-info with them.
	EnableBootstrapTokenAuth bool
	// BootstrapTokenSyncPeriod: how often expired tokens are removed and
	// cluster-info is signed again; 0 means DefaultBootstrapTokenSyncPeriod.
	BootstrapTokenSyncPeriod time.Duration
	// ClusterSigningCertFile and ClusterSigningKeyFile sign approved
	// certificate signing requests; empty means the client CA and the key
	// next to it. ClusterSigningDuration is the longest validity of a
	// signed certificate; 0 means DefaultClusterSigningDuration.
	ClusterSigningCertFile string
	ClusterSigningKeyFile  string
	ClusterSigningDuration time.Duration
	// Logger; nil means none.
	Logger *zap.Logger
	// Registerer receives the apiserver's metrics, Gatherer serves
	// /metrics. Required.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
}

// Server is an apiserver. New binds its listeners; Run serves until its
// context ends.
type Server struct {
	cfg            Config
	lg             *zap.Logger
	metrics        *metrics
	methods        map[string]*method
	unknownMethod  *method
	tokens         TokenAuthenticator
	requestTimeout time.Duration
	etcdTLS        *tls.Config
	// etcdEndpoint is the embedded member's client URL, set before ready
	// is closed.
	etcdEndpoint string

	lis        net.Listener
	metricsLis net.Listener
	grpc       *grpc.Server
	health     *health.Server
	api        *apiService
	discovery  *discoveryService
	probes     *probes
	csr        *csrSigner

	started     atomic.Bool
	ready       chan struct{}
	watchesDone chan struct{}
	closeOnce   sync.Once
}

// New checks cfg, loads the certificates and binds the listeners. Call Run
// to serve (it closes the listeners when it returns).
func New(cfg Config) (*Server, error) {
	if err := cfg.complete(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:            cfg,
		lg:             cfg.Logger,
		methods:        methodTable(),
		unknownMethod:  unknownMethod(),
		tokens:         cfg.TokenAuthenticator,
		requestTimeout: cfg.RequestTimeout,
		ready:          make(chan struct{}),
		watchesDone:    make(chan struct{}),
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register apiserver metrics: %w", err)
	}
	s.metrics = m
	if err := s.setupBootstrap(); err != nil {
		return nil, err
	}

	caPool, err := pki.CertPoolFromFile(cfg.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("--client-ca-file: %w", err)
	}
	serving, err := pki.NewCertReloader(cfg.TLSCertFile, cfg.TLSPrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert-file/--tls-private-key-file: %w", err)
	}
	if cfg.KubeletClientCertFile != "" {
		if _, err := pki.LoadX509KeyPair(cfg.KubeletClientCertFile, cfg.KubeletClientKeyFile); err != nil {
			return nil, fmt.Errorf("--kubelet-client-certificate/--kubelet-client-key: %w", err)
		}
	}
	if len(cfg.EtcdServers) > 0 && (cfg.EtcdCertFile != "" || cfg.EtcdCAFile != "" || anyHTTPS(cfg.EtcdServers)) {
		s.etcdTLS, err = etcdClientTLS(cfg)
		if err != nil {
			return nil, err
		}
	}

	// Client certificates are verified when given (a certificate from
	// another CA fails the handshake) but not required by TLS, so that
	// discovery and bootstrap tokens can work; the authentication
	// interceptor refuses every other call without one.
	tlsCfg := serving.ServerTLSConfig(caPool, false)
	s.health = health.NewServer()
	s.grpc = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tlsCfg)),
		grpc.MaxRecvMsgSize(MaxRecvMsgSize),
		grpc.ChainUnaryInterceptor(s.unaryInterceptors()...),
		grpc.ChainStreamInterceptor(s.streamInterceptors()...),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Minute, Timeout: 20 * time.Second}),
		grpc.SharedWriteBuffer(true),
	)
	s.api = &apiService{s: s}
	s.discovery = &discoveryService{}
	v1.RegisterAPIServer(s.grpc, s.api)
	v1.RegisterDiscoveryServer(s.grpc, s.discovery)
	grpc_health_v1.RegisterHealthServer(s.grpc, s.health)
	s.health.SetServingStatus("", grpc_health_v1.HealthCheckResponse_NOT_SERVING)
	s.health.SetServingStatus(v1.API_ServiceDesc.ServiceName, grpc_health_v1.HealthCheckResponse_NOT_SERVING)

	s.lis, err = net.Listen("tcp", net.JoinHostPort(cfg.BindAddress, fmt.Sprint(cfg.SecurePort)))
	if err != nil {
		return nil, fmt.Errorf("listen on the secure port: %w", err)
	}
	s.metricsLis, err = net.Listen("tcp", cfg.MetricsBindAddress)
	if err != nil {
		s.lis.Close()
		return nil, fmt.Errorf("listen on --metrics-bind-address: %w", err)
	}
	s.probes = newProbes(s)
	return s, nil
}

func (c *Config) complete() error {
	if c.ClientCAFile == "" {
		return errors.New("--client-ca-file is required: every client is authenticated by its certificate")
	}
	if c.TLSCertFile == "" || c.TLSPrivateKeyFile == "" {
		return errors.New("--tls-cert-file and --tls-private-key-file are required")
	}
	if (c.KubeletClientCertFile == "") != (c.KubeletClientKeyFile == "") {
		return errors.New("--kubelet-client-certificate and --kubelet-client-key go together")
	}
	if c.Registerer == nil || c.Gatherer == nil {
		return errors.New("apiserver: a prometheus Registerer and Gatherer are required")
	}
	if len(c.EtcdServers) == 0 && c.DataDir == "" {
		return errors.New("--data-dir is required when no --etcd-servers are given (the embedded etcd keeps its data there)")
	}
	if (c.EtcdCertFile == "") != (c.EtcdKeyFile == "") {
		return errors.New("--etcd-certfile and --etcd-keyfile go together")
	}
	if c.BindAddress == "" {
		c.BindAddress = DefaultBindAddress
	}
	if c.SecurePort < 0 || c.SecurePort > 65535 {
		return fmt.Errorf("--secure-port %d: must be 0-65535", c.SecurePort)
	}
	if c.MetricsBindAddress == "" {
		c.MetricsBindAddress = DefaultMetricsBindAddress
	}
	if c.ServiceClusterIPRange != "" {
		if _, _, err := net.ParseCIDR(c.ServiceClusterIPRange); err != nil {
			return fmt.Errorf("--service-cluster-ip-range: %w", err)
		}
	}
	if c.EtcdCompactionInterval == 0 {
		c.EtcdCompactionInterval = DefaultEtcdCompactionInterval
	}
	if c.EventTTL < 0 {
		return fmt.Errorf("--event-ttl %s: must be greater than 0", c.EventTTL)
	}
	if c.EventTTL == 0 {
		c.EventTTL = DefaultEventTTL
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MaxObjectSize <= 0 {
		c.MaxObjectSize = MaxObjectSize
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

func anyHTTPS(urls []string) bool {
	for _, u := range urls {
		if strings.HasPrefix(u, "https://") {
			return true
		}
	}
	return false
}

// Addr is the address gRPC is served on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// MetricsAddr is the address of /metrics, /healthz and /readyz.
func (s *Server) MetricsAddr() string { return s.metricsLis.Addr().String() }

// Ready is closed once the server serves requests.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// EmbeddedEtcdEndpoint is the client URL of the embedded etcd member
// ("http://127.0.0.1:PORT"), or "" when the apiserver uses --etcd-servers.
// It is valid once Ready is closed.
func (s *Server) EmbeddedEtcdEndpoint() string { return s.etcdEndpoint }

func (s *Server) closeListeners() {
	s.closeOnce.Do(func() {
		s.lis.Close()
		s.metricsLis.Close()
	})
}

// Run opens the storage (starting the embedded etcd when no etcd servers
// are configured), creates the default namespaces, and serves until ctx
// ends. Then it stops accepting calls, closes the watches, lets in-flight
// calls finish within ShutdownTimeout, and closes the storage (the etcd
// client before the embedded etcd). It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("apiserver: Run called twice")
	}
	defer s.closeListeners()

	// The probes answer while etcd starts: /livez ok, /readyz not yet.
	front, frontCtx := errgroup.WithContext(ctx)
	front.Go(func() error { return s.probes.serve(s.metricsLis) })
	stopFront := func() error {
		s.probes.shutdown()
		return front.Wait()
	}

	be, err := s.openStorage(frontCtx)
	if err != nil {
		s.closeListeners()
		return errors.Join(fmt.Errorf("open storage: %w", err), stopFront())
	}
	reg, err := registry.New(registry.Options{Store: be.store, Logger: s.lg.Named("registry"), Now: s.cfg.Now, MaxObjectSize: s.cfg.MaxObjectSize})
	if err != nil {
		be.close()
		return errors.Join(err, stopFront())
	}
	s.api.reg, s.discovery.reg = reg, reg
	s.probes.setBackend(be, reg)

	// Background loops outlive the draining calls; they stop after them.
	back, backCtx := errgroup.WithContext(context.Background())
	backCtx, stopBack := context.WithCancel(backCtx)
	back.Go(func() error { return reg.Run(backCtx) })
	back.Go(func() error { return be.run(backCtx) })
	back.Go(func() error { return s.runBootstrap(backCtx, reg) })
	stopAll := func() error {
		stopBack()
		berr := back.Wait()
		be.close()
		return errors.Join(berr, stopFront())
	}

	err = s.bootstrap(frontCtx, reg)
	if err == nil {
		err = be.waitSynced(frontCtx)
	}
	if err == nil {
		err = reg.WaitNamespacesSynced(frontCtx)
	}
	if err != nil {
		s.closeListeners()
		if ctx.Err() != nil {
			return stopAll()
		}
		return errors.Join(err, stopAll())
	}

	front.Go(func() error {
		if err := s.grpc.Serve(s.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("serve gRPC: %w", err)
		}
		return nil
	})
	s.health.Resume()
	s.health.SetServingStatus("", grpc_health_v1.HealthCheckResponse_SERVING)
	s.health.SetServingStatus(v1.API_ServiceDesc.ServiceName, grpc_health_v1.HealthCheckResponse_SERVING)
	close(s.ready)
	s.lg.Info("Serving", zap.String("address", s.Addr()), zap.String("metricsAddress", s.MetricsAddr()))

	<-frontCtx.Done()
	s.lg.Info("Shutting down: draining requests and closing watches")
	s.probes.setShuttingDown()
	s.health.Shutdown()
	close(s.watchesDone)
	s.drain()
	err = stopAll()
	s.lg.Info("Stopped")
	return err
}

// drain lets in-flight calls finish within ShutdownTimeout, then cuts the
// rest.
func (s *Server) drain() {
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	t := time.NewTimer(s.cfg.ShutdownTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.lg.Warn("Requests still in flight after the shutdown timeout; closing them", zap.Duration("timeout", s.cfg.ShutdownTimeout))
		s.grpc.Stop()
		<-done
	}
}

// bootstrap creates the namespaces that exist from the start, retrying
// while etcd settles.
func (s *Server) bootstrap(ctx context.Context, reg *registry.Registry) error {
	backoff := 100 * time.Millisecond
	for {
		err := reg.EnsureNamespaces(ctx, apis.DefaultNamespaces()...)
		if err == nil {
			s.probes.setBootstrapped()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.lg.Warn("Creating the default namespaces failed; retrying", zap.Error(err))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}
