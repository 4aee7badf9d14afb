package store

import (
	"context"

	"github.com/uptrace/bun"
)

// TxForTest runs fn as the store runs its own transactions, retries
// included.
func (s *Store) TxForTest(ctx context.Context, fn func(tx bun.Tx) error) error { return s.tx(ctx, fn) }

// ReadsForTest returns the database heavy reads use.
func (s *Store) ReadsForTest() *bun.DB { return s.reads }
