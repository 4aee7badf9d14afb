package leads_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestConfiguration(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"the preview of next turns agrees with the turns taken", testPreviewAgrees},
		{"teams: rename, delete, in use, force", testTeams},
		{"lead sources: rename, delete, in use, force", testLeadSources},
		{"rotations: change, member edits, delete, all audited", testRotationChanges},
		{"rotations: a name another has is refused, one had before stays", testRotationNames},
		{"members and account settings", testMembersAndAccount},
		{"statistics of a rotation and a team", testStats},
		{"a dry run says who would get the lead and stores nothing", testDryRun},
	})
}

// previewCases run once per environment: set up a rotation, take some turns,
// preview the next ones, then take them and compare.
var previewCases = []struct {
	name    string
	members func(b *bundle) []leads.RotationMember
	before  int // turns taken before the preview
	n       int
}{
	{"equal weights", func(b *bundle) []leads.RotationMember { return b.members(3) }, 1, 7},
	{"weighted", func(b *bundle) []leads.RotationMember {
		ms := b.members(4)
		ms[1].Weight, ms[3].Weight = 3, 2
		return ms
	}, 3, 14},
	{"paused", func(b *bundle) []leads.RotationMember {
		ms := b.members(4)
		ms[2].Paused = true
		return ms
	}, 2, 9},
	{"capped", func(b *bundle) []leads.RotationMember {
		ms := b.members(3)
		ms[0].DailyCap, ms[2].DailyCap = 2, 4
		return ms
	}, 1, 10},
	{"weighted, paused and capped", func(b *bundle) []leads.RotationMember {
		ms := b.members(5)
		ms[0].Weight, ms[1].Paused, ms[2].DailyCap, ms[4].Weight = 2, true, 1, 3
		return ms
	}, 2, 12},
}

func testPreviewAgrees(t *testing.T, b *bundle) {
	ctx := context.Background()
	for _, tc := range previewCases {
		acct := newBundle(t, b.env)
		acct.clock = b.clock
		rot := acct.rotation(t, leads.Rotation{Name: tc.name, Default: true, Members: tc.members(acct)})
		for range tc.before {
			acct.mustCreate(t, lead("Before"), leads.CreateOptions{})
		}
		p, err := acct.svc.NextTurns(ctx, acct.agent, rot.ID, tc.n)
		require.NoError(t, err)
		var predicted, taken []string
		for _, turn := range p.Next {
			predicted = append(predicted, fmt.Sprintf("%d:%s", turn.Turn, turn.Assignee))
		}
		for range len(p.Next) {
			l := acct.mustCreate(t, lead("After"), leads.CreateOptions{}).Lead
			taken = append(taken, fmt.Sprintf("%d:%s", l.RotationTurn, l.AssignedTo))
		}
		require.Equal(t, predicted, taken, tc.name)
		require.EqualValues(t, tc.before, p.Turn, tc.name)
	}
	// The capped case runs out: the preview stops where nobody is eligible.
	acct := newBundle(t, b.env)
	ms := acct.members(2)
	ms[0].DailyCap, ms[1].DailyCap = 1, 2
	rot := acct.rotation(t, leads.Rotation{Name: "small", Default: true, Members: ms, FallbackAssignee: acct.admin.Email})
	p, err := acct.svc.NextTurns(ctx, acct.agent, rot.ID, 10)
	require.NoError(t, err)
	require.Len(t, p.Next, 3)
	require.Equal(t, []leads.Skip{{User: acct.reps[0], Reason: leads.SkipDailyCap, Slots: 1}}, p.Next[2].Skipped)
	for range 3 {
		acct.mustCreate(t, lead("Fill"), leads.CreateOptions{})
	}
	p, err = acct.svc.NextTurns(ctx, acct.agent, rot.ID, 10)
	require.NoError(t, err)
	require.Empty(t, p.Next)
	require.Equal(t, acct.admin.Email, p.FallbackAssignee)
	require.Equal(t, []string{leads.SkipDailyCap, leads.SkipDailyCap}, []string{p.Members[0].Reason, p.Members[1].Reason})
	require.EqualValues(t, 2, p.Members[1].AssignedToday)
	_, err = acct.svc.NextTurns(ctx, acct.agent, rot.ID, 101)
	requireCode(t, err, leads.CodeValidation)
}

// auditEvents returns the account's audit entries that are not about leads.
func (b *bundle) configEvents(t *testing.T) []leads.AuditEntry {
	t.Helper()
	page, err := b.svc.AuditLog(context.Background(), b.admin, leads.AuditQuery{Limit: 500}, "")
	require.NoError(t, err)
	var out []leads.AuditEntry
	for _, e := range page.Data {
		if e.LeadID == 0 && !strings.HasPrefix(e.Event, "member_") {
			out = append(out, e)
		}
	}
	return out
}

func testTeams(t *testing.T, b *bundle) {
	ctx := context.Background()
	west := b.team(t, "West")
	src := b.source(t, west.ID, "Web")
	rot := b.rotation(t, leads.Rotation{Name: "West", TeamID: west.ID, Members: b.members(2)})
	b.team(t, "East")

	renamed, err := b.svc.RenameTeam(ctx, b.admin, west.ID, "Pacific")
	require.NoError(t, err)
	require.Equal(t, "Pacific", renamed.Name)
	_, err = b.svc.RenameTeam(ctx, b.admin, west.ID, "East")
	requireCode(t, err, leads.CodeConflict)
	_, err = b.svc.RenameTeam(ctx, b.agent, west.ID, "Atlantic")
	requireCode(t, err, leads.CodeForbidden)
	_, err = b.svc.RenameTeam(ctx, b.admin, 987654, "Atlantic")
	requireCode(t, err, leads.CodeNotFound)

	in := lead("Ada")
	in.TeamID, in.LeadSourceID = west.ID, src.ID
	l := b.mustCreate(t, in, leads.CreateOptions{}).Lead
	err = b.svc.DeleteTeam(ctx, b.admin, west.ID, false)
	requireCode(t, err, leads.CodeTeamInUse)
	require.Equal(t, "1", fmt.Sprint(leads.ErrorDetails(err)["leads"]))
	require.NoError(t, b.svc.DeleteTeam(ctx, b.admin, west.ID, true))
	detached, err := b.svc.Lead(ctx, b.agent, l.ID)
	require.NoError(t, err)
	require.Zero(t, detached.TeamID)
	require.Zero(t, detached.LeadSourceID)
	require.Equal(t, b.reps[0], detached.AssignedTo, "the lead keeps its assignee")
	_, err = b.svc.Team(ctx, b.agent, west.ID)
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.Rotation(ctx, b.agent, rot.ID)
	requireCode(t, err, leads.CodeNotFound) // the team's rotation went with it

	var events []string
	for _, e := range b.configEvents(t) {
		events = append(events, e.Event)
	}
	require.Equal(t, []string{"team_created", "lead_source_created", "rotation_created", "team_created", "team_updated", "team_deleted"}, events)
	deleted := b.configEvents(t)[5]
	require.Equal(t, "Pacific", deleted.Data["before"].(map[string]any)["name"])
	require.Equal(t, "1", fmt.Sprint(deleted.Data["detachedLeads"]))
}

func testLeadSources(t *testing.T, b *bundle) {
	ctx := context.Background()
	west := b.team(t, "West")
	web, expo := b.source(t, west.ID, "Web"), b.source(t, west.ID, "Expo")
	_, err := b.svc.RenameLeadSource(ctx, b.admin, web.ID, "Expo")
	requireCode(t, err, leads.CodeConflict)
	renamed, err := b.svc.RenameLeadSource(ctx, b.admin, web.ID, "Website")
	require.NoError(t, err)
	require.Equal(t, "Website", renamed.Name)

	in := lead("Ada")
	in.TeamID, in.LeadSourceID = west.ID, web.ID
	l := b.mustCreate(t, in, leads.CreateOptions{}).Lead
	requireCode(t, b.svc.DeleteLeadSource(ctx, b.admin, web.ID, false), leads.CodeLeadSourceInUse)
	require.NoError(t, b.svc.DeleteLeadSource(ctx, b.admin, expo.ID, false), "an unused source goes")
	require.NoError(t, b.svc.DeleteLeadSource(ctx, b.admin, web.ID, true))
	got, err := b.svc.Lead(ctx, b.agent, l.ID)
	require.NoError(t, err)
	require.Zero(t, got.LeadSourceID)
	require.Equal(t, west.ID, got.TeamID, "the lead stays in its team")
	sources, err := b.svc.LeadSources(ctx, b.agent, west.ID)
	require.NoError(t, err)
	require.Empty(t, sources)
	requireCode(t, b.svc.DeleteLeadSource(ctx, b.admin, web.ID, true), leads.CodeNotFound)
}

func testRotationChanges(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 3)
	west := b.team(t, "West")
	_, err := b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "second", Default: true})
	requireCode(t, err, leads.CodeConflict)
	westRot := b.rotation(t, leads.Rotation{Name: "West", TeamID: west.ID})
	_, err = b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "West again", TeamID: west.ID})
	requireCode(t, err, leads.CodeConflict)
	_, err = b.svc.UpdateRotation(ctx, b.admin, westRot.ID, func(r *leads.Rotation) error {
		r.TeamID, r.Default = 0, true
		return nil
	})
	requireCode(t, err, leads.CodeConflict)

	// Member edits keep the others' turn order.
	b.mustCreate(t, lead("A"), leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	changed, err := b.svc.UpdateRotation(ctx, b.admin, rot.ID, func(r *leads.Rotation) error {
		r.Members = append(r.Members, leads.RotationMember{User: b.reps[3], Weight: 1})
		r.Members[1].DailyCap = 5
		return nil
	})
	require.NoError(t, err)
	require.Len(t, changed.Members, 4)
	require.Equal(t, b.reps[1], b.mustCreate(t, lead("B"), leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead.AssignedTo)

	_, err = b.svc.UpdateRotation(ctx, b.admin, rot.ID, func(r *leads.Rotation) error {
		r.Members = append(r.Members, leads.RotationMember{User: "stranger@example.com"})
		return nil
	})
	requireCode(t, err, leads.CodeMemberNotInAccount)
	_, err = b.svc.UpdateRotation(ctx, b.agent, rot.ID, func(*leads.Rotation) error { return nil })
	requireCode(t, err, leads.CodeForbidden)
	unchanged, err := b.svc.UpdateRotation(ctx, b.admin, rot.ID, func(*leads.Rotation) error { return nil })
	require.NoError(t, err)
	require.Equal(t, changed.UpdatedAt, unchanged.UpdatedAt, "no change, no write")

	var updates []leads.AuditEntry
	for _, e := range b.configEvents(t) {
		if e.Event == leads.EventRotationUpdated {
			updates = append(updates, e)
		}
	}
	require.Len(t, updates, 1)
	require.Len(t, updates[0].Data["before"].(map[string]any)["members"], 3)
	require.Len(t, updates[0].Data["after"].(map[string]any)["members"], 4)

	require.NoError(t, b.svc.DeleteRotation(ctx, b.admin, rot.ID))
	res := b.mustCreate(t, lead("C"), leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	require.Equal(t, leads.AssignNoRotation, res.Assignment.Reason)
	requireCode(t, b.svc.DeleteRotation(ctx, b.admin, rot.ID), leads.CodeNotFound)
	rots, err := b.svc.Rotations(ctx, b.agent)
	require.NoError(t, err)
	require.Len(t, rots, 1)
}

func testMembersAndAccount(t *testing.T, b *bundle) {
	ctx := context.Background()
	manager := leads.Actor{AccountID: b.accountID, Email: "m@example.com", Role: leads.RoleManager}
	_, err := b.svc.Members(ctx, manager)
	requireCode(t, err, leads.CodeForbidden)
	_, err = b.svc.AddMember(ctx, b.admin, leads.Member{Email: b.reps[0], Role: leads.RoleAgent})
	requireCode(t, err, leads.CodeConflict)
	added, err := b.svc.AddMember(ctx, b.admin, leads.Member{Email: "New@Example.com", Role: leads.RoleManager})
	require.NoError(t, err)
	require.Equal(t, "new@example.com", added.Email)
	_, err = b.svc.UpdateMember(ctx, b.admin, leads.Member{Email: "nobody@example.com", Role: leads.RoleAgent})
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.UpdateMember(ctx, b.admin, leads.Member{Email: b.admin.Email, Role: leads.RoleAgent})
	requireCode(t, err, leads.CodeLastAdmin)
	requireCode(t, b.svc.RemoveMember(ctx, b.admin, b.admin.Email), leads.CodeLastAdmin)

	rot := b.rotation(t, leads.Rotation{Name: "r", Default: true, Members: b.members(2), FallbackAssignee: b.reps[1],
		WhenNobodyEligible: leads.NobodyFallback})
	require.NoError(t, b.svc.RemoveMember(ctx, b.admin, b.reps[1]))
	after, err := b.svc.Rotation(ctx, b.agent, rot.ID)
	require.NoError(t, err)
	require.Equal(t, []leads.RotationMember{{User: b.reps[0], Weight: 1}}, after.Members, "removed from the rotation")
	require.Empty(t, after.FallbackAssignee)
	// It falls back to nobody, and says so: what it does without a
	// fallback assignee, and a configuration that any edit keeps valid.
	require.Equal(t, leads.NobodyUnassigned, after.WhenNobodyEligible)
	renamed, err := b.svc.UpdateRotation(ctx, b.admin, rot.ID, func(r *leads.Rotation) error { r.Name = "renamed"; return nil })
	require.NoError(t, err, "a rotation whose fallback left is still editable")
	require.Equal(t, "renamed", renamed.Name)
	members, err := b.svc.Members(ctx, b.admin)
	require.NoError(t, err)
	require.Len(t, members, 2+7-1+1)

	for _, blank := range []string{"", "   "} {
		_, err := b.svc.UpdateAccount(ctx, b.admin, leads.AccountPatch{Name: &blank})
		requireField(t, err, "name")
	}
	policy := leads.DuplicateAllow
	acct, err := b.svc.UpdateAccount(ctx, b.admin, leads.AccountPatch{DuplicatePolicy: &policy})
	require.NoError(t, err)
	require.Equal(t, leads.DuplicateAllow, acct.DuplicatePolicy)
	in := lead("Ada")
	in.Email = "same@example.com"
	b.mustCreate(t, in, leads.CreateOptions{})
	b.mustCreate(t, in, leads.CreateOptions{}) // takes effect for the very next lead
	bad := leads.DuplicatePolicy("sometimes")
	_, err = b.svc.UpdateAccount(ctx, b.admin, leads.AccountPatch{DuplicatePolicy: &bad})
	requireCode(t, err, leads.CodeValidation)
	_, err = b.svc.UpdateAccount(ctx, manager, leads.AccountPatch{DuplicatePolicy: &policy})
	requireCode(t, err, leads.CodeForbidden)
}

func testStats(t *testing.T, b *bundle) {
	ctx := context.Background()
	west := b.team(t, "West")
	web := b.source(t, west.ID, "Web")
	ms := b.members(3)
	ms[0].Weight, ms[2].Paused = 2, true
	rot := b.rotation(t, leads.Rotation{Name: "West", TeamID: west.ID, Members: ms})
	for i := range 6 {
		in := lead("Lead")
		in.TeamID = west.ID
		if i%2 == 0 {
			in.LeadSourceID = web.ID
		}
		b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	}
	st, err := b.svc.RotationStats(ctx, b.agent, rot.ID, nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, 6, st.Total)
	require.EqualValues(t, 6, st.Turn)
	byUser := map[string]leads.MemberStats{}
	for _, m := range st.Members {
		byUser[m.User] = m
	}
	require.EqualValues(t, 4, byUser[b.reps[0]].Assigned)
	require.EqualValues(t, 2, byUser[b.reps[1]].Assigned)
	require.InDelta(t, 0.5, byUser[b.reps[0]].TargetShare, 1e-9, "weight 2 of 4")
	require.InDelta(t, 4-3, byUser[b.reps[0]].Deviation, 1e-9, "paused members' share is spread over the others")
	require.Positive(t, byUser[b.reps[2]].Skips[leads.SkipPaused])
	require.False(t, byUser[b.reps[2]].Eligible)
	require.NotEmpty(t, st.Next)

	yesterday := b.clock.Now().Add(-24 * time.Hour)
	before, err := b.svc.RotationStats(ctx, b.agent, rot.ID, &yesterday, &yesterday)
	requireCode(t, err, leads.CodeValidation)
	require.Nil(t, before)

	ts, err := b.svc.TeamStats(ctx, b.agent, west.ID, nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, 6, ts.Leads)
	require.Equal(t, map[string]int64{fmt.Sprint(web.ID): 3, "none": 3}, ts.ByLeadSource)
	require.Equal(t, map[string]int64{"new": 6}, ts.ByStatus)
	require.EqualValues(t, 4, ts.ByAssignee[b.reps[0]])
	require.NotNil(t, ts.Rotation)
	_, err = b.svc.TeamStats(ctx, b.agent, 987654, nil, nil)
	requireCode(t, err, leads.CodeNotFound)
}

func testDryRun(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	b.team(t, "West")
	_, err := b.create(lead("Ada"), leads.CreateOptions{DryRun: true})
	requireCode(t, err, leads.CodeTeamRequired)
	in := lead("  Ada ")
	in.Email = "ada@example.com"
	res, err := b.create(in, leads.CreateOptions{DryRun: true, SkipTeamAndSourceRequirement: true})
	require.NoError(t, err)
	require.True(t, res.DryRun)
	require.Zero(t, res.Lead.ID)
	require.Equal(t, "Ada", res.Lead.FirstName)
	require.Equal(t, b.reps[0], res.Lead.AssignedTo)
	require.Equal(t, leads.Assignment{Assignee: b.reps[0], RotationID: rot.ID, RotationName: "default", Reason: leads.AssignRotation, Turn: 1,
		Decision: &leads.RoutingDecision{Step: leads.StepDefault, RuleDecision: leads.RuleDecision{Rules: []leads.RuleTrace{}}, Eligible: b.reps[:3]}},
		res.Assignment)
	require.Zero(t, b.count(t, "leads"))
	require.Equal(t, b.reps[0], b.peek(t, rot), "no turn taken")
	real := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	require.Equal(t, res.Assignment, real.Assignment, "the dry run told the truth")
	_, err = b.create(in, leads.CreateOptions{DryRun: true, SkipTeamAndSourceRequirement: true})
	requireCode(t, err, leads.CodeDuplicateEmail)
}

// testRotationNames: a rotation's name is unique in its account, as a
// team's is (simulations and YAML name rotations): creating or renaming to
// a name taken is a CONFLICT on name, and nothing is written.
func testRotationNames(t *testing.T, b *bundle) {
	ctx := context.Background()
	first, err := b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "Pool", Members: b.members(2)})
	require.NoError(t, err)
	_, err = b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "Pool", Members: b.members(1)})
	requireCode(t, err, leads.CodeConflict)
	require.Equal(t, "name", leads.ErrorDetails(err)["field"])
	other, err := b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "Other pool", Members: b.members(1)})
	require.NoError(t, err)
	_, err = b.svc.UpdateRotation(ctx, b.admin, other.ID, func(r *leads.Rotation) error { r.Name = "Pool"; return nil })
	requireCode(t, err, leads.CodeConflict)
	_, err = b.svc.UpdateRotation(ctx, b.admin, first.ID, func(r *leads.Rotation) error { r.Members = b.members(3); return nil })
	require.NoError(t, err, "a change that keeps the name")
	all, err := b.svc.Rotations(ctx, b.admin)
	require.NoError(t, err)
	names := map[string]int{}
	for _, r := range all {
		names[r.Name]++
	}
	require.Equal(t, 1, names["Pool"])
	require.Equal(t, 1, names["Other pool"], "the rename was not written")
}
