// Package examples holds the example manifests of the README; its test
// keeps them loadable: each decodes, defaults and validates as minictl
// create would do before sending it.
package examples

import (
	"os"
	"path/filepath"
	"testing"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/defaults"
	"minik8s/pkg/apis/manifest"
	"minik8s/pkg/apis/validation"
)

func TestExamplesDecodeAndValidate(t *testing.T) {
	tests := []struct {
		file  string
		kinds []string
	}{
		{file: "mysql.yaml", kinds: []string{"Deployment"}},
		{file: "web-pod.yaml", kinds: []string{"Pod"}},
		{file: "web-deployment.yaml", kinds: []string{"Deployment"}},
		{file: "web-config.yaml", kinds: []string{"ConfigMap", "Pod"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(".", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := manifest.Decode(data)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(objs) != len(tt.kinds) {
				t.Fatalf("got %d objects, want %d", len(objs), len(tt.kinds))
			}
			for i, obj := range objs {
				if got := kindOf(obj); got != tt.kinds[i] {
					t.Errorf("object %d is a %s, want %s", i, got, tt.kinds[i])
				}
				// minictl fills in the namespace of the context.
				if m := apis.Meta(obj); m.Namespace == "" {
					m.Namespace = "default"
				}
				defaults.Default(obj)
				if err := validation.Validate(obj); err != nil {
					t.Errorf("validate: %v", err)
				}
			}
		})
	}
}

func kindOf(obj apis.Object) string {
	r, err := apis.ForObject(obj)
	if err != nil {
		return err.Error()
	}
	return r.Kind
}
