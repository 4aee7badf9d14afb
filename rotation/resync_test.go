package rotation_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// movingHistory is a HistorySource whose record the test changes.
type movingHistory struct{ h *leads.RotationHistory }

func (m movingHistory) RotationHistory(context.Context, int64, time.Time) (leads.RotationHistory, error) {
	return *m.h, nil
}

func (m movingHistory) StoredTurns(context.Context, int64, []int64) ([]int64, error) { return nil, nil }

// TestResyncReplacesAStateBehindTheStore: a state whose turn the store
// refused is rebuilt from the store, once (a second Resync for the same
// old state changes nothing), numbering after both the store's last turn
// and its own; its open turns numbered after the store's last move to the
// new state, where giving one back still works.
func TestResyncReplacesAStateBehindTheStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	members := []leads.RotationMember{{User: "ana", Weight: 1}, {User: "ben", Weight: 1}, {User: "cara", Weight: 1}}
	for _, srv := range rotationtest.All(t) {
		t.Run(srv.Name, func(t *testing.T) {
			t.Run("behind", func(t *testing.T) {
				hist := &leads.RotationHistory{}
				r, err := rotation.NewRedis(srv.Client, movingHistory{hist}, rotation.WithKeyPrefix(srv.Prefix+"behind:"))
				require.NoError(t, err)
				rot := &leads.Rotation{ID: 1, Members: members}
				var stale leads.Turn
				for range 2 {
					stale, err = r.Next(ctx, rot, now)
					require.NoError(t, err)
				}
				require.Equal(t, "ben", stale.Assignee)
				// The store has 6 turns, the last one cara's: the state (at
				// turn 2) lost 4, and its turn 2 was refused.
				*hist = leads.RotationHistory{LastTurn: 6, LastAssignee: "cara"}
				require.NoError(t, r.Resync(ctx, rot, stale, now))
				next, err := r.Next(ctx, rot, now)
				require.NoError(t, err)
				require.Equal(t, int64(7), next.Seq)
				require.Equal(t, "ana", next.Assignee, "after cara, as the store says")
				// Another process refused a turn of the same old state:
				// the state rebuilt already is kept.
				require.NoError(t, r.Resync(ctx, rot, stale, now))
				next, err = r.Next(ctx, rot, now)
				require.NoError(t, err)
				require.Equal(t, int64(8), next.Seq)
				require.Equal(t, "ben", next.Assignee)
			})
			t.Run("open turns move", func(t *testing.T) {
				hist := &leads.RotationHistory{}
				r, err := rotation.NewRedis(srv.Client, movingHistory{hist}, rotation.WithKeyPrefix(srv.Prefix+"open:"))
				require.NoError(t, err)
				rot := &leads.Rotation{ID: 2, Members: members}
				var turns []leads.Turn
				for range 5 {
					turn, err := r.Next(ctx, rot, now)
					require.NoError(t, err)
					turns = append(turns, turn)
				}
				// The store has turns 1 to 3 (cara's the last), and a
				// fourth number, refused to the state's turn 3: turns 4
				// and 5 of the state are still open, their leads on
				// their way.
				*hist = leads.RotationHistory{LastTurn: 3, LastAssignee: "cara"}
				require.NoError(t, r.Resync(ctx, rot, turns[2], now))
				// The new state counts turns 4 and 5 (ana, ben): cara is next.
				p, err := r.Peek(ctx, rot, now, 1)
				require.NoError(t, err)
				require.Equal(t, int64(5), p.Seq)
				require.Equal(t, "cara", p.Turns[0].Assignee)
				// Turn 5's lead was not written: given back, on the new state.
				require.NoError(t, r.Refund(ctx, rot, turns[4]))
				next, err := r.Next(ctx, rot, now)
				require.NoError(t, err)
				require.Equal(t, "ben", next.Assignee)
				require.Equal(t, int64(6), next.Seq)
			})
		})
	}
}
