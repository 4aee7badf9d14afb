package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

// An Idempotency-Key is used by one write per account, but it is stored in
// one of two places: on the row of the lead a create made
// (leads.idempotency_key, unique per account), or in idempotency_keys for
// an upsert that updated a lead it found. Each place's unique index keeps
// two writes of its own kind apart; a create and an update with one key
// meet in no index. So each write with a key also looks in the other
// place, inside its transaction: on SQLite its one writer orders the two;
// on PostgreSQL both first take a transaction-scoped advisory lock of the
// key, so that the look, a statement that starts once the lock is held,
// sees the other write committed (READ COMMITTED takes each statement's
// snapshot at its start). A create batch takes its keys' locks first, in
// one order, before any row: it holds no lock a waiter for its keys holds
// (an update holds its lead's row, which no create waits for).

// keyLockName is the name (see lockKey) of the advisory lock of an
// idempotency key, from its account (a) and key (k) as SQL expressions. A
// collision of two names' keys only makes their writes wait for each other.
func keyLockName(a, k string) string {
	return "'idempotency key ' || " + a + " || ' ' || " + k
}

// lockKeysSQL locks the keys of $2 in the accounts of $1 (arrays of one
// length), in the order of their lock keys (the subquery's order is the
// order the aggregate calls the lock in).
var lockKeysSQL = `SELECT count(pg_advisory_xact_lock(h)) FROM (
	SELECT DISTINCT ` + lockKey(keyLockName("u.a", "u.k")) + ` AS h FROM unnest($1::text[], $2::text[]) AS u(a, k) ORDER BY h
) AS l`

// updatedKeysSQL reports whether an update stored any key of $2 in the
// accounts of $1.
const updatedKeysSQL = `SELECT EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[]) AS u(a, k)
	JOIN idempotency_keys AS i ON i.account_id = u.a AND i.key = u.k)`

// createdKeys are the idempotency keys of the leads a write creates, with
// their accounts (those without a key are left out).
type createdKeys struct{ accounts, keys []string }

func (c *createdKeys) add(lead *leadRow) {
	if lead.IdempotencyKey != "" {
		c.accounts, c.keys = append(c.accounts, lead.AccountID), append(c.keys, lead.IdempotencyKey)
	}
}

// claimCreatedKeysPostgres locks, in tx, the idempotency keys c and fails
// with leads.ErrIdempotencyKeyTaken when an update stored one of them
// first. No keys, no statement.
func (s *Store) claimCreatedKeysPostgres(ctx context.Context, tx pgx.Tx, c *createdKeys) error {
	if len(c.keys) == 0 {
		return nil
	}
	s.observed(ctx, lockKeysSQL)
	if _, err := tx.Exec(ctx, lockKeysSQL, c.accounts, c.keys); err != nil {
		return fmt.Errorf("lock idempotency keys: %w", err)
	}
	var taken bool
	s.observed(ctx, updatedKeysSQL)
	if err := tx.QueryRow(ctx, updatedKeysSQL, c.accounts, c.keys).Scan(&taken); err != nil {
		return fmt.Errorf("look for updates' idempotency keys: %w", err)
	}
	if taken {
		return leads.ErrIdempotencyKeyTaken
	}
	return nil
}

// claimCreatedKeySQLite fails with leads.ErrIdempotencyKeyTaken when an
// update stored lead's idempotency key first; tx is the one writer's.
func (s *Store) claimCreatedKeySQLite(ctx context.Context, tx *sql.Tx, lead *leadRow) error {
	if lead.IdempotencyKey == "" {
		return nil
	}
	var taken bool
	const query = "SELECT EXISTS (SELECT 1 FROM idempotency_keys WHERE account_id = ? AND key = ?)"
	s.observed(ctx, query)
	if err := tx.QueryRowContext(ctx, query, lead.AccountID, lead.IdempotencyKey).Scan(&taken); err != nil {
		return fmt.Errorf("look for updates' idempotency keys: %w", err)
	}
	if taken {
		return leads.ErrIdempotencyKeyTaken
	}
	return nil
}

// claimUpdateKey locks, in tx, the idempotency key an update of a lead of
// account stores (PostgreSQL), and fails with leads.ErrIdempotencyKeyTaken
// when a created lead holds it. Its insert into idempotency_keys, after,
// keeps two updates with the key apart.
func (s *Store) claimUpdateKey(ctx context.Context, tx bun.Tx, account, key string) error {
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+lockKey(keyLockName("?", "?"))+")", account, key); err != nil {
			return fmt.Errorf("lock idempotency key: %w", err)
		}
	}
	var taken bool
	err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM leads
		WHERE account_id = ? AND idempotency_key = ? AND idempotency_key IS NOT NULL)`, account, key).Scan(&taken)
	if err != nil {
		return fmt.Errorf("look for created leads' idempotency keys: %w", err)
	}
	if taken {
		return leads.ErrIdempotencyKeyTaken
	}
	return nil
}
