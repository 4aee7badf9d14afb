package leads_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// countingMeter is a leads.Meter that keeps its counts.
type countingMeter struct {
	mu     sync.Mutex
	counts map[leads.Measure]map[string]int
}

func (m *countingMeter) Count(what leads.Measure, label string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts[what] == nil {
		m.counts[what] = map[string]int{}
	}
	m.counts[what][label] += n
}

func (m *countingMeter) get(what leads.Measure) map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, v := range m.counts[what] {
		out[k] = v
	}
	return out
}

// TestMeterCountsWhatHappened drives a Service through each way a lead is
// created and assigned (by turn with a member skipped, explicitly,
// deferred while the rotation is down and assigned later, returning,
// reassigned by hand) and checks that its Meter was told exactly that.
func TestMeterCountsWhatHappened(t *testing.T) {
	t.Parallel()
	// AssignPending serves every account of its database: one of its own.
	b := newBundle(t, env{name: "sqlite+memory", backend: storetest.SQLite(t)})
	ctx := context.Background()
	ms := b.members(3)
	ms[1].Paused = true
	b.rotation(t, leads.Rotation{Name: "team", Default: true, Members: ms})
	meter := &countingMeter{counts: map[leads.Measure]map[string]int{}}
	flaky := &flakyRotator{Rotator: b.rotator}
	svc := leads.NewService(b.store, flaky, leads.WithClock(b.clock.Now), leads.WithMeter(meter))
	create := func(in leads.LeadInput, opts leads.CreateOptions) *leads.Result {
		t.Helper()
		res, err := svc.CreateLead(ctx, b.admin, in, opts)
		require.NoError(t, err)
		return res
	}

	skips := 0
	for range 5 {
		res := create(lead("Turn"), leads.CreateOptions{})
		for _, sk := range res.Assignment.Skipped {
			require.Equal(t, leads.SkipPaused, sk.Reason)
			skips++
		}
	}
	explicit := lead("Named")
	explicit.AssignedTo = b.reps[2]
	create(explicit, leads.CreateOptions{})
	flaky.down.Store(true)
	create(lead("Deferred"), leads.CreateOptions{})
	create(lead("Deferred"), leads.CreateOptions{})
	flaky.down.Store(false)
	b.clock.Advance(5e9) // past the rotator's backoff
	n, err := svc.AssignPending(ctx, 100)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	returning := lead("Returning")
	returning.Email = "ret@example.com"
	first := create(returning, leads.CreateOptions{MatchBy: leads.MatchEmail})
	again := create(returning, leads.CreateOptions{MatchBy: leads.MatchEmail})
	require.True(t, again.Returned)
	_, err = svc.AssignLead(ctx, b.admin, first.Lead.ID, leads.AssignOptions{})
	require.NoError(t, err)

	require.Equal(t, map[string]int{leads.AssignRotation: 6, leads.AssignExplicit: 1, leads.AssignDeferred: 2},
		meter.get(leads.MeasureLeadCreated))
	require.Equal(t, map[string]int{leads.AssignRotation: 6, leads.AssignExplicit: 1, leads.MeterCausePending: 2, leads.MeterCauseManual: 1},
		meter.get(leads.MeasureLeadAssigned))
	require.Equal(t, map[string]int{"": 2}, meter.get(leads.MeasureLeadDeferred))
	require.Equal(t, map[string]int{leads.MatchEmail: 1}, meter.get(leads.MeasureLeadReturned))
	require.Equal(t, map[string]int{"": 6 + 2 + 1}, meter.get(leads.MeasureRotationTurn), "every turn kept")
	require.Positive(t, skips, "the paused member was passed over")
	require.LessOrEqual(t, skips, meter.get(leads.MeasureRotationSkip)[leads.SkipPaused])
	require.Positive(t, meter.get(leads.MeasureConfigLoad)[""])
	require.Empty(t, meter.get(leads.MeasureLeadWaiting))
}
