package minictl

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/labels"
)

// table is the column layout of one kind, as kubectl prints it.
type table struct {
	columns []string
	// wide are the extra columns of -o wide.
	wide []string
	// row returns the cells of columns (and of wide when wide is true);
	// the first cell is the name.
	row func(obj apis.Object, now time.Time, wide bool) []string
}

// tableFor returns the table of a kind; kinds without one print NAME AGE.
func tableFor(res *apis.Resource) table {
	switch res.Name {
	case "pods":
		return table{
			columns: []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"},
			wide:    []string{"IP", "NODE", "NOMINATED NODE", "READINESS GATES"},
			row:     typed(podRow),
		}
	case "nodes":
		return table{
			columns: []string{"NAME", "STATUS", "ROLES", "AGE", "VERSION"},
			wide:    []string{"INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"},
			row:     typed(nodeRow),
		}
	case "namespaces":
		return table{columns: []string{"NAME", "STATUS", "AGE"}, row: typed(namespaceRow)}
	case "configmaps":
		return table{columns: []string{"NAME", "DATA", "AGE"}, row: typed(configMapRow)}
	case "secrets":
		return table{columns: []string{"NAME", "TYPE", "DATA", "AGE"}, row: typed(secretRow)}
	case "events":
		return table{
			columns: []string{"LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"},
			wide:    nil,
			row:     typed(eventRow),
		}
	case "leases":
		return table{columns: []string{"NAME", "HOLDER", "AGE"}, row: typed(leaseRow)}
	case "deployments":
		return table{
			columns: []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"},
			wide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
			row:     typed(deploymentRow),
		}
	case "replicasets":
		return table{
			columns: []string{"NAME", "DESIRED", "CURRENT", "READY", "AGE"},
			wide:    []string{"CONTAINERS", "IMAGES", "SELECTOR"},
			row:     typed(replicaSetRow),
		}
	case "certificatesigningrequests":
		return table{
			columns: []string{"NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"},
			row:     typed(csrRow),
		}
	}
	return table{
		columns: []string{"NAME", "AGE"},
		row: func(obj apis.Object, now time.Time, _ bool) []string {
			md := obj.GetMetadata()
			return []string{md.GetName(), since(now, md.GetCreationTimestamp())}
		},
	}
}

// typed adapts a row function of one Go type; an object of another type
// prints its name only, so a mismatch is visible rather than a panic.
func typed[T apis.Object](f func(obj T, now time.Time, wide bool) []string) func(apis.Object, time.Time, bool) []string {
	return func(obj apis.Object, now time.Time, wide bool) []string {
		t, ok := obj.(T)
		if !ok {
			return []string{obj.GetMetadata().GetName()}
		}
		return f(t, now, wide)
	}
}

func podRow(pod *v1.Pod, now time.Time, wide bool) []string {
	ready, total, status, restarts := podSummary(pod, now)
	cells := []string{pod.GetMetadata().GetName(), fmt.Sprintf("%d/%d", ready, total), status, restarts, since(now, pod.GetMetadata().GetCreationTimestamp())}
	if wide {
		cells = append(cells, orNone(pod.GetStatus().GetPodIp()), orNone(pod.GetSpec().GetNodeName()), "<none>", "<none>")
	}
	return cells
}

// nodeUnreachablePodReason is the status.reason the node lifecycle
// controller gives pods on an unreachable node.
const nodeUnreachablePodReason = "NodeLost"

// PodStatus returns the STATUS column of `get pods`, computed as kubectl
// computes it: the pod's reason or phase, overridden by init container
// progress (Init:0/1, Init:CrashLoopBackOff, Init:Error), then by the
// reason of a waiting or terminated container, then by Terminating.
func PodStatus(pod *v1.Pod) string {
	_, _, status, _ := podSummary(pod, time.Time{})
	return status
}

// podSummary computes READY (ready/total), STATUS and RESTARTS of a pod.
func podSummary(pod *v1.Pod, now time.Time) (ready, total int, reason, restarts string) {
	spec, st := pod.GetSpec(), pod.GetStatus()
	total = len(spec.GetContainers())
	nRestarts := 0
	var lastRestart time.Time

	reason = st.GetPhase()
	if st.GetReason() != "" {
		reason = st.GetReason()
	}
	for _, c := range st.GetConditions() {
		if c.GetType() == "PodScheduled" && c.GetReason() == "SchedulingGated" {
			reason = "SchedulingGated"
		}
	}

	noteRestart := func(cs *v1.ContainerStatus) {
		nRestarts += int(cs.GetRestartCount())
		if t := cs.GetLastState().GetTerminated(); t != nil && isSet(t.GetFinishedAt()) {
			if ft := t.GetFinishedAt().AsTime(); ft.After(lastRestart) {
				lastRestart = ft
			}
		}
	}

	initializing := false
	for i, cs := range st.GetInitContainerStatuses() {
		noteRestart(cs)
		term, wait := cs.GetState().GetTerminated(), cs.GetState().GetWaiting()
		switch {
		case term != nil && term.GetExitCode() == 0:
			continue
		case term != nil:
			switch {
			case term.GetReason() != "":
				reason = "Init:" + term.GetReason()
			case term.GetSignal() != 0:
				reason = fmt.Sprintf("Init:Signal:%d", term.GetSignal())
			default:
				reason = fmt.Sprintf("Init:ExitCode:%d", term.GetExitCode())
			}
		case wait != nil && wait.GetReason() != "" && wait.GetReason() != "PodInitializing":
			reason = "Init:" + wait.GetReason()
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(spec.GetInitContainers()))
		}
		initializing = true
		break
	}

	if !initializing || podCondition(pod, "Initialized") == "True" {
		nRestarts, lastRestart = 0, time.Time{}
		hasRunning := false
		css := st.GetContainerStatuses()
		for i := len(css) - 1; i >= 0; i-- {
			cs := css[i]
			noteRestart(cs)
			state := cs.GetState()
			switch {
			case state.GetWaiting() != nil && state.GetWaiting().GetReason() != "":
				reason = state.GetWaiting().GetReason()
			case state.GetTerminated() != nil && state.GetTerminated().GetReason() != "":
				reason = state.GetTerminated().GetReason()
			case state.GetTerminated() != nil:
				if sig := state.GetTerminated().GetSignal(); sig != 0 {
					reason = fmt.Sprintf("Signal:%d", sig)
				} else {
					reason = fmt.Sprintf("ExitCode:%d", state.GetTerminated().GetExitCode())
				}
			case cs.GetReady() && state.GetRunning() != nil:
				hasRunning = true
				ready++
			}
		}
		// A pod whose last container completed while another still runs
		// is Running (or NotReady), not Completed.
		if reason == "Completed" && hasRunning {
			if podCondition(pod, "Ready") == "True" {
				reason = "Running"
			} else {
				reason = "NotReady"
			}
		}
	}

	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		switch {
		case st.GetReason() == nodeUnreachablePodReason:
			reason = "Unknown"
		case st.GetPhase() != "Succeeded" && st.GetPhase() != "Failed":
			reason = "Terminating"
		}
	}

	restarts = strconv.Itoa(nRestarts)
	if nRestarts != 0 && !lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", nRestarts, HumanDuration(now.Sub(lastRestart)))
	}
	return ready, total, reason, restarts
}

// podCondition returns the status of a pod condition, "" when absent.
func podCondition(pod *v1.Pod, typ string) string {
	for _, c := range pod.GetStatus().GetConditions() {
		if c.GetType() == typ {
			return c.GetStatus()
		}
	}
	return ""
}

func nodeRow(node *v1.Node, now time.Time, wide bool) []string {
	md, st := node.GetMetadata(), node.GetStatus()
	cells := []string{md.GetName(), NodeStatus(node), NodeRoles(node), since(now, md.GetCreationTimestamp()), st.GetNodeInfo().GetKubeletVersion()}
	if wide {
		info := st.GetNodeInfo()
		cells = append(cells,
			nodeAddress(node, "InternalIP"), nodeAddress(node, "ExternalIP"),
			orUnknown(info.GetOsImage()), orUnknown(info.GetKernelVersion()), orUnknown(info.GetContainerRuntimeVersion()))
	}
	return cells
}

// NodeStatus is the STATUS column of `get nodes`: Ready, NotReady or
// Unknown, plus ",SchedulingDisabled" when the node is cordoned.
func NodeStatus(node *v1.Node) string {
	var status []string
	for _, c := range node.GetStatus().GetConditions() {
		if c.GetType() != "Ready" {
			continue
		}
		if c.GetStatus() == "True" {
			status = []string{"Ready"}
		} else {
			status = []string{"NotReady"}
		}
	}
	if len(status) == 0 {
		status = []string{"Unknown"}
	}
	if node.GetSpec().GetUnschedulable() {
		status = append(status, "SchedulingDisabled")
	}
	return strings.Join(status, ",")
}

// Node role labels, as kubectl reads them.
const (
	labelNodeRolePrefix = "node-role.kubernetes.io/"
	labelNodeRole       = "kubernetes.io/role"
)

// NodeRoles is the ROLES column of `get nodes`: the roles named by
// node-role.kubernetes.io/<role> labels and a kubernetes.io/role label,
// sorted, or "<none>".
func NodeRoles(node *v1.Node) string {
	set := map[string]bool{}
	for k, v := range node.GetMetadata().GetLabels() {
		switch {
		case strings.HasPrefix(k, labelNodeRolePrefix):
			if role := strings.TrimPrefix(k, labelNodeRolePrefix); role != "" {
				set[role] = true
			}
		case k == labelNodeRole && v != "":
			set[v] = true
		}
	}
	if len(set) == 0 {
		return "<none>"
	}
	return strings.Join(sortedKeys(set), ",")
}

func nodeAddress(node *v1.Node, typ string) string {
	for _, a := range node.GetStatus().GetAddresses() {
		if a.GetType() == typ {
			return a.GetAddress()
		}
	}
	return "<none>"
}

func namespaceRow(ns *v1.Namespace, now time.Time, _ bool) []string {
	return []string{ns.GetMetadata().GetName(), ns.GetStatus().GetPhase(), since(now, ns.GetMetadata().GetCreationTimestamp())}
}

func configMapRow(cm *v1.ConfigMap, now time.Time, _ bool) []string {
	return []string{cm.GetMetadata().GetName(), strconv.Itoa(len(cm.GetData()) + len(cm.GetBinaryData())), since(now, cm.GetMetadata().GetCreationTimestamp())}
}

func secretRow(s *v1.Secret, now time.Time, _ bool) []string {
	return []string{s.GetMetadata().GetName(), s.GetType(), strconv.Itoa(len(s.GetData())), since(now, s.GetMetadata().GetCreationTimestamp())}
}

func eventRow(e *v1.Event, now time.Time, _ bool) []string {
	first := eventFirstSeen(e, now)
	last := first
	if isSet(e.GetLastTimestamp()) {
		last = since(now, e.GetLastTimestamp())
	}
	target := strings.ToLower(e.GetInvolvedObject().GetKind())
	if n := e.GetInvolvedObject().GetName(); n != "" {
		target += "/" + n
	}
	return []string{last, e.GetType(), e.GetReason(), target, strings.TrimSpace(e.GetMessage())}
}

// eventFirstSeen is the age of an event's first occurrence: firstTimestamp,
// else its creation (where Kubernetes would use eventTime).
func eventFirstSeen(e *v1.Event, now time.Time) string {
	if isSet(e.GetFirstTimestamp()) {
		return since(now, e.GetFirstTimestamp())
	}
	return since(now, e.GetMetadata().GetCreationTimestamp())
}

func leaseRow(l *v1.Lease, now time.Time, _ bool) []string {
	return []string{l.GetMetadata().GetName(), l.GetSpec().GetHolderIdentity(), since(now, l.GetMetadata().GetCreationTimestamp())}
}

func deploymentRow(d *v1.Deployment, now time.Time, wide bool) []string {
	st := d.GetStatus()
	cells := []string{
		d.GetMetadata().GetName(),
		fmt.Sprintf("%d/%d", st.GetReadyReplicas(), deploymentReplicas(d)),
		strconv.Itoa(int(st.GetUpdatedReplicas())),
		strconv.Itoa(int(st.GetAvailableReplicas())),
		since(now, d.GetMetadata().GetCreationTimestamp()),
	}
	if wide {
		names, images := containerCells(d.GetSpec().GetTemplate().GetSpec().GetContainers())
		cells = append(cells, names, images, selectorString(d.GetSpec().GetSelector()))
	}
	return cells
}

func replicaSetRow(rs *v1.ReplicaSet, now time.Time, wide bool) []string {
	st := rs.GetStatus()
	cells := []string{
		rs.GetMetadata().GetName(),
		strconv.Itoa(int(rsReplicas(rs))),
		strconv.Itoa(int(st.GetReplicas())),
		strconv.Itoa(int(st.GetReadyReplicas())),
		since(now, rs.GetMetadata().GetCreationTimestamp()),
	}
	if wide {
		names, images := containerCells(rs.GetSpec().GetTemplate().GetSpec().GetContainers())
		cells = append(cells, names, images, selectorString(rs.GetSpec().GetSelector()))
	}
	return cells
}

// deploymentReplicas is spec.replicas with Kubernetes' default of 1.
func deploymentReplicas(d *v1.Deployment) int32 {
	if s := d.GetSpec(); s != nil && s.Replicas != nil {
		return *s.Replicas
	}
	return 1
}

// rsReplicas is spec.replicas with Kubernetes' default of 1.
func rsReplicas(rs *v1.ReplicaSet) int32 {
	if s := rs.GetSpec(); s != nil && s.Replicas != nil {
		return *s.Replicas
	}
	return 1
}

func csrRow(csr *v1.CertificateSigningRequest, now time.Time, _ bool) []string {
	signer := csr.GetSpec().GetSignerName()
	if signer == "" {
		signer = "<none>"
	}
	dur := "<none>"
	if csr.GetSpec() != nil && csr.GetSpec().ExpirationSeconds != nil {
		dur = HumanDuration(time.Duration(csr.GetSpec().GetExpirationSeconds()) * time.Second)
	}
	return []string{csr.GetMetadata().GetName(), since(now, csr.GetMetadata().GetCreationTimestamp()), signer, csr.GetSpec().GetUsername(), dur, CSRCondition(csr)}
}

// CSRCondition is the CONDITION column of `get csr`: Denied, Approved or
// Pending, then ",Failed" and ",Issued" when they apply.
func CSRCondition(csr *v1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.GetStatus().GetConditions() {
		switch c.GetType() {
		case "Approved":
			approved = true
		case "Denied":
			denied = true
		case "Failed":
			failed = true
		}
	}
	var s string
	switch {
	case denied:
		s = "Denied"
	case approved:
		s = "Approved"
	default:
		s = "Pending"
	}
	if failed {
		s += ",Failed"
	}
	if len(csr.GetStatus().GetCertificate()) > 0 {
		s += ",Issued"
	}
	return s
}

func containerCells(cs []*v1.Container) (names, images string) {
	n := make([]string, len(cs))
	im := make([]string, len(cs))
	for i, c := range cs {
		n[i], im[i] = c.GetName(), c.GetImage()
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

// selectorString prints a label selector in Kubernetes' syntax, its
// requirements sorted by key ("app=web,tier in (a,b)"), "<none>" when
// empty (kubectl's FormatLabelSelector).
func selectorString(sel *v1.LabelSelector) string {
	s, err := labels.FromLabelSelector(sel)
	if err != nil {
		return "<invalid>"
	}
	if str := s.String(); str != "" {
		return str
	}
	return "<none>"
}

// formatLabels prints labels as "k=v,k2=v2" sorted by key, "<none>" when empty.
func formatLabels(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	keys := sortedKeys(m)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}
