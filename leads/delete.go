package leads

import (
	"context"
	"fmt"
	"time"
)

// DeleteOptions modify DeleteLead.
type DeleteOptions struct {
	// IfMatch, when set, is the updatedAt of the lead as the caller last saw
	// it: a lead changed since is not deleted (PRECONDITION_FAILED).
	IfMatch *time.Time
}

// DeleteLead removes a lead for good, keeping its audit trail and adding a
// lead_deleted entry that holds the whole lead as it was, and the
// lead.deleted event (the lead as it was; data.deletedBy) when someone
// receives it. Managers and admins only; NOT_FOUND for a lead not in
// actor's account; PRECONDITION_FAILED when opts (the first, if any) has
// an IfMatch the lead no longer is.
func (s *Service) DeleteLead(ctx context.Context, actor Actor, id int64, opts ...DeleteOptions) error {
	if err := actor.Require(PermDeleteLeads); err != nil {
		return err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return err
	}
	now := s.clock()
	var before Lead
	var o DeleteOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	err = s.store.DeleteLead(ctx, actor.AccountID, id, func(cur *Lead) (AuditEntry, []Event, error) {
		if err := checkIfMatch(o.IfMatch, cur); err != nil {
			return AuditEntry{}, nil, err
		}
		before = *cur
		snapshot := *cur
		snapshot.AuditLog = nil
		events := s.eventOf(cfg, EventTypeDeleted, cur, now, func() map[string]any { return map[string]any{"deletedBy": actor.Email} })
		return newAuditEntry(actor, EventLeadDeleted, map[string]any{"lead": toJSONMap(snapshot)}, now), events, nil
	})
	if err != nil {
		return fmt.Errorf("delete lead %d: %w", id, err)
	}
	s.reportLoad(ctx, cfg, &before, nil, nil)
	return nil
}
