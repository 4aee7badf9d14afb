package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestModeTxRunsStatementsInItsMode runs a statement in a transaction of a
// connection whose default is the simple protocol (the store's pools'),
// through modeTx and without it, and looks whether PostgreSQL has it
// prepared: river's job insert on the create path goes through a modeTx.
func TestModeTxRunsStatementsInItsMode(t *testing.T) {
	t.Parallel()
	b := storetest.Postgres(t)
	if b == nil {
		return
	}
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(b.DSN)
	require.NoError(t, err)
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(ctx) })

	tests := []struct {
		name     string
		wrap     bool
		args     []any
		prepared bool
	}{
		{"through modeTx", true, []any{"a"}, true},
		{"through modeTx, naming its own mode", true, []any{pgx.QueryExecModeSimpleProtocol, "a"}, false},
		{"without modeTx", false, []any{"a"}, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := conn.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			if tc.wrap {
				tx = store.ModeTxForTest(tx, pgx.QueryExecModeCacheStatement)
			}
			marker := fmt.Sprintf("mode_tx_%d", i)
			var got string
			require.NoError(t, tx.QueryRow(ctx, "SELECT $1::text AS "+marker, tc.args...).Scan(&got))
			require.Equal(t, "a", got)
			var n int
			require.NoError(t, tx.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1",
				pgx.QueryExecModeSimpleProtocol, "%AS "+marker).Scan(&n))
			require.Equal(t, tc.prepared, n > 0, "prepared statements ending in AS %s: %d", marker, n)
		})
	}
}
