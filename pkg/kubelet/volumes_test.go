package kubelet

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/kubelet/podsync"
)

func mode(m fs.FileMode) *fs.FileMode { return &m }

var testNow = func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) }

// volumeFiles reads what a container mounting dir sees: every name that
// does not start with "..", followed through its symlink, with its mode.
func volumeFiles(t *testing.T, dir string) map[string]fileProjection {
	t.Helper()
	out := map[string]fileProjection{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		root := filepath.Join(dir, e.Name())
		info, err := os.Stat(root)
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		if !info.IsDir() {
			data, err := os.ReadFile(root)
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = fileProjection{Data: data, Mode: info.Mode().Perm()}
			continue
		}
		// The trailing slash follows the link to the directory.
		err = filepath.WalkDir(root+"/", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, filepath.Clean(p))
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = fileProjection{Data: data, Mode: info.Mode().Perm()}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// dotNames lists the names of dir that start with "..".
func dotNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestAtomicWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	w := atomicWriter{dir: dir, now: testNow}

	first := map[string]fileProjection{
		"greeting":    {Data: []byte("hello"), Mode: 0o644},
		"conf/app.sh": {Data: []byte("#!/bin/sh"), Mode: 0o755},
		"secret":      {Data: []byte("s"), Mode: 0o400},
	}
	changed, err := w.write(first)
	if err != nil || !changed {
		t.Fatalf("first write: changed %v, err %v", changed, err)
	}
	if got := volumeFiles(t, dir); !reflect.DeepEqual(got, first) {
		t.Fatalf("files after the first write\n got  %v\n want %v", got, first)
	}
	// The user-visible names are links into ..data, which links to a
	// timestamped directory.
	for _, name := range []string{"greeting", "conf", "secret"} {
		if got, err := os.Readlink(filepath.Join(dir, name)); err != nil || got != filepath.Join("..data", name) {
			t.Errorf("link %s -> %q (%v), want ..data/%s", name, got, err, name)
		}
	}
	ts1, err := os.Readlink(filepath.Join(dir, "..data"))
	if err != nil || !strings.HasPrefix(ts1, "..2024_05_06_07_08_09.") {
		t.Fatalf("..data -> %q (%v), want a timestamped directory", ts1, err)
	}
	if got := dotNames(t, dir); !slices.Equal(got, []string{ts1, "..data"}) {
		t.Errorf("dot names %v, want [%s ..data]", got, ts1)
	}

	// The same files again: nothing is written.
	changed, err = w.write(first)
	if err != nil || changed {
		t.Fatalf("same write: changed %v, err %v", changed, err)
	}
	if got, _ := os.Readlink(filepath.Join(dir, "..data")); got != ts1 {
		t.Errorf("an unchanged write switched ..data to %q", got)
	}

	// An update: a new timestamped directory, the old one and the stale
	// names gone, a changed mode is a change.
	second := map[string]fileProjection{
		"greeting": {Data: []byte("bonjour"), Mode: 0o644},
		"secret":   {Data: []byte("s"), Mode: 0o440},
		"new":      {Data: []byte("n"), Mode: 0o644},
	}
	changed, err = w.write(second)
	if err != nil || !changed {
		t.Fatalf("update: changed %v, err %v", changed, err)
	}
	ts2, _ := os.Readlink(filepath.Join(dir, "..data"))
	if ts2 == ts1 {
		t.Fatalf("..data still points to %s", ts1)
	}
	if got := volumeFiles(t, dir); !reflect.DeepEqual(got, second) {
		t.Errorf("files after the update\n got  %v\n want %v", got, second)
	}
	if _, err := os.Lstat(filepath.Join(dir, "conf")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale name conf: %v, want it removed", err)
	}
	if got := dotNames(t, dir); !slices.Equal(got, []string{ts2, "..data"}) {
		t.Errorf("dot names %v, want [%s ..data]", got, ts2)
	}

	// A removed file of a kept directory is a change too.
	nested := map[string]fileProjection{"d/a": {Data: []byte("a"), Mode: 0o644}, "d/b": {Data: []byte("b"), Mode: 0o644}}
	if _, err := w.write(nested); err != nil {
		t.Fatal(err)
	}
	delete(nested, "d/b")
	if changed, err := w.write(nested); err != nil || !changed {
		t.Fatalf("removing d/b: changed %v, err %v", changed, err)
	}
	if got := volumeFiles(t, dir); !reflect.DeepEqual(got, nested) {
		t.Errorf("files after removing d/b\n got  %v\n want %v", got, nested)
	}

	// An empty set: an empty volume.
	if _, err := w.write(nil); err != nil {
		t.Fatal(err)
	}
	if got := volumeFiles(t, dir); len(got) != 0 {
		t.Errorf("files of an empty set: %v", got)
	}
	if got := dotNames(t, dir); len(got) != 2 {
		t.Errorf("dot names of an empty set %v, want ..data and its directory", got)
	}
}

func TestAtomicWriterRepairsAnInterruptedWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	w := atomicWriter{dir: dir, now: testNow}
	files := map[string]fileProjection{"a": {Data: []byte("1"), Mode: 0o644}, "b": {Data: []byte("2"), Mode: 0o644}}
	if _, err := w.write(files); err != nil {
		t.Fatal(err)
	}
	// A write cut short: a link missing, a stray directory and temporary
	// link left, a link of a name no longer there.
	if err := os.Remove(filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "..2000_01_01_00_00_00.123"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..2000_01_01_00_00_00.123", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/gone", filepath.Join(dir, "gone")); err != nil {
		t.Fatal(err)
	}
	changed, err := w.write(files)
	if err != nil || changed {
		t.Fatalf("changed %v, err %v; want the same files in place", changed, err)
	}
	if got := volumeFiles(t, dir); !reflect.DeepEqual(got, files) {
		t.Errorf("files\n got  %v\n want %v", got, files)
	}
	if got := dotNames(t, dir); len(got) != 2 {
		t.Errorf("dot names %v, want ..data and its directory", got)
	}
}

func TestAtomicWriterRejectsPathsOutsideTheVolume(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
	}{
		{name: "parent", paths: []string{"../escape"}},
		{name: "parent inside", paths: []string{"a/../../escape"}},
		{name: "absolute", paths: []string{"/etc/passwd"}},
		{name: "writer's name", paths: []string{"..data"}},
		{name: "dot dot prefix", paths: []string{"..hidden"}},
		{name: "empty", paths: []string{""}},
		{name: "the volume itself", paths: []string{"a/.."}},
		{name: "too long an element", paths: []string{strings.Repeat("x", 256)}},
		{name: "a file that is a directory", paths: []string{"a", "a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vol")
			payload := map[string]fileProjection{}
			for _, p := range tt.paths {
				payload[p] = fileProjection{Data: []byte("x"), Mode: 0o644}
			}
			_, err := atomicWriter{dir: dir, now: testNow}.write(payload)
			if !errdefs.IsInvalid(err) {
				t.Fatalf("err = %v, want Invalid", err)
			}
			if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the volume directory was made: %v", err)
			}
		})
	}
}

func TestConfigMapPayload(t *testing.T) {
	cm := &v1.ConfigMap{
		Metadata:   &v1.ObjectMeta{Name: "app", Namespace: "default"},
		Data:       map[string]string{"greeting": "hello", "other": "x"},
		BinaryData: map[string][]byte{"blob": {0, 1, 2}},
	}
	tests := []struct {
		name string
		src  configMapSource
		cm   *v1.ConfigMap
		want map[string]fileProjection
		err  string
	}{
		{
			name: "every key",
			src:  configMapSource{Name: "app"},
			cm:   cm,
			want: map[string]fileProjection{
				"greeting": {Data: []byte("hello"), Mode: 0o644},
				"other":    {Data: []byte("x"), Mode: 0o644},
				"blob":     {Data: []byte{0, 1, 2}, Mode: 0o644},
			},
		},
		{
			name: "defaultMode",
			src:  configMapSource{Name: "app", DefaultMode: mode(0o400)},
			cm:   &v1.ConfigMap{Data: map[string]string{"k": "v"}},
			want: map[string]fileProjection{"k": {Data: []byte("v"), Mode: 0o400}},
		},
		{
			name: "items with paths and modes",
			src: configMapSource{Name: "app", DefaultMode: mode(0o440), Items: []keyToPath{
				{Key: "greeting", Path: "hello.txt"},
				{Key: "blob", Path: "bin/blob", Mode: mode(0o600)},
			}},
			cm: cm,
			want: map[string]fileProjection{
				"hello.txt": {Data: []byte("hello"), Mode: 0o440},
				"bin/blob":  {Data: []byte{0, 1, 2}, Mode: 0o600},
			},
		},
		{
			name: "an item's key missing",
			src:  configMapSource{Name: "app", Items: []keyToPath{{Key: "greeting", Path: "g"}, {Key: "nope", Path: "n"}}},
			cm:   cm,
			err:  "configmap references non-existent config key: nope",
		},
		{
			name: "an item's key missing, optional",
			src:  configMapSource{Name: "app", Optional: true, Items: []keyToPath{{Key: "greeting", Path: "g"}, {Key: "nope", Path: "n"}}},
			cm:   cm,
			want: map[string]fileProjection{"g": {Data: []byte("hello"), Mode: 0o644}},
		},
		{
			name: "no ConfigMap",
			src:  configMapSource{Name: "app", Optional: true},
			want: map[string]fileProjection{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configMapPayload(tt.src, tt.cm)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("payload\n got  %v\n want %v", got, tt.want)
			}
		})
	}
}

func TestConfigMapSourceOf(t *testing.T) {
	opt := true
	got := configMapSourceOf(&v1.ConfigMapVolumeSource{Name: "app", Optional: &opt})
	if want := (configMapSource{Name: "app", Optional: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("configMapSourceOf = %+v, want %+v", got, want)
	}
	def, one := int32(0o440), int32(0o600)
	got = configMapSourceOf(&v1.ConfigMapVolumeSource{Name: "app", DefaultMode: &def, Items: []*v1.KeyToPath{
		{Key: "a", Path: "conf/a.ini", Mode: &one},
		{Key: "b", Path: "b.txt"},
	}})
	defMode, oneMode := fs.FileMode(0o440), fs.FileMode(0o600)
	want := configMapSource{Name: "app", DefaultMode: &defMode, Items: []keyToPath{
		{Key: "a", Path: "conf/a.ini", Mode: &oneMode},
		{Key: "b", Path: "b.txt"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("configMapSourceOf with items = %+v, want %+v", got, want)
	}
}

// fakeConfigMaps is a configMapReader over a map of namespace/name.
type fakeConfigMaps struct {
	mu   sync.Mutex
	cms  map[string]*v1.ConfigMap
	err  error // returned by every Get when set
	gets int
}

func (f *fakeConfigMaps) Get(_ context.Context, namespace, name string) (*v1.ConfigMap, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.err != nil {
		return nil, f.err
	}
	cm, ok := f.cms[namespace+"/"+name]
	if !ok {
		return nil, errdefs.NotFound("configmaps %q not found", name)
	}
	return cm, nil
}

func (f *fakeConfigMaps) set(namespace, name string, data map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cms == nil {
		f.cms = map[string]*v1.ConfigMap{}
	}
	f.cms[namespace+"/"+name] = &v1.ConfigMap{Metadata: &v1.ObjectMeta{Name: name, Namespace: namespace}, Data: data}
}

func cmPod(volumes ...*v1.Volume) *v1.Pod {
	return &v1.Pod{
		Metadata: &v1.ObjectMeta{Name: "web", Namespace: "prod", Uid: "uid-1"},
		Spec: &v1.PodSpec{
			Volumes:    volumes,
			Containers: []*v1.Container{{Name: "app", Image: "minik8s/testapp:v1"}},
		},
	}
}

func cmVolume(name, configMap string, optional bool) *v1.Volume {
	return &v1.Volume{Name: name, ConfigMap: &v1.ConfigMapVolumeSource{Name: configMap, Optional: &optional}}
}

func TestConfigMapVolumeSetUp(t *testing.T) {
	root := t.TempDir()
	fake := &fakeConfigMaps{}
	fake.set("prod", "app-config", map[string]string{"greeting": "hello", "other": "x"})
	fake.set("default", "elsewhere", map[string]string{"k": "v"})
	vols := configMapVolumes{rootDir: root, reader: fake, now: testNow, lg: zap.NewNop()}
	pod := cmPod(
		&v1.Volume{Name: "scratch", EmptyDir: &v1.EmptyDirVolumeSource{}},
		cmVolume("cfg", "app-config", false),
	)
	dir := podsync.ConfigMapPath(root, "uid-1", "cfg")

	if errs := vols.setUp(context.Background(), pod, false); len(errs) != 0 {
		t.Fatalf("set up: %v", errs)
	}
	want := map[string]fileProjection{"greeting": {Data: []byte("hello"), Mode: 0o644}, "other": {Data: []byte("x"), Mode: 0o644}}
	if got := volumeFiles(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("files\n got  %v\n want %v", got, want)
	}

	// The ConfigMap changes; the next set-up of the existing volume
	// follows it.
	fake.set("prod", "app-config", map[string]string{"greeting": "bonjour"})
	if errs := vols.setUp(context.Background(), pod, true); len(errs) != 0 {
		t.Fatalf("update: %v", errs)
	}
	want = map[string]fileProjection{"greeting": {Data: []byte("bonjour"), Mode: 0o644}}
	if got := volumeFiles(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("files after the update\n got  %v\n want %v", got, want)
	}

	// The apiserver is away: an error, and the files stay.
	fake.err = errdefs.Unavailable("connection refused")
	errs := vols.setUp(context.Background(), pod, true)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `MountVolume.SetUp failed for volume "cfg" : get configmap "app-config": connection refused`) {
		t.Fatalf("errors %v, want the volume and the cause", errs)
	}
	if got := volumeFiles(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("files after a failed read\n got  %v\n want %v", got, want)
	}
}

func TestConfigMapVolumeMissing(t *testing.T) {
	root := t.TempDir()
	fake := &fakeConfigMaps{}
	vols := configMapVolumes{rootDir: root, reader: fake, now: testNow, lg: zap.NewNop()}
	pod := cmPod(cmVolume("cfg", "app-config", false), cmVolume("maybe", "not-there", true))

	errs := vols.setUp(context.Background(), pod, false)
	if len(errs) != 1 {
		t.Fatalf("errors %v, want one, of the volume that is not optional", errs)
	}
	err := errs[0]
	if want := `MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	// Not NotFound: the sync that fails on it is retried, not ignored.
	if !errdefs.IsPrecondition(err) {
		t.Errorf("error class %v, want FailedPrecondition", errdefs.ClassOf(err))
	}
	if _, err := os.Lstat(podsync.ConfigMapPath(root, "uid-1", "cfg")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the volume of a missing ConfigMap was made: %v", err)
	}
	// Optional and missing: an empty volume.
	opt := podsync.ConfigMapPath(root, "uid-1", "maybe")
	if got := volumeFiles(t, opt); len(got) != 0 {
		t.Errorf("files of an optional missing ConfigMap: %v", got)
	}
	if _, err := os.Readlink(filepath.Join(opt, "..data")); err != nil {
		t.Errorf("optional volume has no ..data: %v", err)
	}

	// An update touches only volumes set up before; the ConfigMap that
	// appears is written by the next full set-up.
	fake.set("prod", "app-config", map[string]string{"greeting": "hello"})
	if errs := vols.setUp(context.Background(), pod, true); len(errs) != 0 {
		t.Fatalf("update: %v", errs)
	}
	if _, err := os.Lstat(podsync.ConfigMapPath(root, "uid-1", "cfg")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an update set up a new volume: %v", err)
	}
	if errs := vols.setUp(context.Background(), pod, false); len(errs) != 0 {
		t.Fatalf("set up: %v", errs)
	}
	if got := volumeFiles(t, podsync.ConfigMapPath(root, "uid-1", "cfg")); string(got["greeting"].Data) != "hello" {
		t.Errorf("files %v, want greeting", got)
	}
}

func TestConfigMapVolumeWithoutAPIServer(t *testing.T) {
	vols := configMapVolumes{rootDir: t.TempDir(), now: testNow, lg: zap.NewNop()}
	errs := vols.setUp(context.Background(), cmPod(cmVolume("cfg", "app-config", false)), false)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `volume "cfg" : configmap "app-config": no apiserver`) {
		t.Fatalf("errors %v, want no apiserver", errs)
	}
	// A pod without configMap volumes reads nothing.
	fake := &fakeConfigMaps{}
	vols.reader = fake
	if errs := vols.setUp(context.Background(), cmPod(&v1.Volume{Name: "e", EmptyDir: &v1.EmptyDirVolumeSource{}}), false); len(errs) != 0 || fake.gets != 0 {
		t.Errorf("errors %v, %d reads; want none", errs, fake.gets)
	}
}
