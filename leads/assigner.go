package leads

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AssignerLock is the name of the lock (see AssignerStore.TryLock) that the
// background assigner holds while it assigns, so that one process at a time
// does it.
const AssignerLock = "leadrotor assigner"

// assignBatch is how many pending leads one AssignPending call of the
// background assigner takes.
const assignBatch = 256

// AssignPending gives up to limit leads that wait for their rotation
// their turn, oldest first across accounts, and records lead_assigned (or
// lead_not_assigned) by the "system" user, with deferred: true for a lead
// whose rotation could not be asked when it was created (pending) and
// waited: true for one that nobody could take (waiting). Each lead takes the
// routing that applies to it now, under the configuration of now. It
// returns how many leads it settled. It stops at the first lead whose
// rotation is still unavailable, which waits, with the ones after it, for
// the next call. A rotation in which nobody can take a lead yet holds its
// waiting leads, in order, and the others go on; so does a rotation that
// fails otherwise (a broken state), whose error is returned. A lead
// settled meanwhile by someone else (assigned by hand, deleted) is skipped,
// and its turn given back. It reads the waiting leads page by page, so
// that a long queue held by one rotation never hides another's.
//
// Leads must be assigned by one caller at a time to keep creation order
// across processes; RunAssigner makes sure of that.
func (s *Service) AssignPending(ctx context.Context, limit int) (int, error) {
	versions := make(map[string]int64) // one configuration check per account and call
	// failed holds the rotations whose turns failed in this call for
	// another reason than an outage, held those in which nobody can take a
	// lead yet: their later leads wait (keeping their order), and every
	// other rotation's leads go on.
	failed := make(map[int64]error)
	held := make(map[int64]bool)
	n := 0
	for after := int64(0); n < limit; {
		pending, err := s.store.PendingLeads(ctx, after, limit)
		if err != nil {
			return n, fmt.Errorf("read pending leads: %w", err)
		}
		for i := range pending {
			if err := ctx.Err(); err != nil {
				return n, err // stopping: the rest wait for the next assigner
			}
			lead := &pending[i]
			after = lead.ID
			settled, err := s.settlePending(ctx, lead, versions, failed, held)
			if err != nil {
				return n, err
			}
			if settled {
				if n++; n == limit {
					break
				}
			}
		}
		if len(pending) < limit {
			break
		}
	}
	if len(failed) > 0 {
		return n, errors.Join(failedErrors(failed)...)
	}
	if n > 0 {
		// The rotation answers again: CreateLead need not defer any more.
		s.rotatorUp()
	}
	return n, nil
}

// settlePending routes one pending or waiting lead for AssignPending:
// settled reports that it no longer waits; an error stops the call (the
// rotator is unavailable, or something else failed beyond one rotation).
func (s *Service) settlePending(ctx context.Context, lead *Lead, versions map[string]int64, failed map[int64]error, held map[int64]bool) (settled bool, err error) {
	version, ok := versions[lead.AccountID]
	if !ok {
		check, err := s.store.LeadFacts(ctx, LeadFactsQuery{AccountID: lead.AccountID})
		if ErrorCode(err) == CodeNotFound {
			return false, nil // the account is gone, and its leads with it
		}
		if err != nil {
			return false, fmt.Errorf("assign pending lead %d: %w", lead.ID, err)
		}
		version = check.ConfigVersion
		versions[lead.AccountID] = version
	}
	cfg, err := s.config(ctx, lead.AccountID, version)
	if err != nil {
		return false, fmt.Errorf("assign pending lead %d: %w", lead.ID, err)
	}
	rt, err := cfg.route(lead, nil)
	if err != nil {
		return false, fmt.Errorf("assign pending lead %d: route: %w", lead.ID, err)
	}
	var rotID int64
	if rt.rot != nil {
		rotID = rt.rot.ID
	}
	if failed[rotID] != nil || held[rotID] {
		return false, nil
	}
	waiting, err := s.assignPending(ctx, cfg, lead, rt)
	switch {
	case err != nil && (IsUnavailable(err) || rotID == 0):
		return false, errors.Join(append(failedErrors(failed), err)...)
	case err != nil:
		failed[rotID] = err
		return false, nil
	case waiting:
		held[rotID] = true
		return false, nil
	}
	return true, nil
}

func failedErrors(failed map[int64]error) []error {
	errs := make([]error, 0, len(failed))
	for _, err := range failed {
		errs = append(errs, err)
	}
	return errs
}

// assignPending settles one pending or waiting lead where rt, its routing
// under the configuration of now, sends it. waiting reports that nobody in
// its rotation can take it yet: a waiting lead then stays as it is, and a
// pending one starts to wait.
func (s *Service) assignPending(ctx context.Context, cfg *AccountConfig, lead *Lead, rt routing) (waiting bool, err error) {
	actor := SystemActor(lead.AccountID)
	_, a, err := s.assignStored(ctx, cfg, lead.AccountID, lead.ID, storedAssignment{rt: rt, cause: MeterCausePending, record: func(cur *Lead, a Assignment, now time.Time) (AuditEntry, bool) {
		if cur.AssignmentStatus != AssignmentPending && cur.AssignmentStatus != AssignmentWaiting {
			return AuditEntry{}, false // settled meanwhile by someone else
		}
		if a.Reason == AssignWaiting && cur.AssignmentStatus == AssignmentWaiting {
			return AuditEntry{}, false // still nobody: it waits on
		}
		entry, ok := a.auditEntry(actor, now)
		if !ok {
			entry = newAuditEntry(actor, EventLeadNotAssigned, map[string]any{"reason": AssignNoRotation}, now)
		}
		if cur.AssignmentStatus == AssignmentWaiting {
			entry.Data["waited"] = true
		} else {
			entry.Data["deferred"] = true
		}
		return entry, true
	}})
	if ErrorCode(err) == CodeNotFound {
		return false, nil // deleted meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("assign pending lead %d: %w", lead.ID, err)
	}
	return a.Reason == AssignWaiting, nil
}

// RunAssigner assigns pending leads (see AssignPending) until ctx is done:
// every interval, and only while it holds the store's AssignerLock, so that
// of several processes sharing the store one at a time does it, in creation
// order. It also settles open turns (SettleTurns) every second and deletes
// expired console sessions and invites (PurgeSessions) every purgeEvery. Failures are logged, once per outage, and retried at the next tick.
func (s *Service) RunAssigner(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	s.RunAssignerOn(ctx, t.C)
}

// RunAssignerOn is RunAssigner paced by ticks instead of an interval: one
// pass at once, then one for each tick received, until ctx ends. A tick is
// received only once the pass before it is over.
func (s *Service) RunAssignerOn(ctx context.Context, ticks <-chan time.Time) {
	failing := false
	for {
		n, err := s.assignPass(ctx)
		s.retryLoad(ctx)
		s.settlePass(ctx)
		s.purgePass(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			s.log.WarnContext(ctx, "assigner: pending leads wait", "err", err)
		case err == nil && failing:
			failing = false
			s.log.InfoContext(ctx, "assigner: assigning again")
		}
		if n > 0 {
			s.log.InfoContext(ctx, "assigner: assigned deferred leads", "leads", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
	}
}

// purgeEvery is how often RunAssigner deletes expired sessions and invites.
const purgeEvery = 10 * time.Minute

// purgePass runs PurgeSessions when purgeEvery has passed since the last.
// Expired sessions are refused whether or not they are deleted; this only
// keeps their table small.
func (s *Service) purgePass(ctx context.Context) {
	now := time.Now()
	if now.Before(s.nextPurge) {
		return
	}
	s.nextPurge = now.Add(purgeEvery)
	n, err := s.PurgeSessions(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.WarnContext(ctx, "purge expired console sessions", "err", err)
	case n > 0:
		s.log.InfoContext(ctx, "purged expired console sessions and invites", "rows", n)
	}
}

// settleTurnsEvery is how often RunAssigner settles open turns (SettleTurns).
const settleTurnsEvery = time.Second

// SettleTurns gives back the rotation turns, of every account, that were
// taken and never reached a lead: their process died between the turn and
// the write, or could not find out how the write ended (see TurnSettler).
// It returns how many it gave back; with a rotator that cannot outlive its
// process (in-process memory), none.
func (s *Service) SettleTurns(ctx context.Context) (int, error) {
	settler, ok := s.rotator.(TurnSettler)
	if !ok {
		return 0, nil
	}
	ids, err := s.store.RotationIDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("settle turns: %w", err)
	}
	n, err := settler.SettleTurns(ctx, ids)
	if err != nil {
		return n, fmt.Errorf("settle turns: %w", err)
	}
	return n, nil
}

// settlePass runs SettleTurns at most every settleTurnsEvery, while this
// process holds the assigner lock, and logs what it gave back.
func (s *Service) settlePass(ctx context.Context) {
	now := time.Now()
	if now.Before(s.nextSettle) {
		return
	}
	s.nextSettle = now.Add(settleTurnsEvery)
	unlock, ok, err := s.store.TryLock(ctx, AssignerLock)
	if err != nil || !ok {
		return
	}
	defer unlock()
	n, err := s.SettleTurns(ctx)
	if n > 0 {
		s.log.WarnContext(ctx, "rotation turns that reached no lead given back", "turns", n)
	}
	switch {
	case err != nil && ctx.Err() == nil && !s.settleFailing:
		// Once per outage, not every second of it.
		s.settleFailing = true
		s.log.WarnContext(ctx, "settle rotation turns: open turns wait", "err", err)
	case err == nil && s.settleFailing:
		s.settleFailing = false
		s.log.InfoContext(ctx, "settle rotation turns: settling again")
	}
}

// assignPass assigns pending leads, batch after batch, while it holds the
// assigner lock and there are some.
func (s *Service) assignPass(ctx context.Context) (int, error) {
	unlock, ok, err := s.store.TryLock(ctx, AssignerLock)
	if err != nil || !ok {
		return 0, err
	}
	defer unlock()
	total := 0
	for {
		n, err := s.AssignPending(ctx, assignBatch)
		total += n
		if err != nil || n < assignBatch {
			return total, err
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}
