package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestIssue10_03_RotationTimezoneIANAOnly: a rotation's time zone decides
// which day a daily cap counts in, so it must mean the same on every server:
// "Local" (each server's own zone) and an explicit "" are refused, naming the
// field; an omitted time zone is UTC, as documented.
func TestIssue10_03_RotationTimezoneIANAOnly(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		res := a.call("manager", http.MethodPost, "/rotations", map[string]any{"name": "base", "default": true, "members": []any{}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		require.Equal(t, "UTC", res.json(t)["timezone"], "an omitted time zone is UTC")
		path := "/rotations/" + strconv.FormatFloat(res.json(t)["id"].(float64), 'f', 0, 64)

		for _, tz := range []string{"Local", "", "local", "Mars/Olympus"} {
			for _, tc := range []struct {
				method, path string
				body         map[string]any
			}{
				// Validation comes before the one-default rule.
				{http.MethodPost, "/rotations", map[string]any{"name": "second", "default": true, "timezone": tz}},
				{http.MethodPut, path, map[string]any{"name": "base", "default": true, "timezone": tz}},
				{http.MethodPatch, path, map[string]any{"timezone": tz}},
			} {
				t.Run(tc.method+"_"+strconv.Quote(tz), func(t *testing.T) {
					res := a.call("manager", tc.method, tc.path, tc.body)
					require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
					require.Equal(t, "VALIDATION_ERROR", res.code(t))
					details, _ := res.json(t)["details"].(map[string]any)
					require.Equal(t, "timezone", details["field"], "%s", res.body)
				})
			}
		}
		res = a.call("manager", http.MethodPatch, path, map[string]any{"timezone": "America/New_York"})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, "America/New_York", res.json(t)["timezone"])
	})
}
