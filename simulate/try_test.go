package simulate_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
	"github.com/leadrotor/leadrotor/simulate"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// tryRig is an account with a history, made by the real Service on a live
// rotator at times a test clock sets.
type tryRig struct {
	svc     *leads.Service
	rotator leads.Rotator
	store   leads.Store
	admin   leads.Actor
	// now is the test clock's time; the history ends before it.
	now          *time.Time
	team, source int64
}

func rep(i int) string { return fmt.Sprintf("rep%d@example.com", i) }

// newTryRig configures an account (a team's rotation of rep1-rep3, rep3
// working Monday to Friday 09:00-17:00 UTC; a default rotation of rep4
// and rep1; a pool "Hot" of rep1 and rep2 at twice rep1's weight; a rule
// sending hot leads to the pool and one holding spam; returning contacts
// by email) and creates six leads from Monday 2026-11-02 10:00, one every
// ten minutes, on a live rotator of kind rotator.
func newTryRig(t *testing.T, s leads.Store, rotator string) *tryRig {
	ctx := context.Background()
	var id [5]byte
	_, _ = rand.Read(id[:])
	account := "try-" + hex.EncodeToString(id[:])
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	r := &tryRig{rotator: newRotator(t, rotator, s), store: s, now: &now,
		admin: leads.Actor{AccountID: account, Email: "admin@example.com", Role: leads.RoleAdmin}}
	r.svc = leads.NewService(s, r.rotator, leads.WithClock(func() time.Time { return *r.now }))
	_, err := r.svc.CreateAccount(ctx, leads.Account{ID: account, Name: "Tried"})
	require.NoError(t, err)
	sys := leads.SystemActor(account)
	members := []leads.Member{{Email: r.admin.Email, Role: leads.RoleAdmin}}
	for i := 1; i <= 4; i++ {
		members = append(members, leads.Member{Email: rep(i), Role: leads.RoleAgent})
	}
	for _, m := range members {
		_, err := r.svc.PutMember(ctx, sys, m)
		require.NoError(t, err)
	}
	// Duplicates allowed: the leads tried are created for real afterwards.
	allow := leads.DuplicateAllow
	_, err = r.svc.UpdateAccount(ctx, r.admin, leads.AccountPatch{DuplicatePolicy: &allow,
		Returning: &leads.ReturningPolicy{MatchBy: []string{leads.MatchEmail}, WindowDays: 30}})
	require.NoError(t, err)
	team, err := r.svc.CreateTeam(ctx, r.admin, leads.Team{Name: "Sales"})
	require.NoError(t, err)
	src, err := r.svc.CreateLeadSource(ctx, r.admin, leads.LeadSource{TeamID: team.ID, Name: "web"})
	require.NoError(t, err)
	r.team, r.source = team.ID, src.ID
	for _, rot := range []leads.Rotation{
		{Name: "Sales", TeamID: team.ID, Members: []leads.RotationMember{{User: rep(1), Weight: 1}, {User: rep(2), Weight: 1}, {User: rep(3), Weight: 1}}},
		{Name: "Default", Default: true, Members: []leads.RotationMember{{User: rep(4), Weight: 1}, {User: rep(1), Weight: 1}}},
	} {
		_, err := r.svc.CreateRotation(ctx, r.admin, rot)
		require.NoError(t, err)
	}
	hot, err := r.svc.CreateRotation(ctx, r.admin, leads.Rotation{Name: "Hot", Members: []leads.RotationMember{{User: rep(1), Weight: 1}, {User: rep(2), Weight: 2}}})
	require.NoError(t, err)
	for _, rule := range []leads.RoutingRule{
		{Name: "Hot leads", Enabled: true, Conditions: leads.Condition{Field: "hotScore", Op: leads.OpGte, Value: 70},
			Action: leads.RuleAction{Type: leads.ActionRotation, RotationID: hot.ID}},
		{Name: "Spam", Enabled: true, Conditions: leads.Condition{Field: "email", Op: leads.OpEndsWith, Value: "@spam.test"},
			Action: leads.RuleAction{Type: leads.ActionHold, Reason: "looks like spam"}},
	} {
		_, err := r.svc.CreateRoutingRule(ctx, r.admin, rule, -1)
		require.NoError(t, err)
	}
	day := []leads.WorkHours{{Start: "09:00", End: "17:00"}}
	_, err = r.svc.SetSchedule(ctx, r.admin, rep(3), &leads.Schedule{Timezone: "UTC", Monday: day, Tuesday: day, Wednesday: day, Thursday: day, Friday: day})
	require.NoError(t, err)
	for i := range 6 {
		in := leads.LeadInput{FirstName: "Past", LastName: fmt.Sprint(i), Email: fmt.Sprintf("past%d@example.com", i)}
		if i%2 == 0 {
			in.TeamID, in.LeadSourceID = team.ID, src.ID
		}
		if i == 5 {
			in.HotScore = ptr(int64(90))
		}
		_, err := r.svc.CreateLead(ctx, r.admin, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
		require.NoError(t, err)
		now = now.Add(10 * time.Minute)
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// state is what the live account has: its leads, and each rotation's
// last stored turn and coming turns as the live rotator sees them.
func (r *tryRig) state(t *testing.T) map[string]any {
	ctx := context.Background()
	cfg, err := r.svc.Configuration(ctx, r.admin)
	require.NoError(t, err)
	page, err := r.svc.ListLeads(ctx, r.admin, leads.ListOptions{Limit: 100})
	require.NoError(t, err)
	out := map[string]any{"leads": len(page.Data)}
	for _, rot := range cfg.Rotations() {
		h, err := r.store.(leads.HistoryStore).RotationHistoryAt(ctx, rot.ID, time.Time{}, time.Time{})
		require.NoError(t, err)
		p, err := r.rotator.Peek(ctx, &rot, *r.now, 3)
		require.NoError(t, err)
		next := make([]string, len(p.Turns))
		for i, turn := range p.Turns {
			next[i] = turn.Assignee
		}
		out[rot.Name] = fmt.Sprintf("stored turn %d; live turn %d, next %v", h.LastTurn, p.Seq, next)
	}
	return out
}

// tryCases are leads for the rig: hot ones taking turns of the pool, the
// team's and the default rotation's, spam, returning contacts of the
// history and of an earlier case, a named owner, and a team lead on a
// Saturday, when rep3 does not work.
func (r *tryRig) tryCases() []simulate.Case {
	lead := func(name string) leads.LeadInput {
		return leads.LeadInput{FirstName: name, LastName: "Case", Email: name + "@example.com"}
	}
	hot := func(name string) leads.LeadInput {
		in := lead(name)
		in.HotScore = ptr(int64(80))
		return in
	}
	team := func(in leads.LeadInput) leads.LeadInput {
		in.TeamID, in.LeadSourceID = r.team, r.source
		return in
	}
	spam := lead("bot")
	spam.Email = "bot@spam.test"
	returning := lead("again")
	returning.Email = "past1@example.com"
	named := team(lead("named"))
	named.AssignedTo = "REP4@example.com"
	saturday := time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC)
	return []simulate.Case{
		{Name: "hot 1", Lead: hot("h1")}, {Name: "hot 2", Lead: hot("h2")}, {Name: "hot 3", Lead: hot("h3")},
		{Name: "team 1", Lead: team(lead("t1"))}, {Name: "team 2", Lead: team(lead("t2"))},
		{Name: "default", Lead: lead("d1")},
		{Name: "spam", Lead: spam},
		{Name: "returning", Lead: returning},
		{Name: "returning case", Lead: team(lead("t1"))},
		{Name: "named", Lead: named},
		{Name: "saturday 1", Lead: team(lead("s1")), At: saturday},
		{Name: "saturday 2", Lead: team(lead("s2")), At: saturday.Add(time.Minute)},
	}
}

// Try decides each case as CreateLead then does, turn after turn, with
// the live account unchanged by it: no lead, no stored turn, no live
// rotator state.
func TestTryDecidesAsCreateLead(t *testing.T) {
	for _, rotator := range rotators {
		t.Run(rotator, func(t *testing.T) {
			t.Parallel()
			for _, b := range storetest.All(t) {
				t.Run(b.Name, func(t *testing.T) {
					ctx := context.Background()
					r := newTryRig(t, b.Store, rotator)
					cfg, err := r.svc.Configuration(ctx, r.admin)
					require.NoError(t, err)
					cases := r.tryCases()
					before := r.state(t)
					tried, err := simulate.Try(ctx, b.Store, cfg, simulate.TryOptions{AccountID: r.admin.AccountID, At: *r.now}, cases)
					require.NoError(t, err)
					require.Len(t, tried, len(cases))
					require.Equal(t, before, r.state(t), "Try wrote nothing and took no live turn")

					got := map[string]simulate.Outcome{}
					for i, c := range cases {
						got[c.Name] = simulate.OutcomeOf(tried[i])
					}
					assert.Equal(t, simulate.Outcome{Rotation: "Hot", Rule: "Hot leads", Owner: rep(1), Step: "rule", Status: "assigned"}, got["hot 1"],
						"the history's hot lead went to rep2, the pool's first turn")
					assert.Equal(t, []string{rep(1), rep(2), rep(2)}, []string{got["hot 1"].Owner, got["hot 2"].Owner, got["hot 3"].Owner}, "turns in order")
					assert.Equal(t, simulate.Outcome{Rule: "Spam", Step: "rule", Status: "unassigned"}, got["spam"])
					assert.Equal(t, "returning", got["returning"].Step)
					assert.Equal(t, simulate.Outcome{Owner: got["team 1"].Owner, Step: "returning", Status: "assigned"}, got["returning case"],
						"a returning contact of an earlier case")
					assert.Equal(t, simulate.Outcome{Owner: rep(4), Step: "explicit", Status: "assigned"}, got["named"])
					for _, r := range tried[len(cases)-2:] {
						assert.Equal(t, []string{rep(1), rep(2)}, r.Assignment.Decision.Eligible, "rep3 does not work on Saturdays")
					}
					rules := tried[0].Assignment.Decision.Rules
					require.Len(t, rules, 1, "the rules tried are described")
					assert.Equal(t, leads.RuleMatched, rules[0].Outcome)

					// The same leads created for real, at the same times, get the same.
					for i, c := range cases {
						at := c.At
						if at.IsZero() {
							at = tried[0].Lead.CreatedAt
						}
						*r.now = at
						res, err := r.svc.CreateLead(ctx, r.admin, c.Lead, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
						require.NoError(t, err, c.Name)
						want := simulate.OutcomeOf(leads.Replayed{Lead: res.Lead, Assignment: res.Assignment})
						assert.Equal(t, want, simulate.OutcomeOf(tried[i]), c.Name)
					}
				})
			}
		})
	}
}

// A proposed configuration is tried as it would be once applied: its
// weights and new rules decide, and a rotation it creates starts with no
// history, even where its draft id is another account's rotation's.
func TestTryProposed(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			r := newTryRig(t, b.Store, "memory")
			live, err := r.svc.Configuration(ctx, r.admin)
			require.NoError(t, err)
			var last int64
			for _, rot := range live.Rotations() {
				last = max(last, rot.ID)
			}
			// Another account's rotation, which gave rep1 a lead today, has
			// the id the draft gives its first new rotation, where rep1 may
			// have one lead a day.
			other := leads.Actor{AccountID: r.admin.AccountID + "-b", Email: r.admin.Email, Role: leads.RoleAdmin}
			_, err = r.svc.CreateAccount(ctx, leads.Account{ID: other.AccountID, Name: "Other"})
			require.NoError(t, err)
			for _, m := range []leads.Member{{Email: r.admin.Email, Role: leads.RoleAdmin}, {Email: rep(1), Role: leads.RoleAgent}, {Email: rep(2), Role: leads.RoleAgent}} {
				_, err := r.svc.PutMember(ctx, leads.SystemActor(other.AccountID), m)
				require.NoError(t, err)
			}
			theirs, err := r.svc.CreateRotation(ctx, other, leads.Rotation{Name: "Theirs", Default: true, Members: []leads.RotationMember{{User: rep(1)}}})
			require.NoError(t, err)
			require.Equal(t, last+1, theirs.ID, "the draft's new rotation will have this id")
			_, err = r.svc.CreateLead(ctx, other, leads.LeadInput{FirstName: "Their", LastName: "Lead"}, leads.CreateOptions{})
			require.NoError(t, err)

			proposal := spec.Spec{
				Rotations: []spec.Rotation{
					{Name: "Hot", Members: []leads.RotationMember{{User: rep(1), Weight: 1}, {User: rep(2), Weight: 1}}},
					{Name: "VIP", Members: []leads.RotationMember{{User: rep(1), Weight: 1, DailyCap: 1}, {User: rep(2), Weight: 1}}},
				},
				RoutingRules: []spec.RoutingRule{{Name: "VIP", Conditions: leads.Condition{Field: "company", Op: leads.OpEq, Value: "Bigco"},
					Action: spec.RuleAction{Type: leads.ActionRotation, Rotation: "VIP"}}},
			}
			cfg, _, err := proposal.Propose(ctx, live, r.admin)
			require.NoError(t, err)
			vip := leads.LeadInput{FirstName: "Big", LastName: "Co", Company: "Bigco"}
			cases := []simulate.Case{
				{Name: "hot 1", Lead: leads.LeadInput{FirstName: "H", LastName: "1", HotScore: ptr(int64(99))}},
				{Name: "hot 2", Lead: leads.LeadInput{FirstName: "H", LastName: "2", HotScore: ptr(int64(99))}},
				{Name: "vip", Lead: vip},
			}
			opts := simulate.TryOptions{AccountID: r.admin.AccountID, At: r.now.Add(time.Minute)}
			tried, err := simulate.Try(ctx, b.Store, live, opts, cases)
			require.NoError(t, err)
			assert.Equal(t, []string{rep(1), rep(2), "Default"},
				[]string{tried[0].Lead.AssignedTo, tried[1].Lead.AssignedTo, tried[2].Assignment.RotationName}, "live: rep2 weighs twice rep1")

			opts.Live = live
			tried, err = simulate.Try(ctx, b.Store, cfg, opts, cases)
			require.NoError(t, err)
			assert.Equal(t, []string{rep(1), rep(1)}, []string{tried[0].Lead.AssignedTo, tried[1].Lead.AssignedTo},
				"proposed: equal weights, from the state the history left")
			assert.Equal(t, simulate.Outcome{Rotation: "VIP", Rule: "VIP", Owner: rep(1), Step: "rule", Status: "assigned"}, simulate.OutcomeOf(tried[2]),
				"the new rotation starts afresh: rep1's lead of the other account's rotation does not count")
		})
	}
}

// Cases at fault are refused before anything is decided, each field by
// its path.
func TestTryRefuses(t *testing.T) {
	t.Parallel()
	cfg := &leads.AccountConfig{Account: leads.Account{ID: "a"}, Members: map[string]leads.Role{rep(1): leads.RoleAgent},
		Teams: map[int64]*leads.Team{1: {ID: 1}}, LeadSources: map[int64]*leads.LeadSource{1: {ID: 1, TeamID: 1}, 2: {ID: 2, TeamID: 2}}}
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	ok := leads.LeadInput{FirstName: "A", LastName: "B"}
	with := func(change func(in *leads.LeadInput)) leads.LeadInput {
		in := ok
		change(&in)
		return in
	}
	for _, tc := range []struct {
		name   string
		cases  []simulate.Case
		fields []string
	}{
		{"a lead CreateLead refuses", []simulate.Case{{Lead: leads.LeadInput{FirstName: "A"}}}, []string{"cases[0].lead.lastName"}},
		{"an owner not a member", []simulate.Case{{Lead: with(func(in *leads.LeadInput) { in.AssignedTo = rep(9) })}}, []string{"cases[0].lead.assignedTo"}},
		{"an unknown team", []simulate.Case{{Lead: with(func(in *leads.LeadInput) { in.TeamID = 7 })}}, []string{"cases[0].lead.teamId"}},
		{"another team's source", []simulate.Case{{Lead: with(func(in *leads.LeadInput) { in.TeamID, in.LeadSourceID = 1, 2 })}}, []string{"cases[0].lead.leadSourceId"}},
		{"time going back", []simulate.Case{{Lead: ok}, {Lead: ok, At: at.Add(-time.Minute)}}, []string{"cases[1].at"}},
		{"every case's faults", []simulate.Case{{Lead: with(func(in *leads.LeadInput) { in.Email = "not an email" })}, {Lead: leads.LeadInput{LastName: "B"}}},
			[]string{"cases[0].lead.email", "cases[1].lead.firstName"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := simulate.Try(context.Background(), nil, cfg, simulate.TryOptions{AccountID: "a", At: at}, tc.cases)
			require.Equal(t, leads.CodeValidation, leads.ErrorCode(err), "%v", err)
			var e *leads.Error
			require.ErrorAs(t, err, &e)
			var fields []string
			if errs, ok := e.Details["errors"].([]leads.FieldError); ok {
				for _, fe := range errs {
					fields = append(fields, fe.Field)
				}
			} else {
				fields = []string{e.Details["field"].(string)}
			}
			assert.Equal(t, tc.fields, fields)
		})
	}
	_, err := simulate.Try(context.Background(), nil, cfg, simulate.TryOptions{AccountID: "b"}, nil)
	require.ErrorContains(t, err, "another account")
}

// Check refuses an expectation that gives nothing, or a step or status
// that is none of theirs.
func TestExpectCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		expect simulate.Expect
		fields []string
	}{
		{"one key", simulate.Expect{Rule: simulate.Expected("")}, nil},
		{"nothing", simulate.Expect{}, []string{"cases[0].expect"}},
		{"an unknown step and status", simulate.Expect{Step: simulate.Expected("rules"), Status: simulate.Expected("done")},
			[]string{"cases[0].expect.step", "cases[0].expect.status"}},
		{"known ones", simulate.Expect{Step: simulate.Expected("Default"), Status: simulate.Expected("waiting")}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fields []string
			for _, fe := range tc.expect.Check("cases[0].expect") {
				fields = append(fields, fe.Field)
			}
			assert.Equal(t, tc.fields, fields)
		})
	}
}

// Compare checks what a case gives, and only that: names and emails
// without regard to case, "none" as "".
func TestExpectCompare(t *testing.T) {
	t.Parallel()
	got := simulate.Outcome{Rotation: "Hot leads", Rule: "Hot", Owner: "ana@example.com", Step: "rule", Status: "assigned"}
	unassigned := simulate.Outcome{Step: "none", Status: "unassigned"}
	for _, tc := range []struct {
		name   string
		expect simulate.Expect
		got    simulate.Outcome
		want   []simulate.Mismatch
	}{
		{"all met", simulate.Expect{Rotation: simulate.Expected("hot LEADS"), Rule: simulate.Expected("hot"), Owner: simulate.Expected("Ana@Example.com"),
			Step: simulate.Expected("rule"), Status: simulate.Expected("assigned")}, got, nil},
		{"only what is given", simulate.Expect{Owner: simulate.Expected("ana@example.com")}, got, nil},
		{"a wrong owner", simulate.Expect{Owner: simulate.Expected("ben@example.com")}, got,
			[]simulate.Mismatch{{Key: "owner", Want: "ben@example.com", Got: "ana@example.com"}}},
		{"none given, some got", simulate.Expect{Rule: simulate.Expected("none"), Rotation: simulate.Expected("")}, got,
			[]simulate.Mismatch{{Key: "rotation", Want: "", Got: "Hot leads"}, {Key: "rule", Want: "", Got: "Hot"}}},
		{"none met", simulate.Expect{Rule: simulate.Expected("none"), Owner: simulate.Expected(""), Step: simulate.Expected("none")}, unassigned, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.expect.Compare(tc.got))
		})
	}
}
