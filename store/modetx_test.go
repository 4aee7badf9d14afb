package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store"
)

// TestModeTxRunsStatementsInItsMode runs a statement in a transaction of a
// connection whose default is the simple protocol (the store's pools'),
// through modeTx and without it, and looks whether PostgreSQL has it
// prepared: the create path's transaction is one (writePostgres), for
// river's job insert in it.
func TestModeTxRunsStatementsInItsMode(t *testing.T) {
	t.Parallel()
	conn := pgxConn(t, pgx.QueryExecModeSimpleProtocol)
	if conn == nil {
		return
	}
	ctx := context.Background()

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
