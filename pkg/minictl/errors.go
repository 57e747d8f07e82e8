package minictl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

// ServerError is an error the API server returned. It prints as kubectl
// prints one: `Error from server (NotFound): pods "web" not found`.
type ServerError struct {
	Err error
	// Msg, when set, replaces Err's text (kubectl's canonical wording).
	Msg string
}

func (e *ServerError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return e.Err.Error()
}

func (e *ServerError) Unwrap() error { return e.Err }

// errorList is several independent failures (e.g. the objects of one file
// that could not be created); each prints on its own line.
type errorList []error

func (l errorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

func (l errorList) orNil() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// silentError makes the command exit 1 with nothing more printed: what
// went wrong was already said.
type silentError struct{}

func (silentError) Error() string { return "" }

// reason is the Kubernetes StatusReason of an error class.
func reason(c errdefs.Class) string {
	switch c {
	case errdefs.ClassNotFound:
		return "NotFound"
	case errdefs.ClassAlreadyExists:
		return "AlreadyExists"
	case errdefs.ClassConflict:
		return "Conflict"
	case errdefs.ClassInvalid:
		return "Invalid"
	case errdefs.ClassExpired:
		return "Expired"
	case errdefs.ClassForbidden:
		return "Forbidden"
	case errdefs.ClassUnauthenticated:
		return "Unauthorized"
	case errdefs.ClassUnavailable:
		return "ServiceUnavailable"
	case errdefs.ClassPrecondition:
		return "BadRequest"
	case errdefs.ClassTooLarge:
		return "RequestEntityTooLarge"
	case errdefs.ClassTimeout:
		return "Timeout"
	case errdefs.ClassNotImplemented:
		return "MethodNotAllowed"
	}
	return "InternalError"
}

// PrintError writes err to w the way kubectl's CheckErr does. A lone
// validation error prints as kubectl prints it, `The Pod "web" is invalid:
// ...`; several errors print one per line.
func PrintError(w io.Writer, err error) {
	var list errorList
	if errors.As(err, &list) {
		if len(list) == 1 {
			PrintError(w, list[0])
			return
		}
		for _, e := range list {
			fmt.Fprintln(w, errorText(e))
		}
		return
	}
	if errors.As(err, new(silentError)) {
		return
	}
	if msg, ok := invalidObjectText(err); ok {
		fmt.Fprintln(w, msg)
		return
	}
	fmt.Fprintln(w, errorText(err))
}

// connectionRefused finds the address of a refused connection in a gRPC
// transport error.
var connectionRefused = regexp.MustCompile(`dial tcp ([^ ]+): connect: connection refused`)

// invalidMessage matches a validation error's text, `Pod "web" is
// invalid: ...` or `Deployment.apps "web" is invalid: ...`.
var invalidMessage = regexp.MustCompile(`(?s)^([A-Z][A-Za-z]*)(\.[a-z0-9.-]+)? ("[^"]*" is invalid.*)$`)

// invalidObjectText is kubectl's text for one object refused by
// validation, on the server or here: `The Deployment "web" is invalid: ...`
// (the kind without its group, whatever context the verb added).
func invalidObjectText(err error) (string, bool) {
	var e *errdefs.Error
	if !errors.As(err, &e) || e.Class != errdefs.ClassInvalid {
		return "", false
	}
	m := invalidMessage.FindStringSubmatch(e.Error())
	if m == nil {
		return "", false
	}
	return "The " + m[1] + " " + m[3], true
}

func errorText(err error) string {
	var se *ServerError
	if !errors.As(err, &se) {
		return "error: " + err.Error()
	}
	msg := err.Error()
	switch c := errdefs.ClassOf(se.Err); c {
	case errdefs.ClassUnavailable, errdefs.ClassTimeout, errdefs.ClassCanceled:
		if m := connectionRefused.FindStringSubmatch(msg); m != nil {
			return "The connection to the server " + m[1] + " was refused - did you specify the right host or port?"
		}
		return "Unable to connect to the server: " + msg
	case errdefs.ClassUnauthenticated:
		return "error: You must be logged in to the server (" + msg + ")"
	default:
		return fmt.Sprintf("Error from server (%s): %s", reason(c), msg)
	}
}

// qualifiedResource is the resource as kubectl names it in messages:
// "pods", "deployments.apps", "leases.coordination.k8s.io".
func qualifiedResource(res *apis.Resource) string {
	if g := apiGroup(res); g != "" {
		return res.Name + "." + g
	}
	return res.Name
}

// qualifiedKind is the singular as kubectl prints it before a name:
// "pod", "deployment.apps".
func qualifiedKind(res *apis.Resource) string {
	if g := apiGroup(res); g != "" {
		return res.Singular + "." + g
	}
	return res.Singular
}

func apiGroup(res *apis.Resource) string {
	if i := strings.IndexByte(res.APIVersion, '/'); i >= 0 {
		return res.APIVersion[:i]
	}
	return ""
}

// serverClient wraps the real client: it bounds every unary call by the
// request timeout and marks its errors as the server's, in kubectl's words.
type serverClient struct {
	next    Client
	timeout time.Duration
}

var _ Client = (*serverClient)(nil)

func (c *serverClient) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// AsServerError marks an error returned by the API server, so that it
// prints as kubectl prints server errors; nil stays nil.
func AsServerError(err error) error { return serverErr(err, "") }

func serverErr(err error, msg string) error {
	if err == nil {
		return nil
	}
	var se *ServerError
	if errors.As(err, &se) {
		return err
	}
	return &ServerError{Err: err, Msg: msg}
}

func notFoundMsg(res *apis.Resource, name string) string {
	return fmt.Sprintf("%s %q not found", qualifiedResource(res), name)
}

func (c *serverClient) Create(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	out, err := c.next.Create(ctx, res, obj)
	msg := ""
	if errdefs.IsAlreadyExists(err) {
		msg = fmt.Sprintf("%s %q already exists", qualifiedResource(res), obj.GetMetadata().GetName())
	}
	return out, serverErr(err, msg)
}

func (c *serverClient) Get(ctx context.Context, res *apis.Resource, namespace, name string) (apis.Object, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	out, err := c.next.Get(ctx, res, namespace, name)
	msg := ""
	if errdefs.IsNotFound(err) {
		msg = notFoundMsg(res, name)
	}
	return out, serverErr(err, msg)
}

func (c *serverClient) List(ctx context.Context, res *apis.Resource, namespace string, opts ListOptions) (*ObjectList, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	out, err := c.next.List(ctx, res, namespace, opts)
	return out, serverErr(err, "")
}

func (c *serverClient) Update(ctx context.Context, res *apis.Resource, obj apis.Object) (apis.Object, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	out, err := c.next.Update(ctx, res, obj)
	msg := ""
	switch name := obj.GetMetadata().GetName(); {
	case errdefs.IsNotFound(err):
		msg = notFoundMsg(res, name)
	case errdefs.IsConflict(err):
		msg = fmt.Sprintf("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", qualifiedResource(res), name)
	}
	return out, serverErr(err, msg)
}

func (c *serverClient) Delete(ctx context.Context, res *apis.Resource, namespace, name string, opts DeleteOptions) (apis.Object, bool, error) {
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	out, finished, err := c.next.Delete(ctx, res, namespace, name, opts)
	msg := ""
	if errdefs.IsNotFound(err) {
		msg = notFoundMsg(res, name)
	}
	return out, finished, serverErr(err, msg)
}

func (c *serverClient) Watch(ctx context.Context, res *apis.Resource, namespace string, opts ListOptions) (WatchStream, error) {
	w, err := c.next.Watch(ctx, res, namespace, opts)
	if err != nil {
		return nil, serverErr(err, "")
	}
	return serverStream{w}, nil
}

type serverStream struct{ WatchStream }

func (s serverStream) Recv() (WatchEvent, error) {
	ev, err := s.WatchStream.Recv()
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
		err = serverErr(err, "")
	}
	return ev, err
}

// Close closes the underlying client when it holds a connection.
func (c *serverClient) Close() error {
	if cl, ok := c.next.(interface{ Close() error }); ok {
		return cl.Close()
	}
	return nil
}
