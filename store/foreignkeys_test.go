package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestDeletesCascadeWithoutCreatePathKeys shows what migration 000027
// changed on PostgreSQL and what it kept. A created lead no longer runs the
// row-by-row checks of three foreign keys that another check of its
// transaction vouches for (the audit log's account, the turns' and skips'
// rotation: each a query with a row lock, per row); deleting a rotation
// still deletes its turns and skips, and deleting an account its leads and
// audit log, on both dialects, now by triggers on PostgreSQL. The account is deleted from a
// session whose search path is another schema: the triggers delete from
// the account's own.
func TestDeletesCascadeWithoutCreatePathKeys(t *testing.T) {
	t.Parallel()
	backends := []*storetest.Backend{storetest.SQLite(t)}
	if pg := storetest.Postgres(t); pg != nil {
		backends = append(backends, pg)
	}
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Store
			db := s.DB()
			exec := func(q string, args ...any) {
				t.Helper()
				_, err := db.ExecContext(ctx, q, args...)
				require.NoError(t, err, q)
			}
			count := func(q string, args ...any) (n int) {
				t.Helper()
				require.NoError(t, db.QueryRowContext(ctx, q, args...).Scan(&n), q)
				return n
			}
			if s.Dialect() == store.Postgres {
				var keys []string
				rows, err := db.QueryContext(ctx, `SELECT conname FROM pg_constraint
					WHERE contype = 'f' AND connamespace = current_schema()::regnamespace AND conname IN
					('audit_log_account_id_fkey', 'rotation_turns_rotation_id_fkey', 'rotation_skips_rotation_id_fkey')`)
				require.NoError(t, err)
				for rows.Next() {
					var k string
					require.NoError(t, rows.Scan(&k))
					keys = append(keys, k)
				}
				require.NoError(t, rows.Err())
				require.Empty(t, keys, "foreign keys checked row by row on the create path")
			}

			f := storetest.NewFixture(t, s)
			r := f.CreateRotation(t, 0)
			other := f.CreateRotation(t, f.Team.ID)
			n := f.NewLead("Ada")
			require.NoError(t, s.InsertLead(ctx, n))
			for _, rot := range []int64{r.ID, other.ID} {
				exec(`INSERT INTO rotation_turns (rotation_id, turn, assignee, lead_id, assigned_at) VALUES (?, 1, 'a@example.com', ?, ?)`,
					rot, n.Lead.ID, storetest.Now)
				exec(`INSERT INTO rotation_skips (rotation_id, turn, member, reason, slots, skipped_at) VALUES (?, 1, 'b@example.com', 'paused', 0, ?)`,
					rot, storetest.Now)
			}
			require.NoError(t, s.DeleteRotation(ctx, f.Account, r.ID, func(r *leads.Rotation) leads.AuditEntry {
				return leads.AuditEntry{AccountID: r.AccountID, Event: "test", Created: storetest.Now}
			}))
			require.Zero(t, count("SELECT count(*) FROM rotation_turns WHERE rotation_id = ?", r.ID), "turns of the deleted rotation")
			require.Zero(t, count("SELECT count(*) FROM rotation_skips WHERE rotation_id = ?", r.ID), "skips of the deleted rotation")
			require.Equal(t, 1, count("SELECT count(*) FROM rotation_turns WHERE rotation_id = ?", other.ID), "another rotation's turns")

			kept := storetest.NewFixture(t, s) // another account: untouched
			require.NoError(t, s.InsertLead(ctx, kept.NewLead("Grace")))
			require.NotZero(t, count("SELECT count(*) FROM audit_log WHERE account_id = ?", f.Account))
			if s.Dialect() == store.Postgres {
				// A session on another schema deletes the account by its
				// schema-qualified name.
				conn, err := db.Conn(ctx)
				require.NoError(t, err)
				defer conn.Close()
				var schema string
				require.NoError(t, conn.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema))
				_, err = conn.ExecContext(ctx, "SET search_path = public")
				require.NoError(t, err)
				_, err = conn.ExecContext(ctx, "DELETE FROM ?.accounts WHERE id = ?", bun.Ident(schema), f.Account)
				require.NoError(t, err)
				_, err = conn.ExecContext(ctx, "RESET search_path")
				require.NoError(t, err)
			} else {
				exec("DELETE FROM accounts WHERE id = ?", f.Account)
			}
			for _, table := range []string{"leads", "audit_log", "teams", "rotations"} {
				require.Zero(t, count("SELECT count(*) FROM "+table+" WHERE account_id = ?", f.Account), table)
			}
			for _, table := range []string{"leads", "audit_log", "teams"} {
				require.NotZero(t, count("SELECT count(*) FROM "+table+" WHERE account_id = ?", kept.Account), "another account's "+table)
			}
			require.Zero(t, count("SELECT count(*) FROM rotation_turns WHERE rotation_id = ?", other.ID), "turns of the deleted account's rotation")
		})
	}
}
