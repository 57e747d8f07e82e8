package minictl

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"minik8s/pkg/apis"
)

// selection is what the command line names of one kind: some objects by
// name, or all of them when names is empty.
type selection struct {
	res   *apis.Resource
	names []string
}

// parseResourceArgs reads kubectl's resource arguments: "KIND [NAME...]",
// "KIND1,KIND2", or "KIND/NAME [KIND/NAME...]".
func parseResourceArgs(cmdPath string, args []string) ([]selection, error) {
	if len(args) == 0 {
		return nil, nil
	}
	if strings.Contains(args[0], "/") {
		var sels []selection
		for _, a := range args {
			kind, name, ok := strings.Cut(a, "/")
			if !ok || kind == "" || name == "" || strings.Contains(name, "/") {
				return nil, fmt.Errorf("arguments in resource/name form must have a single resource and name")
			}
			res, err := apis.Lookup(kind)
			if err != nil {
				return nil, err
			}
			// Keep the order of the command line, grouping consecutive
			// names of one kind.
			if n := len(sels); n > 0 && sels[n-1].res == res {
				sels[n-1].names = append(sels[n-1].names, name)
			} else {
				sels = append(sels, selection{res: res, names: []string{name}})
			}
		}
		return sels, nil
	}
	for _, a := range args[1:] {
		if strings.Contains(a, "/") {
			return nil, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. '%s resource/<resource_name>' instead of '%s resource resource/<resource_name>'", cmdPath, cmdPath)
		}
	}
	var sels []selection
	for _, kind := range strings.Split(args[0], ",") {
		if kind == "" {
			continue
		}
		if strings.EqualFold(kind, "all") {
			// kubectl's "all" category, of the kinds we have.
			for _, name := range []string{"pods", "deployments", "replicasets"} {
				res, err := apis.Lookup(name)
				if err != nil {
					return nil, err
				}
				sels = append(sels, selection{res: res, names: append([]string(nil), args[1:]...)})
			}
			continue
		}
		res, err := apis.Lookup(kind)
		if err != nil {
			return nil, err
		}
		sels = append(sels, selection{res: res, names: append([]string(nil), args[1:]...)})
	}
	if len(sels) == 0 {
		return nil, fmt.Errorf("the server doesn't have a resource type %q", args[0])
	}
	return sels, nil
}

// sourceObjects are the objects of one -f source.
type sourceObjects struct {
	// source names the file in messages ("pod.yaml", "STDIN").
	source string
	objs   []apis.Object
}

// isManifestFile reports whether a file of a directory given to -f is read.
func isManifestFile(name string) bool {
	switch filepath.Ext(name) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// readManifests reads the -f arguments: files, directories (their .yaml,
// .yml and .json files in lexical order; with recursive, their
// subdirectories too) and "-" for stdin.
func readManifests(paths []string, stdin io.Reader, recursive bool) ([]sourceObjects, error) {
	var out []sourceObjects
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("read STDIN: %w", err)
			}
			objs, err := decodeManifests(data)
			if err != nil {
				return nil, fmt.Errorf("error parsing STDIN: %w", err)
			}
			out = append(out, sourceObjects{source: "STDIN", objs: objs})
			continue
		}
		files, err := expandPath(p, recursive)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("error reading %s: %w", file, err)
			}
			objs, err := decodeManifests(data)
			if err != nil {
				return nil, fmt.Errorf("error parsing %s: %w", file, err)
			}
			out = append(out, sourceObjects{source: file, objs: objs})
		}
	}
	return out, nil
}

func expandPath(p string, recursive bool) ([]string, error) {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the path %q does not exist", p)
	}
	if err != nil {
		return nil, fmt.Errorf("the path %q cannot be read: %w", p, err)
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != p && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		if isManifestFile(path) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", p, err)
	}
	sort.Strings(files)
	return files, nil
}

// objectNamespace decides the namespace of a manifest object: its own,
// else the command's; a cluster-scoped kind has none. With an explicit -n,
// an object of another namespace is refused, as kubectl refuses it.
func objectNamespace(res *apis.Resource, obj apis.Object, ns string, explicit bool) (string, error) {
	if !res.Namespaced {
		return "", nil
	}
	own := obj.GetMetadata().GetNamespace()
	if own == "" {
		return ns, nil
	}
	if explicit && own != ns {
		//lint:ignore ST1005 kubectl's wording, a full sentence.
		return "", fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", own, ns, own)
	}
	return own, nil
}
