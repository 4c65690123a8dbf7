package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// maxHookBody bounds a webhook body; push events of large pushes stay well
// under it.
const maxHookBody = 5 << 20

// hookResponse is the body of an accepted webhook.
type hookResponse struct {
	Status   string `json:"status"` // accepted, duplicate, ignored
	Provider string `json:"provider"`
	Delivery string `json:"delivery,omitempty"`
}

// gitHook serves POST /v1/hooks/git: a push webhook from GitHub
// (X-Hub-Signature-256), Gitea (X-Gitea-Signature) or GitLab
// (X-Gitlab-Token). It verifies the signature against the webhook secret (or,
// with none configured, requires the admin key), drops repeated deliveries,
// answers 202 at once and triggers one coalesced sync.
func (s *Server) gitHook(c echo.Context) error {
	req := c.Request()
	body, err := io.ReadAll(io.LimitReader(req.Body, maxHookBody+1))
	if err != nil {
		return registry.Errorf(registry.EINVALID, "read body: %v", err)
	}
	if len(body) > maxHookBody {
		return registry.Errorf(registry.ETOOLARGE, "webhook body is over %d bytes", maxHookBody)
	}
	provider, err := s.verifyHook(c, body)
	if err != nil {
		return err
	}
	res := hookResponse{Status: "accepted", Provider: provider, Delivery: deliveryID(req.Header)}
	switch event := hookEvent(req.Header); event {
	case "ping":
		res.Status = "pong"
		return c.JSON(http.StatusOK, res)
	case "", "push", "create", "delete", "tag_push", "Push Hook", "Tag Push Hook":
	default:
		res.Status = "ignored"
		return c.JSON(http.StatusAccepted, res)
	}
	if res.Delivery != "" && !s.delivery.first(provider+"/"+res.Delivery) {
		res.Status = "duplicate"
		return c.JSON(http.StatusAccepted, res)
	}
	s.snaps.Trigger(registry.Cause{Via: "webhook", Delivery: res.Delivery})
	s.log.Info("webhook accepted", "provider", provider, "delivery", res.Delivery)
	return c.JSON(http.StatusAccepted, res)
}

// verifyHook authenticates a webhook and names its provider.
func (s *Server) verifyHook(c echo.Context, body []byte) (string, error) {
	h := c.Request().Header
	if s.webhookSecret == "" {
		// Never open: without a secret the caller must hold a key with
		// the admin scope.
		if _, err := s.authenticate(c, apiKey(c.Request()), ScopeAdmin); err != nil {
			return "", err
		}
		return providerOf(h), nil
	}
	unauthorized := registry.Errorf(registry.EUNAUTHORIZED, "webhook signature missing or invalid")
	switch {
	case h.Get("X-Gitea-Signature") != "":
		if !validHMAC(h.Get("X-Gitea-Signature"), s.webhookSecret, body) {
			return "", unauthorized
		}
		return "gitea", nil
	case h.Get("X-Hub-Signature-256") != "":
		sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256=")
		if !ok || !validHMAC(sig, s.webhookSecret, body) {
			return "", unauthorized
		}
		return "github", nil
	case h.Get("X-Gitlab-Token") != "":
		if subtle.ConstantTimeCompare([]byte(h.Get("X-Gitlab-Token")), []byte(s.webhookSecret)) != 1 {
			return "", unauthorized
		}
		return "gitlab", nil
	}
	return "", unauthorized
}

// validHMAC reports whether sigHex is the hex HMAC-SHA256 of body under
// secret, comparing in constant time.
func validHMAC(sigHex, secret string, body []byte) bool {
	sig, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(sig, mac.Sum(nil))
}

func providerOf(h http.Header) string {
	switch {
	case h.Get("X-Gitea-Event") != "":
		return "gitea"
	case h.Get("X-GitHub-Event") != "":
		return "github"
	case h.Get("X-Gitlab-Event") != "":
		return "gitlab"
	}
	return "generic"
}

func hookEvent(h http.Header) string {
	for _, k := range []string{"X-Gitea-Event", "X-GitHub-Event", "X-Gitlab-Event"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

func deliveryID(h http.Header) string {
	for _, k := range []string{"X-Gitea-Delivery", "X-GitHub-Delivery", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID"} {
		if v := h.Get(k); v != "" {
			if len(v) > 128 {
				v = v[:128]
			}
			return v
		}
	}
	return ""
}

// deliveries remembers recent webhook delivery ids, to drop redeliveries.
type deliveries struct{ seen *lru.Cache[string, struct{}] }

func newDeliveries(size int) *deliveries {
	c, err := lru.New[string, struct{}](size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	return &deliveries{seen: c}
}

// first reports whether id is seen for the first time, and remembers it.
func (d *deliveries) first(id string) bool {
	found, _ := d.seen.ContainsOrAdd(id, struct{}{})
	return !found
}
