package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// PostgreSQL past one box: the store's pools, where each kind of statement
// goes, and what it must not assume of a connection.
//
// A pooler in transaction mode (PgBouncer's pool_mode = transaction) lends
// a server connection to a client for one transaction at a time, so nothing
// may outlive a transaction on a connection. What the store had that did:
//
//   - the session advisory locks of Migrate and TryLock: both now take
//     transaction-scoped locks (pg_advisory_xact_lock) in a transaction held
//     open on a connection of their own, which a pooler keeps on one server
//     connection until it ends (see holdLock);
//   - the named prepared statements of the create path (pgx's statement
//     cache): behind a pooler they are described once per connection and
//     sent unnamed with each execution (pgx's QueryExecModeCacheDescribe,
//     one round trip), unless WithPoolerPreparedStatements says the pooler
//     keeps prepared statements (PgBouncer 1.21 or later with
//     max_prepared_statements above 0);
//   - the history reads' describe-then-execute, two round trips that a
//     pooler may send to two server connections: cached descriptions too;
//   - the backend process id that settles a COMMIT whose answer was lost:
//     a pooler announces one of its own, so the write asks the server for
//     its real one first (see writePostgres).
//
// The store tells a pooler from a server when it connects (connFacts).
// river, which runs the durable jobs, polls (river.Config.PollOnly) and
// takes no session lock, so it needs no LISTEN and no direct connection;
// the store uses no temporary table, and sets no session variable behind a
// pooler (only SET LOCAL, in holdLock): on a server's own connections the
// primary's pool sets plan_cache_mode (see genericPlansSQL).
// Startup parameters in the URL (search_path=…) are a server's business:
// PgBouncer refuses those it does not know, so behind one the schema comes
// from the role or the database (ALTER ROLE … SET search_path).

// MinPoolerConns is the fewest server connections a pooler in transaction
// mode must keep for the store's database (PgBouncer's default_pool_size):
// two lock holders may work at once, each keeping its lock's transaction on
// one server connection while it works on another (a starting server's
// migrations, another server's background assigner), and with no third
// connection each waits for the other's for good.
const MinPoolerConns = 3

// connFacts is what a pool's connections found out when they connected.
type connFacts struct {
	// pooled is set once a connection found that the backend answering it
	// is not the one the server announced: a pooler stands between.
	pooled atomic.Bool
	// genericPlans makes the pool's connections to a server (not through
	// a pooler) plan prepared statements once (see genericPlansSQL).
	genericPlans bool
}

// genericPlansSQL is the session setting of the primary's connections: its
// prepared statements are the create path's (bun's statements are sent
// as text, with their values in it, and planned each time whatever the
// setting), and their best plans do not depend on their parameters, arrays
// of a batch's rows. PostgreSQL's default, auto, planned the lead facts
// read again for about one execution in ten, each plan as costly as
// several executions (issue 18, docs/BENCHMARKS.md: PostgreSQL 313 → 294
// µs a lead). The lagging reads' pool keeps the default: its reads are
// sent with their parameters and a plan made for them.
const genericPlansSQL = "SET plan_cache_mode = force_generic_plan"

// afterConnect compares the process id the server announced with that of
// the backend that answers: they differ behind a pooler, which announces
// one of its own. On a server's own connection it sets genericPlansSQL
// when the pool asks for it; behind a pooler a session setting would stay on
// a server connection other clients borrow.
func (f *connFacts) afterConnect(ctx context.Context, c *pgx.Conn) error {
	var pid int64
	if err := c.QueryRow(ctx, "SELECT pg_backend_pid()", pgx.QueryExecModeSimpleProtocol).Scan(&pid); err != nil {
		return fmt.Errorf("store: ask the backend's process id: %w", err)
	}
	if uint32(pid) != c.PgConn().PID() {
		f.pooled.Store(true)
		return nil
	}
	if f.genericPlans {
		if _, err := c.Exec(ctx, genericPlansSQL, pgx.QueryExecModeSimpleProtocol); err != nil {
			return fmt.Errorf("store: set plan_cache_mode: %w", err)
		}
	}
	return nil
}

// laggingReads is the database of the reads that may lag behind the
// latest writes: lead listings and searches, the audit log, statistics,
// the Today page, webhook delivery logs and the simulations' reads of
// history. It is a read replica when the store has one
// (WithReadReplica), else a pool of the primary of its own (on SQLite:
// read-only connections), so that these reads never hold the connections
// lead intake needs. A read whose caller must see its own writes (a lead
// by id right after it was created, anything read to decide a write) uses
// the primary, Store.db, instead: the type keeps the two apart.
type laggingReads struct {
	*bun.DB
	// facts are those of its PostgreSQL connections (nil on SQLite).
	facts *connFacts
}

// ownPool reports whether the lagging reads have a pool of their own
// rather than primary, the pool of the writes.
func (r laggingReads) ownPool(primary *bun.DB) bool { return r.DB != primary }

// WithReadReplica sends the reads that may lag (see laggingReads: lists,
// searches, the audit log, statistics, the Today page, simulations'
// history) to the PostgreSQL at dsn, a streaming replica of the primary
// that Open's dsn names, in a pool of WithReadConns connections.
// Everything else, writes, reads that decide writes and reads of one
// object by id, goes to the primary: a lead just created is found by id at
// once, however far the replica lags. Open fails on a dsn that is not
// PostgreSQL's, and on a primary that is not.
func WithReadReplica(dsn string) Option { return func(o *options) { o.replica = dsn } }

// WithPoolerPreparedStatements says that the pooler in front of the
// database (if any: the store finds out when it connects) keeps named
// prepared statements per client, as PgBouncer 1.21 and later do with
// max_prepared_statements above 0: the create path then prepares its
// statements once per connection behind it too. Without it, behind a
// pooler, they are described once and sent unnamed every time, which
// poolers of every version pass through.
func WithPoolerPreparedStatements(keep bool) Option {
	return func(o *options) { o.poolerPrepares = keep }
}

// postgresPool opens a pool of n connections on cfg, and the facts its
// connections find; with genericPlans, its connections to a server set
// genericPlansSQL (the primary's pool).
func postgresPool(cfg *pgx.ConnConfig, n int, o options, genericPlans bool) (*bun.DB, *connFacts) {
	facts := &connFacts{genericPlans: genericPlans}
	sqldb := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(facts.afterConnect))
	sqldb.SetMaxOpenConns(n)
	sqldb.SetMaxIdleConns(n)
	sqldb.SetConnMaxLifetime(30 * time.Minute)
	sqldb.SetConnMaxIdleTime(o.idleTime)
	return bun.NewDB(sqldb, pgdialect.New()), facts
}

// postgresConfig parses dsn as the store's pools use it; what names the
// URL in errors.
func postgresConfig(dsn, what string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres %s: %w", what, err)
	}
	// bun writes values into the SQL text, so no two statements are
	// alike: pgx's default, a prepared statement cached per text, would
	// cost a Prepare (and later a Deallocate) round trip per statement.
	// The simple protocol is one round trip.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if cfg.ConnectTimeout == 0 {
		// A database that does not answer (a host gone, packets
		// dropped) fails a connection attempt instead of holding it;
		// connect_timeout in the URL overrides this.
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	return cfg, nil
}

// prepared returns how the create path's statements run: prepared once per
// connection and reused (pgx's statement cache), unless a pooler that is
// not known to keep prepared statements stands between; then described
// once per connection and sent unnamed, in one round trip still.
func (s *Store) prepared() pgx.QueryExecMode {
	if s.facts.pooled.Load() && !s.poolerPrepares {
		return pgx.QueryExecModeCacheDescribe
	}
	return pgx.QueryExecModeCacheStatement
}

// described returns how the history reads run on the lagging reads' pool:
// described first so that values come in binary, in the round trip before
// the execution on a server, and cached behind a pooler, which may send
// two round trips to two server connections.
func (s *Store) described() pgx.QueryExecMode {
	if s.reads.facts != nil && s.reads.facts.pooled.Load() {
		return pgx.QueryExecModeCacheDescribe
	}
	return pgx.QueryExecModeDescribeExec
}

// PingReplica checks that the database of the lagging reads answers: the
// read replica's when there is one, else the primary's.
func (s *Store) PingReplica(ctx context.Context) (err error) {
	defer translate(&err)
	return s.reads.PingContext(ctx)
}

// BehindPooler reports whether the store's connections to the primary go
// through a pooler (found when they connected); always false on SQLite.
func (s *Store) BehindPooler() bool { return s.facts != nil && s.facts.pooled.Load() }

// holdLock takes the PostgreSQL advisory lock whose key keySQL computes
// from arg (bun's ? placeholder) and holds it in a transaction of its own;
// it returns the function that ends the transaction, and so frees the
// lock. When another holds it, it returns ok false at once, or, with
// wait, tries again (backing off) until it gets it or ctx ends.
//
// A transaction-scoped lock works alike on a server and behind a pooler in
// transaction mode, which keeps the server connection for the client while
// the transaction is open (a session lock would stay on whatever server
// connection took it, and its unlock could run on another). A waiter tries
// rather than blocks in pg_advisory_xact_lock: blocked, it would hold a
// server connection of the pooler's, and a few waiters could take them
// all from the holder, who needs one to finish. The transaction writes
// nothing and, at READ COMMITTED, holds no snapshot while idle: it holds
// back no vacuum. The lock is freed too when ctx ends or the connection
// dies (PgBouncer's idle_transaction_timeout, when set, ends it too: keep
// it off, its default, or longer than a migration).
func (s *Store) holdLock(ctx context.Context, keySQL string, arg any, wait bool) (unlock func(), ok bool, err error) {
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 250*time.Millisecond) {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, false, err
		}
		var got bool
		// The transaction idles while its holder works: a server-wide
		// idle_in_transaction_session_timeout must not end it, and with it
		// the lock, under a holder that still works; set_config(…, true) is
		// SET LOCAL, which ends with the transaction.
		if err := tx.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock("+keySQL+") FROM "+
			"(SELECT set_config('idle_in_transaction_session_timeout', '0', true)) AS keep", arg).Scan(&got); err != nil {
			_ = tx.Rollback()
			return nil, false, err
		}
		if got {
			return func() { _ = tx.Rollback() }, true, nil
		}
		_ = tx.Rollback()
		if !wait {
			return nil, false, nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, ctx.Err()
		case <-t.C:
		}
	}
}
