package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// modeTx is a pgx transaction whose statements run in mode unless they
// name their own: writePostgres hands the create path's transaction so,
// in the create path's mode (s.prepared()), to whatever writes in it. The
// pool's default is the simple protocol (bun writes its values into the
// SQL text), under which pgx wrote every argument of river's job insert,
// the events' packed payload among them, into the statement's text for
// PostgreSQL to parse again; prepared, the text is parsed once per
// connection and the arguments go in binary.
type modeTx struct {
	pgx.Tx
	mode pgx.QueryExecMode
}

// Exec runs sql in t's mode.
func (t modeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.Tx.Exec(ctx, sql, t.withMode(args)...)
}

// Query runs sql in t's mode.
func (t modeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.Tx.Query(ctx, sql, t.withMode(args)...)
}

// QueryRow runs sql in t's mode.
func (t modeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.Tx.QueryRow(ctx, sql, t.withMode(args)...)
}

// withMode returns args after t's mode, unless they name a mode first.
func (t modeTx) withMode(args []any) []any {
	if len(args) > 0 {
		if _, ok := args[0].(pgx.QueryExecMode); ok {
			return args
		}
	}
	return append([]any{t.mode}, args...)
}

// Config reports t's mode as the default of the pool it came from. River
// asks its executor so (a Config method, else its connection's
// configuration) whether statements run on the simple protocol, the pool's
// default, and then rewrites its JSON arguments for it, matching two
// regular expressions against each statement's text (2 % of the server's
// CPU with every feature on): work for nothing, since its statements run in
// t's mode, which sends them in binary.
func (t modeTx) Config() *pgxpool.Config {
	return &pgxpool.Config{ConnConfig: &pgx.ConnConfig{DefaultQueryExecMode: t.mode}}
}
