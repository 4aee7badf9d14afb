package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// simulate refuses what it cannot replay, naming the flag, the field or the
// line, before it reads any lead.
func TestSimulateRefusals(t *testing.T) {
	t.Parallel()
	db := demoDB(t)
	unknownMember := writeFile(t, "p.yaml", "teams:\n  - name: Inbound\n    rotation:\n      name: Inbound reps\n      members:\n        - {user: zed@example.com}\n")
	badKey := writeFile(t, "k.yaml", "teams:\n  - name: Inbound\n    rotaton: {}\n")
	badYAML := writeFile(t, "y.yaml", "teams:\n  - name: [\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no account", []string{"--from", "2026-11-01", "--to", "2026-11-02"}, "no account"},
		{"bad time", []string{"--account", "2311", "--from", "yesterday", "--to", "2026-11-02"}, `--from "yesterday": not a time`},
		{"Go's zero time", []string{"--account", "2311", "--from", "0001-01-01", "--to", "2026-11-02"}, `--from "0001-01-01": Must not be before 1970-01-01T00:00:00Z`},
		{"before 1970", []string{"--account", "2311", "--from", "1969-12-01", "--to", "1969-12-02"}, "from: Must not be before 1970-01-01T00:00:00Z"},
		{"to before from", []string{"--account", "2311", "--from", "2026-11-02", "--to", "2026-11-01"}, "Must be after from"},
		{"window too long", []string{"--account", "2311", "--from", "2026-01-01", "--to", "2026-12-01", "--max-window", "720h"}, "more than the 720h0m0s allowed"},
		{"unknown member", []string{"-f", unknownMember, "--account", "2311", "--from", "2026-11-01", "--to", "2026-11-02"}, "zed@example.com"},
		{"unknown key", []string{"-f", badKey, "--account", "2311", "--from", "2026-11-01", "--to", "2026-11-02"}, `unknown field "rotaton"`},
		{"bad yaml", []string{"-f", badYAML, "--account", "2311", "--from", "2026-11-01", "--to", "2026-11-02"}, "yaml: line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := cli(t, append([]string{"simulate", db}, tc.args...)...)
			require.Error(t, err, out)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// Over a window with no leads, the live configuration replays nothing and
// changes nobody's leads; --json says so for machines.
func TestSimulateEmptyWindow(t *testing.T) {
	t.Parallel()
	db := demoDB(t)
	out, err := cli(t, "simulate", db, "--account", "2311", "--from", "2026-11-01", "--to", "2026-11-02", "--json")
	require.NoError(t, err, out)
	require.Contains(t, out, `"leads": 0`)
	require.Contains(t, out, `"changed": 0`)
}
