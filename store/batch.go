package store

import (
	"context"
	"fmt"
	"sync/atomic"
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
//
// Every caller gets its answer by its deadline. A lead still queued then is
// taken out and never written; a batch runs on a context that ends with the
// earliest deadline of its leads, and in a transaction that commits only
// after every statement succeeded, so a write given up before its COMMIT
// stored nothing, whatever PostgreSQL does after (see writePostgres).

// maxInsertBatch bounds a batch, and so the time one write holds the others.
const maxInsertBatch = 64

// writeTimeout bounds the write of a lead whose caller set no deadline.
const writeTimeout = 10 * time.Second

// States of a pendingInsert.
const (
	insertQueued    int32 = iota // waiting in the queue
	insertTaken                  // a writer has it: its outcome will come
	insertAbandoned              // its caller's deadline passed first: never written
)

// pendingInsert is a lead waiting to be written.
type pendingInsert struct {
	n        *leads.NewLead
	rows     *leadRows
	deadline time.Time // the caller's, or writeTimeout from the call
	// values is the caller's context without its cancellation: what its
	// statements carry (trace, request id) when the lead is written alone.
	values context.Context
	state  atomic.Int32
	err    error
	done   chan struct{}
}

// leadRows are the rows of one new lead.
type leadRows struct {
	lead  *leadRow
	turn  *turnRow
	skips []skipRow
	audit []auditRow
	// events are the lead's domain events, written with it.
	events []leads.Event
	// timer is the clock of the lead's SLA, written with it.
	timer *leads.SLATimer
}

// insertQueue holds the leads waiting for a write. Up to max writes run
// at once: one for SQLite, which has one connection, insertWriters for
// PostgreSQL (one on a small machine, where larger batches pay more than
// writing two at once).
type insertQueue = groupQueue[*pendingInsert]

// enqueue queues p. If a writer may start, the caller writes the head of
// the queue itself (p with it, unless the queue is long); whatever is left
// queued is written by a drainer that takes over the writer's place.
func (s *Store) enqueue(ctx context.Context, p *pendingInsert) error {
	p.values = context.WithoutCancel(ctx)
	p.deadline = time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(p.deadline) {
		p.deadline = d
	}
	if s.inserts.join(p) {
		s.writeBatch()
		s.inserts.release(s.drainInserts)
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		if p.state.CompareAndSwap(insertQueued, insertAbandoned) {
			return notWritten(ctx.Err())
		}
		// A writer has the lead: its write ends by this caller's deadline
		// (before COMMIT, nothing is stored), or it is committing.
		<-p.done
		return p.err
	}
}

// notWritten is the error of a lead given up before any write of it was
// sent: SERVICE_UNAVAILABLE, which promises that nothing was stored.
func notWritten(cause error) error {
	return leads.Unavailable("the database", fmt.Errorf("lead not written by its deadline: %w", cause))
}

// drainInserts writes until the queue is empty, then gives its place up.
func (s *Store) drainInserts() {
	for s.writeBatch() {
	}
	s.inserts.release(s.drainInserts)
}

// writeBatch writes the leads at the head of the queue; false when empty.
// Leads whose callers gave up are dropped; the batch's context ends with the
// earliest deadline of the rest.
func (s *Store) writeBatch() bool {
	q := &s.inserts
	q.mu.Lock()
	if len(q.waiting) == 0 {
		q.mu.Unlock()
		return false
	}
	now := time.Now()
	var batch []*pendingInsert
	var deadline time.Time
	for len(q.waiting) > 0 && len(batch) < maxInsertBatch {
		p := q.waiting[0]
		q.waiting = q.waiting[1:]
		if !p.state.CompareAndSwap(insertQueued, insertTaken) {
			continue // abandoned by its caller
		}
		if !p.deadline.After(now) {
			p.err = notWritten(context.DeadlineExceeded)
			close(p.done)
			continue
		}
		if deadline.IsZero() || p.deadline.Before(deadline) {
			deadline = p.deadline
		}
		batch = append(batch, p)
	}
	q.mu.Unlock()
	if len(batch) == 0 {
		return true
	}
	// A batch of several callers' leads carries none of their values.
	values := context.Background()
	if len(batch) == 1 {
		values = batch[0].values
	}
	ctx, cancel := context.WithDeadline(values, deadline)
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
		return s.insertLeadPostgres(ctx, r.lead, r.turn, r.skips, r.audit, r.events, r.timer)
	}
	return s.insertLeadSQLite(ctx, r)
}

// retryAlone writes each lead of batch that the batch did not, alone, so that
// it gets exactly the outcome it would have had without batching; each on a
// context that ends with its own deadline (the batch's ended with the
// earliest of them).
func (s *Store) retryAlone(batch []*pendingInsert, written func(i int) bool) {
	for i, p := range batch {
		if written(i) {
			continue
		}
		if !p.deadline.After(time.Now()) {
			p.err = notWritten(context.DeadlineExceeded)
			continue
		}
		ctx, cancel := context.WithDeadline(p.values, p.deadline)
		p.err = s.insertOne(ctx, p.rows)
		cancel()
	}
}
