package rotation

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// TestBatchMatchesPure checks that one script taking k turns decides exactly
// as k calls of Pick, caps reached and members paused included, and that the
// checkpoint turns carry the state without the turns open then.
func TestBatchMatchesPure(t *testing.T) {
	t.Parallel()
	members := []leads.RotationMember{
		{User: "a", Weight: 3, DailyCap: 4}, {User: "b", Weight: 1, Paused: true}, {User: "c", Weight: 2},
		{User: "d", Weight: 1, DailyCap: 2}, {User: "e", Weight: 5},
	}
	for _, srv := range rotationtest.All(t) {
		for _, k := range []int{1, 2, 7, 40} {
			t.Run(fmt.Sprintf("%s/%d turns", srv.Name, k), func(t *testing.T) {
				b := &redisBackend{client: srv.Client, prefix: fmt.Sprintf("%sbatch%d:", srv.Prefix, k), timeout: 2 * time.Second, queues: map[int64]*rotationQueue{}}
				rot := &leads.Rotation{ID: 1, Members: members}
				start := State{Epoch: "e", Seq: 10, Current: map[string]int64{"a": 2, "c": -1, "e": -4, "b": 3}, DayCounts: map[string]int64{"a": 1}}
				require.NoError(t, b.install(context.Background(), rot, "day", start.Clone()))

				want := start.Clone()
				var expect []string
				for range k {
					d := Pick(members, &want)
					if d.Assignee == "" {
						expect = append(expect, "-")
						continue
					}
					// A checkpoint leaves out the turns still open: all the
					// batch's up to it (none was open before), so it holds
					// the state the batch started from.
					var checkpoint *leads.Checkpoint
					if isCheckpoint(want.Seq) {
						checkpoint = &leads.Checkpoint{Current: map[string]int64{}}
						for _, m := range members {
							checkpoint.Current[m.User] = start.Current[m.User]
						}
						for seq := start.Seq + 1; seq <= want.Seq; seq++ {
							checkpoint.Open = append(checkpoint.Open, seq)
						}
					}
					expect = append(expect, fmt.Sprintf("%d:%s %v %v %v", want.Seq, d.Assignee, d.Skipped, d.Deltas, checkpoint))
				}
				var got []string
				for _, r := range b.pick(rot, "day", k) {
					require.NoError(t, r.err)
					require.True(t, r.ok)
					if r.turn.Assignee == "" {
						got = append(got, "-")
						continue
					}
					got = append(got, fmt.Sprintf("%d:%s %v %v %v", r.turn.Seq, r.turn.Assignee, r.turn.Skipped, r.turn.Undo.Deltas, r.turn.Checkpoint))
				}
				require.Equal(t, expect, got)
				st, ok, err := b.snapshot(context.Background(), rot, "day")
				require.NoError(t, err)
				require.True(t, ok)
				require.Equal(t, want.Seq, st.Seq)
				require.Equal(t, want.Current, st.Current)
				for user, c := range want.DayCounts {
					require.Equal(t, c, st.DayCounts[user], user)
				}
			})
		}
	}
}

// TestConcurrentTurnsAreGaplessAndUnique takes turns from many goroutines
// at once, so that they batch, and checks that every turn number is taken
// exactly once and the shares are exact.
func TestConcurrentTurnsAreGaplessAndUnique(t *testing.T) {
	t.Parallel()
	for _, srv := range rotationtest.All(t) {
		t.Run(srv.Name, func(t *testing.T) {
			r, err := NewRedis(srv.Client, nil, WithKeyPrefix(srv.Prefix+"concurrent:"))
			require.NoError(t, err)
			rot := &leads.Rotation{ID: 9, Timezone: "UTC", Members: []leads.RotationMember{{User: "a", Weight: 1}, {User: "b", Weight: 2}, {User: "c", Weight: 3}}}
			const workers, each = 32, 60
			var mu sync.Mutex
			var seqs []int64
			counts := map[string]int{}
			var wg sync.WaitGroup
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						turn, err := r.Next(context.Background(), rot, time.Now())
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						seqs = append(seqs, turn.Seq)
						counts[turn.Assignee]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
			for i, s := range seqs {
				require.EqualValues(t, i+1, s)
			}
			require.Equal(t, map[string]int{"a": 320, "b": 640, "c": 960}, counts)
		})
	}
}
