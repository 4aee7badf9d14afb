package console_test

import (
	"context"
	"net/http"
	"net/url"
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
