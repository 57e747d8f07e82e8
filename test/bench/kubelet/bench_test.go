// Package kubelet measures pod startup latency on the real Docker engine:
// from the create call at the apiserver to the pod's Running status, for
// 50 pods of the test image (already present), one after the other; and,
// in the same run, the floor: a plain `docker run -d` of the same image
// (create and start through the Engine API) until it runs, one after each
// pod, so that a pod and its floor see the same load on the machine; and
// the same pod made straight through the Engine API as a Docker endpoint
// of the pod network, the way of the kubelet's docker network plugin.
package kubelet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/client"
	"minik8s/pkg/kubelet"
	"minik8s/pkg/kubelet/runtime/docker"
	"minik8s/test/integration/framework"
)

const pods = 50

func BenchmarkPodStartup(b *testing.B) {
	for range b.N {
		podStart, floor, endpointPod, plugin, steps := run(b)
		fmt.Printf("--- kubelet network plugin: %s\n", plugin)
		b.ReportMetric(float64(pct(podStart, 50).Microseconds())/1000, "pod_start_p50_ms")
		fmt.Printf("BENCH pod_start_p50 %.1f ms\n", ms(pct(podStart, 50)))
		fmt.Printf("BENCH pod_start_p99 %.1f ms\n", ms(pct(podStart, 99)))
		fmt.Printf("BENCH docker_run_floor_p50 %.1f ms\n", ms(pct(floor, 50)))
		fmt.Printf("BENCH docker_run_floor_p99 %.1f ms\n", ms(pct(floor, 99)))
		// Each pod next to the docker run that followed it: the kubelet's
		// cost over the floor, robust to the machine's load drifting.
		over := make([]time.Duration, len(podStart))
		for i := range podStart {
			over[i] = podStart[i] - floor[i]
		}
		fmt.Printf("BENCH pod_start_over_floor_p50 %.1f ms\n", ms(pct(over, 50)))
		// A pod as the docker network plugin makes it (the sandbox a Docker
		// endpoint of the pod network, with its embedded DNS server),
		// straight through the Engine API, without the kubelet.
		fmt.Printf("BENCH docker_endpoint_pod_p50 %.1f ms\n", ms(pct(endpointPod, 50)))
		fmt.Printf("BENCH docker_endpoint_pod_p99 %.1f ms\n", ms(pct(endpointPod, 99)))
		// Where the time goes: each step of the pod's start, as time since
		// the create call (the kubelet's steps from its debug log "Pod
		// started", the status write from "Wrote pod status").
		for _, step := range stepOrder {
			if ds := steps[step]; len(ds) > 0 {
				fmt.Printf("BENCH pod_start_step_%s_p50 %.1f ms\n", step, ms(pct(ds, 50)))
				fmt.Printf("BENCH pod_start_step_%s_p99 %.1f ms\n", step, ms(pct(ds, 99)))
			}
		}
	}
}

// stepOrder lists the steps of a pod's start, in order: the kubelet's
// informer delivers the pod (seen), its worker syncs, the sandbox is
// created and started, the app container created and started, the status
// computed Running, written to the apiserver, and seen by a watcher.
var stepOrder = []string{"seen", "syncStarted", "sandboxCreated", "containerCreated", "containerStarted", "running", "statusWritten", "watched"}

// stepLog keeps what the kubelet logs of each pod's start.
type stepLog struct {
	mu      sync.Mutex
	started map[string]map[string]any // pod key -> fields of "Pod started"
	written map[string]time.Time      // pod key -> end of the write of the Running status
}

// core is a zap core that records the entries "Pod started" and "Wrote
// pod status" (debug), and nothing else.
func (l *stepLog) core() zapcore.Core {
	l.started = map[string]map[string]any{}
	l.written = map[string]time.Time{}
	return &stepCore{log: l}
}

type stepCore struct {
	log    *stepLog
	fields []zapcore.Field
}

func (c *stepCore) Enabled(zapcore.Level) bool { return true }

func (c *stepCore) With(fs []zapcore.Field) zapcore.Core {
	return &stepCore{log: c.log, fields: append(slices.Clip(c.fields), fs...)}
}

func (c *stepCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if e.Message == "Pod started" || e.Message == "Wrote pod status" {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *stepCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range append(slices.Clip(c.fields), fs...) {
		f.AddTo(enc)
	}
	pod, _ := enc.Fields["pod"].(string)
	c.log.mu.Lock()
	defer c.log.mu.Unlock()
	switch e.Message {
	case "Pod started":
		c.log.started[pod] = enc.Fields
	case "Wrote pod status":
		if _, done := c.log.written[pod]; !done && enc.Fields["phase"] == "Running" {
			c.log.written[pod] = e.Time
		}
	}
	return nil
}

func (c *stepCore) Sync() error { return nil }

// steps returns, for each step, the time since created of pod key.
func (l *stepLog) steps(key string, created, watched time.Time) map[string]time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]time.Duration{"watched": watched.Sub(created)}
	f, ok := l.started[key]
	if !ok {
		return out
	}
	seen, ok := f["seen"].(time.Time)
	if !ok {
		return out
	}
	out["seen"] = seen.Sub(created)
	for _, step := range stepOrder {
		if d, ok := f[step].(time.Duration); ok {
			out[step] = seen.Add(d).Sub(created)
		}
	}
	if w, ok := l.written[key]; ok {
		out["statusWritten"] = w.Sub(created)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func run(b *testing.B) (podStart, floor, endpointPod []time.Duration, plugin string, steps map[string][]time.Duration) {
	steps = map[string][]time.Duration{}
	cp := framework.StartControlPlane(b)
	admin := cp.Admin(b)
	name := framework.UniqueNodeName(b, "bench")
	rt := framework.DockerRuntime(b, name)
	trace := &stepLog{}
	k := cp.StartKubelet(b, framework.KubeletOptions{NodeName: name, Runtime: rt, PodCIDR: "10.2.240.0/24", Configure: func(c *kubelet.Config) {
		c.Logger = zap.New(zapcore.NewTee(c.Logger.Core(), trace.core()))
	}})
	select {
	case <-k.Ready():
	case <-time.After(time.Minute):
		b.Fatal("kubelet not ready")
	}
	ctx := framework.Context(b)

	var mu sync.Mutex
	waiting := map[string]chan struct{}{}
	watched := map[string]time.Time{}
	w, err := admin.Pods().Watch(ctx, client.ListOptions{Namespace: "default", FieldSelector: "spec.nodeName=" + name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	go func() {
		for {
			ev, err := w.Next()
			if err != nil {
				return
			}
			if framework.PodRunning(ev.Object) != nil {
				continue
			}
			mu.Lock()
			if ch, ok := waiting[ev.Object.GetMetadata().GetName()]; ok {
				watched[ev.Object.GetMetadata().GetName()] = time.Now()
				close(ch)
				delete(waiting, ev.Object.GetMetadata().GetName())
			}
			mu.Unlock()
		}
	}()
	engine := newEngine(b)
	// One pod first so that the pod network exists before measuring. Each
	// pod is followed by a docker run of the floor and by a pod made
	// straight through the engine, so that all three see the same load on
	// the machine.
	for i := -1; i < pods; i++ {
		pname := fmt.Sprintf("p%d", i+1)
		p := &v1.Pod{
			Metadata: &v1.ObjectMeta{Name: pname, Namespace: "default"},
			Spec: &v1.PodSpec{
				NodeName:                      name,
				TerminationGracePeriodSeconds: ptr(int64(1)),
				Containers:                    []*v1.Container{{Name: "app", Image: framework.TestappImage, Args: []string{"sleep"}, ImagePullPolicy: "IfNotPresent"}},
			},
		}
		ch := make(chan struct{})
		mu.Lock()
		waiting[pname] = ch
		mu.Unlock()
		start := time.Now()
		if _, err := admin.Pods().Create(ctx, p); err != nil {
			b.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(time.Minute):
			b.Fatalf("pod %s not Running after a minute", pname)
		}
		if i >= 0 {
			podStart = append(podStart, time.Since(start))
			mu.Lock()
			at := watched[pname]
			mu.Unlock()
			for step, d := range trace.steps("default/"+pname, start, at) {
				steps[step] = append(steps[step], d)
			}
		}
		if d := engine.runFloor(name); i >= 0 {
			floor = append(floor, d)
		}
		// Their IPs come from the /24 after the kubelet's podCIDR.
		if d := engine.runEndpointPod(name, fmt.Sprintf("10.2.241.%d", i+2)); i >= 0 {
			endpointPod = append(endpointPod, d)
		}
	}
	return podStart, floor, endpointPod, rt.NetworkPlugin(), steps
}

func ptr[T any](v T) *T { return &v }

// engine calls the Docker Engine API as the docker CLI would.
type engine struct {
	b  *testing.B
	hc *http.Client
}

func newEngine(b *testing.B) *engine {
	return &engine{b: b, hc: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", "/var/run/docker.sock")
	}}}}
}

func (e *engine) call(method, path string, body any, out any) {
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, "http://docker"+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.hc.Do(req)
	if err != nil {
		e.b.Fatalf("docker %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		e.b.Fatalf("docker %s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.b.Fatalf("docker %s %s: %v", method, path, err)
		}
	}
}

func (e *engine) create(cfg map[string]any) string {
	var created struct {
		ID string `json:"Id"`
	}
	e.call("POST", "/containers/create", cfg, &created)
	return created.ID
}

func (e *engine) start(id string) { e.call("POST", "/containers/"+id+"/start", nil, nil) }

func (e *engine) waitRunning(id string) {
	for {
		var st struct{ State struct{ Running bool } }
		e.call("GET", "/containers/"+id+"/json", nil, &st)
		if st.State.Running {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// runFloor times one `docker run -d` of the test image until it runs. The
// container carries the node's label and is removed with the node's.
func (e *engine) runFloor(node string) time.Duration {
	start := time.Now()
	id := e.create(map[string]any{
		"Image":  framework.TestappImage,
		"Cmd":    []string{"sleep"},
		"Labels": map[string]string{"minik8s.io/node": node},
	})
	e.start(id)
	e.waitRunning(id)
	return time.Since(start)
}

// runEndpointPod times a pod made straight through the engine with the
// calls of the kubelet's docker network plugin: the pause sandbox created
// on the pod network with a fixed IP, then started while the app container
// is created joined to it, then the app container started, until it runs.
func (e *engine) runEndpointPod(node, ip string) time.Duration {
	labels := map[string]string{"minik8s.io/node": node}
	logs := map[string]any{"Type": "json-file", "Config": map[string]string{"max-size": "10m", "max-file": "2"}}
	start := time.Now()
	sandbox := e.create(map[string]any{
		"Image":    docker.DefaultSandboxImage,
		"Hostname": "floor",
		"Labels":   labels,
		"HostConfig": map[string]any{
			"NetworkMode": docker.DefaultPodNetwork, "IpcMode": "shareable", "LogConfig": logs,
		},
		"NetworkingConfig": map[string]any{"EndpointsConfig": map[string]any{
			docker.DefaultPodNetwork: map[string]any{"IPAMConfig": map[string]string{"IPv4Address": ip}},
		}},
	})
	var app string
	var wg sync.WaitGroup
	wg.Go(func() {
		app = e.create(map[string]any{
			"Image":  framework.TestappImage,
			"Cmd":    []string{"sleep"},
			"Labels": labels,
			"HostConfig": map[string]any{
				"NetworkMode": "container:" + sandbox, "IpcMode": "container:" + sandbox, "LogConfig": logs,
			},
		})
	})
	e.start(sandbox)
	wg.Wait()
	e.start(app)
	e.waitRunning(app)
	return time.Since(start)
}
