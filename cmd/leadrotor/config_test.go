package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
)

// Issue 10, item 13: every setting is parsed strictly, from flags, LEADROTOR_*
// variables and the config file alike; a mistake is one line that names the
// key and the form it takes, never a silent default. Not parallel: it sets
// environment variables.
func TestIssue10_13_StrictConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		file string   // YAML config file content, if any
		args []string // serve's flags
		// want are the substrings of the error, one per mistake; none: no error.
		want  []string
		lines int // when set, how many lines the error has
		check func(t *testing.T, cfg app.Config)
	}{
		{name: "env duration without unit", env: map[string]string{"LEADROTOR_REQUEST_TIMEOUT": "30"},
			want: []string{`LEADROTOR_REQUEST_TIMEOUT="30" is not a duration`, "500ms, 30s or 2m"}},
		{name: "file duration without unit", file: "redis-timeout: 5\n",
			want: []string{`redis-timeout: 5 in `, "is not a duration", "500ms, 30s or 2m"}},
		{name: "zero duration needs no unit", env: map[string]string{"LEADROTOR_REQUEST_TIMEOUT": "0"},
			check: func(t *testing.T, cfg app.Config) { require.Zero(t, cfg.RequestTimeout) }},
		{name: "durations with units", env: map[string]string{"LEADROTOR_REQUEST_TIMEOUT": "30s"}, file: "redis-timeout: 2s\n",
			check: func(t *testing.T, cfg app.Config) {
				require.Equal(t, 30*time.Second, cfg.RequestTimeout)
				require.Equal(t, 2*time.Second, cfg.RedisTimeout)
			}},
		{name: "body limit garbage", env: map[string]string{"LEADROTOR_BODY_LIMIT": "1M"},
			want: []string{`LEADROTOR_BODY_LIMIT="1M" is not a size`, "262144", "1MiB"}},
		{name: "body limit garbage in file", file: "body-limit: lots\n", want: []string{`body-limit: "lots" in `, "is not a size"}},
		{name: "body limit in MiB", env: map[string]string{"LEADROTOR_BODY_LIMIT": "1MiB"},
			check: func(t *testing.T, cfg app.Config) { require.EqualValues(t, 1<<20, cfg.BodyLimit) }},
		{name: "body limit in MB", env: map[string]string{"LEADROTOR_BODY_LIMIT": "1MB"},
			check: func(t *testing.T, cfg app.Config) { require.EqualValues(t, 1000000, cfg.BodyLimit) }},
		{name: "body limit in KiB flag", args: []string{"--body-limit", "512KiB"},
			check: func(t *testing.T, cfg app.Config) { require.EqualValues(t, 512<<10, cfg.BodyLimit) }},
		{name: "body limit in bytes", file: "body-limit: 65536\n",
			check: func(t *testing.T, cfg app.Config) { require.EqualValues(t, 65536, cfg.BodyLimit) }},
		{name: "trust proxy yes", env: map[string]string{"LEADROTOR_TRUST_PROXY": "yes"},
			want: []string{`LEADROTOR_TRUST_PROXY="yes" is not a boolean`, "true or false"}},
		{name: "trust proxy yes in file", file: "trust-proxy: yes\n", want: []string{`trust-proxy: "yes" in `, "true or false"}},
		{name: "trust proxy 1", env: map[string]string{"LEADROTOR_TRUST_PROXY": "1"},
			check: func(t *testing.T, cfg app.Config) { require.True(t, cfg.TrustProxy) }},
		{name: "trust proxy true in file", file: "trust-proxy: true\n",
			check: func(t *testing.T, cfg app.Config) { require.True(t, cfg.TrustProxy) }},
		{name: "max conns garbage", env: map[string]string{"LEADROTOR_DB_MAX_CONNS": "abc"},
			want: []string{`LEADROTOR_DB_MAX_CONNS="abc" is not a whole number`}},
		{name: "max conns fraction in file", file: "db-max-conns: 2.5\n", want: []string{"db-max-conns: 2.5 in ", "is not a whole number"}},
		{name: "misspelt key in file", file: "databse-url: postgres://db/x\n",
			want: []string{`unknown key "databse-url"`, "did you mean database-url?"}},
		{name: "nested key in file", file: "database:\n  url: postgres://db/x\n", want: []string{`unknown key "database.url"`}},
		{name: "unknown variable", env: map[string]string{"LEADROTOR_DATABSE_URL": "postgres://db/x"},
			want: []string{"LEADROTOR_DATABSE_URL is not a leadrotor setting", "did you mean LEADROTOR_DATABASE_URL?"}},
		{name: "variables of the examples are known", env: map[string]string{"LEADROTOR_API_KEY": "lr_x", "LEADROTOR_ACCOUNT_ID": "2311",
			"LEADROTOR_TEAM_ID": "1", "LEADROTOR_LEAD_SOURCE_ID": "1", "LEADROTOR_URL": "http://x", "LEADROTOR_BIN": "bin/leadrotor",
			"LEADROTOR_EXAMPLES_PORT": "1", "LEADROTOR_TEST_ANYTHING": "x"}},
		{name: "read url of another database", env: map[string]string{"LEADROTOR_DATABASE_URL": "postgres://db/x", "LEADROTOR_DATABASE_READ_URL": "mysql://r/x"},
			want: []string{"database-read-url", `scheme "mysql"`}},
		{name: "read url of SQLite", env: map[string]string{"LEADROTOR_DATABASE_URL": "postgres://db/x", "LEADROTOR_DATABASE_READ_URL": "file:r.db"},
			want: []string{`database-read-url "file:r.db" must be a PostgreSQL URL`}},
		{name: "read url beside SQLite", env: map[string]string{"LEADROTOR_DATABASE_URL": "file:x.db", "LEADROTOR_DATABASE_READ_URL": "postgres://r/x"},
			want: []string{"database-read-url needs a PostgreSQL database-url"}},
		{name: "read url password kept out of the error", file: "database-read-url: \"sqlite://u:s3cret@r/x\"\n",
			want: []string{"database-read-url", "sqlite://u:xxxxx@r/x"}},
		{name: "read url of a replica", env: map[string]string{"LEADROTOR_DATABASE_URL": "postgres://db/x", "LEADROTOR_DATABASE_READ_URL": "postgres://replica/x"},
			check: func(t *testing.T, cfg app.Config) { require.Equal(t, "postgres://replica/x", cfg.DatabaseReadURL) }},
		{name: "pooler keeps prepared statements", args: []string{"--database-pooler-prepared-statements"},
			check: func(t *testing.T, cfg app.Config) { require.True(t, cfg.DatabasePoolerPreparedStatements) }},
		{name: "pooler prepared statements garbage", env: map[string]string{"LEADROTOR_DATABASE_POOLER_PREPARED_STATEMENTS": "maybe"},
			want: []string{`LEADROTOR_DATABASE_POOLER_PREPARED_STATEMENTS="maybe" is not a boolean`}},
		{name: "one line per mistake", env: map[string]string{"LEADROTOR_REQUEST_TIMEOUT": "30", "LEADROTOR_TRUST_PROXY": "yes"},
			file: "databse-url: x\nassign-interval: 1\n",
			want: []string{"LEADROTOR_REQUEST_TIMEOUT", "LEADROTOR_TRUST_PROXY", "databse-url", "assign-interval"}, lines: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := tc.args
			if tc.file != "" {
				file := filepath.Join(t.TempDir(), "leadrotor.yaml")
				require.NoError(t, os.WriteFile(file, []byte(tc.file), 0o600))
				args = append([]string{"--config", file}, args...)
			}
			cfg, err := parseServe(t, args...)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				if tc.check != nil {
					tc.check(t, cfg)
				}
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			if tc.lines > 0 {
				require.Len(t, strings.Split(err.Error(), "\n"), tc.lines, "one line per mistake: %v", err)
			}
		})
	}
}

// Issue 10, item 13: a real process refuses a bad configuration with one
// line per mistake and a non-zero exit, whatever the command.
func TestIssue10_13_StrictConfigProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "leadrotor.yaml")
	require.NoError(t, os.WriteFile(file, []byte("databse-url: postgres://db/x\n"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"serve", []string{"serve", "--config", file}, []string{"LEADROTOR_REQUEST_TIMEOUT=30", "LEADROTOR_BODY_LIMIT=1M"},
			[]string{"LEADROTOR_REQUEST_TIMEOUT", "LEADROTOR_BODY_LIMIT", "databse-url"}},
		{"migrate", []string{"migrate"}, []string{"LEADROTOR_DB_MAX_CONNS=abc"}, []string{"LEADROTOR_DB_MAX_CONNS"}},
		{"demo", []string{"demo"}, []string{"LEADROTOR_REDIS_TIMOUT=1s"}, []string{"LEADROTOR_REDIS_TIMOUT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, leadrotorBinary(t), tc.args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "LEADROTOR_DATABASE_URL=file:"+filepath.Join(dir, tc.name+".db"))
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "%s", out)
			require.NotZero(t, exit.ExitCode())
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			require.Len(t, lines, len(tc.want), "one line per mistake:\n%s", out)
			for _, line := range lines {
				require.True(t, strings.HasPrefix(line, "leadrotor: "), line)
			}
			for _, w := range tc.want {
				require.Contains(t, string(out), w)
			}
			_, err = os.Stat(filepath.Join(dir, tc.name+".db"))
			require.ErrorIs(t, err, os.ErrNotExist, "nothing was opened")
		})
	}
}

// Issue 10, item 13: serve logs the database and Redis it uses, with their
// passwords masked.
func TestIssue10_13_ServeLogsEffectiveStores(t *testing.T) {
	t.Parallel()
	db := "file:" + filepath.Join(t.TempDir(), "leadrotor.db")
	// Redis on a closed port: serve starts degraded, which is enough here.
	s := serve(t, []string{"LEADROTOR_DATABASE_URL=" + db, "LEADROTOR_REDIS_URL=redis://:s3cret@127.0.0.1:1/0", "LEADROTOR_REDIS_TIMEOUT=100ms"})
	require.NoError(t, s.stop(t))
	logs := s.logs.String()
	require.NotContains(t, logs, "s3cret")
	var found bool
	for _, line := range strings.Split(logs, "\n") {
		var entry struct{ Msg, Database, Redis string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "starting" {
			found = true
			require.Equal(t, db, entry.Database)
			require.Equal(t, "redis://:xxxxx@127.0.0.1:1/0", entry.Redis)
		}
	}
	require.True(t, found, "a starting line with the database and Redis:\n%s", logs)
}
