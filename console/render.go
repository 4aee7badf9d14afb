package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/simulate"
)

// page is what every template gets: the signed-in member and account, the
// CSRF token for its forms, what was just done or refused, and the page's
// own data in Data.
type page struct {
	Nav     string
	Session *leads.Session
	Account *leads.Account
	Actor   leads.Actor
	CSRF    string
	// Done says what the last action did; Error why it was refused, and
	// Field which field it names (the message is shown next to it).
	Done  string
	Error string
	Field string
	form  url.Values
	Data  any
}

// FieldError is the refusal's message when it names field, else "".
func (p *page) FieldError(field string) string {
	if p.Field == field {
		return p.Error
	}
	return ""
}

// GeneralError is what the top of the page says of a refusal: its
// message, and, when it names a field, that nothing was saved (the message
// is also next to the field).
func (p *page) GeneralError() string {
	if p.Error == "" || p.Field == "" {
		return p.Error
	}
	return "Not saved: " + p.Error
}

// Value is what the refused form held for name, else def: what was typed
// is shown again, not lost.
func (p *page) Value(name string, def any) string {
	if p.form != nil && p.form.Has(name) {
		return p.form.Get(name)
	}
	if def == nil {
		return ""
	}
	return fmt.Sprint(def)
}

// Can reports whether the member may do what the permission names.
func (p *page) Can(perm string) bool {
	return p.Actor.Role.Can(permissions[perm])
}

var permissions = map[string]leads.Permission{
	"read": leads.PermRead, "write_leads": leads.PermWriteLeads, "delete_leads": leads.PermDeleteLeads,
	"write_config": leads.PermWriteConfig, "manage_account": leads.PermManageAccount, "read_audit": leads.PermReadAudit,
}

// doneMessages are what an action reports on the page it returns to; the
// query names one by key, so no text from a URL is ever shown.
var doneMessages = map[string]string{
	"saved":      "Saved. The change applies from the next lead.",
	"created":    "Created.",
	"renamed":    "Renamed.",
	"deleted":    "Deleted.",
	"updated":    "Saved.",
	"assigned":   "Assigned.",
	"activity":   "Activity logged.",
	"accepted":   "Accepted: the lead is yours.",
	"archived":   "Archived.",
	"restored":   "Restored from the archive.",
	"member":     "Saved. The member's new role applies to their next request.",
	"removed":    "Removed from the account.",
	"revoked":    "The key is revoked: requests with it are refused from now on.",
	"signed_in":  "Signed in.",
	"switched":   "Switched account.",
	"invited":    "Link made.",
	"key":        "Key created.",
	"rotation":   "Rotation created.",
	"no_changes": "Nothing changed.",

	"time_off_added":   "Time off added: rotations pass over them during it.",
	"time_off_removed": "Time off removed.",
	"schedule_cleared": "Working hours cleared: they are always within them, from the next lead.",

	"webhook_enabled":  "Enabled: events are delivered to it again from now on.",
	"webhook_disabled": "Disabled: no event is delivered to it until it is enabled again.",
	"redelivered":      "Queued: the event is sent again with the same webhook-id; the attempt appears in this log once made.",
}

var funcs = template.FuncMap{
	"pct1":   func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"nth":    func(i int) int { return i + 1 },
	"signed": func(f float64) string { return fmt.Sprintf("%+.1f", f) },
	"when": func(v any) string {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x != nil {
				t = *x
			}
		}
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	// instant is a time to the second, for logs of things a second apart.
	"instant": instantText,
	"reason": func(r string) string {
		if s, ok := reasonText[r]; ok {
			return s
		}
		return strings.ReplaceAll(r, "_", " ")
	},
	"seconds": seconds,
	// diff is a count's replay minus what happened, signed.
	"diff":       func(s simulate.Side) string { return fmt.Sprintf("%+d", s.Replay-s.Actual) },
	"slaSummary": slaSummary,
}

// reasonText says in words why a member was passed over or a lead went
// where it did.
var reasonText = map[string]string{
	leads.SkipPaused:         "paused",
	leads.SkipOutsideHours:   "outside their working hours",
	leads.SkipOutOfOffice:    "out of office",
	leads.SkipHoliday:        "on a holiday",
	leads.AssignWaiting:      "nobody could take it: it waits for the first who can",
	"daily_cap":              "daily cap reached",
	leads.SkipAtCapacity:     "at capacity: open leads",
	leads.AssignExplicit:     "named by whoever created it",
	leads.AssignRotation:     "the rotation's turn",
	leads.AssignFallback:     "nobody was eligible: the fallback",
	leads.AssignNoEligible:   "nobody was eligible and there is no fallback",
	leads.AssignNoRotation:   "no rotation applies",
	leads.AssignDeferred:     "the rotation could not be asked; it waits for its turn",
	"manual":                 "assigned by hand",
	leads.AssignReturning:    "a returning contact: the owner of their earlier lead",
	leads.AssignRule:         "a routing rule named the rep",
	leads.AssignHeld:         "held unassigned by a rule",
	leads.RuleMatched:        "matched",
	leads.RuleNotMatched:     "not matched",
	leads.RuleDisabled:       "disabled: skipped",
	leads.RuleTargetMissing:  "matched, but its rotation, team or member is gone: skipped",
	string(leads.StatusLost): "lost",
	leads.AssignSLAExpired:   "the last rep's time to accept ran out (the rotation's SLA)",
	leads.SkipHadLead:        "had this lead already",
}

// instantText is t to the second, in UTC.
func instantText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func location(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

// parseTemplates parses each page with the layout and the shared partials.
func (c *Console) parseTemplates() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	shared := []string{"templates/layout.html", "templates/charts.html", "templates/decision.html", "templates/calendarform.html", "templates/webhookform.html",
		"templates/simstatus.html"}
	c.pages = map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if slices.Contains(shared, n) {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, append(shared, n)...)
		if err != nil {
			return fmt.Errorf("console template %s: %w", base, err)
		}
		c.pages[base] = t
	}
	return nil
}

// render writes page name for a signed-in member.
func (c *Console) render(w http.ResponseWriter, r *request, name string, status int, data any) {
	p := &page{Nav: name, Session: r.session, Account: r.account, Actor: r.actor, Data: data, form: r.form}
	if r.session != nil {
		p.CSRF = r.session.CSRFToken
	}
	if r.failure != nil {
		p.Error = errorText(r.failure)
		if status >= 500 {
			p.Error = "Something went wrong on our side; it has been logged. Try again in a moment."
		}
		p.Field, _ = leads.ErrorDetails(r.failure)["field"].(string)
	} else if msg, ok := doneMessages[r.URL.Query().Get("done")]; ok {
		p.Done = msg
	}
	c.execute(w, name, status, p)
}

// renderPublic writes a page shown before sign-in.
func (c *Console) renderPublic(w http.ResponseWriter, r *http.Request, name string, status int, data any) {
	c.execute(w, name, status, &page{Nav: name, Data: data})
}

// renderStatus writes the error page with msg.
func (c *Console) renderStatus(w http.ResponseWriter, hr *http.Request, r *request, status int, msg string) {
	p := &page{Nav: "error", Error: msg, Data: http.StatusText(status)}
	if r != nil {
		p.Session, p.Account, p.Actor = r.session, r.account, r.actor
		if r.session != nil {
			p.CSRF = r.session.CSRFToken
		}
	}
	c.execute(w, "error", status, p)
}

func (c *Console) execute(w http.ResponseWriter, name string, status int, p *page) {
	t := c.pages[name]
	var buf bytes.Buffer
	if t == nil {
		c.log.Error("console: no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorText is what a refusal says to a person: a field error's own
// message ("Must be from 1 to 1000"), else the error's message.
func errorText(err error) string {
	if msg, ok := leads.ErrorDetails(err)["message"].(string); ok && msg != "" {
		return msg
	}
	msg := leads.ErrorMessage(err)
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}
