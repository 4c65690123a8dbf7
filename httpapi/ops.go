package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// healthz serves GET /healthz: 200 while the process runs.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz serves GET /readyz: 200 once a snapshot is loaded, 503 before.
func (s *Server) readyz(c echo.Context) error {
	if !s.snaps.Ready() {
		return registry.Errorf(registry.EUNAVAILABLE, "no snapshot loaded yet")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// status serves GET /v1/status: the tracked branch, what each environment
// serves, fetch times and ages, the last error, invalid files and prompts
// served from their last known good version.
func (s *Server) status(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, s.snaps.Status())
}
