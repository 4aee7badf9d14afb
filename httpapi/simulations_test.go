package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
	"github.com/leadrotor/leadrotor/simulate"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// simulated is an account with a default rotation of ana, ben and cara
// and 30 leads it assigned, created in [from, to).
type simulated struct {
	*api
	rotation int64
	from, to time.Time
}

func newSimulated(t *testing.T, b *storetest.Backend) *simulated {
	a := newAPI(t, b)
	ctx := context.Background()
	rot, err := a.svc.CreateRotation(ctx, a.actor("admin"), leads.Rotation{Name: "Everyone", Default: true,
		Members: []leads.RotationMember{{User: "ana@example.com"}, {User: "ben@example.com"}, {User: "cara@example.com"}}})
	require.NoError(t, err)
	from := time.Now().Add(-time.Second)
	for i := range 30 {
		_, err := a.svc.CreateLead(ctx, a.actor("agent"), leads.LeadInput{FirstName: "Lead", LastName: fmt.Sprint(i)}, leads.CreateOptions{})
		require.NoError(t, err)
	}
	return &simulated{api: a, rotation: rot.ID, from: from, to: time.Now().Add(time.Second)}
}

// window is the body of a simulation of the account's leads with the
// fields of extra.
func (s *simulated) window(extra map[string]any) map[string]any {
	body := map[string]any{"from": s.from.Format(time.RFC3339Nano), "to": s.to.Format(time.RFC3339Nano)}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// await polls a simulation until it has finished, and returns it.
func (s *simulated) await(t *testing.T, path string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := s.call("manager", "GET", path, nil)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		sim := res.json(t)
		if st := sim["status"]; st == "done" || st == "failed" {
			return sim
		}
		require.True(t, time.Now().Before(deadline), "still %s", sim["status"])
		time.Sleep(20 * time.Millisecond)
	}
}

// The proposed change a simulation gives ana three times the others'
// weight, and ben none of the turns; what happened is the equal round
// robin.
var weightedChange = map[string]any{"defaultRotation": map[string]any{"name": "Everyone",
	"members": []any{map[string]any{"user": "ana@example.com", "weight": 3}, map[string]any{"user": "cara@example.com"}}}}

// A simulation is accepted, runs in the background, and answers the
// result simulate.Run gives for the same input; it writes no lead and
// takes no live turn.
func TestSimulationRunsInTheBackground(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		s := newSimulated(t, b)
		ctx := context.Background()
		previewPath := fmt.Sprintf("/rotations/%d/next?n=5", s.rotation)
		before := s.call("admin", "GET", previewPath, nil)
		require.Equal(t, http.StatusOK, before.status)
		leadsBefore, err := b.Store.CountLeadsCreated(ctx, s.account, time.Time{}, time.Now().Add(time.Hour))
		require.NoError(t, err)

		res := s.call("manager", "POST", "/simulations", s.window(map[string]any{"config": weightedChange}))
		require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
		created := res.json(t)
		location := res.header.Get("Location")
		require.Equal(t, fmt.Sprintf("/simulations/%v", created["id"]), location)
		require.Equal(t, location, created["links"].(map[string]any)["self"])
		require.Contains(t, []any{"queued", "running", "done"}, created["status"])
		require.Equal(t, s.actor("manager").Email, created["createdBy"])

		sim := s.await(t, location)
		require.Equal(t, "done", sim["status"], "%v", sim["error"])
		require.EqualValues(t, 30, sim["progress"])
		require.EqualValues(t, 30, sim["total"])
		require.NotNil(t, sim["finishedAt"])

		// The same replay, run here.
		manager := s.actor("manager")
		live, err := s.svc.Configuration(ctx, manager)
		require.NoError(t, err)
		raw, _ := json.Marshal(weightedChange)
		var sp spec.Spec
		require.NoError(t, json.Unmarshal(raw, &sp))
		proposed, _, err := sp.Propose(ctx, live, manager)
		require.NoError(t, err)
		want, err := simulate.Run(ctx, b.Store, proposed, simulate.Options{AccountID: s.account, From: s.from, To: s.to, Live: live})
		require.NoError(t, err)
		wantJSON, _ := json.Marshal(want)
		gotJSON, _ := json.Marshal(sim["result"])
		require.JSONEq(t, string(wantJSON), string(gotJSON))
		require.EqualValues(t, 30, want.Leads)
		require.Positive(t, want.Changed, "the change moves leads")

		// No side effects: no lead written, no turn taken.
		after := s.call("admin", "GET", previewPath, nil)
		require.JSONEq(t, string(before.body), string(after.body), "the rotation's next turns are as they were")
		leadsAfter, err := b.Store.CountLeadsCreated(ctx, s.account, time.Time{}, time.Now().Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, leadsBefore, leadsAfter)

		// The listing shows it without its result; the YAML form works too.
		yaml := "defaultRotation:\n  name: Everyone\n  members:\n    - user: cara@example.com\n"
		res = s.call("admin", "POST", "/simulations", s.window(map[string]any{"configYaml": yaml}))
		require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
		second := s.await(t, res.header.Get("Location"))
		require.Equal(t, "done", second["status"], "%v", second["error"])
		list := s.call("manager", "GET", "/simulations?limit=1", nil)
		require.Equal(t, http.StatusOK, list.status)
		page := list.json(t)
		data := page["data"].([]any)
		require.Len(t, data, 1)
		require.Equal(t, second["id"], data[0].(map[string]any)["id"], "newest first")
		require.Nil(t, data[0].(map[string]any)["result"])
		require.NotNil(t, page["nextCursor"])
		res = s.call("manager", "GET", "/simulations?limit=1&cursor="+page["nextCursor"].(string), nil)
		require.Equal(t, created["id"], res.json(t)["data"].([]any)[0].(map[string]any)["id"])
	})
}

// A simulation asked for badly is refused before anything is stored, the
// error naming the field (or the YAML's line); agents may not simulate,
// and another account's simulation is not found.
func TestSimulationRefusals(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		s := newSimulated(t, b)
		day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		at := func(t time.Time) string { return t.Format(time.RFC3339) }
		for _, tc := range []struct {
			name   string
			who    string
			body   map[string]any
			status int
			code   string
			field  string
		}{
			{"a window over the bound", "manager", map[string]any{"from": at(day), "to": at(day.AddDate(2, 0, 0))}, 400, leads.CodeValidation, "to"},
			{"to before from", "manager", map[string]any{"from": at(day), "to": at(day.Add(-time.Hour))}, 400, leads.CodeValidation, "to"},
			{"no from", "manager", map[string]any{"to": at(day)}, 400, leads.CodeValidation, "from"},
			{"from Go's zero time", "manager", map[string]any{"from": "0001-01-01T00:00:00Z", "to": at(day)}, 400, leads.CodeValidation, "from"},
			{"to Go's zero time", "manager", map[string]any{"from": at(day), "to": "0001-01-01T00:00:00Z"}, 400, leads.CodeValidation, "to"},
			{"a window before 1970", "manager", map[string]any{"from": "1969-12-01T00:00:00Z", "to": "1969-12-02T00:00:00Z"}, 400, leads.CodeValidation, "from"},
			{"a key the body does not have", "manager", s.window(map[string]any{"confg": map[string]any{}}), 400, leads.CodeValidation, "confg"},
			{"both config and configYaml", "manager", s.window(map[string]any{"config": weightedChange, "configYaml": "rotations: []"}), 400, leads.CodeValidation, "configYaml"},
			{"YAML that does not parse", "manager", s.window(map[string]any{"configYaml": "rotations:\n  - name: Pool\n    members:\n\t- user: ana@example.com\n"}), 400, leads.CodeValidation, "configYaml"},
			{"a key a spec does not have", "manager", s.window(map[string]any{"config": map[string]any{"rotatoins": []any{}}}), 400, leads.CodeValidation, "config"},
			{"a member not in the account", "manager", s.window(map[string]any{"config": map[string]any{"rotations": []any{map[string]any{"name": "Pool",
				"members": []any{map[string]any{"user": "ana@example.com"}, map[string]any{"user": "zed@example.com"}}}}}}), 400, leads.CodeMemberNotInAccount, "config.rotations[0].members[1].user"},
			{"a rotation without a name, in YAML", "manager", s.window(map[string]any{"configYaml": "rotations:\n  - members: []\n"}), 400, leads.CodeValidation, "configYaml.rotations[0].name"},
			{"an agent", "agent", s.window(nil), 403, leads.CodeForbidden, ""},
		} {
			res := s.call(tc.who, "POST", "/simulations", tc.body)
			require.Equal(t, tc.status, res.status, "%s: %s", tc.name, res.body)
			body := res.json(t)
			require.Equal(t, tc.code, body["code"], "%s: %s", tc.name, res.body)
			if tc.field != "" {
				require.Equal(t, tc.field, body["details"].(map[string]any)["field"], "%s: %s", tc.name, res.body)
			}
		}
		// A time given is never "required": what is wrong with it is said.
		for field, body := range map[string]map[string]any{
			"from": {"from": "0001-01-01T00:00:00Z", "to": at(day)},
			"to":   {"from": at(day), "to": "0001-01-01T00:00:00Z"},
		} {
			res := s.call("manager", "POST", "/simulations", body)
			require.Equal(t, "Must not be before 1970-01-01T00:00:00Z", res.json(t)["details"].(map[string]any)["message"], "%s: %s", field, res.body)
		}
		res := s.call("manager", "POST", "/simulations", s.window(map[string]any{"configYaml": "rotations:\n  - name: Pool\n    members:\n\t- user: ana@example.com\n"}))
		require.EqualValues(t, 4, res.json(t)["details"].(map[string]any)["line"], "the YAML's line: %s", res.body)
		require.Contains(t, s.call("manager", "POST", "/simulations", s.window(map[string]any{"config": map[string]any{"rotatoins": []any{}}})).json(t)["details"].(map[string]any)["message"], "rotatoins")

		list := s.call("admin", "GET", "/simulations", nil)
		require.Equal(t, http.StatusOK, list.status)
		require.Empty(t, list.json(t)["data"], "nothing refused was stored")
		require.Equal(t, http.StatusForbidden, s.call("agent", "GET", "/simulations", nil).status)

		other := newAPI(t, b)
		res = other.call("admin", "POST", "/simulations", s.window(nil))
		require.Equal(t, http.StatusAccepted, res.status, "%s", res.body)
		res = s.call("admin", "GET", res.header.Get("Location"), nil)
		require.Equal(t, http.StatusNotFound, res.status)
		require.Equal(t, leads.CodeNotFound, res.code(t))
	})
}
