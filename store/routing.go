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
		if err := keepRuleVersion(ctx, tx, accountID, out); err != nil {
			return err
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
		return leads.NameTaken(leads.KindRoutingRule, name)
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

type ruleVersionRow struct {
	bun.BaseModel `bun:"table:routing_rule_versions"`

	AccountID string              `bun:"account_id,pk"`
	Version   int64               `bun:"version,pk"`
	Rules     []leads.RoutingRule `bun:"rules,type:jsonb"`
}

// keepRuleVersion records, in tx, rules as the account's rules of the
// configuration version tx has just bumped to.
func keepRuleVersion(ctx context.Context, tx bun.Tx, accountID string, rules []leads.RoutingRule) error {
	row := &ruleVersionRow{AccountID: accountID, Rules: rules}
	if err := tx.NewSelect().Model((*accountRow)(nil)).Column("config_version").Where("id = ?", accountID).Scan(ctx, &row.Version); err != nil {
		return fmt.Errorf("read configuration version: %w", err)
	}
	if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("keep routing rules of version %d: %w", row.Version, err)
	}
	return nil
}

// rulesVersion is the configuration version of the account's rules as
// they are: the last version they changed in, 0 if never.
func rulesVersion(ctx context.Context, db bun.IDB, accountID string) (int64, error) {
	var v int64
	err := db.NewSelect().Model((*ruleVersionRow)(nil)).ColumnExpr("coalesce(max(version), 0)").Where("account_id = ?", accountID).Scan(ctx, &v)
	if err != nil {
		return 0, fmt.Errorf("read routing rules version: %w", err)
	}
	return v, nil
}

// RoutingRulesAt returns the account's routing rules as they were in
// configuration version version (see AccountConfig.RulesVersion);
// NOT_FOUND when no list was kept for it.
func (s *Store) RoutingRulesAt(ctx context.Context, accountID string, version int64) (_ []leads.RoutingRule, err error) {
	defer translate(&err)
	row := new(ruleVersionRow)
	// The primary's: a lead's routing is read right after the lead, under
	// the version its decision names, which a replica may not have yet.
	if err := s.db.NewSelect().Model(row).Where("account_id = ?", accountID).Where("version = ?", version).Scan(ctx); err != nil {
		return nil, notFound(err, "routing rules version")
	}
	return row.Rules, nil
}
