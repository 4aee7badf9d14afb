package leads_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestSpeedToLead(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"rotation stats show how fast each rep accepts and touches their leads", testSpeedToLead},
	})
}

func testSpeedToLead(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.rotation(t, leads.Rotation{Name: "Speed", Default: true, Members: []leads.RotationMember{{User: b.reps[0]}}})
	rep := leads.Actor{AccountID: b.admin.AccountID, Email: b.reps[0], Role: leads.RoleAgent}
	// Ten leads; the rep accepts the first after 1 minute, the second after
	// 2… the ninth after 9, and never the tenth; calls the first five after
	// 10 minutes each.
	var ids []int64
	for range 10 {
		ids = append(ids, b.mustCreate(t, lead("Speedy"), leads.CreateOptions{}).Lead.ID)
	}
	for i, id := range ids[:9] {
		b.clock.Advance(time.Minute)
		_, err := b.svc.AcceptLead(ctx, rep, id)
		require.NoError(t, err, "lead %d", i)
	}
	for _, id := range ids[:5] {
		_, err := b.svc.AddActivity(ctx, rep, id, leads.ActivityInput{Type: leads.ActivityCall, Title: "Intro"})
		require.NoError(t, err)
	}
	stats, err := b.svc.RotationStats(ctx, b.admin, rot.ID, nil, nil)
	require.NoError(t, err)
	sp := stats.Members[0].SpeedToLead
	require.EqualValues(t, 10, sp.Leads)
	require.EqualValues(t, 9, sp.Accepted)
	require.EqualValues(t, 5, sp.Touched)
	require.NotNil(t, sp.AcceptP50Seconds)
	require.InDelta(t, 5*60, *sp.AcceptP50Seconds, 1, "the 5th of 9 waits")
	require.InDelta(t, 9*60, *sp.AcceptP90Seconds, 1, "the 9th of 9")
	require.InDelta(t, 9*60, *sp.FirstTouchP50Seconds, 1, "all touched at minute 9")
}
