package minictl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

func newDescribeCommand(f *Factory) *cobra.Command {
	var selector string
	var allNamespaces, showEvents bool
	cmd := &cobra.Command{
		Use:   "describe (-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME)",
		Short: "Show details of a specific resource or group of resources",
		Long: "Show details of a specific resource or group of resources.\n\n" +
			"Print a detailed description of the selected resources, including related resources such as events.\n" +
			"A NAME_PREFIX describes every resource whose name starts with it when none has exactly that name.",
		Example: "  # Describe a node\n" +
			"  minictl describe nodes node-1\n\n" +
			"  # Describe a pod\n" +
			"  minictl describe pods/web\n\n" +
			"  # Describe all pods managed by the 'frontend' replica set\n" +
			"  minictl describe pods frontend",
		RunE: func(cmd *cobra.Command, args []string) error {
			sels, err := parseResourceArgs(cmd.CommandPath(), args)
			if err != nil {
				return err
			}
			if len(sels) == 0 {
				fmt.Fprintf(f.ErrOut, "You must specify the type of resource to describe. Use \"%s api-resources\" for a complete list of supported resources.\n\n", cmd.Root().Name())
				return usageError(cmd, "Required resource not specified.")
			}
			return runDescribe(cmd.Context(), f, sels, selector, allNamespaces, showEvents)
		},
	}
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2). Matching objects must satisfy all of the specified label constraints.")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	cmd.Flags().BoolVar(&showEvents, "show-events", true, "If true, display events related to the described object.")
	return cmd
}

func runDescribe(ctx context.Context, f *Factory, sels []selection, selector string, all, showEvents bool) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	ns, _ := f.Namespace()
	var errs errorList
	first := true
	for _, s := range sels {
		var objs []apis.Object
		if len(s.names) == 0 {
			list, err := c.List(ctx, s.res, namespaceFor(s.res, ns, all), ListOptions{LabelSelector: selector})
			if err != nil {
				return err
			}
			objs = list.Items
			if len(objs) == 0 {
				fmt.Fprintln(f.ErrOut, noResourcesFound([]*getTarget{{res: s.res}}, ns, all))
			}
		}
		for _, name := range s.names {
			found, err := describeLookup(ctx, c, s.res, namespaceFor(s.res, ns, false), name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			objs = append(objs, found...)
		}
		for _, obj := range objs {
			d := &describer{c: c, now: f.now(), showEvents: showEvents}
			text, err := d.describe(ctx, s.res, obj)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !first {
				fmt.Fprint(f.Out, "\n\n")
			}
			first = false
			fmt.Fprint(f.Out, text)
		}
	}
	return errs.orNil()
}

// describeLookup finds the object name, or, when there is none, every
// object whose name starts with name (kubectl's NAME_PREFIX).
func describeLookup(ctx context.Context, c Client, res *apis.Resource, ns, name string) ([]apis.Object, error) {
	obj, err := c.Get(ctx, res, ns, name)
	if err == nil {
		return []apis.Object{obj}, nil
	}
	if !errdefs.IsNotFound(err) {
		return nil, err
	}
	list, lerr := c.List(ctx, res, ns, ListOptions{})
	if lerr != nil {
		return nil, err
	}
	var out []apis.Object
	for _, o := range list.Items {
		if strings.HasPrefix(o.GetMetadata().GetName(), name) {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil, err
	}
	return out, nil
}

// Indentation levels of describe output, two spaces each.
const (
	level0 = iota
	level1
	level2
	level3
)

// prefixWriter writes describe output: lines indented by level, aligned
// on tabs by a tabwriter laid out as kubectl's (tab width 8, padding 2).
type prefixWriter struct {
	tw  *tabwriter.Writer
	loc *time.Location
}

func newPrefixWriter(out io.Writer, loc *time.Location) *prefixWriter {
	return &prefixWriter{tw: tabwriter.NewWriter(out, 0, 8, 2, ' ', 0), loc: loc}
}

func (w *prefixWriter) Write(level int, format string, args ...any) {
	fmt.Fprintf(w.tw, strings.Repeat("  ", level)+format, args...)
}

func (w *prefixWriter) Line(s string) { fmt.Fprintln(w.tw, s) }

func (w *prefixWriter) Flush() { _ = w.tw.Flush() }

// describer describes one object.
type describer struct {
	c          Client
	now        time.Time
	showEvents bool
}

func (d *describer) describe(ctx context.Context, res *apis.Resource, obj apis.Object) (string, error) {
	var events []*v1.Event
	if d.showEvents {
		events = d.events(ctx, res, obj)
	}
	var buf bytes.Buffer
	w := newPrefixWriter(&buf, d.now.Location())
	switch o := obj.(type) {
	case *v1.Pod:
		d.describePod(w, o)
	case *v1.Node:
		d.describeNode(ctx, w, o)
	case *v1.Deployment:
		d.describeDeployment(ctx, w, o)
	case *v1.ReplicaSet:
		d.describeReplicaSet(ctx, w, o)
	default:
		if err := d.describeGeneric(w, res, obj); err != nil {
			return "", err
		}
	}
	if d.showEvents {
		d.describeEvents(w, events)
	}
	w.Flush()
	return buf.String(), nil
}

// events lists the events about obj: by field selector on the involved
// object, filtered again here in case the server ignores a field.
func (d *describer) events(ctx context.Context, res *apis.Resource, obj apis.Object) []*v1.Event {
	evRes, err := apis.Lookup("events")
	if err != nil {
		return nil
	}
	md := obj.GetMetadata()
	sel := "involvedObject.name=" + md.GetName()
	if md.GetNamespace() != "" {
		sel += ",involvedObject.namespace=" + md.GetNamespace()
	}
	list, err := d.c.List(ctx, evRes, md.GetNamespace(), ListOptions{FieldSelector: sel})
	if err != nil {
		// A server that does not index events by involved object: list
		// the namespace's events and filter them here.
		if list, err = d.c.List(ctx, evRes, md.GetNamespace(), ListOptions{}); err != nil {
			return nil
		}
	}
	var out []*v1.Event
	for _, item := range list.Items {
		e, ok := item.(*v1.Event)
		if !ok {
			continue
		}
		ref := e.GetInvolvedObject()
		if ref.GetName() != md.GetName() || (md.GetNamespace() != "" && ref.GetNamespace() != "" && ref.GetNamespace() != md.GetNamespace()) {
			continue
		}
		if ref.GetKind() != "" && ref.GetKind() != res.Kind {
			continue
		}
		if ref.GetUid() != "" && md.GetUid() != "" && ref.GetUid() != md.GetUid() {
			continue
		}
		out = append(out, e)
	}
	return out
}

func (d *describer) describeEvents(w *prefixWriter, events []*v1.Event) {
	if len(events) == 0 {
		w.Write(level0, "Events:\t<none>\n")
		return
	}
	w.Flush()
	sort.SliceStable(events, func(i, j int) bool {
		return eventTime(events[i]).Before(eventTime(events[j]))
	})
	w.Write(level0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
	w.Write(level1, "----\t------\t----\t----\t-------\n")
	for _, e := range events {
		first := eventFirstSeen(e, d.now)
		interval := first
		if e.GetCount() > 1 {
			interval = fmt.Sprintf("%s (x%d over %s)", since(d.now, e.GetLastTimestamp()), e.GetCount(), first)
		}
		source := e.GetSource().GetComponent()
		if source == "" {
			source = e.GetReportingComponent()
		}
		w.Write(level1, "%v\t%v\t%s\t%v\t%v\n", e.GetType(), e.GetReason(), interval, source, strings.TrimSpace(e.GetMessage()))
	}
}

// eventTime orders events: last seen, else first seen, else created.
func eventTime(e *v1.Event) time.Time {
	for _, t := range []*timestamppb.Timestamp{e.GetLastTimestamp(), e.GetFirstTimestamp(), e.GetMetadata().GetCreationTimestamp()} {
		if isSet(t) {
			return t.AsTime()
		}
	}
	return time.Time{}
}

// time prints a timestamp as kubectl's describe does, in the zone of the
// clock.
func (w *prefixWriter) time(t *timestamppb.Timestamp) string {
	return t.AsTime().In(w.loc).Format(time.RFC1123Z)
}

func (d *describer) describePod(w *prefixWriter, pod *v1.Pod) {
	md, spec, st := pod.GetMetadata(), pod.GetSpec(), pod.GetStatus()
	w.Write(level0, "Name:\t%s\n", md.GetName())
	w.Write(level0, "Namespace:\t%s\n", md.GetNamespace())
	w.Write(level0, "Priority:\t%d\n", spec.GetPriority())
	if spec.GetPriorityClassName() != "" {
		w.Write(level0, "Priority Class Name:\t%s\n", spec.GetPriorityClassName())
	}
	if spec.GetServiceAccountName() != "" {
		w.Write(level0, "Service Account:\t%s\n", spec.GetServiceAccountName())
	}
	if spec.GetNodeName() == "" {
		w.Write(level0, "Node:\t<none>\n")
	} else {
		w.Write(level0, "Node:\t%s\n", spec.GetNodeName()+"/"+st.GetHostIp())
	}
	if isSet(st.GetStartTime()) {
		w.Write(level0, "Start Time:\t%s\n", w.time(st.GetStartTime()))
	}
	printLabelsMultiline(w, "Labels", md.GetLabels())
	printAnnotationsMultiline(w, "Annotations", md.GetAnnotations())
	if md.GetDeletionTimestamp() != nil && st.GetPhase() != "Failed" && st.GetPhase() != "Succeeded" {
		w.Write(level0, "Status:\tTerminating (lasts %s)\n", since(d.now, md.GetDeletionTimestamp()))
		w.Write(level0, "Termination Grace Period:\t%ds\n", md.GetDeletionGracePeriodSeconds())
	} else {
		w.Write(level0, "Status:\t%s\n", st.GetPhase())
	}
	if st.GetReason() != "" {
		w.Write(level0, "Reason:\t%s\n", st.GetReason())
	}
	if st.GetMessage() != "" {
		w.Write(level0, "Message:\t%s\n", st.GetMessage())
	}
	w.Write(level0, "IP:\t%s\n", st.GetPodIp())
	if st.GetPodIp() == "" {
		w.Write(level0, "IPs:\t<none>\n")
	} else {
		w.Write(level0, "IPs:\n")
		w.Write(level1, "IP:\t%s\n", st.GetPodIp())
	}
	if ref := controllerOf(md); ref != nil {
		w.Write(level0, "Controlled By:\t%s/%s\n", ref.GetKind(), ref.GetName())
	}
	if len(spec.GetInitContainers()) > 0 {
		describeContainers(w, "Init Containers", spec.GetInitContainers(), st.GetInitContainerStatuses(), "")
	}
	describeContainers(w, "Containers", spec.GetContainers(), st.GetContainerStatuses(), "")
	if len(st.GetConditions()) > 0 {
		w.Write(level0, "Conditions:\n  Type\tStatus\n")
		for _, c := range st.GetConditions() {
			w.Write(level1, "%v \t%v \n", c.GetType(), c.GetStatus())
		}
	}
	describeVolumes(w, spec.GetVolumes(), "")
	w.Write(level0, "QoS Class:\t%s\n", qosClass(pod))
	printLabelsMultiline(w, "Node-Selectors", spec.GetNodeSelector())
	printTolerationsMultiline(w, "Tolerations", spec.GetTolerations())
}

func controllerOf(md *v1.ObjectMeta) *v1.OwnerReference {
	for _, r := range md.GetOwnerReferences() {
		if r.GetController() {
			return r
		}
	}
	return nil
}

func describeContainers(w *prefixWriter, label string, containers []*v1.Container, statuses []*v1.ContainerStatus, space string) {
	byName := map[string]*v1.ContainerStatus{}
	for _, s := range statuses {
		byName[s.GetName()] = s
	}
	none := ""
	if len(containers) == 0 {
		none = " <none>"
	}
	w.Write(level0, "%s%s:%s\n", space, label, none)
	for _, c := range containers {
		status, ok := byName[c.GetName()]
		nameIndent := ""
		if space != "" {
			nameIndent = " "
		}
		w.Write(level1, "%s%v:\n", nameIndent, c.GetName())
		if ok {
			w.Write(level2, "Container ID:\t%s\n", status.GetContainerId())
		}
		w.Write(level2, "Image:\t%s\n", c.GetImage())
		if ok {
			w.Write(level2, "Image ID:\t%s\n", status.GetImageId())
		}
		var ports, hostPorts []string
		for _, p := range c.GetPorts() {
			ports = append(ports, fmt.Sprintf("%d/%s", p.GetContainerPort(), p.GetProtocol()))
			hostPorts = append(hostPorts, fmt.Sprintf("%d/%s", p.GetHostPort(), p.GetProtocol()))
		}
		if len(ports) > 1 {
			w.Write(level2, "Ports:\t%s\n", strings.Join(ports, ", "))
			w.Write(level2, "Host Ports:\t%s\n", strings.Join(hostPorts, ", "))
		} else {
			w.Write(level2, "Port:\t%s\n", orNone(strings.Join(ports, ", ")))
			w.Write(level2, "Host Port:\t%s\n", orNone(strings.Join(hostPorts, ", ")))
		}
		if len(c.GetCommand()) > 0 {
			w.Write(level2, "Command:\n")
			for _, s := range c.GetCommand() {
				for _, line := range strings.Split(s, "\n") {
					w.Write(level3, "%s\n", line)
				}
			}
		}
		if len(c.GetArgs()) > 0 {
			w.Write(level2, "Args:\n")
			for _, s := range c.GetArgs() {
				for _, line := range strings.Split(s, "\n") {
					w.Write(level3, "%s\n", line)
				}
			}
		}
		if ok {
			describeState(w, "State", status.GetState())
			if status.GetLastState().GetTerminated() != nil {
				describeState(w, "Last State", status.GetLastState())
			}
			w.Write(level2, "Ready:\t%v\n", printBool(status.GetReady()))
			w.Write(level2, "Restart Count:\t%d\n", status.GetRestartCount())
		}
		describeResources(w, c.GetResources(), level2)
		if p := c.GetLivenessProbe(); p != nil {
			w.Write(level2, "Liveness:\t%s\n", describeProbe(p))
		}
		if p := c.GetReadinessProbe(); p != nil {
			w.Write(level2, "Readiness:\t%s\n", describeProbe(p))
		}
		if p := c.GetStartupProbe(); p != nil {
			w.Write(level2, "Startup:\t%s\n", describeProbe(p))
		}
		if len(c.GetEnv()) == 0 {
			w.Write(level2, "Environment:\t<none>\n")
		} else {
			w.Write(level2, "Environment:\n")
			for _, e := range c.GetEnv() {
				for i, s := range strings.Split(e.GetValue(), "\n") {
					if i == 0 {
						w.Write(level3, "%s:\t%s\n", e.GetName(), s)
					} else {
						w.Write(level3, "\t%s\n", s)
					}
				}
			}
		}
		mounts := append([]*v1.VolumeMount(nil), c.GetVolumeMounts()...)
		if len(mounts) == 0 {
			w.Write(level2, "Mounts:\t<none>\n")
		} else {
			w.Write(level2, "Mounts:\n")
			sort.SliceStable(mounts, func(i, j int) bool { return mounts[i].GetMountPath() < mounts[j].GetMountPath() })
			for _, m := range mounts {
				flags := []string{"rw"}
				if m.GetReadOnly() {
					flags = []string{"ro"}
				}
				if m.GetSubPath() != "" {
					flags = append(flags, fmt.Sprintf("path=%q", m.GetSubPath()))
				}
				w.Write(level3, "%s from %s (%s)\n", m.GetMountPath(), m.GetName(), strings.Join(flags, ","))
			}
		}
	}
}

func describeState(w *prefixWriter, name string, s *v1.ContainerState) {
	switch {
	case s.GetRunning() != nil:
		w.Write(level2, "%s:\tRunning\n", name)
		w.Write(level3, "Started:\t%v\n", w.time(s.GetRunning().GetStartedAt()))
	case s.GetWaiting() != nil:
		w.Write(level2, "%s:\tWaiting\n", name)
		if r := s.GetWaiting().GetReason(); r != "" {
			w.Write(level3, "Reason:\t%s\n", r)
		}
	case s.GetTerminated() != nil:
		t := s.GetTerminated()
		w.Write(level2, "%s:\tTerminated\n", name)
		if t.GetReason() != "" {
			w.Write(level3, "Reason:\t%s\n", t.GetReason())
		}
		if t.GetMessage() != "" {
			w.Write(level3, "Message:\t%s\n", t.GetMessage())
		}
		w.Write(level3, "Exit Code:\t%d\n", t.GetExitCode())
		if t.GetSignal() > 0 {
			w.Write(level3, "Signal:\t%d\n", t.GetSignal())
		}
		w.Write(level3, "Started:\t%s\n", w.time(t.GetStartedAt()))
		w.Write(level3, "Finished:\t%s\n", w.time(t.GetFinishedAt()))
	default:
		w.Write(level2, "%s:\tWaiting\n", name)
	}
}

func describeResources(w *prefixWriter, r *v1.ResourceRequirements, level int) {
	if len(r.GetLimits()) > 0 {
		w.Write(level, "Limits:\n")
	}
	for _, k := range sortedResourceNames(r.GetLimits()) {
		w.Write(level+1, "%s:\t%s\n", k, r.GetLimits()[k])
	}
	if len(r.GetRequests()) > 0 {
		w.Write(level, "Requests:\n")
	}
	for _, k := range sortedResourceNames(r.GetRequests()) {
		w.Write(level+1, "%s:\t%s\n", k, r.GetRequests()[k])
	}
}

// sortedResourceNames orders resource names alphabetically, as kubectl's
// SortedResourceNames does.
func sortedResourceNames(m map[string]string) []string { return sortedKeys(m) }

func describeProbe(p *v1.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds #success=%d #failure=%d", p.GetInitialDelaySeconds(), p.GetTimeoutSeconds(), p.GetPeriodSeconds(), p.GetSuccessThreshold(), p.GetFailureThreshold())
	switch {
	case p.GetExec() != nil:
		return fmt.Sprintf("exec %v %s", p.GetExec().GetCommand(), attrs)
	case p.GetHttpGet() != nil:
		h := p.GetHttpGet()
		host := h.GetHost()
		if h.GetPort() != "" {
			host = net.JoinHostPort(h.GetHost(), h.GetPort())
		}
		return fmt.Sprintf("http-get %s://%s%s %s", strings.ToLower(orDefault(h.GetScheme(), "HTTP")), host, h.GetPath(), attrs)
	case p.GetTcpSocket() != nil:
		return fmt.Sprintf("tcp-socket %s:%s %s", p.GetTcpSocket().GetHost(), p.GetTcpSocket().GetPort(), attrs)
	}
	return "unknown " + attrs
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func printBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func describeVolumes(w *prefixWriter, volumes []*v1.Volume, space string) {
	if len(volumes) == 0 {
		w.Write(level0, "%sVolumes:\t<none>\n", space)
		return
	}
	w.Write(level0, "%sVolumes:\n", space)
	for _, v := range volumes {
		nameIndent := ""
		if space != "" {
			nameIndent = " "
		}
		w.Write(level1, "%s%v:\n", nameIndent, v.GetName())
		switch {
		case v.GetHostPath() != nil:
			w.Write(level2, "Type:\tHostPath (bare host directory volume)\n"+
				"    Path:\t%v\n"+
				"    HostPathType:\t%v\n", v.GetHostPath().GetPath(), v.GetHostPath().GetType())
		case v.GetEmptyDir() != nil:
			size := v.GetEmptyDir().GetSizeLimit()
			if size == "" || size == "0" {
				size = "<unset>"
			}
			w.Write(level2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"+
				"    Medium:\t%v\n"+
				"    SizeLimit:\t%v\n", v.GetEmptyDir().GetMedium(), size)
		case v.GetConfigMap() != nil:
			w.Write(level2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"+
				"    Name:\t%v\n"+
				"    Optional:\t%v\n", v.GetConfigMap().GetName(), v.GetConfigMap().GetOptional())
		default:
			w.Write(level1, "<unknown>\n")
		}
	}
}

// qosClass is the pod's QoS class as the server reported it, else as
// Kubernetes computes it from requests and limits.
func qosClass(pod *v1.Pod) string {
	if q := pod.GetStatus().GetQosClass(); q != "" {
		return q
	}
	any, guaranteed := false, true
	for _, c := range pod.GetSpec().GetContainers() {
		req, lim := c.GetResources().GetRequests(), c.GetResources().GetLimits()
		for _, r := range []string{"cpu", "memory"} {
			l, hasL := lim[r]
			q, hasR := req[r]
			if hasL || hasR {
				any = true
			}
			if !hasL || (hasR && q != l) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return "BestEffort"
	case guaranteed:
		return "Guaranteed"
	}
	return "Burstable"
}

func printLabelsMultiline(w *prefixWriter, title string, labels map[string]string) {
	w.Write(level0, "%s:\t", title)
	if len(labels) == 0 {
		w.Line("<none>")
		return
	}
	for i, k := range sortedKeys(labels) {
		if i != 0 {
			w.Write(level0, "\t")
		}
		w.Write(level0, "%s=%s\n", k, labels[k])
	}
}

// maxAnnotationLen is where describe folds a long annotation.
const maxAnnotationLen = 140

func printAnnotationsMultiline(w *prefixWriter, title string, annotations map[string]string) {
	w.Write(level0, "%s:\t", title)
	var keys []string
	for _, k := range sortedKeys(annotations) {
		if k != LastAppliedAnnotation {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		w.Line("<none>")
		return
	}
	for i, k := range keys {
		if i != 0 {
			w.Write(level0, "\t")
		}
		value := strings.TrimSuffix(annotations[k], "\n")
		if len(value)+len(k)+2 > maxAnnotationLen || strings.Contains(value, "\n") {
			w.Write(level0, "%s:\n", k)
			for _, s := range strings.Split(value, "\n") {
				if len(s) > maxAnnotationLen-2 {
					s = s[:maxAnnotationLen-2] + "..."
				}
				w.Write(level0, "\t  %s\n", s)
			}
		} else {
			w.Write(level0, "%s: %s\n", k, value)
		}
	}
}

func printTolerationsMultiline(w *prefixWriter, title string, tolerations []*v1.Toleration) {
	w.Write(level0, "%s:\t", title)
	if len(tolerations) == 0 {
		w.Line("<none>")
		return
	}
	ts := append([]*v1.Toleration(nil), tolerations...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].GetKey() < ts[j].GetKey() })
	for i, t := range ts {
		if i != 0 {
			w.Write(level0, "\t")
		}
		w.Write(level0, "%s", t.GetKey())
		if t.GetValue() != "" {
			w.Write(level0, "=%s", t.GetValue())
		}
		if t.GetEffect() != "" {
			w.Write(level0, ":%s", t.GetEffect())
		}
		if t.GetOperator() == "Exists" && t.GetValue() == "" {
			if t.GetKey() != "" || t.GetEffect() != "" {
				w.Write(level0, " op=Exists")
			} else {
				w.Write(level0, "op=Exists")
			}
		}
		if t.TolerationSeconds != nil {
			w.Write(level0, " for %ds", t.GetTolerationSeconds())
		}
		w.Write(level0, "\n")
	}
}
