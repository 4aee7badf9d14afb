package simulate_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/simulate"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// benchLeads is how many leads BenchmarkReplay seeds:
// LEADROTOR_BENCH_SIM_LEADS, else 100,000 (the figure is
// 1,000,000: docs/BENCHMARKS.md).
func benchLeads(b *testing.B) int {
	if v := os.Getenv("LEADROTOR_BENCH_SIM_LEADS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		return n
	}
	return 100_000
}

// HistoricLeads reads a window of many chunks whole, each lead once, in
// order, each with its own routing entry.
func TestHistoricLeadsInChunks(t *testing.T) {
	for _, backend := range storetest.All(t) {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			const n = 12_345
			account, _ := seedReplay(t, backend.Store, n, from)
			var last int64
			var count int
			err := backend.Store.HistoricLeads(context.Background(), account, from.Add(2*time.Second), from.Add(n*time.Second),
				func(h leads.HistoricLead) error {
					require.Greater(t, h.Lead.ID, last)
					last = h.Lead.ID
					count++
					require.Equal(t, h.Lead.AssignedTo, h.Actual.Assignee, "lead %d", h.Lead.ID)
					require.Equal(t, leads.AssignRotation, h.Actual.Reason)
					require.Equal(t, leads.StepTeam, h.Actual.Step)
					return nil
				})
			require.NoError(t, err)
			require.Equal(t, n-2, count, "leads 2 to n-1: the window's bounds are from inclusive, to exclusive")
		})
	}
}

// BenchmarkReplay replays a window of seeded leads (a team rotation of
// seven weighted reps, two routing rules, one lead a second, each with
// its lead_assigned entry and its turn, one in 50 moved on later by
// another turn) through a proposed configuration, on each store.
// It reports leads replayed a second and the peak of the Go heap.
func BenchmarkReplay(b *testing.B) {
	n := benchLeads(b)
	for _, backend := range storetest.All(b) {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			st := backend.Store
			from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			account, cfg := seedReplay(b, st, n, from)
			if os.Getenv("LEADROTOR_BENCH_SIM_SCAN") != "" {
				began := time.Now()
				var k int
				require.NoError(b, st.HistoricLeads(ctx, account, from, from.Add(time.Duration(n+1)*time.Second), func(leads.HistoricLead) error { k++; return nil }))
				b.Logf("scan only: %d leads in %s", k, time.Since(began))
			}
			// As leadrotor simulate runs it (BatchGCPercent); LEADROTOR_BENCH_SIM_GOGC
			// overrides it (100: Go's default, as in a server).
			gc := simulate.BatchGCPercent
			if v := os.Getenv("LEADROTOR_BENCH_SIM_GOGC"); v != "" {
				var err error
				gc, err = strconv.Atoi(v)
				require.NoError(b, err)
			}
			defer debug.SetGCPercent(debug.SetGCPercent(gc))
			b.ResetTimer()
			for range b.N {
				runtime.GC()
				var peak atomic.Uint64
				stop := sampleHeap(&peak)
				began := time.Now()
				res, err := simulate.Run(ctx, st, cfg, simulate.Options{AccountID: account, From: from, To: from.Add(time.Duration(n+1) * time.Second)})
				took := time.Since(began)
				stop()
				require.NoError(b, err)
				require.Equal(b, n, res.Leads)
				b.ReportMetric(float64(n)/took.Seconds(), "leads/s")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
				if rss, ok := peakRSS(); ok {
					b.ReportMetric(rss, "process-peak-RSS-MB")
				}
			}
		})
	}
}

// peakRSS is the process's peak resident memory so far (VmHWM), in MB:
// the seeding is SQL the database runs, so it is mostly the replay's.
func peakRSS() (float64, bool) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024, err == nil
		}
	}
	return 0, false
}

// sampleHeap records the largest Go heap seen every 10 ms, until stop.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// seedReplay configures an account through the Service, then writes n
// leads and their routing entries with one statement each, and returns the
// account and a proposed configuration (one rep's weight changed).
func seedReplay(b testing.TB, st *store.Store, n int, from time.Time) (string, *leads.AccountConfig) {
	ctx := context.Background()
	account := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	svc := leads.NewService(st, rotation.NewMemory(st), leads.WithClock(func() time.Time { return from.Add(-time.Hour) }))
	_, err := svc.CreateAccount(ctx, leads.Account{ID: account, Name: "Bench"})
	require.NoError(b, err)
	admin := leads.Actor{AccountID: account, Email: "admin@bench.test", Role: leads.RoleAdmin}
	_, err = svc.PutMember(ctx, leads.SystemActor(account), leads.Member{Email: admin.Email, Role: leads.RoleAdmin})
	require.NoError(b, err)
	var members []leads.RotationMember
	for i := 1; i <= 7; i++ {
		user := fmt.Sprintf("rep%d@bench.test", i)
		_, err := svc.PutMember(ctx, leads.SystemActor(account), leads.Member{Email: user, Role: leads.RoleAgent})
		require.NoError(b, err)
		members = append(members, leads.RotationMember{User: user, Weight: 1 + i%3})
	}
	team, err := svc.CreateTeam(ctx, admin, leads.Team{Name: "Sales"})
	require.NoError(b, err)
	rot, err := svc.CreateRotation(ctx, admin, leads.Rotation{Name: "Sales", TeamID: team.ID, Members: members})
	require.NoError(b, err)
	for _, r := range []leads.RoutingRule{
		{Name: "spam", Enabled: true, Conditions: leads.Condition{Field: "email", Op: leads.OpEndsWith, Value: "@spam.test"},
			Action: leads.RuleAction{Type: leads.ActionHold, Reason: "spam"}},
		{Name: "big", Enabled: true, Conditions: leads.Condition{Field: "numberOfEmployees", Op: leads.OpGte, Value: 5000},
			Action: leads.RuleAction{Type: leads.ActionAssign, Assignee: "rep1@bench.test"}},
	} {
		_, err := svc.CreateRoutingRule(ctx, admin, r, -1)
		require.NoError(b, err)
	}
	db := st.DB()
	series := `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?) SELECT n FROM g`
	at, asJSON := "strftime('%Y-%m-%d %H:%M:%f', ?, '+' || n || ' seconds')", ""
	if st.Dialect() == store.Postgres {
		series, at, asJSON = "SELECT generate_series(1, ?) AS n", "(?::timestamptz + n * interval '1 second')", "::jsonb"
	}
	_, err = db.ExecContext(ctx, `INSERT INTO leads (account_id, team_id, first_name, last_name, email, email_norm, phone, company,
	number_of_employees, hot_score, status, assigned_to, rotation_id, rotation_turn, created_at, updated_at)
SELECT ?, ?, 'Seed', 'Lead ' || n, 'seed' || n || '@example.com', 'seed' || n || '@example.com', '+1-555-' || (n % 10000),
	'Company ' || (n % 1000), (n % 7000), (n % 100), 'new', 'rep' || (1 + n % 7) || '@bench.test', ?, n, `+at+`, `+at+`
FROM (`+series+`) AS g`, account, team.ID, rot.ID, from.UTC(), from.UTC(), n)
	require.NoError(b, err)
	_, err = db.ExecContext(ctx, `INSERT INTO audit_log (account_id, lead_id, event, user_email, data, created_at)
SELECT account_id, id, 'lead_assigned', 'admin@bench.test',
	('{"assignee":"' || assigned_to || '","reason":"rotation","rotationId":' || rotation_id || ',"decision":{"step":"team"}}')`+asJSON+`, created_at
FROM leads WHERE account_id = ?`, account)
	require.NoError(b, err)
	if os.Getenv("LEADROTOR_BENCH_SIM_TURNS") != "0" {
		// Each lead's turn, at its creation instant, and every 50th lead
		// moved on by hand half a second later (a later turn, which the
		// replay takes too); LEADROTOR_BENCH_SIM_TURNS=0 writes none.
		later := "strftime('%Y-%m-%d %H:%M:%f', created_at, '+0.5 seconds')"
		if st.Dialect() == store.Postgres {
			later = "created_at + interval '500 milliseconds'"
		}
		_, err = db.ExecContext(ctx, `INSERT INTO rotation_turns (rotation_id, turn, assignee, lead_id, assigned_at)
SELECT rotation_id, rotation_turn, assigned_to, id, created_at FROM leads WHERE account_id = ?`, account)
		require.NoError(b, err)
		_, err = db.ExecContext(ctx, `INSERT INTO rotation_turns (rotation_id, turn, assignee, lead_id, assigned_at)
SELECT rotation_id, rotation_turn + ?, 'rep' || (1 + (rotation_turn + 3) % 7) || '@bench.test', id, `+later+`
FROM leads WHERE account_id = ? AND rotation_turn % 50 = 0`, n, account)
		require.NoError(b, err)
	}
	if st.Dialect() == store.Postgres {
		_, err = db.ExecContext(ctx, "ANALYZE rotation_turns")
		require.NoError(b, err)
		_, err = db.ExecContext(ctx, "ANALYZE leads")
		require.NoError(b, err)
		_, err = db.ExecContext(ctx, "ANALYZE audit_log")
		require.NoError(b, err)
	}
	live, err := svc.Configuration(ctx, admin)
	require.NoError(b, err)
	draft := leads.NewDraft(live)
	_, err = draft.UpdateRotation(ctx, admin, rot.ID, func(r *leads.Rotation) error {
		r.Members[0].Weight = 5
		return nil
	})
	require.NoError(b, err)
	cfg, err := draft.Configuration(ctx, admin)
	require.NoError(b, err)
	return account, cfg
}
