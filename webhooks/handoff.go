package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/leadrotor/leadrotor/leads"
)

// A process hands the events of the leads it creates to its own fan-out
// the moment their transaction commits (HandOffEvents), rather than leave
// them for a worker to find: a worker polls for jobs (river's
// LISTEN/NOTIFY needs pgx's pool, which the store's pool is not), so an
// event waited 100 ms on average for the poll, and the job was fetched
// (its events read back and decoded) and completed, three writes of the
// queue's table and a decoding per group commit. The job is still written
// with the leads, as the backup: scheduled handOffGrace later, and
// deleted once the fan-out ended. A process stopped while its fan-outs
// run makes their jobs run at once, by any process; one killed leaves
// them to run when their time comes: at least once, as before, a minute
// later.

// handOffGrace is how long after its write the job of events handed off
// waits before any process may run it: longer than a fan-out may take
// (eventWorker's Timeout), so that a job runs only when its hand-off did
// not end.
func (r *Runner) handOffGrace() time.Duration { return r.opts.Timeout + time.Minute }

// HandOffEvents writes events and timers in tx as WriteEvents does, and
// returns what to call once tx has committed (never when it did not): it
// hands the events to the process's fan-out at once. It returns nil when
// the runner works no jobs (not started, or stopping): the events' job is
// then written to run at once, as WriteEvents writes it.
func (r *Runner) HandOffEvents(ctx context.Context, tx *sql.Tx, events []leads.Event, timers []leads.SLATimer) (func(), error) {
	if r.client == nil {
		return nil, errors.New("webhooks: not opened")
	}
	return handOffIn(ctx, r, r.client, tx, events, timers)
}

// HandOffEventsPgx is HandOffEvents in a pgx transaction.
func (r *Runner) HandOffEventsPgx(ctx context.Context, tx pgx.Tx, events []leads.Event, timers []leads.SLATimer) (func(), error) {
	if r.pgx == nil {
		return nil, errors.New("webhooks: not opened on PostgreSQL")
	}
	return handOffIn(ctx, r, r.pgx, tx, events, timers)
}

// handOffIn inserts the jobs of events and timers in tx with client, and
// returns the events' hand-off (nil when the runner hands nothing off).
func handOffIn[TTx any](ctx context.Context, r *Runner, client *river.Client[TTx], tx TTx, events []leads.Event, timers []leads.SLATimer) (func(), error) {
	params := r.jobParams(events, timers)
	if len(events) == 0 || !r.handing.Load() {
		if _, err := client.InsertManyFastTx(ctx, tx, params); err != nil {
			return nil, fmt.Errorf("insert event jobs: %w", err)
		}
		return nil, nil
	}
	// The events' job, the first, is the backup of their hand-off.
	params[0].InsertOpts = &river.InsertOpts{Queue: Queue, ScheduledAt: time.Now().Add(r.handOffGrace())}
	res, err := client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("insert event jobs: %w", err)
	}
	id := res[0].Job.ID
	return func() { r.handOff(id, events) }, nil
}

// handOff fans out events, whose job (id) just committed, in a goroutine
// of its own: at most Options.Workers at once, as the workers. Beyond
// that, or once the runner is stopping, the job is made to run at once
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

// release makes job id, the backup of a hand-off not made or not ended,
// run at once. Failing that, it runs at its time.
func (r *Runner) release(id int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.client.JobRetry(ctx, id); err != nil {
		r.opts.Logger.Warn("events left to their job's time", "job", id, "err", err)
	}
}

// fanOutHanded fans out events, whose job is id, and ends the job: with
// the jobs the fan-out leaves, in one transaction, or, when it leaves
// none, through the log writer, which deletes the jobs of many hand-offs
// at once. Failing that, it makes the job run at once (see release).
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
		// job runs now, this process's or another's, from the start.
		r.opts.Logger.Info("events left to their job", "job", id, "err", err)
		r.release(id)
	}
}

// endHandOff inserts params and deletes job id in one transaction. When
// the job has started meanwhile (its hand-off took longer than its
// grace), it rolls back: the job fans the events out again, and leaves
// its own jobs.
func (r *Runner) endHandOff(ctx context.Context, id int64, params []river.InsertManyParams) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("end hand-off: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := r.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("end hand-off: %w", err)
	}
	res, err := r.client.JobDeleteManyTx(ctx, tx, waitingJobs(id))
	if err != nil {
		return fmt.Errorf("end hand-off: %w", err)
	}
	if len(res.Jobs) == 0 {
		return fmt.Errorf("end hand-off: job %d started", id)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("end hand-off: %w", err)
	}
	return nil
}

// waitingJobs selects the jobs ids that have not started.
func waitingJobs(ids ...int64) *river.JobDeleteManyParams {
	return river.NewJobDeleteManyParams().IDs(ids...).First(len(ids)).
		States(rivertype.JobStateScheduled, rivertype.JobStateAvailable)
}

// finish deletes job id, whose hand-off ended: through the log writer
// while the runner runs, else at once.
func (r *Runner) finish(id int64) {
	if r.log != nil && r.log.addFinished(id) {
		return
	}
	r.deleteJobs([]int64{id})
}

// deleteJobs deletes the jobs ids of hand-offs that ended, those that
// have not started.
func (r *Runner) deleteJobs(ids []int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.client.JobDeleteMany(ctx, waitingJobs(ids...)); err != nil {
		r.opts.Logger.Warn("jobs of events delivered not deleted: they run again", "jobs", len(ids), "err", err)
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
