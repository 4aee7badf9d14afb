package store

import (
	"context"
	"fmt"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// TurnCounts counts a rotation's turns per assignee in [from, to).
func (s *Store) TurnCounts(ctx context.Context, rotationID int64, from, to time.Time) (_ map[string]int64, err error) {
	defer translate(&err)
	var rows []struct {
		Assignee string `bun:"assignee"`
		N        int64  `bun:"n"`
	}
	err = s.reads.NewSelect().Model((*turnRow)(nil)).ColumnExpr("assignee, count(*) AS n").
		Where("rotation_id = ?", rotationID).Where("assigned_at >= ?", from.UTC()).Where("assigned_at < ?", to.UTC()).
		Group("assignee").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count turns: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Assignee] = r.N
	}
	return out, nil
}

// SkipCounts counts the slots a rotation passed over in [from, to), per
// member and reason.
func (s *Store) SkipCounts(ctx context.Context, rotationID int64, from, to time.Time) (_ map[string]map[string]int64, err error) {
	defer translate(&err)
	var rows []struct {
		Member string `bun:"member"`
		Reason string `bun:"reason"`
		N      int64  `bun:"n"`
	}
	err = s.reads.NewSelect().Model((*skipRow)(nil)).ColumnExpr("member, reason, sum(slots) AS n").
		Where("rotation_id = ?", rotationID).Where("skipped_at >= ?", from.UTC()).Where("skipped_at < ?", to.UTC()).
		Group("member", "reason").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count skips: %w", err)
	}
	out := map[string]map[string]int64{}
	for _, r := range rows {
		if out[r.Member] == nil {
			out[r.Member] = map[string]int64{}
		}
		out[r.Member][r.Reason] = r.N
	}
	return out, nil
}

// TeamLeadCounts counts a team's leads created in [from, to), broken down by
// assignee, lead source and status.
func (s *Store) TeamLeadCounts(ctx context.Context, accountID string, teamID int64, from, to time.Time) (_ leads.TeamLeadCounts, err error) {
	defer translate(&err)
	c := leads.TeamLeadCounts{ByAssignee: map[string]int64{}, ByLeadSource: map[int64]int64{}, ByStatus: map[leads.Status]int64{}}
	var rows []struct {
		Assignee string `bun:"assigned_to"`
		Source   *int64 `bun:"lead_source_id"`
		Status   string `bun:"status"`
		N        int64  `bun:"n"`
	}
	err = s.reads.NewSelect().Model((*leadRow)(nil)).ColumnExpr("assigned_to, lead_source_id, status, count(*) AS n").
		Where("account_id = ?", accountID).Where("team_id = ?", teamID).
		Where("created_at >= ?", from.UTC()).Where("created_at < ?", to.UTC()).
		Group("assigned_to", "lead_source_id", "status").Scan(ctx, &rows)
	if err != nil {
		return c, fmt.Errorf("count team leads: %w", err)
	}
	for _, r := range rows {
		c.Total += r.N
		c.ByAssignee[r.Assignee] += r.N
		var src int64
		if r.Source != nil {
			src = *r.Source
		}
		c.ByLeadSource[src] += r.N
		c.ByStatus[leads.Status(r.Status)] += r.N
	}
	return c, nil
}

// ReturningCounts counts, per assignee, the leads of the account that
// returning contacts brought their owners in [from, to) (lead_assigned
// with reason returning_owner), by the partial index audit_log_returning.
func (s *Store) ReturningCounts(ctx context.Context, accountID string, from, to time.Time) (_ map[string]int64, err error) {
	defer translate(&err)
	reason, assignee := "(data ->> 'reason')", "data ->> 'assignee'"
	if s.dialect != Postgres {
		reason, assignee = "json_extract(data, '$.reason')", "json_extract(data, '$.assignee')"
	}
	var rows []struct {
		Assignee string `bun:"assignee"`
		N        int64  `bun:"n"`
	}
	err = s.reads.NewSelect().TableExpr("audit_log").ColumnExpr(assignee+" AS assignee, count(*) AS n").
		Where("account_id = ?", accountID).Where("event = 'lead_assigned'").Where(reason+" = 'returning_owner'").
		Where("created_at >= ?", from.UTC()).Where("created_at < ?", to.UTC()).
		GroupExpr(assignee).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count returning leads: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Assignee] = r.N
	}
	return out, nil
}

// maxTimings bounds the leads LeadTimings reads for one window.
const maxTimings = 100_000

// LeadTimings returns, per assignee, when each lead the rotation assigned
// in [from, to) and that is still theirs was assigned, accepted and first
// touched, by the index leads_rotation_assigned_at; at most maxTimings
// leads, the earliest.
func (s *Store) LeadTimings(ctx context.Context, rotationID int64, from, to time.Time) (_ map[string][]leads.LeadTiming, err error) {
	defer translate(&err)
	var rows []struct {
		AssignedTo   string     `bun:"assigned_to"`
		AssignedAt   time.Time  `bun:"assigned_at"`
		AcceptedAt   *time.Time `bun:"accepted_at"`
		FirstTouchAt *time.Time `bun:"first_touch_at"`
	}
	err = s.reads.NewSelect().Model((*leadRow)(nil)).Column("assigned_to", "assigned_at", "accepted_at", "first_touch_at").
		Where("rotation_id = ?", rotationID).Where("assigned_at >= ?", from.UTC()).Where("assigned_at < ?", to.UTC()).
		Where("assigned_to <> ''").OrderExpr("assigned_at").Limit(maxTimings).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("read lead timings of rotation %d: %w", rotationID, err)
	}
	out := make(map[string][]leads.LeadTiming)
	for _, r := range rows {
		out[r.AssignedTo] = append(out[r.AssignedTo], leads.LeadTiming{AssignedAt: r.AssignedAt.UTC(), AcceptedAt: r.AcceptedAt, FirstTouchAt: r.FirstTouchAt})
	}
	return out, nil
}

// SLACounts counts the rotation's SLA expiries in [from, to) per member
// (leads.MemberSLA): those of their assignments, those that moved the lead
// away from them, those that moved it to them.
func (s *Store) SLACounts(ctx context.Context, rotationID int64, from, to time.Time) (_ map[string]leads.MemberSLA, err error) {
	defer translate(&err)
	var rows []slaExpiryRow
	err = s.reads.NewSelect().Model(&rows).Column("assignee", "next_assignee", "action").
		Where("rotation_id = ?", rotationID).Where("expired_at >= ?", from.UTC()).Where("expired_at < ?", to.UTC()).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("read SLA expiries of rotation %d: %w", rotationID, err)
	}
	out := make(map[string]leads.MemberSLA)
	for _, r := range rows {
		m := out[r.Assignee]
		m.Expired++
		if r.Action != leads.SLAKeep {
			m.ReassignedOut++
		}
		out[r.Assignee] = m
		if r.NextAssignee != "" {
			n := out[r.NextAssignee]
			n.ReassignedIn++
			out[r.NextAssignee] = n
		}
	}
	return out, nil
}
