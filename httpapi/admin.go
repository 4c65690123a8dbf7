package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// errNoAdminKey is the cause of a 401 on a server without an admin key.
var errNoAdminKey = errors.New("no admin key configured")

// apiKey returns the key a request carries.
func apiKey(req *http.Request) string {
	if v := req.Header.Get("Authorization"); v != "" {
		// The scheme is case-insensitive (RFC 9110 §11.1).
		if scheme, k, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(k)
		}
	}
	return strings.TrimSpace(req.Header.Get("X-API-Key"))
}

// adminSync serves POST /v1/admin/sync: it syncs now, waits for the sync and
// answers the resulting status. A failed fetch still answers 200 with the
// error in last_error when a snapshot is served; 503 when none is.
func (s *Server) adminSync(c echo.Context) error {
	err := s.snaps.Sync(c.Request().Context())
	st := s.snaps.Status()
	if err != nil && !st.Ready {
		return &registry.Error{Code: registry.EUNAVAILABLE, Message: "sync failed: " + registry.ErrorMessage(err), Err: err}
	}
	return c.JSON(http.StatusOK, st)
}
