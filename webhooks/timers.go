package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/leadrotor/leadrotor/leads"
)

// SLA timers wait in a table of their own (timerTable), not as river jobs
// scheduled at their deadline: river's insert of a job (its arguments
// encoded by reflection, five indexes on the queue's table) on the group
// commit's writer, which every lead of the next batch waits for, was a
// round trip and half a millisecond a batch. A timer row is written with
// the assignment it times, in the hand-off's own statement on PostgreSQL
// (one round trip for both); every started runner looks for the rows due
// each timerRelayEvery and turns them into timers' jobs to run at once,
// in one transaction, so a timer runs about a second after its deadline,
// where river's scheduler made a scheduled job runnable within 5 s.

// timerTable keeps the SLA timers not yet due: id, due_at (Unix
// microseconds: the end of the second the timers come due in) and timers,
// their JSON. Made by Migrate.
const timerTable = "leadrotor_sla_timers"

// timerRelayEvery is how often a started runner looks for timers due, and
// timerRelayBatch how many rows one transaction relays.
const (
	timerRelayEvery = time.Second
	timerRelayBatch = 100
)

// timerDDL makes timerTable, by dialect, with an index on due_at for
// the relay.
var timerDDL = map[string][]string{
	"postgres": {
		`CREATE TABLE IF NOT EXISTS ` + timerTable + ` (
			id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			due_at bigint NOT NULL,
			timers bytea NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + timerTable + `_due ON ` + timerTable + ` (due_at)`,
	},
	"sqlite": {
		`CREATE TABLE IF NOT EXISTS ` + timerTable + ` (
			id INTEGER PRIMARY KEY,
			due_at INTEGER NOT NULL,
			timers BLOB NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + timerTable + `_due ON ` + timerTable + ` (due_at)`,
	},
}

// timerStatements are the statements on timerTable, in the dialect's
// placeholders.
type timerStatements struct {
	insert  string // due_at, timers
	takeDue string // due_at, limit → id, timers of the rows due, deleted
	// handOff (PostgreSQL) inserts a hand-off's row and timer rows in one
	// statement: due_at, events, then the timers' due_at[] and timers[] →
	// the hand-off's id.
	handOff string
}

var timerSQL = map[string]timerStatements{
	"postgres": {
		insert: `INSERT INTO ` + timerTable + ` (due_at, timers) VALUES ($1, $2)`,
		// SKIP LOCKED: the runners of several processes take different rows.
		takeDue: `DELETE FROM ` + timerTable + ` WHERE id IN (SELECT id FROM ` + timerTable + `
			WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING id, timers`,
		handOff: `WITH timers AS (INSERT INTO ` + timerTable + ` (due_at, timers)
			SELECT * FROM unnest($3::bigint[], $4::bytea[]))
			INSERT INTO ` + handOffTable + ` (due_at, events) VALUES ($1, $2) RETURNING id`,
	},
	"sqlite": {
		insert:  `INSERT INTO ` + timerTable + ` (due_at, timers) VALUES (?, ?)`,
		takeDue: `DELETE FROM ` + timerTable + ` WHERE id IN (SELECT id FROM ` + timerTable + ` WHERE due_at <= ? ORDER BY due_at LIMIT ?) RETURNING id, timers`,
	},
}

// timerRows are the rows of timerTable that keep a write's timers: one
// per second they come due in, due at its end (never before a deadline).
type timerRows struct {
	due    []int64
	timers [][]byte
}

// newTimerRows groups timers into their rows.
func newTimerRows(timers []leads.SLATimer) (timerRows, error) {
	var rows timerRows
	if len(timers) == 0 {
		return rows, nil
	}
	var due []time.Time // the seconds timers come due in, in order
	bySecond := map[time.Time][]leads.SLATimer{}
	for _, t := range timers {
		at := t.DueAt.Truncate(time.Second)
		if at.Before(t.DueAt) {
			at = at.Add(time.Second)
		}
		if bySecond[at] == nil {
			due = append(due, at)
		}
		bySecond[at] = append(bySecond[at], t)
	}
	for _, at := range due {
		b, err := packJSON(bySecond[at])
		if err != nil {
			return timerRows{}, fmt.Errorf("SLA timers: %w", err)
		}
		rows.due = append(rows.due, at.UnixMicro())
		rows.timers = append(rows.timers, b)
	}
	return rows, nil
}

// write inserts rows with exec, a statement of tx.
func (rows timerRows) write(insert string, exec func(query string, args ...any) error) error {
	for i := range rows.due {
		if err := exec(insert, rows.due[i], rows.timers[i]); err != nil {
			return fmt.Errorf("write SLA timers: %w", err)
		}
	}
	return nil
}

// relayTimersDue relays every row of timerTable due at now, a batch at a
// time, each to a timers' job that runs at once; it returns how many rows.
func (r *Runner) relayTimersDue(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := r.rowsToJobs(ctx, "SLA timers", r.timerSQL.takeDue, []any{now.UnixMicro(), timerRelayBatch},
			func(body []byte) ([]river.InsertManyParams, error) {
				var p packed[[]leads.SLATimer]
				if err := p.UnmarshalJSON(body); err != nil {
					return nil, err
				}
				return []river.InsertManyParams{{Args: slaArgs{Timers: p},
					InsertOpts: &river.InsertOpts{Queue: Queue, MaxAttempts: r.opts.MaxAttempts}}}, nil
			})
		total += n
		if err != nil || n < timerRelayBatch {
			return total, err
		}
	}
}

// startTimerRelay relays the timers due every timerRelayEvery until
// stopTimerRelay.
func (r *Runner) startTimerRelay(ctx context.Context) {
	ctx, r.timerStop = context.WithCancel(context.WithoutCancel(ctx))
	r.timerDone = make(chan struct{})
	go func() {
		defer close(r.timerDone)
		tick := time.NewTicker(timerRelayEvery)
		defer tick.Stop()
		for {
			n, err := r.relayTimersDue(ctx, r.opts.Now())
			if n > 0 {
				r.opts.Logger.DebugContext(ctx, "webhooks: SLA timers due relayed to jobs", "rows", n)
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				r.opts.Logger.WarnContext(ctx, "webhooks: SLA timers due not relayed; tried again", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// stopTimerRelay stops the relay of timers and waits for it.
func (r *Runner) stopTimerRelay() {
	r.timerStop()
	<-r.timerDone
}
