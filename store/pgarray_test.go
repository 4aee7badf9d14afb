package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestPgArrayRoundTrip sends each element type the batch insert and the
// facts read send as a pgArray, with a NULL among its values, and reads
// them back as PostgreSQL got them; and a nil array as NULL.
func TestPgArrayRoundTrip(t *testing.T) {
	t.Parallel()
	conn := pgxConn(t, pgx.QueryExecModeCacheStatement)
	if conn == nil {
		return
	}
	ctx := context.Background()
	at := time.Date(2026, 12, 5, 10, 30, 0, 123000, time.UTC)

	tests := []struct {
		name, sqlType string
		array         any
		want          string
	}{
		{"text", "text", store.PgArrayForTest[pgtype.Text]{{String: "a,\"b\"", Valid: true}, {}, {String: "", Valid: true}}, `{"a,\"b\"",NULL,""}`},
		{"int8", "int8", store.PgArrayForTest[pgtype.Int8]{{Int64: -1 << 40, Valid: true}, {}}, "{-1099511627776,NULL}"},
		{"int4", "int4", store.PgArrayForTest[pgtype.Int4]{{Int32: 7, Valid: true}, {}}, "{7,NULL}"},
		{"bool", "bool", store.PgArrayForTest[pgtype.Bool]{{}, {Bool: true, Valid: true}, {Bool: false, Valid: true}}, "{NULL,t,f}"},
		{"timestamptz", "timestamptz", store.PgArrayForTest[pgtype.Timestamptz]{{Time: at, Valid: true}, {}}, `{"2026-12-05 10:30:00.000123+00",NULL}`},
		{"empty", "text", store.PgArrayForTest[pgtype.Text]{}, "{}"},
	}
	_, err := conn.Exec(ctx, "SET TIME ZONE 'UTC'")
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			require.NoError(t, conn.QueryRow(ctx, "SELECT $1::"+tc.sqlType+"[]::text", tc.array).Scan(&got))
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("nil", func(t *testing.T) {
		var got *string
		require.NoError(t, conn.QueryRow(ctx, "SELECT $1::text[]::text", store.PgArrayForTest[pgtype.Text](nil)).Scan(&got))
		require.Nil(t, got)
	})
}

// pgxConn connects pgx to a schema of the test PostgreSQL, its statements
// run in mode by default; nil when PostgreSQL does not answer and is not
// required.
func pgxConn(t *testing.T, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	b := storetest.Postgres(t)
	if b == nil {
		return nil
	}
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(b.DSN)
	require.NoError(t, err)
	cfg.DefaultQueryExecMode = mode
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(ctx) })
	return conn
}
