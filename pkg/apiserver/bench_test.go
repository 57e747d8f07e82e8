package apiserver

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
)

// BenchmarkCreatePods measures pod creates through the whole server (mTLS,
// interceptors, admission, etcd with fsync) at several concurrencies, one
// connection per client. It prints throughput and latency percentiles.
func BenchmarkCreatePods(b *testing.B) {
	for _, c := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) {
			e := startEnv(b, func(cfg *Config) {
				cfg.EtcdUnsafeNoFsync = os.Getenv("BENCH_NOFSYNC") != ""
				cfg.Logger = zap.NewNop()
			})
			clients := make([]v1.APIClient, c)
			for i := range clients {
				clients[i] = e.client("kubernetes-admin", "system:masters")
			}
			n := 200 * c
			if n > 4000 {
				n = 4000
			}
			lat := make([]time.Duration, n)
			var wg sync.WaitGroup
			next := make(chan int, n)
			for i := 0; i < n; i++ {
				next <- i
			}
			close(next)
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < c; w++ {
				wg.Add(1)
				go func(cl v1.APIClient) {
					defer wg.Done()
					for i := range next {
						p := newPod("default", fmt.Sprintf("p-%d", i))
						a := wrap(b, p)
						t0 := time.Now()
						_, err := cl.Create(context.Background(), &v1.CreateRequest{Resource: "pods", Object: a})
						lat[i] = time.Since(t0)
						if err != nil {
							b.Error(err)
							return
						}
					}
				}(clients[w])
			}
			wg.Wait()
			el := time.Since(start)
			slices.Sort(lat)
			b.ReportMetric(float64(n)/el.Seconds(), "creates/s")
			b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99_ms")
		})
	}
}
