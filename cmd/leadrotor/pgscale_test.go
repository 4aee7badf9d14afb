package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/pgserver"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
	"github.com/leadrotor/leadrotor/store"
)

// PostgreSQL past one box (issue 17, item 4): the binary behind PgBouncer
// in transaction mode, and with its lagging reads on a streaming replica.

// TestServeBehindPgBouncer runs two servers whose database URL is a
// PgBouncer in transaction mode with the fewest server connections the
// store needs (store.MinPoolerConns), on a database of the test's own: the
// CLI's migrations and demo, a rotation's update,
// 40 leads created at once through both servers (each server alone opens
// more connections than PgBouncer has for them all), a webhook delivery of
// each lead's events, and each lead's SLA timer expiring exactly once.
func TestServeBehindPgBouncer(t *testing.T) {
	t.Parallel()
	bouncer := pgserver.StartPgBouncer(t, pgserver.Database(t), store.MinPoolerConns)
	rds := rotationtest.Real(t)
	if rds == nil {
		t.Skip("needs Redis")
	}
	redisURL := os.Getenv("LEADROTOR_TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = rotationtest.DefaultRedisURL
	}
	env := []string{"LEADROTOR_DATABASE_URL=" + bouncer.URL, "LEADROTOR_REDIS_URL=" + redisURL,
		"LEADROTOR_REDIS_PREFIX=" + rds.Prefix, "LEADROTOR_WEBHOOK_ALLOW_PRIVATE=true",
		fmt.Sprintf("LEADROTOR_DATABASE_POOLER_PREPARED_STATEMENTS=%v", bouncer.KeepsPrepared)}
	r := newSLARigOn(t, env, map[string]any{"acceptWithin": "3s"}) // no reassignment: one expiry each
	for _, s := range r.servers {
		require.Contains(t, s.logs.String(), `"pooler":true`, "the server finds PgBouncer")
	}
	hook := newHookReceiver(t, func(*http.Request, int) int { return http.StatusOK })
	_, secret := createHook(t, r.servers[0], r.demo, hook.url())

	created := r.create(t, 40)
	var events []hookEvent
	for _, l := range created {
		require.NotEmpty(t, l.AssignedTo, "lead %d assigned by the team's rotation", l.ID)
		events = append(events, hookEvent{l.ID, "lead.created"}, hookEvent{l.ID, "lead.assigned"})
	}
	requireOneIDPerEvent(t, hook.awaitAnswered(t, r.servers[1], events, time.Minute), events, secret)
	for i, l := range created {
		require.Eventually(t, func() bool { return len(expiries(r.lead(t, i, l.ID))) > 0 },
			30*time.Second, 100*time.Millisecond, "lead %d's SLA timer runs", l.ID)
	}
	for i, l := range created {
		require.Equal(t, []string{l.AssignedTo}, expiries(r.lead(t, i, l.ID)), "lead %d expired once", l.ID)
	}
	status, _, raw := call(t, "PATCH", fmt.Sprintf("%s/leads/%d", r.servers[1].url, created[0].ID), r.demo, `{"status":"contacted"}`)
	require.Equal(t, http.StatusOK, status, "%s", raw)
	require.Contains(t, listedLeads(t, r.servers[0], r.demo), created[0].ID)

	clients, servers := bouncer.Connections(t)
	require.Greater(t, clients, bouncer.PoolSize, "the servers' connections share PgBouncer's")
	require.LessOrEqual(t, servers, bouncer.PoolSize)
	for _, s := range r.servers {
		require.NoError(t, s.stop(t))
	}
}

// TestServeReadsFromReplica runs a server on a primary and, as its
// database-read-url, a standby streaming from it. With the standby's
// replay paused, a lead just created is found at once by id (and its
// routing), from the primary, while the listing, from the standby, does
// not show it yet; once replay resumes, the listing catches up.
func TestServeReadsFromReplica(t *testing.T) {
	t.Parallel()
	pg := pgserver.StartReplicated(t)
	env := []string{"LEADROTOR_DATABASE_URL=" + pg.Primary, "LEADROTOR_DATABASE_READ_URL=" + pg.Replica}
	demo := parseEnv(run(t, env, "demo", "--env"))
	s := serve(t, env)
	require.Contains(t, s.logs.String(), `"reads":"postgres://postgres@127.0.0.1:`, "the server names its read replica")

	res, err := client.Get(s.url + "/readyz")
	require.NoError(t, err)
	var ready struct {
		Status string
		Checks map[string]string
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&ready))
	require.NoError(t, res.Body.Close())
	require.Equal(t, "ready", ready.Status)
	require.Equal(t, "ok", ready.Checks["database-replica"], "readiness checks the replica, as an optional dependency")

	before := createLead(t, s, demo, "Before")
	require.Eventually(t, func() bool { return slices.Contains(listedLeads(t, s, demo), before.ID) },
		30*time.Second, 50*time.Millisecond, "the replica streams")

	pg.PauseReplay(t)
	lagging := createLead(t, s, demo, "Lagging")
	require.Equal(t, lagging.ID, getLead(t, s, demo, lagging.ID).ID, "read your writes: GET by id from the primary")
	status, _, raw := call(t, "GET", fmt.Sprintf("%s/leads/%d/routing", s.url, lagging.ID), demo, "")
	require.Equal(t, http.StatusOK, status, "%s", raw)
	require.NotContains(t, listedLeads(t, s, demo), lagging.ID, "the listing comes from the paused replica")

	pg.ResumeReplay(t)
	require.Eventually(t, func() bool { return slices.Contains(listedLeads(t, s, demo), lagging.ID) },
		30*time.Second, 50*time.Millisecond, "the listing catches up once the replica replays")
	require.NoError(t, s.stop(t))
}

// listedLeads returns the ids of the first page of GET /leads through s.
func listedLeads(t *testing.T, s *server, demo map[string]string) []int64 {
	t.Helper()
	status, _, raw := call(t, "GET", s.url+"/leads?limit=100", demo, "")
	require.Equal(t, http.StatusOK, status, "%s", raw)
	var page struct{ Data []struct{ ID int64 } }
	require.NoError(t, json.Unmarshal(raw, &page))
	ids := make([]int64, len(page.Data))
	for i, l := range page.Data {
		ids[i] = l.ID
	}
	return ids
}
