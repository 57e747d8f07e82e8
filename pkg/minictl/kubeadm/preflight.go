package kubeadm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"minik8s/pkg/apis/errdefs"
)

// Ports of the control-plane components, as Kubernetes'.
const (
	portScheduler         = 10259
	portControllerManager = 10257
	portKubelet           = 10250
	portEtcdClient        = 2379
	portEtcdPeer          = 2380
)

// Minimums of a control-plane node, as kubeadm's.
const (
	minCPUs    = 2
	minMemMB   = 1700
	ignoreAll  = "all"
	dockerPing = 5 * time.Second
)

// check is one named pre-flight check; its errors are fatal unless
// --ignore-preflight-errors names it (or "all"), its warnings never are.
type check struct {
	name string
	run  func(ctx context.Context) (warnings []string, errs []error)
}

// ignoredChecks parses --ignore-preflight-errors as kubeadm does: names
// case-insensitively, "all" alone.
func ignoredChecks(names []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n != "" {
			out[n] = true
		}
	}
	if out[ignoreAll] && len(out) > 1 {
		return nil, errdefs.Invalid("--%s: don't specify individual checks if 'all' is used", flagIgnorePreflight)
	}
	return out, nil
}

// runChecks runs the checks and prints kubeadm's lines: warnings (and
// ignored errors) as [WARNING Name], fatal errors all together in the
// returned error.
func runChecks(ctx context.Context, out func(string, ...any), ignore map[string]bool, checks []check) error {
	var fatal []string
	for _, c := range checks {
		warnings, errs := c.run(ctx)
		for _, w := range warnings {
			out("\t[WARNING %s]: %s", c.name, w)
		}
		for _, e := range errs {
			if ignore[ignoreAll] || ignore[strings.ToLower(c.name)] {
				out("\t[WARNING %s]: %v", c.name, e)
				continue
			}
			fatal = append(fatal, fmt.Sprintf("\t[ERROR %s]: %v", c.name, e))
		}
	}
	if len(fatal) > 0 {
		return errdefs.Precondition("[preflight] Some fatal errors occurred:\n%s\n[preflight] If you know what you are doing, you can make a check non-fatal with `--%s=...`",
			strings.Join(fatal, "\n"), flagIgnorePreflight)
	}
	return nil
}

// pathCheckName names a check on a path as kubeadm does:
// DirAvailable--etc-kubernetes-manifests.
func pathCheckName(kind, path string) string {
	return kind + "-" + strings.ReplaceAll(filepath.Clean(path), "/", "-")
}

func portCheck(e env, port int) check {
	return check{name: "Port-" + strconv.Itoa(port), run: func(context.Context) ([]string, []error) {
		if e.portInUse(port) {
			return nil, []error{fmt.Errorf("Port %d is in use", port)}
		}
		return nil, nil
	}}
}

// fileAvailableCheck: the file must not exist yet.
func fileAvailableCheck(path string) check {
	return check{name: pathCheckName("FileAvailable", path), run: func(context.Context) ([]string, []error) {
		if _, err := os.Stat(path); err == nil {
			return nil, []error{fmt.Errorf("%s already exists", path)}
		}
		return nil, nil
	}}
}

// dirAvailableCheck: the directory must be absent or empty.
func dirAvailableCheck(path string) check {
	return check{name: pathCheckName("DirAvailable", path), run: func(context.Context) ([]string, []error) {
		entries, err := os.ReadDir(path)
		if err == nil && len(entries) > 0 {
			return nil, []error{fmt.Errorf("%s is not empty", path)}
		}
		return nil, nil
	}}
}

// dirWritableCheck: the directory, or the nearest parent that exists, is
// writable, so that init can create what it writes there.
func dirWritableCheck(path string) check {
	return check{name: pathCheckName("DirWritable", path), run: func(context.Context) ([]string, []error) {
		dir := filepath.Clean(path)
		for {
			st, err := os.Stat(dir)
			if err == nil {
				if !st.IsDir() {
					return nil, []error{fmt.Errorf("%s is not a directory", dir)}
				}
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return nil, []error{fmt.Errorf("no parent of %s exists", path)}
			}
			dir = parent
		}
		f, err := os.CreateTemp(dir, ".minictl-preflight-")
		if err != nil {
			return nil, []error{fmt.Errorf("%s is not writable: %v", dir, err)}
		}
		name := f.Name()
		f.Close()
		os.Remove(name)
		return nil, nil
	}}
}

func criCheck(e env, endpoint string) check {
	return check{name: "CRI", run: func(ctx context.Context) ([]string, []error) {
		ctx, cancel := context.WithTimeout(ctx, dockerPing)
		defer cancel()
		if err := e.pingDocker(ctx, endpoint); err != nil {
			return nil, []error{fmt.Errorf("container runtime is not running: %v", err)}
		}
		return nil, nil
	}}
}

func resourceChecks(e env) []check {
	return []check{
		{name: "NumCPU", run: func(context.Context) ([]string, []error) {
			if n := e.numCPU(); n < minCPUs {
				return nil, []error{fmt.Errorf("the number of available CPUs %d is less than the required %d", n, minCPUs)}
			}
			return nil, nil
		}},
		{name: "Mem", run: func(context.Context) ([]string, []error) {
			mb, err := e.memTotalMB()
			if err != nil {
				return []string{fmt.Sprintf("the system RAM could not be read: %v", err)}, nil
			}
			if mb < minMemMB {
				return nil, []error{fmt.Errorf("the system RAM (%d MB) is less than the minimum %d MB", mb, minMemMB)}
			}
			return nil, nil
		}},
	}
}

// initChecks are kubeadm init's checks, as far as they apply here.
func initChecks(d *InitData) []check {
	e := d.env
	checks := resourceChecks(e)
	checks = append(checks,
		portCheck(e, d.BindPort),
		portCheck(e, portScheduler),
		portCheck(e, portControllerManager),
	)
	for _, c := range controlPlaneComponents {
		checks = append(checks, fileAvailableCheck(filepath.Join(d.ManifestDir(), c+".yaml")))
	}
	checks = append(checks,
		fileAvailableCheck(filepath.Join(d.ManifestDir(), "etcd.yaml")),
		portCheck(e, portKubelet),
		portCheck(e, portEtcdClient),
		portCheck(e, portEtcdPeer),
		dirAvailableCheck(d.EtcdDataDir),
		dirWritableCheck(d.CertDir),
		dirWritableCheck(d.KubeconfigDir),
		dirWritableCheck(d.KubeletDir),
		criCheck(e, d.CRISocket),
	)
	return checks
}

func preflightPhase() Phase {
	return Phase{
		Name:  "preflight",
		Short: "Run pre-flight checks",
		Long:  "Run pre-flight checks for minictl init.",
		Flags: []string{flagIgnorePreflight, flagCRISocket},
		Run: func(ctx context.Context, d *InitData) error {
			d.printf("[preflight] Running pre-flight checks")
			return runChecks(ctx, d.printf, d.IgnorePreflight, initChecks(d))
		},
	}
}

// portInUse reports whether a TCP port cannot be listened on.
func portInUse(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return true
	}
	l.Close()
	return false
}

// pingDocker asks the Docker Engine at endpoint (unix:///path or
// tcp://host:port) for /_ping.
func pingDocker(ctx context.Context, endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	tr := &http.Transport{}
	base := "http://docker"
	switch u.Scheme {
	case "unix", "":
		path := u.Path
		if u.Scheme == "" {
			path = endpoint
		}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", path)
		}
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return fmt.Errorf("endpoint %q: scheme %q is not unix or tcp", endpoint, u.Scheme)
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping %s: %s", endpoint, resp.Status)
	}
	return nil
}

// memTotalMB reads MemTotal from /proc/meminfo.
func memTotalMB() (int, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("no MemTotal in /proc/meminfo")
}
