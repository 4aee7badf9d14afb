package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// lastQuery records the SQL of the last SELECT from its table.
type lastQuery struct {
	from string // `FROM "leads"`
	mu   sync.Mutex
	sql  string
}

// watchSelects records the store's reads from table.
func watchSelects(pg *storetest.Backend, table string) *lastQuery {
	q := &lastQuery{from: `FROM "` + table + `"`}
	//lint:ignore SA1019 the hook must see the store's own queries; WithQueryHook returns a copy
	pg.Store.ReadsForTest().AddQueryHook(q)
	return q
}

// plan returns the last query and PostgreSQL's plan of it.
func (q *lastQuery) plan(t *testing.T, db bun.IDB) (query, plan string) {
	t.Helper()
	q.mu.Lock()
	query = q.sql
	q.mu.Unlock()
	var lines []string
	require.NoError(t, db.NewRaw("EXPLAIN "+query).Scan(context.Background(), &lines), query)
	return query, strings.Join(lines, "\n")
}

func (q *lastQuery) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if strings.HasPrefix(e.Query, "SELECT") && strings.Contains(e.Query, q.from) {
		q.mu.Lock()
		q.sql = e.Query
		q.mu.Unlock()
	}
	return ctx
}

func (q *lastQuery) AfterQuery(context.Context, *bun.QueryEvent) {}

// TestListQueriesUseIndexes shows, on PostgreSQL with 40,000 leads in 20
// accounts, that every listing the API offers is served by an index: the
// plans are logged (go test -v) and none scans the leads table sequentially.
func TestListQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	if pg == nil {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	db := pg.Store.DB()
	for _, q := range []string{
		`INSERT INTO accounts (id, name, duplicate_policy, created_at, updated_at)
			SELECT 'acct' || a, '', 'allow', now(), now() FROM generate_series(1, 20) a`,
		`INSERT INTO teams (account_id, name, created_at, updated_at)
			SELECT 'acct' || a, 'team' || t, now(), now() FROM generate_series(1, 20) a, generate_series(1, 5) t`,
		`INSERT INTO lead_sources (account_id, team_id, name, created_at, updated_at)
			SELECT account_id, id, 'web', now(), now() FROM teams`,
		`INSERT INTO leads (account_id, team_id, lead_source_id, first_name, last_name, email, phone, company,
				status, assigned_to, archived, external_id, hot_score, created_at, updated_at)
			SELECT a.id, t.id, s.id, 'First' || g, 'Last' || g, 'lead' || g || '@example.com', '555' || g,
				'Company' || (g % 100), (ARRAY['new','contacted','qualified','converted','lost','follow_up'])[g % 6 + 1],
				CASE WHEN g % 11 = 0 THEN '' ELSE 'rep' || (g % 10) || '@example.com' END, g % 7 = 0,
				CASE WHEN g % 3 = 0 THEN NULL ELSE 'crm-' || g END, CASE WHEN g % 4 = 0 THEN NULL ELSE g % 101 END,
				now() - g * interval '1 second', now() - g * interval '2 second'
			FROM generate_series(1, 40000) g
			JOIN accounts a ON a.id = 'acct' || (g % 20 + 1)
			JOIN LATERAL (SELECT id FROM teams WHERE account_id = a.id ORDER BY id OFFSET g % 5 LIMIT 1) t ON true
			JOIN lead_sources s ON s.team_id = t.id`,
		`ANALYZE`,
	} {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	var team, source int64
	require.NoError(t, db.NewRaw(`SELECT t.id, s.id FROM teams t JOIN lead_sources s ON s.team_id = t.id WHERE t.account_id = 'acct1' LIMIT 1`).Scan(ctx, &team, &source))

	hook := watchSelects(pg, "leads")
	since := time.Now().Add(-time.Hour)
	cursor := &leads.Cursor{At: time.Now().Add(-30 * time.Minute), ID: 20000}
	hot := int64(80)
	for name, q := range map[string]leads.LeadQuery{
		"default":           {},
		"status":            {Filter: leads.LeadFilter{Statuses: []leads.Status{"new"}}},
		"several statuses":  {Filter: leads.LeadFilter{Statuses: []leads.Status{"new", "lost"}}},
		"team":              {Filter: leads.LeadFilter{TeamID: team}},
		"lead source":       {Filter: leads.LeadFilter{LeadSourceID: source}},
		"assignee":          {Filter: leads.LeadFilter{AssignedTo: "rep3@example.com"}},
		"unassigned":        {Filter: leads.LeadFilter{Unassigned: true}},
		"archived":          {Filter: leads.LeadFilter{Archived: leads.ArchivedOnly}},
		"archived or not":   {Filter: leads.LeadFilter{Archived: leads.LiveAndArchived}},
		"created after":     {Filter: leads.LeadFilter{CreatedAfter: &since}},
		"search":            {Filter: leads.LeadFilter{Query: "company7"}},
		"by updatedAt":      {Sort: leads.SortUpdatedAt},
		"oldest first":      {Ascending: true},
		"next page":         {After: cursor},
		"status and search": {Filter: leads.LeadFilter{Statuses: []leads.Status{"qualified"}, Query: "first1"}},
		"rare search":       {Filter: leads.LeadFilter{Query: "lead39999@"}},
		"external id":       {Filter: leads.LeadFilter{ExternalID: "crm-20000"}},
		"hot score":         {Filter: leads.LeadFilter{HotScoreMin: &hot}},
	} {
		q.AccountID, q.Limit = "acct1", 51
		if q.Sort == "" {
			q.Sort = leads.SortCreatedAt
		}
		if name != "archived" && name != "archived or not" {
			q.Filter.Archived = leads.LiveOnly
		}
		_, err := pg.Store.ListLeads(ctx, q)
		require.NoError(t, err, name)
		query, plan := hook.plan(t, db)
		t.Logf("%s:\n%s\n%s", name, query, plan)
		require.NotContains(t, plan, "Seq Scan on leads", "%s scans the table", name)
		require.Contains(t, plan, "Index", name)
		if name == "external id" {
			require.Contains(t, plan, "leads_external_id", "the unique index finds the one lead")
		}
	}
}

// TestRareSearchUsesTrigramIndex shows, on PostgreSQL with 60,000 leads in
// one account, that a search matching few of them looks them up in the
// trigram index (leads_search) rather than reading the account's leads.
// (Searches matching most leads are timed at a million in the console's
// BenchmarkPages.)
func TestRareSearchUsesTrigramIndex(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	if pg == nil {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	db := pg.Store.DB()
	for _, q := range []string{
		`INSERT INTO accounts (id, name, duplicate_policy, created_at, updated_at) VALUES ('big', '', 'allow', now(), now())`,
		`INSERT INTO leads (account_id, first_name, last_name, email, phone, company, created_at, updated_at)
			SELECT 'big', 'First' || g, 'Last' || g, 'lead' || g || '@example.com', '555' || g, 'Company' || (g % 100),
				now() - g * interval '1 second', now() - g * interval '1 second'
			FROM generate_series(1, 60000) g`,
		`ANALYZE leads`,
	} {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	hook := watchSelects(pg, "leads")
	for _, c := range []struct{ search, plan string }{
		{"lead59999@", "leads_search"},
		{"5554242", "leads_search"},
	} {
		got, err := pg.Store.ListLeads(ctx, leads.LeadQuery{AccountID: "big", Limit: 51, Sort: leads.SortCreatedAt,
			Filter: leads.LeadFilter{Query: c.search}})
		require.NoError(t, err)
		require.NotEmpty(t, got)
		_, plan := hook.plan(t, db)
		t.Logf("%s:\n%s", c.search, plan)
		require.Contains(t, plan, c.plan, c.search)
	}
}

// TestAccountAuditEventsUseTheirIndex shows, on PostgreSQL with 60,000
// lead entries in one account's audit log, that the account's own entries
// (AccountOnly), even of an event that has none, are read from their partial
// index, not from the leads' trails.
func TestAccountAuditEventsUseTheirIndex(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	if pg == nil {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	db := pg.Store.DB()
	for _, q := range []string{
		`INSERT INTO accounts (id, name, duplicate_policy, created_at, updated_at) VALUES ('big', '', 'allow', now(), now())`,
		`INSERT INTO audit_log (account_id, lead_id, event, created_at)
			SELECT 'big', g, 'lead_created', now() FROM generate_series(1, 60000) g`,
		`INSERT INTO audit_log (account_id, event, created_at) VALUES ('big', 'team_created', now())`,
		`ANALYZE audit_log`,
	} {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	hook := watchSelects(pg, "audit_log")
	for _, q := range []leads.AuditQuery{
		{AccountID: "big", AccountOnly: true, Limit: 51},
		{AccountID: "big", AccountOnly: true, Event: "rotation_updated", Limit: 51},
	} {
		got, err := pg.Store.AuditEntries(ctx, q)
		require.NoError(t, err)
		for _, e := range got {
			require.Zero(t, e.LeadID)
		}
		_, plan := hook.plan(t, db)
		t.Logf("%+v:\n%s", q, plan)
		require.Contains(t, plan, "audit_log_account_events")
	}
}

// TestDuplicateEmailLookupByItsIndexOnStaleStatistics shows, on
// PostgreSQL, that the create path's duplicate-email lookup finds the email
// by account and email (leads_email_norm) in the generic plan its prepared
// statement keeps, even when the statistics say no lead has an email (the
// account's 3,000 leads analyzed before any had one) and 3,000 with emails
// came since: a plan that reads the account's leads and filters on the
// email made each create slower than the last until the next ANALYZE.
func TestDuplicateEmailLookupByItsIndexOnStaleStatistics(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	if pg == nil {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	conn, err := pg.Store.DB().Conn(ctx)
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	for _, q := range []string{
		`INSERT INTO accounts (id, name, duplicate_policy, created_at, updated_at) VALUES ('big', '', 'allow', now(), now())`,
		`INSERT INTO leads (account_id, first_name, last_name, email, phone, company, created_at, updated_at)
			SELECT 'big', 'First' || g, 'Last' || g, '', '555' || g, '', now(), now() FROM generate_series(1, 3000) g`,
		`ANALYZE leads`,
		`INSERT INTO leads (account_id, first_name, last_name, email, email_norm, phone, company, created_at, updated_at)
			SELECT 'big', 'First' || g, 'Last' || g, 'lead' || g || '@example.com', 'lead' || g || '@example.com', '', '', now(), now()
			FROM generate_series(1, 3000) g`,
		`SET plan_cache_mode = force_generic_plan`,
		`PREPARE facts(text[], text[], bigint[], text[], text[], text[]) AS ` + store.LeadFactsBatchSQLForTest,
	} {
		_, err := conn.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	rows, err := conn.QueryContext(ctx, `EXPLAIN (COSTS OFF) EXECUTE facts('{NULL}', '{lead42@example.com}', '{0}', '{big}', '{""}', '{NULL}')`)
	require.NoError(t, err)
	var lines []string
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		lines = append(lines, line)
	}
	require.NoError(t, rows.Err())
	plan := strings.Join(lines, "\n")
	t.Log(plan)
	require.Contains(t, plan, "Index Cond: ((account_id = q.account) AND (email_norm = q.email))",
		"the email looked up by account and email, not read from the account's leads")
}
