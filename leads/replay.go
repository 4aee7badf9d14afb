package leads

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Replayer decides, lead after lead in the order they were created, who
// would have got each of an account's past leads under a configuration. It
// runs CreateLead's own decision (Service.assign: the returning contact,
// the routing rules, the team's or default rotation, a turn that sees
// members' availability at the lead's creation time, their daily caps and
// open leads, the fallback), on a rotator of its own whose rotation
// states start from the history of the window's start. It writes nothing,
// takes no live turn and sends no event.
//
// What it cannot know it takes from the history, and says so (see
// ReplayDifferences): a lead's fields as they are now, not as they were
// sent; the owner its input named (an explicit assignedTo), kept; members'
// open leads, which count only the leads of the replay and those open now.
type Replayer struct {
	svc *Service
	cfg *AccountConfig
	// byKey holds, per returning-contact key (by, value), the leads seen
	// with it, oldest first: earlier leads (Remember) and those replayed,
	// with the replay's owners. A returning contact finds the newest with
	// an owner, as the store's ReturningLead does.
	byKey map[returningKeyOf][]*seenLead
	// byID holds the leads of byKey by id, so that a move (Move) or a turn
	// (Retake) replayed later gives the lead a returning contact would
	// find its new owner; empty when the account matches no returning
	// contacts.
	byID map[int64]*seenLead
}

// seenLead is what a replay keeps of a lead that a returning contact may
// find.
type seenLead struct {
	id      int64
	created time.Time
	owner   string
}

// returningKeyOf is a lead's value of one returning-contact key.
type returningKeyOf struct{ by, value string }

// NewReplayer returns a Replayer of cfg's account under cfg (prepared by a
// Service: Service.Configuration, or a draft's). rotator must be the
// replay's own, in process, with no state yet: it rebuilds each rotation's
// state from a history that stands at the window's start (see
// HistoryStore.RotationHistoryAt).
func NewReplayer(cfg *AccountConfig, rotator Rotator) *Replayer {
	r := &Replayer{cfg: cfg, byKey: make(map[returningKeyOf][]*seenLead), byID: make(map[int64]*seenLead)}
	r.svc = NewService(nil, rotator)
	r.svc.findReturning = r.findReturning
	return r
}

// Remember records an earlier lead, created before the window, with the
// owner l.AssignedTo says, which must be its owner at the window's start
// (see HistoryStore.LeadMoves): a returning contact of the window may
// match it. A lead without an owner is remembered too, for a move or turn
// that gives it one later.
func (r *Replayer) Remember(l *Lead) {
	if len(r.cfg.Account.Returning.MatchBy) == 0 {
		return
	}
	seen := &seenLead{id: l.ID, created: l.CreatedAt, owner: l.AssignedTo}
	kept := false
	for _, by := range r.cfg.Account.Returning.MatchBy {
		v := returningKey(l, by)
		if v == "" {
			continue
		}
		k := returningKeyOf{by, v}
		list := r.byKey[k]
		// Leads come oldest first, mostly; one decided after a later one
		// (see Decide's callers) goes in its place.
		i := len(list)
		for i > 0 && (list[i-1].created.After(seen.created) || list[i-1].created.Equal(seen.created) && list[i-1].id > seen.id) {
			i--
		}
		r.byKey[k] = slices.Insert(list, i, seen)
		kept = true
	}
	if kept {
		r.byID[l.ID] = seen
	}
}

// Move replays m, a move of a lead remembered, at its time: a returning
// contact after it finds the lead's new owner.
func (r *Replayer) Move(m RecordedMove) {
	if l := r.byID[m.LeadID]; l != nil {
		l.owner = m.To
	}
}

// findReturning is the store's ReturningLead over the leads seen: the
// newest with an owner, created at or after since.
func (r *Replayer) findReturning(_ context.Context, accountID, by, value string, since time.Time) (*Lead, error) {
	list := r.byKey[returningKeyOf{by, value}]
	for i := len(list) - 1; i >= 0; i-- {
		l := list[i]
		if l.created.Before(since) {
			return nil, nil
		}
		if l.owner != "" {
			found := &Lead{ID: l.id, AccountID: accountID, CreatedAt: l.created}
			found.AssignedTo = l.owner
			return found, nil
		}
	}
	return nil, nil
}

// Replayed is what a replay decided for one lead.
type Replayed struct {
	// Lead is the lead as the replay would have created it: its owner,
	// rotation, team and assignment status.
	Lead *Lead
	// Assignment is how (Decision, unless its input named the owner).
	Assignment Assignment
}

// Decide replays the creation of h's lead, at the time it was created, and
// returns what the configuration would have done with it. Decisions must
// come in the order the leads were created.
func (r *Replayer) Decide(ctx context.Context, h HistoricLead) (Replayed, error) {
	in := h.Lead.LeadInput
	if h.Actual.Reason != AssignExplicit {
		in.AssignedTo = ""
	} else if h.Actual.Assignee != "" {
		// The owner it named, not the one it has now (it may have been
		// reassigned since).
		in.AssignedTo = h.Actual.Assignee
	}
	if in.AssignedTo != "" && r.cfg.Members[in.AssignedTo] == "" {
		// Its owner is not a member under this configuration: the lead
		// could not have named them, and is routed instead.
		in.AssignedTo = ""
	}
	if err := applyTeamRules(r.cfg, &in, true); err != nil {
		// A team or lead source the configuration does not have: routed
		// as a lead without them.
		in.TeamID, in.LeadSourceID = 0, 0
	}
	now := h.Lead.CreatedAt
	lead := newLead(h.Lead.AccountID, in, now)
	lead.ID = h.Lead.ID
	a, rot, turn, err := r.svc.assign(ctx, r.cfg, &lead, now, false)
	if err != nil {
		return Replayed{}, fmt.Errorf("replay lead %d: %w", h.Lead.ID, err)
	}
	if lead.AssignmentStatus != AssignmentPending && lead.AssignmentStatus != AssignmentWaiting {
		lead.AssignmentStatus = settledStatus(lead.AssignedTo)
	}
	if lead.AssignedTo != "" {
		at := now
		lead.AssignedAt = &at
	}
	r.svc.afterWrite(ctx, rot, turn, nil, false)
	r.svc.reportLoad(ctx, r.cfg, nil, &lead, turnRotation(rot, turn))
	r.Remember(&lead)
	return Replayed{Lead: &lead, Assignment: a}, nil
}

// skipRetaken is why a turn replayed by Retake passes a member: the turn
// went to another.
const skipRetaken = "retaken"

// Retake replays t, a turn taken in the window other than by a lead's
// creation (HistoryStore.LaterTurns: a reassignment, a waiting lead
// assigned), at its time, in its place among the leads' decisions. When
// the configuration has the turn's rotation and the turn's assignee is
// still a member of it, the rotation takes a turn that goes to that
// member, passing the slots of those before it as the recorded turn did:
// the order after it is the one that followed it. (Under the live
// configuration the rotation's state is the recorded one, and this is the
// recorded turn; under a proposed one the reassignment is kept as it
// happened rather than decided again: what led to it, an SLA nobody met
// or a manager's hand, is not in the history.) Otherwise it does nothing.
func (r *Replayer) Retake(ctx context.Context, t RecordedTurn) error {
	rot := r.cfg.Rotation(t.RotationID)
	if rot == nil || r.svc.rotator == nil {
		return nil
	}
	view := *rot
	view.Members = slices.Clone(rot.Members)
	found := false
	for i := range view.Members {
		m := &view.Members[i]
		if m.User == t.Assignee {
			// The turn was taken: whatever the replay's counts say of the
			// member's day and open leads, it goes to them. Without a
			// capacity in this view, the turn drops the count of their
			// open leads, which the next turn counts again from the store
			// as at the window's start and the replay's own leads (see
			// Replayer): the lead moved was counted as its owner's already.
			m.Paused, m.Away, m.DailyCap, m.MaxOpenLeads, found = false, "", 0, 0, true
		} else if m.Away == "" {
			m.Away = skipRetaken
		}
	}
	if !found {
		return nil
	}
	turn, err := r.svc.rotator.Next(ctx, &view, t.At)
	if err != nil {
		return fmt.Errorf("replay turn %d of rotation %d: %w", t.Turn, t.RotationID, err)
	}
	r.svc.afterWrite(ctx, &view, turn, nil, false)
	if l := r.byID[t.LeadID]; l != nil && turn.Assignee != "" {
		l.owner = turn.Assignee
	}
	return nil
}
