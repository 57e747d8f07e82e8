package manager

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestEnabledControllers(t *testing.T) {
	all := KnownControllers()
	tests := []struct {
		spec    []string
		want    []string
		wantErr string
	}{
		{[]string{"*"}, all, ""},
		{nil, nil, ""},
		{[]string{"*", "-nodeipam"}, []string{NodeLifecycle, ReplicaSet, Deployment, GarbageCollector, Namespace}, ""},
		{[]string{"-nodeipam", "*"}, []string{NodeLifecycle, ReplicaSet, Deployment, GarbageCollector, Namespace}, ""},
		{[]string{"replicaset", "deployment"}, []string{ReplicaSet, Deployment}, ""},
		{[]string{"replicaset", "-replicaset"}, []string{ReplicaSet}, ""},
		{[]string{"*", "-bogus"}, nil, `"-bogus" is not in the list of known controllers`},
		{[]string{"cronjob"}, nil, `"cronjob" is not in the list of known controllers`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.spec, ","), func(t *testing.T) {
			got, err := EnabledControllers(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestOptionsToConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{"defaults", []string{"--kubeconfig", "cm.conf"}, func(t *testing.T, c Config) {
			if !c.LeaderElect || c.LeaseNamespace != "kube-system" || c.LeaseName != "kube-controller-manager" ||
				c.ClusterCIDR.String() != "10.2.0.0/16" || c.NodeCIDRMaskSize != 24 || c.NodeMonitorGracePeriod.Seconds() != 50 ||
				c.NodeMonitorPeriod.Seconds() != 5 || *c.DefaultUnreachableTolerationSeconds != 300 || c.MetricsBindAddress != "127.0.0.1:10257" ||
				c.ConcurrentNamespaceSyncs != 10 {
				t.Fatalf("config %+v", c)
			}
		}, ""},
		{"no kubeconfig", nil, nil, "--kubeconfig is required"},
		{"bad cidr", []string{"--kubeconfig", "x", "--cluster-cidr", "10.2.0.0"}, nil, "--cluster-cidr"},
		{"bad controller", []string{"--kubeconfig", "x", "--controllers", "*,-nope"}, nil, "not in the list"},
		{"no gc", []string{"--kubeconfig", "x", "--enable-garbage-collector=false"}, func(t *testing.T, c Config) {
			if got, _ := EnabledControllers(c.Controllers); slices.Contains(got, GarbageCollector) {
				t.Fatalf("controllers %v", got)
			}
		}, ""},
		{"short periods", []string{"--kubeconfig", "x", "--node-monitor-grace-period", "4s", "--default-unreachable-toleration-seconds", "2", "--leader-elect=false"}, func(t *testing.T, c Config) {
			if c.NodeMonitorGracePeriod.Seconds() != 4 || *c.DefaultUnreachableTolerationSeconds != 2 || c.LeaderElect {
				t.Fatalf("config %+v", c)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			c, err := o.Config()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestNewDropsNodeIPAMWithoutAllocation(t *testing.T) {
	m, err := New(Config{Kubeconfig: "x", Controllers: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(m.Controllers(), NodeIPAM) {
		t.Fatalf("nodeipam enabled without --allocate-node-cidrs: %v", m.Controllers())
	}
}
