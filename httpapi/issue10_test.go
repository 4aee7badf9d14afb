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

// TestIssue10_19_JSONTextAndKeysExact checks that text that is not valid
// UTF-8 (raw bytes, or an escaped lone surrogate) is refused naming its
// field instead of being stored as U+FFFD, and that JSON keys match
// exactly: a case variant of a field is an unknown field, on create, on
// PATCH and in nested objects.
func TestIssue10_19_JSONTextAndKeysExact(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		lead := f.call("admin", "POST", "/leads", f.westLead(nil))
		require.Equal(t, http.StatusCreated, lead.status)
		leadPath := fmt.Sprintf("/leads/%v", lead.json(t)["id"])
		west := fmt.Sprint(f.west.ID)
		src := fmt.Sprint(f.webinar.ID)
		lead = f.call("admin", "POST", "/leads", `{"firstName":"\ud83d\ude00 Ada","lastName":"L","teamId":`+west+`,"leadSourceId":`+src+`}`)
		require.Equal(t, http.StatusCreated, lead.status, "%s", lead.body)
		require.Equal(t, "😀 Ada", lead.json(t)["firstName"], "a surrogate pair is one character")

		for _, tc := range []struct {
			name, method, path, body, field, message string
		}{
			{"invalid UTF-8", "POST", "/leads", "{\"firstName\":\"A\xff\",\"lastName\":\"L\",\"teamId\":" + west + ",\"leadSourceId\":" + src + "}", "firstName", ""},
			{"lone high surrogate", "POST", "/leads", `{"firstName":"A","lastName":"\ud800","teamId":` + west + `,"leadSourceId":` + src + `}`, "lastName", ""},
			{"lone low surrogate", "POST", "/leads", `{"firstName":"A","lastName":"L","notes":"x\udc00y","teamId":` + west + `,"leadSourceId":` + src + `}`, "notes", ""},
			{"pair then lone", "POST", "/leads", `{"firstName":"\ud83d\ude00\ud800","lastName":"L","teamId":` + west + `,"leadSourceId":` + src + `}`, "firstName", ""},
			{"reversed pair", "POST", "/leads", `{"firstName":"\ude00\ud83d","lastName":"L","teamId":` + west + `,"leadSourceId":` + src + `}`, "firstName", ""},
			{"in metadata", "POST", "/leads", `{"firstName":"A","lastName":"L","metadata":{"utm":{"s":["ok","\ud800"]}},"teamId":` + west + `,"leadSourceId":` + src + `}`, "metadata.utm.s", ""},
			{"in a metadata key", "POST", "/leads", "{\"firstName\":\"A\",\"lastName\":\"L\",\"metadata\":{\"k\xc3\":1},\"teamId\":" + west + ",\"leadSourceId\":" + src + "}", "metadata.k\ufffd", ""},
			{"on patch", "PATCH", leadPath, `{"notes":"\udbff"}`, "notes", ""},
			{"team name", "POST", "/teams", "{\"name\":\"\xed\xa0\x80\"}", "name", ""},
			{"case variant on create", "POST", "/leads", `{"teamId":` + west + `,"TeamId":2,"leadSourceId":` + src + `,"firstName":"A","lastName":"L"}`, "TeamId", "Unknown field"},
			{"case variant alone", "POST", "/leads", `{"FirstName":"A","lastName":"L","teamId":` + west + `,"leadSourceId":` + src + `}`, "FirstName", "Unknown field"},
			{"case variant on patch", "PATCH", leadPath, `{"teamId":` + west + `,"TeamId":2}`, "TeamId", "Unknown field"},
			{"case variant of a team", "PATCH", "/teams/" + west, `{"Name":"x"}`, "Name", "Unknown field"},
			{"case variant nested", "POST", "/rotations", `{"name":"R","members":[{"User":"ana@example.com"}]}`, "members.User", "Unknown field"},
			{"case variant embedded", "POST", "/rotations/1/members", `{"user":"ben@example.com","Position":0}`, "Position", "Unknown field"},
			{"case variant of a role", "PATCH", "/members/agent-" + f.account + "@example.com", `{"Role":"admin"}`, "Role", "Unknown field"},
			{"case variant on assign", "POST", leadPath + "/assign", `{"RotationId":1}`, "RotationId", "Unknown field"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := f.call("admin", tc.method, tc.path, tc.body)
				require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
				require.Equal(t, "VALIDATION_ERROR", res.code(t), "%s", res.body)
				details := res.json(t)["details"].(map[string]any)
				require.Equal(t, tc.field, details["field"], "%s", res.body)
				if tc.message != "" {
					require.Equal(t, tc.message, details["message"])
				}
			})
		}
		page := f.call("admin", "GET", "/leads?archived=all", nil)
		require.Len(t, page.json(t)["data"], 2, "nothing refused was stored")
		require.NotContains(t, string(page.body), "\ufffd")
		require.NotContains(t, string(page.body), `\ufffd`)
		require.Empty(t, f.call("admin", "GET", leadPath, nil).json(t)["notes"], "the refused patches wrote nothing")
	})
}
