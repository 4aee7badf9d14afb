package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestActivitiesAPI: the assignee logs a call (201, Location), which
// touches and accepts the lead; activities list newest first, page by
// page; bad input is a 400 naming its field and stores nothing.
func TestActivitiesAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		agent := a.actor("agent").Email
		res := a.call("manager", "POST", "/leads", map[string]any{"firstName": "Act", "lastName": "Lead", "assignedTo": agent})
		require.Equal(t, http.StatusCreated, res.status, string(res.body))
		lead := res.json(t)
		require.NotEmpty(t, lead["assignedAt"])
		require.Nil(t, lead["acceptedAt"], "omitted until accepted")
		path := fmt.Sprintf("/leads/%v/activities", lead["id"])

		res = a.call("agent", "POST", path, map[string]any{"type": "call", "title": "Intro", "note": "Wants a demo", "outcome": "connected"})
		require.Equal(t, http.StatusCreated, res.status, string(res.body))
		act := res.json(t)
		require.Equal(t, fmt.Sprintf("%s/%v", path, act["id"]), res.header.Get("Location"))
		require.Equal(t, agent, act["createdBy"])
		require.Equal(t, true, act["completed"])
		got := a.call("agent", "GET", fmt.Sprintf("/leads/%v", lead["id"]), nil).json(t)
		require.Equal(t, act["occurredAt"], got["lastActivityAt"])
		require.Equal(t, act["occurredAt"], got["firstTouchAt"])
		require.NotEmpty(t, got["acceptedAt"], "the first activity accepts")

		res = a.call("manager", "POST", path, map[string]any{"type": "note", "occurredAt": "2020-01-01T00:00:00Z"})
		require.Equal(t, http.StatusCreated, res.status, string(res.body))
		page := a.call("agent", "GET", path+"?limit=1", nil)
		require.Equal(t, http.StatusOK, page.status, string(page.body))
		body := page.json(t)
		require.Equal(t, act["id"], body["data"].([]any)[0].(map[string]any)["id"], "newest first")
		next := a.call("agent", "GET", path+"?limit=1&cursor="+body["nextCursor"].(string), nil).json(t)
		require.Equal(t, "note", next["data"].([]any)[0].(map[string]any)["type"])
		require.Nil(t, next["nextCursor"])

		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{"type": "fax"}, "type"},
			{map[string]any{"title": "no type"}, "type"},
			{map[string]any{"type": "call", "title": strings.Repeat("t", 256)}, "title"},
			{map[string]any{"type": "call", "note": strings.Repeat("n", 10001)}, "note"},
			{map[string]any{"type": "call", "outcome": strings.Repeat("o", 256)}, "outcome"},
			{map[string]any{"type": "call", "occurredAt": "2999-01-01T00:00:00Z"}, "occurredAt"},
			{map[string]any{"type": "call", "completed": "yes"}, "completed"},
			{map[string]any{"type": "call", "by": "someone"}, "by"},
		} {
			requireRefused(t, a.call("agent", "POST", path, tc.body), tc.field, tc.body)
		}
		requireRefused(t, a.call("agent", "GET", path+"?limit=0", nil), "limit")
		requireRefused(t, a.call("agent", "GET", path+"?cursor=zzz", nil), "cursor")
		requireRefused(t, a.call("agent", "GET", path+"?sort=title", nil), "sort")
		all := a.call("agent", "GET", path, nil).json(t)
		require.Len(t, all["data"], 2, "nothing refused was stored")

		require.Equal(t, http.StatusNotFound, a.call("agent", "POST", "/leads/999999999/activities", map[string]any{"type": "call"}).status)
		require.Equal(t, http.StatusNotFound, a.call("agent", "GET", "/leads/999999999/activities", nil).status)
	})
}

// TestAcceptAPI: only the assignee accepts (403 for others, 409
// LEAD_NOT_ASSIGNED for an unassigned lead); accepting again, or many
// times at once, answers 200 with the one acceptedAt; the account setting
// turns accepting by activity off.
func TestAcceptAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		agent := a.actor("agent").Email
		create := func(assignee string) string {
			res := a.call("manager", "POST", "/leads", map[string]any{"firstName": "Acc", "lastName": "Lead", "assignedTo": assignee})
			require.Equal(t, http.StatusCreated, res.status, string(res.body))
			return fmt.Sprintf("/leads/%v", res.json(t)["id"])
		}
		lead := create(agent)
		for _, who := range []string{"manager", "admin"} {
			res := a.call(who, "POST", lead+"/accept", nil)
			require.Equal(t, http.StatusForbidden, res.status, string(res.body))
		}
		res := a.call("agent", "POST", create("")+"/accept", nil)
		require.Equal(t, http.StatusConflict, res.status, string(res.body))
		require.Equal(t, leads.CodeLeadNotAssigned, res.json(t)["code"])
		requireRefused(t, a.call("agent", "POST", lead+"/accept", map[string]any{"note": "x"}), "note")

		const n = 8
		var wg sync.WaitGroup
		answers := make([]response, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = a.call("agent", "POST", lead+"/accept", nil)
			}()
		}
		wg.Wait()
		first := answers[0].json(t)["acceptedAt"]
		require.NotEmpty(t, first)
		for _, r := range answers {
			require.Equal(t, http.StatusOK, r.status, string(r.body))
			require.Equal(t, first, r.json(t)["acceptedAt"])
		}
		accepted := 0
		for _, e := range answers[0].json(t)["auditLog"].([]any) {
			if e.(map[string]any)["event"] == leads.EventLeadAccepted {
				accepted++
			}
		}
		require.Equal(t, 1, accepted, "one acceptance written")

		acc := a.call("admin", "PATCH", "/account", map[string]any{"activityAccepts": false})
		require.Equal(t, http.StatusOK, acc.status, string(acc.body))
		require.Equal(t, false, acc.json(t)["activityAccepts"])
		other := create(agent)
		require.Equal(t, http.StatusCreated, a.call("agent", "POST", other+"/activities", map[string]any{"type": "sms"}).status)
		got := a.call("agent", "GET", other, nil).json(t)
		require.NotEmpty(t, got["firstTouchAt"])
		require.Nil(t, got["acceptedAt"], "accepting by activity is off")
	})
}
