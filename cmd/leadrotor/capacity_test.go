package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// These tests hold reps to their capacity (maxOpenLeads) with two server
// processes sharing PostgreSQL and Redis: the count of a rep's open leads
// lives in the rotation's Redis state and is checked in the same step as
// the turn, so no burst of leads, however split between the servers, puts
// a rep over it.

const (
	ana  = "ana@example.com"
	ben  = "ben@example.com"
	cara = "cara@example.com"
)

// capacityRig is two servers on one PostgreSQL schema and one Redis
// prefix, with the demo account, whose team rotation has the members the
// test gave it.
type capacityRig struct {
	servers []*server
	demo    map[string]string
	rot     int64 // the demo team's rotation
	rds     *rotationtest.Server
	dsn     string // the servers' PostgreSQL schema
	// caps is each capped member's maxOpenLeads.
	caps map[string]int
	// openStatuses is the account's open statuses, as GET /leads's status
	// filter takes them.
	openStatuses string
}

// newCapacityRig starts the rig; members are the team rotation's members as
// the API takes them ({"user":…, "weight":…, "maxOpenLeads":…}).
func newCapacityRig(t *testing.T, members ...map[string]any) *capacityRig {
	t.Helper()
	return newCapacityRigServing(t, nil, members...)
}

// newCapacityRigServing is newCapacityRig with args for both serve
// processes.
func newCapacityRigServing(t *testing.T, args []string, members ...map[string]any) *capacityRig {
	t.Helper()
	env, dsn, rds := sharedEnv(t)
	r := &capacityRig{demo: parseEnv(run(t, env, "demo", "--env")), rds: rds, dsn: dsn, caps: map[string]int{},
		openStatuses: "new,contacted,follow_up"}
	r.servers = []*server{serve(t, env, args...), serve(t, env, args...)}
	_, r.rot = rotationWeights(t, r.servers[0], r.demo)
	body, err := json.Marshal(map[string]any{"members": members})
	require.NoError(t, err)
	status, _, raw := call(t, "PATCH", r.url(1, "/rotations/%d", r.rot), r.demo, string(body))
	require.Equal(t, http.StatusOK, status, "%s", raw)
	for _, m := range members {
		if c, _ := m["maxOpenLeads"].(int); c > 0 {
			r.caps[m["user"].(string)] = c
		}
	}
	return r
}

// newThreeRepRig is the rig of ana and ben, each capped at 3 open leads,
// and cara, not capped.
func newThreeRepRig(t *testing.T) *capacityRig {
	t.Helper()
	return newCapacityRig(t,
		map[string]any{"user": ana, "maxOpenLeads": 3},
		map[string]any{"user": ben, "maxOpenLeads": 3},
		map[string]any{"user": cara})
}

// stop stops both servers, which must exit 0.
func (r *capacityRig) stop(t *testing.T) {
	t.Helper()
	for _, s := range r.servers {
		require.NoError(t, s.stop(t))
	}
}

// fill fills the places of ana and ben of newThreeRepRig with a first
// burst of 30 leads: cara gets the rest.
func (r *capacityRig) fill(t *testing.T) {
	t.Helper()
	require.Equal(t, map[string]int{ana: 3, ben: 3, cara: 24}, r.createAtOnce(t, 30))
}

// url is the URL of path (a format, with args) on server i (of 2, modulo).
func (r *capacityRig) url(i int, path string, args ...any) string {
	return r.servers[i%2].url + fmt.Sprintf(path, args...)
}

// createAtOnce creates n leads for the demo team from many clients at once,
// lead i through server i%2, and returns how many each rep got. Every lead
// must be created and assigned by the team's rotation.
func (r *capacityRig) createAtOnce(t *testing.T, n int) map[string]int {
	t.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				l, err := r.tryCreate(i, "Burst")
				if err != nil {
					t.Errorf("lead %d: %v", i, err)
					return
				}
				mu.Lock()
				got[l.AssignedTo]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.False(t, t.Failed())
	return got
}

// tryCreate creates a lead through server i (modulo 2), from any goroutine;
// an error unless it is created and assigned by the team's rotation.
func (r *capacityRig) tryCreate(i int, name string) (leadView, error) {
	var l leadView
	status, _, raw, err := send("POST", r.url(i, "/leads"), r.demo, leadBody(r.demo, name))
	switch {
	case err != nil:
		return l, err
	case status != http.StatusCreated:
		return l, fmt.Errorf("%d %s", status, raw)
	case json.Unmarshal(raw, &l) != nil || l.AssignedTo == "" || l.RotationID != r.rot:
		return l, fmt.Errorf("not assigned by rotation %d: %s", r.rot, raw)
	}
	return l, nil
}

// open returns the ids of user's open leads (of the account's open
// statuses) as the database has them, read through server i.
func (r *capacityRig) open(t *testing.T, i int, user string) []int64 {
	t.Helper()
	var ids []int64
	for _, l := range listLeads(t, r.servers[i%2], r.demo, "assignedTo="+user+"&status="+r.openStatuses) {
		require.Equal(t, user, l.AssignedTo)
		ids = append(ids, l.ID)
	}
	return ids
}

// close converts the leads, through the two servers in turn.
func (r *capacityRig) close(t *testing.T, ids []int64) {
	t.Helper()
	r.setStatus(t, ids, "converted")
}

// setStatus sets the leads' status, through the two servers in turn.
func (r *capacityRig) setStatus(t *testing.T, ids []int64, status string) {
	t.Helper()
	for i, id := range ids {
		code, _, raw := call(t, "PATCH", r.url(i, "/leads/%d", id), r.demo, `{"status":"`+status+`"}`)
		require.Equal(t, http.StatusOK, code, "%s", raw)
	}
}

// setOpenStatuses sets the account's open statuses through server i; none
// is the default.
func (r *capacityRig) setOpenStatuses(t *testing.T, i int, statuses ...string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"openStatuses": append([]string{}, statuses...)})
	require.NoError(t, err)
	code, _, raw := call(t, "PATCH", r.url(i, "/account"), r.demo, string(body))
	require.Equal(t, http.StatusOK, code, "%s", raw)
	r.openStatuses = "new,contacted,follow_up"
	if len(statuses) > 0 {
		r.openStatuses = strings.Join(statuses, ",")
	}
}

// memberStats is a member of GET /rotations/{id}/stats.
type memberStats struct {
	User         string
	MaxOpenLeads int
	OpenLeads    *int64
	Eligible     bool
	Reason       string
	Skips        map[string]int64
}

// stats returns the rotation's members as GET /rotations/{id}/stats on
// server i shows them, by user.
func (r *capacityRig) stats(t *testing.T, i int) map[string]memberStats {
	t.Helper()
	status, _, raw := call(t, "GET", r.url(i, "/rotations/%d/stats", r.rot), r.demo, "")
	require.Equal(t, http.StatusOK, status, "%s", raw)
	var st struct{ Members []memberStats }
	require.NoError(t, json.Unmarshal(raw, &st))
	out := map[string]memberStats{}
	for _, m := range st.Members {
		out[m.User] = m
	}
	return out
}

// preview returns the assignees of the next n turns as GET
// /rotations/{id}/next on server i shows them.
func (r *capacityRig) preview(t *testing.T, i, n int) []string {
	t.Helper()
	status, _, raw := call(t, "GET", r.url(i, "/rotations/%d/next?n=%d", r.rot, n), r.demo, "")
	require.Equal(t, http.StatusOK, status, "%s", raw)
	var p struct{ Next []struct{ Assignee string } }
	require.NoError(t, json.Unmarshal(raw, &p))
	var out []string
	for _, turn := range p.Next {
		out = append(out, turn.Assignee)
	}
	return out
}

// requireOpen checks that each capped member has want[user] open leads in
// the database, and that the stats of both servers say so, with the
// capacity and at_capacity exactly when it is reached.
func (r *capacityRig) requireOpen(t *testing.T, want map[string]int) {
	t.Helper()
	for user, n := range want {
		require.Len(t, r.open(t, 0, user), n, "%s's open leads in the database", user)
	}
	for i := range r.servers {
		st := r.stats(t, i)
		for user, m := range st {
			max, capped := r.caps[user]
			if !capped {
				require.Nil(t, m.OpenLeads, "server %d: %s has no capacity, and no count", i, user)
				require.True(t, m.Eligible, "server %d: %s has no capacity: %+v", i, user, m)
				continue
			}
			require.Equal(t, max, m.MaxOpenLeads, "server %d: %s", i, user)
			require.NotNil(t, m.OpenLeads, "server %d: %s's open leads", i, user)
			require.EqualValues(t, want[user], *m.OpenLeads, "server %d: %s's open leads, as the rotation counts them", i, user)
			full := want[user] >= max
			require.Equal(t, !full, m.Eligible, "server %d: %s: %+v", i, user, m)
			require.Equal(t, map[bool]string{true: "at_capacity"}[full], m.Reason, "server %d: %s", i, user)
		}
	}
}

// TestCapacityExactAcrossTwoServers fires bursts of leads at two servers at
// once, with ana and ben capped at 3 open leads and cara not: each burst
// fills exactly the places ana and ben have free, never one more, and cara
// gets the rest. Between bursts some of ana's and ben's leads are converted
// through either server, which frees their places at once: the stats of
// both servers and the preview show it before the next burst fills them.
func TestCapacityExactAcrossTwoServers(t *testing.T) {
	t.Parallel()
	r := newThreeRepRig(t)
	full := map[string]int{ana: 3, ben: 3}

	total := 60
	require.Equal(t, map[string]int{ana: 3, ben: 3, cara: total - 6}, r.createAtOnce(t, total))
	r.requireOpen(t, full)
	for i := range r.servers {
		st := r.stats(t, i)
		for _, user := range []string{ana, ben} {
			require.Positive(t, st[user].Skips["at_capacity"], "server %d: %s was passed over at capacity", i, user)
		}
		require.Zero(t, st[cara].Skips["at_capacity"], "server %d", i)
	}
	require.Equal(t, []string{cara, cara, cara, cara, cara}, r.preview(t, 0, 5))

	// Rounds: free places of ana and ben (the converted leads are the
	// first of each, or all of them), then a burst.
	for round, free := range []map[string]int{{ana: 1, ben: 2}, {ana: 3, ben: 0}, {ana: 2, ben: 3}, {ana: 1, ben: 1}} {
		for user, n := range free {
			r.close(t, r.open(t, round, user)[:n])
		}
		r.requireOpen(t, map[string]int{ana: 3 - free[ana], ben: 3 - free[ben]})
		next := map[string]int{}
		for _, user := range r.preview(t, round+1, 5) {
			next[user]++
		}
		for user, n := range free {
			// Of 5 turns of 3 members each free one gets at least one.
			require.LessOrEqual(t, next[user], n, "round %d: %s in the preview: %v", round, user, next)
			require.Equal(t, n > 0, next[user] > 0, "round %d: %s in the preview: %v", round, user, next)
		}

		const burst = 30
		want := map[string]int{cara: burst - free[ana] - free[ben]}
		for user, n := range free {
			if n > 0 {
				want[user] = n
			}
		}
		require.Equal(t, want, r.createAtOnce(t, burst), "round %d: the free places, filled exactly", round)
		r.requireOpen(t, full)
		total += burst
	}
	require.Equal(t, total, countLeads(t, r.servers[1], r.demo), "every lead stored once")
	r.stop(t)
}

// TestCapacityOneBelowRace: ana, capped at 1 and weighted 10 to ben's 1
// (uncapped), has no open lead, and two leads arrive at the same instant,
// one at each server. Without the cap she would get both nearly always;
// with it she gets exactly one, every time. Her lead is converted between
// tries, through either server.
func TestCapacityOneBelowRace(t *testing.T) {
	t.Parallel()
	r := newCapacityRig(t,
		map[string]any{"user": ana, "weight": 10, "maxOpenLeads": 1},
		map[string]any{"user": ben})
	const tries = 20
	for try := range tries {
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		got := make([]leadView, 2)
		for i := range got {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				var err error
				if got[i], err = r.tryCreate(i, "Race"); err != nil {
					t.Errorf("try %d, server %d: %v", try, i, err)
				}
			}()
		}
		ready.Wait()
		close(start)
		done.Wait()
		require.False(t, t.Failed())
		who := []string{got[0].AssignedTo, got[1].AssignedTo}
		require.ElementsMatch(t, []string{ana, ben}, who, "try %d: ana gets exactly one of the two", try)
		open := r.open(t, try, ana)
		require.Len(t, open, 1, "try %d", try)
		r.close(t, open)
		r.requireOpen(t, map[string]int{ana: 0}) // free at once, on both servers
	}
	st := r.stats(t, 1)
	require.Positive(t, st[ana].Skips["at_capacity"], "ana was passed over at capacity: %+v", st[ana])
	require.Equal(t, 2*tries, countLeads(t, r.servers[0], r.demo))
	r.stop(t)
}

// TestCapacityAfterRedisStateLoss loses the rotation's Redis state (the
// test's key prefix flushed, as a Redis restart without persistence does)
// with ana and ben at or near their capacity of 3: the counts are rebuilt
// from the database, so the stats and previews of both servers say so at
// once, and bursts through both servers still fill exactly the free places.
// A lead converted while the state is gone frees its place too.
func TestCapacityAfterRedisStateLoss(t *testing.T) {
	t.Parallel()
	r := newThreeRepRig(t)
	r.fill(t)
	r.close(t, r.open(t, 0, ben)[:1])

	r.rds.FlushPrefix(t)
	r.requireOpen(t, map[string]int{ana: 3, ben: 2})
	for i := range r.servers {
		require.NotContains(t, r.preview(t, i, 10), ana, "server %d: ana is full after the loss", i)
	}
	require.Equal(t, map[string]int{ben: 1, cara: 29}, r.createAtOnce(t, 30), "after the loss")
	r.requireOpen(t, map[string]int{ana: 3, ben: 3})

	// Lost again, and a lead of each converted before anything counts
	// them: the counts come from the database, with those places free.
	r.rds.FlushPrefix(t)
	r.close(t, append(r.open(t, 1, ana)[:1], r.open(t, 0, ben)[:2]...))
	require.Equal(t, map[string]int{ana: 1, ben: 2, cara: 27}, r.createAtOnce(t, 30), "after the second loss")
	r.requireOpen(t, map[string]int{ana: 3, ben: 3})
	require.Equal(t, 90, countLeads(t, r.servers[0], r.demo))
	r.stop(t)
}

// TestCapacityOpenStatusesAcrossServers changes the account's open statuses
// through one server and creates leads through both: ana and ben (capacity
// 3) are counted by the new set at once. With only "new" open, a lead of
// ana's marked contacted frees her place; with the default set again, that
// lead counts again, so she is over her capacity (as the manager asked)
// and gets nothing until she is back under it.
func TestCapacityOpenStatusesAcrossServers(t *testing.T) {
	t.Parallel()
	r := newThreeRepRig(t)
	r.fill(t)

	r.setOpenStatuses(t, 0, "new")
	r.requireOpen(t, map[string]int{ana: 3, ben: 3})
	r.setStatus(t, r.open(t, 1, ana)[:1], "contacted")
	r.requireOpen(t, map[string]int{ana: 2, ben: 3})
	require.Equal(t, map[string]int{ana: 1, cara: 29}, r.createAtOnce(t, 30), "contacted is not open")
	r.requireOpen(t, map[string]int{ana: 3, ben: 3})

	r.setOpenStatuses(t, 1)
	r.requireOpen(t, map[string]int{ana: 4, ben: 3})
	require.Equal(t, map[string]int{cara: 30}, r.createAtOnce(t, 30), "ana over her capacity, ben at it")
	r.close(t, r.open(t, 0, ana)[:2])
	require.Equal(t, map[string]int{ana: 1, cara: 29}, r.createAtOnce(t, 30), "one place free")
	r.requireOpen(t, map[string]int{ana: 3, ben: 3})
	r.stop(t)
}

// TestCapacityTurnInFlightAcrossStateLoss loses the Redis state while a
// lead's turn is taken and its lead not yet stored (audit_log is locked, as
// in TestIssue10_02_SigkillMidBatchSettlesTurns): ana, the only member,
// capped at 1, took the turn. A lead through the other server then finds
// no state and counts ana's open leads from the database: none yet, as
// the first is not committed, so the rebuilt state gives her the second
// too, with the same turn number (the rebuild numbers on from the
// database's last turn). The database refuses the second of the two to
// commit (issue 17: a turn number is recorded once); its server rebuilds
// the state with the first lead counted and takes another turn: ana is at
// capacity, and keeps one open lead. (Before, both leads were stored with
// the same turn: the documented limit of a state loss, README "When things
// fail", which remains where the numbers do not meet.) And the count stays
// right: after settle-after, the rotation's count is the database's.
func TestCapacityTurnInFlightAcrossStateLoss(t *testing.T) {
	t.Parallel()
	r := newCapacityRigServing(t, []string{"--request-timeout", "2s", "--settle-after", "5s"},
		map[string]any{"user": ana, "maxOpenLeads": 1})
	db, err := sql.Open("pgx", r.dsn)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }() // when the test fails before its own
	_, err = tx.ExecContext(ctx, "LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)

	answers := make(chan string, 2)
	post := func(i int) {
		go func() {
			status, _, raw, err := send("POST", r.url(i, "/leads"), r.demo, leadBody(r.demo, "InFlight"))
			if err != nil || status != http.StatusCreated {
				answers <- fmt.Sprintf("server %d: %d %s %v", i, status, raw, err)
				return
			}
			answers <- ""
		}()
	}
	post(0)
	require.Eventually(t, func() bool { return dayCounts(t, r.rds)[ana] == 1 }, 10*time.Second, 5*time.Millisecond,
		"ana's turn was not taken")
	r.rds.FlushPrefix(t)
	post(1)
	require.Eventually(t, func() bool { return sumDayCounts(t, r.rds) == 1 }, 10*time.Second, 5*time.Millisecond,
		"the second lead took no turn")
	require.NoError(t, tx.Rollback())
	for range 2 {
		require.Empty(t, <-answers)
	}
	open := len(r.open(t, 0, ana))
	require.Equal(t, 1, open, "the second turn 1 is refused and taken again, from a state that counts the first")
	require.Eventually(t, func() bool { return *r.stats(t, 1)[ana].OpenLeads == int64(open) }, 30*time.Second, 50*time.Millisecond,
		"counted again after settle-after: the rotation's count is the database's")
	r.stop(t)
}
