package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// The cases every leads.Store passes are storetest.Exercise; the tests of
// this package that stay here need the concrete store (its schema, its
// pools, its batches and transactions, its migrations).

var now = storetest.Now

// TestConformance runs storetest.Exercise and ExerciseSimulations on every
// dialect, one store per dialect shared by their cases.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			storetest.Exercise(t, func(*testing.T) leads.Store { return b.Store })
			storetest.ExerciseSimulations(t, func(*testing.T) storetest.SimulationStore { return b.Store })
		})
	}
}

// TestMigrateIsIdempotentAndConcurrent opens one database from several
// goroutines at once, as several servers starting together would.
func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	dsns := []string{storetest.SQLite(t).DSN}
	if dsn := storetest.PostgresSchemaDSN(t); dsn != "" {
		dsns = append(dsns, dsn)
	}
	for _, dsn := range dsns {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := store.Open(context.Background(), dsn)
				if err == nil {
					err = s.Migrate(context.Background())
					_ = s.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
	}
}

// TestPoolRotationsMigrationKeepsReferences checks what the SQLite rebuild
// of rotations (migration 000009, run with foreign keys off) must leave
// behind: foreign keys on again for the connection, no reference broken,
// and the cascades from rotations to their members still in force.
func TestPoolRotationsMigrationKeepsReferences(t *testing.T) {
	t.Parallel()
	b := storetest.SQLite(t)
	s := b.Store
	ctx := context.Background()
	var on int
	require.NoError(t, s.DB().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on))
	require.Equal(t, 1, on, "foreign keys are on again after the migration")
	rows, err := s.DB().QueryContext(ctx, "PRAGMA foreign_key_check")
	require.NoError(t, err)
	require.False(t, rows.Next(), "a reference is broken")
	require.NoError(t, rows.Close())

	f := storetest.NewFixture(t, s)
	r := f.CreateRotation(t, 0)
	count := func() (n int) {
		require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT count(*) FROM rotation_members WHERE rotation_id = ?", r.ID).Scan(&n))
		return n
	}
	require.Equal(t, 1, count())
	_, err = s.DB().ExecContext(ctx, "DELETE FROM rotations WHERE id = ?", r.ID)
	require.NoError(t, err)
	require.Zero(t, count(), "deleting a rotation deletes its members")
	_, err = s.DB().ExecContext(ctx, "INSERT INTO rotation_members (rotation_id, account_id, position, email) VALUES (?, ?, 0, 'a@example.com')", r.ID, f.Account)
	require.Error(t, err, "a member of a rotation that does not exist")
}

// TestUniqueTurnsMigrationKeepsOldRepeats migrates a database that
// recorded a turn number twice before turn numbers were unique: the old
// rows stay, and from then on each number is refused a second time, on
// both dialects (SQLite's rule went from a trigger, 000020, to a partial
// unique index, 000022).
func TestUniqueTurnsMigrationKeepsOldRepeats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dialect string
		// before puts the database back as it was before the rule.
		before []string
	}{
		{"postgres", []string{
			"DROP INDEX rotation_turns_turn_key",
			"CREATE INDEX IF NOT EXISTS rotation_turns_turn ON rotation_turns (rotation_id, turn)",
			"DELETE FROM bun_migrations WHERE name = '20261204000020'",
		}},
		{"sqlite", []string{
			"DROP INDEX rotation_turns_turn_key",
			"CREATE INDEX IF NOT EXISTS rotation_turns_turn ON rotation_turns (rotation_id, turn)",
			"DELETE FROM bun_migrations WHERE name IN ('20261204000020', '20261205000022')",
		}},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openNew(t, tc.dialect)
			require.NoError(t, s.Migrate(ctx))
			f := storetest.NewFixture(t, s)
			rot := f.CreateRotation(t, 0)
			turn := func(n int64) error {
				l := f.NewLead("L")
				l.Lead.AssignedTo, l.Lead.RotationID, l.Lead.RotationTurn = "a@example.com", rot.ID, n
				return s.InsertLead(ctx, l)
			}
			require.NoError(t, turn(1))
			require.ErrorIs(t, turn(1), leads.ErrTurnTaken, "refused on a new database")
			for _, q := range tc.before {
				_, err := s.DB().ExecContext(ctx, q)
				require.NoError(t, err, q)
			}
			require.NoError(t, turn(1))
			require.NoError(t, s.Migrate(ctx))
			var repeats int
			require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT count(*) FROM rotation_turns WHERE rotation_id = ? AND turn = 1", rot.ID).Scan(&repeats))
			require.Equal(t, 2, repeats, "the old rows stay")
			require.ErrorIs(t, turn(1), leads.ErrTurnTaken)
			require.NoError(t, turn(2))
			require.ErrorIs(t, turn(2), leads.ErrTurnTaken)
			if tc.dialect == "sqlite" {
				var triggers int
				require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").Scan(&triggers))
				require.Zero(t, triggers, "a trigger makes every insert open a statement journal")
			}
			// Migrating again changes nothing.
			require.NoError(t, s.Migrate(ctx))
			require.ErrorIs(t, turn(2), leads.ErrTurnTaken)
		})
	}
}

// TestPhoneKeyMigrationAgreesWithGo: migration 000023 keys the leads stored
// before it as leads.PhoneKey keys new ones, on both dialects (PostgreSQL's
// in SQL), and the returning lookup finds them by it.
func TestPhoneKeyMigrationAgreesWithGo(t *testing.T) {
	t.Parallel()
	phones := []string{"+1 (415) 555-0100", "1.415.555.0100", "020/7946-0958", "555-0100 ext. 12", "1-800-FLOWERS",
		"1-800-356-9377", "5550\t100", "n/a", "0", "12345", "", "+", "٥٥٥٠١٠٠", "555 0100", "(555)0100"}
	before := []string{
		"DROP INDEX leads_returning_phone",
		"ALTER TABLE leads DROP COLUMN phone_key",
		"CREATE INDEX leads_returning_phone ON leads (account_id, phone, created_at) WHERE phone <> ''",
		"DELETE FROM bun_migrations WHERE name = '20261205000023'",
	}
	for _, dialect := range []string{"postgres", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openNew(t, dialect)
			f := storetest.NewFixture(t, s)
			ids := map[int64]string{}
			for _, p := range phones {
				l := f.NewLead("L")
				l.Lead.Phone, l.Lead.AssignedTo = p, "a@example.com"
				require.NoError(t, s.InsertLead(ctx, l))
				ids[l.Lead.ID] = p
			}
			for _, q := range before {
				_, err := s.DB().ExecContext(ctx, q)
				require.NoError(t, err, q)
			}
			require.NoError(t, s.Migrate(ctx))
			rows, err := s.DB().QueryContext(ctx, "SELECT id, phone_key FROM leads")
			require.NoError(t, err)
			got := map[int64]string{}
			for rows.Next() {
				var id int64
				var key string
				require.NoError(t, rows.Scan(&id, &key))
				got[id] = key
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			require.Len(t, got, len(ids))
			for id, p := range ids {
				require.Equal(t, leads.PhoneKey(p), got[id], "%q", p)
			}
			found, err := s.ReturningLead(ctx, f.Account, leads.MatchPhone, leads.PhoneKey("555.0100"), time.Time{})
			require.NoError(t, err)
			require.NotNil(t, found)
			require.Equal(t, "(555)0100", found.Phone, "the newest lead of the number")
		})
	}
}

// openNew opens a store on a new database of dialect ("postgres" or
// "sqlite"), closed when t ends; it skips t without PostgreSQL.
func openNew(t *testing.T, dialect string) *store.Store {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "leadrotor.db")
	if dialect == "postgres" {
		if dsn = storetest.PostgresSchemaDSN(t); dsn == "" {
			t.Skip("needs PostgreSQL")
		}
	}
	s, err := store.Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestMovesIndexMayBeBuiltBeforehand: an operator with a large audit log
// builds migration 000025's index with CREATE INDEX CONCURRENTLY before
// upgrading (docs/deploy.md); the migration then finds it and does
// nothing, rather than failing on it.
func TestMovesIndexMayBeBuiltBeforehand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openNew(t, "postgres")
	for _, q := range []string{
		"DROP INDEX audit_log_moves",
		"DELETE FROM bun_migrations WHERE name = '20261205000025'",
		// Outside a transaction, as the operator runs it in psql.
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS audit_log_moves ON audit_log (account_id, created_at, id) WHERE event = 'lead_reassigned'",
	} {
		_, err := s.DB().ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	require.NoError(t, s.Migrate(ctx))
	var applied, indexes int
	require.NoError(t, s.DB().QueryRowContext(ctx, "SELECT count(*) FROM bun_migrations WHERE name = '20261205000025'").Scan(&applied))
	require.Equal(t, 1, applied, "the migration is recorded")
	require.NoError(t, s.DB().QueryRowContext(ctx,
		"SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'audit_log_moves'").Scan(&indexes))
	require.Equal(t, 1, indexes)
}

// TestSearchIndexMergesASmallPendingList: lead search's trigram index, where
// pg_trgm made it, merges its pending list at 256 kB, not PostgreSQL's
// 4 MB, so that no group commit stalls on a large merge.
func TestSearchIndexMergesASmallPendingList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openNew(t, "postgres")
	var n int
	var options string
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(*), coalesce(max(array_to_string(c.reloptions, ',')), '') FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = 'leads_search'`).Scan(&n, &options))
	if n == 0 {
		t.Skip("no pg_trgm on this server: lead search is unindexed")
	}
	require.Contains(t, options, "gin_pending_list_limit=256")
}
