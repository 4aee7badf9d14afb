package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/metrics"
)

// TestMetricsCountWhatTheServerDid runs a server on the embedded default and
// on PostgreSQL with Redis, sends it leads, bad requests and reads, and
// reads /metrics as Prometheus would: each count is exactly what was sent,
// the database and Redis calls and the pools are there, and no label holds
// an id.
func TestMetricsCountWhatTheServerDid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		args  func(t *testing.T) []string
		redis bool
	}{
		{"sqlite", func(t *testing.T) []string {
			return []string{"--database-url", "file:" + filepath.Join(t.TempDir(), "metrics.db")}
		}, false},
		{"postgres and redis", func(t *testing.T) []string {
			env, _, _ := sharedEnv(t)
			var args []string
			for _, e := range env {
				k, v, _ := strings.Cut(e, "=")
				args = append(args, "--"+strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(k, "LEADROTOR_")), "_", "-"), v)
			}
			return args
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := tc.args(t)
			out, err := cli(t, append([]string{"demo", "--env"}, args...)...)
			require.NoError(t, err)
			demo := parseEnv(out)
			m := runServer(t, args...)
			url := "http://" + m.Addr().String()
			scrape := func() metrics.Scrape {
				s, err := metrics.Read(context.Background(), http.DefaultClient, url+"/metrics", "")
				require.NoError(t, err)
				return s
			}
			before := scrape()

			const created, invalid = 20, 3
			var firstID string
			for i := range created {
				lead := postLead(t, url, demo, "Lead")
				if i == 0 {
					firstID = jsonNumber(lead["id"])
				}
			}
			for range invalid {
				status, body := tryPost(url+"/leads", demo, `{"firstName":"","lastName":"X"}`)
				require.Equal(t, http.StatusBadRequest, status, "%s", body)
			}
			res, err := http.Get(url + "/no/such/route/42")
			require.NoError(t, err)
			_ = res.Body.Close()
			req, _ := http.NewRequest(http.MethodGet, url+"/leads/"+firstID, nil)
			req.Header.Set("Authorization", "Bearer "+demo["LEADROTOR_API_KEY"])
			req.Header.Set("x-account-id", demo["LEADROTOR_ACCOUNT_ID"])
			res, err = http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode)

			after := scrape()
			delta := func(name string, labels map[string]string) float64 {
				return after.Sum(name, labels) - before.Sum(name, labels)
			}
			requests := "leadrotor_http_request_duration_seconds"
			require.EqualValues(t, created, delta(requests, map[string]string{"route": "/leads", "method": "POST", "code": "201"}))
			require.EqualValues(t, invalid, delta(requests, map[string]string{"route": "/leads", "method": "POST", "code": "400"}))
			require.EqualValues(t, 1, delta(requests, map[string]string{"route": "/leads/:id", "method": "GET", "code": "200"}))
			require.EqualValues(t, 1, delta(requests, map[string]string{"route": "unmatched", "code": "404"}))
			require.EqualValues(t, created, delta("leadrotor_leads_created_total", nil))
			require.EqualValues(t, created, delta("leadrotor_leads_created_total", map[string]string{"assignment": "rotation"}))
			require.EqualValues(t, created, delta("leadrotor_leads_assigned_total", map[string]string{"reason": "rotation"}))
			require.EqualValues(t, created, delta("leadrotor_rotation_turns_total", nil))
			require.Zero(t, delta("leadrotor_leads_deferred_total", nil))

			require.Positive(t, delta("leadrotor_db_query_duration_seconds", nil), "database calls are timed")
			require.Contains(t, after.LabelValues("go_sql_open_connections", "db_name"), "main")
			require.Contains(t, after.LabelValues("leadrotor_leads_awaiting_assignment", "status"), "pending")
			require.Zero(t, after.Sum("leadrotor_leads_awaiting_assignment", nil))
			require.Positive(t, after.Sum("go_goroutines", nil))
			require.Positive(t, after.Sum("process_resident_memory_bytes", nil))
			if tc.redis {
				require.Positive(t, delta("leadrotor_redis_command_duration_seconds", map[string]string{"command": "evalsha"}),
					"every turn is one script")
				require.Positive(t, after.Sum("leadrotor_redis_pool_connections", nil))
			}

			// Bounded labels: a value is never a lead's id, a key or an
			// email, whatever the requests said.
			allowed := regexp.MustCompile(`^[A-Za-z_/:.{}+-]*$`)
			numeric := map[string]bool{"code": true, "le": true, "quantile": true, "version": true}
			for name, fam := range after {
				for _, series := range fam.GetMetric() {
					for _, l := range series.GetLabel() {
						if numeric[l.GetName()] || !strings.HasPrefix(name, "leadrotor_") {
							continue
						}
						require.Regexp(t, allowed, l.GetValue(), "%s{%s}", name, l.GetName())
					}
				}
			}
		})
	}
}

// TestMetricsListener: /metrics is on the main listener by default, on
// --metrics-addr alone when it is set, and nowhere with --metrics=false.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	get := func(url string) int {
		res, err := http.Get(url)
		require.NoError(t, err)
		_ = res.Body.Close()
		return res.StatusCode
	}
	db := func() string { return "file:" + filepath.Join(t.TempDir(), "metrics.db") }

	m := runServer(t, "--database-url", db())
	require.Equal(t, http.StatusOK, get("http://"+m.Addr().String()+"/metrics"))

	m = runServer(t, "--database-url", db(), "--metrics=false")
	require.Equal(t, http.StatusNotFound, get("http://"+m.Addr().String()+"/metrics"))

	addr := freeAddr(t)
	m = runServer(t, "--database-url", db(), "--metrics-addr", addr)
	require.Equal(t, http.StatusNotFound, get("http://"+m.Addr().String()+"/metrics"), "not on the main listener")
	require.Equal(t, http.StatusOK, get("http://"+addr+"/metrics"))

	_, err := parseServe(t, "--metrics=false", "--metrics-addr", "127.0.0.1:9999")
	require.ErrorContains(t, err, "metrics-addr")
}

// TestMetricsToken: with --metrics-token, /metrics answers only requests
// that carry it as a bearer token, on the API's listener and on its own.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "s3cret-metrics-token-0123"
	get := func(url, auth string) int {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		if res.StatusCode == http.StatusUnauthorized {
			require.Equal(t, `Bearer realm="metrics"`, res.Header.Get("WWW-Authenticate"))
		}
		return res.StatusCode
	}
	db := func() string { return "file:" + filepath.Join(t.TempDir(), "metrics.db") }
	onAPI := runServer(t, "--database-url", db(), "--metrics-token", token).Addr().String()
	apart := freeAddr(t)
	runServer(t, "--database-url", db(), "--metrics-addr", apart, "--metrics-token", token)
	for _, url := range []string{"http://" + onAPI + "/metrics", "http://" + apart + "/metrics"} {
		for _, tc := range []struct {
			auth string
			want int
		}{
			{"", http.StatusUnauthorized},
			{"Bearer wrong-token-0123456789", http.StatusUnauthorized},
			{"Bearer " + token + "x", http.StatusUnauthorized},
			{"bearer " + token, http.StatusUnauthorized},
			{token, http.StatusUnauthorized},
			{"Bearer " + token, http.StatusOK},
		} {
			require.Equal(t, tc.want, get(url, tc.auth), "%s %q", url, tc.auth)
		}
	}

	_, err := parseServe(t, "--metrics-token", "short")
	require.ErrorContains(t, err, "metrics-token must be at least 16 characters")
	_, err = parseServe(t, "--metrics=false", "--metrics-token", token)
	require.ErrorContains(t, err, "metrics-token is set but metrics is off")
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestServeGCTarget: a server collects its garbage at ServeGCPercent
// unless GOGC chooses, as its Go metrics show.
func TestServeGCTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, fmt.Sprint(app.ServeGCPercent)},
		{[]string{"GOGC=150"}, "150"},
	} {
		env := append([]string{"LEADROTOR_DATABASE_URL=file:" + filepath.Join(t.TempDir(), "gc.db")}, tc.env...)
		s := serve(t, env)
		res, err := http.Get(s.url + "/metrics")
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.NoError(t, err)
		require.Regexp(t, `(?m)^go_gc_gogc_percent `+tc.want+`$`, string(body), "with %v", tc.env)
		require.NoError(t, s.stop(t))
	}
}
