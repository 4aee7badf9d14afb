package spec_test

import (
	"context"
	"iter"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
)

func TestApply(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"a first apply creates everything the spec declares", testApplyCreates},
		{"applying the same spec again changes nothing", testApplyAgain},
		{"a changed spec plans exactly its changes", testApplyChanges},
		{"a dry run writes nothing", testApplyDryRun},
		{"validation errors name the field", testApplyValidation},
		{"rotation members must be members of the account or the file", testApplyMembersRequired},
		{"roles: agents may not plan, managers may not add members", testApplyRoles},
		{"members' working hours are declared exactly", testApplySchedules},
		{"capacities and the account's open statuses are declared", testApplyCapacity},
		{"the returning-contact policy is declared whole", testApplyReturning},
		{"members' time off is added, never removed", testApplyTimeOff},
	})
}

// baseSpec declares a duplicate policy, members (one new, one promoted, one
// as it is), a team with two lead sources and a rotation, and a default
// rotation; emails in mixed case and a weight of 0 test normalization.
func baseSpec() spec.Spec {
	return spec.Spec{
		DuplicatePolicy: leads.DuplicateAllow,
		Members: []spec.Member{
			{Email: "NewRep@Example.com", Role: leads.RoleAgent},
			{Email: "rep4@example.com", Role: leads.RoleManager},
			{Email: "rep5@example.com", Role: leads.RoleAgent},
		},
		Teams: []spec.Team{{
			Name:        "Inbound",
			LeadSources: []string{"Website", "Webinar"},
			Rotation: &spec.Rotation{
				Name:     "Inbound reps",
				Timezone: "America/New_York",
				Members: []leads.RotationMember{
					{User: "Rep1@Example.com", Weight: 2},
					{User: "rep2@example.com", Paused: true},
					{User: "rep3@example.com", DailyCap: 10},
					{User: "newrep@example.com"},
				},
			},
		}},
		DefaultRotation: &spec.Rotation{Name: "Everyone", Members: []leads.RotationMember{
			{User: "rep1@example.com", Weight: 1}, {User: "rep2@example.com"}, {User: "rep3@example.com"},
		}},
	}
}

const basePlan = `~ account setting duplicatePolicy: reject -> allow
+ member newrep@example.com: role: agent
~ member rep4@example.com: role: agent -> manager
= member rep5@example.com
+ team "Inbound"
+ lead source "Website" of team "Inbound"
+ lead source "Webinar" of team "Inbound"
+ rotation "Inbound reps" of team "Inbound": members: [rep1@example.com (weight 2), rep2@example.com (paused), rep3@example.com (dailyCap 10), newrep@example.com]; timezone: "America/New_York"
+ default rotation "Everyone": members: [rep1@example.com, rep2@example.com, rep3@example.com]
`

// config returns the account's configuration.
func (b *bundle) config(t *testing.T) *leads.AccountConfig {
	t.Helper()
	cfg, err := b.svc.Configuration(context.Background(), b.admin)
	require.NoError(t, err)
	return cfg
}

// teamNamed returns the account's team of that name.
func teamNamed(t *testing.T, cfg *leads.AccountConfig, name string) *leads.Team {
	t.Helper()
	return named(t, "team", maps.Values(cfg.Teams), func(team *leads.Team) string { return team.Name }, name)
}

// named returns the item whose name nameOf says is name; a test failure
// when there is none.
func named[T any](t *testing.T, kind string, items iter.Seq[T], nameOf func(T) string, name string) T {
	t.Helper()
	for it := range items {
		if nameOf(it) == name {
			return it
		}
	}
	require.Failf(t, "not found", "no %s named %q", kind, name)
	var zero T
	return zero
}

// sourceNames returns the names of a team's lead sources.
func sourceNames(cfg *leads.AccountConfig, teamID int64) []string {
	var out []string
	for _, src := range cfg.LeadSources {
		if src.TeamID == teamID {
			out = append(out, src.Name)
		}
	}
	return out
}

func testApplyCreates(t *testing.T, b *bundle) {
	plan, err := baseSpec().Apply(context.Background(), b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, basePlan, plan.String())
	require.Equal(t, 8, plan.Changes())
	require.Equal(t, 8, plan.Applied)

	cfg := b.config(t)
	require.Equal(t, leads.DuplicateAllow, cfg.Account.DuplicatePolicy)
	require.Equal(t, leads.RoleAgent, cfg.Members["newrep@example.com"])
	require.Equal(t, leads.RoleManager, cfg.Members["rep4@example.com"])
	team := teamNamed(t, cfg, "Inbound")
	require.ElementsMatch(t, []string{"Website", "Webinar"}, sourceNames(cfg, team.ID))
	rot := cfg.TeamRotations[team.ID]
	require.NotNil(t, rot)
	require.Equal(t, "Inbound reps", rot.Name)
	require.Equal(t, "America/New_York", rot.Timezone)
	require.Empty(t, rot.FallbackAssignee)
	require.Equal(t, []leads.RotationMember{
		{User: "rep1@example.com", Weight: 2},
		{User: "rep2@example.com", Weight: 1, Paused: true},
		{User: "rep3@example.com", Weight: 1, DailyCap: 10},
		{User: "newrep@example.com", Weight: 1},
	}, rot.Members)
	require.NotNil(t, cfg.DefaultRotation)
	require.Equal(t, "Everyone", cfg.DefaultRotation.Name)
	require.Equal(t, "UTC", cfg.DefaultRotation.Timezone)
	require.Equal(t, b.members(3), cfg.DefaultRotation.Members)
}

func testApplyAgain(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := baseSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	before := b.config(t)
	rotation := *before.TeamRotations[teamNamed(t, before, "Inbound").ID]
	b.now = b.now.Add(time.Hour) // any write now would show in UpdatedAt

	plan, err := baseSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Zero(t, plan.Changes(), plan.String())
	require.Zero(t, plan.Applied)
	for _, it := range plan.Items {
		require.Equal(t, spec.Unchanged, it.Kind, it.String())
	}
	after := b.config(t)
	require.Equal(t, before.Version, after.Version, "nothing was written")
	require.Equal(t, rotation.UpdatedAt, after.TeamRotations[rotation.TeamID].UpdatedAt)
}

func testApplyChanges(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := baseSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	old, err := b.svc.CreateTeam(ctx, b.admin, leads.Team{Name: "Old"})
	require.NoError(t, err)
	_, err = b.svc.CreateLeadSource(ctx, b.admin, leads.LeadSource{TeamID: teamNamed(t, b.config(t), "Inbound").ID, Name: "Phone"})
	require.NoError(t, err)

	sp := baseSpec()
	sp.Teams[0].LeadSources = append(sp.Teams[0].LeadSources, "Referral")
	sp.Teams[0].Rotation.Members[0].Paused = true
	sp.Teams[0].Rotation.FallbackAssignee = "Admin@Example.com"
	sp.Teams[0].Rotation.WhenNobodyEligible = leads.NobodyHold
	plan, err := sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Equal(t, 2, plan.Changes())
	var lines []string
	for _, it := range plan.Items {
		if it.Kind != spec.Unchanged {
			lines = append(lines, it.String())
		}
	}
	require.Equal(t, []string{
		`+ lead source "Referral" of team "Inbound"`,
		`. lead source "Phone" of team "Inbound" (not in the file: kept)`,
		`~ rotation "Inbound reps" of team "Inbound": fallbackAssignee: "" -> "admin@example.com"; whenNobodyEligible: "" -> "hold"; rep1@example.com: paused false -> true`,
		`. team "Old" (not in the file: kept)`,
	}, lines)

	plan, err = sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, 2, plan.Applied)
	cfg := b.config(t)
	team := teamNamed(t, cfg, "Inbound")
	require.ElementsMatch(t, []string{"Website", "Webinar", "Phone", "Referral"}, sourceNames(cfg, team.ID))
	rot := cfg.TeamRotations[team.ID]
	require.Equal(t, "admin@example.com", rot.FallbackAssignee)
	require.Equal(t, leads.NobodyHold, rot.WhenNobodyEligible)
	require.True(t, rot.Members[0].Paused)
	require.Equal(t, 2, rot.Members[0].Weight, "the other settings stay")
	require.NotNil(t, cfg.Teams[old.ID], "never deletes")

	plan, err = sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Zero(t, plan.Changes(), "converged:\n%s", plan)
}

func testApplyDryRun(t *testing.T, b *bundle) {
	before := b.config(t)
	plan, err := baseSpec().Apply(context.Background(), b.svc, b.admin, true)
	require.NoError(t, err)
	require.Equal(t, basePlan, plan.String())
	require.Equal(t, 8, plan.Changes())
	require.Zero(t, plan.Applied)
	after := b.config(t)
	require.Equal(t, before.Version, after.Version)
	require.Empty(t, after.Teams)
	require.Nil(t, after.DefaultRotation)
	require.Equal(t, leads.DuplicateReject, after.Account.DuplicatePolicy)
}

// refusal is a change that makes a valid spec refused, and what the
// refusal's details say (the field, or the user).
type refusal struct {
	want   string
	change func(s *spec.Spec)
}

// requireRefused applies each refusal's change of base() and requires the
// error code with its want in details[key].
func (b *bundle) requireRefused(t *testing.T, base func() spec.Spec, code, key string, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		sp := base()
		tc.change(&sp)
		_, err := sp.Apply(context.Background(), b.svc, b.admin, false)
		requireCode(t, err, code)
		require.Equal(t, tc.want, leads.ErrorDetails(err)[key], "%v", err)
	}
}

func testApplyValidation(t *testing.T, b *bundle) {
	ctx := context.Background()
	before := b.config(t)
	b.requireRefused(t, baseSpec, leads.CodeValidation, "field", []refusal{
		{"account", func(s *spec.Spec) { s.Account = "another" }},
		{"duplicatePolicy", func(s *spec.Spec) { s.DuplicatePolicy = "sometimes" }},
		{"members[1].email", func(s *spec.Spec) { s.Members[1].Email = "not an email" }},
		{"members[2].role", func(s *spec.Spec) { s.Members[2].Role = "boss" }},
		{"members[2].email", func(s *spec.Spec) { s.Members[2].Email = "NEWREP@example.com" }},
		{"teams[0].name", func(s *spec.Spec) { s.Teams[0].Name = "  " }},
		{"teams[1].name", func(s *spec.Spec) { s.Teams = append(s.Teams, spec.Team{Name: "Inbound "}) }},
		{"teams[0].leadSources[1]", func(s *spec.Spec) { s.Teams[0].LeadSources[1] = "" }},
		{"teams[0].leadSources[1]", func(s *spec.Spec) { s.Teams[0].LeadSources[1] = "Website" }},
		{"teams[0].rotation.name", func(s *spec.Spec) { s.Teams[0].Rotation.Name = "" }},
		{"teams[0].rotation.timezone", func(s *spec.Spec) { s.Teams[0].Rotation.Timezone = "Mars/Olympus" }},
		{"teams[0].rotation.fallbackAssignee", func(s *spec.Spec) { s.Teams[0].Rotation.FallbackAssignee = "nobody" }},
		{"teams[0].rotation.members[1].user", func(s *spec.Spec) { s.Teams[0].Rotation.Members[1].User = "bad" }},
		{"teams[0].rotation.members[1].user", func(s *spec.Spec) { s.Teams[0].Rotation.Members[1].User = "REP1@example.com" }},
		{"teams[0].rotation.members[2].weight", func(s *spec.Spec) { s.Teams[0].Rotation.Members[2].Weight = leads.MaxMemberWeight + 1 }},
		{"teams[0].rotation.members[3].dailyCap", func(s *spec.Spec) { s.Teams[0].Rotation.Members[3].DailyCap = -1 }},
		{"defaultRotation.name", func(s *spec.Spec) { s.DefaultRotation.Name = "" }},
	})
	sp := baseSpec()
	sp.Account = b.accountID
	_, err := sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err, "the account may be named")
	require.Equal(t, before.Version, b.config(t).Version)
}

func testApplyMembersRequired(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.requireRefused(t, baseSpec, leads.CodeMemberNotInAccount, "user", []refusal{
		{"stranger@example.com", func(s *spec.Spec) { s.Teams[0].Rotation.Members[1].User = "Stranger@example.com" }},
		{"stranger@example.com", func(s *spec.Spec) { s.DefaultRotation.FallbackAssignee = "stranger@example.com" }},
		{"newrep@example.com", func(s *spec.Spec) { s.Members = nil }},
	})
	require.Empty(t, b.config(t).Teams, "nothing written")

	sp := baseSpec()
	sp.Members = []spec.Member{{Email: "admin@example.com", Role: leads.RoleAgent}}
	sp.Teams[0].Rotation.Members = sp.Teams[0].Rotation.Members[:3]
	_, err := sp.Plan(ctx, b.svc, b.admin)
	requireCode(t, err, leads.CodeLastAdmin)
}

func testApplyRoles(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := baseSpec().Plan(ctx, b.svc, b.agent)
	requireCode(t, err, leads.CodeForbidden)
	_, err = baseSpec().Apply(ctx, b.svc, b.agent, true)
	requireCode(t, err, leads.CodeForbidden)
	_, err = baseSpec().Apply(ctx, b.svc, b.agent, false)
	requireCode(t, err, leads.CodeForbidden)

	_, err = b.svc.PutMember(ctx, leads.SystemActor(b.accountID), leads.Member{Email: "boss@example.com", Role: leads.RoleManager})
	require.NoError(t, err)
	manager := leads.Actor{AccountID: b.accountID, Email: "boss@example.com", Role: leads.RoleManager}
	before := b.config(t)
	plan, err := baseSpec().Apply(ctx, b.svc, manager, true)
	require.NoError(t, err, "a manager may see the plan")
	require.Equal(t, basePlan, plan.String())
	_, err = baseSpec().Apply(ctx, b.svc, manager, false)
	requireCode(t, err, leads.CodeForbidden)
	require.Equal(t, before.Version, b.config(t).Version, "refused before writing anything")

	sp := baseSpec()
	sp.DuplicatePolicy, sp.Members = "", nil
	sp.Teams[0].Rotation.Members = sp.Teams[0].Rotation.Members[:3]
	plan, err = sp.Apply(ctx, b.svc, manager, false)
	require.NoError(t, err, "teams and rotations are a manager's")
	require.Equal(t, 5, plan.Applied)
}

func testApplySchedules(t *testing.T, b *bundle) {
	ctx := context.Background()
	hours := func(start, end string) []leads.WorkHours { return []leads.WorkHours{{Start: start, End: end}} }
	sp := spec.Spec{Members: []spec.Member{{Email: "Rep1@Example.com", Role: leads.RoleAgent,
		Schedule: &leads.Schedule{Timezone: "Europe/Paris", Monday: hours("09:00", "17:00"), Friday: hours("09:00", "12:00")}}}}
	plan, err := sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, []string{
		"= member rep1@example.com",
		"+ working hours of member rep1@example.com: Europe/Paris: monday 09:00-17:00, friday 09:00-12:00",
	}, planLines(plan))
	a := b.config(t).Availability["rep1@example.com"]
	require.NotNil(t, a)
	require.Equal(t, hours("09:00", "17:00"), a.Schedule.Monday)

	again, err := sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Zero(t, again.Changes(), "an unchanged file changes nothing")

	sp.Members[0].Schedule.Friday = nil
	plan, err = sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, "~ working hours of member rep1@example.com: Europe/Paris: monday 09:00-17:00, friday 09:00-12:00 -> Europe/Paris: monday 09:00-17:00",
		planLines(plan)[1])
	require.Empty(t, b.config(t).Availability["rep1@example.com"].Schedule.Friday)

	sp.Members[0].Schedule.Monday = hours("17:00", "09:00")
	_, err = sp.Plan(ctx, b.svc, b.admin)
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, "members[0].schedule.monday[0]", leads.ErrorDetails(err)["field"])
	sp.Members[0].Schedule.Monday = hours("09:00", "17:00")

	// Holiday calendars, by name, and the one a member follows.
	sp.HolidayCalendars = []spec.HolidayCalendar{{Name: "France", Timezone: "Europe/Paris", Dates: []string{"2026-12-25", "2027-01-01"}}}
	sp.Members[0].HolidayCalendar = "France"
	plan, err = sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, []string{
		"= member rep1@example.com",
		"= working hours of member rep1@example.com",
		`+ holiday calendar "France": Europe/Paris: 2026-12-25, 2027-01-01`,
		`+ holiday calendar of member rep1@example.com: "France"`,
	}, planLines(plan))
	cfg := b.config(t)
	followed := cfg.HolidayCalendars[cfg.Availability["rep1@example.com"].HolidayCalendarID]
	require.Equal(t, "France", followed.Name)
	require.Equal(t, leads.SkipHoliday, cfg.Away("rep1@example.com", time.Date(2026, 12, 25, 10, 0, 0, 0, time.UTC)))
	again, err = sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Zero(t, again.Changes())
	sp.HolidayCalendars[0].Dates = []string{"2026-12-25"}
	plan, err = sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Equal(t, `~ holiday calendar "France": Europe/Paris: 2026-12-25, 2027-01-01 -> Europe/Paris: 2026-12-25`, planLines(plan)[2])

	for _, tc := range []struct {
		change func(sp *spec.Spec)
		field  string
	}{
		{func(sp *spec.Spec) { sp.Members[0].HolidayCalendar = "Mars" }, "members[0].holidayCalendar"},
		{func(sp *spec.Spec) { sp.HolidayCalendars[0].Timezone = "Local" }, "holidayCalendars[0].timezone"},
		{func(sp *spec.Spec) { sp.HolidayCalendars = append(sp.HolidayCalendars, sp.HolidayCalendars[0]) }, "holidayCalendars[1].name"},
	} {
		bad := sp
		bad.Members = slices.Clone(sp.Members)
		bad.HolidayCalendars = slices.Clone(sp.HolidayCalendars)
		tc.change(&bad)
		_, err := bad.Plan(ctx, b.svc, b.admin)
		requireCode(t, err, leads.CodeValidation)
		require.Equal(t, tc.field, leads.ErrorDetails(err)["field"])
	}
}

// planLines is the plan as lines, as leadrotor apply prints them.
func planLines(p *spec.Plan) []string {
	out := make([]string, len(p.Items))
	for i, it := range p.Items {
		out[i] = it.String()
	}
	return out
}

func testApplyCapacity(t *testing.T, b *bundle) {
	ctx := context.Background()
	sp := spec.Spec{
		OpenStatuses: []leads.Status{leads.StatusQualified, leads.StatusNew},
		DefaultRotation: &spec.Rotation{Name: "Capped", Members: []leads.RotationMember{
			{User: "rep1@example.com", MaxOpenLeads: 5}, {User: "rep2@example.com"}}},
	}
	plan, err := sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, []string{
		"~ account setting openStatuses: [contacted follow_up new] -> [new qualified]",
		`+ default rotation "Capped": members: [rep1@example.com (maxOpenLeads 5), rep2@example.com]`,
	}, planLines(plan))
	cfg := b.config(t)
	require.Equal(t, []leads.Status{leads.StatusNew, leads.StatusQualified}, cfg.Account.OpenStatuses)
	require.Equal(t, 5, cfg.DefaultRotation.Members[0].MaxOpenLeads)
	again, err := sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Zero(t, again.Changes(), "an unchanged file changes nothing")

	sp.DefaultRotation.Members[0].MaxOpenLeads = 0
	plan, err = sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Contains(t, planLines(plan)[1], "rep1@example.com: maxOpenLeads 5 -> none")

	for field, change := range map[string]func(*spec.Spec){
		"defaultRotation.members[1].maxOpenLeads": func(s *spec.Spec) { s.DefaultRotation.Members[1].MaxOpenLeads = -1 },
		"openStatuses[1]":                         func(s *spec.Spec) { s.OpenStatuses = []leads.Status{leads.StatusNew, "closed"} },
	} {
		bad := sp
		bad.DefaultRotation = &spec.Rotation{Name: "Capped", Members: slices.Clone(sp.DefaultRotation.Members)}
		change(&bad)
		_, err := bad.Plan(ctx, b.svc, b.admin)
		requireCode(t, err, leads.CodeValidation)
		require.Equal(t, field, leads.ErrorDetails(err)["field"])
	}
}

func testApplyReturning(t *testing.T, b *bundle) {
	ctx := context.Background()
	sp := spec.Spec{Returning: &leads.ReturningPolicy{MatchBy: []string{leads.MatchEmail, leads.MatchEmailDomain}, WindowDays: 90}}
	plan, err := sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, []string{
		`~ account setting returning: matchBy [], windowDays 0, ownerGone "route" -> matchBy [email emailDomain], windowDays 90, ownerGone "route"`,
	}, planLines(plan))
	require.Equal(t, []string{leads.MatchEmail, leads.MatchEmailDomain}, b.config(t).Account.Returning.MatchBy)
	again, err := sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Zero(t, again.Changes(), "an unchanged file changes nothing")

	bad := spec.Spec{Returning: &leads.ReturningPolicy{MatchBy: []string{"fax"}}}
	_, err = bad.Plan(ctx, b.svc, b.admin)
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, "returning.matchBy[0]", leads.ErrorDetails(err)["field"])
}

func testApplyTimeOff(t *testing.T, b *bundle) {
	ctx := context.Background()
	start := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	off := spec.TimeOff{Start: start, End: start.Add(72 * time.Hour), Note: "Holidays"}
	sp := spec.Spec{Members: []spec.Member{{Email: "rep1@example.com", Role: leads.RoleAgent, TimeOff: []spec.TimeOff{off}}}}
	plan, err := sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Contains(t, planLines(plan), `+ time off of member rep1@example.com from 2026-12-24T00:00:00Z to 2026-12-27T00:00:00Z: note: "Holidays"`)
	require.Equal(t, leads.SkipOutOfOffice, b.config(t).Away("rep1@example.com", start.Add(time.Hour)))
	again, err := sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Zero(t, again.Changes(), "an unchanged file changes nothing")

	bad := spec.Spec{Members: []spec.Member{{Email: "rep1@example.com", Role: leads.RoleAgent,
		TimeOff: []spec.TimeOff{{Start: start, End: start.Add(-time.Hour)}}}}}
	_, err = bad.Plan(ctx, b.svc, b.admin)
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, "members[0].timeOff[0].end", leads.ErrorDetails(err)["field"])
}
