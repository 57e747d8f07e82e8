// Package integration runs the real parts together: the built binaries, an
// apiserver on an embedded etcd over mutual TLS, and the components.
package integration

import (
	"io"

	"minik8s/pkg/client"
)

func clientListAll() client.ListOptions { return client.ListOptions{} }

func clientDeleteNow() client.DeleteOptions {
	zero := int64(0)
	return client.DeleteOptions{GracePeriodSeconds: &zero}
}

func ioReadFull(r io.Reader, buf []byte) (int, error) {
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil
	}
	return n, err
}
