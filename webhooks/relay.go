package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// relayEvery is how often the rows of hand-offs that did not end are
// looked for, and relayBatch how many one transaction relays.
const (
	relayEvery = 10 * time.Second
	relayBatch = 100
)

// relayArgs is the job that relays the rows of handOffTable past their
// grace: the hand-offs of a process killed or stuck. River's periodic jobs
// insert it, on the process elected leader alone, at start and every
// relayEvery; so events handed off by a process that died are fanned out
// between handOffGrace and handOffGrace+relayEvery after their commit.
type relayArgs struct{}

// Kind is the job's kind in river's table.
func (relayArgs) Kind() string { return "leadrotor_handoff_relay" }

// InsertOpts puts the job in the runner's queue.
func (relayArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// relayWorker works relayArgs.
type relayWorker struct {
	backoff[relayArgs]
}

// Work relays every row due: each becomes an events' job, to run at once.
func (w *relayWorker) Work(ctx context.Context, _ *river.Job[relayArgs]) error {
	n, err := w.r.relayDue(ctx, w.r.opts.Now())
	if n > 0 {
		w.r.opts.Logger.InfoContext(ctx, "webhooks: events of hand-offs that did not end relayed to jobs", "hand-offs", n)
	}
	if err != nil {
		return fmt.Errorf("relay hand-offs: %w", err)
	}
	return nil
}

// relayPeriodically is the periodic job of the relay.
func relayPeriodically() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(relayEvery),
		func() (river.JobArgs, *river.InsertOpts) { return relayArgs{}, nil },
		&river.PeriodicJobOpts{ID: "leadrotor_handoff_relay", RunOnStart: true})
}
