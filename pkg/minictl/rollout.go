package minictl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// Deployment annotations and labels rollout reads and writes, as kubectl.
const (
	rolloutRevisionAnnotation    = "deployment.kubernetes.io/revision"
	rolloutChangeCauseAnnotation = "kubernetes.io/change-cause"
	rolloutRestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"
	rolloutPodTemplateHashLabel  = "pod-template-hash"
	rolloutTimedOutReason        = "ProgressDeadlineExceeded"
)

// rolloutSkippedAnnotations are never copied from a ReplicaSet back into
// its Deployment by undo (kubectl's annotationsToSkip).
var rolloutSkippedAnnotations = map[string]bool{
	"kubectl.kubernetes.io/last-applied-configuration": true,
	rolloutRevisionAnnotation:                          true,
	"deployment.kubernetes.io/revision-history":        true,
	"deployment.kubernetes.io/desired-replicas":        true,
	"deployment.kubernetes.io/max-replicas":            true,
	"deprecated.deployment.rollback.to":                true,
}

func newRolloutCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout SUBCOMMAND",
		Short: "Manage the rollout of a resource",
		Long: "Manage the rollout of one or many resources.\n\n" +
			"Valid resource types include:\n\n  *  deployments",
		Example: "  # Rollback to the previous deployment\n" +
			"  minictl rollout undo deployment/abc\n\n" +
			"  # Check the rollout status of a deployment\n" +
			"  minictl rollout status deployment/abc",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRolloutStatusCommand(f), newRolloutHistoryCommand(f), newRolloutUndoCommand(f),
		newRolloutPauseCommand(f, true), newRolloutPauseCommand(f, false), newRolloutRestartCommand(f))
	return cmd
}

// deploymentArg reads "deployment/NAME" or "deployment NAME".
func deploymentArg(cmd *cobra.Command, args []string) (string, error) {
	var kind, name string
	switch {
	case len(args) == 1 && strings.Contains(args[0], "/"):
		kind, name, _ = strings.Cut(args[0], "/")
	case len(args) == 2 && !strings.Contains(args[0], "/"):
		kind, name = args[0], args[1]
	case len(args) == 0:
		return "", usageError(cmd, "Required resource not specified.")
	default:
		return "", usageError(cmd, "exactly one resource is supported: TYPE NAME or TYPE/NAME")
	}
	res, err := apis.Lookup(kind)
	if err != nil {
		return "", err
	}
	if res.Name != "deployments" {
		what := map[string]string{"status": "status viewer", "history": "history viewer", "undo": "rollbacker"}[cmd.Name()]
		if what == "" {
			what = cmd.Name() + " support"
		}
		kind := res.Kind
		if g := apiGroup(res); g != "" {
			kind += "." + g
		}
		return "", fmt.Errorf("no %s has been implemented for %q", what, kind)
	}
	if name == "" {
		return "", usageError(cmd, "arguments in resource/name form must have a single resource and name")
	}
	return name, nil
}

func deploymentsResource() *apis.Resource {
	r, _ := apis.Lookup("deployments")
	return r
}

func replicaSetsResource() *apis.Resource {
	r, _ := apis.Lookup("replicasets")
	return r
}

// getDeployment reads a Deployment.
func getDeployment(ctx context.Context, c Client, ns, name string) (*v1.Deployment, error) {
	obj, err := c.Get(ctx, deploymentsResource(), ns, name)
	if err != nil {
		return nil, err
	}
	d, ok := obj.(*v1.Deployment)
	if !ok {
		return nil, fmt.Errorf("the server sent a %T for a deployment", obj)
	}
	return d, nil
}

// ownedReplicaSets are the ReplicaSets the Deployment controls.
func ownedReplicaSets(ctx context.Context, c Client, d *v1.Deployment) ([]*v1.ReplicaSet, error) {
	list, err := c.List(ctx, replicaSetsResource(), d.GetMetadata().GetNamespace(), ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []*v1.ReplicaSet
	for _, o := range list.Items {
		rs, ok := o.(*v1.ReplicaSet)
		if !ok {
			continue
		}
		for _, ref := range rs.GetMetadata().GetOwnerReferences() {
			if ref.GetController() && ref.GetUid() == d.GetMetadata().GetUid() {
				out = append(out, rs)
				break
			}
		}
	}
	return out, nil
}

func revisionOf(obj apis.Object) (int64, bool) {
	n, err := strconv.ParseInt(obj.GetMetadata().GetAnnotations()[rolloutRevisionAnnotation], 10, 64)
	return n, err == nil
}

// equalTemplatesIgnoringHash compares pod templates without the
// pod-template-hash label.
func equalTemplatesIgnoringHash(a, b *v1.PodTemplateSpec) bool {
	a, b = proto.Clone(a).(*v1.PodTemplateSpec), proto.Clone(b).(*v1.PodTemplateSpec)
	for _, t := range []*v1.PodTemplateSpec{a, b} {
		if t.Metadata == nil {
			t.Metadata = &v1.ObjectMeta{}
		}
		delete(t.Metadata.Labels, rolloutPodTemplateHashLabel)
	}
	return proto.Equal(a, b)
}

// ---------------------------------------------------------------- status

type rolloutStatusOptions struct {
	watch    bool
	revision int64
	timeout  time.Duration
}

func newRolloutStatusCommand(f *Factory) *cobra.Command {
	o := &rolloutStatusOptions{}
	cmd := &cobra.Command{
		Use:   "status (TYPE NAME | TYPE/NAME) [flags]",
		Short: "Show the status of the rollout",
		Long: "Show the status of the rollout.\n\n" +
			"By default 'rollout status' will watch the status of the latest rollout until it's done. If you don't want to wait for the rollout to finish then you can use --watch=false.",
		Example: "  # Watch the rollout status of a deployment\n  minictl rollout status deployment/nginx",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := deploymentArg(cmd, args)
			if err != nil {
				return err
			}
			return runRolloutStatus(cmd.Context(), f, o, name)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.watch, "watch", "w", true, "Watch the status of the rollout until it's done.")
	fl.Int64Var(&o.revision, "revision", 0, "Pin to a specific revision for showing its status. Defaults to 0 (last revision).")
	fl.DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before ending watch, zero means never. Any other values should contain a corresponding time unit (e.g. 1s, 2m, 3h).")
	return cmd
}

// DeploymentRolloutStatus is kubectl's status viewer: the message to
// print and whether the rollout is done.
func DeploymentRolloutStatus(d *v1.Deployment, revision int64) (string, bool, error) {
	name := d.GetMetadata().GetName()
	if revision > 0 {
		cur, ok := revisionOf(d)
		if !ok {
			return "", false, fmt.Errorf("cannot get the revision of deployment %q", name)
		}
		if cur != revision {
			return "", false, fmt.Errorf("desired revision (%d) is different from the running revision (%d)", revision, cur)
		}
	}
	st := d.GetStatus()
	if d.GetMetadata().GetGeneration() > st.GetObservedGeneration() {
		return "Waiting for deployment spec update to be observed...\n", false, nil
	}
	for _, c := range st.GetConditions() {
		if c.GetType() == "Progressing" && c.GetReason() == rolloutTimedOutReason {
			return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", name)
		}
	}
	replicas := int32(1)
	if r := d.GetSpec().Replicas; r != nil {
		replicas = *r
	}
	switch {
	case st.GetUpdatedReplicas() < replicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", name, st.GetUpdatedReplicas(), replicas), false, nil
	case st.GetReplicas() > st.GetUpdatedReplicas():
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", name, st.GetReplicas()-st.GetUpdatedReplicas()), false, nil
	case st.GetAvailableReplicas() < st.GetUpdatedReplicas():
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", name, st.GetAvailableReplicas(), st.GetUpdatedReplicas()), false, nil
	}
	return fmt.Sprintf("deployment %q successfully rolled out\n", name), true, nil
}

func runRolloutStatus(ctx context.Context, f *Factory, o *rolloutStatusOptions, name string) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	ns, _ := f.Namespace()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	last := ""
	show := func(d *v1.Deployment) (bool, error) {
		msg, done, err := DeploymentRolloutStatus(d, o.revision)
		if err != nil {
			return false, err
		}
		if msg != last {
			if _, err := io.WriteString(f.Out, msg); err != nil {
				return false, err
			}
			last = msg
		}
		return done, nil
	}
	timedOut := func(err error) error {
		if errors.Is(err, context.DeadlineExceeded) || (ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)) {
			return fmt.Errorf("timed out waiting for the condition")
		}
		return err
	}
	for {
		d, err := getDeployment(ctx, c, ns, name)
		if err != nil {
			return timedOut(err)
		}
		done, err := show(d)
		if err != nil || done || !o.watch {
			return err
		}
		err = watchDeployment(ctx, c, ns, name, d.GetMetadata().GetResourceVersion(), show)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errRolloutDeleted):
			return err
		case ctx.Err() != nil:
			return timedOut(ctx.Err())
		case errdefs.IsExpired(err), errors.Is(err, io.EOF):
			continue // read it again and watch from there
		default:
			return timedOut(err)
		}
	}
}

var errRolloutDeleted = errors.New("object has been deleted")

// watchDeployment calls show on every change of the Deployment after rv
// until it says done (nil) or the stream fails.
func watchDeployment(ctx context.Context, c Client, ns, name, rv string, show func(*v1.Deployment) (bool, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := c.Watch(ctx, deploymentsResource(), ns, ListOptions{FieldSelector: "metadata.name=" + name, ResourceVersion: rv})
	if err != nil {
		return err
	}
	defer w.Close()
	for {
		ev, err := w.Recv()
		if err != nil {
			return err
		}
		switch ev.Type {
		case EventDeleted:
			return errRolloutDeleted
		case EventAdded, EventModified:
			d, ok := ev.Object.(*v1.Deployment)
			if !ok || d.GetMetadata().GetName() != name {
				continue
			}
			done, err := show(d)
			if err != nil || done {
				return err
			}
		}
	}
}

// ---------------------------------------------------------------- history

func newRolloutHistoryCommand(f *Factory) *cobra.Command {
	var revision int64
	cmd := &cobra.Command{
		Use:     "history (TYPE NAME | TYPE/NAME) [flags]",
		Short:   "View rollout history",
		Long:    "View previous rollout revisions and configurations.",
		Example: "  # View the rollout history of a deployment\n  minictl rollout history deployment/abc\n\n  # View the details of deployment revision 3\n  minictl rollout history deployment/abc --revision=3",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := deploymentArg(cmd, args)
			if err != nil {
				return err
			}
			return runRolloutHistory(cmd.Context(), f, name, revision)
		},
	}
	cmd.Flags().Int64Var(&revision, "revision", 0, "See the details, including podTemplate of the revision specified")
	return cmd
}

func runRolloutHistory(ctx context.Context, f *Factory, name string, revision int64) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	ns, _ := f.Namespace()
	d, err := getDeployment(ctx, c, ns, name)
	if err != nil {
		return err
	}
	rss, err := ownedReplicaSets(ctx, c, d)
	if err != nil {
		return err
	}
	history := map[int64]*v1.ReplicaSet{}
	for _, rs := range rss {
		if v, ok := revisionOf(rs); ok {
			history[v] = rs
		}
	}
	id := "deployment.apps/" + name
	if revision > 0 {
		rs, ok := history[revision]
		if !ok {
			return fmt.Errorf("unable to find the specified revision")
		}
		fmt.Fprintf(f.Out, "%s with revision #%d\n", id, revision)
		printPodTemplate(f.Out, rs.GetSpec().GetTemplate())
		return nil
	}
	if len(history) == 0 {
		fmt.Fprintf(f.Out, "%s\nNo rollout history found.\n", id)
		return nil
	}
	revs := make([]int64, 0, len(history))
	for v := range history {
		revs = append(revs, v)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	fmt.Fprintf(f.Out, "%s\n", id)
	tw := tabwriter.NewWriter(f.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "REVISION\tCHANGE-CAUSE")
	for _, v := range revs {
		cause := history[v].GetMetadata().GetAnnotations()[rolloutChangeCauseAnnotation]
		if cause == "" {
			cause = "<none>"
		}
		fmt.Fprintf(tw, "%d\t%s\n", v, cause)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(f.Out)
	return err
}

// printPodTemplate prints a pod template as kubectl describes one.
func printPodTemplate(w io.Writer, t *v1.PodTemplateSpec) {
	fmt.Fprintln(w, "Pod Template:")
	printMapLines(w, "  Labels:", t.GetMetadata().GetLabels())
	if len(t.GetMetadata().GetAnnotations()) > 0 {
		printMapLines(w, "  Annotations:", t.GetMetadata().GetAnnotations())
	}
	fmt.Fprintln(w, "  Containers:")
	for _, ctr := range t.GetSpec().GetContainers() {
		fmt.Fprintf(w, "   %s:\n", ctr.GetName())
		fmt.Fprintf(w, "    Image:\t%s\n", ctr.GetImage())
		if len(ctr.GetPorts()) == 0 {
			fmt.Fprintln(w, "    Port:\t<none>")
		}
		for _, p := range ctr.GetPorts() {
			proto := p.GetProtocol()
			if proto == "" {
				proto = "TCP"
			}
			fmt.Fprintf(w, "    Port:\t%d/%s\n", p.GetContainerPort(), proto)
		}
		if len(ctr.GetCommand()) > 0 {
			fmt.Fprintf(w, "    Command:\t%s\n", strings.Join(ctr.GetCommand(), " "))
		}
		if len(ctr.GetArgs()) > 0 {
			fmt.Fprintf(w, "    Args:\t%s\n", strings.Join(ctr.GetArgs(), " "))
		}
		if len(ctr.GetEnv()) == 0 {
			fmt.Fprintln(w, "    Environment:\t<none>")
		} else {
			fmt.Fprintln(w, "    Environment:")
			for _, e := range ctr.GetEnv() {
				fmt.Fprintf(w, "      %s:\t%s\n", e.GetName(), e.GetValue())
			}
		}
		if len(ctr.GetVolumeMounts()) == 0 {
			fmt.Fprintln(w, "    Mounts:\t<none>")
		} else {
			fmt.Fprintln(w, "    Mounts:")
			for _, m := range ctr.GetVolumeMounts() {
				fmt.Fprintf(w, "      %s from %s\n", m.GetMountPath(), m.GetName())
			}
		}
	}
	if len(t.GetSpec().GetVolumes()) == 0 {
		fmt.Fprintln(w, "  Volumes:\t<none>")
	} else {
		fmt.Fprintln(w, "  Volumes:")
		for _, v := range t.GetSpec().GetVolumes() {
			fmt.Fprintf(w, "   %s\n", v.GetName())
		}
	}
	fmt.Fprintln(w)
}

func printMapLines(w io.Writer, title string, m map[string]string) {
	if len(m) == 0 {
		fmt.Fprintf(w, "%s\t<none>\n", title)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			fmt.Fprintf(w, "%s\t%s=%s\n", title, k, m[k])
			continue
		}
		fmt.Fprintf(w, "\t%s=%s\n", k, m[k])
	}
}

// ---------------------------------------------------------------- undo

func newRolloutUndoCommand(f *Factory) *cobra.Command {
	var toRevision int64
	cmd := &cobra.Command{
		Use:     "undo (TYPE NAME | TYPE/NAME) [flags]",
		Short:   "Undo a previous rollout",
		Long:    "Roll back to a previous rollout.",
		Example: "  # Roll back to the previous deployment\n  minictl rollout undo deployment/abc\n\n  # Roll back to deployment revision 3\n  minictl rollout undo deployment/abc --to-revision=3",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := deploymentArg(cmd, args)
			if err != nil {
				return err
			}
			return runRolloutUndo(cmd.Context(), f, name, toRevision)
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	return cmd
}

// rollbackTarget is kubectl's deploymentRevision: the ReplicaSet of
// toRevision, or of the revision before the latest when it is 0.
func rollbackTarget(d *v1.Deployment, rss []*v1.ReplicaSet, toRevision int64) (*v1.ReplicaSet, error) {
	if toRevision < 0 {
		return nil, fmt.Errorf("unable to find specified revision %d in history", toRevision)
	}
	var latest, previous *v1.ReplicaSet
	latestRev, previousRev := int64(-1), int64(-1)
	for _, rs := range rss {
		v, ok := revisionOf(rs)
		if !ok {
			continue
		}
		if toRevision > 0 {
			if v == toRevision {
				return rs, nil
			}
			continue
		}
		switch {
		case v > latestRev:
			previous, previousRev = latest, latestRev
			latest, latestRev = rs, v
		case v > previousRev:
			previous, previousRev = rs, v
		}
	}
	if toRevision > 0 {
		return nil, fmt.Errorf("unable to find specified revision %d in history", toRevision)
	}
	if previous == nil {
		return nil, fmt.Errorf("no rollout history found for deployment %q", d.GetMetadata().GetName())
	}
	return previous, nil
}

func runRolloutUndo(ctx context.Context, f *Factory, name string, toRevision int64) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	ns, _ := f.Namespace()
	for attempt := 0; ; attempt++ {
		d, err := getDeployment(ctx, c, ns, name)
		if err != nil {
			return err
		}
		rss, err := ownedReplicaSets(ctx, c, d)
		if err != nil {
			return err
		}
		rs, err := rollbackTarget(d, rss, toRevision)
		if err != nil {
			return err
		}
		if d.GetSpec().GetPaused() {
			return fmt.Errorf("you cannot rollback a paused deployment; resume it first with 'minictl rollout resume deployment/%s' and try again", name)
		}
		rev, _ := revisionOf(rs)
		if equalTemplatesIgnoringHash(rs.GetSpec().GetTemplate(), d.GetSpec().GetTemplate()) {
			fmt.Fprintf(f.Out, "deployment.apps/%s skipped rollback (current template already matches revision %d)\n", name, rev)
			return nil
		}
		next := proto.Clone(d).(*v1.Deployment)
		template := proto.Clone(rs.GetSpec().GetTemplate()).(*v1.PodTemplateSpec)
		if template.Metadata != nil {
			delete(template.Metadata.Labels, rolloutPodTemplateHashLabel)
		}
		next.Spec.Template = template
		// The annotations: the Deployment's own bookkeeping, plus the
		// ReplicaSet's (its change-cause).
		annotations := map[string]string{}
		for k, v := range d.GetMetadata().GetAnnotations() {
			if rolloutSkippedAnnotations[k] {
				annotations[k] = v
			}
		}
		for k, v := range rs.GetMetadata().GetAnnotations() {
			if !rolloutSkippedAnnotations[k] {
				annotations[k] = v
			}
		}
		next.Metadata.Annotations = annotations
		_, err = c.Update(ctx, deploymentsResource(), next)
		if errdefs.IsConflict(err) && attempt < 4 {
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(f.Out, "deployment.apps/%s rolled back\n", name)
		return nil
	}
}

// ---------------------------------------------------------------- pause, resume, restart

// updateDeployment applies change to the Deployment and writes it,
// redoing the read-modify-write on a conflict. change returns false when
// there is nothing to write.
func updateDeployment(ctx context.Context, c Client, ns, name string, change func(d *v1.Deployment) (bool, error)) error {
	for attempt := 0; ; attempt++ {
		d, err := getDeployment(ctx, c, ns, name)
		if err != nil {
			return err
		}
		next := proto.Clone(d).(*v1.Deployment)
		if next.Spec == nil {
			next.Spec = &v1.DeploymentSpec{}
		}
		write, err := change(next)
		if err != nil || !write {
			return err
		}
		_, err = c.Update(ctx, deploymentsResource(), next)
		if errdefs.IsConflict(err) && attempt < 4 {
			continue
		}
		return err
	}
}

func newRolloutPauseCommand(f *Factory, pause bool) *cobra.Command {
	verb, past, short := "resume", "resumed", "Resume a paused resource"
	if pause {
		verb, past, short = "pause", "paused", "Mark the provided resource as paused"
	}
	return &cobra.Command{
		Use:     verb + " RESOURCE",
		Short:   short,
		Example: fmt.Sprintf("  # %s the nginx deployment\n  minictl rollout %s deployment/nginx", strings.ToUpper(verb[:1])+verb[1:], verb),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := deploymentArg(cmd, args)
			if err != nil {
				return err
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			ns, _ := f.Namespace()
			err = updateDeployment(cmd.Context(), c, ns, name, func(d *v1.Deployment) (bool, error) {
				switch {
				case pause && d.Spec.Paused:
					return false, fmt.Errorf("deployments.apps %q is already paused", name)
				case !pause && !d.Spec.Paused:
					return false, fmt.Errorf("deployments.apps %q is not paused", name)
				}
				d.Spec.Paused = pause
				return true, nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(f.Out, "deployment.apps/%s %s\n", name, past)
			return nil
		},
	}
}

func newRolloutRestartCommand(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "restart RESOURCE",
		Short:   "Restart a resource",
		Long:    "Restart a resource.\n\n     Resource rollout will be restarted.",
		Example: "  # Restart the test-deployment deployment\n  minictl rollout restart deployment/test-deployment",
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := deploymentArg(cmd, args)
			if err != nil {
				return err
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			ns, _ := f.Namespace()
			now := f.now().Format(time.RFC3339)
			err = updateDeployment(cmd.Context(), c, ns, name, func(d *v1.Deployment) (bool, error) {
				if d.Spec.GetPaused() {
					return false, fmt.Errorf("can't restart paused deployment (run rollout resume first)")
				}
				if d.Spec.Template == nil {
					d.Spec.Template = &v1.PodTemplateSpec{}
				}
				if d.Spec.Template.Metadata == nil {
					d.Spec.Template.Metadata = &v1.ObjectMeta{}
				}
				md := d.Spec.Template.Metadata
				if md.Annotations == nil {
					md.Annotations = map[string]string{}
				}
				md.Annotations[rolloutRestartedAtAnnotation] = now
				return true, nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(f.Out, "deployment.apps/%s restarted\n", name)
			return nil
		},
	}
}
