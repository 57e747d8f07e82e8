package minictl

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
)

// revisionAnnotation is the revision a Deployment and its ReplicaSets carry.
const revisionAnnotation = "deployment.kubernetes.io/revision"

func (d *describer) describeDeployment(ctx context.Context, w *prefixWriter, dep *v1.Deployment) {
	md, spec, st := dep.GetMetadata(), dep.GetSpec(), dep.GetStatus()
	w.Write(level0, "Name:\t%s\n", md.GetName())
	w.Write(level0, "Namespace:\t%s\n", md.GetNamespace())
	w.Write(level0, "CreationTimestamp:\t%s\n", w.time(md.GetCreationTimestamp()))
	printLabelsMultiline(w, "Labels", md.GetLabels())
	printAnnotationsMultiline(w, "Annotations", md.GetAnnotations())
	w.Write(level0, "Selector:\t%s\n", selectorString(spec.GetSelector()))
	w.Write(level0, "Replicas:\t%d desired | %d updated | %d total | %d available | %d unavailable\n",
		deploymentReplicas(dep), st.GetUpdatedReplicas(), st.GetReplicas(), st.GetAvailableReplicas(), st.GetUnavailableReplicas())
	strategy := spec.GetStrategy().GetType()
	if strategy == "" {
		strategy = "RollingUpdate"
	}
	w.Write(level0, "StrategyType:\t%s\n", strategy)
	w.Write(level0, "MinReadySeconds:\t%d\n", spec.GetMinReadySeconds())
	if ru := spec.GetStrategy().GetRollingUpdate(); ru != nil || strategy == "RollingUpdate" {
		w.Write(level0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n",
			orDefault(ru.GetMaxUnavailable(), "25%"), orDefault(ru.GetMaxSurge(), "25%"))
	}
	describePodTemplate(w, spec.GetTemplate())
	describeWorkloadConditions(w, st.GetConditions())

	res, err := apis.Lookup("replicasets")
	if err != nil {
		return
	}
	list, err := d.c.List(ctx, res, md.GetNamespace(), ListOptions{})
	if err != nil {
		return
	}
	var owned []*v1.ReplicaSet
	for _, obj := range list.Items {
		if rs, ok := obj.(*v1.ReplicaSet); ok && ownedBy(rs.GetMetadata(), md) {
			owned = append(owned, rs)
		}
	}
	newRS := newestReplicaSet(dep, owned)
	var old, cur []*v1.ReplicaSet
	for _, rs := range owned {
		switch {
		case rs == newRS:
			cur = append(cur, rs)
		case rsReplicas(rs) != 0 || rs.GetStatus().GetReplicas() != 0:
			old = append(old, rs)
		}
	}
	w.Write(level0, "OldReplicaSets:\t%s\n", replicaSetsSummary(old))
	w.Write(level0, "NewReplicaSet:\t%s\n", replicaSetsSummary(cur))
}

// ownedBy reports whether md names owner as its controller.
func ownedBy(md, owner *v1.ObjectMeta) bool {
	ref := controllerOf(md)
	return ref != nil && ref.GetName() == owner.GetName() && (ref.GetUid() == "" || owner.GetUid() == "" || ref.GetUid() == owner.GetUid())
}

// newestReplicaSet is the ReplicaSet of the Deployment's current revision,
// else the one of the highest revision.
func newestReplicaSet(dep *v1.Deployment, owned []*v1.ReplicaSet) *v1.ReplicaSet {
	want := dep.GetMetadata().GetAnnotations()[revisionAnnotation]
	var best *v1.ReplicaSet
	bestRev := -1
	for _, rs := range owned {
		rev := rs.GetMetadata().GetAnnotations()[revisionAnnotation]
		if want != "" && rev == want {
			return rs
		}
		if n, err := strconv.Atoi(rev); err == nil && n > bestRev {
			best, bestRev = rs, n
		}
	}
	return best
}

func replicaSetsSummary(rss []*v1.ReplicaSet) string {
	if len(rss) == 0 {
		return "<none>"
	}
	sort.Slice(rss, func(i, j int) bool { return rss[i].GetMetadata().GetName() < rss[j].GetMetadata().GetName() })
	parts := make([]string, len(rss))
	for i, rs := range rss {
		parts[i] = fmt.Sprintf("%s (%d/%d replicas created)", rs.GetMetadata().GetName(), rs.GetStatus().GetReplicas(), rsReplicas(rs))
	}
	return strings.Join(parts, ", ")
}

func (d *describer) describeReplicaSet(ctx context.Context, w *prefixWriter, rs *v1.ReplicaSet) {
	md, spec, st := rs.GetMetadata(), rs.GetSpec(), rs.GetStatus()
	w.Write(level0, "Name:\t%s\n", md.GetName())
	w.Write(level0, "Namespace:\t%s\n", md.GetNamespace())
	w.Write(level0, "Selector:\t%s\n", selectorString(spec.GetSelector()))
	printLabelsMultiline(w, "Labels", md.GetLabels())
	printAnnotationsMultiline(w, "Annotations", md.GetAnnotations())
	if ref := controllerOf(md); ref != nil {
		w.Write(level0, "Controlled By:\t%s/%s\n", ref.GetKind(), ref.GetName())
	}
	w.Write(level0, "Replicas:\t%d current / %d desired\n", st.GetReplicas(), rsReplicas(rs))
	w.Write(level0, "Pods Status:\t")
	if running, waiting, succeeded, failed, err := d.podPhases(ctx, md); err != nil {
		w.Write(level0, "error in fetching pods: %s\n", err)
	} else {
		w.Write(level0, "%d Running / %d Waiting / %d Succeeded / %d Failed\n", running, waiting, succeeded, failed)
	}
	describePodTemplate(w, spec.GetTemplate())
	describeWorkloadConditions(w, st.GetConditions())
}

// podPhases counts the pods a controller owns by phase.
func (d *describer) podPhases(ctx context.Context, owner *v1.ObjectMeta) (running, waiting, succeeded, failed int, err error) {
	res, err := apis.Lookup("pods")
	if err != nil {
		return 0, 0, 0, 0, err
	}
	list, err := d.c.List(ctx, res, owner.GetNamespace(), ListOptions{})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	for _, obj := range list.Items {
		p, ok := obj.(*v1.Pod)
		if !ok || !ownedBy(p.GetMetadata(), owner) {
			continue
		}
		switch p.GetStatus().GetPhase() {
		case "Running":
			running++
		case "Pending", "":
			waiting++
		case "Succeeded":
			succeeded++
		case "Failed":
			failed++
		}
	}
	return running, waiting, succeeded, failed, nil
}

func describePodTemplate(w *prefixWriter, t *v1.PodTemplateSpec) {
	w.Write(level0, "Pod Template:\n")
	if t == nil {
		w.Write(level1, "<unset>")
		return
	}
	printLabelsMultiline(w, "  Labels", t.GetMetadata().GetLabels())
	if len(t.GetMetadata().GetAnnotations()) > 0 {
		printAnnotationsMultiline(w, "  Annotations", t.GetMetadata().GetAnnotations())
	}
	spec := t.GetSpec()
	if spec.GetServiceAccountName() != "" {
		w.Write(level1, "Service Account:\t%s\n", spec.GetServiceAccountName())
	}
	if len(spec.GetInitContainers()) > 0 {
		describeContainers(w, "Init Containers", spec.GetInitContainers(), nil, "  ")
	}
	describeContainers(w, "Containers", spec.GetContainers(), nil, "  ")
	describeVolumes(w, spec.GetVolumes(), "  ")
	if spec.GetPriorityClassName() != "" {
		w.Write(level1, "Priority Class Name:\t%s\n", spec.GetPriorityClassName())
	}
	printLabelsMultiline(w, "  Node-Selectors", spec.GetNodeSelector())
	printTolerationsMultiline(w, "  Tolerations", spec.GetTolerations())
}

func describeWorkloadConditions(w *prefixWriter, conds []*v1.Condition) {
	if len(conds) == 0 {
		return
	}
	w.Write(level0, "Conditions:\n  Type\tStatus\tReason\n")
	w.Write(level1, "----\t------\t------\n")
	for _, c := range conds {
		w.Write(level1, "%v \t%v\t%v\n", c.GetType(), c.GetStatus(), c.GetReason())
	}
}
