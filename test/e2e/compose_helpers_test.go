package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/client"
)

// composeCluster is the cluster of docker-compose.yaml, brought up with
// `make up` and removed with `make down`, as a user does.
type composeCluster struct {
	root       string // repository root
	minictl    string // bin/minictl
	kubeconfig string // .minik8s/admin.conf
	cs         *client.Clientset
}

// composeNodes are the nodes of docker-compose.yaml.
var composeNodes = []string{"node-1", "node-2"}

// composeServices are the long-running services of docker-compose.yaml.
var composeServices = []string{"etcd-1", "etcd-2", "etcd-3", "apiserver", "scheduler", "controller-manager", "node-1", "node-2"}

// requireDocker fails the test (never skips it: CI must not pass without
// Docker) unless the Docker engine and a compose implementation answer.
func requireDocker(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Fatalf("the compose e2e tests need the Docker engine: docker version: %v\n%s", err, out)
	}
	if exec.CommandContext(ctx, "docker", "compose", "version").Run() != nil {
		if out, err := exec.CommandContext(ctx, "docker-compose", "version").CombinedOutput(); err != nil {
			t.Fatalf("the compose e2e tests need 'docker compose' or 'docker-compose': %v\n%s", err, out)
		}
	}
}

// lockCompose serializes the compose tests of every checkout on this
// machine until the test ends: container names are fixed, so one Docker
// engine runs one compose cluster at a time.
func lockCompose(t *testing.T) {
	t.Helper()
	path := filepath.Join(os.TempDir(), "minik8s-compose-e2e.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	deadline := time.Now().Add(30 * time.Minute)
	for logged := false; ; {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			t.Fatalf("lock %s: %v", path, err)
		}
		if !logged {
			t.Logf("another compose test holds %s; waiting", path)
			logged = true
		}
		time.Sleep(2 * time.Second)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// repoRoot is the repository root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "docker-compose.yaml")); err != nil {
		t.Fatalf("no docker-compose.yaml at the repository root %s: %v", root, err)
	}
	return root
}

// runCmd runs a command in dir with a deadline and returns its combined
// output.
func runCmd(ctx context.Context, dir string, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return out.String(), err
}

// make runs a make target at the repository root.
func (c *composeCluster) make(t *testing.T, timeout time.Duration, target string) string {
	t.Helper()
	out, err := runCmd(context.Background(), c.root, timeout, "make", "--no-print-directory", target)
	if err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, tail(out, 60))
	}
	return out
}

// docker runs a docker command and fails the test when it fails.
func (c *composeCluster) docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCmd(context.Background(), c.root, 2*time.Minute, "docker", args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

// run runs minictl against the cluster and fails the test when it fails.
func (c *composeCluster) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.tryRun(args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// tryRun runs minictl against the cluster.
func (c *composeCluster) tryRun(args ...string) (string, error) {
	return runCmd(context.Background(), c.root, time.Minute, c.minictl, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
}

// composeLogs prints the last lines of every service's log (on failure).
func (c *composeCluster) composeLogs(t *testing.T) {
	t.Helper()
	for _, s := range append([]string{"init"}, composeServices...) {
		out, _ := runCmd(context.Background(), c.root, time.Minute, "docker", "logs", "--tail", "25", s)
		t.Logf("--- logs of %s ---\n%s", s, out)
	}
}

// waitFor polls cond every interval until it returns true or the timeout
// passes; then it fails the test with what cond said last.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, state)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// eventually is waitFor that reports a timeout with t.Errorf and returns
// false, so that the test goes on with its other checks.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return true
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: not within %s; last: %s", what, timeout, state)
			return false
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// pods lists the pods of the default namespace matching selector.
func (c *composeCluster) pods(t *testing.T, selector string) []*v1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods, _, err := c.cs.Pods().List(ctx, client.ListOptions{Namespace: "default", LabelSelector: selector})
	if err != nil {
		t.Fatalf("list pods %q: %v", selector, err)
	}
	return pods
}

// podRunning says whether a pod is Running with every container ready.
func podRunning(p *v1.Pod) bool {
	st := p.GetStatus()
	if st.GetPhase() != "Running" || len(st.GetContainerStatuses()) == 0 {
		return false
	}
	for _, cs := range st.GetContainerStatuses() {
		if !cs.GetReady() || cs.GetState().GetRunning() == nil {
			return false
		}
	}
	return true
}

// describePods is a one-line summary of pods for failure messages.
func describePods(pods []*v1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "%s(node=%s phase=%s", p.GetMetadata().GetName(), p.GetSpec().GetNodeName(), p.GetStatus().GetPhase())
		for _, cs := range p.GetStatus().GetContainerStatuses() {
			if w := cs.GetState().GetWaiting(); w != nil {
				fmt.Fprintf(&b, " %s=%s", cs.GetName(), w.GetReason())
			}
		}
		b.WriteString(") ")
	}
	return b.String()
}

// httpGet fetches a URL with a short deadline.
func httpGet(u string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// nodeContainers returns the IDs of the containers the kubelet of node
// started, running or not.
func (c *composeCluster) nodeContainers(t *testing.T, node string, all bool) []string {
	t.Helper()
	args := []string{"ps", "-q", "--no-trunc", "--filter", "label=minik8s.io/node=" + node}
	if all {
		args = append(args, "-a")
	}
	return strings.Fields(c.docker(t, args...))
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// prometheus is a Prometheus server run from Debian's package with
// deploy/prometheus/prometheus-host.yml.
type prometheus struct {
	base string // http://127.0.0.1:port
}

// startPrometheus installs Prometheus when missing (deploy/prometheus/ensure.sh)
// and runs it on a free loopback port until the test ends.
func startPrometheus(t *testing.T, root string) *prometheus {
	t.Helper()
	if out, err := runCmd(context.Background(), root, 10*time.Minute, filepath.Join(root, "deploy", "prometheus", "ensure.sh")); err != nil {
		t.Fatalf("install prometheus: %v\n%s", err, out)
	}
	port := freePort(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "prometheus",
		"--config.file="+filepath.Join(root, "deploy", "prometheus", "prometheus-host.yml"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--log.level=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("prometheus logs:\n%s", tail(logs.String(), 30))
		}
	})
	p := &prometheus{base: "http://127.0.0.1:" + strconv.Itoa(port)}
	waitFor(t, time.Minute, "prometheus ready", func() (bool, string) {
		code, body, err := httpGet(p.base + "/-/ready")
		return err == nil && code == http.StatusOK, fmt.Sprint(code, body, err)
	})
	return p
}

// api calls Prometheus' HTTP API and decodes data into out.
func (p *prometheus) api(path string, q url.Values, out any) error {
	u := p.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	code, body, err := httpGet(u)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", u, code, body)
	}
	var resp struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return err
	}
	if resp.Status != "success" {
		return fmt.Errorf("GET %s: %s", u, resp.Error)
	}
	return json.Unmarshal(resp.Data, out)
}

// targets returns job/instance -> health of the active targets.
func (p *prometheus) targets() (map[string]string, error) {
	var data struct {
		ActiveTargets []struct {
			Labels    map[string]string `json:"labels"`
			Health    string            `json:"health"`
			LastError string            `json:"lastError"`
		} `json:"activeTargets"`
	}
	if err := p.api("/api/v1/targets", nil, &data); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, tg := range data.ActiveTargets {
		h := tg.Health
		if tg.LastError != "" {
			h += " (" + tg.LastError + ")"
		}
		out[tg.Labels["job"]+"/"+tg.Labels["instance"]] = h
	}
	return out, nil
}

// query evaluates an instant query whose result is a single number (use
// sum(...)); an empty result is 0.
func (p *prometheus) query(q string) (float64, error) {
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := p.api("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return 0, err
	}
	switch len(data.Result) {
	case 0:
		return 0, nil
	case 1:
		s, _ := data.Result[0].Value[1].(string)
		return strconv.ParseFloat(s, 64)
	default:
		return 0, fmt.Errorf("query %s: %d series, want one", q, len(data.Result))
	}
}
