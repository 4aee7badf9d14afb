package spec_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
	"github.com/leadrotor/leadrotor/store"
)

func TestApplyRoutingRules(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"a first apply creates the pools and the rules, targets found by name", testRulesCreate},
		{"applying the same rules again changes nothing", testRulesAgain},
		{"a changed rule shows its diff and is updated", testRulesChange},
		{"the file's rules come first, in its order; the others are kept after them", testRulesReorder},
		{"pools are found by name, and others are kept", testRulesPools},
		{"a dry run writes no pool and no rule", testRulesDryRun},
		{"bad rules and pools are refused before anything is written", testRulesValidation},
	})
}

// rulesSpec is baseSpec with a pool rotation and five routing rules: one
// for each action, their rotations (the pool, and the team's rotation) and
// team created by the same file, a disabled one, and an assignee in mixed
// case; the numbers are Go ints where the store gives back float64s.
func rulesSpec() spec.Spec {
	sp := baseSpec()
	off := false
	sp.Rotations = []spec.Rotation{{Name: "Hot leads", Members: []leads.RotationMember{
		{User: "rep5@example.com"}, {User: "rep6@example.com", Weight: 2},
	}}}
	sp.RoutingRules = []spec.RoutingRule{
		{Name: "Spring campaign", Conditions: leads.Condition{Field: "metadata.utm.campaign", Op: leads.OpEq, Value: "spring"},
			Action: spec.RuleAction{Type: leads.ActionRotation, Rotation: "Hot leads"}},
		{Name: "Acme", Conditions: leads.Condition{All: []leads.Condition{
			{Field: "emailDomain", Op: leads.OpIn, Value: []any{"acme.com"}},
			{Field: "numberOfEmployees", Op: leads.OpGte, Value: 500},
		}}, Action: spec.RuleAction{Type: leads.ActionTeam, Team: "Inbound"}},
		{Name: "Enterprise", Conditions: leads.Condition{Field: "numberOfEmployees", Op: leads.OpGte, Value: 1000},
			Action: spec.RuleAction{Type: leads.ActionRotation, Rotation: "Inbound reps"}},
		{Name: "Spam", Enabled: &off, Conditions: leads.Condition{Field: "email", Op: leads.OpEndsWith, Value: "@spam.test"},
			Action: spec.RuleAction{Type: leads.ActionHold, Reason: "looks like spam"}},
		{Name: "Founders", Conditions: leads.Condition{Field: "metadata.founder", Op: leads.OpEq, Value: true},
			Action: spec.RuleAction{Type: leads.ActionAssign, Assignee: "Rep7@Example.com"}},
	}
	return sp
}

const rulesPlan = basePlan + `+ pool rotation "Hot leads": members: [rep5@example.com, rep6@example.com (weight 2)]
+ routing rule "Spring campaign": conditions: metadata.utm.campaign eq "spring"; action: rotation "Hot leads"
+ routing rule "Acme": conditions: all(emailDomain in ["acme.com"], numberOfEmployees gte 500); action: team "Inbound"
+ routing rule "Enterprise": conditions: numberOfEmployees gte 1000; action: rotation "Inbound reps"
+ routing rule "Spam": enabled: false; conditions: email ends_with "@spam.test"; action: hold "looks like spam"
+ routing rule "Founders": conditions: metadata.founder eq true; action: assign rep7@example.com
= order of routing rules
`

// ruleNames returns the names of the account's rules, in order.
func ruleNames(cfg *leads.AccountConfig) []string {
	out := make([]string, len(cfg.Rules))
	for i, r := range cfg.Rules {
		out[i] = r.Name
	}
	return out
}

// ruleNamed returns the account's rule of that name.
func ruleNamed(t *testing.T, cfg *leads.AccountConfig, name string) leads.RoutingRule {
	t.Helper()
	return named(t, "rule", slices.Values(cfg.Rules), func(r leads.RoutingRule) string { return r.Name }, name)
}

// poolNamed returns the account's pool rotation of that name.
func poolNamed(t *testing.T, cfg *leads.AccountConfig, name string) *leads.Rotation {
	t.Helper()
	return named(t, "pool", maps.Values(cfg.PoolRotations), func(r *leads.Rotation) string { return r.Name }, name)
}

// changed returns the lines of the plan's items that are not unchanged.
func changed(p *spec.Plan) []string {
	var lines []string
	for _, it := range p.Items {
		if it.Kind != spec.Unchanged {
			lines = append(lines, it.String())
		}
	}
	return lines
}

func testRulesCreate(t *testing.T, b *bundle) {
	ctx := context.Background()
	plan, err := rulesSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, rulesPlan, plan.String())
	require.Equal(t, 14, plan.Changes())
	require.Equal(t, 14, plan.Applied)

	cfg := b.config(t)
	pool := poolNamed(t, cfg, "Hot leads")
	require.Zero(t, pool.TeamID)
	require.False(t, pool.Default)
	require.Equal(t, []leads.RotationMember{{User: "rep5@example.com", Weight: 1}, {User: "rep6@example.com", Weight: 2}}, pool.Members)
	team := teamNamed(t, cfg, "Inbound")
	require.Equal(t, []string{"Spring campaign", "Acme", "Enterprise", "Spam", "Founders"}, ruleNames(cfg))
	require.Equal(t, leads.RuleAction{Type: leads.ActionRotation, RotationID: pool.ID}, cfg.Rules[0].Action)
	require.Equal(t, leads.RuleAction{Type: leads.ActionTeam, TeamID: team.ID}, cfg.Rules[1].Action)
	require.Equal(t, leads.RuleAction{Type: leads.ActionRotation, RotationID: cfg.TeamRotations[team.ID].ID}, cfg.Rules[2].Action)
	require.Equal(t, leads.RuleAction{Type: leads.ActionHold, Reason: "looks like spam"}, cfg.Rules[3].Action)
	require.Equal(t, leads.RuleAction{Type: leads.ActionAssign, Assignee: "rep7@example.com"}, cfg.Rules[4].Action)
	require.Equal(t, []bool{true, true, true, false, true}, []bool{cfg.Rules[0].Enabled, cfg.Rules[1].Enabled, cfg.Rules[2].Enabled, cfg.Rules[3].Enabled, cfg.Rules[4].Enabled})

	// The rules route: a spring lead goes to the pool.
	d, err := b.svc.EvaluateRoutingRules(ctx, b.admin, leads.LeadInput{FirstName: "Ada", LastName: "Lovelace",
		Metadata: map[string]any{"utm": map[string]any{"campaign": "Spring"}}})
	require.NoError(t, err)
	require.Equal(t, "Spring campaign", d.RuleName)
	require.Equal(t, pool.ID, d.Action.RotationID)
}

func testRulesAgain(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := rulesSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	before := b.config(t)
	b.now = b.now.Add(time.Hour)

	plan, err := rulesSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Zero(t, plan.Changes(), plan.String())
	for _, it := range plan.Items {
		require.Equal(t, spec.Unchanged, it.Kind, it.String())
	}
	after := b.config(t)
	require.Equal(t, before.Version, after.Version, "nothing was written")
	require.Equal(t, before.Rules, after.Rules)
}

func testRulesChange(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := rulesSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)

	sp := rulesSpec()
	sp.Rotations[0].Name = "Warm leads" // a new pool; "Hot leads" is kept
	sp.RoutingRules[0].Conditions.Value = "summer"
	sp.RoutingRules[0].Action.Rotation = "Warm leads"
	sp.RoutingRules[1].Action = spec.RuleAction{Type: leads.ActionRotation, Rotation: "Inbound reps"}
	sp.RoutingRules[2].Name = "ENTERPRISE" // the same rule, renamed
	sp.DefaultRotation.Name = "All reps"   // renamed by the file: "Enterprise" still names it
	sp.RoutingRules[2].Action.Rotation = "All reps"
	sp.RoutingRules[3].Enabled = nil
	plan, err := sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Equal(t, []string{
		`~ default rotation "All reps": name: "Everyone" -> "All reps"`,
		`+ pool rotation "Warm leads": members: [rep5@example.com, rep6@example.com (weight 2)]`,
		`. pool rotation "Hot leads" (not in the file: kept)`,
		`~ routing rule "Spring campaign": conditions: metadata.utm.campaign eq "spring" -> metadata.utm.campaign eq "summer"; action: rotation "Hot leads" -> rotation "Warm leads"`,
		`~ routing rule "Acme": action: team "Inbound" -> rotation "Inbound reps"`,
		`~ routing rule "ENTERPRISE": name: "Enterprise" -> "ENTERPRISE"; action: rotation "Inbound reps" -> rotation "All reps"`,
		`~ routing rule "Spam": enabled: false -> true`,
	}, changed(plan))

	plan, err = sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, 6, plan.Applied)
	cfg := b.config(t)
	require.Equal(t, []string{"Spring campaign", "Acme", "ENTERPRISE", "Spam", "Founders"}, ruleNames(cfg))
	warm := poolNamed(t, cfg, "Warm leads")
	require.Equal(t, leads.RuleAction{Type: leads.ActionRotation, RotationID: warm.ID}, cfg.Rules[0].Action)
	require.Equal(t, "summer", cfg.Rules[0].Conditions.Value)
	require.Equal(t, leads.RuleAction{Type: leads.ActionRotation, RotationID: cfg.TeamRotations[teamNamed(t, cfg, "Inbound").ID].ID}, cfg.Rules[1].Action)
	require.Equal(t, leads.RuleAction{Type: leads.ActionRotation, RotationID: cfg.DefaultRotation.ID}, cfg.Rules[2].Action)
	require.True(t, cfg.Rules[3].Enabled)
	require.NotNil(t, poolNamed(t, cfg, "Hot leads"), "never deletes")

	plan, err = sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Zero(t, plan.Changes(), "converged:\n%s", plan)

	// A file without rules keeps the account's, in their order.
	plan, err = baseSpec().Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Contains(t, plan.String(), ". routing rule \"Spam\" (not in the file: kept)\n")
	require.NotContains(t, plan.String(), "order of routing rules")
}

func testRulesReorder(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := rulesSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	_, err = b.svc.CreateRoutingRule(ctx, b.admin, leads.RoutingRule{Name: "By hand", Enabled: true,
		Conditions: leads.Condition{Field: "company", Op: leads.OpExists}, Action: leads.RuleAction{Type: leads.ActionHold, Reason: "manual"}}, 0)
	require.NoError(t, err)

	sp := rulesSpec()
	r := sp.RoutingRules
	sp.RoutingRules = []spec.RoutingRule{r[1], {Name: "New", Conditions: leads.Condition{Field: "source", Op: leads.OpEq, Value: "chat"},
		Action: spec.RuleAction{Type: leads.ActionHold, Reason: "chat"}}, r[0], r[2], r[3], r[4]}
	plan, err := sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Equal(t, []string{
		`+ routing rule "New": conditions: source eq "chat"; action: hold "chat"`,
		`~ order of routing rules: ["By hand", "Spring campaign", "Acme", "Enterprise", "Spam", "Founders"] -> ["Acme", "New", "Spring campaign", "Enterprise", "Spam", "Founders", "By hand"]`,
		`. routing rule "By hand": after the file's rules (not in the file: kept)`,
	}, changed(plan))
	plan, err = sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, 2, plan.Applied)
	cfg := b.config(t)
	require.Equal(t, []string{"Acme", "New", "Spring campaign", "Enterprise", "Spam", "Founders", "By hand"}, ruleNames(cfg))
	plan, err = sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	require.Zero(t, plan.Changes(), "converged:\n%s", plan)

	// A new rule is created at its place: when the others are in order,
	// the order needs no change.
	sp.RoutingRules = append(sp.RoutingRules[:1], append([]spec.RoutingRule{{Name: "Newer",
		Conditions: leads.Condition{Field: "source", Op: leads.OpEq, Value: "bot"},
		Action:     spec.RuleAction{Type: leads.ActionHold, Reason: "bot"}}}, sp.RoutingRules[1:]...)...)
	plan, err = sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, []string{
		`+ routing rule "Newer": conditions: source eq "bot"; action: hold "bot"`,
		`. routing rule "By hand": after the file's rules (not in the file: kept)`,
	}, changed(plan))
	require.Equal(t, []string{"Acme", "Newer", "New", "Spring campaign", "Enterprise", "Spam", "Founders", "By hand"}, ruleNames(b.config(t)))
}

func testRulesPools(t *testing.T, b *bundle) {
	ctx := context.Background()
	for _, name := range []string{"Hot leads", "Old pool"} {
		_, err := b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: name, Members: b.members(1)})
		require.NoError(t, err)
	}
	sp := rulesSpec()
	plan, err := sp.Plan(ctx, b.svc, b.admin)
	require.NoError(t, err)
	lines := changed(plan)
	require.Contains(t, lines, `~ pool rotation "Hot leads": members: [rep1@example.com] -> [rep5@example.com rep6@example.com]; rep6@example.com (new): weight 2`)
	require.Contains(t, lines, `. pool rotation "Old pool" (not in the file: kept)`)
	_, err = sp.Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	cfg := b.config(t)
	require.Len(t, cfg.PoolRotations, 2, "the pool was updated, not created again")
	require.Equal(t, poolNamed(t, cfg, "Hot leads").ID, ruleNamed(t, cfg, "Spring campaign").Action.RotationID)

	// Names that several pools have (from before names were unique: the
	// store refuses them now, so the second is renamed behind its back) do
	// not say which one is meant.
	twin, err := b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "Hot leads twin", Members: b.members(1)})
	require.NoError(t, err)
	raw := b.store.(*store.Store).DB()
	_, err = raw.ExecContext(ctx, "UPDATE rotations SET name = ? WHERE id = ?", "Hot leads", twin.ID)
	require.NoError(t, err)
	_, err = raw.ExecContext(ctx, "UPDATE accounts SET config_version = config_version + 1 WHERE id = ?", b.accountID)
	require.NoError(t, err)
	_, err = sp.Plan(ctx, b.svc, b.admin)
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, "rotations[0].name", leads.ErrorDetails(err)["field"], "%v", err)
	sp.Rotations = nil
	_, err = sp.Plan(ctx, b.svc, b.admin)
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, "routingRules[0].action.rotation", leads.ErrorDetails(err)["field"], "%v", err)
}

func testRulesDryRun(t *testing.T, b *bundle) {
	before := b.config(t)
	plan, err := rulesSpec().Apply(context.Background(), b.svc, b.admin, true)
	require.NoError(t, err)
	require.Equal(t, rulesPlan, plan.String())
	require.Zero(t, plan.Applied)
	after := b.config(t)
	require.Equal(t, before.Version, after.Version)
	require.Empty(t, after.PoolRotations)
	require.Empty(t, after.Rules)
}

func testRulesValidation(t *testing.T, b *bundle) {
	before := b.config(t)
	b.requireRefused(t, rulesSpec, leads.CodeValidation, "field", []refusal{
		{"routingRules[1].conditions.all[0].op", func(s *spec.Spec) { s.RoutingRules[1].Conditions.All[0].Op = "bigger" }},
		{"routingRules[1].conditions.all[1].value", func(s *spec.Spec) { s.RoutingRules[1].Conditions.All[1].Value = "many" }},
		{"routingRules[0].conditions.field", func(s *spec.Spec) { s.RoutingRules[0].Conditions = leads.Condition{} }},
		{"routingRules[0].name", func(s *spec.Spec) { s.RoutingRules[0].Name = " " }},
		{"routingRules[2].name", func(s *spec.Spec) { s.RoutingRules[2].Name = "SPRING campaign " }},
		{"routingRules[3].action.type", func(s *spec.Spec) { s.RoutingRules[3].Action.Type = "forward" }},
		{"routingRules[0].action.rotation", func(s *spec.Spec) { s.RoutingRules[0].Action.Rotation = "Cold leads" }},
		{"routingRules[0].action.rotation", func(s *spec.Spec) { s.RoutingRules[0].Action.Rotation = "hot leads" }},
		{"routingRules[0].action.rotation", func(s *spec.Spec) { s.RoutingRules[0].Action.Rotation = "  " }},
		{"routingRules[0].action.team", func(s *spec.Spec) { s.RoutingRules[0].Action.Team = "Inbound" }},
		{"routingRules[1].action.team", func(s *spec.Spec) { s.RoutingRules[1].Action.Team = "Outbound" }},
		{"routingRules[4].action.assignee", func(s *spec.Spec) { s.RoutingRules[4].Action.Assignee = "not an email" }},
		{"routingRules[0].action.rotation", func(s *spec.Spec) {
			s.Rotations[0].Name = "Everyone" // the default's name too: which one?
			s.RoutingRules[0].Action.Rotation = "Everyone"
		}},
		{"rotations[0].name", func(s *spec.Spec) { s.Rotations[0].Name = "" }},
		{"rotations[1].name", func(s *spec.Spec) { s.Rotations = append(s.Rotations, spec.Rotation{Name: " Hot leads"}) }},
		{"rotations[0].members[1].weight", func(s *spec.Spec) { s.Rotations[0].Members[1].Weight = -1 }},
	})
	b.requireRefused(t, rulesSpec, leads.CodeMemberNotInAccount, "path", []refusal{
		{"routingRules[4].action.assignee", func(s *spec.Spec) { s.RoutingRules[4].Action.Assignee = "Stranger@example.com" }},
		{"rotations[0].members[0].user", func(s *spec.Spec) { s.Rotations[0].Members[0].User = "stranger@example.com" }},
	})
	require.Equal(t, before.Version, b.config(t).Version, "nothing was written")
}
