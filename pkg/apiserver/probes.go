package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"minik8s/pkg/apiserver/registry"
)

// probes serves /metrics, /healthz, /livez and /readyz over plain HTTP.
// /livez says the process serves; /healthz adds etcd; /readyz adds the
// watch caches, the namespace cache, the default namespaces and "not
// shutting down". Answers are Kubernetes': "ok", or the list of checks
// ("[+]etcd ok", "[-]etcd failed: ...") with status 500; ?verbose lists
// the checks also when all pass.
type probes struct {
	srv          *http.Server
	backend      atomic.Pointer[backend]
	reg          atomic.Pointer[registry.Registry]
	bootstrapped atomic.Bool
	shuttingDown atomic.Bool
}

// etcdCheckTimeout bounds one etcd health check.
const etcdCheckTimeout = 2 * time.Second

func newProbes(s *Server) *probes {
	p := &probes{}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("/livez", p.handler("livez", p.livez))
	mux.HandleFunc("/healthz", p.handler("healthz", p.healthz))
	mux.HandleFunc("/readyz", p.handler("readyz", p.readyz))
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return p
}

func (p *probes) setBackend(be *backend, reg *registry.Registry) {
	p.backend.Store(be)
	p.reg.Store(reg)
}

func (p *probes) setBootstrapped() { p.bootstrapped.Store(true) }
func (p *probes) setShuttingDown() { p.shuttingDown.Store(true) }

func (p *probes) serve(l net.Listener) error {
	if err := p.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve probes and metrics: %w", err)
	}
	return nil
}

func (p *probes) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		p.srv.Close()
	}
}

type check struct {
	name string
	err  error
}

func (p *probes) livez(context.Context) []check { return []check{{name: "ping"}} }

func (p *probes) healthz(ctx context.Context) []check {
	checks := p.livez(ctx)
	be := p.backend.Load()
	if be == nil {
		return append(checks, check{name: "etcd", err: errors.New("storage is not open yet")})
	}
	ctx, cancel := context.WithTimeout(ctx, etcdCheckTimeout)
	defer cancel()
	return append(checks, check{name: "etcd", err: be.healthy(ctx)})
}

func (p *probes) readyz(ctx context.Context) []check {
	checks := p.healthz(ctx)
	var cacheErr, nsErr, bootErr, shutErr error
	if be := p.backend.Load(); be == nil || !be.synced() {
		cacheErr = errors.New("watch caches not synced")
	}
	if reg := p.reg.Load(); reg == nil || !reg.NamespacesSynced() {
		nsErr = errors.New("namespace cache not synced")
	}
	if !p.bootstrapped.Load() {
		bootErr = errors.New("default namespaces not created yet")
	}
	if p.shuttingDown.Load() {
		shutErr = errors.New("shutting down")
	}
	return append(checks,
		check{name: "watch-cache-sync", err: cacheErr},
		check{name: "namespace-cache-sync", err: nsErr},
		check{name: "poststarthook/default-namespaces", err: bootErr},
		check{name: "shutdown", err: shutErr},
	)
}

func (p *probes) handler(name string, run func(context.Context) []check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		checks := run(r.Context())
		failed := false
		var b strings.Builder
		for _, c := range checks {
			if c.err != nil {
				failed = true
				fmt.Fprintf(&b, "[-]%s failed: %v\n", c.name, c.err)
			} else {
				fmt.Fprintf(&b, "[+]%s ok\n", c.name)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if failed {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "%s%s check failed\n", b.String(), name)
			return
		}
		if _, verbose := r.URL.Query()["verbose"]; verbose {
			fmt.Fprintf(w, "%s%s check passed\n", b.String(), name)
			return
		}
		fmt.Fprint(w, "ok")
	}
}
