// Package apiserver measures the apiserver against the physical limit of its
// design: raw etcd puts on the same etcd member (the apiserver's embedded
// one), at the same concurrency.
// It prints one `BENCH <name> <value> <unit>` line per figure. Run it with
// `make bench-apiserver`; every loop is bounded by an operation count.
package apiserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apiserver"
	"minik8s/pkg/client"
	"minik8s/test/integration/framework"
)

var concurrencies = []int{1, 8, 64}

// ops per concurrency level for creates; they add up to more than the 10k
// objects the list figure needs.
var createOps = map[int]int{1: 1000, 8: 3000, 64: 7000}

func samplePod(name string) *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "bench", "tier": "web"}},
		Spec: &v1.PodSpec{Containers: []*v1.Container{{
			Name: "app", Image: "minik8s/testapp:v1", Args: []string{"serve", "--listen", ":8080"},
			Ports: []*v1.ContainerPort{{ContainerPort: 8080}},
			Resources: &v1.ResourceRequirements{
				Requests: map[string]string{"cpu": "100m", "memory": "64Mi"},
				Limits:   map[string]string{"cpu": "500m", "memory": "128Mi"},
			},
		}}},
	}
}

type result struct {
	ops       int
	elapsed   time.Duration
	latencies []time.Duration
	errors    int64
}

func (r result) throughput() float64 { return float64(r.ops) / r.elapsed.Seconds() }

func (r result) percentile(p float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), r.latencies...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return float64(s[i].Microseconds()) / 1000
}

// run spreads ops calls of fn over c workers and times each call.
func run(c, ops int, fn func(worker, i int) error) result {
	var next atomic.Int64
	var errs atomic.Int64
	lat := make([][]time.Duration, c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= ops {
					return
				}
				t0 := time.Now()
				if err := fn(w, i); err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "bench op error: %v\n", err)
					}
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	r := result{ops: ops, elapsed: time.Since(start), errors: errs.Load()}
	for _, l := range lat {
		r.latencies = append(r.latencies, l...)
	}
	return r
}

// reportC prints figures named <verb>_<figure>_c<N>, the names.
func reportC(b *testing.B, prefix, verb string, c int, r result) {
	fmt.Printf("BENCH %s_%s_throughput_c%d %.0f ops/s\n", prefix, verb, c, r.throughput())
	fmt.Printf("BENCH %s_%s_p50_c%d %.2f ms\n", prefix, verb, c, r.percentile(0.50))
	fmt.Printf("BENCH %s_%s_p99_c%d %.2f ms\n", prefix, verb, c, r.percentile(0.99))
	if r.errors > 0 {
		b.Errorf("%s %s c=%d: %d operations failed", prefix, verb, c, r.errors)
	}
}

func BenchmarkAPIServer(b *testing.B) {
	dir := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The apiserver in its default mode: its own embedded etcd member in
	// --data-dir, fsync on as a real cluster runs it, called in the
	// process. Certificates are made the kubeadm way by the built minictl;
	// clients speak mTLS gRPC.
	port := framework.FreePort(b)
	framework.PKI(b, dir, port)
	reg := prometheus.NewRegistry()
	srv, err := apiserver.New(apiserver.Config{
		BindAddress: "127.0.0.1", SecurePort: port,
		ClientCAFile:       filepath.Join(dir, "pki", "ca.crt"),
		TLSCertFile:        filepath.Join(dir, "pki", "apiserver.crt"),
		TLSPrivateKeyFile:  filepath.Join(dir, "pki", "apiserver.key"),
		MetricsBindAddress: "127.0.0.1:0",
		DataDir:            filepath.Join(dir, "etcd"),
		Registerer:         reg, Gatherer: reg,
	})
	if err != nil {
		b.Fatal(err)
	}
	srvDone := make(chan error, 1)
	srvCtx, srvCancel := context.WithCancel(ctx)
	go func() { srvDone <- srv.Run(srvCtx) }()
	defer func() { srvCancel(); <-srvDone }()
	select {
	case <-srv.Ready():
	case err := <-srvDone:
		b.Fatalf("apiserver: %v", err)
	}

	// Raw etcd puts of a pod-sized protobuf value on the same member: the
	// physical limit. They come from network clients, one connection per
	// worker, as etcd's own benchmark tool puts.
	value, _ := proto.Marshal(samplePod("raw"))
	clients := make([]*clientv3.Client, 64)
	for i := range clients {
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.EmbeddedEtcdEndpoint()}, DialTimeout: 10 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	cs := make([]*client.Clientset, 64)
	for i := range cs {
		c, err := client.FromKubeconfig(filepath.Join(dir, "admin.conf"))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}

	// At each concurrency, raw puts and then creates of as many objects,
	// one right after the other, so that both see the same machine.
	for _, c := range concurrencies {
		n := createOps[c]
		raw := run(c, n, func(w, i int) error {
			_, err := clients[w].Put(ctx, fmt.Sprintf("/bench/raw/c%d/%d", c, i), string(value))
			return err
		})
		reportC(b, "etcd", "put", c, raw)
		r := run(c, n, func(w, i int) error {
			_, err := cs[w].Pods().Create(ctx, samplePod(fmt.Sprintf("c%d-%d", c, i)))
			return err
		})
		reportC(b, "apiserver", "create", c, r)
		fmt.Printf("BENCH apiserver_create_vs_etcd_put_c%d %.1f %%\n", c, 100*r.throughput()/raw.throughput())
	}

	for _, c := range concurrencies {
		r := run(c, 3000, func(w, i int) error {
			_, err := cs[w].Pods().Get(ctx, "default", fmt.Sprintf("c8-%d", i%createOps[8]))
			return err
		})
		reportC(b, "apiserver", "get", c, r)
	}

	for _, c := range concurrencies {
		var items atomic.Int64
		r := run(c, 2*c+8, func(w, i int) error {
			pods, _, err := cs[w].Pods().List(ctx, client.ListOptions{Namespace: "default"})
			items.Store(int64(len(pods)))
			return err
		})
		if items.Load() < 10000 {
			b.Errorf("list returned %d pods, want >= 10000", items.Load())
		}
		fmt.Printf("BENCH apiserver_list_%dk_p50_c%d %.2f ms\n", items.Load()/1000, c, r.percentile(0.50))
		fmt.Printf("BENCH apiserver_list_%dk_p99_c%d %.2f ms\n", items.Load()/1000, c, r.percentile(0.99))
		fmt.Printf("BENCH apiserver_list_%dk_throughput_c%d %.1f lists/s\n", items.Load()/1000, c, r.throughput())
	}

	// Watch delivery: time from the start of a create to the event
	// arriving at a watcher that was already open.
	for _, c := range concurrencies {
		wctx, wcancel := context.WithCancel(ctx)
		if c == concurrencies[0] {
			if _, err := cs[0].Namespaces().Create(ctx, &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "watch"}}); err != nil {
				b.Fatal(err)
			}
		}
		_, rv, err := cs[0].Pods().List(wctx, client.ListOptions{Namespace: "watch", Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		w, err := cs[0].Pods().Watch(wctx, client.ListOptions{Namespace: "watch", ResourceVersion: rv})
		if err != nil {
			b.Fatal(err)
		}
		n := 1000
		starts := sync.Map{}
		arrived := make(chan []time.Duration, 1)
		go func() {
			var lat []time.Duration
			for len(lat) < n {
				ev, err := w.Next()
				if err != nil {
					break
				}
				if ev.Type != client.Added {
					continue
				}
				if t0, ok := starts.Load(ev.Object.GetMetadata().GetName()); ok {
					lat = append(lat, time.Since(t0.(time.Time)))
				}
			}
			arrived <- lat
		}()
		t0 := time.Now()
		r := run(c, n, func(wk, i int) error {
			name := fmt.Sprintf("w%d-%d", c, i)
			starts.Store(name, time.Now())
			p := samplePod(name)
			p.Metadata.Namespace = "watch"
			_, err := cs[wk].Pods().Create(ctx, p)
			return err
		})
		var lat []time.Duration
		select {
		case lat = <-arrived:
		case <-time.After(2 * time.Minute):
			b.Errorf("watch c=%d: events did not all arrive", c)
		}
		wcancel()
		w.Stop()
		wr := result{ops: len(lat), elapsed: time.Since(t0), latencies: lat}
		fmt.Printf("BENCH apiserver_watch_delivery_p50_c%d %.2f ms\n", c, wr.percentile(0.50))
		fmt.Printf("BENCH apiserver_watch_delivery_p99_c%d %.2f ms\n", c, wr.percentile(0.99))
		fmt.Printf("BENCH apiserver_watch_events_throughput_c%d %.0f events/s\n", c, wr.throughput())
		if r.errors > 0 || len(lat) != n {
			b.Errorf("watch c=%d: %d create errors, %d of %d events", c, r.errors, len(lat), n)
		}
	}

	// The peak memory of this process (apiserver, its clients and the
	// load generator together), for the notes.
	if st, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				f := strings.Fields(rest)
				if len(f) == 2 {
					fmt.Printf("BENCH bench_process_peak_rss_kb %s kB\n", f[0])
				}
			}
		}
	}
}
