package main

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// routeBackends are the flags of the databases, and rotators, that route
// test's cases are checked on: SQLite with the in-process rotator, and
// PostgreSQL with Redis when they answer. The database flag comes first.
func routeBackends(t *testing.T) map[string][]string {
	out := map[string][]string{"sqlite": {"--database-url=file:" + filepath.Join(t.TempDir(), "route.db")}}
	dsn, rds := storetest.PostgresSchemaDSN(t), rotationtest.Real(t)
	if dsn != "" && rds != nil {
		redisURL := cmp.Or(os.Getenv("LEADROTOR_TEST_REDIS_URL"), rotationtest.DefaultRedisURL)
		out["postgres+redis"] = []string{"--database-url=" + dsn, "--redis-url=" + redisURL, "--redis-prefix=" + rds.Prefix}
	}
	return out
}

// liveCases hold for the demo account once its team's rotation has taken
// two turns (ana, ben): its next turns, the default rotation's first, a
// named owner.
const liveCases = `account: "2311"
cases:
  - name: a team lead takes the team's next turn
    lead: {firstName: Ada, lastName: Lovelace, teamId: 1, leadSourceId: 1}
    expect: {step: team, rotation: Inbound reps, owner: cara@example.com, status: assigned}
  - name: the next team lead goes round to ana
    lead: {firstName: Grace, lastName: Hopper, teamId: 1, leadSourceId: 1}
    expect: {owner: ana@example.com}
  - name: a big company without a team
    lead: {firstName: Alan, lastName: Turing, numberOfEmployees: 800}
    expect: {step: default, rule: none, rotation: Everyone, owner: ana@example.com}
  - name: a named owner
    lead: {firstName: Joan, lastName: Clarke, assignedTo: ben@example.com}
    expect: {step: explicit, owner: ben@example.com}
`

// proposal adds a rule and weighs ben twice in the default rotation.
const proposal = `defaultRotation:
  name: Everyone
  members: [{user: ana@example.com}, {user: ben@example.com, weight: 2}, {user: cara@example.com}]
routingRules:
  - name: Big companies
    conditions: {field: numberOfEmployees, op: gte, value: 500}
    action: {type: assign, assignee: cara@example.com}
`

// proposedCases hold under the proposal, not under the live rules.
const proposedCases = `account: "2311"
cases:
  - name: a small company to ben, who weighs twice
    lead: {firstName: Kathleen, lastName: Booth, numberOfEmployees: 8}
    expect: {step: default, rotation: Everyone, owner: ben@example.com}
  - name: a big company goes to cara
    lead: {firstName: Alan, lastName: Turing, numberOfEmployees: 800}
    expect: {step: rule, rule: big companies, owner: cara@example.com}
`

// `leadrotor route test -f cases.yaml` checks sample leads against the
// live configuration, or a proposed one, turn after turn, and fails with
// a readable diff when one does not get what it expects; the account is
// left as it was: no lead, no turn, the live rotator's state unchanged.
func TestRouteCases(t *testing.T) {
	t.Parallel()
	for name, flags := range routeBackends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			routeTest := func(args ...string) (string, error) {
				return cli(t, append(append([]string{"route", "test"}, args...), flags...)...)
			}
			_, err := cli(t, append([]string{"demo"}, flags...)...)
			require.NoError(t, err)
			takeTurns(t, 2, flags...)
			state := func() string {
				var out strings.Builder
				for _, id := range []string{"1", "2"} {
					next, err := cli(t, append([]string{"rotation", "next", id, "-n", "3", "--account", demoAccount}, flags...)...)
					require.NoError(t, err)
					out.WriteString(next)
				}
				withDB(t, flags[0], func(ctx context.Context, svc *leads.Service) {
					page, err := svc.ListLeads(ctx, leads.SystemActor(demoAccount), leads.ListOptions{})
					require.NoError(t, err)
					out.WriteString(strings.Repeat("lead\n", len(page.Data)))
				})
				return out.String()
			}
			before := state()
			require.Contains(t, before, "lead\nlead\n")

			dir := t.TempDir()
			write := func(name, content string) string {
				path := filepath.Join(dir, name)
				require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
				return path
			}
			out, err := routeTest("-f", write("live.yaml", liveCases))
			require.NoError(t, err, out)
			assert.Equal(t, `ok  a team lead takes the team's next turn
ok  the next team lead goes round to ana
ok  a big company without a team
ok  a named owner
4 cases, 0 failed
`, out)

			wrong := strings.Replace(liveCases, "rotation: Everyone, owner: ana@example.com", "rotation: Everyone, owner: ben@example.com", 1)
			out, err = routeTest("-f", write("wrong.yaml", wrong))
			require.ErrorContains(t, err, "wrong.yaml: 1 of 4 cases failed")
			assert.Contains(t, out, `ok  the next team lead goes round to ana
FAIL a big company without a team
    owner: want "ben@example.com", got "ana@example.com"
    decided by: step default, the default rotation; a turn of rotation "Everyone" gave it to ana@example.com
    eligible: ana@example.com, ben@example.com, cara@example.com
ok  a named owner
4 cases, 1 failed
`)

			// The proposal's cases fail against the live configuration...
			cases := write("proposed.yaml", proposedCases)
			out, err = routeTest("-f", cases)
			require.ErrorContains(t, err, "2 of 2 cases failed")
			assert.Contains(t, out, `FAIL a big company goes to cara
    rule: want "big companies", got none
    owner: want "cara@example.com", got "ben@example.com"
    step: want "rule", got "default"
    decided by: step default, the default rotation; a turn of rotation "Everyone" gave it to ben@example.com
`)
			// ... and pass against it, named by --proposed or by the file.
			write("proposal.yaml", proposal)
			out, err = routeTest("-f", cases, "--proposed", filepath.Join(dir, "proposal.yaml"))
			require.NoError(t, err, out)
			assert.Contains(t, out, "2 cases, 0 failed")
			out, err = routeTest("-f", write("with-config.yaml", "config: proposal.yaml\n"+proposedCases))
			require.NoError(t, err, out)
			assert.Contains(t, out, "2 cases, 0 failed")

			// --json: the cases with what they want and got; still a failure.
			out, err = routeTest("-f", cases, "--json")
			require.Error(t, err)
			var res struct {
				Total, Failed int
				Cases         []struct {
					Name       string
					OK         bool
					Want, Got  map[string]string
					Mismatches []map[string]string
				}
			}
			require.NoError(t, json.Unmarshal([]byte(out), &res), out)
			assert.Equal(t, 2, res.Total)
			assert.Equal(t, 2, res.Failed)
			assert.Equal(t, map[string]string{"step": "rule", "rule": "big companies", "owner": "cara@example.com"}, res.Cases[1].Want)
			assert.Equal(t, map[string]string{"step": "default", "rule": "", "rotation": "Everyone", "owner": "ben@example.com", "status": "assigned"}, res.Cases[1].Got)
			assert.Contains(t, res.Cases[1].Mismatches, map[string]string{"key": "owner", "want": "cara@example.com", "got": "ben@example.com"})

			assert.Equal(t, before, state(), "nothing was written, no live turn taken")
		})
	}
}

// A file of cases at fault is refused, naming the file and the path of
// what is wrong, before anything is decided.
func TestRouteCasesRefused(t *testing.T) {
	t.Parallel()
	db := demoDB(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad-proposal.yaml"), []byte("rotations:\n  - name: X\n    members: [{user: zed@example.com}]\n"), 0o600))
	lead := "{firstName: A, lastName: B}"
	for _, tc := range []struct {
		name, file string
		args       []string
		want       string
	}{
		{"a misspelt expectation", "cases:\n  - lead: " + lead + "\n    expect: {rotaton: X}\n", nil, `cases.yaml: cases[0].expect: unknown field "rotaton"`},
		{"a misspelt lead field", "cases:\n  - lead: {firstName: A, colour: red}\n    expect: {owner: x}\n", nil, `cases.yaml: cases[0].lead: unknown field "colour"`},
		{"a misspelt case key", "cases:\n  - lead: " + lead + "\n    expected: {owner: x}\n", nil, `cases.yaml: cases[0]: unknown field "expected"`},
		{"a misspelt top key", "acount: x\ncases: []\n", nil, `cases.yaml: unknown field "acount"`},
		{"no cases", "account: x\n", nil, "cases.yaml: neither a lead (a JSON object) nor a file of cases"},
		{"an empty list", "cases: []\n", nil, "cases.yaml: cases: Is empty"},
		{"a number for a name", "cases:\n  - lead: " + lead + "\n    expect: {rotation: 3}\n", nil, "cases.yaml: cases[0].expect.rotation: must be a string"},
		{"text for a number", "cases:\n  - lead: {firstName: A, lastName: B, numberOfEmployees: many}\n    expect: {owner: x}\n", nil,
			"cases.yaml: cases[0].lead.numberOfEmployees: must be an integer, not a string"},
		{"nothing expected", "cases:\n  - lead: " + lead + "\n    expect: {}\n", nil, "cases.yaml: cases[0].expect: Gives nothing to check"},
		{"an unknown step", "cases:\n  - lead: " + lead + "\n    expect: {step: rules}\n", nil, "cases.yaml: cases[0].expect.step: Must be one of explicit, returning"},
		{"not a time", "cases:\n  - lead: " + lead + "\n    at: monday\n    expect: {owner: x}\n", nil, "cases.yaml: cases[0].at: must be an RFC 3339 date-time string"},
		{"a lead CreateLead refuses", "cases:\n  - lead: {firstName: A}\n    expect: {owner: x}\n", nil, "cases.yaml: cases[0].lead.lastName: Is required"},
		{"a time going back", "at: 2026-11-02T10:00:00Z\ncases:\n  - lead: " + lead + "\n    expect: {owner: x}\n  - lead: " + lead +
			"\n    at: 2026-11-02T09:00:00Z\n    expect: {owner: x}\n", nil, "cases.yaml: cases[1].at: Is before the time of cases[0]"},
		{"a missing config file", "config: nowhere.yaml\ncases:\n  - lead: " + lead + "\n    expect: {owner: x}\n", nil, "cases.yaml: config: read spec: open " + filepath.Join(dir, "nowhere.yaml")},
		{"a config at fault", "config: bad-proposal.yaml\ncases:\n  - lead: " + lead + "\n    expect: {owner: x}\n", nil, "bad-proposal.yaml: rotations[0].members[0].user: zed@example.com is not a member"},
		{"a missing --proposed", "cases:\n  - lead: " + lead + "\n    expect: {owner: x}\n", []string{"--proposed", "nowhere.yaml"}, "config: read spec: open nowhere.yaml"},
		{"no account", "cases:\n  - lead: " + lead + "\n    expect: {owner: x}\n", []string{"--account="}, "no account"},
		{"--proposed for a single lead", `{"firstName": "A", "lastName": "B"}`, []string{"--proposed", "x.yaml"}, "--proposed needs a file of cases"},
		{"a single lead without an account", `{"firstName": "A", "lastName": "B"}`, []string{"--account="}, `required flag(s) "account" not set`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "cases.yaml")
			require.NoError(t, os.WriteFile(file, []byte(tc.file), 0o600))
			args := append([]string{"route", "test", "-f", file, db, "--account", demoAccount}, tc.args...)
			_, err := cli(t, args...)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := cliIn(t, "cases: []\n", "route", "test", "-f", "-", "--proposed", "-", "--account", demoAccount, db)
	require.ErrorContains(t, err, "cannot both be standard input")

	// JSON is a file of cases too.
	out, err := cliIn(t, `{"account": "2311", "cases": [{"name": "j", "lead": {"firstName": "A", "lastName": "B"}, "expect": {"step": "default"}}]}`,
		"route", "test", "-f", "-", db)
	require.NoError(t, err, out)
	require.Equal(t, "ok  j\n1 case, 0 failed\n", out)
}

// The README's example, examples/routing-cases.yaml, holds for the demo
// account with examples/rotations.yaml, before it is applied and after.
func TestRouteCasesExample(t *testing.T) {
	t.Parallel()
	db := demoDB(t)
	const cases = "../../examples/routing-cases.yaml"
	out, err := cli(t, "route", "test", "-f", cases, db)
	require.NoError(t, err, out)
	require.Contains(t, out, "ok  a spring campaign lead goes to the hot pool\n")
	require.Contains(t, out, "6 cases, 0 failed\n")

	_, err = cli(t, "apply", "-f", example, db)
	require.NoError(t, err)
	out, err = cli(t, "route", "test", "-f", cases, "--proposed", os.DevNull, db)
	require.NoError(t, err, out)
	require.Contains(t, out, "6 cases, 0 failed\n", "the live configuration is now the file's")
}
