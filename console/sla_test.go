package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// settingsForm is the board's settings form of the test site's rotation
// as the page sends it, with the SLA part given (nil: "SLA on" unticked,
// the other inputs as the page has them).
func settingsForm(csrf string, sla url.Values) url.Values {
	f := url.Values{"csrf": {csrf}, "name": {"Inbound"}, "timezone": {"UTC"}, "fallbackAssignee": {""}, "whenNobodyEligible": {""},
		"sla.acceptWithin": {""}, "sla.clock": {"wall"}, "sla.maxReassignments": {"1"}, "sla.whenExhausted": {"keep"}}
	for k, v := range sla {
		f[k] = v
	}
	return f
}

// slaOn is the SLA part of the settings form, "SLA on" ticked.
func slaOn(within, clock, reassignments, then string) url.Values {
	return url.Values{"sla": {"on"}, "sla.acceptWithin": {within}, "sla.clock": {clock}, "sla.maxReassignments": {reassignments},
		"sla.whenExhausted": {then}}
}

// withValue is v with field set to value.
func withValue(v url.Values, field, value string) url.Values {
	v.Set(field, value)
	return v
}

// A manager sets a rotation's SLA on the board and sees it in the
// settings summary; a time to accept that is no duration, or out of
// bounds, and the other SLA fields the Service refuses, are shown at their
// input with what was typed, 422, and save nothing; unticking "SLA on"
// removes it. An agent reads the summary, and may not change it.
func TestBoardSLA(t *testing.T) {
	t.Parallel()
	s := newWebhookSite(t, false)
	ctx := context.Background()
	manager, agent := s.signedIn("manager@acme.test"), s.signedIn("agent@acme.test")
	board := "/rotations/" + itoa(s.rot.ID)
	csrf := manager.csrf(board)
	set := &leads.SLA{AcceptWithin: leads.Duration(5 * time.Minute), Clock: leads.SLAClockWall, MaxReassignments: 2, WhenExhausted: leads.SLAKeep}
	changed := &leads.SLA{AcceptWithin: leads.Duration(90 * time.Second), Clock: leads.SLAClockWorkingHours, WhenExhausted: leads.SLAHold}

	for _, tc := range []struct {
		formCase
		// want is the rotation's SLA after.
		want *leads.SLA
	}{
		{formCase{"set", manager, board + "/settings", settingsForm(csrf, slaOn(" 5m ", "wall", "2", "keep")), http.StatusOK,
			`Saved\.(?s).*id="sla-summary">Accept within 5m, wall clock, up to 2 reassignments, then keep it with the last rep<.*` +
				`id="s-sla"[^>]*checked.*id="s-acceptWithin"[^>]*value="5m"`}, set},
		{formCase{"not a duration", manager, board + "/settings", settingsForm(csrf, slaOn("5 minutes", "wall", "0", "hold")), http.StatusUnprocessableEntity,
			`(?s)id="sla-summary">Accept within 5m, wall clock.*` + fieldError("s-acceptWithin", `Must be a duration such as &#34;5m&#34;`) +
				`.*id="s-maxReassignments"[^>]*value="0".*<option value="hold" selected>`}, set},
		{formCase{"empty", manager, board + "/settings", settingsForm(csrf, slaOn("", "wall", "2", "keep")), http.StatusUnprocessableEntity,
			fieldError("s-acceptWithin", `Must be a duration`)}, set},
		{formCase{"too long", manager, board + "/settings", settingsForm(csrf, slaOn("200h", "wall", "2", "keep")), http.StatusUnprocessableEntity,
			fieldError("s-acceptWithin", `Must be from 1s to 168h0m0s`)}, set},
		{formCase{"negative", manager, board + "/settings", settingsForm(csrf, slaOn("-5m", "wall", "2", "keep")), http.StatusUnprocessableEntity,
			fieldError("s-acceptWithin", `Must be from 1s`)}, set},
		{formCase{"reassignments not a number", manager, board + "/settings", settingsForm(csrf, slaOn("5m", "wall", "two", "keep")), http.StatusUnprocessableEntity,
			fieldError("s-maxReassignments", `Must be a whole number`)}, set},
		{formCase{"reassignments below 0", manager, board + "/settings", settingsForm(csrf, slaOn("5m", "wall", "-1", "keep")), http.StatusUnprocessableEntity,
			fieldError("s-maxReassignments", `Must be from 0 to`)}, set},
		{formCase{"unknown clock", manager, board + "/settings", settingsForm(csrf, slaOn("5m", "sundial", "2", "keep")), http.StatusUnprocessableEntity,
			fieldError("s-clock", `Must be wall or working_hours`)}, set},
		{formCase{"fallback without one", manager, board + "/settings", settingsForm(csrf, slaOn("5m", "wall", "2", "fallback")), http.StatusUnprocessableEntity,
			`(?s)name="fallbackAssignee".*?field-error[^>]*>Is required when sla.whenExhausted is fallback<`}, set},
		{formCase{"agent", agent, board + "/settings", settingsForm(agent.csrf("/"), nil), http.StatusForbidden, ``}, set},
		{formCase{"agent, bad duration", agent, board + "/settings", settingsForm(agent.csrf("/"), slaOn("soon", "wall", "2", "keep")), http.StatusForbidden,
			`may not do this`}, set},
		{formCase{"nobody available, unknown", manager, board + "/settings", settingsForm(csrf, withValue(slaOn("5m", "wall", "2", "keep"), "sla.whenNobodyAvailable", "later")), http.StatusUnprocessableEntity,
			fieldError("s-whenNobodyAvailable", `Must be exhaust or wait`)}, set},
		{formCase{"waits", manager, board + "/settings", settingsForm(csrf, withValue(slaOn("5m", "wall", "2", "keep"), "sla.whenNobodyAvailable", "wait")), http.StatusOK,
			`(?s)id="sla-summary">Accept within 5m, wall clock, up to 2 reassignments \(waiting while nobody else is available\), then keep it with the last rep<.*<option value="wait" selected>`},
			&leads.SLA{AcceptWithin: leads.Duration(5 * time.Minute), Clock: leads.SLAClockWall, MaxReassignments: 2, WhenExhausted: leads.SLAKeep, WhenNobodyAvailable: leads.SLAWait}},
		{formCase{"changed", manager, board + "/settings", settingsForm(csrf, slaOn("90s", "working_hours", "0", "hold")), http.StatusOK,
			`id="sla-summary">Accept within 1m30s, working hours only, no reassignment, then hold it unassigned for a manager<`}, changed},
		{formCase{"removed", manager, board + "/settings", settingsForm(csrf, url.Values{"sla.acceptWithin": {"90s"}}), http.StatusOK,
			`(?s)id="sla-summary">No SLA<.*id="s-sla" name="sla" value="on"\s*>`}, nil},
	} {
		tc.post(t)
		rot, err := s.svc.Rotation(ctx, s.admin, s.rot.ID)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, rot.SLA, tc.name)
	}

	_, err := s.svc.UpdateRotation(ctx, s.admin, s.rot.ID, func(r *leads.Rotation) error { r.SLA = set; return nil })
	require.NoError(t, err)
	p := agent.get(board)
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `id="sla-summary">Accept within 5m, wall clock, up to 2 reassignments, then keep it with the last rep<`)
	require.NotContains(t, p.body, `/settings"`)
	require.NotContains(t, p.body, `id="s-sla"`)
}

// A server that runs no job runner keeps no SLA timers: the Service
// refuses an SLA, and the board says so at the box.
func TestBoardSLAWithoutRunner(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.signedIn("manager@acme.test")
	board := "/rotations/" + itoa(s.rot.ID)
	p := b.post(board+"/settings", settingsForm(b.csrf(board), slaOn("5m", "wall", "1", "keep")))
	require.Equal(t, http.StatusUnprocessableEntity, p.status, p.body)
	require.Regexp(t, fieldError("s-sla", `Needs the job runner that keeps SLA timers`), p.body)
	require.Contains(t, p.body, `id="sla-summary">No SLA<`)
	p = b.post(board+"/settings", settingsForm(b.csrf(board), nil))
	require.Equal(t, http.StatusOK, p.status, "without an SLA the settings save: %s", p.body)
}

// slaDay is a site whose rotation has an SLA (accept within 5m, wall
// clock, one reassignment, then keep) on a frozen day, with three leads
// given at its noon, one to each of the first three reps in turn.
type slaDay struct {
	*site
	// now is the Service's time, in Unix nanoseconds: the test moves it.
	now     atomic.Int64
	sla     *leads.SLA
	a, b, c createdLead
}

// clock is the Service's clock.
func (d *slaDay) clock() time.Time { return time.Unix(0, d.now.Load()).UTC() }

// wait moves the Service's clock on by dt.
func (d *slaDay) wait(dt time.Duration) { d.now.Add(int64(dt)) }

// createdLead is what the API answers of a lead it made.
type createdLead struct {
	ID         int64  `json:"id"`
	AssignedTo string `json:"assignedTo"`
}

// newSLADay returns the site at noon of a day a month ahead: the runner
// works in real time and finds no timer due during the test, which
// expires them itself (expire), as the runner would.
func newSLADay(t *testing.T) *slaDay {
	t.Helper()
	noon := time.Now().UTC().AddDate(0, 1, 0).Truncate(24 * time.Hour).Add(12 * time.Hour)
	d := &slaDay{sla: &leads.SLA{AcceptWithin: leads.Duration(5 * time.Minute), Clock: leads.SLAClockWall, MaxReassignments: 1, WhenExhausted: leads.SLAKeep}}
	d.now.Store(noon.UnixNano())
	d.site = newWebhookSite(t, false, leads.WithClock(d.clock))
	_, err := d.svc.UpdateRotation(context.Background(), d.admin, d.rot.ID, func(r *leads.Rotation) error { r.SLA = d.sla; return nil })
	require.NoError(t, err)
	for i, l := range []*createdLead{&d.a, &d.b, &d.c} {
		require.NoError(t, json.Unmarshal([]byte(d.createLead(`{"firstName":"Lead","lastName":"`+string(rune('A'+i))+`"}`)), l))
		require.Equal(t, d.reps[i], l.AssignedTo)
	}
	return d
}

// rep is the actor of a rep.
func (d *slaDay) rep(email string) leads.Actor {
	return leads.Actor{AccountID: d.account, Email: email, Role: leads.RoleAgent}
}

// expire runs the SLA timer of lead id's current assignment now, as the
// runner does at its deadline; had and reassignments carry on a chain of
// SLA reassignments.
func (d *slaDay) expire(t *testing.T, id int64, had []string, reassignments int) {
	t.Helper()
	l, err := d.svc.Lead(context.Background(), d.admin, id)
	require.NoError(t, err)
	require.NotNil(t, l.SLADueAt)
	require.NoError(t, d.svc.ExpireSLA(context.Background(), leads.SLATimer{AccountID: d.account, LeadID: id, RotationID: l.RotationID,
		Assignee: l.AssignedTo, AssignedAt: *l.AssignedAt, DueAt: *l.SLADueAt, Had: had, Reassignments: reassignments}))
}

// Today's time-to-accept table: nothing before a lead; then per rep the
// leads the rotation gave them, those accepted, how soon (p50 and p90)
// and first touched, and their turns whose SLA ran out. The board shows
// the same per member.
func TestTodayTimeToAccept(t *testing.T) {
	t.Parallel()
	empty := newWebhookSite(t, false)
	p := empty.signedIn("manager@acme.test").get("/")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `<p class="muted" id="time-to-accept">No rotation has given anyone a lead today yet.</p>`)

	d := newSLADay(t)
	ctx := context.Background()
	d.wait(2*time.Minute + 10*time.Second)
	_, err := d.svc.AcceptLead(ctx, d.rep(d.a.AssignedTo), d.a.ID)
	require.NoError(t, err)
	d.wait(50 * time.Second)
	done := true
	_, err = d.svc.AddActivity(ctx, d.rep(d.a.AssignedTo), d.a.ID, leads.ActivityInput{Type: "call", Completed: &done})
	require.NoError(t, err)
	d.wait(2 * time.Minute)
	d.expire(t, d.c.ID, nil, 0) // rep3's time ran out: the lead moves to rep4

	manager := d.signedIn("manager@acme.test")
	p = manager.get("/")
	require.Equal(t, http.StatusOK, p.status)
	rows := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?s)<tr data-user="([^"]+)" data-rotation="`+itoa(d.rot.ID)+`">(.*?)</tr>`).FindAllStringSubmatch(p.body, -1) {
		for _, c := range regexp.MustCompile(`<td data-label="[^"]+">(?:<a [^>]+>)?([^<]*)`).FindAllStringSubmatch(m[2], -1) {
			rows[m[1]] = append(rows[m[1]], c[1])
		}
	}
	//                      rotation  leads accepted p50 p90 first touch p50, expired
	require.Equal(t, map[string][]string{
		d.reps[0]: {"Inbound", "1", "1", "2m 10s", "2m 10s", "3m", "0"},
		d.reps[1]: {"Inbound", "1", "0", "–", "–", "–", "0"},
		d.reps[2]: {"Inbound", "0", "0", "–", "–", "–", "1"},
		d.reps[3]: {"Inbound", "1", "0", "–", "–", "–", "0"},
	}, rows)

	p = manager.get("/rotations/" + itoa(d.rot.ID))
	require.Regexp(t, `(?s)data-user="`+regexp.QuoteMeta(d.reps[0])+`".*?class="accept-time">2m 10s / 2m 10s<.*?class="sla-expired">0<`, p.body)
	require.Regexp(t, `(?s)data-user="`+regexp.QuoteMeta(d.reps[2])+`".*?class="accept-time">– / –<.*?class="sla-expired">1<.*?class="sla-out">1<.*?class="sla-in">0<`, p.body)
	require.Regexp(t, `(?s)data-user="`+regexp.QuoteMeta(d.reps[3])+`".*?class="sla-expired">0<.*?class="sla-out">0<.*?class="sla-in">1<`, p.body)
}

// The lead page says where a lead's time to accept stands (accept by its
// deadline, accepted in time or late, ran out and kept) and each expiry
// of its trail in a sentence; the lead an expiry moved says why it went
// to its new rep.
func TestLeadPageSLA(t *testing.T) {
	t.Parallel()
	d := newSLADay(t)
	ctx := context.Background()
	noon := d.clock()
	at := func(d time.Duration) string { return noon.Add(d).Format("2006-01-02 15:04:05 UTC") }
	status := func(p response) string {
		m := regexp.MustCompile(`<dd id="sla-status" class="([^"]+)">([^<]*)</dd>`).FindStringSubmatch(p.body)
		require.NotNil(t, m, "no SLA status on the page")
		return m[1] + ": " + m[2]
	}
	page := func(id int64) string { return "/leads/" + itoa(id) }
	manager := d.signedIn("manager@acme.test")

	require.Equal(t, "warn-text: Accept by "+at(5*time.Minute), status(manager.get(page(d.a.ID))))
	d.wait(2 * time.Minute)
	rep1 := d.signedIn(d.a.AssignedTo)
	p := rep1.post(page(d.a.ID)+"/accept", url.Values{"csrf": {rep1.csrf(page(d.a.ID))}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Equal(t, "ok: Accepted in time (due by "+at(5*time.Minute)+")", status(p))

	// rep3's time runs out: the lead moves to rep4, with a clock of its own.
	d.wait(3 * time.Minute)
	d.expire(t, d.c.ID, nil, 0)
	p = manager.get(page(d.c.ID))
	require.Equal(t, d.reps[3], regexp.MustCompile(`id="assignee">([^<]*)<`).FindStringSubmatch(p.body)[1])
	require.Contains(t, p.body, `id="reason">the last rep&#39;s time to accept ran out (the rotation&#39;s SLA)<`)
	require.Equal(t, "warn-text: Accept by "+at(10*time.Minute), status(p))
	require.Regexp(t, `(?s)<li data-event="sla_expired">.*?<p class="summary">`+regexp.QuoteMeta(d.reps[2])+
		` did not accept within 5m \(wall clock\)\. It moved to `+regexp.QuoteMeta(d.reps[3])+`, the rotation&#39;s next turn\.</p>\s*<details>`, p.body)

	// rep4's too, and the SLA allows one move: it stays with rep4.
	d.wait(5 * time.Minute)
	d.expire(t, d.c.ID, []string{d.reps[2]}, 1)
	p = manager.get(page(d.c.ID))
	require.Equal(t, "off: Time to accept ran out at "+at(10*time.Minute)+"; not accepted yet", status(p))
	require.Equal(t, d.reps[3], regexp.MustCompile(`id="assignee">([^<]*)<`).FindStringSubmatch(p.body)[1], "kept")
	require.Contains(t, p.body, `<p class="summary">`+d.reps[3]+` did not accept within 5m (wall clock). It stays with them. `+
		`The SLA is exhausted: the lead has moved as often as it allows.</p>`)
	audit := d.signedIn("admin@acme.test").get("/audit?scope=all&event=sla_expired")
	require.Equal(t, 2, strings.Count(audit.body, `<p class="summary">`), "the audit page says each expiry too")

	// rep2 accepts after their deadline.
	_, err := d.svc.AcceptLead(ctx, d.rep(d.b.AssignedTo), d.b.ID)
	require.NoError(t, err)
	require.Equal(t, "off: Accepted late (due by "+at(5*time.Minute)+", accepted "+at(10*time.Minute)+")", status(manager.get(page(d.b.ID))))

	// A lead reassigned by hand has no clock.
	_, err = d.svc.UpdateLead(ctx, d.admin, d.b.ID, leads.LeadPatch{"assignedTo": d.reps[0]}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.NotContains(t, manager.get(page(d.b.ID)).body, `id="sla-status"`)
}

// With whenNobodyAvailable wait, an expiry that finds everyone else on
// time off leaves the lead with its rep: the lead page shows the moved
// deadline and says why in its trail.
func TestLeadPageSLAWaiting(t *testing.T) {
	t.Parallel()
	d := newSLADay(t)
	ctx := context.Background()
	noon := d.clock()
	_, err := d.svc.UpdateRotation(ctx, d.admin, d.rot.ID, func(r *leads.Rotation) error {
		sla := *d.sla
		sla.WhenNobodyAvailable = leads.SLAWait
		r.SLA = &sla
		return nil
	})
	require.NoError(t, err)
	for _, rep := range d.reps {
		if rep != d.c.AssignedTo {
			_, err := d.svc.AddTimeOff(ctx, d.admin, rep, leads.TimeOff{Start: noon, End: noon.Add(2 * time.Hour)})
			require.NoError(t, err)
		}
	}
	d.wait(6 * time.Minute)
	d.expire(t, d.c.ID, nil, 0)
	p := d.signedIn("manager@acme.test").get("/leads/" + itoa(d.c.ID))
	require.Equal(t, d.reps[2], regexp.MustCompile(`id="assignee">([^<]*)<`).FindStringSubmatch(p.body)[1], "kept while nobody is back")
	require.Contains(t, p.body, `<dd id="sla-status" class="warn-text">Accept by `+noon.Add(2*time.Hour).Format("2006-01-02 15:04:05 UTC")+`</dd>`)
	require.Contains(t, p.body, `<li data-event="sla_waiting">`)
	require.Contains(t, p.body, `<p class="summary">`+d.reps[2]+` did not accept in time, and nobody who has not had the lead was available. `+
		`It stays with them; the time to accept now ends `+noon.Add(2*time.Hour).Format("Mon 2 Jan 15:04 UTC")+`, when `+d.reps[0]+` is back.</p>`)
}
