package httpapi

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// errNoAdminKey is the cause of a 401 on a server without an admin key.
var errNoAdminKey = errors.New("no admin key configured")

// checkAdmin verifies the admin key, given as "Authorization: Bearer KEY" or
// "X-API-Key: KEY", in constant time.
func (s *Server) checkAdmin(req *http.Request) error {
	if s.adminKey == "" {
		return &registry.Error{Code: registry.EUNAUTHORIZED, Message: "this server has no admin key configured (--admin-key)", Err: errNoAdminKey}
	}
	key := apiKey(req)
	if key == "" {
		return registry.Errorf(registry.EUNAUTHORIZED, "missing API key: send Authorization: Bearer KEY or X-API-Key: KEY")
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.adminKey)) != 1 {
		return registry.Errorf(registry.EUNAUTHORIZED, "invalid API key")
	}
	return nil
}

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
