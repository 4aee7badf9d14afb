package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
)

// demoDB seeds the demo account in a new SQLite database and returns the
// flag that names it.
func demoDB(t *testing.T) string {
	t.Helper()
	db := "--database-url=file:" + filepath.Join(t.TempDir(), "x.db")
	_, err := cli(t, "demo", db)
	require.NoError(t, err)
	return db
}

// writeFile writes content to a new file and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

const example = "../../examples/rotations.yaml"

func TestApplyExample(t *testing.T) {
	t.Parallel()
	db := demoDB(t)
	out, err := cli(t, "apply", "-f", example, "--account", "2311", db)
	require.NoError(t, err, out)
	require.Contains(t, out, `+ team "Partners"`)
	require.Contains(t, out, `+ lead source "Partner portal" of team "Partners"`)
	require.Contains(t, out, `+ rotation "Partner reps" of team "Partners": members: [dana@example.com (weight 2), ana@example.com (dailyCap 20)]`)
	require.Contains(t, out, `= rotation "Inbound reps" of team "Inbound"`, "the demo's rotation is as the file declares it")
	require.Contains(t, out, `+ pool rotation "Hot leads": members: [ana@example.com (weight 2), dana@example.com]`)
	require.Contains(t, out, `+ routing rule "Acme": conditions: all(emailDomain in ["acme.com"], numberOfEmployees gte 500); action: team "Partners"`)
	require.Contains(t, out, "7 changes applied")

	out, err = cli(t, "apply", "-f", example, db)
	require.NoError(t, err, "the file names the account")
	require.NotContains(t, out, "+ ")
	require.Contains(t, out, "no changes")
}

func TestApplyDryRun(t *testing.T) {
	t.Parallel()
	db := demoDB(t)
	raw, err := os.ReadFile(example)
	require.NoError(t, err)
	paused := strings.Replace(string(raw), "- {user: ben@example.com}\n", "- {user: ben@example.com, paused: true}\n", 1)
	require.NotEqual(t, string(raw), paused)
	file := writeFile(t, "paused.yaml", paused)

	out, err := cli(t, "apply", "-f", file, "--dry-run", db)
	require.NoError(t, err, out)
	require.Contains(t, out, `~ rotation "Inbound reps" of team "Inbound": ben@example.com: paused false -> true`)
	require.Contains(t, out, "(dry run) 8 changes would be applied")

	out, err = cli(t, "rotation", "next", "1", "--account", "2311", db)
	require.NoError(t, err)
	require.NotContains(t, out, "paused", "the dry run wrote nothing")
	out, err = cli(t, "apply", "-f", file, "--dry-run", db)
	require.NoError(t, err)
	require.Contains(t, out, "(dry run) 8 changes would be applied")
}

func TestApplyRefusesBadFiles(t *testing.T) {
	t.Parallel()
	db := demoDB(t)
	cases := []struct {
		name, yaml, args, want string
	}{
		{"a misspelt key", "teams:\n  - name: X\n    leadSource: [Web]\n", "--account=2311", `unknown field "leadSource"`},
		{"a misspelt member key", "teams:\n  - name: X\n    rotation: {name: r, members: [{user: ana@example.com, wieght: 2}]}\n", "--account=2311", `unknown field "wieght"`},
		{"no account", "teams: []\n", "", "no account"},
		{"another account", "account: 2311\n", "--account=42", "account: Must be the account applied to (42)"},
		{"a stranger in a rotation", "teams:\n  - name: X\n    rotation: {name: r, members: [{user: zed@example.com}]}\n", "--account=2311", "zed@example.com is not a member"},
		{"a field at fault", "teams:\n  - name: X\n    rotation: {name: r, members: [{user: ana@example.com, weight: -1}]}\n", "--account=2311", "teams[0].rotation.members[0].weight"},
		{"not YAML", "teams: [\n", "--account=2311", "bad.yaml"},
	}
	for _, tc := range cases {
		args := []string{"apply", "-f", writeFile(t, "bad.yaml", tc.yaml), db}
		if tc.args != "" {
			args = append(args, tc.args)
		}
		_, err := cli(t, args...)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
	out, err := cli(t, "apply", "-f", example, "--dry-run", db)
	require.NoError(t, err)
	require.Contains(t, out, "(dry run) 7 changes would be applied", "the bad files changed nothing")
}

// rulesYAML declares a pool and two routing rules on the demo account: one
// sends to the pool the same file creates, one to the demo's team.
const rulesYAML = `account: 2311
rotations:
  - name: Hot leads
    members: [{user: ana@example.com}, {user: ben@example.com}]
routingRules:
  - name: Spring campaign
    conditions: {field: metadata.utm.campaign, op: eq, value: spring}
    action: {type: rotation, rotation: Hot leads}
  - name: Acme
    enabled: false
    conditions:
      all:
        - {field: emailDomain, op: in, value: [acme.com]}
        - {field: numberOfEmployees, op: gte, value: 500}
    action: {type: team, team: Inbound}
`

func TestApplyRoutingRules(t *testing.T) {
	t.Parallel()
	db := demoDB(t)
	file := writeFile(t, "rules.yaml", rulesYAML)
	out, err := cli(t, "apply", "-f", file, db)
	require.NoError(t, err, out)
	require.Contains(t, out, `+ pool rotation "Hot leads": members: [ana@example.com, ben@example.com]
+ routing rule "Spring campaign": conditions: metadata.utm.campaign eq "spring"; action: rotation "Hot leads"
+ routing rule "Acme": enabled: false; conditions: all(emailDomain in ["acme.com"], numberOfEmployees gte 500); action: team "Inbound"
= order of routing rules
3 changes applied`)
	out, err = cli(t, "apply", "-f", file, db)
	require.NoError(t, err)
	require.Contains(t, out, "no changes")

	lead := writeFile(t, "lead.json", `{"firstName": "Ada", "lastName": "Lovelace", "metadata": {"utm": {"campaign": "Spring"}}}`)
	out, err = cli(t, "route", "test", "-f", lead, "--account", "2311", db)
	require.NoError(t, err)
	require.Contains(t, out, `"Spring campaign" (rule 1): matched`, "the rules route")

	// The rules swapped, a condition changed: a diff, and the new order.
	swapped := strings.Replace(rulesYAML, "  - name: Spring campaign\n    conditions: {field: metadata.utm.campaign, op: eq, value: spring}\n    action: {type: rotation, rotation: Hot leads}\n", "", 1)
	swapped += "  - name: Spring campaign\n    conditions: {field: metadata.utm.campaign, op: eq, value: summer}\n    action: {type: rotation, rotation: Hot leads}\n"
	out, err = cli(t, "apply", "-f", writeFile(t, "swapped.yaml", swapped), "--dry-run", db)
	require.NoError(t, err, out)
	require.Contains(t, out, `~ routing rule "Spring campaign": conditions: metadata.utm.campaign eq "spring" -> metadata.utm.campaign eq "summer"
~ order of routing rules: ["Spring campaign", "Acme"] -> ["Acme", "Spring campaign"]
(dry run) 2 changes would be applied`)

	cases := []struct{ name, from, to, want string }{
		{"a misspelt condition key", "op: gte", "opp: gte", `unknown field "opp"`},
		{"a misspelt action key", "team: Inbound", "teem: Inbound", `unknown field "teem"`},
		{"a bad op", "op: gte", "op: bigger", "routingRules[1].conditions.all[1].op"},
		{"an unknown rotation", "rotation: Hot leads", "rotation: Cold leads", "routingRules[0].action.rotation"},
		{"an unknown team", "team: Inbound", "team: Outbound", "routingRules[1].action.team"},
		{"a rule named twice", "name: Acme", "name: SPRING CAMPAIGN", `routingRules[1].name: Appears twice in routingRules`},
	}
	for _, tc := range cases {
		bad := strings.Replace(rulesYAML, tc.from, tc.to, 1)
		require.NotEqual(t, rulesYAML, bad, tc.name)
		_, err := cli(t, "apply", "-f", writeFile(t, "bad.yaml", bad), db)
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}

func TestRotationCommands(t *testing.T) {
	t.Parallel()
	db := demoDB(t)
	takeTurns(t, 2, db)

	out, err := cli(t, "rotation", "next", "1", "-n", "4", "--account", "2311", db)
	require.NoError(t, err)
	require.Contains(t, out, `rotation 1 "Inbound reps", after turn 2`, "rebuilt from the database")
	require.Regexp(t, `TURN +ASSIGNEE +SKIPPED\n3 +cara@example.com +-\n4 +ana@example.com +-\n5 +ben@example.com +-\n6 +cara@example.com +-\n`, out)
	require.Regexp(t, `USER +WEIGHT +PAUSED +CAP +TODAY +ELIGIBLE\nana@example.com +1 +no +- +1 +yes\n`, out)

	out, err = cli(t, "rotation", "stats", "1", "--account", "2311", db)
	require.NoError(t, err)
	require.Contains(t, out, `rotation 1 "Inbound reps": `)
	require.Contains(t, out, "2 leads, turn 2, next cara@example.com")
	require.Regexp(t, `USER +WEIGHT +ASSIGNED +SHARE +TARGET +DEVIATION +SKIPS +TODAY\n`, out)
	require.Regexp(t, `ana@example.com +1 +1 +50.0% +33.3% +\+0.3 +- +1\n`, out)
	require.Regexp(t, `cara@example.com +1 +0 +0.0% +33.3% +-0.7 +- +0\n`, out)

	out, err = cli(t, "rotation", "stats", "1", "--account", "2311", "--from", "2000-01-01T00:00:00Z", "--to", "2000-01-02T00:00:00Z", db)
	require.NoError(t, err)
	require.Contains(t, out, "2000-01-01T00:00:00Z to 2000-01-02T00:00:00Z, 0 leads")

	for _, args := range [][]string{
		{"rotation", "next", "99", "--account", "2311"},
		{"rotation", "next", "one", "--account", "2311"},
		{"rotation", "next", "1"},
		{"rotation", "stats", "1", "--account", "2311", "--from", "yesterday"},
	} {
		_, err := cli(t, append(args, db)...)
		require.Error(t, err, "%v", args)
	}
}

// takeTurns creates n leads of the demo team in process, on the database
// (and Redis) of flags, so that its rotation takes n turns.
func takeTurns(t *testing.T, n int, flags ...string) {
	t.Helper()
	cfg, err := parseServe(t, flags...)
	require.NoError(t, err)
	m := app.NewMain(cfg, cfg.Logger())
	defer func() { require.NoError(t, m.Close()) }()
	ctx := context.Background()
	require.NoError(t, m.OpenService(ctx))
	for range n {
		_, err := m.Service().CreateLead(ctx, leads.SystemActor(demoAccount), leads.LeadInput{FirstName: "Ada", LastName: "Lovelace", TeamID: 1, LeadSourceID: 1}, leads.CreateOptions{})
		require.NoError(t, err)
	}
}
