package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 11, item 13: each noun has the verbs people expect, the same flag
// means the same thing on every command, and errors name the object.
func TestIssue11_13_OneLanguage(t *testing.T) {
	t.Parallel()
	db := "--database-url=file:" + filepath.Join(t.TempDir(), "cli.db")
	_, err := cli(t, "account", "create", db, "--account", "2311", "--name", "Acme")
	require.NoError(t, err)
	_, err = cli(t, "account", "create", db, "--account", "7", "--duplicate-policy", "allow")
	require.NoError(t, err)
	out, err := cli(t, "account", "list", db)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	require.Regexp(t, `^2311\s+Acme\s+reject\s+\d{4}-`, lines[1])
	require.Regexp(t, `^7\s+-\s+allow\s+`, lines[2])

	key, err := cli(t, "apikey", "create", db, "--email", "ana@acme.test", "--quiet")
	require.EqualError(t, err, "ana@acme.test is a member of no account: add them first (leadrotor member add --account ID --email ana@acme.test)")
	require.Empty(t, key, "no key for a user of no account")
	out, err = cli(t, "apikey", "list", db)
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(out, "\n"), "no key was stored: %s", out)

	for _, m := range [][]string{{"2311", "Ana@Acme.test", "admin"}, {"2311", "ben@acme.test", "agent"}, {"7", "ana@acme.test", "manager"}} {
		_, err = cli(t, "member", "add", db, "--account", m[0], "--email", m[1], "--role", m[2])
		require.NoError(t, err)
	}
	out, err = cli(t, "member", "list", db, "--account", "2311")
	require.NoError(t, err)
	require.Regexp(t, `(?s)ACCOUNT\s+EMAIL\s+ROLE\s+SINCE\n2311\s+ana@acme.test\s+admin\s+.*\n2311\s+ben@acme.test\s+agent\s+`, out)
	out, err = cli(t, "member", "list", db, "--email", "ANA@acme.test")
	require.NoError(t, err)
	require.Regexp(t, `(?s)\n2311\s+ana@acme.test\s+admin\s+.*\n7\s+ana@acme.test\s+manager\s+`, out)
	_, err = cli(t, "member", "list", db)
	require.ErrorContains(t, err, "--account or --email")

	key, err = cli(t, "apikey", "create", db, "--email", "ana@acme.test", "--quiet")
	require.NoError(t, err, "a member gets a key")
	require.True(t, strings.HasPrefix(key, "lr_"))

	out, err = cli(t, "member", "remove", db, "--account", "2311", "--email", "Ben@acme.test")
	require.NoError(t, err)
	require.Contains(t, out, "ben@acme.test is no longer a member of account 2311")
	out, err = cli(t, "member", "list", db, "--account", "2311")
	require.NoError(t, err)
	require.NotContains(t, out, "ben@acme.test")
	_, err = cli(t, "member", "remove", db, "--account", "2311", "--email", "ana@acme.test")
	require.Error(t, err, "the last admin stays")

	// Errors name the object and carry no API code.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"member", "remove", "--account", "2311", "--email", "zed@acme.test"}, "member zed@acme.test not found"},
		{[]string{"member", "add", "--account", "99", "--email", "zed@acme.test"}, "account 99 not found"},
		{[]string{"member", "list", "--account", "99"}, "account 99 not found"},
		{[]string{"rotation", "next", "99", "--account", "2311"}, "rotation 99 not found"},
		{[]string{"rotation", "stats", "99", "--account", "2311"}, "rotation 99 not found"},
		{[]string{"rotation", "next", "1", "--account", "99"}, "account 99 not found"},
		{[]string{"apikey", "revoke", "lr_nothere"}, "API key lr_nothere not found"},
		{[]string{"account", "create", "--account", "2311"}, "account 2311 already exists"},
		{[]string{"member", "add", "--account", "2311", "--email", "bad"}, "email: Must be a valid email address"},
	} {
		_, err := cli(t, append(tc.args, db)...)
		require.EqualError(t, err, tc.want, "%v", tc.args)
	}

	// -n is a count wherever it is; --account an account's id wherever it is.
	for _, path := range [][]string{{"rotation", "next"}, {"account", "create"}, {"member", "add"}, {"member", "remove"}, {"member", "list"}, {"rotation", "stats"}, {"apply"}} {
		c, _, err := newRootCmd(nil, nil).Find(path)
		require.NoError(t, err)
		if f := c.Flags().ShorthandLookup("n"); f != nil {
			require.Equal(t, "count", f.Name, "%v", path)
		}
		require.NotNil(t, c.Flags().Lookup("account"), "%v", path)
		require.Nil(t, c.Flags().Lookup("id"), "%v", path)
	}
}

// Issue 11, item 13: the binary says a missing object in one line, by its
// id, and exits non-zero.
func TestIssue11_13_ProcessNamesTheObject(t *testing.T) {
	t.Parallel()
	env := []string{"LEADROTOR_DATABASE_URL=file:" + filepath.Join(t.TempDir(), "cli.db")}
	run(t, env, "demo")
	cmd := exec.Command(leadrotorBinary(t), "rotation", "next", "99", "--account", "2311")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	require.Equal(t, 1, exit.ExitCode())
	require.Equal(t, "leadrotor: rotation 99 not found\n", string(out))
}
