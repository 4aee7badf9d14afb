package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

var _ leads.HistoryStore = (*Store)(nil)

// historicRow is a lead's row with the fields of its first routing audit
// entry (leads.RecordedRouting).
type historicRow struct {
	leadRow `bun:",extend"`

	RoutingEvent      sql.NullString `bun:"routing_event"`
	RoutingAssignee   sql.NullString `bun:"routing_assignee"`
	RoutingReason     sql.NullString `bun:"routing_reason"`
	RoutingRotationID sql.NullInt64  `bun:"routing_rotation_id"`
	RoutingStep       sql.NullString `bun:"routing_step"`
	RoutingRuleID     sql.NullInt64  `bun:"routing_rule_id"`
}

// routingFields returns the SELECT expressions of historicRow's routing
// fields, read from the audit entry aliased a.
func (s *Store) routingFields() string {
	field := func(path ...string) string {
		if s.dialect == Postgres {
			expr := "a.data"
			for i, p := range path {
				op := "->"
				if i == len(path)-1 {
					op = "->>"
				}
				expr += op + "'" + p + "'"
			}
			return expr
		}
		jp := "$"
		for _, p := range path {
			jp += "." + p
		}
		return "json_extract(a.data, '" + jp + "')"
	}
	asInt := func(expr string) string {
		if s.dialect == Postgres {
			return "(" + expr + ")::bigint"
		}
		return expr
	}
	return "a.event AS routing_event, " +
		field("assignee") + " AS routing_assignee, " +
		field("reason") + " AS routing_reason, " +
		asInt(field("rotationId")) + " AS routing_rotation_id, " +
		field("decision", "step") + " AS routing_step, " +
		asInt(field("decision", "ruleId")) + " AS routing_rule_id"
}

// HistoricLeads calls fn for each lead of the account created in [from,
// to), in the order they were created, with its first routing decision
// (leads.HistoryStore). The rows are streamed from one query.
func (s *Store) HistoricLeads(ctx context.Context, accountID string, from, to time.Time, fn func(leads.HistoricLead) error) (err error) {
	defer translate(&err)
	rows, err := s.reads.NewSelect().Model((*leadRow)(nil)).ColumnExpr("lead_row.*").ColumnExpr(s.routingFields()).
		Join(`LEFT JOIN audit_log AS a ON a.id = (SELECT min(x.id) FROM audit_log AS x
	WHERE x.lead_id = lead_row.id AND x.event IN (?))`, bun.List([]string{leads.EventLeadAssigned, leads.EventLeadNotAssigned, leads.EventAssignmentDeferred})).
		Where("lead_row.account_id = ?", accountID).Where("lead_row.created_at >= ?", from.UTC()).Where("lead_row.created_at < ?", to.UTC()).
		OrderExpr("lead_row.created_at, lead_row.id").Rows(ctx)
	if err != nil {
		return fmt.Errorf("read historic leads: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var row historicRow
		if err := s.reads.ScanRow(ctx, rows, &row); err != nil {
			return fmt.Errorf("read historic leads: %w", err)
		}
		h := leads.HistoricLead{Lead: row.lead(), Actual: leads.RecordedRouting{
			Event: row.RoutingEvent.String, Assignee: row.RoutingAssignee.String, Reason: row.RoutingReason.String,
			RotationID: row.RoutingRotationID.Int64, Step: row.RoutingStep.String, RuleID: row.RoutingRuleID.Int64}}
		if err := fn(h); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read historic leads: %w", err)
	}
	return nil
}

// OpenLeadsAt counts, for each of users, the account's leads created
// before until, assigned to them, whose status is one of statuses
// (leads.HistoryStore); users with none are absent.
func (s *Store) OpenLeadsAt(ctx context.Context, accountID string, users []string, statuses []leads.Status, until time.Time) (_ map[string]int64, err error) {
	defer translate(&err)
	out := make(map[string]int64, len(users))
	if len(users) == 0 || len(statuses) == 0 {
		return out, nil
	}
	var counts []struct {
		User string `bun:"assigned_to"`
		N    int64  `bun:"n"`
	}
	// The main pool, not the heavy reads': a replay asks while its
	// HistoricLeads holds a connection of those.
	err = s.db.NewSelect().Model((*leadRow)(nil)).ColumnExpr("assigned_to, count(*) AS n").
		Where("account_id = ?", accountID).Where("assigned_to IN (?)", bun.List(users)).
		Where("status IN (?)", bun.List(statuses)).Where("created_at < ?", until.UTC()).
		Group("assigned_to").Scan(ctx, &counts)
	if err != nil {
		return nil, fmt.Errorf("count open leads: %w", err)
	}
	for _, c := range counts {
		out[c.User] = c.N
	}
	return out, nil
}
