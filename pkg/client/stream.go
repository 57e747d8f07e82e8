package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "minik8s/api/proto/minik8s/v1"
)

// PodLogs streams a container's log (proxied by the apiserver to the pod's
// kubelet). Read until io.EOF; Close ends the stream early. With
// req.Follow the stream lasts until the container ends, ctx ends or Close.
func (c *Clientset) PodLogs(ctx context.Context, req *v1.PodLogsRequest) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.api.PodLogs(ctx, req)
	if err != nil {
		cancel()
		return nil, err
	}
	return &logReader{stream: stream, cancel: cancel}, nil
}

// logReader turns a stream of chunks into an io.Reader without copying a
// chunk more than once.
type logReader struct {
	stream v1.API_PodLogsClient
	cancel context.CancelFunc
	buf    []byte
	err    error
}

func (r *logReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		resp, err := r.stream.Recv()
		if err != nil {
			r.err = err
			r.cancel()
			continue
		}
		r.buf = resp.GetData()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *logReader) Close() error {
	r.cancel()
	return nil
}

// ExecOptions describe a command to run in a container.
type ExecOptions struct {
	Namespace string
	Name      string
	// Container; empty means the pod's only (or first) container.
	Container string
	Command   []string
	TTY       bool
	// Stdin, when set, is copied to the command until it returns io.EOF.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output; nil discards it.
	Stdout io.Writer
	Stderr io.Writer
}

// PodExec runs a command in a container (proxied by the apiserver to the
// pod's kubelet) and returns its exit code once it ends.
//
// Stdin is copied by a goroutine that ends when Stdin returns an error or
// io.EOF, or at its first Read after the command ended; a Stdin that blocks
// forever (a terminal) keeps that goroutine in its Read until then.
func (c *Clientset) PodExec(ctx context.Context, opts ExecOptions) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.api.PodExec(ctx)
	if err != nil {
		return -1, err
	}
	start := &v1.PodExecStart{
		Namespace: opts.Namespace,
		Name:      opts.Name,
		Container: opts.Container,
		Command:   opts.Command,
		Stdin:     opts.Stdin != nil,
		Tty:       opts.TTY,
	}
	if err := stream.Send(&v1.PodExecRequest{Start: start}); err != nil {
		return -1, c.execErr(stream, err)
	}
	if opts.Stdin != nil {
		// After start only this goroutine sends; Recv below runs
		// concurrently, which gRPC allows.
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, rerr := opts.Stdin.Read(buf)
				if n > 0 {
					if serr := stream.Send(&v1.PodExecRequest{Stdin: append([]byte(nil), buf[:n]...)}); serr != nil {
						return
					}
				}
				if rerr != nil {
					_ = stream.Send(&v1.PodExecRequest{StdinEof: true})
					return
				}
				if ctx.Err() != nil {
					return
				}
			}
		}()
	}
	code := -1
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return -1, err
		}
		if err := write(opts.Stdout, resp.GetStdout()); err != nil {
			return -1, fmt.Errorf("exec in pod %s/%s: stdout: %w", opts.Namespace, opts.Name, err)
		}
		if err := write(opts.Stderr, resp.GetStderr()); err != nil {
			return -1, fmt.Errorf("exec in pod %s/%s: stderr: %w", opts.Namespace, opts.Name, err)
		}
		if resp.ExitCode != nil {
			code = int(resp.GetExitCode())
			break
		}
	}
	if code < 0 {
		return -1, fmt.Errorf("exec in pod %s/%s: the stream ended without an exit code", opts.Namespace, opts.Name)
	}
	return code, nil
}

// execErr returns the server's error when a Send failed because the server
// ended the stream (Send then reports only io.EOF).
func (c *Clientset) execErr(stream v1.API_PodExecClient, err error) error {
	if !errors.Is(err, io.EOF) {
		return err
	}
	if _, rerr := stream.Recv(); rerr != nil && !errors.Is(rerr, io.EOF) {
		return rerr
	}
	return err
}

func write(w io.Writer, b []byte) error {
	if w == nil || len(b) == 0 {
		return nil
	}
	_, err := w.Write(b)
	return err
}
