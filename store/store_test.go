package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// The cases every leads.Store passes are storetest.Exercise; the tests of
// this package that stay here need the concrete store (its schema, its
// pools, its batches and transactions, its migrations).

var now = storetest.Now

// TestConformance runs storetest.Exercise on every dialect, one store per
// dialect shared by its cases.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			storetest.Exercise(t, func(*testing.T) leads.Store { return b.Store })
		})
	}
}

// TestMigrateIsIdempotentAndConcurrent opens one database from several
// goroutines at once, as several servers starting together would.
func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	dsns := []string{storetest.SQLite(t).DSN}
	if dsn := storetest.PostgresSchemaDSN(t); dsn != "" {
		dsns = append(dsns, dsn)
	}
	for _, dsn := range dsns {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := store.Open(context.Background(), dsn)
				if err == nil {
					err = s.Migrate(context.Background())
					_ = s.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
	}
}
