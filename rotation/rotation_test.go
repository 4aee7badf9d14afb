package rotation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// driver takes turns of rotations through one implementation.
type driver interface {
	next(t *testing.T, rot *leads.Rotation, now time.Time) leads.Turn
	refund(t *testing.T, rot *leads.Rotation, turn leads.Turn)
	peek(t *testing.T, rot *leads.Rotation, now time.Time, n int) []leads.Turn
	addLoad(t *testing.T, rot *leads.Rotation, user string, delta int)
}

// pureDriver runs the pure functions directly, with the same rules for
// missing state and day changes as the Rotator.
type pureDriver struct {
	history leads.RotationHistory
	// open is the store's count of each member's open leads.
	open   map[string]int64
	states map[int64]*rotation.State
	days   map[int64]string
}

func (d *pureDriver) state(rot *leads.Rotation, now time.Time) *rotation.State {
	st := d.states[rot.ID]
	if st == nil {
		s := rotation.Resume(rot.Members, d.history, "pure")
		st = &s
		d.states[rot.ID], d.days[rot.ID] = st, rot.Day(now)
	}
	if day := rot.Day(now); d.days[rot.ID] != day {
		d.days[rot.ID], st.DayCounts = day, map[string]int64{}
	}
	// Members with a capacity not counted yet are counted from the store.
	for _, m := range rot.Members {
		if _, ok := st.Load[m.User]; m.MaxOpenLeads > 0 && !ok {
			if st.Load == nil {
				st.Load = map[string]int64{}
			}
			st.Load[m.User] = d.open[m.User]
		}
	}
	return st
}

func (d *pureDriver) addLoad(_ *testing.T, rot *leads.Rotation, user string, delta int) {
	if st := d.states[rot.ID]; st != nil {
		rotation.AddLoad(st, user, int64(delta))
	}
}

func (d *pureDriver) next(_ *testing.T, rot *leads.Rotation, now time.Time) leads.Turn {
	st := d.state(rot, now)
	dec := rotation.Pick(rot.Members, st)
	if dec.Assignee == "" {
		return leads.Turn{RotationID: rot.ID}
	}
	return leads.Turn{RotationID: rot.ID, Assignee: dec.Assignee, Seq: st.Seq, Skipped: dec.Skipped,
		Undo: leads.TurnUndo{Epoch: st.Epoch, Day: rot.Day(now), Deltas: dec.Deltas}}
}

func (d *pureDriver) refund(_ *testing.T, rot *leads.Rotation, turn leads.Turn) {
	rotation.Refund(d.states[rot.ID], turn.Assignee, turn.Undo.Deltas, d.days[rot.ID] == turn.Undo.Day)
}

func (d *pureDriver) peek(t *testing.T, rot *leads.Rotation, now time.Time, n int) []leads.Turn {
	saved := d.state(rot, now).Clone()
	defer func() { d.states[rot.ID] = &saved }()
	var turns []leads.Turn
	for range n {
		turn := d.next(t, rot, now)
		if turn.Assignee == "" {
			break
		}
		turns = append(turns, turn)
	}
	return turns
}

// rotatorDriver runs a rotation.Rotator.
type rotatorDriver struct{ r *rotation.Rotator }

func (d rotatorDriver) next(t *testing.T, rot *leads.Rotation, now time.Time) leads.Turn {
	turn, err := d.r.Next(context.Background(), rot, now)
	require.NoError(t, err)
	return turn
}

func (d rotatorDriver) refund(t *testing.T, rot *leads.Rotation, turn leads.Turn) {
	require.NoError(t, d.r.Refund(context.Background(), rot, turn))
}

func (d rotatorDriver) addLoad(t *testing.T, rot *leads.Rotation, user string, delta int) {
	require.NoError(t, d.r.AddLoad(context.Background(), rot, user, delta))
}

func (d rotatorDriver) peek(t *testing.T, rot *leads.Rotation, now time.Time, n int) []leads.Turn {
	p, err := d.r.Peek(context.Background(), rot, now, n)
	require.NoError(t, err)
	return p.Turns
}

// fixedHistory is a HistorySource that remembers the same for every rotation.
type fixedHistory leads.RotationHistory

func (h fixedHistory) RotationHistory(context.Context, int64, time.Time) (leads.RotationHistory, error) {
	return leads.RotationHistory(h), nil
}

// StoredTurns says that no turn has its lead stored.
func (h fixedHistory) StoredTurns(context.Context, int64, []int64) ([]int64, error) { return nil, nil }

// storeHistory is a fixedHistory whose store also counts open leads.
type storeHistory struct {
	fixedHistory
	open map[string]int64
}

// OpenLeads says that the store has the lead of every turn, counted in
// h.open as the case says.
func (h storeHistory) OpenLeads(_ context.Context, _ string, users []string, _ []leads.Status, _ int64, turns []int64) (map[string]int64, []int64, error) {
	out := map[string]int64{}
	for _, u := range users {
		if n := h.open[u]; n > 0 {
			out[u] = n
		}
	}
	return out, turns, nil
}

// drivers returns every implementation under test, each with its own state,
// all remembering hist as the store's history and open as its count of
// open leads.
func drivers(t *testing.T, hist leads.RotationHistory, open map[string]int64) map[string]driver {
	t.Helper()
	h := storeHistory{fixedHistory(hist), open}
	ds := map[string]driver{
		"pure":   &pureDriver{history: hist, open: open, states: map[int64]*rotation.State{}, days: map[int64]string{}},
		"memory": rotatorDriver{rotation.NewMemory(h)},
	}
	for _, srv := range rotationtest.All(t) {
		r, err := rotation.NewRedis(srv.Client, h, rotation.WithKeyPrefix(srv.Prefix))
		require.NoError(t, err)
		ds[srv.Name] = rotatorDriver{r}
	}
	return ds
}

// members parses "a b:2 c:1:paused d:1:cap3 e:1:out_of_office f:1:max2"
// into rotation members (e away, as the Service marks one for a turn; f
// with a capacity of 2 open leads).
func members(spec string) []leads.RotationMember {
	var ms []leads.RotationMember
	for _, f := range strings.Fields(spec) {
		parts := strings.Split(f, ":")
		m := leads.RotationMember{User: parts[0], Weight: 1}
		if len(parts) > 1 {
			_, _ = fmt.Sscan(parts[1], &m.Weight)
		}
		for _, p := range parts[min(2, len(parts)):] {
			switch {
			case p == "paused":
				m.Paused = true
			case p == "outside_hours" || p == "out_of_office" || p == "holiday":
				m.Away = p
			case strings.HasPrefix(p, "cap"):
				_, _ = fmt.Sscan(p[3:], &m.DailyCap)
			case strings.HasPrefix(p, "max"):
				_, _ = fmt.Sscan(p[3:], &m.MaxOpenLeads)
			}
		}
		ms = append(ms, m)
	}
	return ms
}

// op is one step of a case. Exactly one of its actions is set.
type op struct {
	members string        // replace the member list
	advance time.Duration // move the clock
	refund  int           // refund the turn taken that many turns ago (1 = last)
	// closed and given report a lead of that member closed, or assigned
	// to it other than by a turn (as the Service does: AddLoad).
	closed, given string
	// want lists the assignees of consecutive turns; "-" is a turn with
	// nobody eligible.
	want string
	// peek, when set with want, peeks instead of taking turns.
	peek bool
	// skipped, when set, is the skips of the last turn of want, as
	// "user:reason:slots" separated by spaces.
	skipped string
	// seqs, when set, is the turn numbers of want's turns.
	seqs []int64
}

type rotationCase struct {
	name    string
	members string
	history leads.RotationHistory
	// open is the store's count of members' open leads.
	open map[string]int64
	ops  []op
}

var rotationCases = []rotationCase{
	{name: "equal weights are plain round-robin in list order", members: "a b c",
		ops: []op{{want: "a b c a b c a"}}},
	{name: "weights interleave smoothly", members: "a:1 b:2",
		ops: []op{{want: "b a b b a b"}}},
	{name: "nginx's classic 5-1-1", members: "a:5 b:1 c:1",
		ops: []op{{want: "a a b a c a a a a b a c a a"}}},
	{name: "weights 1,1,1,1,1,2,3 give each its share every 10 turns", members: "a b c d e f:2 g:3",
		ops: []op{{want: "g f a b c g d e f g g f a b c g d e f g"}}},
	{name: "a paused member is skipped with its reason", members: "a b:1:paused c",
		ops: []op{{want: "a c", skipped: "b:paused:1"}, {want: "a c a c"}}},
	{name: "a member paused and resumed returns at the current position, no burst", members: "a b c",
		ops: []op{
			{want: "a b c a"},
			{members: "a b:1:paused c"},
			{want: "c a c a c"},
			{members: "a b c"},
			{want: "a b c a b c"},
		}},
	{name: "a member away is skipped with its reason and returns at the current position, no burst", members: "a b c",
		ops: []op{
			{want: "a b c a"},
			{members: "a b:1:out_of_office c"},
			{want: "c a c a c", skipped: "b:out_of_office:1"},
			{members: "a b:1:outside_hours c:1:holiday"},
			{want: "a a", skipped: "b:outside_hours:1 c:holiday:1"},
			{members: "a b c"},
			{want: "b c a b c a"},
		}},
	{name: "a member who joins starts level with the others, never ahead", members: "a b c",
		ops: []op{
			{want: "a b c a b c a b c a b"},
			{members: "a b c d"},
			{want: "c d a b c d a b c d a b"},
		}},
	{name: "a paused heavy member's slots all pass", members: "a b:5:paused",
		ops: []op{{want: "a", skipped: "b:paused:2"}, {want: "a a"}}},
	{name: "a daily cap leaves the member out until the next day", members: "a:1:cap2 b",
		ops: []op{
			{want: "a b a b b", skipped: "a:daily_cap:1"},
			{want: "b b"},
			{advance: 24 * time.Hour},
			{want: "a b a b b"},
		}},
	{name: "nobody eligible changes nothing", members: "a:1:paused b:1:paused",
		ops: []op{{want: "- -"}, {members: "a b"}, {want: "a b a"}}},
	{name: "an empty rotation has nobody", members: "",
		ops: []op{{want: "-"}}},
	{name: "a member added joins without resetting the others", members: "a b",
		ops: []op{{want: "a b a"}, {members: "a b c"}, {want: "b c a b c a"}}},
	{name: "a member removed leaves the others' order", members: "a b c",
		ops: []op{{want: "a"}, {members: "b c"}, {want: "b c b c"}}},
	// a just had its turn, so it stays behind c and b; ties now go to c first.
	{name: "a reordered list keeps each member's state", members: "a b c",
		ops: []op{{want: "a"}, {members: "c b a"}, {want: "c b c b a c"}}},
	{name: "a refund of the last turn gives it back", members: "a b c",
		ops: []op{{want: "a b"}, {refund: 1}, {want: "b c a"}}},
	{name: "a refund after later turns is exact", members: "a b c",
		ops: []op{{want: "a b c"}, {refund: 2}, {want: "b a b c a b c"}}},
	{name: "a refund frees a daily cap", members: "a:1:cap1 b",
		ops: []op{{want: "a"}, {refund: 1}, {want: "a b b"}}},
	{name: "lost state resumes after the last assignee", members: "a b c",
		history: leads.RotationHistory{LastAssignee: "b", LastTurn: 41},
		ops:     []op{{want: "c a b c", seqs: []int64{42, 43, 44, 45}}}},
	{name: "lost weighted state resumes after the last assignee's first slot", members: "a:1 b:2",
		history: leads.RotationHistory{LastAssignee: "a", LastTurn: 7},
		ops:     []op{{want: "b b a b"}}},
	{name: "lost state keeps the day's caps", members: "a:1:cap1 b",
		history: leads.RotationHistory{LastAssignee: "b", LastTurn: 3, AssignedSince: map[string]int64{"a": 1}},
		ops:     []op{{want: "b b", skipped: "a:daily_cap:1"}}},
	{name: "a last assignee no longer a member starts from the top", members: "a b c",
		history: leads.RotationHistory{LastAssignee: "z", LastTurn: 9},
		ops:     []op{{want: "a b c"}}},
	{name: "a member at capacity is passed over until one of its leads closes", members: "a:1:max2 b",
		ops: []op{
			{want: "a b a b b", skipped: "a:at_capacity:1"},
			{closed: "a"},
			{want: "a b b", skipped: "a:at_capacity:1"},
			{closed: "a"}, {closed: "a"},
			{want: "a b a b"},
		}},
	{name: "open leads in the store count against capacity", members: "a:1:max2 b",
		open: map[string]int64{"a": 1, "b": 7},
		ops:  []op{{want: "a b b", skipped: "a:at_capacity:1"}}},
	{name: "a lead assigned otherwise takes capacity", members: "a:1:max2 b",
		ops: []op{{want: "a b"}, {given: "a"}, {want: "b b", skipped: "a:at_capacity:1"}}},
	{name: "a refund frees capacity", members: "a:1:max1 b",
		ops: []op{{want: "a"}, {refund: 1}, {want: "a b b"}}},
	{name: "a capacity set later counts the member's open leads from the store", members: "b a",
		open: map[string]int64{"a": 2},
		ops: []op{
			{want: "b"},
			{members: "b a:1:max2"},
			{want: "b b", skipped: "a:at_capacity:1"},
			{closed: "a"},
			{want: "a b b"},
		}},
	{name: "a capacity removed and set again is counted afresh", members: "a:1:max1 b",
		open: map[string]int64{"a": 0},
		ops: []op{
			{want: "a b b"},
			{members: "a b"},
			{want: "a b"},
			{members: "a:1:max1 b"},
			{want: "a b b"},
		}},
	{name: "a daily cap reached is the reason before capacity", members: "a:1:cap1:max1 b",
		ops: []op{{want: "a b b", skipped: "a:daily_cap:1"}}},
	{name: "lost state counts open leads from the store", members: "a:1:max1 b",
		history: leads.RotationHistory{LastAssignee: "b", LastTurn: 3}, open: map[string]int64{"a": 1},
		ops: []op{{want: "b b", skipped: "a:at_capacity:1"}}},
	{name: "peek shows the coming turns without taking them", members: "a b:2 c:1:cap1",
		ops: []op{{want: "b a c b", peek: true}, {want: "b a c b b a"}, {want: "b b a b", peek: true}}},
}

func TestRotationCases(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for _, tc := range rotationCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for name, d := range drivers(t, tc.history, tc.open) {
				t.Run(name, func(t *testing.T) {
					runCase(t, d, tc, start)
				})
			}
		})
	}
}

func runCase(t *testing.T, d driver, tc rotationCase, now time.Time) {
	rot := &leads.Rotation{ID: 7, Name: tc.name, Default: true, Timezone: "UTC", Members: members(tc.members)}
	var taken []leads.Turn
	for i, o := range tc.ops {
		switch {
		case o.closed != "":
			d.addLoad(t, rot, o.closed, -1)
		case o.given != "":
			d.addLoad(t, rot, o.given, 1)
		case o.members != "" || (o.want == "" && o.refund == 0 && o.advance == 0):
			rot.Members = members(o.members)
		case o.advance != 0:
			now = now.Add(o.advance)
		case o.refund != 0:
			turn := taken[len(taken)-o.refund]
			d.refund(t, rot, turn)
			taken = append(taken[:len(taken)-o.refund], taken[len(taken)-o.refund+1:]...)
		case o.peek:
			var got []string
			for _, turn := range d.peek(t, rot, now, len(strings.Fields(o.want))) {
				got = append(got, turn.Assignee)
			}
			require.Equal(t, o.want, strings.Join(got, " "), "op %d: peek", i)
		default:
			var got []string
			var seqs []int64
			var last leads.Turn
			for range strings.Fields(o.want) {
				last = d.next(t, rot, now)
				if last.Assignee == "" {
					got = append(got, "-")
					continue
				}
				got = append(got, last.Assignee)
				seqs = append(seqs, last.Seq)
				taken = append(taken, last)
			}
			require.Equal(t, o.want, strings.Join(got, " "), "op %d: assignees", i)
			if o.skipped != "" {
				var skips []string
				for _, s := range last.Skipped {
					skips = append(skips, fmt.Sprintf("%s:%s:%d", s.User, s.Reason, s.Slots))
				}
				require.Equal(t, o.skipped, strings.Join(skips, " "), "op %d: skipped", i)
			}
			if o.seqs != nil {
				require.Equal(t, o.seqs, seqs, "op %d: turn numbers", i)
			}
		}
	}
}

// storedTurnsHistory is a storeHistory whose store has the leads of some
// turns.
type storedTurnsHistory struct {
	storeHistory
	stored map[int64]bool
}

func (h storedTurnsHistory) OpenLeads(ctx context.Context, account string, users []string, st []leads.Status, rot int64, turns []int64) (map[string]int64, []int64, error) {
	counts, _, _ := h.storeHistory.OpenLeads(ctx, account, users, st, rot, nil)
	var have []int64
	for _, seq := range turns {
		if h.stored[seq] {
			have = append(have, seq)
		}
	}
	return counts, have, nil
}

// A capacity set while turns to the member are on their way to the store
// counts them: once each, whether the store has their leads yet or not.
func TestCapacityCountsTurnsInFlight(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, stored := range []bool{false, true} {
		// Stored, the store counts the lead; not yet, the open turn does.
		open := map[string]int64{}
		if stored {
			open["a"] = 1
		}
		h := storedTurnsHistory{storeHistory{open: open}, map[int64]bool{1: stored}}
		rotators := map[string]*rotation.Rotator{"memory": rotation.NewMemory(h)}
		for _, srv := range rotationtest.All(t) {
			r, err := rotation.NewRedis(srv.Client, h, rotation.WithKeyPrefix(srv.Prefix))
			require.NoError(t, err)
			rotators[srv.Name] = r
		}
		for name, r := range rotators {
			t.Run(fmt.Sprintf("%s, stored %t", name, stored), func(t *testing.T) {
				rot := &leads.Rotation{ID: 11, Default: true, Timezone: "UTC", Members: members("a b")}
				turn, err := r.Next(ctx, rot, now)
				require.NoError(t, err)
				require.Equal(t, "a", turn.Assignee)
				rot.Members = members("a:1:max1 b")
				for range 3 {
					turn, err = r.Next(ctx, rot, now)
					require.NoError(t, err)
					require.Equal(t, "b", turn.Assignee, "a's lead on its way counts")
				}
				require.NoError(t, r.AddLoad(ctx, rot, "a", -1))
				turn, err = r.Next(ctx, rot, now)
				require.NoError(t, err)
				require.Equal(t, "a", turn.Assignee, "counted once: one close frees a place")
			})
		}
	}
}
