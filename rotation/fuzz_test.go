package rotation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// FuzzLuaMatchesPure drives the in-process rotator (the pure functions) and
// the Lua scripts (on miniredis) through the same random operations, and
// requires every decision to be identical: assignee, turn number, skips and
// the deltas a refund would subtract.
func FuzzLuaMatchesPure(f *testing.F) {
	f.Add([]byte{3, 1, 1, 1, 0, 0, 0, 0})
	f.Add([]byte{4, 1, 2, 3, 1, 0, 3, 1, 0, 0, 2, 0, 0, 5, 0, 0})
	f.Add([]byte{5, 4, 1, 1, 2, 1, 4, 0, 1, 0, 0, 0, 6, 2, 0, 0, 2, 1, 0, 3, 2})
	f.Add([]byte{2, 1, 1, 3, 0, 3, 1, 0, 0, 0})
	f.Add([]byte{6, 3, 3, 1, 1, 1, 2, 4, 1, 2, 4, 2, 1, 0, 0, 0, 0, 5, 0, 0, 6, 0, 0, 0})
	f.Add([]byte{4, 1, 2, 1, 1, 3, 0, 2, 0, 3, 1, 3, 0, 0, 0, 3, 2, 1, 4, 1, 2, 0, 0, 3, 0, 1, 0, 0})
	// Capacities: a member at capacity is passed over until a lead of
	// theirs closes or a turn they got is given back.
	f.Add([]byte{2, 0, 0, 0, 4, 0, 3, 0, 0, 0, 7, 0, 1, 0, 0, 2, 0, 0, 4, 1, 5, 0, 0, 7, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 || len(data) > 400 {
			return
		}
		mini := rotationtest.Mini(t)
		lua, err := rotation.NewRedis(mini.Client, nil, rotation.WithKeyPrefix(mini.Prefix))
		require.NoError(t, err)
		pure := rotation.NewMemory(nil)

		rd := byteReader(data)
		pool := make([]leads.RotationMember, 1+int(rd.next())%6)
		for i := range pool {
			pool[i] = leads.RotationMember{User: fmt.Sprintf("u%d@example.com", i), Weight: 1 + int(rd.next())%4}
		}
		rot := &leads.Rotation{ID: 1, Default: true, Timezone: "UTC", Members: append([]leads.RotationMember(nil), pool...)}
		now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
		ctx := context.Background()
		var taken []leads.Turn
		for !rd.done() {
			switch rd.next() % 8 {
			case 0, 1:
				want, err := pure.Next(ctx, rot, now)
				require.NoError(t, err)
				got, err := lua.Next(ctx, rot, now)
				require.NoError(t, err)
				require.Equal(t, want.Assignee, got.Assignee)
				require.Equal(t, want.Seq, got.Seq)
				require.Equal(t, want.Skipped, got.Skipped)
				require.Equal(t, want.Undo.Deltas, got.Undo.Deltas)
				if want.Assignee != "" {
					taken = append(taken, want, got)
				}
			case 2:
				if len(taken) == 0 {
					continue
				}
				i := 2 * (int(rd.next()) % (len(taken) / 2))
				require.NoError(t, pure.Refund(ctx, rot, taken[i]))
				require.NoError(t, lua.Refund(ctx, rot, taken[i+1]))
				taken = append(taken[:i], taken[i+2:]...)
			case 3:
				// Pause or resume a member, or set why it is away (as
				// the Service does for one turn), or clear it.
				if len(rot.Members) > 0 {
					m := &rot.Members[int(rd.next())%len(rot.Members)]
					switch rd.next() % 4 {
					case 0:
						m.Paused = !m.Paused
					case 1:
						m.Away = ""
					case 2:
						m.Away = "outside_hours"
					case 3:
						m.Away = "out_of_office"
					}
				}
			case 4:
				// A daily cap, or a capacity of open leads.
				if len(rot.Members) > 0 {
					m := &rot.Members[int(rd.next())%len(rot.Members)]
					if b := rd.next(); b%2 == 0 {
						m.DailyCap = int(b/2) % 4
					} else {
						m.MaxOpenLeads = int(b/2) % 4
					}
				}
			case 7:
				// One of a member's leads closes, or one is assigned to it
				// other than by a turn (as the Service reports them).
				u := pool[int(rd.next())%len(pool)].User
				delta := 1 - 2*int(rd.next()%2)
				require.NoError(t, pure.AddLoad(ctx, rot, u, delta))
				require.NoError(t, lua.AddLoad(ctx, rot, u, delta))
			case 5:
				now = now.Add(time.Duration(rd.next()%30) * time.Hour)
			case 6:
				// Remove a member, or add back one of the pool.
				k := int(rd.next()) % len(pool)
				if i := indexOf(rot.Members, pool[k].User); i >= 0 {
					rot.Members = append(rot.Members[:i:i], rot.Members[i+1:]...)
				} else {
					rot.Members = append(rot.Members, pool[k])
				}
			}
		}
		want, err := pure.Peek(ctx, rot, now, 12)
		require.NoError(t, err)
		got, err := lua.Peek(ctx, rot, now, 12)
		require.NoError(t, err)
		require.Equal(t, assignees(want.Turns), assignees(got.Turns), "peek")
		require.Equal(t, want.Seq, got.Seq)
		require.Equal(t, nonZero(want.Load), nonZero(got.Load), "open leads")
	})
}

type byteReader []byte

func (r *byteReader) done() bool { return len(*r) == 0 }

func (r *byteReader) next() byte {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return b
}

func indexOf(ms []leads.RotationMember, user string) int {
	for i, m := range ms {
		if m.User == user {
			return i
		}
	}
	return -1
}

// nonZero returns counts without its zeros.
func nonZero(counts map[string]int64) map[string]int64 {
	out := make(map[string]int64)
	for k, v := range counts {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func assignees(turns []leads.Turn) []string {
	out := make([]string, len(turns))
	for i, t := range turns {
		out[i] = t.Assignee
	}
	return out
}
