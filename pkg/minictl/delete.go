package minictl

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

type deleteOptions struct {
	files          fileFlags
	all            bool
	allNamespaces  bool
	labelSelector  string
	fieldSelector  string
	ignoreNotFound bool
	gracePeriod    int
	now            bool
	force          bool
	cascade        string
	wait           bool
	timeout        time.Duration
	output         string
}

// defaultDeleteTimeout is kubectl's wait when --timeout is 0: a week.
const defaultDeleteTimeout = 7 * 24 * time.Hour

func newDeleteCommand(f *Factory) *cobra.Command {
	o := &deleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)])",
		Short: "Delete resources by file names, stdin, resources and names, or by resources and label selector",
		Long: "Delete resources by file names, stdin, resources and names, or by resources and label selector.\n\n" +
			"Pods bound to a node are deleted gracefully: the kubelet stops their containers within the grace period\n" +
			"(--grace-period overrides the pod's own) and then finishes the deletion. By default the command waits until\n" +
			"the objects are gone (--wait=false returns at once).",
		Example: "  # Delete a pod using the type and name specified in pod.yaml\n" +
			"  minictl delete -f ./pod.yaml\n\n" +
			"  # Delete pods and nodes with label name=myLabel\n" +
			"  minictl delete pods,nodes -l name=myLabel\n\n" +
			"  # Delete a pod with minimal delay\n" +
			"  minictl delete pod foo --now\n\n" +
			"  # Delete a deployment but leave its replica sets and pods\n" +
			"  minictl delete deployment web --cascade=orphan",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDelete(cmd, f, o, args)
		},
	}
	fl := cmd.Flags()
	o.files.add(cmd, "delete")
	fl.BoolVar(&o.all, "all", false, "Delete all resources, in the namespace of the specified resource types.")
	fl.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	fl.StringVarP(&o.labelSelector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2). Matching objects must satisfy all of the specified label constraints.")
	fl.StringVar(&o.fieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2). The server only supports a limited number of field queries per type.")
	fl.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "Treat \"resource not found\" as a successful delete.")
	fl.IntVar(&o.gracePeriod, "grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully. Ignored if negative. Set to 1 for immediate shutdown. Can only be set to 0 when --force is true (force deletion).")
	fl.BoolVar(&o.now, "now", false, "If true, resources are signaled for immediate shutdown (same as --grace-period=1).")
	fl.BoolVar(&o.force, "force", false, "If true, immediately remove resources from API and bypass graceful deletion. Note that immediate deletion of some resources may result in inconsistency or data loss and requires confirmation.")
	fl.StringVar(&o.cascade, "cascade", "background", "Must be \"background\", \"orphan\", or \"foreground\". Selects the deletion cascading strategy for the dependents (e.g. Pods created by a ReplicaSet). Defaults to background.")
	fl.Lookup("cascade").NoOptDefVal = "background"
	fl.BoolVar(&o.wait, "wait", true, "If true, wait for resources to be gone before returning. This waits for finalizers.")
	fl.DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object")
	fl.StringVarP(&o.output, "output", "o", "", "Output mode. Use \"-o name\" for shorter output (resource/name).")
	return cmd
}

// propagation maps --cascade to a propagation policy.
func propagation(cascade string) (string, error) {
	switch strings.ToLower(cascade) {
	case "background", "true":
		return "Background", nil
	case "orphan", "false":
		return "Orphan", nil
	case "foreground":
		return "Foreground", nil
	}
	return "", fmt.Errorf("invalid cascade value (%s). Must be \"background\", \"foreground\", or \"orphan\"", cascade)
}

// deleteTarget is one object to delete.
type deleteTarget struct {
	res    *apis.Resource
	ns     string
	name   string
	source string // the -f source, "" for command-line names
}

func runDelete(cmd *cobra.Command, f *Factory, o *deleteOptions, args []string) error {
	if err := checkOutput(o.output, "", outputName); err != nil {
		return err
	}
	policy, err := propagation(o.cascade)
	if err != nil {
		return err
	}
	opts := DeleteOptions{PropagationPolicy: policy}
	grace := o.gracePeriod
	if o.now {
		if grace >= 0 {
			return fmt.Errorf("--now and --grace-period cannot be specified together")
		}
		grace = 1
	}
	if o.force && grace < 0 {
		grace = 0
	}
	if grace == 0 && !o.force {
		// As kubectl: a zero grace period without --force means "as soon
		// as possible", which is one second.
		grace = 1
	}
	if grace >= 0 {
		g := int64(grace)
		opts.GracePeriodSeconds = &g
	}
	if o.force && grace == 0 {
		fmt.Fprintln(f.ErrOut, "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.")
	}

	ns, _ := f.Namespace()
	ctx := cmd.Context()
	var targets []deleteTarget
	var errs errorList
	selecting := o.all || o.labelSelector != "" || o.fieldSelector != ""

	switch {
	case len(o.files.filenames) > 0:
		if len(args) > 0 {
			return usageError(cmd, "when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well")
		}
		objs, lerrs, err := loadManifestObjects(f, &o.files)
		if err != nil {
			return err
		}
		errs = append(errs, lerrs...)
		for _, mo := range objs {
			targets = append(targets, deleteTarget{res: mo.res, ns: mo.ns, name: mo.obj.GetMetadata().GetName(), source: mo.source})
		}
	case len(args) == 0:
		return usageError(cmd, "You must provide one or more resources by argument or filename.\n"+
			"Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")
	default:
		sels, err := parseResourceArgs(cmd.CommandPath(), args)
		if err != nil {
			return err
		}
		c, err := f.Client()
		if err != nil {
			return err
		}
		for _, s := range sels {
			switch {
			case len(s.names) > 0 && selecting:
				return fmt.Errorf("name cannot be provided when a selector is specified")
			case len(s.names) > 0:
				for _, n := range s.names {
					targets = append(targets, deleteTarget{res: s.res, ns: namespaceFor(s.res, ns, false), name: n})
				}
			case !selecting:
				return fmt.Errorf("resource(s) were provided, but no name was specified")
			default:
				list, err := c.List(ctx, s.res, namespaceFor(s.res, ns, o.allNamespaces), ListOptions{LabelSelector: o.labelSelector, FieldSelector: o.fieldSelector})
				if err != nil {
					return err
				}
				for _, obj := range list.Items {
					targets = append(targets, deleteTarget{res: s.res, ns: obj.GetMetadata().GetNamespace(), name: obj.GetMetadata().GetName()})
				}
			}
		}
		if len(targets) == 0 && selecting {
			fmt.Fprintln(f.ErrOut, "No resources found")
			return nil
		}
	}
	if len(targets) == 0 {
		return errs.orNil()
	}

	c, err := f.Client()
	if err != nil {
		return err
	}
	type pending struct {
		t   deleteTarget
		uid string
	}
	var waits []pending
	for _, t := range targets {
		obj, finished, err := c.Delete(ctx, t.res, t.ns, t.name, opts)
		if err != nil {
			if errdefs.IsNotFound(err) && o.ignoreNotFound {
				continue
			}
			if t.source != "" {
				err = whenErr("deleting", t.source, err)
			}
			errs = append(errs, err)
			continue
		}
		if o.output == outputName {
			fmt.Fprintf(f.Out, "%s/%s\n", qualifiedKind(t.res), t.name)
		} else if o.force && grace == 0 {
			fmt.Fprintf(f.Out, "%s %q force deleted\n", qualifiedKind(t.res), t.name)
		} else {
			fmt.Fprintf(f.Out, "%s %q deleted\n", qualifiedKind(t.res), t.name)
		}
		if !finished && o.wait {
			uid := ""
			if obj != nil {
				uid = obj.GetMetadata().GetUid()
			}
			waits = append(waits, pending{t, uid})
		}
	}

	timeout := o.timeout
	if timeout <= 0 {
		timeout = defaultDeleteTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, w := range waits {
		if err := waitDeleted(wctx, f, c, w.t, w.uid); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	return errs.orNil()
}

// waitDeleted polls until the object is gone (or replaced by another of
// the same name, i.e. of another uid).
func waitDeleted(ctx context.Context, f *Factory, c Client, t deleteTarget, uid string) error {
	interval := 100 * time.Millisecond
	for {
		obj, err := c.Get(ctx, t.res, t.ns, t.name)
		switch {
		case errdefs.IsNotFound(err):
			return nil
		case err == nil && uid != "" && obj.GetMetadata().GetUid() != uid:
			return nil
		case err != nil && ctx.Err() == nil:
			return err
		}
		if ctx.Err() != nil || f.sleep(ctx, interval) != nil {
			return fmt.Errorf("timed out waiting for the condition on %s/%s", t.res.Name, t.name)
		}
		interval = min(interval*2, time.Second)
	}
}
