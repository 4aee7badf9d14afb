package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestPathIDsAreIntegers requires every id in a path to be documented as
// the ids of the bodies are (integer, int64), so that a client generated
// from the document takes the id a body gave it.
func TestPathIDsAreIntegers(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	for path, item := range doc.Paths.Map() {
		for _, p := range item.Parameters {
			if p.Value.In != "path" || (p.Value.Name != "id" && !strings.HasSuffix(p.Value.Name, "Id")) {
				continue
			}
			s := p.Value.Schema.Value
			require.True(t, s.Type.Is("integer"), "%s: {%s} is %v", path, p.Value.Name, s.Type)
			require.Equal(t, "int64", s.Format, "%s: {%s}", path, p.Value.Name)
		}
	}
	for _, name := range []string{"Lead", "Team", "LeadSource", "Rotation", "RoutingRule", "TimeOff", "HolidayCalendar",
		"WebhookEndpoint", "WebhookDelivery", "Simulation"} {
		id := doc.Components.Schemas[name].Value.Properties["id"].Value
		require.True(t, id.Type.Is("integer"), "%s.id", name)
		require.Equal(t, "int64", id.Format, "%s.id", name)
	}
}

// TestPathIDsThatAreNoIDs pins what the server answers for a path id that
// is no positive integer in its one spelling (no sign, no leading zero): 404, as for an id that names nothing, since no
// object can have it. The document forbids such ids now, and the contract
// harness validates a request only when the server accepted it, so these
// requests still reach the server and test its own answer.
func TestPathIDsThatAreNoIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	lead := f.call("agent", "POST", "/leads", f.westLead(nil))
	require.Equal(t, http.StatusCreated, lead.status)
	leadID := lead.json(t)["id"]
	hook := f.call("manager", "POST", "/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "eventTypes": []string{"lead.created"}})
	require.Equal(t, http.StatusCreated, hook.status, "body: %s", hook.body)
	hookID := hook.json(t)["id"]
	// "+1", "01": the first objects' ids spelled otherwise; an id has one
	// spelling, so that a path names one resource (caches, audit).
	for _, bad := range []string{"abc", "0", "-1", "1.5", "1e3", "99999999999999999999", "%20", "+1", "01", "001"} {
		for _, tc := range []struct{ who, method, path string }{
			{"agent", "GET", "/leads/" + bad},
			{"agent", "PATCH", "/leads/" + bad},
			{"manager", "DELETE", "/leads/" + bad + "?confirm=true"},
			{"agent", "GET", "/leads/" + bad + "/activities"},
			{"agent", "GET", "/teams/" + bad},
			{"manager", "PATCH", "/lead-sources/" + bad},
			{"agent", "GET", "/rotations/" + bad},
			{"agent", "GET", "/routing-rules/" + bad},
			{"agent", "GET", "/holiday-calendars/" + bad},
			{"manager", "GET", "/webhooks/" + bad},
			{"manager", "POST", fmt.Sprintf("/webhooks/%v/deliveries/%s/redeliver", hookID, bad)},
			{"manager", "GET", "/simulations/" + bad},
			{"agent", "DELETE", "/members/agent-" + f.account + "@example.com/time-off/" + bad},
		} {
			var body any
			if tc.method == "PATCH" {
				body = map[string]any{"notes": "x"}
			}
			res := f.call(tc.who, tc.method, tc.path, body)
			require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", tc.method, tc.path, res.body)
			require.Equal(t, "NOT_FOUND", res.code(t), "%s %s", tc.method, tc.path)
		}
	}
	// The same routes with a real id answer, so the 404s above are the ids'.
	require.Equal(t, http.StatusOK, f.call("agent", "GET", fmt.Sprintf("/leads/%v", leadID), nil).status)
	require.Equal(t, http.StatusOK, f.call("manager", "GET", fmt.Sprintf("/webhooks/%v", hookID), nil).status)
}

// TestWebhookURLPortInRange: an endpoint's URL with a port outside 1 to
// 65535 is refused on its url field, never stored to fail every delivery.
func TestWebhookURLPortInRange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	for _, u := range []string{"http://127.0.0.1:99999/h", "http://127.0.0.1:0/h", "https://example.com:65536/h"} {
		res := f.call("manager", "POST", "/webhooks", map[string]any{"url": u, "eventTypes": []string{"lead.created"}})
		require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", u, res.body)
		require.Equal(t, "url", res.json(t)["details"].(map[string]any)["field"], u)
	}
	res := f.call("manager", "POST", "/webhooks", map[string]any{"url": "http://127.0.0.1:65535/h", "eventTypes": []string{"lead.created"}})
	require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
}

// TestWebhookEventTypeOnce: an event type named twice by an endpoint is
// refused on its place in the list, as a repeated matchBy is, not stored
// twice.
func TestWebhookEventTypeOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	res := f.call("manager", "POST", "/webhooks", map[string]any{"url": "http://127.0.0.1:9/h",
		"eventTypes": []string{"lead.created", "lead.assigned", "lead.created"}})
	requireRefused(t, res, "eventTypes[2]")
}

// TestNameTakenNamesTheField: a name another object of its kind has is a
// 409 CONFLICT whose details name the field and the value, for each kind
// whose names are unique.
func TestNameTakenNamesTheField(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	for _, tc := range []struct {
		path string
		body map[string]any
	}{
		{"/teams", map[string]any{"name": "West"}},
		{"/rotations", map[string]any{"name": "West reps", "members": []any{map[string]any{"user": "ana@example.com"}}}},
		{fmt.Sprintf("/teams/%d/lead-sources", f.west.ID), map[string]any{"name": "Webinar"}},
		{"/holiday-calendars", map[string]any{"name": "Holidays", "timezone": "UTC", "dates": []string{"2026-12-25"}}},
		{"/routing-rules", map[string]any{"name": "Hot", "conditions": map[string]any{"field": "hotScore", "op": "gte", "value": 90},
			"action": map[string]any{"type": "hold", "reason": "r"}}},
	} {
		first := f.call("manager", "POST", tc.path, tc.body)
		if first.status != http.StatusConflict { // West and Webinar are the fixture's own
			require.Equal(t, http.StatusCreated, first.status, "%s: %s", tc.path, first.body)
			first = f.call("manager", "POST", tc.path, tc.body)
		}
		require.Equal(t, http.StatusConflict, first.status, "%s: %s", tc.path, first.body)
		details, _ := first.json(t)["details"].(map[string]any)
		require.Equal(t, "name", details["field"], "%s: %s", tc.path, first.body)
		require.Equal(t, tc.body["name"], details["value"], tc.path)
	}
}
