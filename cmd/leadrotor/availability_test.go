package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// availabilityDB is a database with account 2311 of ana (admin) and ben
// (agent), and the flag that names it.
func availabilityDB(t *testing.T) string {
	t.Helper()
	db := "--database-url=file:" + filepath.Join(t.TempDir(), "cli.db")
	_, err := cli(t, "account", "create", db, "--account", "2311")
	require.NoError(t, err)
	for _, m := range [][]string{{"ana@acme.test", "admin"}, {"ben@acme.test", "agent"}} {
		_, err = cli(t, "member", "add", db, "--account", "2311", "--email", m[0], "--role", m[1])
		require.NoError(t, err)
	}
	return db
}

// timeoff add takes days (the last one included) or RFC 3339 times, list
// shows the periods by member, remove takes one by id; a refusal names
// the flag.
func TestTimeoffCLI(t *testing.T) {
	t.Parallel()
	db := availabilityDB(t)
	out, err := cli(t, "timeoff", "add", db, "--account", "2311", "--email", "Ana@acme.test", "--start", "2026-12-24", "--end", "2026-12-26", "--note", "Xmas")
	require.NoError(t, err)
	require.Equal(t, "time off 1 of ana@acme.test: 2026-12-24T00:00:00Z to 2026-12-27T00:00:00Z\n", out)
	out, err = cli(t, "timeoff", "add", db, "--account", "2311", "--email", "ben@acme.test", "--start", "2026-12-24T09:00:00+01:00", "--end", "2026-12-24T13:00:00+01:00")
	require.NoError(t, err)
	require.Equal(t, "time off 2 of ben@acme.test: 2026-12-24T08:00:00Z to 2026-12-24T12:00:00Z\n", out)

	out, err = cli(t, "timeoff", "list", db, "--account", "2311")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `^ID\s+EMAIL\s+START\s+END\s+NOTE$`, lines[0])
	require.Regexp(t, `^1\s+ana@acme.test\s+2026-12-24T00:00:00Z\s+2026-12-27T00:00:00Z\s+Xmas$`, lines[1])
	require.Regexp(t, `^2\s+ben@acme.test\s+2026-12-24T08:00:00Z\s+2026-12-24T12:00:00Z\s+-$`, lines[2])
	out, err = cli(t, "timeoff", "list", db, "--account", "2311", "--email", "ben@acme.test")
	require.NoError(t, err)
	require.Equal(t, 2, strings.Count(out, "\n"), out)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"timeoff", "add", "--account", "2311", "--email", "ben@acme.test", "--start", "2026-12-24", "--end", "2026-12-20"}, "--end: Must be after start"},
		{[]string{"timeoff", "add", "--account", "2311", "--email", "ben@acme.test", "--start", "tomorrow", "--end", "2026-12-20"},
			`--start "tomorrow" must be a day such as 2026-12-24 or an RFC 3339 time such as 2026-12-24T09:00:00+01:00`},
		{[]string{"timeoff", "add", "--account", "2311", "--email", "ben@acme.test", "--start", "2026-12-24", "--end", "2026-12-24T25:00:00Z"},
			`--end "2026-12-24T25:00:00Z" must be a day such as 2026-12-24 or an RFC 3339 time such as 2026-12-24T09:00:00+01:00`},
		{[]string{"timeoff", "add", "--account", "2311", "--email", "ben@acme.test", "--start", "2026-01-01", "--end", "2027-12-31"},
			"--end: A period of time off lasts at most 366 days; add another for longer"},
		{[]string{"timeoff", "add", "--account", "2311", "--email", "ben@acme.test", "--start", "2026-12-24"}, `required flag(s) "end" not set`},
		{[]string{"timeoff", "add", "--account", "2311", "--email", "ben@acme.test", "--start", "2026-12-24", "--end", "2026-12-24", "--reason", "x"}, "unknown flag: --reason"},
		{[]string{"timeoff", "add", "--account", "2311", "--email", "zed@acme.test", "--start", "2026-12-24", "--end", "2026-12-24"}, "member zed@acme.test not found"},
		{[]string{"timeoff", "list", "--account", "99"}, "account 99 not found"},
		{[]string{"timeoff", "list", "--account", "2311", "--email", "zed@acme.test"}, "member zed@acme.test not found"},
		{[]string{"timeoff", "remove", "--account", "2311", "--email", "ben@acme.test", "--id", "1"}, "time off 1 not found"},
		{[]string{"timeoff", "remove", "--account", "2311", "--email", "ben@acme.test", "--id", "one"},
			`invalid argument "one" for "--id" flag: strconv.ParseInt: parsing "one": invalid syntax`},
		{[]string{"timeoff", "remove", "--account", "2311", "--email", "ben@acme.test", "--id", "0"}, "--id 0 must be a positive number, as timeoff list shows it"},
	} {
		_, err := cli(t, append(tc.args, db)...)
		require.EqualError(t, err, tc.want, "%v", tc.args)
	}

	out, err = cli(t, "timeoff", "remove", db, "--account", "2311", "--email", "ana@acme.test", "--id", "1")
	require.NoError(t, err)
	require.Equal(t, "time off 1 of ana@acme.test removed\n", out)
	out, err = cli(t, "timeoff", "list", db, "--account", "2311")
	require.NoError(t, err)
	require.NotContains(t, out, "ana@acme.test")
}

// schedule set replaces the whole week (a day without its flag is off),
// show prints it day by day, clear removes it; a refusal names the flag,
// and saves nothing.
func TestScheduleCLI(t *testing.T) {
	t.Parallel()
	db := availabilityDB(t)
	out, err := cli(t, "schedule", "show", db, "--account", "2311", "--email", "ben@acme.test")
	require.NoError(t, err)
	require.Equal(t, "ben@acme.test has no working hours: always available\nholiday calendar: none\n", out)

	out, err = cli(t, "schedule", "set", db, "--account", "2311", "--email", "Ben@acme.test", "--zone", "Europe/Paris",
		"--mon", "13:00-17:00, 9:00-12:00", "--fri", "09:00-17:00")
	require.NoError(t, err)
	require.Equal(t, "working hours of ben@acme.test set: Europe/Paris: monday 09:00-12:00 13:00-17:00, friday 09:00-17:00\n", out)
	week := "working hours of ben@acme.test, time zone Europe/Paris\n" +
		"DAY        HOURS\nmonday     09:00-12:00, 13:00-17:00\ntuesday    -\nwednesday  -\nthursday   -\nfriday     09:00-17:00\nsaturday   -\nsunday     -\n" +
		"holiday calendar: none\n"
	out, err = cli(t, "schedule", "show", db, "--account", "2311", "--email", "ben@acme.test")
	require.NoError(t, err)
	require.Equal(t, week, out)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--zone", "Mars/Olympus"}, "--zone: Must be an IANA time zone name, such as UTC or America/New_York"},
		{[]string{"--zone", "Local"}, "--zone: Must be an IANA time zone name, such as UTC or America/New_York"},
		{[]string{}, `required flag(s) "zone" not set`},
		{[]string{"--zone", "UTC", "--mon", "08:00-10:00", "--tue", "09:00-12:00,11:00-13:00"}, "--tue: 11:00-13:00: Overlaps 09:00-12:00"},
		{[]string{"--zone", "UTC", "--wed", "17:00-09:00"}, "--wed: 17:00-09:00: Must end after it starts; a shift past midnight is two intervals, one on each day"},
		{[]string{"--zone", "UTC", "--sun", "09:00-24:30"}, "--sun: 09:00-24:30: Must be a time of day HH:MM, from 00:01 to 24:00"},
		{[]string{"--zone", "UTC", "--thu", "nine to five"}, `--thu: "nine" is not an interval: write them like 09:00-12:00, 13:00-17:00`},
		{[]string{"--zone", "UTC", "--monday", "09:00-17:00"}, "unknown flag: --monday"},
	} {
		args := append([]string{"schedule", "set", db, "--account", "2311", "--email", "ben@acme.test"}, tc.args...)
		_, err := cli(t, args...)
		require.EqualError(t, err, tc.want, "%v", tc.args)
		out, err = cli(t, "schedule", "show", db, "--account", "2311", "--email", "ben@acme.test")
		require.NoError(t, err)
		require.Equal(t, week, out, "nothing saved: %v", tc.args)
	}
	for _, cmd := range []string{"set", "clear", "show"} {
		for _, who := range [][2]string{{"2311", "zed@acme.test"}, {"99", "ben@acme.test"}} {
			args := []string{"schedule", cmd, db, "--account", who[0], "--email", who[1]}
			if cmd == "set" {
				args = append(args, "--zone", "UTC")
			}
			_, err = cli(t, args...)
			want := "member zed@acme.test not found"
			if who[0] == "99" {
				want = "account 99 not found"
			}
			require.EqualError(t, err, want, "%v", args)
		}
	}

	out, err = cli(t, "schedule", "clear", db, "--account", "2311", "--email", "ben@acme.test")
	require.NoError(t, err)
	require.Equal(t, "working hours of ben@acme.test cleared: always available\n", out)
	out, err = cli(t, "schedule", "show", db, "--account", "2311", "--email", "ben@acme.test")
	require.NoError(t, err)
	require.Contains(t, out, "no working hours: always available")
}
