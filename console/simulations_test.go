package console_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// simulationForm is the simulations form with a window around now and
// the YAML given.
func simulationForm(csrf, yaml string) url.Values {
	now := time.Now().UTC()
	return url.Values{"csrf": {csrf}, "from": {now.Add(-time.Hour).Format("2006-01-02T15:04")},
		"to": {now.Add(2 * time.Minute).Format("2006-01-02T15:04")}, "configYaml": {yaml}}
}

// A simulation refused is shown on the form again, the message next to
// the field it names and what was typed kept; agents see neither the page
// nor its nav entry.
func TestSimulationFormRefusals(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.signedIn("manager@acme.test")
	page := b.get("/simulations")
	require.Equal(t, http.StatusOK, page.status, page.body)
	require.Contains(t, page.body, `href="/console/simulations" aria-current="page"`)
	require.Contains(t, page.body, "defaultRotation:", "the YAML box starts from the default rotation")
	require.Contains(t, page.body, "rep1@acme.test, weight: 2")
	csrf := b.csrf("/simulations")

	for _, tc := range []struct {
		name, field, want string
		form              func(url.Values)
	}{
		{"YAML that does not parse", "e-yaml", "line 2: found a tab character", func(f url.Values) {
			f.Set("configYaml", "defaultRotation:\n  name: Inbound\n\tmembers: []\n")
		}},
		{"a member not in the account", "e-yaml", "defaultRotation.members[1].user: nobody@acme.test is not a member", func(f url.Values) {
			f.Set("configYaml", "defaultRotation:\n  name: Inbound\n  members:\n    - {user: rep1@acme.test}\n    - {user: nobody@acme.test}\n")
		}},
		{"a key a spec does not have", "e-yaml", `unknown field "rotatoins"`, func(f url.Values) {
			f.Set("configYaml", "rotatoins: []\n")
		}},
		{"a window over the bound", "e-to", "more than the", func(f url.Values) {
			f.Set("from", "2020-01-01T00:00")
		}},
		{"to before from", "e-to", "Must be after from", func(f url.Values) {
			f.Set("to", "2020-01-01T00:00")
		}},
		{"a date that is not one", "e-from", "Must be a date and time", func(f url.Values) {
			f.Set("from", "yesterday")
		}},
		{"Go's zero time, typed", "e-from", "Must not be before 1970-01-01T00:00:00Z", func(f url.Values) {
			f.Set("from", "0001-01-01T00:00")
		}},
	} {
		form := simulationForm(csrf, "")
		tc.form(form)
		res := b.post("/simulations", form)
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s: %s", tc.name, res.body)
		i := strings.Index(res.body, `id="`+tc.field+`"`)
		require.GreaterOrEqual(t, i, 0, "%s: no error next to the field: %s", tc.name, res.body)
		msg := html.UnescapeString(res.body[i:min(len(res.body), i+300)])
		require.Contains(t, msg, tc.want, tc.name)
		if yaml := form.Get("configYaml"); yaml != "" {
			require.Contains(t, html.UnescapeString(res.body), yaml, "%s: what was typed is kept", tc.name)
		}
	}
	runs := b.get("/simulations")
	require.Contains(t, runs.body, "No simulations yet.", "nothing refused was stored")

	agent := s.signedIn("agent@acme.test")
	require.Equal(t, http.StatusForbidden, agent.get("/simulations").status)
	require.NotContains(t, agent.get("/").body, `href="/console/simulations"`)
}

// TestBrowserSimulation: a manager runs a simulation of a change to the
// default rotation on an account with leads, waits on its page (which
// reloads itself) and reads the result: per rep, what happened and the
// replay.
func TestBrowserSimulation(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for range 12 {
		s.createLead(`{"firstName":"Early","lastName":"Bird"}`)
	}
	ctx, dialogs := newTab(t)
	signInWith(t, ctx, s, "manager@acme.test")
	do(t, ctx, chromedp.Navigate(s.url("/simulations")), chromedp.WaitVisible(chromedp.CSS("#new-simulation")))
	screenshot(t, ctx, "simulations")

	// rep1 gets every turn: weight 0 is refused, so the others go.
	yaml := "defaultRotation:\n  name: Inbound\n  members:\n    - {user: rep1@acme.test}\n"
	require.EqualValues(t, 200, submit(t, ctx,
		chromedp.SetValue(chromedp.CSS("#s-yaml"), yaml),
		chromedp.Click(chromedp.CSS("#run-simulation"))))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#reps")))
	var rows [][3]string
	evalJSON(t, ctx, `Array.from(document.querySelectorAll('#reps tbody tr')).map(r => [r.dataset.user, r.querySelector('.actual').textContent, r.querySelector('.replay').textContent])`, &rows)
	got := map[string][2]string{}
	for _, r := range rows {
		got[r[0]] = [2]string{r[1], r[2]}
	}
	require.Equal(t, [2]string{"3", "12"}, got[s.reps[0]], "rep1: 3 leads happened, all 12 in the replay: %v", rows)
	for _, rep := range s.reps[1:] {
		require.Equal(t, [2]string{"3", "0"}, got[rep], "%s: %v", rep, rows)
	}
	require.Equal(t, "12", text(t, ctx, "#replayed"))
	require.Equal(t, "9", text(t, ctx, "#changed"))
	require.Equal(t, 2*len(s.reps), get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('figure.chart svg rect.bar').length`)),
		"two bars a rep")
	require.Equal(t, 9, get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('#changed-sample a[href^="/console/leads/"]').length`)),
		"the changed leads link to their pages")
	screenshot(t, ctx, "simulation")

	// The list shows the run, done.
	do(t, ctx, chromedp.Navigate(s.url("/simulations")), chromedp.WaitVisible(chromedp.CSS("#runs")))
	require.Equal(t, "done", text(t, ctx, "#runs tbody tr .state"))
	require.Zero(t, dialogs.Load())
}
