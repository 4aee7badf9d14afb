package leads_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// queryCounter counts the statements a store sends.
type queryCounter struct{ n atomic.Int64 }

func (q *queryCounter) observe(context.Context, string) { q.n.Add(1) }

// TestCreateQueryCount checks that creating a lead costs a fixed, small number
// of statements, whatever the size of the account: no N+1 on the create path.
// With the configuration cached, a create is one read (LeadFacts) and one
// write: on PostgreSQL BEGIN, a single statement (lead, rotation turn and
// audit entries together) and COMMIT, an explicit transaction so that a
// write given up before its COMMIT can never commit after (issue 10); on
// SQLite, which cannot insert from a WITH clause, BEGIN, four prepared
// inserts (lead, turn, two audit entries) and COMMIT. An Idempotency-Key
// costs the write a look into the upserts' keys (and on PostgreSQL the
// key's lock before it): see store/idempotency.go.
func TestCreateQueryCount(t *testing.T) {
	t.Parallel()
	want := map[string]int64{"sqlite": 7, "postgres": 4}
	wantKeyed := map[string]int64{"sqlite": 8, "postgres": 6}
	for _, shared := range storetest.All(t) {
		t.Run(shared.Name, func(t *testing.T) {
			counter := &queryCounter{}
			st, err := store.Open(context.Background(), shared.DSN, store.WithStatementObserver(counter.observe))
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			backend := &storetest.Backend{Name: shared.Name, Store: st, DSN: shared.DSN}
			b := newBundle(t, env{name: shared.Name + "+memory", backend: backend})
			cost := func(keyed bool) int64 {
				in := lead("Counted")
				in.Email = fmt.Sprintf("c%d@example.com", counter.n.Load())
				opts := leads.CreateOptions{SkipTeamAndSourceRequirement: true}
				if keyed {
					opts.IdempotencyKey = in.Email
				}
				b.mustCreate(t, in, opts) // warms the cache
				in.Email += ".two"
				if keyed {
					opts.IdempotencyKey = in.Email
				}
				before := counter.n.Load()
				b.mustCreate(t, in, opts)
				return counter.n.Load() - before
			}
			b.defaultRotation(t, 2)
			small, smallKeyed := cost(false), cost(true)
			for i := range 20 {
				team := b.team(t, fmt.Sprint("Team ", i))
				b.source(t, team.ID, "Source")
				b.rotation(t, leads.Rotation{Name: fmt.Sprint("Rotation ", i), TeamID: team.ID, Members: b.members(7)})
			}
			for range 50 {
				b.mustCreate(t, lead("Filler"), leads.CreateOptions{SkipTeamAndSourceRequirement: true})
			}
			large, largeKeyed := cost(false), cost(true)
			require.Equal(t, want[backend.Name], small)
			require.Equal(t, wantKeyed[backend.Name], smallKeyed, "with an Idempotency-Key")
			require.Equal(t, small, large, "the cost does not grow with the account")
			require.Equal(t, smallKeyed, largeKeyed, "the cost does not grow with the account, with a key")
		})
	}
}
