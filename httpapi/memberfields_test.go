package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestRotationMemberRoutesNameTheirOwnFields: the body of POST
// /rotations/{id}/members and PATCH /rotations/{id}/members/{user} is one
// member, and a refusal names its field as that body spells it (user,
// weight), not by the member's place in the rotation (members[3].user),
// which the client never sent.
func TestRotationMemberRoutesNameTheirOwnFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	for _, tc := range []struct {
		method, path string
		body         map[string]any
		field        string
	}{
		{"POST", "/rotations/1/members", map[string]any{"user": "notanemail"}, "user"},
		{"POST", "/rotations/1/members", map[string]any{"user": "dan@example.com", "weight": -4}, "weight"},
		{"POST", "/rotations/1/members", map[string]any{"user": "dan@example.com", "position": 0, "maxOpenLeads": -1}, "maxOpenLeads"},
		{"PATCH", "/rotations/1/members/ana@example.com", map[string]any{"weight": -1}, "weight"},
	} {
		requireRefused(t, f.call("manager", tc.method, tc.path, tc.body), tc.field, tc.method+" "+tc.path)
	}
	res := f.call("manager", "POST", "/rotations/1/members", map[string]any{"user": "nobody@example.com"})
	require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
	require.Equal(t, "user", res.json(t)["details"].(map[string]any)["field"], "a non-member, on user")
}

// TestRotationPatchNull: in PATCH /rotations/{id}, null removes what it
// can (fallbackAssignee, teamId, whenNobodyEligible, as sla) and is refused
// on the field elsewhere; encoding/json read null as an absent field, so
// {"fallbackAssignee": null} changed nothing while {"sla": null} removed
// the SLA. A member's unknown key is still refused by its path.
func TestRotationPatchNull(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	patch := func(body string) response { return f.call("manager", "PATCH", "/rotations/1", body) }
	set := patch(`{"fallbackAssignee": "ana@example.com", "whenNobodyEligible": "fallback"}`)
	require.Equal(t, http.StatusOK, set.status, "%s", set.body)
	require.Equal(t, "ana@example.com", set.json(t)["fallbackAssignee"])

	cleared := patch(`{"fallbackAssignee": null, "whenNobodyEligible": null, "teamId": null}`)
	require.Equal(t, http.StatusOK, cleared.status, "%s", cleared.body)
	got := cleared.json(t)
	for _, field := range []string{"fallbackAssignee", "whenNobodyEligible", "teamId"} {
		require.NotContains(t, got, field, "removed by null")
	}
	for _, field := range []string{"name", "default", "timezone", "members"} {
		requireRefused(t, patch(`{"`+field+`": null}`), field)
	}
	requireRefused(t, patch(`{"members": [{"user": "ana@example.com", "x": 1}]}`), "members[0].x")
	require.Equal(t, "West reps", f.call("manager", "GET", "/rotations/1", nil).json(t)["name"], "nothing refused was written")
}

// TestPatchNullRefused: null in a PATCH body, for a field the document
// does not let null change, is refused on the field rather than read as
// the field left out (a 200 that changed nothing); the fields null does
// change (a member's holidayCalendarId, a rotation's sla) still take it.
func TestPatchNullRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	hook := f.call("manager", "POST", "/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "eventTypes": []string{"lead.created"}})
	require.Equal(t, http.StatusCreated, hook.status, "%s", hook.body)
	for _, tc := range []struct{ path, field string }{
		{fmt.Sprintf("/teams/%d", f.west.ID), "name"},
		{fmt.Sprintf("/webhooks/%v", hook.json(t)["id"]), "enabled"},
		{"/rotations/1/members/ana@example.com", "weight"},
		{"/account", "name"},
	} {
		requireRefused(t, f.call("admin", "PATCH", tc.path, `{"`+tc.field+`": null}`), tc.field, tc.path)
	}
	member := f.call("admin", "PATCH", "/members/ana@example.com", `{"holidayCalendarId": null}`)
	require.Equal(t, http.StatusOK, member.status, "%s", member.body)
	rotation := f.call("admin", "PATCH", "/rotations/1", `{"sla": null}`)
	require.Equal(t, http.StatusOK, rotation.status, "%s", rotation.body)
}
