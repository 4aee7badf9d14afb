package leads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// upsertPatch is the patch an upsert by matchBy applies to the lead it
// finds: every field in gives (not empty, not false), as given, and its
// metadata, merged key by key. createdBy stays the creator's, and the key
// stays as the lead has it (an email's case).
func upsertPatch(in LeadInput, matchBy string) LeadPatch {
	raw, err := json.Marshal(in)
	if err != nil {
		return LeadPatch{}
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		return LeadPatch{}
	}
	patch := LeadPatch{}
	for k, v := range all {
		switch v {
		case "", false, nil:
			continue
		}
		if k != "createdBy" && k != matchBy {
			patch[k] = v
		}
	}
	return patch
}

// upsertTarget is the live lead an upsert by matchBy updates, from what
// LeadFacts found; 0 when it creates one.
func upsertTarget(matchBy string, facts LeadFacts) int64 {
	switch matchBy {
	case MatchEmail:
		return facts.DuplicateLeadID
	case MatchExternalID:
		return facts.DuplicateExternalLeadID
	}
	return 0
}

// upsertExisting is the upsert of a lead found by its key (id): the
// input's fields are written to it, audited lead_returned, as UpdateLead
// does (its checks, its audit), and then routeReturned decides its owner.
func (s *Service) upsertExisting(ctx context.Context, actor Actor, cfg *AccountConfig, id int64, opts CreateOptions, fp string) (*Result, error) {
	if opts.DryRun {
		lead, err := s.store.Lead(ctx, actor.AccountID, id, false)
		if err != nil {
			return nil, fmt.Errorf("upsert lead %d: %w", id, err)
		}
		return &Result{Lead: lead, DryRun: true, Returned: true, Assignment: keptOwner(lead)}, nil
	}
	lead, err := s.UpdateLead(ctx, actor, id, opts.upsert, UpdateOptions{SkipTeamAndSourceRequirement: opts.SkipTeamAndSourceRequirement,
		returnedBy: opts.MatchBy, idempotencyKey: opts.IdempotencyKey, fingerprint: fp})
	if errors.Is(err, ErrIdempotencyKeyTaken) {
		// A retry of this upsert applied it first: answer with its lead
		// (unless that lead is deleted already: the conflict stands).
		if res, rerr := s.replayKey(ctx, actor, opts.IdempotencyKey, fp); res != nil || rerr != nil {
			return res, rerr
		}
	}
	if err != nil {
		return nil, fmt.Errorf("upsert: %w", err)
	}
	s.meter.Count(MeasureLeadReturned, string(opts.MatchBy), 1)
	return s.routeReturned(ctx, actor, cfg, lead)
}

// routeReturned finishes an upsert of lead, updated already: a lead
// without an owner, or whose owner is no longer a member, is routed as a
// new lead is (the account's OwnerGone policy deciding for a gone owner),
// taking a turn only if no one else assigned it meanwhile; any other keeps
// its owner. It answers with the lead as it is then. A waiting lead is left
// to the background assigner.
func (s *Service) routeReturned(ctx context.Context, actor Actor, cfg *AccountConfig, lead *Lead) (*Result, error) {
	id := lead.ID
	a := keptOwner(lead)
	if ownerToFind(cfg, lead) {
		ret := &ReturningCheck{Outcome: ReturningOwnerGone, LeadID: lead.ID, Owner: lead.AssignedTo, OwnerGone: cfg.Account.Returning.OwnerGone}
		if lead.AssignedTo == "" {
			ret = nil
		}
		l := *lead
		l.AssignedTo = ""
		rt, err := cfg.route(&l, ret)
		if err != nil {
			return nil, fmt.Errorf("upsert lead %d: route: %w", id, err)
		}
		owner := lead.AssignedTo
		_, ra, err := s.assignStored(ctx, cfg, actor.AccountID, id, storedAssignment{rt: rt, cause: MeterCauseReturned, record: func(cur *Lead, a Assignment, now time.Time) (AuditEntry, bool) {
			if cur.AssignedTo != owner {
				return AuditEntry{}, false // assigned meanwhile, by a concurrent upsert or a person
			}
			return a.auditEntry(actor, now)
		}})
		if err != nil {
			return nil, fmt.Errorf("upsert lead %d: %w", id, err)
		}
		a = ra
	}
	full, err := s.store.Lead(ctx, actor.AccountID, id, true)
	if err != nil {
		return nil, fmt.Errorf("upsert lead %d: %w", id, err)
	}
	if full.AssignedTo != a.Assignee {
		a = keptOwner(full) // routed meanwhile by someone else
	}
	return &Result{Lead: full, Returned: true, Assignment: a}, nil
}

// ownerToFind reports whether a returning lead is to be routed: it has no
// owner, or one who is no longer a member, and it does not wait for the
// background assigner.
func ownerToFind(cfg *AccountConfig, lead *Lead) bool {
	_, member := cfg.Members[lead.AssignedTo]
	waits := lead.AssignmentStatus == AssignmentPending || lead.AssignmentStatus == AssignmentWaiting
	return !waits && !member
}

// keptOwner is the assignment of a returning lead that keeps its owner.
func keptOwner(l *Lead) Assignment {
	return Assignment{Assignee: l.AssignedTo, RotationID: l.RotationID, Turn: l.RotationTurn, Reason: AssignReturning}
}
