package gitstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/promptreg/promptreg/registry"
)

// internal wraps err as an EINTERNAL error with the context msg.
func internal(msg string, err error) error {
	return &registry.Error{Code: registry.EINTERNAL, Message: msg, Err: err}
}

// notFound returns an ENOTFOUND error with a formatted message.
func notFound(format string, args ...any) error {
	return registry.Errorf(registry.ENOTFOUND, format, args...)
}

// readError turns an error of a read into a coded one: ENOTFOUND for a
// missing object, ETIMEOUT for an expired context, EINTERNAL otherwise.
func readError(msg string, err error) error {
	var rerr *registry.Error
	switch {
	case errors.As(err, &rerr):
		return err
	case errors.Is(err, plumbing.ErrObjectNotFound):
		return &registry.Error{Code: registry.ENOTFOUND, Message: msg + ": not found", Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &registry.Error{Code: registry.ETIMEOUT, Message: msg + ": " + err.Error(), Err: err}
	}
	return internal(msg, err)
}

// ctxErr returns an ETIMEOUT error if ctx is done.
func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return &registry.Error{Code: registry.ETIMEOUT, Message: fmt.Sprintf("%s: %v", op, err), Err: err}
	}
	return nil
}

// scrubbedError is an error whose message has had secrets removed; it still
// unwraps to the original error for errors.Is and errors.As.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub returns err with every secret in its message replaced by "***".
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := scrubString(err.Error(), secrets)
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

func scrubString(s string, secrets []string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "***")
		}
	}
	return s
}

// redactURL returns raw with any password replaced by "xxxxx".
func redactURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "xxxxx" + raw[i:] // unparsable: keep nothing before the host
		}
		return raw
	}
	return u.Redacted()
}
