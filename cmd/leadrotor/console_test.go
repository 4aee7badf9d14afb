package main

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
)

// withDB runs fn with the service of the database db (a --database-url flag).
func withDB(t *testing.T, db string, fn func(ctx context.Context, svc *leads.Service)) {
	t.Helper()
	cmd := memberCmd()
	app.AddGlobalFlags(cmd)
	require.NoError(t, cmd.ParseFlags([]string{db}))
	cmd.SetContext(context.Background())
	require.NoError(t, withService(cmd, func(ctx context.Context, m *app.Main) error {
		fn(ctx, m.Service())
		return nil
	}))
}

// The console's accounts from the command line: an operator sets a
// password, or prints an invite or a reset link that works once.
func TestConsoleCommands(t *testing.T) {
	t.Parallel()
	db := "--database-url=file:" + filepath.Join(t.TempDir(), "console.db")
	_, err := cli(t, "account", "create", db, "--account", "2311")
	require.NoError(t, err)
	_, err = cli(t, "member", "add", db, "--account", "2311", "--email", "ana@acme.test", "--role", "admin")
	require.NoError(t, err)

	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"--email", "ana@acme.test"}, "no password on stdin: give it as one line, e.g. leadrotor member password --email EMAIL < file"},
		{"\n", []string{"--email", "ana@acme.test"}, "no password on stdin: give it as one line, e.g. leadrotor member password --email EMAIL < file"},
		{"short\n", []string{"--email", "ana@acme.test"}, "password: Must be 10 to 200 characters"},
		{"long enough password\n", []string{"--email", "zed@acme.test"}, "email: Is a member of no account"},
	} {
		_, err := cliIn(t, tc.stdin, append([]string{"member", "password", db}, tc.args...)...)
		require.EqualError(t, err, tc.want, "%q %v", tc.stdin, tc.args)
	}
	out, err := cliIn(t, "long enough password\r\nignored second line\n", "member", "password", db, "--email", "Ana@Acme.test")
	require.NoError(t, err)
	require.Equal(t, "console password of ana@acme.test set\n", out)
	withDB(t, db, func(ctx context.Context, svc *leads.Service) {
		_, err := svc.SignIn(ctx, "ana@acme.test", "long enough password", nil)
		require.NoError(t, err, "one line, without its line ending")
	})

	link := regexp.MustCompile(`(?m)^https://leads\.acme\.test/console/invite/([A-Za-z0-9_-]{43})$`)
	out, err = cli(t, "member", "invite", db, "--account", "2311", "--email", "Ben@acme.test", "--role", "manager", "--base-url", "https://leads.acme.test/")
	require.NoError(t, err)
	require.Regexp(t, `^invite of ben@acme.test to account 2311 as manager, valid once until \d{4}-`, out)
	invite := link.FindStringSubmatch(out)
	require.Len(t, invite, 2, out)
	out, err = cli(t, "member", "reset-password", db, "--account", "2311", "--email", "ana@acme.test")
	require.NoError(t, err)
	require.Regexp(t, `^password reset of ana@acme.test \(account 2311\), valid once until .*\n`+regexp.QuoteMeta(defaultBaseURL)+`/console/invite/[A-Za-z0-9_-]{43}\n$`, out)
	reset := regexp.MustCompile(`/console/invite/(\S+)`).FindStringSubmatch(out)
	withDB(t, db, func(ctx context.Context, svc *leads.Service) {
		m, err := svc.AcceptInvite(ctx, invite[1], "ben's own password")
		require.NoError(t, err)
		require.Equal(t, leads.RoleManager, m.Role)
		_, err = svc.AcceptInvite(ctx, reset[1], "ana's new password")
		require.NoError(t, err)
		_, err = svc.SignIn(ctx, "ana@acme.test", "ana's new password", nil)
		require.NoError(t, err)
	})

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"member", "invite", "--account", "99", "--email", "zed@acme.test"}, "account 99 not found"},
		{[]string{"member", "invite", "--account", "2311", "--email", "zed@acme.test", "--role", "boss"}, "role: Must be admin, manager or agent"},
		{[]string{"member", "reset-password", "--account", "2311", "--email", "zed@acme.test"}, "member zed@acme.test not found"},
		{[]string{"member", "invite", "--account", "2311", "--email", "zed@acme.test", "--expires-in", "0s"}, "--expires-in must be positive"},
	} {
		_, err := cli(t, append(tc.args, db)...)
		require.EqualError(t, err, tc.want, "%v", tc.args)
	}
}

// The demo admin can sign in to the console with the printed password, and
// a later run keeps a password changed since.
func TestDemoConsolePassword(t *testing.T) {
	t.Parallel()
	db := "--database-url=file:" + filepath.Join(t.TempDir(), "demo.db")
	out, err := cli(t, "demo", db)
	require.NoError(t, err)
	require.Contains(t, out, "Web console: http://localhost:8080/console/\n  sign in as admin@example.com, password leadrotor-demo.\n")
	withDB(t, db, func(ctx context.Context, svc *leads.Service) {
		members, err := svc.SignIn(ctx, demoAdmin, demoPassword, nil)
		require.NoError(t, err)
		require.Len(t, members, 1)
		require.Equal(t, leads.RoleAdmin, members[0].Role)
		require.NoError(t, svc.SetPassword(ctx, demoAdmin, "changed by the operator"))
	})
	out, err = cli(t, "demo", db)
	require.NoError(t, err)
	require.Contains(t, out, "password leadrotor-demo unless changed since the first demo run")
	withDB(t, db, func(ctx context.Context, svc *leads.Service) {
		_, err := svc.SignIn(ctx, demoAdmin, "changed by the operator", nil)
		require.NoError(t, err, "kept")
	})
}
