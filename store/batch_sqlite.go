package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// SQLite's statements of the create path, prepared once on its one
// connection: parsing them per lead was a quarter of the server's time.
type sqliteStatements struct {
	once                    sync.Once
	err                     error
	lead, turn, skip, audit *sql.Stmt
	check                   *sql.Stmt
}

func (s *Store) sqlitePrepared(ctx context.Context) (*sqliteStatements, error) {
	st := &s.sqliteStmts
	st.once.Do(func() {
		prepare := func(query string) *sql.Stmt {
			if st.err != nil {
				return nil
			}
			var stmt *sql.Stmt
			stmt, st.err = s.db.DB.PrepareContext(ctx, query)
			return stmt
		}
		marks := func(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
		// No RETURNING: SQLite runs it as a trigger, which makes the
		// insert open a statement journal in a transaction, a copy of
		// every page it touches and, on modernc's allocator, a 64 KB chunk
		// mapped and unmapped each time: most of the insert's cost
		// (BenchmarkInsertLead, docs/BENCHMARKS.md). The ids come from
		// LastInsertId.
		st.lead = prepare(fmt.Sprintf("INSERT INTO leads (%s) VALUES (%s)", columnNames(leadColumns, ""), marks(len(leadColumns))))
		st.turn = prepare("INSERT INTO rotation_turns (rotation_id, turn, assignee, lead_id, assigned_at, state) VALUES (?, ?, ?, ?, ?, ?)")
		st.skip = prepare("INSERT INTO rotation_skips (rotation_id, turn, member, reason, slots, skipped_at) VALUES (?, ?, ?, ?, ?, ?)")
		st.audit = prepare(fmt.Sprintf("INSERT INTO audit_log (lead_id, %s) VALUES (%s)", columnNames(auditColumns, ""), marks(1+len(auditColumns))))
		// database/sql with SQLite binds ?NNN parameters by number. The
		// check runs on the readers when there are.
		check := strings.NewReplacer("$1", "?1", "$2", "?2", "$3", "?3", "$4", "?4", "$5", "?5", "$6", "?6").Replace(leadFactsWithKeySQL)
		if s.reader != nil && st.err == nil {
			st.check, st.err = s.reader.PrepareContext(ctx, check)
		} else {
			st.check = prepare(check)
		}
	})
	return st, st.err
}

// sqliteTimeFormat is how bun writes times to SQLite; the hand-written
// statements write them alike, so that text order stays time order.
const sqliteTimeFormat = "2006-01-02 15:04:05.999999-07:00"

// sqliteArgs writes times as bun does.
func sqliteArgs(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = v.UTC().Format(sqliteTimeFormat)
		case *time.Time:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = v.UTC().Format(sqliteTimeFormat)
			}
		}
	}
	return args
}

// insertRowsSQLite writes one lead's rows in tx, not its events (see
// insertBatchSQLite).
func (s *Store) insertRowsSQLite(ctx context.Context, tx *sql.Tx, st *sqliteStatements, r *leadRows) error {
	if err := s.claimCreatedKeySQLite(ctx, tx, r.lead); err != nil {
		return err
	}
	args, err := columnArgs(leadColumns, r.lead)
	if err != nil {
		return err
	}
	s.observed(ctx, "INSERT INTO leads")
	id, err := insertedID(tx.StmtContext(ctx, st.lead).ExecContext(ctx, sqliteArgs(args)...))
	if err != nil {
		return err
	}
	r.lead.ID = id
	if t := r.turn; t != nil {
		s.observed(ctx, "INSERT INTO rotation_turns")
		if _, err := tx.StmtContext(ctx, st.turn).ExecContext(ctx, sqliteArgs([]any{t.RotationID, t.Turn, t.Assignee, r.lead.ID, t.AssignedAt, nullString(t.State)})...); err != nil {
			return err
		}
	}
	for _, k := range r.skips {
		s.observed(ctx, "INSERT INTO rotation_skips")
		if _, err := tx.StmtContext(ctx, st.skip).ExecContext(ctx, sqliteArgs([]any{k.RotationID, k.Turn, k.Member, k.Reason, k.Slots, k.SkippedAt})...); err != nil {
			return err
		}
	}
	for i := range r.audit {
		a, err := columnArgs(auditColumns, &r.audit[i])
		if err != nil {
			return err
		}
		args := sqliteArgs(append([]any{r.lead.ID}, a...))
		s.observed(ctx, "INSERT INTO audit_log")
		if r.audit[i].ID, err = insertedID(tx.StmtContext(ctx, st.audit).ExecContext(ctx, args...)); err != nil {
			return err
		}
		r.audit[i].LeadID = r.lead.ID
	}
	return nil
}

// insertedID is the id of the row an INSERT wrote (its rowid).
func insertedID(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// insertLeadSQLite writes one lead in its own transaction.
func (s *Store) insertLeadSQLite(ctx context.Context, r *leadRows) error {
	st, err := s.sqlitePrepared(ctx)
	if err != nil {
		return err
	}
	s.observed(ctx, "BEGIN")
	tx, err := s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := s.insertRowsSQLite(ctx, tx, st, r); err != nil {
		_ = tx.Rollback()
		return err
	}
	after, err := s.handOffEvents(ctx, tx, leadOutbox(r.events, r.timer, r.lead.ID))
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	s.observed(ctx, "COMMIT")
	if err := tx.Commit(); err != nil {
		return err
	}
	committed(after)
	return nil
}

// insertBatchSQLite writes a batch in one transaction, and the events and
// timers of its leads in one job insert at the end, as on PostgreSQL: an
// insert per lead (a statement SQLite parses each time) had made the SLA's
// timers cost 60 % of intake and a webhook's events 80 %. A lead that
// fails (a unique rule broken by a lead of the same batch, a rare race)
// rolls the whole transaction back, and each lead is written again alone,
// so that only the failing one fails. A savepoint per lead isolated the
// failure in place, but each one copied every page its lead touched to the
// savepoint's sub-journal: 12.5 % of the process, for a case that almost
// never happens.
func (s *Store) insertBatchSQLite(ctx context.Context, batch []*pendingInsert) {
	fail := func(err error) {
		for _, p := range batch {
			if p.err == nil {
				p.err = err
			}
		}
	}
	st, err := s.sqlitePrepared(ctx)
	if err != nil {
		fail(err)
		return
	}
	tx, err := s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	var o outbox
	for _, p := range batch {
		if err = s.insertRowsSQLite(ctx, tx, st, p.rows); err != nil {
			break
		}
		o.add(p.rows.events, p.rows.timer, p.rows.lead.ID)
	}
	var after func() // the events' hand-off
	if err == nil {
		after, err = s.handOffEvents(ctx, tx, o)
	}
	if err != nil {
		_ = tx.Rollback()
	} else if err = tx.Commit(); err == nil {
		committed(after)
	}
	if err != nil {
		// Nothing was written: each lead is retried alone.
		s.retryAlone(batch, func(int) bool { return false })
	}
}

// leadFactsWithKeySQL is LeadFacts with the credential lookup in the same
// statement: one row always, the account and key joined in when they exist
// (SQLite's, its $N made ?N; PostgreSQL reads many at once,
// leadFactsBatchSQL). The
// lookups restate "IS NOT NULL": the indexes they use are partial
// (idempotency keys, emails and external ids are often absent), and a
// prepared statement's generic plan may use a partial index only when the
// query implies its predicate. Without it each check scanned all of the
// account's leads.
var leadFactsWithKeySQL = `SELECT a.config_version, ` + idempotentLeadSQL("$4", "$1") + `,
	(SELECT l.id FROM leads AS l WHERE l.account_id = $4 AND l.email_norm = $2 AND l.email_norm IS NOT NULL AND l.id <> $3 ORDER BY l.id LIMIT 1),
	(SELECT l.id FROM leads AS l WHERE l.account_id = $4 AND l.external_id = $6 AND l.external_id IS NOT NULL AND l.id <> $3),
	k.id, k.email, k.prefix, k.hash, k.name, k.created_at, k.last_used_at, k.revoked_at, m.role
FROM (SELECT 1) AS one
LEFT JOIN accounts AS a ON a.id = $4
LEFT JOIN api_keys AS k ON k.hash = $5
LEFT JOIN members AS m ON m.account_id = $4 AND m.email = k.email`

// leadFactsWithKey runs the combined check (query holds $1..$6 as in
// leadFactsWithKeySQL) through row, which binds the arguments.
func (s *Store) leadFactsWithKey(ctx context.Context, query string, q leads.LeadFactsQuery, row func(query string, args ...any) *sql.Row) (leads.LeadFacts, error) {
	var version, idemID, dupID, extID, keyID sql.NullInt64
	var idemFP, email, prefix, hash, name, role sql.NullString
	var created, lastUsed, revoked sql.NullTime
	s.observed(ctx, query)
	err := row(query, nullString(q.IdempotencyKey), nullString(q.EmailKey), q.ExcludeLeadID, q.AccountID, q.KeyHash, nullString(q.ExternalID)).
		Scan(&version, &idemID, &idemFP, &dupID, &extID, &keyID, &email, &prefix, &hash, &name, &created, &lastUsed, &revoked, &role)
	if err != nil {
		return leads.LeadFacts{}, fmt.Errorf("lead facts: %w", err)
	}
	res := leads.LeadFacts{ConfigVersion: version.Int64, IdempotentLeadID: idemID.Int64,
		IdempotentFingerprint: idemFP.String, DuplicateLeadID: dupID.Int64, DuplicateExternalLeadID: extID.Int64}
	if keyID.Valid {
		k := leads.APIKey{ID: keyID.Int64, Email: email.String, Prefix: prefix.String, Name: name.String, CreatedAt: created.Time.UTC()}
		if lastUsed.Valid {
			t := lastUsed.Time.UTC()
			k.LastUsedAt = &t
		}
		if revoked.Valid {
			t := revoked.Time.UTC()
			k.RevokedAt = &t
		}
		res.Credential = &leads.Credential{Key: k, Hash: hash.String, Role: leads.Role(role.String)}
	}
	return res, nil
}

// insertLeadShapes caches the SQL of the insert statement by its shape: with
// a turn or not, how many skips, how many audit entries. A handful of
// shapes occur, and each is prepared once per connection.
var insertLeadShapes sync.Map // map[[3]int]string
