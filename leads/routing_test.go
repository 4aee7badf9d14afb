package leads_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestRoutingRules(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"create, update, reorder, delete, audited, in the configuration", testRuleLifecycle},
		{"bad rules are refused by field, nothing stored", testRuleRefusals},
		{"concurrent creates all land, in some order, names unique", testRuleConcurrency},
		{"roles and tenancy", testRuleAccess},
		{"a lead tried against the live rules, in order", testRuleEvaluation},
		{"rules on a lead's hotScore and externalId", testRuleOnScoreAndExternalID},
		{"a rule whose target is gone can still be edited", testRuleTargetGone},
	})
}

// testRuleTargetGone: a rule whose team, rotation or member was deleted
// after it was saved is kept (and skipped when leads are routed); an edit
// that leaves its action as it is (disabling it, renaming it) is taken, and
// one that names a target that is not there is refused.
func testRuleTargetGone(t *testing.T, b *bundle) {
	ctx := context.Background()
	team := b.team(t, "Gone")
	rot := b.rotation(t, leads.Rotation{Name: "gone", Members: b.members(1)})
	_, err := b.svc.AddMember(ctx, b.admin, leads.Member{Email: "leaver@example.com", Role: leads.RoleAgent})
	require.NoError(t, err)
	var rules []*leads.RoutingRule
	for i, a := range []leads.RuleAction{{Type: leads.ActionTeam, TeamID: team.ID}, {Type: leads.ActionRotation, RotationID: rot.ID},
		{Type: leads.ActionAssign, Assignee: "leaver@example.com"}} {
		r, err := b.svc.CreateRoutingRule(ctx, b.admin, leads.RoutingRule{Name: fmt.Sprintf("to %d", i), Enabled: true,
			Conditions: leads.Condition{Field: "hotScore", Op: leads.OpGte, Value: 99}, Action: a}, -1)
		require.NoError(t, err)
		rules = append(rules, r)
	}
	require.NoError(t, b.svc.DeleteTeam(ctx, b.admin, team.ID, false))
	require.NoError(t, b.svc.DeleteRotation(ctx, b.admin, rot.ID))
	require.NoError(t, b.svc.RemoveMember(ctx, b.admin, "leaver@example.com"))
	for _, r := range rules {
		updated, err := b.svc.UpdateRoutingRule(ctx, b.admin, r.ID, func(r *leads.RoutingRule) error {
			r.Enabled = false
			return nil
		})
		require.NoError(t, err, "disable %s", r.Name)
		require.False(t, updated.Enabled)
		require.Equal(t, r.Action, updated.Action, "its action kept as it was")
	}
	_, err = b.svc.UpdateRoutingRule(ctx, b.admin, rules[0].ID, func(r *leads.RoutingRule) error {
		r.Action.TeamID = rot.ID + 1000
		return nil
	})
	requireCode(t, err, leads.CodeValidation)
}

func hotRule(name string, rotationID int64) leads.RoutingRule {
	return leads.RoutingRule{Name: name, Enabled: true,
		Conditions: leads.Condition{Field: "numberOfEmployees", Op: leads.OpGte, Value: 500},
		Action:     leads.RuleAction{Type: leads.ActionRotation, RotationID: rotationID}}
}

func ruleNames(rules []leads.RoutingRule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.Name
	}
	return out
}

func testRuleLifecycle(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 2)
	team := b.team(t, "Enterprise")
	before, err := b.svc.Configuration(ctx, b.admin)
	require.NoError(t, err)

	a, err := b.svc.CreateRoutingRule(ctx, b.admin, hotRule("Big companies", rot.ID), -1)
	require.NoError(t, err)
	require.NotZero(t, a.ID)
	require.Equal(t, b.accountID, a.AccountID)
	c, err := b.svc.CreateRoutingRule(ctx, b.admin, leads.RoutingRule{Name: "Spam", Enabled: true,
		Conditions: leads.Condition{Field: "emailDomain", Op: leads.OpIn, Value: []any{"mailinator.com"}},
		Action:     leads.RuleAction{Type: leads.ActionHold, Reason: "looks like spam"}}, 0)
	require.NoError(t, err)
	_, err = b.svc.CreateRoutingRule(ctx, b.admin, leads.RoutingRule{Name: "Enterprise team",
		Conditions: leads.Condition{Any: []leads.Condition{{Field: "company", Op: leads.OpContains, Value: "corp"}}},
		Action:     leads.RuleAction{Type: leads.ActionTeam, TeamID: team.ID}}, 1)
	require.NoError(t, err)
	rules, err := b.svc.RoutingRules(ctx, b.agent)
	require.NoError(t, err)
	require.Equal(t, []string{"Spam", "Enterprise team", "Big companies"}, ruleNames(rules))
	require.Equal(t, "numberOfEmployees gte 500", rules[2].Conditions.String(), "conditions come back as they went in")
	_, err = leads.CompileCondition(rules[2].Conditions, "")
	require.NoError(t, err, "and still compile")
	after, err := b.svc.Configuration(ctx, b.admin)
	require.NoError(t, err)
	require.Greater(t, after.Version, before.Version, "every process sees the change at its next lead")

	updated, err := b.svc.UpdateRoutingRule(ctx, b.admin, a.ID, func(r *leads.RoutingRule) error {
		r.Name, r.Enabled = "Large companies", false
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "Large companies", updated.Name)
	require.False(t, updated.Enabled)

	rules, err = b.svc.ReorderRoutingRules(ctx, b.admin, []int64{a.ID, c.ID, rules[1].ID})
	require.NoError(t, err)
	require.Equal(t, []string{"Large companies", "Spam", "Enterprise team"}, ruleNames(rules))
	// Naming some moves them to the front; the rest keep their order.
	rules, err = b.svc.ReorderRoutingRules(ctx, b.admin, []int64{rules[2].ID})
	require.NoError(t, err)
	require.Equal(t, []string{"Enterprise team", "Large companies", "Spam"}, ruleNames(rules))
	_, err = b.svc.ReorderRoutingRules(ctx, b.admin, []int64{a.ID, a.ID})
	require.Equal(t, leads.CodeValidation, leads.ErrorCode(err))
	_, err = b.svc.ReorderRoutingRules(ctx, b.admin, []int64{999999})
	require.Equal(t, leads.CodeValidation, leads.ErrorCode(err))

	require.NoError(t, b.svc.DeleteRoutingRule(ctx, b.admin, c.ID))
	rules, err = b.svc.RoutingRules(ctx, b.admin)
	require.NoError(t, err)
	require.Equal(t, []string{"Enterprise team", "Large companies"}, ruleNames(rules))
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(b.svc.DeleteRoutingRule(ctx, b.admin, c.ID)))

	log, err := b.svc.AuditLog(ctx, b.admin, leads.AuditQuery{AccountOnly: true}, "")
	require.NoError(t, err)
	var events []string
	for _, e := range log.Data {
		events = append(events, e.Event)
	}
	require.Subset(t, events, []string{leads.EventRoutingRuleCreated, leads.EventRoutingRuleUpdated,
		leads.EventRoutingRulesReordered, leads.EventRoutingRuleDeleted})
	for _, e := range log.Data {
		if e.Event == leads.EventRoutingRuleUpdated {
			require.Equal(t, "Big companies", e.Data["before"].(map[string]any)["name"])
			require.Equal(t, "Large companies", e.Data["after"].(map[string]any)["name"])
		}
	}
}

func testRuleRefusals(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 2)
	other := newBundle(t, b.env)
	otherRot := other.defaultRotation(t, 1)
	_, err := b.svc.CreateRoutingRule(ctx, b.admin, hotRule("Taken", rot.ID), -1)
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		rule  leads.RoutingRule
		code  string
		field string
	}{
		{"no name", hotRule(" ", rot.ID), leads.CodeValidation, "name"},
		{"a name taken, in other case", hotRule("TAKEN", rot.ID), leads.CodeConflict, ""},
		{"bad condition", leads.RoutingRule{Name: "x", Conditions: leads.Condition{Field: "colour", Op: leads.OpEq, Value: "red"},
			Action: leads.RuleAction{Type: leads.ActionHold, Reason: "r"}}, leads.CodeValidation, "conditions.field"},
		{"a status no lead has", leads.RoutingRule{Name: "x", Conditions: leads.Condition{Field: "status", Op: leads.OpEq, Value: "bogus"},
			Action: leads.RuleAction{Type: leads.ActionHold, Reason: "r"}}, leads.CodeValidation, "conditions.value"},
		{"a status no lead has, in a list in a group", leads.RoutingRule{Name: "x", Conditions: leads.Condition{All: []leads.Condition{
			{Field: "email", Op: leads.OpExists}, {Field: "status", Op: leads.OpIn, Value: []any{"New", "nope"}}}},
			Action: leads.RuleAction{Type: leads.ActionHold, Reason: "r"}}, leads.CodeValidation, "conditions.all[1].value"},
		{"unknown action", leads.RoutingRule{Name: "x", Conditions: leads.Condition{Field: "email", Op: leads.OpExists},
			Action: leads.RuleAction{Type: "drop"}}, leads.CodeValidation, "action.type"},
		{"a rotation action without its rotation", leads.RoutingRule{Name: "x", Conditions: leads.Condition{Field: "email", Op: leads.OpExists},
			Action: leads.RuleAction{Type: leads.ActionRotation}}, leads.CodeValidation, "action.rotationId"},
		{"a target the action does not take", leads.RoutingRule{Name: "x", Conditions: leads.Condition{Field: "email", Op: leads.OpExists},
			Action: leads.RuleAction{Type: leads.ActionHold, Reason: "r", TeamID: 1}}, leads.CodeValidation, "action.teamId"},
		{"another account's rotation", hotRule("x", otherRot.ID), leads.CodeValidation, "action.rotationId"},
		{"a team that is not there", leads.RoutingRule{Name: "x", Conditions: leads.Condition{Field: "email", Op: leads.OpExists},
			Action: leads.RuleAction{Type: leads.ActionTeam, TeamID: 999999}}, leads.CodeValidation, "action.teamId"},
		{"a non-member", leads.RoutingRule{Name: "x", Conditions: leads.Condition{Field: "email", Op: leads.OpExists},
			Action: leads.RuleAction{Type: leads.ActionAssign, Assignee: "stranger@example.com"}}, leads.CodeMemberNotInAccount, "action.assignee"},
	} {
		_, err := b.svc.CreateRoutingRule(ctx, b.admin, tc.rule, -1)
		require.Equal(t, tc.code, leads.ErrorCode(err), tc.name)
		if tc.field != "" {
			require.Equal(t, tc.field, leads.ErrorDetails(err)["field"], tc.name)
		}
	}
	rules, err := b.svc.RoutingRules(ctx, b.admin)
	require.NoError(t, err)
	require.Len(t, rules, 1, "a refused rule stored nothing")
	// No more than MaxRoutingRules: a rule of the Service, checked on one
	// backend, where 200 rules take little time.
	if b.env.name != "sqlite+memory" {
		return
	}
	for i := len(rules); i < leads.MaxRoutingRules; i++ {
		_, err := b.svc.CreateRoutingRule(ctx, b.admin, hotRule(fmt.Sprintf("rule %d", i), rot.ID), -1)
		require.NoError(t, err)
	}
	_, err = b.svc.CreateRoutingRule(ctx, b.admin, hotRule("one too many", rot.ID), -1)
	require.Equal(t, leads.CodeValidation, leads.ErrorCode(err))
	require.Equal(t, "rules", leads.ErrorDetails(err)["field"])
}

func testRuleConcurrency(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 2)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = b.svc.CreateRoutingRule(ctx, b.admin, hotRule(fmt.Sprintf("rule %d", i), rot.ID), 0)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	rules, err := b.svc.RoutingRules(ctx, b.admin)
	require.NoError(t, err)
	require.Len(t, rules, 8)
	require.ElementsMatch(t, []string{"rule 0", "rule 1", "rule 2", "rule 3", "rule 4", "rule 5", "rule 6", "rule 7"}, ruleNames(rules))
}

func testRuleAccess(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 2)
	_, err := b.svc.CreateRoutingRule(ctx, b.agent, hotRule("Mine", rot.ID), -1)
	require.Equal(t, leads.CodeForbidden, leads.ErrorCode(err))
	r, err := b.svc.CreateRoutingRule(ctx, b.admin, hotRule("Ours", rot.ID), -1)
	require.NoError(t, err)
	other := newBundle(t, b.env)
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(other.svc.DeleteRoutingRule(ctx, other.admin, r.ID)))
	_, err = other.svc.UpdateRoutingRule(ctx, other.admin, r.ID, func(*leads.RoutingRule) error { return nil })
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err))
	rules, err := other.svc.RoutingRules(ctx, other.admin)
	require.NoError(t, err)
	require.Empty(t, rules)
}

func testRuleEvaluation(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 2)
	gone := b.team(t, "Gone soon")
	rule := func(name string, enabled bool, c leads.Condition, a leads.RuleAction) {
		t.Helper()
		_, err := b.svc.CreateRoutingRule(ctx, b.admin, leads.RoutingRule{Name: name, Enabled: enabled, Conditions: c, Action: a}, -1)
		require.NoError(t, err)
	}
	big := leads.Condition{Field: "numberOfEmployees", Op: leads.OpGte, Value: 500}
	rule("Off", false, big, leads.RuleAction{Type: leads.ActionHold, Reason: "off"})
	rule("Gmail", true, leads.Condition{All: []leads.Condition{{Field: "status", Op: leads.OpEq, Value: "new"},
		{Field: "emailDomain", Op: leads.OpEq, Value: "gmail.com"}}}, leads.RuleAction{Type: leads.ActionHold, Reason: "personal"})
	rule("To a team that goes", true, big, leads.RuleAction{Type: leads.ActionTeam, TeamID: gone.ID})
	rule("Big", true, big, leads.RuleAction{Type: leads.ActionRotation, RotationID: rot.ID})
	rule("Never reached", true, big, leads.RuleAction{Type: leads.ActionHold, Reason: "late"})
	require.NoError(t, b.svc.DeleteTeam(ctx, b.admin, gone.ID, true))

	employees := int64(800)
	d, err := b.svc.EvaluateRoutingRules(ctx, b.agent, leads.LeadInput{FirstName: "Ada", LastName: "Lovelace",
		Email: "ada@analytical.example", NumberOfEmployees: &employees})
	require.NoError(t, err)
	require.Equal(t, []leads.RuleTrace{
		{RuleID: d.Rules[0].RuleID, Name: "Off", Outcome: leads.RuleDisabled},
		{RuleID: d.Rules[1].RuleID, Name: "Gmail", Outcome: leads.RuleNotMatched,
			FailedCondition: "conditions.all[1]", Condition: `emailDomain eq "gmail.com"`},
		{RuleID: d.Rules[2].RuleID, Name: "To a team that goes", Outcome: leads.RuleTargetMissing},
		{RuleID: d.Rules[3].RuleID, Name: "Big", Outcome: leads.RuleMatched},
	}, d.Rules)
	require.Equal(t, d.Rules[3].RuleID, d.RuleID)
	require.Equal(t, &leads.RuleAction{Type: leads.ActionRotation, RotationID: rot.ID}, d.Action)

	d, err = b.svc.EvaluateRoutingRules(ctx, b.agent, leads.LeadInput{FirstName: "Bo", LastName: "Small", Email: "bo@gmail.com"})
	require.NoError(t, err)
	require.Equal(t, leads.RuleMatched, d.Rules[1].Outcome, "status defaults to new, as on create")
	require.Equal(t, &leads.RuleAction{Type: leads.ActionHold, Reason: "personal"}, d.Action)

	d, err = b.svc.EvaluateRoutingRules(ctx, b.agent, leads.LeadInput{FirstName: "Cy", LastName: "Nobody", Status: leads.StatusLost})
	require.NoError(t, err)
	require.Zero(t, d.RuleID)
	require.Nil(t, d.Action)
	require.Len(t, d.Rules, 5, "every rule tried")
}

func testRuleOnScoreAndExternalID(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 2)
	for _, r := range []leads.RoutingRule{
		{Name: "Hot", Enabled: true, Conditions: leads.Condition{Field: "hotScore", Op: leads.OpGte, Value: 80},
			Action: leads.RuleAction{Type: leads.ActionRotation, RotationID: rot.ID}},
		{Name: "Known contact", Enabled: true, Conditions: leads.Condition{Field: "externalId", Op: leads.OpExists},
			Action: leads.RuleAction{Type: leads.ActionHold, Reason: "known"}},
	} {
		_, err := b.svc.CreateRoutingRule(ctx, b.admin, r, -1)
		require.NoError(t, err)
	}
	score := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		name   string
		in     leads.LeadInput
		rule   string // the rule that matched, "" for none
		failed string // why Hot failed, when it did
	}{
		{"hot", leads.LeadInput{HotScore: score(80), ExternalID: "crm-1"}, "Hot", ""},
		{"lukewarm with an id", leads.LeadInput{HotScore: score(79), ExternalID: "crm-1"}, "Known contact", "hotScore gte 80"},
		{"no score, an id of blanks", leads.LeadInput{ExternalID: "  "}, "", "hotScore gte 80"},
	} {
		tc.in.FirstName, tc.in.LastName = "Ada", "Lovelace"
		d, err := b.svc.EvaluateRoutingRules(ctx, b.agent, tc.in)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.failed, d.Rules[0].Condition, tc.name)
		if tc.rule == "" {
			require.Nil(t, d.Action, tc.name)
			require.Equal(t, leads.RuleNotMatched, d.Rules[1].Outcome, "%s: blanks are trimmed away: no id", tc.name)
			continue
		}
		matched := d.Rules[len(d.Rules)-1]
		require.Equal(t, tc.rule, matched.Name, tc.name)
		require.Equal(t, leads.RuleMatched, matched.Outcome, tc.name)
		require.Equal(t, matched.RuleID, d.RuleID, tc.name)
	}
}
