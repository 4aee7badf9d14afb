package webhooks_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/webhooks"
)

// slaReps are the members of the rotations of the SLA tests, in turn order.
var slaReps = []string{"ann@example.com", "bob@example.com", "cid@example.com"}

// slaRotation makes slaReps members of b's account and a default rotation
// of them with sla, and the fallback assignee boss@example.com.
func slaRotation(t *testing.T, b *testBundle, sla leads.SLA) *leads.Rotation {
	t.Helper()
	ctx := context.Background()
	var members []leads.RotationMember
	for _, rep := range append(slaReps, "boss@example.com") {
		role := leads.RoleAgent
		if rep == "boss@example.com" {
			role = leads.RoleManager
		} else {
			members = append(members, leads.RotationMember{User: rep})
		}
		_, err := b.svc.AddMember(ctx, b.admin, leads.Member{Email: rep, Role: role})
		require.NoError(t, err)
	}
	rot, err := b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "Inbound", Default: true, Members: members,
		FallbackAssignee: "boss@example.com", SLA: &sla})
	require.NoError(t, err)
	return rot
}

// audit returns the events of a lead's audit log, oldest first, and the
// entries by event.
func audit(t *testing.T, b *testBundle, id int64) ([]string, map[string][]leads.AuditEntry) {
	t.Helper()
	l, err := b.svc.Lead(context.Background(), b.admin, id)
	require.NoError(t, err)
	var events []string
	by := map[string][]leads.AuditEntry{}
	for _, e := range l.AuditLog {
		events = append(events, e.Event)
		by[e.Event] = append(by[e.Event], e)
	}
	return events, by
}

// timersDone awaits the end of every SLA timer of b's database: no row of
// timers waits, and no timers' job is left to run (one statement, so that
// a row relayed to a job between two reads is not missed).
func timersDone(t *testing.T, b *testBundle) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		err := b.store.DB().QueryRowContext(context.Background(), `SELECT
			(SELECT count(*) FROM leadrotor_sla_timers) + (SELECT count(*) FROM river_job
			WHERE kind = 'leadrotor_sla_timer' AND state NOT IN ('completed', 'cancelled', 'discarded'))`).Scan(&n)
		require.NoError(t, err)
		return n == 0
	}, 20*time.Second, 20*time.Millisecond, "the SLA timers ran")
}

// TestSLAMovesTheLeadOn: a lead nobody accepts moves, when its time runs
// out (not before), to the next member who has not had it, with a new
// clock, until the SLA may move it no more; then it stays with the last
// rep and the managers are named for escalation. Each step is audited with
// why, and the stats count expiries and reassignments in and out.
func TestSLAMovesTheLeadOn(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var expired atomic.Int32
			b := setupWith(t, dsn, webhooks.Options{Handler: func(_ context.Context, e leads.Event) error {
				if e.Type == leads.EventTypeSLAExpired {
					expired.Add(1)
				}
				return nil
			}}, true, leads.WithAllEvents())
			rot := slaRotation(t, b, leads.SLA{AcceptWithin: leads.Duration(time.Second), MaxReassignments: 1})
			require.Equal(t, leads.SLAClockWall, rot.SLA.Clock)
			require.Equal(t, leads.SLAKeep, rot.SLA.WhenExhausted)
			b.start(t)

			lead := createLead(t, b, "Grace")
			require.Equal(t, slaReps[0], lead.AssignedTo)
			require.NotNil(t, lead.SLADueAt)
			require.Equal(t, lead.AssignedAt.Add(time.Second), *lead.SLADueAt)
			timersDone(t, b)

			events, by := audit(t, b, lead.ID)
			require.Equal(t, []string{"lead_created", "lead_assigned", "sla_expired", "lead_reassigned", "sla_expired"}, events)
			first, last := by["sla_expired"][0], by["sla_expired"][1]
			require.Equal(t, slaReps[0], first.Data["assignee"])
			require.Equal(t, leads.SLAReassigned, first.Data["action"])
			require.Equal(t, slaReps[1], first.Data["nextAssignee"])
			require.Equal(t, false, first.Data["exhausted"])
			require.Contains(t, first.Data["why"], "did not accept within 1s (wall clock)")
			require.False(t, first.Created.Before(*lead.SLADueAt), "expired at %s, due %s", first.Created, lead.SLADueAt)
			moved := by["lead_reassigned"][0]
			require.Equal(t, leads.AssignSLAExpired, moved.Data["reason"])
			require.Equal(t, slaReps[0], moved.Data["from"])
			require.Equal(t, slaReps[1], moved.Data["to"])
			require.Equal(t, slaReps[1], last.Data["assignee"])
			require.Equal(t, leads.SLAKeep, last.Data["action"])
			require.Equal(t, true, last.Data["exhausted"])
			require.Equal(t, "max_reassignments", last.Data["exhaustedBy"])

			got, err := b.svc.Lead(ctx, b.admin, lead.ID)
			require.NoError(t, err)
			require.Equal(t, slaReps[1], got.AssignedTo, "kept by the last rep")
			require.Equal(t, got.AssignedAt.Add(time.Second), *got.SLADueAt)
			require.Eventually(t, func() bool { return expired.Load() == 2 }, 10*time.Second, 20*time.Millisecond)

			// The missed turn counts: ann had her turn, bob took the next.
			st, err := b.svc.RotationStats(ctx, b.admin, rot.ID, nil, nil)
			require.NoError(t, err)
			byUser := map[string]leads.MemberStats{}
			for _, m := range st.Members {
				byUser[m.User] = m
			}
			require.Equal(t, int64(1), byUser[slaReps[0]].Assigned)
			require.Equal(t, leads.MemberSLA{Expired: 1, ReassignedOut: 1}, byUser[slaReps[0]].SLA)
			require.Equal(t, int64(1), byUser[slaReps[1]].Assigned)
			require.Equal(t, leads.MemberSLA{Expired: 1, ReassignedIn: 1}, byUser[slaReps[1]].SLA)
			require.Equal(t, leads.MemberSLA{}, byUser[slaReps[2]].SLA)

			// A timer that runs again (its process killed before river
			// knew it ran) does nothing: its assignment is over.
			again := leads.SLATimer{AccountID: lead.AccountID, LeadID: lead.ID, RotationID: rot.ID, Assignee: lead.AssignedTo,
				AssignedAt: *lead.AssignedAt, DueAt: *lead.SLADueAt}
			require.NoError(t, b.svc.ExpireSLA(ctx, again))
			after, _ := audit(t, b, lead.ID)
			require.Equal(t, events, after)
		})
	}
}

// timerRows returns the due_at of each row of SLA timers of b's database,
// and how many timers' jobs there are.
func timerRows(t *testing.T, b *testBundle) (due []int64, jobs int) {
	t.Helper()
	db := b.store.DB().DB
	rows, err := db.Query(`SELECT due_at FROM leadrotor_sla_timers ORDER BY due_at`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var d int64
		require.NoError(t, rows.Scan(&d))
		due = append(due, d)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'leadrotor_sla_timer'`).Scan(&jobs))
	return due, jobs
}

// TestSLATimersWaitUntilDue: the timers of leads assigned together wait
// as one row, due at the end of the second of their deadline (never
// before it), with no job in the queue; a running runner relays the row
// when its clock passes that time, and the timers run once: the leads
// move on.
func TestSLATimersWaitUntilDue(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var skew atomic.Int64 // how far both clocks are ahead of time.Now
			now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			b := setupWith(t, dsn, webhooks.Options{Now: now}, true, leads.WithClock(now))
			slaRotation(t, b, leads.SLA{AcceptWithin: leads.Duration(time.Minute), MaxReassignments: 1})
			b.start(t)

			first := createLead(t, b, "Grace")
			due, jobs := timerRows(t, b)
			require.Len(t, due, 1)
			require.Zero(t, jobs, "a timer is no job until it is due")
			at := time.UnixMicro(due[0])
			require.False(t, at.Before(*first.SLADueAt), "the row is due at %s, the lead at %s", at, first.SLADueAt)
			require.True(t, at.Sub(*first.SLADueAt) < time.Second, "the row is due at %s, the lead at %s", at, first.SLADueAt)
			require.Zero(t, at.Nanosecond(), "due at the end of a second")

			// A second lead, assigned in another second: a row of its own,
			// left where it is while the first is relayed.
			skew.Store(int64(30 * time.Second))
			second := createLead(t, b, "Alan")
			require.Equal(t, slaReps[1], second.AssignedTo)
			due, _ = timerRows(t, b)
			require.Len(t, due, 2)

			skew.Store(int64(time.Minute + time.Second))
			movedOn := func(l *leads.Lead) func() bool {
				return func() bool {
					got, err := b.svc.Lead(ctx, b.admin, l.ID)
					require.NoError(t, err)
					return got.AssignedTo != l.AssignedTo
				}
			}
			require.Eventually(t, movedOn(first), 10*time.Second, 10*time.Millisecond, "the first lead moved on")
			due, jobs = timerRows(t, b)
			require.Equal(t, 1, jobs, "one job for the row relayed")
			require.Len(t, due, 2, "the second lead's row, and the first lead's new clock")
			require.False(t, movedOn(second)(), "the second lead's time has not run out")

			skew.Store(int64(3 * time.Minute))
			require.Eventually(t, movedOn(second), 10*time.Second, 10*time.Millisecond, "the second lead moved on")
			// Past every deadline: the new clocks run out too, and the SLA
			// (one move) keeps each lead where it is.
			skew.Store(int64(10 * time.Minute))
			timersDone(t, b)
			for _, l := range []*leads.Lead{first, second} {
				events, _ := audit(t, b, l.ID)
				expiries := 0
				for _, e := range events {
					if e == "sla_expired" {
						expiries++
					}
				}
				require.Equal(t, 2, expiries, "each of the lead's two timers ran once: %v", events)
			}
		})
	}
}

// TestSLAAcceptStopsTheClock: a lead accepted in time stays with its rep:
// its timer runs and does nothing.
func TestSLAAcceptStopsTheClock(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setupWith(t, dsn, webhooks.Options{}, true)
			slaRotation(t, b, leads.SLA{AcceptWithin: leads.Duration(time.Second), MaxReassignments: 2})
			b.start(t)
			lead := createLead(t, b, "Grace")
			rep := leads.Actor{AccountID: b.admin.AccountID, Email: lead.AssignedTo, Role: leads.RoleAgent}
			_, err := b.svc.AcceptLead(ctx, rep, lead.ID)
			require.NoError(t, err)
			timersDone(t, b)
			events, _ := audit(t, b, lead.ID)
			require.Equal(t, []string{"lead_created", "lead_assigned", "lead_accepted"}, events)
		})
	}
}

// TestSLAWhenExhausted: what an SLA that may move a lead no more does with
// it: keep it with the rep, give it to the fallback assignee, or hold it
// unassigned; the managers are named for escalation every time.
func TestSLAWhenExhausted(t *testing.T) {
	t.Parallel()
	past := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC) // deadlines already passed: the timers run at once
	for _, tc := range []struct {
		when       string
		assignee   string
		status     leads.AssignmentStatus
		reassigned bool
	}{
		{leads.SLAKeep, slaReps[0], leads.AssignmentAssigned, false},
		{leads.SLAFallback, "boss@example.com", leads.AssignmentAssigned, true},
		{leads.SLAHold, "", leads.AssignmentUnassigned, true},
	} {
		t.Run(tc.when, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			escalated := make(chan []string, 1)
			b := setupWith(t, dsns(t)["sqlite"], webhooks.Options{Handler: func(_ context.Context, e leads.Event) error {
				if e.Type == leads.EventTypeSLAExpired {
					var to []string
					for _, m := range e.Data["escalate"].([]any) {
						to = append(to, m.(string))
					}
					escalated <- to
				}
				return nil
			}}, true, leads.WithAllEvents(), leads.WithClock(func() time.Time { return past }))
			slaRotation(t, b, leads.SLA{AcceptWithin: leads.Duration(time.Minute), WhenExhausted: tc.when})
			b.start(t)
			lead := createLead(t, b, "Grace")
			require.Equal(t, slaReps[0], lead.AssignedTo)
			timersDone(t, b)
			got, err := b.svc.Lead(ctx, b.admin, lead.ID)
			require.NoError(t, err)
			require.Equal(t, tc.assignee, got.AssignedTo)
			require.Equal(t, tc.status, got.AssignmentStatus)
			events, by := audit(t, b, lead.ID)
			require.Equal(t, tc.when, by["sla_expired"][0].Data["action"])
			require.Equal(t, tc.reassigned, len(by["lead_reassigned"]) == 1, "audit %v", events)
			require.Equal(t, []string{"boss@example.com"}, <-escalated)
		})
	}
}

// TestSLAFallbackRemoved: when the fallback assignee an SLA hands an
// exhausted lead to is removed from the account, the rotation keeps the
// lead with its last rep instead (what it did without a fallback anyway),
// says so, and stays editable.
func TestSLAFallbackRemoved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupWith(t, dsns(t)["sqlite"], webhooks.Options{}, true)
	rot := slaRotation(t, b, leads.SLA{AcceptWithin: leads.Duration(time.Minute), WhenExhausted: leads.SLAFallback})
	require.NoError(t, b.svc.RemoveMember(ctx, b.admin, "boss@example.com"))
	got, err := b.svc.Rotation(ctx, b.admin, rot.ID)
	require.NoError(t, err)
	require.Empty(t, got.FallbackAssignee)
	require.Equal(t, leads.SLAKeep, got.SLA.WhenExhausted)
	_, err = b.svc.UpdateRotation(ctx, b.admin, rot.ID, func(r *leads.Rotation) error { r.Name = "renamed"; return nil })
	require.NoError(t, err, "a rotation whose fallback left is still editable")
}

// TestSLAWorkingHoursAcrossAWeekend: on the working-hours clock, a lead
// given at 16:55 on a Friday to a rep who works 09:00-17:00 on weekdays is
// due at 09:05 on Monday, by the rep's own clock.
func TestSLAWorkingHoursAcrossAWeekend(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	friday := time.Date(2025, 6, 6, 16, 55, 0, 0, ny)
	b := setupWith(t, dsns(t)["sqlite"], webhooks.Options{}, true, leads.WithClock(func() time.Time { return friday }))
	ctx := context.Background()
	slaRotation(t, b, leads.SLA{AcceptWithin: leads.Duration(10 * time.Minute), Clock: leads.SLAClockWorkingHours, MaxReassignments: 1})
	week := []leads.WorkHours{{Start: "09:00", End: "17:00"}}
	for _, rep := range slaReps {
		_, err := b.svc.SetSchedule(ctx, b.admin, rep, &leads.Schedule{Timezone: "America/New_York",
			Monday: week, Tuesday: week, Wednesday: week, Thursday: week, Friday: week})
		require.NoError(t, err)
	}
	lead := createLead(t, b, "Grace")
	require.Equal(t, time.Date(2025, 6, 9, 9, 5, 0, 0, ny).UTC(), lead.SLADueAt.UTC())
	b.start(t)
	timersDone(t, b) // Monday is long past: the timer has run
	got, err := b.svc.Lead(ctx, b.admin, lead.ID)
	require.NoError(t, err)
	require.Equal(t, slaReps[1], got.AssignedTo)
}

// TestSLAWaitsForSomeoneBack: with whenNobodyAvailable wait, a lead whose
// time runs out at 17:30 on a Friday, when the members who have not had it
// work 09:00-17:00 on weekdays, stays with its rep and is due again at
// 09:00 on Monday (audited sla_waiting); the rep may still accept it
// meanwhile. At Monday's deadline it moves on to the first of them, as an
// expiry does. Without wait, the same expiry ends the SLA at once.
func TestSLAWaitsForSomeoneBack(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	friday := time.Date(2025, 6, 6, 16, 55, 0, 0, ny)
	monday := time.Date(2025, 6, 9, 9, 0, 0, 0, ny)
	for _, tc := range []struct {
		name     string
		when     string
		accepted bool   // ann accepts while the lead waits
		final    string // who has the lead at the end
	}{
		{"wait, then move on", leads.SLAWait, false, slaReps[1]},
		{"wait, accepted meanwhile", leads.SLAWait, true, slaReps[0]},
		{"exhaust", leads.SLAExhaust, false, slaReps[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var now atomic.Pointer[time.Time]
			now.Store(&friday)
			var mu sync.Mutex
			var expired []leads.Event // lead.sla_expired, as the handler got them
			handler := func(_ context.Context, e leads.Event) error {
				if e.Type == leads.EventTypeSLAExpired {
					mu.Lock()
					defer mu.Unlock()
					expired = append(expired, e)
				}
				return nil
			}
			expiredEvents := func() []leads.Event {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(expired)
			}
			b := setupWith(t, dsns(t)["sqlite"], webhooks.Options{Backoff: func(int) time.Duration { return 20 * time.Millisecond },
				Handler: handler}, true, leads.WithClock(func() time.Time { return *now.Load() }))
			slaRotation(t, b, leads.SLA{AcceptWithin: leads.Duration(10 * time.Minute), MaxReassignments: 1, WhenNobodyAvailable: tc.when})
			week := []leads.WorkHours{{Start: "09:00", End: "17:00"}}
			for _, rep := range slaReps[1:] { // ann works around the clock
				_, err := b.svc.SetSchedule(ctx, b.admin, rep, &leads.Schedule{Timezone: "America/New_York",
					Monday: week, Tuesday: week, Wednesday: week, Thursday: week, Friday: week})
				require.NoError(t, err)
			}
			lead := createLead(t, b, "Grace")
			require.Equal(t, slaReps[0], lead.AssignedTo)
			late := friday.Add(35 * time.Minute) // 17:30: bob and cid are gone
			now.Store(&late)
			b.start(t)
			if tc.when == leads.SLAExhaust {
				timersDone(t, b)
				events, by := audit(t, b, lead.ID)
				require.NotContains(t, events, leads.EventSLAWaiting)
				require.Equal(t, "nobody_left", by["sla_expired"][0].Data["exhaustedBy"])
			} else {
				require.Eventually(t, func() bool {
					events, _ := audit(t, b, lead.ID)
					return slices.Contains(events, leads.EventSLAWaiting)
				}, 20*time.Second, 20*time.Millisecond, "the expiry waits")
				got, err := b.svc.Lead(ctx, b.admin, lead.ID)
				require.NoError(t, err)
				require.Equal(t, slaReps[0], got.AssignedTo, "ann keeps it while nobody else is there")
				require.Equal(t, monday.UTC(), got.SLADueAt.UTC())
				events, by := audit(t, b, lead.ID)
				require.NotContains(t, events, leads.EventSLAExpired)
				w := by[leads.EventSLAWaiting][0].Data
				require.Equal(t, slaReps[1], w["nextAvailable"])
				require.Contains(t, w["why"], "nobody who has not had the lead is available")
				// Subscribers hear of the missed deadline, and of the wait.
				require.Eventually(t, func() bool { return len(expiredEvents()) == 1 }, 20*time.Second, 20*time.Millisecond,
					"lead.sla_expired for the wait")
				e := expiredEvents()[0]
				require.Equal(t, lead.ID, e.LeadID)
				require.Equal(t, slaReps[0], e.Lead.AssignedTo)
				require.Equal(t, leads.SLAWait, e.Data["action"])
				require.Equal(t, slaReps[0], e.Data["assignee"])
				require.Equal(t, slaReps[1], e.Data["nextAvailable"])
				require.Equal(t, monday.UTC().Format(time.RFC3339), e.Data["waitUntil"])
				require.Equal(t, false, e.Data["exhausted"])
				require.NotContains(t, e.Data, "escalate", "a wait escalates to nobody")
				if tc.accepted {
					_, err := b.svc.AcceptLead(ctx, leads.Actor{AccountID: b.admin.AccountID, Email: slaReps[0], Role: leads.RoleAgent}, lead.ID)
					require.NoError(t, err)
				}
				back := monday.Add(time.Minute)
				now.Store(&back)
				timersDone(t, b)
			}
			got, err := b.svc.Lead(ctx, b.admin, lead.ID)
			require.NoError(t, err)
			require.Equal(t, tc.final, got.AssignedTo)
			if tc.final == slaReps[1] {
				_, by := audit(t, b, lead.ID)
				require.Equal(t, leads.SLAReassigned, by["sla_expired"][0].Data["action"])
				require.Len(t, by[leads.EventSLAWaiting], 1, "one wait, audited once")
				require.Eventually(t, func() bool { // then bob's own time runs out: exhausted, kept
					var actions []any
					for _, e := range expiredEvents() {
						actions = append(actions, e.Data["action"])
					}
					return slices.Contains(actions, leads.SLAReassigned)
				}, 20*time.Second, 20*time.Millisecond, "lead.sla_expired for the wait, then for the move")
				waits := 0
				for _, e := range expiredEvents() {
					if e.Data["action"] == leads.SLAWait {
						waits++
					}
				}
				require.Equal(t, 1, waits, "one wait, told once")
			}
		})
	}
}
