package hollow

import (
	"testing"

	"minik8s/pkg/kubelet/runtime"
	"minik8s/pkg/kubelet/runtime/runtimetest"
)

func TestContract(t *testing.T) {
	runtimetest.RunSuite(t, func(t *testing.T) runtime.Runtime {
		h, err := New(Config{NodeName: "hollow-" + t.Name()})
		if err != nil {
			t.Fatal(err)
		}
		return h
	})
}
