// Package client is the only way minik8s components talk to the apiserver: a
// typed client over the generic gRPC API (objects travel as
// google.protobuf.Any), built from a kubeconfig or a Config.
//
// Every kind is reached through one generic Resource[T] (Pods(), Nodes(), ...
// on a Clientset, or ForResource for a kind known only at run time). Errors
// from the server come back as pkg/apis/errdefs classes, so
// errdefs.IsNotFound(err) and errdefs.IsConflict(err) work across the wire.
// Unary calls without a deadline get Config.Timeout; watches and log or exec
// streams live as long as their context.
//
// Subpackages hold what controllers build on top: informer (list+watch
// caches), workqueue (rate-limited, deduplicating queues), leaderelection
// (Lease-based) and record (Events).
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// Defaults of Config.
const (
	// DefaultTimeout is the deadline a unary call gets when its context has none.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxMessageSize bounds one message in either direction (a list of
	// 10,000 pods fits).
	DefaultMaxMessageSize = 16 << 20
	// DefaultKeepaliveTime is how often an idle connection with an open
	// stream (a watch) is pinged, so that a dead apiserver is noticed within
	// DefaultKeepaliveTime+DefaultKeepaliveTimeout rather than at the next
	// TCP timeout. The server's keepalive enforcement policy must allow it
	// (MinTime <= this).
	DefaultKeepaliveTime = 30 * time.Second
	// DefaultKeepaliveTimeout is how long a ping may go unanswered.
	DefaultKeepaliveTimeout = 10 * time.Second
)

// Config says how to reach the apiserver.
type Config struct {
	// Address is host:port of the apiserver.
	Address string
	// TLS carries the CA (RootCAs) and the client certificate. Required; the
	// connection always uses TLS 1.3.
	TLS *tls.Config
	// Token, when set, is sent on every call as "authorization: Bearer
	// <Token>" (bootstrap tokens).
	Token string
	// UserAgent names the component ("scheduler/v0.1").
	UserAgent string
	// Timeout is the deadline added to unary calls whose context has none:
	// 0 means DefaultTimeout, negative means none.
	Timeout time.Duration
	// MaxMessageSize bounds a message in either direction; 0 means
	// DefaultMaxMessageSize.
	MaxMessageSize int
	// KeepaliveTime and KeepaliveTimeout tune the pings on open streams; 0
	// means the defaults above.
	KeepaliveTime    time.Duration
	KeepaliveTimeout time.Duration
	// Logger; nil means no logging.
	Logger *zap.Logger
}

// Clientset is a connection to the apiserver with a typed client per kind.
// It is safe for concurrent use; Close it when done.
type Clientset struct {
	conn      *grpc.ClientConn
	api       v1.APIClient
	discovery v1.DiscoveryClient
	lg        *zap.Logger

	pods        *Resource[*v1.Pod]
	nodes       *Resource[*v1.Node]
	leases      *Resource[*v1.Lease]
	events      *Resource[*v1.Event]
	configMaps  *Resource[*v1.ConfigMap]
	secrets     *Resource[*v1.Secret]
	namespaces  *Resource[*v1.Namespace]
	replicaSets *Resource[*v1.ReplicaSet]
	deployments *Resource[*v1.Deployment]
	csrs        *Resource[*v1.CertificateSigningRequest]
	dynamic     map[string]*Resource[apis.Object]
}

// retryServiceConfig retries reads (never writes) that fail with
// Unavailable, e.g. while an apiserver restarts.
const retryServiceConfig = `{
  "methodConfig": [{
    "name": [{"service": "minik8s.v1.API", "method": "Get"}, {"service": "minik8s.v1.API", "method": "List"},
             {"service": "minik8s.v1.Discovery", "method": "GetClusterInfo"}],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.1s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// New validates cfg and creates a Clientset. It does not connect: the
// connection is made on the first call and re-made when it breaks.
func New(cfg Config) (*Clientset, error) {
	if cfg.Address == "" {
		return nil, errdefs.Invalid("client: no apiserver address")
	}
	if cfg.TLS == nil {
		return nil, errdefs.Invalid("client: no TLS configuration")
	}
	tlsCfg := cfg.TLS.Clone()
	tlsCfg.MinVersion = tls.VersionTLS13
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	maxMsg := cfg.MaxMessageSize
	if maxMsg <= 0 {
		maxMsg = DefaultMaxMessageSize
	}
	kaTime, kaTimeout := cfg.KeepaliveTime, cfg.KeepaliveTimeout
	if kaTime <= 0 {
		kaTime = DefaultKeepaliveTime
	}
	if kaTimeout <= 0 {
		kaTimeout = DefaultKeepaliveTimeout
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: kaTime, Timeout: kaTimeout}),
		grpc.WithChainUnaryInterceptor(unaryInterceptor(timeout)),
		grpc.WithChainStreamInterceptor(streamInterceptor),
		grpc.WithDefaultServiceConfig(retryServiceConfig),
	}
	if cfg.UserAgent != "" {
		opts = append(opts, grpc.WithUserAgent(cfg.UserAgent))
	}
	if cfg.Token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearerToken(cfg.Token)))
	}
	conn, err := grpc.NewClient(cfg.Address, opts...)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", cfg.Address, err)
	}
	return newClientset(conn, lg), nil
}

func newClientset(conn *grpc.ClientConn, lg *zap.Logger) *Clientset {
	api := v1.NewAPIClient(conn)
	dynamic := map[string]*Resource[apis.Object]{}
	for _, r := range apis.Resources() {
		dynamic[r.Name] = newResource[apis.Object](api, lg, r)
	}
	return &Clientset{
		dynamic:     dynamic,
		conn:        conn,
		api:         api,
		discovery:   v1.NewDiscoveryClient(conn),
		lg:          lg,
		pods:        newResource[*v1.Pod](api, lg, mustLookup("pods")),
		nodes:       newResource[*v1.Node](api, lg, mustLookup("nodes")),
		leases:      newResource[*v1.Lease](api, lg, mustLookup("leases")),
		events:      newResource[*v1.Event](api, lg, mustLookup("events")),
		configMaps:  newResource[*v1.ConfigMap](api, lg, mustLookup("configmaps")),
		secrets:     newResource[*v1.Secret](api, lg, mustLookup("secrets")),
		namespaces:  newResource[*v1.Namespace](api, lg, mustLookup("namespaces")),
		replicaSets: newResource[*v1.ReplicaSet](api, lg, mustLookup("replicasets")),
		deployments: newResource[*v1.Deployment](api, lg, mustLookup("deployments")),
		csrs:        newResource[*v1.CertificateSigningRequest](api, lg, mustLookup("certificatesigningrequests")),
	}
}

// mustLookup finds a resource of the fixed table; a miss is a programming
// error caught by every test.
func mustLookup(name string) *apis.Resource {
	r, err := apis.Lookup(name)
	if err != nil {
		panic(err)
	}
	return r
}

// Close closes the connection; open watches and streams end.
func (c *Clientset) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("close client: %w", err)
	}
	return nil
}

// Pods is the client of pods.
func (c *Clientset) Pods() *Resource[*v1.Pod] { return c.pods }

// Nodes is the client of nodes.
func (c *Clientset) Nodes() *Resource[*v1.Node] { return c.nodes }

// Leases is the client of leases (coordination.k8s.io).
func (c *Clientset) Leases() *Resource[*v1.Lease] { return c.leases }

// Events is the client of events.
func (c *Clientset) Events() *Resource[*v1.Event] { return c.events }

// ConfigMaps is the client of config maps.
func (c *Clientset) ConfigMaps() *Resource[*v1.ConfigMap] { return c.configMaps }

// Secrets is the client of secrets.
func (c *Clientset) Secrets() *Resource[*v1.Secret] { return c.secrets }

// Namespaces is the client of namespaces.
func (c *Clientset) Namespaces() *Resource[*v1.Namespace] { return c.namespaces }

// ReplicaSets is the client of replica sets (apps).
func (c *Clientset) ReplicaSets() *Resource[*v1.ReplicaSet] { return c.replicaSets }

// Deployments is the client of deployments (apps).
func (c *Clientset) Deployments() *Resource[*v1.Deployment] { return c.deployments }

// CSRs is the client of certificate signing requests (certificates.k8s.io).
func (c *Clientset) CSRs() *Resource[*v1.CertificateSigningRequest] { return c.csrs }

// ForResource is an untyped client of any kind, for generic verbs (minictl
// get/create/delete on a kind named at run time). Objects are decoded into
// r.New() and returned as apis.Object.
func (c *Clientset) ForResource(r *apis.Resource) *Resource[apis.Object] {
	if d, ok := c.dynamic[r.Name]; ok && d.res == r {
		return d
	}
	return newResource[apis.Object](c.api, c.lg, r)
}

// Bind sets spec.nodeName of the pod b names (b.metadata) to b.target.name.
// It fails with an errdefs Precondition error when the pod is already bound.
func (c *Clientset) Bind(ctx context.Context, b *v1.Binding) (*v1.Pod, error) {
	resp, err := c.api.Bind(ctx, &v1.BindRequest{Binding: b})
	if err != nil {
		return nil, err
	}
	return resp.GetPod(), nil
}

// CSR approval condition types.
const (
	CSRApproved = "Approved"
	CSRDenied   = "Denied"
)

// UpdateApproval sets the Approved or Denied condition of the
// CertificateSigningRequest name; an approved request is signed at once.
func (c *Clientset) UpdateApproval(ctx context.Context, name, conditionType, reason, message string) (*v1.CertificateSigningRequest, error) {
	resp, err := c.api.UpdateApproval(ctx, &v1.UpdateApprovalRequest{Name: name, Type: conditionType, Reason: reason, Message: message})
	if err != nil {
		return nil, err
	}
	return resp.GetCsr(), nil
}

// ApproveCSR approves the CertificateSigningRequest name.
func (c *Clientset) ApproveCSR(ctx context.Context, name, reason, message string) (*v1.CertificateSigningRequest, error) {
	return c.UpdateApproval(ctx, name, CSRApproved, reason, message)
}

// DenyCSR denies the CertificateSigningRequest name.
func (c *Clientset) DenyCSR(ctx context.Context, name, reason, message string) (*v1.CertificateSigningRequest, error) {
	return c.UpdateApproval(ctx, name, CSRDenied, reason, message)
}

// GetClusterInfo returns the kube-public/cluster-info ConfigMap. The
// Discovery service needs no client certificate, so a joining node calls it
// with a Config whose TLS skips verification and then checks the CA it gets
// against the pinned hash itself.
func (c *Clientset) GetClusterInfo(ctx context.Context) (*v1.ConfigMap, error) {
	resp, err := c.discovery.GetClusterInfo(ctx, &v1.GetClusterInfoRequest{})
	if err != nil {
		return nil, err
	}
	return resp.GetConfigMap(), nil
}

// unaryInterceptor adds the default deadline and turns status errors into
// errdefs classes.
func unaryInterceptor(timeout time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok && timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		return errdefs.FromGRPC(invoker(ctx, method, req, reply, cc, opts...))
	}
}

// streamInterceptor turns status errors of streams into errdefs classes;
// io.EOF (a stream that ended cleanly) stays io.EOF.
func streamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, errdefs.FromGRPC(err)
	}
	return classedStream{s}, nil
}

type classedStream struct{ grpc.ClientStream }

func classify(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	return errdefs.FromGRPC(err)
}

func (s classedStream) RecvMsg(m any) error { return classify(s.ClientStream.RecvMsg(m)) }
func (s classedStream) SendMsg(m any) error { return classify(s.ClientStream.SendMsg(m)) }
func (s classedStream) CloseSend() error    { return classify(s.ClientStream.CloseSend()) }

// bearerToken sends a token as authorization metadata, over TLS only.
type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return true }
