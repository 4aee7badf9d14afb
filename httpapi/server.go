// Package httpapi is leadrotor's HTTP interface: bunrouter handlers over a
// leads.Service, the middleware around them, the one table that maps domain
// error codes to HTTP statuses, and the OpenAPI document of every route.
//
// Handlers return errors instead of writing error statuses; one middleware
// renders every error as {"error", "code", "details"}.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
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
	// answers 503 SERVICE_UNAVAILABLE. Zero: no bound.
	RequestTimeout time.Duration
	// RateLimits limits the requests of API keys and accounts.
	RateLimits RateLimits
	// Reads bounds the heavy reads (lead listings and searches, the audit
	// log, statistics) running at once, in all and per API key.
	Reads ReadLimits
}

// Server is the HTTP API. It is an http.Handler.
type Server struct {
	svc     *leads.Service
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	// reads admits heavy reads; lead intake never waits on it.
	reads *readGate
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
	s := &Server{svc: svc, cfg: cfg, log: cfg.Logger, reads: newReadGate(cfg.Reads)}

	router := bunrouter.New(
		bunrouter.Use(s.renderErrors),
		bunrouter.WithNotFoundHandler(s.notFound),
		bunrouter.WithMethodNotAllowedHandler(s.renderErrors(s.methodNotAllowed)),
	)
	for _, rt := range s.routes() {
		h := rt.handler
		if rt.auth {
			h = s.authenticate(h)
		}
		router.Handle(rt.method, rt.path, h)
	}
	// Outermost first: every request, even one no route matches, gets an id,
	// a log line, panic recovery and the body limit.
	s.handler = s.withRequestID(s.withAccessLog(s.withRecovery(s.withTimeout(s.withBodyLimit(router)))))
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// route is one endpoint. The OpenAPI test reads this table, so a route
// cannot be added without being documented.
type route struct {
	method, path string
	// auth routes need an API key and x-account-id.
	auth    bool
	handler bunrouter.HandlerFunc
}

func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/healthz", false, s.healthz},
		{http.MethodGet, "/readyz", false, s.readyz},
		{http.MethodGet, "/openapi.yaml", false, s.openAPI},
		{http.MethodPost, "/leads", false, s.createLead}, // authenticates itself, see createLead
		{http.MethodGet, "/leads", true, s.heavyRead(s.listLeads)},
		{http.MethodGet, "/leads/:id", true, s.getLead},
		{http.MethodPatch, "/leads/:id", true, s.updateLead},
		{http.MethodPut, "/leads/:id", true, s.updateLead},
		{http.MethodDelete, "/leads/:id", true, s.deleteLead},
		{http.MethodPost, "/leads/:id/assign", true, s.assignLead},
		{http.MethodGet, "/audit", true, s.heavyRead(s.listAudit)},
		{http.MethodPost, "/teams", true, s.createTeam},
		{http.MethodGet, "/teams", true, s.listTeams},
		{http.MethodGet, "/teams/:id", true, s.getTeam},
		{http.MethodPatch, "/teams/:id", true, s.updateTeam},
		{http.MethodDelete, "/teams/:id", true, s.deleteTeam},
		{http.MethodGet, "/teams/:id/stats", true, s.heavyRead(s.teamStats)},
		{http.MethodPost, "/teams/:id/lead-sources", true, s.createLeadSource},
		{http.MethodGet, "/teams/:id/lead-sources", true, s.listLeadSources},
		{http.MethodPatch, "/lead-sources/:id", true, s.updateLeadSource},
		{http.MethodDelete, "/lead-sources/:id", true, s.deleteLeadSource},
		{http.MethodPost, "/rotations", true, s.createRotation},
		{http.MethodGet, "/rotations", true, s.listRotations},
		{http.MethodGet, "/rotations/:id", true, s.getRotation},
		{http.MethodPut, "/rotations/:id", true, s.replaceRotation},
		{http.MethodPatch, "/rotations/:id", true, s.patchRotation},
		{http.MethodDelete, "/rotations/:id", true, s.deleteRotation},
		{http.MethodPost, "/rotations/:id/members", true, s.addRotationMember},
		{http.MethodPatch, "/rotations/:id/members/:user", true, s.patchRotationMember},
		{http.MethodDelete, "/rotations/:id/members/:user", true, s.removeRotationMember},
		{http.MethodGet, "/rotations/:id/next", true, s.nextTurns},
		{http.MethodGet, "/rotations/:id/stats", true, s.heavyRead(s.rotationStats)},
		{http.MethodGet, "/account", true, s.getAccount},
		{http.MethodPatch, "/account", true, s.updateAccount},
		{http.MethodGet, "/members", true, s.listMembers},
		{http.MethodPost, "/members", true, s.addMember},
		{http.MethodPatch, "/members/:email", true, s.updateMember},
		{http.MethodDelete, "/members/:email", true, s.removeMember},
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
