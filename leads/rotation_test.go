package leads_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

func TestRotationThroughService(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"a member paused for 100 leads gets no burst when resumed", testPauseNoBurst},
		{"lost rotation state resumes after the last assignee", testLostStateResumes},
		{"a daily cap holds until the next day, also after state loss", testDailyCap},
		{"an edit made through one service is honoured by another", testEditSeenByOtherService},
	})
}

func testPauseNoBurst(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 3)
	counts := func(n int) map[string]int {
		c := map[string]int{}
		for range n {
			c[b.mustCreate(t, lead("Lead"), leads.CreateOptions{}).Lead.AssignedTo]++
		}
		return c
	}
	require.Equal(t, map[string]int{b.reps[0]: 1, b.reps[1]: 1, b.reps[2]: 1}, counts(3))

	rot.Members[1].Paused = true
	_, err := b.svc.ReplaceRotation(ctx, b.admin, *rot)
	require.NoError(t, err)
	require.Equal(t, map[string]int{b.reps[0]: 50, b.reps[2]: 50}, counts(100))

	rot.Members[1].Paused = false
	_, err = b.svc.ReplaceRotation(ctx, b.admin, *rot)
	require.NoError(t, err)
	require.Equal(t, map[string]int{b.reps[0]: 1, b.reps[1]: 1, b.reps[2]: 1}, counts(3), "one turn each right after the resume")
	require.Equal(t, map[string]int{b.reps[0]: 10, b.reps[1]: 10, b.reps[2]: 10}, counts(30))
}

func testLostStateResumes(t *testing.T, b *bundle) {
	b.defaultRotation(t, 4)
	var got []string
	for range 6 {
		got = append(got, b.mustCreate(t, lead("Before"), leads.CreateOptions{}).Lead.AssignedTo)
	}
	require.Equal(t, []string{b.reps[0], b.reps[1], b.reps[2], b.reps[3], b.reps[0], b.reps[1]}, got)

	if b.redis != nil {
		b.redis.FlushPrefix(t) // Redis flushed, or restarted without persistence
	} else {
		b.rotator = b.newRotator(t) // the process restarted
		b.svc = b.newService(b.store)
	}
	res := b.mustCreate(t, lead("After"), leads.CreateOptions{})
	require.Equal(t, b.reps[2], res.Lead.AssignedTo, "the member after the last assigned")
	require.EqualValues(t, 7, res.Lead.RotationTurn, "turn numbers go on")
	got = nil
	for range 4 {
		got = append(got, b.mustCreate(t, lead("After"), leads.CreateOptions{}).Lead.AssignedTo)
	}
	require.Equal(t, []string{b.reps[3], b.reps[0], b.reps[1], b.reps[2]}, got)
}

func testDailyCap(t *testing.T, b *bundle) {
	ms := b.members(2)
	ms[0].DailyCap = 2
	rot := b.rotation(t, leads.Rotation{Name: "capped", Default: true, Members: ms, Timezone: "America/New_York"})
	assignees := func(n int) []string {
		var out []string
		for range n {
			out = append(out, b.mustCreate(t, lead("Lead"), leads.CreateOptions{}).Lead.AssignedTo)
		}
		return out
	}
	r1, r2 := b.reps[0], b.reps[1]
	require.Equal(t, []string{r1, r2, r1, r2, r2}, assignees(5))
	res := b.mustCreate(t, lead("Capped"), leads.CreateOptions{})
	require.Equal(t, []leads.Skip{{User: r1, Reason: leads.SkipDailyCap, Slots: 1}}, res.Assignment.Skipped)

	// 09:00 UTC is 04:00 in New York; twenty hours on, it is the next day there.
	if b.redis != nil {
		b.redis.FlushPrefix(t)
	} else {
		b.rotator = b.newRotator(t)
		b.svc = b.newService(b.store)
	}
	require.Equal(t, r2, b.peek(t, rot), "the cap survives the loss of the rotation state")
	b.clock.Advance(20 * time.Hour)
	require.Equal(t, []string{r1, r2, r1, r2, r2}, assignees(5))
}

func testEditSeenByOtherService(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 3)
	other := b.newService(b.store) // its own configuration cache, as in another process
	res, err := other.CreateLead(ctx, b.admin, lead("Ada"), leads.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, b.reps[0], res.Lead.AssignedTo)

	rot.Members[1].Paused = true
	_, err = b.svc.ReplaceRotation(ctx, b.admin, *rot)
	require.NoError(t, err)
	res, err = other.CreateLead(ctx, b.admin, lead("Bob"), leads.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, b.reps[2], res.Lead.AssignedTo, "the pause is honoured at once")
}

// TestFairnessUnderConcurrency creates 10,000 leads from 64 goroutines through
// one rotation of 7 members weighted 1,1,1,1,1,2,3, on PostgreSQL and the real
// Redis, through one Service and through two independent ones (each with its
// own database pool and Redis client, as two processes would have).
func TestFairnessUnderConcurrency(t *testing.T) {
	t.Parallel()
	pg := storetest.Postgres(t)
	if pg == nil {
		t.Skip("needs PostgreSQL")
	}
	if rotationtest.Real(t) == nil {
		t.Skip("needs Redis")
	}
	const total, workers = 10000, 64
	for _, services := range []int{1, 2} {
		t.Run(map[int]string{1: "one service", 2: "two services"}[services], func(t *testing.T) {
			b := newBundle(t, env{name: "postgres+redis", backend: pg, redis: true})
			weights := []int{1, 1, 1, 1, 1, 2, 3}
			ms := b.members(7)
			for i := range ms {
				ms[i].Weight = weights[i]
			}
			b.rotation(t, leads.Rotation{Name: "weighted", Default: true, Members: ms})

			svcs := []*leads.Service{b.svc}
			if services == 2 {
				second, err := store.Open(context.Background(), pg.DSN)
				require.NoError(t, err)
				t.Cleanup(func() { _ = second.Close() })
				redis := *b.redis
				redis.Client = rotationtest.Real(t).Client // a second connection pool, same Redis
				b2 := *b
				b2.redis, b2.store = &redis, second
				b2.rotator = b2.newRotator(t)
				svcs = append(svcs, b2.newService(second))
			}

			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					svc := svcs[w%len(svcs)]
					for next.Add(1) <= total {
						if _, err := svc.CreateLead(context.Background(), b.agent, lead("Load"), leads.CreateOptions{}); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}

			var rows []struct {
				AssignedTo string `bun:"assigned_to"`
				N          int    `bun:"n"`
			}
			err := b.raw.DB().NewSelect().TableExpr("leads").ColumnExpr("assigned_to, count(*) AS n").
				Where("account_id = ?", b.accountID).Group("assigned_to").Scan(context.Background(), &rows)
			require.NoError(t, err)
			got := map[string]int{}
			for _, r := range rows {
				got[r.AssignedTo] = r.N
			}
			require.NotContains(t, got, "", "no lead is unassigned")
			for i, m := range ms {
				share := float64(total*m.Weight) / 10
				require.InDelta(t, share, got[m.User], 1, "%s (weight %d)", m.User, weights[i])
			}
			var ids, distinct, maxTurn int
			err = b.raw.DB().NewSelect().TableExpr("leads").
				ColumnExpr("count(*), count(DISTINCT id), max(rotation_turn)").
				Where("account_id = ?", b.accountID).Scan(context.Background(), &ids, &distinct, &maxTurn)
			require.NoError(t, err)
			require.Equal(t, total, ids)
			require.Equal(t, total, distinct, "no duplicate ids")
			require.Equal(t, total, maxTurn, "one turn per lead, none lost")
		})
	}
}
