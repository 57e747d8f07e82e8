package storage

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"minik8s/pkg/apis/errdefs"
)

// CompactedError is the cause inside the errdefs.Expired error of a watch
// or read that needed history etcd has compacted: Revision is the oldest
// revision etcd still serves. A watch from Revision-1 (events after it)
// or a read at Revision works.
type CompactedError struct {
	Revision int64
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("compacted up to revision %d", e.Revision)
}

// etcdError gives an etcd client error its errdefs class, keeping it as
// the cause: a deadline is a Timeout (the outcome of a write is unknown),
// a lost connection or leader is Unavailable (retry), a compacted revision
// is Expired (relist).
func etcdError(err error, op, key string) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("etcd %s %s", op, key)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errdefs.Wrap(errdefs.ClassTimeout, err, msg)
	case errors.Is(err, context.Canceled):
		return errdefs.Wrap(errdefs.ClassCanceled, err, msg)
	case errors.Is(err, rpctypes.ErrCompacted):
		return errdefs.Wrap(errdefs.ClassExpired, err, msg)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return errdefs.Wrap(errdefs.ClassTimeout, err, msg)
	case errors.Is(err, rpctypes.ErrRequestTooLarge):
		return errdefs.Wrap(errdefs.ClassTooLarge, err, msg)
	case errors.Is(err, rpctypes.ErrNoSpace), errors.Is(err, rpctypes.ErrTooManyRequests),
		errors.Is(err, clientv3.ErrNoAvailableEndpoints):
		return errdefs.Wrap(errdefs.ClassUnavailable, err, msg)
	}
	var code codes.Code
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	} else if s, ok := status.FromError(err); ok {
		code = s.Code()
	} else {
		return fmt.Errorf("%s: %w", msg, err)
	}
	switch code {
	case codes.Unavailable:
		return errdefs.Wrap(errdefs.ClassUnavailable, err, msg)
	case codes.DeadlineExceeded:
		return errdefs.Wrap(errdefs.ClassTimeout, err, msg)
	case codes.Canceled:
		return errdefs.Wrap(errdefs.ClassCanceled, err, msg)
	}
	return fmt.Errorf("%s: %w", msg, err)
}
