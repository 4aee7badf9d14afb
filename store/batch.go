package store

import (
	"context"
	"sync"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// Group commit. Under load, InsertLead is called by many requests at once,
// and each lead's own transaction is mostly fixed cost: a round trip, a
// commit, a WAL write (and on SQLite, the one connection there is). So
// while a batch of leads is being written, new calls queue, and the next
// write takes all of them in one statement (PostgreSQL) or one transaction
// (SQLite). A lone lead is written at once, by its caller. Each caller gets
// its own outcome; a lead that breaks a unique rule, or a batch that fails,
// is retried alone, so that errors stay exactly those of InsertLead alone.

// maxInsertBatch bounds a batch, and so the time one write holds the others.
const maxInsertBatch = 64

// batchTimeout bounds the write of a batch: it runs on its own context, since
// its callers' contexts differ and a canceled caller must not fail the rest.
const batchTimeout = 10 * time.Second

// pendingInsert is a lead waiting to be written.
type pendingInsert struct {
	n    *leads.NewLead
	rows *leadRows
	err  error
	done chan struct{}
}

// leadRows are the rows of one new lead.
type leadRows struct {
	lead  *leadRow
	turn  *turnRow
	skips []skipRow
	audit []auditRow
}

// insertQueue holds the leads waiting for a write. Up to maxWriters writes
// run at once: one for SQLite, which has one connection, a few for
// PostgreSQL, so that batches form without funnelling every insert
// through one connection and one core.
type insertQueue struct {
	mu         sync.Mutex
	waiting    []*pendingInsert
	writers    int
	maxWriters int
}

// enqueue queues p. If a writer may start, the caller writes the head of
// the queue itself (p with it, unless the queue is long); whatever is left
// queued is written by a drainer that takes over the writer's place.
func (s *Store) enqueue(p *pendingInsert) error {
	q := &s.inserts
	q.mu.Lock()
	q.waiting = append(q.waiting, p)
	if q.writers < q.maxWriters {
		q.writers++
		q.mu.Unlock()
		s.writeBatch()
		s.releaseWriter()
	} else {
		q.mu.Unlock()
	}
	<-p.done
	return p.err
}

// releaseWriter ends a writer's turn: a drainer carries on while leads wait.
func (s *Store) releaseWriter() {
	q := &s.inserts
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.waiting) > 0 {
		go s.drainInserts()
		return
	}
	q.writers--
}

func (s *Store) drainInserts() {
	for s.writeBatch() {
	}
	s.releaseWriter()
}

// writeBatch writes the leads at the head of the queue; false when empty.
func (s *Store) writeBatch() bool {
	q := &s.inserts
	q.mu.Lock()
	n := min(len(q.waiting), maxInsertBatch)
	batch := q.waiting[:n:n]
	q.waiting = q.waiting[n:]
	q.mu.Unlock()
	if n == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	if len(batch) == 1 {
		batch[0].err = s.insertOne(ctx, batch[0].rows)
	} else if s.dialect == Postgres {
		s.insertBatchPostgres(ctx, batch)
	} else {
		s.insertBatchSQLite(ctx, batch)
	}
	for _, p := range batch {
		if p.err == nil {
			p.n.Lead.ID = p.rows.lead.ID
			for i := range p.n.Audit {
				p.n.Audit[i].ID = p.rows.audit[i].ID
				p.n.Audit[i].LeadID = p.rows.lead.ID
			}
		} else {
			p.err = leadWriteError(p.err)
		}
		close(p.done)
	}
	return true
}

// insertOne writes one lead in its own transaction.
func (s *Store) insertOne(ctx context.Context, r *leadRows) error {
	if s.dialect == Postgres {
		return s.insertLeadPostgres(ctx, r.lead, r.turn, r.skips, r.audit)
	}
	return s.insertLeadSQLite(ctx, r)
}

// retryAlone writes each lead of batch that the batch did not, alone, so that
// it gets exactly the outcome it would have had without batching.
func (s *Store) retryAlone(ctx context.Context, batch []*pendingInsert, written func(i int) bool) {
	for i, p := range batch {
		if !written(i) {
			p.err = s.insertOne(ctx, p.rows)
		}
	}
}
