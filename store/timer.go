package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

// QueryTimer is told how long each database call took and how it ended:
// op is the statement's kind (SELECT, INSERT, UPDATE, DELETE, WITH, BEGIN,
// COMMIT, ROLLBACK, COPY, BATCH or OTHER), a bounded set, for metrics.
type QueryTimer func(op string, took time.Duration, err error)

// WithQueryTimer times every call to the database with timer. On
// PostgreSQL it sees every statement of every pool (bun's, the create
// path's, the job runner's), through pgx's tracer; on SQLite it sees bun's
// statements (the create path's batched insert bypasses bun and is not
// timed there).
func WithQueryTimer(timer QueryTimer) Option { return func(o *options) { o.timer = timer } }

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

// pgTimer is pgx's tracer of a QueryTimer.
type pgTimer struct{ timer QueryTimer }

// queryStart is what pgTimer keeps in a traced call's context.
type queryStart struct {
	op string
	at time.Time
}

type queryStartKey struct{}

var (
	_ pgx.QueryTracer    = pgTimer{}
	_ pgx.BatchTracer    = pgTimer{}
	_ pgx.CopyFromTracer = pgTimer{}
)

func (t pgTimer) start(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, queryStartKey{}, queryStart{op: op, at: time.Now()})
}

func (t pgTimer) end(ctx context.Context, err error) {
	if s, ok := ctx.Value(queryStartKey{}).(queryStart); ok {
		t.timer(s.op, time.Since(s.at), err)
	}
}

func (t pgTimer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return t.start(ctx, statementKind(data.SQL))
}

func (t pgTimer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	t.end(ctx, data.Err)
}

func (t pgTimer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return t.start(ctx, "BATCH")
}

func (pgTimer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t pgTimer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	t.end(ctx, data.Err)
}

func (t pgTimer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	return t.start(ctx, "COPY")
}

func (t pgTimer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	t.end(ctx, data.Err)
}

// bunTimer is bun's query hook of a QueryTimer (SQLite).
type bunTimer struct{ timer QueryTimer }

func (bunTimer) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (t bunTimer) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	err := e.Err
	if err == sql.ErrNoRows {
		err = nil // an answer, not a failure
	}
	t.timer(statementKind(e.Query), time.Since(e.StartTime), err)
}

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
