package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/ratelimit"
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
	requireQueriesRefused(t, f, []refusedQuery{
		{"GET", "/leads?status=lost;", "status"},
		{"GET", "/leads?teamId=2;", "teamId"},
		{"GET", "/leads?q=zzzz%zz", "q"},
		{"GET", "/leads?limit=5&q=a;b", "q"},
		{"GET", "/leads?%zz=1", "%zz"},
		{"GET", "/audit?leadId=1;", "leadId"},
		{"DELETE", "/leads/1?confirm=true;", "confirm"},
		{"GET", "/rotations/1/next?n=%", "n"},
		{"POST", "/leads?dryRun=true;x", "dryRun"},
	})
	require.Empty(t, f.call("admin", "GET", "/leads", nil).json(t)["data"], "the refused POST stored nothing")
}

// TestIssue10_12_RepeatedParameterRefused checks that a parameter that takes
// one value and comes twice is refused, not read as its first value
// (?limit=1&limit=500 paged by 1); status, documented as repeatable, stays so.
func TestIssue10_12_RepeatedParameterRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	for _, tc := range []struct{ method, path, field string }{
		{"GET", "/leads?limit=1&limit=500", "limit"},
		{"GET", "/leads?teamId=1&teamId=2", "teamId"},
		{"DELETE", "/leads/1?confirm=false&confirm=true", "confirm"},
		{"GET", "/rotations/1/next?n=1&n=2", "n"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res := f.call("admin", tc.method, tc.path, nil)
			require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
			require.Equal(t, "VALIDATION_ERROR", res.code(t))
			require.Equal(t, tc.field, res.json(t)["details"].(map[string]any)["field"])
		})
	}
	require.Equal(t, http.StatusOK, f.call("admin", "GET", "/leads?status=new&status=lost", nil).status)
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
			{"duplicate key", "POST", "/leads", `{"teamId":` + west + `,"teamId":2,"leadSourceId":` + src + `,"firstName":"A","lastName":"L"}`, "teamId", "Duplicate field"},
			{"duplicate metadata key", "PATCH", leadPath, `{"metadata":{"a":1,"a":2}}`, "metadata.a", "Duplicate field"},
			{"duplicate spelled with an escape", "PATCH", leadPath, `{"metadata":{"a":1,"\u0061":2}}`, "metadata.a", "Duplicate field"},
			{"duplicate among many keys", "PATCH", leadPath, `{"metadata":{` + manyKeys(40) + `,"k7":0}}`, "metadata.k7", "Duplicate field"},
			{"unknown field spelled with an escape", "POST", "/leads", `{"firstName":"A","lastName":"L","te\u0061mID":1,"teamId":` + west + `,"leadSourceId":` + src + `}`, "teamID", "Unknown field"},
			{"lone surrogate in a key", "PATCH", leadPath, `{"metadata":{"k\ud800":1}}`, "metadata.k\\ud800", ""},
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

// TestIssue10_20_HTTPDetails checks the small HTTP details of item 20, one
// subtest each.
func TestIssue10_20_HTTPDetails(t *testing.T) {
	t.Parallel()
	t.Run("member_createdAt", func(t *testing.T) {
		t.Parallel()
		eachBackend(t, func(t *testing.T, b *storetest.Backend) {
			a := newAPI(t, b)
			email := "agent-" + a.account + "@example.com"
			createdAt := func() any {
				for _, m := range a.call("admin", "GET", "/members", nil).json(t)["data"].([]any) {
					if m.(map[string]any)["email"] == email {
						return m.(map[string]any)["createdAt"]
					}
				}
				t.Fatalf("no member %s", email)
				return nil
			}
			before := createdAt()
			for _, role := range []string{"manager", "manager", "agent"} {
				res := a.call("admin", "PATCH", "/members/"+email, map[string]any{"role": role})
				require.Equal(t, http.StatusOK, res.status, "%s", res.body)
				require.Equal(t, before, res.json(t)["createdAt"], "PATCH to %s answers when the member was added", role)
				require.Equal(t, role, res.json(t)["role"])
			}
			require.Equal(t, before, createdAt())
		})
	})
	t.Run("account_updatedAt", func(t *testing.T) {
		t.Parallel()
		eachBackend(t, func(t *testing.T, b *storetest.Backend) {
			f := newFixture(t, b)
			before := f.call("admin", "GET", "/account", nil).json(t)["updatedAt"]
			require.Equal(t, http.StatusCreated, f.call("admin", "POST", "/teams", map[string]any{"name": "North"}).status)
			require.Equal(t, http.StatusCreated, f.call("admin", "POST", "/members", map[string]any{"email": "new@example.com", "role": "agent"}).status)
			require.Equal(t, http.StatusOK, f.call("admin", "PATCH", "/members/new@example.com", map[string]any{"role": "manager"}).status)
			require.Equal(t, http.StatusNoContent, f.call("admin", "DELETE", "/members/new@example.com", nil).status)
			require.Equal(t, http.StatusOK, f.call("admin", "PATCH", fmt.Sprintf("/teams/%d", f.east.ID), map[string]any{"name": "Far East"}).status)
			require.Equal(t, before, f.call("admin", "GET", "/account", nil).json(t)["updatedAt"], "other configuration changes leave the account's updatedAt")
			res := f.call("admin", "PATCH", "/account", map[string]any{"name": "Acme Inc"})
			require.Equal(t, http.StatusOK, res.status)
			require.NotEqual(t, before, res.json(t)["updatedAt"], "changing the account moves it")
			require.Equal(t, res.json(t)["updatedAt"], f.call("admin", "GET", "/account", nil).json(t)["updatedAt"])
		})
	})
	t.Run("allow_and_head", func(t *testing.T) {
		t.Parallel()
		a := newAPI(t, storetest.SQLite(t))
		for path, allow := range map[string]string{
			"/leads":                               "GET, HEAD, POST",
			"/leads/1":                             "DELETE, GET, HEAD, PATCH, PUT",
			"/account":                             "GET, HEAD, PATCH",
			"/healthz":                             "GET, HEAD",
			"/rotations/1/members/ana@example.com": "DELETE, PATCH",
		} {
			res := a.call("admin", "OPTIONS", path, nil)
			require.Equal(t, http.StatusMethodNotAllowed, res.status, path)
			require.Equal(t, "METHOD_NOT_ALLOWED", res.code(t))
			require.Equal(t, allow, res.header.Get("Allow"), path)
		}
		for path, status := range map[string]int{"/leads": 200, "/healthz": 200, "/account": 200, "/leads/999": 404, "/openapi.yaml": 200} {
			res := a.call("admin", "HEAD", path, nil)
			require.Equal(t, status, res.status, "HEAD %s", path)
			require.Empty(t, res.body)
			get := a.call("admin", "GET", path, nil)
			require.Equal(t, get.header.Get("Content-Type"), res.header.Get("Content-Type"), path)
		}
		require.Equal(t, http.StatusUnauthorized, a.call("", "HEAD", "/leads", nil).status)
	})
	t.Run("slow_body_408", func(t *testing.T) {
		t.Parallel()
		b := storetest.SQLite(t)
		a := newAPI(t, b)
		for _, tc := range []struct {
			name          string
			request, read time.Duration
			pause         time.Duration // after part of the body; 0: never sends the rest
		}{
			{"read timeout", 0, 200 * time.Millisecond, 0},
			{"request timeout first", 100 * time.Millisecond, 300 * time.Millisecond, 0},
			{"body done after the request timeout", 100 * time.Millisecond, 5 * time.Second, 250 * time.Millisecond},
		} {
			srv := httptest.NewUnstartedServer(httpapi.New(a.svc, httpapi.Config{RequestTimeout: tc.request, Logger: slog.New(slog.NewJSONHandler(a.logs, nil))}))
			srv.Config.ReadTimeout = tc.read
			srv.Start()
			for _, path := range []string{"/leads", "/teams"} {
				conn, err := net.Dial("tcp", srv.Listener.Addr().String())
				require.NoError(t, err)
				body := `{"name":"Slow","firstName":"A","lastName":"B"}`
				_, err = io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+a.keys["admin"]+
					"\r\nx-account-id: "+a.account+"\r\nContent-Type: application/json\r\nContent-Length: "+fmt.Sprint(len(body))+"\r\n\r\n"+body[:10])
				require.NoError(t, err)
				if tc.pause > 0 {
					time.Sleep(tc.pause) // the client is slow: nothing to wait for
					_, err = io.WriteString(conn, body[10:])
					require.NoError(t, err)
				}
				res, err := http.ReadResponse(bufio.NewReader(conn), nil)
				require.NoError(t, err, "%s %s", tc.name, path)
				raw, _ := io.ReadAll(res.Body)
				require.Equal(t, http.StatusRequestTimeout, res.StatusCode, "%s %s: %s", tc.name, path, raw)
				require.Contains(t, string(raw), `"code":"REQUEST_TIMEOUT"`)
				_ = conn.Close()
			}
			srv.Close()
		}
		require.Empty(t, a.call("admin", "GET", "/leads", nil).json(t)["data"])
		require.Len(t, a.call("admin", "GET", "/teams", nil).json(t)["data"], 0)
	})
	t.Run("outage_logged_once", func(t *testing.T) {
		t.Parallel()
		var down atomic.Bool
		f := newFixture(t, storetest.SQLite(t), withStore(func(s leads.Store) leads.Store {
			return brokenStore{s, func() error {
				if down.Load() {
					return leads.Unavailable("the database", fmt.Errorf("failed to connect to `host=127.0.0.1`: %w", syscall.ECONNREFUSED))
				}
				return nil
			}}
		}))
		down.Store(true)
		for range 5 {
			require.Equal(t, http.StatusServiceUnavailable, f.call("agent", "POST", "/leads", f.westLead(nil)).status)
		}
		down.Store(false)
		require.Equal(t, http.StatusCreated, f.call("agent", "POST", "/leads", f.westLead(nil)).status)
		var starts, ends []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m))
			require.NotEqual(t, "ERROR", m["level"], "an outage is not an error of ours: %s", line)
			switch m["msg"] {
			case "request failed":
				t.Errorf("a 503 logged on its own: %s", line)
			case "dependency unavailable":
				starts = append(starts, m)
			case "dependency available again":
				ends = append(ends, m)
			}
		}
		require.Len(t, starts, 1, "the outage is logged once")
		require.Equal(t, "WARN", starts[0]["level"])
		require.Contains(t, starts[0]["err"], "connection refused", "with its cause")
		require.Len(t, ends, 1, "then a summary")
		require.EqualValues(t, 5, ends[0]["requests"], "of the requests it failed")
		require.Equal(t, 6, strings.Count(f.logs.String(), `"msg":"request"`), "each request has its access line")
	})
	t.Run("no_html_escaping", func(t *testing.T) {
		t.Parallel()
		a := newAPI(t, storetest.SQLite(t))
		res := a.call("", "GET", "/teams", nil)
		require.Equal(t, http.StatusUnauthorized, res.status)
		require.Contains(t, string(res.body), "Bearer <key>")
	})
	t.Run("plural", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, storetest.SQLite(t))
		path := fmt.Sprintf("/lead-sources/%d", f.webinar.ID)
		require.Equal(t, http.StatusCreated, f.call("agent", "POST", "/leads", f.westLead(nil)).status)
		res := f.call("admin", "DELETE", path, nil)
		require.Equal(t, http.StatusConflict, res.status)
		require.Equal(t, "the lead source has 1 lead: delete with force=true to detach it", res.json(t)["error"])
		require.Equal(t, http.StatusCreated, f.call("agent", "POST", "/leads", f.westLead(nil)).status)
		res = f.call("admin", "DELETE", path, nil)
		require.Equal(t, "the lead source has 2 leads: delete with force=true to detach them", res.json(t)["error"])
	})
}

// keyRecorder is a rate limiter that records the keys it is asked about.
type keyRecorder struct {
	ratelimit.Limiter
	mu   sync.Mutex
	keys []string
}

func (k *keyRecorder) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	k.mu.Lock()
	k.keys = append(k.keys, key)
	k.mu.Unlock()
	return k.Limiter.Allow(ctx, key, l)
}

// credentialCounter is the real store, counting credential lookups.
type credentialCounter struct {
	leads.Store
	n *atomic.Int64
}

func (c credentialCounter) Credential(ctx context.Context, keyHash, accountID string) (*leads.Credential, error) {
	c.n.Add(1)
	return c.Store.Credential(ctx, keyHash, accountID)
}

func (c credentialCounter) LeadFacts(ctx context.Context, q leads.LeadFactsQuery) (leads.LeadFacts, error) {
	c.n.Add(1)
	return c.Store.LeadFacts(ctx, q)
}

// TestIssue10_18_OnlyAuthenticatedKeysAreLimited checks that a made-up API
// key costs the rate limiter nothing (no allowance is kept for it), and
// that failed authentications are limited per client IP instead: past the
// allowance, a client is refused before any database read.
func TestIssue10_18_OnlyAuthenticatedKeysAreLimited(t *testing.T) {
	t.Parallel()
	var lookups atomic.Int64
	rec := &keyRecorder{Limiter: ratelimit.NewMemory()}
	f := newFixture(t, storetest.SQLite(t), withStore(func(s leads.Store) leads.Store { return credentialCounter{s, &lookups} }),
		withConfig(func(c *httpapi.Config) {
			c.RateLimits = httpapi.RateLimits{Limiter: rec, PerKey: ratelimit.Limit{Rate: 1000, Period: time.Hour},
				PerAccount: ratelimit.Limit{Rate: 1000, Period: time.Hour}, FailedAuthPerIP: ratelimit.Limit{Rate: 4, Period: time.Hour}}
		}))
	madeUp := func(i int) string { return fmt.Sprintf("%s%08dxxxxxxxxxxxxxxxxxxxxxxxxxx", leads.APIKeyPrefix, i) }
	lookups.Store(0)
	for i := range 4 {
		method, path, body := "GET", "/teams", any(nil)
		if i%2 == 1 {
			method, path, body = "POST", "/leads", f.westLead(nil)
		}
		res := f.call("", method, path, body, "Authorization", "Bearer "+madeUp(i))
		require.Equal(t, http.StatusUnauthorized, res.status, "%s", res.body)
	}
	require.Empty(t, rec.keys, "made-up keys are not kept by the limiter")
	require.EqualValues(t, 4, lookups.Load())

	// The client's failed authentications are spent: refused, unread.
	for _, tc := range []struct{ method, path string }{{"GET", "/teams"}, {"POST", "/leads"}, {"POST", "/leads?dryrun=1"}} {
		res := f.call("", tc.method, tc.path, f.westLead(nil), "Authorization", "Bearer "+madeUp(99))
		require.Equal(t, http.StatusTooManyRequests, res.status, "%s %s: %s", tc.method, tc.path, res.body)
		require.Equal(t, httpapi.CodeRateLimited, res.code(t))
		require.Equal(t, "client IP (failed authentication)", res.json(t)["details"].(map[string]any)["scope"])
		require.Equal(t, "900", res.header.Get("Retry-After"))
	}
	require.EqualValues(t, 4, lookups.Load(), "refused before any database read")

	// Authenticated keys are charged, each by its own allowance.
	other := newFixture(t, f.backend, withStore(func(s leads.Store) leads.Store { return credentialCounter{s, &lookups} }),
		withConfig(func(c *httpapi.Config) {
			c.RateLimits = httpapi.RateLimits{Limiter: rec, PerKey: ratelimit.Limit{Rate: 2, Period: time.Hour}}
		}))
	require.Equal(t, http.StatusCreated, other.call("agent", "POST", "/leads", other.westLead(nil)).status)
	require.Equal(t, http.StatusOK, other.call("agent", "GET", "/teams", nil).status)
	res := other.call("agent", "GET", "/teams", nil)
	require.Equal(t, http.StatusTooManyRequests, res.status)
	require.Equal(t, "API key", res.json(t)["details"].(map[string]any)["scope"])
	require.Len(t, rec.keys, 3)
	for _, k := range rec.keys {
		require.Equal(t, "key:"+leads.HashAPIKey(other.keys["agent"]), k)
	}
}

// manyKeys is n members "k0":0 … of a JSON object, without its braces.
func manyKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	return strings.Join(keys, ",")
}

// TestBooleanParametersOneSpelling checks that every boolean query
// parameter reads true and false one way (true/1, false/0) and refuses
// anything else, an empty value above all: ?dryRun= read as false stored a
// real lead for a client that meant a dry run.
func TestBooleanParametersOneSpelling(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	requireQueriesRefused(t, f, []refusedQuery{
		{"POST", "/leads?dryRun=", "dryRun"},
		{"POST", "/leads?dryRun", "dryRun"},
		{"POST", "/leads?dryRun=yes", "dryRun"},
		{"POST", "/leads?skipTeamAndSourceRequirement=", "skipTeamAndSourceRequirement"},
		{"DELETE", "/teams/999999?force=", "force"},
		{"DELETE", "/leads/999999?confirm=", "confirm"},
		{"DELETE", "/leads/999999?confirm=yes", "confirm"},
	})
	require.Empty(t, f.call("admin", "GET", "/leads", nil).json(t)["data"], "no refused request stored a lead")

	// confirm takes 1 for true, as every other boolean does.
	id := int64(f.createWest(t).json(t)["id"].(float64))
	require.Equal(t, http.StatusNoContent, f.call("admin", "DELETE", fmt.Sprintf("/leads/%d?confirm=1", id), nil).status)
}

// TestEmptyQueryValuesRefused: a parameter given with no value is refused
// on its name, as a boolean's is, not read as absent: ?limit= answered a
// page of the default size, ?matchBy= created a second lead for a client
// that meant to match, ?cursor= started over at the first page.
func TestEmptyQueryValuesRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	requireQueriesRefused(t, f, []refusedQuery{
		{"GET", "/leads?limit=", "limit"},
		{"GET", "/leads?cursor=", "cursor"},
		{"GET", "/leads?status=new&status=", "status"},
		{"GET", "/leads?q=", "q"},
		{"GET", "/leads?sort", "sort"},
		{"POST", "/leads?matchBy=", "matchBy"},
		{"GET", "/audit?event=", "event"},
		{"GET", "/rotations/1/next?n=", "n"},
	})
	require.Empty(t, f.call("admin", "GET", "/leads?limit=5", nil).json(t)["data"], "no refused request stored a lead")
}

// TestBodyOnABodylessRouteRefused: a body sent to a route that takes none
// (a DELETE, a GET, the redelivery) is refused on "body", not ignored: a
// client that put what it meant in it ({"force": true}, a filter) learns
// that nothing read it. Nothing is deleted.
func TestBodyOnABodylessRouteRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	team := f.call("manager", "POST", "/teams", map[string]any{"name": "Bodyless"})
	require.Equal(t, http.StatusCreated, team.status, "%s", team.body)
	teamPath := fmt.Sprintf("/teams/%v", team.json(t)["id"])
	hook := f.call("manager", "POST", "/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "eventTypes": []string{"lead.created"}})
	require.Equal(t, http.StatusCreated, hook.status, "%s", hook.body)
	for _, tc := range []struct{ method, path string }{
		{"DELETE", teamPath},
		{"GET", teamPath},
		{"GET", "/leads"},
		{"POST", fmt.Sprintf("/webhooks/%v/deliveries/1/redeliver", hook.json(t)["id"])},
	} {
		requireRefused(t, f.call("manager", tc.method, tc.path, map[string]any{"force": true}), "body", tc.method+" "+tc.path)
	}
	// Every operation the document gives no request body, with ids that
	// name nothing: the body is refused before the handler looks.
	for path, item := range loadDoc(t).Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil || method == "HEAD" {
				continue
			}
			p := strings.NewReplacer("{id}", "1", "{deliveryId}", "1", "{timeOffId}", "1", "{user}", "x@example.com",
				"{email}", "x@example.com").Replace(path)
			requireRefused(t, f.call("admin", method, p, map[string]any{"x": 1}), "body", method+" "+path)
		}
	}
	require.Equal(t, http.StatusOK, f.call("manager", "GET", teamPath, nil).status, "the team is still there")
	require.Equal(t, http.StatusNoContent, f.call("manager", "DELETE", teamPath, nil).status, "and goes without a body")
}

// TestAuditEventFilterNamesAnEvent: GET /audit?event= takes the events the
// log records (the document lists them, as leads.AuditEvents does) and
// refuses any other on "event": a misspelt filter, or a webhook's event
// type, answered an empty page as if nothing had happened.
func TestAuditEventFilterNamesAnEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	f.createWest(t)
	for _, bad := range []string{"bogus", "lead.created", "LEAD_CREATED"} {
		requireRefused(t, f.call("admin", "GET", "/audit?event="+bad, nil), "event", bad)
	}
	page := f.call("admin", "GET", "/audit?event=lead_created", nil)
	require.Equal(t, http.StatusOK, page.status, "%s", page.body)
	require.Len(t, page.json(t)["data"], 1)

	var documented []string
	for _, p := range loadDoc(t).Paths.Find("/audit").Get.Parameters {
		if p.Value.Name == "event" {
			for _, v := range p.Value.Schema.Value.Enum {
				documented = append(documented, v.(string))
			}
		}
	}
	require.Equal(t, leads.AuditEvents(), documented)
}

// TestNullBodyRefused: a body of JSON null where an object is expected is
// INVALID_JSON, as an array or a number is: encoding/json decodes it into
// a struct as nothing at all, so the probe's accept with body null was a
// 200 and a PATCH with it a write of nothing.
func TestNullBodyRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	leadPath := fmt.Sprintf("/leads/%v", f.createWest(t).json(t)["id"])
	for _, tc := range []struct{ method, path string }{
		{"POST", leadPath + "/accept"},
		{"PATCH", leadPath},
		{"POST", "/leads"},
		{"POST", "/teams"},
		{"PATCH", "/account"},
	} {
		for _, body := range []string{"null", " null\n"} {
			res := f.call("admin", tc.method, tc.path, body)
			require.Equal(t, http.StatusBadRequest, res.status, "%s %s %q: %s", tc.method, tc.path, body, res.body)
			require.Equal(t, "INVALID_JSON", res.code(t), "%s %s", tc.method, tc.path)
		}
	}
	lead := f.call("admin", "GET", leadPath, nil).json(t)
	require.Nil(t, lead["acceptedAt"], "not accepted")
}

// TestWriteToUncleanPathIsJSON404: a write to a path with a trailing slash
// (or one that cleans to another) is a JSON 404, not the router's HTML 301
// to the clean path, which clients follow by turning a POST into a GET (a
// create quietly becoming a listing). Nothing is written.
func TestWriteToUncleanPathIsJSON404(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	for _, tc := range []struct{ method, path string }{
		{"POST", "/leads/"},
		{"POST", "/leads//"},
		{"PATCH", "/leads/1/"},
		{"DELETE", "/leads/1/?confirm=true"},
		{"POST", "/teams/../leads"},
	} {
		var body any
		if tc.method != "DELETE" {
			body = f.westLead(nil)
		}
		res := f.call("admin", tc.method, tc.path, body)
		require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", tc.method, tc.path, res.body)
		require.Equal(t, "NOT_FOUND", res.code(t), "%s %s", tc.method, tc.path)
	}
	require.Empty(t, f.call("admin", "GET", "/leads", nil).json(t)["data"], "nothing written")
}

// TestTimeParametersInTheYearsOfTheAPI: a date-time query parameter of the
// statistics and of the next turns falls in the years 0001 to 9999, as the
// lead filters' do: year 0 is no year of PostgreSQL's.
func TestTimeParametersInTheYearsOfTheAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		rot := f.createWest(t).json(t)["rotationId"]
		for _, tc := range []struct{ path, field string }{
			{fmt.Sprintf("/rotations/%v/stats?from=0000-01-01T00:00:00Z", rot), "from"},
			{fmt.Sprintf("/rotations/%v/stats?to=0000-12-31T00:00:00Z", rot), "to"},
			{fmt.Sprintf("/teams/%d/stats?from=0000-01-01T00:00:00Z", f.west.ID), "from"},
			{fmt.Sprintf("/rotations/%v/next?at=0000-01-01T12:00:00Z", rot), "at"},
			{fmt.Sprintf("/rotations/%v/next?at=9999-12-31T23:00:00-05:00", rot), "at"},
		} {
			res := f.call("admin", "GET", tc.path, nil)
			require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tc.path, res.body)
			require.Equal(t, tc.field, res.json(t)["details"].(map[string]any)["field"], tc.path)
		}
	})
}

// TestMalformedValuesNamedByField: a value that is JSON of the right kind
// but not a date-time or a duration is a VALIDATION_ERROR naming its field,
// nested ones by their path, not an INVALID_JSON with the decoder's words.
func TestMalformedValuesNamedByField(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	lead := fmt.Sprintf("/leads/%v", f.createWest(t).json(t)["id"])
	for _, tc := range []struct {
		method, path string
		body         string
		field        string
	}{
		{"POST", lead + "/activities", `{"type":"call","occurredAt":"bad"}`, "occurredAt"},
		{"POST", "/simulations", `{"from":"bad","to":"2026-12-01T00:00:00Z"}`, "from"},
		{"POST", "/rotations", `{"name":"S","sla":{"acceptWithin":"5"}}`, "sla.acceptWithin"},
		{"POST", "/rotations", `{"name":"S","sla":{"acceptWithin":5}}`, "sla.acceptWithin"},
	} {
		res := f.call("admin", tc.method, tc.path, tc.body)
		require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tc.body, res.body)
		require.Equal(t, "VALIDATION_ERROR", res.code(t), "%s: %s", tc.body, res.body)
		require.Equal(t, tc.field, res.json(t)["details"].(map[string]any)["field"], "%s: %s", tc.body, res.body)
	}
}

// TestLimitZeroRefusedAsSent: limit=0 is refused on every listing, and the
// error gives the value sent (it said -1, the Service's reading of it).
func TestLimitZeroRefusedAsSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	hook := f.call("manager", "POST", "/webhooks", map[string]any{"url": "http://127.0.0.1:9/h", "eventTypes": []string{"lead.created"}})
	require.Equal(t, http.StatusCreated, hook.status, "%s", hook.body)
	for _, path := range []string{"/leads?limit=0", "/audit?limit=0", "/simulations?limit=0",
		fmt.Sprintf("/webhooks/%v/deliveries?limit=0", hook.json(t)["id"])} {
		res := f.call("admin", "GET", path, nil)
		require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", path, res.body)
		details := res.json(t)["details"].(map[string]any)
		require.Equal(t, "limit", details["field"], path)
		require.Equal(t, float64(0), details["value"], path)
	}
}

// refusedQuery is a request refused on a query parameter.
type refusedQuery struct{ method, path, field string }

// requireQueriesRefused sends each request (a POST with a lead of the West
// team) and requires a VALIDATION_ERROR naming its field.
func requireQueriesRefused(t *testing.T, f *fixture, cases []refusedQuery) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = f.westLead(nil)
			}
			requireRefused(t, f.call("admin", tc.method, tc.path, body), tc.field)
		})
	}
}

// createWest creates a lead of the West team and returns the answer.
func (f *fixture) createWest(t *testing.T) response {
	t.Helper()
	created := f.call("admin", "POST", "/leads", f.westLead(nil))
	require.Equal(t, http.StatusCreated, created.status, "%s", created.body)
	return created
}

// TestIdempotencyKeyNamesOneRequest: a key used by a create is another
// request's when sent again as a dry run or as an upsert (matchBy):
// IDEMPOTENCY_KEY_REUSED, not the stored lead in a dry run's envelope or a
// replay of a create that was no upsert. The create itself sent again is
// still replayed.
func TestIdempotencyKeyNamesOneRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	body := f.westLead(map[string]any{"email": "once@example.com"})
	first := f.call("admin", "POST", "/leads", body, "Idempotency-Key", "k5")
	require.Equal(t, http.StatusCreated, first.status, "%s", first.body)
	for _, path := range []string{"/leads?dryRun=true", "/leads?matchBy=email"} {
		res := f.call("admin", "POST", path, body, "Idempotency-Key", "k5")
		require.Equal(t, http.StatusUnprocessableEntity, res.status, "%s: %s", path, res.body)
		require.Equal(t, "IDEMPOTENCY_KEY_REUSED", res.code(t), path)
	}
	again := f.call("admin", "POST", "/leads", body, "Idempotency-Key", "k5")
	require.Equal(t, http.StatusCreated, again.status, "%s", again.body)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.Len(t, f.call("admin", "GET", "/leads", nil).json(t)["data"], 1)
}

// TestUnknownNestedKeyNamedByPath: an unknown key inside an object or a
// list of objects is named by its path, as a duplicate nested key is.
func TestUnknownNestedKeyNamedByPath(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	for body, field := range map[string]string{
		`{"name":"S1","x":1}`:                             "x",
		`{"name":"S2","sla":{"acceptWithin":"5m","x":1}}`: "sla.x",
		`{"name":"S3","members":[{"user":"ana@example.com"},{"user":"ben@example.com","x":1}]}`: "members[1].x",
	} {
		res := f.call("admin", "POST", "/rotations", body)
		requireRefused(t, res, field, body)
		require.Equal(t, "Unknown field", res.json(t)["details"].(map[string]any)["message"], body)
	}
}
