// Package errdefs defines the error classes every minik8s package uses and
// maps them to gRPC status codes in exactly one place, both directions.
//
// A library returns a class with context (errdefs.NotFound("pod default/x"));
// the gRPC layer turns it into a status with ToGRPC; a client turns a status
// back into a class with FromGRPC, so IsNotFound works on both sides of the
// wire. A handler never returns a raw error: it would arrive as Unknown.
package errdefs

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Class is an error class: what the caller should do about it.
type Class int

// The classes, with their gRPC code and Kubernetes HTTP twin.
const (
	ClassUnknown         Class = iota // Unknown / 500
	ClassNotFound                     // NotFound / 404
	ClassAlreadyExists                // AlreadyExists / 409 on create
	ClassConflict                     // Aborted / 409: stale resourceVersion, redo the read-modify-write
	ClassInvalid                      // InvalidArgument / 422
	ClassExpired                      // OutOfRange / 410 Gone: relist
	ClassForbidden                    // PermissionDenied / 403
	ClassUnauthenticated              // Unauthenticated / 401
	ClassUnavailable                  // Unavailable / 503: retry the call
	ClassPrecondition                 // FailedPrecondition: fix the state first
	ClassTooLarge                     // ResourceExhausted / 413
	ClassTimeout                      // DeadlineExceeded / 504: outcome unknown
	ClassCanceled                     // Canceled
	ClassNotImplemented               // Unimplemented / 501
)

var classCodes = [...]codes.Code{
	ClassUnknown:         codes.Unknown,
	ClassNotFound:        codes.NotFound,
	ClassAlreadyExists:   codes.AlreadyExists,
	ClassConflict:        codes.Aborted,
	ClassInvalid:         codes.InvalidArgument,
	ClassExpired:         codes.OutOfRange,
	ClassForbidden:       codes.PermissionDenied,
	ClassUnauthenticated: codes.Unauthenticated,
	ClassUnavailable:     codes.Unavailable,
	ClassPrecondition:    codes.FailedPrecondition,
	ClassTooLarge:        codes.ResourceExhausted,
	ClassTimeout:         codes.DeadlineExceeded,
	ClassCanceled:        codes.Canceled,
	ClassNotImplemented:  codes.Unimplemented,
}

// Code is the gRPC code of the class.
func (c Class) Code() codes.Code {
	if int(c) < len(classCodes) {
		return classCodes[c]
	}
	return codes.Unknown
}

func classOfCode(code codes.Code) Class {
	for c, cc := range classCodes {
		if cc == code {
			return Class(c)
		}
	}
	return ClassUnknown
}

// Error is an error of a class.
type Error struct {
	Class Class
	Msg   string
	Err   error // optional cause
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg != "" {
		return e.Msg + ": " + e.Err.Error()
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// GRPCStatus lets status.FromError and grpc servers see the right code.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Class.Code(), e.Error()) }

func newf(c Class, format string, args ...any) error {
	return &Error{Class: c, Msg: fmt.Sprintf(format, args...)}
}

// Constructors, one per class.
func NotFound(format string, args ...any) error { return newf(ClassNotFound, format, args...) }
func AlreadyExists(format string, args ...any) error {
	return newf(ClassAlreadyExists, format, args...)
}
func Conflict(format string, args ...any) error  { return newf(ClassConflict, format, args...) }
func Invalid(format string, args ...any) error   { return newf(ClassInvalid, format, args...) }
func Expired(format string, args ...any) error   { return newf(ClassExpired, format, args...) }
func Forbidden(format string, args ...any) error { return newf(ClassForbidden, format, args...) }
func Unauthenticated(format string, args ...any) error {
	return newf(ClassUnauthenticated, format, args...)
}
func Unavailable(format string, args ...any) error  { return newf(ClassUnavailable, format, args...) }
func Precondition(format string, args ...any) error { return newf(ClassPrecondition, format, args...) }
func TooLarge(format string, args ...any) error     { return newf(ClassTooLarge, format, args...) }
func NotImplemented(format string, args ...any) error {
	return newf(ClassNotImplemented, format, args...)
}

// Wrap gives err a class, keeping it as the cause.
func Wrap(c Class, err error, msg string) error { return &Error{Class: c, Msg: msg, Err: err} }

// ClassOf finds the class of err: an *Error in its chain, a gRPC status, or
// a context error.
func ClassOf(err error) Class {
	if err == nil {
		return ClassUnknown
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	}
	if s, ok := status.FromError(err); ok {
		return classOfCode(s.Code())
	}
	return ClassUnknown
}

func IsNotFound(err error) bool        { return err != nil && ClassOf(err) == ClassNotFound }
func IsAlreadyExists(err error) bool   { return err != nil && ClassOf(err) == ClassAlreadyExists }
func IsConflict(err error) bool        { return err != nil && ClassOf(err) == ClassConflict }
func IsInvalid(err error) bool         { return err != nil && ClassOf(err) == ClassInvalid }
func IsExpired(err error) bool         { return err != nil && ClassOf(err) == ClassExpired }
func IsForbidden(err error) bool       { return err != nil && ClassOf(err) == ClassForbidden }
func IsUnauthenticated(err error) bool { return err != nil && ClassOf(err) == ClassUnauthenticated }
func IsUnavailable(err error) bool     { return err != nil && ClassOf(err) == ClassUnavailable }
func IsPrecondition(err error) bool    { return err != nil && ClassOf(err) == ClassPrecondition }
func IsTooLarge(err error) bool        { return err != nil && ClassOf(err) == ClassTooLarge }

// ToGRPC turns any error into a gRPC status error with the code of its class.
// An error of no class becomes Internal (a bug), never Unknown.
func ToGRPC(err error) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return s.Err()
	}
	c := ClassOf(err)
	if c == ClassUnknown {
		return status.Error(codes.Internal, err.Error())
	}
	return status.Error(c.Code(), err.Error())
}

// FromGRPC turns a gRPC status error back into a classed error whose
// message is the server's.
func FromGRPC(err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	return &Error{Class: classOfCode(s.Code()), Msg: s.Message()}
}
