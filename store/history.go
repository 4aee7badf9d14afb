package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

var _ leads.HistoryStore = (*Store)(nil)

// historicColumns are the columns of leads that HistoricLeads reads, in the
// order historicScan scans them: what a lead's routing may look at, and
// what leadRow.lead() maps.
const historicColumns = `id, account_id, team_id, lead_source_id, application_id, first_name, last_name,
	img_src, email, phone, company, job_title, branch, source, position, location,
	products_services_sold, number_of_employees, current_payment_processor, monthly_transaction_volume,
	interested_in_switching, process_stage, buying_role, assigned_to, notes, last_contacted, archived,
	created_by, external_id, hot_score, status, metadata, rotation_id, rotation_turn, assigned_at,
	assignment_pending, waiting_reason, created_at, updated_at`

// historicChunk is how many leads HistoricLeads reads at a time.
const historicChunk = 5000

// historicSQL holds HistoricLeads' statements in a dialect: the window's
// first and last lead ids; a chunk of its leads after an id; the first
// routing entry of each lead of an id range.
type historicSQL struct{ window, leads, routing string }

func (s *Store) historicSQL() historicSQL {
	events := "'" + strings.Join([]string{leads.EventLeadAssigned, leads.EventLeadNotAssigned, leads.EventAssignmentDeferred}, "', '") + "'"
	if s.dialect == Postgres {
		return historicSQL{
			// archived IN (…) lets the range scans of leads_list_created serve it.
			window: `SELECT min(id), max(id) FROM leads
WHERE account_id = $1 AND archived IN (false, true) AND created_at >= $2 AND created_at < $3`,
			leads: `SELECT ` + historicColumns + ` FROM leads
WHERE account_id = $1 AND id > $4 AND id <= $5 AND created_at >= $2 AND created_at < $3 ORDER BY id LIMIT $6`,
			routing: `SELECT lead_id, event, data->>'assignee', data->>'reason', (data->>'rotationId')::bigint,
	(data->>'turn')::bigint, data->'decision'->>'step', (data->'decision'->>'ruleId')::bigint
FROM audit_log WHERE lead_id IS NOT NULL AND lead_id >= $2 AND lead_id <= $3 AND account_id = $1 AND event IN (` + events + `)
ORDER BY lead_id, id`,
		}
	}
	// SQLite keeps no statistics unless asked to: the indexes are named,
	// or it reads every lead of the account for each chunk and sorts.
	return historicSQL{
		window: `SELECT min(id), max(id) FROM leads INDEXED BY leads_list_created
WHERE account_id = ?1 AND archived IN (0, 1) AND created_at >= ?2 AND created_at < ?3`,
		leads: `SELECT ` + historicColumns + ` FROM leads NOT INDEXED
WHERE id > ?4 AND id <= ?5 AND account_id = ?1 AND created_at >= ?2 AND created_at < ?3 ORDER BY id LIMIT ?6`,
		routing: `SELECT lead_id, event, json_extract(data, '$.assignee'), json_extract(data, '$.reason'),
	json_extract(data, '$.rotationId'), json_extract(data, '$.turn'), json_extract(data, '$.decision.step'), json_extract(data, '$.decision.ruleId')
FROM audit_log INDEXED BY audit_log_lead
WHERE lead_id IS NOT NULL AND lead_id >= ?2 AND lead_id <= ?3 AND account_id = ?1 AND event IN (` + events + `)
ORDER BY lead_id, id`,
	}
}

// historicScan holds a lead's row as it is scanned.
type historicScan struct {
	row                          leadRow
	teamID, sourceID, rotationID *int64
	externalID, waiting          *string
	metadata                     []byte
}

// dest returns the scan destinations of historicColumns: NULL goes to nil
// pointers, which database/sql and pgx both allow.
func (h *historicScan) dest() []any {
	r := &h.row
	return []any{&r.ID, &r.AccountID, &h.teamID, &h.sourceID, &r.ApplicationID, &r.FirstName, &r.LastName,
		&r.ImgSrc, &r.Email, &r.Phone, &r.Company, &r.JobTitle, &r.Branch, &r.Source, &r.Position, &r.Location,
		&r.ProductsServicesSold, &r.NumberOfEmployees, &r.CurrentPaymentProcessor, &r.MonthlyTransactionVolume,
		&r.InterestedInSwitching, &r.ProcessStage, &r.BuyingRole, &r.AssignedTo, &r.Notes, &r.LastContacted, &r.Archived,
		&r.CreatedBy, &h.externalID, &r.HotScore, &r.Status, &h.metadata, &h.rotationID, &r.RotationTurn, &r.AssignedAt,
		&r.AssignmentPending, &h.waiting, &r.CreatedAt, &r.UpdatedAt}
}

// lead returns the scanned row's lead.
func (h *historicScan) lead() (*leads.Lead, error) {
	r := &h.row
	r.TeamID, r.LeadSourceID, r.RotationID = deref(h.teamID), deref(h.sourceID), deref(h.rotationID)
	r.ExternalID, r.WaitingReason = deref(h.externalID), deref(h.waiting)
	r.Metadata = nil
	if len(h.metadata) > 0 && string(h.metadata) != "null" {
		dec := json.NewDecoder(bytes.NewReader(h.metadata))
		dec.UseNumber() // as bun reads it (json_use_number)
		if err := dec.Decode(&r.Metadata); err != nil {
			return nil, fmt.Errorf("metadata of lead %d: %w", r.ID, err)
		}
	}
	return r.lead(), nil
}

// routingScan holds a routing entry's fields as they are scanned.
type routingScan struct {
	leadID                 int64
	event                  string
	assignee, reason, step *string
	rotationID, turn       *int64
	ruleID                 *int64
}

func (r *routingScan) dest() []any {
	return []any{&r.leadID, &r.event, &r.assignee, &r.reason, &r.rotationID, &r.turn, &r.step, &r.ruleID}
}

func (r *routingScan) recorded() leads.RecordedRouting {
	return leads.RecordedRouting{Event: r.event, Assignee: deref(r.assignee), Reason: deref(r.reason),
		RotationID: deref(r.rotationID), Turn: deref(r.turn), Step: deref(r.step), RuleID: deref(r.ruleID)}
}

// deref is *p, or T's zero value for nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// historicQuerier runs a query and scans each of its rows: pgx's own on
// PostgreSQL (no reflection, binary values), database/sql's on SQLite.
type historicQuerier func(ctx context.Context, query string, args []any, each func(scan func(dest ...any) error) error) error

// historicRows is what historicQuerier reads of pgx's rows and of
// database/sql's alike.
type historicRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// eachRow calls each with the scan of every row of rows, then closes them.
func eachRow(rows historicRows, closeRows func(), each func(scan func(dest ...any) error) error) error {
	defer closeRows()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// withHistoricQuerier runs fn with a querier on one connection of the
// heavy reads' pool.
func (s *Store) withHistoricQuerier(ctx context.Context, fn func(q historicQuerier) error) error {
	conn, err := s.reads.DB.DB.Conn(ctx) // database/sql's, which leaves the SQL as it is
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if s.dialect == Postgres {
		return conn.Raw(func(driverConn any) error {
			c := driverConn.(*stdlib.Conn).Conn()
			return fn(func(ctx context.Context, query string, args []any, each func(scan func(dest ...any) error) error) error {
				// Described first, so that values come in binary (the pool's
				// simple protocol sends them as text, slower to read).
				rows, err := c.Query(ctx, query, append([]any{s.described()}, args...)...)
				if err != nil {
					return err
				}
				return eachRow(rows, rows.Close, each)
			})
		})
	}
	return fn(func(ctx context.Context, query string, args []any, each func(scan func(dest ...any) error) error) error {
		rows, err := conn.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		return eachRow(rows, func() { _ = rows.Close() }, each)
	})
}

// historicBatch is a chunk of the window's leads with their routing.
type historicBatch struct {
	leads []leads.HistoricLead
	err   error
}

// HistoricLeads calls fn for each lead of the account created in [from,
// to), in the order they were stored (their ids: the order of their
// creation, bar leads created at the same instant on several servers),
// with its first routing decision (leads.HistoryStore). It reads the
// window a chunk at a time, by id, each chunk in two statements (its
// leads, then their routing entries, by an index range each), the next
// chunk while fn works on this one: no query per lead, no join or sort of
// the window, and no connection held while fn runs.
func (s *Store) HistoricLeads(ctx context.Context, accountID string, from, to time.Time, fn func(leads.HistoricLead) error) (err error) {
	defer translate(&err)
	q := s.historicSQL()
	from, to = from.UTC(), to.UTC()
	var lo, hi *int64
	err = s.withHistoricQuerier(ctx, func(run historicQuerier) error {
		return run(ctx, q.window, []any{accountID, from, to}, func(scan func(dest ...any) error) error { return scan(&lo, &hi) })
	})
	if err != nil {
		return fmt.Errorf("read historic leads: %w", err)
	}
	if lo == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan historicBatch, 1)
	go func() {
		defer close(batches)
		for after := *lo - 1; after < *hi; {
			b := s.historicChunk(ctx, q, accountID, from, to, after, *hi)
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
			if b.err != nil || len(b.leads) == 0 {
				return
			}
			after = b.leads[len(b.leads)-1].Lead.ID
		}
	}()
	for b := range batches {
		if b.err != nil {
			return fmt.Errorf("read historic leads: %w", b.err)
		}
		for _, h := range b.leads {
			if err := fn(h); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// historicChunk reads the window's leads after id after (up to hi), at
// most historicChunk of them, and their first routing entries.
func (s *Store) historicChunk(ctx context.Context, q historicSQL, accountID string, from, to time.Time, after, hi int64) historicBatch {
	b := historicBatch{leads: make([]leads.HistoricLead, 0, historicChunk)}
	b.err = s.withHistoricQuerier(ctx, func(run historicQuerier) error {
		var h historicScan
		dest := h.dest()
		err := run(ctx, q.leads, []any{accountID, from, to, after, hi, historicChunk}, func(scan func(dest ...any) error) error {
			h = historicScan{}
			if err := scan(dest...); err != nil {
				return err
			}
			l, err := h.lead()
			if err != nil {
				return err
			}
			b.leads = append(b.leads, leads.HistoricLead{Lead: l})
			return nil
		})
		if err != nil || len(b.leads) == 0 {
			return err
		}
		// Merge the entries (by lead id, then id) into the leads (by id):
		// each lead's first.
		i := 0
		var r routingScan
		rdest := r.dest()
		return run(ctx, q.routing, []any{accountID, b.leads[0].Lead.ID, b.leads[len(b.leads)-1].Lead.ID},
			func(scan func(dest ...any) error) error {
				r = routingScan{}
				if err := scan(rdest...); err != nil {
					return err
				}
				for i < len(b.leads) && b.leads[i].Lead.ID < r.leadID {
					i++
				}
				if i >= len(b.leads) || b.leads[i].Lead.ID != r.leadID {
					return nil
				}
				switch act := &b.leads[i].Actual; {
				case act.Event == "":
					*act = r.recorded()
				case act.Event == leads.EventAssignmentDeferred && act.Assignee == "" && r.event == leads.EventLeadAssigned:
					// Who the deferred assignment went to when it was settled.
					act.Assignee, act.RotationID = deref(r.assignee), deref(r.rotationID)
				}
				return nil
			})
	})
	return b
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

// laterTurnSlices is how many slices of time LaterTurns reads a window
// in, each at least laterTurnSliceMin long.
const (
	laterTurnSlices   = 256
	laterTurnSliceMin = time.Minute
)

// LaterTurns calls fn for each of the account's rotation turns taken in
// [from, to) other than those its leads took at their creation instant,
// oldest first (leads.HistoryStore). Such a turn is recorded at its lead's
// created_at exactly (a create stamps both from one clock reading), so the
// rest are found by comparing the two: by the index of each rotation's
// turns by time, and the leads' primary key. The window is read a slice of
// time at a time, each slice whole before fn sees it, so that no
// connection is held while fn runs and no more than a slice's turns are
// held at once.
func (s *Store) LaterTurns(ctx context.Context, accountID string, from, to time.Time, fn func(leads.RecordedTurn) error) (err error) {
	defer translate(&err)
	step := max(to.Sub(from)/laterTurnSlices, laterTurnSliceMin)
	var rows []struct {
		RotationID    int64      `bun:"rotation_id"`
		Turn          int64      `bun:"turn"`
		Assignee      string     `bun:"assignee"`
		AssignedAt    time.Time  `bun:"assigned_at"`
		LeadID        *int64     `bun:"lead_id"`
		LeadCreatedAt *time.Time `bun:"lead_created_at"`
	}
	for lo := from.UTC(); lo.Before(to); {
		hi := lo.Add(step)
		if hi.After(to) {
			hi = to.UTC()
		}
		rows = rows[:0]
		err := s.reads.NewRaw(`SELECT t.rotation_id, t.turn, t.assignee, t.assigned_at, t.lead_id, l.created_at AS lead_created_at
FROM rotations r
JOIN rotation_turns t ON t.rotation_id = r.id
LEFT JOIN leads l ON l.id = t.lead_id
WHERE r.account_id = ? AND t.assigned_at >= ? AND t.assigned_at < ?
	AND (l.created_at IS NULL OR l.created_at <> t.assigned_at)
ORDER BY t.assigned_at, t.id`, accountID, lo, hi).Scan(ctx, &rows)
		if err != nil {
			return fmt.Errorf("select later turns: %w", err)
		}
		for _, r := range rows {
			turn := leads.RecordedTurn{RotationID: r.RotationID, Turn: r.Turn, Assignee: r.Assignee,
				At: r.AssignedAt.UTC(), LeadID: deref(r.LeadID)}
			if r.LeadCreatedAt != nil {
				turn.LeadCreatedAt = r.LeadCreatedAt.UTC()
			}
			if err := fn(turn); err != nil {
				return err
			}
		}
		lo = hi
	}
	return nil
}

// leadMovesChunk is how many moves LeadMoves reads at a time.
const leadMovesChunk = 1000

// LeadMoves calls fn for each move of a lead of the account created before
// leadsBefore (an audit entry lead_reassigned) made at or after from, in
// the order they were made (leads.HistoryStore), reading them a chunk at
// a time through the index audit_log_moves. A lead deleted since has no
// moves: a replay does not know it either.
func (s *Store) LeadMoves(ctx context.Context, accountID string, leadsBefore, from time.Time, fn func(leads.RecordedMove) error) (err error) {
	defer translate(&err)
	fromTo := `COALESCE(a.data ->> 'from', '') AS from_owner, COALESCE(a.data ->> 'to', '') AS to_owner`
	if s.dialect == SQLite {
		fromTo = `COALESCE(json_extract(a.data, '$.from'), '') AS from_owner, COALESCE(json_extract(a.data, '$.to'), '') AS to_owner`
	}
	var rows []struct {
		ID        int64     `bun:"id"`
		LeadID    int64     `bun:"lead_id"`
		CreatedAt time.Time `bun:"created_at"`
		From      string    `bun:"from_owner"`
		To        string    `bun:"to_owner"`
	}
	afterAt, afterID := from.UTC(), int64(0)
	for {
		rows = rows[:0]
		err := s.reads.NewRaw(`SELECT a.id, a.lead_id, a.created_at, `+fromTo+`
FROM audit_log a
JOIN leads l ON l.id = a.lead_id
WHERE a.account_id = ? AND a.event = 'lead_reassigned' AND l.created_at < ?
	AND a.created_at >= ? AND (a.created_at > ? OR a.id > ?)
ORDER BY a.created_at, a.id
LIMIT ?`, accountID, leadsBefore.UTC(), afterAt, afterAt, afterID, leadMovesChunk).Scan(ctx, &rows)
		if err != nil {
			return fmt.Errorf("select lead moves: %w", err)
		}
		for _, r := range rows {
			if err := fn(leads.RecordedMove{LeadID: r.LeadID, At: r.CreatedAt.UTC(), From: r.From, To: r.To}); err != nil {
				return err
			}
		}
		if len(rows) < leadMovesChunk {
			return nil
		}
		last := rows[len(rows)-1]
		afterAt, afterID = last.CreatedAt.UTC(), last.ID
	}
}
