package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Issue 10, item 17: several `leadrotor migrate` processes started at once
// on a fresh SQLite file all succeed: one applies the migrations, the others
// wait for it and find the schema up to date.
func TestIssue10_17_ConcurrentMigrateSQLite(t *testing.T) {
	t.Parallel()
	bin := leadrotorBinary(t)
	for round := range 3 {
		db := "file:" + filepath.Join(t.TempDir(), "fresh.db")
		const processes = 6
		outs := make([]string, processes)
		errs := make([]error, processes)
		var wg sync.WaitGroup
		for i := range processes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, "migrate", "--database-url", db)
				cmd.Env = os.Environ()
				out, err := cmd.CombinedOutput()
				outs[i], errs[i] = string(out), err
			}()
		}
		wg.Wait()
		for i := range processes {
			require.NoError(t, errs[i], "round %d, process %d: %s", round, i, outs[i])
			require.Contains(t, outs[i], "schema of sqlite is up to date")
		}
		// And the schema is whole: a server starts on it and serves the demo.
		out := run(t, []string{"LEADROTOR_DATABASE_URL=" + db}, "demo", "--env")
		require.Contains(t, out, "LEADROTOR_API_KEY")
	}
}
