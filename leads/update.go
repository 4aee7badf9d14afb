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
	// idempotencyKey and fingerprint, set by an upsert sent with an
	// Idempotency-Key, are stored with the update (LeadWrite) and named in
	// its lead_returned entry.
	idempotencyKey, fingerprint string
}

// UpdateLead changes the fields of a lead that patch names (see LeadPatch) and
// records the change in the audit log: status_changed {from, to},
// lead_reassigned {from, to} and lead_updated {changes: {field: {from, to}}}.
// The result must pass every rule of CreateLead: VALIDATION_ERROR, the team and
// lead-source rules when either changes, DUPLICATE_EMAIL when the email does,
// DUPLICATE_EXTERNAL_ID when the externalId does, MEMBER_NOT_IN_ACCOUNT for
// an assignee who is not a member. A failing update writes nothing.
// NOT_FOUND for a lead not in actor's account; PRECONDITION_FAILED when
// opts.IfMatch is stale. An update that changes nothing writes nothing and
// returns the lead as it is.
func (s *Service) UpdateLead(ctx context.Context, actor Actor, id int64, patch LeadPatch, opts UpdateOptions) (*Lead, error) {
	if err := actor.Require(PermWriteLeads); err != nil {
		return nil, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	// A duplicate needs a read, which must happen before the row lock: check
	// here; the unique indexes catch a lead created or changed meanwhile.
	rejectEmails := cfg.Account.DuplicatePolicy != DuplicateAllow
	keys := LeadInput{ExternalID: patchText(patch, "externalId", MaxShortTextLength)}
	if rejectEmails {
		keys.Email = patchText(patch, "email", MaxEmailLength)
	}
	if keys.Email != "" || keys.ExternalID != "" {
		check, err := s.store.LeadFacts(ctx, LeadFactsQuery{AccountID: actor.AccountID, EmailKey: EmailKey(keys.Email),
			ExternalID: keys.ExternalID, ExcludeLeadID: id})
		if err != nil {
			return nil, fmt.Errorf("update lead %d: %w", id, err)
		}
		if err := duplicate(&keys, check, rejectEmails); err != nil {
			return nil, err
		}
	}
	_, teamChanges := patch["teamId"]
	_, sourceChanges := patch["leadSourceId"]
	now := s.clock()
	var written LeadInput // what the last call of apply wrote
	var before Lead       // the lead as the last call of apply found it
	lead, err := s.store.UpdateLead(ctx, actor.AccountID, id, func(cur *Lead) (*LeadWrite, error) {
		before = *cur
		if err := checkIfMatch(opts.IfMatch, cur); err != nil {
			return nil, err
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
			data := map[string]any{"matchBy": opts.returnedBy}
			if opts.idempotencyKey != "" {
				data["idempotencyKey"] = opts.idempotencyKey
			}
			returned := newAuditEntry(actor, EventLeadReturned, data, now)
			entries = append([]AuditEntry{returned}, entries...)
		}
		if len(entries) == 0 {
			return nil, nil
		}
		w := &LeadWrite{Lead: cur.next(now), Audit: entries, IdempotencyKey: opts.idempotencyKey, Fingerprint: opts.fingerprint}
		w.Lead.LeadInput = next
		written = next
		if next.AssignedTo != cur.AssignedTo {
			// Reassigned by hand: no rotation chose this assignee, and a
			// lead that waited for its rotation waits no more.
			w.Lead.RotationID, w.Lead.RotationTurn, w.Lead.SLADueAt = 0, 0, nil
			w.Lead.AssignmentStatus = settledStatus(next.AssignedTo)
		}
		if EmailKey(next.Email) != EmailKey(cur.Email) {
			unique := ""
			if rejectEmails {
				unique = EmailKey(next.Email)
			}
			w.UniqueEmail = &unique
		}
		w.Events = s.leadEvents(cfg, cur, w.Lead, opts.returnedBy, now)
		return w, nil
	})
	if errors.Is(err, ErrEmailTaken) || errors.Is(err, ErrExternalIDTaken) {
		check, cerr := s.store.LeadFacts(ctx, LeadFactsQuery{AccountID: actor.AccountID, EmailKey: EmailKey(written.Email),
			ExternalID: written.ExternalID, ExcludeLeadID: id})
		if cerr != nil {
			return nil, fmt.Errorf("update lead %d: %w", id, cerr)
		}
		if dup := duplicate(&written, check, errors.Is(err, ErrEmailTaken)); dup != nil {
			return nil, dup
		}
	}
	if err != nil {
		return nil, fmt.Errorf("update lead %d: %w", id, err)
	}
	s.reportLoad(ctx, cfg, &before, lead, nil)
	return lead, nil
}

// patchText returns the patch's text for field as it would be stored
// (trimmed), or "" when it is absent, not text, or text that apply refuses:
// such a value has no duplicate to look for, and may break the query that
// would (PostgreSQL refuses a NUL, SQLite's statement text ends at one).
func patchText(patch LeadPatch, field string, max int) string {
	s, _ := patch[field].(string)
	s = strings.TrimSpace(s)
	if textProblem(s, max) != "" {
		return ""
	}
	return s
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

// LeadPrecondition is what a write to a lead requires of it (AcceptLead,
// AddActivity take it, variadic so that callers without one compile).
type LeadPrecondition struct {
	// IfMatch, when set, is the updatedAt of the lead as the caller last saw
	// it: a lead changed since is not written (PRECONDITION_FAILED).
	IfMatch *time.Time
}

// checkPreconditions refuses cur when one of opts does not hold.
func checkPreconditions(opts []LeadPrecondition, cur *Lead) error {
	for _, o := range opts {
		if err := checkIfMatch(o.IfMatch, cur); err != nil {
			return err
		}
	}
	return nil
}

// checkIfMatch refuses cur (PRECONDITION_FAILED) when ifMatch is set and
// cur is not that version of the lead (its updatedAt).
func checkIfMatch(ifMatch *time.Time, cur *Lead) error {
	if ifMatch == nil || cur.UpdatedAt.Equal(*ifMatch) {
		return nil
	}
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
