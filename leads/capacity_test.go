package leads_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestCapacity(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"a rep at capacity is passed over until a lead of theirs closes", testCapacityFreedByStatus},
		{"every way a rep gets or loses an open lead counts against capacity", testCapacityCountsEveryChange},
		{"leads created at once never put a rep over capacity", testCapacityConcurrent},
		{"the count of open leads survives the loss of the rotation state", testCapacityAfterStateLoss},
		{"the account's open statuses decide what capacity counts", testCapacityOpenStatuses},
		{"capacity below 1 and unknown open statuses are refused", testCapacityRefusals},
	})
	// The assigner serves every account of its database: a database of its own.
	eachIsolatedEnv(t, []namedTest{
		{"a held lead goes to the rep whose capacity frees", testCapacityHeldLead},
	})
}

// setStatus sets lead id's status as the rep would.
func (b *bundle) setStatus(t *testing.T, id int64, st leads.Status) {
	t.Helper()
	_, err := b.svc.UpdateLead(context.Background(), b.admin, id, leads.LeadPatch{"status": string(st)}, leads.UpdateOptions{})
	require.NoError(t, err)
}

// assignees creates n leads and returns who got each ("" for nobody).
func (b *bundle) assignees(t *testing.T, n int) ([]string, []int64) {
	t.Helper()
	var who []string
	var ids []int64
	for range n {
		l := b.mustCreate(t, lead("Cap"), leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead
		who, ids = append(who, l.AssignedTo), append(ids, l.ID)
	}
	return who, ids
}

func testCapacityFreedByStatus(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.rotation(t, leads.Rotation{Name: "Capped", Default: true, Members: []leads.RotationMember{
		{User: b.reps[0], MaxOpenLeads: 2}, {User: b.reps[1]}}})
	who, ids := b.assignees(t, 5)
	require.Equal(t, []string{b.reps[0], b.reps[1], b.reps[0], b.reps[1], b.reps[1]}, who)
	last := b.mustCreate(t, lead("Cap"), leads.CreateOptions{})
	require.Equal(t, b.reps[1], last.Lead.AssignedTo)
	require.Contains(t, last.Assignment.Skipped, leads.Skip{User: b.reps[0], Reason: leads.SkipAtCapacity, Slots: 1}, "why this rep")

	stats, err := b.svc.RotationStats(ctx, b.admin, rot.ID, nil, nil)
	require.NoError(t, err)
	m := stats.Members[0]
	require.NotNil(t, m.OpenLeads)
	require.EqualValues(t, 2, *m.OpenLeads, "open leads against capacity")
	require.Equal(t, 2, m.MaxOpenLeads)
	require.Equal(t, leads.SkipAtCapacity, m.Reason)
	require.EqualValues(t, 2, m.Skips[leads.SkipAtCapacity], "skips by reason")
	require.Nil(t, stats.Members[1].OpenLeads, "no capacity, no count")

	// A lead of theirs closes: the very next lead is theirs.
	b.setStatus(t, ids[0], leads.StatusConverted)
	next, err := b.svc.NextTurns(ctx, b.admin, rot.ID, 1)
	require.NoError(t, err)
	require.Equal(t, b.reps[0], next.Next[0].Assignee)
	who, _ = b.assignees(t, 3)
	require.Equal(t, []string{b.reps[0], b.reps[1], b.reps[1]}, who, "one place freed, one lead")
}

func testCapacityCountsEveryChange(t *testing.T, b *bundle) {
	ctx := context.Background()
	team := b.team(t, "Other")
	b.rotation(t, leads.Rotation{Name: "Capped", Default: true, Members: []leads.RotationMember{
		{User: b.reps[0], MaxOpenLeads: 2}, {User: b.reps[1]}}})
	other := b.rotation(t, leads.Rotation{Name: "Other", TeamID: team.ID, Members: []leads.RotationMember{{User: b.reps[0]}}})
	// One lead by hand, one from another rotation: the rep is full.
	in := lead("Hand")
	in.AssignedTo = b.reps[0]
	hand := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead
	in = lead("Other team")
	in.TeamID = team.ID
	fromOther := b.mustCreate(t, in, leads.CreateOptions{}).Lead
	require.Equal(t, b.reps[0], fromOther.AssignedTo)
	require.Equal(t, other.ID, fromOther.RotationID)
	who, ids := b.assignees(t, 2)
	require.Equal(t, []string{b.reps[1], b.reps[1]}, who, "full: two open leads")

	// Reassigned away by hand: a place frees.
	_, err := b.svc.UpdateLead(ctx, b.admin, hand.ID, leads.LeadPatch{"assignedTo": b.reps[2]}, leads.UpdateOptions{})
	require.NoError(t, err)
	who, _ = b.assignees(t, 1)
	require.Equal(t, []string{b.reps[0]}, who)
	// Full again; deleting one of theirs frees a place.
	require.NoError(t, b.svc.DeleteLead(ctx, b.admin, fromOther.ID))
	who, _ = b.assignees(t, 2)
	require.Equal(t, []string{b.reps[1], b.reps[0]}, who, "one place freed: one lead in turn")
	// Full; a closed lead reopened takes a place back.
	b.setStatus(t, ids[0], leads.StatusLost) // reps[1]'s: no change for reps[0]
	who, got := b.assignees(t, 1)
	require.Equal(t, []string{b.reps[1]}, who)
	b.setStatus(t, got[0], leads.StatusLost)
	mine := b.leadsOf(t, b.reps[0])
	b.setStatus(t, mine[0], leads.StatusLost)
	b.setStatus(t, mine[0], leads.StatusFollowUp)
	who, _ = b.assignees(t, 1)
	require.Equal(t, []string{b.reps[1]}, who, "reopened: full again")
	// Reassigned to them through the rotation (AssignLead) counts once.
	b.setStatus(t, mine[0], leads.StatusLost)
	res, err := b.svc.AssignLead(ctx, b.admin, ids[1], leads.AssignOptions{})
	require.NoError(t, err)
	require.Equal(t, b.reps[0], res.Lead.AssignedTo)
	who, _ = b.assignees(t, 2)
	require.Equal(t, []string{b.reps[1], b.reps[1]}, who)
}

// leadsOf returns the ids of the account's leads assigned to user, oldest
// first.
func (b *bundle) leadsOf(t *testing.T, user string) []int64 {
	t.Helper()
	page, err := b.svc.ListLeads(context.Background(), b.admin, leads.ListOptions{Filter: leads.LeadFilter{AssignedTo: user}, Limit: 100})
	require.NoError(t, err)
	var ids []int64
	for _, l := range page.Data {
		if b.isOpen(l.Status) {
			ids = append(ids, l.ID)
		}
	}
	return ids
}

func (b *bundle) isOpen(st leads.Status) bool {
	a := leads.Account{}
	return a.IsOpen(st)
}

func testCapacityConcurrent(t *testing.T, b *bundle) {
	const capacity, leadsAtOnce = 3, 24
	b.rotation(t, leads.Rotation{Name: "Capped", Default: true, Members: []leads.RotationMember{
		{User: b.reps[0], MaxOpenLeads: capacity}, {User: b.reps[1], MaxOpenLeads: capacity}, {User: b.reps[2]}}})
	// Two services on one store and rotator backend, as two processes.
	other := b.newService(b.store)
	var wg sync.WaitGroup
	got := make(chan string, leadsAtOnce)
	for i := range leadsAtOnce {
		svc := b.svc
		if i%2 == 1 {
			svc = other
		}
		wg.Go(func() {
			res, err := svc.CreateLead(context.Background(), b.admin, lead("Rush"), leads.CreateOptions{})
			if err == nil {
				got <- res.Lead.AssignedTo
			} else {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(got)
	count := map[string]int{}
	for who := range got {
		count[who]++
	}
	require.Equal(t, capacity, count[b.reps[0]], "never over capacity, and full")
	require.Equal(t, capacity, count[b.reps[1]])
	require.Equal(t, leadsAtOnce-2*capacity, count[b.reps[2]])
}

func testCapacityAfterStateLoss(t *testing.T, b *bundle) {
	b.rotation(t, leads.Rotation{Name: "Capped", Default: true, Members: []leads.RotationMember{
		{User: b.reps[0], MaxOpenLeads: 2}, {User: b.reps[1]}}})
	who, _ := b.assignees(t, 3)
	require.Equal(t, []string{b.reps[0], b.reps[1], b.reps[0]}, who)
	b.loseState(t)
	who, _ = b.assignees(t, 3)
	require.Equal(t, []string{b.reps[1], b.reps[1], b.reps[1]}, who, "rebuilt from the store: still full")
}

func testCapacityOpenStatuses(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.rotation(t, leads.Rotation{Name: "Capped", Default: true, Members: []leads.RotationMember{
		{User: b.reps[0], MaxOpenLeads: 1}, {User: b.reps[1]}}})
	who, ids := b.assignees(t, 1)
	require.Equal(t, []string{b.reps[0]}, who)
	b.setStatus(t, ids[0], leads.StatusQualified) // not open by default
	who, _ = b.assignees(t, 2)
	require.Equal(t, []string{b.reps[1], b.reps[0]}, who, "a place again")
	// Qualified counts from now on: reps[0] has two open leads.
	open := []leads.Status{leads.StatusNew, leads.StatusQualified}
	acc, err := b.svc.UpdateAccount(ctx, b.admin, leads.AccountPatch{OpenStatuses: &open})
	require.NoError(t, err)
	require.Equal(t, []leads.Status{leads.StatusNew, leads.StatusQualified}, acc.OpenStatuses)
	who, _ = b.assignees(t, 2)
	require.Equal(t, []string{b.reps[1], b.reps[1]}, who)
}

func testCapacityHeldLead(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.rotation(t, leads.Rotation{Name: "Held", Default: true, WhenNobodyEligible: leads.NobodyHold,
		Members: []leads.RotationMember{{User: b.reps[0], MaxOpenLeads: 1}}})
	_, ids := b.assignees(t, 1)
	held := b.mustCreate(t, lead("Held"), leads.CreateOptions{}).Lead
	require.Equal(t, leads.AssignmentWaiting, held.AssignmentStatus)
	require.Contains(t, held.WaitingReason, b.reps[0]+" (at_capacity)")
	b.setStatus(t, ids[0], leads.StatusConverted)
	_, err := b.svc.AssignPending(ctx, 1000)
	require.NoError(t, err)
	got, err := b.svc.Lead(ctx, b.admin, held.ID)
	require.NoError(t, err)
	require.Equal(t, b.reps[0], got.AssignedTo, "the place that freed")
	require.Equal(t, leads.AssignmentAssigned, got.AssignmentStatus)
}

func testCapacityRefusals(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "Bad", Members: []leads.RotationMember{{User: b.reps[0], MaxOpenLeads: -1}}})
	requireField(t, err, "members[0].maxOpenLeads")
	bad := []leads.Status{leads.StatusNew, "closed"}
	_, err = b.svc.UpdateAccount(ctx, b.admin, leads.AccountPatch{OpenStatuses: &bad})
	requireField(t, err, "openStatuses[1]")
	twice := []leads.Status{leads.StatusNew, leads.StatusContacted, leads.StatusNew}
	_, err = b.svc.UpdateAccount(ctx, b.admin, leads.AccountPatch{OpenStatuses: &twice})
	requireField(t, err, "openStatuses[2]")
	acc, err := b.svc.Account(ctx, b.admin)
	require.NoError(t, err)
	require.Equal(t, []leads.Status{leads.StatusContacted, leads.StatusFollowUp, leads.StatusNew}, acc.OpenStatuses, "unchanged: the default")
}
