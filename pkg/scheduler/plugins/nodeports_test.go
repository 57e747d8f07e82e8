package plugins

import (
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/scheduler/framework"
)

func withHostPort(ip, proto string, port int32) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports,
			&v1.ContainerPort{ContainerPort: 80, HostPort: port, Protocol: proto, HostIp: ip})
	}
}

func TestNodePorts(t *testing.T) {
	tests := []struct {
		name     string
		existing []func(*v1.Pod)
		pod      []func(*v1.Pod)
		wantFit  bool
	}{
		{name: "no host ports", existing: []func(*v1.Pod){withHostPort("", "TCP", 80)}, wantFit: true},
		{name: "free port", existing: []func(*v1.Pod){withHostPort("", "TCP", 80)},
			pod: []func(*v1.Pod){withHostPort("", "TCP", 81)}, wantFit: true},
		{name: "same port and protocol", existing: []func(*v1.Pod){withHostPort("", "TCP", 80)},
			pod: []func(*v1.Pod){withHostPort("", "TCP", 80)}, wantFit: false},
		{name: "protocol defaults to TCP", existing: []func(*v1.Pod){withHostPort("", "", 80)},
			pod: []func(*v1.Pod){withHostPort("", "TCP", 80)}, wantFit: false},
		{name: "other protocol", existing: []func(*v1.Pod){withHostPort("", "TCP", 80)},
			pod: []func(*v1.Pod){withHostPort("", "UDP", 80)}, wantFit: true},
		{name: "different specific IPs", existing: []func(*v1.Pod){withHostPort("10.0.0.1", "TCP", 80)},
			pod: []func(*v1.Pod){withHostPort("10.0.0.2", "TCP", 80)}, wantFit: true},
		{name: "0.0.0.0 conflicts with a specific IP", existing: []func(*v1.Pod){withHostPort("10.0.0.1", "TCP", 80)},
			pod: []func(*v1.Pod){withHostPort("0.0.0.0", "TCP", 80)}, wantFit: false},
		{name: "a specific IP conflicts with every IP", existing: []func(*v1.Pod){withHostPort("", "TCP", 80)},
			pod: []func(*v1.Pod){withHostPort("10.0.0.1", "TCP", 80)}, wantFit: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ni := nodeInfo(newNode("n1"), newPod("existing", tt.existing...))
			got := runFilter(t, NodePorts{}, newPod("p", tt.pod...), ni)
			if tt.wantFit {
				wantStatus(t, got, framework.Success)
			} else {
				wantStatus(t, got, framework.Unschedulable, ErrReasonNodePorts)
			}
		})
	}
}

func TestNodePortsFreedWhenPodRemoved(t *testing.T) {
	ni := nodeInfo(newNode("n1"), newPod("existing", withHostPort("", "TCP", 80)))
	pod := newPod("p", withHostPort("", "TCP", 80))
	wantStatus(t, runFilter(t, NodePorts{}, pod, ni), framework.Unschedulable, ErrReasonNodePorts)
	if !ni.RemovePod("default/existing") {
		t.Fatal("RemovePod: pod not found")
	}
	wantStatus(t, runFilter(t, NodePorts{}, pod, ni), framework.Success)
}
