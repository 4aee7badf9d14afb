package leads

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// UpdateOptions modify Update.
type UpdateOptions struct {
	// SkipTeamAndSourceRequirement applies as in CreateLead when the patch
	// changes the team or the lead source.
	SkipTeamAndSourceRequirement bool
	// IfMatch, when set, is the updatedAt of the lead as the caller last saw
	// it; if the lead changed since, nothing is written: PRECONDITION_FAILED.
	IfMatch *time.Time
	// returnedBy, set by an upsert, is the key it found the lead by: the
	// update is audited lead_returned first, even when nothing changes.
	returnedBy string
}

// UpdateLead changes the fields of a lead that patch names (see LeadPatch) and
// records the change in the audit log: status_changed {from, to},
// lead_reassigned {from, to} and lead_updated {changes: {field: {from, to}}}.
// The result must pass every rule of CreateLead: VALIDATION_ERROR, the team and
// lead-source rules when either changes, DUPLICATE_EMAIL when the email does,
// MEMBER_NOT_IN_ACCOUNT for an assignee who is not a member. A failing
// update writes nothing. NOT_FOUND for a lead not in actor's account;
// PRECONDITION_FAILED when opts.IfMatch is stale. An update that changes
// nothing writes nothing and returns the lead as it is.
func (s *Service) UpdateLead(ctx context.Context, actor Actor, id int64, patch LeadPatch, opts UpdateOptions) (*Lead, error) {
	if err := actor.Require(PermWriteLeads); err != nil {
		return nil, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	// A duplicate email needs a read, which must happen before the row lock:
	// check here; the unique index catches a lead created meanwhile.
	if email, ok := patch["email"].(string); ok && email != "" && cfg.Account.DuplicatePolicy != DuplicateAllow {
		check, err := s.store.LeadFacts(ctx, LeadFactsQuery{AccountID: actor.AccountID, EmailKey: EmailKey(email), ExcludeLeadID: id})
		if err != nil {
			return nil, fmt.Errorf("update lead %d: %w", id, err)
		}
		if check.DuplicateLeadID != 0 {
			return nil, duplicateEmail(strings.TrimSpace(email), check.DuplicateLeadID)
		}
	}
	_, teamChanges := patch["teamId"]
	_, sourceChanges := patch["leadSourceId"]
	now := s.clock()
	lead, err := s.store.UpdateLead(ctx, actor.AccountID, id, func(cur *Lead) (*LeadWrite, error) {
		if opts.IfMatch != nil && !cur.UpdatedAt.Equal(*opts.IfMatch) {
			return nil, stale(cur)
		}
		next, err := applyPatch(cur.LeadInput, patch)
		if err != nil {
			return nil, err
		}
		next.Normalize()
		if err := next.Validate(); err != nil {
			return nil, err
		}
		if teamChanges || sourceChanges {
			if err := applyTeamRules(cfg, &next, opts.SkipTeamAndSourceRequirement); err != nil {
				return nil, err
			}
		}
		next.AssignedTo = EmailKey(next.AssignedTo)
		if next.AssignedTo != cur.AssignedTo {
			if err := cfg.requireMember(next.AssignedTo); err != nil {
				return nil, err
			}
		}
		entries := diffAudit(actor, cur.LeadInput, next, now)
		if opts.returnedBy != "" {
			returned := newAuditEntry(actor, EventLeadReturned, map[string]any{"matchBy": opts.returnedBy}, now)
			entries = append([]AuditEntry{returned}, entries...)
		}
		if len(entries) == 0 {
			return nil, nil
		}
		w := &LeadWrite{Lead: cur.next(now), Audit: entries}
		w.Lead.LeadInput = next
		if next.AssignedTo != cur.AssignedTo {
			// Reassigned by hand: no rotation chose this assignee, and a
			// lead that waited for its rotation waits no more.
			w.Lead.RotationID, w.Lead.RotationTurn = 0, 0
			w.Lead.AssignmentStatus = settledStatus(next.AssignedTo)
		}
		if EmailKey(next.Email) != EmailKey(cur.Email) {
			unique := ""
			if cfg.Account.DuplicatePolicy != DuplicateAllow {
				unique = EmailKey(next.Email)
			}
			w.UniqueEmail = &unique
		}
		return w, nil
	})
	if errors.Is(err, ErrEmailTaken) {
		check, cerr := s.store.LeadFacts(ctx, LeadFactsQuery{AccountID: actor.AccountID, EmailKey: EmailKey(fmt.Sprint(patch["email"])), ExcludeLeadID: id})
		if cerr != nil {
			return nil, fmt.Errorf("update lead %d: %w", id, cerr)
		}
		return nil, duplicateEmail(fmt.Sprint(patch["email"]), check.DuplicateLeadID)
	}
	if err != nil {
		return nil, fmt.Errorf("update lead %d: %w", id, err)
	}
	return lead, nil
}

// next returns a copy of l to be written at now. updatedAt strictly
// increases, even when the clock does not, because it is the lead's version.
func (l *Lead) next(now time.Time) *Lead {
	n := *l
	n.AuditLog = nil
	n.UpdatedAt = now
	if !now.After(l.UpdatedAt) {
		n.UpdatedAt = l.UpdatedAt.Add(time.Microsecond)
	}
	return &n
}

func stale(cur *Lead) error {
	return &Error{Code: CodePreconditionFailed, Message: "the lead was changed since the version given in If-Match",
		Details: map[string]any{"updatedAt": cur.UpdatedAt}}
}

// requireMember checks that email is "" or a member of the account.
func (c *AccountConfig) requireMember(email string) error {
	if email == "" || c.Members[email] != "" {
		return nil
	}
	return MemberNotInAccount(email, "")
}
