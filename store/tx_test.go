package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestIssue10_06_TxRetriesAbortedTransactions: PostgreSQL aborts one of two
// deadlocked transactions (40P01), and a serializable one that lost a race
// (40001); neither wrote anything, so the store runs it again instead of
// failing the request with a 500, a bounded number of times, and then
// answers SERVICE_UNAVAILABLE.
func TestIssue10_06_TxRetriesAbortedTransactions(t *testing.T) {
	t.Parallel()
	b := storetest.Postgres(t)
	if b == nil {
		t.Skip("needs PostgreSQL: SQLite has one writer and never aborts a transaction")
	}
	s, ctx := b.Store, context.Background()
	for _, id := range []string{"one", "two"} {
		require.NoError(t, s.CreateAccount(ctx, &leads.Account{ID: id, DuplicatePolicy: leads.DuplicateReject, CreatedAt: now, UpdatedAt: now}))
	}
	touch := func(tx bun.Tx, id string) error {
		_, err := tx.ExecContext(ctx, "UPDATE accounts SET name = name WHERE id = ?", id)
		return err
	}
	const serializationFailure = "DO $$ BEGIN RAISE EXCEPTION 'lost a race' USING ERRCODE = 'serialization_failure'; END $$"

	t.Run("deadlock victim", func(t *testing.T) {
		// Each transaction locks one row, waits until the other holds its
		// own, then asks for the other's: a deadlock, every time.
		var holding sync.WaitGroup
		holding.Add(2)
		attempts := make([]int, 2)
		lockBoth := func(i int, first, second string) func() error {
			return func() error {
				return s.TxForTest(ctx, func(tx bun.Tx) error {
					attempts[i]++
					if err := touch(tx, first); err != nil {
						return err
					}
					if attempts[i] == 1 {
						holding.Done()
						holding.Wait()
					}
					return touch(tx, second)
				})
			}
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, fn := range []func() error{lockBoth(0, "one", "two"), lockBoth(1, "two", "one")} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = fn()
			}()
		}
		wg.Wait()
		require.NoError(t, errs[0])
		require.NoError(t, errs[1])
		// One of them ran again; the retry may meet the other's lock first
		// and deadlock once more (PostgreSQL wakes waiters on a row in no
		// set order), so more than one retry is allowed.
		require.GreaterOrEqual(t, attempts[0]+attempts[1], 3, "one of them ran again")
	})
	t.Run("serialization failure", func(t *testing.T) {
		attempts := 0
		err := s.TxForTest(ctx, func(tx bun.Tx) error {
			attempts++
			if attempts == 1 {
				_, err := tx.ExecContext(ctx, serializationFailure)
				return err
			}
			return touch(tx, "one")
		})
		require.NoError(t, err)
		require.Equal(t, 2, attempts)
	})
	t.Run("bounded, then unavailable", func(t *testing.T) {
		attempts := 0
		err := s.TxForTest(ctx, func(tx bun.Tx) error {
			attempts++
			_, err := tx.ExecContext(ctx, serializationFailure)
			return err
		})
		require.Equal(t, leads.CodeServiceUnavailable, leads.ErrorCode(err), "error: %v", err)
		require.Equal(t, 5, attempts)
	})
	t.Run("other errors are not retried", func(t *testing.T) {
		attempts := 0
		err := s.TxForTest(ctx, func(tx bun.Tx) error {
			attempts++
			_, err := tx.ExecContext(ctx, "SELECT 1/0")
			return err
		})
		require.Error(t, err)
		require.Equal(t, 1, attempts)
	})
}
