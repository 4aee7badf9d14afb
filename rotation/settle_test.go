package rotation_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// storedHistory is a HistorySource whose store holds the leads of some turns.
type storedHistory struct {
	fixedHistory
	stored []int64
}

func (h storedHistory) StoredTurns(_ context.Context, _ int64, turns []int64) ([]int64, error) {
	var out []int64
	for _, t := range turns {
		if slices.Contains(h.stored, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// TestSettleTurns takes six turns: two confirmed, one refunded by its taker,
// and three left open as a process that died would leave them, of which the
// store holds one. Settling gives back exactly the two whose leads are not
// stored, once, whoever else settles them too; and the rotation goes on as
// if only the stored turns had been taken.
func TestSettleTurns(t *testing.T) {
	for _, srv := range rotationtest.All(t) {
		t.Run(srv.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
			hist := storedHistory{stored: []int64{1, 2, 4}}
			r, err := rotation.NewRedis(srv.Client, hist, rotation.WithKeyPrefix(srv.Prefix), rotation.WithSettleAfter(time.Nanosecond))
			require.NoError(t, err)
			rot := &leads.Rotation{ID: 7, Name: "r", Default: true, Timezone: "UTC", Members: members("a b c")}

			var turns []leads.Turn
			for range 6 {
				turn, err := r.Next(ctx, rot, now)
				require.NoError(t, err)
				turns = append(turns, turn)
			}
			r.ConfirmTurn(rot, turns[0])
			r.ConfirmTurn(rot, turns[1])
			require.NoError(t, r.Refund(ctx, rot, turns[2]))
			// turns 4, 5 and 6 stay open: 4's lead is stored, 5's and 6's not.

			given, err := r.SettleTurns(ctx, []int64{rot.ID})
			require.NoError(t, err)
			require.Equal(t, 2, given)
			again, err := r.SettleTurns(ctx, []int64{rot.ID})
			require.NoError(t, err)
			require.Zero(t, again, "a turn is settled once")
			require.NoError(t, r.Refund(ctx, rot, turns[4]), "a late refund of a settled turn changes nothing")

			p, err := r.Peek(ctx, rot, now, 3)
			require.NoError(t, err)
			stored := map[string]int64{}
			for _, turn := range []leads.Turn{turns[0], turns[1], turns[3]} {
				stored[turn.Assignee]++
			}
			counted := map[string]int64{}
			for user, n := range p.DayCounts {
				if n != 0 {
					counted[user] = n
				}
			}
			require.Equal(t, stored, counted, "the day counts are those of the stored turns 1, 2 and 4")
			// Smooth WRR's refunds are additive: the next three turns even
			// the counts out exactly, as if only the stored turns were taken.
			for _, turn := range p.Turns {
				stored[turn.Assignee]++
			}
			require.Equal(t, map[string]int64{"a": 2, "b": 2, "c": 2}, stored)
		})
	}
}
