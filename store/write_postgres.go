package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadrotor/leadrotor/leads"
)

// Writes of leads on PostgreSQL, and what their outcome is when they fail.
//
// A lead is written in an explicit transaction, committed only once every
// statement of it succeeded. However a write fails before its COMMIT is
// sent (a deadline, a lost connection, a statement refused), nothing is
// stored: a backend whose client is gone rolls back when it next reads,
// instead of committing a statement that waited for a lock (as a lone
// statement's implicit transaction would, whose Sync is already on its way).
// Only a COMMIT whose answer does not arrive leaves the outcome open, and
// resolveCommit settles it before anyone is told: it makes sure the backend
// that ran the transaction is gone, then looks for the leads.

// commitTimeout bounds a COMMIT, which writes no rows and waits for no lock.
const commitTimeout = 5 * time.Second

// resolveTimeout bounds the finding out of a commit's outcome.
const resolveTimeout = 5 * time.Second

// withPgx runs fn on a connection of the pool as pgx's own, which has
// what database/sql does not (transactions of pgx.Tx, COPY).
func (s *Store) withPgx(ctx context.Context, fn func(c *pgx.Conn) error) error {
	conn, err := s.db.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return conn.Raw(func(driverConn any) error { return fn(driverConn.(*stdlib.Conn).Conn()) })
}

// writePostgres runs write in a transaction of its own, whose statements
// run in the create path's mode (modeTx), and commits it.
// write returns the ids of the leads it inserted, which are what
// resolveCommit looks for when the COMMIT's answer is lost. It returns nil
// when the leads are stored, an error that promises nothing was stored, or
// one with code OUTCOME_UNKNOWN. An unavailable database is reported as
// SERVICE_UNAVAILABLE, which the batch tells from a refused statement.
func (s *Store) writePostgres(ctx context.Context, write func(ctx context.Context, tx pgx.Tx) ([]int64, error)) (err error) {
	defer translate(&err)
	return s.withPgx(ctx, func(c *pgx.Conn) error {
		pid := c.PgConn().PID()
		s.observed(ctx, "BEGIN")
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		if s.facts.pooled.Load() {
			// A pooler announces a process id of its own: the backend's,
			// which resolveCommit may have to end, is asked for (a round
			// trip more per write, behind a pooler only).
			var real int64
			if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&real); err != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
				_ = tx.Rollback(rctx)
				cancel()
				return err
			}
			pid = uint32(real)
		}
		ids, err := write(ctx, modeTx{tx, s.prepared()})
		if err == nil {
			err = ctx.Err() // past the deadline: do not commit
		}
		if err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
			_ = tx.Rollback(rctx) // if it fails, the connection is closed, which rolls back too
			cancel()
			return err
		}
		// The COMMIT itself is not given up at the caller's deadline: it
		// takes no lock and writes no row, and an outcome known a moment
		// late beats one not known.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
		defer cancel()
		s.observed(ctx, "COMMIT")
		if err := tx.Commit(cctx); err != nil {
			var refused *pgconn.PgError
			if errors.As(err, &refused) {
				return err // PostgreSQL answered: the transaction is rolled back
			}
			return s.resolveCommit(ctx, pid, ids, err)
		}
		return nil
	})
}

// resolveCommit finds out whether the transaction of backend pid, whose
// COMMIT failed with cause and no answer, stored the leads ids. First it
// ends that backend (if it still runs, its commit is over one way or the
// other once it has gone), then it looks for the leads.
func (s *Store) resolveCommit(ctx context.Context, pid uint32, ids []int64, cause error) error {
	if len(ids) == 0 {
		return unknownOutcome(0, cause)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
	defer cancel()
	var ended bool
	// pg_terminate_backend's timeout makes it wait until the backend has
	// exited; false (with a warning) when there is no such backend any more.
	if err := s.db.DB.QueryRowContext(rctx, "SELECT pg_terminate_backend($1, $2)", int64(pid),
		resolveTimeout.Milliseconds()/2).Scan(&ended); err != nil {
		return unknownOutcome(ids[0], errors.Join(cause, fmt.Errorf("end backend %d: %w", pid, err)))
	}
	var found int
	if err := s.db.DB.QueryRowContext(rctx, "SELECT count(*) FROM leads WHERE id = ANY($1)", ids).Scan(&found); err != nil {
		return unknownOutcome(ids[0], errors.Join(cause, fmt.Errorf("look for leads: %w", err)))
	}
	switch found {
	case len(ids):
		return nil // committed: the reply only was lost
	case 0:
		return leads.Unavailable("the database", fmt.Errorf("commit failed, nothing stored: %w", cause))
	}
	return fmt.Errorf("commit of %d leads: %d found: %w", len(ids), found, cause)
}

// unknownOutcome is the error of a write whose commit may or may not have
// happened: OUTCOME_UNKNOWN, naming the lead it would have stored.
func unknownOutcome(leadID int64, cause error) error {
	e := &leads.Error{Code: leads.CodeOutcomeUnknown,
		Message: "the database stopped answering while it stored the lead: it may be stored; read it, or retry with the same Idempotency-Key",
		Err:     cause}
	if leadID != 0 {
		e.Details = map[string]any{"leadId": leadID}
	}
	return e
}
