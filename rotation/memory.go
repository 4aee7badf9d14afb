package rotation

import (
	"context"
	"maps"
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
	d := Pick(rot.Members, &s.State)
	if d.Assignee == "" {
		return leads.Turn{RotationID: rot.ID}, true, nil
	}
	t := turnOf(rot, d, s.State, day)
	if isCheckpoint(t.Seq) {
		t.Checkpoint = maps.Clone(s.Current)
	}
	return t, true, nil
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
