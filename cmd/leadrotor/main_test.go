package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/ratelimit"
)

// parseServe parses serve's flags and returns the configuration it would run.
func parseServe(t *testing.T, args ...string) (app.Config, error) {
	t.Helper()
	root := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	serve, _, err := root.Find([]string{"serve"})
	require.NoError(t, err)
	require.NoError(t, serve.ParseFlags(args))
	return app.Load(serve)
}

// Not parallel: it sets environment variables.
func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "leadrotor.yaml")
	require.NoError(t, os.WriteFile(file, []byte("http-addr: \":7000\"\nlog-format: json\nredis-url: redis://file:6379\n"), 0o600))

	cfg, err := parseServe(t)
	require.NoError(t, err)
	require.Equal(t, app.Config{HTTPAddr: ":8080", DatabaseURL: "file:leadrotor.db", RedisPrefix: "leadrotor:", LogLevel: "info",
		LogFormat: "text", BodyLimit: 256 << 10, ShutdownTimeout: 15 * time.Second, Timeouts: app.DefaultTimeouts(),
		RedisTimeout: 500 * time.Millisecond, RequestTimeout: 10 * time.Second, AssignInterval: 500 * time.Millisecond, SettleAfter: time.Minute,
		ReadConcurrency: 1, ReadConcurrencyPerKey: 1, Console: true, Metrics: true, SimulationMaxWindow: 366 * 24 * time.Hour, SimulationRetention: 7 * 24 * time.Hour,
		WebhookLogRetention: 30 * 24 * time.Hour},
		cfg, "defaults need nothing installed")

	cfg, err = parseServe(t, "--config", file)
	require.NoError(t, err)
	require.Equal(t, ":7000", cfg.HTTPAddr, "the file beats the default")
	require.Equal(t, "json", cfg.LogFormat)

	t.Setenv("LEADROTOR_HTTP_ADDR", ":7001")
	t.Setenv("LEADROTOR_DATABASE_URL", "postgres://env/db")
	cfg, err = parseServe(t, "--config", file)
	require.NoError(t, err)
	require.Equal(t, ":7001", cfg.HTTPAddr, "the environment beats the file")
	require.Equal(t, "postgres://env/db", cfg.DatabaseURL)
	require.Equal(t, "redis://file:6379", cfg.RedisURL, "the file still fills what the environment leaves")

	cfg, err = parseServe(t, "--config", file, "--http-addr", ":7002")
	require.NoError(t, err)
	require.Equal(t, ":7002", cfg.HTTPAddr, "a flag beats everything")

	_, err = parseServe(t, "--log-format", "xml", "--redis-url", "http://nope")
	require.ErrorContains(t, err, "log-format")
	require.ErrorContains(t, err, "redis-url")

	cfg, err = parseServe(t, "--rate-limit-key", "100/s", "--rate-limit-account", "6000/m")
	require.NoError(t, err)
	require.Equal(t, ratelimit.Limit{Rate: 100, Period: time.Second}, cfg.RateLimitKey)
	require.Equal(t, ratelimit.Limit{Rate: 6000, Period: time.Minute}, cfg.RateLimitAccount)
	_, err = parseServe(t, "--rate-limit-key", "100/week")
	require.ErrorContains(t, err, "rate limit")
}

// cli runs the command line in process and returns its output.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return cliIn(t, "", args...)
}

// cliIn runs the command line as cli does, with stdin.
func cliIn(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd(&out, &out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	db := "--database-url=file:" + filepath.Join(t.TempDir(), "admin.db")
	out, err := cli(t, "migrate", db)
	require.NoError(t, err)
	require.Contains(t, out, "schema of sqlite is up to date")
	out, err = cli(t, "account", "create", db, "--account", "2311", "--name", "Acme")
	require.NoError(t, err)
	require.Contains(t, out, "account 2311 created")
	_, err = cli(t, "account", "create", db, "--account", "2311")
	require.ErrorContains(t, err, "already exists")
	out, err = cli(t, "member", "add", db, "--account", "2311", "--email", "Rep@Example.com", "--role", "manager")
	require.NoError(t, err)
	require.Contains(t, out, "rep@example.com is manager of account 2311")
	_, err = cli(t, "member", "add", db, "--account", "2311", "--email", "x@example.com", "--role", "boss")
	require.ErrorContains(t, err, "role")

	key, err := cli(t, "apikey", "create", db, "--email", "rep@example.com", "--quiet")
	require.NoError(t, err)
	key = strings.TrimSpace(key)
	require.True(t, strings.HasPrefix(key, leads.APIKeyPrefix))
	out, err = cli(t, "apikey", "list", db, "--email", "REP@example.com")
	require.NoError(t, err)
	row := apiKeyRow(t, out, key[:11])
	require.Equal(t, []string{"rep@example.com", "-"}, []string{row["EMAIL"], row["LAST USED"]})
	require.NotContains(t, out, key[11:], "the secret is never shown again")
	out, err = cli(t, "apikey", "revoke", db, key[:11])
	require.NoError(t, err)
	require.Contains(t, out, "revoked")
	out, err = cli(t, "apikey", "list", db)
	require.NoError(t, err)
	require.NotEqual(t, "-", apiKeyRow(t, out, key[:11])["REVOKED"])
	_, err = cli(t, "apikey", "revoke", db, key[:11])
	require.ErrorContains(t, err, "not found")

	out, err = cli(t, "demo", db)
	require.NoError(t, err)
	require.Contains(t, out, "curl -s http://localhost:8080/leads")
	again, err := cli(t, "demo", db, "--env")
	require.NoError(t, err)
	require.Contains(t, again, "export LEADROTOR_TEAM_ID='1'", "the second run reuses the demo's team")
}

func TestServeInProcess(t *testing.T) {
	t.Parallel()
	db := "file:" + filepath.Join(t.TempDir(), "serve.db")
	out, err := cli(t, "demo", "--env", "--database-url", db)
	require.NoError(t, err)
	env := parseEnv(out)

	m := runServer(t, "--database-url", db)
	url := "http://" + m.Addr().String()
	prefix := env["LEADROTOR_API_KEY"][:len(leads.APIKeyPrefix)+8]
	out, err = cli(t, "apikey", "list", "--database-url", db)
	require.NoError(t, err)
	require.Equal(t, "-", apiKeyRow(t, out, prefix)["LAST USED"])
	lead := postLead(t, url, env, "Ada")
	require.Equal(t, "ana@example.com", lead["assignedTo"])
	out, err = cli(t, "apikey", "list", "--database-url", db)
	require.NoError(t, err)
	used, err := time.Parse(time.RFC3339, apiKeyRow(t, out, prefix)["LAST USED"])
	require.NoError(t, err, "the key's use through the server is listed")
	require.WithinDuration(t, time.Now(), used, time.Minute)
	res, err := http.Get(url + "/readyz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	_ = res.Body.Close()
	// The console is on by default, beside the API.
	res, err = http.Get(url + "/console/signin")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")
	_ = res.Body.Close()
}

// --console=false serves the API alone: /console is the API's 404.
func TestServeWithoutConsole(t *testing.T) {
	t.Parallel()
	m := runServer(t, "--database-url", "file:"+filepath.Join(t.TempDir(), "serve.db"), "--console=false")
	res, err := http.Get("http://" + m.Addr().String() + "/console/signin")
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Empty(t, res.Header.Get("Content-Security-Policy"))
	_ = res.Body.Close()
}

// runServer opens and runs, in this process, a server configured by serve's
// args on a free loopback port; when t ends it is stopped, and must shut
// down cleanly.
func runServer(t *testing.T, args ...string) *app.Main {
	t.Helper()
	cfg, err := parseServe(t, append(args, "--http-addr", "127.0.0.1:0")...)
	require.NoError(t, err)
	m := app.NewMain(cfg, cfg.Logger())
	require.NoError(t, m.Open(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, "a clean shutdown")
		require.NoError(t, m.Close())
	})
	return m
}

// apiKeyRow returns the row of `leadrotor apikey list` for prefix, by column
// name. Columns are at least two spaces apart, and no value is empty.
func apiKeyRow(t *testing.T, out, prefix string) map[string]string {
	t.Helper()
	gap := regexp.MustCompile(`\s{2,}`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	columns := gap.Split(lines[0], -1)
	for _, line := range lines[1:] {
		if values := gap.Split(strings.TrimSpace(line), -1); values[0] == prefix {
			require.Len(t, values, len(columns), "row %q", line)
			row := map[string]string{}
			for i, c := range columns {
				row[c] = values[i]
			}
			return row
		}
	}
	t.Fatalf("no key %s in:\n%s", prefix, out)
	return nil
}

// parseEnv reads the export lines of `leadrotor demo --env`.
func parseEnv(out string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			env[k] = strings.Trim(v, "'")
		}
	}
	return env
}

// postLead creates a lead for the demo team and returns the response body.
func postLead(t *testing.T, url string, env map[string]string, name string) map[string]any {
	t.Helper()
	status, body := tryPostLead(url, env, name)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var lead map[string]any
	require.NoError(t, json.Unmarshal(body, &lead))
	return lead
}

func tryPostLead(url string, env map[string]string, name string) (int, []byte) {
	return tryPost(url+"/leads", env, leadBody(env, name))
}

// tryPost posts a JSON body to url with the demo account's key; status 0
// and the error's text when no answer came.
func tryPost(url string, env map[string]string, body string) (int, []byte) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+env["LEADROTOR_API_KEY"])
	req.Header.Set("x-account-id", env["LEADROTOR_ACCOUNT_ID"])
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer func() { _ = res.Body.Close() }()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return res.StatusCode, buf.Bytes()
}
