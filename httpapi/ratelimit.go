package httpapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/ratelimit"
)

// CodeRateLimited: the API key or the account made too many requests;
// Retry-After says when to try again.
const CodeRateLimited = "RATE_LIMITED"

// RateLimits configures rate limiting of authenticated routes.
type RateLimits struct {
	// Limiter decides; nil limits nothing. ratelimit.Redis shares the
	// limits between every server using the same Redis.
	Limiter ratelimit.Limiter
	// PerKey limits each API key, PerAccount each account (all its keys
	// together); zero limits nothing.
	PerKey, PerAccount ratelimit.Limit
}

// Rate limit headers, on every response of a limited route.
const (
	headerLimit     = "X-RateLimit-Limit"
	headerRemaining = "X-RateLimit-Remaining"
	headerReset     = "X-RateLimit-Reset"
)

// limitKey charges a request to its API key before the key is checked, so
// that a client hammering with one key is refused without a database read.
// The allowance is named by the secret's hash: a made-up key sharing a real
// key's public prefix does not eat into the real key's allowance.
func (s *Server) limitKey(w http.ResponseWriter, r *http.Request, secret string) error {
	return s.charge(w, r, "key:"+leads.HashAPIKey(secret), s.cfg.RateLimits.PerKey, "API key")
}

// limitAccount charges an authenticated request to its account.
func (s *Server) limitAccount(w http.ResponseWriter, r *http.Request, accountID string) error {
	return s.charge(w, r, "account:"+accountID, s.cfg.RateLimits.PerAccount, "account")
}

// charge takes one request from key's allowance under l. It sets the
// X-RateLimit-* headers when this limit is the tightest so far, and answers
// RATE_LIMITED, with Retry-After, when the allowance is spent. A limiter
// that fails lets the request through: limits protect the service, and an
// outage of theirs must not become one of the service.
func (s *Server) charge(w http.ResponseWriter, r *http.Request, key string, l ratelimit.Limit, scope string) error {
	lim := s.cfg.RateLimits.Limiter
	if lim == nil || l.IsZero() {
		return nil
	}
	res, err := lim.Allow(r.Context(), key, l)
	if err != nil {
		s.log.WarnContext(r.Context(), "rate limit not checked", "scope", scope, "err", err)
		return nil
	}
	h := w.Header()
	if cur, err := strconv.Atoi(h.Get(headerRemaining)); err != nil || res.Remaining < cur || !res.Allowed {
		h.Set(headerLimit, strconv.Itoa(l.Rate))
		h.Set(headerRemaining, strconv.Itoa(res.Remaining))
		h.Set(headerReset, strconv.Itoa(seconds(res.ResetAfter.Seconds())))
	}
	if res.Allowed {
		return nil
	}
	retry := max(1, seconds(res.RetryAfter.Seconds()))
	h.Set("Retry-After", strconv.Itoa(retry))
	return &leads.Error{Code: CodeRateLimited, Message: fmt.Sprintf("too many requests for this %s: the limit is %s", scope, l),
		Details: map[string]any{"scope": scope, "limit": l.String(), "retryAfter": retry}}
}

// seconds rounds up to whole seconds.
func seconds(f float64) int { return int(math.Ceil(f)) }

// admitAccount is the hook through which POST /leads, which authenticates
// inside the service, charges the account once the key is known.
func (s *Server) admitAccount(w http.ResponseWriter, r *http.Request) func(context.Context, leads.Actor) error {
	if s.cfg.RateLimits.Limiter == nil || s.cfg.RateLimits.PerAccount.IsZero() {
		return nil
	}
	return func(_ context.Context, actor leads.Actor) error {
		return s.limitAccount(w, r, actor.AccountID)
	}
}
