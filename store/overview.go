package store

import (
	"context"
	"fmt"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// LeadArrivals counts an account's leads created in [from, to) per hour
// from from, today's (from today on) by assignment, and every lead that
// waits for its rotation. Two reads, each on an index that starts with the
// account.
func (s *Store) LeadArrivals(ctx context.Context, accountID string, from, to, today time.Time) (_ leads.LeadArrivals, err error) {
	defer translate(&err)
	a := leads.LeadArrivals{Hours: map[int64]int64{}, ByAssignment: map[leads.AssignmentStatus]int64{}}
	// The hour of a lead, counted from from: whole seconds since the epoch
	// in each dialect, so one expression shape serves both.
	epoch := "CAST(extract(epoch FROM created_at) AS bigint)"
	if s.dialect == SQLite {
		epoch = "CAST(strftime('%s', created_at) AS integer)"
	}
	var rows []struct {
		Hour     int64  `bun:"h"`
		Assignee string `bun:"assigned_to"`
		Pending  bool   `bun:"assignment_pending"`
		Waiting  bool   `bun:"waiting"`
		N        int64  `bun:"n"`
	}
	err = s.reads.NewSelect().Model((*leadRow)(nil)).
		ColumnExpr("("+epoch+" - ?) / 3600 AS h", from.Unix()).
		ColumnExpr("assigned_to, assignment_pending, waiting_reason <> '' AS waiting, count(*) AS n").
		Where("account_id = ?", accountID).
		// Both values of archived, named, let the listing index
		// (account_id, archived, created_at) serve the time range.
		Where("archived IN (false, true)").
		Where("created_at >= ?", from.UTC()).Where("created_at < ?", to.UTC()).
		GroupExpr("1, 2, 3, 4").Scan(ctx, &rows)
	if err != nil {
		return a, fmt.Errorf("count arrivals: %w", err)
	}
	todayHour := int64(today.Sub(from) / time.Hour)
	for _, r := range rows {
		a.Hours[r.Hour] += r.N
		if r.Hour < todayHour {
			continue
		}
		a.Today += r.N
		switch {
		case r.Pending && r.Waiting:
			a.ByAssignment[leads.AssignmentWaiting] += r.N
		case r.Pending:
			a.ByAssignment[leads.AssignmentPending] += r.N
		case r.Assignee != "":
			a.ByAssignment[leads.AssignmentAssigned] += r.N
		default:
			a.ByAssignment[leads.AssignmentUnassigned] += r.N
		}
	}
	n, err := s.reads.NewSelect().Model((*leadRow)(nil)).
		Where("assignment_pending").Where("account_id = ?", accountID).Count(ctx)
	if err != nil {
		return a, fmt.Errorf("count pending leads: %w", err)
	}
	a.Pending = int64(n)
	n, err = s.reads.NewSelect().Model((*leadRow)(nil)).
		Where("assignment_pending").Where("waiting_reason <> ''").Where("account_id = ?", accountID).Count(ctx)
	if err != nil {
		return a, fmt.Errorf("count waiting leads: %w", err)
	}
	a.Waiting = int64(n)
	return a, nil
}
