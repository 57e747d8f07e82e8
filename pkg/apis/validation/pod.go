package validation

import (
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/quantity"
)

// The supported values of enumerated pod fields, in Kubernetes' order.
var (
	restartPolicies     = []string{"Always", "OnFailure", "Never"}
	pullPolicies        = []string{"Always", "IfNotPresent", "Never"}
	dnsPolicies         = []string{"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"}
	protocols           = []string{"SCTP", "TCP", "UDP"}
	terminationPolicies = []string{"FallbackToLogsOnError", "File"}
	taintEffects        = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}
	tolerationOperators = []string{"Equal", "Exists"}
	httpSchemes         = []string{"HTTP", "HTTPS"}
	hostPathTypes       = []string{"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"}
	emptyDirMedia       = []string{"", "Memory"}
)

// ValidatePodSpec checks a pod spec (of a pod or of a workload's template).
// It expects a defaulted spec, as the apiserver validates after defaulting.
func ValidatePodSpec(spec *v1.PodSpec, p *Path) ErrorList {
	if spec == nil {
		return ErrorList{Required(p, "")}
	}
	var errs ErrorList
	volumes, vErrs := validateVolumes(spec.Volumes, p.Child("volumes"))
	errs = append(errs, vErrs...)

	names := map[string]bool{}
	if len(spec.Containers) == 0 {
		errs = append(errs, Required(p.Child("containers"), ""))
	}
	errs = append(errs, validateContainers(spec.Containers, volumes, names, p.Child("containers"))...)
	errs = append(errs, validateContainers(spec.InitContainers, volumes, names, p.Child("initContainers"))...)
	errs = append(errs, validateInitContainerProbes(spec.InitContainers, p.Child("initContainers"))...)
	errs = append(errs, validateHostPorts(spec, p)...)
	if spec.HostNetwork {
		errs = append(errs, validateHostNetworkPorts(spec.Containers, p.Child("containers"))...)
		errs = append(errs, validateHostNetworkPorts(spec.InitContainers, p.Child("initContainers"))...)
	}

	errs = append(errs, validateEnum(spec.RestartPolicy, restartPolicies, p.Child("restartPolicy"))...)
	errs = append(errs, validateEnum(spec.DnsPolicy, dnsPolicies, p.Child("dnsPolicy"))...)
	errs = append(errs, ValidateLabels(spec.NodeSelector, p.Child("nodeSelector"))...)
	if spec.NodeName != "" {
		for _, msg := range IsDNS1123Subdomain(spec.NodeName) {
			errs = append(errs, Invalid(p.Child("nodeName"), spec.NodeName, msg))
		}
	}
	if spec.Hostname != "" {
		for _, msg := range IsDNS1123Label(spec.Hostname) {
			errs = append(errs, Invalid(p.Child("hostname"), spec.Hostname, msg))
		}
	}
	for _, f := range []struct{ name, value string }{
		{"schedulerName", spec.SchedulerName},
		{"serviceAccountName", spec.ServiceAccountName},
		{"priorityClassName", spec.PriorityClassName},
	} {
		if f.value == "" {
			continue
		}
		for _, msg := range IsDNS1123Subdomain(f.value) {
			errs = append(errs, Invalid(p.Child(f.name), f.value, msg))
		}
	}
	if v := spec.TerminationGracePeriodSeconds; v != nil && *v < 0 {
		errs = append(errs, Invalid(p.Child("terminationGracePeriodSeconds"), *v, "must be greater than or equal to 0"))
	}
	if v := spec.ActiveDeadlineSeconds; v != nil && (*v < 1 || *v > math.MaxInt32) {
		errs = append(errs, Invalid(p.Child("activeDeadlineSeconds"), *v, inclusiveRangeError(1, math.MaxInt32)))
	}
	errs = append(errs, ValidateTolerations(spec.Tolerations, p.Child("tolerations"))...)
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil {
		errs = append(errs, validateNodeAffinity(a.NodeAffinity, p.Child("affinity", "nodeAffinity"))...)
	}
	return errs
}

// validateEnum reports an empty value as Required and an unknown one as
// NotSupported.
func validateEnum(v string, valid []string, p *Path) ErrorList {
	if v == "" {
		return ErrorList{Required(p, "")}
	}
	if !slices.Contains(valid, v) {
		return ErrorList{NotSupported(p, v, valid)}
	}
	return nil
}

func validateContainers(cs []*v1.Container, volumes map[string]bool, names map[string]bool, p *Path) ErrorList {
	var errs ErrorList
	for i, c := range cs {
		ip := p.Index(i)
		if c == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		np := ip.Child("name")
		switch {
		case c.Name == "":
			errs = append(errs, Required(np, ""))
		case len(IsDNS1123Label(c.Name)) > 0:
			for _, msg := range IsDNS1123Label(c.Name) {
				errs = append(errs, Invalid(np, c.Name, msg))
			}
		case names[c.Name]:
			errs = append(errs, Duplicate(np, c.Name))
		default:
			names[c.Name] = true
		}
		if c.Image == "" {
			errs = append(errs, Required(ip.Child("image"), ""))
		} else if strings.TrimSpace(c.Image) != c.Image {
			errs = append(errs, Invalid(ip.Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
		errs = append(errs, validateEnum(c.ImagePullPolicy, pullPolicies, ip.Child("imagePullPolicy"))...)
		errs = append(errs, validateEnum(c.TerminationMessagePolicy, terminationPolicies, ip.Child("terminationMessagePolicy"))...)
		errs = append(errs, validatePorts(c.Ports, ip.Child("ports"))...)
		errs = append(errs, validateEnv(c.Env, ip.Child("env"))...)
		errs = append(errs, validateVolumeMounts(c.VolumeMounts, volumes, ip.Child("volumeMounts"))...)
		errs = append(errs, ValidateResourceRequirements(c.Resources, ip.Child("resources"))...)
		errs = append(errs, validateProbe(c.LivenessProbe, ip.Child("livenessProbe"))...)
		errs = append(errs, validateProbe(c.ReadinessProbe, ip.Child("readinessProbe"))...)
		errs = append(errs, validateProbe(c.StartupProbe, ip.Child("startupProbe"))...)
		if c.LivenessProbe != nil && c.LivenessProbe.SuccessThreshold != 1 {
			errs = append(errs, Invalid(ip.Child("livenessProbe", "successThreshold"), c.LivenessProbe.SuccessThreshold, "must be 1"))
		}
		if c.StartupProbe != nil && c.StartupProbe.SuccessThreshold != 1 {
			errs = append(errs, Invalid(ip.Child("startupProbe", "successThreshold"), c.StartupProbe.SuccessThreshold, "must be 1"))
		}
	}
	return errs
}

// validateInitContainerProbes forbids probes on init containers, as
// Kubernetes does for init containers that are not sidecars (sidecars, with
// a restartPolicy of their own, are not supported): they run to completion.
func validateInitContainerProbes(cs []*v1.Container, p *Path) ErrorList {
	var errs ErrorList
	for i, c := range cs {
		if c == nil {
			continue
		}
		for _, probe := range []struct {
			name string
			set  bool
		}{
			{"livenessProbe", c.LivenessProbe != nil},
			{"readinessProbe", c.ReadinessProbe != nil},
			{"startupProbe", c.StartupProbe != nil},
		} {
			if probe.set {
				errs = append(errs, Forbidden(p.Index(i).Child(probe.name), "may not be set for init containers without restartPolicy=Always"))
			}
		}
	}
	return errs
}

func validatePorts(ports []*v1.ContainerPort, p *Path) ErrorList {
	var errs ErrorList
	names := map[string]bool{}
	for i, port := range ports {
		ip := p.Index(i)
		if port == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		if port.Name != "" {
			if msgs := IsValidPortName(port.Name); len(msgs) > 0 {
				for _, msg := range msgs {
					errs = append(errs, Invalid(ip.Child("name"), port.Name, msg))
				}
			} else if names[port.Name] {
				errs = append(errs, Duplicate(ip.Child("name"), port.Name))
			} else {
				names[port.Name] = true
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, Required(ip.Child("containerPort"), ""))
		} else {
			for _, msg := range IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, Invalid(ip.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, Invalid(ip.Child("hostPort"), port.HostPort, msg))
			}
		}
		errs = append(errs, validateEnum(port.Protocol, protocols, ip.Child("protocol"))...)
	}
	return errs
}

// validateHostPorts reports two ports of a pod taking the same host port,
// protocol and host IP.
func validateHostPorts(spec *v1.PodSpec, p *Path) ErrorList {
	var errs ErrorList
	seen := map[string]bool{}
	for _, group := range []struct {
		name string
		cs   []*v1.Container
	}{{"containers", spec.Containers}, {"initContainers", spec.InitContainers}} {
		for ci, c := range group.cs {
			if c == nil {
				continue
			}
			for pi, port := range c.Ports {
				if port == nil || port.HostPort == 0 {
					continue
				}
				key := fmt.Sprintf("%s/%s/%d", port.Protocol, port.HostIp, port.HostPort)
				if seen[key] {
					errs = append(errs, Duplicate(p.Child(group.name).Index(ci).Child("ports").Index(pi).Child("hostPort"), key))
				}
				seen[key] = true
			}
		}
	}
	return errs
}

func validateHostNetworkPorts(cs []*v1.Container, p *Path) ErrorList {
	var errs ErrorList
	for ci, c := range cs {
		if c == nil {
			continue
		}
		for pi, port := range c.Ports {
			if port != nil && port.HostPort != port.ContainerPort {
				errs = append(errs, Invalid(p.Index(ci).Child("ports").Index(pi).Child("hostPort"), port.HostPort,
					"must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return errs
}

func validateEnv(env []*v1.EnvVar, p *Path) ErrorList {
	var errs ErrorList
	for i, e := range env {
		ip := p.Index(i)
		if e == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		if e.Name == "" {
			errs = append(errs, Required(ip.Child("name"), ""))
		}
		for _, msg := range IsRelaxedEnvVarName(e.Name) {
			errs = append(errs, Invalid(ip.Child("name"), e.Name, msg))
		}
	}
	return errs
}

func validateVolumeMounts(ms []*v1.VolumeMount, volumes map[string]bool, p *Path) ErrorList {
	var errs ErrorList
	paths := map[string]bool{}
	for i, m := range ms {
		ip := p.Index(i)
		if m == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		if m.Name == "" {
			errs = append(errs, Required(ip.Child("name"), ""))
		} else if !volumes[m.Name] {
			errs = append(errs, NotFound(ip.Child("name"), m.Name))
		}
		switch {
		case m.MountPath == "":
			errs = append(errs, Required(ip.Child("mountPath"), ""))
		case !path.IsAbs(m.MountPath):
			errs = append(errs, Invalid(ip.Child("mountPath"), m.MountPath, "must be an absolute path"))
		case paths[m.MountPath]:
			errs = append(errs, Invalid(ip.Child("mountPath"), m.MountPath, "must be unique"))
		}
		paths[m.MountPath] = true
		if m.SubPath != "" {
			errs = append(errs, validateLocalDescendingPath(m.SubPath, ip.Child("subPath"))...)
		}
	}
	return errs
}

func validateLocalDescendingPath(s string, p *Path) ErrorList {
	var errs ErrorList
	if path.IsAbs(s) {
		errs = append(errs, Invalid(p, s, "must be a relative path"))
	}
	errs = append(errs, validatePathNoBacksteps(s, p)...)
	return errs
}

func validatePathNoBacksteps(s string, p *Path) ErrorList {
	if slices.Contains(strings.Split(s, "/"), "..") {
		return ErrorList{Invalid(p, s, "must not contain '..'")}
	}
	return nil
}

// validateVolumes checks the volumes and returns the set of their names.
func validateVolumes(vs []*v1.Volume, p *Path) (map[string]bool, ErrorList) {
	var errs ErrorList
	names := map[string]bool{}
	for i, v := range vs {
		ip := p.Index(i)
		if v == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		np := ip.Child("name")
		if v.Name == "" {
			errs = append(errs, Required(np, ""))
		} else {
			for _, msg := range IsDNS1123Label(v.Name) {
				errs = append(errs, Invalid(np, v.Name, msg))
			}
		}
		if names[v.Name] {
			errs = append(errs, Duplicate(np, v.Name))
		} else if v.Name != "" {
			names[v.Name] = true
		}
		errs = append(errs, validateVolumeSource(v, ip)...)
	}
	return names, errs
}

func validateVolumeSource(v *v1.Volume, p *Path) ErrorList {
	var errs ErrorList
	n := 0
	if v.EmptyDir != nil {
		n++
		errs = append(errs, validateEnumAllowEmpty(v.EmptyDir.Medium, emptyDirMedia, p.Child("emptyDir", "medium"))...)
		if v.EmptyDir.SizeLimit != "" {
			errs = append(errs, validateQuantity(v.EmptyDir.SizeLimit, p.Child("emptyDir", "sizeLimit"))...)
		}
	}
	if v.HostPath != nil {
		if n > 0 {
			errs = append(errs, Forbidden(p.Child("hostPath"), "may not specify more than 1 volume type"))
		} else {
			n++
			hp := p.Child("hostPath")
			if v.HostPath.Path == "" {
				errs = append(errs, Required(hp.Child("path"), ""))
			} else {
				errs = append(errs, validatePathNoBacksteps(v.HostPath.Path, hp.Child("path"))...)
			}
			errs = append(errs, validateEnumAllowEmpty(v.HostPath.Type, hostPathTypes, hp.Child("type"))...)
		}
	}
	if v.ConfigMap != nil {
		if n > 0 {
			errs = append(errs, Forbidden(p.Child("configMap"), "may not specify more than 1 volume type"))
		} else {
			n++
			if v.ConfigMap.Name == "" {
				errs = append(errs, Required(p.Child("configMap", "name"), ""))
			} else {
				for _, msg := range IsDNS1123Subdomain(v.ConfigMap.Name) {
					errs = append(errs, Invalid(p.Child("configMap", "name"), v.ConfigMap.Name, msg))
				}
			}
			errs = append(errs, validateConfigMapVolume(v.ConfigMap, p.Child("configMap"))...)
		}
	}
	if n == 0 {
		errs = append(errs, Required(p, "must specify a volume type"))
	}
	return errs
}

// validateConfigMapVolume checks the items and modes of a configMap
// volume as Kubernetes does.
func validateConfigMapVolume(cm *v1.ConfigMapVolumeSource, p *Path) ErrorList {
	var errs ErrorList
	if cm.DefaultMode != nil {
		errs = append(errs, validateFileMode(cm.GetDefaultMode(), p.Child("defaultMode"))...)
	}
	for i, it := range cm.Items {
		ip := p.Child("items").Index(i)
		if it.GetKey() == "" {
			errs = append(errs, Required(ip.Child("key"), ""))
		} else {
			for _, msg := range IsConfigMapKey(it.GetKey()) {
				errs = append(errs, Invalid(ip.Child("key"), it.GetKey(), msg))
			}
		}
		if it.GetPath() == "" {
			errs = append(errs, Required(ip.Child("path"), ""))
		} else {
			errs = append(errs, validateLocalDescendingPath(it.GetPath(), ip.Child("path"))...)
			if strings.HasPrefix(it.GetPath(), "..") {
				errs = append(errs, Invalid(ip.Child("path"), it.GetPath(), "must not start with '..'"))
			}
		}
		if it.Mode != nil {
			errs = append(errs, validateFileMode(it.GetMode(), ip.Child("mode"))...)
		}
	}
	return errs
}

func validateFileMode(mode int32, p *Path) ErrorList {
	if mode < 0 || mode > 0o777 {
		return ErrorList{Invalid(p, mode, "must be a number between 0 and 0777 (octal), both inclusive")}
	}
	return nil
}

func validateEnumAllowEmpty(v string, valid []string, p *Path) ErrorList {
	if v == "" || slices.Contains(valid, v) {
		return nil
	}
	return ErrorList{NotSupported(p, v, valid)}
}

// validateQuantity parses a quantity and requires it to be >= 0.
func validateQuantity(s string, p *Path) ErrorList {
	q, err := quantity.Parse(s)
	if err != nil {
		return ErrorList{Invalid(p, s, err.Error())}
	}
	if q.Sign() < 0 {
		return ErrorList{Invalid(p, q.String(), "must be greater than or equal to 0")}
	}
	return nil
}

// Standard container resources, as Kubernetes knows them.
var containerResources = []string{"cpu", "memory", "ephemeral-storage"}

// isNativeResource: no domain, or a kubernetes.io domain.
func isNativeResource(name string) bool {
	return !strings.Contains(name, "/") || strings.Contains(name, "kubernetes.io/")
}

func isHugePages(name string) bool { return strings.HasPrefix(name, "hugepages-") }

// isOvercommitAllowed: requests may be below limits for native resources
// other than huge pages; extended resources need requests == limits.
func isOvercommitAllowed(name string) bool { return isNativeResource(name) && !isHugePages(name) }

func isExtendedResource(name string) bool {
	if isNativeResource(name) || strings.HasPrefix(name, "requests.") {
		return false
	}
	return len(IsQualifiedName("requests."+name)) == 0
}

func validateContainerResourceName(name string, p *Path) ErrorList {
	var errs ErrorList
	for _, msg := range IsQualifiedName(name) {
		errs = append(errs, Invalid(p, name, msg))
	}
	if len(errs) > 0 {
		return errs
	}
	if !strings.Contains(name, "/") {
		if !slices.Contains(containerResources, name) && !isHugePages(name) {
			errs = append(errs, Invalid(p, name, "must be a standard resource for containers"))
		}
	} else if !isNativeResource(name) && !isExtendedResource(name) {
		errs = append(errs, Invalid(p, name, "doesn't follow extended resource name standard"))
	}
	return errs
}

// ValidateResourceRequirements checks resource names, that quantities parse
// and are >= 0, and that each request is at most its limit (equal for
// extended resources, whose limit is then required).
func ValidateResourceRequirements(r *v1.ResourceRequirements, p *Path) ErrorList {
	if r == nil {
		return nil
	}
	var errs ErrorList
	limPath, reqPath := p.Child("limits"), p.Child("requests")
	limits := map[string]quantity.Quantity{}
	for _, name := range sortedKeys(r.Limits) {
		fp := limPath.Key(name)
		errs = append(errs, validateContainerResourceName(name, fp)...)
		q, qErrs := validateResourceQuantity(name, r.Limits[name], fp)
		errs = append(errs, qErrs...)
		if len(qErrs) == 0 {
			limits[name] = q
		}
	}
	for _, name := range sortedKeys(r.Requests) {
		fp := reqPath.Key(name)
		errs = append(errs, validateContainerResourceName(name, fp)...)
		q, qErrs := validateResourceQuantity(name, r.Requests[name], fp)
		errs = append(errs, qErrs...)
		if len(qErrs) > 0 {
			continue
		}
		limit, ok := limits[name]
		_, limitSet := r.Limits[name]
		switch {
		case ok && q.Cmp(limit) != 0 && !isOvercommitAllowed(name):
			errs = append(errs, Invalid(reqPath, q.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case ok && q.Cmp(limit) > 0:
			errs = append(errs, Invalid(reqPath, q.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		case !limitSet && !isOvercommitAllowed(name):
			errs = append(errs, Required(limPath, "Limit must be set for non overcommitable resources"))
		}
	}
	return errs
}

// validateResourceQuantity parses a resource quantity, requires it >= 0 and
// whole for integer resources (pods, extended resources).
func validateResourceQuantity(name, s string, p *Path) (quantity.Quantity, ErrorList) {
	q, err := quantity.Parse(s)
	if err != nil {
		return q, ErrorList{Invalid(p, s, err.Error())}
	}
	if q.Sign() < 0 {
		return q, ErrorList{Invalid(p, q.String(), "must be greater than or equal to 0")}
	}
	if (name == "pods" || isExtendedResource(name)) && q.MilliValue()%1000 != 0 {
		return q, ErrorList{Invalid(p, q.String(), "must be an integer")}
	}
	return q, nil
}

func validateProbe(pr *v1.Probe, p *Path) ErrorList {
	if pr == nil {
		return nil
	}
	var errs ErrorList
	n := 0
	if pr.Exec != nil {
		n++
		if len(pr.Exec.Command) == 0 {
			errs = append(errs, Required(p.Child("exec", "command"), ""))
		}
	}
	if h := pr.HttpGet; h != nil {
		if n > 0 {
			errs = append(errs, Forbidden(p.Child("httpGet"), "may not specify more than 1 handler type"))
		} else {
			n++
			hp := p.Child("httpGet")
			if h.Path == "" {
				errs = append(errs, Required(hp.Child("path"), ""))
			}
			errs = append(errs, ValidatePortNumOrName(h.Port, hp.Child("port"))...)
			errs = append(errs, validateEnum(h.Scheme, httpSchemes, hp.Child("scheme"))...)
			for _, hdr := range h.HttpHeaders {
				if hdr == nil {
					continue
				}
				for _, msg := range IsHTTPHeaderName(hdr.Name) {
					errs = append(errs, Invalid(hp.Child("httpHeaders"), hdr.Name, msg))
				}
			}
		}
	}
	if pr.TcpSocket != nil {
		if n > 0 {
			errs = append(errs, Forbidden(p.Child("tcpSocket"), "may not specify more than 1 handler type"))
		} else {
			n++
			errs = append(errs, ValidatePortNumOrName(pr.TcpSocket.Port, p.Child("tcpSocket", "port"))...)
		}
	}
	if n == 0 {
		errs = append(errs, Required(p, "must specify a handler type"))
	}
	for _, f := range []struct {
		name string
		v    int32
	}{
		{"initialDelaySeconds", pr.InitialDelaySeconds},
		{"timeoutSeconds", pr.TimeoutSeconds},
		{"periodSeconds", pr.PeriodSeconds},
		{"successThreshold", pr.SuccessThreshold},
		{"failureThreshold", pr.FailureThreshold},
	} {
		if f.v < 0 {
			errs = append(errs, Invalid(p.Child(f.name), int64(f.v), "must be greater than or equal to 0"))
		}
	}
	if v := pr.TerminationGracePeriodSeconds; v != nil && *v <= 0 {
		errs = append(errs, Invalid(p.Child("terminationGracePeriodSeconds"), *v, "must be greater than 0"))
	}
	return errs
}

// ParseIntOrString reads an int-or-string field as the API stores it: an
// optional '-' and digits is an integer; anything else is a string.
func ParseIntOrString(s string) (n int, isInt bool) {
	d := strings.TrimPrefix(s, "-")
	if d == "" {
		return 0, s == "" // an empty field reads as the integer 0
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		if s[0] == '-' {
			return math.MinInt, true
		}
		return math.MaxInt, true
	}
	return v, true
}

// ValidatePortNumOrName checks a probe port: a number 1..65535 or a port name.
func ValidatePortNumOrName(port string, p *Path) ErrorList {
	var errs ErrorList
	if n, isInt := ParseIntOrString(port); isInt {
		for _, msg := range IsValidPortNum(n) {
			errs = append(errs, Invalid(p, n, msg))
		}
		return errs
	}
	for _, msg := range IsValidPortName(port) {
		errs = append(errs, Invalid(p, port, msg))
	}
	return errs
}

// ValidateTolerations checks a pod's tolerations.
func ValidateTolerations(ts []*v1.Toleration, p *Path) ErrorList {
	var errs ErrorList
	for i, t := range ts {
		ip := p.Index(i)
		if t == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		if t.Key != "" {
			errs = append(errs, validateLabelName(t.Key, ip.Child("key"))...)
		}
		if t.Key == "" && t.Operator != "Exists" {
			errs = append(errs, Invalid(ip.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != "NoExecute" {
			errs = append(errs, Invalid(ip.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case "Equal", "":
			if msgs := IsValidLabelValue(t.Value); len(msgs) > 0 {
				errs = append(errs, Invalid(ip.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case "Exists":
			if t.Value != "" {
				errs = append(errs, Invalid(ip.Child("operator"), t.Value, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, NotSupported(ip.Child("operator"), t.Operator, tolerationOperators))
		}
		if t.Effect != "" {
			errs = append(errs, validateTaintEffect(t.Effect, ip.Child("effect"))...)
		}
	}
	return errs
}

func validateTaintEffect(effect string, p *Path) ErrorList {
	if effect == "" {
		return ErrorList{Required(p, "")}
	}
	if !slices.Contains(taintEffects, effect) {
		return ErrorList{NotSupported(p, effect, taintEffects)}
	}
	return nil
}

func validateNodeAffinity(na *v1.NodeAffinity, p *Path) ErrorList {
	var errs ErrorList
	if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
		rp := p.Child("requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
		if len(r.NodeSelectorTerms) == 0 {
			errs = append(errs, Required(rp, "must have at least one node selector term"))
		}
		for i, term := range r.NodeSelectorTerms {
			errs = append(errs, validateNodeSelectorTerm(term, rp.Index(i))...)
		}
	}
	pp := p.Child("preferredDuringSchedulingIgnoredDuringExecution")
	for i, term := range na.PreferredDuringSchedulingIgnoredDuringExecution {
		ip := pp.Index(i)
		if term == nil {
			errs = append(errs, Required(ip, ""))
			continue
		}
		if term.Weight <= 0 || term.Weight > 100 {
			errs = append(errs, Invalid(ip.Child("weight"), term.Weight, "must be in the range 1-100"))
		}
		errs = append(errs, validateNodeSelectorTerm(term.Preference, ip.Child("preference"))...)
	}
	return errs
}

func validateNodeSelectorTerm(term *v1.NodeSelectorTerm, p *Path) ErrorList {
	if term == nil {
		return nil
	}
	var errs ErrorList
	for j, r := range term.MatchExpressions {
		errs = append(errs, validateNodeSelectorRequirement(r, p.Child("matchExpressions").Index(j))...)
	}
	for j, r := range term.MatchFields {
		errs = append(errs, validateNodeFieldSelectorRequirement(r, p.Child("matchFields").Index(j))...)
	}
	return errs
}

func validateNodeSelectorRequirement(r *v1.NodeSelectorRequirement, p *Path) ErrorList {
	if r == nil {
		return ErrorList{Required(p, "")}
	}
	var errs ErrorList
	switch r.Operator {
	case "In", "NotIn":
		if len(r.Values) == 0 {
			errs = append(errs, Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case "Exists", "DoesNotExist":
		if len(r.Values) > 0 {
			errs = append(errs, Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case "Gt", "Lt":
		if len(r.Values) != 1 {
			errs = append(errs, Required(p.Child("values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		} else if _, err := strconv.ParseInt(r.Values[0], 10, 64); err != nil {
			errs = append(errs, Invalid(p.Child("values").Index(0), r.Values[0], "must be an integer when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, Invalid(p.Child("operator"), r.Operator, "not a valid selector operator"))
	}
	errs = append(errs, validateLabelName(r.Key, p.Child("key"))...)
	for i, v := range r.Values {
		for _, msg := range IsValidLabelValue(v) {
			errs = append(errs, Invalid(p.Child("values").Index(i), v, msg))
		}
	}
	return errs
}

func validateNodeFieldSelectorRequirement(r *v1.NodeSelectorRequirement, p *Path) ErrorList {
	if r == nil {
		return ErrorList{Required(p, "")}
	}
	var errs ErrorList
	switch r.Operator {
	case "In", "NotIn":
		if len(r.Values) != 1 {
			errs = append(errs, Required(p.Child("values"), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	default:
		errs = append(errs, Invalid(p.Child("operator"), r.Operator, "not a valid selector operator"))
	}
	if r.Key != "metadata.name" {
		errs = append(errs, Invalid(p.Child("key"), r.Key, "not a valid field selector key"))
	} else {
		for i, v := range r.Values {
			for _, msg := range IsDNS1123Subdomain(v) {
				errs = append(errs, Invalid(p.Child("values").Index(i), v, msg))
			}
		}
	}
	return errs
}
