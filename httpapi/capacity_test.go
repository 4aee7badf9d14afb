package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestCapacityAPI: a member's capacity set over HTTP, a rep at capacity
// passed over with at_capacity, freed by a status change at once, and bad
// capacities and open statuses refused with their field.
func TestCapacityAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		res := a.call("manager", "POST", "/rotations", map[string]any{"name": "Capped", "default": true,
			"members": []any{map[string]any{"user": "ana@example.com", "maxOpenLeads": 1}, map[string]any{"user": "ben@example.com"}}})
		require.Equal(t, http.StatusCreated, res.status, string(res.body))
		rot := fmt.Sprintf("/rotations/%v", res.json(t)["id"])
		create := func() map[string]any {
			res := a.call("agent", "POST", "/leads", map[string]any{"firstName": "Cap", "lastName": "Lead", "phone": "+15550100"})
			require.Equal(t, http.StatusCreated, res.status, string(res.body))
			return res.json(t)
		}
		first := create()
		require.Equal(t, "ana@example.com", first["assignedTo"])
		require.Equal(t, "ben@example.com", create()["assignedTo"])
		third := create()
		require.Equal(t, "ben@example.com", third["assignedTo"])
		why := a.call("agent", "GET", fmt.Sprintf("/leads/%v/routing", third["id"]), nil)
		require.Equal(t, http.StatusOK, why.status, string(why.body))
		require.Contains(t, string(why.body), `"reason":"at_capacity"`, "why this rep")

		stats := a.call("manager", "GET", rot+"/stats", nil)
		require.Equal(t, http.StatusOK, stats.status, string(stats.body))
		ana := stats.json(t)["members"].([]any)[0].(map[string]any)
		require.EqualValues(t, 1, ana["openLeads"])
		require.EqualValues(t, 1, ana["maxOpenLeads"])
		require.Equal(t, "at_capacity", ana["reason"])

		patched := a.call("agent", "PATCH", fmt.Sprintf("/leads/%v", first["id"]), map[string]any{"status": "converted"})
		require.Equal(t, http.StatusOK, patched.status, string(patched.body))
		next := a.call("agent", "GET", rot+"/next?n=1", nil).json(t)
		require.Equal(t, "ana@example.com", next["next"].([]any)[0].(map[string]any)["assignee"], "freed at once")

		requireRefused(t, a.call("manager", "PATCH", rot+"/members/ana@example.com", map[string]any{"maxOpenLeads": -1}),
			"maxOpenLeads", "a negative capacity, named as the member's body names it")
		requireRefused(t, a.call("admin", "PATCH", "/account", map[string]any{"openStatuses": []any{"new", "closed"}}),
			"openStatuses[1]", "an unknown status")
		acc := a.call("admin", "PATCH", "/account", map[string]any{"openStatuses": []any{"new", "qualified"}})
		require.Equal(t, http.StatusOK, acc.status, string(acc.body))
		require.Equal(t, []any{"new", "qualified"}, acc.json(t)["openStatuses"])
		acc = a.call("admin", "PATCH", "/account", map[string]any{"openStatuses": []any{}})
		require.Equal(t, []any{"contacted", "follow_up", "new"}, acc.json(t)["openStatuses"], "the default again")
	})
}
