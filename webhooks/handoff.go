package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/leadrotor/leadrotor/leads"
)

// A process hands the events of the leads it creates to its own fan-out
// the moment their transaction commits (HandOffEvents), rather than leave
// them for a worker to find: a worker polls for jobs (river's
// LISTEN/NOTIFY needs pgx's pool, which the store's pool is not), so an
// event waited 100 ms on average for the poll, and the job was fetched
// (its events read back and decoded) and completed, three writes of the
// queue's table and a decoding per group commit.
//
// The events are still written with the leads, as the backup, but as a
// row of a table of their own (handOffTable), not as a river job: river's
// insert of the job (its arguments encoded by reflection, compressed on
// the way in, five indexes on the queue's table) was 8 % of the server's
// CPU a lead and more of PostgreSQL's (docs/BENCHMARKS.md, issue 18, stop
// 39). The row is deleted once the fan-out ended. One that outlives its
// grace (handOffGrace: its process was killed, or is stuck) is relayed by
// a periodic job (relayArgs), which turns it into an events' job to run at
// once, in one transaction: at least once, as before, a minute later. A
// process stopped while its fan-outs run relays their rows at once.

// handOffTable keeps the events of hand-offs not ended: id, due_at (Unix
// microseconds after which the relay takes the row) and events, their
// JSON (on SQLite deflated, see handOffBody). Made by Migrate.
const handOffTable = "leadrotor_event_handoffs"

// handOffDDL makes handOffTable, by dialect. On PostgreSQL the events are
// compressed by the server's lz4 where it has it (a group commit's events
// are tens of kilobytes of the same names over and over), which costs a
// fraction of deflate's time on the server's side; the exception leaves
// pglz, PostgreSQL's default, where lz4 was not built in. On SQLite,
// AUTOINCREMENT keeps a deleted row's id from being given again: a
// process ending a hand-off late must not delete another's row.
var handOffDDL = map[string][]string{
	"postgres": {
		`CREATE TABLE IF NOT EXISTS ` + handOffTable + ` (
			id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			due_at bigint NOT NULL,
			events bytea NOT NULL)`,
		// Only while it is not set: ALTER TABLE locks the table against
		// the hand-offs of servers already running, and every server runs
		// the migrations when it starts.
		`DO $$ BEGIN
			IF (SELECT attcompression FROM pg_attribute
				WHERE attrelid = '` + handOffTable + `'::regclass AND attname = 'events') IS DISTINCT FROM 'l' THEN
				ALTER TABLE ` + handOffTable + ` ALTER COLUMN events SET COMPRESSION lz4;
			END IF;
		EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;
		END $$`,
	},
	"sqlite": {
		`CREATE TABLE IF NOT EXISTS ` + handOffTable + ` (
			id INTEGER PRIMARY KEY AUTOINCREMENT,
			due_at INTEGER NOT NULL,
			events BLOB NOT NULL)`,
	},
}

// handOffStatements are the statements on handOffTable, in the dialect's
// placeholders.
type handOffStatements struct {
	insert  string // due_at, events → id
	take    string // id → id, events, the row deleted
	takeDue string // due_at, limit → id, events of the rows due, deleted
	// numbered: the placeholders are $1, $2… (PostgreSQL), not ?.
	numbered bool
}

var handOffSQL = map[string]handOffStatements{
	"postgres": {
		insert: `INSERT INTO ` + handOffTable + ` (due_at, events) VALUES ($1, $2) RETURNING id`,
		take:   `DELETE FROM ` + handOffTable + ` WHERE id = $1 RETURNING id, events`,
		// SKIP LOCKED: two relays at once (a leader's change) take
		// different rows, rather than one waiting for the other's.
		takeDue: `DELETE FROM ` + handOffTable + ` WHERE id IN (SELECT id FROM ` + handOffTable + `
			WHERE due_at <= $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id, events`,
		numbered: true,
	},
	"sqlite": {
		insert:  `INSERT INTO ` + handOffTable + ` (due_at, events) VALUES (?, ?) RETURNING id`,
		take:    `DELETE FROM ` + handOffTable + ` WHERE id = ? RETURNING id, events`,
		takeDue: `DELETE FROM ` + handOffTable + ` WHERE id IN (SELECT id FROM ` + handOffTable + ` WHERE due_at <= ? ORDER BY id LIMIT ?) RETURNING id, events`,
	},
}

// execDDL runs ddl, which makes table, in db.
func execDDL(ctx context.Context, db *sql.DB, table string, ddl []string) error {
	for _, stmt := range ddl {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("make %s: %w", table, err)
		}
	}
	return nil
}

// handOffGrace is how long after its write the row of events handed off
// waits before the relay may take it: longer than a fan-out may take
// (eventWorker's Timeout), so that a row is relayed only when its hand-off
// did not end.
func (r *Runner) handOffGrace() time.Duration { return r.opts.Timeout + time.Minute }

// handOffBody is what handOffTable keeps of events: their JSON, deflated
// on SQLite (which compresses nothing itself, and writes every byte of a
// row to its log), as PostgreSQL keeps it compressed on its own.
func (r *Runner) handOffBody(events []leads.Event) ([]byte, error) {
	b, err := packJSON(events)
	if err != nil || !r.deflateHandOffs {
		return b, err
	}
	return deflate(b)
}

// handedEvents decodes what handOffBody made. Whether it is deflated is
// the dialect's, not guessed from its first byte: a deflate stream may
// start with '[' too.
func (r *Runner) handedEvents(b []byte) ([]leads.Event, error) {
	if r.deflateHandOffs {
		var err error
		if b, err = inflate(b); err != nil {
			return nil, fmt.Errorf("inflate handed-off events: %w", err)
		}
	}
	var p packed[[]leads.Event]
	if err := p.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return p.V, nil
}

// HandOffEvents writes events and timers in tx as WriteEvents does, and
// returns what to call once tx has committed (never when it did not): it
// hands the events to the process's fan-out at once. It returns nil when
// the runner works no jobs (not started, or stopping): the events' job is
// then written to run at once, as WriteEvents writes it.
func (r *Runner) HandOffEvents(ctx context.Context, tx *sql.Tx, events []leads.Event, timers []leads.SLATimer) (func(), error) {
	if r.client == nil {
		return nil, errors.New("webhooks: not opened")
	}
	exec := func(query string, args ...any) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}
	keep := func(due int64, body []byte, timers timerRows) (id int64, err error) {
		if err := timers.write(r.timerSQL.insert, exec); err != nil {
			return 0, err
		}
		return id, tx.QueryRowContext(ctx, r.sql.insert, due, body).Scan(&id)
	}
	return handOffIn(ctx, r, r.client, tx, events, timers, exec, keep)
}

// HandOffEventsPgx is HandOffEvents in a pgx transaction, where the
// hand-off's row and the timers' go in one statement.
func (r *Runner) HandOffEventsPgx(ctx context.Context, tx pgx.Tx, events []leads.Event, timers []leads.SLATimer) (func(), error) {
	if r.pgx == nil {
		return nil, errors.New("webhooks: not opened on PostgreSQL")
	}
	exec := func(query string, args ...any) error {
		_, err := tx.Exec(ctx, query, args...)
		return err
	}
	keep := func(due int64, body []byte, timers timerRows) (id int64, err error) {
		if len(timers.due) == 0 {
			return id, tx.QueryRow(ctx, r.sql.insert, due, body).Scan(&id)
		}
		return id, tx.QueryRow(ctx, r.timerSQL.handOff, due, body, timers.due, timers.timers).Scan(&id)
	}
	return handOffIn(ctx, r, r.pgx, tx, events, timers, exec, keep)
}

// handOffIn writes, in tx, the events' row and the timers' rows with keep,
// and returns the events' hand-off; when the runner hands nothing off, it
// writes the events' job (to run at once) with client and the timers' rows
// with exec, and returns nil.
func handOffIn[TTx any](ctx context.Context, r *Runner, client *river.Client[TTx], tx TTx, events []leads.Event, timers []leads.SLATimer,
	exec func(query string, args ...any) error, keep func(due int64, body []byte, timers timerRows) (int64, error)) (func(), error) {
	if len(events) == 0 || !r.handing.Load() {
		return nil, writeEventsIn(ctx, r, client, tx, events, timers, exec)
	}
	rows, err := newTimerRows(timers)
	if err != nil {
		return nil, err
	}
	body, err := r.handOffBody(events)
	if err != nil {
		return nil, fmt.Errorf("hand events off: %w", err)
	}
	id, err := keep(r.opts.Now().Add(r.handOffGrace()).UnixMicro(), body, rows)
	if err != nil {
		return nil, fmt.Errorf("hand events off: %w", err)
	}
	return func() { r.handOff(id, events) }, nil
}

// handOff fans out events, whose row (id) just committed, in a goroutine
// of its own: at most Options.Workers at once, as the workers. Beyond
// that, or once the runner is stopping, the row is relayed at once
// instead.
func (r *Runner) handOff(id int64, events []leads.Event) {
	r.handMu.Lock()
	running := r.handing.Load()
	if running {
		r.handWG.Add(1)
	}
	r.handMu.Unlock()
	if !running {
		r.handOffEnded(false)
		r.release(id)
		return
	}
	select {
	case r.handSlots <- struct{}{}:
		go func() {
			defer r.handWG.Done()
			defer func() { <-r.handSlots }()
			r.fanOutHanded(id, events)
		}()
	default:
		r.handOffEnded(false)
		go func() {
			defer r.handWG.Done()
			r.release(id)
		}()
	}
}

// handOffEnded tells the Meter, when it is a HandOffMeter, how a
// hand-off ended.
func (r *Runner) handOffEnded(posted bool) {
	if m, ok := r.opts.Meter.(HandOffMeter); ok {
		m.HandOffEnded(posted)
	}
}

// release relays row id, the backup of a hand-off not made or not ended,
// at once: its events' job runs now, this process's or another's.
// Failing that, the relay takes it at its time.
func (r *Runner) release(id int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.relayRows(ctx, r.sql.take, id); err != nil {
		r.opts.Logger.Warn("events left to the relay", "hand-off", id, "err", err)
	}
}

// relayDue relays every row of handOffTable due at now, a batch at a
// time; it returns how many.
func (r *Runner) relayDue(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := r.relayRows(ctx, r.sql.takeDue, now.UnixMicro(), relayBatch)
		total += n
		if err != nil || n < relayBatch {
			return total, err
		}
	}
}

// relayRows deletes the rows that take (a statement of handOffStatements)
// selects with args, and inserts an events' job, to run at once, for each,
// in one transaction.
func (r *Runner) relayRows(ctx context.Context, take string, args ...any) (int, error) {
	return r.rowsToJobs(ctx, "hand-offs", take, args, func(body []byte) ([]river.InsertManyParams, error) {
		events, err := r.handedEvents(body)
		return r.jobParams(events), err
	})
}

// rowsToJobs deletes the rows (id, body) that take selects with args, and
// inserts the jobs that jobs makes of each body, in one transaction; what
// names the rows in errors and logs. It returns how many rows it deleted.
// A row that jobs cannot read can never be run; left in place, it would
// stop every relay after it: it goes, loudly.
func (r *Runner) rowsToJobs(ctx context.Context, what, take string, args []any,
	jobs func(body []byte) ([]river.InsertManyParams, error)) (int, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("relay %s: %w", what, err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, take, args...)
	if err != nil {
		return 0, fmt.Errorf("relay %s: %w", what, err)
	}
	var params []river.InsertManyParams
	n := 0
	for rows.Next() {
		var id int64
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			_ = rows.Close()
			return 0, fmt.Errorf("relay %s: %w", what, err)
		}
		n++
		p, err := jobs(body)
		if err != nil {
			r.opts.Logger.Error("webhooks: row unreadable, dropped", "of", what, "row", id, "err", err)
			continue
		}
		params = append(params, p...)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("relay %s: %w", what, err)
	}
	if n == 0 {
		return 0, nil
	}
	if len(params) > 0 {
		if _, err := r.client.InsertManyFastTx(ctx, tx, params); err != nil {
			return 0, fmt.Errorf("relay %s: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("relay %s: %w", what, err)
	}
	return n, nil
}

// fanOutHanded fans out events, whose row is id, and ends the hand-off:
// with the jobs the fan-out leaves, in one transaction, or, when it leaves
// none, through the log writer, which deletes the rows of many hand-offs
// at once. Failing that, it relays the row at once (see release).
func (r *Runner) fanOutHanded(id int64, events []leads.Event) {
	ctx, cancel := context.WithTimeout(r.handCtx, r.opts.Timeout+30*time.Second)
	defer cancel()
	params, err := r.fanOut(ctx, events)
	switch {
	case err != nil:
	case len(params) == 0:
		r.finish(id)
	default:
		err = r.endHandOff(ctx, id, params)
	}
	r.handOffEnded(err == nil)
	if err != nil {
		// The runner stopping, the database or the endpoints not read: the
		// events' job runs now, this process's or another's, from the
		// start.
		r.opts.Logger.Info("events left to their job", "hand-off", id, "err", err)
		r.release(id)
	}
}

// endHandOff inserts params and deletes row id in one transaction. When
// the row is gone (the relay took it: the hand-off took longer than its
// grace), it rolls back: the relayed job fans the events out again, and
// leaves its own jobs.
func (r *Runner) endHandOff(ctx context.Context, id int64, params []river.InsertManyParams) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("end hand-off: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, r.deleteSQL(1), id)
	if err != nil {
		return fmt.Errorf("end hand-off: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("end hand-off: row %d relayed", id)
	}
	if _, err := r.client.InsertManyFastTx(ctx, tx, params); err != nil {
		return fmt.Errorf("end hand-off: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("end hand-off: %w", err)
	}
	return nil
}

// deleteSQL deletes n rows of handOffTable by id.
func (r *Runner) deleteSQL(n int) string {
	var b strings.Builder
	b.WriteString("DELETE FROM " + handOffTable + " WHERE id IN (")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if r.sql.numbered {
			b.WriteString("$" + strconv.Itoa(i+1))
		} else {
			b.WriteByte('?')
		}
	}
	b.WriteByte(')')
	return b.String()
}

// finish deletes row id, whose hand-off ended: through the log writer
// while the runner runs, else at once.
func (r *Runner) finish(id int64) {
	if r.log != nil && r.log.addFinished(id) {
		return
	}
	r.deleteHandOffs([]int64{id})
}

// deleteHandOffs deletes the rows ids of hand-offs that ended.
func (r *Runner) deleteHandOffs(ids []int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	if _, err := r.db.ExecContext(ctx, r.deleteSQL(len(ids)), args...); err != nil {
		r.opts.Logger.Warn("events delivered left to the relay: they are fanned out again", "hand-offs", len(ids), "err", err)
	}
}

// startHandOffs makes the runner hand events off (see HandOffEvents).
func (r *Runner) startHandOffs(ctx context.Context) {
	r.handCtx, r.handCancel = context.WithCancel(context.WithoutCancel(ctx))
	r.handSlots = make(chan struct{}, r.opts.Workers)
	r.handMu.Lock()
	r.handing.Store(true)
	r.handMu.Unlock()
}

// stopHandOffs stops handing events off, and waits, until ctx ends, for
// the fan-outs running to end; those still running then are cancelled,
// and their jobs made to run at once (see fanOutHanded).
func (r *Runner) stopHandOffs(ctx context.Context) {
	r.handMu.Lock()
	r.handing.Store(false)
	r.handMu.Unlock()
	done := make(chan struct{})
	go func() {
		r.handWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		r.handCancel()
		<-done
	}
	r.handCancel()
}
