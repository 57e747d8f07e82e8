package certificate

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"minik8s/pkg/pki"
)

// Rotation window, as Kubernetes': a certificate is renewed once a random
// point between 70% and 90% of its lifetime has passed.
const (
	rotationStart  = 0.7
	rotationJitter = 0.2
	// Backoff between failed renewals.
	minRetry = time.Second
	maxRetry = 2 * time.Minute
)

// RotationDeadline is when a certificate is renewed: NotBefore plus
// (70% + 20% x jitter) of its lifetime; jitter is in [0, 1).
func RotationDeadline(cert *x509.Certificate, jitter float64) time.Time {
	total := cert.NotAfter.Sub(cert.NotBefore)
	frac := rotationStart + rotationJitter*jitter
	return cert.NotBefore.Add(time.Duration(float64(total) * frac))
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// NodeName is the node the certificate is for. Required.
	NodeName string
	// CertDir is the store of the client certificate (<root-dir>/pki).
	// Required; it must hold a current certificate.
	CertDir string
	// CSRs submits the renewal requests, authenticated by the current
	// certificate (the kubelet's own client). Required.
	CSRs CSRClient
	// WaitTimeout and PollInterval: the wait for a renewal to be issued.
	WaitTimeout  time.Duration
	PollInterval time.Duration
	// Jitter returns a number in [0, 1); nil means random.
	Jitter func() float64
	// Registerer receives kubelet_certificate_manager_client_ttl_seconds
	// and kubelet_certificate_manager_client_expiration_renew_errors; nil
	// means none.
	Registerer prometheus.Registerer
	Clock      clockwork.Clock
	Logger     *zap.Logger
}

// Manager renews the kubelet's client certificate before it expires.
type Manager struct {
	cfg    ManagerConfig
	store  Store
	req    *requester
	lg     *zap.Logger
	clk    clockwork.Clock
	ttl    prometheus.Gauge
	errors prometheus.Counter

	mu      sync.Mutex
	current *x509.Certificate
}

// NewManager checks cfg and loads the current certificate.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.NodeName == "" || cfg.CertDir == "" || cfg.CSRs == nil {
		return nil, fmt.Errorf("certificate manager: node name, certificate directory and CSR client are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	lg := cfg.Logger.Named("certificate").With(zap.String("node", cfg.NodeName))
	m := &Manager{
		cfg:   cfg,
		store: ClientStore(cfg.CertDir),
		lg:    lg,
		clk:   cfg.Clock,
		req:   &requester{csrs: cfg.CSRs, nodeName: cfg.NodeName, clock: cfg.Clock, timeout: cfg.WaitTimeout, poll: cfg.PollInterval, lg: lg},
		ttl: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kubelet_certificate_manager_client_ttl_seconds",
			Help: "Seconds until the kubelet's client certificate expires (negative once it has).",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kubelet_certificate_manager_client_expiration_renew_errors",
			Help: "Failed renewals of the kubelet's client certificate.",
		}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{m.ttl, m.errors} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("certificate manager metrics: %w", err)
			}
		}
	}
	if _, err := m.load(); err != nil {
		return nil, err
	}
	return m, nil
}

// Current is the certificate in use.
func (m *Manager) Current() *x509.Certificate {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.current
}

// load reads the current certificate from the store.
func (m *Manager) load() (*x509.Certificate, error) {
	pair, err := m.store.Current()
	if err != nil {
		return nil, fmt.Errorf("certificate manager: %w", err)
	}
	m.mu.Lock()
	m.current = pair.Leaf
	m.mu.Unlock()
	m.ttl.Set(pair.Leaf.NotAfter.Sub(m.clk.Now()).Seconds())
	return pair.Leaf, nil
}

// Run renews the certificate at each rotation deadline until ctx ends.
// A failed renewal is retried with backoff; Run returns nil when ctx ends.
func (m *Manager) Run(ctx context.Context) error {
	retry := minRetry
	for {
		cert, err := m.load()
		if err != nil {
			return err
		}
		deadline := RotationDeadline(cert, m.cfg.Jitter())
		m.lg.Info("Waiting to rotate the client certificate", zap.Time("notAfter", cert.NotAfter), zap.Time("rotationDeadline", deadline))
		if !m.sleep(ctx, deadline.Sub(m.clk.Now())) {
			return nil
		}
		for {
			err := m.rotate(ctx)
			if err == nil {
				retry = minRetry
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			m.errors.Inc()
			m.lg.Warn("Rotating the client certificate failed; retrying", zap.Duration("retryIn", retry), zap.Error(err))
			if !m.sleep(ctx, retry) {
				return nil
			}
			retry = min(2*retry, maxRetry)
		}
	}
}

// sleep waits d on the manager's clock; false when ctx ended first.
func (m *Manager) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := m.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.Chan():
		return true
	}
}

// rotate obtains and stores a new certificate for a new key.
func (m *Manager) rotate(ctx context.Context) error {
	key, err := pki.GenerateKey()
	if err != nil {
		return err
	}
	certPEM, err := m.req.request(ctx, key, "")
	if err != nil {
		return err
	}
	path, err := m.store.Update(certPEM, key, m.clk.Now())
	if err != nil {
		return err
	}
	cert, err := m.load()
	if err != nil {
		return err
	}
	m.lg.Info("Rotated the client certificate", zap.String("certificate", path), zap.Time("notAfter", cert.NotAfter))
	return nil
}
