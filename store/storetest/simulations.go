package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// SimulationStore is a leads.Store that keeps simulations too.
type SimulationStore interface {
	leads.Store
	leads.SimulationStore
}

// ExerciseSimulations runs the cases of leads.SimulationStore, in
// parallel, each with the store open returns for it; as Exercise's, the
// cases work in accounts of their own and may share one store.
func ExerciseSimulations(t *testing.T, open func(t *testing.T) SimulationStore) {
	t.Helper()
	for _, c := range []struct {
		name string
		fn   func(*testing.T, SimulationStore)
	}{
		{"a simulation's life: queued, running, done, with its JSON byte for byte", testSimulationLife},
		{"simulations are listed newest first, scoped to the account, paged", testSimulationList},
		{"a dead runner's simulations fail, expired ones are purged", testSimulationSweep},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// newSimulation returns a queued simulation of account, created at.
func newSimulation(account, runner string, at time.Time) *leads.Simulation {
	return &leads.Simulation{AccountID: account, From: at.Add(-48 * time.Hour), To: at.Add(-24 * time.Hour),
		Config: json.RawMessage(`{"rotations": [{"name": "Pool", "members": []}]}`), CreatedBy: "a@example.com",
		Runner: runner, HeartbeatAt: at, CreatedAt: at, ExpiresAt: at.Add(7 * 24 * time.Hour)}
}

func testSimulationLife(t *testing.T, s SimulationStore) {
	ctx := context.Background()
	f := NewFixture(t, s)
	sim := newSimulation(f.Account, "runner-1", Now)
	require.NoError(t, s.CreateSimulation(ctx, sim))
	require.Positive(t, sim.ID)
	require.Equal(t, leads.CodeNotFound, code(s.CreateSimulation(ctx, newSimulation("no-such-account", "runner-1", Now))))

	got, err := s.Simulation(ctx, f.Account, sim.ID)
	require.NoError(t, err)
	require.Equal(t, leads.SimulationQueued, got.Status)
	require.Equal(t, string(sim.Config), string(got.Config), "the config as submitted, byte for byte")
	require.Equal(t, sim.From, got.From)
	require.Nil(t, got.Total)
	require.Nil(t, got.StartedAt)
	_, err = s.Simulation(ctx, "another-account", sim.ID)
	require.Equal(t, leads.CodeNotFound, code(err), "another account's simulation is not found")

	start := Now.Add(time.Second)
	require.NoError(t, s.StartSimulation(ctx, sim.ID, start, 25000))
	require.Equal(t, leads.CodeNotFound, code(s.StartSimulation(ctx, sim.ID, start, 25000)), "started once")
	require.NoError(t, s.SimulationProgress(ctx, sim.ID, 20000, start.Add(time.Second)))
	got, err = s.Simulation(ctx, f.Account, sim.ID)
	require.NoError(t, err)
	require.Equal(t, leads.SimulationRunning, got.Status)
	require.EqualValues(t, 20000, got.Progress)
	require.EqualValues(t, 25000, *got.Total)
	require.Equal(t, start, *got.StartedAt)
	require.Equal(t, start.Add(time.Second), got.HeartbeatAt)

	result := json.RawMessage(`{"leads": 25000, "reps": [{"user": "a@example.com"}], "z": 1, "a": 2}`)
	// Far from expiring: testSimulationSweep purges the whole store.
	end, expires := start.Add(time.Minute), start.Add(365*24*time.Hour)
	require.NoError(t, s.FinishSimulation(ctx, sim.ID, result, nil, end, expires))
	require.Equal(t, leads.CodeNotFound, code(s.FinishSimulation(ctx, sim.ID, nil, &leads.SimulationError{Code: "X"}, end, end)), "finished once")
	got, err = s.Simulation(ctx, f.Account, sim.ID)
	require.NoError(t, err)
	require.Equal(t, leads.SimulationDone, got.Status)
	require.Equal(t, string(result), string(got.Result), "the result as given, key order and all")
	require.EqualValues(t, 25000, got.Progress, "done: every lead")
	require.Equal(t, end, *got.FinishedAt)
	require.Equal(t, expires, got.ExpiresAt)
	require.Nil(t, got.Error)

	failed := newSimulation(f.Account, "runner-1", Now)
	failed.Config = nil
	require.NoError(t, s.CreateSimulation(ctx, failed))
	fail := &leads.SimulationError{Code: leads.CodeValidation, Message: "bad", Field: "to"}
	require.NoError(t, s.FinishSimulation(ctx, failed.ID, nil, fail, end, expires))
	got, err = s.Simulation(ctx, f.Account, failed.ID)
	require.NoError(t, err)
	require.Equal(t, leads.SimulationFailed, got.Status)
	require.Equal(t, fail, got.Error)
	require.Nil(t, got.Config)
	require.Nil(t, got.Result)
}

func testSimulationList(t *testing.T, s SimulationStore) {
	ctx := context.Background()
	f, other := NewFixture(t, s), NewFixture(t, s)
	var ids []int64
	for i := range 5 {
		sim := newSimulation(f.Account, "runner-1", Now.Add(time.Duration(i)*time.Minute))
		require.NoError(t, s.CreateSimulation(ctx, sim))
		ids = append(ids, sim.ID)
	}
	require.NoError(t, s.CreateSimulation(ctx, newSimulation(other.Account, "runner-1", Now)))
	require.NoError(t, s.FinishSimulation(ctx, ids[4], json.RawMessage(`{"leads": 1}`), nil, Now, Now.Add(365*24*time.Hour)))

	q, err := leads.SimulationListOptions{Limit: 2}.Query(f.Account)
	require.NoError(t, err)
	var seen []int64
	for {
		rows, err := s.Simulations(ctx, q)
		require.NoError(t, err)
		page := leads.SimulationPageOf(q, rows)
		for _, sim := range page.Data {
			require.Equal(t, f.Account, sim.AccountID)
			require.Nil(t, sim.Result, "lists leave results out")
			require.Nil(t, sim.Config, "and configs")
			seen = append(seen, sim.ID)
		}
		if page.NextCursor == nil {
			break
		}
		q, err = leads.SimulationListOptions{Limit: 2, Cursor: *page.NextCursor}.Query(f.Account)
		require.NoError(t, err)
	}
	require.Equal(t, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}, seen, "newest first, each once")
}

func testSimulationSweep(t *testing.T, s SimulationStore) {
	ctx := context.Background()
	f := NewFixture(t, s)
	// Runners named after the account: the sweep is store-wide, and other
	// cases may share the store.
	alive, dead := f.Account+"-alive", f.Account+"-dead"
	at := Now.Add(-time.Hour)
	var sims []*leads.Simulation
	for _, runner := range []string{alive, dead, dead} {
		sim := newSimulation(f.Account, runner, at)
		require.NoError(t, s.CreateSimulation(ctx, sim))
		sims = append(sims, sim)
	}
	require.NoError(t, s.StartSimulation(ctx, sims[2].ID, at, 10))
	require.NoError(t, s.HeartbeatSimulations(ctx, alive, Now))
	fail := leads.SimulationError{Code: leads.SimulationInterrupted, Message: "interrupted"}
	_, err := s.FailStaleSimulations(ctx, Now.Add(-time.Minute), fail, Now, Now.Add(time.Hour))
	require.NoError(t, err)
	status := func(sim *leads.Simulation) leads.SimulationStatus {
		got, err := s.Simulation(ctx, f.Account, sim.ID)
		require.NoError(t, err)
		return got.Status
	}
	require.Equal(t, leads.SimulationQueued, status(sims[0]), "its runner is alive")
	require.Equal(t, leads.SimulationFailed, status(sims[1]), "queued by a dead runner")
	require.Equal(t, leads.SimulationFailed, status(sims[2]), "running in a dead runner")
	got, err := s.Simulation(ctx, f.Account, sims[2].ID)
	require.NoError(t, err)
	require.Equal(t, &fail, got.Error)

	// The failed ones expire in an hour; the queued one never while it waits.
	_, err = s.PurgeSimulations(ctx, Now.Add(30*time.Minute))
	require.NoError(t, err)
	require.Equal(t, leads.SimulationFailed, status(sims[1]), "not expired yet")
	_, err = s.PurgeSimulations(ctx, Now.Add(2*time.Hour))
	require.NoError(t, err)
	for _, sim := range sims[1:] {
		_, err := s.Simulation(ctx, f.Account, sim.ID)
		require.Equal(t, leads.CodeNotFound, code(err), "purged")
	}
	require.Equal(t, leads.SimulationQueued, status(sims[0]), "an unfinished simulation is never purged")
}
