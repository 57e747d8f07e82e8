package plugins

import (
	"testing"

	"minik8s/pkg/scheduler/framework"
)

func TestDefaultProfileBuilds(t *testing.T) {
	fw, err := framework.New(NewRegistry(), DefaultProfile(), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if !fw.HasScorePlugins() {
		t.Fatal("the default profile has no score plugins")
	}
	for name, factory := range NewRegistry() {
		pl, err := factory()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if pl.Name() != name {
			t.Errorf("plugin registered as %q calls itself %q", name, pl.Name())
		}
	}
}

func TestProfileErrors(t *testing.T) {
	tests := []struct {
		name string
		give framework.Profile
	}{
		{name: "unknown filter", give: framework.Profile{Filter: []string{"Nope"}}},
		{name: "score plugin as filter", give: framework.Profile{Filter: []string{NameLeastAllocated}}},
		{name: "filter plugin as score", give: framework.Profile{Score: []framework.PluginRef{{Name: NameNodeName}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := framework.New(NewRegistry(), tt.give, nil); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}
