package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/leadrotor/leadrotor/leads"
)

// insertBatch writes a batch of leads in one statement. Every column comes
// as one array parameter (unnest zips them into rows), so the text is the
// same for every batch size and is prepared once per connection. Lead ids
// are drawn in request order; a lead that breaks a unique rule is skipped
// (ON CONFLICT DO NOTHING) with its turn, skips and audit entries, and
// retried alone by the caller. Audit entries are inserted in order, so that
// their ids follow the order of events. It returns, per lead in request
// order, the new id (NULL when skipped) and its audit ids. The statement is
// built from leadColumns and auditColumns, once.
var insertBatch = newBatchStatement()

// batchStatement is the batch insert and the layout of its parameters.
type batchStatement struct {
	sql string
	// types are the element types of the array parameters, $1 first.
	types []string
	// Where each part's parameters start, as indexes of types: each part
	// starts with ord (and the audit entries' with ord, seq).
	lead, turn, skip, audit int
}

// batchParam is an array parameter of the batch statement that is not a
// column of leadColumns or auditColumns.
type batchParam struct{ name, sqlType string }

// The parameters of a lead's turn and skips, after their ord.
var (
	batchTurnParams = []batchParam{{"rotation_id", "int8"}, {"turn", "int8"}, {"assignee", "text"},
		{"assigned_at", "timestamptz"}, {"state", "text"}}
	batchSkipParams = []batchParam{{"rotation_id", "int8"}, {"turn", "int8"}, {"member", "text"}, {"reason", "text"},
		{"slots", "int4"}, {"skipped_at", "timestamptz"}}
)

func newBatchStatement() batchStatement {
	var st batchStatement
	// unnest returns the parameters of ps, typed, and their names (as the
	// AS alias(...) list).
	unnest := func(ps []batchParam) (params, names string) {
		p, n := make([]string, len(ps)), make([]string, len(ps))
		for i, c := range ps {
			typ := c.sqlType
			if typ == "jsonb" {
				typ = "text" // cast back in the SELECT
			}
			st.types = append(st.types, typ)
			p[i], n[i] = fmt.Sprintf("$%d::%s[]", len(st.types), typ), c.name
		}
		return strings.Join(p, ", "), strings.Join(n, ", ")
	}
	// values returns the SELECT list of ps from alias, JSON cast back.
	values := func(alias string, ps []batchParam) string {
		v := make([]string, len(ps))
		for i, c := range ps {
			v[i] = alias + "." + c.name
			if c.sqlType == "jsonb" {
				v[i] += "::jsonb"
			}
		}
		return strings.Join(v, ", ")
	}
	ord := batchParam{"ord", "int4"}
	leadParams := append([]batchParam{ord}, paramsOf(leadColumns)...)
	auditParams := append([]batchParam{ord, {"seq", "int4"}}, paramsOf(auditColumns)...)
	turnParams := append([]batchParam{ord}, batchTurnParams...)
	skipParams := append([]batchParam{ord}, batchSkipParams...)

	var b strings.Builder
	st.lead = len(st.types)
	params, names := unnest(leadParams)
	fmt.Fprintf(&b, `WITH v AS (
	SELECT * FROM unnest(%s) AS v(%s)
), ids AS (
	SELECT ord, nextval(pg_get_serial_sequence('leads', 'id')) AS id FROM v ORDER BY ord
), new_leads AS (
	INSERT INTO leads (id, %s)
	SELECT ids.id, %s
	FROM v JOIN ids USING (ord) ORDER BY ord
	ON CONFLICT DO NOTHING
	RETURNING id
), ins AS (
	SELECT ids.ord, ids.id FROM ids JOIN new_leads USING (id)
)`, params, names, columnNames(leadColumns, ""), values("v", leadParams[1:]))
	st.turn = len(st.types)
	params, names = unnest(turnParams)
	fmt.Fprintf(&b, `, new_turns AS (
	INSERT INTO rotation_turns (rotation_id, turn, assignee, lead_id, assigned_at, state)
	SELECT t.rotation_id, t.turn, t.assignee, ins.id, t.assigned_at, t.state
	FROM unnest(%s) AS t(%s)
	JOIN ins USING (ord)
)`, params, names)
	st.skip = len(st.types)
	params, names = unnest(skipParams)
	fmt.Fprintf(&b, `, new_skips AS (
	INSERT INTO rotation_skips (rotation_id, turn, member, reason, slots, skipped_at)
	SELECT k.rotation_id, k.turn, k.member, k.reason, k.slots, k.skipped_at
	FROM unnest(%s) AS k(%s)
	JOIN ins USING (ord)
)`, params, names)
	st.audit = len(st.types)
	params, names = unnest(auditParams)
	fmt.Fprintf(&b, `, new_audit AS (
	INSERT INTO audit_log (lead_id, %s)
	SELECT ins.id, %s
	FROM unnest(%s) AS a(%s)
	JOIN ins USING (ord) ORDER BY a.ord, a.seq
	RETURNING id, lead_id
)
SELECT ids.ord, ins.id,
	(SELECT string_agg(na.id::text, ',' ORDER BY na.id) FROM new_audit AS na WHERE na.lead_id = ins.id)
FROM ids LEFT JOIN ins USING (ord) ORDER BY ids.ord`, columnNames(auditColumns, ""), values("a", auditParams[2:]), params, names)
	st.sql = b.String()
	return st
}

// paramsOf returns the batch parameters of cols.
func paramsOf[R any](cols []column[R]) []batchParam {
	ps := make([]batchParam, len(cols))
	for i, c := range cols {
		ps[i] = batchParam{c.name, c.sqlType}
	}
	return ps
}

// batchColumns gathers a batch's values column by column: cols[i] is
// parameter $(i+1) of insertBatch.
type batchColumns struct {
	cols [][]any
	// keys are the idempotency keys of the batch's leads that have one.
	keys createdKeys
}

// newBatchColumns returns the columns of batch, each with room for its
// values: grown one append at a time, they were reallocated as often as
// their length doubled.
func newBatchColumns(batch []*pendingInsert) batchColumns {
	turns, skips, audit := 0, 0, 0
	for _, p := range batch {
		if p.rows.turn != nil {
			turns++
		}
		skips += len(p.rows.skips)
		audit += len(p.rows.audit)
	}
	c := batchColumns{cols: make([][]any, len(insertBatch.types))}
	for i := range c.cols {
		n := len(batch)
		switch {
		case i >= insertBatch.audit:
			n = audit
		case i >= insertBatch.skip:
			n = skips
		case i >= insertBatch.turn:
			n = turns
		}
		c.cols[i] = make([]any, 0, n)
	}
	return c
}

func (c *batchColumns) add(from int, vals ...any) {
	for i, v := range vals {
		c.cols[from+i] = append(c.cols[from+i], v)
	}
}

// insertBatchPostgres writes batch in one statement and sets each lead's
// outcome; leads the statement did not write are retried alone.
func (s *Store) insertBatchPostgres(ctx context.Context, batch []*pendingInsert) {
	c := newBatchColumns(batch)
	for i, p := range batch {
		ord := int32(i)
		r := p.rows
		args, err := columnArgs(leadColumns, r.lead)
		if err != nil {
			p.err = err
			continue
		}
		c.add(insertBatch.lead, ord)
		c.add(insertBatch.lead+1, args...)
		c.keys.add(r.lead)
		if t := r.turn; t != nil {
			c.add(insertBatch.turn, ord, t.RotationID, t.Turn, t.Assignee, t.AssignedAt, nullString(t.State))
		}
		for _, sk := range r.skips {
			c.add(insertBatch.skip, ord, sk.RotationID, sk.Turn, sk.Member, sk.Reason, int32(sk.Slots), sk.SkippedAt)
		}
		for j := range r.audit {
			a, err := columnArgs(auditColumns, &r.audit[j])
			if err != nil {
				p.err = err
				break
			}
			c.add(insertBatch.audit, ord, int32(j))
			c.add(insertBatch.audit+2, a...)
		}
	}
	written := make([]bool, len(batch))
	err := s.runBatchPostgres(ctx, batch, &c, written)
	switch {
	case err == nil || leads.ErrorCode(err) == leads.CodeInternal && ctx.Err() == nil,
		errors.Is(err, leads.ErrIdempotencyKeyTaken):
		// Written, or refused by the database (a team deleted meanwhile,
		// say) or for a key an update stored, which wrote nothing: the
		// leads not written are retried alone, and each gets its own
		// outcome.
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
	args := make([]any, 0, len(c.cols))
	for i, col := range c.cols {
		args = append(args, typedArray(insertBatch.types[i], col))
	}
	var after func() // the events' hand-off
	err := s.writePostgres(ctx, func(ctx context.Context, tx pgx.Tx) ([]int64, error) {
		if err := s.claimCreatedKeysPostgres(ctx, tx, &c.keys); err != nil {
			return nil, err
		}
		s.observed(ctx, insertBatch.sql)
		rows, err := tx.Query(ctx, insertBatch.sql, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var ids []int64
		var out outbox
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
			out.add(r.events, r.timer, id.Int64)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		rows.Close()
		// The events of the leads written, in the same transaction; a lead
		// skipped by a unique rule is retried alone, with its events.
		if after, err = s.handOffEventsPgx(ctx, tx, out); err != nil {
			return nil, err
		}
		return ids, nil
	})
	if err != nil {
		// Not committed (or not known to be): no lead of it is written.
		for i := range written {
			written[i] = false
		}
		return err
	}
	committed(after)
	return nil
}

// typedArray turns a column's values into an array pgx encodes as the
// array of sqlType the statement casts it to, with nil elements as NULL.
// The elements are pgtype values, not pointers: a pointer per value was an
// allocation per column of every lead of every batch; and pgArray hands
// them to pgx without copying each into an interface.
func typedArray(sqlType string, vals []any) any {
	switch sqlType {
	case "int4": // ord, seq, slots
		return convert(vals, func(v any) pgtype.Int4 { return pgtype.Int4{Int32: v.(int32), Valid: true} })
	case "int8":
		return convert(vals, func(v any) pgtype.Int8 {
			if p := int64Ptr(v); p != nil {
				return pgtype.Int8{Int64: *p, Valid: true}
			}
			return pgtype.Int8{}
		})
	case "bool":
		return convert(vals, func(v any) pgtype.Bool {
			if p := boolPtr(v); p != nil {
				return pgtype.Bool{Bool: *p, Valid: true}
			}
			return pgtype.Bool{}
		})
	case "timestamptz":
		return convert(vals, func(v any) pgtype.Timestamptz {
			if p := timePtr(v); p != nil {
				return pgtype.Timestamptz{Time: *p, Valid: true}
			}
			return pgtype.Timestamptz{}
		})
	}
	return convert(vals, func(v any) pgtype.Text {
		if p := stringPtr(v); p != nil {
			return pgtype.Text{String: *p, Valid: true}
		}
		return pgtype.Text{}
	})
}

func convert[T any](vals []any, f func(any) T) pgArray[T] {
	out := make(pgArray[T], len(vals))
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
