package store

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun/driver/sqliteshim"
)

// A SQLite file's write-ahead log is copied back into the database file
// (checkpointed) by a goroutine of the store's, off the write path. SQLite
// checkpoints by itself in the connection that commits, once the log
// passes 1,000 pages: in the one writer, behind which every group commit
// waits (5 % of the embedded server's CPU, all of it on that path). The
// writer now does so only past walBackstop pages, should the checkpointer
// fall behind; the checkpointer copies, every checkpointEvery, what no
// reader still needs (PASSIVE: it waits for neither readers nor the
// writer, which goes on appending meanwhile). Often and small: at 200 ms
// or 1 s a checkpoint's burst of writes made the create path's p99 worse
// (by 4 and 40 ms), at 50 ms it is better than SQLite's own; with nothing
// to copy a checkpoint is a look at the log's header. While nothing is
// written, the checkpointer waits longer each time, up to checkpointIdle:
// an idle server is not woken 20 times a second; the first writes after a
// pause wait that long at most for their first checkpoint.
const (
	checkpointEvery = 50 * time.Millisecond
	checkpointIdle  = time.Second
	walBackstop     = 8192 // pages: 32 MiB of log at SQLite's default page size
)

// checkpointer checkpoints a SQLite file's log, on a connection of its own,
// until closed.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer opens a connection to the file of dsn (sqliteDSN's) and
// starts checkpointing its log.
func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

// walState is what a checkpoint reports: the frames in the log, and those
// copied into the database file.
type walState struct{ log, copied int64 }

func (c *checkpointer) run() {
	defer close(c.done)
	wait := checkpointEvery
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var last walState
	for {
		select {
		case <-c.stop:
			return
		case <-timer.C:
		}
		// An error (the file locked by a migration of another process,
		// say) leaves the log to the next checkpoint, and to the writer's
		// backstop: nothing is lost, the log is only longer.
		var busy int
		var st walState
		err := c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &st.log, &st.copied)
		wait = nextCheckpoint(wait, err == nil && st == last && st.copied == st.log)
		last = st
		timer.Reset(wait)
	}
}

// nextCheckpoint is the wait before the next checkpoint, after one that
// waited wait and found the log as the one before left it, all copied
// (idle), or not.
func nextCheckpoint(wait time.Duration, idle bool) time.Duration {
	if !idle {
		return checkpointEvery
	}
	return min(2*wait, checkpointIdle)
}

// close stops the checkpointer and closes its connection; a nil
// checkpointer is closed.
func (c *checkpointer) close() {
	if c == nil {
		return
	}
	close(c.stop)
	<-c.done
	_ = c.db.Close()
}
