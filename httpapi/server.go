// Package httpapi is leadrotor's HTTP interface: bunrouter handlers over a
// leads.Service, the middleware around them, the one table that maps domain
// error codes to HTTP statuses, and the OpenAPI document of every route.
//
// Handlers return errors instead of writing error statuses; one middleware
// renders every error as {"error", "code", "details"}.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/ratelimit"
)

// DefaultBodyLimit is the largest request body accepted unless configured:
// a lead with maximal metadata and notes fits many times over.
const DefaultBodyLimit = 256 << 10

// Check is a readiness check: nil when the dependency it names answers.
type Check func(ctx context.Context) error

// Config configures a Server. The zero value is usable.
type Config struct {
	// Logger receives the access log and every internal error in full.
	Logger *slog.Logger
	// BodyLimit bounds request bodies in bytes (default DefaultBodyLimit);
	// larger ones get 413.
	BodyLimit int64
	// TrustProxy takes the client IP from the first X-Forwarded-For address;
	// set it only behind a proxy that sets that header.
	TrustProxy bool
	// Ready lists what /readyz checks, by name (say "database"): when one
	// fails, the server is not ready (503).
	Ready map[string]Check
	// Degraded lists checks whose failure leaves the server serving, with
	// less (say "redis": leads are stored but wait for assignment); /readyz
	// then answers 200 with status "degraded".
	Degraded map[string]Check
	// RequestTimeout bounds the work of each request; one that runs out
	// answers 503 SERVICE_UNAVAILABLE, or 408 REQUEST_TIMEOUT when it ran
	// out waiting for the client's body. Zero: no bound.
	RequestTimeout time.Duration
	// RateLimits limits the requests of API keys and accounts.
	RateLimits RateLimits
	// Reads bounds the heavy reads (lead listings and searches, the audit
	// log, statistics) running at once, in all and per API key.
	Reads ReadLimits
	// Simulations runs the simulations of /simulations; nil answers them
	// 404.
	Simulations leads.Simulator
	// ObserveRequest, when set, is told of every request once answered:
	// the pattern of the route that served it ("" when none did, as for
	// a 404 of an unknown path), its method and status, and how long it
	// took. For metrics.
	ObserveRequest func(route, method string, status int, took time.Duration)
	// OnRoute, when set, is told the pattern of the route that serves a
	// request before its handler runs (tracing names the request's span).
	OnRoute func(r *http.Request, pattern string)
}

// Server is the HTTP API. It is an http.Handler.
type Server struct {
	svc     *leads.Service
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	outages *outageLog
	// authFailures counts failed authentications per client IP; nil when
	// they are not limited.
	authFailures *ratelimit.Memory
	// allow lists each route's path with the methods it serves, for the
	// Allow header of a 405.
	allow []allowance
	// reads admits heavy reads; lead intake never waits on it.
	reads *readGate
}

// allowance is a route's path, split at its slashes, and the methods it
// serves as the Allow header lists them.
type allowance struct {
	segments []string
	methods  string
}

// allowed returns the methods the route of r's path serves, "" when no
// route has that path. bunrouter says 404 instead of 405 for a wrong method
// on a path with a parameter before its last segment
// (/rotations/1/members/x), so the routes are matched here, the way
// bunrouter matches them: a parameter matches one non-empty segment.
func (s *Server) allowed(r *http.Request) string {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	segments := strings.Split(path, "/")
	for _, a := range s.allow {
		if len(a.segments) != len(segments) {
			continue
		}
		match := true
		for i, seg := range a.segments {
			if seg != segments[i] && (!strings.HasPrefix(seg, ":") || segments[i] == "") {
				match = false
				break
			}
		}
		if match {
			return a.methods
		}
	}
	return ""
}

var _ http.Handler = (*Server)(nil)

// New returns the API over svc.
func New(svc *leads.Service, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.RateLimits.FailedAuthPerIP.IsZero() && cfg.RateLimits.Limiter != nil {
		cfg.RateLimits.FailedAuthPerIP = cfg.RateLimits.PerKey
	}
	s := &Server{svc: svc, cfg: cfg, log: cfg.Logger, outages: &outageLog{log: cfg.Logger, now: time.Now},
		reads: newReadGate(cfg.Reads)}
	if !cfg.RateLimits.FailedAuthPerIP.IsZero() {
		s.authFailures = ratelimit.NewMemory()
	}

	router := bunrouter.New(
		bunrouter.Use(s.renderErrors),
		bunrouter.WithNotFoundHandler(s.notFound),
		bunrouter.WithMethodNotAllowedHandler(s.renderErrors(s.methodNotAllowed)),
	)
	methods := map[string][]string{}
	for _, rt := range s.routes() {
		// The query string is checked once the caller is known: auth
		// errors come first.
		h := rt.handler
		if !rt.takesBody() {
			h = withoutBody(h)
		}
		h = s.withQuery(rt, h)
		if rt.auth != public {
			h = s.authenticate(rt, h)
		}
		h = s.named(rt.path, h)
		router.Handle(rt.method, rt.path, h)
		methods[rt.path] = append(methods[rt.path], rt.method)
		if rt.method == http.MethodGet {
			// HEAD is GET without the body, which net/http drops.
			router.Handle(http.MethodHead, rt.path, h)
			methods[rt.path] = append(methods[rt.path], http.MethodHead)
		}
	}
	for path, ms := range methods {
		slices.Sort(ms)
		s.allow = append(s.allow, allowance{strings.Split(path, "/"), strings.Join(ms, ", ")})
	}
	// Outermost first: every request, even one no route matches, gets an id,
	// a log line, panic recovery and the body limit.
	s.handler = s.withRequestID(s.withAccessLog(s.withRecovery(s.withTimeout(s.withBodyLimit(s.withRoutablePath(router))))))
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// route is one endpoint. The OpenAPI test reads this table, so a route
// cannot be added without being documented.
type route struct {
	method, path string
	auth         authMode
	handler      bunrouter.HandlerFunc
	// query lists the query parameters the route takes; any other is
	// refused, so that a misspelt one is not silently ignored.
	query []string
}

// takesBody says whether the route reads a request body: every POST, PUT
// and PATCH but the redelivery, as the document says
// (TestBodyOnABodylessRouteRefused walks its operations without one); a
// body sent to any other is refused (withoutBody).
func (rt route) takesBody() bool {
	switch rt.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return rt.path != "/webhooks/:id/deliveries/:deliveryId/redeliver"
	}
	return false
}

// withoutBody refuses a request that sends a body to a route that reads
// none, on "body": ignored, a body that said what the client meant (a
// filter, {"force": true}) would be answered as if it had not been sent.
func withoutBody(next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		if req.Body != nil && req.Body != http.NoBody {
			var one [1]byte
			if n, _ := io.ReadFull(req.Body, one[:]); n > 0 {
				return leads.ValidationError(leads.FieldError{Field: "body", Message: "This route takes no body: send none"})
			}
		}
		return next(w, req)
	}
}

// authMode says who may call a route.
type authMode int

const (
	// public routes need no credentials.
	public authMode = iota
	// authKey routes need an API key and x-account-id, checked before the
	// handler runs.
	authKey
	// authDeferred routes need them too, checked before the handler runs,
	// but resolved by the Service (see authenticate).
	authDeferred
)

func (s *Server) routes() []route {
	// The query parameters of routes that share them.
	createQuery := []string{"skipTeamAndSourceRequirement", "dryRun", "matchBy"}
	updateQuery := []string{"skipTeamAndSourceRequirement"}
	windowQuery := []string{"from", "to"}
	return []route{
		{http.MethodGet, "/healthz", public, s.healthz, nil},
		{http.MethodGet, "/readyz", public, s.readyz, nil},
		{http.MethodGet, "/openapi.yaml", public, s.openAPI, nil},
		{http.MethodGet, "/docs", public, s.docs, nil},
		{http.MethodGet, "/docs/redoc.standalone.js", public, s.redocScript, nil},
		{http.MethodPost, "/leads", authDeferred, s.createLead, createQuery}, // resolved with the lead facts read, see createLead
		{http.MethodGet, "/leads", authKey, s.heavyRead(s.listLeads), listQuery()},
		{http.MethodGet, "/leads/:id", authKey, s.getLead, nil},
		{http.MethodPatch, "/leads/:id", authKey, s.updateLead, updateQuery},
		{http.MethodPut, "/leads/:id", authKey, s.updateLead, updateQuery},
		{http.MethodDelete, "/leads/:id", authKey, s.deleteLead, []string{"confirm"}},
		{http.MethodPost, "/leads/:id/assign", authKey, s.assignLead, nil},
		{http.MethodGet, "/leads/:id/routing", authKey, s.leadRouting, nil},
		{http.MethodPost, "/leads/:id/activities", authKey, s.addActivity, nil},
		{http.MethodGet, "/leads/:id/activities", authKey, s.listActivities, []string{"limit", "cursor"}},
		{http.MethodPost, "/leads/:id/accept", authKey, s.acceptLead, nil},
		{http.MethodGet, "/audit", authKey, s.heavyRead(s.listAudit), []string{"leadId", "event", "limit", "cursor"}},
		{http.MethodPost, "/teams", authKey, s.createTeam, nil},
		{http.MethodGet, "/teams", authKey, s.listTeams, nil},
		{http.MethodGet, "/teams/:id", authKey, s.getTeam, nil},
		{http.MethodPatch, "/teams/:id", authKey, s.updateTeam, nil},
		{http.MethodDelete, "/teams/:id", authKey, s.deleteTeam, []string{"force"}},
		{http.MethodGet, "/teams/:id/stats", authKey, s.heavyRead(s.teamStats), windowQuery},
		{http.MethodPost, "/teams/:id/lead-sources", authKey, s.createLeadSource, nil},
		{http.MethodGet, "/teams/:id/lead-sources", authKey, s.listLeadSources, nil},
		{http.MethodPatch, "/lead-sources/:id", authKey, s.updateLeadSource, nil},
		{http.MethodDelete, "/lead-sources/:id", authKey, s.deleteLeadSource, []string{"force"}},
		{http.MethodPost, "/rotations", authKey, s.createRotation, nil},
		{http.MethodGet, "/rotations", authKey, s.listRotations, nil},
		{http.MethodGet, "/rotations/:id", authKey, s.getRotation, nil},
		{http.MethodPut, "/rotations/:id", authKey, s.replaceRotation, nil},
		{http.MethodPatch, "/rotations/:id", authKey, s.patchRotation, nil},
		{http.MethodDelete, "/rotations/:id", authKey, s.deleteRotation, nil},
		{http.MethodPost, "/rotations/:id/members", authKey, s.addRotationMember, nil},
		{http.MethodPatch, "/rotations/:id/members/:user", authKey, s.patchRotationMember, nil},
		{http.MethodDelete, "/rotations/:id/members/:user", authKey, s.removeRotationMember, nil},
		{http.MethodGet, "/rotations/:id/next", authKey, s.nextTurns, []string{"n", "at"}},
		{http.MethodGet, "/rotations/:id/stats", authKey, s.heavyRead(s.rotationStats), windowQuery},
		{http.MethodPost, "/routing-rules", authKey, s.createRoutingRule, nil},
		{http.MethodGet, "/routing-rules", authKey, s.listRoutingRules, nil},
		{http.MethodPut, "/routing-rules/order", authKey, s.orderRoutingRules, nil},
		{http.MethodGet, "/routing-rules/:id", authKey, s.getRoutingRule, nil},
		{http.MethodPatch, "/routing-rules/:id", authKey, s.patchRoutingRule, nil},
		{http.MethodDelete, "/routing-rules/:id", authKey, s.deleteRoutingRule, nil},
		{http.MethodPost, "/webhooks", authKey, s.createWebhook, nil},
		{http.MethodGet, "/webhooks", authKey, s.listWebhooks, nil},
		{http.MethodGet, "/webhooks/:id", authKey, s.getWebhook, nil},
		{http.MethodPatch, "/webhooks/:id", authKey, s.updateWebhook, nil},
		{http.MethodDelete, "/webhooks/:id", authKey, s.deleteWebhook, nil},
		{http.MethodGet, "/webhooks/:id/deliveries", authKey, s.listWebhookDeliveries, []string{"limit", "before"}},
		{http.MethodPost, "/webhooks/:id/deliveries/:deliveryId/redeliver", authKey, s.redeliverWebhook, nil},
		{http.MethodPost, "/simulations", authKey, s.createSimulation, nil},
		{http.MethodGet, "/simulations", authKey, s.listSimulations, []string{"limit", "cursor"}},
		{http.MethodGet, "/simulations/:id", authKey, s.getSimulation, nil},
		{http.MethodGet, "/account", authKey, s.getAccount, nil},
		{http.MethodPatch, "/account", authKey, s.updateAccount, nil},
		{http.MethodGet, "/members", authKey, s.listMembers, nil},
		{http.MethodPost, "/members", authKey, s.addMember, nil},
		{http.MethodPatch, "/members/:email", authKey, s.updateMember, nil},
		{http.MethodDelete, "/members/:email", authKey, s.removeMember, nil},
		{http.MethodGet, "/members/:email/schedule", authKey, s.getSchedule, nil},
		{http.MethodPut, "/members/:email/schedule", authKey, s.putSchedule, nil},
		{http.MethodDelete, "/members/:email/schedule", authKey, s.deleteSchedule, nil},
		{http.MethodGet, "/members/:email/time-off", authKey, s.listTimeOff, nil},
		{http.MethodPost, "/members/:email/time-off", authKey, s.addTimeOff, nil},
		{http.MethodDelete, "/members/:email/time-off/:id", authKey, s.deleteTimeOff, nil},
		{http.MethodGet, "/holiday-calendars", authKey, s.listHolidayCalendars, nil},
		{http.MethodPost, "/holiday-calendars", authKey, s.createHolidayCalendar, nil},
		{http.MethodGet, "/holiday-calendars/:id", authKey, s.getHolidayCalendar, nil},
		{http.MethodPatch, "/holiday-calendars/:id", authKey, s.patchHolidayCalendar, nil},
		{http.MethodDelete, "/holiday-calendars/:id", authKey, s.deleteHolidayCalendar, nil},
	}
}

// Routes lists every route as "METHOD /path/{param}", in OpenAPI's spelling.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.routes() {
		parts := strings.Split(rt.path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		out = append(out, rt.method+" "+strings.Join(parts, "/"))
	}
	return out
}
