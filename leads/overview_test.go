package leads_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestOverview(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"counts today's leads by hour, day and assignment", testOverviewCounts},
		{"days follow the rotation's timezone", testOverviewTimezone},
		{"an agent may read it, another account sees nothing", testOverviewTenancy},
	})
}

func testOverviewCounts(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.rotation(t, leads.Rotation{Name: "default", Default: true,
		Members: []leads.RotationMember{{User: b.reps[0], Weight: 2}, {User: b.reps[1], Weight: 1, Paused: true}}})
	// Two days ago, 3 leads; today at 09:00 two, at 11:30 one by hand.
	b.clock.Advance(-48 * time.Hour)
	for range 3 {
		b.mustCreate(t, leads.LeadInput{FirstName: "Old", LastName: "Lead"}, leads.CreateOptions{})
	}
	b.clock.Advance(48 * time.Hour)
	b.mustCreate(t, leads.LeadInput{FirstName: "A", LastName: "Lead"}, leads.CreateOptions{})
	b.mustCreate(t, leads.LeadInput{FirstName: "B", LastName: "Lead"}, leads.CreateOptions{})
	b.clock.Advance(150 * time.Minute)
	b.mustCreate(t, leads.LeadInput{FirstName: "C", LastName: "Lead", AssignedTo: b.reps[2]}, leads.CreateOptions{})
	// Nobody eligible: an unassigned lead a rotation was asked for.
	_, err := b.svc.UpdateRotation(ctx, b.admin, rot.ID, func(r *leads.Rotation) error {
		r.Members[0].Paused = true
		return nil
	})
	require.NoError(t, err)
	b.mustCreate(t, leads.LeadInput{FirstName: "D", LastName: "Lead"}, leads.CreateOptions{})

	ov, err := b.svc.Overview(ctx, b.agent)
	require.NoError(t, err)
	require.Equal(t, "UTC", ov.Timezone)
	require.Equal(t, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), ov.From)
	require.EqualValues(t, 4, ov.Leads)
	require.Equal(t, map[leads.AssignmentStatus]int64{leads.AssignmentAssigned: 3, leads.AssignmentUnassigned: 1, leads.AssignmentPending: 0, leads.AssignmentWaiting: 0}, ov.ByAssignment)
	require.Len(t, ov.Hours, 24)
	require.EqualValues(t, 2, ov.Hours[9].Leads)
	require.EqualValues(t, 2, ov.Hours[11].Leads)
	require.Len(t, ov.Days, leads.OverviewDays)
	require.EqualValues(t, 4, ov.Days[len(ov.Days)-1].Leads)
	require.EqualValues(t, 3, ov.Days[len(ov.Days)-3].Leads)
	require.Len(t, ov.Rotations, 1)
	require.EqualValues(t, 2, ov.Rotations[0].Total)
	require.Positive(t, ov.Skips[leads.SkipPaused])
}

func testOverviewTimezone(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.rotation(t, leads.Rotation{Name: "default", Default: true, Timezone: "America/New_York", Members: b.members(1)})
	// 09:00 UTC is 04:00 in New York: today there started at 05:00 UTC.
	b.mustCreate(t, leads.LeadInput{FirstName: "A", LastName: "Lead"}, leads.CreateOptions{})
	b.clock.Advance(-5 * time.Hour) // 04:00 UTC: yesterday in New York
	b.mustCreate(t, leads.LeadInput{FirstName: "B", LastName: "Lead"}, leads.CreateOptions{})
	b.clock.Advance(5 * time.Hour)
	ov, err := b.svc.Overview(ctx, b.admin)
	require.NoError(t, err)
	require.Equal(t, "America/New_York", ov.Timezone)
	require.Equal(t, time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC), ov.From)
	require.EqualValues(t, 1, ov.Leads)
	require.EqualValues(t, 1, ov.Hours[4].Leads)
	require.EqualValues(t, 1, ov.Days[len(ov.Days)-1].Leads)
	require.EqualValues(t, 1, ov.Days[len(ov.Days)-2].Leads)
}

func testOverviewTenancy(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.defaultRotation(t, 2)
	b.mustCreate(t, leads.LeadInput{FirstName: "A", LastName: "Lead"}, leads.CreateOptions{})
	other := newBundle(t, b.env)
	ov, err := other.svc.Overview(ctx, other.admin)
	require.NoError(t, err)
	require.Zero(t, ov.Leads)
	require.Empty(t, ov.Rotations)
	_, err = b.svc.Overview(ctx, leads.Actor{AccountID: b.accountID, Email: "x@example.com"})
	require.Error(t, err)
}
