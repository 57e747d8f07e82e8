package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"k8s.io/utils/clock"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// DefaultListPageSize is how many keys a List reads from etcd per request.
const DefaultListPageSize = 1000

// Etcd is the store on etcd. Values are protobuf without resourceVersion;
// an object's resourceVersion is its key's mod revision. Objects of a
// resource given a TTL (WithTTL) expire: etcd deletes them when the lease
// their last write is attached to ends. Safe for concurrent use.
type Etcd struct {
	cli      *clientv3.Client
	lg       *zap.Logger
	metrics  *Metrics
	pageSize int64
	types    map[string]func() apis.Object
	ttls     map[string]time.Duration
	// leases hands out the leases of each resource in ttls.
	leases map[string]*leaseManager
}

var _ Interface = (*Etcd)(nil)

// Option configures NewEtcd.
type Option func(*Etcd)

// WithLogger sets the logger (default: none).
func WithLogger(lg *zap.Logger) Option { return func(s *Etcd) { s.lg = lg } }

// WithMetrics sets the metrics to record into (default: none).
func WithMetrics(m *Metrics) Option { return func(s *Etcd) { s.metrics = m } }

// WithListPageSize sets how many keys a List reads per etcd request.
func WithListPageSize(n int64) Option {
	return func(s *Etcd) {
		if n > 0 {
			s.pageSize = n
		}
	}
}

// WithTTL makes the objects of resource ("events") expire ttl after their
// last write, as kube-apiserver's --event-ttl does for Events: every create
// and update attaches the key to an etcd lease, and etcd deletes the key
// when the lease ends. Watches (and so the watch caches) see the expiry as
// a Deleted event. As in Kubernetes, the writes of a short window share
// one lease: an object lives at least ttl (whole seconds, rounded up) and
// at most 5% of it (a minute at most) longer. An update that changes nothing
// writes nothing and so does not extend the object's life. ttl <= 0: the
// objects never expire (the default).
func WithTTL(resource string, ttl time.Duration) Option {
	return func(s *Etcd) {
		if ttl > 0 {
			s.ttls[resource] = ttl
		} else {
			delete(s.ttls, resource)
		}
	}
}

// NewEtcd returns a store on cli. The caller keeps owning cli (and closes
// it after every user of the store is done).
func NewEtcd(cli *clientv3.Client, opts ...Option) *Etcd {
	s := &Etcd{
		cli:      cli,
		lg:       zap.NewNop(),
		pageSize: DefaultListPageSize,
		types:    map[string]func() apis.Object{},
		ttls:     map[string]time.Duration{},
		leases:   map[string]*leaseManager{},
	}
	for _, r := range apis.Resources() {
		s.types[r.Name] = r.New
	}
	for _, o := range opts {
		o(s)
	}
	for res, ttl := range s.ttls {
		s.leases[res] = newLeaseManager(cli.Lease, clock.RealClock{}, ttl, s.metrics)
	}
	return s
}

// commitPut commits the transaction txn builds around put, the put of data
// at key. When key's resource expires (WithTTL), the put is attached to a
// lease; a lease etcd no longer knows (revoked from outside the store) is
// replaced once.
func (s *Etcd) commitPut(ctx context.Context, key string, data []byte, txn func(put clientv3.Op) clientv3.Txn) (*clientv3.TxnResponse, error) {
	lm := s.leases[ResourceOf(key)]
	if lm == nil {
		return txn(clientv3.OpPut(key, string(data))).Commit()
	}
	for attempt := 0; ; attempt++ {
		id, err := lm.get(ctx)
		if err != nil {
			return nil, fmt.Errorf("grant lease: %w", err)
		}
		resp, err := txn(clientv3.OpPut(key, string(data), clientv3.WithLease(id))).Commit()
		if err != nil && attempt == 0 && errors.Is(err, rpctypes.ErrLeaseNotFound) {
			s.lg.Warn("Lease of a write is gone; granting another", zap.String("key", key), zap.Int64("lease", int64(id)))
			lm.forget(id)
			continue
		}
		return resp, err
	}
}

func (s *Etcd) observe(op, key string, start time.Time) {
	s.metrics.ObserveRequest(op, ResourceOf(key), time.Since(start))
}

// newFor returns an empty object of the resource key belongs to.
func (s *Etcd) newFor(key string) (apis.Object, error) {
	if fn, ok := s.types[ResourceOf(key)]; ok {
		return fn(), nil
	}
	return nil, errdefs.Invalid("key %s names no known resource", key)
}

// Create implements Interface.
func (s *Etcd) Create(ctx context.Context, key string, obj apis.Object) error {
	data, err := Marshal(obj)
	if err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	return s.CreateEncoded(ctx, key, obj, data)
}

// CreateEncoded is Create for a caller that has encoded obj already
// (data = Marshal(obj)), to check its size or to answer with it
// (WithRevision(data, ..., revision) is the created object's encoding):
// the object is encoded once per create.
func (s *Etcd) CreateEncoded(ctx context.Context, key string, obj apis.Object, data []byte) error {
	if err := checkSize(data); err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	start := time.Now()
	resp, err := s.commitPut(ctx, key, data, func(put clientv3.Op) clientv3.Txn {
		return s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(put)
	})
	s.observe("create", key, start)
	if err != nil {
		return etcdError(err, "create", key)
	}
	if !resp.Succeeded {
		return errdefs.AlreadyExists("%s already exists", key)
	}
	SetRevision(obj, resp.Header.Revision)
	return nil
}

func (s *Etcd) getKV(ctx context.Context, key string) (*mvccpb.KeyValue, error) {
	start := time.Now()
	resp, err := s.cli.Get(ctx, key)
	s.observe("get", key, start)
	if err != nil {
		return nil, etcdError(err, "get", key)
	}
	if len(resp.Kvs) == 0 {
		return nil, errdefs.NotFound("%s not found", key)
	}
	return resp.Kvs[0], nil
}

// Get implements Interface.
func (s *Etcd) Get(ctx context.Context, key string, out apis.Object) error {
	kv, err := s.getKV(ctx, key)
	if err != nil {
		return err
	}
	return decode(kv.Value, kv.ModRevision, out)
}

// copyInto makes out a copy of src (both of one kind).
func copyInto(out, src apis.Object) error {
	if out == src {
		return nil
	}
	if out.ProtoReflect().Descriptor() != src.ProtoReflect().Descriptor() {
		return fmt.Errorf("cannot store a %s into a %s", src.ProtoReflect().Descriptor().Name(), out.ProtoReflect().Descriptor().Name())
	}
	proto.Reset(out)
	proto.Merge(out, src)
	return nil
}

// state is what an update or delete believes the stored object to be.
type state struct {
	obj  apis.Object // private decoded copy, resourceVersion set
	data []byte      // stored encoding
	rev  int64       // mod revision
	// stale is true when the state came from a cache, not from etcd.
	stale bool
}

func (s *Etcd) fresh(kv *mvccpb.KeyValue, like apis.Object) (*state, error) {
	obj := like.ProtoReflect().New().Interface().(apis.Object)
	if err := decode(kv.Value, kv.ModRevision, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", kv.Key, err)
	}
	return &state{obj: obj, data: kv.Value, rev: kv.ModRevision}, nil
}

// fromCache makes a state of a cached copy (read-only; it is cloned).
func fromCache(cached apis.Object) (*state, error) {
	rev, err := ParseRevision(cached.GetMetadata().GetResourceVersion())
	if err != nil || rev == 0 {
		return nil, fmt.Errorf("cached object without a resourceVersion")
	}
	obj := proto.Clone(cached).(apis.Object)
	data, err := Encode(obj)
	if err != nil {
		return nil, err
	}
	return &state{obj: obj, data: data, rev: rev, stale: true}, nil
}

func (s *Etcd) read(ctx context.Context, key string, like apis.Object) (*state, error) {
	kv, err := s.getKV(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.fresh(kv, like)
}

// GuaranteedUpdate implements Interface. An update that changes nothing is
// not written: out receives the object as stored, its resourceVersion
// unchanged (as in Kubernetes).
func (s *Etcd) GuaranteedUpdate(ctx context.Context, key string, out apis.Object, tryUpdate UpdateFunc) error {
	return s.GuaranteedUpdateFrom(ctx, key, out, tryUpdate, nil)
}

// GuaranteedUpdateFrom is GuaranteedUpdate starting from cached, a copy of
// the object from a watch cache (read-only, possibly stale; nil: read
// etcd), which saves the first read when the cache is current. A stale
// copy costs nothing but a retry: the write compares on its revision, and
// a tryUpdate that fails on it, or finds nothing to change, is tried again
// on a fresh read before its answer counts.
func (s *Etcd) GuaranteedUpdateFrom(ctx context.Context, key string, out apis.Object, tryUpdate UpdateFunc, cached apis.Object) error {
	var cur *state
	var err error
	if cached != nil {
		cur, err = fromCache(cached)
	}
	if cur == nil || err != nil {
		if cur, err = s.read(ctx, key, out); err != nil {
			return err
		}
	}
	for {
		updated, err := tryUpdate(cur.obj)
		if err != nil {
			if cur.stale {
				if cur, err = s.read(ctx, key, out); err != nil {
					return err
				}
				continue
			}
			return err
		}
		if updated == nil {
			return fmt.Errorf("update %s: the update function returned no object", key)
		}
		data, err := Encode(updated)
		if err != nil {
			return fmt.Errorf("update %s: %w", key, err)
		}
		if bytes.Equal(data, cur.data) {
			if cur.stale {
				if cur, err = s.read(ctx, key, out); err != nil {
					return err
				}
				continue
			}
			SetRevision(updated, cur.rev)
			return copyInto(out, updated)
		}
		start := time.Now()
		resp, err := s.commitPut(ctx, key, data, func(put clientv3.Op) clientv3.Txn {
			return s.cli.Txn(ctx).
				If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.rev)).
				Then(put).
				Else(clientv3.OpGet(key))
		})
		s.observe("update", key, start)
		if err != nil {
			return etcdError(err, "update", key)
		}
		if resp.Succeeded {
			SetRevision(updated, resp.Header.Revision)
			return copyInto(out, updated)
		}
		// Another writer came first: redo the read-modify-write on what
		// the transaction read instead.
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			return errdefs.NotFound("%s not found", key)
		}
		if cur, err = s.fresh(kvs[0], out); err != nil {
			return fmt.Errorf("update %s: %w", key, err)
		}
	}
}

// Delete implements Interface. out may be nil.
func (s *Etcd) Delete(ctx context.Context, key string, out apis.Object, check func(current apis.Object) error) error {
	return s.DeleteFrom(ctx, key, out, check, nil)
}

// DeleteFrom is Delete starting from cached, a copy of the object from a
// watch cache (read-only, possibly stale; nil: read etcd), as
// GuaranteedUpdateFrom: a check that fails on a stale copy is tried again
// on a fresh read.
func (s *Etcd) DeleteFrom(ctx context.Context, key string, out apis.Object, check func(current apis.Object) error, cached apis.Object) error {
	like := out
	if like == nil {
		var err error
		if like, err = s.newFor(key); err != nil {
			return err
		}
	}
	var cur *state
	var err error
	if cached != nil {
		cur, err = fromCache(cached)
	}
	if cur == nil || err != nil {
		if cur, err = s.read(ctx, key, like); err != nil {
			return err
		}
	}
	for {
		if check != nil {
			if err := check(cur.obj); err != nil {
				if cur.stale {
					if cur, err = s.read(ctx, key, like); err != nil {
						return err
					}
					continue
				}
				return err
			}
		}
		start := time.Now()
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", cur.rev)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		s.observe("delete", key, start)
		if err != nil {
			return etcdError(err, "delete", key)
		}
		if resp.Succeeded {
			if out == nil {
				return nil
			}
			SetRevision(cur.obj, resp.Header.Revision)
			return copyInto(out, cur.obj)
		}
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			return errdefs.NotFound("%s not found", key)
		}
		if cur, err = s.fresh(kvs[0], like); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
	}
}

// List implements Interface: a consistent read of the whole prefix at one
// revision, in pages. A minRevision newer than etcd's revision fails with
// errdefs.ClassTimeout ("too large resource version"), as in Kubernetes.
// newObj may be nil (the kind is found from the prefix).
func (s *Etcd) List(ctx context.Context, prefix string, minRevision int64, newObj func() apis.Object, filter func(apis.Object) bool) ([]apis.Object, int64, error) {
	return s.list(ctx, prefix, 0, minRevision, newObj, filter)
}

// ListAt reads every object under prefix as it was at revision rev (the
// objects' resourceVersions are their mod revisions then). A revision
// etcd has compacted fails with errdefs.Expired. newObj may be nil.
func (s *Etcd) ListAt(ctx context.Context, prefix string, rev int64, newObj func() apis.Object) ([]apis.Object, error) {
	if rev <= 0 {
		return nil, errdefs.Invalid("list %s at revision %d: the revision must be positive", prefix, rev)
	}
	objs, _, err := s.list(ctx, prefix, rev, 0, newObj, nil)
	return objs, err
}

// list reads prefix at revision at (0: the current one).
func (s *Etcd) list(ctx context.Context, prefix string, at, minRevision int64, newObj func() apis.Object, filter func(apis.Object) bool) ([]apis.Object, int64, error) {
	if newObj == nil {
		fn, ok := s.types[ResourceOf(prefix)]
		if !ok {
			return nil, 0, errdefs.Invalid("prefix %s names no known resource", prefix)
		}
		newObj = fn
	}
	start := time.Now()
	defer s.observe("list", prefix, start)
	end := clientv3.GetPrefixRangeEnd(prefix)
	key := prefix
	var (
		rev   = at
		first = true
		out   []apis.Object
		total int
	)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(s.pageSize)}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, key, opts...)
		if err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) && at > 0 {
				return nil, 0, errdefs.Expired("list %s at revision %d: too old resource version (compacted)", prefix, at)
			}
			return nil, 0, etcdError(err, "list", prefix)
		}
		if first {
			first = false
			if rev == 0 {
				rev = resp.Header.Revision
			}
			if minRevision > rev {
				return nil, 0, tooLargeRevision(minRevision, rev)
			}
			if filter == nil {
				out = make([]apis.Object, 0, resp.Count)
			}
		}
		for _, kv := range resp.Kvs {
			obj := newObj()
			if err := decode(kv.Value, kv.ModRevision, obj); err != nil {
				return nil, 0, fmt.Errorf("list %s: %s: %w", prefix, kv.Key, err)
			}
			total++
			if filter == nil || filter(obj) {
				out = append(out, obj)
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	if at == 0 && isResourcePrefix(prefix) {
		s.metrics.SetObjects(ResourceOf(prefix), total)
	}
	return out, rev, nil
}

// ListPage implements Interface on etcd, as kube-apiserver's etcd3 store
// pages: the first page is read at the current revision (or exactly at
// opts.Revision), the later ones at the revision their token carries.
// With a filter, reading goes on (in growing batches) until the page is
// full or the range ends.
func (s *Etcd) ListPage(ctx context.Context, prefix string, opts PageOptions, newObj func() apis.Object, filter func(apis.Object) bool) (*Page, error) {
	if opts.Limit <= 0 {
		return nil, errdefs.Invalid("limit: Invalid value: %d: must be positive for a paged list", opts.Limit)
	}
	if newObj == nil {
		fn, ok := s.types[ResourceOf(prefix)]
		if !ok {
			return nil, errdefs.Invalid("prefix %s names no known resource", prefix)
		}
		newObj = fn
	}
	key, rev := prefix, opts.Revision
	if opts.Continue != "" {
		if opts.Revision != 0 {
			return nil, errdefs.Invalid("resourceVersion: Forbidden: specifying resource version is not allowed when using continue")
		}
		var err error
		if key, rev, err = DecodeContinue(opts.Continue, prefix); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	defer s.observe("list", prefix, start)
	end := clientv3.GetPrefixRangeEnd(prefix)
	batch := min(opts.Limit, s.pageSize)
	page := &Page{}
	for {
		getOpts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(batch)}
		if rev > 0 {
			getOpts = append(getOpts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, key, getOpts...)
		if err != nil {
			return nil, pageError(err, prefix, rev, opts)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		more := resp.More
		var (
			read    int64 // keys of resp taken into the page
			lastKey []byte
		)
		for _, kv := range resp.Kvs {
			if int64(len(page.Items)) >= opts.Limit {
				more = true
				break
			}
			read++
			lastKey = kv.Key
			obj := newObj()
			if err := decode(kv.Value, kv.ModRevision, obj); err != nil {
				return nil, fmt.Errorf("list %s: %s: %w", prefix, kv.Key, err)
			}
			if filter == nil || filter(obj) {
				page.Items = append(page.Items, obj)
			}
		}
		if !more || len(resp.Kvs) == 0 {
			break
		}
		next := string(lastKey) + "\x00"
		if int64(len(page.Items)) >= opts.Limit {
			token, err := EncodeContinue(next, prefix, rev)
			if err != nil {
				return nil, err
			}
			page.Continue = token
			if filter == nil {
				// Count is every key from this read's start to the end
				// of the range; the page took read of them.
				remaining := resp.Count - read
				page.RemainingItemCount = &remaining
			}
			break
		}
		key = next
		if filter != nil {
			// The filter dropped objects: read more at once, as
			// Kubernetes does, up to the store's page size.
			batch = max(batch, min(2*batch, s.pageSize))
		}
	}
	page.Revision = rev
	return page, nil
}

// pageError classifies a failed read of ListPage at rev: a compacted
// continue token is Expired with Kubernetes' message, a compacted first
// page too old, a revision etcd has not reached too large.
func pageError(err error, prefix string, rev int64, opts PageOptions) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted) && opts.Continue != "":
		return errdefs.Expired("%s", ContinueExpiredMessage)
	case errors.Is(err, rpctypes.ErrCompacted):
		return errdefs.Expired("list %s at revision %d: too old resource version (compacted)", prefix, rev)
	case errors.Is(err, rpctypes.ErrFutureRev) && opts.Continue != "":
		// A linearizable read has seen every revision there is: the
		// token was not made by this cluster.
		return invalidContinue(opts.Continue, fmt.Sprintf("revision %d is in the future", rev))
	case errors.Is(err, rpctypes.ErrFutureRev):
		return &errdefs.Error{Class: errdefs.ClassTimeout, Msg: fmt.Sprintf("too large resource version: %d", rev), Err: err}
	}
	return etcdError(err, "list", prefix)
}

func tooLargeRevision(want, have int64) error {
	return &errdefs.Error{Class: errdefs.ClassTimeout, Msg: fmt.Sprintf("too large resource version: %d, current: %d", want, have)}
}

// CurrentRevision returns etcd's current revision (a linearizable read).
func (s *Etcd) CurrentRevision(ctx context.Context) (int64, error) {
	start := time.Now()
	resp, err := s.cli.Get(ctx, compactRevKey, clientv3.WithCountOnly())
	s.metrics.ObserveRequest("get", "revision", time.Since(start))
	if err != nil {
		return 0, etcdError(err, "get revision", "")
	}
	return resp.Header.Revision, nil
}

// WithWatchStream returns ctx for Watch and RequestProgress calls that
// share their own etcd watch stream, named name. etcd sends a stream's
// progress notification only when every watch on it has caught up and
// none starts after the current revision, so one watch opened "from now"
// would hold back the progress of all others on its stream: each watch
// cache keeps to a stream of its own.
func WithWatchStream(ctx context.Context, name string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "minik8s-watch-stream", name)
}

// RequestProgress asks etcd to send every watch of this client on ctx's
// stream (WithWatchStream) a progress notification (a Bookmark at the
// current revision) once the watches have caught up.
func (s *Etcd) RequestProgress(ctx context.Context) error {
	if err := s.cli.RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil {
		return etcdError(err, "request progress", "")
	}
	return nil
}

// Watch implements Interface, straight on etcd: one etcd watch per call.
// Besides changes it delivers Bookmark events when etcd reports progress
// and after the events of each etcd response, whose revisions are then
// complete (etcd never splits a revision across responses).
func (s *Etcd) Watch(ctx context.Context, prefix string, revision int64, filter func(apis.Object) bool) (Watcher, error) {
	if _, ok := s.types[ResourceOf(prefix)]; !ok {
		return nil, errdefs.Invalid("prefix %s names no known resource", prefix)
	}
	wctx, cancel := context.WithCancel(ctx)
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithProgressNotify(), clientv3.WithCreatedNotify()}
	if revision > 0 {
		opts = append(opts, clientv3.WithRev(revision+1))
	}
	w := &etcdWatcher{
		s:      s,
		prefix: prefix,
		filter: filter,
		result: make(chan Event, 100),
		cancel: cancel,
		done:   make(chan struct{}),
		start:  time.Now(),
	}
	wch := s.cli.Watch(clientv3.WithRequireLeader(wctx), prefix, opts...)
	// Wait until etcd has registered the watch, so that "from now" means
	// from the return of this call and setup errors are returned here.
	var first *clientv3.WatchResponse
	select {
	case resp, ok := <-wch:
		switch {
		case !ok:
			cancel()
			if err := ctx.Err(); err != nil {
				return nil, etcdError(err, "watch", prefix)
			}
			return nil, errdefs.Unavailable("watch %s: etcd closed the watch", prefix)
		case resp.Err() != nil:
			cancel()
			return nil, w.watchError(resp, revision)
		}
		s.observe("watch", prefix, w.start)
		if !resp.Created {
			first = &resp // not expected from etcd; handled all the same
		}
	case <-ctx.Done():
		cancel()
		return nil, etcdError(ctx.Err(), "watch", prefix)
	}
	go w.run(wctx, wch, revision, first)
	return w, nil
}

// watchError classifies a failed watch response; revision is the last
// revision the watch had reached (where etcd was asked to resume).
func (w *etcdWatcher) watchError(resp clientv3.WatchResponse, revision int64) error {
	if resp.CompactRevision != 0 {
		return errdefs.Wrap(errdefs.ClassExpired, &CompactedError{Revision: resp.CompactRevision},
			fmt.Sprintf("watch %s after revision %d: too old resource version", w.prefix, revision))
	}
	return etcdError(resp.Err(), "watch", w.prefix)
}

type etcdWatcher struct {
	s      *Etcd
	prefix string
	filter func(apis.Object) bool
	result chan Event
	cancel context.CancelFunc
	done   chan struct{}
	start  time.Time

	mu  sync.Mutex
	err error
}

func (w *etcdWatcher) ResultChan() <-chan Event { return w.result }

func (w *etcdWatcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stop ends the watch and waits for its goroutine.
func (w *etcdWatcher) Stop() {
	w.cancel()
	<-w.done
}

// run hands etcd's responses to the result channel. revision is where the
// watch started; it follows the responses, so that an error names where
// the watch stood when it failed (etcd's client resumes a broken stream
// from there on its own).
func (w *etcdWatcher) run(ctx context.Context, wch clientv3.WatchChan, revision int64, first *clientv3.WatchResponse) {
	defer close(w.done)
	defer close(w.result)
	defer w.cancel()
	send := func(ev Event) bool {
		select {
		case w.result <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		var (
			resp clientv3.WatchResponse
			ok   bool
		)
		if first != nil {
			resp, ok, first = *first, true, nil
		} else {
			select {
			case resp, ok = <-wch:
			case <-ctx.Done():
				return
			}
		}
		if !ok {
			if ctx.Err() == nil {
				w.fail(errdefs.Unavailable("watch %s: etcd closed the watch", w.prefix))
			}
			return
		}
		if resp.Err() != nil {
			if resp.CompactRevision != 0 || ctx.Err() == nil {
				w.fail(w.watchError(resp, revision))
			}
			return
		}
		if resp.IsProgressNotify() {
			revision = max(revision, resp.Header.Revision)
			if !send(Event{Type: Bookmark, Revision: resp.Header.Revision}) {
				return
			}
			continue
		}
		for _, e := range resp.Events {
			revision = max(revision, e.Kv.ModRevision)
			ev, keep, err := w.s.convert(e, w.filter)
			if err != nil {
				w.fail(err)
				return
			}
			if keep && !send(ev) {
				return
			}
		}
		// etcd sends every event of a revision in one response: once they
		// are out, the revision is complete.
		if len(resp.Events) > 0 && !send(Event{Type: Bookmark, Revision: revision}) {
			return
		}
	}
}

func (w *etcdWatcher) fail(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
}

// convert turns an etcd event into an Event as a watcher with filter sees
// it: an object that starts matching is ADDED, one that stops matching is
// DELETED (with its new state), as Kubernetes does. keep is false when the
// watcher is not to see the event at all.
func (s *Etcd) convert(e *clientv3.Event, filter func(apis.Object) bool) (ev Event, keep bool, err error) {
	key := string(e.Kv.Key)
	obj, err := s.newFor(key)
	if err != nil {
		return Event{}, false, err
	}
	rev := e.Kv.ModRevision
	switch e.Type {
	case mvccpb.PUT:
		if err := decode(e.Kv.Value, rev, obj); err != nil {
			return Event{}, false, fmt.Errorf("watch %s: %w", key, err)
		}
		typ := Modified
		if e.IsCreate() {
			typ = Added
		}
		if filter != nil {
			cur := filter(obj)
			prev := cur
			if typ == Added {
				prev = false
			} else if e.PrevKv != nil {
				p := obj.ProtoReflect().New().Interface().(apis.Object)
				if err := decode(e.PrevKv.Value, e.PrevKv.ModRevision, p); err != nil {
					return Event{}, false, fmt.Errorf("watch %s: %w", key, err)
				}
				prev = filter(p)
			}
			switch {
			case !cur && !prev:
				return Event{}, false, nil
			case cur && !prev:
				typ = Added
			case !cur && prev:
				typ = Deleted
			}
		}
		return Event{Type: typ, Key: key, Object: obj, Value: WithRevision(e.Kv.Value, obj.ProtoReflect().Descriptor(), rev), Revision: rev}, true, nil
	case mvccpb.DELETE:
		var data []byte
		if e.PrevKv != nil {
			data = e.PrevKv.Value
			if err := decode(data, rev, obj); err != nil {
				return Event{}, false, fmt.Errorf("watch %s: %w", key, err)
			}
		} else {
			// The last state is gone (compacted); the key still names it.
			setNameFromKey(obj, key)
			SetRevision(obj, rev)
			if data, err = Encode(obj); err != nil {
				return Event{}, false, err
			}
		}
		if filter != nil && !filter(obj) {
			return Event{}, false, nil
		}
		return Event{Type: Deleted, Key: key, Object: obj, Value: WithRevision(data, obj.ProtoReflect().Descriptor(), rev), Revision: rev}, true, nil
	}
	return Event{}, false, fmt.Errorf("watch %s: unknown event type %v", key, e.Type)
}

// setNameFromKey fills namespace and name from "/registry/<res>/[ns/]name".
func setNameFromKey(obj apis.Object, key string) {
	md := apis.Meta(obj)
	parts := splitKey(key)
	switch len(parts) {
	case 4:
		md.Namespace, md.Name = parts[2], parts[3]
	case 3:
		md.Name = parts[2]
	}
}
