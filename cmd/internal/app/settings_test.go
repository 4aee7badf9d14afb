package app

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

// load parses args as serve's flags and returns the configuration.
func load(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	cmd := &cobra.Command{Use: "serve"}
	AddGlobalFlags(cmd)
	AddServeFlags(cmd)
	require.NoError(t, cmd.ParseFlags(args))
	return Load(cmd)
}

// Issue 11, item 8: each default is Default's; the flags show it and a
// setting given by no source keeps it.
func TestIssue11_08_DefaultsOnce(t *testing.T) {
	t.Parallel()
	cmd := &cobra.Command{Use: "serve"}
	AddGlobalFlags(cmd)
	AddServeFlags(cmd)
	def := Default()
	for _, st := range settingTable() {
		f := cmd.Flags().Lookup(st.name)
		if f == nil {
			f = cmd.PersistentFlags().Lookup(st.name)
		}
		require.NotNil(t, f, st.name)
		require.Equal(t, st.help, f.Usage)
		// The flag's default, parsed as a value given on the command line,
		// is the field's default.
		got, err := load(t, "--"+st.name+"="+f.DefValue)
		require.NoError(t, err, st.name)
		want := def
		want.SettleAfter = want.settleAfter()
		require.Equal(t, want, got, "--%s=%s is the default", st.name, f.DefValue)
	}
}

// Issue 11, item 8: 0 means the default where the README says so, and
// settle-after 0 follows request-timeout.
func TestIssue11_08_ZeroMeansDefault(t *testing.T) {
	t.Parallel()
	var args []string
	for _, st := range settingTable() {
		if st.zeroIsDefault {
			args = append(args, "--"+st.name+"=0")
		}
	}
	cfg, err := load(t, args...)
	require.NoError(t, err)
	want := Default()
	want.SettleAfter = time.Minute
	require.Equal(t, want, cfg)

	cfg, err = load(t, "--request-timeout=30s")
	require.NoError(t, err)
	require.Equal(t, 90*time.Second, cfg.SettleAfter, "3 x request-timeout")
	cfg, err = load(t, "--request-timeout=0")
	require.NoError(t, err)
	require.Equal(t, time.Minute, cfg.SettleAfter, "at least 1m")
	cfg, err = load(t, "--settle-after=5m")
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, cfg.SettleAfter)
}

// Issue 11, item 12: the README's table of settings has a row for every
// setting, with its variable.
func TestIssue11_12_ReadmeListsEverySetting(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	for _, st := range settingTable() {
		row := "| `--" + st.name + "` | `" + envName(st.name) + "` |"
		require.True(t, strings.Contains(string(readme), row), "README lacks the row of %s: %s", st.name, row)
	}
}

// TestRedisURLForms accepts every Redis topology's URL and refuses a bad
// one with an error that names the setting and what is wrong, without the
// password.
func TestRedisURLForms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, err string }{
		{"redis://127.0.0.1:6379/0", ""},
		{"unix:///run/redis.sock", ""},
		{"redis+sentinel://h1:26379,h2:26379/mymaster/1", ""},
		{"redis+cluster://h1:7000,h2:7001", ""},
		{"http://h", `unknown scheme "http"`},
		{"redis+sentinel://:secret@h1:26379", "no master name"},
		{"redis+cluster://h1:7000?pool=3", "unexpected option: pool"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := load(t, "--redis-url", tc.url)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, "redis-url")
			require.ErrorContains(t, err, tc.err)
			require.NotContains(t, err.Error(), "secret")
		})
	}
}
