package minictl

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"minik8s/pkg/client"
)

// podExecer is what exec needs beyond the generic verbs.
type podExecer interface {
	PodExec(ctx context.Context, opts client.ExecOptions) (int, error)
}

type execOptions struct {
	container  string
	stdin, tty bool
}

// newExecCommand is `minictl exec POD [-c C] [-i] [-t] -- CMD ARGS...`, as
// kubectl exec. A command that exits non-zero makes minictl say so and
// exit 1.
func newExecCommand(f *Factory) *cobra.Command {
	o := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec (POD | pod/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]",
		Short: "Execute a command in a container",
		Example: "  # Get output from running the 'date' command from pod mypod, using the first container by default\n  minictl exec mypod -- date\n\n" +
			"  # Switch to raw terminal mode; sends stdin to 'bash' in ruby-container from pod mypod\n  minictl exec mypod -c ruby-container -i -t -- bash -il",
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash != 1 || len(args) < 2 {
				return usageError(cmd, "exec requires POD -- COMMAND [args...]")
			}
			name, err := podName(args[0])
			if err != nil {
				return err
			}
			ns, _ := f.Namespace()
			c, err := ClientAs[podExecer](f)
			if err != nil {
				return err
			}
			opts := client.ExecOptions{
				Namespace: ns, Name: name, Container: o.container, Command: args[1:], TTY: o.tty,
				Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
			}
			if o.stdin {
				opts.Stdin = cmd.InOrStdin()
			}
			code, err := c.PodExec(cmd.Context(), opts)
			if err != nil {
				return AsServerError(err)
			}
			if code != 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "command terminated with exit code %d\n", code)
				return silentError{}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.container, "container", "c", "", "Container name. If omitted, the first container in the pod will be chosen")
	fl.BoolVarP(&o.stdin, "stdin", "i", false, "Pass stdin to the container")
	fl.BoolVarP(&o.tty, "tty", "t", false, "Stdin is a TTY")
	return cmd
}
