package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestHotScoreBounds sends hotScore values at and past its bounds, and of
// the wrong JSON type, on create and on PATCH: 0 to 100 are kept as sent,
// anything else is a 400 naming hotScore that writes nothing.
func TestHotScoreBounds(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		patched := f.call("agent", "POST", "/leads", f.westLead(map[string]any{"hotScore": 50}))
		require.Equal(t, http.StatusCreated, patched.status, "%s", patched.body)
		path := fmt.Sprintf("/leads/%v", patched.json(t)["id"])
		for _, tc := range []struct {
			value any
			ok    bool
		}{
			{-1, false}, {0, true}, {100, true}, {101, false}, {"high", false}, {3.5, false},
		} {
			name := fmt.Sprintf("hotScore %v", tc.value)
			created := f.call("agent", "POST", "/leads", f.westLead(map[string]any{"hotScore": tc.value}))
			updated := f.call("agent", "PATCH", path, map[string]any{"hotScore": tc.value})
			for _, res := range []response{created, updated} {
				if tc.ok {
					require.Contains(t, []int{http.StatusCreated, http.StatusOK}, res.status, "%s: %s", name, res.body)
					require.EqualValues(t, tc.value, res.json(t)["hotScore"], name)
					continue
				}
				require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", name, res.body)
				require.Equal(t, "VALIDATION_ERROR", res.code(t), name)
				require.Equal(t, "hotScore", res.json(t)["details"].(map[string]any)["field"], name)
			}
		}
		read := f.call("agent", "GET", path, nil).json(t)
		require.EqualValues(t, 100, read["hotScore"], "the last accepted value; the refused ones changed nothing")
		cleared := f.call("agent", "PATCH", path, map[string]any{"hotScore": nil, "externalId": nil})
		require.Equal(t, http.StatusOK, cleared.status, "%s", cleared.body)
		require.NotContains(t, cleared.json(t), "hotScore", "null clears it")
	})
}
