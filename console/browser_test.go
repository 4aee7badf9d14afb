package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/browsertest"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// chromePath finds a headless-capable Chromium: LEADROTOR_CHROME, or
// Debian's chromium, or Google Chrome. Without one the browser tests are
// skipped, unless LEADROTOR_TEST_REQUIRE names "browser" (as CI does).
func chromePath(t *testing.T) string {
	t.Helper()
	p, err := browsertest.Chrome()
	if err == nil {
		return p
	}
	if storetest.Required("browser") {
		t.Fatalf("%v, but LEADROTOR_TEST_REQUIRE names browser", err)
	}
	t.Skipf("%v: browser tests skipped", err)
	return ""
}

// newTab starts a headless Chromium of its own, on loopback only, and
// returns a tab in it; dialogs (alert, confirm) are counted, and dismissed.
func newTab(t *testing.T) (context.Context, *atomic.Int32) {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browsertest.AllocatorOptions(chromePath(t))...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser now, with no deadline: a deadline on the first
	// call would stop the whole browser when it passes.
	require.NoError(t, chromedp.Do(ctx))
	dialogs := &atomic.Int32{}
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
		}
	}()
	return ctx, dialogs
}

// do runs browser steps with a deadline, failing the test on error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, steps...))
}

// get runs one browser action and returns its value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

// submit runs steps that load a page (a click on a button, a form's
// submit) and returns the page's HTTP status once it has loaded.
func submit(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, steps...)
	require.NoError(t, err)
	return res.Status
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, chromedp.Text(chromedp.CSS(sel)))
}

// screenshotDir is where the browser tests save their screenshots:
// LEADROTOR_SCREENSHOTS, else bin/screenshots at the repository's root.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("LEADROTOR_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "bin", "screenshots")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// screenshot saves the whole page at laptop and phone widths, after
// checking that every control on it has a label a screen reader can say.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var unlabelled []string
	evalJSON(t, ctx, `Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button')).filter(e =>
		!(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.tagName === 'BUTTON' && e.textContent.trim())).map(e => e.outerHTML)`, &unlabelled)
	require.Empty(t, unlabelled, "controls without a label on %s", name)
	for _, size := range []struct {
		name   string
		w, h   int64
		mobile bool
	}{{"laptop", 1366, 900, false}, {"phone", 390, 844, true}} {
		var opts []chromedp.EmulateViewportOption
		if size.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		do(t, ctx, chromedp.EmulateViewport(size.w, size.h, opts...))
		buf := get(t, ctx, chromedp.FullScreenshot(100))
		require.NoError(t, os.WriteFile(filepath.Join(screenshotDir(t), name+"-"+size.name+".png"), buf, 0o644))
	}
	do(t, ctx, chromedp.EmulateViewport(1366, 900))
}

func signInWith(t *testing.T, ctx context.Context, s *site, email string) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(s.url("/")),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), Password),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#leads-in")),
	)
}

// evalJSON evaluates a script expression and decodes its value into out.
func evalJSON(t *testing.T, ctx context.Context, expr string, out any) {
	t.Helper()
	s := get(t, ctx, chromedp.Evaluate[string]("JSON.stringify("+expr+")"))
	require.NoError(t, json.Unmarshal([]byte(s), out))
}

func memberOrder(t *testing.T, ctx context.Context) []string {
	var users []string
	evalJSON(t, ctx, `Array.from(document.querySelectorAll('#members tr[data-user]')).map(e => e.dataset.user)`, &users)
	return users
}

// fillCondition types a condition into row i of the rule form.
func fillCondition(i int, field, op, value string) []chromedp.Action[chromedp.Void] {
	row := strconv.Itoa(i)
	return []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(chromedp.CSS("#c-field-"+row), field),
		chromedp.SetValue(chromedp.CSS("#c-op-"+row), op),
		chromedp.SendKeys(chromedp.CSS("#c-value-"+row), value),
	}
}

// ruleOrder is the rules page's rules, by name, in their order.
func ruleOrder(t *testing.T, ctx context.Context) []string {
	var names []string
	evalJSON(t, ctx, `Array.from(document.querySelectorAll('#rules tr[data-rule]')).map(e => e.dataset.rule)`, &names)
	return names
}

func nextTurns(t *testing.T, ctx context.Context) []string {
	var turns []string
	evalJSON(t, ctx, `Array.from(document.querySelectorAll('#next-turns li')).map(e => e.textContent.trim().replace(/\s+/g, ' '))`, &turns)
	return turns
}

// targets reads the share chart's table: each rep's target share.
func targets(t *testing.T, ctx context.Context, rotationID int64) map[string]string {
	var rows [][2]string
	evalJSON(t, ctx, `Array.from(document.querySelectorAll('#share-`+itoa(rotationID)+` tbody tr')).map(r => [r.querySelector('th').textContent, r.querySelector('.target-text').textContent])`, &rows)
	out := map[string]string{}
	for _, r := range rows {
		out[r[0]] = r[1]
	}
	return out
}

// TestBrowserManager walks the console as a sales manager would, in a real
// headless Chromium: sign in, pause a rep, reorder, change a weight, find
// a lead made through the API with its rotation and reason.
func TestBrowserManager(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for range 6 {
		s.createLead(`{"firstName":"Early","lastName":"Bird","company":"Worms Inc"}`)
	}
	ctx, dialogs := newTab(t)
	signInWith(t, ctx, s, "manager@acme.test")
	screenshot(t, ctx, "today")

	board := s.url("/rotations/" + itoa(s.rot.ID))
	do(t, ctx, chromedp.Navigate(board), chromedp.WaitVisible(chromedp.CSS("#next-turns")))
	before := nextTurns(t, ctx)
	require.Len(t, before, 10)
	require.Contains(t, strings.Join(before, "|"), s.reps[1])

	// Pause rep2: the next turns pass over them, and say so.
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-user="`+s.reps[1]+`"] button[value="pause"]`))))
	require.Contains(t, text(t, ctx, "#done"), "applies from the next lead")
	after := nextTurns(t, ctx)
	require.Len(t, after, 10)
	for _, turn := range after {
		require.False(t, strings.HasPrefix(turn, s.reps[1]), "a paused rep still gets a turn: %v", after)
	}
	require.Contains(t, strings.Join(after, "|"), "passes over "+s.reps[1]+" (paused)")
	screenshot(t, ctx, "rotation")

	// Reorder: rep4 moves up one place.
	require.Equal(t, s.reps, memberOrder(t, ctx))
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-user="`+s.reps[3]+`"] button[value="up"]`))))
	require.Equal(t, []string{s.reps[0], s.reps[1], s.reps[3], s.reps[2]}, memberOrder(t, ctx))

	// A weight of 3 for rep1 moves its target share from 1/4 to 3/6, and
	// the chart's mark with it.
	require.Equal(t, "25.0%", targets(t, ctx, s.rot.ID)[s.reps[0]])
	require.EqualValues(t, 200, submit(t, ctx,
		chromedp.SetValue(chromedp.CSS("#w-1"), "3"),
		chromedp.Click(chromedp.CSS(`tr[data-user="`+s.reps[0]+`"] input[name="weight"] ~ button`))))
	require.Equal(t, "50.0%", targets(t, ctx, s.rot.ID)[s.reps[0]])
	x1 := get(t, ctx, chromedp.AttributeValue(chromedp.CSS(`#share-`+itoa(s.rot.ID)+` line.target`), "x1"))
	require.Equal(t, "330", x1.Value, "the chart's target mark moved to half the bar")

	// A capacity of one open lead for rep3, who has one: the board shows it
	// full, and the next turns pass over rep3, saying why.
	require.EqualValues(t, 200, submit(t, ctx,
		chromedp.SetValue(chromedp.CSS(`tr[data-user="`+s.reps[2]+`"] input[name="maxOpenLeads"]`), "1"),
		chromedp.Click(chromedp.CSS(`tr[data-user="`+s.reps[2]+`"] input[name="maxOpenLeads"] ~ button`))))
	require.Equal(t, "1", text(t, ctx, `tr[data-user="`+s.reps[2]+`"] .open-leads`))
	turns := nextTurns(t, ctx)
	for _, turn := range turns {
		require.False(t, strings.HasPrefix(turn, s.reps[2]), "a rep at capacity still gets a turn: %v", turns)
	}
	require.Contains(t, strings.Join(turns, "|"), "passes over "+s.reps[2]+" (at capacity: open leads)")

	// A lead made through the API, found on its page with rotation and reason.
	res := s.createLead(`{"firstName":"Ada","lastName":"Lovelace","company":"Analytical Engines"}`)
	var created struct {
		ID         int64  `json:"id"`
		AssignedTo string `json:"assignedTo"`
	}
	require.NoError(t, json.Unmarshal([]byte(res), &created))
	do(t, ctx, chromedp.Navigate(s.url("/leads?q=Lovelace")), chromedp.WaitVisible(chromedp.CSS("#lead-list")))
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(`#lead-list a[href="/console/leads/`+itoa(created.ID)+`"]`))))
	require.Equal(t, created.AssignedTo, text(t, ctx, "#assignee"))
	require.Contains(t, text(t, ctx, "#rotation"), "Inbound")
	require.Equal(t, "the rotation's turn", text(t, ctx, "#reason"))
	screenshot(t, ctx, "lead")

	do(t, ctx, chromedp.Navigate(s.url("/leads")), chromedp.WaitVisible(chromedp.CSS("#lead-list")))
	screenshot(t, ctx, "leads")
	do(t, ctx, chromedp.Navigate(s.url("/people")), chromedp.WaitVisible(chromedp.CSS("#keys-h")))
	screenshot(t, ctx, "people")
	require.Zero(t, dialogs.Load())
}

// TestBrowserAgentAndAttacks: an agent sees no manager action and a forged
// one is refused; a form without the CSRF token is refused; a lead whose
// every text field is markup shows it as text and runs nothing.
func TestBrowserAgentAndAttacks(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	script := `<script>alert(1)</script>`
	img := `"><img src=x onerror=alert(2)>`
	res := s.createLead(`{"firstName":"` + jsonEscape(script) + `","lastName":"` + jsonEscape(img) + `","company":"` + jsonEscape(img) +
		`","jobTitle":"` + jsonEscape(script) + `","notes":"` + jsonEscape(img) + `","source":"` + jsonEscape(script) + `"}`)
	var lead struct{ ID int64 }
	require.NoError(t, json.Unmarshal([]byte(res), &lead))

	ctx, dialogs := newTab(t)
	signInWith(t, ctx, s, "agent@acme.test")
	board := s.url("/rotations/" + itoa(s.rot.ID))
	do(t, ctx, chromedp.Navigate(board), chromedp.WaitVisible(chromedp.CSS("#members")))
	require.Zero(t, get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('main form').length`)),
		"an agent is shown a form on the rotation board")
	screenshot(t, ctx, "rotation-agent")

	// Forge the manager's pause with the agent's own valid token.
	csrf := get(t, ctx, chromedp.AttributeValue(chromedp.CSS(`header form input[name="csrf"]`), "value"))
	require.True(t, csrf.Exists)
	forge := func(action, fields string) int64 {
		return submit(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[chromedp.Void](`(() => { const f = document.createElement('form'); f.method = 'post'; f.action = '`+action+`';
				for (const [k, v] of Object.entries(`+fields+`)) { const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }
				document.body.appendChild(f); f.submit(); })()`)(ctx, tg)
			if errors.Is(err, chromedp.ErrJSUndefined) {
				return nil
			}
			return err
		}))
	}
	member := "/console/rotations/" + itoa(s.rot.ID) + "/member"
	require.EqualValues(t, 403, forge(member, `{csrf: '`+csrf.Value+`', user: '`+s.reps[0]+`', op: 'pause'}`))
	require.NotEmpty(t, text(t, ctx, "#error"), "the refusal is said on the page")
	do(t, ctx, chromedp.Navigate(board), chromedp.WaitVisible(chromedp.CSS("#members")))
	require.EqualValues(t, 403, forge(member, `{user: '`+s.reps[0]+`', op: 'pause'}`), "no CSRF token")
	rot, err := s.svc.Rotation(context.Background(), s.admin, s.rot.ID)
	require.NoError(t, err)
	require.False(t, rot.Members[0].Paused)

	// The hostile lead: shown as text, nothing runs.
	do(t, ctx, chromedp.Navigate(s.url("/leads/"+itoa(lead.ID))), chromedp.WaitVisible(chromedp.CSS("#lead-name")))
	require.Equal(t, script+" "+img, strings.TrimSpace(text(t, ctx, "#lead-name")))
	require.Zero(t, get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('img, main script').length`)))
	do(t, ctx, chromedp.Navigate(s.url("/leads")), chromedp.WaitVisible(chromedp.CSS("#lead-list")))
	require.Zero(t, dialogs.Load(), "a lead's field ran script")
}

// TestBrowserRules: a manager makes two routing rules through the form (a
// condition row added by a round trip), moves one up, and tests the sample
// lead against them: the first fails on its condition, the second decides.
func TestBrowserRules(t *testing.T) {
	t.Parallel()
	s, _, hot := ruleSite(t)
	ctx, dialogs := newTab(t)
	signInWith(t, ctx, s, "manager@acme.test")

	do(t, ctx, chromedp.Navigate(s.url("/rules")), chromedp.WaitVisible(chromedp.CSS("#rules")))
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS("#new-rule"))))
	do(t, ctx, append(fillCondition(0, "metadata", "eq", "spring"),
		chromedp.SendKeys(chromedp.CSS("#r-name"), "Spring campaign"),
		chromedp.SendKeys(chromedp.CSS("#c-path-0"), "utm.campaign"),
		chromedp.Click(chromedp.CSS(`input[name="action"][value="assign"]`)),
		chromedp.SetValue(chromedp.CSS("#a-assignee"), s.reps[1]))...)
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS("#save-rule"))))
	require.Contains(t, text(t, ctx, "#done"), "Created.")

	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS("#new-rule"))))
	do(t, ctx, append(fillCondition(0, "numberOfEmployees", "gte", "500"),
		chromedp.SendKeys(chromedp.CSS("#r-name"), "Big companies"),
		chromedp.SetValue(chromedp.CSS("#a-rotation"), itoa(hot.ID)))...)
	// Another condition: the form comes back with a second row and
	// everything typed so far.
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(`button[value="add"]`))))
	require.Equal(t, "Big companies", get(t, ctx, chromedp.Value(chromedp.CSS("#r-name"))))
	require.Equal(t, "500", get(t, ctx, chromedp.Value(chromedp.CSS("#c-value-0"))))
	do(t, ctx, fillCondition(1, "emailDomain", "eq", "acme.com")...)
	screenshot(t, ctx, "rule")
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS("#save-rule"))))
	require.Equal(t, []string{"Spring campaign", "Big companies"}, ruleOrder(t, ctx))
	require.Contains(t, text(t, ctx, `tr[data-rule="Big companies"]`), "Rotation: Hot leads")

	// Big companies first, then the sample lead.
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(`tr[data-rule="Big companies"] button[value="up"]`))))
	require.Equal(t, []string{"Big companies", "Spring campaign"}, ruleOrder(t, ctx))
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS("#test-lead button[type=submit]"))))
	var tried []string
	evalJSON(t, ctx, `Array.from(document.querySelectorAll('#tried li')).map(e => e.textContent.trim().replace(/\s+/g, ' '))`, &tried)
	require.Equal(t, []string{"Big companies: not matched; failed on numberOfEmployees gte 500 (conditions.all[0])",
		"Spring campaign: matched"}, tried)
	require.Equal(t, "Decided by Spring campaign: Assign to "+s.reps[1]+".", text(t, ctx, "#decided"))
	screenshot(t, ctx, "rules")
	require.Zero(t, dialogs.Load())
}

// TestBrowserAvailability: a manager sets a rep's working hours (a
// refused time zone first), makes a holiday calendar of today and has the
// rep follow it, adds the rep's time off, and sees each change in the
// rep's "now" and in the month of who is off; an agent adds their own
// time off and is offered nobody else's hours.
func TestBrowserAvailability(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	rep := s.reps[0]
	ctx, dialogs := newTab(t)
	signInWith(t, ctx, s, "manager@acme.test")
	today := time.Now().UTC().Format(time.DateOnly)
	days := []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	setDays := func(hours string) []chromedp.Action[chromedp.Void] {
		var steps []chromedp.Action[chromedp.Void]
		for _, d := range days {
			if hours == "" { // SetValue refuses ""
				steps = append(steps, chromedp.Clear(chromedp.CSS("#s-"+d)))
				continue
			}
			steps = append(steps, chromedp.SetValue(chromedp.CSS("#s-"+d), hours))
		}
		return steps
	}

	do(t, ctx, chromedp.Navigate(s.url("/availability")), chromedp.WaitVisible(chromedp.CSS("#availability")))
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(`a[href="/console/availability/members/`+rep+`"]`))))
	require.Equal(t, "available", text(t, ctx, "#now"))
	require.EqualValues(t, 422, submit(t, ctx, append(setDays(""),
		chromedp.SetValue(chromedp.CSS("#s-timezone"), "Local"),
		chromedp.SetValue(chromedp.CSS("#s-monday"), "09:00-17:00"),
		chromedp.Click(chromedp.CSS("#save-schedule")))...))
	require.Contains(t, text(t, ctx, "#e-timezone"), "IANA time zone")
	require.Equal(t, "09:00-17:00", get(t, ctx, chromedp.Value(chromedp.CSS("#s-monday"))), "what was typed is kept")

	// No hours on any day: outside them now.
	require.EqualValues(t, 200, submit(t, ctx, append(setDays(""),
		chromedp.SetValue(chromedp.CSS("#s-timezone"), "UTC"),
		chromedp.Click(chromedp.CSS("#save-schedule")))...))
	require.Equal(t, "outside their working hours", text(t, ctx, "#now"))
	// Every hour of every day: available again.
	require.EqualValues(t, 200, submit(t, ctx, append(setDays("00:00-12:00, 12:00-24:00"), chromedp.Click(chromedp.CSS("#save-schedule")))...))
	require.Equal(t, "available", text(t, ctx, "#now"))
	require.Contains(t, text(t, ctx, "#summary"), "UTC: monday 00:00-12:00 12:00-24:00")
	screenshot(t, ctx, "schedule")

	// A holiday calendar of today, followed by the rep: on a holiday.
	do(t, ctx, chromedp.Navigate(s.url("/availability/calendars")), chromedp.WaitVisible(chromedp.CSS("#calendars")))
	require.EqualValues(t, 200, submit(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#h-name"), "Office closed"),
		chromedp.SendKeys(chromedp.CSS("#h-timezone"), "UTC"),
		chromedp.SendKeys(chromedp.CSS("#h-dates"), today),
		chromedp.Click(chromedp.CSS("#create-calendar"))))
	require.Contains(t, text(t, ctx, `tr[data-calendar="Office closed"]`), today)
	screenshot(t, ctx, "calendars")
	do(t, ctx, chromedp.Navigate(s.url("/availability/members/"+rep)), chromedp.WaitVisible(chromedp.CSS("#s-calendar")))
	cal := get(t, ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('#s-calendar option')).find(o => o.textContent.startsWith('Office closed')).value`))
	require.EqualValues(t, 200, submit(t, ctx, chromedp.SetValue(chromedp.CSS("#s-calendar"), cal), chromedp.Click(chromedp.CSS("#save-calendar"))))
	require.Equal(t, "on a holiday", text(t, ctx, "#now"))

	// Time off today as well: out of office comes first.
	do(t, ctx, chromedp.Navigate(s.url("/availability")), chromedp.WaitVisible(chromedp.CSS("#availability")))
	row := `tr[id="member-` + rep + `"]`
	require.Equal(t, "on a holiday", text(t, ctx, row+` td[data-label="Now"]`))
	require.EqualValues(t, 200, submit(t, ctx,
		chromedp.SetValue(chromedp.CSS(row+` input[name="start"]`), today),
		chromedp.SetValue(chromedp.CSS(row+` input[name="last"]`), today),
		chromedp.SendKeys(chromedp.CSS(row+` input[name="note"]`), "flu"),
		chromedp.Click(chromedp.CSS(row+` form.row button`))))
	require.Contains(t, text(t, ctx, "#done"), "Time off added")
	require.Equal(t, "out of office", text(t, ctx, row+` td[data-label="Now"]`))
	var off []string
	evalJSON(t, ctx, `Array.from(document.querySelectorAll('#month-grid td[data-date="`+today+`"] li')).map(e => e.textContent.trim())`, &off)
	require.Equal(t, []string{rep + ": out of office (flu)", rep + ": on a holiday (Office closed)"}, off)
	screenshot(t, ctx, "availability")
	require.Zero(t, dialogs.Load())

	// An agent: their own time off, tomorrow; no one's hours to edit.
	actx, _ := newTab(t)
	signInWith(t, actx, s, "agent@acme.test")
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	do(t, actx, chromedp.Navigate(s.url("/availability")), chromedp.WaitVisible(chromedp.CSS("#availability")))
	require.Zero(t, get(t, actx, chromedp.Evaluate[int](`document.querySelectorAll('a[href^="/console/availability/members/"]').length`)))
	require.Zero(t, get(t, actx, chromedp.Evaluate[int](`document.querySelectorAll('tr[id="member-`+rep+`"] form').length`)),
		"an agent is offered no form for another member")
	mine := `tr[id="member-agent@acme.test"]`
	require.EqualValues(t, 200, submit(t, actx,
		chromedp.SetValue(chromedp.CSS(mine+` input[name="start"]`), tomorrow),
		chromedp.SetValue(chromedp.CSS(mine+` input[name="last"]`), tomorrow),
		chromedp.Click(chromedp.CSS(mine+` form.row button`))))
	require.Contains(t, text(t, actx, "#done"), "Time off added")
	require.Contains(t, text(t, actx, mine+` td[data-label="Time off"]`), tomorrow+" to "+tomorrow)
	screenshot(t, actx, "availability-agent")
}

// TestBrowserActivityAndAccept: the lead's assignee logs a planned meeting
// (the lead is not accepted by it), accepts the lead with the button, then
// logs a call, which is the lead's first touch.
func TestBrowserActivityAndAccept(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	var lead struct {
		ID         int64  `json:"id"`
		AssignedTo string `json:"assignedTo"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.createLead(`{"firstName":"Grace","lastName":"Hopper"}`)), &lead))
	ctx, dialogs := newTab(t)
	signInWith(t, ctx, s, lead.AssignedTo)
	do(t, ctx, chromedp.Navigate(s.url("/leads/"+itoa(lead.ID))), chromedp.WaitVisible(chromedp.CSS("#log-activity")))
	require.Equal(t, "not yet", text(t, ctx, "#accepted"))

	require.EqualValues(t, 200, submit(t, ctx,
		chromedp.SetValue(chromedp.CSS("#a-type"), "meeting"),
		chromedp.SendKeys(chromedp.CSS("#a-title"), "Demo booked"),
		chromedp.Click(chromedp.CSS("#a-completed")),
		chromedp.Click(chromedp.CSS("#log"))))
	require.Equal(t, "Activity logged.", text(t, ctx, "#done"))
	require.Contains(t, text(t, ctx, "#activities"), "meeting Demo booked")
	require.Contains(t, text(t, ctx, "#activities"), "(planned)")
	require.Equal(t, "not yet", text(t, ctx, "#accepted"), "a planned activity accepts nothing")

	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS("#accept"))))
	require.Contains(t, text(t, ctx, "#done"), "Accepted")
	require.Contains(t, text(t, ctx, "#accepted"), "UTC")
	require.Zero(t, get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#accept').length`)), "accepted: no button")

	require.EqualValues(t, 200, submit(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#a-title"), "Intro call"),
		chromedp.SendKeys(chromedp.CSS("#a-outcome"), "connected"),
		chromedp.Click(chromedp.CSS("#log"))))
	require.Contains(t, text(t, ctx, "#first-touch"), "UTC")
	require.Contains(t, text(t, ctx, "#activities"), "call Intro call")
	screenshot(t, ctx, "lead-activity")
	require.Zero(t, dialogs.Load())
}

// TestBrowserSLA: a manager ticks "SLA on" on the rotation board, has a
// time to accept that is no duration refused at its input, mends it and
// sees the SLA in the settings summary; a lead the rotation then gives is
// shown to its rep with its deadline, and accepted in time; Today lists
// the rep's time to accept.
func TestBrowserSLA(t *testing.T) {
	t.Parallel()
	s := newWebhookSite(t, false)
	ctx, dialogs := newTab(t)
	signInWith(t, ctx, s, "manager@acme.test")
	do(t, ctx, chromedp.Navigate(s.url("/rotations/"+itoa(s.rot.ID))), chromedp.WaitVisible(chromedp.CSS("#sla-settings")))
	require.Equal(t, "No SLA", text(t, ctx, "#sla-summary"))

	require.EqualValues(t, 422, submit(t, ctx,
		chromedp.Click(chromedp.CSS("#s-sla")),
		chromedp.SendKeys(chromedp.CSS("#s-acceptWithin"), "5 minutes"),
		chromedp.SetValue(chromedp.CSS("#s-maxReassignments"), "2"),
		chromedp.Click(chromedp.CSS("#save-settings"))))
	require.Equal(t, `Must be a duration such as "5m", "90s" or "1h30m"`, text(t, ctx, "#e-acceptWithin"))
	require.Equal(t, "No SLA", text(t, ctx, "#sla-summary"), "nothing saved")
	require.Equal(t, "5 minutes", get(t, ctx, chromedp.Value(chromedp.CSS("#s-acceptWithin"))), "what was typed is kept")
	require.True(t, get(t, ctx, chromedp.Evaluate[bool](`document.querySelector('#s-sla').checked`)))
	screenshot(t, ctx, "rotation-sla-refused")

	require.EqualValues(t, 200, submit(t, ctx,
		chromedp.SetValue(chromedp.CSS("#s-acceptWithin"), "5m"),
		chromedp.SetValue(chromedp.CSS("#s-clock"), leads.SLAClockWall),
		chromedp.SetValue(chromedp.CSS("#s-whenExhausted"), leads.SLAKeep),
		chromedp.Click(chromedp.CSS("#save-settings"))))
	require.Contains(t, text(t, ctx, "#done"), "Saved")
	require.Equal(t, "Accept within 5m, wall clock, up to 2 reassignments, then keep it with the last rep", text(t, ctx, "#sla-summary"))
	rot, err := s.svc.Rotation(context.Background(), s.admin, s.rot.ID)
	require.NoError(t, err)
	require.Equal(t, &leads.SLA{AcceptWithin: leads.Duration(5 * time.Minute), Clock: leads.SLAClockWall, MaxReassignments: 2, WhenExhausted: leads.SLAKeep}, rot.SLA)
	screenshot(t, ctx, "rotation-sla")

	var lead createdLead
	require.NoError(t, json.Unmarshal([]byte(s.createLead(`{"firstName":"Katherine","lastName":"Johnson"}`)), &lead))
	rep, _ := newTab(t)
	signInWith(t, rep, s, lead.AssignedTo)
	do(t, rep, chromedp.Navigate(s.url("/leads/"+itoa(lead.ID))), chromedp.WaitVisible(chromedp.CSS("#sla-status")))
	require.Regexp(t, `^Accept by \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$`, text(t, rep, "#sla-status"))
	require.EqualValues(t, 200, submit(t, rep, chromedp.Click(chromedp.CSS("#accept"))))
	require.Regexp(t, `^Accepted in time \(due by .* UTC\)$`, text(t, rep, "#sla-status"))

	do(t, ctx, chromedp.Navigate(s.url("/")), chromedp.WaitVisible(chromedp.CSS("#time-to-accept")))
	row := `#time-to-accept tr[data-user="` + lead.AssignedTo + `"]`
	require.Equal(t, "1", text(t, ctx, row+` td[data-label="Accepted"]`))
	require.NotEqual(t, "–", text(t, ctx, row+` td[data-label="Accept p50"]`))
	screenshot(t, ctx, "today-sla")
	require.Zero(t, dialogs.Load())
}

// TestBrowserWebhooks: a manager adds an endpoint on 127.0.0.1 through
// the form and is shown its signing secret, once; a lead made through the
// API is delivered to it, the delivery log shows the attempt, and its
// Redeliver button sends the event again with the same webhook-id. An
// agent is offered no Webhooks page, and is refused it.
func TestBrowserWebhooks(t *testing.T) {
	t.Parallel()
	s := newWebhookSite(t, true)
	rc := newReceiver(t)
	ctx, dialogs := newTab(t)
	signInWith(t, ctx, s, "manager@acme.test")

	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(`header nav a[href="/console/webhooks"]`))))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#new-webhook")))
	// lead.created only: untick the others, every one ticked at first.
	steps := []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.CSS("#w-url"), rc.url())}
	for _, et := range leads.EventTypes[1:] {
		steps = append(steps, chromedp.Click(chromedp.CSS(`#new-webhook input[value="`+string(et)+`"]`)))
	}
	do(t, ctx, steps...)
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS("#create-webhook"))))
	secret := text(t, ctx, "#secret")
	require.Regexp(t, `^whsec_[A-Za-z0-9+/=]{32}$`, secret)
	ep := s.onlyWebhook()
	require.Equal(t, []leads.EventType{leads.EventTypeCreated}, ep.EventTypes)
	row := `#webhook-` + itoa(ep.ID)
	require.Contains(t, text(t, ctx, row), rc.url())
	require.Contains(t, text(t, ctx, row), "enabled")
	screenshot(t, ctx, "webhooks")
	// Once: the page again, and the endpoint's own, and the secret is gone.
	do(t, ctx, chromedp.Navigate(s.url("/webhooks")), chromedp.WaitVisible(chromedp.CSS("#webhooks")))
	require.NotContains(t, get(t, ctx, chromedp.OuterHTML(chromedp.CSS("html"))), secret)
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(row+` a[aria-label^="Edit"]`))))
	require.Equal(t, rc.url(), get(t, ctx, chromedp.Value(chromedp.CSS("#w-url"))))
	require.NotContains(t, get(t, ctx, chromedp.OuterHTML(chromedp.CSS("html"))), secret)
	screenshot(t, ctx, "webhook")
	do(t, ctx, chromedp.Navigate(s.url("/webhooks")), chromedp.WaitVisible(chromedp.CSS("#webhooks")))

	// A lead: its lead.created is delivered, and logged.
	s.createLead(`{"firstName":"Hedy","lastName":"Lamarr"}`)
	require.Eventually(t, func() bool { return len(rc.received()) == 1 }, 20*time.Second, 20*time.Millisecond)
	eventID := rc.received()[0]
	logged := func(n int) func() bool {
		return func() bool {
			page, err := s.svc.WebhookDeliveries(context.Background(), s.admin, ep.ID, 0, 0)
			return err == nil && len(page.Data) == n
		}
	}
	require.Eventually(t, logged(1), 10*time.Second, 20*time.Millisecond)
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(row+` a[href$="/deliveries"]`))))
	delivery := `#deliveries tr[data-event="` + eventID + `"]`
	got := text(t, ctx, delivery)
	for _, want := range []string{"lead.created", eventID, "204", "delivered", " ms"} {
		require.Contains(t, got, want)
	}

	// Redeliver: the receiver gets the same webhook-id again, and the log
	// shows the second attempt first.
	require.EqualValues(t, 200, submit(t, ctx, chromedp.Click(chromedp.CSS(delivery+` button`))))
	require.Contains(t, text(t, ctx, "#done"), "Queued")
	require.Eventually(t, func() bool { return rc.count(eventID) == 2 }, 20*time.Second, 20*time.Millisecond)
	require.Equal(t, []string{eventID, eventID}, rc.received())
	require.Eventually(t, logged(2), 10*time.Second, 20*time.Millisecond)
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#deliveries")))
	require.Equal(t, 2, get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#deliveries tr[data-event="`+eventID+`"]').length`)))
	screenshot(t, ctx, "deliveries")
	require.Zero(t, dialogs.Load())

	// An agent: no link, and the page refused.
	actx, _ := newTab(t)
	signInWith(t, actx, s, "agent@acme.test")
	require.Zero(t, get(t, actx, chromedp.Evaluate[int](`document.querySelectorAll('a[href^="/console/webhooks"]').length`)))
	require.EqualValues(t, 403, submit(t, actx, chromedp.Navigate(s.url("/webhooks"))))
	require.Contains(t, text(t, actx, "main"), "only managers and admins see and change webhooks")
	require.Zero(t, get(t, actx, chromedp.Evaluate[int](`document.querySelectorAll('main form').length`)))
}
