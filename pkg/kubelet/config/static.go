// Package config is the kubelet's source of static pods: Pod manifests in
// a directory (--pod-manifest-path) that the kubelet runs without an
// apiserver, as Kubernetes' kubelet does for the control plane of a
// kubeadm cluster. Each static pod gets a UID hashed from its manifest and
// the node's name, so the same file always means the same pod, also across
// restarts of the kubelet; the kubelet shows it at the apiserver as a
// mirror pod.
package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/defaults"
	"minik8s/pkg/apis/manifest"
	"minik8s/pkg/apis/validation"
)

// Annotations of static and mirror pods, Kubernetes' names.
const (
	// AnnotationConfigSource says where a pod came from: "file" or "api".
	AnnotationConfigSource = "kubernetes.io/config.source"
	// AnnotationConfigHash is the static pod's hash (its UID).
	AnnotationConfigHash = "kubernetes.io/config.hash"
	// AnnotationConfigMirror marks a mirror pod; its value is the static
	// pod's hash.
	AnnotationConfigMirror = "kubernetes.io/config.mirror"
	// SourceFile is the config source of static pods from files.
	SourceFile = "file"
)

// DefaultFileCheckFrequency is how often the directory is read again
// (Kubernetes' --file-check-frequency).
const DefaultFileCheckFrequency = 20 * time.Second

// IsMirror reports whether pod is a mirror pod.
func IsMirror(pod *v1.Pod) bool {
	_, ok := pod.GetMetadata().GetAnnotations()[AnnotationConfigMirror]
	return ok
}

// IsStatic reports whether pod came from a manifest file.
func IsStatic(pod *v1.Pod) bool {
	return pod.GetMetadata().GetAnnotations()[AnnotationConfigSource] == SourceFile
}

// ReadDir reads every *.yaml, *.yml and *.json file of dir (not
// recursively, hidden files skipped) as static pods of node nodeName. A
// file that does not hold valid Pods is skipped and reported in errs; a
// missing directory holds no pods.
func ReadDir(dir, nodeName string) (pods []*v1.Pod, errs []error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{fmt.Errorf("read static pod directory %s: %w", dir, err)}
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		switch strings.ToLower(filepath.Ext(name)) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("read static pod %s: %w", path, err))
			continue
		}
		ps, err := Parse(data, path, nodeName)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pods = append(pods, ps...)
	}
	sort.Slice(pods, func(i, j int) bool { return apis.Key(pods[i]) < apis.Key(pods[j]) })
	return pods, errs
}

// Parse turns a manifest into static pods of nodeName: defaulted,
// validated, named <name>-<nodeName>, bound to the node, with a UID hashed
// from the pod, the file and the node, and the config annotations.
func Parse(data []byte, path, nodeName string) ([]*v1.Pod, error) {
	objs, err := manifest.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("static pod %s: %w", path, err)
	}
	var out []*v1.Pod
	for _, obj := range objs {
		pod, ok := obj.(*v1.Pod)
		if !ok {
			return nil, fmt.Errorf("static pod %s: a %T is not a Pod", path, obj)
		}
		md := apis.Meta(pod)
		if md.Namespace == "" {
			md.Namespace = "default"
		}
		if md.Name == "" {
			return nil, fmt.Errorf("static pod %s: metadata.name is required", path)
		}
		md.Name = md.Name + "-" + strings.ToLower(nodeName)
		if pod.Spec == nil {
			pod.Spec = &v1.PodSpec{}
		}
		pod.Spec.NodeName = nodeName
		defaults.Default(pod)
		if err := validation.Validate(pod); err != nil {
			return nil, fmt.Errorf("static pod %s: %w", path, err)
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pod)
		if err != nil {
			return nil, fmt.Errorf("static pod %s: %w", path, err)
		}
		h := sha256.New()
		h.Write(b)
		h.Write([]byte(nodeName))
		h.Write([]byte(path))
		sum := hex.EncodeToString(h.Sum(nil))[:32]
		md.Uid = sum
		if md.Annotations == nil {
			md.Annotations = map[string]string{}
		}
		md.Annotations[AnnotationConfigHash] = sum
		md.Annotations[AnnotationConfigSource] = SourceFile
		pod.ApiVersion, pod.Kind = "v1", "Pod"
		out = append(out, pod)
	}
	return out, nil
}

// MirrorPod is the mirror pod of a static pod: the same pod, without its
// UID, annotated as a mirror of it.
func MirrorPod(static *v1.Pod) *v1.Pod {
	m := proto.Clone(static).(*v1.Pod)
	md := m.GetMetadata()
	md.Uid = ""
	md.ResourceVersion = ""
	md.Annotations[AnnotationConfigMirror] = static.GetMetadata().GetUid()
	m.Status = nil
	return m
}

// Source polls a directory of static pods.
type Source struct {
	Dir      string
	NodeName string
	// Period between reads; default DefaultFileCheckFrequency.
	Period time.Duration
	Clock  clockwork.Clock
	Logger *zap.Logger
}

// Run reads the directory at once and then every Period, calling update
// with every pod of the directory each time what it holds changes (and
// after the first read, even when empty). It returns nil when ctx ends.
func (s *Source) Run(ctx context.Context, update func(pods []*v1.Pod)) error {
	clk := s.Clock
	if clk == nil {
		clk = clockwork.NewRealClock()
	}
	lg := s.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	period := s.Period
	if period <= 0 {
		period = DefaultFileCheckFrequency
	}
	var last []*v1.Pod
	first := true
	reported := map[string]bool{}
	for {
		pods, errs := ReadDir(s.Dir, s.NodeName)
		now := map[string]bool{}
		for _, err := range errs {
			now[err.Error()] = true
			if !reported[err.Error()] {
				lg.Warn("Could not read a static pod manifest", zap.Error(err))
			}
		}
		reported = now
		if first || !samePods(last, pods) {
			update(pods)
			last, first = pods, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-clk.After(period):
		}
	}
}

func samePods(a, b []*v1.Pod) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
