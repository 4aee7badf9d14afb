package spec_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
	"github.com/leadrotor/leadrotor/store/storetest"
)

func TestPropose(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"a proposal changes a weight and sends hot leads to a new pool, and writes nothing", testProposeHotLeads},
		{"a proposal is refused as the plan is", testProposeRefused},
	})
}

// hotLeadsSpec is what changes in a live account configured by baseSpec:
// rep1 weighs 3 in the inbound rotation, and leads of hotScore 80 and more
// go to a new pool.
func hotLeadsSpec() spec.Spec {
	sp := spec.Spec{Teams: baseSpec().Teams}
	sp.Teams[0].Rotation.Members[0].Weight = 3
	sp.Rotations = []spec.Rotation{{Name: "Hot leads", Members: []leads.RotationMember{{User: "rep6@example.com"}, {User: "rep7@example.com", Weight: 2}}}}
	sp.RoutingRules = []spec.RoutingRule{{Name: "Hot", Conditions: leads.Condition{Field: "hotScore", Op: leads.OpGte, Value: 80},
		Action: spec.RuleAction{Type: leads.ActionRotation, Rotation: "Hot leads"}}}
	return sp
}

const hotLeadsPlan = `= team "Inbound"
= lead source "Website" of team "Inbound"
= lead source "Webinar" of team "Inbound"
~ rotation "Inbound reps" of team "Inbound": rep1@example.com: weight 2 -> 3
. default rotation "Everyone" (not in the file: kept)
+ pool rotation "Hot leads": members: [rep6@example.com, rep7@example.com (weight 2)]
+ routing rule "Hot": conditions: hotScore gte 80; action: rotation "Hot leads"
= order of routing rules
`

func testProposeHotLeads(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := baseSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	live := b.config(t)
	before := jsonText(t, live)

	proposed, plan, err := hotLeadsSpec().Propose(ctx, live, b.admin)
	require.NoError(t, err)
	require.Equal(t, hotLeadsPlan, plan.String())
	require.Equal(t, 3, plan.Applied)
	require.Equal(t, live.Version+3, proposed.Version, "one version a change")

	inbound := teamNamed(t, live, "Inbound")
	rot := proposed.TeamRotations[inbound.ID]
	require.Equal(t, live.TeamRotations[inbound.ID].ID, rot.ID, "existing objects keep their ids")
	require.Equal(t, 3, rot.Members[0].Weight)
	require.Equal(t, "rep1@example.com", rot.Members[0].User)
	require.Equal(t, live.TeamRotations[inbound.ID].Members[1:], rot.Members[1:], "the rest as now")
	require.Equal(t, live.DefaultRotation.Members, proposed.DefaultRotation.Members, "what the file omits stays")
	require.Equal(t, live.Members, proposed.Members)

	require.Len(t, proposed.PoolRotations, 1)
	var pool *leads.Rotation
	for _, r := range proposed.PoolRotations {
		pool = r
	}
	require.Equal(t, "Hot leads", pool.Name)
	require.Equal(t, []leads.RotationMember{{User: "rep6@example.com", Weight: 1}, {User: "rep7@example.com", Weight: 2}}, pool.Members)
	require.Len(t, proposed.Rules, 1)
	require.Equal(t, leads.RuleAction{Type: leads.ActionRotation, RotationID: pool.ID}, proposed.Rules[0].Action)
	require.Zero(t, proposed.RulesVersion, "rules no store keeps")

	// The proposal routes as a configuration does: a hot lead to the pool.
	score, cold := int64(90), int64(10)
	d, err := leads.EvaluateRules(proposed, proposed.Rules, leads.LeadInput{FirstName: "Ada", HotScore: &score})
	require.NoError(t, err)
	require.Equal(t, "Hot", d.RuleName)
	require.Equal(t, pool, proposed.Rotation(d.Action.RotationID))
	d, err = leads.EvaluateRules(proposed, proposed.Rules, leads.LeadInput{FirstName: "Bob", HotScore: &cold})
	require.NoError(t, err)
	require.Zero(t, d.RuleID)

	require.Equal(t, before, jsonText(t, live), "the configuration proposed from is untouched")
	again := b.config(t)
	require.Equal(t, live.Version, again.Version, "the account is unchanged")
	require.Equal(t, before, jsonText(t, again))

	// Applying the file for real plans and makes the same.
	applied, err := hotLeadsSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	require.Equal(t, plan.String(), applied.String())
	after := b.config(t)
	require.Equal(t, rot.Members, after.TeamRotations[inbound.ID].Members)
	require.Len(t, after.PoolRotations, 1)
	for _, r := range after.PoolRotations {
		require.Equal(t, pool.Members, r.Members)
	}
}

func testProposeRefused(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := baseSpec().Apply(ctx, b.svc, b.admin, false)
	require.NoError(t, err)
	live := b.config(t)

	stranger := hotLeadsSpec()
	stranger.Rotations[0].Members[1].User = "Stranger@example.com"
	badWeight := hotLeadsSpec()
	badWeight.Teams[0].Rotation.Members[2].Weight = -1
	badRule := hotLeadsSpec()
	badRule.RoutingRules[0].Action.Rotation = "Lukewarm leads"
	for _, tc := range []struct {
		spec            spec.Spec
		code, key, name string
	}{
		{stranger, leads.CodeMemberNotInAccount, "path", "rotations[0].members[1].user"},
		{badWeight, leads.CodeValidation, "field", "teams[0].rotation.members[2].weight"},
		{badRule, leads.CodeValidation, "field", "routingRules[0].action.rotation"},
	} {
		_, want := tc.spec.Plan(ctx, b.svc, b.admin)
		requireCode(t, want, tc.code)
		require.Equal(t, tc.name, leads.ErrorDetails(want)[tc.key])
		proposed, _, err := tc.spec.Propose(ctx, live, b.admin)
		require.Nil(t, proposed)
		require.Equal(t, want.Error(), err.Error())
		require.Equal(t, leads.ErrorCode(want), leads.ErrorCode(err))
		require.Equal(t, leads.ErrorDetails(want), leads.ErrorDetails(err))
	}

	_, _, err = hotLeadsSpec().Propose(ctx, live, b.agent)
	requireCode(t, err, leads.CodeForbidden)
	require.Equal(t, live.Version, b.config(t).Version, "nothing written")
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return string(out)
}

// A proposal's time off makes its member away in the proposed
// configuration only.
func TestProposeTimeOff(t *testing.T) {
	b := newBundle(t, storetest.SQLite(t).Store)
	ctx := context.Background()
	_, err := b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "Everyone", Default: true, Members: b.members(2)})
	require.NoError(t, err)
	live, err := b.svc.Configuration(ctx, b.admin)
	require.NoError(t, err)
	start := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
	sp := spec.Spec{Members: []spec.Member{{Email: "rep1@example.com", Role: leads.RoleAgent,
		TimeOff: []spec.TimeOff{{Start: start, End: start.Add(24 * time.Hour)}}}}}
	proposed, _, err := sp.Propose(ctx, live, b.admin)
	require.NoError(t, err)
	require.Equal(t, leads.SkipOutOfOffice, proposed.Away("rep1@example.com", start.Add(time.Hour)))
	require.Empty(t, live.Away("rep1@example.com", start.Add(time.Hour)))
	again, err := b.svc.Configuration(ctx, b.admin)
	require.NoError(t, err)
	require.Empty(t, again.Away("rep1@example.com", start.Add(time.Hour)), "the live account is unchanged")
}
