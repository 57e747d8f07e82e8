package manifest

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// prints (as JSON and as YAML) to a manifest that decodes to an equal
// object. `go test` runs the seed corpus only; `go test -fuzz FuzzDecode`
// explores.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, obj := range roundTripObjects() {
		j, err := EncodeJSON(obj)
		if err != nil {
			f.Fatal(err)
		}
		y, err := EncodeYAML(obj)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(j)
		f.Add(y)
	}
	for _, s := range []string{
		"",
		"---\n...\n",
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n",
		`{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"a"}}]}`,
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a, creationTimestamp: 0000-01-01T00:00:00Z}\nspec: {priority: 1e9, containers: [null, {ports: [{containerPort: 0x10}]}]}\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: AAEC, b: null}\n",
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels: &l {a: b}\n  annotations: *l\n",
		"[1, 2]",
		"{\"a\": [}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode(data)
		if err != nil {
			return
		}
		for _, obj := range objs {
			for _, enc := range []struct {
				name string
				fn   func() ([]byte, error)
			}{{"json", func() ([]byte, error) { return EncodeJSON(obj) }}, {"yaml", func() ([]byte, error) { return EncodeYAML(obj) }}} {
				out, err := enc.fn()
				if err != nil {
					t.Fatalf("%s: cannot print a decoded object: %v", enc.name, err)
				}
				back, err := Decode(out)
				if err != nil {
					t.Fatalf("%s: printed object does not decode: %v\n%s", enc.name, err, out)
				}
				if len(back) != 1 || !proto.Equal(obj, back[0]) {
					t.Fatalf("%s: round trip changed the object:\n%s", enc.name, out)
				}
			}
		}
	})
}
