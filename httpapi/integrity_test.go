package httpapi_test

import (
	"net/http"
	"strconv"
	"sync"
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

// TestIssue10_09_RotationNamesWhoIsNotAMember: a rotation that names a user
// who is not a member of the account is refused with MEMBER_NOT_IN_ACCOUNT,
// naming the user and the field, never as a missing team.
func TestIssue10_09_RotationNamesWhoIsNotAMember(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		res := a.call("manager", http.MethodPost, "/rotations", map[string]any{"name": "base", "default": true,
			"members": []any{map[string]any{"user": "ana@example.com"}}})
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		path := "/rotations/" + strconv.FormatFloat(res.json(t)["id"].(float64), 'f', 0, 64)
		const ghost = "ghost@example.com"
		for _, tc := range []struct {
			name, method, path string
			body               map[string]any
			field              string
		}{
			{"fallback", http.MethodPatch, path, map[string]any{"fallbackAssignee": ghost}, "fallbackAssignee"},
			{"member added", http.MethodPost, path + "/members", map[string]any{"user": ghost}, "user"}, // the body is one member
			{"member list", http.MethodPatch, path, map[string]any{"members": []any{map[string]any{"user": ghost}}}, "members[0].user"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := a.call("manager", tc.method, tc.path, tc.body)
				require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
				require.Equal(t, "MEMBER_NOT_IN_ACCOUNT", res.code(t))
				details, _ := res.json(t)["details"].(map[string]any)
				require.Equal(t, ghost, details["user"], "%s", res.body)
				require.Equal(t, tc.field, details["field"], "%s", res.body)
			})
		}
	})
}

// TestIssue10_06_ConcurrentDeletesNeverFail: a team and its lead sources
// deleted with force at the same moment deadlocked in PostgreSQL and one
// request got a 500. Each now ends 204 or 404.
func TestIssue10_06_ConcurrentDeletesNeverFail(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		id := func(res response) string {
			require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
			return strconv.FormatFloat(res.json(t)["id"].(float64), 'f', 0, 64)
		}
		for round := range 15 {
			team := id(a.call("manager", http.MethodPost, "/teams", map[string]any{"name": "team " + strconv.Itoa(round)}))
			var paths []string
			for _, name := range []string{"web", "chat"} {
				src := id(a.call("manager", http.MethodPost, "/teams/"+team+"/lead-sources", map[string]any{"name": name}))
				teamID, _ := strconv.Atoi(team)
				srcID, _ := strconv.Atoi(src)
				for i := range 2 {
					id(a.call("agent", http.MethodPost, "/leads", map[string]any{"firstName": name, "lastName": strconv.Itoa(i),
						"teamId": teamID, "leadSourceId": srcID}))
				}
				paths = append(paths, "/lead-sources/"+src+"?force=true")
			}
			paths = append(paths, "/teams/"+team+"?force=true")
			statuses := make([]int, len(paths))
			bodies := make([]string, len(paths))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, path := range paths {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					res := a.call("manager", http.MethodDelete, path, nil)
					statuses[i], bodies[i] = res.status, string(res.body)
				}()
			}
			close(start)
			wg.Wait()
			for i, status := range statuses {
				require.Contains(t, []int{http.StatusNoContent, http.StatusNotFound}, status, "%s: %s", paths[i], bodies[i])
			}
			require.Equal(t, http.StatusNoContent, statuses[len(paths)-1], "the team delete: %s", bodies[len(paths)-1])
		}
	})
}
