// Package fakeapi is an in-memory stand-in for the apiserver's gRPC API,
// served over real gRPC with mutual TLS, for the unit tests of pkg/client and
// its subpackages. It keeps the wire semantics the client relies on
// (resourceVersions from one counter, optimistic concurrency, watch resume
// without gaps, OutOfRange after compaction, Bind only while unbound) and
// nothing else: no admission, no authorization.
package fakeapi

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

type event struct {
	resource string
	typ      v1.EventType
	obj      apis.Object
	rv       int64
}

// Server is the fake. Its exported fields are set before Start.
type Server struct {
	v1.UnimplementedAPIServer
	v1.UnimplementedDiscoveryServer

	// Logs is what PodLogs sends, one chunk per element.
	Logs []string
	// ClusterInfo is what GetClusterInfo returns.
	ClusterInfo *v1.ConfigMap

	mu        sync.Mutex
	rv        int64
	compacted int64
	uid       int
	objects   map[string]map[string]apis.Object
	history   []event
	changed   chan struct{}
	bookmark  chan struct{}
	breakCh   chan struct{}
	breakErr  error
	thawCh    chan struct{} // non-nil while watches are frozen
	fail      map[string][]error
	hang      map[string]int
	calls     map[string]int
	seenCN    []string
	seenAuth  []string
	seenUA    []string
	watches   int

	grpc *grpc.Server
	lis  net.Listener
	wg   sync.WaitGroup
}

// New returns an empty fake.
func New() *Server {
	return &Server{
		objects:  map[string]map[string]apis.Object{},
		changed:  make(chan struct{}),
		bookmark: make(chan struct{}),
		breakCh:  make(chan struct{}),
		fail:     map[string][]error{},
		hang:     map[string]int{},
		calls:    map[string]int{},
	}
}

// Start serves on 127.0.0.1:0 with tlsCfg (which should require client
// certificates) and returns the address.
func (s *Server) Start(tlsCfg *tls.Config) (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	s.lis = lis
	s.grpc = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tlsCfg)),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.unary),
		grpc.ChainStreamInterceptor(s.stream),
	)
	v1.RegisterAPIServer(s.grpc, s)
	v1.RegisterDiscoveryServer(s.grpc, s)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.grpc.Serve(lis)
	}()
	return lis.Addr().String(), nil
}

// Stop ends every call and waits for the server to stop.
func (s *Server) Stop() {
	s.grpc.Stop()
	s.wg.Wait()
}

func (s *Server) observe(ctx context.Context, method string) error {
	name := method[strings.LastIndexByte(method, '/')+1:]
	s.mu.Lock()
	if s.hang[name] > 0 {
		s.hang[name]--
		s.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	defer s.mu.Unlock()
	s.calls[name]++
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
			s.seenCN = append(s.seenCN, ti.State.PeerCertificates[0].Subject.CommonName)
		}
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		s.seenAuth = append(s.seenAuth, md.Get("authorization")...)
		s.seenUA = append(s.seenUA, md.Get("user-agent")...)
	}
	if errs := s.fail[name]; len(errs) > 0 {
		s.fail[name] = errs[1:]
		return errs[0]
	}
	return nil
}

func (s *Server) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.observe(ctx, info.FullMethod); err != nil {
		return nil, errdefs.ToGRPC(err)
	}
	resp, err := handler(ctx, req)
	return resp, errdefs.ToGRPC(err)
}

func (s *Server) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := s.observe(ss.Context(), info.FullMethod); err != nil {
		return errdefs.ToGRPC(err)
	}
	return errdefs.ToGRPC(handler(srv, ss))
}

// FailNext makes the next calls of method ("Get", "Watch", ...) fail with
// errs, one each, before the real work.
func (s *Server) FailNext(method string, errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], errs...)
}

// HangNext makes the next call of method wait until its context ends.
func (s *Server) HangNext(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang[method]++
}

// Calls counts the calls of method so far.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Seen returns the client certificate CNs, authorization values and
// user agents seen so far.
func (s *Server) Seen() (cns, auths, agents []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seenCN...), append([]string(nil), s.seenAuth...), append([]string(nil), s.seenUA...)
}

// OpenWatches is the number of watch streams being served.
func (s *Server) OpenWatches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watches
}

// Compact forgets the history up to now: watches from older versions fail
// with OutOfRange.
func (s *Server) Compact() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.compacted = s.rv
	s.history = nil
}

// BreakWatches ends every open watch with err (nil: a clean end).
func (s *Server) BreakWatches(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.breakErr = err
	close(s.breakCh)
	s.breakCh = make(chan struct{})
}

// Freeze stops every watch from sending until Thaw (or BreakWatches):
// changes made meanwhile are not seen by watchers.
func (s *Server) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.thawCh == nil {
		s.thawCh = make(chan struct{})
	}
}

// Thaw lets frozen watches go on.
func (s *Server) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.thawCh != nil {
		close(s.thawCh)
		s.thawCh = nil
	}
}

// Bookmark makes every watch that allows bookmarks send one at the current
// version.
func (s *Server) Bookmark() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.bookmark)
	s.bookmark = make(chan struct{})
}

// Bump advances the resourceVersion without a change of any watched object
// (as a write to another resource would).
func (s *Server) Bump() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rv++
}

// ResourceVersion is the current version.
func (s *Server) ResourceVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.FormatInt(s.rv, 10)
}

func resourceOf(name string) (*apis.Resource, error) {
	r, err := apis.Lookup(name)
	if err != nil || r.Name != name {
		return nil, errdefs.NotFound("the server could not find the requested resource %q", name)
	}
	return r, nil
}

func storeKey(ns, name string) string { return ns + "/" + name }

func (s *Server) decode(res *apis.Resource, a *anypb.Any) (apis.Object, error) {
	obj, err := apis.FromAny(a)
	if err != nil {
		return nil, errdefs.Invalid("%v", err)
	}
	if r, _ := apis.ForObject(obj); r != res {
		return nil, errdefs.Invalid("a %s is not a %s", a.MessageName(), res.Kind)
	}
	return obj, nil
}

// record stores a change; s.mu is held.
func (s *Server) record(resource string, typ v1.EventType, obj apis.Object) {
	s.history = append(s.history, event{resource: resource, typ: typ, obj: proto.Clone(obj).(apis.Object), rv: s.rv})
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) bucket(resource string) map[string]apis.Object {
	b := s.objects[resource]
	if b == nil {
		b = map[string]apis.Object{}
		s.objects[resource] = b
	}
	return b
}

// Create implements v1.APIServer.
func (s *Server) Create(ctx context.Context, req *v1.CreateRequest) (*v1.CreateResponse, error) {
	res, err := resourceOf(req.GetResource())
	if err != nil {
		return nil, err
	}
	obj, err := s.decode(res, req.GetObject())
	if err != nil {
		return nil, err
	}
	md := apis.Meta(obj)
	if md.GetName() == "" {
		return nil, errdefs.Invalid("%s is invalid: metadata.name: Required value", res.Kind)
	}
	if res.Namespaced && md.GetNamespace() == "" {
		md.Namespace = "default"
	}
	if !res.Namespaced {
		md.Namespace = ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucket(res.Name)
	k := storeKey(md.GetNamespace(), md.GetName())
	if _, ok := b[k]; ok {
		return nil, errdefs.AlreadyExists("%s %q already exists", res.Name, md.GetName())
	}
	if req.GetDryRun() {
		return &v1.CreateResponse{Object: mustAny(obj)}, nil
	}
	s.rv++
	s.uid++
	md.Uid = fmt.Sprintf("uid-%d", s.uid)
	md.ResourceVersion = strconv.FormatInt(s.rv, 10)
	md.CreationTimestamp = timestamppb.Now()
	md.Generation = 1
	b[k] = obj
	s.record(res.Name, v1.EventType_EVENT_TYPE_ADDED, obj)
	return &v1.CreateResponse{Object: mustAny(obj)}, nil
}

// Put stores obj as is (bypassing Create), for test set-up.
func (s *Server) Put(obj apis.Object) {
	res, err := apis.ForObject(obj)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rv++
	obj = proto.Clone(obj).(apis.Object)
	apis.Meta(obj).ResourceVersion = strconv.FormatInt(s.rv, 10)
	b := s.bucket(res.Name)
	k := storeKey(obj.GetMetadata().GetNamespace(), obj.GetMetadata().GetName())
	typ := v1.EventType_EVENT_TYPE_ADDED
	if _, ok := b[k]; ok {
		typ = v1.EventType_EVENT_TYPE_MODIFIED
	}
	b[k] = obj
	s.record(res.Name, typ, obj)
}

func mustAny(obj apis.Object) *anypb.Any {
	a, err := apis.ToAny(obj)
	if err != nil {
		panic(err)
	}
	return a
}

// Get implements v1.APIServer.
func (s *Server) Get(ctx context.Context, req *v1.GetRequest) (*v1.GetResponse, error) {
	res, err := resourceOf(req.GetResource())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, ok := s.bucket(res.Name)[storeKey(req.GetNamespace(), req.GetName())]
	if !ok {
		return nil, errdefs.NotFound("%s %q not found", res.Name, req.GetName())
	}
	return &v1.GetResponse{Object: mustAny(obj)}, nil
}

// matches applies the subset of selectors the fake understands: label
// requirements k=v, k!=v, k; fields metadata.name, metadata.namespace and
// spec.nodeName with = and !=.
func matches(obj apis.Object, labelSel, fieldSel string) (bool, error) {
	labels := obj.GetMetadata().GetLabels()
	for _, req := range splitSel(labelSel) {
		k, v, op := parseReq(req)
		got, has := labels[k]
		switch op {
		case "=":
			if !has || got != v {
				return false, nil
			}
		case "!=":
			if has && got == v {
				return false, nil
			}
		default:
			if !has {
				return false, nil
			}
		}
	}
	for _, req := range splitSel(fieldSel) {
		k, v, op := parseReq(req)
		var got string
		switch k {
		case "metadata.name":
			got = obj.GetMetadata().GetName()
		case "metadata.namespace":
			got = obj.GetMetadata().GetNamespace()
		case "spec.nodeName":
			p, ok := obj.(*v1.Pod)
			if !ok {
				return false, errdefs.Invalid("field %q is not supported", k)
			}
			got = p.GetSpec().GetNodeName()
		default:
			return false, errdefs.Invalid("field %q is not supported", k)
		}
		if (op == "=") != (got == v) {
			return false, nil
		}
	}
	return true, nil
}

func splitSel(sel string) []string {
	if strings.TrimSpace(sel) == "" {
		return nil
	}
	return strings.Split(sel, ",")
}

func parseReq(req string) (key, value, op string) {
	req = strings.TrimSpace(req)
	if i := strings.Index(req, "!="); i >= 0 {
		return req[:i], req[i+2:], "!="
	}
	if i := strings.Index(req, "=="); i >= 0 {
		return req[:i], req[i+2:], "="
	}
	if i := strings.IndexByte(req, '='); i >= 0 {
		return req[:i], req[i+1:], "="
	}
	return req, "", ""
}

// List implements v1.APIServer.
func (s *Server) List(ctx context.Context, req *v1.ListRequest) (*v1.ListResponse, error) {
	res, err := resourceOf(req.GetResource())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucket(res.Name)
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// The continue token of this fake is the last key of the previous
	// page (the real server's is opaque; this one keeps no history).
	out := &v1.ListResponse{ResourceVersion: strconv.FormatInt(s.rv, 10)}
	selected := req.GetLabelSelector() != "" || req.GetFieldSelector() != ""
	for i, k := range keys {
		if req.GetContinue() != "" && k <= req.GetContinue() {
			continue
		}
		obj := b[k]
		if req.GetNamespace() != "" && obj.GetMetadata().GetNamespace() != req.GetNamespace() {
			continue
		}
		ok, err := matches(obj, req.GetLabelSelector(), req.GetFieldSelector())
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out.Items = append(out.Items, mustAny(obj))
		if req.GetLimit() > 0 && int64(len(out.Items)) >= req.GetLimit() {
			var later int64
			for _, lk := range keys[i+1:] {
				if req.GetNamespace() == "" || b[lk].GetMetadata().GetNamespace() == req.GetNamespace() {
					later++
				}
			}
			if later > 0 {
				out.Continue = k
				if !selected {
					out.RemainingItemCount = &later
				}
			}
			break
		}
	}
	return out, nil
}

// copyField sets field name of dst to src's (status or spec).
func copyField(dst, src apis.Object, name protoreflect.Name) {
	d, sm := dst.ProtoReflect(), src.ProtoReflect()
	f := d.Descriptor().Fields().ByName(name)
	if f == nil {
		return
	}
	if sm.Has(f) {
		d.Set(f, sm.Get(f))
	} else {
		d.Clear(f)
	}
}

func (s *Server) update(req interface {
	GetResource() string
	GetObject() *anypb.Any
}, status bool) (*anypb.Any, error) {
	res, err := resourceOf(req.GetResource())
	if err != nil {
		return nil, err
	}
	obj, err := s.decode(res, req.GetObject())
	if err != nil {
		return nil, err
	}
	md := apis.Meta(obj)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucket(res.Name)
	k := storeKey(md.GetNamespace(), md.GetName())
	cur, ok := b[k]
	if !ok {
		return nil, errdefs.NotFound("%s %q not found", res.Name, md.GetName())
	}
	if rv := md.GetResourceVersion(); rv != "" && rv != cur.GetMetadata().GetResourceVersion() {
		return nil, errdefs.Conflict("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", res.Name, md.GetName())
	}
	var next apis.Object
	if status {
		next = proto.Clone(cur).(apis.Object)
		copyField(next, obj, "status")
	} else {
		next = obj
		copyField(next, cur, "status")
		nmd := apis.Meta(next)
		nmd.Uid = cur.GetMetadata().GetUid()
		nmd.CreationTimestamp = cur.GetMetadata().GetCreationTimestamp()
		nmd.Generation = cur.GetMetadata().GetGeneration() + 1
	}
	s.rv++
	apis.Meta(next).ResourceVersion = strconv.FormatInt(s.rv, 10)
	b[k] = next
	s.record(res.Name, v1.EventType_EVENT_TYPE_MODIFIED, next)
	return mustAny(next), nil
}

// Update implements v1.APIServer.
func (s *Server) Update(ctx context.Context, req *v1.UpdateRequest) (*v1.UpdateResponse, error) {
	a, err := s.update(req, false)
	if err != nil {
		return nil, err
	}
	return &v1.UpdateResponse{Object: a}, nil
}

// UpdateStatus implements v1.APIServer.
func (s *Server) UpdateStatus(ctx context.Context, req *v1.UpdateStatusRequest) (*v1.UpdateStatusResponse, error) {
	a, err := s.update(req, true)
	if err != nil {
		return nil, err
	}
	return &v1.UpdateStatusResponse{Object: a}, nil
}

// Delete implements v1.APIServer: always immediate.
func (s *Server) Delete(ctx context.Context, req *v1.DeleteRequest) (*v1.DeleteResponse, error) {
	res, err := resourceOf(req.GetResource())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bucket(res.Name)
	k := storeKey(req.GetNamespace(), req.GetName())
	cur, ok := b[k]
	if !ok {
		return nil, errdefs.NotFound("%s %q not found", res.Name, req.GetName())
	}
	if u := req.GetPreconditionUid(); u != "" && u != cur.GetMetadata().GetUid() {
		return nil, errdefs.Conflict("Precondition failed: UID in precondition: %s, UID in object meta: %s", u, cur.GetMetadata().GetUid())
	}
	if rv := req.GetPreconditionResourceVersion(); rv != "" && rv != cur.GetMetadata().GetResourceVersion() {
		return nil, errdefs.Conflict("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", rv, cur.GetMetadata().GetResourceVersion())
	}
	delete(b, k)
	s.rv++
	gone := proto.Clone(cur).(apis.Object)
	apis.Meta(gone).ResourceVersion = strconv.FormatInt(s.rv, 10)
	s.record(res.Name, v1.EventType_EVENT_TYPE_DELETED, gone)
	return &v1.DeleteResponse{Object: mustAny(gone), Finished: true}, nil
}

// Watch implements v1.APIServer.
func (s *Server) Watch(req *v1.WatchRequest, stream grpc.ServerStreamingServer[v1.WatchResponse]) error {
	res, err := resourceOf(req.GetResource())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	want := func(resource string, obj apis.Object) (bool, error) {
		if resource != res.Name {
			return false, nil
		}
		if req.GetNamespace() != "" && obj.GetMetadata().GetNamespace() != req.GetNamespace() {
			return false, nil
		}
		return matches(obj, req.GetLabelSelector(), req.GetFieldSelector())
	}
	s.mu.Lock()
	s.watches++
	defer func() {
		s.mu.Lock()
		s.watches--
		s.mu.Unlock()
	}()
	var initial []event
	var last int64
	if req.GetResourceVersion() == "" {
		b := s.bucket(res.Name)
		for _, obj := range b {
			initial = append(initial, event{resource: res.Name, typ: v1.EventType_EVENT_TYPE_ADDED, obj: obj})
		}
		last = s.rv
	} else {
		last, err = strconv.ParseInt(req.GetResourceVersion(), 10, 64)
		if err != nil {
			s.mu.Unlock()
			return errdefs.Invalid("resourceVersion %q: %v", req.GetResourceVersion(), err)
		}
		if last < s.compacted {
			s.mu.Unlock()
			return errdefs.Expired("too old resource version: %d (%d)", last, s.compacted)
		}
	}
	s.mu.Unlock()
	send := func(ev event) error {
		ok, err := want(ev.resource, ev.obj)
		if err != nil || !ok {
			return err
		}
		return stream.Send(&v1.WatchResponse{Type: ev.typ, Object: mustAny(ev.obj), ResourceVersion: ev.obj.GetMetadata().GetResourceVersion()})
	}
	for _, ev := range initial {
		if err := send(ev); err != nil {
			return err
		}
	}
	bookmarkDue := false
	for {
		s.mu.Lock()
		if thaw, brk := s.thawCh, s.breakCh; thaw != nil {
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-thaw:
			case <-brk:
				s.mu.Lock()
				err := s.breakErr
				s.mu.Unlock()
				return err
			}
			continue
		}
		if last < s.compacted {
			s.mu.Unlock()
			return errdefs.Expired("too old resource version: %d (%d)", last, s.compacted)
		}
		i := sort.Search(len(s.history), func(i int) bool { return s.history[i].rv > last })
		pending := append([]event(nil), s.history[i:]...)
		cur := s.rv
		changed, bookmark, brk := s.changed, s.bookmark, s.breakCh
		s.mu.Unlock()
		for _, ev := range pending {
			if err := send(ev); err != nil {
				return err
			}
			last = ev.rv
		}
		if bookmarkDue {
			// Every change up to cur was sent above: a bookmark at cur
			// leaves no gap.
			bookmarkDue = false
			if err := stream.Send(&v1.WatchResponse{Type: v1.EventType_EVENT_TYPE_BOOKMARK, ResourceVersion: strconv.FormatInt(cur, 10)}); err != nil {
				return err
			}
			last = cur
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-brk:
			s.mu.Lock()
			err := s.breakErr
			s.mu.Unlock()
			return err
		case <-bookmark:
			bookmarkDue = req.GetAllowBookmarks()
		}
	}
}

// Bind implements v1.APIServer.
func (s *Server) Bind(ctx context.Context, req *v1.BindRequest) (*v1.BindResponse, error) {
	b := req.GetBinding()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := storeKey(b.GetMetadata().GetNamespace(), b.GetMetadata().GetName())
	cur, ok := s.bucket("pods")[k]
	if !ok {
		return nil, errdefs.NotFound("pods %q not found", b.GetMetadata().GetName())
	}
	pod := proto.Clone(cur).(*v1.Pod)
	if pod.GetSpec().GetNodeName() != "" {
		return nil, errdefs.Precondition("pod %s is already assigned to node %q", k, pod.GetSpec().GetNodeName())
	}
	if pod.Spec == nil {
		pod.Spec = &v1.PodSpec{}
	}
	pod.Spec.NodeName = b.GetTarget().GetName()
	s.rv++
	pod.Metadata.ResourceVersion = strconv.FormatInt(s.rv, 10)
	s.bucket("pods")[k] = pod
	s.record("pods", v1.EventType_EVENT_TYPE_MODIFIED, pod)
	return &v1.BindResponse{Pod: pod}, nil
}

// UpdateApproval implements v1.APIServer: it appends the condition.
func (s *Server) UpdateApproval(ctx context.Context, req *v1.UpdateApprovalRequest) (*v1.UpdateApprovalResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := storeKey("", req.GetName())
	cur, ok := s.bucket("certificatesigningrequests")[k]
	if !ok {
		return nil, errdefs.NotFound("certificatesigningrequests %q not found", req.GetName())
	}
	csr := proto.Clone(cur).(*v1.CertificateSigningRequest)
	if csr.Status == nil {
		csr.Status = &v1.CertificateSigningRequestStatus{}
	}
	csr.Status.Conditions = append(csr.Status.Conditions, &v1.Condition{Type: req.GetType(), Status: "True", Reason: req.GetReason(), Message: req.GetMessage()})
	s.rv++
	csr.Metadata.ResourceVersion = strconv.FormatInt(s.rv, 10)
	s.bucket("certificatesigningrequests")[k] = csr
	s.record("certificatesigningrequests", v1.EventType_EVENT_TYPE_MODIFIED, csr)
	return &v1.UpdateApprovalResponse{Csr: csr}, nil
}

// PodLogs implements v1.APIServer: it sends s.Logs.
func (s *Server) PodLogs(req *v1.PodLogsRequest, stream grpc.ServerStreamingServer[v1.PodLogsResponse]) error {
	for _, chunk := range s.Logs {
		if err := stream.Send(&v1.PodLogsResponse{Data: []byte(chunk)}); err != nil {
			return err
		}
	}
	if req.GetFollow() {
		<-stream.Context().Done()
		return stream.Context().Err()
	}
	return nil
}

// PodExec implements v1.APIServer: it echoes stdin to stdout, upper-cases
// it to stderr, and exits with the number of commands words.
func (s *Server) PodExec(stream grpc.BidiStreamingServer[v1.PodExecRequest, v1.PodExecResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return errdefs.Invalid("the first message must carry start")
	}
	code := int32(len(start.GetCommand()))
	if start.GetStdin() {
		for {
			m, err := stream.Recv()
			if err != nil {
				return err
			}
			if len(m.GetStdin()) > 0 {
				if err := stream.Send(&v1.PodExecResponse{Stdout: m.GetStdin(), Stderr: []byte(strings.ToUpper(string(m.GetStdin())))}); err != nil {
					return err
				}
			}
			if m.GetStdinEof() {
				break
			}
		}
	}
	return stream.Send(&v1.PodExecResponse{Stdout: []byte("done\n"), ExitCode: &code})
}

// GetClusterInfo implements v1.DiscoveryServer.
func (s *Server) GetClusterInfo(ctx context.Context, req *v1.GetClusterInfoRequest) (*v1.GetClusterInfoResponse, error) {
	if s.ClusterInfo == nil {
		return nil, errdefs.NotFound("configmaps \"cluster-info\" not found")
	}
	return &v1.GetClusterInfoResponse{ConfigMap: s.ClusterInfo}, nil
}
