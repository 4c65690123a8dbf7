package registry

import (
	"context"
	"errors"
	"fmt"
)

// Error codes. Every error that crosses a package boundary carries one; the
// HTTP layer maps them to status codes in a single table and the Go client
// maps status codes back, so ErrorCode works on both sides of the wire.
const (
	ECONFLICT      = "conflict"            // the state changed under the caller (409)
	EINTERNAL      = "internal"            // a bug or an infrastructure failure (500)
	EINVALID       = "invalid"             // malformed input (400)
	ENOTFOUND      = "not_found"           // no such prompt, ref, environment… (404)
	EPRECONDITION  = "precondition_failed" // If-Match did not match (412)
	ETOOLARGE      = "too_large"           // a body or file over its limit (413)
	EUNPROCESSABLE = "unprocessable"       // well-formed but semantically wrong input, e.g. variables (422)
	EUNAUTHORIZED  = "unauthorized"        // no or a bad credential (401)
	EFORBIDDEN     = "forbidden"           // a credential without the scope (403)
	ERATELIMIT     = "rate_limited"        // too many requests (429)
	EUNAVAILABLE   = "unavailable"         // not ready yet, e.g. no snapshot loaded (503)
	ETIMEOUT       = "timeout"             // an operation ran past its deadline (504)
	EUPSTREAM      = "bad_gateway"         // an LLM provider failed or answered nonsense (502)
)

// Error is an error with a domain code and a message safe to show users.
type Error struct {
	Code    string
	Message string
	// Details is optional structured information for the user (for example
	// the list of invalid variables); it must be JSON-encodable.
	Details any
	// Err is the underlying cause, if any; never shown to users.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error, and "" for nil. Context cancellation and deadlines map
// to ETIMEOUT.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		return c.ErrorCode()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ETIMEOUT
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the message of its
// *Error, or "internal error" for anything else.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	var c interface{ ErrorCode() string }
	if errors.As(err, &c) {
		return err.Error()
	}
	if ErrorCode(err) == ETIMEOUT {
		return "the operation ran out of time"
	}
	return "internal error"
}

// ErrorDetails returns the Details of the first *Error in err's chain.
func ErrorDetails(err error) any {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}
