package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/pki"
)

// The logs and exec proxies: the apiserver finds the pod's node and calls
// that node's kubelet (the minik8s.v1.Kubelet service on the node's
// InternalIP and kubelet port) with the apiserver-kubelet-client identity,
// passing the streams through. As Kubernetes does without
// --kubelet-certificate-authority, the kubelet's (often self-signed)
// serving certificate is not verified.

// kubeletClientCert is the identity the apiserver shows kubelets:
// --kubelet-client-certificate, else apiserver-kubelet-client.crt next to
// --tls-cert-file (kubeadm's layout).
func (s *Server) kubeletClientCert() (*tls.Certificate, error) {
	certFile, keyFile := s.cfg.KubeletClientCertFile, s.cfg.KubeletClientKeyFile
	if certFile == "" {
		dir := filepath.Dir(s.cfg.TLSCertFile)
		certFile, keyFile = filepath.Join(dir, "apiserver-kubelet-client.crt"), filepath.Join(dir, "apiserver-kubelet-client.key")
		if _, err := os.Stat(certFile); err != nil {
			return nil, errdefs.Precondition("the apiserver has no kubelet client certificate (--kubelet-client-certificate)")
		}
	}
	cert, err := pki.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet client certificate: %w", err)
	}
	return cert, nil
}

// kubeletFor returns a connection to the kubelet running pod ns/name and
// the pod's UID.
func (a *apiService) kubeletFor(ctx context.Context, ns, name string) (*grpc.ClientConn, string, error) {
	pk, err := a.reg.Kind("pods")
	if err != nil {
		return nil, "", err
	}
	obj, err := a.reg.Get(ctx, pk, ns, name)
	if err != nil {
		return nil, "", err
	}
	pod := obj.(*v1.Pod)
	nodeName := pod.GetSpec().GetNodeName()
	if nodeName == "" {
		return nil, "", errdefs.Invalid("pod %s/%s is not bound to a node yet", ns, name)
	}
	nk, err := a.reg.Kind("nodes")
	if err != nil {
		return nil, "", err
	}
	nobj, err := a.reg.Get(ctx, nk, "", nodeName)
	if err != nil {
		return nil, "", fmt.Errorf("node %s of pod %s/%s: %w", nodeName, ns, name, err)
	}
	node := nobj.(*v1.Node)
	var host string
	for _, t := range []string{"InternalIP", "ExternalIP", "Hostname"} {
		for _, ad := range node.GetStatus().GetAddresses() {
			if host == "" && ad.GetType() == t {
				host = ad.GetAddress()
			}
		}
	}
	port := node.GetStatus().GetDaemonEndpoints().GetKubeletEndpoint().GetPort()
	if host == "" || port == 0 {
		return nil, "", errdefs.Unavailable("node %s reports no kubelet address", nodeName)
	}
	cert, err := a.s.kubeletClientCert()
	if err != nil {
		return nil, "", err
	}
	tlsCfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{*cert},
		InsecureSkipVerify: true, //nolint:gosec // as Kubernetes without --kubelet-certificate-authority
	}
	conn, err := grpc.NewClient(net.JoinHostPort(host, strconv.Itoa(int(port))), grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	if err != nil {
		return nil, "", fmt.Errorf("connect to the kubelet of node %s: %w", nodeName, err)
	}
	return conn, pod.GetMetadata().GetUid(), nil
}

// PodLogs streams a container's log from the pod's kubelet.
func (a *apiService) PodLogs(req *v1.PodLogsRequest, stream v1.API_PodLogsServer) error {
	ctx := stream.Context()
	conn, uid, err := a.kubeletFor(ctx, req.GetNamespace(), req.GetName())
	if err != nil {
		return err
	}
	defer conn.Close()
	kreq := proto.Clone(req).(*v1.PodLogsRequest)
	kreq.PodUid = uid
	ks, err := v1.NewKubeletClient(conn).ContainerLogs(ctx, kreq)
	if err != nil {
		return errdefs.FromGRPC(err)
	}
	for {
		msg, err := ks.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errdefs.FromGRPC(err)
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}

// PodExec runs a command in a container through the pod's kubelet: the
// client's messages go to the kubelet, the kubelet's come back.
func (a *apiService) PodExec(stream v1.API_PodExecServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	start := first.GetStart()
	if start == nil {
		return errdefs.Invalid("exec: the first message must carry start")
	}
	conn, uid, err := a.kubeletFor(ctx, start.GetNamespace(), start.GetName())
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ks, err := v1.NewKubeletClient(conn).Exec(ctx)
	if err != nil {
		return errdefs.FromGRPC(err)
	}
	st := &v1.PodExecStart{
		Namespace: start.GetNamespace(), Name: start.GetName(), Container: start.GetContainer(),
		Command: start.GetCommand(), Stdin: start.GetStdin(), Tty: start.GetTty(), PodUid: uid,
	}
	if err := ks.Send(&v1.PodExecRequest{Start: st}); err != nil {
		return errdefs.FromGRPC(err)
	}
	// Client to kubelet; ends with the client's stream or ctx.
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				_ = ks.CloseSend()
				return
			}
			if err := ks.Send(msg); err != nil {
				return
			}
		}
	}()
	for {
		msg, err := ks.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errdefs.FromGRPC(err)
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
}
