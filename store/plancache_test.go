package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestPrimaryPlansPreparedStatementsOnce shows the session setting of the
// primary's connections on PostgreSQL: the create path's prepared
// statements get a generic plan, made once per connection, rather than
// PostgreSQL's choice between planning again and reusing; the lagging
// reads keep the server's default. Behind a pooler nothing is set
// (TestConformanceBehindPgBouncer).
func TestPrimaryPlansPreparedStatementsOnce(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	if pg == nil {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		pool string
		db   *bun.DB
		want string
	}{
		{"primary", pg.Store.DB(), "force_generic_plan"},
		{"lagging reads", pg.Store.ReadsForTest(), "auto"},
	} {
		// Every connection the pool opens, not only the first.
		conns := make([]*bun.Conn, 2)
		for i := range conns {
			c, err := tc.db.Conn(ctx)
			require.NoError(t, err)
			conns[i] = &c
		}
		for _, c := range conns {
			var mode string
			require.NoError(t, c.QueryRowContext(ctx, "SHOW plan_cache_mode").Scan(&mode))
			require.Equal(t, tc.want, mode, tc.pool)
			require.NoError(t, c.Close())
		}
	}
}
