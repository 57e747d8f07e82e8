// Package scheduler measures the scheduler end to end: the built scheduler
// binary in its own process against an in-process apiserver on an embedded
// etcd (fsync on, as a real member runs), with Node objects created
// directly (no kubelet). Two workloads, each at 100 and 1,000 nodes with
// 5,000 pods of small requests:
//
//   - drain: the pods exist before the scheduler starts; throughput is pods
//     bound per second from the first bind to the last;
//   - stream: the scheduler runs while 32 clients create the pods as fast
//     as they can; throughput is pods per second from the first create to
//     the last bind, latency is from a create request's start to the bind
//     seen on a watch.
//
// The scheduler's peak RSS is its VmHWM. It prints one
// `BENCH <name> <value> <unit>` line per figure; run it with
// `make bench-scheduler`.
package scheduler

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apiserver"
	"minik8s/pkg/client"
	"minik8s/test/integration/framework"
)

const (
	numPods       = 5000
	streamClients = 32
	bindTimeout   = 10 * time.Minute
)

// cluster is an apiserver on an embedded etcd with certificates and
// kubeconfigs made by the built minictl.
type cluster struct {
	cp      *framework.ControlPlane
	clients []*client.Clientset
	stop    func()
}

func startCluster(b *testing.B) *cluster {
	b.Helper()
	dir := b.TempDir()
	port := framework.FreePort(b)
	framework.PKI(b, dir, port)
	reg := prometheus.NewRegistry()
	srv, err := apiserver.New(apiserver.Config{
		BindAddress:        "127.0.0.1",
		SecurePort:         port,
		ClientCAFile:       filepath.Join(dir, "pki", "ca.crt"),
		TLSCertFile:        filepath.Join(dir, "pki", "apiserver.crt"),
		TLSPrivateKeyFile:  filepath.Join(dir, "pki", "apiserver.key"),
		MetricsBindAddress: "127.0.0.1:0",
		DataDir:            filepath.Join(dir, "etcd"),
		Logger:             zap.NewNop(),
		Registerer:         reg,
		Gatherer:           reg,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		b.Fatalf("apiserver: %v", err)
	case <-time.After(time.Minute):
		b.Fatal("apiserver not ready")
	}
	c := &cluster{cp: &framework.ControlPlane{Dir: dir, CertDir: filepath.Join(dir, "pki"), Port: port, Addr: srv.Addr(), Server: srv, Registry: reg}}
	for range streamClients {
		cs, err := client.FromKubeconfig(filepath.Join(dir, "admin.conf"))
		if err != nil {
			b.Fatal(err)
		}
		c.clients = append(c.clients, cs)
	}
	c.stop = func() {
		for _, cs := range c.clients {
			cs.Close()
		}
		cancel()
		<-done
	}
	return c
}

func makeNodes(b *testing.B, c *cluster, n int) {
	b.Helper()
	nodes := make([]*v1.Node, n)
	for i := range nodes {
		nodes[i] = framework.MakeNode(framework.NodeSpec{Name: fmt.Sprintf("node-%04d", i), CPU: "32", Memory: "128Gi", Pods: "110",
			Labels: map[string]string{"topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%3)}})
	}
	framework.CreateNodes(b, c.clients[0], nodes...)
}

func benchPod(i int) *v1.Pod {
	return framework.MakePod(fmt.Sprintf("pod-%05d", i), "100m", "128Mi")
}

// createPods creates numPods pods from streamClients clients as fast as
// they can, recording when each create request started.
func createPods(b *testing.B, c *cluster, started []time.Time) {
	b.Helper()
	var next atomic.Int64
	var errs atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	for w := range streamClients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= numPods {
					return
				}
				started[i] = time.Now()
				if _, err := c.clients[w].Pods().Create(ctx, benchPod(i)); err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "create pod: %v\n", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if errs.Load() > 0 {
		b.Fatalf("%d creates failed", errs.Load())
	}
}

// bindWatch records when each pod was first seen bound.
type bindWatch struct {
	mu      sync.Mutex
	bound   map[string]time.Time
	rebinds int
	all     chan struct{}
	stop    func()
}

func watchBinds(b *testing.B, c *cluster) *bindWatch {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	_, rv, err := c.clients[0].Pods().List(ctx, client.ListOptions{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	w, err := c.clients[0].Pods().Watch(ctx, client.ListOptions{ResourceVersion: rv})
	if err != nil {
		b.Fatal(err)
	}
	bw := &bindWatch{bound: make(map[string]time.Time, numPods), all: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() {
		nodeOf := make(map[string]string, numPods)
		for {
			ev, err := w.Next()
			if err != nil {
				if ctx.Err() == nil {
					fmt.Fprintf(os.Stderr, "pod watch: %v\n", err)
				}
				return
			}
			if ev.Type == client.Bookmark || ev.Type == client.Deleted {
				continue
			}
			now := time.Now()
			name := ev.Object.GetMetadata().GetName()
			n := ev.Object.GetSpec().GetNodeName()
			if n == "" || nodeOf[name] == n {
				continue
			}
			bw.mu.Lock()
			if nodeOf[name] != "" {
				bw.rebinds++
			} else {
				bw.bound[name] = now
				if len(bw.bound) == numPods {
					close(bw.all)
				}
			}
			bw.mu.Unlock()
			nodeOf[name] = n
		}
	})
	bw.stop = func() { cancel(); wg.Wait() }
	return bw
}

func (bw *bindWatch) count() int {
	bw.mu.Lock()
	defer bw.mu.Unlock()
	return len(bw.bound)
}

// wait waits for every pod to be bound and returns the bind times by pod
// index.
func (bw *bindWatch) wait(b *testing.B, what string) []time.Time {
	b.Helper()
	select {
	case <-bw.all:
	case <-time.After(bindTimeout):
		b.Fatalf("%s: only %d of %d pods bound after %v", what, bw.count(), numPods, bindTimeout)
	}
	bw.mu.Lock()
	defer bw.mu.Unlock()
	if bw.rebinds > 0 {
		b.Errorf("%s: %d pods changed nodes", what, bw.rebinds)
	}
	out := make([]time.Time, numPods)
	for i := range out {
		out[i] = bw.bound[fmt.Sprintf("pod-%05d", i)]
	}
	return out
}

// procStatus reads a field in kB from /proc/<pid>/status.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// procCPU is the user+system CPU time of a process.
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * (time.Second / 100), nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentileMs(d []time.Duration, p float64) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[int(float64(len(s)-1)*p)].Microseconds()) / 1000
}

func minMax(ts []time.Time) (first, last time.Time) {
	first, last = ts[0], ts[0]
	for _, t := range ts {
		if t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return first, last
}

// profiler captures CPU profiles of the scheduler process (through its
// /debug/pprof) and of this process (apiserver, etcd, clients) while a
// workload runs, when $SCHED_BENCH_PPROF names a directory.
type profiler struct {
	dir, name string
	self      *os.File
	sched     chan error
}

func startProfile(b *testing.B, p *framework.SchedulerProcess, name string) *profiler {
	b.Helper()
	dir := os.Getenv("SCHED_BENCH_PPROF")
	if dir == "" {
		return nil
	}
	pr := &profiler{dir: dir, name: name, sched: make(chan error, 1)}
	f, err := os.Create(filepath.Join(dir, "controlplane-"+name+".pprof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	pr.self = f
	go func() {
		body, err := framework.SchedulerEndpoint(p.MetricsAddr, "/debug/pprof/profile?seconds=8")
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "scheduler-"+name+".pprof"), []byte(body), 0o644)
		}
		pr.sched <- err
	}()
	return pr
}

func (pr *profiler) stop(b *testing.B) {
	if pr == nil {
		return
	}
	pprof.StopCPUProfile()
	pr.self.Close()
	if err := <-pr.sched; err != nil {
		b.Errorf("scheduler profile: %v", err)
	}
}

// schedulerResult is what one workload measured of the scheduler process.
type schedulerResult struct {
	rssMiB float64
	cpu    time.Duration
}

// finish reads the scheduler's peak RSS and CPU, then kills it.
func finish(b *testing.B, p *framework.SchedulerProcess) schedulerResult {
	b.Helper()
	hwm, err := procStatus(p.Pid(), "VmHWM")
	if err != nil {
		b.Fatal(err)
	}
	cpu, err := procCPU(p.Pid())
	if err != nil {
		b.Fatal(err)
	}
	p.Kill()
	return schedulerResult{rssMiB: float64(hwm) / 1024, cpu: cpu}
}

func drain(b *testing.B, nodes int) schedulerResult {
	c := startCluster(b)
	defer c.stop()
	makeNodes(b, c, nodes)
	createPods(b, c, make([]time.Time, numPods))
	bw := watchBinds(b, c)
	defer bw.stop()
	cpu0 := selfCPU()
	p := c.cp.StartSchedulerBinary(b)
	prof := startProfile(b, p, fmt.Sprintf("drain-%d", nodes))
	bound := bw.wait(b, "drain")
	prof.stop(b)
	res := finish(b, p)
	first, last := minMax(bound)
	name := fmt.Sprintf("%dn_%dp", nodes, numPods)
	fmt.Printf("BENCH scheduler_drain_%s %.0f pods/s\n", name, float64(numPods)/last.Sub(first).Seconds())
	fmt.Printf("BENCH scheduler_drain_cpu_%s %.2f s\n", name, res.cpu.Seconds())
	fmt.Printf("BENCH scheduler_drain_controlplane_cpu_%s %.2f s\n", name, (selfCPU() - cpu0).Seconds())
	fmt.Printf("BENCH scheduler_drain_rss_%s %.1f MiB\n", name, res.rssMiB)
	return res
}

func stream(b *testing.B, nodes int) schedulerResult {
	c := startCluster(b)
	defer c.stop()
	makeNodes(b, c, nodes)
	bw := watchBinds(b, c)
	defer bw.stop()
	p := c.cp.StartSchedulerBinary(b)
	// Wait until it leads: the first pod of the run must not wait for
	// the lease.
	lctx, lcancel := context.WithTimeout(context.Background(), time.Minute)
	for {
		l, err := c.clients[0].Leases().Get(lctx, "kube-system", "kube-scheduler")
		if err == nil && l.GetSpec().GetHolderIdentity() != "" {
			break
		}
		if lctx.Err() != nil {
			b.Fatal("the scheduler never took the lease")
		}
		time.Sleep(20 * time.Millisecond)
	}
	lcancel()
	cpu0 := selfCPU()
	prof := startProfile(b, p, fmt.Sprintf("stream-%d", nodes))
	started := make([]time.Time, numPods)
	createPods(b, c, started)
	created := time.Now()
	bound := bw.wait(b, "stream")
	prof.stop(b)
	res := finish(b, p)
	lat := make([]time.Duration, numPods)
	for i := range lat {
		lat[i] = bound[i].Sub(started[i])
	}
	firstCreate, _ := minMax(started)
	_, lastBind := minMax(bound)
	name := fmt.Sprintf("%dn_%dp", nodes, numPods)
	fmt.Printf("BENCH scheduler_stream_%s %.0f pods/s\n", name, float64(numPods)/lastBind.Sub(firstCreate).Seconds())
	fmt.Printf("BENCH scheduler_stream_create_%s %.0f pods/s\n", name, float64(numPods)/created.Sub(firstCreate).Seconds())
	fmt.Printf("BENCH scheduler_stream_p50_%s %.0f ms\n", name, percentileMs(lat, 0.50))
	fmt.Printf("BENCH scheduler_stream_p99_%s %.0f ms\n", name, percentileMs(lat, 0.99))
	fmt.Printf("BENCH scheduler_stream_cpu_%s %.2f s\n", name, res.cpu.Seconds())
	fmt.Printf("BENCH scheduler_stream_controlplane_cpu_%s %.2f s\n", name, (selfCPU() - cpu0).Seconds())
	fmt.Printf("BENCH scheduler_stream_rss_%s %.1f MiB\n", name, res.rssMiB)
	return res
}

func BenchmarkScheduler(b *testing.B) {
	framework.Binaries(b)
	only := os.Getenv("SCHED_BENCH_ONLY") // e.g. "stream_1000" while profiling
	run := func(name string, fn func() schedulerResult) float64 {
		if only != "" && !strings.Contains(name, only) {
			return 0
		}
		return fn().rssMiB
	}
	run("drain_100", func() schedulerResult { return drain(b, 100) })
	rss := run("drain_1000", func() schedulerResult { return drain(b, 1000) })
	run("stream_100", func() schedulerResult { return stream(b, 100) })
	rss = max(rss, run("stream_1000", func() schedulerResult { return stream(b, 1000) }))
	if rss > 0 {
		fmt.Printf("BENCH scheduler_rss_1000n_%dp %.1f MiB\n", numPods, rss)
	}
}
