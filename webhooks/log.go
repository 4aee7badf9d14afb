package webhooks

import (
	"sync"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// Batches of the delivery log: the attempts of a fraction of a second, up
// to logBatch, are written in one insert.
const (
	logEvery = 100 * time.Millisecond
	logBatch = 500
)

// logWriter writes the delivery log in batches, off the deliveries' path:
// a log line per attempt, each its own commit, cost the database more than
// the deliveries themselves. The log trails the attempts by up to
// logEvery; a process killed may lose the lines of its last moments, never
// a delivery (the log records, it does not decide). It deletes the rows of
// the hand-offs that ended in batches too.
type logWriter struct {
	r       *Runner
	mu      sync.Mutex
	pending []*leads.WebhookDelivery
	// finished holds the rows of hand-offs that ended, to delete.
	finished []int64
	closed   bool
	wake     chan struct{}
	done     chan struct{}
}

// startLogWriter starts r's log writer.
func startLogWriter(r *Runner) *logWriter {
	w := &logWriter{r: r, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

// addFinished queues hand-off id's row to be deleted; false once the writer is
// stopped (the caller deletes it).
func (w *logWriter) addFinished(id int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.finished = append(w.finished, id)
	return true
}

// add queues ds; false once the writer is stopped (the caller writes them).
func (w *logWriter) add(ds []*leads.WebhookDelivery) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.pending = append(w.pending, ds...)
	if len(w.pending) >= logBatch {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return true
}

func (w *logWriter) run() {
	defer close(w.done)
	tick := time.NewTicker(logEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-w.wake:
		}
		w.mu.Lock()
		batch, finished, closed := w.pending, w.finished, w.closed
		w.pending, w.finished = nil, nil
		w.mu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), logBatch)
			w.r.writeLog(batch[:n])
			batch = batch[n:]
		}
		for len(finished) > 0 {
			n := min(len(finished), logBatch)
			w.r.deleteHandOffs(finished[:n])
			finished = finished[n:]
		}
		if closed {
			return
		}
	}
}

// stop writes what is queued and stops the writer; a nil writer is
// stopped.
func (w *logWriter) stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	<-w.done
}
