package apiserver

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "minik8s/api/proto/minik8s/v1"
)

// Events expire --event-ttl after their last create or update, as in
// Kubernetes; other objects written at the same time stay.
func TestEventsExpireAfterEventTTL(t *testing.T) {
	// etcd's shortest lease.
	const ttl = 2 * time.Second
	e := startEnv(t, func(cfg *Config) { cfg.EventTTL = ttl })
	c := e.admin()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// From the version of an empty list: every change after it, whenever
	// the server sets the watch up.
	empty, err := c.List(ctxT(t), &v1.ListRequest{Resource: "events", Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Watch(ctx, &v1.WatchRequest{Resource: "events", Namespace: "default", ResourceVersion: empty.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	event := func(name string) *v1.Event {
		return &v1.Event{
			Metadata:       &v1.ObjectMeta{Name: name, Namespace: "default"},
			InvolvedObject: &v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
			Reason:         "Scheduled",
			Type:           "Normal",
			Count:          1,
		}
	}
	var created []*v1.Event
	for _, name := range []string{"web.1", "web.2"} {
		resp, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "events", Object: wrap(t, event(name))})
		if err != nil {
			t.Fatalf("create event %s: %v", name, err)
		}
		created = append(created, unwrap[*v1.Event](t, resp.GetObject()))
	}
	if _, err := c.Create(ctxT(t), &v1.CreateRequest{Resource: "configmaps", Object: wrap(t, &v1.ConfigMap{
		Metadata: &v1.ObjectMeta{Name: "cm", Namespace: "default"}, Data: map[string]string{"k": "v"},
	})}); err != nil {
		t.Fatal(err)
	}
	// An update (the recorder counting a repeat) is written on a lease too.
	again := created[1]
	again.Count = 2
	resp, err := c.Update(ctxT(t), &v1.UpdateRequest{Resource: "events", Object: wrap(t, again)})
	if err != nil {
		t.Fatalf("update event web.2: %v", err)
	}
	updated := unwrap[*v1.Event](t, resp.GetObject())

	deadline := time.Now().Add(60 * time.Second)
	for _, name := range []string{"web.1", "web.2"} {
		for {
			_, err := c.Get(ctxT(t), &v1.GetRequest{Resource: "events", Namespace: "default", Name: name})
			if status.Code(err) == codes.NotFound {
				break
			}
			if err != nil {
				t.Fatalf("get event %s: %v", name, err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("event %s still there %s after its create, --event-ttl %s", name, time.Since(start), ttl)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if gone := time.Since(start); gone < ttl {
		t.Fatalf("events gone after %s, before --event-ttl %s", gone, ttl)
	}
	if _, err := c.Get(ctxT(t), &v1.GetRequest{Resource: "configmaps", Namespace: "default", Name: "cm"}); err != nil {
		t.Fatalf("config map written with the events: %v", err)
	}
	list, err := c.List(ctxT(t), &v1.ListRequest{Resource: "events", Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetItems()); n != 0 {
		t.Fatalf("listed %d events after their expiry, want none", n)
	}

	// Watchers saw the writes, then each event deleted in its last state.
	type change struct {
		typ   v1.EventType
		name  string
		count int32
	}
	var got []change
	for len(got) < 5 {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("watch after %v: %v", got, err)
		}
		if ev.GetType() == v1.EventType_EVENT_TYPE_BOOKMARK {
			continue
		}
		obj := unwrap[*v1.Event](t, ev.GetObject())
		got = append(got, change{ev.GetType(), obj.GetMetadata().GetName(), obj.GetCount()})
	}
	// The two expiries come in either order.
	slices.SortFunc(got[3:], func(a, b change) int { return strings.Compare(a.name, b.name) })
	want := []change{
		{v1.EventType_EVENT_TYPE_ADDED, "web.1", 1},
		{v1.EventType_EVENT_TYPE_ADDED, "web.2", 1},
		{v1.EventType_EVENT_TYPE_MODIFIED, "web.2", updated.GetCount()},
		{v1.EventType_EVENT_TYPE_DELETED, "web.1", 1},
		{v1.EventType_EVENT_TYPE_DELETED, "web.2", 2},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("watch saw %v, want %v", got, want)
	}
}

func TestEventTTLConfig(t *testing.T) {
	tests := []struct {
		name    string
		give    time.Duration
		want    time.Duration
		wantErr string
	}{
		{"default", 0, DefaultEventTTL, ""},
		{"set", 90 * time.Second, 90 * time.Second, ""},
		{"negative", -time.Second, 0, "--event-ttl -1s: must be greater than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			cfg := Config{ClientCAFile: "ca.crt", TLSCertFile: "tls.crt", TLSPrivateKeyFile: "tls.key",
				DataDir: t.TempDir(), Registerer: reg, Gatherer: reg, EventTTL: tt.give}
			err := cfg.complete()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.EventTTL != tt.want {
				t.Fatalf("EventTTL %s, err %v; want %s", cfg.EventTTL, err, tt.want)
			}
		})
	}
}
