package leads

import (
	"context"
	"fmt"
)

// DeleteLead removes a lead for good, keeping its audit trail and adding a
// lead_deleted entry that holds the whole lead as it was. Managers and
// admins only; NOT_FOUND for a lead not in actor's account.
func (s *Service) DeleteLead(ctx context.Context, actor Actor, id int64) error {
	if err := actor.Require(PermDeleteLeads); err != nil {
		return err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return err
	}
	now := s.clock()
	var before Lead
	err = s.store.DeleteLead(ctx, actor.AccountID, id, func(cur *Lead) AuditEntry {
		before = *cur
		snapshot := *cur
		snapshot.AuditLog = nil
		return newAuditEntry(actor, EventLeadDeleted, map[string]any{"lead": toJSONMap(snapshot)}, now)
	})
	if err != nil {
		return fmt.Errorf("delete lead %d: %w", id, err)
	}
	s.reportLoad(ctx, cfg, &before, nil, nil)
	return nil
}
