package store

import (
	"context"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

// TxForTest runs fn as the store runs its own transactions, retries
// included.
func (s *Store) TxForTest(ctx context.Context, fn func(tx bun.Tx) error) error { return s.tx(ctx, fn) }

// ReadsForTest returns the database heavy reads use.
func (s *Store) ReadsForTest() *bun.DB { return s.reads.DB }

// InsertBatchForTest writes ns as one batch, as concurrent InsertLead calls
// are (PostgreSQL: one statement; SQLite: one transaction), and returns
// each lead's outcome.
func (s *Store) InsertBatchForTest(ctx context.Context, ns []*leads.NewLead) []error {
	batch := make([]*pendingInsert, len(ns))
	for i, n := range ns {
		rows, err := newLeadRows(n)
		if err != nil {
			panic(err)
		}
		batch[i] = &pendingInsert{n: n, rows: rows, values: ctx, deadline: time.Now().Add(time.Minute), done: make(chan struct{})}
	}
	if s.dialect == Postgres {
		s.insertBatchPostgres(ctx, batch)
	} else {
		s.insertBatchSQLite(ctx, batch)
	}
	errs := make([]error, len(batch))
	for i, p := range batch {
		if p.err != nil {
			errs[i] = leadWriteError(p.err)
			continue
		}
		p.n.Lead.ID = p.rows.lead.ID
	}
	return errs
}

// ColumnsForTest returns, per table the create path writes (leads,
// audit_log), the columns of its table in columns.go (audit_log's with
// lead_id) and those of its bun row.
func (s *Store) ColumnsForTest() map[string][2][]string {
	names := func(t reflect.Type) []string {
		var out []string
		for _, f := range s.db.Table(t).Fields {
			out = append(out, f.Name)
		}
		return out
	}
	lead := []string{"id"}
	for _, c := range leadColumns {
		lead = append(lead, c.name)
	}
	audit := []string{"id", "lead_id"}
	for _, c := range auditColumns {
		audit = append(audit, c.name)
	}
	return map[string][2][]string{
		"leads":     {lead, names(reflect.TypeFor[leadRow]())},
		"audit_log": {audit, names(reflect.TypeFor[auditRow]())},
	}
}

// PgArrayForTest is pgArray, for its round trip through PostgreSQL.
type PgArrayForTest[T any] = pgArray[T]

// ModeTxForTest is tx running its statements in mode (modeTx).
func ModeTxForTest(tx pgx.Tx, mode pgx.QueryExecMode) pgx.Tx { return modeTx{tx, mode} }

// LeadFactsBatchSQLForTest is the statement of the create path's reads.
var LeadFactsBatchSQLForTest = leadFactsBatchSQL
