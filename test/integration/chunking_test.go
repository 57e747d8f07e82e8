package integration

import (
	"fmt"
	"strings"
	"testing"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/test/integration/framework"
)

// minictl get lists in chunks (--chunk-size, kubectl's flag): the built
// binary pages through the list with limit and continue and prints every
// object once, in one table.
func TestMinictlGetChunks(t *testing.T) {
	cp := framework.StartControlPlane(t)
	admin := cp.Admin(t)
	ctx := framework.Context(t)

	if _, err := admin.Namespaces().Create(ctx, &v1.Namespace{Metadata: &v1.ObjectMeta{Name: "chunks"}}); err != nil {
		t.Fatal(err)
	}
	const n = 25
	for i := range n {
		cm := &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: fmt.Sprintf("cm-%02d", i), Namespace: "chunks"}, Data: map[string]string{"i": fmt.Sprint(i)}}
		if _, err := admin.ConfigMaps().Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
	}

	lists := func() float64 {
		return cp.Metric(t, "apiserver_request_total", "verb=list", "resource=configmaps", "code=OK")
	}
	before := lists()
	out := cp.MustMinictl(t, "", "get", "cm", "-n", "chunks", "--chunk-size", "4")
	// 25 objects in pages of 4: 7 requests.
	if got := lists() - before; got != 7 {
		t.Errorf("minictl get --chunk-size 4 of %d configmaps made %v list requests, want 7", n, got)
	}
	checkOnce(t, out, n, true)

	// The same through -o name, and with chunking off (one request).
	before = lists()
	checkOnce(t, cp.MustMinictl(t, "", "get", "configmaps", "-n", "chunks", "--chunk-size=0", "-o", "name"), n, false)
	if got := lists() - before; got != 1 {
		t.Errorf("minictl get --chunk-size=0 made %v list requests, want 1", got)
	}
	// Across namespaces, a selector pages as well.
	checkOnce(t, cp.MustMinictl(t, "", "get", "cm", "-A", "--chunk-size", "3", "--field-selector", "metadata.namespace=chunks"), n, true)
}

// checkOnce checks that out lists configmaps cm-00..cm-<n-1>, each once,
// and (for tables) one header.
func checkOnce(t *testing.T, out string, n int, table bool) {
	t.Helper()
	seen := map[string]int{}
	headers := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if table && (fields[0] == "NAME" || fields[0] == "NAMESPACE") {
			headers++
			continue
		}
		name := fields[0]
		if fields[0] == "chunks" && len(fields) > 1 {
			name = fields[1]
		}
		seen[strings.TrimPrefix(name, "configmap/")]++
	}
	if table && headers != 1 {
		t.Errorf("%d table headers, want one table:\n%s", headers, out)
	}
	if len(seen) != n {
		t.Errorf("%d configmaps listed, want %d:\n%s", len(seen), n, out)
	}
	for i := range n {
		name := fmt.Sprintf("cm-%02d", i)
		if seen[name] != 1 {
			t.Errorf("%s listed %d times, want once", name, seen[name])
		}
	}
}
