package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestIssue10_10_HeavyReadsHaveTheirOwnPool: reports (listings, searches,
// the audit log, statistics) run on connections of their own, so that when
// they hold every one of them, leads are still checked, written and
// assigned, and a further report waits for its own pool, not for intake's.
// Before, listings took connections of the one pool (on SQLite, the one
// writer connection) that lead intake needs.
func TestIssue10_10_HeavyReadsHaveTheirOwnPool(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := store.Open(ctx, b.DSN, store.WithMaxConns(2), store.WithReadConns(1))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			svc := leads.NewService(s, rotation.NewMemory(s))
			_, err = svc.CreateAccount(ctx, leads.Account{ID: "reads", Name: "Reads"})
			require.NoError(t, err)
			actor := leads.SystemActor("reads")

			conn, err := s.ReadsForTest().Conn(ctx) // the report pool's only connection
			require.NoError(t, err)
			for i := range 5 {
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := svc.CreateLead(wctx, actor, leads.LeadInput{FirstName: "Ada", LastName: fmt.Sprint(i), Email: fmt.Sprintf("ada%d@example.com", i)}, leads.CreateOptions{})
				cancel()
				require.NoError(t, err, "lead %d while reports hold their pool", i)
			}
			short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			_, err = svc.ListLeads(short, actor, leads.ListOptions{})
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded, "a report waits for a report connection")

			require.NoError(t, conn.Close())
			page, err := svc.ListLeads(ctx, actor, leads.ListOptions{Limit: leads.MaxPageSize})
			require.NoError(t, err)
			require.Len(t, page.Data, 5)
		})
	}
}
