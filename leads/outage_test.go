package leads_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/store/storetest"
)

func TestOutages(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"a lost weighted state resumes exactly where it was", testLostStateExact},
		{"a dry run needs the rotation", testDryRunNeedsRotation},
		{"a database that cannot be reached is SERVICE_UNAVAILABLE, and takes no turn", testDatabaseDown},
		{"a reassignment that took its turn is written even if its caller goes away", testAssignOutlivesCaller},
	})
	// AssignPending serves every account of the database: these tests get
	// a database of their own.
	eachIsolatedEnv(t, []namedTest{
		{"leads made while the rotation is down wait, then go out in creation order", testDeferredInOrder},
		{"a pending lead settled by hand is skipped, its turn given back", testPendingSettledByHand},
	})
}

// eachIsolatedEnv runs every test in every environment, each on a database
// of its own (a new SQLite file, a new PostgreSQL schema).
func eachIsolatedEnv(t *testing.T, tests []namedTest) {
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, redis := range []bool{false, true} {
			name := kind + map[bool]string{false: "+memory", true: "+redis"}[redis] + "+own database"
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						t.Parallel()
						backend := storetest.SQLite(t)
						if kind == "postgres" {
							if backend = storetest.Postgres(t); backend == nil {
								t.Skip("needs PostgreSQL")
							}
						}
						tc.fn(t, newBundle(t, env{name: name, backend: backend, redis: redis}))
					})
				}
			})
		}
	}
}

// flakyRotator is a rotator whose backend goes down on demand, failing as
// an unreachable Redis does.
type flakyRotator struct {
	leads.Rotator
	down  atomic.Bool
	calls atomic.Int64
}

var errRedisDown = leads.Unavailable("redis", &netError{"dial tcp 127.0.0.1:6379: connect: connection refused"})

func (r *flakyRotator) Next(ctx context.Context, rot *leads.Rotation, now time.Time) (leads.Turn, error) {
	r.calls.Add(1)
	if r.down.Load() {
		return leads.Turn{}, errRedisDown
	}
	return r.Rotator.Next(ctx, rot, now)
}

func (r *flakyRotator) Peek(ctx context.Context, rot *leads.Rotation, now time.Time, n int) (leads.Preview, error) {
	if r.down.Load() {
		return leads.Preview{}, errRedisDown
	}
	return r.Rotator.Peek(ctx, rot, now, n)
}

// netError is a network error as net reports it.
type netError struct{ msg string }

func (e *netError) Error() string   { return e.msg }
func (e *netError) Timeout() bool   { return false }
func (e *netError) Temporary() bool { return false }

// reference returns the first n assignees of an uninterrupted rotation of
// members, from a fresh state.
func reference(members []leads.RotationMember, n int) []string {
	st := rotation.State{Current: map[string]int64{}, DayCounts: map[string]int64{}}
	out := make([]string, n)
	for i := range out {
		out[i] = rotation.Pick(members, &st).Assignee
	}
	return out
}

// loseState makes the bundle's rotator lose every rotation state: Redis
// flushed (or restarted without persistence), or the process restarted.
func (b *bundle) loseState(t *testing.T) {
	t.Helper()
	if b.redis != nil {
		b.redis.FlushPrefix(t)
		return
	}
	b.rotator = b.newRotator(t)
	b.svc = b.newService(b.store)
}

func testLostStateExact(t *testing.T, b *bundle) {
	ms := b.members(4)
	ms[0].Weight, ms[1].Weight, ms[2].Weight = 5, 3, 2
	b.rotation(t, leads.Rotation{Name: "weighted", Default: true, Members: ms})
	want := reference(ms, 120)
	losses := []int{1, 2, 7, 16, 17, 33, 34, 50, 99}
	var got []string
	for i := range want {
		if slices.Contains(losses, i) {
			b.loseState(t)
		}
		got = append(got, b.mustCreate(t, lead(fmt.Sprint("L", i)), leads.CreateOptions{}).Lead.AssignedTo)
	}
	require.Equal(t, want, got, "the order is the one the rotation had never lost its state")
}

func testDeferredInOrder(t *testing.T, b *bundle) {
	ctx := context.Background()
	ms := b.members(3)
	ms[0].Weight = 2
	b.rotation(t, leads.Rotation{Name: "weighted", Default: true, Members: ms})
	flaky := &flakyRotator{Rotator: b.rotator}
	svc := leads.NewService(b.store, flaky, leads.WithClock(b.clock.Now))
	want := reference(ms, 12)

	var ids []int64
	create := func(name string) *leads.Lead {
		res, err := svc.CreateLead(ctx, b.admin, lead(name), leads.CreateOptions{})
		require.NoError(t, err)
		ids = append(ids, res.Lead.ID)
		return res.Lead
	}
	for i := range 3 {
		l := create("Before")
		require.Equal(t, want[i], l.AssignedTo)
		require.Equal(t, leads.AssignmentAssigned, l.AssignmentStatus)
	}
	flaky.down.Store(true)
	before := flaky.calls.Load()
	for range 6 {
		l := create("During")
		require.Equal(t, leads.AssignmentPending, l.AssignmentStatus)
		require.Empty(t, l.AssignedTo)
		require.Zero(t, l.RotationTurn)
		require.Equal(t, []string{leads.EventLeadCreated, leads.EventAssignmentDeferred}, eventNames(l))
		require.Equal(t, "deferred", l.AuditLog[1].Data["reason"])
	}
	require.Equal(t, before+1, flaky.calls.Load(), "after one failure, creates do not wait for the rotation again")

	n, err := svc.AssignPending(ctx, 100)
	require.ErrorIs(t, err, errRedisDown, "still down: nothing assigned")
	require.Zero(t, n)

	flaky.down.Store(false)
	n, err = svc.AssignPending(ctx, 4)
	require.NoError(t, err)
	require.Equal(t, 4, n, "at most the limit")
	n, err = svc.AssignPending(ctx, 100)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for range 3 {
		create("After")
	}
	var got []string
	for i, id := range ids {
		l, err := svc.Lead(ctx, b.admin, id)
		require.NoError(t, err)
		require.Equal(t, leads.AssignmentAssigned, l.AssignmentStatus)
		got = append(got, l.AssignedTo)
		require.EqualValues(t, i+1, l.RotationTurn, "turns in creation order")
		if i >= 3 && i < 9 {
			last := l.AuditLog[len(l.AuditLog)-1]
			require.Equal(t, leads.EventLeadAssigned, last.Event)
			require.Equal(t, true, last.Data["deferred"])
			require.Equal(t, "system", last.User)
		}
	}
	require.Equal(t, want, got, "the deferred leads took their turns in creation order, as if never deferred")
}

func testPendingSettledByHand(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 3)
	flaky := &flakyRotator{Rotator: b.rotator}
	svc := leads.NewService(b.store, flaky, leads.WithClock(b.clock.Now))
	flaky.down.Store(true)
	res, err := svc.CreateLead(ctx, b.admin, lead("Pending"), leads.CreateOptions{})
	require.NoError(t, err)
	l, err := svc.UpdateLead(ctx, b.admin, res.Lead.ID, leads.LeadPatch{"assignedTo": b.reps[2]}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Equal(t, leads.AssignmentAssigned, l.AssignmentStatus, "assigned by hand, it waits no more")

	deleted, err := svc.CreateLead(ctx, b.admin, lead("Deleted"), leads.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, svc.DeleteLead(ctx, b.admin, deleted.Lead.ID))

	flaky.down.Store(false)
	n, err := svc.AssignPending(ctx, 100)
	require.NoError(t, err)
	require.Zero(t, n, "nothing waits")
	l, err = svc.Lead(ctx, b.admin, res.Lead.ID)
	require.NoError(t, err)
	require.Equal(t, b.reps[2], l.AssignedTo)
	require.Equal(t, b.reps[0], b.peek(t, rot), "no turn was taken")
}

func testDryRunNeedsRotation(t *testing.T, b *bundle) {
	b.defaultRotation(t, 2)
	flaky := &flakyRotator{Rotator: b.rotator}
	flaky.down.Store(true)
	svc := leads.NewService(b.store, flaky, leads.WithClock(b.clock.Now))
	_, err := svc.CreateLead(context.Background(), b.admin, lead("Dry"), leads.CreateOptions{DryRun: true})
	requireCode(t, err, leads.CodeServiceUnavailable)
	require.Zero(t, b.count(t, "leads"))
}

// downStore is the real store, unreachable on demand: the lead facts read or
// the insert fails as the store reports a refused connection.
type downStore struct {
	leads.Store
	checkDown, insertDown bool
}

var errConnRefused = leads.Unavailable("the database", fmt.Errorf("failed to connect to `host=127.0.0.1`: dial error: %w", syscall.ECONNREFUSED))

func (s downStore) LeadFacts(ctx context.Context, q leads.LeadFactsQuery) (leads.LeadFacts, error) {
	if s.checkDown {
		return leads.LeadFacts{}, errConnRefused
	}
	return s.Store.LeadFacts(ctx, q)
}

func (s downStore) InsertLead(ctx context.Context, n *leads.NewLead) error {
	if s.insertDown {
		return errConnRefused
	}
	return s.Store.InsertLead(ctx, n)
}

func testDatabaseDown(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 3)
	b.mustCreate(t, lead("First"), leads.CreateOptions{})
	for _, s := range []downStore{{Store: b.store, checkDown: true}, {Store: b.store, insertDown: true}} {
		svc := b.newService(s)
		_, err := svc.CreateLead(ctx, b.admin, lead("Lost"), leads.CreateOptions{})
		requireCode(t, err, leads.CodeServiceUnavailable)
		require.True(t, errors.Is(err, syscall.ECONNREFUSED), "the cause is kept: %v", err)
		require.Equal(t, b.reps[1], b.peek(t, rot), "no turn consumed")
	}
	require.Equal(t, 1, b.count(t, "leads"))
	require.Equal(t, b.reps[1], b.mustCreate(t, lead("Second"), leads.CreateOptions{}).Lead.AssignedTo, "back: it goes on")
}

func eventNames(l *leads.Lead) []string {
	var out []string
	for _, e := range l.AuditLog {
		out = append(out, e.Event)
	}
	return out
}

// TestOneAssignerAtATime runs the background assigner in three services
// sharing one PostgreSQL database, as three processes would, over a backlog
// of deferred leads: the database lock lets one at a time assign, so the
// leads take their turns in creation order.
func TestOneAssignerAtATime(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	if pg == nil {
		t.Skip("needs PostgreSQL")
	}
	b := newBundle(t, env{name: "postgres", backend: pg})
	ms := b.members(3)
	ms[1].Weight = 3
	b.rotation(t, leads.Rotation{Name: "weighted", Default: true, Members: ms})
	ctx := context.Background()
	flaky := &flakyRotator{Rotator: b.rotator}
	flaky.down.Store(true)
	creator := leads.NewService(b.store, flaky, leads.WithClock(b.clock.Now))
	const backlog = 300
	ids := make([]int64, backlog)
	for i := range ids {
		res, err := creator.CreateLead(ctx, b.admin, lead(fmt.Sprint("L", i)), leads.CreateOptions{})
		require.NoError(t, err)
		ids[i] = res.Lead.ID
	}
	flaky.down.Store(false)

	var inFlight, maxInFlight atomic.Int64
	watch := &watchedStore{Store: b.store, inFlight: &inFlight, max: &maxInFlight}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 3 {
		svc := leads.NewService(watch, b.rotator, leads.WithClock(b.clock.Now))
		wg.Go(func() { svc.RunAssigner(runCtx, 5*time.Millisecond) })
	}
	require.Eventually(t, func() bool {
		pending, err := b.store.PendingLeads(ctx, 0, 1)
		require.NoError(t, err)
		return len(pending) == 0
	}, 30*time.Second, 10*time.Millisecond)
	stop()
	wg.Wait()

	require.EqualValues(t, 1, maxInFlight.Load(), "one assigner at a time")
	want := reference(ms, backlog)
	for i, id := range ids {
		l, err := creator.Lead(ctx, b.admin, id)
		require.NoError(t, err)
		require.Equal(t, want[i], l.AssignedTo, "lead %d", i)
		require.EqualValues(t, i+1, l.RotationTurn)
	}
}

// watchedStore counts the assigners writing at once.
type watchedStore struct {
	leads.Store
	inFlight, max *atomic.Int64
}

func (s *watchedStore) UpdateLead(ctx context.Context, accountID string, id int64, apply func(cur *leads.Lead) (*leads.LeadWrite, error)) (*leads.Lead, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.max.Load()
		if n <= m || s.max.CompareAndSwap(m, n) {
			break
		}
	}
	return s.Store.UpdateLead(ctx, accountID, id, apply)
}

func testAssignOutlivesCaller(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	l := b.mustCreate(t, lead("Ada"), leads.CreateOptions{}).Lead
	require.Equal(t, b.reps[0], l.AssignedTo)
	gone, cancel := context.WithCancel(context.Background())
	// The client hangs up right after the turn is taken.
	svc := leads.NewService(b.store, &hangUpRotator{Rotator: b.rotator, hangUp: cancel}, leads.WithClock(b.clock.Now))
	res, err := svc.AssignLead(gone, b.admin, l.ID, leads.AssignOptions{})
	require.NoError(t, err, "a write canceled while committing may commit: the turn must not be given back for it")
	got, a := res.Lead, res.Assignment
	require.Equal(t, b.reps[1], a.Assignee)
	require.Equal(t, b.reps[1], got.AssignedTo)
	require.Equal(t, b.reps[2], b.peek(t, rot))
}

// hangUpRotator cancels its caller's context once it has taken a turn.
type hangUpRotator struct {
	leads.Rotator
	hangUp func()
}

func (r *hangUpRotator) Next(ctx context.Context, rot *leads.Rotation, now time.Time) (leads.Turn, error) {
	defer r.hangUp()
	return r.Rotator.Next(ctx, rot, now)
}
