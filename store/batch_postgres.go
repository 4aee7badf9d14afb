package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/leadrotor/leadrotor/leads"
)

// insertBatchSQL writes a batch of leads in one statement. Every column
// comes as one array parameter (unnest zips them into rows), so the text is
// the same for every batch size and is prepared once per connection. Lead
// ids are drawn in request order; a lead that breaks a unique rule is
// skipped (ON CONFLICT DO NOTHING) with its turn, skips and audit entries,
// and retried alone by the caller. Audit entries are inserted in order, so
// that their ids follow the order of events. It returns, per lead in request
// order, the new id (NULL when skipped) and its audit ids.
const insertBatchSQL = `WITH v AS (
	SELECT * FROM unnest($1::int4[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
		$18::int8[], $19::text[], $20::int8[], $21::bool[], $22::text[], $23::text[], $24::text[], $25::text[],
		$26::timestamptz[], $27::bool[], $28::text[], $29::text[], $30::text[], $31::int8[], $32::int8[], $33::timestamptz[],
		$34::text[], $35::text[], $36::text[], $37::text[], $38::timestamptz[], $39::timestamptz[], $64::bool[])
	AS v(ord, account_id, team_id, lead_source_id, application_id, first_name, last_name, img_src, email, phone, company,
		job_title, branch, source, position, location, products_services_sold, number_of_employees,
		current_payment_processor, monthly_transaction_volume, interested_in_switching, process_stage, buying_role,
		assigned_to, notes, last_contacted, archived, created_by, status, metadata, rotation_id, rotation_turn,
		assigned_at, email_norm, email_unique, idempotency_key, idempotency_fingerprint, created_at, updated_at,
		assignment_pending)
), ids AS (
	SELECT ord, nextval(pg_get_serial_sequence('leads', 'id')) AS id FROM v ORDER BY ord
), new_leads AS (
	INSERT INTO leads (id, account_id, team_id, lead_source_id, application_id, first_name, last_name, img_src, email,
		phone, company, job_title, branch, source, position, location, products_services_sold, number_of_employees,
		current_payment_processor, monthly_transaction_volume, interested_in_switching, process_stage, buying_role,
		assigned_to, notes, last_contacted, archived, created_by, status, metadata, rotation_id, rotation_turn,
		assigned_at, email_norm, email_unique, idempotency_key, idempotency_fingerprint, created_at, updated_at,
		assignment_pending)
	SELECT ids.id, v.account_id, v.team_id, v.lead_source_id, v.application_id, v.first_name, v.last_name, v.img_src,
		v.email, v.phone, v.company, v.job_title, v.branch, v.source, v.position, v.location, v.products_services_sold,
		v.number_of_employees, v.current_payment_processor, v.monthly_transaction_volume, v.interested_in_switching,
		v.process_stage, v.buying_role, v.assigned_to, v.notes, v.last_contacted, v.archived, v.created_by, v.status,
		v.metadata::jsonb, v.rotation_id, v.rotation_turn, v.assigned_at, v.email_norm, v.email_unique,
		v.idempotency_key, v.idempotency_fingerprint, v.created_at, v.updated_at, v.assignment_pending
	FROM v JOIN ids USING (ord) ORDER BY ord
	ON CONFLICT DO NOTHING
	RETURNING id
), ins AS (
	SELECT ids.ord, ids.id FROM ids JOIN new_leads USING (id)
), new_turns AS (
	INSERT INTO rotation_turns (rotation_id, turn, assignee, lead_id, assigned_at, state)
	SELECT t.rotation_id, t.turn, t.assignee, ins.id, t.assigned_at, t.state
	FROM unnest($40::int4[], $41::int8[], $42::int8[], $43::text[], $44::timestamptz[], $65::text[])
		AS t(ord, rotation_id, turn, assignee, assigned_at, state)
	JOIN ins USING (ord)
), new_skips AS (
	INSERT INTO rotation_skips (rotation_id, turn, member, reason, slots, skipped_at)
	SELECT k.rotation_id, k.turn, k.member, k.reason, k.slots, k.skipped_at
	FROM unnest($45::int4[], $46::int8[], $47::int8[], $48::text[], $49::text[], $50::int4[], $51::timestamptz[])
		AS k(ord, rotation_id, turn, member, reason, slots, skipped_at)
	JOIN ins USING (ord)
), new_audit AS (
	INSERT INTO audit_log (account_id, lead_id, event, user_email, api_key, data, request_method, request_path,
		request_headers, request_ip, created_at)
	SELECT a.account_id, ins.id, a.event, a.user_email, a.api_key, a.data::jsonb, a.request_method, a.request_path,
		a.request_headers::jsonb, a.request_ip, a.created_at
	FROM unnest($52::int4[], $53::int4[], $54::text[], $55::text[], $56::text[], $57::text[], $58::text[], $59::text[],
		$60::text[], $61::text[], $62::text[], $63::timestamptz[])
		AS a(ord, seq, account_id, event, user_email, api_key, data, request_method, request_path, request_headers,
			request_ip, created_at)
	JOIN ins USING (ord) ORDER BY a.ord, a.seq
	RETURNING id, lead_id
)
SELECT ids.ord, ins.id,
	(SELECT string_agg(na.id::text, ',' ORDER BY na.id) FROM new_audit AS na WHERE na.lead_id = ins.id)
FROM ids LEFT JOIN ins USING (ord) ORDER BY ids.ord`

// batchColumns gathers a batch's values column by column: cols[i] is
// parameter $(i+1) of insertBatchSQL.
type batchColumns struct {
	cols [65][]any
}

// Where insertBatchSQL's columns start, as indexes of batchColumns.cols.
const (
	colLead    = 1  // the lead columns before assignment_pending ($2..$39)
	colTurn    = 39 // ord, rotation_id, turn, assignee, assigned_at ($40..$44)
	colSkip    = 44 // ord, rotation_id, turn, member, reason, slots, skipped_at ($45..$51)
	colAudit   = 51 // ord, seq ($52, $53), then the audit columns ($54..$63)
	colPending = 63 // leads.assignment_pending ($64)
	colState   = 64 // rotation_turns.state ($65)
)

func (c *batchColumns) add(from int, vals ...any) {
	for i, v := range vals {
		c.cols[from+i] = append(c.cols[from+i], v)
	}
}

// insertBatchPostgres writes batch in one statement and sets each lead's
// outcome; leads the statement did not write are retried alone.
func (s *Store) insertBatchPostgres(ctx context.Context, batch []*pendingInsert) {
	var c batchColumns
	for i, p := range batch {
		ord := int32(i)
		r := p.rows
		args, err := leadArgs(r.lead)
		if err != nil {
			p.err = err
			continue
		}
		c.add(0, ord)
		last := len(args) - 1 // assignment_pending, added after the others
		c.add(colLead, args[:last]...)
		c.add(colPending, args[last])
		if r.turn != nil {
			c.add(colTurn, ord, r.turn.RotationID, r.turn.Turn, r.turn.Assignee, r.turn.AssignedAt)
			c.add(colState, nullString(r.turn.State))
		}
		for _, sk := range r.skips {
			c.add(colSkip, ord, sk.RotationID, sk.Turn, sk.Member, sk.Reason, int32(sk.Slots), sk.SkippedAt)
		}
		for j := range r.audit {
			a, err := auditArgs(&r.audit[j])
			if err != nil {
				p.err = err
				break
			}
			c.add(colAudit, ord, int32(j))
			c.add(colAudit+2, a...)
		}
	}
	written := make([]bool, len(batch))
	err := s.runBatchPostgres(ctx, batch, &c, written)
	switch {
	case err == nil || leads.ErrorCode(err) == leads.CodeInternal && ctx.Err() == nil:
		// Written, or refused by the database (a team deleted meanwhile,
		// say), which wrote nothing: the leads not written are retried
		// alone, and each gets its own outcome.
	case leads.ErrorCode(err) == leads.CodeOutcomeUnknown:
		// Each lead's outcome is its batch's, whatever it is.
		for _, p := range batch {
			if p.err == nil {
				p.err = unknownOutcome(p.rows.lead.ID, err)
			}
		}
		return
	case ctx.Err() != nil:
		// The earliest deadline of the batch passed and nothing was
		// written: the leads with time left are retried alone.
	default:
		// The database is unavailable: nothing was written, and writing
		// the leads again, one by one, would multiply the outage's load.
		for _, p := range batch {
			if p.err == nil {
				p.err = err
			}
		}
		return
	}
	s.retryAlone(batch, func(i int) bool { return written[i] || batch[i].err != nil })
}

func (s *Store) runBatchPostgres(ctx context.Context, batch []*pendingInsert, c *batchColumns, written []bool) error {
	args := make([]any, 0, len(c.cols)+1)
	args = append(args, prepared)
	for i, col := range c.cols {
		args = append(args, typedArray(i, col))
	}
	err := s.writePostgres(ctx, func(ctx context.Context, tx pgx.Tx) ([]int64, error) {
		s.observed(ctx, insertBatchSQL)
		rows, err := tx.Query(ctx, insertBatchSQL, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var ord int32
			var id sql.NullInt64
			var auditIDs sql.NullString
			if err := rows.Scan(&ord, &id, &auditIDs); err != nil {
				return nil, err
			}
			if !id.Valid || int(ord) >= len(batch) {
				continue // skipped by a unique rule: retried alone
			}
			r := batch[ord].rows
			parts := strings.Split(auditIDs.String, ",")
			if len(parts) != len(r.audit) {
				return nil, fmt.Errorf("lead %d: %d audit ids for %d entries", id.Int64, len(parts), len(r.audit))
			}
			for j := range r.audit {
				if r.audit[j].ID, err = strconv.ParseInt(parts[j], 10, 64); err != nil {
					return nil, fmt.Errorf("audit id: %w", err)
				}
				r.audit[j].LeadID = id.Int64
			}
			r.lead.ID = id.Int64
			ids = append(ids, id.Int64)
			written[ord] = true
		}
		return ids, rows.Err()
	})
	if err != nil {
		// Not committed (or not known to be): no lead of it is written.
		for i := range written {
			written[i] = false
		}
	}
	return err
}

// typedArray turns column i's values into a slice pgx encodes as the array
// type the statement casts it to, with nil elements as NULL.
func typedArray(i int, vals []any) any {
	switch i {
	case 0, 39, 44, 49, 51, 52: // ord, seq, slots
		return convert(vals, func(v any) int32 { return v.(int32) })
	case 2, 3, 17, 19, 30, 31, 40, 41, 45, 46: // bigint, nullable or not
		return convert(vals, func(v any) *int64 { return int64Ptr(v) })
	case 20, 26, colPending: // booleans
		return convert(vals, func(v any) *bool { return boolPtr(v) })
	case 25, 32, 37, 38, 43, 50, 62: // timestamps
		return convert(vals, func(v any) *time.Time { return timePtr(v) })
	}
	return convert(vals, func(v any) *string { return stringPtr(v) })
}

func convert[T any](vals []any, f func(any) T) []T {
	out := make([]T, len(vals))
	for i, v := range vals {
		out[i] = f(v)
	}
	return out
}

func int64Ptr(v any) *int64 {
	switch x := v.(type) {
	case int64:
		return &x
	case *int64:
		return x
	case sql.NullInt64:
		if x.Valid {
			return &x.Int64
		}
	}
	return nil
}

func boolPtr(v any) *bool {
	switch x := v.(type) {
	case bool:
		return &x
	case *bool:
		return x
	}
	return nil
}

func timePtr(v any) *time.Time {
	switch x := v.(type) {
	case time.Time:
		return &x
	case *time.Time:
		return x
	}
	return nil
}

func stringPtr(v any) *string {
	switch x := v.(type) {
	case string:
		return &x
	case *string:
		return x
	case sql.NullString:
		if x.Valid {
			return &x.String
		}
	case json.RawMessage:
		s := string(x)
		return &s
	}
	return nil
}
