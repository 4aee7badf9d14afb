package httpapi

import (
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
	// together); zero limits nothing. Only keys that authenticate are
	// charged, so that made-up keys cost the limiter nothing.
	PerKey, PerAccount ratelimit.Limit
	// FailedAuthPerIP limits the failed authentications (unknown or revoked
	// keys) of each client IP, in this process; past it, the client's
	// requests are refused before any database read. Zero: PerKey, when a
	// Limiter is set.
	FailedAuthPerIP ratelimit.Limit
}

// Rate limit headers, on every response of a limited route.
const (
	headerLimit     = "X-RateLimit-Limit"
	headerRemaining = "X-RateLimit-Remaining"
	headerReset     = "X-RateLimit-Reset"
)

// limitKey charges an authenticated request to its API key. The allowance
// is named by the secret's hash: a made-up key sharing a real key's public
// prefix cannot eat into the real key's allowance. Keys are charged only
// once they authenticate: an allowance kept for every made-up key of a
// flood cost memory for a whole period (0.7 KB each, 1.5 GB an hour at a
// /h limit); failed authentications are limited per client IP instead.
func (s *Server) limitKey(w http.ResponseWriter, r *http.Request, secret string) error {
	return s.charge(w, r, "key:"+leads.HashAPIKey(secret), s.cfg.RateLimits.PerKey, "API key")
}

// limitAccount charges an authenticated request to its account.
func (s *Server) limitAccount(w http.ResponseWriter, r *http.Request, accountID string) error {
	return s.charge(w, r, "account:"+accountID, s.cfg.RateLimits.PerAccount, "account")
}

// limitAuthenticated charges an authenticated request to its key, then to
// its account.
func (s *Server) limitAuthenticated(w http.ResponseWriter, r *http.Request, secret, accountID string) error {
	if err := s.limitKey(w, r, secret); err != nil {
		return err
	}
	return s.limitAccount(w, r, accountID)
}

// failedAuthScope names the per-IP limit of failed authentications.
const failedAuthScope = "client IP (failed authentication)"

// checkClient refuses, before the key is looked up, a client IP whose
// failed authentications spent their allowance; it charges nothing.
func (s *Server) checkClient(w http.ResponseWriter, r *http.Request) error {
	if s.authFailures == nil {
		return nil
	}
	l := s.cfg.RateLimits.FailedAuthPerIP
	res := s.authFailures.Peek("ip:"+s.clientIP(r), l)
	if res.Allowed {
		return nil
	}
	retry := max(1, seconds(res.RetryAfter.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	return &leads.Error{Code: CodeRateLimited, Message: fmt.Sprintf("too many failed authentications from this client: the limit is %s", l),
		Details: map[string]any{"scope": failedAuthScope, "limit": l.String(), "retryAfter": retry}}
}

// noteAuthFailure charges a failed authentication (err UNAUTHENTICATED) to
// the client's IP, and returns err.
func (s *Server) noteAuthFailure(r *http.Request, err error) error {
	if s.authFailures != nil && leads.ErrorCode(err) == leads.CodeUnauthenticated {
		_, _ = s.authFailures.Allow(r.Context(), "ip:"+s.clientIP(r), s.cfg.RateLimits.FailedAuthPerIP)
	}
	return err
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
