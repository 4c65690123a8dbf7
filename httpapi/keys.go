package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/keys"
	"github.com/promptreg/promptreg/registry"
)

// keyBody is the body of POST /v1/admin/keys.
type keyBody struct {
	Name         string     `json:"name"`
	Scopes       []string   `json:"scopes"`
	ExpiresAt    *time.Time `json:"expires_at"`
	AllowedCIDRs []string   `json:"allowed_cidrs"`
}

// createdKey is the answer of POST /v1/admin/keys: the key, shown this once.
type createdKey struct {
	registry.APIKey
	Key string `json:"key"`
}

// createKey serves POST /v1/admin/keys.
func (s *Server) createKey(c echo.Context) error {
	if s.keys == nil {
		return registry.Errorf(registry.ENOTFOUND, "this server keeps no API keys")
	}
	var b keyBody
	if err := decodeStrict(c, &b, 64<<10); err != nil {
		return err
	}
	raw, k, err := s.keys.Create(c.Request().Context(), keys.CreateRequest{Name: b.Name, Scopes: b.Scopes, ExpiresAt: b.ExpiresAt, AllowedCIDRs: b.AllowedCIDRs})
	if err != nil {
		return err
	}
	s.log.Info("API key created", "id", k.ID, "name", k.Name, "scopes", k.Scopes, "by", keyID(c))
	return c.JSON(http.StatusCreated, createdKey{APIKey: k, Key: raw})
}

// listKeys serves GET /v1/admin/keys: never the keys themselves.
func (s *Server) listKeys(c echo.Context) error {
	if s.keys == nil {
		return registry.Errorf(registry.ENOTFOUND, "this server keeps no API keys")
	}
	ks, err := s.keys.List(c.Request().Context())
	if err != nil {
		return err
	}
	if ks == nil {
		ks = []registry.APIKey{}
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": ks})
}

// deleteKey serves DELETE /v1/admin/keys/{id}: the key stops working on
// this replica at once.
func (s *Server) deleteKey(c echo.Context) error {
	if s.keys == nil {
		return registry.Errorf(registry.ENOTFOUND, "this server keeps no API keys")
	}
	id := c.Param("id")
	if err := s.keys.Delete(c.Request().Context(), id); err != nil {
		return err
	}
	s.log.Info("API key revoked", "id", id, "by", keyID(c))
	return c.NoContent(http.StatusNoContent)
}
