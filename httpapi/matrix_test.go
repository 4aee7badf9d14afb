package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// marker is in every name, email and note of the other account of the
// matrix, so that any of its data in a response shows.
const marker = "zz-other-secret-7f3a"

// objects names what a request of the matrix is about. Each cell gets its
// own: fresh objects of this account for a call that may succeed, shared
// ones for calls that must be refused, the other account's, or ids that
// exist nowhere.
type objects interface {
	lead() int64
	// assignedLead is a lead assigned to the caller of the cell the
	// objects were made for (lead when there is none).
	assignedLead() int64
	// team has lead source source, rotation rotation and lead lead.
	team() int64
	// spareTeam is a team with nothing in it: deletable, free for a rotation.
	spareTeam() int64
	source() int64
	rotation() int64
	// rule is a routing rule that sends leads to rotation.
	rule() int64
	// rotationUser is a member of rotation.
	rotationUser() string
	// member is an agent of the account whom an admin may remove.
	member() string
	// scheduled is a member with working hours (a schedule).
	scheduled() string
	// timeOffUser is the account's agent (whose own time off the agent
	// may manage), and timeOff a period of their time off.
	timeOffUser() string
	timeOff() int64
	// calendar is a holiday calendar.
	calendar() int64
	// webhook is a webhook endpoint, and delivery an attempt in its log.
	webhook() int64
	delivery() int64
	// simulation is a simulation, run through a proposed change.
	simulation() int64
	// name is a name for a new object of kind, and email an email for a new
	// member.
	name(kind string) string
	email() string
}

// matrixRequest is one call of an operation.
type matrixRequest struct {
	method, path string
	body         any
}

func req(method, path string, body any) matrixRequest { return matrixRequest{method, path, body} }

// matrixRow is what the matrix expects of one operation.
type matrixRow struct {
	// role is the least role that may call it; "" for a public operation.
	role leads.Role
	// ok is its status when it is allowed.
	ok int
	// foreign is its status when it names the other account's objects, as
	// an admin; 0 when it names no object. It must be 404 for an operation
	// with ids in its path.
	foreign int
	req     func(o objects) matrixRequest
}

// authMatrix has a row for every operation of the OpenAPI document, by
// "METHOD /path" as the document spells it. Roles follow DESIGN.md and the
// permission checks of package leads: agents read everything but members
// and the audit log and write leads; managers also delete leads and change
// teams, lead sources and rotations; admins do everything.
var authMatrix = map[string]matrixRow{
	"GET /healthz":      {ok: 200, req: func(objects) matrixRequest { return req("GET", "/healthz", nil) }},
	"GET /readyz":       {ok: 200, req: func(objects) matrixRequest { return req("GET", "/readyz", nil) }},
	"GET /openapi.yaml": {ok: 200, req: func(objects) matrixRequest { return req("GET", "/openapi.yaml", nil) }},
	"GET /docs":         {ok: 200, req: func(objects) matrixRequest { return req("GET", "/docs", nil) }},
	"GET /docs/redoc.standalone.js": {ok: 200, req: func(objects) matrixRequest {
		return req("GET", "/docs/redoc.standalone.js", nil)
	}},

	"POST /leads": {role: leads.RoleAgent, ok: 201, foreign: 400, req: func(o objects) matrixRequest {
		return req("POST", "/leads", map[string]any{"firstName": "Ada", "lastName": "Lovelace", "teamId": o.team(), "leadSourceId": o.source()})
	}},
	"GET /leads": {role: leads.RoleAgent, ok: 200, foreign: 200, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/leads?teamId=%d&archived=all", o.team()), nil)
	}},
	"GET /leads/{id}": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/leads/%d", o.lead()), nil)
	}},
	"PATCH /leads/{id}": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PATCH", fmt.Sprintf("/leads/%d", o.lead()), map[string]any{"notes": "called back", "status": "contacted"})
	}},
	"PUT /leads/{id}": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PUT", fmt.Sprintf("/leads/%d", o.lead()), map[string]any{"notes": "called back", "teamId": o.team(), "leadSourceId": o.source()})
	}},
	"DELETE /leads/{id}": {role: leads.RoleManager, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", fmt.Sprintf("/leads/%d?confirm=true", o.lead()), nil)
	}},
	"POST /leads/{id}/assign": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("POST", fmt.Sprintf("/leads/%d/assign", o.lead()), map[string]any{"rotationId": o.rotation()})
	}},
	"POST /leads/{id}/activities": {role: leads.RoleAgent, ok: 201, foreign: 404, req: func(o objects) matrixRequest {
		return req("POST", fmt.Sprintf("/leads/%d/activities", o.lead()), map[string]any{"type": "call", "title": "Intro", "outcome": "voicemail"})
	}},
	"GET /leads/{id}/activities": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/leads/%d/activities?limit=10", o.lead()), nil)
	}},
	"POST /leads/{id}/accept": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("POST", fmt.Sprintf("/leads/%d/accept", o.assignedLead()), nil)
	}},
	"GET /leads/{id}/routing": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/leads/%d/routing", o.lead()), nil)
	}},
	"GET /audit": {role: leads.RoleAdmin, ok: 200, foreign: 200, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/audit?leadId=%d", o.lead()), nil)
	}},

	"POST /webhooks": {role: leads.RoleManager, ok: 201, foreign: 201, req: func(o objects) matrixRequest {
		return req("POST", "/webhooks", map[string]any{"url": "http://127.0.0.1:9/" + url.PathEscape(o.name("hook")), "eventTypes": []string{"lead.created"}})
	}},
	"POST /simulations": {role: leads.RoleManager, ok: 202, req: func(o objects) matrixRequest {
		return req("POST", "/simulations", map[string]any{"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z",
			"configYaml": "rotations:\n  - name: " + o.name("pool") + "\n    members: [{user: ana@example.com}]\n"})
	}},
	"GET /simulations": {role: leads.RoleManager, ok: 200, req: func(objects) matrixRequest { return req("GET", "/simulations?limit=5", nil) }},
	"GET /simulations/{id}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/simulations/%d", o.simulation()), nil)
	}},
	"GET /webhooks": {role: leads.RoleManager, ok: 200, req: func(objects) matrixRequest { return req("GET", "/webhooks", nil) }},
	"GET /webhooks/{id}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/webhooks/%d", o.webhook()), nil)
	}},
	"PATCH /webhooks/{id}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PATCH", fmt.Sprintf("/webhooks/%d", o.webhook()), map[string]any{"enabled": false})
	}},
	"DELETE /webhooks/{id}": {role: leads.RoleManager, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", fmt.Sprintf("/webhooks/%d", o.webhook()), nil)
	}},
	"GET /webhooks/{id}/deliveries": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/webhooks/%d/deliveries", o.webhook()), nil)
	}},
	"POST /webhooks/{id}/deliveries/{deliveryId}/redeliver": {role: leads.RoleManager, ok: 202, foreign: 404, req: func(o objects) matrixRequest {
		return req("POST", fmt.Sprintf("/webhooks/%d/deliveries/%d/redeliver", o.webhook(), o.delivery()), nil)
	}},
	"POST /teams": {role: leads.RoleManager, ok: 201, foreign: 201, req: func(o objects) matrixRequest {
		return req("POST", "/teams", map[string]any{"name": o.name("team")})
	}},
	"GET /teams": {role: leads.RoleAgent, ok: 200, req: func(objects) matrixRequest { return req("GET", "/teams", nil) }},
	"GET /teams/{id}": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/teams/%d", o.team()), nil)
	}},
	"PATCH /teams/{id}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PATCH", fmt.Sprintf("/teams/%d", o.team()), map[string]any{"name": o.name("team")})
	}},
	"DELETE /teams/{id}": {role: leads.RoleManager, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", fmt.Sprintf("/teams/%d?force=true", o.spareTeam()), nil)
	}},
	"GET /teams/{id}/stats": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/teams/%d/stats", o.team()), nil)
	}},
	"POST /teams/{id}/lead-sources": {role: leads.RoleManager, ok: 201, foreign: 404, req: func(o objects) matrixRequest {
		return req("POST", fmt.Sprintf("/teams/%d/lead-sources", o.team()), map[string]any{"name": o.name("source")})
	}},
	"GET /teams/{id}/lead-sources": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/teams/%d/lead-sources", o.team()), nil)
	}},
	"PATCH /lead-sources/{id}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PATCH", fmt.Sprintf("/lead-sources/%d", o.source()), map[string]any{"name": o.name("source")})
	}},
	"DELETE /lead-sources/{id}": {role: leads.RoleManager, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", fmt.Sprintf("/lead-sources/%d?force=true", o.source()), nil)
	}},

	"POST /rotations": {role: leads.RoleManager, ok: 201, foreign: 400, req: func(o objects) matrixRequest {
		return req("POST", "/rotations", map[string]any{"name": o.name("rotation"), "teamId": o.spareTeam(),
			"members": []any{map[string]any{"user": "cara@example.com"}}})
	}},
	"GET /rotations": {role: leads.RoleAgent, ok: 200, req: func(objects) matrixRequest { return req("GET", "/rotations", nil) }},
	"GET /rotations/{id}": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/rotations/%d", o.rotation()), nil)
	}},
	"PUT /rotations/{id}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PUT", fmt.Sprintf("/rotations/%d", o.rotation()), map[string]any{"name": o.name("rotation"), "teamId": o.team(),
			"members": []any{map[string]any{"user": o.rotationUser()}, map[string]any{"user": "cara@example.com", "weight": 2}}})
	}},
	"PATCH /rotations/{id}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PATCH", fmt.Sprintf("/rotations/%d", o.rotation()), map[string]any{"name": o.name("rotation")})
	}},
	"DELETE /rotations/{id}": {role: leads.RoleManager, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", fmt.Sprintf("/rotations/%d", o.rotation()), nil)
	}},
	"POST /rotations/{id}/members": {role: leads.RoleManager, ok: 201, foreign: 404, req: func(o objects) matrixRequest {
		return req("POST", fmt.Sprintf("/rotations/%d/members", o.rotation()), map[string]any{"user": "cara@example.com", "position": 0})
	}},
	"PATCH /rotations/{id}/members/{user}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PATCH", fmt.Sprintf("/rotations/%d/members/%s", o.rotation(), url.PathEscape(o.rotationUser())), map[string]any{"paused": true})
	}},
	"DELETE /rotations/{id}/members/{user}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", fmt.Sprintf("/rotations/%d/members/%s", o.rotation(), url.PathEscape(o.rotationUser())), nil)
	}},
	"GET /rotations/{id}/next": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/rotations/%d/next?n=3", o.rotation()), nil)
	}},
	"GET /rotations/{id}/stats": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/rotations/%d/stats", o.rotation()), nil)
	}},

	"POST /routing-rules": {role: leads.RoleManager, ok: 201, foreign: 400, req: func(o objects) matrixRequest {
		return req("POST", "/routing-rules", map[string]any{"name": o.name("rule"),
			"conditions": map[string]any{"field": "numberOfEmployees", "op": "gte", "value": 500},
			"action":     map[string]any{"type": "rotation", "rotationId": o.rotation()}})
	}},
	"GET /routing-rules": {role: leads.RoleAgent, ok: 200, req: func(objects) matrixRequest { return req("GET", "/routing-rules", nil) }},
	"PUT /routing-rules/order": {role: leads.RoleManager, ok: 200, foreign: 400, req: func(o objects) matrixRequest {
		return req("PUT", "/routing-rules/order", map[string]any{"ids": []int64{o.rule()}})
	}},
	"GET /routing-rules/{id}": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/routing-rules/%d", o.rule()), nil)
	}},
	"PATCH /routing-rules/{id}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PATCH", fmt.Sprintf("/routing-rules/%d", o.rule()), map[string]any{"name": o.name("rule"), "enabled": false})
	}},
	"DELETE /routing-rules/{id}": {role: leads.RoleManager, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", fmt.Sprintf("/routing-rules/%d", o.rule()), nil)
	}},

	"GET /account": {role: leads.RoleAgent, ok: 200, req: func(objects) matrixRequest { return req("GET", "/account", nil) }},
	"PATCH /account": {role: leads.RoleAdmin, ok: 200, req: func(o objects) matrixRequest {
		return req("PATCH", "/account", map[string]any{"name": o.name("account")})
	}},
	"GET /members": {role: leads.RoleAdmin, ok: 200, req: func(objects) matrixRequest { return req("GET", "/members", nil) }},
	"POST /members": {role: leads.RoleAdmin, ok: 201, foreign: 201, req: func(o objects) matrixRequest {
		return req("POST", "/members", map[string]any{"email": o.email(), "role": "agent"})
	}},
	"PATCH /members/{email}": {role: leads.RoleAdmin, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PATCH", "/members/"+url.PathEscape(o.member()), map[string]any{"role": "manager"})
	}},
	"DELETE /members/{email}": {role: leads.RoleAdmin, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", "/members/"+url.PathEscape(o.member()), nil)
	}},

	"GET /members/{email}/schedule": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", "/members/"+url.PathEscape(o.scheduled())+"/schedule", nil)
	}},
	"PUT /members/{email}/schedule": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PUT", "/members/"+url.PathEscape(o.scheduled())+"/schedule", map[string]any{"timezone": "America/New_York",
			"monday": []any{map[string]any{"start": "08:00", "end": "16:00"}}})
	}},
	"DELETE /members/{email}/schedule": {role: leads.RoleManager, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", "/members/"+url.PathEscape(o.scheduled())+"/schedule", nil)
	}},
	// An agent manages their own time off: the rows name the agent's.
	"GET /members/{email}/time-off": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", "/members/"+url.PathEscape(o.timeOffUser())+"/time-off", nil)
	}},
	"POST /members/{email}/time-off": {role: leads.RoleAgent, ok: 201, foreign: 404, req: func(o objects) matrixRequest {
		return req("POST", "/members/"+url.PathEscape(o.timeOffUser())+"/time-off", map[string]any{"start": "2027-01-04T00:00:00Z",
			"end": "2027-01-09T00:00:00Z", "note": "skiing"})
	}},
	"DELETE /members/{email}/time-off/{id}": {role: leads.RoleAgent, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", fmt.Sprintf("/members/%s/time-off/%d", url.PathEscape(o.timeOffUser()), o.timeOff()), nil)
	}},
	"GET /holiday-calendars": {role: leads.RoleAgent, ok: 200, req: func(objects) matrixRequest { return req("GET", "/holiday-calendars", nil) }},
	"POST /holiday-calendars": {role: leads.RoleManager, ok: 201, foreign: 201, req: func(o objects) matrixRequest {
		return req("POST", "/holiday-calendars", map[string]any{"name": o.name("calendar"), "timezone": "Europe/Paris", "dates": []string{"2026-12-25"}})
	}},
	"GET /holiday-calendars/{id}": {role: leads.RoleAgent, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("GET", fmt.Sprintf("/holiday-calendars/%d", o.calendar()), nil)
	}},
	"PATCH /holiday-calendars/{id}": {role: leads.RoleManager, ok: 200, foreign: 404, req: func(o objects) matrixRequest {
		return req("PATCH", fmt.Sprintf("/holiday-calendars/%d", o.calendar()), map[string]any{"name": o.name("calendar"), "dates": []string{"2027-01-01"}})
	}},
	"DELETE /holiday-calendars/{id}": {role: leads.RoleManager, ok: 204, foreign: 404, req: func(o objects) matrixRequest {
		return req("DELETE", fmt.Sprintf("/holiday-calendars/%d", o.calendar()), nil)
	}},
}

// TestAuthMatrix calls every operation of the OpenAPI document as every kind
// of caller: without a key, with an unknown and a revoked key, as a member
// of another account, in an account that does not exist, without
// x-account-id, as each role, and as an admin naming another account's
// objects. Each answer must be the one DESIGN.md's tenancy rules give, and
// no answer may hold a byte of the other account's data.
func TestAuthMatrix(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	checkMatrixCoversDocument(t, doc)
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		m := newMatrix(t, b)
		keys := make([]string, 0, len(authMatrix))
		for k := range authMatrix {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, key := range keys {
			m.run(key, authMatrix[key])
		}
		require.Empty(t, m.problems, "%d calls answered wrongly", len(m.problems))
		require.Equal(t, m.sharedBefore, m.a.snapshot(m.shared), "refused calls changed nothing of this account")
		require.Equal(t, m.otherBefore, m.other.snapshot(m.theirs), "nothing of the other account changed")
		t.Logf("%d operations, %d cells", len(keys), m.cells)
	})
}

// checkMatrixCoversDocument fails when an operation of the document has no
// row or a row no operation, and when a row's role or publicity disagrees
// with what the document says of the operation.
func checkMatrixCoversDocument(t *testing.T, doc *openapi3.T) {
	t.Helper()
	documented := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = op
		}
	}
	for key := range documented {
		require.Contains(t, authMatrix, key, "operation %s has no row in authMatrix", key)
	}
	for key, row := range authMatrix {
		op := documented[key]
		require.NotNil(t, op, "authMatrix row %s is no operation of the document", key)
		public := op.Security != nil && len(*op.Security) == 0
		require.Equal(t, public, row.role == "", "%s: public in the document iff its row has no role", key)
		if !public {
			require.Equal(t, documentedRole(op), row.role, "%s: the role the summary names", key)
		}
		hasPathIDs := strings.Contains(key, "{")
		require.Equal(t, hasPathIDs, row.foreign == 404, "%s: an id in the path of another account is 404, and only then", key)
	}
}

// documentedRole reads the least role an operation's summary names: the
// document marks restricted operations "(admins)" or "(managers and
// admins)".
func documentedRole(op *openapi3.Operation) leads.Role {
	switch {
	case strings.Contains(op.Summary, "(admins)"):
		return leads.RoleAdmin
	case strings.Contains(op.Summary, "(managers and admins)"):
		return leads.RoleManager
	}
	return leads.RoleAgent
}

// roleRank orders the roles by power.
var roleRank = map[leads.Role]int{leads.RoleAgent: 1, leads.RoleManager: 2, leads.RoleAdmin: 3}

// matrix is the state of one run of the matrix on one backend.
type matrix struct {
	t      *testing.T
	a      *api // this account
	other  *api // the other account, seeded with marker data
	seq    int
	cells  int
	shared *ours
	theirs fixedObjects
	// missing names objects that exist in no account.
	missing fixedObjects
	// markers are the other account's values that must not leak.
	markers                   []string
	revokedAdmin              string
	sharedBefore, otherBefore string
	problems                  []string
}

func newMatrix(t *testing.T, b *storetest.Backend) *matrix {
	m := &matrix{t: t, a: newAPI(t, b), other: newAPI(t, b)}
	ctx := context.Background()
	secret, key, err := m.a.svc.CreateAPIKey(ctx, m.a.actor("admin").Email, "revoked admin key")
	require.NoError(t, err)
	require.NoError(t, m.a.svc.RevokeAPIKey(ctx, key.Prefix))
	m.revokedAdmin = secret
	m.seedOther()
	m.missing = fixedObjects{
		leadID: 999999901, teamID: 999999902, spareID: 999999903, sourceID: 999999904, rotationID: 999999905, ruleID: 999999906,
		timeOffID: 999999907, calendarID: 999999908, webhookID: 999999909, deliveryID: 999999910, simulationID: 999999911,
		user: "nobody-in-rotation@example.com", memberEmail: "nobody@example.com",
		newName: m.nextName, newEmail: m.nextEmail,
	}
	m.shared = m.fresh()
	m.shared.all()
	m.sharedBefore = m.a.snapshot(m.shared)
	m.otherBefore = m.other.snapshot(m.theirs)
	return m
}

// seedOther fills the other account: a team with a lead source, a rotation
// and a lead, a spare team and a member, every value marked.
func (m *matrix) seedOther() {
	t, o, ctx := m.t, m.other, context.Background()
	admin := o.actor("admin")
	name := func(s string) string { return marker + " " + s }
	rep := marker + "-rep@example.com"
	m.markers = []string{marker, name("team"), name("source"), name("rotation"), rep, name("first"), name("last"),
		marker + "-lead@example.com", name("notes"), name("company"), name("metadata"), name("account"), name("rule"), name("reason"),
		name("calendar"), name("time off")}

	_, err := o.svc.PutMember(ctx, admin, leads.Member{Email: rep, Role: leads.RoleAgent})
	require.NoError(t, err)
	accountName := name("account")
	_, err = o.svc.UpdateAccount(ctx, admin, leads.AccountPatch{Name: &accountName})
	require.NoError(t, err)
	team, err := o.svc.CreateTeam(ctx, admin, leads.Team{Name: name("team")})
	require.NoError(t, err)
	// The spare team's name is not marked: the matrix creates a team of that
	// name in this account, to show that names are per account.
	spare, err := o.svc.CreateTeam(ctx, admin, leads.Team{Name: "Shared team"})
	require.NoError(t, err)
	src, err := o.svc.CreateLeadSource(ctx, admin, leads.LeadSource{TeamID: team.ID, Name: name("source")})
	require.NoError(t, err)
	rot, err := o.svc.CreateRotation(ctx, admin, leads.Rotation{Name: name("rotation"), TeamID: team.ID,
		FallbackAssignee: rep, Members: []leads.RotationMember{{User: rep}}})
	require.NoError(t, err)
	res, err := o.svc.CreateLead(ctx, o.actor("agent"), leads.LeadInput{TeamID: team.ID, LeadSourceID: src.ID,
		FirstName: name("first"), LastName: name("last"), Email: marker + "-lead@example.com", Notes: name("notes"),
		Company: name("company"), Metadata: map[string]any{"secret": name("metadata")}}, leads.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, rep, res.Lead.AssignedTo)
	rule, err := o.svc.CreateRoutingRule(ctx, admin, leads.RoutingRule{Name: name("rule"), Enabled: true,
		Conditions: leads.Condition{Field: "company", Op: leads.OpContains, Value: name("company")},
		Action:     leads.RuleAction{Type: leads.ActionHold, Reason: name("reason")}}, -1)
	require.NoError(t, err)
	// Their rep has working hours and time off, and follows a calendar;
	// the spare calendar's name is not marked, as the spare team's.
	cal, err := o.svc.CreateHolidayCalendar(ctx, admin, leads.HolidayCalendar{Name: name("calendar"), Timezone: "Europe/Paris", Dates: []string{"2026-12-25"}})
	require.NoError(t, err)
	_, err = o.svc.CreateHolidayCalendar(ctx, admin, leads.HolidayCalendar{Name: "Shared calendar", Timezone: "UTC"})
	require.NoError(t, err)
	_, err = o.svc.SetMemberCalendar(ctx, admin, rep, cal.ID)
	require.NoError(t, err)
	_, err = o.svc.SetSchedule(ctx, admin, rep, &leads.Schedule{Timezone: "Europe/Paris", Monday: []leads.WorkHours{{Start: "09:00", End: "17:00"}}})
	require.NoError(t, err)
	off, err := o.svc.AddTimeOff(ctx, admin, rep, leads.TimeOff{Start: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC),
		End: time.Date(2027, 1, 9, 0, 0, 0, 0, time.UTC), Note: name("time off")})
	require.NoError(t, err)
	hook, err := o.svc.CreateWebhook(ctx, admin, leads.WebhookInput{URL: "http://127.0.0.1:9/" + marker,
		EventTypes: []leads.EventType{leads.EventTypeCreated}})
	require.NoError(t, err)
	theirDelivery, err := recordDelivery(ctx, o, hook.ID)
	require.NoError(t, err)
	theirSimulation, err := createSimulation(ctx, o, admin, name("pool"))
	require.NoError(t, err)
	m.theirs = fixedObjects{
		leadID: res.Lead.ID, teamID: team.ID, spareID: spare.ID, sourceID: src.ID, rotationID: rot.ID, ruleID: rule.ID,
		timeOffID: off.ID, calendarID: cal.ID, webhookID: hook.ID, deliveryID: theirDelivery, simulationID: theirSimulation,
		user: rep, memberEmail: rep,
		newName:  func(kind string) string { return "Shared " + kind },
		newEmail: func() string { return o.actor("manager").Email },
	}
}

func (m *matrix) nextName(kind string) string {
	m.seq++
	return fmt.Sprintf("matrix %s %d", kind, m.seq)
}

func (m *matrix) nextEmail() string {
	m.seq++
	return fmt.Sprintf("matrix-%d@example.com", m.seq)
}

// matrixCell is a kind of caller.
type matrixCell struct {
	name    string
	who     string   // a key of this account's harness, "" for none
	headers []string // what the call adds or removes
	role    leads.Role
	status  int // for a refused caller
	code    string
}

func (m *matrix) cellsFor() []matrixCell {
	otherAdmin := m.other.keys["admin"]
	return []matrixCell{
		{name: "no key", status: 401, code: leads.CodeUnauthenticated},
		{name: "unknown key", headers: []string{"Authorization", "Bearer " + leads.APIKeyPrefix + strings.Repeat("x", 43)}, status: 401, code: leads.CodeUnauthenticated},
		{name: "revoked key", headers: []string{"Authorization", "Bearer " + m.revokedAdmin}, status: 401, code: leads.CodeUnauthenticated},
		{name: "other account's admin", headers: []string{"Authorization", "Bearer " + otherAdmin}, status: 403, code: leads.CodeForbidden},
		{name: "unknown account", who: "admin", headers: []string{"x-account-id", "no-such-account"}, status: 403, code: leads.CodeForbidden},
		{name: "no x-account-id", who: "admin", headers: []string{"x-account-id", ""}, status: 400, code: "ACCOUNT_ID_REQUIRED"},
		{name: "admin", who: "admin", role: leads.RoleAdmin},
		{name: "manager", who: "manager", role: leads.RoleManager},
		{name: "agent", who: "agent", role: leads.RoleAgent},
	}
}

// run calls one operation as every cell.
func (m *matrix) run(key string, row matrixRow) {
	bodies := map[string]string{}
	for _, c := range m.cellsFor() {
		status, code := c.status, c.code
		var o objects = m.shared
		switch {
		case row.role == "":
			status, code = row.ok, ""
		case c.role != "" && roleRank[c.role] >= roleRank[row.role]:
			status, code = row.ok, ""
			fresh := m.fresh()
			fresh.caller = m.a.actor(c.who).Email
			o = fresh
		case c.role != "":
			status, code = http.StatusForbidden, leads.CodeForbidden
		}
		res := m.call(key, row, o, c.who, c.headers)
		m.expect(key+" as "+c.name, res, status, code)
		if status == http.StatusUnauthorized && res.header.Get("WWW-Authenticate") == "" {
			m.problem("%s as %s: 401 without WWW-Authenticate", key, c.name)
		}
		bodies[c.name] = string(res.body)
	}
	if row.role != "" {
		// Neither tells a revoked key from one that never was, nor an account
		// that exists from one that does not.
		m.same(key, "revoked key", bodies["revoked key"], "unknown key", bodies["unknown key"])
		m.same(key, "other account's admin", bodies["other account's admin"], "unknown account", bodies["unknown account"])
	}
	if row.foreign != 0 {
		theirs := m.call(key, row, m.theirs, "admin", nil)
		missing := m.call(key, row, m.missing, "admin", nil)
		code := ""
		if row.foreign >= 300 {
			var e struct{ Code string }
			_ = json.Unmarshal(missing.body, &e)
			code = e.Code
		}
		m.expect(key+" naming the other account's objects", theirs, row.foreign, code)
		m.expect(key+" naming objects that do not exist", missing, row.foreign, code)
		if row.foreign == http.StatusNotFound && code != leads.CodeNotFound {
			m.problem("%s: another account's id answers %s, not NOT_FOUND", key, code)
		}
		if row.foreign != http.StatusCreated {
			m.same(key, "the other account's objects", m.theirs.normalize(string(theirs.body)),
				"objects that do not exist", m.missing.normalize(string(missing.body)))
		}
	}
}

// call makes one call of the matrix and checks that the answer holds none
// of the other account's data but what the request itself sent.
func (m *matrix) call(key string, row matrixRow, o objects, who string, headers []string) response {
	m.cells++
	r := row.req(o)
	method, template, _ := strings.Cut(key, " ")
	path, _, _ := strings.Cut(r.path, "?")
	pattern := "^" + regexp.MustCompile(`\\\{[a-zA-Z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(template), "[^/]+") + "$"
	require.Equal(m.t, method, r.method, "%s: its row calls another method", key)
	require.Regexp(m.t, pattern, path, "%s: its row calls another route", key)

	res := m.a.call(who, r.method, r.path, r.body, headers...)
	sent, _ := json.Marshal(r.body)
	request := r.path + " " + string(sent)
	answer := string(res.body) + fmt.Sprint(res.header)
	for _, s := range m.markers {
		if strings.Contains(answer, s) && !strings.Contains(request, s) {
			m.problem("%s %s as %q: the answer holds the other account's %q: %s", r.method, r.path, who, s, res.body)
			break
		}
	}
	return res
}

func (m *matrix) expect(what string, res response, status int, code string) {
	var e struct{ Code string }
	if status >= 300 {
		_ = json.Unmarshal(res.body, &e)
	}
	if res.status != status || e.Code != code {
		m.problem("%s: got %d %s, want %d %s: %s", what, res.status, e.Code, status, code, res.body)
	}
}

func (m *matrix) same(key, aName, a, bName, b string) {
	if a != b {
		m.problem("%s: %s and %s answer differently:\n  %s\n  %s", key, aName, bName, a, b)
	}
}

func (m *matrix) problem(format string, args ...any) {
	m.problems = append(m.problems, fmt.Sprintf(format, args...))
}

// fresh returns objects of this account made on first use.
func (m *matrix) fresh() *ours { return &ours{m: m} }

// ours are objects of the matrix's account, each made on first use.
type ours struct {
	m                                                *matrix
	leadID, teamID, spareID, sourceID, rotID, ruleID int64
	timeOffID, calendarID                            int64
	webhookID, deliveryID, simulationID              int64
	memberEmail                                      string
	hasSchedule                                      bool
	// caller is the email of the cell's caller, "" for shared objects;
	// assignedID its lead.
	caller     string
	assignedID int64
}

var _ objects = (*ours)(nil)

// once returns *id, first setting it with create.
func (o *ours) once(id *int64, create func(ctx context.Context, admin leads.Actor) (int64, error)) int64 {
	if *id == 0 {
		var err error
		*id, err = create(context.Background(), o.m.a.actor("admin"))
		require.NoError(o.m.t, err)
	}
	return *id
}

func (o *ours) team() int64      { return o.once(&o.teamID, o.newTeam("team")) }
func (o *ours) spareTeam() int64 { return o.once(&o.spareID, o.newTeam("spare team")) }

func (o *ours) newTeam(kind string) func(ctx context.Context, admin leads.Actor) (int64, error) {
	return func(ctx context.Context, admin leads.Actor) (int64, error) {
		team, err := o.m.a.svc.CreateTeam(ctx, admin, leads.Team{Name: o.name(kind)})
		return idOf(team, err, func(t *leads.Team) int64 { return t.ID })
	}
}

func (o *ours) source() int64 {
	return o.once(&o.sourceID, func(ctx context.Context, admin leads.Actor) (int64, error) {
		src, err := o.m.a.svc.CreateLeadSource(ctx, admin, leads.LeadSource{TeamID: o.team(), Name: o.name("source")})
		return idOf(src, err, func(s *leads.LeadSource) int64 { return s.ID })
	})
}

func (o *ours) rotation() int64 {
	return o.once(&o.rotID, func(ctx context.Context, admin leads.Actor) (int64, error) {
		rot, err := o.m.a.svc.CreateRotation(ctx, admin, leads.Rotation{Name: o.name("rotation"), TeamID: o.team(),
			Members: []leads.RotationMember{{User: "ana@example.com"}, {User: "ben@example.com"}}})
		return idOf(rot, err, func(r *leads.Rotation) int64 { return r.ID })
	})
}

func (o *ours) rule() int64 {
	return o.once(&o.ruleID, func(ctx context.Context, admin leads.Actor) (int64, error) {
		r, err := o.m.a.svc.CreateRoutingRule(ctx, admin, leads.RoutingRule{Name: o.name("rule"), Enabled: true,
			Conditions: leads.Condition{Field: "emailDomain", Op: leads.OpEq, Value: "example.com"},
			Action:     leads.RuleAction{Type: leads.ActionRotation, RotationID: o.rotation()}}, -1)
		return idOf(r, err, func(r *leads.RoutingRule) int64 { return r.ID })
	})
}

func (o *ours) lead() int64 {
	return o.once(&o.leadID, func(ctx context.Context, _ leads.Actor) (int64, error) {
		res, err := o.m.a.svc.CreateLead(ctx, o.m.a.actor("agent"), leads.LeadInput{FirstName: "Ada", LastName: "Lovelace",
			TeamID: o.team(), LeadSourceID: o.source()}, leads.CreateOptions{})
		return idOf(res, err, func(r *leads.Result) int64 { return r.Lead.ID })
	})
}

func (o *ours) assignedLead() int64 {
	if o.caller == "" {
		return o.lead()
	}
	return o.once(&o.assignedID, func(ctx context.Context, admin leads.Actor) (int64, error) {
		res, err := o.m.a.svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: "Ada", LastName: "Lovelace",
			TeamID: o.team(), LeadSourceID: o.source(), AssignedTo: o.caller}, leads.CreateOptions{})
		return idOf(res, err, func(r *leads.Result) int64 { return r.Lead.ID })
	})
}

// idOf returns the id of what a create returned, or its error.
func idOf[T any](v *T, err error, id func(*T) int64) (int64, error) {
	if err != nil {
		return 0, err
	}
	return id(v), nil
}

func (o *ours) rotationUser() string {
	o.rotation()
	return "ana@example.com"
}

func (o *ours) member() string {
	if o.memberEmail == "" {
		email := o.email()
		_, err := o.m.a.svc.PutMember(context.Background(), o.m.a.actor("admin"), leads.Member{Email: email, Role: leads.RoleAgent})
		require.NoError(o.m.t, err)
		o.memberEmail = email
	}
	return o.memberEmail
}

// scheduled is member, with working hours set on first use.
func (o *ours) scheduled() string {
	email := o.member()
	if !o.hasSchedule {
		_, err := o.m.a.svc.SetSchedule(context.Background(), o.m.a.actor("admin"), email,
			&leads.Schedule{Timezone: "Europe/Paris", Friday: []leads.WorkHours{{Start: "09:00", End: "17:00"}}})
		require.NoError(o.m.t, err)
		o.hasSchedule = true
	}
	return email
}

func (o *ours) timeOffUser() string { return o.m.a.actor("agent").Email }

func (o *ours) timeOff() int64 {
	return o.once(&o.timeOffID, func(ctx context.Context, admin leads.Actor) (int64, error) {
		off, err := o.m.a.svc.AddTimeOff(ctx, admin, o.timeOffUser(), leads.TimeOff{Start: time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC),
			End: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC), Note: "matrix"})
		return idOf(off, err, func(t *leads.TimeOff) int64 { return t.ID })
	})
}

func (o *ours) calendar() int64 {
	return o.once(&o.calendarID, func(ctx context.Context, admin leads.Actor) (int64, error) {
		c, err := o.m.a.svc.CreateHolidayCalendar(ctx, admin, leads.HolidayCalendar{Name: o.name("calendar"), Timezone: "America/New_York",
			Dates: []string{"2026-11-26"}})
		return idOf(c, err, func(c *leads.HolidayCalendar) int64 { return c.ID })
	})
}

func (o *ours) webhook() int64 {
	return o.once(&o.webhookID, func(ctx context.Context, admin leads.Actor) (int64, error) {
		e, err := o.m.a.svc.CreateWebhook(ctx, admin, leads.WebhookInput{URL: "http://127.0.0.1:9/" + url.PathEscape(o.name("hook")),
			EventTypes: []leads.EventType{leads.EventTypeCreated}})
		return idOf(e, err, func(e *leads.WebhookEndpoint) int64 { return e.ID })
	})
}

func (o *ours) delivery() int64 {
	return o.once(&o.deliveryID, func(ctx context.Context, _ leads.Actor) (int64, error) {
		return recordDelivery(ctx, o.m.a, o.webhook())
	})
}

// recordDelivery logs a failed attempt to deliver to webhook id of a's
// account, as the delivery worker would.
func recordDelivery(ctx context.Context, a *api, id int64) (int64, error) {
	d := &leads.WebhookDelivery{EndpointID: id, AccountID: a.account, EventID: "evt_matrix", EventType: leads.EventTypeCreated,
		Attempt: 1, StatusCode: 500, Error: "receiver answered 500", At: time.Now(), Payload: []byte(`{}`)}
	err := a.backend.Store.RecordWebhookDelivery(ctx, d)
	return d.ID, err
}

func (o *ours) simulation() int64 {
	return o.once(&o.simulationID, func(ctx context.Context, admin leads.Actor) (int64, error) {
		return createSimulation(ctx, o.m.a, admin, o.name("pool"))
	})
}

// createSimulation submits a simulation in a's account of a change that
// adds a pool rotation named pool.
func createSimulation(ctx context.Context, a *api, admin leads.Actor, pool string) (int64, error) {
	sim, err := a.sims.CreateSimulation(ctx, admin, leads.SimulationInput{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), ConfigYAML: "rotations:\n  - name: " + pool + "\n    members: [{user: ana@example.com}]\n"})
	if err != nil {
		return 0, err
	}
	return sim.ID, nil
}

func (o *ours) name(kind string) string { return o.m.nextName(kind) }
func (o *ours) email() string           { return o.m.nextEmail() }

// all makes every object.
func (o *ours) all() {
	o.lead()
	o.rotation()
	o.rule()
	o.spareTeam()
	o.member()
	o.scheduled()
	o.timeOff()
	o.calendar()
	o.webhook()
	o.delivery()
	o.simulation()
}

// fixedObjects are objects that exist already, or nowhere.
type fixedObjects struct {
	leadID, teamID, spareID, sourceID, rotationID, ruleID int64
	timeOffID, calendarID, webhookID, deliveryID          int64
	simulationID                                          int64
	user, memberEmail                                     string
	newName                                               func(kind string) string
	newEmail                                              func() string
}

var _ objects = fixedObjects{}

func (o fixedObjects) lead() int64             { return o.leadID }
func (o fixedObjects) assignedLead() int64     { return o.leadID }
func (o fixedObjects) team() int64             { return o.teamID }
func (o fixedObjects) spareTeam() int64        { return o.spareID }
func (o fixedObjects) source() int64           { return o.sourceID }
func (o fixedObjects) rotation() int64         { return o.rotationID }
func (o fixedObjects) rule() int64             { return o.ruleID }
func (o fixedObjects) rotationUser() string    { return o.user }
func (o fixedObjects) member() string          { return o.memberEmail }
func (o fixedObjects) scheduled() string       { return o.memberEmail }
func (o fixedObjects) timeOffUser() string     { return o.memberEmail }
func (o fixedObjects) timeOff() int64          { return o.timeOffID }
func (o fixedObjects) calendar() int64         { return o.calendarID }
func (o fixedObjects) webhook() int64          { return o.webhookID }
func (o fixedObjects) delivery() int64         { return o.deliveryID }
func (o fixedObjects) simulation() int64       { return o.simulationID }
func (o fixedObjects) name(kind string) string { return o.newName(kind) }
func (o fixedObjects) email() string           { return o.newEmail() }

// normalize replaces the ids and emails of o in an answer, so that answers
// about different objects can be compared.
func (o fixedObjects) normalize(body string) string {
	values := []string{o.user, o.memberEmail}
	for _, id := range []int64{o.leadID, o.teamID, o.spareID, o.sourceID, o.rotationID, o.ruleID, o.timeOffID, o.calendarID, o.webhookID, o.deliveryID, o.simulationID} {
		values = append(values, fmt.Sprint(id))
	}
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	for _, v := range values {
		body = regexp.MustCompile(`\b`+regexp.QuoteMeta(v)+`\b`).ReplaceAllString(body, "{x}")
	}
	return body
}

// snapshot reads objects o of the api's account as its admin, to tell
// whether anything changed them.
func (a *api) snapshot(o objects) string {
	var b strings.Builder
	for _, path := range []string{
		fmt.Sprintf("/leads/%d", o.lead()),
		fmt.Sprintf("/teams/%d", o.team()),
		fmt.Sprintf("/teams/%d", o.spareTeam()),
		fmt.Sprintf("/teams/%d/lead-sources", o.team()),
		fmt.Sprintf("/rotations/%d", o.rotation()),
		fmt.Sprintf("/routing-rules/%d", o.rule()),
		fmt.Sprintf("/members/%s/schedule", url.PathEscape(o.scheduled())),
		fmt.Sprintf("/holiday-calendars/%d", o.calendar()),
		fmt.Sprintf("/webhooks/%d", o.webhook()),
	} {
		res := a.call("admin", "GET", path, nil)
		require.Equal(a.t, http.StatusOK, res.status, "%s: %s", path, res.body)
		b.Write(res.body)
	}
	// The period of time off, among the others of its member.
	var offs struct{ Data []leads.TimeOff }
	require.NoError(a.t, json.Unmarshal(a.call("admin", "GET", "/members/"+url.PathEscape(o.timeOffUser())+"/time-off", nil).body, &offs))
	i := slices.IndexFunc(offs.Data, func(t leads.TimeOff) bool { return t.ID == o.timeOff() })
	require.GreaterOrEqual(a.t, i, 0, "time off %d is gone", o.timeOff())
	fmt.Fprintf(&b, "%+v", offs.Data[i])
	var members struct{ Data []leads.Member }
	require.NoError(a.t, json.Unmarshal(a.call("admin", "GET", "/members", nil).body, &members))
	i = slices.IndexFunc(members.Data, func(mb leads.Member) bool { return mb.Email == o.member() })
	require.GreaterOrEqual(a.t, i, 0, "member %s is gone", o.member())
	fmt.Fprintf(&b, "%+v", members.Data[i])
	return b.String()
}
