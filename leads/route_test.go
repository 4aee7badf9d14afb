package leads_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestRoutingDecision(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"the decision order, kept with the lead", testDecisionOrder},
		{"reassign routes by the rules too", testReassignByRules},
		{"a rule change applies to the very next lead", testRuleChangeNextLead},
		{"every op against every field kind, through create", testConditionOpsThroughCreate},
	})
}

// routedAccount is an account with teams, rotations of every kind and
// rules of every action, in the bundle.
type routedAccount struct {
	west, east         *leads.Team
	westRot, def, hot  *leads.Rotation
	gone               *leads.Rotation
	spam, vip, bigCorp *leads.RoutingRule
}

func newRoutedAccount(t *testing.T, b *bundle) *routedAccount {
	ctx := context.Background()
	a := &routedAccount{west: b.team(t, "West"), east: b.team(t, "East")}
	a.westRot = b.rotation(t, leads.Rotation{Name: "West reps", TeamID: a.west.ID, Members: b.members(2)})
	a.def = b.rotation(t, leads.Rotation{Name: "Everyone else", Default: true, Members: []leads.RotationMember{{User: b.reps[5]}, {User: b.reps[6]}}})
	a.hot = b.rotation(t, leads.Rotation{Name: "Hot leads", Members: []leads.RotationMember{{User: b.reps[2]}, {User: b.reps[3]}}})
	a.gone = b.rotation(t, leads.Rotation{Name: "Soon gone", Members: []leads.RotationMember{{User: b.reps[4]}}})
	rule := func(r leads.RoutingRule) *leads.RoutingRule {
		t.Helper()
		created, err := b.svc.CreateRoutingRule(ctx, b.admin, r, -1)
		require.NoError(t, err)
		return created
	}
	a.spam = rule(leads.RoutingRule{Name: "Spam", Enabled: true,
		Conditions: leads.Condition{Field: "emailDomain", Op: leads.OpIn, Value: []any{"mailinator.com"}},
		Action:     leads.RuleAction{Type: leads.ActionHold, Reason: "looks like spam"}})
	rule(leads.RoutingRule{Name: "Hot", Enabled: true,
		Conditions: leads.Condition{Field: "metadata.score", Op: leads.OpGte, Value: 80},
		Action:     leads.RuleAction{Type: leads.ActionRotation, RotationID: a.hot.ID}})
	rule(leads.RoutingRule{Name: "Everything, but off", Enabled: false,
		Conditions: leads.Condition{Field: "firstName", Op: leads.OpExists},
		Action:     leads.RuleAction{Type: leads.ActionAssign, Assignee: b.reps[4]}})
	a.vip = rule(leads.RoutingRule{Name: "VIP", Enabled: true,
		Conditions: leads.Condition{All: []leads.Condition{{Field: "company", Op: leads.OpEq, Value: "VIP Corp"}, {Field: "phone", Op: leads.OpExists}}},
		Action:     leads.RuleAction{Type: leads.ActionAssign, Assignee: b.reps[4]}})
	a.bigCorp = rule(leads.RoutingRule{Name: "Enterprise to West", Enabled: true,
		Conditions: leads.Condition{Field: "numberOfEmployees", Op: leads.OpGte, Value: 1000},
		Action:     leads.RuleAction{Type: leads.ActionTeam, TeamID: a.west.ID}})
	rule(leads.RoutingRule{Name: "Vanished", Enabled: true,
		Conditions: leads.Condition{Field: "source", Op: leads.OpEq, Value: "gone"},
		Action:     leads.RuleAction{Type: leads.ActionRotation, RotationID: a.gone.ID}})
	require.NoError(t, b.svc.DeleteRotation(ctx, b.admin, a.gone.ID))
	return a
}

func testDecisionOrder(t *testing.T, b *bundle) {
	ctx := context.Background()
	a := newRoutedAccount(t, b)
	big := int64(5000)
	cases := []struct {
		name     string
		in       func(in *leads.LeadInput)
		step     string // "" for an explicit assignee: no decision is kept
		reason   string
		assignee string
		rotation *leads.Rotation
		team     int64
		// outcomes of the rules tried, in order
		outcomes []string
	}{
		{"explicit assignedTo beats every rule", func(in *leads.LeadInput) { in.AssignedTo, in.Email = b.reps[6], "y@mailinator.com" },
			"", leads.AssignExplicit, b.reps[6], nil, a.east.ID, nil},
		{"a hold rule", func(in *leads.LeadInput) { in.Email = "x@Mailinator.com" },
			leads.StepRule, leads.AssignHeld, "", nil, a.east.ID, []string{"matched"}},
		{"a rule's pool rotation", func(in *leads.LeadInput) { in.Metadata = map[string]any{"score": 91} },
			leads.StepRule, leads.AssignRotation, b.reps[2], a.hot, a.east.ID, []string{"not_matched", "matched"}},
		{"the pool's next turn", func(in *leads.LeadInput) { in.Metadata = map[string]any{"score": 80} },
			leads.StepRule, leads.AssignRotation, b.reps[3], a.hot, a.east.ID, []string{"not_matched", "matched"}},
		{"a rule assigns a member, no turn", func(in *leads.LeadInput) { in.Company, in.Phone = "vip corp", "555" },
			leads.StepRule, leads.AssignRule, b.reps[4], nil, a.east.ID, []string{"not_matched", "not_matched", "disabled", "matched"}},
		{"a rule sets the team, whose rotation applies", func(in *leads.LeadInput) { in.NumberOfEmployees = &big },
			leads.StepRule, leads.AssignRotation, b.reps[0], a.westRot, a.west.ID, []string{"not_matched", "not_matched", "disabled", "not_matched", "matched"}},
		{"a rule whose target vanished is skipped, the default applies", func(in *leads.LeadInput) { in.Source = "gone" },
			leads.StepDefault, leads.AssignRotation, b.reps[5], a.def, a.east.ID,
			[]string{"not_matched", "not_matched", "disabled", "not_matched", "not_matched", "target_missing"}},
		{"no rule: the team's rotation", func(in *leads.LeadInput) { in.TeamID = a.west.ID },
			leads.StepTeam, leads.AssignRotation, b.reps[1], a.westRot, a.west.ID,
			[]string{"not_matched", "not_matched", "disabled", "not_matched", "not_matched", "not_matched"}},
		{"no rule, a team without one: the default", func(*leads.LeadInput) {},
			leads.StepDefault, leads.AssignRotation, b.reps[6], a.def, a.east.ID,
			[]string{"not_matched", "not_matched", "disabled", "not_matched", "not_matched", "not_matched"}},
	}
	for _, tc := range cases {
		in := lead("Ada")
		in.TeamID = a.east.ID
		tc.in(&in)
		dry, err := b.create(in, leads.CreateOptions{DryRun: true, SkipTeamAndSourceRequirement: true})
		require.NoError(t, err, tc.name)
		res, err := b.create(in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
		require.NoError(t, err, tc.name)
		l, as := res.Lead, res.Assignment
		require.Equal(t, tc.assignee, l.AssignedTo, tc.name)
		require.Equal(t, tc.reason, as.Reason, tc.name)
		require.Equal(t, tc.team, l.TeamID, tc.name)
		if tc.rotation != nil {
			require.Equal(t, tc.rotation.ID, l.RotationID, tc.name)
			require.NotZero(t, l.RotationTurn, tc.name)
		} else {
			require.Zero(t, l.RotationID, tc.name)
			require.Zero(t, l.RotationTurn, "%s: no turn taken", tc.name)
		}
		if tc.step == "" {
			require.Nil(t, as.Decision, tc.name)
			continue
		}
		require.Empty(t, as.Decision.Rules, "%s: create keeps the rules tried compactly", tc.name)
		require.Len(t, strings.Fields(as.Decision.Tried), len(tc.outcomes), tc.name)
		require.Equal(t, as.Decision, l.AuditLog[len(l.AuditLog)-1].Data["decision"], "%s: as its audit entry does", tc.name)
		history, err := b.svc.LeadRouting(ctx, b.agent, l.ID)
		require.NoError(t, err)
		require.Len(t, history, 1, tc.name)
		require.Equal(t, dry.Assignment, history[0].Assignment, "%s: the dry run said what was kept", tc.name)
		d := history[0].Decision
		require.NotNil(t, d, tc.name)
		require.Equal(t, tc.step, d.Step, tc.name)
		var outcomes []string
		for _, r := range d.Rules {
			outcomes = append(outcomes, r.Outcome)
			if r.Outcome == leads.RuleNotMatched {
				require.NotEmpty(t, r.FailedCondition, tc.name)
				require.NotEmpty(t, r.Condition, tc.name)
			}
		}
		require.Equal(t, tc.outcomes, outcomes, tc.name)

		require.Equal(t, b.admin.Email, history[0].By)
		if tc.reason == leads.AssignHeld {
			require.Equal(t, leads.EventLeadNotAssigned, history[0].Event)
			require.Equal(t, "looks like spam", d.HoldReason)
			require.Equal(t, a.spam.ID, d.RuleID)
		} else {
			require.Equal(t, leads.EventLeadAssigned, history[0].Event)
		}
	}
	_, err := b.svc.LeadRouting(ctx, b.agent, 987654)
	requireCode(t, err, leads.CodeNotFound)
}

func testReassignByRules(t *testing.T, b *bundle) {
	ctx := context.Background()
	a := newRoutedAccount(t, b)
	in := lead("Vic")
	in.Company, in.Phone, in.AssignedTo = "VIP Corp", "555", b.reps[6]
	l := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead
	res, err := b.svc.AssignLead(ctx, b.agent, l.ID, leads.AssignOptions{})
	require.NoError(t, err)
	require.Equal(t, b.reps[4], res.Lead.AssignedTo, "the VIP rule")
	require.Equal(t, leads.AssignRule, res.Assignment.Reason)
	require.Equal(t, a.vip.ID, res.Assignment.Decision.RuleID)

	in = lead("Eve")
	in.Email, in.AssignedTo = "eve@mailinator.com", b.reps[6]
	spam := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead
	_, err = b.svc.AssignLead(ctx, b.agent, spam.ID, leads.AssignOptions{})
	requireCode(t, err, leads.CodeNoRotation)
	require.Contains(t, leads.ErrorMessage(err), "looks like spam")
	require.EqualValues(t, a.spam.ID, leads.ErrorDetails(err)["ruleId"])

	big := int64(2000)
	in = lead("Ent")
	in.NumberOfEmployees, in.AssignedTo, in.TeamID = &big, b.reps[6], a.east.ID
	ent := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead
	res, err = b.svc.AssignLead(ctx, b.agent, ent.ID, leads.AssignOptions{})
	require.NoError(t, err)
	require.Equal(t, a.west.ID, res.Lead.TeamID, "the team rule moved it")
	require.Equal(t, a.westRot.ID, res.Lead.RotationID)
	history, err := b.svc.LeadRouting(ctx, b.agent, ent.ID)
	require.NoError(t, err)
	require.Equal(t, leads.EventLeadReassigned, history[len(history)-1].Event)
	require.Equal(t, res.Lead.AssignedTo, history[len(history)-1].Assignee)
}

func testRuleChangeNextLead(t *testing.T, b *bundle) {
	ctx := context.Background()
	a := newRoutedAccount(t, b)
	in := lead("Ada")
	in.Metadata = map[string]any{"score": 50}
	res := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	require.Equal(t, a.def.ID, res.Lead.RotationID)
	rules, err := b.svc.RoutingRules(ctx, b.admin)
	require.NoError(t, err)
	_, err = b.svc.UpdateRoutingRule(ctx, b.admin, rules[1].ID, func(r *leads.RoutingRule) error {
		r.Conditions.Value = 40
		return nil
	})
	require.NoError(t, err)
	res = b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	require.Equal(t, a.hot.ID, res.Lead.RotationID, "the edited rule routes the very next lead")
}

// testConditionOpsThroughCreate runs conditionOpCases through the create
// path (a dry run) on every store and rotator: a rule of the case's
// condition holds the lead when it matches; otherwise the default
// rotation takes it. (teamId's case needs a team of id 3: left to
// TestConditionOps.)
func testConditionOpsThroughCreate(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.defaultRotation(t, 1)
	rule, err := b.svc.CreateRoutingRule(ctx, b.admin, leads.RoutingRule{Name: "case", Enabled: true,
		Conditions: leads.Condition{Field: "email", Op: leads.OpExists},
		Action:     leads.RuleAction{Type: leads.ActionHold, Reason: "matched"}}, -1)
	require.NoError(t, err)
	in := conditionLead().LeadInput
	in.TeamID = 0
	for _, tc := range conditionOpCases {
		if strings.Contains(tc.cond, `"teamId"`) {
			continue
		}
		_, err := b.svc.UpdateRoutingRule(ctx, b.admin, rule.ID, func(r *leads.RoutingRule) error {
			r.Conditions = cond(t, tc.cond)
			return nil
		})
		require.NoError(t, err, tc.cond)
		res, err := b.create(in, leads.CreateOptions{DryRun: true, SkipTeamAndSourceRequirement: true, ApplicationID: "voice-bot"})
		require.NoError(t, err, tc.cond)
		require.Equal(t, tc.want, res.Assignment.Reason == leads.AssignHeld, tc.cond)
	}
}
