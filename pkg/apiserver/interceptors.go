package apiserver

import (
	"context"
	"runtime/debug"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"minik8s/pkg/apis/errdefs"
)

// The interceptor chain, the same for unary and streaming calls:
//
//	metrics -> logging -> recover -> authentication -> authorization -> default deadline -> handler
//
// The metrics interceptor opens the call record the others fill in.
// Recovery sits inside metrics and logging so that a panic is counted and
// logged as the Internal error it becomes; it is also where every error
// gets its gRPC code (errdefs.ToGRPC), so nothing leaves as Unknown.
// Streams are authorized when their first request message arrives.

func (s *Server) unaryInterceptors() []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{s.unaryMetrics, s.unaryLogging, s.unaryRecover, s.unaryAuthenticate, s.unaryAuthorize, s.unaryDeadline}
}

func (s *Server) streamInterceptors() []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{s.streamMetrics, s.streamLogging, s.streamRecover, s.streamAuthenticate}
}

// Metrics.

func (s *Server) observe(c *call, start time.Time, err error) {
	code := status.Code(err).String()
	res := c.metricResource()
	s.metrics.requests.WithLabelValues(c.m.verb, res, c.m.subresource, code).Inc()
	if c.m.requestKind != kindLongRunning {
		s.metrics.duration.WithLabelValues(c.m.verb, res, c.m.subresource).Observe(time.Since(start).Seconds())
	}
}

func (s *Server) unaryMetrics(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	c := s.newCall(info.FullMethod)
	s.describe(c, req)
	g := s.metrics.inflight.WithLabelValues(c.m.requestKind)
	g.Inc()
	start := time.Now()
	resp, err := handler(withCall(ctx, c), req)
	g.Dec()
	s.observe(c, start, err)
	return resp, err
}

func (s *Server) streamMetrics(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	c := s.newCall(info.FullMethod)
	g := s.metrics.inflight.WithLabelValues(c.m.requestKind)
	g.Inc()
	start := time.Now()
	err := handler(srv, &serverStream{ServerStream: ss, ctx: withCall(ss.Context(), c), s: s, c: c})
	g.Dec()
	s.observe(c, start, err)
	return err
}

// serverStream carries the call record and authorizes the stream on its
// first request message, once the resource it names is known.
type serverStream struct {
	grpc.ServerStream
	ctx      context.Context
	s        *Server
	c        *call
	received bool
}

func (w *serverStream) Context() context.Context { return w.ctx }

func (w *serverStream) RecvMsg(m any) error {
	if err := w.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if w.received {
		return nil
	}
	w.received = true
	w.s.describe(w.c, m)
	if w.c.user == nil {
		// Not authenticated (cannot happen behind the chain): refuse.
		return status.Error(codes.Unauthenticated, "not authenticated")
	}
	return errdefs.ToGRPC(w.s.authorize(w.c, m))
}

// Logging.

func (s *Server) logCall(c *call, start time.Time, err error) {
	code := status.Code(err)
	internal := code == codes.Internal || code == codes.Unknown || code == codes.DataLoss
	if !internal && !s.lg.Core().Enabled(zap.DebugLevel) {
		return
	}
	fields := []zap.Field{
		zap.String("verb", c.m.verb),
		zap.String("resource", c.resource),
		zap.String("subresource", c.m.subresource),
		zap.String("namespace", c.namespace),
		zap.String("name", c.name),
		zap.Stringer("code", code),
		zap.Duration("duration", time.Since(start)),
	}
	if c.user != nil {
		fields = append(fields, zap.String("user", c.user.Name))
	}
	if err != nil {
		fields = append(fields, zap.String("error", status.Convert(err).Message()))
	}
	if internal {
		s.lg.Error("Request failed", fields...)
		return
	}
	s.lg.Debug("Request", fields...)
}

func (s *Server) unaryLogging(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	s.logCall(callFrom(ctx), start, err)
	return resp, err
}

func (s *Server) streamLogging(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, ss)
	s.logCall(callFrom(ss.Context()), start, err)
	return err
}

// Recovery and error codes.

func (s *Server) recovered(method string, p any) error {
	s.lg.Error("Panic serving request", zap.String("method", method), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
	return status.Error(codes.Internal, "internal error")
}

func (s *Server) unaryRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, s.recovered(info.FullMethod, p)
		}
	}()
	resp, err = handler(ctx, req)
	return resp, errdefs.ToGRPC(err)
}

func (s *Server) streamRecover(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = s.recovered(info.FullMethod, p)
		}
	}()
	return errdefs.ToGRPC(handler(srv, ss))
}

// Authentication.

func (s *Server) unaryAuthenticate(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	c := callFrom(ctx)
	u, err := s.authenticate(ctx, c.m.public)
	if err != nil {
		return nil, err
	}
	c.user = u
	return handler(ctx, req)
}

func (s *Server) streamAuthenticate(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	c := callFrom(ss.Context())
	u, err := s.authenticate(ss.Context(), c.m.public)
	if err != nil {
		return err
	}
	c.user = u
	return handler(srv, ss)
}

// Authorization (streams: serverStream.RecvMsg).

func (s *Server) unaryAuthorize(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.authorize(callFrom(ctx), req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Default deadline.

func (s *Server) unaryDeadline(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if _, ok := ctx.Deadline(); ok || s.requestTimeout <= 0 {
		return handler(ctx, req)
	}
	ctx, cancel := context.WithTimeout(ctx, s.requestTimeout)
	defer cancel()
	return handler(ctx, req)
}
