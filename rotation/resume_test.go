package rotation

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// TestResumeFromCheckpointIsExact takes turns with Pick over members who are
// weighted, paused and capped, recording what a store records (assignees,
// skipped slots, checkpoints), and checks that at every turn the state
// rebuilt from the latest checkpoint and the turns after it is the state the
// rotation had.
func TestResumeFromCheckpointIsExact(t *testing.T) {
	t.Parallel()
	members := []leads.RotationMember{
		{User: "a", Weight: 5}, {User: "b", Weight: 3, Paused: true}, {User: "c", Weight: 2, DailyCap: 30}, {User: "d", Weight: 1},
	}
	type record struct {
		assignee   string
		skips      []leads.Skip
		checkpoint map[string]int64
	}
	var turns []record
	st := State{Current: map[string]int64{}, DayCounts: map[string]int64{}}
	for i := range 200 {
		members[1].Paused = i%50 < 20 // paused now and then
		d := Pick(members, &st)
		r := record{assignee: d.Assignee, skips: d.Skipped}
		if isCheckpoint(st.Seq) {
			r.checkpoint = maps.Clone(st.Current)
		}
		turns = append(turns, r)

		hist := leads.RotationHistory{LastTurn: st.Seq, LastAssignee: d.Assignee, SlotsSince: map[string]int64{}}
		for seq := st.Seq; seq >= 1; seq-- {
			if cp := turns[seq-1].checkpoint; cp != nil {
				hist.Checkpoint, hist.CheckpointTurn = cp, seq
				break
			}
		}
		require.NotNil(t, hist.Checkpoint, "the first turn is a checkpoint")
		for _, r := range turns[hist.CheckpointTurn:] {
			hist.SlotsSince[r.assignee]++
			for _, sk := range r.skips {
				hist.SlotsSince[sk.User] += int64(sk.Slots)
			}
		}
		got := Resume(members, hist, "rebuilt")
		require.Equal(t, st.Current, got.Current, "after turn %d", st.Seq)
		require.Equal(t, st.Seq, got.Seq)
	}
}
