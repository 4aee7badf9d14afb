package rotation

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/leadrotor/leadrotor/leads"
)

// NewMemory returns a Rotator that keeps rotation states in this process: for
// a single server, tests and embedding. After a restart it rebuilds each
// rotation's state from history on first use.
func NewMemory(history HistorySource) *Rotator {
	return &Rotator{b: &memoryBackend{states: make(map[int64]*memoryState)}, history: history}
}

type memoryBackend struct {
	mu     sync.Mutex
	states map[int64]*memoryState
}

type memoryState struct {
	State
	day string // the day st.DayCounts counts
	// open holds the deltas of the turns taken and neither confirmed nor
	// given back, by seq: a checkpoint leaves them out (leads.Checkpoint).
	open map[int64]map[string]int64
	// openTo holds the assignee of each open turn.
	openTo map[int64]string
}

// today returns rot's state with its day counts for day, nil when none.
func (b *memoryBackend) today(rot *leads.Rotation, day string) *memoryState {
	s := b.states[rot.ID]
	if s != nil && s.day != day {
		s.day, s.DayCounts = day, make(map[string]int64)
	}
	return s
}

func (b *memoryBackend) next(_ context.Context, rot *leads.Rotation, day string) (leads.Turn, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.today(rot, day)
	if s == nil {
		return leads.Turn{}, false, nil
	}
	if users := uncounted(rot.Members, &s.State); users != nil {
		return leads.Turn{}, false, needLoad(users)
	}
	d := Pick(rot.Members, &s.State)
	if d.Assignee == "" {
		return leads.Turn{RotationID: rot.ID}, true, nil
	}
	t := turnOf(rot, d, s.State, day)
	if s.open == nil {
		s.open, s.openTo = make(map[int64]map[string]int64), make(map[int64]string)
	}
	s.open[t.Seq], s.openTo[t.Seq] = t.Undo.Deltas, t.Assignee
	if isCheckpoint(t.Seq) {
		t.Checkpoint = checkpointWithout(s.Current, s.open)
	}
	return t, true, nil
}

// checkpointWithout returns the checkpoint of current without the effect of
// the open turns, given by their deltas.
func checkpointWithout(current map[string]int64, open map[int64]map[string]int64) *leads.Checkpoint {
	cp := &leads.Checkpoint{Current: maps.Clone(current), Open: make([]int64, 0, len(open))}
	for seq, deltas := range open {
		cp.Open = append(cp.Open, seq)
		for user, d := range deltas {
			if _, ok := cp.Current[user]; ok {
				cp.Current[user] -= d
			}
		}
	}
	slices.Sort(cp.Open)
	return cp
}

// confirm closes turn: its lead is stored.
func (b *memoryBackend) confirm(rot *leads.Rotation, turn leads.Turn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.states[rot.ID]; s != nil && s.Epoch == turn.Undo.Epoch {
		delete(s.open, turn.Seq)
		delete(s.openTo, turn.Seq)
	}
}

func (b *memoryBackend) install(_ context.Context, rot *leads.Rotation, day string, st State) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.states[rot.ID] == nil {
		b.states[rot.ID] = &memoryState{State: st, day: day}
	}
	return nil
}

func (b *memoryBackend) refund(_ context.Context, rot *leads.Rotation, turn leads.Turn) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.states[rot.ID]
	if s == nil || s.Epoch != turn.Undo.Epoch {
		return nil
	}
	delete(s.open, turn.Seq)
	delete(s.openTo, turn.Seq)
	Refund(&s.State, turn.Assignee, turn.Undo.Deltas, s.day == turn.Undo.Day)
	return nil
}

func (b *memoryBackend) snapshot(_ context.Context, rot *leads.Rotation, day string) (State, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.today(rot, day)
	if s == nil {
		return State{}, false, nil
	}
	return s.State.Clone(), true, nil
}

func (b *memoryBackend) fillLoad(_ context.Context, rot *leads.Rotation, counts map[string]int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.states[rot.ID]
	if s == nil {
		return nil
	}
	if s.Load == nil {
		s.Load = make(map[string]int64, len(counts))
	}
	for user, n := range counts {
		if _, ok := s.Load[user]; !ok {
			s.Load[user] = n
		}
	}
	return nil
}

func (b *memoryBackend) addLoad(_ context.Context, rot *leads.Rotation, user string, delta int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.states[rot.ID]; s != nil {
		AddLoad(&s.State, user, delta)
	}
	return nil
}

func (b *memoryBackend) forgetLoad(_ context.Context, rot *leads.Rotation, users []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.states[rot.ID]; s != nil {
		for _, u := range users {
			delete(s.Load, u)
		}
	}
	return nil
}

func (b *memoryBackend) openTurnsOf(_ context.Context, rot *leads.Rotation, users []string) (map[string][]int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string][]int64)
	s := b.states[rot.ID]
	if s == nil {
		return out, nil
	}
	for seq, user := range s.openTo {
		if slices.Contains(users, user) {
			out[user] = append(out[user], seq)
		}
	}
	return out, nil
}
