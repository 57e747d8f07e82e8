package apiserver

import (
	"context"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apiserver/registry"
)

// CSR approval and signing are in csr.go; the logs and exec proxies to the
// kubelets in proxy.go.

// Discovery: kubeadm's cluster-info, readable without credentials.
const (
	clusterInfoNamespace = "kube-public"
	clusterInfoName      = "cluster-info"
)

type discoveryService struct {
	v1.UnimplementedDiscoveryServer
	reg *registry.Registry
}

var _ v1.DiscoveryServer = (*discoveryService)(nil)

// GetClusterInfo returns the kube-public/cluster-info ConfigMap: the
// cluster's CA and address, and the token signatures a joining node checks
// before it trusts them.
func (d *discoveryService) GetClusterInfo(ctx context.Context, _ *v1.GetClusterInfoRequest) (*v1.GetClusterInfoResponse, error) {
	k, err := d.reg.Kind("configmaps")
	if err != nil {
		return nil, err
	}
	obj, err := d.reg.Get(ctx, k, clusterInfoNamespace, clusterInfoName)
	if err != nil {
		return nil, err
	}
	return &v1.GetClusterInfoResponse{ConfigMap: obj.(*v1.ConfigMap)}, nil
}
