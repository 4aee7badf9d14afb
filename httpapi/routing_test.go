package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestRoutingRulesAPI: create at a position, list in order, read, change,
// reorder and delete routing rules over HTTP, and every kind of bad input
// refused with the field it is about.
func TestRoutingRulesAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		rot := a.call("manager", "POST", "/rotations", map[string]any{"name": "Hot", "default": true,
			"members": []any{map[string]any{"user": "ana@example.com"}}})
		require.Equal(t, http.StatusCreated, rot.status, string(rot.body))
		rotID := rot.json(t)["id"]

		hot := a.call("manager", "POST", "/routing-rules", `{"name":"Hot leads",
			"conditions":{"all":[{"field":"metadata.score","op":"gte","value":80},{"field":"emailDomain","op":"not_in","value":["gmail.com"]}]},
			"action":{"type":"rotation","rotationId":`+fmt.Sprint(rotID)+`}}`)
		require.Equal(t, http.StatusCreated, hot.status, string(hot.body))
		rule := hot.json(t)
		require.Equal(t, true, rule["enabled"], "enabled unless said otherwise")
		require.Equal(t, fmt.Sprintf("/routing-rules/%v", rule["id"]), hot.header.Get("Location"))
		spam := a.call("manager", "POST", "/routing-rules", map[string]any{"name": "Spam", "position": 0, "enabled": false,
			"conditions": map[string]any{"field": "email", "op": "matches", "value": "@(mailinator|trashmail)\\."},
			"action":     map[string]any{"type": "hold", "reason": "spam"}})
		require.Equal(t, http.StatusCreated, spam.status, string(spam.body))

		list := a.call("agent", "GET", "/routing-rules", nil).json(t)["data"].([]any)
		require.Len(t, list, 2)
		require.Equal(t, "Spam", list[0].(map[string]any)["name"])
		require.Equal(t, "Hot leads", list[1].(map[string]any)["name"])
		got := a.call("agent", "GET", fmt.Sprintf("/routing-rules/%v", rule["id"]), nil)
		require.Equal(t, http.StatusOK, got.status)
		require.Equal(t, rule["conditions"], got.json(t)["conditions"])

		patched := a.call("manager", "PATCH", fmt.Sprintf("/routing-rules/%v", rule["id"]), map[string]any{"enabled": false})
		require.Equal(t, http.StatusOK, patched.status, string(patched.body))
		require.Equal(t, false, patched.json(t)["enabled"])
		require.Equal(t, "Hot leads", patched.json(t)["name"])

		order := a.call("manager", "PUT", "/routing-rules/order", map[string]any{"ids": []any{rule["id"]}})
		require.Equal(t, http.StatusOK, order.status, string(order.body))
		require.Equal(t, "Hot leads", order.json(t)["data"].([]any)[0].(map[string]any)["name"])

		for _, tc := range []struct {
			name, method, path string
			body               any
			field              string
		}{
			{"unknown key in a condition", "POST", "/routing-rules", `{"name":"x","conditions":{"field":"email","op":"exists","negate":true},"action":{"type":"hold","reason":"r"}}`, "negate"},
			{"unknown field", "POST", "/routing-rules", `{"name":"x","conditions":{"field":"colour","op":"eq","value":"red"},"action":{"type":"hold","reason":"r"}}`, "conditions.field"},
			{"op that does not fit", "POST", "/routing-rules", `{"name":"x","conditions":{"any":[{"field":"status","op":"gt","value":"a"}]},"action":{"type":"hold","reason":"r"}}`, "conditions.any[0].op"},
			{"value of the wrong type", "POST", "/routing-rules", `{"name":"x","conditions":{"field":"numberOfEmployees","op":"gt","value":"many"},"action":{"type":"hold","reason":"r"}}`, "conditions.value"},
			{"a non-member", "POST", "/routing-rules", `{"name":"x","conditions":{"field":"email","op":"exists"},"action":{"type":"assign","assignee":"nobody@example.com"}}`, "action.assignee"},
			{"negative position", "POST", "/routing-rules", `{"name":"x","position":-1,"conditions":{"field":"email","op":"exists"},"action":{"type":"hold","reason":"r"}}`, "position"},
			{"position past the last", "POST", "/routing-rules", `{"name":"x","position":999,"conditions":{"field":"email","op":"exists"},"action":{"type":"hold","reason":"r"}}`, "position"},
			{"unknown id in an order", "PUT", "/routing-rules/order", `{"ids":[999999]}`, "ids"},
			{"a patch's bad action", "PATCH", fmt.Sprintf("/routing-rules/%v", rule["id"]), `{"action":{"type":"team"}}`, "action.teamId"},
		} {
			res := a.call("manager", tc.method, tc.path, tc.body)
			require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", tc.name, res.body)
			body := res.json(t)
			require.Contains(t, fmt.Sprint(body["details"]), tc.field, "%s: %s", tc.name, res.body)
		}
		dup := a.call("manager", "POST", "/routing-rules", map[string]any{"name": "SPAM",
			"conditions": map[string]any{"field": "email", "op": "exists"}, "action": map[string]any{"type": "hold", "reason": "r"}})
		require.Equal(t, http.StatusConflict, dup.status, string(dup.body))

		require.Equal(t, http.StatusNoContent, a.call("manager", "DELETE", fmt.Sprintf("/routing-rules/%v", rule["id"]), nil).status)
		require.Equal(t, http.StatusNotFound, a.call("manager", "GET", fmt.Sprintf("/routing-rules/%v", rule["id"]), nil).status)
		require.Len(t, a.call("agent", "GET", "/routing-rules", nil).json(t)["data"], 1)
	})
}

// TestUpsertAndWhyThisRepAPI: POST /leads?matchBy=email creates (201), then
// finds and updates (200, lead_returned, same owner); the rules decide a
// lead's rotation, and GET /leads/{id}/routing says why, as a dry run
// did; the returning policy is an account setting.
func TestUpsertAndWhyThisRepAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		require.Equal(t, http.StatusCreated, a.call("manager", "POST", "/rotations", map[string]any{"name": "Everyone", "default": true,
			"members": []any{map[string]any{"user": "ana@example.com"}, map[string]any{"user": "cara@example.com"}}}).status)
		pool := a.call("manager", "POST", "/rotations", map[string]any{"name": "Hot leads",
			"members": []any{map[string]any{"user": "cara@example.com"}}})
		require.Equal(t, http.StatusCreated, pool.status, string(pool.body))
		require.Equal(t, false, pool.json(t)["default"])
		rule := a.call("manager", "POST", "/routing-rules", map[string]any{"name": "Hot",
			"conditions": map[string]any{"field": "metadata.score", "op": "gte", "value": 80},
			"action":     map[string]any{"type": "rotation", "rotationId": pool.json(t)["id"]}})
		require.Equal(t, http.StatusCreated, rule.status, string(rule.body))

		hot := map[string]any{"firstName": "Ada", "lastName": "L", "email": "ada@acme.com", "metadata": map[string]any{"score": 90}}
		dry := a.call("agent", "POST", "/leads?skipTeamAndSourceRequirement=true&dryRun=true", hot)
		require.Equal(t, http.StatusOK, dry.status, string(dry.body))
		created := a.call("agent", "POST", "/leads?skipTeamAndSourceRequirement=true&matchBy=email", hot)
		require.Equal(t, http.StatusCreated, created.status, string(created.body))
		lead := created.json(t)
		require.Equal(t, "cara@example.com", lead["assignedTo"], "the rule's pool")
		why := a.call("agent", "GET", fmt.Sprintf("/leads/%v/routing", lead["id"]), nil)
		require.Equal(t, http.StatusOK, why.status, string(why.body))
		decisions := why.json(t)["decisions"].([]any)
		require.Len(t, decisions, 1)
		d := decisions[0].(map[string]any)
		require.Equal(t, dry.json(t)["assignment"].(map[string]any)["decision"], d["decision"], "the dry run said what was kept")
		require.Equal(t, "Hot", d["decision"].(map[string]any)["ruleName"])

		returning := map[string]any{"firstName": "Ada", "lastName": "L", "email": "ADA@acme.com", "phone": "555"}
		again := a.call("agent", "POST", "/leads?skipTeamAndSourceRequirement=true&matchBy=email", returning, "Idempotency-Key", "ret-1")
		require.Equal(t, http.StatusOK, again.status, string(again.body))
		require.Empty(t, again.header.Get("Idempotent-Replayed"))
		require.Equal(t, lead["id"], again.json(t)["id"])
		require.Equal(t, "cara@example.com", again.json(t)["assignedTo"])
		require.Equal(t, "555", again.json(t)["phone"])
		// Retried with its key: answered as it was (200, the same lead),
		// not applied again.
		retry := a.call("agent", "POST", "/leads?skipTeamAndSourceRequirement=true&matchBy=email", returning, "Idempotency-Key", "ret-1")
		require.Equal(t, http.StatusOK, retry.status, string(retry.body))
		require.Equal(t, "true", retry.header.Get("Idempotent-Replayed"))
		require.Equal(t, lead["id"], retry.json(t)["id"])
		returns := 0
		for _, e := range retry.json(t)["auditLog"].([]any) {
			if e.(map[string]any)["event"] == "lead_returned" {
				returns++
			}
		}
		require.Equal(t, 1, returns, "one lead_returned for the upsert and its retry")

		for _, tc := range []struct{ query, field string }{
			{"matchBy=fax", "matchBy"},
		} {
			res := a.call("agent", "POST", "/leads?skipTeamAndSourceRequirement=true&"+tc.query, hot)
			require.Equal(t, http.StatusBadRequest, res.status, string(res.body))
			require.Contains(t, fmt.Sprint(res.json(t)["details"]), tc.field)
		}
		policy := a.call("admin", "PATCH", "/account", map[string]any{"returning": map[string]any{"matchBy": []any{"email", "emailDomain"}, "windowDays": 90}})
		require.Equal(t, http.StatusOK, policy.status, string(policy.body))
		bad := a.call("admin", "PATCH", "/account", map[string]any{"returning": map[string]any{"matchBy": []any{"fax"}}})
		require.Equal(t, http.StatusBadRequest, bad.status, string(bad.body))
		require.Contains(t, fmt.Sprint(bad.json(t)["details"]), "returning.matchBy[0]")
		unknown := a.call("admin", "PATCH", "/account", map[string]any{"returning": map[string]any{"matchBy": []any{}, "days": 3}})
		require.Equal(t, http.StatusBadRequest, unknown.status, string(unknown.body))
		require.Equal(t, http.StatusNotFound, a.call("agent", "GET", "/leads/999999/routing", nil).status)
	})
}

// TestReorderNeedsIDs: PUT /routing-rules/order without ids is refused on
// the field the document requires, not answered 200 for a change of
// nothing.
func TestReorderNeedsIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	for _, body := range []string{`{}`, `{"ids":null}`} {
		res := f.call("manager", "PUT", "/routing-rules/order", body)
		require.Equal(t, http.StatusBadRequest, res.status, "%s: %s", body, res.body)
		require.Equal(t, "ids", res.json(t)["details"].(map[string]any)["field"], body)
	}
}
