package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// FuzzRequestLine sends any request line ("METHOD target HTTP/1.x") that
// net/http reads, with an admin's credentials and an empty body, through
// the whole server over a real SQLite store holding a team, a lead source,
// a rotation and a lead. No route may panic or fail: every answer is below
// 500, and every error is the JSON error body with a code.
func FuzzRequestLine(f *testing.F) {
	for _, seed := range []string{
		"GET /leads HTTP/1.1",
		"GET /leads/%00 HTTP/1.1",
		"PATCH /members/%00x HTTP/1.1",
		"DELETE /rotations/1/members/%00 HTTP/1.1",
		"GET /teams/%00/stats HTTP/1.1",
		"POST /leads/%00/assign HTTP/1.1",
		"GET /leads?status=lost; HTTP/1.1",
		"GET /leads?q=zzzz%zz HTTP/1.1",
		"POST /leads?dryrun=true HTTP/1.1",
		"DELETE /leads/1?confirm=true&x=%00 HTTP/1.1",
		"GET /rotations/1/next?n=100000 HTTP/1.1",
		"GET /rotations/1/members/ana%40example.com HTTP/1.0",
		"GET /teams/1%2F..%2F2 HTTP/1.1",
		"HEAD /account HTTP/1.1",
		"OPTIONS * HTTP/1.1",
		"GET //leads/ HTTP/1.1",
		"GET http://example.com/leads/1 HTTP/1.1",
		"BREW /leads HTTP/1.1",
		"PUT /openapi.yaml HTTP/1.1",
	} {
		f.Add(seed)
	}
	srv, key, account := fuzzServer(f)
	f.Fuzz(func(t *testing.T, line string) {
		raw := line + "\r\nHost: example.com\r\nAuthorization: Bearer " + key + "\r\nx-account-id: " + account +
			"\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // net/http refuses it before any handler runs
		}
		req.RemoteAddr = "192.0.2.1:4321"
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		require.Less(t, rec.Code, http.StatusInternalServerError, "%q: %s", line, rec.Body)
		if rec.Code >= http.StatusBadRequest && req.Method != http.MethodHead {
			var body struct{ Code string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "%q: %s", line, rec.Body)
			require.NotEmpty(t, body.Code, "%q: %s", line, rec.Body)
		}
	})
}

// fuzzServer is a server over a fresh SQLite store with one account that
// has something of every kind, and an admin's API key.
func fuzzServer(f *testing.F) (http.Handler, string, string) {
	b := storetest.SQLite(f)
	svc := leads.NewService(b.Store, rotation.NewMemory(b.Store))
	ctx := context.Background()
	const account = "2399"
	_, err := svc.CreateAccount(ctx, leads.Account{ID: account, Name: "Fuzz"})
	require.NoError(f, err)
	root := leads.SystemActor(account)
	for _, m := range []leads.Member{{Email: "admin@example.com", Role: leads.RoleAdmin}, {Email: "ana@example.com", Role: leads.RoleAgent}} {
		_, err = svc.PutMember(ctx, root, m)
		require.NoError(f, err)
	}
	key, _, err := svc.CreateAPIKey(ctx, "admin@example.com", "fuzz")
	require.NoError(f, err)
	team, err := svc.CreateTeam(ctx, root, leads.Team{Name: "West"})
	require.NoError(f, err)
	_, err = svc.CreateLeadSource(ctx, root, leads.LeadSource{TeamID: team.ID, Name: "Webinar"})
	require.NoError(f, err)
	_, err = svc.CreateRotation(ctx, root, leads.Rotation{Name: "West reps", TeamID: team.ID,
		Members: []leads.RotationMember{{User: "ana@example.com"}}})
	require.NoError(f, err)
	_, err = svc.CreateLead(ctx, root, leads.LeadInput{FirstName: "Ada", LastName: "Lovelace"},
		leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	require.NoError(f, err)
	return httpapi.New(svc, httpapi.Config{}), key, account
}
