package kubelet

// ConfigMap volumes, as Kubernetes' configmap volume plugin: the kubelet
// reads the ConfigMap of each configMap volume of a pod through the
// apiserver and writes its keys as files under
// <root-dir>/pods/<uid>/volumes/kubernetes.io~configmap/<volume>, which the
// containers mount read-only (podsync.Mounts). The files are written as
// Kubernetes' AtomicWriter writes them, so that a container never sees a
// half-written set, and they follow the ConfigMap on the pod's later syncs
// without a restart of its containers.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/client"
	"minik8s/pkg/kubelet/podsync"
)

// configMapReader reads ConfigMaps: the kubelet's client, or a fake.
type configMapReader interface {
	Get(ctx context.Context, namespace, name string) (*v1.ConfigMap, error)
}

var _ configMapReader = (*client.Resource[*v1.ConfigMap])(nil)

const (
	// defaultConfigMapMode is the mode of a configMap volume's files when
	// neither the volume (defaultMode) nor the item (mode) gives one.
	defaultConfigMapMode fs.FileMode = 0o644
	// configMapReadTimeout bounds one read of a ConfigMap, so that a sync
	// does not wait long on an apiserver that is away.
	configMapReadTimeout = 10 * time.Second
)

// keyToPath projects the key of a ConfigMap to the file at Path (relative
// to the volume), with Mode when it is set.
type keyToPath struct {
	Key  string
	Path string
	Mode *fs.FileMode
}

// configMapSource is what a configMap volume asks for: the ConfigMap Name
// (in the pod's namespace); Items, when any, the only keys to project and
// where; DefaultMode for the files (nil: 0644); Optional, whether the
// ConfigMap and the keys of Items may be missing.
type configMapSource struct {
	Name        string
	Items       []keyToPath
	DefaultMode *fs.FileMode
	Optional    bool
}

// configMapSourceOf is the configMapSource of the API's volume source.
func configMapSourceOf(s *v1.ConfigMapVolumeSource) configMapSource {
	src := configMapSource{Name: s.GetName(), Optional: s.GetOptional()}
	if s.DefaultMode != nil {
		m := fs.FileMode(s.GetDefaultMode()) & fs.ModePerm
		src.DefaultMode = &m
	}
	for _, it := range s.GetItems() {
		kp := keyToPath{Key: it.GetKey(), Path: it.GetPath()}
		if it.Mode != nil {
			m := fs.FileMode(it.GetMode()) & fs.ModePerm
			kp.Mode = &m
		}
		src.Items = append(src.Items, kp)
	}
	return src
}

// fileProjection is a file of a volume: its content and mode.
type fileProjection struct {
	Data []byte
	Mode fs.FileMode
}

// configMapPayload is the files that src makes of cm (nil: a ConfigMap
// that is missing, which src allows): every key of data and binaryData at
// its own name, or only the keys of src.Items at their paths. A key of
// Items that cm lacks is an error unless src is optional.
func configMapPayload(src configMapSource, cm *v1.ConfigMap) (map[string]fileProjection, error) {
	mode := defaultConfigMapMode
	if src.DefaultMode != nil {
		mode = *src.DefaultMode
	}
	out := map[string]fileProjection{}
	if cm == nil {
		return out, nil
	}
	if len(src.Items) == 0 {
		for k, d := range cm.GetData() {
			out[k] = fileProjection{Data: []byte(d), Mode: mode}
		}
		for k, d := range cm.GetBinaryData() {
			out[k] = fileProjection{Data: bytes.Clone(d), Mode: mode}
		}
		return out, nil
	}
	for _, it := range src.Items {
		var data []byte
		if d, ok := cm.GetData()[it.Key]; ok {
			data = []byte(d)
		} else if d, ok := cm.GetBinaryData()[it.Key]; ok {
			data = bytes.Clone(d)
		} else {
			if src.Optional {
				continue
			}
			return nil, errdefs.Precondition("configmap references non-existent config key: %s", it.Key)
		}
		m := mode
		if it.Mode != nil {
			m = *it.Mode
		}
		out[it.Path] = fileProjection{Data: data, Mode: m}
	}
	return out, nil
}

// mountError is a volume that could not be set up; its text is
// Kubernetes' FailedMount message.
type mountError struct {
	volume string
	err    error
}

func (e *mountError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %v", e.volume, e.err)
}

func (e *mountError) Unwrap() error { return e.err }

// mountFailed is the error of volume failing with err. Its class is
// FailedPrecondition whatever err is (a missing ConfigMap is NotFound):
// the pod waits for the state to be fixed, its sync is retried.
func mountFailed(volume string, err error) error {
	return errdefs.Wrap(errdefs.ClassPrecondition, &mountError{volume: volume, err: err}, "")
}

// configMapVolumes sets up the configMap volumes of pods under rootDir.
type configMapVolumes struct {
	rootDir string
	// reader is nil without an apiserver (static pods only).
	reader configMapReader
	now    func() time.Time
	lg     *zap.Logger
}

// setUp writes the configMap volumes of pod, each from the current
// ConfigMap; with existingOnly, only those written before (the pod's
// sandbox was made), which is how a running pod's files follow their
// ConfigMap. It returns one error per volume that failed (a ConfigMap
// missing and not optional, an apiserver that is away, a key of items
// missing), worded as Kubernetes' FailedMount event; the files of a volume
// that failed stay as they were.
func (c configMapVolumes) setUp(ctx context.Context, pod *v1.Pod, existingOnly bool) []error {
	var errs []error
	for _, vol := range pod.GetSpec().GetVolumes() {
		if vol.GetConfigMap() == nil {
			continue
		}
		dir := podsync.ConfigMapPath(c.rootDir, pod.GetMetadata().GetUid(), vol.GetName())
		if existingOnly {
			if _, err := os.Lstat(dir); err != nil {
				continue
			}
		}
		changed, err := c.setUpVolume(ctx, pod.GetMetadata().GetNamespace(), vol, dir)
		if err != nil {
			errs = append(errs, mountFailed(vol.GetName(), err))
			continue
		}
		if changed {
			c.lg.Debug("Wrote configMap volume", zap.String("pod", apis.Key(pod)), zap.String("volume", vol.GetName()), zap.Bool("update", existingOnly))
		}
	}
	return errs
}

// setUpVolume writes the configMap volume vol of a pod of namespace into
// dir and reports whether its files changed.
func (c configMapVolumes) setUpVolume(ctx context.Context, namespace string, vol *v1.Volume, dir string) (bool, error) {
	src := configMapSourceOf(vol.GetConfigMap())
	cm, err := c.read(ctx, namespace, src.Name)
	if err != nil {
		if !errdefs.IsNotFound(err) || !src.Optional {
			return false, err
		}
		cm = nil // optional and missing: an empty volume
	}
	payload, err := configMapPayload(src, cm)
	if err != nil {
		return false, err
	}
	return atomicWriter{dir: dir, now: c.now}.write(payload)
}

// read gets the ConfigMap namespace/name; a missing one is NotFound with
// Kubernetes' words.
func (c configMapVolumes) read(ctx context.Context, namespace, name string) (*v1.ConfigMap, error) {
	if c.reader == nil {
		return nil, errdefs.Unavailable("configmap %q: no apiserver to read it from", name)
	}
	ctx, cancel := context.WithTimeout(ctx, configMapReadTimeout)
	defer cancel()
	cm, err := c.reader.Get(ctx, namespace, name)
	switch {
	case errdefs.IsNotFound(err):
		return nil, errdefs.NotFound("configmap %q not found", name)
	case err != nil:
		return nil, fmt.Errorf("get configmap %q: %w", name, err)
	}
	return cm, nil
}

// configMapVolumes is the kubelet's set-up of configMap volumes.
func (k *Kubelet) configMapVolumes() configMapVolumes {
	c := configMapVolumes{rootDir: k.cfg.RootDir, now: k.clk.Now, lg: k.lg}
	if k.cfg.Client != nil {
		c.reader = k.cfg.Client.ConfigMaps()
	}
	return c
}

// refreshVolumes brings the configMap volumes of pod, set up when its
// sandbox was made, up to date with their ConfigMaps. It runs on every sync
// of a pod the kubelet keeps, so a changed ConfigMap shows in the files
// within a resync period, and the containers keep running. A volume that
// cannot be read keeps its files and is a FailedMount event.
func (k *Kubelet) refreshVolumes(ctx context.Context, pod *v1.Pod) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		return
	}
	switch pod.GetStatus().GetPhase() {
	case podsync.PhaseSucceeded, podsync.PhaseFailed:
		return
	}
	for _, err := range k.configMapVolumes().setUp(ctx, pod, true) {
		k.event(pod, "Warning", "FailedMount", err.Error())
		k.lg.Warn("Could not update a configMap volume", zap.String("pod", apis.Key(pod)), zap.Error(err))
	}
}

// Names in a volume directory of the atomic writer.
const (
	dataDirName    = "..data"
	dataDirTmpName = "..data_tmp"
	// tsDirLayout names the timestamped directories (with a random
	// suffix), as Kubernetes names them.
	tsDirLayout = "..2006_01_02_15_04_05."
	// maxVolumePathLength and maxVolumePathElement bound a file's path.
	maxVolumePathLength  = 4096
	maxVolumePathElement = 255
)

// atomicWriter writes a set of files into the volume directory dir so that
// a reader sees the old set or the new one, never a mix (Kubernetes'
// AtomicWriter): the files go into a fresh timestamped directory
// ..<time>.<random>, the symlink ..data is switched to it by a rename
// (atomic), and each top-level name of the set is a symlink
// <name> -> ..data/<name>. Names of the old set that the new one lacks are
// removed, and so is the old timestamped directory. A set equal to the one
// in place (contents and modes) writes nothing.
type atomicWriter struct {
	dir string
	now func() time.Time
}

// write puts payload (paths relative to the volume, slash-separated) in
// place and reports whether it changed the files.
func (w atomicWriter) write(payload map[string]fileProjection) (bool, error) {
	files, err := cleanPayload(payload)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return false, fmt.Errorf("make volume directory: %w", err)
	}
	current, err := os.Readlink(filepath.Join(w.dir, dataDirName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", dataDirName, err)
	}
	changed := true
	if current != "" {
		old, err := readPayload(filepath.Join(w.dir, current))
		if err == nil && equalPayload(old, files) {
			changed = false
		}
	}
	if changed {
		ts, err := os.MkdirTemp(w.dir, w.now().UTC().Format(tsDirLayout))
		if err != nil {
			return false, fmt.Errorf("make timestamped directory: %w", err)
		}
		if err := writePayload(ts, files); err != nil {
			_ = os.RemoveAll(ts)
			return false, err
		}
		tmp := filepath.Join(w.dir, dataDirTmpName)
		if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			_ = os.RemoveAll(ts)
			return false, fmt.Errorf("remove %s: %w", dataDirTmpName, err)
		}
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			_ = os.RemoveAll(ts)
			return false, fmt.Errorf("link %s: %w", dataDirTmpName, err)
		}
		if err := os.Rename(tmp, filepath.Join(w.dir, dataDirName)); err != nil {
			_ = os.Remove(tmp)
			_ = os.RemoveAll(ts)
			return false, fmt.Errorf("switch %s: %w", dataDirName, err)
		}
		current = filepath.Base(ts)
	}
	// Also when nothing changed: repair what a write cut short left.
	top := topLevelNames(files)
	if err := w.linkVisible(top); err != nil {
		return changed, err
	}
	return changed, w.removeStale(top, current)
}

// linkVisible makes the symlink <name> -> ..data/<name> of each top-level
// name.
func (w atomicWriter) linkVisible(top map[string]bool) error {
	for name := range top {
		p := filepath.Join(w.dir, name)
		target := filepath.Join(dataDirName, name)
		got, err := os.Readlink(p)
		switch {
		case err == nil && got == target:
			continue
		case err == nil:
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("replace link %s: %w", name, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("link %s: %w", name, err)
		}
		if err := os.Symlink(target, p); err != nil {
			return fmt.Errorf("link %s: %w", name, err)
		}
	}
	return nil
}

// removeStale removes the symlinks of names no longer in the volume and
// every ..-directory but ..data and the current one (the previous set, or
// one a write cut short left).
func (w atomicWriter) removeStale(top map[string]bool, current string) error {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("read volume directory: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(w.dir, name)
		switch {
		case name == dataDirName || name == current || top[name]:
			continue
		case strings.HasPrefix(name, ".."):
			errs = append(errs, os.RemoveAll(p))
		case e.Type()&fs.ModeSymlink != 0:
			errs = append(errs, os.Remove(p))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove stale files: %w", err)
	}
	return nil
}

// cleanPayload checks that every path of payload stays inside the volume
// and returns the payload with its paths cleaned. A path must be relative,
// must not contain '..' nor start with '..' (the writer's own names), and
// no file may also be a directory of another.
func cleanPayload(payload map[string]fileProjection) (map[string]fileProjection, error) {
	out := make(map[string]fileProjection, len(payload))
	for p, f := range payload {
		if err := validateVolumePath(p); err != nil {
			return nil, err
		}
		out[path.Clean(p)] = fileProjection{Data: f.Data, Mode: f.Mode & fs.ModePerm}
	}
	for p := range out {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := out[d]; ok {
				return nil, errdefs.Invalid("path %q: %q is also a file of the volume", p, d)
			}
		}
	}
	return out, nil
}

// validateVolumePath checks that p names a file inside a volume.
func validateVolumePath(p string) error {
	switch {
	case p == "" || path.Clean(p) == ".":
		return errdefs.Invalid("path %q: must name a file of the volume", p)
	case len(p) > maxVolumePathLength:
		return errdefs.Invalid("path %q: must be at most %d characters", p, maxVolumePathLength)
	case path.IsAbs(p):
		return errdefs.Invalid("path %q: must be a relative path", p)
	case strings.HasPrefix(p, ".."):
		return errdefs.Invalid("path %q: must not start with '..'", p)
	}
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return errdefs.Invalid("path %q: must not contain '..'", p)
		}
		if len(e) > maxVolumePathElement {
			return errdefs.Invalid("path %q: an element must be at most %d characters", p, maxVolumePathElement)
		}
	}
	return nil
}

// topLevelNames is the set of first elements of the paths of files.
func topLevelNames(files map[string]fileProjection) map[string]bool {
	out := map[string]bool{}
	for p := range files {
		first, _, _ := strings.Cut(p, "/")
		out[first] = true
	}
	return out
}

// writePayload writes files into dir, each with its mode.
func writePayload(dir string, files map[string]fileProjection) error {
	for p, f := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(full, f.Data, f.Mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		// WriteFile's mode passes the umask; the volume's does not.
		if err := os.Chmod(full, f.Mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}

// readPayload reads the regular files under dir, as write wrote them.
func readPayload(dir string) (map[string]fileProjection, error) {
	out := map[string]fileProjection{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = fileProjection{Data: data, Mode: info.Mode().Perm()}
		return nil
	})
	return out, err
}

func equalPayload(a, b map[string]fileProjection) bool {
	if len(a) != len(b) {
		return false
	}
	for p, fa := range a {
		fb, ok := b[p]
		if !ok || fa.Mode != fb.Mode || !bytes.Equal(fa.Data, fb.Data) {
			return false
		}
	}
	return true
}
