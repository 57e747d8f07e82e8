package nodestatus

import (
	"reflect"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
)

func TestParseTaints(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    []*v1.Taint
		wantErr bool
	}{
		{name: "empty", give: ""},
		{name: "key and value", give: "dedicated=gpu:NoSchedule", want: []*v1.Taint{{Key: "dedicated", Value: "gpu", Effect: "NoSchedule"}}},
		{name: "key only, two", give: "a:NoExecute, b=c:PreferNoSchedule", want: []*v1.Taint{{Key: "a", Effect: "NoExecute"}, {Key: "b", Value: "c", Effect: "PreferNoSchedule"}}},
		{name: "no effect", give: "a=b", wantErr: true},
		{name: "bad effect", give: "a=b:Sometimes", wantErr: true},
		{name: "no key", give: "=b:NoSchedule", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTaints(tt.give)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseLabels(t *testing.T) {
	tests := []struct {
		name    string
		give    string
		want    map[string]string
		wantErr bool
	}{
		{name: "empty", give: "", want: map[string]string{}},
		{name: "two", give: "a=b, zone=eu", want: map[string]string{"a": "b", "zone": "eu"}},
		{name: "empty value", give: "a=", want: map[string]string{"a": ""}},
		{name: "no equals", give: "a", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLabels(tt.give)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCapacityOverrides(t *testing.T) {
	c, err := Capacity(Host{CPUs: 2, MemoryBytes: 4 << 30}, 110, map[string]string{"cpu": "8", "memory": "16Gi"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"cpu": "8", "memory": "16Gi", "pods": "110"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("capacity %v, want %v", c, want)
	}
	c, err = Capacity(Host{CPUs: 2, MemoryBytes: 4 << 30}, 10, nil)
	if err != nil || c["memory"] != "4194304Ki" || c["cpu"] != "2" || c["pods"] != "10" {
		t.Errorf("host capacity %v, %v", c, err)
	}
	if _, err := Capacity(Host{}, 1, map[string]string{"cpu": "lots"}); err == nil {
		t.Errorf("a bad quantity was accepted")
	}
}
