package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestIssue10_07_PercentZeroPathNoPanic checks that a path parameter that
// starts with %00, which makes bunrouter index an empty table, is a quiet
// 404 on every route, with or without credentials: no 500, no stack trace.
func TestIssue10_07_PercentZeroPathNoPanic(t *testing.T) {
	t.Parallel()
	a := newAPI(t, storetest.SQLite(t))
	for _, path := range []string{
		"/leads/%00", "/leads/%00x", "/leads/%00/assign", "/teams/%00", "/teams/%00/stats",
		"/teams/%00/lead-sources", "/lead-sources/%00", "/rotations/%00", "/rotations/1/members/%00",
		"/rotations/%00/next", "/members/%00x", "/leads/1%00", "/%00", "/members/a%01b",
	} {
		for _, who := range []string{"", "admin"} {
			for _, method := range []string{"GET", "PATCH", "DELETE", "POST"} {
				res := a.call(who, method, path, nil)
				require.Contains(t, []int{http.StatusNotFound, http.StatusBadRequest}, res.status, "%s %s as %q: %s", method, path, who, res.body)
				require.Equal(t, "NOT_FOUND", res.code(t), "%s %s", method, path)
			}
		}
	}
	require.NotContains(t, a.logs.String(), "panic")
	require.NotContains(t, a.logs.String(), "goroutine")
	require.False(t, strings.Contains(a.logs.String(), `"level":"ERROR"`), "nothing logged as an error")
}
