// Package minictl is the minik8s command line: kubectl's verbs (create,
// apply, get, describe, delete, ...) with kubectl's flags, tables and
// messages, plus kubeadm's cluster bootstrap verbs (init, join, token).
//
// Everything takes its streams, clock and API client from a Factory, so a
// test runs a whole command line against an in-memory fake. The library
// never exits the process: Main returns the exit status.
//
// Adding a verb: write newXCommand(f *Factory) *cobra.Command in a file of
// its own and add one line to verbs() below.
package minictl

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Command groups, as kubectl's help shows them.
const (
	groupBasic     = "basic"
	groupIntermed  = "intermediate"
	groupDeploy    = "deploy"
	groupCluster   = "cluster"
	groupTrouble   = "troubleshooting"
	groupAdvanced  = "advanced"
	groupBootstrap = "bootstrap"
	groupOther     = "other"
)

func groups() []*cobra.Group {
	return []*cobra.Group{
		{ID: groupBasic, Title: "Basic Commands (Beginner):"},
		{ID: groupIntermed, Title: "Basic Commands (Intermediate):"},
		{ID: groupDeploy, Title: "Deploy Commands:"},
		{ID: groupCluster, Title: "Cluster Management Commands:"},
		{ID: groupTrouble, Title: "Troubleshooting and Debugging Commands:"},
		{ID: groupAdvanced, Title: "Advanced Commands:"},
		{ID: groupBootstrap, Title: "Cluster Bootstrap Commands (kubeadm):"},
		{ID: groupOther, Title: "Other Commands:"},
	}
}

// verb is one top-level command and the help group it shows in.
type verb struct {
	group string
	new   func(f *Factory) *cobra.Command
}

// verbs lists every top-level command. A new verb is a new file with its
// newXCommand and one line here.
func verbs() []verb {
	return []verb{
		{groupBasic, newCreateCommand},
		{groupIntermed, newGetCommand},
		{groupIntermed, newDeleteCommand},
		{groupDeploy, newRolloutCommand}, {groupDeploy, newScaleCommand},
		{groupTrouble, newDescribeCommand}, {groupTrouble, newLogsCommand}, {groupTrouble, newExecCommand},
		{groupAdvanced, newApplyCommand},
		{groupCluster, newCertificateCommand},
		{groupBootstrap, newInitCommand},
		{groupBootstrap, newJoinCommand},
		{groupBootstrap, newTokenCommand},
		{groupOther, newAPIResourcesCommand},
		{groupOther, newVersionCommand},
	}
}

// NewRootCommand builds the minictl command tree on f.
func NewRootCommand(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "minictl",
		Short: "minictl controls the minik8s cluster manager",
		Long: "minictl controls the minik8s cluster manager.\n\n" +
			"It speaks kubectl's verbs and kubeadm's bootstrap verbs to a minik8s API server.",
		SilenceErrors: true,
		SilenceUsage:  true,
		// A bare `minictl` prints help, as kubectl does.
		Run: func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
	}
	root.SetIn(f.In)
	root.SetOut(f.Out)
	root.SetErr(f.ErrOut)
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(cmd, "%s", err)
	})

	pf := root.PersistentFlags()
	pf.StringVar(&f.KubeconfigFlag, "kubeconfig", "", "Path to the kubeconfig file to use for CLI requests (default $MINIK8S_CONFIG, $KUBECONFIG or $HOME/.minik8s/config).")
	pf.StringVarP(&f.NamespaceFlag, "namespace", "n", "", "If present, the namespace scope for this CLI request")
	pf.StringVar(&f.RequestTimeoutFlag, "request-timeout", "0", "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests.")

	used := map[string]bool{}
	var cmds []*cobra.Command
	for _, v := range verbs() {
		cmd := v.new(f)
		if cmd == nil {
			continue
		}
		cmd.GroupID = v.group
		used[v.group] = true
		cmds = append(cmds, cmd)
	}
	for _, g := range groups() {
		if used[g.ID] {
			root.AddGroup(g)
		}
	}
	root.AddCommand(cmds...)
	return root
}

// Run executes one command line and returns the exit status: 0, or 1 after
// printing the error to f.ErrOut as kubectl prints it.
func Run(ctx context.Context, f *Factory, args []string) int {
	root := NewRootCommand(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if cl, ok := f.client.(interface{ Close() error }); ok {
		_ = cl.Close()
	}
	if err != nil {
		PrintError(f.ErrOut, err)
		return 1
	}
	return 0
}

// Main runs minictl with the process's environment and signals; main()
// passes its result to os.Exit. An interrupt ends the command (e.g. a
// `get -w`) with status 130, as a shell reports a SIGINT.
func Main(args []string, in io.Reader, out, errOut io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := Run(ctx, NewFactory(in, out, errOut, os.Getenv), args)
	if ctx.Err() != nil && code != 0 {
		return 130
	}
	return code
}

// usageError is kubectl's error for a bad command line: the problem, then
// where to find the usage.
func usageError(cmd *cobra.Command, format string, args ...any) error {
	return &usageErr{msg: fmt.Sprintf(format, args...), path: cmd.CommandPath()}
}

type usageErr struct{ msg, path string }

func (e *usageErr) Error() string {
	return e.msg + "\nSee '" + e.path + " -h' for help and examples"
}
