package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// fixture is an account with a team West (lead source Webinar, a rotation of
// ana, ben and cara), a team East without sources or rotation, and a default
// rotation of cara alone.
type fixture struct {
	*api
	west, east *leads.Team
	webinar    *leads.LeadSource
}

func newFixture(t *testing.T, b *storetest.Backend, opts ...apiOption) *fixture {
	t.Helper()
	a := newAPI(t, b, opts...)
	ctx := context.Background()
	mgr := a.actor("manager")
	f := &fixture{api: a}
	var err error
	f.west, err = a.svc.CreateTeam(ctx, mgr, leads.Team{Name: "West"})
	require.NoError(t, err)
	f.east, err = a.svc.CreateTeam(ctx, mgr, leads.Team{Name: "East"})
	require.NoError(t, err)
	f.webinar, err = a.svc.CreateLeadSource(ctx, mgr, leads.LeadSource{TeamID: f.west.ID, Name: "Webinar"})
	require.NoError(t, err)
	_, err = a.svc.CreateRotation(ctx, mgr, leads.Rotation{Name: "West reps", TeamID: f.west.ID,
		Members: []leads.RotationMember{{User: "ana@example.com"}, {User: "ben@example.com"}, {User: "cara@example.com"}}})
	require.NoError(t, err)
	_, err = a.svc.CreateRotation(ctx, mgr, leads.Rotation{Name: "Default", Default: true,
		Members: []leads.RotationMember{{User: "cara@example.com"}}})
	require.NoError(t, err)
	return f
}

// westLead is a valid body for team West.
func (f *fixture) westLead(extra map[string]any) map[string]any {
	body := map[string]any{"firstName": "Ada", "lastName": "Lovelace", "teamId": f.west.ID, "leadSourceId": f.webinar.ID}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

func TestSeedBodyRoundTrips(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		// Every field of seed 002's LeadInput, plus status, metadata,
		// externalId and hotScore.
		body := map[string]any{
			"teamId": f.west.ID, "leadSourceId": f.webinar.ID, "firstName": "Ada", "lastName": "Lovelace",
			"imgSrc": "https://example.com/ada.png", "email": "ada@example.com", "phone": "+1-555-123-4567",
			"company": "Analytical Engines", "jobTitle": "CTO", "branch": "London", "source": "website",
			"position": "Engineering", "location": "UK", "productsServicesSold": "Engines", "numberOfEmployees": 0,
			"currentPaymentProcessor": "Stripe", "monthlyTransactionVolume": 250000, "interestedInSwitching": false,
			"processStage": "discovery", "buyingRole": "decision maker", "assignedTo": "ben@example.com",
			"notes": "Met at the expo", "lastContacted": "2026-11-20T15:04:05Z", "archived": false,
			"createdBy": "import@example.com", "status": "qualified", "externalId": "crm-42", "hotScore": 87,
			"metadata": map[string]any{"utm_source": "google", "interests": []any{"a", "b"}, "score": 12345678901234567},
		}
		res := f.call("agent", "POST", "/leads", body)
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		got := res.json(t)
		for field, sent := range body {
			want, _ := json.Marshal(sent)
			back, _ := json.Marshal(got[field])
			require.JSONEq(t, string(want), string(back), "field %s", field)
		}
		require.Contains(t, string(res.body), `"score":12345678901234567`, "big integers stay exact")
		require.Equal(t, f.account, got["accountId"])
		require.Equal(t, fmt.Sprintf("/leads/%v", got["id"]), res.header.Get("Location"))
		require.NotEmpty(t, got["createdAt"])

		read := f.call("agent", "GET", fmt.Sprintf("/leads/%v", got["id"]), nil)
		require.Equal(t, http.StatusOK, read.status)
		require.JSONEq(t, string(res.body), string(read.body), "a read returns what the create returned")
	})
}

func TestCreateAssignsAndAudits(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		var assignees []string
		for range 4 {
			res := f.call("agent", "POST", "/leads", f.westLead(nil), "Cookie", "session=s3cret", "X-Api-Key", "abc", "User-Agent", "leadrotor-test")
			require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
			lead := res.json(t)
			assignees = append(assignees, lead["assignedTo"].(string))
			require.Equal(t, "agent-"+f.account+"@example.com", lead["createdBy"])
			log := lead["auditLog"].([]any)
			require.Len(t, log, 2)
			created, assigned := log[0].(map[string]any), log[1].(map[string]any)
			require.Equal(t, "lead_created", created["event"])
			require.Equal(t, "lead_assigned", assigned["event"])
			require.Equal(t, "West reps", assigned["data"].(map[string]any)["rotationName"])
			require.Equal(t, f.account, created["account_id"])
			require.Equal(t, "POST", created["requestMethod"])
			require.Equal(t, "/leads", created["requestPath"])
			require.Equal(t, "127.0.0.1", created["requestIpAddress"])
			require.True(t, strings.HasPrefix(created["apiKey"].(string), leads.APIKeyPrefix))
			headers := created["requestHeaders"].(map[string]any)
			require.Equal(t, "[masked]", headers["Authorization"])
			require.Equal(t, "[masked]", headers["Cookie"])
			require.Equal(t, "[masked]", headers["X-Api-Key"])
			require.Equal(t, "leadrotor-test", headers["User-Agent"])
			require.Equal(t, f.account, headers["X-Account-Id"])
		}
		require.Equal(t, []string{"ana@example.com", "ben@example.com", "cara@example.com", "ana@example.com"}, assignees)
		require.NotContains(t, f.logs.String(), f.keys["agent"], "secrets are never logged")

		res := f.call("agent", "POST", "/leads?skipTeamAndSourceRequirement=true", map[string]any{"firstName": "No", "lastName": "Team"})
		require.Equal(t, http.StatusCreated, res.status)
		require.Equal(t, "cara@example.com", res.json(t)["assignedTo"], "the default rotation")
	})
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		other := newFixture(t, b)
		first := f.call("agent", "POST", "/leads", f.westLead(map[string]any{"email": "taken@example.com"}))
		require.Equal(t, http.StatusCreated, first.status)
		firstID := first.json(t)["id"]

		cases := []struct {
			name    string
			who     string
			path    string
			body    any
			headers []string
			status  int
			code    string
			field   string // details.field of a VALIDATION_ERROR
			exact   string // the whole body, when DESIGN.md fixes it
		}{
			{name: "first name missing", body: f.westLead(map[string]any{"firstName": ""}), status: 400, code: "VALIDATION_ERROR", field: "firstName"},
			{name: "email invalid", body: f.westLead(map[string]any{"email": "invalid-email"}), status: 400, code: "VALIDATION_ERROR", field: "email"},
			{name: "status unknown", body: f.westLead(map[string]any{"status": "won"}), status: 400, code: "VALIDATION_ERROR", field: "status"},
			{name: "a string for a number", body: f.westLead(map[string]any{"numberOfEmployees": "ten"}), status: 400, code: "VALIDATION_ERROR", field: "numberOfEmployees"},
			{name: "a fraction for an integer", body: f.westLead(map[string]any{"monthlyTransactionVolume": 1.5}), status: 400, code: "VALIDATION_ERROR", field: "monthlyTransactionVolume"},
			{name: "a number for a string", body: f.westLead(map[string]any{"firstName": 5}), status: 400, code: "VALIDATION_ERROR", field: "firstName"},
			{name: "a string for a boolean", body: f.westLead(map[string]any{"archived": "yes"}), status: 400, code: "VALIDATION_ERROR", field: "archived"},
			{name: "a malformed date", body: f.westLead(map[string]any{"lastContacted": "yesterday"}), status: 400, code: "VALIDATION_ERROR", field: "lastContacted"},
			{name: "metadata not an object", body: f.westLead(map[string]any{"metadata": []any{1}}), status: 400, code: "VALIDATION_ERROR", field: "metadata"},
			{name: "an unknown field", body: f.westLead(map[string]any{"favouriteColour": "blue"}), status: 400, code: "VALIDATION_ERROR", field: "favouriteColour"},
			{name: "a bad flag", path: "/leads?skipTeamAndSourceRequirement=maybe", body: f.westLead(nil), status: 400, code: "VALIDATION_ERROR", field: "skipTeamAndSourceRequirement"},
			{name: "malformed JSON", body: `{"firstName": "Ada",`, status: 400, code: "INVALID_JSON"},
			{name: "not an object", body: `[1, 2]`, status: 400, code: "INVALID_JSON"},
			{name: "empty body", body: ` `, status: 400, code: "INVALID_JSON"},
			{name: "two objects", body: `{"firstName":"A","lastName":"B"} {}`, status: 400, code: "INVALID_JSON"},
			{name: "oversized body", body: f.westLead(map[string]any{"notes": strings.Repeat("x", 300<<10)}), status: 413, code: "PAYLOAD_TOO_LARGE"},
			{name: "not JSON", body: "firstName=Ada", headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
			{name: "team missing", body: map[string]any{"firstName": "Ada", "lastName": "L"}, status: 400, code: "TEAM_REQUIRED",
				exact: `{"error":"team ID is required when teams exist in the account","code":"TEAM_REQUIRED"}`},
			{name: "another account's team", body: f.westLead(map[string]any{"teamId": other.west.ID, "leadSourceId": nil}), status: 400, code: "TEAM_NOT_FOUND"},
			{name: "another account's team, skipping", path: "/leads?skipTeamAndSourceRequirement=true", body: map[string]any{"firstName": "A", "lastName": "B", "teamId": other.east.ID}, status: 400, code: "TEAM_NOT_FOUND"},
			{name: "lead source missing", body: map[string]any{"firstName": "Ada", "lastName": "L", "teamId": f.west.ID}, status: 400, code: "LEAD_SOURCE_REQUIRED",
				exact: `{"error":"lead source ID is required when the team has lead sources","code":"LEAD_SOURCE_REQUIRED"}`},
			{name: "another team's lead source", body: f.westLead(map[string]any{"leadSourceId": other.webinar.ID}), status: 400, code: "LEAD_SOURCE_NOT_FOUND"},
			{name: "duplicate email", body: f.westLead(map[string]any{"email": "TAKEN@example.com"}), status: 409, code: "DUPLICATE_EMAIL"},
			{name: "no API key", who: "-", body: f.westLead(nil), status: 401, code: "UNAUTHENTICATED"},
			{name: "unknown API key", who: "-", body: f.westLead(nil), headers: []string{"Authorization", "Bearer lr_nope"}, status: 401, code: "UNAUTHENTICATED"},
			{name: "not a bearer token", who: "-", body: f.westLead(nil), headers: []string{"Authorization", "Basic YTpi"}, status: 401, code: "UNAUTHENTICATED"},
			{name: "revoked API key", who: "revoked", body: f.westLead(nil), status: 401, code: "UNAUTHENTICATED"},
			{name: "no account header", body: f.westLead(nil), headers: []string{"x-account-id", ""}, status: 400, code: "ACCOUNT_ID_REQUIRED"},
			{name: "two account headers", body: f.westLead(nil), headers: []string{"+x-account-id", other.account}, status: 400, code: "VALIDATION_ERROR", field: "x-account-id"},
			{name: "the account header twice", body: f.westLead(nil), headers: []string{"+x-account-id", f.account}, status: 400, code: "VALIDATION_ERROR", field: "x-account-id"},
			{name: "two API keys", body: f.westLead(nil), headers: []string{"+Authorization", "Bearer lr_nope"}, status: 401, code: "UNAUTHENTICATED"},
			{name: "not a member of the account", who: "outsider", body: f.westLead(nil), status: 403, code: "FORBIDDEN"},
			{name: "an account of someone else", body: f.westLead(nil), headers: []string{"x-account-id", other.account}, status: 403, code: "FORBIDDEN"},
			{name: "an unknown account", body: f.westLead(nil), headers: []string{"x-account-id", "no-such-account"}, status: 403, code: "FORBIDDEN"},
		}
		for _, tc := range cases {
			who := tc.who
			switch who {
			case "":
				who = "agent"
			case "-":
				who = ""
			}
			path := tc.path
			if path == "" {
				path = "/leads"
			}
			res := f.call(who, "POST", path, tc.body, tc.headers...)
			require.Equal(t, tc.status, res.status, "%s: %s", tc.name, res.body)
			require.Equal(t, tc.code, res.code(t), tc.name)
			require.NotEmpty(t, res.json(t)["error"], tc.name)
			if tc.field != "" {
				details := res.json(t)["details"].(map[string]any)
				require.Equal(t, tc.field, details["field"], tc.name)
				require.NotEmpty(t, details["message"], tc.name)
			}
			if tc.exact != "" {
				require.JSONEq(t, tc.exact, string(res.body), tc.name)
			}
			if tc.status == 401 {
				require.NotEmpty(t, res.header.Get("WWW-Authenticate"), tc.name)
			}
			if tc.code == "DUPLICATE_EMAIL" {
				require.Equal(t, firstID, res.json(t)["details"].(map[string]any)["existingLeadId"])
			}
		}
		count, err := b.Store.DB().NewSelect().TableExpr("leads").Where("account_id = ?", f.account).Count(context.Background())
		require.NoError(t, err)
		require.EqualValues(t, 1, count, "no failed request wrote a lead")
	})
}

func TestIdempotencyKeyHeader(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		first := f.call("agent", "POST", "/leads", f.westLead(nil), "Idempotency-Key", "form-7")
		require.Equal(t, http.StatusCreated, first.status)
		again := f.call("agent", "POST", "/leads", f.westLead(nil), "Idempotency-Key", "form-7")
		require.Equal(t, http.StatusCreated, again.status)
		require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		require.JSONEq(t, string(first.body), string(again.body))
		next := f.call("agent", "POST", "/leads", f.westLead(nil))
		require.Equal(t, "ben@example.com", next.json(t)["assignedTo"], "the retry took no turn")

		reused := f.call("agent", "POST", "/leads", f.westLead(map[string]any{"firstName": "Bob"}), "Idempotency-Key", "form-7")
		require.Equal(t, http.StatusUnprocessableEntity, reused.status)
		require.Equal(t, "IDEMPOTENCY_KEY_REUSED", reused.code(t))
	})
}

func TestReadsAndRoles(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		other := newFixture(t, b)
		theirs := other.call("agent", "POST", "/leads", other.westLead(nil)).json(t)["id"]

		cases := []struct {
			who, method, path string
			body              any
			status            int
			code              string
		}{
			{"agent", "GET", fmt.Sprintf("/leads/%v", theirs), nil, 404, "NOT_FOUND"},
			{"agent", "GET", "/leads/999999999", nil, 404, "NOT_FOUND"},
			{"agent", "GET", "/leads/abc", nil, 404, "NOT_FOUND"},
			{"agent", "POST", "/teams", map[string]any{"name": "North"}, 403, "FORBIDDEN"},
			{"manager", "POST", "/teams", map[string]any{"name": "North"}, 201, ""},
			{"admin", "POST", "/teams", map[string]any{"name": "North"}, 409, "CONFLICT"},
			{"manager", "POST", "/teams", map[string]any{"name": " "}, 400, "VALIDATION_ERROR"},
			{"agent", "GET", "/teams", nil, 200, ""},
			{"agent", "POST", fmt.Sprintf("/teams/%d/lead-sources", f.east.ID), map[string]any{"name": "Expo"}, 403, "FORBIDDEN"},
			{"manager", "POST", fmt.Sprintf("/teams/%d/lead-sources", f.east.ID), map[string]any{"name": "Expo"}, 201, ""},
			{"manager", "POST", fmt.Sprintf("/teams/%d/lead-sources", other.east.ID), map[string]any{"name": "Expo"}, 404, "NOT_FOUND"},
			{"agent", "GET", fmt.Sprintf("/teams/%d/lead-sources", other.west.ID), nil, 404, "NOT_FOUND"},
			{"agent", "GET", fmt.Sprintf("/teams/%d/lead-sources", f.west.ID), nil, 200, ""},
			{"agent", "GET", "/no/such/route", nil, 404, "NOT_FOUND"},
			{"agent", "DELETE", "/teams", nil, 405, "METHOD_NOT_ALLOWED"},
		}
		for _, tc := range cases {
			res := f.call(tc.who, tc.method, tc.path, tc.body)
			require.Equal(t, tc.status, res.status, "%s %s as %s: %s", tc.method, tc.path, tc.who, res.body)
			if tc.code != "" {
				require.Equal(t, tc.code, res.code(t), "%s %s", tc.method, tc.path)
			}
		}
		teams := f.call("agent", "GET", "/teams", nil).json(t)["data"].([]any)
		require.Len(t, teams, 3)
		require.Equal(t, "West", teams[0].(map[string]any)["name"])
		require.NotContains(t, string(f.call("agent", "GET", "/teams", nil).body), "other", "no other account's data")
	})
}
