package leads_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestWaitingLeads(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"what a rotation does when nobody is eligible is checked", testWhenNobodyEligibleRefusals},
	})
	// The assigner serves every account of its database, with its own
	// rotator: another test's pass over these leads, with an in-process
	// rotator of its own, would be a second process with the memory
	// rotator, which is not a deployment. These get a database of their own.
	eachIsolatedEnv(t, []namedTest{
		{"a rotation that holds makes leads wait until someone can take them, oldest first", testHoldUntilAvailable},
		{"a rotation holding its queue hides no other rotation's", testHeldQueueHidesNoOther},
		{"the assigner's first pass after a rep comes back gives them the held lead", testAssignerAssignsHeldLead},
	})
}

func (b *bundle) setPaused(t *testing.T, rot *leads.Rotation, paused bool) {
	t.Helper()
	_, err := b.svc.UpdateRotation(context.Background(), b.admin, rot.ID, func(r *leads.Rotation) error {
		for i := range r.Members {
			r.Members[i].Paused = paused
		}
		return nil
	})
	require.NoError(t, err)
}

func testHoldUntilAvailable(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.rotation(t, leads.Rotation{Name: "Held", Default: true, WhenNobodyEligible: leads.NobodyHold,
		FallbackAssignee: b.reps[5], Members: []leads.RotationMember{{User: b.reps[0], Paused: true}, {User: b.reps[1], Paused: true}}})
	var ids []int64
	for _, name := range []string{"First", "Second", "Third"} {
		res := b.mustCreate(t, lead(name), leads.CreateOptions{})
		l := res.Lead
		require.Equal(t, leads.AssignmentWaiting, l.AssignmentStatus, "hold wins over the fallback")
		require.Empty(t, l.AssignedTo)
		require.Equal(t, leads.AssignWaiting, res.Assignment.Reason)
		require.Contains(t, l.WaitingReason, b.reps[0]+" (paused)")
		got, err := b.svc.Lead(ctx, b.agent, l.ID)
		require.NoError(t, err)
		require.Equal(t, leads.AssignmentWaiting, got.AssignmentStatus, "as stored")
		require.Equal(t, l.WaitingReason, got.WaitingReason)
		ids = append(ids, l.ID)
	}
	page, err := b.svc.ListLeads(ctx, b.agent, leads.ListOptions{Filter: leads.LeadFilter{AssignmentStatus: leads.AssignmentWaiting}})
	require.NoError(t, err)
	require.Len(t, page.Data, 3, "listed as waiting")
	_, err = b.svc.ListLeads(ctx, b.agent, leads.ListOptions{Filter: leads.LeadFilter{AssignmentStatus: "stuck"}})
	requireCode(t, err, leads.CodeValidation)
	// An upsert of a waiting lead leaves it to the assigner: no second
	// lead_not_assigned.
	in := lead("First")
	in.Email = "first@acme.com"
	_, err = b.svc.UpdateLead(ctx, b.agent, ids[0], leads.LeadPatch{"email": in.Email}, leads.UpdateOptions{})
	require.NoError(t, err)
	res, err := b.create(in, leads.CreateOptions{MatchBy: leads.MatchEmail})
	require.NoError(t, err)
	require.True(t, res.Returned)
	require.Equal(t, leads.AssignmentWaiting, res.Lead.AssignmentStatus)
	var notAssigned int
	for _, e := range res.Lead.AuditLog {
		if e.Event == leads.EventLeadNotAssigned {
			notAssigned++
		}
	}
	require.Equal(t, 1, notAssigned)

	_, err = b.svc.AssignPending(ctx, 1000)
	require.NoError(t, err)
	got, err := b.svc.Lead(ctx, b.agent, ids[0])
	require.NoError(t, err)
	require.Equal(t, leads.AssignmentWaiting, got.AssignmentStatus, "still nobody")
	require.Equal(t, res.Lead.AuditLog, got.AuditLog, "waiting on writes nothing")

	// A hand-assigned waiting lead waits no more.
	l, err := b.svc.UpdateLead(ctx, b.agent, ids[2], leads.LeadPatch{"assignedTo": b.reps[6]}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, leads.AssignmentAssigned, l.AssignmentStatus)
	require.Empty(t, l.WaitingReason)

	b.setPaused(t, rot, false)
	// Oldest first.
	_, err = b.svc.AssignPending(ctx, 1000)
	require.NoError(t, err)
	for i, id := range ids[:2] {
		got, err := b.svc.Lead(ctx, b.agent, id)
		require.NoError(t, err)
		require.Equal(t, leads.AssignmentAssigned, got.AssignmentStatus)
		require.Equal(t, b.reps[i], got.AssignedTo, "oldest first, in rotation order")
		require.Empty(t, got.WaitingReason)
		last := got.AuditLog[len(got.AuditLog)-1]
		require.Equal(t, leads.EventLeadAssigned, last.Event)
		require.Equal(t, true, last.Data["waited"])
	}
}

func testHeldQueueHidesNoOther(t *testing.T, b *bundle) {
	ctx := context.Background()
	team := b.team(t, "Open")
	held := b.rotation(t, leads.Rotation{Name: "Held", Default: true, WhenNobodyEligible: leads.NobodyHold,
		Members: []leads.RotationMember{{User: b.reps[0], Paused: true}}})
	open := b.rotation(t, leads.Rotation{Name: "Open", TeamID: team.ID, WhenNobodyEligible: leads.NobodyHold,
		Members: []leads.RotationMember{{User: b.reps[1], Paused: true}}})
	for range 5 {
		b.mustCreate(t, lead("Held"), leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	}
	in := lead("Open")
	in.TeamID = team.ID
	last := b.mustCreate(t, in, leads.CreateOptions{}).Lead
	require.Equal(t, leads.AssignmentWaiting, last.AssignmentStatus)
	b.setPaused(t, open, false)
	// Pages of 2, the held queue first: the assigner still reaches the
	// lead behind it.
	n, err := b.svc.AssignPending(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the open rotation's lead, behind five held ones")
	got, err := b.svc.Lead(ctx, b.agent, last.ID)
	require.NoError(t, err)
	require.Equal(t, b.reps[1], got.AssignedTo)
	require.NotNil(t, held)
}

func testWhenNobodyEligibleRefusals(t *testing.T, b *bundle) {
	for _, tc := range []struct {
		r     leads.Rotation
		field string
	}{
		{leads.Rotation{Name: "x", Default: true, WhenNobodyEligible: "drop"}, "whenNobodyEligible"},
		{leads.Rotation{Name: "x", Default: true, WhenNobodyEligible: leads.NobodyFallback}, "fallbackAssignee"},
	} {
		_, err := b.svc.CreateRotation(context.Background(), b.admin, tc.r)
		requireCode(t, err, leads.CodeValidation)
		require.Equal(t, tc.field, leads.ErrorDetails(err)["field"])
	}
	rot := b.rotation(t, leads.Rotation{Name: "y", Default: true, WhenNobodyEligible: leads.NobodyUnassigned, FallbackAssignee: b.reps[5],
		Members: []leads.RotationMember{{User: b.reps[0], Paused: true}}})
	res := b.mustCreate(t, lead("Nobody"), leads.CreateOptions{})
	require.Equal(t, leads.AssignNoEligible, res.Assignment.Reason, "unassigned, the fallback notwithstanding")
	require.Equal(t, leads.AssignmentUnassigned, res.Lead.AssignmentStatus)
	got, err := b.svc.Rotation(context.Background(), b.agent, rot.ID)
	require.NoError(t, err)
	require.Equal(t, leads.NobodyUnassigned, got.WhenNobodyEligible, "stored")
	_, err = b.svc.UpdateRotation(context.Background(), b.admin, rot.ID, func(r *leads.Rotation) error {
		r.WhenNobodyEligible = leads.NobodyHold
		return nil
	})
	require.NoError(t, err)
	got, err = b.svc.Rotation(context.Background(), b.agent, rot.ID)
	require.NoError(t, err)
	require.Equal(t, leads.NobodyHold, got.WhenNobodyEligible, "changed")
}

func testAssignerAssignsHeldLead(t *testing.T, b *bundle) {
	ctx := context.Background()
	team := b.team(t, "Night")
	rot := b.rotation(t, leads.Rotation{Name: "Night", TeamID: team.ID, WhenNobodyEligible: leads.NobodyHold,
		Members: []leads.RotationMember{{User: b.reps[2], Paused: true}}})
	in := lead("Owl")
	in.TeamID = team.ID
	held := b.mustCreate(t, in, leads.CreateOptions{}).Lead
	require.Equal(t, leads.AssignmentWaiting, held.AssignmentStatus)

	// The assigner's passes are paced by ticks: a tick is received once
	// the pass before it is over.
	ticks := make(chan time.Time)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.newService(b.store).RunAssignerOn(runCtx, ticks)
	}()
	defer func() { stop(); <-done }()
	ticks <- time.Now() // the first pass is over: nobody was available
	l, err := b.svc.Lead(ctx, b.agent, held.ID)
	require.NoError(t, err)
	require.Equal(t, leads.AssignmentWaiting, l.AssignmentStatus)

	b.setPaused(t, rot, false)
	ticks <- time.Now() // one interval: the next pass starts
	ticks <- time.Now() // and is over
	l, err = b.svc.Lead(ctx, b.agent, held.ID)
	require.NoError(t, err)
	require.Equal(t, b.reps[2], l.AssignedTo, "assigned by the first pass after the rep came back")
}
