package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
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

// TestIssue10_11_UnknownQueryParameterRefused checks that every route
// refuses a query parameter it does not take, naming it without echoing its
// value, and that such a request changes nothing; and that every parameter
// the document lists for an operation is one the route takes.
func TestIssue10_11_UnknownQueryParameterRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	lead := f.call("admin", "POST", "/leads", f.westLead(nil))
	require.Equal(t, http.StatusCreated, lead.status)
	leadPath := fmt.Sprintf("/leads/%v", lead.json(t)["id"])
	const secret = "s3cr3t-value-never-echoed"
	served := httpapi.New(nil, httpapi.Config{}).Routes()
	for _, route := range served {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer("{id}", "1", "{user}", "ana@example.com", "{email}", "agent-"+f.account+"@example.com").Replace(path)
		t.Run(method+path, func(t *testing.T) {
			res := f.call("admin", method, path+"?dryrun="+secret, map[string]any{})
			require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
			require.Equal(t, "VALIDATION_ERROR", res.code(t))
			details := res.json(t)["details"].(map[string]any)
			require.Equal(t, "dryrun", details["field"])
			require.Equal(t, "Unknown parameter", details["message"])
			require.NotContains(t, string(res.body), secret)
		})
	}
	// Nothing was written by refused requests.
	for _, path := range []string{"/leads?dry_run=true", "/leads?dryrun=true", "/leads?skipTeamAndSourceRequirment=true"} {
		res := f.call("admin", "POST", path, map[string]any{"firstName": "A", "lastName": "B"})
		require.Equal(t, http.StatusBadRequest, res.status, path)
	}
	res := f.call("admin", "PATCH", leadPath+"?dryRun=true", map[string]any{"notes": "changed"})
	require.Equal(t, http.StatusBadRequest, res.status)
	page := f.call("admin", "GET", "/leads", nil).json(t)["data"].([]any)
	require.Len(t, page, 1, "no lead created by a refused request")
	require.Empty(t, page[0].(map[string]any)["notes"], "no lead changed by a refused request")
	require.NotContains(t, f.logs.String(), secret)

	// Auth errors come first, on POST /leads as everywhere.
	require.Equal(t, http.StatusUnauthorized, f.call("", "POST", "/leads?dryrun=1", f.westLead(nil)).status)
	require.Equal(t, http.StatusUnauthorized, f.call("", "GET", "/teams?dryrun=1", nil).status)

	// Every documented query parameter is taken by its route.
	doc := loadDoc(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value.In != "query" {
					continue
				}
				target := strings.NewReplacer("{id}", "999999", "{user}", "nobody@example.com", "{email}", "nobody@example.com").Replace(path)
				res := f.call("admin", method, target+"?"+p.Value.Name+"=x", nil)
				details, _ := res.json(t)["details"].(map[string]any)
				require.NotEqual(t, "Unknown parameter", details["message"], "%s %s?%s", method, path, p.Value.Name)
			}
		}
	}
}

// TestIssue10_12_MalformedQueryPairRefused checks that a query pair that
// does not parse (a semicolon, a bad percent escape) is a 400 naming the
// parameter, not dropped to answer unfiltered.
func TestIssue10_12_MalformedQueryPairRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	for _, tc := range []struct{ method, path, field string }{
		{"GET", "/leads?status=lost;", "status"},
		{"GET", "/leads?teamId=2;", "teamId"},
		{"GET", "/leads?q=zzzz%zz", "q"},
		{"GET", "/leads?limit=5&q=a;b", "q"},
		{"GET", "/leads?%zz=1", "%zz"},
		{"GET", "/audit?leadId=1;", "leadId"},
		{"DELETE", "/leads/1?confirm=true;", "confirm"},
		{"GET", "/rotations/1/next?n=%", "n"},
		{"POST", "/leads?dryRun=true;x", "dryRun"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = f.westLead(nil)
			}
			res := f.call("admin", tc.method, tc.path, body)
			require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
			require.Equal(t, "VALIDATION_ERROR", res.code(t))
			require.Equal(t, tc.field, res.json(t)["details"].(map[string]any)["field"])
		})
	}
	require.Empty(t, f.call("admin", "GET", "/leads", nil).json(t)["data"], "the refused POST stored nothing")
}
