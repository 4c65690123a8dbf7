package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	registry.EINVALID:       http.StatusBadRequest,
	registry.EUNAUTHORIZED:  http.StatusUnauthorized,
	registry.EFORBIDDEN:     http.StatusForbidden,
	registry.ENOTFOUND:      http.StatusNotFound,
	registry.ECONFLICT:      http.StatusConflict,
	registry.EPRECONDITION:  http.StatusPreconditionFailed,
	registry.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	registry.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	registry.ERATELIMIT:     http.StatusTooManyRequests,
	registry.EINTERNAL:      http.StatusInternalServerError,
	registry.EUNAVAILABLE:   http.StatusServiceUnavailable,
	registry.ETIMEOUT:       http.StatusGatewayTimeout,
	registry.EUPSTREAM:      http.StatusBadGateway,
}

// codeOf maps the statuses echo itself produces (unknown route, wrong
// method, body too large) back to error codes.
var codeOf = map[int]string{
	http.StatusBadRequest:            registry.EINVALID,
	http.StatusUnauthorized:          registry.EUNAUTHORIZED,
	http.StatusForbidden:             registry.EFORBIDDEN,
	http.StatusNotFound:              registry.ENOTFOUND,
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: registry.ETOOLARGE,
	http.StatusUnsupportedMediaType:  registry.EINVALID,
	http.StatusTooManyRequests:       registry.ERATELIMIT,
	http.StatusServiceUnavailable:    registry.EUNAVAILABLE,
}

// errorBody is the JSON error envelope every failed request gets.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// statusForError returns the status handleError writes for err.
func statusForError(err error) int {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	if st, ok := statusOf[registry.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// handleError is echo's error handler: it writes every error as the JSON
// envelope with the status its code maps to. Internal errors are logged and
// shown to users only as "internal error".
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := statusForError(err), errorDetail{}
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		body.Code = codeOf[he.Code]
		if body.Code == "" {
			body.Code = strings.ReplaceAll(strings.ToLower(http.StatusText(he.Code)), " ", "_")
		}
		body.Message = strings.ToLower(http.StatusText(he.Code))
		if m, ok := he.Message.(string); ok && he.Code != http.StatusNotFound {
			body.Message = m
		}
		if he.Code == http.StatusNotFound {
			body.Message = "no route for " + c.Request().Method + " " + c.Request().URL.Path
		}
	default:
		code := registry.ErrorCode(err)
		body.Code = code
		body.Message = registry.ErrorMessage(err)
		body.Details = registry.ErrorDetails(err)
		if status >= 500 && code != registry.EUNAVAILABLE {
			s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		}
		// Too many requests, or a state that passes (not synced yet, too
		// many lookups or builds running): tell clients when to retry.
		if (code == registry.ERATELIMIT || code == registry.EUNAVAILABLE) && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "1")
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if err := c.JSON(status, errorBody{Error: body}); err != nil {
		s.log.Debug("write error response", "err", err)
	}
}
