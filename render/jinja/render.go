package jinja

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults and structural bounds of a render.
const (
	DefaultMaxOutput = 1 << 20         // bytes
	DefaultTimeout   = time.Second     // wall time
	DefaultMaxRange  = 10000           // items one range() call may produce
	MaxIncludeDepth  = 8               // nested include/import/extends
	MaxCallDepth     = 100             // nested macro calls and recursive loops
	workFactor       = 8               // bytes produced (captures included) per byte of MaxOutput
	itemFactor       = 100             // list items created per MaxRange
	maxIntBits       = 1 << 16         // largest integer a template may build
	checkEvery       = 0x3f            // loop iterations between deadline checks
	maxFormatWidth   = DefaultMaxRange // widest padding accepted by center, format…
)

// Loader resolves the templates a template includes, imports or extends, by
// prompt name (not path), e.g. "partials/safety". It returns an error for
// unknown names. It must be safe for concurrent use.
type Loader interface {
	Load(name string) (*Template, error)
}

// Options configures one render. The zero value is lenient rendering with
// the default limits and no loader (any include is an error).
type Options struct {
	// Strict makes every use of a missing variable an *UndefinedError, as
	// Jinja2's StrictUndefined does; otherwise it renders as "".
	Strict bool
	// MaxOutput caps the output in bytes (default 1 MiB).
	MaxOutput int
	// Timeout caps the wall time of the render (default 1s).
	Timeout time.Duration
	// MaxRange caps the items a single range() produces (default 10000).
	MaxRange int
	// Loader resolves include, import and extends targets.
	Loader Loader
}

func (o Options) withDefaults() Options {
	if o.MaxOutput <= 0 {
		o.MaxOutput = DefaultMaxOutput
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRange <= 0 {
		o.MaxRange = DefaultMaxRange
	}
	return o
}

type result struct {
	out string
	err error
}

// Render renders the template with vars. Each variable is deep-copied the
// first time the template reads it, so a template cannot modify the
// caller's data and pays only for what it reads. Give variables as
// DecodeJSON returns them to keep integers and key order, or as ordinary Go
// values (maps become dicts with sorted keys, structs dicts of their
// exported fields, by json tag).
//
// The render runs on its own goroutine so that it can be abandoned: when
// ctx is done or opts.Timeout passes, Render returns a *LimitError at once
// and the abandoned render stops at its next loop iteration, output write or
// call. It does not read vars after Render has returned, so the caller may
// reuse them at once. Errors are *UndefinedError, *LimitError or
// *RenderError; panics inside the engine are recovered into a *RenderError.
func (t *Template) Render(ctx context.Context, vars map[string]any, opts Options) (string, error) {
	opts = opts.withDefaults()
	if err := ctx.Err(); err != nil {
		return "", &LimitError{Limit: "timeout", Msg: err.Error(), Err: err}
	}
	r := newRenderer(opts)
	guard := &varsGuard{}
	done := make(chan result, 1)
	go func() {
		growStack(0)
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: &RenderError{Kind: "InternalError", Template: t.name,
					Msg: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}}
			}
		}()
		out, err := r.run(t, vars, guard)
		done <- result{out, err}
	}()
	timer := time.NewTimer(opts.Timeout)
	defer timer.Stop()
	select {
	case res := <-done:
		return res.out, res.err
	case <-timer.C:
		r.stop.Store(true)
		guard.close()
		return "", timeoutError(opts.Timeout)
	case <-ctx.Done():
		r.stop.Store(true)
		guard.close()
		return "", &LimitError{Limit: "timeout", Msg: ctx.Err().Error(), Err: ctx.Err()}
	}
}

// renderer is the state of one render. It is used by one goroutine only;
// stop is set by the goroutine waiting for it.
type renderer struct {
	opts     Options
	stop     atomic.Bool
	out      *output
	tpl      *Template // template being executed, for error positions
	produced int       // bytes written, captures included
	created  int       // list items created by the template
	calls    int       // macro call depth
	includes []string  // include/import/extends stack, for cycles
	steps    int
	escape   bool // autoescape
	blocks   map[string][]*blockStmt
	// ctx is the context of the template being executed, the frame its
	// top level runs in: what a block sees unless it is scoped.
	ctx     *frame
	filters map[string]filterFunc
	tests   map[string]testFunc
	// strMethods is the package table, reached through the renderer to
	// avoid an initialization cycle (str.format reads attributes).
	strMethods map[string]strMethod
}

// output is where rendered text goes: the result or a capture buffer.
type output struct {
	b strings.Builder
}

var errStopped = errors.New("render abandoned")

func newRenderer(opts Options) *renderer {
	return &renderer{opts: opts, filters: filters, tests: tests, strMethods: strMethods}
}

func (r *renderer) run(t *Template, vars map[string]any, guard *varsGuard) (string, error) {
	top := &frame{m: make(map[string]any, 8), vars: vars, guard: guard}
	r.includes = append(r.includes, t.name)
	r.out = &output{}
	r.out.b.Grow(t.sizeHint)
	err := r.execTemplate(t, top)
	if top.err != nil {
		return "", top.err // a variable that cannot be converted
	}
	if err != nil {
		return "", err
	}
	return r.out.b.String(), nil
}

// write appends s to the current output, enforcing the output limits.
func (r *renderer) write(s string) error {
	if r.stop.Load() {
		return errStopped
	}
	r.produced += len(s)
	if r.out.b.Len()+len(s) > r.opts.MaxOutput {
		return &LimitError{Limit: "output", Msg: fmt.Sprintf("output larger than %d bytes", r.opts.MaxOutput)}
	}
	if r.produced > workFactor*r.opts.MaxOutput {
		return &LimitError{Limit: "output", Msg: fmt.Sprintf("template produced more than %d bytes", workFactor*r.opts.MaxOutput)}
	}
	r.out.b.WriteString(s)
	return nil
}

// tick is called on every loop iteration and call: it stops an abandoned
// render.
func (r *renderer) tick() error {
	if r.stop.Load() {
		return errStopped
	}
	return nil
}

// capture runs fn with output redirected to a fresh buffer.
func (r *renderer) capture(fn func() error) (string, error) {
	saved := r.out
	r.out = &output{}
	err := fn()
	s := r.out.b.String()
	r.out = saved
	return s, err
}

// checkLen rejects a string or value of n bytes, over the output limit,
// before it is built.
func (r *renderer) checkLen(n int) error {
	if n > r.opts.MaxOutput {
		return &LimitError{Limit: "size", Msg: fmt.Sprintf("value larger than %d bytes", r.opts.MaxOutput)}
	}
	return nil
}

// grow accounts for n list items created by the template.
func (r *renderer) grow(n int) error {
	r.created += n
	if r.created > itemFactor*r.opts.MaxRange {
		return &LimitError{Limit: "size", Msg: fmt.Sprintf("template created more than %d list items", itemFactor*r.opts.MaxRange)}
	}
	return nil
}

// growStack grows a new goroutine's stack in one step, while it is still
// shallow and cheap to copy, to the size a render typically needs. Without
// it the stack starts at 2 KiB and is copied several times as the
// evaluator recurses, which costs more than a short render.
//
//go:noinline
func growStack(i int) byte {
	var buf [stackReserve]byte
	buf[i] = 1
	return buf[(i+1)%stackReserve]
}

// stackReserve makes the stack 16 KiB, the largest size Go serves from its
// per-P stack cache.
const stackReserve = 12 << 10
