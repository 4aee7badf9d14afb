package leads

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AssignOptions modify Assign.
type AssignOptions struct {
	// RotationID names the rotation to take a turn of; 0 for the one that
	// applies to the lead now (its team's, else the default).
	RotationID int64
	// IfMatch, when set, is the updatedAt of the lead as the caller last saw
	// it: a lead changed since is not moved (PRECONDITION_FAILED), and no
	// turn is kept.
	IfMatch *time.Time
}

// AssignLead reassigns a lead to the next eligible member of a rotation, taking
// a turn, and records lead_reassigned with the rotation and the reason.
// ROTATION_NOT_FOUND for a named rotation not in the account; NO_ROTATION
// when none applies; NO_ELIGIBLE_MEMBER when nobody can take it and there is
// no fallback (nothing changes then); NOT_FOUND for a lead not in the account.
// It returns the same shape as CreateLead: the lead as stored, and who got it
// and why.
func (s *Service) AssignLead(ctx context.Context, actor Actor, id int64, opts AssignOptions) (*Result, error) {
	lead, a, err := s.reassign(ctx, actor, id, opts)
	if err != nil {
		return nil, err
	}
	return &Result{Lead: lead, Assignment: a}, nil
}

// reassign is Assign.
func (s *Service) reassign(ctx context.Context, actor Actor, id int64, opts AssignOptions) (*Lead, Assignment, error) {
	if err := actor.Require(PermWriteLeads); err != nil {
		return nil, Assignment{}, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, Assignment{}, err
	}
	cur, err := s.store.Lead(ctx, actor.AccountID, id, false)
	if err != nil {
		return nil, Assignment{}, fmt.Errorf("assign lead %d: %w", id, err)
	}
	if err := checkIfMatch(opts.IfMatch, cur); err != nil {
		return nil, Assignment{}, err // before a turn is taken
	}
	var rt routing
	if opts.RotationID != 0 {
		if rt.rot = cfg.Rotation(opts.RotationID); rt.rot == nil {
			return nil, Assignment{}, &Error{Code: CodeRotationNotFound, Message: "rotation not found",
				Details: map[string]any{"rotationId": opts.RotationID}}
		}
	} else {
		l := *cur
		l.AssignedTo = ""
		if rt, err = cfg.route(&l, nil); err != nil {
			return nil, Assignment{}, fmt.Errorf("assign lead %d: route: %w", id, err)
		}
	}
	if err := rt.reassignable(s.rotator != nil); err != nil {
		return nil, Assignment{}, err
	}
	lead, a, err := s.assignStored(ctx, cfg, actor.AccountID, id, storedAssignment{rt: rt, cause: MeterCauseManual, check: func(cur *Lead) error {
		return checkIfMatch(opts.IfMatch, cur) // and again in the write: a change may have come between
	}, accept: func(a Assignment) error {
		if a.Assignee == "" {
			return &Error{Code: CodeNoEligibleMember, Message: fmt.Sprintf("nobody in rotation %q can take a lead now", rt.rot.Name),
				Details: map[string]any{"rotationId": rt.rot.ID, "skipped": a.Skipped}}
		}
		return nil
	}, record: func(cur *Lead, a Assignment, now time.Time) (AuditEntry, bool) {
		return reassignedEntry(actor, cur, a, now), true
	}})
	if err != nil {
		return nil, a, fmt.Errorf("assign lead %d: %w", id, err)
	}
	return lead, a, nil
}

// reassignedEntry is the lead_reassigned entry of cur given by a at now.
func reassignedEntry(actor Actor, cur *Lead, a Assignment, now time.Time) AuditEntry {
	entry, _ := a.auditEntry(actor, now)
	entry.Event = EventLeadReassigned
	entry.Data["from"], entry.Data["to"] = cur.AssignedTo, a.Assignee
	delete(entry.Data, "assignee")
	return entry
}

// storedAssignment is what assignStored does: where the lead goes (rt),
// and what the caller decides on the way.
type storedAssignment struct {
	rt routing
	// narrow, when set, changes the rotation as the turn sees it (an SLA
	// passes over the members who had the lead).
	narrow func(view *Rotation) *Rotation
	// check, when set, may refuse the lead as the write finds it: nothing
	// is written, and the turn taken is given back.
	check func(cur *Lead) error
	// accept, when set, may refuse the assignment before anything is
	// written (the turn taken, if any, has no assignee then).
	accept func(a Assignment) error
	// record makes the audit entry of the change from the lead as it is
	// now (it may run more than once, see Store.UpdateLead), or returns
	// false to write nothing.
	record func(cur *Lead, a Assignment, now time.Time) (AuditEntry, bool)
	// amend, when set, completes the write record allowed.
	amend func(cur *Lead, w *LeadWrite, a Assignment, now time.Time)
	// cause is what moves the lead, for the Meter (MeterCause…).
	cause string
}

// assignStored gives the stored lead id the owner do.rt decides, taking a
// turn of its rotation when one decides (none when there is no rotator),
// and writes the lead with it, in one transaction, with the team a rule
// gave it and the clock of its rotation's SLA. When do.record writes
// nothing the turn is given back. Otherwise the turn is confirmed, given
// back or left open for settling by how the write ended (see afterWrite).
// It is how AssignLead, the background assigner and an SLA's expiry take a
// turn and record it.
func (s *Service) assignStored(ctx context.Context, cfg *AccountConfig, accountID string, id int64, do storedAssignment) (*Lead, Assignment, error) {
	for attempt := 1; ; attempt++ {
		lead, a, err := s.assignStoredOnce(ctx, cfg, accountID, id, do, attempt == maxTurnAttempts)
		if !errors.Is(err, ErrTurnTaken) || attempt == maxTurnAttempts {
			return lead, a, err
		}
	}
}

// maxTurnAttempts bounds the turns one write takes when the store refuses
// their numbers (ErrTurnTaken): each refusal rebuilds the rotator's state,
// and a state rebuilt while turns of the lost one were still being written
// can meet one more.
const maxTurnAttempts = 4

// turnTaken handles the store's refusal of turn's number (ErrTurnTaken):
// the rotator rebuilds the state turn was taken from (StateResyncer), and
// the turn is given back, which changes nothing on a rebuilt state but
// closes the turn.
func (s *Service) turnTaken(ctx context.Context, rot *Rotation, turn Turn, now time.Time) {
	if r, ok := s.rotator.(StateResyncer); ok && rot != nil {
		s.log.WarnContext(ctx, "rotation state behind the store: rebuilding it", "rotation", rot.ID, "turn", turn.Seq)
		if err := r.Resync(context.WithoutCancel(ctx), rot, turn, now); err != nil {
			s.log.ErrorContext(ctx, "rebuild rotation state behind the store", "rotation", rot.ID, "err", err)
		}
	}
	s.refund(ctx, rot, turn)
}

// assignStoredOnce is one attempt of assignStored; last says that no
// other follows a refused turn.
func (s *Service) assignStoredOnce(ctx context.Context, cfg *AccountConfig, accountID string, id int64, do storedAssignment, last bool) (*Lead, Assignment, error) {
	now := s.clock()
	rt := do.rt
	rot := rt.rot
	a := rt.decided()
	var turn Turn
	if rot != nil && s.rotator != nil {
		view := cfg.availableView(rot, now) // rot as the turn sees it
		if do.narrow != nil {
			view = do.narrow(view)
		}
		var err error
		if a, turn, err = s.takeTurnOf(ctx, rot, view, now, false); err != nil {
			return nil, Assignment{}, err
		}
		a = rt.withTurn(view, a)
	}
	if do.accept != nil {
		if err := do.accept(a); err != nil {
			s.refund(ctx, rot, turn)
			return nil, a, err
		}
	}
	written := false
	var before Lead
	wctx, cancel := s.turnWriteContext(ctx)
	defer cancel()
	lead, err := s.store.UpdateLead(wctx, accountID, id, func(cur *Lead) (*LeadWrite, error) {
		// Decided afresh on every call: the store runs apply again when it
		// retries a transaction the database aborted.
		before = *cur
		if do.check != nil {
			if err := do.check(cur); err != nil {
				return nil, err
			}
		}
		entry, ok := do.record(cur, a, now)
		if written = ok; !ok {
			return nil, nil
		}
		w := &LeadWrite{Lead: cur.next(now), Audit: []AuditEntry{entry}}
		cfg.applyTeam(w.Lead, rt.teamID)
		a.applyTo(w.Lead)
		w.Lead.AssignmentStatus, w.Lead.WaitingReason = settledStatus(a.Assignee), ""
		if a.Reason == AssignWaiting {
			w.Lead.AssignmentStatus, w.Lead.WaitingReason = AssignmentWaiting, waitingReason(a)
		}
		if w.Lead.RotationTurn != 0 {
			w.Turn = &TurnRecord{RotationID: rot.ID, Turn: w.Lead.RotationTurn, Assignee: a.Assignee, At: now,
				Skips: a.Skipped, State: turn.Checkpoint}
		}
		w.SLATimer = cfg.slaTimer(w.Lead, w.Lead.UpdatedAt, nil, 0)
		w.Events = s.leadEvents(cfg, cur, w.Lead, "", now)
		if do.amend != nil {
			do.amend(cur, w, a, now)
		}
		return w, nil
	})
	switch {
	case err == nil && !written:
		s.refund(ctx, rot, turn) // nothing written
	case errors.Is(err, ErrTurnTaken) && !last:
		s.turnTaken(ctx, rot, turn, now) // and another attempt
	default:
		// A transaction that failed for want of the database may have
		// committed: its turn stays open for the rotator to settle.
		s.afterWrite(ctx, rot, turn, err, IsUnavailable(err))
	}
	if err == nil && written {
		s.reportLoad(ctx, cfg, &before, lead, turnRotation(rot, turn))
		s.meterAssigned(&before, lead, do.cause)
	}
	return lead, a, err
}

// turnRotation returns rot when turn gave its lead an assignee, nil when
// no turn did.
func turnRotation(rot *Rotation, turn Turn) *Rotation {
	if turn.Assignee == "" {
		return nil
	}
	return rot
}

// Assignment reasons.
const (
	AssignExplicit   = "explicit"           // the input named assignedTo
	AssignRotation   = "rotation"           // the rotation's next eligible member
	AssignFallback   = "fallback"           // nobody was eligible: the fallback assignee
	AssignNoEligible = "no_eligible_member" // nobody eligible and no fallback: unassigned
	AssignNoRotation = "no_rotation"        // no rotation applies: unassigned
	// AssignDeferred: the rotation could not be asked (Redis down); the lead
	// is stored with assignmentStatus "pending" and assigned later.
	AssignDeferred = "deferred"
	// AssignWaiting: nobody eligible and the rotation holds the lead: it
	// waits (assignmentStatus "waiting") for the first turn someone can take.
	AssignWaiting = "waiting"
)

// Assignment says who got a lead and why.
type Assignment struct {
	Assignee     string `json:"assignee,omitempty"`
	RotationID   int64  `json:"rotationId,omitempty"`
	RotationName string `json:"rotationName,omitempty"`
	Reason       string `json:"reason"`
	Turn         int64  `json:"turn,omitempty"`
	Skipped      []Skip `json:"skipped,omitempty"`
	// Decision says why, for an automatic assignment: see RoutingDecision.
	// A create's keeps the rules tried compactly (Tried), as its audit
	// entry does; a dry run's describes them (Rules).
	Decision *RoutingDecision `json:"decision,omitempty"`
}

// assign decides who gets lead, in the decision order (see route), taking
// a rotation turn when one decides, and gives it to them. The returned
// rotation and turn are what to refund if the lead is not written.
func (s *Service) assign(ctx context.Context, cfg *AccountConfig, lead *Lead, now time.Time, dryRun bool) (Assignment, *Rotation, Turn, error) {
	ret, err := s.returningCheck(ctx, cfg, lead, now)
	if err != nil {
		return Assignment{}, nil, Turn{}, err
	}
	rt, err := cfg.route(lead, ret)
	if err != nil {
		return Assignment{}, nil, Turn{}, fmt.Errorf("route lead: %w", err)
	}
	cfg.applyTeam(lead, rt.teamID)
	rot := rt.rot
	if rot == nil || s.rotator == nil {
		a := rt.decided()
		a.applyTo(lead)
		return a, nil, Turn{}, nil
	}
	if !dryRun && s.rotatorDown(now) {
		return s.deferAssignment(rt, lead), nil, Turn{}, nil
	}
	a, turn, view, err := s.takeTurn(ctx, cfg, rot, now, dryRun)
	if err != nil && IsUnavailable(err) {
		s.rotatorUnavailable(ctx, now, rot, err)
		if !dryRun {
			return s.deferAssignment(rt, lead), nil, Turn{}, nil
		}
	}
	if err != nil {
		return Assignment{}, nil, Turn{}, err
	}
	a = rt.withTurn(view, a)
	a.applyTo(lead)
	if a.Reason == AssignWaiting {
		lead.AssignmentStatus, lead.WaitingReason = AssignmentWaiting, waitingReason(a)
	}
	return a, rot, turn, nil
}

// deferAssignment marks lead as waiting for rot: stored now, assigned by
// AssignPending when the rotation answers again.
func (s *Service) deferAssignment(rt routing, lead *Lead) Assignment {
	lead.AssignmentStatus = AssignmentPending
	return Assignment{RotationID: rt.rot.ID, RotationName: rt.rot.Name, Reason: AssignDeferred, Decision: rt.decision}
}

// takeTurn takes a turn of rot (or, for a dry run, looks at the next one)
// and returns who gets the lead: the turn's member, or the fallback assignee
// when nobody is eligible; and rot as the turn saw it (see availableView),
// for what explains the turn, so that availability is read once a turn.
func (s *Service) takeTurn(ctx context.Context, cfg *AccountConfig, rot *Rotation, now time.Time, dryRun bool) (Assignment, Turn, *Rotation, error) {
	view := cfg.availableView(rot, now)
	a, turn, err := s.takeTurnOf(ctx, rot, view, now, dryRun)
	return a, turn, view, err
}

// takeTurnOf is takeTurn with rot seen as view.
func (s *Service) takeTurnOf(ctx context.Context, rot, view *Rotation, now time.Time, dryRun bool) (Assignment, Turn, error) {
	var turn Turn
	var err error
	if dryRun {
		var p Preview
		if p, err = s.rotator.Peek(ctx, view, now, 1); err == nil && len(p.Turns) > 0 {
			turn = p.Turns[0]
		}
	} else {
		turn, err = s.rotator.Next(ctx, view, now)
	}
	if err != nil {
		return Assignment{}, Turn{}, fmt.Errorf("take turn of rotation %d: %w", rot.ID, err)
	}
	a := Assignment{RotationID: rot.ID, RotationName: rot.Name, Turn: turn.Seq, Skipped: turn.Skipped}
	if turn.Assignee == "" {
		// Nobody could take it: say why of each member, from the state
		// the turn found (daily caps, open leads).
		// Without the state, the lead goes on unexplained.
		if p, err := s.rotator.Peek(ctx, view, now, 0); err == nil {
			for _, ms := range memberStatuses(view, p) {
				a.Skipped = append(a.Skipped, Skip{User: ms.User, Reason: ms.Reason})
			}
		} else {
			s.log.WarnContext(ctx, "explain a turn with nobody eligible", "rotation", rot.ID, "err", err)
		}
	}
	switch {
	case turn.Assignee != "":
		a.Assignee, a.Reason = turn.Assignee, AssignRotation
	case view.nobodyEligible() == NobodyFallback:
		a.Assignee, a.Reason = view.FallbackAssignee, AssignFallback
	case view.nobodyEligible() == NobodyHold:
		a.Reason = AssignWaiting
	default:
		a.Reason = AssignNoEligible
	}
	return a, turn, nil
}

// applyTo gives l to a's assignee: the rotation is recorded when it chose
// somebody, and the turn when the turn's own member got the lead (not the
// fallback assignee).
func (a Assignment) applyTo(l *Lead) {
	l.AssignedTo, l.RotationID, l.RotationTurn = a.Assignee, 0, 0
	if a.Assignee != "" {
		l.RotationID = a.RotationID
	}
	if a.Reason == AssignRotation {
		l.RotationTurn = a.Turn
	}
}

// turnWriteContext is the context of a write that records a lead with the
// rotation turn taken for it (CreateLead, AssignLead, the background assigner). It
// is the one place where the Service does not pass its caller's context on
// as it is (see Store): it keeps ctx's values (trace, request id) and its
// deadline, or the Service's write timeout without one (WithWriteTimeout),
// but not its cancellation. A
// caller that goes away once the turn is taken (a client hanging up) does
// not undo the decision: the write is finished, and the member keeps the
// lead the turn gave them. Cancelled halfway, the write could have
// committed without anyone knowing, and the turn given back by a rotator
// that cannot settle it later would hand that member an extra lead. A
// deadline still ends the write (the caller asked to be answered by then):
// the Store stores nothing, or says that it cannot tell, and afterWrite
// gives the turn back or leaves it open accordingly.
func (s *Service) turnWriteContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(context.WithoutCancel(ctx), deadline)
	}
	return context.WithTimeout(context.WithoutCancel(ctx), s.writeTimeout)
}

// afterWrite ends the life of turn (of rot) by how the write of its lead
// ended (err): kept when the lead is stored; given back when the write
// stored nothing; left open when it may have committed (mayHaveCommitted),
// for the rotator's settling (TurnSettler) to find out from the store. A
// rotator that cannot settle later gets the turn back then too, as before.
func (s *Service) afterWrite(ctx context.Context, rot *Rotation, turn Turn, err error, mayHaveCommitted bool) {
	if rot == nil || s.rotator == nil || turn.Assignee == "" {
		return
	}
	if err == nil {
		if c, ok := s.rotator.(TurnConfirmer); ok {
			c.ConfirmTurn(rot, turn)
		}
		s.meter.Count(MeasureRotationTurn, "", 1)
		for _, sk := range turn.Skipped {
			s.meter.Count(MeasureRotationSkip, sk.Reason, 1)
		}
		return
	}
	if _, ok := s.rotator.(TurnSettler); ok && mayHaveCommitted {
		return
	}
	s.refund(ctx, rot, turn)
}

// refund gives a turn back; a failure is logged, as the caller already has an
// error to return and the rotation stays usable (one member is one turn ahead).
func (s *Service) refund(ctx context.Context, rot *Rotation, turn Turn) {
	if rot == nil || s.rotator == nil || turn.Assignee == "" {
		return
	}
	if err := s.rotator.Refund(context.WithoutCancel(ctx), rot, turn); err != nil {
		s.log.ErrorContext(ctx, "refund rotation turn", "rotation", rot.ID, "turn", turn.Seq, "err", err)
	}
}

// auditEntry returns the entry that records the assignment, if any: none
// when no rotation applies and no rule was tried.
func (a Assignment) auditEntry(actor Actor, now time.Time) (AuditEntry, bool) {
	if a.Reason == AssignNoRotation && (a.Decision == nil || len(a.Decision.Rules) == 0) {
		return AuditEntry{}, false
	}
	data := map[string]any{"assignee": a.Assignee, "reason": a.Reason}
	if a.Decision != nil {
		data["decision"] = a.Decision
	}
	if a.RotationID != 0 {
		data["rotationId"] = a.RotationID
		data["rotationName"] = a.RotationName
	}
	if a.Reason == AssignDeferred {
		delete(data, "assignee")
		return newAuditEntry(actor, EventAssignmentDeferred, data, now), true
	}
	if a.Turn != 0 {
		data["turn"] = a.Turn
	}
	if len(a.Skipped) > 0 {
		skipped := make([]any, len(a.Skipped))
		for i, sk := range a.Skipped {
			skipped[i] = map[string]any{"user": sk.User, "reason": sk.Reason, "slots": sk.Slots}
		}
		data["skipped"] = skipped
	}
	event := EventLeadAssigned
	if a.Assignee == "" {
		event = EventLeadNotAssigned
		delete(data, "assignee")
	}
	return newAuditEntry(actor, event, data, now), true
}

// waitingReason says why a lead waits for a rotation that no member could
// take it from: each member's reason, from the assignment's skips.
func waitingReason(a Assignment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "nobody in rotation %q can take a lead now", a.RotationName)
	for i, sk := range a.Skipped {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s (%s)", sep, sk.User, sk.Reason)
	}
	return b.String()
}
