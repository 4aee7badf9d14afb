package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/faultnet"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// These tests break the real services under a real server process: a
// redis-server of their own that they kill, restart and freeze, and the
// PostgreSQL connection cut by a proxy.

// client bounds every request of these tests: a hung dependency must make
// the server answer, not hang it.
var client = &http.Client{Timeout: 15 * time.Second}

// call sends a request with the demo account's key and returns the status,
// headers and body.
func call(t *testing.T, method, url string, demo map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	status, header, raw, err := send(method, url, demo, body)
	require.NoError(t, err, "%s %s must answer", method, url)
	return status, header, raw
}

// send is call for any goroutine: it returns the error instead of failing
// the test.
func send(method, url string, demo map[string]string, body string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+demo["LEADROTOR_API_KEY"])
	req.Header.Set("x-account-id", demo["LEADROTOR_ACCOUNT_ID"])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, raw, err
}

func leadBody(demo map[string]string, name string) string {
	return fmt.Sprintf(`{"firstName":%q,"lastName":"Example","teamId":%s,"leadSourceId":%s}`, name, demo["LEADROTOR_TEAM_ID"], demo["LEADROTOR_LEAD_SOURCE_ID"])
}

type leadView struct {
	ID               int64
	Status           string
	AssignedTo       string
	RotationID       int64
	AssignmentStatus string
	RotationTurn     int64
	AuditLog         []struct {
		Event string
		User  string
		Data  map[string]any
	}
}

func createLead(t *testing.T, s *server, demo map[string]string, name string) leadView {
	t.Helper()
	status, _, body := call(t, "POST", s.url+"/leads", demo, leadBody(demo, name))
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var l leadView
	require.NoError(t, json.Unmarshal(body, &l))
	return l
}

func getLead(t *testing.T, s *server, demo map[string]string, id int64) leadView {
	t.Helper()
	status, _, body := call(t, "GET", s.url+"/leads/"+strconv.FormatInt(id, 10), demo, "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var l leadView
	require.NoError(t, json.Unmarshal(body, &l))
	return l
}

func readiness(t *testing.T, s *server) (int, string) {
	t.Helper()
	res, err := client.Get(s.url + "/readyz")
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	var r struct{ Status string }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&r))
	return res.StatusCode, r.Status
}

// redisProcess is a redis-server of the test's own.
type redisProcess struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

// startRedis starts a redis-server without persistence on a free port.
func startRedis(t *testing.T) *redisProcess {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if rotationtest.Required("redis") {
			t.Fatalf("redis-server is required (LEADROTOR_TEST_REQUIRE) but not installed: %v", err)
		}
		t.Skip("needs redis-server")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	r := &redisProcess{t: t, port: port}
	r.start()
	t.Cleanup(func() { r.kill() })
	return r
}

func (r *redisProcess) url() string { return fmt.Sprintf("redis://127.0.0.1:%d", r.port) }

func (r *redisProcess) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.t.TempDir())
	require.NoError(r.t, r.cmd.Start())
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), MaxRetries: -1})
	defer func() { _ = c.Close() }()
	require.Eventually(r.t, func() bool { return c.Ping(context.Background()).Err() == nil }, 10*time.Second, 10*time.Millisecond,
		"redis-server did not answer")
}

// kill stops the server at once, as a crash does: its data is gone.
func (r *redisProcess) kill() {
	if r.cmd != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

func (r *redisProcess) signal(sig syscall.Signal) {
	r.t.Helper()
	require.NoError(r.t, r.cmd.Process.Signal(sig))
}

// awaitAssigned waits until the background assigner has settled the leads.
func awaitAssigned(t *testing.T, s *server, demo map[string]string, ids []int64) []leadView {
	t.Helper()
	var out []leadView
	require.Eventually(t, func() bool {
		out = out[:0]
		for _, id := range ids {
			l := getLead(t, s, demo, id)
			if l.AssignmentStatus == "pending" {
				return false
			}
			out = append(out, l)
		}
		return true
	}, 30*time.Second, 20*time.Millisecond, "deferred leads were not assigned\n%s", s.logs)
	return out
}

// TestRedisOutageWithRealProcesses kills the server's Redis, restarts it
// empty and then freezes it, while leads keep coming: every lead is
// answered 201 and stored, those made while Redis was away wait as pending,
// /readyz says degraded, and once Redis answers the background assigner
// gives the waiting leads their turns in creation order, so that the
// rotation's order is exactly the one it would have had.
func TestRedisOutageWithRealProcesses(t *testing.T) {
	t.Parallel()
	rds := startRedis(t)
	dbURL := storetest.PostgresSchemaDSN(t)
	if dbURL == "" {
		dbURL = "file:" + filepath.Join(t.TempDir(), "leadrotor.db")
	}
	env := []string{"LEADROTOR_DATABASE_URL=" + dbURL, "LEADROTOR_REDIS_URL=" + rds.url()}
	demo := parseEnv(run(t, env, "demo", "--env"))
	s := serve(t, env, "--assign-interval", "20ms", "--redis-timeout", "1s")

	reps := []string{"ana@example.com", "ben@example.com", "cara@example.com"}
	var ids []int64
	for i := range 3 {
		l := createLead(t, s, demo, "Before")
		require.Equal(t, reps[i], l.AssignedTo)
		ids = append(ids, l.ID)
	}
	status, ready := readiness(t, s)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ready", ready)

	rds.kill()
	for range 4 {
		l := createLead(t, s, demo, "RedisDown")
		require.Equal(t, "pending", l.AssignmentStatus)
		require.Empty(t, l.AssignedTo)
		require.Equal(t, "assignment_deferred", l.AuditLog[len(l.AuditLog)-1].Event)
		ids = append(ids, l.ID)
	}
	status, ready = readiness(t, s)
	require.Equal(t, http.StatusOK, status, "the server serves without Redis")
	require.Equal(t, "degraded", ready)

	rds.start() // empty: the rotation state is rebuilt from the database
	settled := awaitAssigned(t, s, demo, ids)
	for _, l := range settled[3:] {
		last := l.AuditLog[len(l.AuditLog)-1]
		require.Equal(t, "lead_assigned", last.Event)
		require.Equal(t, true, last.Data["deferred"])
	}
	for range 2 {
		ids = append(ids, createLead(t, s, demo, "After").ID)
	}

	rds.signal(syscall.SIGSTOP) // hung: connections open, nothing answered
	for range 2 {
		l := createLead(t, s, demo, "RedisHung")
		require.Equal(t, "pending", l.AssignmentStatus, "a hung Redis does not hang the request")
		ids = append(ids, l.ID)
	}
	rds.signal(syscall.SIGCONT)
	awaitAssigned(t, s, demo, ids)
	ids = append(ids, createLead(t, s, demo, "Thawed").ID)
	all := awaitAssigned(t, s, demo, ids)

	for i, l := range all {
		require.Equal(t, reps[i%3], l.AssignedTo, "lead %d of %d", i+1, len(all))
	}
	status, ready = readiness(t, s)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ready", ready)
	require.NoError(t, s.stop(t))
}

// TestDatabaseOutageWithRealProcesses cuts the server's connections to
// PostgreSQL: leads are refused with 503 SERVICE_UNAVAILABLE and
// Retry-After, nothing is stored and no rotation turn is taken; when the
// database is back the same server goes on, with no restart.
func TestDatabaseOutageWithRealProcesses(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresSchemaDSN(t)
	redisSrv := rotationtest.Real(t)
	if dsn == "" || redisSrv == nil {
		t.Skip("needs PostgreSQL and Redis")
	}
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := faultnet.Start(t, u.Host)
	u.Host = proxy.Addr()
	redisURL := os.Getenv("LEADROTOR_TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = rotationtest.DefaultRedisURL
	}
	env := []string{"LEADROTOR_DATABASE_URL=" + u.String(), "LEADROTOR_REDIS_URL=" + redisURL, "LEADROTOR_REDIS_PREFIX=" + redisSrv.Prefix}
	demo := parseEnv(run(t, env, "demo", "--env"))
	s := serve(t, env, "--request-timeout", "2s")

	require.Equal(t, "ana@example.com", createLead(t, s, demo, "Before").AssignedTo)

	proxy.Cut()
	for range 3 {
		status, header, body := call(t, "POST", s.url+"/leads", demo, leadBody(demo, "Refused"))
		require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
		require.Equal(t, "2", header.Get("Retry-After"))
		require.Contains(t, string(body), `"code":"SERVICE_UNAVAILABLE"`)
	}
	status, ready := readiness(t, s)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "unavailable", ready)

	proxy.Restore()
	var l leadView
	require.Eventually(t, func() bool {
		status, _, body := call(t, "POST", s.url+"/leads", demo, leadBody(demo, "After"))
		if status == http.StatusServiceUnavailable {
			return false // a pooled connection that died with the cut; the client retries
		}
		require.Equal(t, http.StatusCreated, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &l))
		return true
	}, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, "ben@example.com", l.AssignedTo, "the refused leads took no turn")
	require.EqualValues(t, 2, l.RotationTurn)

	status, _, body := call(t, "GET", s.url+"/leads?limit=100", demo, "")
	require.Equal(t, http.StatusOK, status)
	var page struct{ Data []leadView }
	require.NoError(t, json.Unmarshal(body, &page))
	require.Len(t, page.Data, 2, "nothing of the refused leads was stored")
	require.NoError(t, s.stop(t), "exit 0")
}

// countLeads pages through every lead of the demo account.
func countLeads(t *testing.T, s *server, demo map[string]string) int {
	t.Helper()
	return len(listLeads(t, s, demo, ""))
}

// listLeads pages through the demo account's leads that GET /leads finds
// with the query filter (e.g. "status=new&assignedTo=…", "" for all).
func listLeads(t *testing.T, s *server, demo map[string]string, filter string) []leadView {
	t.Helper()
	var out []leadView
	cursor := ""
	if filter != "" {
		filter = "&" + filter
	}
	for {
		status, _, body := call(t, "GET", s.url+"/leads?limit=100"+filter+cursor, demo, "")
		require.Equal(t, http.StatusOK, status, "%s", body)
		var page struct {
			Data       []leadView
			NextCursor *string
		}
		require.NoError(t, json.NewDecoder(bytes.NewReader(body)).Decode(&page))
		out = append(out, page.Data...)
		if page.NextCursor == nil {
			return out
		}
		cursor = "&cursor=" + url.QueryEscape(*page.NextCursor)
	}
}
