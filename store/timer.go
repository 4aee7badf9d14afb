package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

// QueryHook sees every call to the database, for metrics and tracing.
// QueryStart is called as a call starts, with its kind (op: SELECT, INSERT,
// UPDATE, DELETE, WITH, BEGIN, COMMIT, ROLLBACK, COPY, BATCH or OTHER, a
// bounded set) and its SQL; the context it returns is the one QueryEnd gets
// when the call has ended, with its error (nil for no rows).
type QueryHook interface {
	QueryStart(ctx context.Context, op, query string) context.Context
	QueryEnd(ctx context.Context, err error)
}

// WithQueryHooks has hooks see every call to the database. On PostgreSQL
// they see every statement of every pool (bun's, the create path's
// hand-written ones, the job runner's), through pgx's tracer; on SQLite
// they see bun's statements (the create path's batched insert bypasses bun
// and is not seen there).
func WithQueryHooks(hooks ...QueryHook) Option {
	return func(o *options) { o.hooks = append(o.hooks, hooks...) }
}

// statementKind is the kind of statement query is, from its first word.
func statementKind(query string) string {
	i := 0
	for i < len(query) && (query[i] == ' ' || query[i] == '\n' || query[i] == '\t' || query[i] == '(') {
		i++
	}
	j := i
	for j < len(query) && j-i < 8 && (query[j]|0x20 >= 'a' && query[j]|0x20 <= 'z') {
		j++
	}
	word := query[i:j]
	for _, k := range statementKinds {
		if len(k) == len(word) && equalFold(k, word) {
			return k
		}
	}
	return "OTHER"
}

// statementKinds are the kinds statementKind tells apart.
var statementKinds = [...]string{"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "BEGIN", "COMMIT", "ROLLBACK"}

// equalFold reports whether upper (upper-case ASCII) and s are equal
// ignoring case, without allocating.
func equalFold(upper, s string) bool {
	for i := range len(upper) {
		if s[i]&^0x20 != upper[i] {
			return false
		}
	}
	return true
}

// queryHooks are the hooks of a store, as one.
type queryHooks []QueryHook

func (hs queryHooks) start(ctx context.Context, op, query string) context.Context {
	for _, h := range hs {
		ctx = h.QueryStart(ctx, op, query)
	}
	return ctx
}

func (hs queryHooks) end(ctx context.Context, err error) {
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		err = nil // an answer, not a failure
	}
	for _, h := range hs {
		h.QueryEnd(ctx, err)
	}
}

// pgHooks is pgx's tracer of query hooks.
type pgHooks struct{ hooks queryHooks }

var (
	_ pgx.QueryTracer    = pgHooks{}
	_ pgx.BatchTracer    = pgHooks{}
	_ pgx.CopyFromTracer = pgHooks{}
)

func (t pgHooks) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return t.hooks.start(ctx, statementKind(data.SQL), data.SQL)
}

func (t pgHooks) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	t.hooks.end(ctx, data.Err)
}

func (t pgHooks) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return t.hooks.start(ctx, "BATCH", "")
}

func (pgHooks) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t pgHooks) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	t.hooks.end(ctx, data.Err)
}

func (t pgHooks) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return t.hooks.start(ctx, "COPY", "COPY "+data.TableName.Sanitize())
}

func (t pgHooks) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	t.hooks.end(ctx, data.Err)
}

// bunHooks is bun's query hook of query hooks (SQLite).
type bunHooks struct{ hooks queryHooks }

func (b bunHooks) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	return b.hooks.start(ctx, statementKind(e.Query), e.Query)
}

func (b bunHooks) AfterQuery(ctx context.Context, e *bun.QueryEvent) { b.hooks.end(ctx, e.Err) }

// Pools returns the store's connection pools by name ("main": lead intake
// and every write; "reads": listings, searches, statistics; "reader":
// SQLite's read-only connections of the create path), for their
// statistics.
func (s *Store) Pools() map[string]*sql.DB {
	pools := map[string]*sql.DB{"main": s.db.DB}
	if s.reads != nil && s.reads.DB != s.db.DB {
		pools["reads"] = s.reads.DB
	}
	if s.reader != nil {
		pools["reader"] = s.reader
	}
	return pools
}

// AssignmentBacklog counts the leads of every account that wait for an
// assignment, by assignmentStatus: "pending" (deferred while the rotation
// did not answer) and "waiting" (nobody could take them yet).
func (s *Store) AssignmentBacklog(ctx context.Context) (_ map[string]int64, err error) {
	defer translate(&err)
	// A lead waiting for assignment is assignment_pending; one that
	// waits for someone to be able to take it also says why.
	var rows []struct {
		Waiting bool  `bun:"waiting"`
		N       int64 `bun:"n"`
	}
	err = s.reads.NewSelect().Table("leads").ColumnExpr("waiting_reason <> '' AS waiting").ColumnExpr("count(*) AS n").
		Where("assignment_pending").GroupExpr("waiting_reason <> ''").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count leads waiting for assignment: %w", err)
	}
	out := map[string]int64{string(leads.AssignmentPending): 0, string(leads.AssignmentWaiting): 0}
	for _, r := range rows {
		if r.Waiting {
			out[string(leads.AssignmentWaiting)] += r.N
		} else {
			out[string(leads.AssignmentPending)] += r.N
		}
	}
	return out, nil
}
