package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/console"
	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// BenchmarkPages measures each console page's server time (the handler,
// its Service calls and the rendering; no network) in an account of
// LEADROTOR_BENCH_LEADS leads (default 1,000,000) on PostgreSQL, spread
// over the last year, today's 500 assigned through the rotation:
//
//	go test -run '^$' -bench Pages -benchtime 50x ./console/
func BenchmarkPages(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("LEADROTOR_BENCH_LEADS"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	pg := storetest.Postgres(b)
	if pg == nil {
		b.Skip("PostgreSQL is not reachable")
	}
	ctx := context.Background()
	svc := newService(pg.Store)
	const account = "big"
	_, err := svc.CreateAccount(ctx, leads.Account{ID: account, Name: "Big account"})
	require.NoError(b, err)
	root := leads.SystemActor(account)
	admin := leads.Actor{AccountID: account, Email: "admin@big.test", Role: leads.RoleAdmin}
	_, err = svc.PutMember(ctx, root, leads.Member{Email: admin.Email, Role: leads.RoleAdmin})
	require.NoError(b, err)
	var members []leads.RotationMember
	for i := range 20 {
		rep := fmt.Sprintf("rep%02d@big.test", i)
		_, err := svc.PutMember(ctx, root, leads.Member{Email: rep, Role: leads.RoleAgent})
		require.NoError(b, err)
		members = append(members, leads.RotationMember{User: rep, Weight: 1 + i%3})
	}
	rot, err := svc.CreateRotation(ctx, admin, leads.Rotation{Name: "Inbound", Default: true, Members: members})
	require.NoError(b, err)
	start := time.Now()
	_, err = pg.Store.DB().ExecContext(ctx, `INSERT INTO leads (account_id, first_name, last_name, email, company, status, assigned_to, archived, created_at, updated_at)
		SELECT ?, 'First' || g, 'Last' || g, 'lead' || g || '@example.com', 'Company ' || (g % 5000),
			(ARRAY['new','contacted','qualified','converted','lost','follow_up'])[1 + (g / 20) % 6],
			'rep' || lpad((g % 20)::text, 2, '0') || '@big.test', g % 10 = 0,
			now() - interval '1 day' - (g * interval '31 seconds'), now() - interval '1 day' - (g * interval '31 seconds')
		FROM generate_series(1, ?) AS g`, account, n-500)
	require.NoError(b, err)
	// Their audit trails: created and assigned, as the create path writes.
	_, err = pg.Store.DB().ExecContext(ctx, `INSERT INTO audit_log (account_id, lead_id, event, user_email, data, created_at)
		SELECT account_id, id, e, 'admin@big.test', '{}', created_at
		FROM leads, unnest(ARRAY['lead_created', 'lead_assigned']) AS e WHERE account_id = ?`, account)
	require.NoError(b, err)
	for range 500 {
		_, err := svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: "Today", LastName: "Lead"}, leads.CreateOptions{})
		require.NoError(b, err)
	}
	_, err = pg.Store.DB().ExecContext(ctx, "ANALYZE leads, audit_log")
	require.NoError(b, err)
	b.Logf("seeded %d leads in %s", n, time.Since(start).Round(time.Second))

	con, err := console.New(svc, console.Config{})
	require.NoError(b, err)
	mux := con.Beside(httpapi.New(svc, httpapi.Config{}))
	require.NoError(b, svc.SetPassword(ctx, admin.Email, "benchmark password"))
	token, _, err := svc.StartSession(ctx, admin.Email, account, time.Hour)
	require.NoError(b, err)
	page, err := svc.ListLeads(ctx, admin, leads.ListOptions{Limit: 1})
	require.NoError(b, err)
	leadID := page.Data[0].ID

	for _, p := range []struct{ name, path string }{
		{"today", "/"},
		{"rotations", "/rotations"},
		{"rotation board", "/rotations/" + strconv.FormatInt(rot.ID, 10)},
		{"leads", "/leads"},
		{"leads by rep and status", "/leads?assignedTo=rep07%40big.test&status=qualified"},
		{"leads search, 200 match", "/leads?q=Company+4321"},
		{"leads search, none match", "/leads?q=nobody+by+this+name"},
		{"leads search, all match", "/leads?q=example.com"},
		{"leads page 2", ""},
		{"lead", "/leads/" + strconv.FormatInt(leadID, 10)},
		{"teams", "/teams"},
		{"people", "/people"},
		{"audit", "/audit"},
		{"audit, one event", "/audit?event=rotation_updated"},
		{"audit, with the leads' events", "/audit?scope=all"},
	} {
		path := p.path
		if p.name == "leads page 2" {
			first, err := svc.ListLeads(ctx, admin, leads.ListOptions{Limit: 50})
			require.NoError(b, err)
			path = "/leads?cursor=" + url.QueryEscape(*first.NextCursor)
		}
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, console.Prefix+path, nil)
				req.AddCookie(&http.Cookie{Name: "lr_console", Value: token})
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
				}
			}
		})
	}
}
