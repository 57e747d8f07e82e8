package minictl

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	v1 "minik8s/api/proto/minik8s/v1"
)

// podLogger is what logs needs beyond the generic verbs.
type podLogger interface {
	PodLogs(ctx context.Context, req *v1.PodLogsRequest) (io.ReadCloser, error)
}

type logsOptions struct {
	follow, previous, timestamps bool
	tail                         int64
	container                    string
}

// newLogsCommand is `minictl logs [-f] [--tail N] [-c C] [-p] POD`, as
// kubectl logs.
func newLogsCommand(f *Factory) *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs [-f] [-p] (POD | pod/POD) [-c CONTAINER]",
		Short: "Print the logs for a container in a pod",
		Long:  "Print the logs for a container in a pod. If the pod has only one container, the container name is optional.",
		Example: "  # Return snapshot logs from pod nginx with only one container\n  minictl logs nginx\n\n" +
			"  # Begin streaming the logs of the ruby container in pod web-1\n  minictl logs -f -c ruby web-1\n\n" +
			"  # Display only the most recent 20 lines of output in pod nginx\n  minictl logs --tail=20 nginx",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, "expected POD, got %d arguments", len(args))
			}
			name, err := podName(args[0])
			if err != nil {
				return err
			}
			ns, _ := f.Namespace()
			c, err := ClientAs[podLogger](f)
			if err != nil {
				return err
			}
			req := &v1.PodLogsRequest{Namespace: ns, Name: name, Container: o.container, Follow: o.follow, Previous: o.previous, Timestamps: o.timestamps}
			if o.tail >= 0 {
				n := o.tail
				req.TailLines = &n
			}
			rc, err := c.PodLogs(cmd.Context(), req)
			if err != nil {
				return AsServerError(err)
			}
			defer rc.Close()
			if _, err := io.Copy(cmd.OutOrStdout(), rc); err != nil {
				return AsServerError(err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.follow, "follow", "f", false, "Specify if the logs should be streamed.")
	fl.BoolVarP(&o.previous, "previous", "p", false, "If true, print the logs for the previous instance of the container in a pod if it exists.")
	fl.BoolVar(&o.timestamps, "timestamps", false, "Include timestamps on each line in the log output")
	fl.Int64Var(&o.tail, "tail", -1, "Lines of recent log file to display. Defaults to -1, showing all log lines.")
	fl.StringVarP(&o.container, "container", "c", "", "Print the logs of this container")
	return cmd
}

// podName accepts POD or pod/POD (pods/POD, po/POD).
func podName(arg string) (string, error) {
	for _, p := range []string{"pod/", "pods/", "po/"} {
		if len(arg) > len(p) && arg[:len(p)] == p {
			return arg[len(p):], nil
		}
	}
	for i := 0; i < len(arg); i++ {
		if arg[i] == '/' {
			return "", fmt.Errorf("error: only pods are supported, got %q", arg)
		}
	}
	return arg, nil
}
