package leads_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// The context policy of writes that follow a rotation turn (see the Store
// doc): the caller's values reach the store, its hang-up does not cancel
// the write.
func TestTurnWriteContext(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"a create that took its turn is written even if its caller goes away", testCreateOutlivesCaller},
		{"writes after a turn carry the caller's values and deadline", testTurnWriteValues},
	})
}

func testCreateOutlivesCaller(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	gone, cancel := context.WithCancel(context.Background())
	// The client hangs up right after the turn is taken.
	svc := leads.NewService(b.store, &hangUpRotator{Rotator: b.rotator, hangUp: cancel}, leads.WithClock(b.clock.Now))
	res, err := svc.CreateLead(gone, b.admin, lead("Ada"), leads.CreateOptions{})
	require.NoError(t, err, "the turn is taken: its lead is written")
	require.Equal(t, b.reps[0], res.Lead.AssignedTo)
	require.Equal(t, 1, b.count(t, "leads"))
	require.Equal(t, b.reps[1], b.peek(t, rot))
}

type traceKey struct{}

// valueStore records what the contexts of its lead writes carry.
type valueStore struct {
	leads.Store
	values      []any
	hasDeadline []bool
}

func (s *valueStore) seen(ctx context.Context) {
	s.values = append(s.values, ctx.Value(traceKey{}))
	_, ok := ctx.Deadline()
	s.hasDeadline = append(s.hasDeadline, ok)
}

func (s *valueStore) InsertLead(ctx context.Context, n *leads.NewLead) error {
	s.seen(ctx)
	return s.Store.InsertLead(ctx, n)
}

func (s *valueStore) UpdateLead(ctx context.Context, accountID string, id int64, apply func(cur *leads.Lead) (*leads.LeadWrite, error)) (*leads.Lead, error) {
	s.seen(ctx)
	return s.Store.UpdateLead(ctx, accountID, id, apply)
}

func testTurnWriteValues(t *testing.T, b *bundle) {
	b.defaultRotation(t, 3)
	vs := &valueStore{Store: b.store}
	svc := b.newService(vs)
	ctx := context.WithValue(context.Background(), traceKey{}, "trace-1")
	res, err := svc.CreateLead(ctx, b.admin, lead("Ada"), leads.CreateOptions{})
	require.NoError(t, err)
	_, err = svc.AssignLead(ctx, b.admin, res.Lead.ID, leads.AssignOptions{})
	require.NoError(t, err)
	require.Equal(t, []any{"trace-1", "trace-1"}, vs.values)
	require.Equal(t, []bool{true, true}, vs.hasDeadline, "bounded even when the caller set no deadline")
}
