package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 11, item 7: leadbench starts leadrotor in its own process, drives it
// and reports; a short run of a few leads on a throwaway SQLite file.
func TestIssue11_07_LeadbenchInProcess(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	cmd := newRootCmd(&out, &errs)
	db := "file:" + filepath.Join(t.TempDir(), "bench.db")
	cmd.SetArgs([]string{"--database-url", db, "-c", "2", "-n", "14", "-d", "30s", "--preload", "50", "--json", "--quiet"})
	require.NoError(t, cmd.ExecuteContext(context.Background()), "%s", errs.String())
	var rep struct {
		Created      int64   `json:"created"`
		Unassigned   int64   `json:"unassigned"`
		MaxDeviation float64 `json:"maxDeviation"`
		Members      []struct {
			User  string `json:"user"`
			Leads int64  `json:"leads"`
		} `json:"members"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "%s", out.String())
	require.GreaterOrEqual(t, rep.Created, int64(14))
	require.Zero(t, rep.Unassigned)
	require.Len(t, rep.Members, 7, "the bench rotation's 7 reps")
	require.Contains(t, errs.String(), "stored 50 leads")
}

// The flags that leadbench shares with leadrotor are read the same strict way.
func TestIssue11_07_LeadbenchRefusesBadSettings(t *testing.T) {
	t.Parallel()
	cmd := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	cmd.SetArgs([]string{"--target", "baseline", "--database-url", "file:" + filepath.Join(t.TempDir(), "x.db"), "-d", "1s"})
	require.ErrorContains(t, cmd.ExecuteContext(context.Background()), "run it on PostgreSQL")
	cmd = newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	cmd.SetArgs([]string{"--url", "http://127.0.0.1:1", "-d", "1s"})
	require.ErrorContains(t, cmd.ExecuteContext(context.Background()), "--api-key and --account")
}
