package cacher_test

import (
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"minik8s/pkg/storage"
	"minik8s/pkg/storage/cacher"
	"minik8s/pkg/storage/etcdtest"
	st "minik8s/pkg/storage/storagetest"
)

// BenchmarkCreate measures creates through the cache with 64 writers.
func BenchmarkCreate(b *testing.B) {
	s := storage.NewEtcd(etcdtest.Start(b))
	c, err := cacher.New(cacher.Config{Store: s, Prefix: st.PodPrefix, NewFunc: st.NewPod})
	if err != nil {
		b.Fatal(err)
	}
	ctx := st.Ctx(b)
	var n atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			name := fmt.Sprintf("p%d", i)
			if err := c.Create(ctx, st.Key("default", name), st.Pod("default", name, nil)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkList10k measures a consistent list of 10,000 pods from memory.
func BenchmarkList10k(b *testing.B) {
	cli := etcdtest.Start(b)
	s := storage.NewEtcd(cli)
	putPods(b, cli, 0, 10000)
	c, err := cacher.New(cacher.Config{Store: s, Prefix: st.PodPrefix, NewFunc: st.NewPod})
	if err != nil {
		b.Fatal(err)
	}
	runCache(b, c)
	ctx := st.Ctx(b)
	b.ResetTimer()
	for range b.N {
		evs, _, err := c.ListEvents(ctx, st.PodPrefix, 0, nil)
		if err != nil || len(evs) != 10000 {
			b.Fatal(len(evs), err)
		}
	}
}

// BenchmarkWatchDelivery measures from a create's return to its event
// at each of 100 watchers.
func BenchmarkWatchDelivery(b *testing.B) {
	s := storage.NewEtcd(etcdtest.Start(b))
	c, err := cacher.New(cacher.Config{Store: s, Prefix: st.PodPrefix, NewFunc: st.NewPod})
	if err != nil {
		b.Fatal(err)
	}
	runCache(b, c)
	ctx := st.Ctx(b)
	var ws []storage.Watcher
	for range 100 {
		w, err := c.Watch(ctx, st.PodPrefix, 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer w.Stop()
		ws = append(ws, w)
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("p%d", i)
		if err := c.Create(ctx, st.Key("default", name), st.Pod("default", name, nil)); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, w := range ws {
			st.Next(b, w, 10*time.Second)
			lat = append(lat, time.Since(start))
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}
