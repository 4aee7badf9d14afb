package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/leadrotor/leadrotor/leads"
)

// On PostgreSQL the LeadFacts reads of creates that arrive together are
// read together: one statement for all of them, as their writes are one
// transaction (group commit). A read alone goes at once; reads that arrive
// while one is under way wait for it and go together in the next. Every
// create used to send its own statement, and a statement costs PostgreSQL
// far more CPU than the index lookups in it (docs/BENCHMARKS.md, issue 18).
// Nothing is promised between a lead's read and its write either way: the
// unique indexes and the write's own checks decide races.

// maxFactsBatch bounds the reads of one statement.
const maxFactsBatch = 128

// factsTimeout bounds a statement of reads whose callers set no deadline.
const factsTimeout = 10 * time.Second

// leadFactsBatchSQL is leadFactsWithKeySQL for many queries at once, each
// a row of the arrays: the row number says whose answer a row is, the key
// join finds nothing for a query without a key hash, and a missing account
// leaves its column false. The lookups restate "IS NOT NULL" for the
// partial indexes, as leadFactsWithKeySQL does.
var leadFactsBatchSQL = `SELECT q.n, a.id IS NOT NULL, a.config_version, ` + idempotentLeadSQL("q.account", "q.idem") + `,
	(SELECT l.id FROM leads AS l WHERE l.account_id = q.account AND l.email_norm = q.email AND l.email_norm IS NOT NULL AND l.id <> q.exclude ORDER BY l.id LIMIT 1),
	(SELECT l.id FROM leads AS l WHERE l.account_id = q.account AND l.external_id = q.ext AND l.external_id IS NOT NULL AND l.id <> q.exclude),
	k.id, k.email, k.prefix, k.hash, k.name, k.created_at, k.last_used_at, k.revoked_at, m.role
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS q(idem, email, exclude, account, keyhash, ext, n)
LEFT JOIN accounts AS a ON a.id = q.account
LEFT JOIN api_keys AS k ON k.hash = q.keyhash
LEFT JOIN members AS m ON m.account_id = q.account AND m.email = k.email`

// factsQueue holds the reads waiting for a statement; up to max
// statements run at once.
type factsQueue = groupQueue[*pendingFacts]

// pendingFacts is one caller's read.
type pendingFacts struct {
	q        leads.LeadFactsQuery
	values   context.Context // the caller's, uncancelled: a read alone carries its trace
	deadline time.Time       // zero: none
	facts    leads.LeadFacts
	account  bool // the account exists
	err      error
	done     chan struct{}
}

// leadFactsPostgres answers q in a statement shared with the reads that
// arrive with it.
func (s *Store) leadFactsPostgres(ctx context.Context, q leads.LeadFactsQuery) (leads.LeadFacts, error) {
	p := &pendingFacts{q: q, values: context.WithoutCancel(ctx), done: make(chan struct{})}
	p.deadline, _ = ctx.Deadline()
	if s.factReads.join(p) {
		s.readFacts()
		s.factReads.release(s.drainFacts)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		// The statement may still answer; nobody waits for it.
		return leads.LeadFacts{}, fmt.Errorf("lead facts: %w", ctx.Err())
	}
	if p.err != nil {
		return leads.LeadFacts{}, p.err
	}
	if q.KeyHash == "" && !p.account {
		return leads.LeadFacts{}, leads.Errorf(leads.CodeNotFound, "account not found")
	}
	return p.facts, nil
}

// drainFacts reads until the queue is empty, then gives its place up.
func (s *Store) drainFacts() {
	for s.readFacts() {
	}
	s.factReads.release(s.drainFacts)
}

// readFacts answers the reads at the head of the queue in one statement;
// false when the queue is empty.
func (s *Store) readFacts() bool {
	batch := s.factReads.take(maxFactsBatch)
	if len(batch) == 0 {
		return false
	}
	// A statement of several callers' reads carries none of their values;
	// it ends with the last of their deadlines.
	values := context.Background()
	if len(batch) == 1 {
		values = batch[0].values
	}
	deadline := time.Now().Add(factsTimeout)
	if latest, ok := latestDeadline(batch); ok {
		deadline = latest
	}
	ctx, cancel := context.WithDeadline(values, deadline)
	defer cancel()
	err := s.queryFacts(ctx, batch)
	for _, p := range batch {
		if err != nil {
			p.err = err
		}
		close(p.done)
	}
	return true
}

// latestDeadline is the last of the reads' deadlines; false when one has
// none.
func latestDeadline(batch []*pendingFacts) (time.Time, bool) {
	var latest time.Time
	for _, p := range batch {
		if p.deadline.IsZero() {
			return time.Time{}, false
		}
		if p.deadline.After(latest) {
			latest = p.deadline
		}
	}
	return latest, true
}

// queryFacts runs the batch's statement and fills in each read's answer.
func (s *Store) queryFacts(ctx context.Context, batch []*pendingFacts) (err error) {
	defer translate(&err)
	n := len(batch)
	idem, email, account, key, ext := make(pgArray[pgtype.Text], n), make(pgArray[pgtype.Text], n), make(pgArray[pgtype.Text], n), make(pgArray[pgtype.Text], n), make(pgArray[pgtype.Text], n)
	exclude := make(pgArray[pgtype.Int8], n)
	for i, p := range batch {
		idem[i] = optionalText(p.q.IdempotencyKey)
		email[i] = optionalText(p.q.EmailKey)
		exclude[i] = pgtype.Int8{Int64: p.q.ExcludeLeadID, Valid: true}
		account[i] = pgtype.Text{String: p.q.AccountID, Valid: true}
		key[i] = optionalText(p.q.KeyHash)
		ext[i] = optionalText(p.q.ExternalID)
	}
	s.observed(ctx, leadFactsBatchSQL)
	err = s.withPgx(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, leadFactsBatchSQL, s.prepared(), idem, email, exclude, account, key, ext)
		if err != nil {
			return err
		}
		defer rows.Close()
		seen := 0
		for rows.Next() {
			var row factsRow
			if err := rows.Scan(&row.n, &row.account, &row.version, &row.idemID, &row.idemFP, &row.dupID, &row.extID,
				&row.keyID, &row.email, &row.prefix, &row.hash, &row.name, &row.created, &row.lastUsed, &row.revoked, &row.role); err != nil {
				return err
			}
			if row.n < 1 || row.n > int64(n) {
				return fmt.Errorf("row %d of %d reads", row.n, n)
			}
			p := batch[row.n-1]
			p.facts, p.account = row.facts(), row.account
			seen++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if seen != n {
			return errors.New("fewer answers than reads")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("lead facts: %w", err)
	}
	return nil
}

// factsRow is a row of leadFactsBatchSQL.
type factsRow struct {
	n                                 int64
	account                           bool
	version, idemID, dupID, extID     pgtype.Int8
	keyID                             pgtype.Int8
	idemFP, email, prefix, hash, name pgtype.Text
	role                              pgtype.Text
	created, lastUsed, revoked        pgtype.Timestamptz
}

// facts is the row as LeadFacts answers it.
func (r *factsRow) facts() leads.LeadFacts {
	res := leads.LeadFacts{ConfigVersion: r.version.Int64, IdempotentLeadID: r.idemID.Int64,
		IdempotentFingerprint: r.idemFP.String, DuplicateLeadID: r.dupID.Int64, DuplicateExternalLeadID: r.extID.Int64}
	if r.keyID.Valid {
		k := leads.APIKey{ID: r.keyID.Int64, Email: r.email.String, Prefix: r.prefix.String, Name: r.name.String, CreatedAt: r.created.Time.UTC()}
		if r.lastUsed.Valid {
			t := r.lastUsed.Time.UTC()
			k.LastUsedAt = &t
		}
		if r.revoked.Valid {
			t := r.revoked.Time.UTC()
			k.RevokedAt = &t
		}
		res.Credential = &leads.Credential{Key: k, Hash: r.hash.String, Role: leads.Role(r.role.String)}
	}
	return res
}

// optionalText is s, NULL when empty.
func optionalText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }
