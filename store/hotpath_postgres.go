package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/leadrotor/leadrotor/leads"
)

// The statements of the create path, on PostgreSQL, written by hand with bind
// parameters. bun writes values into the SQL text, so its statements cannot
// be prepared once and reused; these are, by pgx's statement cache
// (QueryExecModeCacheStatement), once per connection (behind a pooler, see
// Store.prepared). On this path that is
// worth it: PostgreSQL parses and plans nothing per lead, and with pgbench
// the two reads ran 3.6 times as fast prepared as as plain text, the insert
// 1.4 times (docs/BENCHMARKS.md). Everything else stays with bun.

const credentialSQL = `SELECT k.id, k.email, k.prefix, k.hash, k.name, k.created_at, k.last_used_at, k.revoked_at, m.role
FROM api_keys AS k LEFT JOIN members AS m ON m.account_id = $2 AND m.email = k.email
WHERE k.hash = $1`

func (s *Store) credentialPostgres(ctx context.Context, hash, accountID string) (*leads.Credential, error) {
	var row apiKeyRow
	var role sql.NullString
	s.observed(ctx, credentialSQL)
	err := s.db.DB.QueryRowContext(ctx, credentialSQL, s.prepared(), hash, accountID).
		Scan(&row.ID, &row.Email, &row.Prefix, &row.Hash, &row.Name, &row.CreatedAt, &row.LastUsedAt, &row.RevokedAt, &role)
	if err != nil {
		return nil, notFound(err, "API key")
	}
	return &leads.Credential{Key: *row.apiKey(), Hash: row.Hash, Role: leads.Role(role.String)}, nil
}

func insertLeadSQL(turn bool, skips, audits int) string {
	key := [3]int{btoi(turn), skips, audits}
	if q, ok := insertLeadShapes.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	params := func(k int) string {
		p := make([]string, k)
		for i := range p {
			n++
			p[i] = fmt.Sprintf("$%d", n)
		}
		return strings.Join(p, ", ")
	}
	fmt.Fprintf(&b, "WITH new_lead AS (INSERT INTO leads (%s) VALUES (%s) RETURNING id)", columnNames(leadColumns, ""), params(len(leadColumns)))
	if turn {
		fmt.Fprintf(&b, ", new_turn AS (INSERT INTO rotation_turns (rotation_id, turn, assignee, lead_id, assigned_at, state) SELECT %s, id, %s FROM new_lead)", params(3), params(2))
	}
	if skips > 0 {
		rows := make([]string, skips)
		for i := range rows {
			rows[i] = "(" + params(6) + ")"
		}
		fmt.Fprintf(&b, ", new_skips AS (INSERT INTO rotation_skips (rotation_id, turn, member, reason, slots, skipped_at) VALUES %s)", strings.Join(rows, ", "))
	}
	rows := make([]string, audits)
	for i := range rows {
		rows[i] = "((SELECT id FROM new_lead), " + params(len(auditColumns)) + ")"
	}
	fmt.Fprintf(&b, " INSERT INTO audit_log (lead_id, %s) VALUES %s RETURNING id, lead_id", columnNames(auditColumns, ""), strings.Join(rows, ", "))
	q := b.String()
	insertLeadShapes.Store(key, q)
	return q
}

// insertLeadPostgres writes one lead on PostgreSQL: the lead, its turn, the
// turn's skips and the audit entries, one prepared statement in a
// transaction of its own (see writePostgres).
func (s *Store) insertLeadPostgres(ctx context.Context, lead *leadRow, turn *turnRow, skips []skipRow, audit []auditRow, events []leads.Event, timer *leads.SLATimer) error {
	args, err := columnArgs(leadColumns, lead)
	if err != nil {
		return err
	}
	if turn != nil {
		args = append(args, turn.RotationID, turn.Turn, turn.Assignee, turn.AssignedAt, nullString(turn.State))
	}
	for _, sk := range skips {
		args = append(args, sk.RotationID, sk.Turn, sk.Member, sk.Reason, sk.Slots, sk.SkippedAt)
	}
	for i := range audit {
		a, err := columnArgs(auditColumns, &audit[i])
		if err != nil {
			return err
		}
		args = append(args, a...)
	}
	query := insertLeadSQL(turn != nil, len(skips), len(audit))
	var keys createdKeys
	keys.add(lead)
	var after func() // the events' hand-off
	err = s.writePostgres(ctx, func(ctx context.Context, tx pgx.Tx) ([]int64, error) {
		if err := s.claimCreatedKeysPostgres(ctx, tx, &keys); err != nil {
			return nil, err
		}
		s.observed(ctx, query)
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for i := 0; rows.Next(); i++ {
			if i < len(audit) {
				if err := rows.Scan(&audit[i].ID, &audit[i].LeadID); err != nil {
					return nil, err
				}
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		rows.Close()
		lead.ID = audit[0].LeadID
		if after, err = s.handOffEventsPgx(ctx, tx, leadOutbox(events, timer, lead.ID)); err != nil {
			return nil, err
		}
		return []int64{lead.ID}, nil
	})
	if err == nil {
		committed(after)
	}
	return err
}

// observed reports a hand-written statement to the observer, if any.
func (s *Store) observed(ctx context.Context, query string) {
	if s.observe != nil {
		s.observe(ctx, query)
	}
}

func nullInt(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: n != 0} }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
