package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

var routingRuleName = constraint{"routing_rules_name", "routing_rules.account_id, routing_rules.name"}

// ChangeRoutingRules reads the account's rules under its lock, lets apply
// decide the new list, and writes the difference in one transaction: the
// removed rules deleted, then the kept ones updated, then the new ones
// inserted, every one at its place in the list.
func (s *Store) ChangeRoutingRules(ctx context.Context, accountID string, apply func(cur []leads.RoutingRule) ([]leads.RoutingRule, []leads.AuditEntry, error)) (_ []leads.RoutingRule, err error) {
	defer translate(&err)
	var out []leads.RoutingRule
	err = s.tx(ctx, func(tx bun.Tx) error {
		if err := lockAccount(ctx, tx, s.dialect, accountID); err != nil {
			return err
		}
		cur, err := selectRoutingRules(ctx, tx, accountID)
		if err != nil {
			return err
		}
		next, entries, err := apply(cur)
		if err != nil {
			return err
		}
		if next == nil {
			out = cur
			return nil
		}
		if err := bumpConfig(ctx, tx, accountID); err != nil {
			return err
		}
		keep := map[int64]bool{}
		for _, r := range next {
			keep[r.ID] = true
		}
		for _, r := range cur {
			if !keep[r.ID] {
				if _, err := tx.NewDelete().Model((*routingRuleRow)(nil)).Where("id = ?", r.ID).Exec(ctx); err != nil {
					return fmt.Errorf("delete routing rule: %w", err)
				}
			}
		}
		out = make([]leads.RoutingRule, len(next))
		for pass := range 2 { // updates first, so that a freed name may be taken by a new rule
			for i, r := range next {
				if (pass == 0) != (r.ID != 0) {
					continue
				}
				row := routingRuleRow{ID: r.ID, AccountID: accountID, Position: i, Name: r.Name, Enabled: r.Enabled,
					Conditions: r.Conditions, Action: r.Action, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
				if r.ID == 0 {
					_, err = tx.NewInsert().Model(&row).Returning("id").Exec(ctx)
				} else {
					_, err = tx.NewUpdate().Model(&row).WherePK().Where("account_id = ?", accountID).Exec(ctx)
				}
				if err != nil {
					return routingRuleError(err, r.Name)
				}
				out[i] = row.rule()
			}
		}
		return insertAudit(ctx, tx, entries...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func routingRuleError(err error, name string) error {
	if isUnique(err, routingRuleName) {
		return leads.Errorf(leads.CodeConflict, "a routing rule named %q already exists", name)
	}
	return fmt.Errorf("write routing rule: %w", err)
}

// selectRoutingRules reads the account's rules in order.
func selectRoutingRules(ctx context.Context, db bun.IDB, accountID string) ([]leads.RoutingRule, error) {
	var rows []routingRuleRow
	if err := db.NewSelect().Model(&rows).Where("account_id = ?", accountID).Order("position").Scan(ctx); err != nil {
		return nil, fmt.Errorf("select routing rules: %w", err)
	}
	out := make([]leads.RoutingRule, len(rows))
	for i := range rows {
		out[i] = rows[i].rule()
	}
	return out, nil
}
