package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestConfigurationEndpoints calls every configuration endpoint with each
// status it can answer, in order (later calls see what earlier ones did).
func TestConfigurationEndpoints(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		other := newFixture(t, b)
		// The fixture's rotations: West reps (team West) and Default.
		rots := f.call("agent", "GET", "/rotations", nil).json(t)["data"].([]any)
		westRot := int64(rots[0].(map[string]any)["id"].(float64))
		defRot := int64(rots[1].(map[string]any)["id"].(float64))
		theirRot := int64(other.call("agent", "GET", "/rotations", nil).json(t)["data"].([]any)[0].(map[string]any)["id"].(float64))
		lead := f.call("agent", "POST", "/leads", f.westLead(nil))
		require.Equal(t, http.StatusCreated, lead.status)
		rot := func(id int64, rest string) string { return fmt.Sprintf("/rotations/%d%s", id, rest) }
		team := func(id int64, rest string) string { return fmt.Sprintf("/teams/%d%s", id, rest) }
		member := func(email string) map[string]any { return map[string]any{"user": email} }

		cases := []struct {
			who, method, path string
			body              any
			status            int
			code              string
		}{
			// Teams.
			{"agent", "GET", team(f.west.ID, ""), nil, 200, ""},
			{"agent", "GET", team(other.west.ID, ""), nil, 404, "NOT_FOUND"},
			{"agent", "PATCH", team(f.east.ID, ""), map[string]any{"name": "Eastern"}, 403, "FORBIDDEN"},
			{"manager", "PATCH", team(f.east.ID, ""), map[string]any{"name": "West"}, 409, "CONFLICT"},
			{"manager", "PATCH", team(f.east.ID, ""), map[string]any{"name": ""}, 400, "VALIDATION_ERROR"},
			{"manager", "PATCH", team(f.east.ID, ""), map[string]any{"name": "Eastern"}, 200, ""},
			{"manager", "PATCH", team(other.east.ID, ""), map[string]any{"name": "Mine"}, 404, "NOT_FOUND"},
			{"agent", "GET", team(f.west.ID, "/stats"), nil, 200, ""},
			{"agent", "GET", team(f.west.ID, "/stats?from=yesterday"), nil, 400, "VALIDATION_ERROR"},
			{"agent", "GET", team(f.west.ID, "/stats?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"), nil, 400, "VALIDATION_ERROR"},
			{"agent", "GET", team(other.west.ID, "/stats"), nil, 404, "NOT_FOUND"},
			{"agent", "DELETE", team(f.east.ID, ""), nil, 403, "FORBIDDEN"},
			{"manager", "DELETE", team(f.east.ID, ""), nil, 204, ""},
			{"manager", "DELETE", team(f.west.ID, ""), nil, 409, "TEAM_IN_USE"},
			// Lead sources.
			{"agent", "PATCH", fmt.Sprintf("/lead-sources/%d", f.webinar.ID), map[string]any{"name": "Webinars"}, 403, "FORBIDDEN"},
			{"manager", "PATCH", fmt.Sprintf("/lead-sources/%d", f.webinar.ID), map[string]any{"name": "Webinars"}, 200, ""},
			{"manager", "PATCH", fmt.Sprintf("/lead-sources/%d", other.webinar.ID), map[string]any{"name": "x"}, 404, "NOT_FOUND"},
			{"manager", "DELETE", fmt.Sprintf("/lead-sources/%d", f.webinar.ID), nil, 409, "LEAD_SOURCE_IN_USE"},
			// Rotations.
			{"agent", "GET", "/rotations", nil, 200, ""},
			{"agent", "GET", rot(westRot, ""), nil, 200, ""},
			{"agent", "GET", rot(theirRot, ""), nil, 404, "NOT_FOUND"},
			{"agent", "POST", "/rotations", map[string]any{"name": "Mine", "default": true}, 403, "FORBIDDEN"},
			{"manager", "POST", "/rotations", map[string]any{"name": "Second default", "default": true}, 409, "CONFLICT"},
			{"manager", "POST", "/rotations", map[string]any{"name": "Second West", "teamId": f.west.ID}, 409, "CONFLICT"},
			{"manager", "POST", "/rotations", map[string]any{"name": "Foreign", "teamId": other.east.ID}, 400, "TEAM_NOT_FOUND"},
			{"manager", "POST", "/rotations", map[string]any{"name": "Both", "teamId": f.west.ID, "default": true}, 400, "VALIDATION_ERROR"},
			{"manager", "POST", "/rotations", map[string]any{"name": "Stranger", "default": true, "members": []any{member("stranger@example.com")}}, 400, "MEMBER_NOT_IN_ACCOUNT"},
			{"manager", "POST", "/rotations", map[string]any{"name": "Zone", "default": true, "timezone": "Mars/Olympus"}, 400, "VALIDATION_ERROR"},
			{"manager", "PUT", rot(defRot, ""), map[string]any{"name": "Default", "default": true, "members": []any{member("ana@example.com"), member("ben@example.com")}}, 200, ""},
			{"manager", "PUT", rot(defRot, ""), map[string]any{"name": "Default", "default": true, "members": []any{member("ana@example.com"), member("ana@example.com")}}, 400, "VALIDATION_ERROR"},
			{"manager", "PATCH", rot(defRot, ""), map[string]any{"fallbackAssignee": "cara@example.com"}, 200, ""},
			{"manager", "PATCH", rot(defRot, ""), map[string]any{"fallbackAssignee": "stranger@example.com"}, 400, "MEMBER_NOT_IN_ACCOUNT"},
			{"manager", "PATCH", rot(defRot, ""), map[string]any{"teamId": f.west.ID}, 409, "CONFLICT"},
			{"manager", "PATCH", rot(theirRot, ""), map[string]any{"name": "Mine"}, 404, "NOT_FOUND"},
			{"agent", "PATCH", rot(defRot, ""), map[string]any{"name": "Mine"}, 403, "FORBIDDEN"},
			// Rotation members.
			{"manager", "POST", rot(defRot, "/members"), map[string]any{"user": "cara@example.com", "weight": 2, "position": 0}, 201, ""},
			{"manager", "POST", rot(defRot, "/members"), map[string]any{"user": "cara@example.com"}, 409, "CONFLICT"},
			{"manager", "POST", rot(defRot, "/members"), map[string]any{"user": "stranger@example.com"}, 400, "MEMBER_NOT_IN_ACCOUNT"},
			{"manager", "POST", rot(defRot, "/members"), map[string]any{"user": "admin-" + f.account + "@example.com", "position": 9}, 400, "VALIDATION_ERROR"},
			{"agent", "POST", rot(defRot, "/members"), map[string]any{"user": "admin-" + f.account + "@example.com"}, 403, "FORBIDDEN"},
			{"manager", "PATCH", rot(defRot, "/members/ben@example.com"), map[string]any{"paused": true}, 200, ""},
			{"manager", "PATCH", rot(defRot, "/members/ben%40example.com"), map[string]any{"dailyCap": 3}, 200, ""},
			{"manager", "PATCH", rot(defRot, "/members/nobody@example.com"), map[string]any{"paused": true}, 404, "NOT_FOUND"},
			{"manager", "PATCH", rot(defRot, "/members/ben@example.com"), map[string]any{"weight": 5000}, 400, "VALIDATION_ERROR"},
			{"agent", "GET", rot(defRot, "/next?n=3"), nil, 200, ""},
			{"agent", "GET", rot(defRot, "/next?n=0"), nil, 400, "VALIDATION_ERROR"},
			{"agent", "GET", rot(theirRot, "/next"), nil, 404, "NOT_FOUND"},
			{"agent", "GET", rot(westRot, "/stats"), nil, 200, ""},
			{"agent", "GET", rot(westRot, "/stats?to=soon"), nil, 400, "VALIDATION_ERROR"},
			{"manager", "DELETE", rot(defRot, "/members/ana@example.com"), nil, 200, ""},
			{"manager", "DELETE", rot(defRot, "/members/ana@example.com"), nil, 404, "NOT_FOUND"},
			{"agent", "DELETE", rot(westRot, ""), nil, 403, "FORBIDDEN"},
			{"manager", "DELETE", rot(theirRot, ""), nil, 404, "NOT_FOUND"},
			// Account and members.
			{"agent", "GET", "/account", nil, 200, ""},
			{"manager", "PATCH", "/account", map[string]any{"duplicatePolicy": "allow"}, 403, "FORBIDDEN"},
			{"admin", "PATCH", "/account", map[string]any{"duplicatePolicy": "sometimes"}, 400, "VALIDATION_ERROR"},
			{"admin", "PATCH", "/account", map[string]any{"duplicatePolicy": "allow", "name": "Acme Sales"}, 200, ""},
			{"manager", "GET", "/members", nil, 403, "FORBIDDEN"},
			{"admin", "GET", "/members", nil, 200, ""},
			{"admin", "POST", "/members", map[string]any{"email": "dan@example.com", "role": "agent"}, 201, ""},
			{"admin", "POST", "/members", map[string]any{"email": "dan@example.com", "role": "agent"}, 409, "CONFLICT"},
			{"admin", "POST", "/members", map[string]any{"email": "not-an-email", "role": "agent"}, 400, "VALIDATION_ERROR"},
			{"manager", "POST", "/members", map[string]any{"email": "eve@example.com", "role": "admin"}, 403, "FORBIDDEN"},
			{"admin", "PATCH", "/members/dan@example.com", map[string]any{"role": "manager"}, 200, ""},
			{"admin", "PATCH", "/members/nobody@example.com", map[string]any{"role": "manager"}, 404, "NOT_FOUND"},
			{"admin", "PATCH", "/members/admin-" + f.account + "@example.com", map[string]any{"role": "agent"}, 409, "LAST_ADMIN"},
			{"admin", "DELETE", "/members/dan@example.com", nil, 204, ""},
			{"admin", "DELETE", "/members/dan@example.com", nil, 404, "NOT_FOUND"},
			// Forced deletions detach the leads.
			{"manager", "DELETE", fmt.Sprintf("/lead-sources/%d?force=true", f.webinar.ID), nil, 204, ""},
			{"manager", "DELETE", team(f.west.ID, "?force=true"), nil, 204, ""},
			{"manager", "DELETE", rot(defRot, ""), nil, 204, ""},
		}
		for i, c := range cases {
			res := f.call(c.who, c.method, c.path, c.body)
			require.Equal(t, c.status, res.status, "%d: %s %s as %s: %s", i, c.method, c.path, c.who, res.body)
			if c.code != "" {
				require.Equal(t, c.code, res.code(t), "%d: %s %s", i, c.method, c.path)
			}
		}
		got := f.call("agent", "GET", fmt.Sprintf("/leads/%v", lead.json(t)["id"]), nil).json(t)
		require.Nil(t, got["teamId"], "detached from the deleted team")
		require.Equal(t, "ana@example.com", got["assignedTo"])
		require.Empty(t, f.call("agent", "GET", "/rotations", nil).json(t)["data"])

		page, err := f.svc.AuditLog(context.Background(), f.actor("admin"), leads.AuditQuery{Event: leads.EventRotationUpdated}, "")
		require.NoError(t, err)
		require.Len(t, page.Data, 6, "every successful rotation change is audited: put, patch, add, pause, cap, remove")
	})
}

func TestPreviewAndDryRunHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	rots := f.call("agent", "GET", "/rotations", nil).json(t)["data"].([]any)
	westRot := int64(rots[0].(map[string]any)["id"].(float64))
	res := f.call("manager", "PATCH", fmt.Sprintf("/rotations/%d/members/ben@example.com", westRot), map[string]any{"paused": true})
	require.Equal(t, http.StatusOK, res.status)

	next := f.call("agent", "GET", fmt.Sprintf("/rotations/%d/next?n=4", westRot), nil).json(t)
	var predicted []string
	for _, turn := range next["next"].([]any) {
		predicted = append(predicted, turn.(map[string]any)["assignee"].(string))
	}
	require.Equal(t, []string{"ana@example.com", "cara@example.com", "ana@example.com", "cara@example.com"}, predicted)
	skipped := next["next"].([]any)[1].(map[string]any)["skipped"].([]any)[0].(map[string]any)
	require.Equal(t, map[string]any{"user": "ben@example.com", "reason": "paused", "slots": float64(1)}, skipped)

	dry := f.call("agent", "POST", "/leads?dryRun=true", f.westLead(nil))
	require.Equal(t, http.StatusOK, dry.status, "%s", dry.body)
	require.Equal(t, "ana@example.com", dry.json(t)["assignment"].(map[string]any)["assignee"])
	require.Equal(t, true, dry.json(t)["dryRun"])
	require.Equal(t, "TEAM_REQUIRED", f.call("agent", "POST", "/leads?dryRun=true", map[string]any{"firstName": "A", "lastName": "B"}).code(t))

	var taken []string
	for range 4 {
		taken = append(taken, f.call("agent", "POST", "/leads", f.westLead(nil)).json(t)["assignedTo"].(string))
	}
	require.Equal(t, predicted, taken, "the preview and the dry run took no turn and told the truth")
	stats := f.call("agent", "GET", fmt.Sprintf("/rotations/%d/stats", westRot), nil).json(t)
	require.Equal(t, float64(4), stats["total"])
}

// TestRotationWithoutMembersListsNone creates a rotation without members:
// its members are an empty list, as the OpenAPI document says, not null.
func TestRotationWithoutMembersListsNone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	team := f.call("manager", "POST", "/teams", map[string]any{"name": "North"})
	require.Equal(t, http.StatusCreated, team.status, "%s", team.body)
	res := f.call("manager", "POST", "/rotations", map[string]any{"name": "North reps", "teamId": team.json(t)["id"]})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
	require.Equal(t, []any{}, res.json(t)["members"], "%s", res.body)
	got := f.call("agent", "GET", fmt.Sprintf("/rotations/%v", res.json(t)["id"]), nil)
	require.Equal(t, []any{}, got.json(t)["members"], "%s", got.body)
}
