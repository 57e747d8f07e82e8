package fakeapi

import (
	"crypto/tls"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Env is a running fake with the PKI it trusts.
type Env struct {
	Server  *Server
	PKI     *PKI
	Address string
}

// Start serves a new fake with mutual TLS until the test ends.
func Start(tb testing.TB) *Env {
	tb.Helper()
	pki, err := NewPKI()
	if err != nil {
		tb.Fatal(err)
	}
	srvTLS, err := pki.ServerTLS()
	if err != nil {
		tb.Fatal(err)
	}
	s := New()
	addr, err := s.Start(srvTLS)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return &Env{Server: s, PKI: pki, Address: addr}
}

// ClientTLS is a client configuration with a certificate for cn.
func (e *Env) ClientTLS(tb testing.TB, cn string, orgs ...string) *tls.Config {
	tb.Helper()
	c, err := e.PKI.ClientTLS(cn, orgs...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// NoLeaks fails the test when, after every later cleanup has run, more
// goroutines are alive than when it was called (waiting up to 10 s for them
// to end). Call it first; tests using it must not run in parallel.
func NoLeaks(tb testing.TB) {
	tb.Helper()
	before := runtime.NumGoroutine()
	tb.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				tb.Errorf("%d goroutines leaked (%d before, %d after):\n%s", n-before, before, n, interesting(string(buf)))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// interesting drops the stacks of the test framework itself.
func interesting(stacks string) string {
	var out []string
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "testing.(*T).Run") || strings.Contains(g, "testing.tRunner") && strings.Contains(g, "NoLeaks") {
			continue
		}
		out = append(out, g)
	}
	return strings.Join(out, "\n\n")
}
