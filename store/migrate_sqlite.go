package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/leadrotor/leadrotor/leads"
)

// sqliteMigrations are SQLite's migrations that SQL alone cannot write:
// they read the data to decide the statement, as PostgreSQL's do in a DO
// block. Each runs in a transaction, as the .tx.up.sql files do.
var sqliteMigrations = []struct {
	name, comment string
	up            func(ctx context.Context, tx *sql.Tx) error
}{
	{"20261205000022", "unique_turns_index", uniqueTurnsIndexSQLite},
	{"20261205000023", "phone_key", phoneKeySQLite},
}

// addSQLiteMigrations adds sqliteMigrations to ms.
func addSQLiteMigrations(ms *migrate.Migrations) {
	for _, m := range sqliteMigrations {
		up := m.up
		ms.Add(migrate.Migration{Name: m.name, Comment: m.comment,
			Up: func(ctx context.Context, migrator *migrate.Migrator, _ *migrate.Migration) error {
				return migrator.DB().RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return up(ctx, tx.Tx) })
			},
		})
	}
}

// uniqueTurnsIndexSQLite replaces the trigger of 000020, which refused a
// repeated (rotation_id, turn), with a unique index, as on PostgreSQL, and
// leaves the rows written before 000020 that repeat a number out of it
// (the first of each stays in). A trigger makes every insert into the
// table a statement that SQLite may have to undo halfway, so each one, in
// the group commit's transaction, opened a statement journal: a copy of
// every page the insert touched and, on modernc's allocator, a 64 KB chunk
// mapped and unmapped, 7–12 % of the embedded server's CPU at intake. A
// unique index refuses the same rows with the same message.
func uniqueTurnsIndexSQLite(ctx context.Context, tx *sql.Tx) error {
	var repeats sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT group_concat(id) FROM (
		SELECT id, row_number() OVER (PARTITION BY rotation_id, turn ORDER BY id) AS n FROM rotation_turns
	) WHERE n > 1`).Scan(&repeats); err != nil {
		return fmt.Errorf("find repeated turns: %w", err)
	}
	stmts := []string{"DROP TRIGGER IF EXISTS rotation_turns_turn_key"}
	if repeats.Valid {
		// The plain index stays for the queries: a partial one serves only
		// those that imply its condition.
		stmts = append(stmts, "CREATE UNIQUE INDEX IF NOT EXISTS rotation_turns_turn_key ON rotation_turns (rotation_id, turn) WHERE id NOT IN ("+repeats.String+")")
	} else {
		stmts = append(stmts, "CREATE UNIQUE INDEX IF NOT EXISTS rotation_turns_turn_key ON rotation_turns (rotation_id, turn)",
			"DROP INDEX IF EXISTS rotation_turns_turn")
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// phoneKeySQLite is PostgreSQL's 000023 (phone_key), on SQLite, which has
// no regular expressions: the leads stored before it are keyed by
// leads.PhoneKey itself, phoneKeyBatch at a time.
func phoneKeySQLite(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "ALTER TABLE leads ADD COLUMN phone_key text NOT NULL DEFAULT ''"); err != nil {
		return fmt.Errorf("add phone_key: %w", err)
	}
	set, err := tx.PrepareContext(ctx, "UPDATE leads SET phone_key = ? WHERE id = ?")
	if err != nil {
		return fmt.Errorf("key phones: %w", err)
	}
	defer func() { _ = set.Close() }()
	for after := int64(0); ; {
		ids, phones, err := phonesAfter(ctx, tx, after)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		for i, id := range ids {
			if k := leads.PhoneKey(phones[i]); k != "" {
				if _, err := set.ExecContext(ctx, k, id); err != nil {
					return fmt.Errorf("key phone of lead %d: %w", id, err)
				}
			}
		}
		after = ids[len(ids)-1]
	}
	for _, q := range []string{
		"DROP INDEX IF EXISTS leads_returning_phone",
		"CREATE INDEX leads_returning_phone ON leads (account_id, phone_key, created_at) WHERE phone_key <> ''",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// phoneKeyBatch is how many leads phoneKeySQLite reads at once.
const phoneKeyBatch = 10000

// phonesAfter returns, by id, up to phoneKeyBatch leads after the id after
// that have a phone.
func phonesAfter(ctx context.Context, tx *sql.Tx, after int64) (ids []int64, phones []string, err error) {
	rows, err := tx.QueryContext(ctx, "SELECT id, phone FROM leads WHERE id > ? AND phone <> '' ORDER BY id LIMIT ?", after, phoneKeyBatch)
	if err != nil {
		return nil, nil, fmt.Errorf("read phones: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var id int64
		var phone string
		if err := rows.Scan(&id, &phone); err != nil {
			return nil, nil, fmt.Errorf("read phones: %w", err)
		}
		ids, phones = append(ids, id), append(phones, phone)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read phones: %w", err)
	}
	return ids, phones, nil
}
