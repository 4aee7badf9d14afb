package simulations_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/simulations"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// bundle is an account of its own with an admin, on one store.
type bundle struct {
	store *store.Store
	svc   *leads.Service
	admin leads.Actor
	// at is the frozen clock's time, in Unix nanoseconds, moved by hand.
	at    *atomic.Int64
	input leads.SimulationInput
}

func setup(t *testing.T, b *storetest.Backend) *bundle {
	t.Helper()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := &atomic.Int64{}
	at.Store(start.UnixNano())
	bd := &bundle{store: b.Store, at: at,
		input: leads.SimulationInput{From: start.AddDate(0, -1, 0), To: start, ConfigYAML: "rotations:\n  - name: Pool\n    members: [{user: a@example.com}]\n"}}
	bd.svc = leads.NewService(b.Store, rotation.NewMemory(b.Store), leads.WithClock(bd.now))
	ctx := context.Background()
	f := storetest.NewFixture(t, b.Store)
	bd.admin = leads.Actor{AccountID: f.Account, Email: "admin@example.com", Role: leads.RoleAdmin}
	_, err := bd.svc.PutMember(ctx, leads.SystemActor(f.Account), leads.Member{Email: bd.admin.Email, Role: leads.RoleAdmin})
	require.NoError(t, err)
	return bd
}

func (b *bundle) now() time.Time { return time.Unix(0, b.at.Load()).UTC() }

func (b *bundle) advance(d time.Duration) { b.at.Add(int64(d)) }

func (b *bundle) status(t *testing.T, id int64) *leads.Simulation {
	t.Helper()
	sim, err := b.store.Simulation(context.Background(), b.admin.AccountID, id)
	require.NoError(t, err)
	return sim
}

// The simulations of a server that died are marked failed, INTERRUPTED,
// by the next server's sweep once their heartbeat is stale; a server that
// stops marks its own; finished simulations are purged once expired.
func TestSweep(t *testing.T) {
	t.Parallel()
	for _, be := range storetest.All(t) {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, be)
			ctx := context.Background()
			opts := simulations.Options{Heartbeat: time.Minute, Retention: 24 * time.Hour, Now: b.now}

			// A server accepts a simulation and dies before running it.
			dead := simulations.New(b.svc, b.store, opts)
			lost, err := dead.CreateSimulation(ctx, b.admin, b.input)
			require.NoError(t, err)
			require.Equal(t, leads.SimulationQueued, lost.Status)

			// Another, starting a minute later, leaves it: it may still run.
			b.advance(time.Minute)
			next := simulations.New(b.svc, b.store, opts)
			next.Sweep(ctx)
			require.Equal(t, leads.SimulationQueued, b.status(t, lost.ID).Status)

			// Once its heartbeat is stale, the sweep fails it.
			b.advance(10 * time.Minute)
			next.Sweep(ctx)
			sim := b.status(t, lost.ID)
			require.Equal(t, leads.SimulationFailed, sim.Status)
			require.Equal(t, leads.SimulationInterrupted, sim.Error.Code)
			require.Equal(t, b.now().Add(24*time.Hour), sim.ExpiresAt, "kept for the retention from now")

			// A server that stops with simulations queued fails them too.
			queued, err := next.CreateSimulation(ctx, b.admin, b.input)
			require.NoError(t, err)
			stopped, cancel := context.WithCancel(ctx)
			cancel()
			next.Run(stopped)
			require.Equal(t, leads.SimulationFailed, b.status(t, queued.ID).Status)
			require.Equal(t, leads.SimulationInterrupted, b.status(t, queued.ID).Error.Code)

			// A day later both are purged.
			b.advance(25 * time.Hour)
			next.Sweep(ctx)
			for _, id := range []int64{lost.ID, queued.ID} {
				_, err := next.Simulation(ctx, b.admin, id)
				require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err), "purged")
			}
		})
	}
}

// A server keeps only so many simulations waiting, and refuses more with
// SERVICE_UNAVAILABLE, storing nothing.
func TestQueueBound(t *testing.T) {
	t.Parallel()
	be := storetest.SQLite(t)
	b := setup(t, be)
	ctx := context.Background()
	s := simulations.New(b.svc, b.store, simulations.Options{Workers: 1, Queue: 1, Now: b.now})
	for range 2 {
		_, err := s.CreateSimulation(ctx, b.admin, b.input)
		require.NoError(t, err)
	}
	_, err := s.CreateSimulation(ctx, b.admin, b.input)
	require.Equal(t, leads.CodeServiceUnavailable, leads.ErrorCode(err))
	page, err := s.Simulations(ctx, b.admin, leads.SimulationListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
}
