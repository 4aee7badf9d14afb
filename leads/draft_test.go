package leads_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// draftBase is what newDraftBase made on the live account, by id.
type draftBase struct {
	inbound, outbound         int64 // teams
	website                   int64 // a lead source of inbound
	inboundRot, everyone, hot int64 // rotations: inbound's, the default, a pool
	bigRule, spamRule         int64
	holidays                  int64 // a holiday calendar rep2 follows
	rep3Off                   int64 // a period of time off of rep3
	reps                      []string
	weekdays                  *leads.Schedule // rep1's working hours
}

// newDraftBase gives the bundle's account teams with lead sources and a
// rotation, a default rotation, a pool, two routing rules, a holiday
// calendar, working hours and time off.
func newDraftBase(t *testing.T, b *bundle) *draftBase {
	t.Helper()
	ctx := context.Background()
	base := &draftBase{reps: b.reps,
		weekdays: &leads.Schedule{Timezone: "Europe/Paris", Monday: []leads.WorkHours{{Start: "09:00", End: "17:00"}}}}
	base.inbound = b.team(t, "Inbound").ID
	base.outbound = b.team(t, "Outbound").ID
	base.website = b.source(t, base.inbound, "Website").ID
	b.source(t, base.inbound, "Webinar")
	base.inboundRot = b.rotation(t, leads.Rotation{Name: "Inbound reps", TeamID: base.inbound, Members: b.members(3), FallbackAssignee: b.reps[3]}).ID
	base.everyone = b.rotation(t, leads.Rotation{Name: "Everyone", Default: true, Members: b.members(5)}).ID
	base.hot = b.rotation(t, leads.Rotation{Name: "Hot leads", Members: []leads.RotationMember{{User: b.reps[4]}, {User: b.reps[5], Weight: 2}}}).ID
	big, err := b.svc.CreateRoutingRule(ctx, b.admin, leads.RoutingRule{Name: "Big", Enabled: true,
		Conditions: leads.Condition{Field: "numberOfEmployees", Op: leads.OpGte, Value: 500},
		Action:     leads.RuleAction{Type: leads.ActionRotation, RotationID: base.hot}}, -1)
	require.NoError(t, err)
	base.bigRule = big.ID
	spam, err := b.svc.CreateRoutingRule(ctx, b.admin, leads.RoutingRule{Name: "Spam", Enabled: true,
		Conditions: leads.Condition{Field: "email", Op: leads.OpEndsWith, Value: "@spam.test"},
		Action:     leads.RuleAction{Type: leads.ActionHold, Reason: "looks like spam"}}, -1)
	require.NoError(t, err)
	base.spamRule = spam.ID
	cal, err := b.svc.CreateHolidayCalendar(ctx, b.admin, leads.HolidayCalendar{Name: "US holidays", Timezone: "America/New_York", Dates: []string{"2026-12-25"}})
	require.NoError(t, err)
	base.holidays = cal.ID
	_, err = b.svc.SetMemberCalendar(ctx, b.admin, b.reps[1], cal.ID)
	require.NoError(t, err)
	_, err = b.svc.SetSchedule(ctx, b.admin, b.reps[0], base.weekdays)
	require.NoError(t, err)
	off, err := b.svc.AddTimeOff(ctx, b.admin, b.reps[2], leads.TimeOff{Start: b.clock.Now().Add(24 * time.Hour), End: b.clock.Now().Add(72 * time.Hour), Note: "away"})
	require.NoError(t, err)
	base.rep3Off = off.ID
	return base
}

// draftOp is a series of configuration changes made through svc as actor,
// and what the last of them returned, or the first error.
type draftOp func(ctx context.Context, svc *leads.Service, actor leads.Actor, base *draftBase) (any, error)

// draftCases are changes that a draft must make as the live Service does:
// accepted with the same result, or refused with the same error.
var draftCases = []struct {
	name string
	op   draftOp
}{
	{"create a team", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateTeam(ctx, a, leads.Team{Name: "Partners"})
	}},
	{"a team name taken", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateTeam(ctx, a, leads.Team{Name: "Inbound"})
	}},
	{"a team without a name", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateTeam(ctx, a, leads.Team{Name: "  "})
	}},
	{"an agent may not create a team", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		a.Role = leads.RoleAgent
		return svc.CreateTeam(ctx, a, leads.Team{Name: "Partners"})
	}},
	{"rename a team, then to a name taken", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		if _, err := svc.RenameTeam(ctx, a, base.inbound, "Inbound sales"); err != nil {
			return nil, err
		}
		return svc.RenameTeam(ctx, a, base.inbound, "Outbound")
	}},
	{"rename an unknown team", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.RenameTeam(ctx, a, 987654321, "Nowhere")
	}},
	{"delete a team with force: its lead sources and rotation go", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return nil, svc.DeleteTeam(ctx, a, base.inbound, true)
	}},
	{"delete an unknown team", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return nil, svc.DeleteTeam(ctx, a, 987654321, false)
	}},
	{"lead sources: create, a name taken", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		if _, err := svc.CreateLeadSource(ctx, a, leads.LeadSource{TeamID: base.outbound, Name: "Website"}); err != nil {
			return nil, err
		}
		return svc.CreateLeadSource(ctx, a, leads.LeadSource{TeamID: base.inbound, Name: "Webinar"})
	}},
	{"a lead source of an unknown team", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateLeadSource(ctx, a, leads.LeadSource{TeamID: 987654321, Name: "Website"})
	}},
	{"rename a lead source to a name taken", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.RenameLeadSource(ctx, a, base.website, "Webinar")
	}},
	{"rename then delete a lead source", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		if _, err := svc.RenameLeadSource(ctx, a, base.website, "Site"); err != nil {
			return nil, err
		}
		return nil, svc.DeleteLeadSource(ctx, a, base.website, false)
	}},
	{"a new team with a rotation", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		team, err := svc.CreateTeam(ctx, a, leads.Team{Name: "Partners"})
		if err != nil {
			return nil, err
		}
		r, err := svc.CreateRotation(ctx, a, leads.Rotation{Name: "Partner reps", TeamID: team.ID, Timezone: "Europe/Paris",
			Members: []leads.RotationMember{{User: base.reps[6], DailyCap: 5}, {User: base.reps[0], MaxOpenLeads: 3}}})
		if err != nil {
			return nil, err
		}
		return r.Members, nil
	}},
	{"a pool rotation", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.CreateRotation(ctx, a, leads.Rotation{Name: "Night shift", WhenNobodyEligible: leads.NobodyHold,
			Members: []leads.RotationMember{{User: base.reps[6], Paused: true}}})
	}},
	{"a rotation with an SLA", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.CreateRotation(ctx, a, leads.Rotation{Name: "Fast", Members: []leads.RotationMember{{User: base.reps[6]}},
			SLA: &leads.SLA{AcceptWithin: leads.Duration(10 * time.Minute), MaxReassignments: 1}})
	}},
	{"a rotation member who is not a member of the account", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.CreateRotation(ctx, a, leads.Rotation{Name: "Strangers", Members: []leads.RotationMember{{User: base.reps[0]}, {User: "stranger@example.com"}}})
	}},
	{"a fallback assignee who is not a member of the account", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateRotation(ctx, a, leads.Rotation{Name: "Strangers", FallbackAssignee: "stranger@example.com"})
	}},
	{"a second default rotation", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.CreateRotation(ctx, a, leads.Rotation{Name: "Everyone else", Default: true, Members: []leads.RotationMember{{User: base.reps[6]}}})
	}},
	{"a second rotation of a team", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.CreateRotation(ctx, a, leads.Rotation{Name: "Inbound again", TeamID: base.inbound})
	}},
	{"a rotation of an unknown team", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateRotation(ctx, a, leads.Rotation{Name: "Nowhere", TeamID: 987654321})
	}},
	{"a rotation both a team's and the default", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.CreateRotation(ctx, a, leads.Rotation{Name: "Both", TeamID: base.outbound, Default: true})
	}},
	{"replace a rotation: weights, members, fallback", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.ReplaceRotation(ctx, a, leads.Rotation{ID: base.inboundRot, Name: "Inbound reps", TeamID: base.inbound, FallbackAssignee: base.reps[6],
			Members: []leads.RotationMember{{User: base.reps[2], Weight: 3}, {User: base.reps[0]}}})
	}},
	{"a pool made the default while there is one", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.UpdateRotation(ctx, a, base.hot, func(r *leads.Rotation) error { r.Default = true; return nil })
	}},
	{"the default made a pool, then a pool made the default", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		if _, err := svc.UpdateRotation(ctx, a, base.everyone, func(r *leads.Rotation) error { r.Default = false; return nil }); err != nil {
			return nil, err
		}
		return svc.UpdateRotation(ctx, a, base.hot, func(r *leads.Rotation) error { r.Default = true; return nil })
	}},
	{"a pool moved to a team that has a rotation", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.UpdateRotation(ctx, a, base.hot, func(r *leads.Rotation) error { r.TeamID = base.inbound; return nil })
	}},
	{"a rotation changed to nothing new", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.UpdateRotation(ctx, a, base.hot, func(*leads.Rotation) error { return nil })
	}},
	{"an unknown rotation", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.UpdateRotation(ctx, a, 987654321, func(r *leads.Rotation) error { r.Name = "x"; return nil })
	}},
	{"delete a rotation: the rule naming it stays", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return nil, svc.DeleteRotation(ctx, a, base.hot)
	}},
	{"routing rules: create first, with a new pool", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		pool, err := svc.CreateRotation(ctx, a, leads.Rotation{Name: "Enterprise", Members: []leads.RotationMember{{User: base.reps[6]}}})
		if err != nil {
			return nil, err
		}
		r, err := svc.CreateRoutingRule(ctx, a, leads.RoutingRule{Name: "Enterprise", Enabled: true,
			Conditions: leads.Condition{Any: []leads.Condition{{Field: "numberOfEmployees", Op: leads.OpGte, Value: 5000},
				{Field: "emailDomain", Op: leads.OpIn, Value: []any{"acme.com", "globex.com"}}}},
			Action: leads.RuleAction{Type: leads.ActionRotation, RotationID: pool.ID}}, 0)
		if err != nil {
			return nil, err
		}
		return r.Conditions, nil
	}},
	{"a rule name taken, in another case", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateRoutingRule(ctx, a, leads.RoutingRule{Name: "SPAM", Enabled: true,
			Conditions: leads.Condition{Field: "email", Op: leads.OpExists}, Action: leads.RuleAction{Type: leads.ActionHold, Reason: "again"}}, -1)
	}},
	{"a rule naming an unknown rotation", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateRoutingRule(ctx, a, leads.RoutingRule{Name: "Lost", Enabled: true,
			Conditions: leads.Condition{Field: "email", Op: leads.OpExists}, Action: leads.RuleAction{Type: leads.ActionRotation, RotationID: 987654321}}, -1)
	}},
	{"a rule assigning to a stranger", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateRoutingRule(ctx, a, leads.RoutingRule{Name: "Stranger", Enabled: true,
			Conditions: leads.Condition{Field: "email", Op: leads.OpExists}, Action: leads.RuleAction{Type: leads.ActionAssign, Assignee: "stranger@example.com"}}, -1)
	}},
	{"a rule whose condition does not compile", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.CreateRoutingRule(ctx, a, leads.RoutingRule{Name: "Broken", Enabled: true,
			Conditions: leads.Condition{Field: "hotScore", Op: leads.OpContains, Value: 3}, Action: leads.RuleAction{Type: leads.ActionHold, Reason: "x"}}, -1)
	}},
	{"update a rule, then reorder the rules", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		_, err := svc.UpdateRoutingRule(ctx, a, base.bigRule, func(r *leads.RoutingRule) error {
			r.Enabled, r.Action = false, leads.RuleAction{Type: leads.ActionTeam, TeamID: base.outbound}
			return nil
		})
		if err != nil {
			return nil, err
		}
		rules, err := svc.ReorderRoutingRules(ctx, a, []int64{base.spamRule})
		if err != nil {
			return nil, err
		}
		return rules, nil
	}},
	{"reorder naming an unknown rule", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.ReorderRoutingRules(ctx, a, []int64{base.spamRule, 987654321})
	}},
	{"rename a rule to another's name", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.UpdateRoutingRule(ctx, a, base.bigRule, func(r *leads.RoutingRule) error { r.Name = "spam"; return nil })
	}},
	{"delete a rule, then an unknown one", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		if err := svc.DeleteRoutingRule(ctx, a, base.spamRule); err != nil {
			return nil, err
		}
		return nil, svc.DeleteRoutingRule(ctx, a, base.spamRule)
	}},
	{"working hours: set, then cleared", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		sch, err := svc.SetSchedule(ctx, a, base.reps[4], &leads.Schedule{Timezone: "UTC",
			Tuesday: []leads.WorkHours{{Start: "13:00", End: "17:00"}, {Start: "08:00", End: "12:00"}}})
		if err != nil {
			return nil, err
		}
		if _, err := svc.SetSchedule(ctx, a, base.reps[0], nil); err != nil {
			return nil, err
		}
		return sch, nil
	}},
	{"a bad schedule", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.SetSchedule(ctx, a, base.reps[4], &leads.Schedule{Timezone: "UTC", Monday: []leads.WorkHours{{Start: "17:00", End: "09:00"}}})
	}},
	{"the schedule of a stranger", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.SetSchedule(ctx, a, "stranger@example.com", base.weekdays)
	}},
	{"time off: added, and deleted twice", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		start := time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)
		if _, err := svc.AddTimeOff(ctx, a, base.reps[2], leads.TimeOff{Start: start, End: start.Add(48 * time.Hour), Note: " ski "}); err != nil {
			return nil, err
		}
		if err := svc.DeleteTimeOff(ctx, a, base.reps[2], base.rep3Off); err != nil {
			return nil, err
		}
		return nil, svc.DeleteTimeOff(ctx, a, base.reps[2], base.rep3Off)
	}},
	{"holiday calendars: created, followed, updated, deleted", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		cal, err := svc.CreateHolidayCalendar(ctx, a, leads.HolidayCalendar{Name: "France", Timezone: "Europe/Paris", Dates: []string{"2026-07-14", "2026-05-01"}})
		if err != nil {
			return nil, err
		}
		if _, err := svc.SetMemberCalendar(ctx, a, base.reps[5], cal.ID); err != nil {
			return nil, err
		}
		if _, err := svc.UpdateHolidayCalendar(ctx, a, cal.ID, func(c *leads.HolidayCalendar) error { c.Name = "FR"; return nil }); err != nil {
			return nil, err
		}
		if err := svc.DeleteHolidayCalendar(ctx, a, base.holidays); err != nil {
			return nil, err
		}
		return cal.Dates, nil
	}},
	{"a holiday calendar name taken", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		if _, err := svc.CreateHolidayCalendar(ctx, a, leads.HolidayCalendar{Name: "US holidays", Timezone: "UTC"}); leads.ErrorCode(err) != leads.CodeConflict {
			return nil, fmt.Errorf("a second calendar of the name: %w", err)
		}
		if _, err := svc.CreateHolidayCalendar(ctx, a, leads.HolidayCalendar{Name: "France", Timezone: "Europe/Paris"}); err != nil {
			return nil, err
		}
		return svc.UpdateHolidayCalendar(ctx, a, base.holidays, func(c *leads.HolidayCalendar) error { c.Name = "France"; return nil })
	}},
	{"following an unknown holiday calendar", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.SetMemberCalendar(ctx, a, base.reps[5], 987654321)
	}},
	{"members: added, promoted, removed from rotations", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		if _, err := svc.PutMember(ctx, a, leads.Member{Email: "New@Example.com", Role: leads.RoleAgent}); err != nil {
			return nil, err
		}
		if _, err := svc.PutMember(ctx, a, leads.Member{Email: base.reps[6], Role: leads.RoleManager}); err != nil {
			return nil, err
		}
		if err := svc.RemoveMember(ctx, a, base.reps[3]); err != nil { // the inbound rotation's fallback
			return nil, err
		}
		if err := svc.RemoveMember(ctx, a, base.reps[0]); err != nil { // in rotations, with working hours
			return nil, err
		}
		return svc.Assignees(ctx, a)
	}},
	{"adding a member twice", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		return svc.AddMember(ctx, a, leads.Member{Email: base.reps[0], Role: leads.RoleAgent})
	}},
	{"the last admin demoted", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return svc.PutMember(ctx, a, leads.Member{Email: a.Email, Role: leads.RoleAgent})
	}},
	{"the last admin removed, once there is another admin", func(ctx context.Context, svc *leads.Service, a leads.Actor, base *draftBase) (any, error) {
		if err := svc.RemoveMember(ctx, a, a.Email); leads.ErrorCode(err) != leads.CodeLastAdmin {
			return nil, fmt.Errorf("removing the last admin: %w", err)
		}
		if _, err := svc.PutMember(ctx, a, leads.Member{Email: base.reps[6], Role: leads.RoleAdmin}); err != nil {
			return nil, err
		}
		return nil, svc.RemoveMember(ctx, a, a.Email)
	}},
	{"removing a stranger", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		return nil, svc.RemoveMember(ctx, a, "stranger@example.com")
	}},
	{"account settings", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		policy, open, accepts := leads.DuplicateAllow, []leads.Status{leads.StatusNew}, false
		acct, err := svc.UpdateAccount(ctx, a, leads.AccountPatch{DuplicatePolicy: &policy, OpenStatuses: &open, ActivityAccepts: &accepts,
			Returning: &leads.ReturningPolicy{MatchBy: []string{leads.MatchEmail}, WindowDays: 30}})
		if err != nil {
			return nil, err
		}
		return acct, nil
	}},
	{"a bad duplicate policy", func(ctx context.Context, svc *leads.Service, a leads.Actor, _ *draftBase) (any, error) {
		policy := leads.DuplicatePolicy("sometimes")
		return svc.UpdateAccount(ctx, a, leads.AccountPatch{DuplicatePolicy: &policy})
	}},
}

// TestDraft makes each change of draftCases on a draft of an account and
// on the account itself, through the live Service (with a job runner, so
// that it takes SLAs too), and wants the same result or the same error,
// the same configuration after, and the configuration the draft was made
// from untouched.
func TestDraft(t *testing.T) {
	t.Parallel()
	for _, e := range environments(t) {
		if e.redis {
			continue // the rotator takes no part in configuration
		}
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range draftCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					testDraftCase(t, newBundle(t, e), tc.op)
				})
			}
		})
	}
}

// noRedelivery is a job runner that is never asked for anything.
type noRedelivery struct{}

func (noRedelivery) Redeliver(context.Context, *leads.WebhookDelivery) error { return nil }

func testDraftCase(t *testing.T, b *bundle, op draftOp) {
	ctx := context.Background()
	b.svc = leads.NewService(b.store, b.rotator, leads.WithClock(b.clock.Now), leads.WithWebhooks(b.raw, noRedelivery{}, true))
	base := newDraftBase(t, b)
	cfg := b.config(t)
	before := jsonOf(t, cfg)

	draft := leads.NewDraft(cfg)
	draftRes, draftErr := op(ctx, draft, b.admin, base)
	require.Equal(t, before, jsonOf(t, cfg), "the configuration the draft was made from is untouched")
	require.Equal(t, cfg.Version, b.config(t).Version, "the draft wrote nothing to the account")

	liveRes, liveErr := op(ctx, b.svc, b.admin, base)
	if liveErr != nil {
		require.Error(t, draftErr, "the live Service refused: %v", liveErr)
		require.Equal(t, liveErr.Error(), draftErr.Error())
		require.Equal(t, leads.ErrorCode(liveErr), leads.ErrorCode(draftErr))
		require.Equal(t, leads.ErrorDetails(liveErr), leads.ErrorDetails(draftErr))
	} else {
		require.NoError(t, draftErr)
		require.Equal(t, withoutIDsAndTimes(t, liveRes), withoutIDsAndTimes(t, draftRes))
	}

	live, drafted := b.config(t), draftConfig(t, draft, b.admin)
	require.Equal(t, live.Version, drafted.Version, "one version a change")
	require.Equal(t, describeConfig(t, live), describeConfig(t, drafted))
	if live.RulesVersion == cfg.RulesVersion {
		require.Equal(t, cfg.RulesVersion, drafted.RulesVersion)
	} else {
		require.Zero(t, drafted.RulesVersion, "no store keeps the draft's rules")
	}
	require.Equal(t, before, jsonOf(t, cfg))
}

// draftConfig reads a draft's configuration, and checks that it is
// prepared for routing as a live one is.
func draftConfig(t *testing.T, draft *leads.Service, actor leads.Actor) *leads.AccountConfig {
	t.Helper()
	cfg, err := draft.Configuration(context.Background(), actor)
	require.NoError(t, err)
	for _, r := range cfg.Rotations() {
		require.Equal(t, cfg.Account.OpenStatuses, r.OpenStatuses, "rotation %q is prepared", r.Name)
	}
	return cfg
}

func (b *bundle) config(t *testing.T) *leads.AccountConfig {
	t.Helper()
	cfg, err := b.svc.Configuration(context.Background(), b.admin)
	require.NoError(t, err)
	return cfg
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return string(out)
}

// withoutIDsAndTimes is v as JSON without ids and times, which a draft
// gives new objects of its own, nor the other keys named.
func withoutIDsAndTimes(t *testing.T, v any, keys ...string) any {
	t.Helper()
	keys = append(keys, "id", "createdAt", "updatedAt")
	var out any
	require.NoError(t, json.Unmarshal([]byte(jsonOf(t, v)), &out))
	var strip func(v any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range keys {
				delete(v, k)
			}
			for _, e := range v {
				strip(e)
			}
		case []any:
			for _, e := range v {
				strip(e)
			}
		}
	}
	strip(out)
	return out
}

// describeConfig is cfg with its objects named instead of numbered, and
// without times, so that a draft's and the live account's compare equal
// when they have the same objects.
func describeConfig(t *testing.T, cfg *leads.AccountConfig) map[string]any {
	t.Helper()
	teamName := func(id int64) string {
		if team := cfg.Teams[id]; team != nil {
			return team.Name
		}
		return fmt.Sprintf("missing team %d", id)
	}
	rotationName := func(id int64) string {
		if r := cfg.Rotation(id); r != nil {
			return r.Name
		}
		return "missing rotation"
	}
	out := map[string]any{"account": withoutIDsAndTimes(t, cfg.Account), "members": cfg.Members}
	var teams, sources, rotations, rules []string
	for _, team := range cfg.Teams {
		teams = append(teams, fmt.Sprintf("%s (%d lead sources)", team.Name, cfg.TeamLeadSources[team.ID]))
	}
	for _, src := range cfg.LeadSources {
		sources = append(sources, teamName(src.TeamID)+"/"+src.Name)
	}
	for _, r := range cfg.Rotations() {
		kind := "pool"
		switch {
		case r.Default:
			kind = "default"
		case r.TeamID != 0:
			kind = "of " + teamName(r.TeamID)
		}
		rotations = append(rotations, kind+": "+jsonOf(t, withoutIDsAndTimes(t, r, "teamId")))
	}
	for _, r := range cfg.Rules {
		a := r.Action
		target := map[leads.RuleActionType]string{leads.ActionRotation: rotationName(a.RotationID), leads.ActionTeam: teamName(a.TeamID),
			leads.ActionAssign: a.Assignee, leads.ActionHold: a.Reason}[a.Type]
		rules = append(rules, fmt.Sprintf("%s enabled=%t %s %s %s", r.Name, r.Enabled, jsonOf(t, r.Conditions), a.Type, target))
	}
	slices.Sort(teams)
	slices.Sort(sources)
	sort.Strings(rotations) // several pools may share a name: by all they say
	out["teams"], out["leadSources"], out["rotations"], out["rules"] = teams, sources, rotations, rules
	calendars := map[string]any{}
	for _, c := range cfg.HolidayCalendars {
		calendars[c.Name] = c.Timezone + ": " + fmt.Sprint(c.Dates)
	}
	availability := map[string]any{}
	for email, a := range cfg.Availability {
		var off []string
		for _, p := range slices.SortedFunc(slices.Values(a.TimeOff), func(x, y leads.TimeOff) int { return cmp.Compare(x.Start.Unix(), y.Start.Unix()) }) {
			off = append(off, fmt.Sprintf("%s-%s %q", p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339), p.Note))
		}
		calendar := ""
		if c := cfg.HolidayCalendars[a.HolidayCalendarID]; c != nil {
			calendar = c.Name
		}
		availability[email] = map[string]any{"email": a.Email, "schedule": jsonOf(t, a.Schedule), "timeOff": off, "calendar": calendar}
	}
	out["holidayCalendars"], out["availability"] = calendars, availability
	return out
}

// TestDraftSLA: a draft takes a rotation with an SLA although it has no job
// runner, and the live Service without one still refuses it.
func TestDraftSLA(t *testing.T) {
	t.Parallel()
	b := newBundle(t, environments(t)[0])
	ctx := context.Background()
	r := leads.Rotation{Name: "Fast", Members: b.members(1), SLA: &leads.SLA{AcceptWithin: leads.Duration(5 * time.Minute)}}
	_, err := b.svc.CreateRotation(ctx, b.admin, r)
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, "sla", leads.ErrorDetails(err)["field"])

	draft := leads.NewDraft(b.config(t))
	created, err := draft.CreateRotation(ctx, b.admin, r)
	require.NoError(t, err)
	require.Equal(t, leads.SLAClockWall, created.SLA.Clock)
	require.Equal(t, created.SLA, draftConfig(t, draft, b.admin).Rotation(created.ID).SLA)
}

// TestDraftConfigOnly: a draft refuses what is not configuration, and an
// account that is not its own.
func TestDraftConfigOnly(t *testing.T) {
	t.Parallel()
	b := newBundle(t, environments(t)[0])
	ctx := context.Background()
	b.defaultRotation(t, 2)
	draft := leads.NewDraft(b.config(t))

	_, err := draft.CreateLead(ctx, b.admin, lead("Ada"), leads.CreateOptions{})
	require.ErrorIs(t, err, leads.ErrDraftConfigOnly)
	_, err = draft.ListLeads(ctx, b.admin, leads.ListOptions{})
	require.ErrorIs(t, err, leads.ErrDraftConfigOnly)
	_, _, err = draft.CreateAPIKey(ctx, b.admin.Email, "key")
	require.ErrorIs(t, err, leads.ErrDraftConfigOnly)

	other := b.admin
	other.AccountID = "another-account"
	_, err = draft.Configuration(ctx, other)
	requireCode(t, err, leads.CodeNotFound)
	_, err = draft.CreateTeam(ctx, other, leads.Team{Name: "Inbound"})
	requireCode(t, err, leads.CodeNotFound)
	requireCode(t, leads.NewDraft(nil).DeleteTeam(ctx, b.admin, 1, false), leads.CodeNotFound)

	members, err := draft.Members(ctx, b.admin)
	require.NoError(t, err)
	require.Len(t, members, 9)
	actor, err := draft.MemberActor(ctx, b.accountID, b.reps[0])
	require.NoError(t, err)
	require.Equal(t, leads.RoleAgent, actor.Role)
}
