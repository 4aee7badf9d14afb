package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
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

// TestDuplicateExternalID creates and changes leads over HTTP (the create
// path that authenticates in its one read) to an externalId another lead
// has: 409 DUPLICATE_EXTERNAL_ID naming that lead, also when 16 requests
// race for one id.
func TestDuplicateExternalID(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		first := f.call("agent", "POST", "/leads", f.westLead(map[string]any{"externalId": "crm-1"}))
		require.Equal(t, http.StatusCreated, first.status, "%s", first.body)
		firstID := first.json(t)["id"]
		requireDuplicate := func(res response, name string) {
			t.Helper()
			require.Equal(t, http.StatusConflict, res.status, "%s: %s", name, res.body)
			require.Equal(t, "DUPLICATE_EXTERNAL_ID", res.code(t), name)
			require.Equal(t, "External ID already exists", res.json(t)["error"], name)
			details := res.json(t)["details"].(map[string]any)
			require.Equal(t, "crm-1", details["externalId"], name)
			require.Equal(t, firstID, details["existingLeadId"], name)
		}
		requireDuplicate(f.call("agent", "POST", "/leads", f.westLead(map[string]any{"externalId": " crm-1 "})), "create")

		second := f.call("agent", "POST", "/leads", f.westLead(map[string]any{"externalId": "crm-2"}))
		require.Equal(t, http.StatusCreated, second.status, "%s", second.body)
		path := fmt.Sprintf("/leads/%v", second.json(t)["id"])
		requireDuplicate(f.call("agent", "PATCH", path, map[string]any{"externalId": "crm-1"}), "PATCH")
		require.Equal(t, "crm-2", f.call("agent", "GET", path, nil).json(t)["externalId"], "the refused PATCH changed nothing")

		results := make([]response, 16)
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = f.call("agent", "POST", "/leads", f.westLead(map[string]any{"externalId": "crm-race"}))
			}()
		}
		wg.Wait()
		var winner any
		for _, res := range results {
			if res.status == http.StatusCreated {
				require.Nil(t, winner, "one lead for one externalId")
				winner = res.json(t)["id"]
			}
		}
		require.NotNil(t, winner)
		for _, res := range results {
			if res.status != http.StatusCreated {
				require.Equal(t, http.StatusConflict, res.status, "%s", res.body)
				require.Equal(t, "DUPLICATE_EXTERNAL_ID", res.code(t))
				require.Equal(t, winner, res.json(t)["details"].(map[string]any)["existingLeadId"])
			}
		}

		require.Equal(t, http.StatusNoContent, f.call("manager", "DELETE", fmt.Sprintf("/leads/%v?confirm=true", firstID), nil).status)
		again := f.call("agent", "POST", "/leads", f.westLead(map[string]any{"externalId": "crm-1"}))
		require.Equal(t, http.StatusCreated, again.status, "a deleted lead's externalId is free: %s", again.body)
	})
}

// TestLeadFieldFilters lists leads by externalId and by bounds of
// hotScore, and refuses bounds that are no integer from 0 to 100.
func TestLeadFieldFilters(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		ids := map[string]any{}
		for _, l := range []struct {
			name  string
			extra map[string]any
		}{
			{"hot", map[string]any{"externalId": "crm-hot", "hotScore": 90}},
			{"warm", map[string]any{"externalId": "CRM-HOT", "hotScore": 50}},
			{"none", nil},
		} {
			res := f.call("agent", "POST", "/leads", f.westLead(l.extra))
			require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
			ids[l.name] = res.json(t)["id"]
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"externalId=crm-hot", []string{"hot"}},
			{"externalId=%20CRM-HOT%20", []string{"warm"}},
			{"externalId=nobody", nil},
			{"hotScoreMin=90", []string{"hot"}},
			{"hotScoreMax=89", []string{"warm"}},
			{"hotScoreMin=0&hotScoreMax=100&order=asc", []string{"hot", "warm"}},
		} {
			res := f.call("agent", "GET", "/leads?"+tc.query, nil)
			require.Equal(t, http.StatusOK, res.status, "%s: %s", tc.query, res.body)
			var got, want []any
			for _, l := range res.json(t)["data"].([]any) {
				got = append(got, l.(map[string]any)["id"])
			}
			for _, name := range tc.want {
				want = append(want, ids[name])
			}
			require.Equal(t, want, got, tc.query)
		}
		for _, tc := range []struct{ query, field string }{
			{"hotScoreMin=high", "hotScoreMin"},
			{"hotScoreMax=3.5", "hotScoreMax"},
			{"hotScoreMin=-1", "hotScoreMin"},
			{"hotScoreMax=101", "hotScoreMax"},
			{"externalId=a%00b", "externalId"},
		} {
			res := f.call("agent", "GET", "/leads?"+tc.query, nil)
			require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tc.query, res.body)
			require.Equal(t, tc.field, res.json(t)["details"].(map[string]any)["field"], tc.query)
		}
	})
}
