package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestRotationSLASettings: a rotation's SLA is set with it (POST, PUT),
// changed or removed by PATCH (null removes it), read back with its
// defaults; a bad setting, or a key the API does not know, is refused with
// VALIDATION_ERROR or INVALID_JSON naming the field, and changes nothing.
func TestRotationSLASettings(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		res := a.call("manager", http.MethodPost, "/rotations", map[string]any{"name": "base", "default": true, "members": []any{},
			"sla": map[string]any{"acceptWithin": "5m", "maxReassignments": 2}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		require.Equal(t, map[string]any{"acceptWithin": "5m0s", "clock": "wall", "maxReassignments": float64(2), "whenExhausted": "keep"},
			res.json(t)["sla"])
		path := "/rotations/" + strconv.FormatFloat(res.json(t)["id"].(float64), 'f', 0, 64)

		for _, tc := range []struct {
			name   string
			sla    any
			code   string
			field  string
			status int
		}{
			{"too short", map[string]any{"acceptWithin": "500ms"}, "VALIDATION_ERROR", "sla.acceptWithin", 400},
			{"too long", map[string]any{"acceptWithin": "200h"}, "VALIDATION_ERROR", "sla.acceptWithin", 400},
			{"missing", map[string]any{"maxReassignments": 1}, "VALIDATION_ERROR", "sla.acceptWithin", 400},
			{"clock", map[string]any{"acceptWithin": "5m", "clock": "business"}, "VALIDATION_ERROR", "sla.clock", 400},
			{"negative", map[string]any{"acceptWithin": "5m", "maxReassignments": -1}, "VALIDATION_ERROR", "sla.maxReassignments", 400},
			{"end", map[string]any{"acceptWithin": "5m", "whenExhausted": "drop"}, "VALIDATION_ERROR", "sla.whenExhausted", 400},
			{"fallback without one", map[string]any{"acceptWithin": "5m", "whenExhausted": "fallback"}, "VALIDATION_ERROR", "fallbackAssignee", 400},
			{"nobody available", map[string]any{"acceptWithin": "5m", "whenNobodyAvailable": "later"}, "VALIDATION_ERROR", "sla.whenNobodyAvailable", 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, method := range []string{http.MethodPatch, http.MethodPut} {
					body := map[string]any{"sla": tc.sla}
					if method == http.MethodPut {
						body = map[string]any{"name": "base", "default": true, "members": []any{}, "sla": tc.sla}
					}
					res := a.call("manager", method, path, body)
					require.Equal(t, tc.status, res.status, "%s %s", method, res.body)
					require.Equal(t, tc.code, res.code(t), "%s", res.body)
					details, _ := res.json(t)["details"].(map[string]any)
					require.Equal(t, tc.field, details["field"], "%s", res.body)
				}
			})
		}
		for _, sla := range []any{map[string]any{"acceptWithin": "five minutes"}, map[string]any{"acceptWithin": "5m", "escalateTo": "x"}} {
			res := a.call("manager", http.MethodPatch, path, map[string]any{"sla": sla})
			require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
			require.NotEqual(t, "INTERNAL", res.code(t), "%s", res.body)
		}
		res = a.call("manager", http.MethodGet, path, nil)
		require.Equal(t, "5m0s", res.json(t)["sla"].(map[string]any)["acceptWithin"], "refused changes changed nothing")

		res = a.call("manager", http.MethodPatch, path, map[string]any{"sla": map[string]any{"acceptWithin": "2h", "clock": "working_hours"}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, "working_hours", res.json(t)["sla"].(map[string]any)["clock"])
		res = a.call("manager", http.MethodPatch, path, map[string]any{"sla": map[string]any{"acceptWithin": "2h", "clock": "working_hours", "whenNobodyAvailable": "wait"}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, "wait", res.json(t)["sla"].(map[string]any)["whenNobodyAvailable"])
		res = a.call("manager", http.MethodPatch, path, map[string]any{"sla": map[string]any{"acceptWithin": "2h", "clock": "working_hours", "whenNobodyAvailable": "exhaust"}})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.NotContains(t, res.json(t)["sla"], "whenNobodyAvailable", "exhaust, the default, is read back as absent")
		res = a.call("manager", http.MethodPatch, path, map[string]any{"name": "renamed"})
		require.Equal(t, "2h0m0s", res.json(t)["sla"].(map[string]any)["acceptWithin"], "a PATCH without sla keeps it")
		res = a.call("manager", http.MethodPatch, path, map[string]any{"sla": nil})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Nil(t, res.json(t)["sla"], "null removes the SLA")
		res = a.call("agent", http.MethodPatch, path, map[string]any{"sla": map[string]any{"acceptWithin": "5m"}})
		require.Equal(t, http.StatusForbidden, res.status, "%s", res.body)
	})
}
