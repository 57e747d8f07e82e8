package storage

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// MaxObjectBytes is the largest encoded object the store accepts, etcd's
// default request limit (1.5 MiB). Larger objects fail with errdefs.TooLarge.
const MaxObjectBytes = 1536 * 1024

var marshalOpts = proto.MarshalOptions{Deterministic: true}

// Encode is the stored form of obj: its protobuf encoding with
// metadata.resourceVersion left out (the revision is etcd's to keep).
// obj's resourceVersion is cleared during the call and restored, so obj
// must not be read concurrently. An encoding over MaxObjectBytes fails
// with errdefs.TooLarge.
func Encode(obj apis.Object) ([]byte, error) {
	data, err := Marshal(obj)
	if err != nil {
		return nil, err
	}
	if err := checkSize(data); err != nil {
		return nil, err
	}
	return data, nil
}

// Marshal is Encode without the size limit, for a caller that checks the
// size itself (and then hands the encoding to CreateEncoded).
func Marshal(obj apis.Object) ([]byte, error) {
	md := obj.GetMetadata()
	var rv string
	if md != nil {
		rv = md.ResourceVersion
		md.ResourceVersion = ""
	}
	data, err := marshalOpts.Marshal(obj)
	if md != nil {
		md.ResourceVersion = rv
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", obj.ProtoReflect().Descriptor().Name(), err)
	}
	return data, nil
}

func checkSize(data []byte) error {
	if len(data) > MaxObjectBytes {
		return errdefs.TooLarge("object is %d bytes, over the limit of %d bytes", len(data), MaxObjectBytes)
	}
	return nil
}

// decode reads a stored value into out and sets its resourceVersion.
func decode(data []byte, rev int64, out apis.Object) error {
	if err := proto.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode %s: %w", out.ProtoReflect().Descriptor().Name(), err)
	}
	SetRevision(out, rev)
	return nil
}

// SetRevision sets obj's metadata.resourceVersion to rev.
func SetRevision(obj apis.Object, rev int64) {
	apis.Meta(obj).ResourceVersion = strconv.FormatInt(rev, 10)
}

// ParseRevision parses a resourceVersion; "" is 0.
func ParseRevision(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, errdefs.Invalid("invalid resourceVersion %q", rv)
	}
	return n, nil
}

var resourceVersionField = (&v1.ObjectMeta{}).ProtoReflect().Descriptor().Fields().ByName("resource_version").Number()

// WithRevision returns the encoding of an object whose stored encoding is
// data (resourceVersion left out) with its resourceVersion set to rev,
// without decoding it: protobuf merges repeated occurrences of a message
// field, so appending "metadata { resource_version: rev }" is enough.
// desc is the object's message descriptor.
func WithRevision(data []byte, desc protoreflect.MessageDescriptor, rev int64) []byte {
	f := desc.Fields().ByName("metadata")
	if f == nil {
		return data
	}
	var inner [32]byte
	in := protowire.AppendTag(inner[:0], resourceVersionField, protowire.BytesType)
	in = protowire.AppendString(in, strconv.FormatInt(rev, 10))
	out := make([]byte, 0, len(data)+len(in)+4)
	out = append(out, data...)
	out = protowire.AppendTag(out, f.Number(), protowire.BytesType)
	return protowire.AppendBytes(out, in)
}

// ResourceOf is the resource segment of a key or prefix:
// "/registry/pods/default/web" -> "pods".
func ResourceOf(key string) string {
	k := strings.TrimPrefix(key, "/")
	_, rest, ok := strings.Cut(k, "/")
	if !ok {
		return ""
	}
	res, _, _ := strings.Cut(rest, "/")
	return res
}

// isResourcePrefix says whether prefix is a whole resource
// ("/registry/pods/"), as opposed to one namespace of it.
func isResourcePrefix(prefix string) bool {
	k := strings.TrimPrefix(prefix, "/")
	_, rest, ok := strings.Cut(k, "/")
	if !ok {
		return false
	}
	i := strings.IndexByte(rest, '/')
	return i > 0 && i == len(rest)-1
}

func splitKey(key string) []string {
	return strings.Split(strings.TrimPrefix(key, "/"), "/")
}
