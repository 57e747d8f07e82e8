package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"minik8s/pkg/apis/errdefs"
)

// compactRevKey is where apiservers agree on compactions (Kubernetes' key).
const compactRevKey = "compact_rev_key"

// DefaultCompactionInterval is Kubernetes' --etcd-compaction-interval.
const DefaultCompactionInterval = 5 * time.Minute

// Compact discards etcd history before rev and waits until it is gone.
// Watches and reads at older revisions then fail with errdefs.Expired.
// Compacting to an already compacted revision is not an error.
func (s *Etcd) Compact(ctx context.Context, rev int64) error {
	start := time.Now()
	_, err := s.cli.Compact(ctx, rev, clientv3.WithCompactPhysical())
	s.metrics.ObserveRequest("compact", "", time.Since(start))
	if err == nil || errors.Is(err, rpctypes.ErrCompacted) {
		return nil
	}
	if errors.Is(err, rpctypes.ErrFutureRev) {
		return errdefs.Invalid("compact to revision %d: it is in the future", rev)
	}
	return etcdError(err, "compact", fmt.Sprint(rev))
}

// RunCompactor compacts etcd every interval until ctx ends, each time up to
// the revision seen one interval earlier, so at least one interval of
// history stays (Kubernetes' compactor: 5 minutes). Several apiservers on
// one etcd agree through a transaction on compact_rev_key, so one compacts
// per interval. clk nil is the real clock.
func (s *Etcd) RunCompactor(ctx context.Context, interval time.Duration, clk clock.WithTicker) error {
	if clk == nil {
		clk = clock.RealClock{}
	}
	if interval <= 0 {
		interval = DefaultCompactionInterval
	}
	t := clk.NewTicker(interval)
	defer t.Stop()
	var version, rev int64
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		v, r, err := s.compactStep(ctx, version, rev)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.lg.Warn("Compaction failed", zap.Int64("revision", rev), zap.Error(err))
			continue
		}
		version, rev = v, r
	}
}

// compactStep records the current revision in compact_rev_key when nobody
// else did since version, and then compacts to prevRev (recorded one
// interval earlier). It returns the key's new version and the revision to
// compact to next time.
func (s *Etcd) compactStep(ctx context.Context, version, prevRev int64) (int64, int64, error) {
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(compactRevKey), "=", version)).
		Then(clientv3.OpPut(compactRevKey, fmt.Sprint(prevRev))).
		Else(clientv3.OpGet(compactRevKey)).
		Commit()
	if err != nil {
		return version, prevRev, etcdError(err, "compact", compactRevKey)
	}
	cur := resp.Header.Revision
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			return 0, cur, nil
		}
		return kvs[0].Version, cur, nil
	}
	if prevRev > 0 {
		if err := s.Compact(ctx, prevRev); err != nil {
			return version + 1, cur, err
		}
		s.lg.Info("Compacted etcd", zap.Int64("revision", prevRev))
	}
	return version + 1, cur, nil
}
