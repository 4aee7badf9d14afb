package simulate_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
	"github.com/leadrotor/leadrotor/simulate"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// history is an account whose leads were created, by the real Service, at
// times a test clock set: the window [from, to) holds the later ones.
type history struct {
	svc      *leads.Service
	store    leads.HistoryStore
	admin    leads.Actor
	from, to time.Time
	// assigned is who each lead of the window got when created.
	assigned map[int64]string
	reasons  map[string]int
	// reassigned counts the leads moved on by hand, taking turns, from the
	// window's start.
	reassigned int
}

// The rotators the history is made with: both take turns by the same rule,
// the replay always in process.
var rotators = []string{"memory", "redis"}

func newRotator(t *testing.T, kind string, s leads.Store) leads.Rotator {
	if kind == "memory" {
		return rotation.NewMemory(s)
	}
	r := rotationtest.Real(t)
	if r == nil {
		r = rotationtest.Mini(t)
	}
	rot, err := rotation.NewRedis(r.Client, s, rotation.WithKeyPrefix(r.Prefix))
	require.NoError(t, err)
	return rot
}

// makeHistory configures an account with what decides an owner (a team's
// rotation with weights, a paused member, a daily cap, a capacity; a
// default rotation; a pool; rules to the pool, to a member, and holding;
// returning contacts by email; working hours and time off) and creates 400
// leads, one every 17 minutes from a Monday 07:00, by the real Service.
// The window starts at the 150th, mid-day: its rotation states, daily
// counts and open leads are the history's.
func makeHistory(t *testing.T, s leads.Store, rotator string) *history {
	ctx := context.Background()
	var id [5]byte
	_, _ = rand.Read(id[:])
	account := "sim-" + hex.EncodeToString(id[:])
	now := time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC)
	svc := leads.NewService(s, newRotator(t, rotator, s), leads.WithClock(func() time.Time { return now }))
	_, err := svc.CreateAccount(ctx, leads.Account{ID: account, Name: "Simulated"})
	require.NoError(t, err)
	sys := leads.SystemActor(account)
	admin := leads.Actor{AccountID: account, Email: "admin@example.com", Role: leads.RoleAdmin}
	_, err = svc.PutMember(ctx, sys, leads.Member{Email: admin.Email, Role: leads.RoleAdmin})
	require.NoError(t, err)
	rep := func(i int) string { return fmt.Sprintf("rep%d@example.com", i) }
	for i := 1; i <= 6; i++ {
		_, err := svc.PutMember(ctx, sys, leads.Member{Email: rep(i), Role: leads.RoleAgent})
		require.NoError(t, err)
	}
	allow := leads.DuplicateAllow
	_, err = svc.UpdateAccount(ctx, admin, leads.AccountPatch{DuplicatePolicy: &allow,
		Returning: &leads.ReturningPolicy{MatchBy: []string{leads.MatchEmail}, WindowDays: 30}})
	require.NoError(t, err)
	team, err := svc.CreateTeam(ctx, admin, leads.Team{Name: "Sales"})
	require.NoError(t, err)
	src, err := svc.CreateLeadSource(ctx, admin, leads.LeadSource{TeamID: team.ID, Name: "web"})
	require.NoError(t, err)
	_, err = svc.CreateRotation(ctx, admin, leads.Rotation{Name: "Sales", TeamID: team.ID, Members: []leads.RotationMember{
		{User: rep(1), Weight: 1}, {User: rep(2), Weight: 2}, {User: rep(3), Weight: 1, DailyCap: 5},
		{User: rep(4), Weight: 3, Paused: true}, {User: rep(5), Weight: 1, MaxOpenLeads: 12}}})
	require.NoError(t, err)
	_, err = svc.CreateRotation(ctx, admin, leads.Rotation{Name: "Default", Default: true, Members: []leads.RotationMember{
		{User: rep(5), Weight: 1, MaxOpenLeads: 12}, {User: rep(6), Weight: 1}}})
	require.NoError(t, err)
	hot, err := svc.CreateRotation(ctx, admin, leads.Rotation{Name: "Hot", Members: []leads.RotationMember{
		{User: rep(1), Weight: 1}, {User: rep(6), Weight: 2}}})
	require.NoError(t, err)
	for _, r := range []leads.RoutingRule{
		{Name: "hot leads", Enabled: true, Conditions: leads.Condition{Field: "hotScore", Op: leads.OpGte, Value: 70},
			Action: leads.RuleAction{Type: leads.ActionRotation, RotationID: hot.ID}},
		{Name: "acme", Enabled: true, Conditions: leads.Condition{Field: "company", Op: leads.OpContains, Value: "Acme"},
			Action: leads.RuleAction{Type: leads.ActionAssign, Assignee: rep(2)}},
		{Name: "spam", Enabled: true, Conditions: leads.Condition{Field: "email", Op: leads.OpEndsWith, Value: "@spam.test"},
			Action: leads.RuleAction{Type: leads.ActionHold, Reason: "looks like spam"}},
	} {
		_, err := svc.CreateRoutingRule(ctx, admin, r, -1)
		require.NoError(t, err)
	}
	day := []leads.WorkHours{{Start: "09:00", End: "17:00"}}
	_, err = svc.SetSchedule(ctx, admin, rep(6), &leads.Schedule{Timezone: "UTC", Monday: day, Tuesday: day, Wednesday: day, Thursday: day, Friday: day})
	require.NoError(t, err)
	_, err = svc.AddTimeOff(ctx, admin, rep(1), leads.TimeOff{Start: now.Add(50 * time.Hour), End: now.Add(70 * time.Hour)})
	require.NoError(t, err)

	h := &history{svc: svc, store: s.(leads.HistoryStore), admin: admin, assigned: map[int64]string{}, reasons: map[string]int{}}
	var emails []string
	var ids []int64
	for i := range 400 {
		if i == 150 {
			h.from = now
		}
		in := leads.LeadInput{FirstName: "Lead", LastName: fmt.Sprint(i), Email: fmt.Sprintf("lead%d@example.com", i)}
		switch {
		case i%13 == 0 && i > 0:
			in.Email = emails[i-7] // a returning contact
		case i%31 == 0:
			in.Email = fmt.Sprintf("bot%d@spam.test", i)
		}
		emails = append(emails, in.Email)
		if i%3 != 0 {
			in.TeamID, in.LeadSourceID = team.ID, src.ID
		}
		if i%11 == 0 {
			in.Company = "Acme Corp"
		}
		if i%4 == 0 {
			score := int64(i * 37 % 100)
			in.HotScore = &score
		}
		if i%29 == 0 {
			in.AssignedTo = rep(3)
		}
		res, err := svc.CreateLead(ctx, admin, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
		require.NoError(t, err, "lead %d", i)
		if i >= 150 {
			h.assigned[res.Lead.ID] = res.Lead.AssignedTo
			h.reasons[res.Assignment.Reason]++
		}
		ids = append(ids, res.Lead.ID)
		if i%9 == 0 && i >= 144 {
			// A manager moves on a lead of five before (before the window,
			// for the first): the move takes a turn of the rotation the
			// lead routes to, which the replay must take too.
			now = now.Add(time.Minute)
			_, err := svc.AssignLead(ctx, admin, ids[i-5], leads.AssignOptions{})
			if code := leads.ErrorCode(err); code != leads.CodeNoEligibleMember && code != leads.CodeNoRotation {
				require.NoError(t, err, "reassign lead %d", i-5)
				h.reassigned++
			}
		}
		now = now.Add(17 * time.Minute)
	}
	h.to = now
	return h
}

// Replaying the live configuration over a window in which it did not
// change reproduces every assignment, lead for lead, on either store and
// whichever rotator made the history.
func TestReplayIsFaithful(t *testing.T) {
	for _, b := range storetest.All(t) {
		for _, rot := range rotators {
			t.Run(b.Name+"+"+rot, func(t *testing.T) {
				t.Parallel()
				h := makeHistory(t, b.Store, rot)
				for _, reason := range []string{leads.AssignRotation, leads.AssignRule, leads.AssignReturning, leads.AssignExplicit, leads.AssignHeld} {
					require.Positive(t, h.reasons[reason], "the history has leads decided by %s: %v", reason, h.reasons)
				}
				require.Greater(t, h.reassigned, 10, "the window has turns taken by reassignments")
				cfg, err := h.svc.Configuration(context.Background(), h.admin)
				require.NoError(t, err)
				res, err := simulate.Run(context.Background(), h.store, cfg, simulate.Options{AccountID: h.admin.AccountID, From: h.from, To: h.to})
				require.NoError(t, err)
				require.Equal(t, len(h.assigned), res.Leads)
				assert.Zero(t, res.Changed, "owners changed: %+v", res.ChangedSample)
				for reason, side := range res.Reasons {
					assert.Equal(t, side.Actual, side.Replay, "reason %s", reason)
				}
				for _, r := range res.Reps {
					assert.Equal(t, r.Leads.Actual, r.Leads.Replay, "rep %q", r.User)
				}
				for _, rot := range res.Rotations {
					for _, m := range rot.Members {
						assert.Equal(t, m.Turns.Actual, m.Turns.Replay, "rotation %s member %s", rot.Name, m.User)
					}
				}
				var skippedAtCapacity bool
				for _, rot := range res.Rotations {
					for _, m := range rot.Members {
						if m.User == "rep5@example.com" && m.Deviation < -1 {
							skippedAtCapacity = true
						}
					}
				}
				// rep5 filled its 12 places before the window: the state the
				// replay starts from knows it, and passes rep5 over too.
				assert.True(t, skippedAtCapacity, "rep5's capacity binds in the window: %+v", res.Rotations)

				// Determinism: a second run gives the same result.
				again, err := simulate.Run(context.Background(), h.store, cfg, simulate.Options{AccountID: h.admin.AccountID, From: h.from, To: h.to})
				require.NoError(t, err)
				first, _ := json.Marshal(res)
				second, _ := json.Marshal(again)
				assert.JSONEq(t, string(first), string(second))
			})
		}
	}
}

// Bad windows are refused, naming the field.
func TestOptionsCheck(t *testing.T) {
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		opts  simulate.Options
		field string
	}{
		{"no account", simulate.Options{From: at, To: at.Add(time.Hour)}, "account"},
		{"no from", simulate.Options{AccountID: "a", To: at}, "from"},
		{"to before from", simulate.Options{AccountID: "a", From: at, To: at.Add(-time.Hour)}, "to"},
		{"too long", simulate.Options{AccountID: "a", From: at, To: at.Add(48 * time.Hour), MaxWindow: 24 * time.Hour}, "to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Check()
			require.Equal(t, leads.CodeValidation, leads.ErrorCode(err))
			var e *leads.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.field, e.Details["field"])
		})
	}
}

// A lead its rotation holds while nobody is available waits, in the
// replay, until the first member's working hours begin.
func TestReplayWaits(t *testing.T) {
	b := storetest.SQLite(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 2, 7, 0, 0, 0, time.UTC) // a Monday
	svc := leads.NewService(b.Store, rotation.NewMemory(b.Store), leads.WithClock(func() time.Time { return now }))
	account := "wait-" + fmt.Sprint(time.Now().UnixNano())
	_, err := svc.CreateAccount(ctx, leads.Account{ID: account, Name: "Waits"})
	require.NoError(t, err)
	admin := leads.Actor{AccountID: account, Email: "admin@example.com", Role: leads.RoleAdmin}
	for _, m := range []leads.Member{{Email: admin.Email, Role: leads.RoleAdmin}, {Email: "rep@example.com", Role: leads.RoleAgent}} {
		_, err := svc.PutMember(ctx, leads.SystemActor(account), m)
		require.NoError(t, err)
	}
	_, err = svc.CreateRotation(ctx, admin, leads.Rotation{Name: "Day", Default: true, WhenNobodyEligible: leads.NobodyHold,
		Members: []leads.RotationMember{{User: "rep@example.com"}}})
	require.NoError(t, err)
	day := []leads.WorkHours{{Start: "09:00", End: "17:00"}}
	_, err = svc.SetSchedule(ctx, admin, "rep@example.com", &leads.Schedule{Timezone: "UTC", Monday: day, Tuesday: day})
	require.NoError(t, err)
	from := now
	for _, at := range []time.Time{now, now.Add(3 * time.Hour)} { // 07:00 waits, 10:00 is taken
		now = at
		_, err := svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: "A", LastName: "Lead"}, leads.CreateOptions{})
		require.NoError(t, err)
	}
	cfg, err := svc.Configuration(ctx, admin)
	require.NoError(t, err)
	res, err := simulate.Run(ctx, b.Store, cfg, simulate.Options{AccountID: account, From: from, To: now.Add(time.Minute)})
	require.NoError(t, err)
	assert.Zero(t, res.Changed)
	assert.Equal(t, simulate.Side{Actual: 1, Replay: 1}, res.Reasons[leads.AssignWaiting])
	assert.Equal(t, int64(1), res.Waiting.Leads)
	assert.Equal(t, leads.Duration(2*time.Hour), res.Waiting.P50, "from 07:00 to 09:00")
	assert.Equal(t, leads.Duration(2*time.Hour), res.Waiting.Max)
}

// downRotator fails every turn while down, as an unreachable Redis does.
type downRotator struct {
	leads.Rotator
	down bool
}

func (r *downRotator) Next(ctx context.Context, rot *leads.Rotation, now time.Time) (leads.Turn, error) {
	if r.down {
		return leads.Turn{}, leads.Unavailable("redis", errors.New("connection refused"))
	}
	return r.Rotator.Next(ctx, rot, now)
}

// Leads whose assignment was deferred through an outage took their turns
// when it ended, in creation order; leads moved on by hand took more; a
// lead deleted since took one. The replay decides the deferred ones as
// they came and does not take their turns twice, takes the moves' turns
// and the deleted lead's where they were taken, and so gives every lead
// after them the owner it got.
func TestReplayTakesLaterTurns(t *testing.T) {
	for _, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
			rot := &downRotator{Rotator: rotation.NewMemory(b.Store)}
			svc := leads.NewService(b.Store, rot, leads.WithClock(func() time.Time { return now }))
			members := []leads.RotationMember{{User: "a@example.com", Weight: 3}, {User: "b@example.com", Weight: 2}, {User: "c@example.com", Weight: 1}}
			admin, all := rotationAccount(t, svc, "later", members)

			got := map[int64]string{}
			var ids []int64
			create := func() {
				now = now.Add(time.Minute)
				res, err := svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: "A", LastName: "Lead"}, leads.CreateOptions{})
				require.NoError(t, err)
				ids = append(ids, res.Lead.ID)
			}
			for range 4 {
				create()
			}
			from := now.Add(30 * time.Second) // the first move is of a lead before the window
			rot.down = true
			for range 3 {
				create()
			}
			rot.down = false
			now = now.Add(time.Minute)
			n, err := svc.AssignPending(ctx, 100)
			require.NoError(t, err)
			require.Equal(t, 3, n)
			for i := range 12 {
				create()
				if i%3 == 0 {
					now = now.Add(10 * time.Second)
					_, err := svc.AssignLead(ctx, admin, ids[len(ids)-2], leads.AssignOptions{})
					require.NoError(t, err)
				}
			}
			// A lead deleted since: its turn is not a lead of the window any
			// more, but was taken all the same.
			require.NoError(t, svc.DeleteLead(ctx, admin, ids[9]))
			for _, id := range ids[4:] {
				if id == ids[9] {
					continue
				}
				l, err := svc.Lead(ctx, admin, id)
				require.NoError(t, err)
				got[id] = firstOwner(l)
			}
			res := replayLive(t, svc, b.Store, admin, from, now.Add(time.Minute), len(got))
			for _, r := range res.Rotations {
				for _, m := range r.Members {
					assert.Equal(t, m.Turns.Actual, m.Turns.Replay, "member %s", m.User)
				}
			}

			// Another account's moves in the same window are its own.
			other, _ := rotationAccount(t, svc, "other", members)
			now = from.Add(time.Second)
			o, err := svc.CreateLead(ctx, other, leads.LeadInput{FirstName: "O", LastName: "Lead"}, leads.CreateOptions{})
			require.NoError(t, err)
			now = now.Add(time.Second)
			_, err = svc.AssignLead(ctx, other, o.Lead.ID, leads.AssignOptions{})
			require.NoError(t, err)
			mine := laterTurns(t, b.Store, admin.AccountID, from, now.Add(time.Hour))
			require.NotEmpty(t, mine)
			for _, turn := range mine {
				assert.Equal(t, all.ID, turn.RotationID, "%+v", turn)
			}
			assert.Len(t, laterTurns(t, b.Store, other.AccountID, from, now.Add(time.Hour)), 1)
		})
	}
}

// firstOwner is who got l first: its first lead_assigned entry's assignee.
func firstOwner(l *leads.Lead) string {
	for _, e := range l.AuditLog {
		if e.Event == leads.EventLeadAssigned {
			s, _ := e.Data["assignee"].(string)
			return s
		}
	}
	return ""
}

// laterTurns returns the account's later turns of [from, to), in order.
func laterTurns(t *testing.T, history leads.HistoryStore, account string, from, to time.Time) []leads.RecordedTurn {
	var out []leads.RecordedTurn
	require.NoError(t, history.LaterTurns(context.Background(), account, from, to, func(turn leads.RecordedTurn) error {
		out = append(out, turn)
		return nil
	}))
	return out
}

// replayLive replays the account's leads created in [from, to) through its
// live configuration, and requires n leads, each with the owner it got.
func replayLive(t *testing.T, svc *leads.Service, history leads.HistoryStore, admin leads.Actor, from, to time.Time, n int) *simulate.Result {
	ctx := context.Background()
	cfg, err := svc.Configuration(ctx, admin)
	require.NoError(t, err)
	res, err := simulate.Run(ctx, history, cfg, simulate.Options{AccountID: admin.AccountID, From: from, To: to})
	require.NoError(t, err)
	require.Equal(t, n, res.Leads)
	assert.Zero(t, res.Changed, "owners changed: %+v", res.ChangedSample)
	return res
}

// rotationAccount creates, through svc, an account (its id begins with
// name) with an admin and members, whose default rotation they are.
func rotationAccount(t *testing.T, svc *leads.Service, name string, members []leads.RotationMember) (leads.Actor, *leads.Rotation) {
	ctx := context.Background()
	account := name + "-" + fmt.Sprint(time.Now().UnixNano())
	_, err := svc.CreateAccount(ctx, leads.Account{ID: account, Name: name})
	require.NoError(t, err)
	admin := leads.Actor{AccountID: account, Email: "admin@example.com", Role: leads.RoleAdmin}
	_, err = svc.PutMember(ctx, leads.SystemActor(account), leads.Member{Email: admin.Email, Role: leads.RoleAdmin})
	require.NoError(t, err)
	for _, m := range members {
		_, err := svc.PutMember(ctx, leads.SystemActor(account), leads.Member{Email: m.User, Role: leads.RoleAgent})
		require.NoError(t, err)
	}
	rot, err := svc.CreateRotation(ctx, admin, leads.Rotation{Name: "All", Default: true, Members: members})
	require.NoError(t, err)
	return admin, rot
}

// leadCreator returns what creates, through svc, a lead of admin's account
// at start plus at (the service's clock reads *now), with email if any.
func leadCreator(t *testing.T, svc *leads.Service, admin leads.Actor, start time.Time, now *time.Time) func(at time.Duration, email string) *leads.Lead {
	return func(at time.Duration, email string) *leads.Lead {
		*now = start.Add(at)
		res, err := svc.CreateLead(context.Background(), admin, leads.LeadInput{FirstName: "A", LastName: "Lead", Email: email}, leads.CreateOptions{})
		require.NoError(t, err)
		return res.Lead
	}
}

// Two servers: a lead stored first (a lower id) was created a moment after
// another, which was moved on before the first was created. The replay
// decides them by id, and takes the move after the lead it moved, as it
// happened, not before the lead stored first.
func TestReplayTakesTurnsAfterTheirLead(t *testing.T) {
	b := storetest.SQLite(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	now := start
	svc := leads.NewService(b.Store, rotation.NewMemory(b.Store), leads.WithClock(func() time.Time { return now }))
	admin, _ := rotationAccount(t, svc, "order", []leads.RotationMember{
		{User: "a@example.com", Weight: 2}, {User: "b@example.com", Weight: 1}, {User: "c@example.com", Weight: 1}})
	createAt := leadCreator(t, svc, admin, start, &now)
	create := func(at time.Duration) int64 { return createAt(at, "").ID }
	create(time.Minute)
	create(3 * time.Minute) // stored first, created after the next and its move
	late := create(2 * time.Minute)
	now = start.Add(2*time.Minute + 30*time.Second)
	_, err := svc.AssignLead(ctx, admin, late, leads.AssignOptions{})
	require.NoError(t, err)
	for i := range 6 {
		create(time.Duration(4+i) * time.Minute)
	}
	replayLive(t, svc, b.Store, admin, start, start.Add(time.Hour), 9)
}

// Leads from before the window, moved on in it to a rep with a capacity,
// are counted once among that rep's open leads (the store counts them as
// theirs from the window's start, and the moves' turns do not add them
// again): the rep fills up when they did.
func TestReplayCountsAMovedLeadOnce(t *testing.T) {
	for _, b := range storetest.All(t) {
		for _, capacity := range []int{2, 3, 4} {
			t.Run(fmt.Sprintf("%s/capacity=%d", b.Name, capacity), func(t *testing.T) {
				ctx := context.Background()
				start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
				now := start
				svc := leads.NewService(b.Store, rotation.NewMemory(b.Store), leads.WithClock(func() time.Time { return now }))
				admin, _ := rotationAccount(t, svc, "moved", []leads.RotationMember{
					{User: "a@example.com", MaxOpenLeads: capacity, Weight: 3}, {User: "b@example.com", Weight: 1}, {User: "c@example.com", Weight: 2}})
				var ids []int64
				owners := map[int64]string{}
				create := func() {
					now = now.Add(time.Minute)
					res, err := svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: "A", LastName: "Lead"}, leads.CreateOptions{})
					require.NoError(t, err)
					ids = append(ids, res.Lead.ID)
					owners[res.Lead.ID] = res.Lead.AssignedTo
				}
				for range 5 {
					create()
				}
				from := now.Add(time.Second)
				// The leads of b's before the window move on, to whoever is next.
				for _, id := range ids {
					if owners[id] == "b@example.com" {
						now = now.Add(time.Minute)
						_, err := svc.AssignLead(ctx, admin, id, leads.AssignOptions{})
						require.NoError(t, err)
					}
				}
				for range 9 {
					create()
				}
				replayLive(t, svc, b.Store, admin, from, now.Add(time.Minute), 9)
			})
		}
	}
}

// failingTurns is a history whose later turns fail after the first.
type failingTurns struct{ leads.HistoryStore }

var errTurnsLost = errors.New("connection lost")

func (f failingTurns) LaterTurns(ctx context.Context, account string, from, to time.Time, fn func(leads.RecordedTurn) error) error {
	first := true
	return f.HistoryStore.LaterTurns(ctx, account, from, to, func(t leads.RecordedTurn) error {
		if !first {
			return errTurnsLost
		}
		first = false
		return fn(t)
	})
}

// A replay whose later turns cannot all be read fails, rather than
// replaying the window without them.
func TestReplayFailsWithoutItsLaterTurns(t *testing.T) {
	b := storetest.SQLite(t)
	h := makeHistory(t, b.Store, "memory")
	cfg, err := h.svc.Configuration(context.Background(), h.admin)
	require.NoError(t, err)
	_, err = simulate.Run(context.Background(), failingTurns{h.store}, cfg, simulate.Options{AccountID: h.admin.AccountID, From: h.from, To: h.to})
	require.ErrorIs(t, err, errTurnsLost)
}

// storedOutOfTurn is a history whose leads come in pairs swapped: as
// leads do when the second of two creates to take a turn was written
// first (another group commit, another server).
type storedOutOfTurn struct{ leads.HistoryStore }

func (s storedOutOfTurn) HistoricLeads(ctx context.Context, account string, from, to time.Time, fn func(leads.HistoricLead) error) error {
	var first *leads.HistoricLead
	err := s.HistoryStore.HistoricLeads(ctx, account, from, to, func(h leads.HistoricLead) error {
		if first == nil {
			first = &h
			return nil
		}
		if err := fn(h); err != nil {
			return err
		}
		f := *first
		first = nil
		return fn(f)
	})
	if err == nil && first != nil {
		err = fn(*first)
	}
	return err
}

// Leads stored in another order than they took their turns are replayed,
// within each rotation, in the order of their turns: every lead keeps its
// owner.
func TestReplayOrdersLeadsByTheirTurns(t *testing.T) {
	b := storetest.SQLite(t)
	h := makeHistory(t, b.Store, "memory")
	cfg, err := h.svc.Configuration(context.Background(), h.admin)
	require.NoError(t, err)
	res, err := simulate.Run(context.Background(), storedOutOfTurn{h.store}, cfg, simulate.Options{AccountID: h.admin.AccountID, From: h.from, To: h.to})
	require.NoError(t, err)
	require.Equal(t, len(h.assigned), res.Leads)
	assert.Zero(t, res.Changed, "owners changed: %+v", res.ChangedSample)
}

// Leads moved by hand in the window: a returning contact of the window
// goes to the owner its earlier lead had when it came, not the one it has
// now, whether that lead is from before the window or in it; an earlier
// lead without an owner at the window's start is found once a move gives
// it one.
func TestReplayKnowsEarlierLeadsOwnersAsTheyWere(t *testing.T) {
	for _, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
			now := start
			svc := leads.NewService(b.Store, rotation.NewMemory(b.Store), leads.WithClock(func() time.Time { return now }))
			admin, _ := rotationAccount(t, svc, "moves", []leads.RotationMember{
				{User: "a@example.com", Weight: 1}, {User: "b@example.com", Weight: 1}, {User: "c@example.com", Weight: 1}})
			allow := leads.DuplicateAllow
			_, err := svc.UpdateAccount(ctx, admin, leads.AccountPatch{DuplicatePolicy: &allow,
				Returning: &leads.ReturningPolicy{MatchBy: []string{leads.MatchEmail}, WindowDays: 30}})
			require.NoError(t, err)
			create := leadCreator(t, svc, admin, start, &now)
			move := func(at time.Duration, id int64, to any) {
				now = start.Add(at)
				_, err := svc.UpdateLead(ctx, admin, id, leads.LeadPatch{"assignedTo": to}, leads.UpdateOptions{})
				require.NoError(t, err)
			}
			other := func(owner string) string {
				for _, m := range []string{"a@example.com", "b@example.com", "c@example.com"} {
					if m != owner {
						return m
					}
				}
				return ""
			}
			x := create(time.Minute, "x@example.com")
			y := create(2*time.Minute, "y@example.com")
			z := create(3*time.Minute, "z@example.com")
			move(4*time.Minute, z.ID, nil) // z has no owner at the window's start
			from := start.Add(10 * time.Minute)

			// y moved before its contact comes back, and again after.
			move(11*time.Minute, y.ID, other(y.AssignedTo))
			yBack := create(12*time.Minute, "y@example.com")
			move(13*time.Minute, y.ID, y.AssignedTo)
			// x's contact comes back before x is moved.
			xBack := create(14*time.Minute, "x@example.com")
			move(15*time.Minute, x.ID, other(x.AssignedTo))
			// z is given an owner, then its contact comes back.
			move(16*time.Minute, z.ID, "c@example.com")
			zBack := create(17*time.Minute, "z@example.com")
			// w, a lead of the window, is moved, then its contact comes back.
			w := create(18*time.Minute, "w@example.com")
			move(19*time.Minute, w.ID, other(w.AssignedTo))
			wBack := create(20*time.Minute, "w@example.com")

			assert.Equal(t, other(y.AssignedTo), yBack.AssignedTo)
			assert.Equal(t, x.AssignedTo, xBack.AssignedTo)
			assert.Equal(t, "c@example.com", zBack.AssignedTo)
			assert.Equal(t, other(w.AssignedTo), wBack.AssignedTo)
			res := replayLive(t, svc, b.Store, admin, from, start.Add(time.Hour), 5)
			assert.EqualValues(t, 4, res.Reasons[leads.AssignReturning].Replay, "%+v", res.Reasons)
		})
	}
}
