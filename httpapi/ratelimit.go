package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// RateLimits are requests per second per key, by scope, and per client IP
// for requests without a key ("anonymous"); a scope without a limit is not
// limited. Each bucket holds a burst of twice its rate.
type RateLimits map[string]float64

// anonymousLimit names the per-IP limit of requests without a key.
const anonymousLimit = "anonymous"

// ParseRateLimits reads "prompts:read=200,prompts:execute=5,anonymous=20".
func ParseRateLimits(spec string) (RateLimits, error) {
	out := RateLimits{}
	for _, part := range strings.Split(spec, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, v, ok := strings.Cut(part, "=")
		rate, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		name = strings.TrimSpace(name)
		known := name == anonymousLimit
		for _, s := range registry.KnownScopes {
			known = known || (s == name && s != registry.ScopeAll)
		}
		if !ok || err != nil || rate <= 0 || math.IsInf(rate, 0) || !known {
			return nil, fmt.Errorf("rate limit %q: want SCOPE=REQUESTS_PER_SECOND (a scope, or anonymous)", part)
		}
		out[name] = rate
	}
	return out, nil
}

// costs of a request, in tokens. A conditional GET answered 304 is the
// cheapest request the server serves: it is charged a fifth, and it may run
// the bucket into a debt of a second's worth, so a client revalidating its
// cache is the last one limited.
const (
	costFull        = 1.0
	costNotModified = 0.2
)

// limiter keeps a token bucket per key (and scope) and per client IP.
type limiter struct {
	limits  RateLimits
	buckets *lru.Cache[string, *bucket]
	now     func() time.Time
}

type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// maxBuckets bounds the buckets kept; the least recently used go first
// (a forgotten bucket starts full again).
const maxBuckets = 100_000

func newLimiter(limits RateLimits, now func() time.Time) *limiter {
	if len(limits) == 0 {
		return nil
	}
	c, _ := lru.New[string, *bucket](maxBuckets)
	return &limiter{limits: limits, buckets: c, now: now}
}

// bucketFor returns the limit and the bucket of a request by who (a key id, or
// "" for an anonymous request from ip) to a route of scope; a nil bucket
// when it is not limited.
func (l *limiter) bucketFor(who, ip string, scope Scope) (float64, string, *bucket) {
	name, id := string(scope), "k:"+who+"|"+string(scope)
	if who == "" {
		name, id = anonymousLimit, "ip:"+ip
	}
	rate, ok := l.limits[name]
	if !ok {
		return 0, "", nil
	}
	b, ok := l.buckets.Get(id)
	if !ok {
		b = &bucket{tokens: 2 * rate, last: l.now()}
		if prev, found, _ := l.buckets.PeekOrAdd(id, b); found {
			b = prev
		}
	}
	return rate, id, b
}

// refill brings b's tokens up to now, under b.mu.
func (b *bucket) refill(rate float64, now time.Time) {
	b.tokens = math.Min(2*rate, b.tokens+rate*now.Sub(b.last).Seconds())
	b.last = now
}

// limit wraps next with the rate limit of scope: a request finding its
// bucket empty is answered 429 with Retry-After; every answer carries the
// RateLimit-Limit, -Remaining and -Reset headers. A request is charged once
// answered, by what it cost (a 304 less).
func (s *Server) limit(scope Scope, next echo.HandlerFunc) echo.HandlerFunc {
	if s.limiter == nil || scope == ScopePublic {
		return next
	}
	return func(c echo.Context) error {
		rate, _, b := s.limiter.bucketFor(keyID(c), c.RealIP(), scope)
		if b == nil {
			return next(c)
		}
		now := s.limiter.now()
		b.mu.Lock()
		b.refill(rate, now)
		tokens := b.tokens
		b.mu.Unlock()
		h := c.Response().Header()
		h.Set("RateLimit-Limit", strconv.Itoa(int(math.Ceil(2*rate))))
		need := costFull
		if c.Request().Header.Get("If-None-Match") != "" {
			// It may end in a 304: it may take the bucket into a debt of
			// up to a second's worth, which full requests then wait out.
			need = costNotModified - rate
		}
		if tokens < need {
			wait := time.Duration((need - tokens) / rate * float64(time.Second))
			secs := int(math.Ceil(wait.Seconds()))
			h.Set("RateLimit-Remaining", "0")
			h.Set("RateLimit-Reset", strconv.Itoa(secs))
			h.Set("Retry-After", strconv.Itoa(secs))
			return registry.Errorf(registry.ERATELIMIT, "rate limit of %g requests per second reached: retry in %d s", rate, secs)
		}
		h.Set("RateLimit-Remaining", strconv.Itoa(int(tokens)))
		h.Set("RateLimit-Reset", "0")
		err := next(c)
		cost := costFull
		if c.Response().Status == http.StatusNotModified {
			cost = costNotModified
		}
		b.mu.Lock()
		b.tokens -= cost
		b.mu.Unlock()
		return err
	}
}
