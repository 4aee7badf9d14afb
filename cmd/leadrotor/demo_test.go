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

// Issue 10, item 16: `leadrotor demo` run again changes nothing that exists
// (roles, renamed teams, lead sources and rotations stay as they are) and
// rotates its one named API key rather than piling up new ones, saying so.
func TestIssue10_16_DemoRerun(t *testing.T) {
	t.Parallel()
	db := "--database-url=file:" + filepath.Join(t.TempDir(), "demo.db")
	out, err := cli(t, "demo", db, "--env")
	require.NoError(t, err)
	first := parseEnv(out)

	// An operator works on the demo account: ana becomes a manager, the
	// team, its lead source and both rotations are renamed.
	_, err = cli(t, "member", "add", db, "--account", demoAccount, "--email", "ana@example.com", "--role", "manager")
	require.NoError(t, err)
	cmd := demoCmd()
	app.AddGlobalFlags(cmd)
	require.NoError(t, cmd.ParseFlags([]string{db}))
	cmd.SetContext(context.Background())
	var snapshot *leads.AccountConfig
	require.NoError(t, withService(cmd, func(ctx context.Context, m *app.Main) error {
		root := leads.SystemActor(demoAccount)
		cfg, err := m.Service().Configuration(ctx, root)
		require.NoError(t, err)
		require.Len(t, cfg.Teams, 1)
		for id := range cfg.Teams {
			_, err = m.Service().RenameTeam(ctx, root, id, "Inbound West")
			require.NoError(t, err)
			r := *cfg.TeamRotations[id]
			r.Name = "West reps"
			_, err = m.Service().ReplaceRotation(ctx, root, r)
			require.NoError(t, err)
		}
		for id := range cfg.LeadSources {
			_, err = m.Service().RenameLeadSource(ctx, root, id, "Web form")
			require.NoError(t, err)
		}
		r := *cfg.DefaultRotation
		r.Name = "All reps"
		_, err = m.Service().ReplaceRotation(ctx, root, r)
		require.NoError(t, err)
		snapshot, err = m.Service().Configuration(ctx, root)
		return err
	}))

	prefix := func(key string) string { return key[:len(leads.APIKeyPrefix)+8] }
	printed := []string{first["LEADROTOR_API_KEY"]}
	for run := range 3 {
		out, err = cli(t, "demo", db)
		require.NoError(t, err)
		note := "rotated: the previous demo key " + prefix(printed[len(printed)-1]) + " stays valid until the next run"
		if len(printed) > 1 {
			note += "; " + prefix(printed[len(printed)-2]) + " revoked"
		}
		require.Contains(t, out, "("+note+")", "run %d says the key was rotated, which stays and which is revoked:\n%s", run, out)
		key := regexp.MustCompile(`Bearer (lr_[^']+)'`).FindStringSubmatch(out)
		require.Len(t, key, 2, out)
		printed = append(printed, key[1])
	}
	out, err = cli(t, "demo", db, "--env")
	require.NoError(t, err)
	last := parseEnv(out)
	require.NotEqual(t, first["LEADROTOR_API_KEY"], last["LEADROTOR_API_KEY"])
	require.Equal(t, first["LEADROTOR_TEAM_ID"], last["LEADROTOR_TEAM_ID"], "the renamed team is the demo's")
	require.Equal(t, first["LEADROTOR_LEAD_SOURCE_ID"], last["LEADROTOR_LEAD_SOURCE_ID"])

	require.NoError(t, withService(cmd, func(ctx context.Context, m *app.Main) error {
		cfg, err := m.Service().Configuration(ctx, leads.SystemActor(demoAccount))
		require.NoError(t, err)
		require.Equal(t, snapshot.Version, cfg.Version, "the configuration did not change")
		require.Equal(t, leads.RoleManager, cfg.Members["ana@example.com"], "ana was not demoted")
		require.Len(t, cfg.Teams, 1)
		require.Len(t, cfg.LeadSources, 1)
		for id, team := range cfg.Teams {
			require.Equal(t, "Inbound West", team.Name)
			require.Equal(t, "West reps", cfg.TeamRotations[id].Name)
		}
		require.Equal(t, "All reps", cfg.DefaultRotation.Name)

		keys, err := m.Service().APIKeys(ctx, demoAdmin)
		require.NoError(t, err)
		var live []string
		for _, k := range keys {
			if k.RevokedAt == nil {
				live = append(live, k.Prefix)
			}
		}
		require.ElementsMatch(t, []string{prefix(printed[len(printed)-1]), prefix(last["LEADROTOR_API_KEY"])}, live,
			"two demo keys are valid: the last one printed and the one before")
		require.Len(t, keys, 5, "every run made one key")
		return nil
	}))
}
