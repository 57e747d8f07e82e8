package minictl

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Factory carries what every verb needs: the standard streams, the clock,
// the global flags, and how to reach the API. Tests build one with a fake
// client and a fixed clock; Main builds the real one with NewFactory.
type Factory struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	// Now is the clock used for AGE columns and waits.
	Now func() time.Time
	// Getenv reads the environment (MINIK8S_CONFIG, KUBECONFIG, HOME).
	Getenv func(string) string
	// NewClient connects to the API described by the kubeconfig file at path.
	NewClient func(kubeconfig string) (Client, error)
	// Sleep waits d or until ctx ends (polls and retries); nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// ContextNamespace returns the namespace of the kubeconfig's current
	// context, "" when it names none or the file cannot be read.
	ContextNamespace func(kubeconfig string) string

	// Values of the global flags, set by the root command.
	KubeconfigFlag     string
	NamespaceFlag      string
	RequestTimeoutFlag string

	client Client
}

// NewFactory returns a Factory wired to the real API client and clock.
func NewFactory(in io.Reader, out, errOut io.Writer, getenv func(string) string) *Factory {
	return &Factory{
		In:               in,
		Out:              out,
		ErrOut:           errOut,
		Now:              time.Now,
		Getenv:           getenv,
		NewClient:        newAPIClient,
		ContextNamespace: kubeconfigNamespace,
	}
}

// Kubeconfig is the kubeconfig path: --kubeconfig, else $MINIK8S_CONFIG,
// else the first file of $KUBECONFIG, else $HOME/.minik8s/config.
func (f *Factory) Kubeconfig() string {
	if f.KubeconfigFlag != "" {
		return f.KubeconfigFlag
	}
	if p := f.getenv("MINIK8S_CONFIG"); p != "" {
		return p
	}
	if list := f.getenv("KUBECONFIG"); list != "" {
		for _, p := range filepath.SplitList(list) {
			if p != "" {
				return p
			}
		}
	}
	return filepath.Join(f.getenv("HOME"), ".minik8s", "config")
}

func (f *Factory) getenv(key string) string {
	if f.Getenv == nil {
		return ""
	}
	return f.Getenv(key)
}

// Namespace is the namespace verbs work in: -n, else the namespace of the
// kubeconfig's current context, else "default". explicit is true when it
// came from -n (kubectl then refuses objects of another namespace).
func (f *Factory) Namespace() (ns string, explicit bool) {
	if f.NamespaceFlag != "" {
		return f.NamespaceFlag, true
	}
	if f.ContextNamespace != nil {
		if ns := f.ContextNamespace(f.Kubeconfig()); ns != "" {
			return ns, false
		}
	}
	return "default", false
}

// RequestTimeout parses --request-timeout as kubectl does: "0" (no
// timeout), a bare number of seconds, or a duration such as "30s" or "1m".
func (f *Factory) RequestTimeout() (time.Duration, error) {
	s := strings.TrimSpace(f.RequestTimeoutFlag)
	if s == "" || s == "0" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("invalid timeout value. Timeout must be a single integer in seconds, or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)")
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid timeout value. Timeout must be a single integer in seconds, or an integer followed by a corresponding time unit (e.g. 1s | 2m | 3h)")
	}
	return d, nil
}

// Client returns the API client, connecting on first use. Every call it
// makes is bounded by --request-timeout (watches excepted), and the errors
// it returns print as kubectl prints server errors.
func (f *Factory) Client() (Client, error) {
	if f.client != nil {
		return f.client, nil
	}
	timeout, err := f.RequestTimeout()
	if err != nil {
		return nil, err
	}
	if f.NewClient == nil {
		return nil, fmt.Errorf("no API client configured")
	}
	c, err := f.NewClient(f.Kubeconfig())
	if err != nil {
		return nil, err
	}
	f.client = &serverClient{next: c, timeout: timeout}
	return f.client, nil
}

func (f *Factory) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

func (f *Factory) sleep(ctx context.Context, d time.Duration) error {
	if f.Sleep != nil {
		return f.Sleep(ctx, d)
	}
	return sleepTimer(ctx, d)
}

// sleepTimer waits d or until ctx ends.
func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ClientAs returns the API client as T, an interface a verb declares for
// what Client does not cover, e.g.
//
//	type podLogger interface {
//		PodLogs(ctx context.Context, req *v1.PodLogsRequest) (io.ReadCloser, error)
//	}
//	logs, err := ClientAs[podLogger](f)
//
// The real client (pkg/client's Clientset) has every method of the API; a
// test's fake implements Client and T. Calls through T are not bounded by
// --request-timeout nor worded as server errors: wrap their errors with
// AsServerError.
func ClientAs[T any](f *Factory) (T, error) {
	var zero T
	c, err := f.Client()
	if err != nil {
		return zero, err
	}
	if sc, ok := c.(*serverClient); ok {
		c = sc.next
	}
	t, ok := c.(T)
	if !ok {
		return zero, fmt.Errorf("the API client does not support %T", (*T)(nil))
	}
	return t, nil
}
