package minictl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// LastAppliedAnnotation holds the manifest an object was last applied
// from, as kubectl keeps it, so that a later apply can tell a field the user
// removed from one the server or a controller set.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// applyConflictRetries bounds the read-modify-write of one object when
// other writers keep changing it.
const applyConflictRetries = 5

func newApplyCommand(f *Factory) *cobra.Command {
	var ff fileFlags
	var output string
	var validate validateFlag
	cmd := &cobra.Command{
		Use:   "apply -f FILENAME",
		Short: "Apply a configuration to a resource by file name or stdin",
		Long: "Apply a configuration to a resource by file name or stdin.\n\n" +
			"An object that does not exist is created. One that exists is updated with the fields of the manifest:\n" +
			"fields the manifest does not set keep their value, fields removed since the last apply are cleared.",
		Example: "  # Apply the configuration in pod.yaml to a pod\n" +
			"  minictl apply -f ./pod.yaml\n\n" +
			"  # Apply the YAML passed into stdin\n" +
			"  cat pod.yaml | minictl apply -f -",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(ff.filenames) == 0 {
				return usageError(cmd, "must specify one of -f and -k")
			}
			if len(args) > 0 {
				return usageError(cmd, "Unexpected args: %v", args)
			}
			if err := checkOutput(output, "", outputName, outputYAML, outputJSON); err != nil {
				return err
			}
			return runApply(cmd.Context(), f, &ff, output, &validate)
		},
	}
	ff.add(cmd, "apply")
	validate.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (json, yaml, name).")
	return cmd
}

func runApply(ctx context.Context, f *Factory, ff *fileFlags, output string, validate *validateFlag) error {
	return forEachManifest(f, ff, "apply", "applying", output, validate, func(c Client, mo manifestObject) (apis.Object, string, error) {
		return applyOne(ctx, c, mo, f.ErrOut)
	})
}

// applyOne creates the object or updates it from the manifest; verb is
// "created", "configured" or "unchanged".
func applyOne(ctx context.Context, c Client, mo manifestObject, warnings io.Writer) (apis.Object, string, error) {
	desired := mo.obj
	lastApplied, err := lastAppliedConfiguration(desired)
	if err != nil {
		return nil, "", fmt.Errorf("error when applying %q: %w", mo.source, err)
	}
	name := desired.GetMetadata().GetName()
	for attempt := 0; ; attempt++ {
		current, err := c.Get(ctx, mo.res, mo.ns, name)
		if errdefs.IsNotFound(err) {
			obj := proto.Clone(desired).(apis.Object)
			setAnnotation(obj, LastAppliedAnnotation, lastApplied)
			created, err := c.Create(ctx, mo.res, obj)
			if errdefs.IsAlreadyExists(err) && attempt < applyConflictRetries {
				continue // created by someone else meanwhile: update it
			}
			if err != nil {
				return nil, "", whenErr("creating", mo.source, err)
			}
			return orObj(created, obj), "created", nil
		}
		if err != nil {
			return nil, "", whenErr("retrieving current configuration of", mo.source, err)
		}

		var last apis.Object
		s, ok := current.GetMetadata().GetAnnotations()[LastAppliedAnnotation]
		if !ok && attempt == 0 {
			fmt.Fprintf(warnings, "Warning: resource %s/%s is missing the %s annotation which is required by minictl apply. "+
				"minictl apply should only be used on resources created declaratively by either minictl create --save-config or minictl apply. "+
				"The missing annotation will be patched automatically.\n", qualifiedResource(mo.res), name, LastAppliedAnnotation)
		}
		if s != "" {
			if objs, err := decodeManifests([]byte(s)); err == nil && len(objs) == 1 &&
				objs[0].ProtoReflect().Descriptor() == desired.ProtoReflect().Descriptor() {
				last = objs[0]
			}
		}
		merged := mergeApplied(current, desired, last)
		setAnnotation(merged, LastAppliedAnnotation, lastApplied)
		if proto.Equal(merged, current) {
			return current, "unchanged", nil
		}
		apis.Meta(merged).ResourceVersion = current.GetMetadata().GetResourceVersion()
		updated, err := c.Update(ctx, mo.res, merged)
		if errdefs.IsConflict(err) && attempt < applyConflictRetries {
			continue
		}
		if err != nil {
			return nil, "", whenErr("applying", mo.source, err)
		}
		return orObj(updated, merged), "configured", nil
	}
}

// lastAppliedConfiguration is the annotation's value: the manifest as
// compact JSON with a final newline, as kubectl stores it.
func lastAppliedConfiguration(obj apis.Object) (string, error) {
	b, err := encodeJSON(obj)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return "", fmt.Errorf("compact %s: %w", obj.GetMetadata().GetName(), err)
	}
	buf.WriteByte('\n')
	return buf.String(), nil
}

func orObj(obj, fallback apis.Object) apis.Object {
	if obj == nil {
		return fallback
	}
	return obj
}

func setAnnotation(obj apis.Object, key, value string) {
	md := apis.Meta(obj)
	if md.Annotations == nil {
		md.Annotations = map[string]string{}
	}
	md.Annotations[key] = value
}

// mergeApplied computes the object an apply writes: a copy of current
// with every field the manifest (desired) sets, and without the fields the
// previous manifest (last, may be nil) set and this one no longer does.
// Fields neither manifest names keep the value the server or a controller
// gave them (a pod's nodeName, defaults). Lists of objects of the same
// length merge element by element, so defaults inside containers survive;
// a list whose length changed is replaced. Status is never touched.
func mergeApplied(current, desired, last apis.Object) apis.Object {
	out := proto.Clone(current).(apis.Object)
	var lastMsg protoreflect.Message
	if last != nil {
		lastMsg = last.ProtoReflect()
	}
	mergeMessage(out.ProtoReflect(), desired.ProtoReflect(), lastMsg, true)
	return out
}

// mergeMessage merges desired (and the removals since last, which may be
// nil) into dst.
func mergeMessage(dst, desired, last protoreflect.Message, top bool) {
	fields := dst.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if top && fd.Name() == "status" {
			continue
		}
		inDesired := desired.Has(fd)
		inLast := last != nil && last.IsValid() && last.Has(fd)
		switch {
		case !inDesired && inLast:
			// The user removed the field: clear it.
			dst.Clear(fd)
		case !inDesired:
			// Neither manifest names it: keep what the server has.
		case fd.IsMap():
			mergeMap(dst, desired, last, fd, inLast)
		case fd.IsList():
			mergeList(dst, desired, last, fd, inLast)
		case fd.Message() != nil && !isOpaqueMessage(fd):
			var lastSub protoreflect.Message
			if inLast {
				lastSub = last.Get(fd).Message()
			}
			mergeMessage(dst.Mutable(fd).Message(), desired.Get(fd).Message(), lastSub, false)
		default:
			dst.Set(fd, desired.Get(fd))
		}
	}
}

// isOpaqueMessage is true for well-known types (timestamps) that are set
// as a whole rather than merged field by field.
func isOpaqueMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Message().FullName().Parent() == "google.protobuf"
}

func mergeMap(dst, desired, last protoreflect.Message, fd protoreflect.FieldDescriptor, inLast bool) {
	dm := dst.Mutable(fd).Map()
	want := desired.Get(fd).Map()
	if inLast {
		last.Get(fd).Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			if !want.Has(k) {
				dm.Clear(k)
			}
			return true
		})
	}
	want.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		dm.Set(k, v)
		return true
	})
}

func mergeList(dst, desired, last protoreflect.Message, fd protoreflect.FieldDescriptor, inLast bool) {
	want := desired.Get(fd).List()
	cur := dst.Get(fd).List()
	if fd.Message() == nil || cur.Len() != want.Len() {
		dst.Set(fd, cloneList(dst, fd, want))
		return
	}
	var lastList protoreflect.List
	if inLast {
		lastList = last.Get(fd).List()
	}
	dl := dst.Mutable(fd).List()
	for i := 0; i < want.Len(); i++ {
		var lastElem protoreflect.Message
		if lastList != nil && lastList.Len() == want.Len() {
			lastElem = lastList.Get(i).Message()
		}
		mergeMessage(dl.Get(i).Message(), want.Get(i).Message(), lastElem, false)
	}
}

// cloneList copies a list value into a new list of dst's field.
func cloneList(dst protoreflect.Message, fd protoreflect.FieldDescriptor, src protoreflect.List) protoreflect.Value {
	v := dst.NewField(fd)
	l := v.List()
	for i := 0; i < src.Len(); i++ {
		e := src.Get(i)
		if fd.Message() != nil {
			e = protoreflect.ValueOfMessage(proto.Clone(e.Message().Interface()).ProtoReflect())
		}
		l.Append(e)
	}
	return v
}
