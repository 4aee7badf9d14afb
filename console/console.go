// Package console is the web console for an account's members: sales
// managers see who gets the next lead and why, and steer their rotations;
// agents see their leads. It is server-rendered (html/template, embedded
// assets, no script), and it calls the leads Service for every read and
// change, so the roles and rules are the API's.
//
// Each page is one file: a handler that gathers the page's data and a
// template of the same name under templates/; routes lists them all.
package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/ratelimit"
)

// Prefix is the path the console is served under.
const Prefix = "/console"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config tunes a Console; the zero value serves with the defaults.
type Config struct {
	Logger *slog.Logger
	// SessionTTL is how long a session lasts without use (default 12 h).
	SessionTTL time.Duration
	// InviteTTL is how long an invitation or reset link is valid (default 7 days).
	InviteTTL time.Duration
	// Limiter and SignInLimit bound sign-in attempts per client address
	// and per email (default 10 a minute each); a nil Limiter uses one in
	// this process.
	Limiter     ratelimit.Limiter
	SignInLimit ratelimit.Limit
	// ClientIP tells the address a request came from (default: the peer).
	ClientIP func(*http.Request) string
	// BaseURL, when set, starts the invitation links the console shows;
	// otherwise they are built from the request's host.
	BaseURL string
	// RequestTimeout bounds the work of each request (0: none).
	RequestTimeout time.Duration
	// Simulations runs the simulations page's runs; nil: the page says
	// the server runs none. SimulationMaxWindow, when set, is its longest
	// window, for the form's hint.
	Simulations         leads.Simulator
	SimulationMaxWindow time.Duration
}

// maxFormBytes bounds a form's body: the largest is a lead's edit, whose
// fields are bounded far below this.
const maxFormBytes = 256 << 10

// Console serves the web console.
type Console struct {
	svc   *leads.Service
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New returns the console over svc.
func New(svc *leads.Service, cfg Config) (*Console, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = 7 * 24 * time.Hour
	}
	if cfg.Limiter == nil {
		cfg.Limiter = ratelimit.NewMemory()
	}
	if cfg.SignInLimit.IsZero() {
		cfg.SignInLimit = ratelimit.Limit{Rate: 10, Period: time.Minute}
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = func(r *http.Request) string { return httpapi.ClientIP(r, false) }
	}
	c := &Console{svc: svc, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// Beside returns a handler that serves the console under Prefix and api
// everywhere else: how leadrotor serve mounts them on one address.
func (c *Console) Beside(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(Prefix+"/", c)
	mux.Handle(Prefix, c)
	mux.Handle("/", api)
	return mux
}

// ServeHTTP serves the console's pages. Every response forbids framing,
// scripts from anywhere but the console and inline ones, and sniffing;
// every change is refused unless it comes from the console's own pages
// (the browser's Sec-Fetch-Site or Origin) with the session's CSRF token.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if c.cfg.RequestTimeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), c.cfg.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := http.NewCrossOriginProtection().Check(r); err != nil {
			c.renderStatus(w, r, nil, http.StatusForbidden, "This change did not come from the console's own page, so it was refused.")
			return
		}
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	c.mux.ServeHTTP(sw, r)
	// One line per request, as the API logs; the query is left out (it
	// may hold a search for a person's name).
	c.log.Info("console request", "method", r.Method, "path", loggedPath(r.URL.Path), "status", sw.status,
		"duration_ms", float64(time.Since(start).Microseconds())/1000, "ip", c.cfg.ClientIP(r))
}

// loggedPath is the path as the access log keeps it: an invitation's
// token, a secret that works once, is left out.
func loggedPath(p string) string {
	if strings.HasPrefix(p, Prefix+"/invite/") {
		return Prefix + "/invite/…"
	}
	return p
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// routes lists every page and action. A page is a GET handler with a
// template of its name; an action is a POST handler that, on success,
// redirects back to a page and, on a refusal, shows that page again with
// the error next to the field it names.
func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", staticHandler(http.FileServerFS(static))))
	c.mux.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})
	c.mux.HandleFunc("GET "+Prefix+"/signin", c.signInPage)
	c.mux.HandleFunc("POST "+Prefix+"/signin", c.signIn)
	c.mux.HandleFunc("GET "+Prefix+"/invite/{token}", c.invitePage)
	c.mux.HandleFunc("POST "+Prefix+"/invite/{token}", c.acceptInvite)
	c.mux.HandleFunc("POST "+Prefix+"/signout", c.signOut)
	c.mux.Handle("GET "+Prefix+"/account", c.signedIn(c.accountPage, false))
	c.mux.Handle("POST "+Prefix+"/account", c.signedIn(c.switchAccount, false))

	today := pageDef{"today", c.today}
	c.page("/{$}", today)
	rotations := pageDef{"rotations", c.rotations}
	c.page("/rotations", rotations)
	c.action("/rotations", c.createRotation, rotations)
	board := pageDef{"rotation", c.rotationBoard}
	c.page("/rotations/{id}", board)
	c.action("/rotations/{id}/member", c.changeMember, board)
	c.action("/rotations/{id}/members", c.addMember, board)
	c.action("/rotations/{id}/settings", c.rotationSettings, board)
	c.action("/rotations/{id}/delete", c.deleteRotation, board)
	rules := pageDef{"rules", c.rules}
	c.page("/rules", rules)
	c.action("/rules/test", c.testRules, rules)
	c.action("/rules/{id}/move", c.moveRule, rules)
	c.action("/rules/{id}/enabled", c.toggleRule, rules)
	c.action("/rules/{id}/delete", c.deleteRule, rules)
	rule := pageDef{"rule", c.ruleEditor}
	c.page("/rules/new", rule)
	c.action("/rules/new", c.saveRule, rule)
	c.page("/rules/{id}", rule)
	c.action("/rules/{id}", c.saveRule, rule)
	teams := pageDef{"teams", c.teams}
	c.page("/teams", teams)
	c.action("/teams", c.createTeam, teams)
	c.action("/teams/{id}/rename", c.renameTeam, teams)
	c.action("/teams/{id}/delete", c.deleteTeam, teams)
	c.action("/teams/{id}/sources", c.createSource, teams)
	c.action("/sources/{id}/rename", c.renameSource, teams)
	c.action("/sources/{id}/delete", c.deleteSource, teams)
	people := pageDef{"people", c.people}
	c.page("/people", people)
	c.action("/people/members", c.addPerson, people)
	c.action("/people/role", c.changeRole, people)
	c.action("/people/remove", c.removePerson, people)
	c.action("/people/invite", c.invite, people)
	c.action("/people/keys", c.createKey, people)
	c.action("/people/keys/revoke", c.revokeKey, people)
	availability := pageDef{"availability", c.availability}
	c.page("/availability", availability)
	c.action("/availability/timeoff", c.addTimeOff, availability)
	c.action("/availability/timeoff/{id}/delete", c.deleteTimeOff, availability)
	schedule := pageDef{"schedule", c.memberSchedule}
	c.page("/availability/members/{email}", schedule)
	c.action("/availability/members/{email}/schedule", c.setSchedule, schedule)
	c.action("/availability/members/{email}/schedule/clear", c.clearSchedule, schedule)
	c.action("/availability/members/{email}/calendar", c.setMemberCalendar, schedule)
	calendars := pageDef{"calendars", c.calendars}
	c.page("/availability/calendars", calendars)
	c.action("/availability/calendars", c.createCalendar, calendars)
	calendar := pageDef{"calendar", c.calendarPage}
	c.page("/availability/calendars/{id}", calendar)
	c.action("/availability/calendars/{id}", c.updateCalendar, calendar)
	c.action("/availability/calendars/{id}/delete", c.deleteCalendar, calendar)
	c.page("/leads", pageDef{"leads", c.leadList})
	lead := pageDef{"lead", c.leadPage}
	c.page("/leads/{id}", lead)
	c.action("/leads/{id}/edit", c.editLead, lead)
	c.action("/leads/{id}/assign", c.assignLead, lead)
	c.action("/leads/{id}/activities", c.addActivity, lead)
	c.action("/leads/{id}/accept", c.acceptLead, lead)
	c.action("/leads/{id}/archive", c.archiveLead, lead)
	c.action("/leads/{id}/delete", c.deleteLead, lead)
	c.page("/audit", pageDef{"audit", c.audit})
	webhooks := pageDef{"webhooks", c.webhooks}
	c.page("/webhooks", webhooks)
	c.action("/webhooks", c.createWebhook, webhooks)
	c.action("/webhooks/{id}/enabled", c.toggleWebhook, webhooks)
	webhook := pageDef{"webhook", c.webhook}
	c.page("/webhooks/{id}", webhook)
	c.action("/webhooks/{id}", c.updateWebhook, webhook)
	c.action("/webhooks/{id}/delete", c.deleteWebhook, webhook)
	deliveries := pageDef{"deliveries", c.deliveries}
	c.page("/webhooks/{id}/deliveries", deliveries)
	c.action("/webhooks/{id}/deliveries/{delivery}/redeliver", c.redeliver, deliveries)
	simulations := pageDef{"simulations", c.simulations}
	c.page("/simulations", simulations)
	c.action("/simulations", c.createSimulation, simulations)
	c.page("/simulations/{id}", pageDef{"simulation", c.simulation})
}

// pageDef is a page: its template's name and the handler of its data.
type pageDef struct {
	name string
	data view
}

// request is what a handler of a signed-in page works with.
type request struct {
	*http.Request
	w       http.ResponseWriter
	session *leads.Session
	token   string
	actor   leads.Actor
	account *leads.Account
	// failure is the refusal of the action that leads to showing the page
	// again; nil on a plain visit.
	failure error
	// form holds the values the refused action was sent, to show them again.
	form url.Values
}

// can reports whether the signed-in member's role allows p.
func (r *request) can(p leads.Permission) bool { return r.actor.Role.Can(p) }

// view is a page handler: it returns the page's data, or an error.
type view func(ctx context.Context, r *request) (any, error)

// change is an action handler: it returns where to go next (a path under
// Prefix, with a query saying what was done), or the refusal.
type change func(ctx context.Context, r *request) (string, error)

func (c *Console) page(path string, p pageDef) {
	c.mux.Handle("GET "+Prefix+path, c.signedIn(func(w http.ResponseWriter, r *request) {
		c.show(w, r, p)
	}, true))
}

// show renders page p; a refusal of the action that led here is shown on it
// with the status it calls for.
func (c *Console) show(w http.ResponseWriter, r *request, p pageDef) {
	data, err := p.data(r.Context(), r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if r.failure != nil {
		status = statusOf(r.failure)
	}
	c.render(w, r, p.name, status, data)
}

func (c *Console) action(path string, ch change, back pageDef) {
	c.mux.Handle("POST "+Prefix+path, c.signedIn(func(w http.ResponseWriter, r *request) {
		if err := r.ParseForm(); err != nil {
			c.renderStatus(w, r.Request, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		if !c.validCSRF(r) {
			c.renderStatus(w, r.Request, r, http.StatusForbidden, "This form has expired or did not come from the console. Reload the page and try again.")
			return
		}
		next, err := ch(r.Context(), r)
		if err != nil {
			if errors.Is(err, errShowLink) {
				return
			}
			r.failure, r.form = err, r.PostForm
			if leads.ErrorCode(err) == leads.CodePreconditionFailed {
				// Someone else's change won: show theirs, not the form.
				r.form = nil
			}
			c.log.Info("console action refused", "path", r.URL.Path, "code", leads.ErrorCode(err), "err", err)
			c.show(w, r, back)
			return
		}
		http.Redirect(w, r.Request, Prefix+next, http.StatusSeeOther)
	}, true))
}

// validCSRF reports whether the form carries the session's token.
func (c *Console) validCSRF(r *request) bool {
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(r.session.CSRFToken)) == 1
}

// errShowLink says the action wrote its own response.
var errShowLink = errors.New("response written")

// statusOf is the HTTP status for a refusal: the API's (httpapi.StatusOf),
// but for a form shown again with its refusal, 422 rather than 400, and 409
// rather than 412 for a lead changed meanwhile (no If-Match header here).
func statusOf(err error) int {
	switch s := httpapi.StatusOf(err); s {
	case http.StatusBadRequest:
		return http.StatusUnprocessableEntity
	case http.StatusPreconditionFailed:
		return http.StatusConflict
	default:
		return s
	}
}

// fail shows a page that could not be built: the error's message when it is
// a refusal, a generic one (the cause logged) otherwise.
func (c *Console) fail(w http.ResponseWriter, r *request, err error) {
	status := statusOf(err)
	msg := leads.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		c.log.Error("console page failed", "path", r.URL.Path, "err", err)
		msg = "Something went wrong on our side; it has been logged. Try again in a moment."
	}
	c.renderStatus(w, r.Request, r, status, msg)
}

func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// requestInfo is what the audit log keeps of a console request.
func (c *Console) requestInfo(r *http.Request) *leads.RequestInfo {
	return &leads.RequestInfo{Method: r.Method, Path: r.URL.Path, IPAddress: c.cfg.ClientIP(r),
		Headers: map[string]string{"user-agent": r.UserAgent()}}
}

// path builds a console path from parts, each escaped.
func path(parts ...any) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(fmt.Sprint(p)))
	}
	return b.String()
}
