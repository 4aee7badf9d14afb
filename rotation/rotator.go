package rotation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// HistorySource is the store's record of a rotation's turns, which a Rotator
// rebuilds a lost state from, and asks which turns have their leads stored.
// leads.Store implementations satisfy it.
type HistorySource interface {
	RotationHistory(ctx context.Context, rotationID int64, since time.Time) (leads.RotationHistory, error)
	// StoredTurns returns those of turns (of rotation rotationID) that a
	// stored lead got.
	StoredTurns(ctx context.Context, rotationID int64, turns []int64) ([]int64, error)
}

// OpenLeadCounter is a HistorySource that also counts members' open leads,
// which a rotation's capacities (leads.RotationMember MaxOpenLeads) start
// from. leads.Store implementations satisfy it; without it, every member
// starts with none.
type OpenLeadCounter interface {
	// OpenLeads counts, in one snapshot of the store, the open leads of
	// each of users (those with a status in statuses), and returns those
	// of turns (of rotation rotationID) whose leads are stored.
	OpenLeads(ctx context.Context, accountID string, users []string, statuses []leads.Status, rotationID int64, turns []int64) (map[string]int64, []int64, error)
}

// needLoad is the error of a backend's next when members of the rotation
// with a capacity have no count of open leads yet: the Rotator counts them
// from the store (fillLoad) and asks again.
type needLoad []string

func (n needLoad) Error() string { return fmt.Sprintf("open leads of %v not counted", []string(n)) }

// confirmer is a backend that keeps each turn open until it hears that its
// lead is stored.
type confirmer interface {
	confirm(rot *leads.Rotation, turn leads.Turn)
}

// openTurns is a backend whose open turns outlive the process that took
// them (Redis), and so must be settled by another.
type openTurns interface {
	settleOpen(ctx context.Context, rotationID int64, stored func(ctx context.Context, rotationID int64, turns []int64) ([]int64, error)) (int, error)
}

// backend keeps rotation states and applies decisions to them atomically.
type backend interface {
	// next takes a turn of rot on the state for day; ok is false when there
	// is no state, which the caller then installs and asks again.
	next(ctx context.Context, rot *leads.Rotation, day string) (t leads.Turn, ok bool, err error)
	// install stores st as rot's state unless one exists already.
	install(ctx context.Context, rot *leads.Rotation, day string, st State) error
	// refund subtracts turn from rot's state if it is still the state the
	// turn was taken from.
	refund(ctx context.Context, rot *leads.Rotation, turn leads.Turn) error
	// snapshot returns a copy of rot's state for day; ok is false when none.
	snapshot(ctx context.Context, rot *leads.Rotation, day string) (st State, ok bool, err error)
	// fillLoad sets the open leads of the users in counts, on rot's state,
	// for those not counted yet; nothing when there is no state.
	fillLoad(ctx context.Context, rot *leads.Rotation, counts map[string]int64) error
	// addLoad adds delta to user's open leads on rot's state, if counted
	// (AddLoad).
	addLoad(ctx context.Context, rot *leads.Rotation, user string, delta int64) error
	// forgetLoad drops the open leads of users from rot's state.
	forgetLoad(ctx context.Context, rot *leads.Rotation, users []string) error
	// openTurnsOf returns the open turns of rot's state (taken, their
	// leads not known to be stored) that went to each of users.
	openTurnsOf(ctx context.Context, rot *leads.Rotation, users []string) (map[string][]int64, error)
}

// Rotator implements leads.Rotator over a backend: in process (NewMemory) or
// on Redis (NewRedis). When a rotation has no state (first use, or the state
// was lost) it rebuilds it from the HistorySource so that the order resumes
// after the last member assigned, and the day's caps still hold.
type Rotator struct {
	b       backend
	history HistorySource
}

var (
	_ leads.Rotator       = (*Rotator)(nil)
	_ leads.TurnConfirmer = (*Rotator)(nil)
	_ leads.TurnSettler   = (*Rotator)(nil)
	_ leads.RotatorProber = (*Rotator)(nil)
	_ leads.LoadCounter   = (*Rotator)(nil)
	_ leads.StateResyncer = (*Rotator)(nil)
)

// ErrNoState is returned when a rotation's state cannot be established, which
// only happens when it is lost again and again while being rebuilt.
var ErrNoState = errors.New("rotation state could not be established")

// Next takes the next turn of rot at now. Nobody eligible is not an error:
// the turn's Assignee is "" and nothing changes.
func (r *Rotator) Next(ctx context.Context, rot *leads.Rotation, now time.Time) (leads.Turn, error) {
	day := rot.Day(now)
	// A state lost, then counts of open leads missing, can take two
	// rounds of their own before a turn, and a state lost again as many.
	for range 6 {
		t, ok, err := r.b.next(ctx, rot, day)
		if errors.Is(err, errCorruptState) {
			// Repair: drop the keys and rebuild the state from the store,
			// exactly as after a loss, rather than fail every lead.
			if rs, can := r.b.(interface {
				reset(context.Context, *leads.Rotation, string) error
			}); can {
				if err := rs.reset(ctx, rot, day); err != nil {
					return leads.Turn{}, fmt.Errorf("rotation %d: %w", rot.ID, err)
				}
				ok, err = false, nil
			}
		}
		var users needLoad
		if errors.As(err, &users) {
			if err := r.fillLoad(ctx, rot, users); err != nil {
				return leads.Turn{}, err
			}
			continue
		}
		if err != nil {
			return leads.Turn{}, fmt.Errorf("rotation %d: %w", rot.ID, err)
		}
		if ok {
			return t, nil
		}
		if err := r.rebuild(ctx, rot, now); err != nil {
			return leads.Turn{}, err
		}
	}
	return leads.Turn{}, fmt.Errorf("rotation %d: %w", rot.ID, ErrNoState)
}

// fillLoad counts the open leads of users, members of rot with a
// capacity, from the store, and sets them on rot's state. A turn of rot
// still open to one of them counts too, unless the store has its lead
// already: the turn was taken while they had no count (their capacity is
// new), and its lead is on its way. No turn can go to them meanwhile: a
// turn waits for every capped member's count.
func (r *Rotator) fillLoad(ctx context.Context, rot *leads.Rotation, users []string) error {
	open, err := r.b.openTurnsOf(ctx, rot, users)
	if err != nil {
		return fmt.Errorf("rotation %d: count open leads: %w", rot.ID, err)
	}
	counts, err := r.openLeads(ctx, rot, users, open)
	if err != nil {
		return err
	}
	if err := r.b.fillLoad(ctx, rot, counts); err != nil {
		return fmt.Errorf("rotation %d: count open leads: %w", rot.ID, err)
	}
	return nil
}

// openLeads returns the open leads of each of users: from the store (none
// without an OpenLeadCounter), and the turns of open (by user) whose leads
// the store does not have.
func (r *Rotator) openLeads(ctx context.Context, rot *leads.Rotation, users []string, open map[string][]int64) (map[string]int64, error) {
	counts := make(map[string]int64, len(users))
	var turns []int64
	for _, seqs := range open {
		turns = append(turns, seqs...)
	}
	stored := map[int64]bool{}
	if c, ok := r.history.(OpenLeadCounter); ok && len(users) > 0 {
		statuses := rot.OpenStatuses
		if len(statuses) == 0 {
			statuses = leads.DefaultOpenStatuses
		}
		found, have, err := c.OpenLeads(ctx, rot.AccountID, users, statuses, rot.ID, turns)
		if err != nil {
			return nil, fmt.Errorf("rotation %d: count open leads: %w", rot.ID, err)
		}
		maps.Copy(counts, found)
		for _, seq := range have {
			stored[seq] = true
		}
	}
	for _, u := range users {
		for _, seq := range open[u] {
			if !stored[seq] {
				counts[u]++
			}
		}
		counts[u] += 0 // present: counted, even with none
	}
	return counts, nil
}

// AddLoad adds delta to user's open leads as rot counts them for its
// capacities, when it counts them (user is a member of rot with a
// capacity, already counted): the Service calls it for every change to a
// member's open leads other than rot's own turns, which count themselves.
func (r *Rotator) AddLoad(ctx context.Context, rot *leads.Rotation, user string, delta int) error {
	if err := r.b.addLoad(ctx, rot, user, int64(delta)); err != nil {
		return fmt.Errorf("rotation %d: count open leads of %s: %w", rot.ID, user, err)
	}
	return nil
}

// ForgetLoad drops rot's counts of the open leads of users: they are
// counted from the store before rot's next turn.
func (r *Rotator) ForgetLoad(ctx context.Context, rot *leads.Rotation, users []string) error {
	if err := r.b.forgetLoad(ctx, rot, users); err != nil {
		return fmt.Errorf("rotation %d: forget open leads: %w", rot.ID, err)
	}
	return nil
}

// Refund gives turn back. A turn taken from a state that has since been lost
// and rebuilt is not refunded: the rebuilt state never counted it.
func (r *Rotator) Refund(ctx context.Context, rot *leads.Rotation, turn leads.Turn) error {
	if turn.Assignee == "" {
		return nil
	}
	if err := r.b.refund(ctx, rot, turn); err != nil {
		return fmt.Errorf("rotation %d: refund turn %d: %w", rot.ID, turn.Seq, err)
	}
	return nil
}

// Probe reports whether the rotator's backend answers: nil when it does (the
// in-process backend always does), an error that IsUnavailable when not.
func (r *Rotator) Probe(ctx context.Context) error {
	if p, ok := r.b.(interface{ probe(context.Context) error }); ok {
		return p.probe(ctx)
	}
	return nil
}

// ConfirmTurn records that turn's lead is stored, so that the turn is never
// given back; it costs no round trip of its own.
func (r *Rotator) ConfirmTurn(rot *leads.Rotation, turn leads.Turn) {
	if c, ok := r.b.(confirmer); ok && turn.Assignee != "" {
		c.confirm(rot, turn)
	}
}

// SettleTurns settles the turns of the rotations rotationIDs that were taken
// long enough ago (WithSettleAfter) and never confirmed nor given back: the
// process that took them died, or could not find out how the write of
// their leads ended. Turns whose leads the HistorySource has are closed; the
// others are given back, so that the rotation stays exact. It returns how
// many turns it gave back. With the in-process backend, whose state dies
// with its process, there is nothing to settle.
func (r *Rotator) SettleTurns(ctx context.Context, rotationIDs []int64) (int, error) {
	o, ok := r.b.(openTurns)
	if !ok || r.history == nil {
		return 0, nil
	}
	given := 0
	var errs []error
	for _, id := range rotationIDs {
		n, err := o.settleOpen(ctx, id, r.history.StoredTurns)
		given += n
		if err != nil {
			// One rotation's failure does not hold the others.
			errs = append(errs, fmt.Errorf("rotation %d: %w", id, err))
		}
	}
	return given, errors.Join(errs...)
}

// Peek returns the next n turns of rot at now without taking them: the same
// decisions Next would return if nothing changed in between, including the
// members skipped and why; and the state they follow from. A rotation with
// no state is previewed as it would be rebuilt.
func (r *Rotator) Peek(ctx context.Context, rot *leads.Rotation, now time.Time, n int) (leads.Preview, error) {
	day := rot.Day(now)
	st, ok, err := r.b.snapshot(ctx, rot, day)
	if err != nil {
		return leads.Preview{}, fmt.Errorf("rotation %d: %w", rot.ID, err)
	}
	if !ok {
		if st, err = r.resumeState(ctx, rot, now); err != nil {
			return leads.Preview{}, err
		}
	}
	if users := uncounted(rot.Members, &st); len(users) > 0 {
		counts, err := r.openLeads(ctx, rot, users, nil)
		if err != nil {
			return leads.Preview{}, err
		}
		if st.Load == nil {
			st.Load = make(map[string]int64, len(counts))
		}
		maps.Copy(st.Load, counts)
	}
	p := leads.Preview{Seq: st.Seq, DayCounts: maps.Clone(st.DayCounts), Load: maps.Clone(st.Load), Turns: make([]leads.Turn, 0, n)}
	for range n {
		d := Pick(rot.Members, &st)
		if d.Assignee == "" {
			break
		}
		p.Turns = append(p.Turns, turnOf(rot, d, st, day))
	}
	return p, nil
}

// replacer is a backend whose state can fall behind the store's record of
// turns while it exists (Redis, whose replication is asynchronous).
type replacer interface {
	// replace stores st in place of rot's state of epoch stale, unless
	// that state was replaced since; it reports whether it did.
	replace(ctx context.Context, rot *leads.Rotation, day, stale string, st State) (bool, error)
}

// Resync rebuilds rot's state from the store when the state that turn was
// taken from is behind the store: the store refused turn's number
// (leads.ErrTurnTaken), recorded already with another lead.
//
// How a state behind the store is found. Redis replicates asynchronously:
// a failover (Sentinel promoting a replica, a Cluster replica taking over
// its master's slots) can lose the writes of the last turns, whose leads
// are stored all the same. The promoted state then has an older seq and
// weights that miss those turns, and would hand their numbers out again,
// and in the wrong order. The store is where every turn ends: a turn's
// number is unique per rotation there (a unique index in PostgreSQL, a
// trigger in SQLite, migration 000020), so the first lead written with a
// number handed out twice is refused, whichever process took it, and
// nothing of it is written. That refusal is the signal, on the one path
// every turn goes through, with no extra round trip on the others: the
// Service calls Resync, then takes another turn for the same lead.
//
// Resync replaces the state only if it is still the one turn came from
// (same epoch): of several processes that hit the lag at once, the first
// rebuilds and the others take turns from its state. The new state is
// rebuilt from the store's history (the last checkpoint and the turns
// recorded since), numbers its turns after both the store's last turn and
// the old state's, and keeps the old state's open turns numbered after
// the store's last (see lua/reinstall.lua). It starts from the latest
// checkpoint before turn (CheckpointBounder): the state behind may have
// recorded checkpoints of its own, from weights that miss the lost turns,
// and its numbers start below turn's. The memory backend never falls
// behind (it dies with its process, and is rebuilt from the store on
// start): there Resync does nothing.
//
// Where it can still err, each bounded by the turns in flight at the
// failover:
//   - Only a refused number reveals the lag. A turn the state behind hands
//     out with a number the store does not have (a gap left by a lost
//     turn whose lead was never stored, or a number past the store's last)
//     is kept: its member was chosen from the old weights. The rebuilt
//     state counts it, so the shares come back within one, but the order
//     of those few turns is not the exact one.
//   - The rebuild reads the history in several statements: a lead of an
//     open turn moved to the new state that is stored between them can
//     count twice (its weight, its day count, its open lead).
//   - A checkpoint the state behind records below turn's number (only
//     past such a gap), or records after the rebuild read the history (a
//     late write), is wrong for a later rebuild, until the new state's
//     next checkpoint (16 turns at most) supersedes it.
//   - An acknowledgement of a turn of the lost state sent after the
//     failover closes the open turn of the same number of the state
//     behind; if that turn's lead is then refused, its give-back finds
//     nothing, and one turn's deltas stay in the state.
func (r *Rotator) Resync(ctx context.Context, rot *leads.Rotation, turn leads.Turn, now time.Time) error {
	rp, ok := r.b.(replacer)
	if !ok || turn.Undo.Epoch == "" {
		return nil
	}
	// A checkpoint recorded by a turn of the state that is behind has
	// that state's weights, which miss the lost turns: those turns were
	// numbered from the state's seq on, and turn is one of them, so the
	// rebuild starts from a checkpoint before turn.
	st, err := r.resumeState(ctx, rot, now, turn.Seq)
	if err != nil {
		return err
	}
	if _, err := rp.replace(ctx, rot, rot.Day(now), turn.Undo.Epoch, st); err != nil {
		return fmt.Errorf("rotation %d: %w", rot.ID, err)
	}
	return nil
}

func (r *Rotator) rebuild(ctx context.Context, rot *leads.Rotation, now time.Time) error {
	st, err := r.resumeState(ctx, rot, now)
	if err != nil {
		return err
	}
	if err := r.b.install(ctx, rot, rot.Day(now), st); err != nil {
		return fmt.Errorf("rotation %d: install state: %w", rot.ID, err)
	}
	return nil
}

// CheckpointBounder is a HistorySource that can rebuild a rotation's
// history from a checkpoint recorded before a given turn. leads.Store
// implementations satisfy it; Resync uses it to leave out the checkpoints
// that a state behind the store may have recorded.
type CheckpointBounder interface {
	// RotationHistoryBefore is RotationHistory from the latest checkpoint
	// of a turn before beforeTurn; the turns recorded after it all count.
	RotationHistoryBefore(ctx context.Context, rotationID int64, since time.Time, beforeTurn int64) (leads.RotationHistory, error)
}

// resumeState rebuilds rot's state from the history source; from a
// checkpoint before turn beforeTurn when it is not zero (and the source
// can, CheckpointBounder).
func (r *Rotator) resumeState(ctx context.Context, rot *leads.Rotation, now time.Time, beforeTurn ...int64) (State, error) {
	var hist leads.RotationHistory
	if r.history != nil {
		var err error
		if b, ok := r.history.(CheckpointBounder); ok && len(beforeTurn) > 0 && beforeTurn[0] > 0 {
			hist, err = b.RotationHistoryBefore(ctx, rot.ID, rot.DayStart(now), beforeTurn[0])
		} else {
			hist, err = r.history.RotationHistory(ctx, rot.ID, rot.DayStart(now))
		}
		if err != nil {
			return State{}, fmt.Errorf("rotation %d: read history: %w", rot.ID, err)
		}
	}
	st := Resume(rot.Members, hist, newEpoch())
	counts, err := r.openLeads(ctx, rot, uncounted(rot.Members, &st), nil)
	if err != nil {
		return State{}, err
	}
	st.Load = counts
	return st, nil
}

// turnOf converts a decision taken on st (already updated) into a turn.
func turnOf(rot *leads.Rotation, d Decision, st State, day string) leads.Turn {
	return leads.Turn{
		RotationID: rot.ID,
		Assignee:   d.Assignee,
		Seq:        st.Seq,
		Skipped:    d.Skipped,
		Undo:       leads.TurnUndo{Epoch: st.Epoch, Day: day, Deltas: d.Deltas},
	}
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
