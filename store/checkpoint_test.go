package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store"
)

// A SQLite file's log is copied into the database file by the store's
// checkpointer soon after the writes, long before the log reaches the
// size at which SQLite's writer would checkpoint by itself (1,000 pages by
// default, the store's backstop far more), and the store closes with it.
func TestSQLiteLogIsCheckpointedOffTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkpoint.db")
	s, err := store.Open(ctx, "sqlite://"+path)
	require.NoError(t, err)
	db := s.DB()
	_, err = db.ExecContext(ctx, "CREATE TABLE ballast (b text)")
	require.NoError(t, err)
	before, err := os.Stat(path)
	require.NoError(t, err)
	// fill writes about 200 pages of log (a fifth of SQLite's own
	// threshold) and awaits the file's growth by them, copied from the log
	// by nobody but the checkpointer.
	fill := func(round int64, what string) {
		for range 20 {
			_, err := db.ExecContext(ctx, "INSERT INTO ballast VALUES (?)", strings.Repeat("x", 40<<10))
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool {
			fi, err := os.Stat(path)
			return err == nil && fi.Size() >= before.Size()+round*800<<10
		}, 10*time.Second, 20*time.Millisecond, "the database file did not get %s", what)
	}
	fill(1, "the log's pages")
	// Then, once the checkpointer has waited longer for lack of writes,
	// writes again: they reach the file too.
	fill(2, "the second log's pages")
	require.NoError(t, s.Close())
}
