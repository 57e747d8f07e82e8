// Package registry holds the apiserver's generic verbs: create, get, list,
// update, update status, delete, watch, and bind for pods. Each verb exists
// once, generic over the kind; what differs between kinds (namespaced or
// not, status kept on create, graceful deletion, fields set from the
// requester) is a small per-kind strategy. The registry knows nothing of
// gRPC: it takes decoded objects and returns errdefs classes.
//
// Authorization that depends on an object (a node may only touch pods bound
// to it) is a Check the caller passes in; the registry calls it with the
// stored object inside the read-modify-write, so the decision and the
// write see the same state.
package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apiserver/authz"
	"minik8s/pkg/storage"
)

// DefaultMaxObjectSize is the largest encoded object accepted: 1.5 MiB, as
// etcd's default request limit.
const DefaultMaxObjectSize = 3 << 19

// generateNameAttempts bounds retries when a generated name is taken.
const generateNameAttempts = 8

// Check is an object-level authorization decision: current is the stored
// object (nil on create), next the object about to be written (nil on
// delete and bind). A non-nil error (errdefs.Forbidden) refuses the verb.
type Check func(current, next apis.Object) error

// Options configure a Registry.
type Options struct {
	// Store is the storage the objects live in. Required.
	Store storage.Interface
	// Logger; nil means none.
	Logger *zap.Logger
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
	// MaxObjectSize bounds an object's encoding; 0 means
	// DefaultMaxObjectSize.
	MaxObjectSize int
}

// Registry serves the generic verbs over a store.
type Registry struct {
	store      storage.Interface
	lg         *zap.Logger
	now        func() time.Time
	maxSize    int
	kinds      map[string]*Kind
	namespaces *namespaceCache
}

// New builds a Registry.
func New(opts Options) (*Registry, error) {
	if opts.Store == nil {
		return nil, errors.New("registry: no store")
	}
	r := &Registry{
		store:   opts.Store,
		lg:      opts.Logger,
		now:     opts.Now,
		maxSize: opts.MaxObjectSize,
		kinds:   newKinds(),
	}
	if r.lg == nil {
		r.lg = zap.NewNop()
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.maxSize <= 0 {
		r.maxSize = DefaultMaxObjectSize
	}
	r.namespaces = newNamespaceCache(r.store, r.kinds["namespaces"], r.lg.Named("namespaces"))
	return r, nil
}

// Kind resolves a resource name as the wire carries it ("pods"; singular,
// short names and kinds are accepted too). NotFound when no such kind.
func (r *Registry) Kind(resource string) (*Kind, error) {
	if k, ok := r.kinds[resource]; ok {
		return k, nil
	}
	res, err := apis.Lookup(resource)
	if err != nil {
		return nil, kindError(resource)
	}
	return r.kinds[res.Name], nil
}

// Run keeps the namespace cache current until ctx ends.
func (r *Registry) Run(ctx context.Context) error {
	return r.namespaces.run(ctx)
}

// NamespacesSynced reports whether the namespace cache has been filled once.
func (r *Registry) NamespacesSynced() bool { return r.namespaces.synced.Load() }

// WaitNamespacesSynced blocks until the namespace cache has been filled
// once, or ctx ends.
func (r *Registry) WaitNamespacesSynced(ctx context.Context) error {
	select {
	case <-r.namespaces.syncedCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// EnsureNamespaces creates the given namespaces when they are absent.
func (r *Registry) EnsureNamespaces(ctx context.Context, names ...string) error {
	k := r.kinds["namespaces"]
	for _, n := range names {
		ns := &v1.Namespace{Metadata: &v1.ObjectMeta{Name: n}}
		if _, err := r.Create(ctx, k, ns, CreateOptions{}); err != nil && !errdefs.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", n, err)
		}
	}
	return nil
}

func (r *Registry) timestamp(t time.Time) *timestamppb.Timestamp {
	return timestamppb.New(t.Truncate(time.Second))
}

// newUID is a random (version 4) UUID.
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 36)
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
	return string(out)
}

// nameSuffix is Kubernetes' generateName suffix: five characters from an
// alphabet without vowels and look-alikes.
func nameSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	var b [5]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

func notFound(k *Kind, name string) error {
	return errdefs.NotFound("%s %q not found", k.Resource.Name, name)
}

func conflict(k *Kind, name string) error {
	return errdefs.Conflict("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", k.Resource.Name, name)
}

// storeError gives the store's NotFound and AlreadyExists Kubernetes'
// wording; other errors pass unchanged.
func storeError(k *Kind, name string, err error) error {
	switch errdefs.ClassOf(err) {
	case errdefs.ClassNotFound:
		return notFound(k, name)
	case errdefs.ClassAlreadyExists:
		return errdefs.AlreadyExists("%s %q already exists", k.Resource.Name, name)
	}
	return err
}

func (r *Registry) checkSize(k *Kind, obj apis.Object) error {
	return r.sizeError(k, obj, proto.Size(obj))
}

func (r *Registry) sizeError(k *Kind, obj apis.Object, n int) error {
	if n > r.maxSize {
		return errdefs.TooLarge("%s %q is too large: its encoding takes %d bytes, the limit is %d", k.Resource.Name, obj.GetMetadata().GetName(), n, r.maxSize)
	}
	return nil
}

// encode is obj's stored encoding (storage.Marshal), within the size
// limit.
func (r *Registry) encode(k *Kind, obj apis.Object) ([]byte, error) {
	data, err := storage.Marshal(obj)
	if err != nil {
		return nil, err
	}
	if err := r.sizeError(k, obj, len(data)); err != nil {
		return nil, err
	}
	return data, nil
}

// parseRV reads a resourceVersion ("" is 0).
func parseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, errdefs.Invalid("metadata.resourceVersion: Invalid value: %q: must be a non-negative integer", rv)
	}
	return n, nil
}

// ParseResourceVersion reads a resourceVersion as requests carry it: ""
// is 0; anything but a non-negative decimal is InvalidArgument.
func ParseResourceVersion(rv string) (int64, error) { return parseRV(rv) }

// objectNamespace finds the namespace of a request's object: its own, or
// "default" for namespaced kinds; always "" for cluster-scoped ones.
func objectNamespace(k *Kind, ns string) string {
	if !k.Resource.Namespaced {
		return ""
	}
	if ns == "" {
		return "default"
	}
	return ns
}

// CreateOptions tune Create.
type CreateOptions struct {
	// DryRun runs every check but writes nothing.
	DryRun bool
	// User is the requester (recorded in CertificateSigningRequests).
	User *authz.User
	// Check authorizes the object once its namespace and name are final.
	Check Check
}

// Create admits and stores a new object: namespace defaulting and
// existence, generateName, uid, creationTimestamp, generation 1, defaults,
// validation, the size limit.
func (r *Registry) Create(ctx context.Context, k *Kind, obj apis.Object, opts CreateOptions) (apis.Object, error) {
	out, _, err := r.CreateEncoded(ctx, k, obj, opts)
	return out, err
}

// encodedCreator is a store that writes an object it is given the
// encoding of (storage.Etcd.CreateEncoded, and the watch caches).
type encodedCreator interface {
	CreateEncoded(ctx context.Context, key string, obj apis.Object, data []byte) error
}

// CreateEncoded is Create that also returns the created object's protobuf
// encoding, resourceVersion included, ready for the wire: the object is
// encoded once, for the size check, the store and the answer.
func (r *Registry) CreateEncoded(ctx context.Context, k *Kind, obj apis.Object, opts CreateOptions) (apis.Object, []byte, error) {
	md := apis.Meta(obj)
	md.Namespace = objectNamespace(k, md.Namespace)
	md.Uid = newUID()
	md.ResourceVersion = ""
	md.Generation = 1
	md.CreationTimestamp = r.timestamp(r.now())
	md.DeletionTimestamp = nil
	md.DeletionGracePeriodSeconds = nil
	if k.status != nil && !k.strategy.keepStatusOnCreate {
		obj.ProtoReflect().Clear(k.status)
	}
	if k.strategy.normalize != nil {
		k.strategy.normalize(obj)
	}
	apis.SetTypeMeta(obj)
	defaultObject(obj)
	if k.strategy.prepareForCreate != nil {
		k.strategy.prepareForCreate(obj, opts.User)
	}
	generated := md.Name == "" && md.GenerateName != ""
	if generated {
		md.Name = md.GenerateName + nameSuffix()
	}
	if opts.Check != nil {
		if err := opts.Check(nil, obj); err != nil {
			return nil, nil, err
		}
	}
	if err := validateObject(obj); err != nil {
		return nil, nil, err
	}
	if err := nameError("metadata.name", md.Name); err != nil {
		return nil, nil, err
	}
	if k.Resource.Namespaced {
		if err := nameError("metadata.namespace", md.Namespace); err != nil {
			return nil, nil, err
		}
		if err := r.namespaces.check(ctx, k, md.Namespace, md.Name); err != nil {
			return nil, nil, err
		}
	}
	data, err := r.encode(k, obj)
	if err != nil {
		return nil, nil, err
	}
	if opts.DryRun {
		return obj, data, nil
	}
	ec, encoded := r.store.(encodedCreator)
	for attempt := 1; ; attempt++ {
		key := k.Key(md.Namespace, md.Name)
		if encoded {
			err = ec.CreateEncoded(ctx, key, obj, data)
		} else {
			err = r.store.Create(ctx, key, obj)
		}
		if err == nil {
			rev, err := storage.ParseRevision(md.ResourceVersion)
			if err != nil {
				return nil, nil, err
			}
			return obj, storage.WithRevision(data, obj.ProtoReflect().Descriptor(), rev), nil
		}
		if generated && errdefs.IsAlreadyExists(err) && attempt < generateNameAttempts {
			md.Name = md.GenerateName + nameSuffix()
			if data, err = r.encode(k, obj); err != nil {
				return nil, nil, err
			}
			continue
		}
		return nil, nil, storeError(k, md.Name, err)
	}
}

// Get reads one object.
func (r *Registry) Get(ctx context.Context, k *Kind, ns, name string) (apis.Object, error) {
	ns = objectNamespace(k, ns)
	if err := nameError("name", name); err != nil {
		return nil, err
	}
	if err := nameError("namespace", ns); ns != "" && err != nil {
		return nil, err
	}
	out := k.Resource.New()
	if err := r.store.Get(ctx, k.Key(ns, name), out); err != nil {
		return nil, storeError(k, name, err)
	}
	return out, nil
}

// ListOptions tune List and Watch.
type ListOptions struct {
	// Namespace limits the result; "" means every namespace.
	Namespace string
	// Filter keeps the objects it accepts (label and field selectors); nil
	// keeps all.
	Filter func(apis.Object) bool
	// ResourceVersion: List serves at least this fresh; Watch sends the
	// changes strictly after it.
	ResourceVersion int64
}

func (r *Registry) prefix(k *Kind, ns string) (string, error) {
	if ns != "" && k.Resource.Namespaced {
		if err := nameError("namespace", ns); err != nil {
			return "", err
		}
	}
	return k.Prefix(ns), nil
}

// List returns the matching objects and the revision they were read at.
func (r *Registry) List(ctx context.Context, k *Kind, opts ListOptions) ([]apis.Object, int64, error) {
	prefix, err := r.prefix(k, opts.Namespace)
	if err != nil {
		return nil, 0, err
	}
	return r.store.List(ctx, prefix, opts.ResourceVersion, k.Resource.New, opts.Filter)
}

// ListPage returns one page of at most limit matching objects after the
// page continueToken ends ("": the first page), all pages read at one
// revision (storage.Interface.ListPage). opts.ResourceVersion, when set,
// is the revision the first page is read at exactly.
func (r *Registry) ListPage(ctx context.Context, k *Kind, opts ListOptions, limit int64, continueToken string) (*storage.Page, error) {
	prefix, err := r.prefix(k, opts.Namespace)
	if err != nil {
		return nil, err
	}
	return r.store.ListPage(ctx, prefix, storage.PageOptions{Limit: limit, Continue: continueToken, Revision: opts.ResourceVersion}, k.Resource.New, opts.Filter)
}

// eventLister is a store that can list objects with their encodings (the
// watch caches), so a list goes on the wire without encoding anything.
type eventLister interface {
	ListEvents(ctx context.Context, prefix string, minRevision int64, filter func(apis.Object) bool) ([]storage.Event, int64, error)
}

// ListEncoded is List returning each object as an Added event with its
// key, revision and protobuf encoding (resourceVersion set), ready for the
// wire. The events are shared with the watch cache: read-only.
func (r *Registry) ListEncoded(ctx context.Context, k *Kind, opts ListOptions) ([]storage.Event, int64, error) {
	prefix, err := r.prefix(k, opts.Namespace)
	if err != nil {
		return nil, 0, err
	}
	if el, ok := r.store.(eventLister); ok {
		return el.ListEvents(ctx, prefix, opts.ResourceVersion, opts.Filter)
	}
	objs, rev, err := r.store.List(ctx, prefix, opts.ResourceVersion, k.Resource.New, opts.Filter)
	if err != nil {
		return nil, 0, err
	}
	out := make([]storage.Event, len(objs))
	for i, o := range objs {
		b, err := proto.Marshal(o)
		if err != nil {
			return nil, 0, fmt.Errorf("encode %s: %w", k.Resource.Name, err)
		}
		md := o.GetMetadata()
		orev, _ := parseRV(md.GetResourceVersion())
		out[i] = storage.Event{Type: storage.Added, Key: k.Key(md.GetNamespace(), md.GetName()), Object: o, Value: b, Revision: orev}
	}
	return out, rev, nil
}

// Watch streams the matching changes strictly after opts.ResourceVersion
// (0: from now).
func (r *Registry) Watch(ctx context.Context, k *Kind, opts ListOptions) (storage.Watcher, error) {
	prefix, err := r.prefix(k, opts.Namespace)
	if err != nil {
		return nil, err
	}
	return r.store.Watch(ctx, prefix, opts.ResourceVersion, opts.Filter)
}

// UpdateOptions tune Update and UpdateStatus.
type UpdateOptions struct {
	// DryRun runs every check but writes nothing.
	DryRun bool
	// Check authorizes the change against the stored object.
	Check Check
}

// Update replaces an object's spec and user metadata (labels, annotations,
// owner references, finalizers); status and system metadata are kept from
// the stored object. metadata.resourceVersion, when set, must be the stored
// one (else Aborted). The generation bumps when the spec changed. An
// update that removes the last finalizer of an object being deleted
// removes it (a Terminating namespace's spec.finalizers count too: the
// namespaces/finalize step of Kubernetes).
func (r *Registry) Update(ctx context.Context, k *Kind, obj apis.Object, opts UpdateOptions) (apis.Object, error) {
	return r.update(ctx, k, obj, opts, false)
}

// UpdateStatus replaces an object's status; spec and metadata are kept
// from the stored object.
func (r *Registry) UpdateStatus(ctx context.Context, k *Kind, obj apis.Object, opts UpdateOptions) (apis.Object, error) {
	if k.status == nil {
		return nil, errdefs.NotFound("the server could not find the requested resource (%s/status)", k.Resource.Name)
	}
	return r.update(ctx, k, obj, opts, true)
}

func (r *Registry) update(ctx context.Context, k *Kind, obj apis.Object, opts UpdateOptions, status bool) (apis.Object, error) {
	md := apis.Meta(obj)
	md.Namespace = objectNamespace(k, md.Namespace)
	name := md.Name
	if err := nameError("metadata.name", name); err != nil {
		return nil, err
	}
	if k.Resource.Namespaced {
		if err := nameError("metadata.namespace", md.Namespace); err != nil {
			return nil, err
		}
	}
	precondition := md.ResourceVersion
	if _, err := parseRV(precondition); err != nil {
		return nil, err
	}
	if !status {
		if k.strategy.normalize != nil {
			k.strategy.normalize(obj)
		}
		apis.SetTypeMeta(obj)
		defaultObject(obj)
	}
	key := k.Key(md.Namespace, name)
	tryUpdate := func(cur apis.Object) (apis.Object, error) {
		cmd := cur.GetMetadata()
		if precondition != "" && precondition != cmd.GetResourceVersion() {
			return nil, conflict(k, name)
		}
		var next apis.Object
		if status {
			// The stored object with the request's status: spec and all of
			// metadata stay. cur is a private copy and is not used after.
			next = cur
			copyField(next, obj, k.status)
			defaultObject(next)
		} else {
			next = obj
			nmd := next.GetMetadata()
			nmd.Uid = cmd.GetUid()
			nmd.GenerateName = cmd.GetGenerateName()
			nmd.CreationTimestamp = cmd.GetCreationTimestamp()
			nmd.DeletionTimestamp = cmd.GetDeletionTimestamp()
			nmd.DeletionGracePeriodSeconds = cmd.DeletionGracePeriodSeconds
			nmd.Generation = cmd.GetGeneration()
			if k.status != nil {
				copyField(next, cur, k.status)
			}
			if k.strategy.prepareForUpdate != nil {
				k.strategy.prepareForUpdate(next, cur)
			}
			if k.spec != nil && !fieldEqual(next, cur, k.spec) {
				nmd.Generation++
			}
		}
		if opts.Check != nil {
			if err := opts.Check(cur, next); err != nil {
				return nil, err
			}
		}
		if err := validateObjectUpdate(next, cur); err != nil {
			return nil, err
		}
		if k.strategy.validateUpdate != nil {
			if err := k.strategy.validateUpdate(next, cur); err != nil {
				return nil, err
			}
		}
		if err := r.checkSize(k, next); err != nil {
			return nil, err
		}
		next.GetMetadata().ResourceVersion = ""
		if opts.DryRun {
			return nil, &dryRunResult{obj: next}
		}
		return next, nil
	}
	out := k.Resource.New()
	if err := r.store.GuaranteedUpdate(ctx, key, out, tryUpdate); err != nil {
		var dr *dryRunResult
		if errors.As(err, &dr) {
			return dr.obj, nil
		}
		return nil, storeError(k, name, err)
	}
	if k.finishesDeletion(out) {
		return r.finishDeletion(ctx, k, out)
	}
	r.observe(k, out, false)
	return out, nil
}

// dryRunResult stops a dry-run read-modify-write before the write.
type dryRunResult struct{ obj apis.Object }

func (*dryRunResult) Error() string { return "dry run" }

// finishesDeletion: the object is being deleted, nothing holds it any
// more (no finalizers, the kind's own included, no grace period left to
// run).
func (k *Kind) finishesDeletion(obj apis.Object) bool {
	md := obj.GetMetadata()
	return md.GetDeletionTimestamp() != nil && len(md.GetFinalizers()) == 0 && md.GetDeletionGracePeriodSeconds() == 0 &&
		(k.strategy.held == nil || !k.strategy.held(obj))
}

// observe tells the namespace cache about a namespace this registry just
// wrote or removed; other kinds are ignored.
func (r *Registry) observe(k *Kind, obj apis.Object, removed bool) {
	if k == r.namespaces.kind && obj != nil {
		r.namespaces.observe(obj, removed)
	}
}

// finishDeletion removes an object whose last finalizer went away.
func (r *Registry) finishDeletion(ctx context.Context, k *Kind, obj apis.Object) (apis.Object, error) {
	md := obj.GetMetadata()
	out := k.Resource.New()
	err := r.store.Delete(ctx, k.Key(md.GetNamespace(), md.GetName()), out, func(cur apis.Object) error {
		if !k.finishesDeletion(cur) {
			return errNotNow
		}
		return nil
	})
	switch {
	case err == nil:
		r.observe(k, out, true)
		return out, nil
	case errors.Is(err, errNotNow), errdefs.IsNotFound(err):
		// Someone else finished it or changed it again: the update stands.
		r.observe(k, obj, false)
		return obj, nil
	}
	return nil, storeError(k, md.GetName(), err)
}

// Sentinels steering Delete between its two paths.
var (
	errNotNow    = errors.New("deletion is not immediate")
	errDeleteNow = errors.New("deletion is immediate")
)

// DeleteOptions tune Delete.
type DeleteOptions struct {
	// GracePeriodSeconds overrides the kind's grace period; 0 deletes at once.
	GracePeriodSeconds *int64
	// PropagationPolicy is Orphan, Background or Foreground ("" keeps the
	// object's finalizers as they are).
	PropagationPolicy string
	// Preconditions: the delete fails with Aborted when they do not hold.
	PreconditionUID             string
	PreconditionResourceVersion string
	// Check authorizes the delete against the stored object.
	Check Check
}

// Propagation policies and the finalizers they leave for the garbage
// collector.
const (
	PropagationOrphan     = "Orphan"
	PropagationBackground = "Background"
	PropagationForeground = "Foreground"
	FinalizerOrphan       = "orphan"
	FinalizerForeground   = "foregroundDeletion"
)

// Delete removes an object, or starts its graceful deletion: a pod bound
// to a node gets deletionTimestamp and deletionGracePeriodSeconds and its
// kubelet finishes the delete; an object with finalizers gets
// deletionTimestamp and stays until they are removed. A namespace is held
// by its spec.finalizers too, and turns Terminating: the namespace
// controller deletes its content, then removes the "kubernetes"
// finalizer with an Update, and that update removes the namespace.
// finished says whether the object is gone.
func (r *Registry) Delete(ctx context.Context, k *Kind, ns, name string, opts DeleteOptions) (obj apis.Object, finished bool, err error) {
	ns = objectNamespace(k, ns)
	if err := nameError("name", name); err != nil {
		return nil, false, err
	}
	if err := nameError("namespace", ns); ns != "" && err != nil {
		return nil, false, err
	}
	switch opts.PropagationPolicy {
	case "", PropagationOrphan, PropagationBackground, PropagationForeground:
	default:
		return nil, false, errdefs.Invalid("propagationPolicy: Unsupported value: %q: supported values: \"Orphan\", \"Background\", \"Foreground\"", opts.PropagationPolicy)
	}
	key := k.Key(ns, name)
	now := r.now()
	check := func(cur apis.Object) (deletion, error) {
		if err := deletePreconditions(k, name, cur, opts); err != nil {
			return deletion{}, err
		}
		if k.strategy.checkDelete != nil {
			if err := k.strategy.checkDelete(cur); err != nil {
				return deletion{}, err
			}
		}
		if opts.Check != nil {
			if err := opts.Check(cur, nil); err != nil {
				return deletion{}, err
			}
		}
		return decideDeletion(k, cur, opts), nil
	}
	// Try the immediate path first (one read and one transaction for most
	// deletes); the decision is taken again on what each path reads.
	immediate := true
	for attempt := 0; attempt < 8; attempt++ {
		out := k.Resource.New()
		if immediate {
			err := r.store.Delete(ctx, key, out, func(cur apis.Object) error {
				d, err := check(cur)
				if err != nil {
					return err
				}
				if !d.now {
					return errNotNow
				}
				return nil
			})
			if errors.Is(err, errNotNow) {
				immediate = false
				continue
			}
			if err != nil {
				return nil, false, storeError(k, name, err)
			}
			r.observe(k, out, true)
			return out, true, nil
		}
		var unchanged apis.Object
		err := r.store.GuaranteedUpdate(ctx, key, out, func(cur apis.Object) (apis.Object, error) {
			d, err := check(cur)
			if err != nil {
				return nil, err
			}
			if d.now {
				return nil, errDeleteNow
			}
			changed := d.apply(cur, now)
			if k.strategy.prepareForDelete != nil && k.strategy.prepareForDelete(cur) {
				changed = true
			}
			if !changed {
				unchanged = cur
				return nil, errUnchanged
			}
			return cur, nil
		})
		switch {
		case errors.Is(err, errDeleteNow):
			immediate = true
			continue
		case errors.Is(err, errUnchanged):
			return unchanged, false, nil
		case err != nil:
			return nil, false, storeError(k, name, err)
		}
		r.observe(k, out, false)
		return out, false, nil
	}
	return nil, false, conflict(k, name)
}

var errUnchanged = errors.New("deletion already in progress")

func deletePreconditions(k *Kind, name string, cur apis.Object, opts DeleteOptions) error {
	md := cur.GetMetadata()
	if opts.PreconditionUID != "" && opts.PreconditionUID != md.GetUid() {
		return errdefs.Conflict("Operation cannot be fulfilled on %s %q: Precondition failed: UID in precondition: %s, UID in object meta: %s", k.Resource.Name, name, opts.PreconditionUID, md.GetUid())
	}
	if opts.PreconditionResourceVersion != "" && opts.PreconditionResourceVersion != md.GetResourceVersion() {
		return errdefs.Conflict("Operation cannot be fulfilled on %s %q: Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", k.Resource.Name, name, opts.PreconditionResourceVersion, md.GetResourceVersion())
	}
	return nil
}

// deletion is what a delete does to an object.
type deletion struct {
	now        bool     // remove it from storage
	grace      int64    // else: the grace period to record
	finalizers []string // and the finalizers it keeps
}

// decideDeletion applies Kubernetes' rules to the stored object; cur is
// not modified.
func decideDeletion(k *Kind, cur apis.Object, opts DeleteOptions) deletion {
	md := cur.GetMetadata()
	var grace int64
	if k.strategy.gracePeriod != nil {
		grace = k.strategy.gracePeriod(cur, opts.GracePeriodSeconds)
	}
	if md.GetDeletionTimestamp() != nil && md.DeletionGracePeriodSeconds != nil && md.GetDeletionGracePeriodSeconds() < grace {
		// A graceful deletion is under way: a new delete may only shorten it.
		grace = md.GetDeletionGracePeriodSeconds()
	}
	fin := propagate(md.GetFinalizers(), opts.PropagationPolicy)
	held := k.strategy.held != nil && k.strategy.held(cur)
	return deletion{now: grace == 0 && len(fin) == 0 && !held, grace: grace, finalizers: fin}
}

// apply marks cur (a private copy) as being deleted; false when it
// already is, exactly so.
func (d deletion) apply(cur apis.Object, now time.Time) bool {
	md := cur.GetMetadata()
	changed := !equalStrings(md.Finalizers, d.finalizers)
	md.Finalizers = d.finalizers
	if md.DeletionTimestamp == nil || md.DeletionGracePeriodSeconds == nil || md.GetDeletionGracePeriodSeconds() != d.grace {
		md.DeletionTimestamp = timestamppb.New(now.Add(time.Duration(d.grace) * time.Second).Truncate(time.Second))
		g := d.grace
		md.DeletionGracePeriodSeconds = &g
		changed = true
	}
	return changed
}

// propagate returns the finalizers after a delete with policy: Orphan and
// Foreground leave their finalizer for the garbage collector; an explicit
// policy replaces the other one.
func propagate(fin []string, policy string) []string {
	var add, drop string
	switch policy {
	case PropagationOrphan:
		add, drop = FinalizerOrphan, FinalizerForeground
	case PropagationForeground:
		add, drop = FinalizerForeground, FinalizerOrphan
	case PropagationBackground:
		drop = FinalizerOrphan
	default:
		return fin
	}
	out := make([]string, 0, len(fin)+1)
	has := false
	for _, f := range fin {
		switch {
		case f == add:
			has = true
		case f == drop || (policy == PropagationBackground && f == FinalizerForeground):
			continue
		}
		out = append(out, f)
	}
	if add != "" && !has {
		out = append(out, add)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
