// Package simulate replays an account's past leads through a configuration
// (the live one, or a proposed one: leads/spec's Propose) and compares what
// it would have done with what happened. The decisions are the engine's own
// (leads.Replayer runs CreateLead's decision code); this package feeds it
// the history, gives it a rotator of its own, and sums up the outcome. It
// writes nothing.
package simulate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
)

// BatchGCPercent is the garbage collector's target (GOGC) that a process
// whose only work is a replay may set for it, as leadrotor simulate does:
// a replay allocates a few KB a lead that die at once, beside a live heap
// of some tens of MB, so that Go's default (100) collects every few
// thousand leads. At 400 a replay of a million leads ran 18 % faster and
// peaked at about 100 MB resident (docs/BENCHMARKS.md). A server leaves
// its own setting alone.
const BatchGCPercent = 400

// MaxWindow bounds a simulation's window unless the caller sets its own.
const MaxWindow = 366 * 24 * time.Hour

// Options says what to replay.
type Options struct {
	// AccountID is the account whose leads are replayed.
	AccountID string
	// From and To bound the window: the leads created at or after From
	// and before To.
	From, To time.Time
	// MaxWindow bounds To - From; 0 is the package's MaxWindow.
	MaxWindow time.Duration
	// Sample is how many leads whose owner would change the result lists;
	// 0 is 20.
	Sample int
	// Live, when the configuration replayed is a proposed one, is the live
	// configuration: the proposal's rotations it does not have start with
	// no history.
	Live *leads.AccountConfig
	// Progress, when set, is called with the number of leads replayed so
	// far, every 10,000 leads and at the end.
	Progress func(done int)
}

// Check validates o: VALIDATION_ERROR naming the field at fault.
func (o *Options) Check() error {
	var errs []leads.FieldError
	if o.AccountID == "" {
		errs = append(errs, leads.FieldError{Field: "account", Message: "Is required"})
	}
	for _, t := range []struct {
		field string
		at    time.Time
	}{{"from", o.From}, {"to", o.To}} {
		if t.at.IsZero() {
			errs = append(errs, leads.FieldError{Field: t.field, Message: "Is required"})
		} else if e := leads.CheckSimulationTime(t.field, t.at); e != nil {
			errs = append(errs, *e)
		}
	}
	limit := o.MaxWindow
	if limit <= 0 {
		limit = MaxWindow
	}
	switch {
	case len(errs) > 0:
	case !o.To.After(o.From):
		errs = append(errs, leads.FieldError{Field: "to", Value: o.To, Message: "Must be after from"})
	case o.To.Sub(o.From) > limit:
		errs = append(errs, leads.FieldError{Field: "to", Value: o.To,
			Message: fmt.Sprintf("The window is %s, more than the %s allowed", o.To.Sub(o.From), limit)})
	}
	if len(errs) > 0 {
		return leads.ValidationError(errs...)
	}
	return nil
}

// Run replays the leads of opts' window through cfg, a configuration of
// opts.AccountID prepared by a Service (live) or a draft (proposed), and
// returns the comparison with what happened. history is read, never
// written.
func Run(ctx context.Context, history leads.HistoryStore, cfg *leads.AccountConfig, opts Options) (*Result, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	if cfg.Account.ID != "" && cfg.Account.ID != opts.AccountID {
		return nil, errors.New("simulate: the configuration is of another account")
	}
	rep, err := newReplay(ctx, history, cfg, opts.Live, opts.AccountID, opts.From, opts.To)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	turns := laterTurns{rep: rep, from: opts.From, to: opts.To, feed: feedLaterTurns(ctx, history, opts)}
	sum := newSummary(cfg, opts)
	order := newTurnOrder(func(h leads.HistoricLead) error {
		rep.movesBefore(h.Lead.CreatedAt)
		if err := turns.before(ctx, h.Lead); err != nil {
			return err
		}
		r, err := rep.decide(ctx, h)
		if err != nil {
			return err
		}
		if err := turns.decided(ctx, h); err != nil {
			return err
		}
		sum.add(h, r)
		if opts.Progress != nil && sum.res.Leads%10000 == 0 {
			opts.Progress(sum.res.Leads)
		}
		return nil
	})
	turns.undecided = order.undecided
	err = history.HistoricLeads(ctx, opts.AccountID, opts.From, opts.To, order.add)
	if err == nil {
		err = order.flush()
	}
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	if opts.Progress != nil {
		opts.Progress(sum.res.Leads)
	}
	return sum.result(), nil
}

// laterTurnsAhead is how many later turns are read ahead of the replay.
const laterTurnsAhead = 1024

// turnFeed is the window's later turns as they are read, oldest first,
// then the outcome of the reading.
type turnFeed struct {
	turns <-chan leads.RecordedTurn
	done  <-chan error
}

// feedLaterTurns reads the later turns of opts' window from history in a
// goroutine of its own, ahead of the replay, until ctx ends.
func feedLaterTurns(ctx context.Context, history leads.HistoryStore, opts Options) turnFeed {
	turns := make(chan leads.RecordedTurn, laterTurnsAhead)
	done := make(chan error, 1)
	go func() {
		defer close(turns)
		done <- history.LaterTurns(ctx, opts.AccountID, opts.From, opts.To, func(t leads.RecordedTurn) error {
			select {
			case turns <- t:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return turnFeed{turns: turns, done: done}
}

// laterTurns replays, among the window's leads, the turns taken in the
// window other than by their creation (leads.HistoryStore.LaterTurns):
// each before the first lead created after it.
type laterTurns struct {
	rep      *replay
	from, to time.Time
	feed     turnFeed
	// next is the next turn to replay, when has says there is one.
	next leads.RecordedTurn
	has  bool
	// held are turns of window leads not decided yet (a lead decided
	// after leads created after it, see turnOrder): each waits for its
	// lead.
	held []leads.RecordedTurn
	// undecided reports whether a lead of the window is not decided yet.
	undecided func(id int64) bool
	// deferred holds the window's leads whose assignment was deferred
	// when they were created: the replay decided them then, so their
	// first later turn is the one it took already.
	deferred map[int64]bool
}

// peek makes next the next turn of the feed, if any, and returns whether
// there is one; an error is the feed's.
func (t *laterTurns) peek() (bool, error) {
	if t.has || t.feed.turns == nil {
		return t.has, nil
	}
	t.next, t.has = <-t.feed.turns
	if !t.has {
		t.feed.turns = nil
		if err := <-t.feed.done; err != nil {
			return false, fmt.Errorf("read later turns: %w", err)
		}
	}
	return t.has, nil
}

// before replays the turns taken before lead l was created.
func (t *laterTurns) before(ctx context.Context, l *leads.Lead) error {
	for {
		ok, err := t.peek()
		if err != nil {
			return err
		}
		if !ok || !t.next.At.Before(l.CreatedAt) {
			return nil
		}
		turn := t.next
		t.has = false
		if !turn.LeadCreatedAt.Before(t.from) && turn.LeadCreatedAt.Before(t.to) && t.undecided(turn.LeadID) {
			t.held = append(t.held, turn)
			continue
		}
		if err := t.retake(ctx, turn); err != nil {
			return err
		}
	}
}

// decided notes h's lead decided, and replays the turns held for it.
func (t *laterTurns) decided(ctx context.Context, h leads.HistoricLead) error {
	if h.Actual.Event == leads.EventAssignmentDeferred {
		if t.deferred == nil {
			t.deferred = make(map[int64]bool)
		}
		t.deferred[h.Lead.ID] = true
	}
	held := t.held[:0]
	for _, turn := range t.held {
		if t.undecided(turn.LeadID) {
			held = append(held, turn)
			continue
		}
		if err := t.retake(ctx, turn); err != nil {
			return err
		}
	}
	t.held = held
	return nil
}

// retake replays turn, unless it is the deferred assignment of a window
// lead, which the replay decided at its creation.
func (t *laterTurns) retake(ctx context.Context, turn leads.RecordedTurn) error {
	if t.deferred[turn.LeadID] {
		delete(t.deferred, turn.LeadID)
		return nil
	}
	return t.rep.rep.Retake(ctx, turn)
}

// openStatuses are the statuses cfg's capacities count as open.
func openStatuses(cfg *leads.AccountConfig) map[leads.Status]bool {
	statuses := cfg.Account.OpenStatuses
	if len(statuses) == 0 {
		statuses = leads.DefaultOpenStatuses
	}
	out := make(map[leads.Status]bool, len(statuses))
	for _, s := range statuses {
		out[s] = true
	}
	return out
}

// historyAt is the replay rotator's history: the store's, as it stood at
// the window's start, plus the replay's own leads for members' open leads.
type historyAt struct {
	store     leads.HistoryStore
	accountID string
	at        time.Time
	// replayed counts the open leads the replay has given each member so
	// far: a rotation first used in the middle of the window counts them
	// beside those open at its start.
	replayed map[string]int64
}

var (
	_ rotation.HistorySource   = (*historyAt)(nil)
	_ rotation.OpenLeadCounter = (*historyAt)(nil)
)

// RotationHistory is the rotation's history at the window's start.
func (h *historyAt) RotationHistory(ctx context.Context, rotationID int64, since time.Time) (leads.RotationHistory, error) {
	if rotationID <= 0 {
		return leads.RotationHistory{}, nil
	}
	return h.store.RotationHistoryAt(ctx, rotationID, since, h.at)
}

// StoredTurns: every turn of the replay is confirmed as it is taken, so
// none is ever asked about.
func (h *historyAt) StoredTurns(context.Context, int64, []int64) ([]int64, error) { return nil, nil }

// OpenLeads counts users' open leads at the window's start, and those the
// replay has given them since.
func (h *historyAt) OpenLeads(ctx context.Context, accountID string, users []string, statuses []leads.Status, _ int64, _ []int64) (map[string]int64, []int64, error) {
	counts, err := h.store.OpenLeadsAt(ctx, accountID, users, statuses, h.at)
	if err != nil {
		return nil, nil, err
	}
	for _, u := range users {
		if n := h.replayed[u]; n > 0 {
			counts[u] += n
		}
	}
	return counts, nil, nil
}
