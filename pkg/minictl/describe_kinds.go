package minictl

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/quantity"
)

// nodeLeaseNamespace holds the node heartbeats.
const nodeLeaseNamespace = "kube-node-lease"

func (d *describer) describeNode(ctx context.Context, w *prefixWriter, node *v1.Node) {
	md, spec, st := node.GetMetadata(), node.GetSpec(), node.GetStatus()
	w.Write(level0, "Name:\t%s\n", md.GetName())
	w.Write(level0, "Roles:\t%s\n", NodeRoles(node))
	printLabelsMultiline(w, "Labels", md.GetLabels())
	printAnnotationsMultiline(w, "Annotations", md.GetAnnotations())
	w.Write(level0, "CreationTimestamp:\t%s\n", w.time(md.GetCreationTimestamp()))
	w.Write(level0, "Taints:\t")
	if len(spec.GetTaints()) == 0 {
		w.Line("<none>")
	}
	for i, t := range spec.GetTaints() {
		if i != 0 {
			w.Write(level0, "\t")
		}
		s := t.GetKey()
		if t.GetValue() != "" {
			s += "=" + t.GetValue()
		}
		w.Write(level0, "%s:%s\n", s, t.GetEffect())
	}
	w.Write(level0, "Unschedulable:\t%v\n", spec.GetUnschedulable())

	if res, err := apis.Lookup("leases"); err == nil {
		obj, err := d.c.Get(ctx, res, nodeLeaseNamespace, md.GetName())
		if lease, ok := obj.(*v1.Lease); err == nil && ok {
			w.Write(level0, "Lease:\n")
			w.Write(level1, "HolderIdentity:\t%s\n", orUnset(lease.GetSpec().GetHolderIdentity()))
			w.Write(level1, "AcquireTime:\t%s\n", timeOrUnset(w, lease.GetSpec().GetAcquireTime()))
			w.Write(level1, "RenewTime:\t%s\n", timeOrUnset(w, lease.GetSpec().GetRenewTime()))
		} else if err != nil {
			w.Write(level0, "Lease:\tFailed to get lease: %s\n", err)
		}
	}

	if len(st.GetConditions()) > 0 {
		w.Write(level0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
		w.Write(level1, "----\t------\t-----------------\t------------------\t------\t-------\n")
		for _, c := range st.GetConditions() {
			w.Write(level1, "%v \t%v \t%s \t%s \t%v \t%v\n",
				c.GetType(), c.GetStatus(), w.time(c.GetLastHeartbeatTime()), w.time(c.GetLastTransitionTime()), c.GetReason(), c.GetMessage())
		}
	}
	w.Write(level0, "Addresses:\n")
	for _, a := range st.GetAddresses() {
		w.Write(level1, "%s:\t%s\n", a.GetType(), a.GetAddress())
	}
	printResourceList := func(title string, m map[string]string) {
		if len(m) == 0 {
			return
		}
		w.Write(level0, "%s:\n", title)
		for _, k := range sortedResourceNames(m) {
			w.Write(level1, "%s:\t%s\n", k, m[k])
		}
	}
	printResourceList("Capacity", st.GetCapacity())
	printResourceList("Allocatable", st.GetAllocatable())
	info := st.GetNodeInfo()
	w.Write(level0, "System Info:\n")
	w.Write(level0, "  Machine ID:\t%s\n", info.GetMachineId())
	w.Write(level0, "  System UUID:\t%s\n", info.GetSystemUuid())
	w.Write(level0, "  Boot ID:\t%s\n", info.GetBootId())
	w.Write(level0, "  Kernel Version:\t%s\n", info.GetKernelVersion())
	w.Write(level0, "  OS Image:\t%s\n", info.GetOsImage())
	w.Write(level0, "  Operating System:\t%s\n", info.GetOperatingSystem())
	w.Write(level0, "  Architecture:\t%s\n", info.GetArchitecture())
	w.Write(level0, "  Container Runtime Version:\t%s\n", info.GetContainerRuntimeVersion())
	w.Write(level0, "  Kubelet Version:\t%s\n", info.GetKubeletVersion())
	if spec.GetPodCidr() != "" {
		w.Write(level0, "PodCIDR:\t%s\n", spec.GetPodCidr())
	}
	if len(spec.GetPodCidrs()) > 0 {
		w.Write(level0, "PodCIDRs:\t%s\n", strings.Join(spec.GetPodCidrs(), ","))
	}
	if spec.GetProviderId() != "" {
		w.Write(level0, "ProviderID:\t%s\n", spec.GetProviderId())
	}
	d.describeNodePods(ctx, w, node)
}

// describeNodePods lists the pods bound to the node that have not ended.
func (d *describer) describeNodePods(ctx context.Context, w *prefixWriter, node *v1.Node) {
	res, err := apis.Lookup("pods")
	if err != nil {
		return
	}
	list, err := d.c.List(ctx, res, "", ListOptions{FieldSelector: "spec.nodeName=" + node.GetMetadata().GetName()})
	if err != nil {
		w.Write(level0, "Non-terminated Pods:\tFailed to list pods: %s\n", err)
		return
	}
	var pods []*v1.Pod
	for _, obj := range list.Items {
		p, ok := obj.(*v1.Pod)
		if !ok || p.GetSpec().GetNodeName() != node.GetMetadata().GetName() {
			continue
		}
		if ph := p.GetStatus().GetPhase(); ph == "Succeeded" || ph == "Failed" {
			continue
		}
		pods = append(pods, p)
	}
	alloc := node.GetStatus().GetAllocatable()
	if len(alloc) == 0 {
		alloc = node.GetStatus().GetCapacity()
	}
	w.Write(level0, "Non-terminated Pods:\t(%d in total)\n", len(pods))
	w.Write(level1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
	w.Write(level1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
	totalReq, totalLim := map[string]quantity.Quantity{}, map[string]quantity.Quantity{}
	for _, p := range pods {
		req, lim := podRequestsAndLimits(p)
		for k, q := range req {
			totalReq[k] = totalReq[k].Add(q)
		}
		for k, q := range lim {
			totalLim[k] = totalLim[k].Add(q)
		}
		w.Write(level1, "%s\t%s\t\t%s\t%s\t%s\t%s\t%s\n", p.GetMetadata().GetNamespace(), p.GetMetadata().GetName(),
			fraction(req, alloc, "cpu"), fraction(lim, alloc, "cpu"), fraction(req, alloc, "memory"), fraction(lim, alloc, "memory"),
			since(d.now, p.GetMetadata().GetCreationTimestamp()))
	}
	w.Write(level0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
	w.Write(level1, "Resource\tRequests\tLimits\n")
	w.Write(level1, "--------\t--------\t------\n")
	for _, r := range []string{"cpu", "memory", "ephemeral-storage"} {
		w.Write(level1, "%s\t%s\t%s\n", r, fraction(totalReq, alloc, r), fraction(totalLim, alloc, r))
	}
}

// podRequestsAndLimits sums a pod's container requests and limits; an
// init container, which runs alone, counts when it asks for more.
func podRequestsAndLimits(p *v1.Pod) (req, lim map[string]quantity.Quantity) {
	req, lim = map[string]quantity.Quantity{}, map[string]quantity.Quantity{}
	add := func(into map[string]quantity.Quantity, m map[string]string) {
		for k, s := range m {
			if q, err := quantity.Parse(s); err == nil {
				into[k] = into[k].Add(q)
			}
		}
	}
	maxInto := func(into map[string]quantity.Quantity, m map[string]string) {
		for k, s := range m {
			if q, err := quantity.Parse(s); err == nil && q.Cmp(into[k]) > 0 {
				into[k] = q
			}
		}
	}
	for _, c := range p.GetSpec().GetContainers() {
		add(req, c.GetResources().GetRequests())
		add(lim, c.GetResources().GetLimits())
	}
	for _, c := range p.GetSpec().GetInitContainers() {
		maxInto(req, c.GetResources().GetRequests())
		maxInto(lim, c.GetResources().GetLimits())
	}
	return req, lim
}

// fraction prints a quantity and its share of the node's allocatable, as
// kubectl does: "250m (3%)".
func fraction(m map[string]quantity.Quantity, alloc map[string]string, name string) string {
	q := m[name]
	pct := int64(0)
	if a, err := quantity.Parse(alloc[name]); err == nil && !a.IsZero() {
		if name == "cpu" {
			pct = int64(float64(q.MilliValue()) / float64(a.MilliValue()) * 100)
		} else {
			pct = int64(float64(q.Value()) / float64(a.Value()) * 100)
		}
	}
	return fmt.Sprintf("%s (%d%%)", q.String(), pct)
}

func orUnset(s string) string {
	if s == "" {
		return "<unset>"
	}
	return s
}

func timeOrUnset(w *prefixWriter, t *timestamppb.Timestamp) string {
	if !isSet(t) {
		return "<unset>"
	}
	return w.time(t)
}

// describeGeneric describes a kind without a describer of its own as
// kubectl's generic describer does: the metadata it always shows, then
// every field of the manifest shape with labels made of its name.
func (d *describer) describeGeneric(w *prefixWriter, res *apis.Resource, obj apis.Object) error {
	md := obj.GetMetadata()
	w.Write(level0, "Name:\t%s\n", md.GetName())
	if res.Namespaced {
		w.Write(level0, "Namespace:\t%s\n", md.GetNamespace())
	}
	printLabelsMultiline(w, "Labels", md.GetLabels())
	printAnnotationsMultiline(w, "Annotations", md.GetAnnotations())
	switch o := obj.(type) {
	case *v1.ConfigMap:
		describeConfigMapData(w, o)
		return nil
	case *v1.Secret:
		describeSecretData(w, o)
		return nil
	}
	content, err := toMap(obj)
	if err != nil {
		return fmt.Errorf("describe %s: %w", res.Kind, err)
	}
	if _, ok := content["apiVersion"]; !ok {
		content["apiVersion"] = res.APIVersion
	}
	if _, ok := content["kind"]; !ok {
		content["kind"] = res.Kind
	}
	printUnstructured(w, level0, content, "", ".metadata.name", ".metadata.namespace", ".metadata.labels", ".metadata.annotations", ".metadata.managedFields")
	return nil
}

func describeConfigMapData(w *prefixWriter, cm *v1.ConfigMap) {
	w.Write(level0, "\nData\n====\n")
	for _, k := range sortedKeys(cm.GetData()) {
		w.Write(level0, "%s:\n----\n", k)
		w.Write(level0, "%s\n", cm.GetData()[k])
		w.Write(level0, "\n")
	}
	w.Write(level0, "\nBinaryData\n====\n")
	for _, k := range sortedKeys(cm.GetBinaryData()) {
		w.Write(level0, "%s: %d bytes\n", k, len(cm.GetBinaryData()[k]))
	}
	w.Write(level0, "\n")
}

func describeSecretData(w *prefixWriter, s *v1.Secret) {
	w.Write(level0, "\nType:\t%s\n", s.GetType())
	w.Write(level0, "\nData\n====\n")
	for _, k := range sortedKeys(s.GetData()) {
		w.Write(level0, "%s:\t%d bytes\n", k, len(s.GetData()[k]))
	}
}

// printUnstructured prints a manifest-shaped map as kubectl's generic
// describer does: sorted keys, nested maps and lists indented.
func printUnstructured(w *prefixWriter, level int, content map[string]any, prefix string, skip ...string) {
	skipped := func(path string) bool {
		for _, s := range skip {
			if s == path {
				return true
			}
		}
		return false
	}
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := prefix + "." + k
		if skipped(path) {
			continue
		}
		switch v := content[k].(type) {
		case map[string]any:
			w.Write(level, "%s:\n", smartLabel(k))
			printUnstructured(w, level+1, v, path, skip...)
		case []any:
			w.Write(level, "%s:\n", smartLabel(k))
			for _, item := range v {
				if m, ok := item.(map[string]any); ok {
					printUnstructured(w, level+1, m, path, skip...)
				} else {
					w.Write(level+1, "%v\n", item)
				}
			}
		default:
			w.Write(level, "%s:\t%v\n", smartLabel(k), v)
		}
	}
}

// smartLabel turns a field name into a describe label: "holderIdentity"
// becomes "Holder Identity", "apiVersion" "API Version".
func smartLabel(field string) string {
	if strings.IndexFunc(field, func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }) != -1 {
		return field
	}
	var parts []string
	start := 0
	runes := []rune(field)
	for i := 1; i < len(runes); i++ {
		lowerToUpper := unicode.IsLower(runes[i-1]) && unicode.IsUpper(runes[i])
		acronymEnd := i+1 < len(runes) && unicode.IsUpper(runes[i-1]) && unicode.IsUpper(runes[i]) && unicode.IsLower(runes[i+1])
		if lowerToUpper || acronymEnd {
			parts = append(parts, string(runes[start:i]))
			start = i
		}
	}
	parts = append(parts, string(runes[start:]))
	for i, p := range parts {
		switch up := strings.ToUpper(p); up {
		case "API", "URL", "UID", "OSB", "GUID":
			parts[i] = up
		default:
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}
