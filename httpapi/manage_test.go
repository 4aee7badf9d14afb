package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

func TestListLeadsHTTP(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		for _, name := range []string{"Ada", "Grace", "Alan"} {
			require.Equal(t, http.StatusCreated, f.call("agent", "POST", "/leads", f.westLead(map[string]any{"firstName": name})).status)
		}
		require.Equal(t, http.StatusCreated, f.call("agent", "POST", "/leads?skipTeamAndSourceRequirement=true",
			map[string]any{"firstName": "Old", "lastName": "Archive", "archived": true, "status": "lost"}).status)

		names := func(res response) []string {
			var out []string
			for _, l := range res.json(t)["data"].([]any) {
				out = append(out, l.(map[string]any)["firstName"].(string))
			}
			return out
		}
		res := f.call("agent", "GET", "/leads", nil)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, []string{"Alan", "Grace", "Ada"}, names(res))
		require.Nil(t, res.json(t)["nextCursor"])
		require.NotContains(t, string(res.body), "auditLog", "lists leave audit logs out")

		res = f.call("agent", "GET", "/leads?limit=2&order=asc", nil)
		require.Equal(t, []string{"Ada", "Grace"}, names(res))
		next := res.json(t)["nextCursor"].(string)
		res = f.call("agent", "GET", "/leads?limit=2&order=asc&cursor="+url.QueryEscape(next), nil)
		require.Equal(t, []string{"Alan"}, names(res))

		for query, want := range map[string][]string{
			"status=lost,new&archived=all":                        {"Old", "Alan", "Grace", "Ada"},
			"status=lost&status=new&archived=true":                {"Old"},
			"assignedTo=ben@example.com":                          {"Grace"},
			"assignedTo=unassigned&archived=all":                  {},
			"q=GRA&teamId=" + fmt.Sprint(f.west.ID):               {"Grace"},
			"leadSourceId=" + fmt.Sprint(f.webinar.ID) + "&q=%25": {},
			"createdAfter=2000-01-01T00:00:00Z&sort=updatedAt":    {"Alan", "Grace", "Ada"},
			"createdBefore=2000-01-01T00:00:00Z":                  {},
		} {
			res := f.call("agent", "GET", "/leads?"+query, nil)
			require.Equal(t, http.StatusOK, res.status, "%s: %s", query, res.body)
			got := names(res)
			if got == nil {
				got = []string{}
			}
			require.Equal(t, want, got, query)
		}
		for query, field := range map[string]string{
			"assigned_to=ana@example.com": "assigned_to",
			"createdAfter=yesterday":      "createdAfter",
			"limit=0":                     "limit",
			"limit=501":                   "limit",
			"limit=ten":                   "limit",
			"status=won":                  "status",
			"archived=maybe":              "archived",
			"order=up":                    "order",
			"sort=name":                   "sort",
			"teamId=-1":                   "teamId",
			"cursor=garbage":              "cursor",
		} {
			res := f.call("agent", "GET", "/leads?"+query, nil)
			require.Equal(t, http.StatusBadRequest, res.status, query)
			require.Equal(t, field, res.json(t)["details"].(map[string]any)["field"], query)
		}
	})
}

func TestUpdateAssignDeleteHTTP(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		created := f.call("agent", "POST", "/leads", f.westLead(map[string]any{"metadata": map[string]any{"utm": "google", "n": 1}}))
		lead := created.json(t)
		path := fmt.Sprintf("/leads/%v", lead["id"])
		etag := created.header.Get("ETag")
		require.NotEmpty(t, etag)

		res := f.call("agent", "PATCH", path, map[string]any{"status": "contacted", "metadata": map[string]any{"utm": nil, "n": 2}}, "If-Match", etag)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		patched := res.json(t)
		require.Equal(t, "contacted", patched["status"])
		require.Equal(t, map[string]any{"n": float64(2)}, patched["metadata"])
		require.NotEqual(t, etag, res.header.Get("ETag"))
		log := patched["auditLog"].([]any)
		require.Equal(t, "status_changed", log[2].(map[string]any)["event"])
		require.Equal(t, "lead_updated", log[3].(map[string]any)["event"])

		stale := f.call("agent", "PUT", path, map[string]any{"notes": "overwrite"}, "If-Match", etag)
		require.Equal(t, http.StatusPreconditionFailed, stale.status)
		require.Equal(t, "PRECONDITION_FAILED", stale.code(t))
		require.Equal(t, http.StatusBadRequest, f.call("agent", "PATCH", path, map[string]any{"notes": "x"}, "If-Match", "yesterday").status)

		// GET, change, PUT back the whole lead: read-only fields are ignored.
		got := f.call("agent", "GET", path, nil)
		body := got.json(t)
		body["notes"] = "round trip"
		res = f.call("agent", "PUT", path, body, "If-Match", got.header.Get("ETag"))
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, "round trip", res.json(t)["notes"])

		for _, bad := range []any{`null`, `[]`, map[string]any{"status": 5}, map[string]any{"email": "nope"}, map[string]any{"teamId": f.east.ID}} {
			res := f.call("agent", "PATCH", path, bad)
			require.Equal(t, http.StatusBadRequest, res.status, "%v: %s", bad, res.body)
		}
		other := f.call("agent", "POST", "/leads", f.westLead(map[string]any{"email": "grace@example.com"}))
		require.Equal(t, http.StatusCreated, other.status)
		dup := f.call("agent", "PATCH", path, map[string]any{"email": "Grace@Example.com"})
		require.Equal(t, http.StatusConflict, dup.status)
		require.Equal(t, other.json(t)["id"], dup.json(t)["details"].(map[string]any)["existingLeadId"])

		res = f.call("agent", "POST", path+"/assign", nil)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Equal(t, "cara@example.com", res.json(t)["assignedTo"], "ana had it, ben got the second lead")
		res = f.call("agent", "POST", path+"/assign", map[string]any{"rotationId": 999999})
		require.Equal(t, http.StatusBadRequest, res.status)
		require.Equal(t, "ROTATION_NOT_FOUND", res.code(t))

		require.Equal(t, "CONFIRMATION_REQUIRED", f.call("manager", "DELETE", path, nil).code(t))
		require.Equal(t, http.StatusForbidden, f.call("agent", "DELETE", path+"?confirm=true", nil).status)
		require.Equal(t, http.StatusNoContent, f.call("manager", "DELETE", path+"?confirm=true", nil).status)
		require.Equal(t, http.StatusNotFound, f.call("agent", "GET", path, nil).status)
		require.Equal(t, http.StatusNotFound, f.call("manager", "DELETE", path+"?confirm=true", nil).status)

		require.Equal(t, http.StatusForbidden, f.call("manager", "GET", fmt.Sprintf("/audit?leadId=%v", lead["id"]), nil).status)
		res = f.call("admin", "GET", fmt.Sprintf("/audit?leadId=%v", lead["id"]), nil)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		entries := res.json(t)["data"].([]any)
		last := entries[len(entries)-1].(map[string]any)
		require.Equal(t, "lead_deleted", last["event"])
		require.Equal(t, "round trip", last["data"].(map[string]any)["lead"].(map[string]any)["notes"])
		require.Equal(t, http.StatusBadRequest, f.call("admin", "GET", "/audit?lead=1", nil).status)
	})
}

// TestAnotherAccountsLeadIsNotFound tries every lead route on a lead of
// another account: always 404, and the lead is untouched.
func TestAnotherAccountsLeadIsNotFound(t *testing.T) {
	t.Parallel()
	b := storetest.SQLite(t)
	f, other := newFixture(t, b), newFixture(t, b)
	theirs := other.call("agent", "POST", "/leads", other.westLead(map[string]any{"notes": "theirs"})).json(t)
	path := fmt.Sprintf("/leads/%v", theirs["id"])
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", path, nil},
		{"PATCH", path, map[string]any{"notes": "mine now"}},
		{"PUT", path, map[string]any{"notes": "mine now"}},
		{"POST", path + "/assign", nil},
		{"DELETE", path + "?confirm=true", nil},
	} {
		res := f.call("admin", c.method, c.path, c.body)
		require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", c.method, c.path, res.body)
		require.NotContains(t, string(res.body), "theirs")
	}
	res := f.call("admin", "GET", fmt.Sprintf("/audit?leadId=%v", theirs["id"]), nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Empty(t, res.json(t)["data"])
	require.Equal(t, "theirs", other.call("agent", "GET", path, nil).json(t)["notes"])
}

// A credential put in the query string is refused by name, and its value
// appears neither in the error body nor in the log.
func TestUnknownParameterIsNotEchoed(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		secret := f.keys["admin"]
		for _, path := range []string{"/leads?api_key=", "/audit?token="} {
			res := f.call("admin", "GET", path+url.QueryEscape(secret), nil)
			require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", path, res.body)
			require.Equal(t, "VALIDATION_ERROR", res.code(t), path)
			details := res.json(t)["details"].(map[string]any)
			require.Equal(t, "Unknown parameter", details["message"], path)
			require.NotContains(t, string(res.body), secret, path)
		}
		require.NotContains(t, f.logs.String(), secret, "secrets are never logged")
	})
}

// TestIfMatchOnEveryLeadWrite checks that a stale If-Match refuses each
// write to a lead with 412 and changes nothing, DELETE and assign as PATCH
// and PUT do: a client that read a version someone changed since neither
// deletes the lead nor moves it.
func TestIfMatchOnEveryLeadWrite(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	created := f.createWest(t)
	path := fmt.Sprintf("/leads/%v", created.json(t)["id"])
	stale := created.header.Get("ETag")
	changed := f.call("admin", "PATCH", path, map[string]any{"notes": "someone else"})
	require.Equal(t, http.StatusOK, changed.status, "%s", changed.body)
	owner := changed.json(t)["assignedTo"]

	for _, w := range []struct{ method, path string }{
		{"POST", path + "/assign"},
		{"DELETE", path + "?confirm=true"},
	} {
		res := f.call("admin", w.method, w.path, nil, "If-Match", stale)
		require.Equal(t, http.StatusPreconditionFailed, res.status, "%s %s: %s", w.method, w.path, res.body)
		require.Equal(t, "PRECONDITION_FAILED", res.code(t))
		require.Equal(t, http.StatusBadRequest, f.call("admin", w.method, w.path, nil, "If-Match", "yesterday").status)
	}
	got := f.call("admin", "GET", path, nil)
	require.Equal(t, http.StatusOK, got.status, "not deleted")
	require.Equal(t, owner, got.json(t)["assignedTo"], "not moved")

	moved := f.call("admin", "POST", path+"/assign", nil, "If-Match", got.header.Get("ETag"))
	require.Equal(t, http.StatusOK, moved.status, "%s", moved.body)
	require.Equal(t, http.StatusNoContent, f.call("admin", "DELETE", path+"?confirm=true", nil, "If-Match", moved.header.Get("ETag")).status)
}

// TestIfMatchOnAcceptAndActivities: a stale If-Match stops POST
// /leads/{id}/accept and POST /leads/{id}/activities as it stops every other
// write to a lead (412 PRECONDITION_FAILED, nothing written); the current
// ETag lets them through. Both were written whatever If-Match said.
func TestIfMatchOnAcceptAndActivities(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	agent := "agent-" + f.account + "@example.com"
	created := f.call("admin", "POST", "/leads", f.westLead(map[string]any{"assignedTo": agent}))
	require.Equal(t, http.StatusCreated, created.status, "%s", created.body)
	path := fmt.Sprintf("/leads/%v", created.json(t)["id"])
	stale := created.header.Get("ETag")
	require.Equal(t, http.StatusOK, f.call("admin", "PATCH", path, map[string]any{"notes": "someone else"}).status)

	activity := map[string]any{"type": "call", "title": "Called", "completed": true}
	for _, w := range []struct {
		who, path string
		body      any
	}{
		{"agent", path + "/accept", nil},
		{"agent", path + "/activities", activity},
	} {
		res := f.call(w.who, "POST", w.path, w.body, "If-Match", stale)
		require.Equal(t, http.StatusPreconditionFailed, res.status, "%s: %s", w.path, res.body)
		require.Equal(t, "PRECONDITION_FAILED", res.code(t))
		require.Equal(t, http.StatusBadRequest, f.call(w.who, "POST", w.path, w.body, "If-Match", "yesterday").status)
	}
	got := f.call("admin", "GET", path, nil)
	require.Nil(t, got.json(t)["acceptedAt"], "not accepted")
	require.Empty(t, f.call("admin", "GET", path+"/activities", nil).json(t)["data"], "no activity written")

	accepted := f.call("agent", "POST", path+"/accept", nil, "If-Match", got.header.Get("ETag"))
	require.Equal(t, http.StatusOK, accepted.status, "%s", accepted.body)
	require.NotNil(t, accepted.json(t)["acceptedAt"])
	added := f.call("agent", "POST", path+"/activities", activity, "If-Match", accepted.header.Get("ETag"))
	require.Equal(t, http.StatusCreated, added.status, "%s", added.body)
}
