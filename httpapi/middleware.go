package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

type contextKey int

const (
	requestIDKey contextKey = iota
	actorKey
	logInfoKey
	deferredKey
)

// requestIDPattern is what a client-sent X-Request-Id must look like to be
// kept; anything else is replaced, so that logs cannot be forged.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestID gives every request an id: the client's X-Request-Id when it
// is sane, else a random one. It is echoed in the response.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// logInfo collects what the access log says about a request beyond HTTP:
// filled in by the authentication middleware.
type logInfo struct {
	account, user, apiKey string
	// route is the pattern of the route that serves the request.
	route string
}

// named records, for the access log, ObserveRequest and OnRoute, that
// the route of pattern serves the request.
func (s *Server) named(pattern string, next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		if info, ok := req.Context().Value(logInfoKey).(*logInfo); ok {
			info.route = pattern
		}
		if s.cfg.OnRoute != nil {
			s.cfg.OnRoute(req.Request, pattern)
		}
		return next(w, req)
	}
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// withAccessLog writes one structured line per request.
func (s *Server) withAccessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		info := &logInfo{}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), logInfoKey, info)))
		if rec.status < http.StatusInternalServerError && info.account != "" {
			s.outages.answered(r.Context())
		}
		if s.cfg.ObserveRequest != nil {
			status := rec.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http answers 200
			}
			s.cfg.ObserveRequest(info.route, r.Method, status, time.Since(start))
		}
		level := slogLevel(rec.status)
		if !s.log.Enabled(r.Context(), level) {
			return // its attributes would be made for nothing
		}
		s.log.Log(r.Context(), level, "request",
			"request_id", requestID(r.Context()),
			"method", r.Method,
			"path", r.URL.Path,
			"status", rec.status,
			"bytes", rec.bytes,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"ip", s.clientIP(r),
			"account", info.account,
			"user", info.user,
			"api_key", info.apiKey,
		)
	})
}

// withRecovery turns a panic into a 500 with a code; the panic and its stack
// are logged, never sent.
func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				err := fmt.Errorf("panic: %v\n%s", v, debug.Stack())
				s.writeError(w, r, err)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withTimeout bounds the work of each request by the configured timeout: a
// database or Redis that hangs makes the request fail with 503 instead of
// holding it (and its connection) forever.
func (s *Server) withTimeout(next http.Handler) http.Handler {
	if s.cfg.RequestTimeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// withBodyLimit bounds request bodies; reading past the limit fails with
// *http.MaxBytesError, which decodeJSON reports as 413.
func (s *Server) withBodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.BodyLimit {
			s.writeError(w, r, &leads.Error{Code: CodePayloadTooLarge, Message: "request body too large",
				Details: map[string]any{"limit": s.cfg.BodyLimit}})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.BodyLimit)
		next.ServeHTTP(w, r)
	})
}

// withRoutablePath answers 404 for a path that holds a control character
// (sent escaped: %00, %0A …). No route has one and no name or id can; and
// bunrouter indexes an empty table when a segment starts with a NUL byte
// where only a parameter can follow (/leads/%00 panicked), so such a path
// never reaches the router.
//
// A write (any method but GET and HEAD) to a path that is not clean (a
// trailing slash, an empty or dot segment) is a 404 too: the router would
// answer it with an HTML 301 to the clean path, which clients follow by
// sending a GET, so that POST /leads/ quietly became a listing.
func (s *Server) withRoutablePath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.ContainsFunc(r.URL.Path, isControl) || strings.ContainsFunc(r.URL.RawPath, isControl) {
			s.writeError(w, r, leads.Errorf(leads.CodeNotFound, "no such route"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !cleanPath(r.URL.Path) {
			s.writeError(w, r, &leads.Error{Code: leads.CodeNotFound, Message: "no such route: write to the path without its trailing slash or empty segments",
				Details: map[string]any{"path": bunrouter.CleanPath(strings.TrimSuffix(r.URL.Path, "/"))}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath reports whether p is a path the router takes as it is: no
// trailing slash (but "/"), no empty, "." or ".." segment.
func cleanPath(p string) bool {
	return p == "/" || (!strings.HasSuffix(p, "/") && bunrouter.CleanPath(p) == p)
}

// isControl reports whether c is an ASCII control character.
func isControl(c rune) bool { return c < 0x20 || c == 0x7f }

// credentials reads what a request presents: 401 without an API key, 400
// without x-account-id; and what the audit log keeps of the request.
// Either header sent twice is refused, whether the copies agree or not:
// one client or proxy may have set the first and another added the second,
// and the request would act for the first while its audit entries showed
// both.
func (s *Server) credentials(r *http.Request) (leads.Credentials, error) {
	if len(r.Header.Values("Authorization")) > 1 {
		return leads.Credentials{}, leads.Errorf(leads.CodeUnauthenticated, "send one Authorization header, not several")
	}
	secret, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return leads.Credentials{}, leads.Errorf(leads.CodeUnauthenticated, "missing API key: send Authorization: Bearer <key>")
	}
	if ids := r.Header.Values("x-account-id"); len(ids) > 1 {
		return leads.Credentials{}, leads.ValidationError(leads.FieldError{Field: "x-account-id",
			Message: fmt.Sprintf("send the x-account-id header once, not %d times", len(ids))})
	}
	accountID := strings.TrimSpace(r.Header.Get("x-account-id"))
	if accountID == "" {
		return leads.Credentials{}, leads.Errorf(CodeAccountIDRequired, "the x-account-id header is required")
	}
	return leads.Credentials{Secret: secret, AccountID: accountID, Request: &leads.RequestInfo{
		Method:    r.Method,
		Path:      r.URL.Path,
		IPAddress: s.clientIP(r),
		Headers:   sanitizeHeaders(r.Header, secret),
	}}, nil
}

// authenticate checks the request's credentials before rt's handler runs:
// 401 without a valid key, 400 without x-account-id, 403 when the key's
// user is not a member of the account; then charges the rate limits.
//
// An authDeferred route (POST /leads) gets the credentials unresolved in
// its context instead: the Service resolves them in the same read as the
// lead's own checks (see leads.Credentials), and calls admit once they are.
// Should the route refuse the request before that (a malformed body or
// query string), they are resolved here, so that auth errors still come
// first, on every route alike.
func (s *Server) authenticate(rt route, next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		cred, err := s.credentials(req.Request)
		if err != nil {
			return err
		}
		if err := s.checkClient(w, req.Request); err != nil {
			return err
		}
		if rt.auth != authDeferred {
			actor, err := s.resolve(w, req.Request, cred)
			if err != nil {
				return err
			}
			return next(w, req.WithContext(withActor(req.Context(), actor)))
		}
		d := &deferredAuth{cred: cred}
		err = next(w, req.WithContext(context.WithValue(req.Context(), deferredKey, d)))
		if err == nil || d.passed {
			return s.noteAuthFailure(req.Request, err)
		}
		if leads.ErrorCode(err) == CodeRequestTimeout {
			// The connection is spent (its context canceled): authenticating
			// would fail for that reason and hide the client's.
			return err
		}
		if _, aerr := s.resolve(w, req.Request, cred); aerr != nil {
			return aerr
		}
		return err
	}
}

// resolve authenticates cred and charges the rate limits of its key and
// account; it returns the actor, also put in the access log's line.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, cred leads.Credentials) (leads.Actor, error) {
	actor, err := s.svc.Authenticate(r.Context(), cred.Secret, cred.AccountID)
	if err != nil {
		return leads.Actor{}, s.noteAuthFailure(r, err)
	}
	if err := s.limitAuthenticated(w, r, cred.Secret, actor.AccountID); err != nil {
		return leads.Actor{}, err
	}
	withActor(r.Context(), actor)
	actor.Request = cred.Request
	return actor, nil
}

// deferredAuth is what an authDeferred route gets in its context: the
// credentials, unresolved, and whether the Service has taken them over.
type deferredAuth struct {
	cred   leads.Credentials
	passed bool
}

// deferredCredentials hands an authDeferred route's credentials over to the
// Service, with the admission hook that charges the rate limits and logs
// the actor once the Service has resolved them.
func (s *Server) deferredCredentials(w http.ResponseWriter, r *http.Request) (leads.Credentials, func(context.Context, leads.Actor) error) {
	d, _ := r.Context().Value(deferredKey).(*deferredAuth)
	if d == nil {
		// Unreachable: every authDeferred route runs under authenticate.
		panic("httpapi: an authDeferred route without authenticate")
	}
	d.passed = true
	return d.cred, func(ctx context.Context, actor leads.Actor) error {
		withActor(ctx, actor)
		return s.limitAuthenticated(w, r, d.cred.Secret, actor.AccountID)
	}
}

// withActor puts the actor in ctx, and in the access log's line.
func withActor(ctx context.Context, actor leads.Actor) context.Context {
	if info, ok := ctx.Value(logInfoKey).(*logInfo); ok {
		info.account, info.user, info.apiKey = actor.AccountID, actor.Email, actor.APIKey
	}
	return context.WithValue(ctx, actorKey, actor)
}

func actorFrom(ctx context.Context) leads.Actor {
	a, _ := ctx.Value(actorKey).(leads.Actor)
	return a
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// clientIP is the address the request came from (see ClientIP).
func (s *Server) clientIP(r *http.Request) string { return ClientIP(r, s.cfg.TrustProxy) }

// ClientIP is the address a request came from: the connection's peer, or
// the first X-Forwarded-For address when the server trusts its proxy.
func ClientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Limits on the headers kept in audit entries: enough to trace a request,
// not enough to bloat every lead's history.
const (
	maxAuditHeaders     = 32
	maxAuditHeaderValue = 512
)

// sensitiveHeaders are masked in audit entries whatever their value.
var sensitiveHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"X-Api-Key": true, "X-Auth-Token": true, "X-Csrf-Token": true,
}

// Masked replaces a secret header value in audit entries.
const Masked = "[masked]"

// sanitizeHeaders returns the request headers for the audit log with every
// secret masked: credentials, cookies, anything named like an
// authorization, cookie, token, secret, password or API key (proxies
// forward the client's Authorization as X-Forwarded-Authorization), and any
// value that holds the request's own API key, whatever the header's name.
func sanitizeHeaders(h http.Header, secret string) map[string]string {
	out := make(map[string]string, min(len(h), maxAuditHeaders))
	for name, values := range h {
		if len(out) == maxAuditHeaders {
			break
		}
		lower := strings.ToLower(name)
		value := strings.Join(values, ", ")
		switch {
		case sensitiveHeaders[name], strings.Contains(lower, "authorization"), strings.Contains(lower, "cookie"),
			strings.Contains(lower, "token"), strings.Contains(lower, "secret"), strings.Contains(lower, "password"),
			strings.Contains(lower, "api-key"), strings.Contains(lower, "apikey"), secret != "" && strings.Contains(value, secret):
			value = Masked
		case len(value) > maxAuditHeaderValue:
			value = value[:maxAuditHeaderValue] + "…"
		}
		out[name] = value
	}
	return out
}

// slogLevel logs server errors as errors, the rest as information. A 503
// is an outage of a dependency, not an error of the server's own, and the
// outage log reports it once.
func slogLevel(status int) slog.Level {
	if status >= http.StatusInternalServerError && status != http.StatusServiceUnavailable {
		return slog.LevelError
	}
	return slog.LevelInfo
}
