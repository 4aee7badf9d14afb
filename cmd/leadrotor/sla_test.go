package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// slaRig is two servers (or fewer, once stopped) on one PostgreSQL schema
// and Redis prefix, with the demo account whose team rotation is ana, ben
// and cara under an SLA, and an API key of each rep.
type slaRig struct {
	env     []string
	servers []*server
	demo    map[string]string
	keys    map[string]string // rep -> API key acting as them
	rot     int64
}

func newSLARig(t *testing.T, sla map[string]any) *slaRig {
	t.Helper()
	env, _, _ := sharedEnv(t)
	return newSLARigOn(t, env, sla)
}

// newSLARigOn is newSLARig with the servers' environment env.
func newSLARigOn(t *testing.T, env []string, sla map[string]any) *slaRig {
	t.Helper()
	r := &slaRig{env: env, demo: parseEnv(run(t, env, "demo", "--env")), keys: map[string]string{}}
	for _, rep := range []string{ana, ben, cara} {
		r.keys[rep] = strings.TrimSpace(run(t, env, "apikey", "create", "--email", rep, "--quiet"))
	}
	r.servers = []*server{serve(t, env), serve(t, env)}
	_, r.rot = rotationWeights(t, r.servers[0], r.demo)
	body, err := json.Marshal(map[string]any{"sla": sla, "members": []map[string]any{{"user": ana}, {"user": ben}, {"user": cara}}})
	require.NoError(t, err)
	status, _, raw := call(t, "PATCH", fmt.Sprintf("%s/rotations/%d", r.servers[0].url, r.rot), r.demo, string(body))
	require.Equal(t, http.StatusOK, status, "%s", raw)
	return r
}

// as returns the demo's credentials acting as rep.
func (r *slaRig) as(rep string) map[string]string {
	return map[string]string{"LEADROTOR_API_KEY": r.keys[rep], "LEADROTOR_ACCOUNT_ID": r.demo["LEADROTOR_ACCOUNT_ID"]}
}

// slaLead is what a test needs of a lead.
type slaLead struct {
	ID         int64      `json:"id"`
	AssignedTo string     `json:"assignedTo"`
	AssignedAt time.Time  `json:"assignedAt"`
	AcceptedAt *time.Time `json:"acceptedAt"`
	SLADueAt   *time.Time `json:"slaDueAt"`
	AuditLog   []struct {
		Event string         `json:"event"`
		Data  map[string]any `json:"data"`
	} `json:"auditLog"`
}

// create creates n leads for the demo team at once, lead i through server
// i%len(servers).
func (r *slaRig) create(t *testing.T, n int) []slaLead {
	t.Helper()
	out := make([]slaLead, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := r.servers[i%len(r.servers)]
			status, _, raw, err := send("POST", s.url+"/leads", r.demo, leadBody(r.demo, fmt.Sprintf("Lead%d", i)))
			if err == nil && status == http.StatusCreated {
				err = json.Unmarshal(raw, &out[i])
			} else if err == nil {
				err = fmt.Errorf("create: %d %s", status, raw)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	return out
}

// lead reads a lead with its audit log through server i.
func (r *slaRig) lead(t *testing.T, i int, id int64) slaLead {
	t.Helper()
	status, _, raw := call(t, "GET", fmt.Sprintf("%s/leads/%d", r.servers[i%len(r.servers)].url, id), r.demo, "")
	require.Equal(t, http.StatusOK, status, "%s", raw)
	var l slaLead
	require.NoError(t, json.Unmarshal(raw, &l))
	return l
}

// count counts the entries of event in l's audit log whose data says
// assignee.
func (l slaLead) count(event, assignee string) int {
	n := 0
	for _, e := range l.AuditLog {
		if e.Event == event && e.Data["assignee"] == assignee {
			n++
		}
	}
	return n
}

// TestSLAAcceptRacesExpiryAcrossProcesses: 100 leads, each accepted by its
// rep at the instant its time runs out, through the other server than the
// one whose timer may fire: each lead has exactly one outcome, and the
// answer the rep got says which. Accepted: the lead stays, no expiry.
// Expired: the accept is refused, the lead moved on, one expiry.
func TestSLAAcceptRacesExpiryAcrossProcesses(t *testing.T) {
	t.Parallel()
	r := newSLARig(t, map[string]any{"acceptWithin": "2s", "maxReassignments": 1})
	leads := r.create(t, 100)
	answers := make([]int, len(leads))
	var wg sync.WaitGroup
	for i, l := range leads {
		require.NotNil(t, l.SLADueAt, "lead %d has a deadline", l.ID)
		wg.Go(func() {
			// Aimed at the deadline and the seconds after it, when its
			// timer runs (river makes a job that comes due runnable
			// within 5 s, then a process takes it within a poll
			// interval): both outcomes happen, and accepts meet their
			// timer head on.
			at := l.SLADueAt.Add(time.Duration(rand.IntN(8000)-1000) * time.Millisecond)
			time.Sleep(time.Until(at))
			status, _, raw, err := send("POST", fmt.Sprintf("%s/leads/%d/accept", r.servers[(i+1)%2].url, l.ID), r.as(l.AssignedTo), "")
			if err != nil {
				t.Error(err)
				return
			}
			if status != http.StatusOK && status != http.StatusForbidden {
				t.Errorf("accept lead %d: %d %s", l.ID, status, raw)
			}
			answers[i] = status
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	accepted := 0
	for i, l := range leads {
		var got slaLead
		require.Eventually(t, func() bool {
			got = r.lead(t, i, l.ID)
			// Settled: accepted, or the second rep's time ran out too.
			return got.AcceptedAt != nil || len(expiries(got)) == 2
		}, 30*time.Second, 100*time.Millisecond, "lead %d settles", l.ID)
		acceptedHere := got.count("lead_accepted", l.AssignedTo) == 1
		expiredHere := got.count("sla_expired", l.AssignedTo) == 1
		require.True(t, acceptedHere != expiredHere, "lead %d: accepted %v, expired %v: exactly one", l.ID, acceptedHere, expiredHere)
		if answers[i] == http.StatusOK {
			accepted++
			require.True(t, acceptedHere, "lead %d: the accept answered 200", l.ID)
			require.Equal(t, l.AssignedTo, got.AssignedTo)
		} else {
			require.True(t, expiredHere, "lead %d: the accept was refused", l.ID)
			require.NotEqual(t, l.AssignedTo, got.AssignedTo)
		}
	}
	t.Logf("%d of %d accepted in time, %d expired", accepted, len(leads), len(leads)-accepted)
	require.Less(t, accepted, len(leads), "some accept lost its race")
	require.Positive(t, accepted, "some accept won its race")
	for _, s := range r.servers {
		require.NoError(t, s.stop(t))
	}
}

// expiries returns the assignees of l's sla_expired entries.
func expiries(l slaLead) []string {
	var out []string
	for _, e := range l.AuditLog {
		if e.Event == "sla_expired" {
			out = append(out, fmt.Sprint(e.Data["assignee"]))
		}
	}
	return out
}

// TestSLATimersSurviveAKill: both servers SIGKILLed with timers pending; a
// server started again on the same database fires each of them once.
func TestSLATimersSurviveAKill(t *testing.T) {
	t.Parallel()
	r := newSLARig(t, map[string]any{"acceptWithin": "3s"}) // no reassignment: one expiry each
	leads := r.create(t, 20)
	for _, s := range r.servers {
		require.NoError(t, s.cmd.Process.Kill())
		<-s.done
	}
	require.True(t, time.Now().Before(*leads[0].SLADueAt), "killed before the first deadline")
	r.servers = []*server{serve(t, r.env)}
	for _, l := range leads {
		require.Eventually(t, func() bool {
			return len(expiries(r.lead(t, 0, l.ID))) > 0
		}, 30*time.Second, 100*time.Millisecond, "lead %d expires after the restart", l.ID)
	}
	for _, l := range leads {
		got := r.lead(t, 0, l.ID)
		require.Equal(t, []string{l.AssignedTo}, expiries(got), "lead %d expired once", l.ID)
		require.Equal(t, l.AssignedTo, got.AssignedTo, "kept by its rep (no reassignment allowed)")
	}
	require.NoError(t, r.servers[0].stop(t))
}
