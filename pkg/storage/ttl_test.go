package storage_test

import (
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/storage"
	"minik8s/pkg/storage/embedetcd"
	st "minik8s/pkg/storage/storagetest"
)

// shortTTL is etcd's shortest lease (one and a half election timeouts,
// rounded up to whole seconds).
const shortTTL = 2 * time.Second

func TestEtcdObjectsExpireAfterTTL(t *testing.T) {
	forEachClient(t, testObjectsExpire, storage.WithTTL("pods", shortTTL))
}

// testObjectsExpire: pods, given a TTL, are gone after it, whether
// created or updated with it; a watch sees them deleted; nodes stay.
func testObjectsExpire(t *testing.T, srv *embedetcd.Server, s *storage.Etcd) {
	ctx := st.Ctx(t)
	// A pod written before the TTL applied (by a store without one), then
	// updated by the store with it.
	plain := storage.NewEtcd(srv.Client())
	w, err := s.Watch(ctx, st.PodPrefix, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	updatedKey, shortKey := st.Key("default", "updated"), st.Key("default", "short")
	revUpdatedCreated := st.MustCreate(t, plain, st.Pod("default", "updated", nil))
	revShort := st.MustCreate(t, s, st.Pod("default", "short", nil))
	updated := &v1.Pod{}
	if err := s.GuaranteedUpdate(ctx, updatedKey, updated, func(cur apis.Object) (apis.Object, error) {
		cur.GetMetadata().Labels = map[string]string{"updated": "yes"}
		return cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	node := &v1.Node{Metadata: &v1.ObjectMeta{Name: "n1"}}
	if err := s.Create(ctx, "/registry/nodes/n1", node); err != nil {
		t.Fatal(err)
	}
	// Both pods hang on leases in etcd, the node on none.
	for key, want := range map[string]bool{shortKey: true, updatedKey: true, "/registry/nodes/n1": false} {
		resp, err := srv.Client().Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) != 1 {
			t.Fatalf("get %s from etcd: %d keys", key, len(resp.Kvs))
		}
		if got := resp.Kvs[0].Lease != int64(clientv3.NoLease); got != want {
			t.Errorf("%s attached to a lease: %v, want %v", key, got, want)
		}
	}

	deadline := time.Now().Add(60 * time.Second)
	for _, key := range []string{shortKey, updatedKey} {
		for {
			err := s.Get(ctx, key, &v1.Pod{})
			if errdefs.IsNotFound(err) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still there %s after its create, TTL %s", key, time.Since(start), shortTTL)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Every lease was granted after start and lasts the TTL at least.
	if gone := time.Since(start); gone < shortTTL {
		t.Fatalf("pods gone after %s, before their TTL of %s", gone, shortTTL)
	}
	if err := s.Get(ctx, "/registry/nodes/n1", &v1.Node{}); err != nil {
		t.Fatalf("node without a TTL: %v", err)
	}

	got := st.Collect(t, w, 5)
	st.CheckEvents(t, got[:3], []st.Change{
		{Type: storage.Added, Key: updatedKey, Revision: revUpdatedCreated},
		{Type: storage.Added, Key: shortKey, Revision: revShort},
		{Type: storage.Modified, Key: updatedKey, Revision: st.RV(t, updated)},
	})
	// The expiries come in either order, each with the pod's last state.
	var deleted []string
	for _, ev := range got[3:] {
		if ev.Type != storage.Deleted {
			t.Fatalf("got %s %s, want DELETED", ev.Type, ev.Key)
		}
		st.CheckEvent(t, ev)
		if ev.Key == updatedKey && ev.Object.GetMetadata().GetLabels()["updated"] != "yes" {
			t.Errorf("deleted %s: last state %v, want the updated one", ev.Key, ev.Object.GetMetadata())
		}
		deleted = append(deleted, ev.Key)
	}
	slices.Sort(deleted)
	if want := []string{shortKey, updatedKey}; !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v", deleted, want)
	}
}

func TestEtcdTTLLeaseRevokedFromOutside(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	forEachClient(t, func(t *testing.T, srv *embedetcd.Server, s *storage.Etcd) {
		ctx := st.Ctx(t)
		st.MustCreate(t, s, st.Pod("default", "a", nil))
		resp, err := srv.Client().Get(ctx, st.Key("default", "a"))
		if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
			t.Fatalf("get a from etcd: %v, %v", err, resp)
		}
		revoked := clientv3.LeaseID(resp.Kvs[0].Lease)
		// Revoking the lease deletes what hangs on it, as its expiry does.
		if _, err := srv.Client().Revoke(ctx, revoked); err != nil {
			t.Fatal(err)
		}
		if err := s.Get(ctx, st.Key("default", "a"), &v1.Pod{}); !errdefs.IsNotFound(err) {
			t.Fatalf("get a after its lease was revoked: got %v, want NotFound", err)
		}
		// The next write, within the hour's minute of lease reuse, finds its
		// lease gone and gets another.
		st.MustCreate(t, s, st.Pod("default", "b", nil))
		resp, err = srv.Client().Get(ctx, st.Key("default", "b"))
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("get b from etcd: %v, %v", err, resp)
		}
		if l := clientv3.LeaseID(resp.Kvs[0].Lease); l == clientv3.NoLease || l == revoked {
			t.Fatalf("b on lease %x, want a new one (not %x)", l, revoked)
		}
	}, storage.WithTTL("pods", time.Hour), storage.WithLogger(zap.New(core)))
	if n := logs.FilterMessage("Lease of a write is gone; granting another").Len(); n != len(clients) {
		t.Fatalf("%d writes replaced a revoked lease, want one per client", n)
	}
}
