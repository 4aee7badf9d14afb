package leads_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestManageLeads(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"every filter alone and combined", testFilters},
		{"search is safe for %, _, quotes and backslashes", testSearchEscapes},
		{"search ignores case beyond ASCII", testSearchUnicodeCase},
		{"paging under concurrent inserts returns every lead once", testPagingUnderInserts},
		{"bad list options are refused by field", testListValidation},
		{"an update changes only the fields sent, audited", testUpdateAudit},
		{"metadata merges key by key and null removes", testMetadataMerge},
		{"an invalid update changes nothing", testInvalidUpdate},
		{"an update re-checks team, source, email and assignee", testUpdateRules},
		{"an update to a taken externalId is refused, even concurrently", testUpdateExternalID},
		{"If-Match refuses a stale write", testIfMatch},
		{"assign takes the next turn, audited", testAssign},
		{"delete keeps the audit trail for admins", testDelete},
		{"another account's lead is not found", testTenancyOnLeads},
	})
}

// seedLeads creates leads with the given attributes at successive minutes.
type seed struct {
	first, email, phone, company string
	status                       leads.Status
	team, source                 int64
	assignee                     string
	archived                     bool
	externalID                   string
	hotScore                     *int64
}

func (b *bundle) seed(t *testing.T, seeds []seed) []int64 {
	t.Helper()
	var ids []int64
	for _, s := range seeds {
		in := leads.LeadInput{FirstName: s.first, LastName: "Example", Email: s.email, Phone: s.phone, Company: s.company,
			Status: s.status, TeamID: s.team, LeadSourceID: s.source, AssignedTo: s.assignee, Archived: s.archived,
			ExternalID: s.externalID, HotScore: s.hotScore}
		ids = append(ids, b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead.ID)
		b.clock.Advance(time.Minute)
	}
	return ids
}

func (b *bundle) list(t *testing.T, opts leads.ListOptions) []int64 {
	t.Helper()
	page, err := b.svc.ListLeads(context.Background(), b.agent, opts)
	require.NoError(t, err)
	ids := []int64{}
	for _, l := range page.Data {
		ids = append(ids, l.ID)
	}
	return ids
}

func testFilters(t *testing.T, b *bundle) {
	west, east := b.team(t, "West"), b.team(t, "East")
	web := b.source(t, west.ID, "Web")
	start := b.clock.Now()
	r1, r2 := b.reps[0], b.reps[1]
	score := func(n int64) *int64 { return &n }
	ids := b.seed(t, []seed{
		{first: "Ada", email: "ada@analytical.io", status: "new", team: west.ID, source: web.ID, assignee: r1, externalID: "CRM-A", hotScore: score(90)},
		{first: "Grace", phone: "+1 555 0100", company: "Navy", status: "contacted", team: west.ID, assignee: r2, hotScore: score(80)},
		{first: "Alan", company: "Bletchley", status: "qualified", team: east.ID, externalID: "crm-a", hotScore: score(0)},
		{first: "Edsger", email: "ed@dijkstra.nl", status: "new", assignee: r1, archived: true, hotScore: score(95)},
		{first: "Barbara", company: "MIT", status: "lost", team: east.ID, assignee: r2},
	})
	ada, grace, alan, edsger, barbara := ids[0], ids[1], ids[2], ids[3], ids[4]
	at := func(minutes int) *time.Time { t := start.Add(time.Duration(minutes) * time.Minute); return &t }
	// The zero filter keeps live leads only, as GET /leads does.
	f := func(filter leads.LeadFilter) leads.ListOptions { return leads.ListOptions{Filter: filter} }
	cases := []struct {
		name string
		opts leads.ListOptions
		want []int64
	}{
		{"default: live leads, newest first", f(leads.LeadFilter{}), []int64{barbara, alan, grace, ada}},
		{"the zero options too", leads.ListOptions{}, []int64{barbara, alan, grace, ada}},
		{"one status", f(leads.LeadFilter{Statuses: []leads.Status{"new"}}), []int64{ada}},
		{"several statuses", f(leads.LeadFilter{Statuses: []leads.Status{"new", "lost"}}), []int64{barbara, ada}},
		{"team", f(leads.LeadFilter{TeamID: west.ID}), []int64{grace, ada}},
		{"lead source", f(leads.LeadFilter{LeadSourceID: web.ID}), []int64{ada}},
		{"assignee", f(leads.LeadFilter{AssignedTo: r2}), []int64{barbara, grace}},
		{"assignee in capitals", f(leads.LeadFilter{AssignedTo: "REP2@example.com"}), []int64{barbara, grace}},
		{"unassigned", f(leads.LeadFilter{Unassigned: true}), []int64{alan}},
		{"archived", leads.ListOptions{Filter: leads.LeadFilter{Archived: leads.ArchivedOnly}}, []int64{edsger}},
		{"archived or not", leads.ListOptions{Filter: leads.LeadFilter{Archived: leads.LiveAndArchived}}, []int64{barbara, edsger, alan, grace, ada}},
		{"created after (inclusive)", f(leads.LeadFilter{CreatedAfter: at(2)}), []int64{barbara, alan}},
		{"created before (exclusive)", f(leads.LeadFilter{CreatedBefore: at(2)}), []int64{grace, ada}},
		{"created between", f(leads.LeadFilter{CreatedAfter: at(1), CreatedBefore: at(3)}), []int64{alan, grace}},
		{"search by name", f(leads.LeadFilter{Query: "GRACE"}), []int64{grace}},
		{"search by full name", f(leads.LeadFilter{Query: "ada example"}), []int64{ada}},
		{"search by email", f(leads.LeadFilter{Query: "analytical"}), []int64{ada}},
		{"search by phone", f(leads.LeadFilter{Query: "555 0100"}), []int64{grace}},
		{"search by company", f(leads.LeadFilter{Query: "mit"}), []int64{barbara}},
		{"oldest first", leads.ListOptions{Filter: leads.LeadFilter{Archived: leads.LiveOnly}, Ascending: true}, []int64{ada, grace, alan, barbara}},
		{"team and status", f(leads.LeadFilter{TeamID: east.ID, Statuses: []leads.Status{"qualified"}}), []int64{alan}},
		{"assignee and status and search", f(leads.LeadFilter{AssignedTo: r1, Statuses: []leads.Status{"new"}, Query: "ada"}), []int64{ada}},
		{"team, assignee and dates", f(leads.LeadFilter{TeamID: east.ID, AssignedTo: r2, CreatedAfter: at(3)}), []int64{barbara}},
		{"archived with assignee", leads.ListOptions{Filter: leads.LeadFilter{Archived: leads.ArchivedOnly, AssignedTo: r1}}, []int64{edsger}},
		{"external id", f(leads.LeadFilter{ExternalID: "CRM-A"}), []int64{ada}},
		{"external id, trimmed", f(leads.LeadFilter{ExternalID: " CRM-A "}), []int64{ada}},
		{"external id of another case: another id", f(leads.LeadFilter{ExternalID: "crm-a"}), []int64{alan}},
		{"hot score at least", f(leads.LeadFilter{HotScoreMin: score(80)}), []int64{grace, ada}},
		{"hot score at most: none is not zero", f(leads.LeadFilter{HotScoreMax: score(80)}), []int64{alan, grace}},
		{"hot score between", f(leads.LeadFilter{HotScoreMin: score(1), HotScoreMax: score(85)}), []int64{grace}},
		{"hot score, team and archived or not", leads.ListOptions{Filter: leads.LeadFilter{HotScoreMin: score(80), TeamID: west.ID,
			Archived: leads.LiveAndArchived}}, []int64{grace, ada}},
		{"hot leads, archived too", leads.ListOptions{Filter: leads.LeadFilter{HotScoreMin: score(91), Archived: leads.LiveAndArchived}}, []int64{edsger}},
		{"nothing matches", f(leads.LeadFilter{TeamID: west.ID, Statuses: []leads.Status{"lost"}}), []int64{}},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, b.list(t, tc.opts), tc.name)
	}

	// updatedAt order follows the last change.
	_, err := b.svc.UpdateLead(context.Background(), b.agent, ada, leads.LeadPatch{"notes": "called back"}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, []int64{ada, barbara, alan, grace}, b.list(t, leads.ListOptions{Sort: leads.SortUpdatedAt, Filter: leads.LeadFilter{Archived: leads.LiveOnly}}))
}

// testSearchUnicodeCase: the search ignores letter case in every script,
// not only ASCII's (SQLite's lower() and LIKE fold ASCII letters alone), and
// GLOB's own wildcards in a query are taken literally.
func testSearchUnicodeCase(t *testing.T, b *bundle) {
	ids := b.seed(t, []seed{
		{first: "José", company: "Ñúñez SA"},
		{first: "Émile", company: "ÇA Société"},
		{first: "Star", company: "A*B [x]? Ltd"},
		{first: "Δημήτρης", company: "ΑΘΗΝΑ"},
	})
	for q, want := range map[string][]int64{
		"ñúñez":    {ids[0]},
		"ÑÚÑEZ":    {ids[0]},
		"JOSÉ":     {ids[0]},
		"josé ñ":   {},
		"émile":    {ids[1]},
		"ÉMILE":    {ids[1]},
		"ça soc":   {ids[1]},
		"SOCIÉTÉ":  {ids[1]},
		"a*b [x]?": {ids[2]},
		"*":        {ids[2]},
		"[x]":      {ids[2]},
		"?é":       {},
		"δημήτρης": {ids[3]},
		"αθηνα":    {ids[3]},
	} {
		require.Equal(t, want, b.list(t, leads.ListOptions{Filter: leads.LeadFilter{Query: q}}), "q=%s", q)
	}
}

func testSearchEscapes(t *testing.T, b *bundle) {
	ids := b.seed(t, []seed{
		{first: "Percent", company: "100% Growth"},
		{first: "Underscore", company: "snake_case ltd"},
		{first: "Quote", company: "O'Reilly"},
		{first: "Plain", company: "1000 Growth"},
		{first: "Backslash", company: `C:\Temp`},
		{first: "Double", company: `"Quoted" Inc`},
	})
	for q, want := range map[string][]int64{
		"100%":         {ids[0]},
		"e_c":          {ids[1]},
		"o'reilly":     {ids[2]},
		"%":            {ids[0]},
		"_":            {ids[1]},
		"%%":           {},
		"1_0":          {},
		`\`:            {ids[4]},
		`:\t`:          {ids[4]},
		`\%`:           {},
		`"quoted"`:     {ids[5]},
		`"`:            {ids[5]},
		`'`:            {ids[2]},
		`' OR 1=1 --`:  {},
		`" OR ""="`:    {},
		`'); DROP --`:  {},
		`\' OR 1=1 --`: {},
	} {
		require.Equal(t, want, b.list(t, leads.ListOptions{Filter: leads.LeadFilter{Query: q}}), "q=%s", q)
	}
}

func testPagingUnderInserts(t *testing.T, b *bundle) {
	const existing = 1000
	before := map[int64]bool{}
	for range existing / 100 {
		// Many leads share a timestamp: the id must break ties.
		for range 100 {
			before[b.mustCreate(t, lead("Old"), leads.CreateOptions{}).Lead.ID] = true
		}
		b.clock.Advance(time.Second)
	}
	for _, order := range []bool{false, true} {
		seen := map[int64]int{}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 5 { // 50 inserts in all while paging
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := b.create(lead("New"), leads.CreateOptions{}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		opts := leads.ListOptions{Limit: 37, Ascending: order}
		for {
			page, err := b.svc.ListLeads(context.Background(), b.agent, opts)
			require.NoError(t, err)
			for _, l := range page.Data {
				seen[l.ID]++
			}
			if page.NextCursor == nil {
				break
			}
			opts.Cursor = *page.NextCursor
		}
		close(stop)
		wg.Wait()
		for id := range before {
			require.Equal(t, 1, seen[id], "lead %d (ascending=%v) seen %d times", id, order, seen[id])
		}
		for id, n := range seen {
			require.Equal(t, 1, n, "lead %d seen twice", id)
		}
	}
}

func testListValidation(t *testing.T, b *bundle) {
	below, above := int64(-1), int64(leads.MaxHotScore+1)
	cases := []struct {
		opts  leads.ListOptions
		field string
	}{
		{leads.ListOptions{Sort: "name"}, "sort"},
		{leads.ListOptions{Limit: 501}, "limit"},
		{leads.ListOptions{Limit: -1}, "limit"},
		{leads.ListOptions{Filter: leads.LeadFilter{Statuses: []leads.Status{"won"}}}, "status"},
		{leads.ListOptions{Cursor: "not-a-cursor"}, "cursor"},
		{leads.ListOptions{Filter: leads.LeadFilter{HotScoreMin: &below}}, "hotScoreMin"},
		{leads.ListOptions{Filter: leads.LeadFilter{HotScoreMax: &above}}, "hotScoreMax"},
		{leads.ListOptions{Filter: leads.LeadFilter{ExternalID: "crm\x00"}}, "externalId"},
	}
	for _, tc := range cases {
		_, err := b.svc.ListLeads(context.Background(), b.agent, tc.opts)
		requireCode(t, err, leads.CodeValidation)
		require.Equal(t, tc.field, leads.ErrorDetails(err)["field"])
	}
	b.seed(t, []seed{{first: "A"}, {first: "B"}})
	page, err := b.svc.ListLeads(context.Background(), b.agent, leads.ListOptions{Limit: 1})
	require.NoError(t, err)
	_, err = b.svc.ListLeads(context.Background(), b.agent, leads.ListOptions{Limit: 1, Cursor: *page.NextCursor, Sort: leads.SortUpdatedAt})
	requireCode(t, err, leads.CodeValidation)
	require.Contains(t, leads.ErrorDetails(err)["message"], "another order")
}

// events returns the lead's audit entries after the first n, as event names
// with their data in JSON, for exact comparison.
func events(t *testing.T, l *leads.Lead, skip int) []string {
	t.Helper()
	var out []string
	for _, e := range l.AuditLog[skip:] {
		data, err := json.Marshal(e.Data)
		require.NoError(t, err)
		out = append(out, e.Event+" "+string(data))
	}
	return out
}

func testUpdateAudit(t *testing.T, b *bundle) {
	ctx := context.Background()
	in := lead("Ada")
	in.Phone, in.Company = "555-0100", "Engines"
	created := b.mustCreate(t, in, leads.CreateOptions{}).Lead
	b.clock.Advance(time.Minute)

	l, err := b.svc.UpdateLead(ctx, b.agent, created.ID, leads.LeadPatch{"status": "contacted"}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{`status_changed {"from":"new","to":"contacted"}`}, events(t, l, 1))
	require.Equal(t, "555-0100", l.Phone, "fields not sent stay")
	require.Equal(t, b.clock.Now(), l.UpdatedAt)

	l, err = b.svc.UpdateLead(ctx, b.agent, created.ID, leads.LeadPatch{"assignedTo": b.reps[3]}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{`lead_reassigned {"from":"","reason":"manual","to":"rep4@example.com"}`}, events(t, l, 2))

	l, err = b.svc.UpdateLead(ctx, b.agent, created.ID, leads.LeadPatch{"phone": nil, "company": "Analytical Engines", "numberOfEmployees": 12}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{`lead_updated {"changes":{"company":{"from":"Engines","to":"Analytical Engines"},"numberOfEmployees":{"from":null,"to":12},"phone":{"from":"555-0100","to":null}}}`}, events(t, l, 3))
	require.Empty(t, l.Phone)
	require.EqualValues(t, 12, *l.NumberOfEmployees)

	// All three kinds at once, in a stable order; then a no-op writes nothing.
	l, err = b.svc.UpdateLead(ctx, b.agent, created.ID, leads.LeadPatch{"status": "qualified", "assignedTo": b.reps[4], "notes": "hot"}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, []string{
		`status_changed {"from":"contacted","to":"qualified"}`,
		`lead_reassigned {"from":"rep4@example.com","reason":"manual","to":"rep5@example.com"}`,
		`lead_updated {"changes":{"notes":{"from":null,"to":"hot"}}}`,
	}, events(t, l, 4))
	version := l.UpdatedAt
	l, err = b.svc.UpdateLead(ctx, b.agent, created.ID, leads.LeadPatch{"status": "qualified", "notes": "hot", "id": 999, "createdAt": "x"}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Len(t, l.AuditLog, 7, "no change, no entry")
	require.Equal(t, version, l.UpdatedAt)
}

func testMetadataMerge(t *testing.T, b *bundle) {
	ctx := context.Background()
	in := lead("Ada")
	in.Metadata = map[string]any{"utm": "google", "score": 10, "tags": []any{"a"}}
	id := b.mustCreate(t, in, leads.CreateOptions{}).Lead.ID
	l, err := b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"metadata": map[string]any{"score": 11, "utm": nil, "new": true}}, leads.UpdateOptions{})
	require.NoError(t, err)
	meta, _ := json.Marshal(l.Metadata)
	require.JSONEq(t, `{"score":11,"tags":["a"],"new":true}`, string(meta))
	require.Equal(t, []string{`lead_updated {"changes":{"metadata":{"from":{"new":null,"score":10,"utm":"google"},"to":{"new":true,"score":11,"utm":null}}}}`}, events(t, l, 1))

	l, err = b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"metadata": nil}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Nil(t, l.Metadata, "null removes all metadata")
}

func testInvalidUpdate(t *testing.T, b *bundle) {
	ctx := context.Background()
	in := lead("Ada")
	in.Email = "ada@example.com"
	before := b.mustCreate(t, in, leads.CreateOptions{}).Lead
	for _, tc := range []struct {
		patch leads.LeadPatch
		field string
	}{
		{leads.LeadPatch{"phone": "555", "email": "not-an-email"}, "email"},
		{leads.LeadPatch{"status": "won", "notes": "x"}, "status"},
		{leads.LeadPatch{"status": nil}, "status"},
		{leads.LeadPatch{"firstName": nil}, "firstName"},
		{leads.LeadPatch{"numberOfEmployees": "many"}, "numberOfEmployees"},
		{leads.LeadPatch{"lastContacted": "yesterday"}, "lastContacted"},
		{leads.LeadPatch{"favouriteColour": "blue"}, "favouriteColour"},
		{leads.LeadPatch{"createdBy": "someone@else.com"}, "createdBy"},
		{leads.LeadPatch{"metadata": "flat"}, "metadata"},
	} {
		_, err := b.svc.UpdateLead(ctx, b.agent, before.ID, tc.patch, leads.UpdateOptions{})
		requireCode(t, err, leads.CodeValidation)
		require.Equal(t, tc.field, leads.ErrorDetails(err)["field"], "%v", tc.patch)
	}
	after, err := b.svc.Lead(ctx, b.agent, before.ID)
	require.NoError(t, err)
	require.Equal(t, before, after, "nothing changed, not even updatedAt or the audit log")
}

func testUpdateRules(t *testing.T, b *bundle) {
	ctx := context.Background()
	west, east := b.team(t, "West"), b.team(t, "East")
	web := b.source(t, west.ID, "Web")
	taken := lead("Taken")
	taken.Email, taken.TeamID, taken.LeadSourceID = "taken@example.com", west.ID, web.ID
	first := b.mustCreate(t, taken, leads.CreateOptions{}).Lead
	in := lead("Ada")
	in.TeamID, in.LeadSourceID = west.ID, web.ID
	id := b.mustCreate(t, in, leads.CreateOptions{}).Lead.ID

	_, err := b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"teamId": nil, "leadSourceId": nil}, leads.UpdateOptions{})
	requireCode(t, err, leads.CodeTeamRequired)
	_, err = b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"teamId": east.ID}, leads.UpdateOptions{})
	requireCode(t, err, leads.CodeLeadSourceNotFound) // the Web source is not East's
	_, err = b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"teamId": 98765}, leads.UpdateOptions{})
	requireCode(t, err, leads.CodeTeamNotFound)
	_, err = b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"leadSourceId": nil}, leads.UpdateOptions{})
	requireCode(t, err, leads.CodeLeadSourceRequired)
	l, err := b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"teamId": east.ID, "leadSourceId": nil}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, east.ID, l.TeamID)

	_, err = b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"email": "TAKEN@example.com"}, leads.UpdateOptions{})
	requireCode(t, err, leads.CodeDuplicateEmail)
	require.Equal(t, first.ID, leads.ErrorDetails(err)["existingLeadId"])
	_, err = b.svc.UpdateLead(ctx, b.agent, first.ID, leads.LeadPatch{"email": "Taken@Example.com"}, leads.UpdateOptions{})
	require.NoError(t, err, "a lead does not duplicate itself")
	_, err = b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"email": "free@example.com"}, leads.UpdateOptions{})
	require.NoError(t, err)
	_, err = b.create(leads.LeadInput{FirstName: "Again", LastName: "L", Email: "free@example.com", TeamID: east.ID}, leads.CreateOptions{})
	requireCode(t, err, leads.CodeDuplicateEmail)

	_, err = b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"assignedTo": "stranger@example.com"}, leads.UpdateOptions{})
	requireCode(t, err, leads.CodeMemberNotInAccount)
}

func testUpdateExternalID(t *testing.T, b *bundle) {
	ctx := context.Background()
	taken := lead("Taken")
	taken.ExternalID = "CRM-1"
	first := b.mustCreate(t, taken, leads.CreateOptions{}).Lead
	id := b.mustCreate(t, lead("Ada"), leads.CreateOptions{}).Lead.ID

	_, err := b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"externalId": " CRM-1 "}, leads.UpdateOptions{})
	requireCode(t, err, leads.CodeDuplicateExternalID)
	require.Equal(t, first.ID, leads.ErrorDetails(err)["existingLeadId"])
	require.Equal(t, "CRM-1", leads.ErrorDetails(err)["externalId"])
	_, err = b.svc.UpdateLead(ctx, b.agent, first.ID, leads.LeadPatch{"externalId": "CRM-1", "notes": "same id"}, leads.UpdateOptions{})
	require.NoError(t, err, "a lead does not duplicate itself")
	l, err := b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"externalId": "crm-1"}, leads.UpdateOptions{})
	require.NoError(t, err, "another case is another id")
	require.Equal(t, "crm-1", l.ExternalID)
	_, err = b.svc.UpdateLead(ctx, b.agent, first.ID, leads.LeadPatch{"externalId": nil}, leads.UpdateOptions{})
	require.NoError(t, err)
	_, err = b.create(taken, leads.CreateOptions{})
	require.NoError(t, err, "an id cleared by an update is free again")

	// Leads changed at once to one new id: one gets it; the others, past
	// the check before the lock, meet the unique index.
	ids := make([]int64, 8)
	for i := range ids {
		ids[i] = b.mustCreate(t, lead(fmt.Sprint("Racer", i)), leads.CreateOptions{}).Lead.ID
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.svc.UpdateLead(ctx, b.agent, id, leads.LeadPatch{"externalId": "CRM-race"}, leads.UpdateOptions{})
		}()
	}
	wg.Wait()
	var winner int64
	for i, err := range errs {
		if err == nil {
			require.Zero(t, winner, "one update gets the id")
			winner = ids[i]
		}
	}
	require.NotZero(t, winner)
	for _, err := range errs {
		if err != nil {
			requireCode(t, err, leads.CodeDuplicateExternalID)
			require.Equal(t, winner, leads.ErrorDetails(err)["existingLeadId"])
		}
	}
}

func testIfMatch(t *testing.T, b *bundle) {
	ctx := context.Background()
	l := b.mustCreate(t, lead("Ada"), leads.CreateOptions{}).Lead
	seen := l.UpdatedAt
	// The clock is frozen: versions still change with every write.
	first, err := b.svc.UpdateLead(ctx, b.agent, l.ID, leads.LeadPatch{"notes": "rep A"}, leads.UpdateOptions{IfMatch: &seen})
	require.NoError(t, err)
	require.True(t, first.UpdatedAt.After(seen))
	_, err = b.svc.UpdateLead(ctx, b.agent, l.ID, leads.LeadPatch{"notes": "rep B"}, leads.UpdateOptions{IfMatch: &seen})
	requireCode(t, err, leads.CodePreconditionFailed)
	require.Equal(t, first.UpdatedAt, leads.ErrorDetails(err)["updatedAt"])
	now, err := b.svc.Lead(ctx, b.agent, l.ID)
	require.NoError(t, err)
	require.Equal(t, "rep A", now.Notes, "the stale write did not overwrite")
}

func testAssign(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 3)
	west := b.team(t, "West")
	westRot := b.rotation(t, leads.Rotation{Name: "West", TeamID: west.ID, Members: []leads.RotationMember{{User: b.reps[5]}}})
	l := b.mustCreate(t, lead("Ada"), leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead
	require.Equal(t, b.reps[0], l.AssignedTo)

	res, err := b.svc.AssignLead(ctx, b.agent, l.ID, leads.AssignOptions{})
	require.NoError(t, err)
	got, a := res.Lead, res.Assignment
	require.Equal(t, b.reps[1], got.AssignedTo)
	require.Equal(t, leads.AssignRotation, a.Reason)
	require.EqualValues(t, 2, got.RotationTurn)
	require.Equal(t, []string{fmt.Sprintf(`lead_reassigned {"decision":{"eligible":["rep1@example.com","rep2@example.com","rep3@example.com"],"step":"default"},"from":"rep1@example.com","reason":"rotation","rotationId":%d,"rotationName":"default","to":"rep2@example.com","turn":2}`, rot.ID)}, events(t, got, 2))

	res, err = b.svc.AssignLead(ctx, b.agent, l.ID, leads.AssignOptions{RotationID: westRot.ID})
	require.NoError(t, err)
	got = res.Lead
	require.Equal(t, b.reps[5], got.AssignedTo)
	_, err = b.svc.AssignLead(ctx, b.agent, l.ID, leads.AssignOptions{RotationID: 987654})
	requireCode(t, err, leads.CodeRotationNotFound)

	rot.Members = []leads.RotationMember{{User: b.reps[0], Paused: true}}
	_, err = b.svc.ReplaceRotation(ctx, b.admin, *rot)
	require.NoError(t, err)
	_, err = b.svc.AssignLead(ctx, b.agent, l.ID, leads.AssignOptions{})
	requireCode(t, err, leads.CodeNoEligibleMember)

	other := newBundle(t, b.env)
	orphan := other.mustCreate(t, lead("Nobody"), leads.CreateOptions{}).Lead
	_, err = other.svc.AssignLead(ctx, other.agent, orphan.ID, leads.AssignOptions{})
	requireCode(t, err, leads.CodeNoRotation)
	_, err = b.svc.AssignLead(ctx, b.agent, orphan.ID, leads.AssignOptions{})
	requireCode(t, err, leads.CodeNotFound)
}

func testDelete(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.defaultRotation(t, 2)
	in := lead("Ada")
	in.Email = "ada@example.com"
	l := b.mustCreate(t, in, leads.CreateOptions{IdempotencyKey: "k1"}).Lead

	requireCode(t, b.svc.DeleteLead(ctx, b.agent, l.ID), leads.CodeForbidden)
	manager := leads.Actor{AccountID: b.accountID, Email: "manager@example.com", Role: leads.RoleManager}
	require.NoError(t, b.svc.DeleteLead(ctx, manager, l.ID))
	requireCode(t, b.svc.DeleteLead(ctx, manager, l.ID), leads.CodeNotFound)

	_, err := b.svc.Lead(ctx, b.agent, l.ID)
	requireCode(t, err, leads.CodeNotFound)
	require.NotContains(t, b.list(t, leads.ListOptions{}), l.ID)
	_, err = b.create(in, leads.CreateOptions{})
	require.NoError(t, err, "the email is free again")
	again, err := b.create(lead("Other"), leads.CreateOptions{IdempotencyKey: "k1"})
	require.NoError(t, err, "the deleted lead's idempotency key went with it")
	require.False(t, again.Replayed)

	_, err = b.svc.AuditLog(ctx, manager, leads.AuditQuery{LeadID: l.ID}, "")
	requireCode(t, err, leads.CodeForbidden)
	page, err := b.svc.AuditLog(ctx, b.admin, leads.AuditQuery{LeadID: l.ID}, "")
	require.NoError(t, err)
	var names []string
	for _, e := range page.Data {
		names = append(names, e.Event)
	}
	require.Equal(t, []string{"lead_created", "lead_assigned", "lead_deleted"}, names)
	deleted := page.Data[2].Data["lead"].(map[string]any)
	require.Equal(t, "ada@example.com", deleted["email"])
	require.Equal(t, "rep1@example.com", deleted["assignedTo"])
	require.Equal(t, "manager@example.com", page.Data[2].User)

	// The rotation's history keeps a deleted lead's turn: Other (rep1, turn 3)
	// is deleted, and after losing its state the rotation still resumes after
	// rep1, not after the re-created Ada (rep2, turn 2).
	require.Equal(t, b.reps[0], again.Lead.AssignedTo)
	require.NoError(t, b.svc.DeleteLead(ctx, manager, again.Lead.ID))
	b.rotator = b.newRotator(t)
	if b.redis != nil {
		b.redis.FlushPrefix(t)
	}
	b.svc = b.newService(b.store)
	next := b.mustCreate(t, lead("Next"), leads.CreateOptions{}).Lead
	require.Equal(t, b.reps[1], next.AssignedTo)

	// Paging the audit log.
	first, err := b.svc.AuditLog(ctx, b.admin, leads.AuditQuery{Limit: 2}, "")
	require.NoError(t, err)
	require.Len(t, first.Data, 2)
	second, err := b.svc.AuditLog(ctx, b.admin, leads.AuditQuery{Limit: 2}, *first.NextCursor)
	require.NoError(t, err)
	require.Greater(t, second.Data[0].ID, first.Data[1].ID)
}

func testTenancyOnLeads(t *testing.T, b *bundle) {
	ctx := context.Background()
	other := newBundle(t, b.env)
	other.defaultRotation(t, 1)
	theirs := other.mustCreate(t, lead("Theirs"), leads.CreateOptions{}).Lead
	_, err := b.svc.Lead(ctx, b.admin, theirs.ID)
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.UpdateLead(ctx, b.admin, theirs.ID, leads.LeadPatch{"notes": "x"}, leads.UpdateOptions{})
	requireCode(t, err, leads.CodeNotFound)
	b.defaultRotation(t, 1)
	_, err = b.svc.AssignLead(ctx, b.admin, theirs.ID, leads.AssignOptions{})
	requireCode(t, err, leads.CodeNotFound)
	requireCode(t, b.svc.DeleteLead(ctx, b.admin, theirs.ID), leads.CodeNotFound)
	page, err := b.svc.AuditLog(ctx, b.admin, leads.AuditQuery{LeadID: theirs.ID}, "")
	require.NoError(t, err)
	require.Empty(t, page.Data)
	require.Empty(t, b.list(t, leads.ListOptions{}))
	still, err := other.svc.Lead(ctx, other.admin, theirs.ID)
	require.NoError(t, err)
	require.Equal(t, "", still.Notes)
}
