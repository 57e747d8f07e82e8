// Package server is the kubelet's gRPC server (the minik8s.v1.Kubelet
// service): container logs and exec for the apiserver, which proxies
// `minictl logs` and `minictl exec` to it. It speaks TLS 1.3 and requires a
// client certificate from the cluster CA (--client-ca-file); only the
// apiserver's kubelet-client identity (CN kube-apiserver-kubelet-client,
// O system:masters) may call it, everyone else gets PermissionDenied.
package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/pki"
)

// The only identity allowed to call a kubelet.
const (
	AllowedCommonName   = "kube-apiserver-kubelet-client"
	AllowedOrganization = "system:masters"
)

// Pods finds containers of the node's pods.
type Pods interface {
	// ContainerID is the runtime ID of container (empty: the pod's first)
	// of pod namespace/name (of UID uid when it is not empty); with
	// previous, of the container's previous, exited, instance.
	ContainerID(ctx context.Context, namespace, name, uid, container string, previous bool) (string, error)
}

// Runtime streams logs and runs commands.
type Runtime interface {
	Logs(ctx context.Context, id string, opts runtime.LogOptions) (io.ReadCloser, error)
	Exec(ctx context.Context, id string, opts runtime.ExecOptions) (int, error)
}

// Config configures a Server.
type Config struct {
	// Address to listen on, host:port (port 0: any).
	Address string
	// ClientCAFile holds the CA that signs the apiserver's client
	// certificate. Required.
	ClientCAFile string
	// TLSCertFile and TLSPrivateKeyFile are the serving certificate; when
	// both are empty a self-signed one is made for NodeName and HostIP.
	TLSCertFile       string
	TLSPrivateKeyFile string
	NodeName          string
	HostIP            string
	Pods              Pods
	Runtime           Runtime
	Logger            *zap.Logger
}

// Server is a running kubelet server.
type Server struct {
	cfg  Config
	lg   *zap.Logger
	ln   net.Listener
	grpc *grpc.Server
	once sync.Once
}

// New validates cfg, loads or makes the certificate and listens.
func New(cfg Config) (*Server, error) {
	if cfg.ClientCAFile == "" {
		return nil, errdefs.Invalid("kubelet server: --client-ca-file is required to serve logs and exec")
	}
	if cfg.Pods == nil || cfg.Runtime == nil {
		return nil, errdefs.Invalid("kubelet server: pods and runtime are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	pool, err := pki.CertPoolFromFile(cfg.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet server: client CA: %w", err)
	}
	var cert *tls.Certificate
	switch {
	case cfg.TLSCertFile != "" && cfg.TLSPrivateKeyFile != "":
		cert, err = pki.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSPrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("kubelet server: serving certificate: %w", err)
		}
	case cfg.TLSCertFile != "" || cfg.TLSPrivateKeyFile != "":
		return nil, errdefs.Invalid("kubelet server: --tls-cert-file and --tls-private-key-file go together")
	default:
		cert, err = SelfSigned(cfg.NodeName, cfg.HostIP)
		if err != nil {
			return nil, err
		}
	}
	tlsCfg := pki.ServerTLSConfig(pool, cert, true)
	s := &Server{cfg: cfg, lg: cfg.Logger.Named("server")}
	s.grpc = grpc.NewServer(
		grpc.Creds(credentials.NewTLS(tlsCfg)),
		grpc.ChainUnaryInterceptor(s.unaryAuth),
		grpc.ChainStreamInterceptor(s.streamAuth),
		grpc.MaxRecvMsgSize(4<<20),
	)
	v1.RegisterKubeletServer(s.grpc, &service{s: s})
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("kubelet server: listen on %s: %w", cfg.Address, err)
	}
	s.ln = ln
	return s, nil
}

// SelfSigned makes a self-signed serving certificate for a node, as the
// kubelet does when it is given none.
func SelfSigned(nodeName, hostIP string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: nodeName + "@" + fmt.Sprint(now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{nodeName, "localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if ip := net.ParseIP(hostIP); ip != nil {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port is the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops listening (for a server that never ran).
func (s *Server) Close() {
	s.once.Do(func() { s.ln.Close() })
}

// Run serves until ctx ends, then stops (open streams end) and returns nil.
func (s *Server) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.grpc.Serve(s.ln) }()
	select {
	case <-ctx.Done():
		stopped := make(chan struct{})
		go func() {
			s.grpc.GracefulStop()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			s.grpc.Stop()
			<-stopped
		}
		<-done
		return nil
	case err := <-done:
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("kubelet server: %w", err)
		}
		return nil
	}
}

// authorize lets only the apiserver's kubelet client in.
func authorize(ctx context.Context) error {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return errdefs.Unauthenticated("no peer")
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return errdefs.Unauthenticated("a verified client certificate is required")
	}
	subj := ti.State.VerifiedChains[0][0].Subject
	if subj.CommonName != AllowedCommonName || !slices.Contains(subj.Organization, AllowedOrganization) {
		return errdefs.Forbidden("user %q cannot access the kubelet API: only %s may", subj.CommonName, AllowedCommonName)
	}
	return nil
}

func (s *Server) recover(method string, err *error) {
	if r := recover(); r != nil {
		s.lg.Error("Panic in a kubelet API handler", zap.String("method", method), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		*err = errdefs.Wrap(errdefs.ClassUnknown, fmt.Errorf("%v", r), "internal error")
	}
}

func (s *Server) unaryAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (_ any, err error) {
	defer s.recover(info.FullMethod, &err)
	if err := authorize(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) streamAuth(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer s.recover(info.FullMethod, &err)
	if err := authorize(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}

type service struct {
	v1.UnimplementedKubeletServer
	s *Server
}

const chunkSize = 32 << 10

// ContainerLogs streams a container's log.
func (svc *service) ContainerLogs(req *v1.PodLogsRequest, stream v1.Kubelet_ContainerLogsServer) error {
	ctx := stream.Context()
	id, err := svc.s.cfg.Pods.ContainerID(ctx, req.GetNamespace(), req.GetName(), req.GetPodUid(), req.GetContainer(), req.GetPrevious())
	if err != nil {
		return err
	}
	opts := runtime.LogOptions{Follow: req.GetFollow(), Timestamps: req.GetTimestamps()}
	if req.TailLines != nil {
		n := req.GetTailLines()
		opts.TailLines = &n
	}
	rc, err := svc.s.cfg.Runtime.Logs(ctx, id, opts)
	if err != nil {
		return err
	}
	defer rc.Close()
	buf := make([]byte, chunkSize)
	for {
		n, rerr := rc.Read(buf)
		if n > 0 {
			if err := stream.Send(&v1.PodLogsResponse{Data: append([]byte(nil), buf[:n]...)}); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read logs of %s/%s: %w", req.GetNamespace(), req.GetName(), rerr)
		}
	}
}

// streamWriter sends what is written to it as exec output.
type streamWriter struct {
	mu     *sync.Mutex
	stream v1.Kubelet_ExecServer
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	resp := &v1.PodExecResponse{}
	b := append([]byte(nil), p...)
	if w.stderr {
		resp.Stderr = b
	} else {
		resp.Stdout = b
	}
	if err := w.stream.Send(resp); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Exec runs a command in a container: the first message names it, later
// ones carry stdin; the last response carries the exit code.
func (svc *service) Exec(stream v1.Kubelet_ExecServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return errdefs.Invalid("exec: the first message must carry start")
	}
	if len(start.GetCommand()) == 0 {
		return errdefs.Invalid("exec: a command is required")
	}
	id, err := svc.s.cfg.Pods.ContainerID(ctx, start.GetNamespace(), start.GetName(), start.GetPodUid(), start.GetContainer(), false)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	opts := runtime.ExecOptions{
		Cmd:    start.GetCommand(),
		TTY:    start.GetTty(),
		Stdout: streamWriter{mu: &mu, stream: stream},
		Stderr: streamWriter{mu: &mu, stream: stream, stderr: true},
	}
	if start.GetStdin() {
		pr, pw := io.Pipe()
		opts.Stdin = pr
		// Feeds stdin until the client closes it; ends with the stream.
		go func() {
			for {
				msg, err := stream.Recv()
				if err != nil {
					pw.CloseWithError(err)
					return
				}
				if len(msg.GetStdin()) > 0 {
					if _, err := pw.Write(msg.GetStdin()); err != nil {
						return
					}
				}
				if msg.GetStdinEof() {
					pw.Close()
					return
				}
			}
		}()
		defer pr.Close()
	}
	code, err := svc.s.cfg.Runtime.Exec(ctx, id, opts)
	if err != nil {
		return err
	}
	c := int32(code)
	mu.Lock()
	defer mu.Unlock()
	return stream.Send(&v1.PodExecResponse{ExitCode: &c})
}
