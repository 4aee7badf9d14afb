package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// DefaultLogRetention is how long the delivery log keeps an attempt.
const DefaultLogRetention = 30 * 24 * time.Hour

// pruneEvery is how often the delivery log is pruned, and pruneBatch how
// many attempts one statement of it looks at: a statement of a few
// milliseconds, which holds nothing long.
const (
	pruneEvery = time.Hour
	pruneBatch = 5000
)

// pruneArgs is the job that deletes the delivery log's attempts older than
// the retention. River's periodic jobs insert it, on the process elected
// leader alone, at start and every pruneEvery.
type pruneArgs struct{}

// Kind is the job's kind in river's table.
func (pruneArgs) Kind() string { return "leadrotor_delivery_log_prune" }

// InsertOpts puts the job in the runner's queue.
func (pruneArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// pruneWorker works pruneArgs.
type pruneWorker struct {
	backoff[pruneArgs]
}

// Timeout bounds a prune: the first after an upgrade may have months of
// log to delete. A prune cut short has kept what it deleted (each batch
// commits on its own), and its retry or the next hour's goes on.
func (w *pruneWorker) Timeout(*river.Job[pruneArgs]) time.Duration { return 15 * time.Minute }

// Work deletes, a batch at a time, every attempt older than the retention.
func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[pruneArgs]) error {
	before := w.r.opts.Now().Add(-w.r.opts.LogRetention)
	var total int64
	for {
		n, err := w.r.store.PruneWebhookDeliveries(ctx, before, pruneBatch)
		if err != nil {
			return fmt.Errorf("prune delivery log: %w", err)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total > 0 {
		w.r.opts.Logger.InfoContext(ctx, "webhooks: delivery log pruned", "attempts", total, "before", before)
	}
	return nil
}

// prunePeriodically is the periodic job of the prune.
func prunePeriodically() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(pruneEvery),
		func() (river.JobArgs, *river.InsertOpts) { return pruneArgs{}, nil },
		&river.PeriodicJobOpts{ID: "leadrotor_delivery_log_prune", RunOnStart: true})
}
