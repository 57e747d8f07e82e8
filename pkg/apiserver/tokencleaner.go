package apiserver

import (
	"context"
	"errors"
	"maps"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/apiserver/registry"
	"minik8s/pkg/pki"
)

// clusterInfoKubeconfigKey and clusterInfoSignaturePrefix are the keys of
// the kube-public/cluster-info ConfigMap, as kubeadm's: the cluster's
// kubeconfig (CA and server) and one detached JWS of it per signing token.
const (
	clusterInfoKubeconfigKey   = "kubeconfig"
	clusterInfoSignaturePrefix = "jws-kubeconfig-"
)

// tokenController is Kubernetes' tokencleaner and bootstrapsigner in one
// loop: it deletes bootstrap tokens once they expire, and keeps the
// cluster-info ConfigMap signed by exactly the tokens that are valid and
// meant for signing (usage-bootstrap-signing), so that a joining node can
// check cluster-info with its token and a deleted or expired token stops
// vouching for it.
type tokenController struct {
	reg    *registry.Registry
	now    func() time.Time
	period time.Duration
	lg     *zap.Logger
}

// run syncs every period until ctx ends.
func (c *tokenController) run(ctx context.Context) error {
	period := c.period
	if period <= 0 {
		period = DefaultBootstrapTokenSyncPeriod
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := c.sync(ctx); err != nil && ctx.Err() == nil {
			c.lg.Warn("Syncing bootstrap tokens failed; retrying", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sync deletes the expired tokens and brings the cluster-info signatures up
// to date, once.
func (c *tokenController) sync(ctx context.Context) error {
	secrets, err := c.reg.Kind("secrets")
	if err != nil {
		return err
	}
	objs, _, err := c.reg.List(ctx, secrets, registry.ListOptions{Namespace: BootstrapTokenNamespace})
	if err != nil {
		return err
	}
	now := c.now()
	signing := map[string]string{} // token ID -> secret
	var errs []error
	for _, obj := range objs {
		s := obj.(*v1.Secret)
		if s.GetType() != BootstrapTokenSecretType || s.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		t, err := parseBootstrapTokenSecret(s)
		if err != nil {
			c.lg.Debug("Ignoring a malformed bootstrap token", zap.String("secret", s.GetMetadata().GetName()), zap.Error(err))
			continue
		}
		if t.expired(now) {
			md := s.GetMetadata()
			_, _, err := c.reg.Delete(ctx, secrets, md.GetNamespace(), md.GetName(), registry.DeleteOptions{PreconditionUID: md.GetUid()})
			if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsConflict(err) {
				errs = append(errs, err)
				continue
			}
			c.lg.Info("Deleted an expired bootstrap token", zap.String("tokenID", t.id), zap.Time("expiration", t.expiration))
			continue
		}
		if t.signing {
			signing[t.id] = t.secret
		}
	}
	errs = append(errs, c.signClusterInfo(ctx, signing))
	return errors.Join(errs...)
}

// signClusterInfo sets the jws-kubeconfig-<id> entries of cluster-info to
// the signatures of the given tokens, and removes the others.
func (c *tokenController) signClusterInfo(ctx context.Context, tokens map[string]string) error {
	k, err := c.reg.Kind("configmaps")
	if err != nil {
		return err
	}
	obj, err := c.reg.Get(ctx, k, clusterInfoNamespace, clusterInfoName)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	cm := proto.Clone(obj).(*v1.ConfigMap)
	content, ok := cm.GetData()[clusterInfoKubeconfigKey]
	if !ok {
		return nil
	}
	want := map[string]string{}
	for k, v := range cm.GetData() {
		if !strings.HasPrefix(k, clusterInfoSignaturePrefix) {
			want[k] = v
		}
	}
	for id, secret := range tokens {
		sig, err := pki.SignJWS([]byte(content), id, secret)
		if err != nil {
			return err
		}
		want[clusterInfoSignaturePrefix+id] = sig
	}
	if maps.Equal(want, cm.GetData()) {
		return nil
	}
	cm.Data = want
	// The resourceVersion read is the precondition: a concurrent change
	// (a new token signed by minictl) makes this fail and the next sync
	// redo it.
	if _, err := c.reg.Update(ctx, k, cm, registry.UpdateOptions{}); err != nil && !errdefs.IsConflict(err) {
		return err
	}
	return nil
}
