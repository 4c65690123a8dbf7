package jinja

import (
	"fmt"
	"time"
)

// UndefinedError is the use of a missing variable, attribute or item: any
// use under Options.Strict, and in lenient mode the uses Jinja2's default
// Undefined rejects too (attribute of a missing value, arithmetic).
type UndefinedError struct {
	Name     string // the missing variable, attribute or key
	Msg      string // Jinja2's message, e.g. "'user' is undefined"
	Template string // template being rendered when it happened
	Line     int    // 0 when unknown
}

// Error implements error.
func (e *UndefinedError) Error() string {
	msg := e.Msg
	if msg == "" {
		msg = fmt.Sprintf("'%s' is undefined", e.Name)
	}
	return prefix(e.Template, e.Line) + msg
}

// LimitError is a render stopped by one of the limits in Options or a
// structural bound of the package.
type LimitError struct {
	// Limit names the limit: "timeout", "output", "range", "recursion"
	// (macro call depth, include depth or cycle, deeply nested data) or
	// "size" (an intermediate value too large: string, list, integer).
	Limit string
	Msg   string
	Err   error // context.Canceled or context.DeadlineExceeded when ctx ended the render
}

// Unwrap returns the context error that ended the render, if any.
func (e *LimitError) Unwrap() error { return e.Err }

// Error implements error.
func (e *LimitError) Error() string {
	if e.Msg != "" {
		return "render limit exceeded (" + e.Limit + "): " + e.Msg
	}
	return "render limit exceeded (" + e.Limit + ")"
}

// RenderError is any other failure while rendering: what Jinja2 reports as
// TypeError, ValueError, ZeroDivisionError, TemplateRuntimeError,
// TemplateNotFound, or a panic inside the engine.
type RenderError struct {
	Kind     string // Python's exception class, e.g. "TypeError"
	Msg      string
	Template string
	Line     int
	Err      error // the underlying error, e.g. from the Loader
}

// Error implements error.
func (e *RenderError) Error() string {
	kind := ""
	if e.Kind != "" {
		kind = e.Kind + ": "
	}
	return prefix(e.Template, e.Line) + kind + e.Msg
}

// Unwrap returns the underlying error.
func (e *RenderError) Unwrap() error { return e.Err }

func prefix(name string, line int) string {
	switch {
	case name != "" && line > 0:
		return fmt.Sprintf("%s:%d: ", name, line)
	case name != "":
		return name + ": "
	}
	return ""
}

func typeErrorf(format string, args ...any) error {
	return &RenderError{Kind: "TypeError", Msg: fmt.Sprintf(format, args...)}
}

func valueErrorf(format string, args ...any) error {
	return &RenderError{Kind: "ValueError", Msg: fmt.Sprintf(format, args...)}
}

func runtimeErrorf(format string, args ...any) error {
	return &RenderError{Kind: "TemplateRuntimeError", Msg: fmt.Sprintf(format, args...)}
}

func zeroDivision(msg string) error {
	return &RenderError{Kind: "ZeroDivisionError", Msg: msg}
}

func timeoutError(d time.Duration) error {
	return &LimitError{Limit: "timeout", Msg: fmt.Sprintf("render took longer than %s", d)}
}
