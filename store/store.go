// Package store keeps leadrotor's data in PostgreSQL or SQLite with bun. It
// implements leads.Store; the dialect is chosen by the DSN given to Open.
// Both dialects share every query and pass the same conformance suite; only
// the DDL (migrations/postgres, migrations/sqlite) and error decoding differ.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/sqliteshim"
	"github.com/uptrace/bun/migrate"

	"github.com/leadrotor/leadrotor/leads"
)

//go:embed migrations
var migrationFiles embed.FS

// Dialect names the database behind a Store.
type Dialect string

// The dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store implements leads.Store on a bun database.
type Store struct {
	db      *bun.DB
	dialect Dialect
	// observe sees the statements that bypass bun; nil when unobserved.
	observe func(ctx context.Context, query string)
	// reader is SQLite's pool of read-only connections (nil in memory).
	reader *sql.DB
	// checkpoints checkpoints a SQLite file's log (nil otherwise).
	checkpoints *checkpointer
	// facts are what the primary's connections found when they connected
	// (nil on SQLite).
	facts *connFacts
	// poolerPrepares: a pooler in front keeps prepared statements
	// (WithPoolerPreparedStatements).
	poolerPrepares bool
	// reads serves the heavy reads that may lag (listings, searches, the
	// audit log, statistics): on PostgreSQL a pool of its own, on the
	// replica when there is one, so that reports can never hold every
	// connection lead intake needs; on a SQLite file its read-only
	// connections, so that they do not queue on the one writer.
	reads laggingReads
	// inserts queues concurrent InsertLead calls into shared writes.
	inserts insertQueue
	// factReads holds the LeadFacts reads waiting for a statement
	// (PostgreSQL).
	factReads factsQueue
	// sqliteStmts are SQLite's prepared statements of the create path.
	sqliteStmts sqliteStatements
	// migrateLock is the file whose lock serializes SQLite migrations
	// across processes ("" in memory, which one process sees).
	migrateLock string
	// now is the clock of the times the store sets itself (a detached
	// lead's updatedAt); the Service sets the others.
	now func() time.Time
	// locks are the names TryLock holds, on SQLite.
	locksMu sync.Mutex
	locks   map[string]bool
	// sink writes lead writes' events in their transactions (nil: none).
	sink EventSink
	// migrations run after the store's own (WithMigrations).
	migrations []MigrateFunc
}

var _ leads.Store = (*Store)(nil)

type options struct {
	maxConns       int
	readConns      int
	idleTime       time.Duration
	observe        func(ctx context.Context, query string)
	hooks          queryHooks
	now            func() time.Time
	sink           EventSink
	migrations     []MigrateFunc
	replica        string
	poolerPrepares bool
}

// Option configures Open.
type Option func(*options)

// WithMaxConns sets the PostgreSQL pool size (default 2 per CPU, at least
// 4). Requests hold a connection only while a statement runs, and inserts
// share writes, so a few connections keep PostgreSQL busy; more only make
// its backends contend for the WAL and the CPUs (measured: 16 connections
// did less than half of what 4 did; docs/BENCHMARKS.md). With PostgreSQL on
// a larger machine of its own, raise it toward twice its cores. SQLite
// always uses one connection: it has one writer at a time anyway, and one
// connection never meets SQLITE_BUSY.
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithReadConns sets the size of the pool that heavy reads (lead listings
// and searches, the audit log, statistics) use, beside the main one, on
// the read replica when there is one (WithReadReplica) (default half the
// PostgreSQL pool, at least 1; 2 on SQLite). Reads wait
// for one of these, never for a connection lead intake needs.
func WithReadConns(n int) Option { return func(o *options) { o.readConns = n } }

// WithConnMaxIdleTime closes a PostgreSQL connection idle that long
// (default 5 minutes). Test suites that open many stores at once set it
// short, so that the stores of tests waiting their turn do not hold
// connections PostgreSQL would refuse to the others.
func WithConnMaxIdleTime(d time.Duration) Option { return func(o *options) { o.idleTime = d } }

// WithStatementObserver calls observe with every statement sent to the
// database, bun's and the hand-written ones of the create path alike: for
// metrics, tracing and tests that count round trips.
func WithStatementObserver(observe func(ctx context.Context, query string)) Option {
	return func(o *options) { o.observe = observe }
}

// WithClock sets the clock of the times the store sets itself (default
// time.Now); give it the Service's, so that tests that freeze one freeze
// both.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// observer is a bun query hook that reports to an observe function.
type observer func(ctx context.Context, query string)

func (o observer) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	o(ctx, e.Query)
	return ctx
}

func (o observer) AfterQuery(context.Context, *bun.QueryEvent) {}

// Open connects to the database named by dsn and brings its schema up to
// date. A dsn of postgres://, postgresql:// or
// libpq's key=value form (host=… dbname=…) selects PostgreSQL (through pgx;
// extra parameters such as search_path become session settings); file:PATH
// or sqlite://PATH selects SQLite. Any other dsn, a bare path included, is an
// error that names these forms: a mistyped URL must not become a new file.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{maxConns: max(4, 2*runtime.GOMAXPROCS(0)), now: time.Now, idleTime: 5 * time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := open(dsn, o)
	if err != nil {
		return nil, err
	}
	s.now = o.now
	s.sink, s.migrations = o.sink, o.migrations
	if o.observe != nil {
		s.observe = o.observe
		shared := !s.reads.ownPool(s.db)
		s.db = s.db.WithQueryHook(observer(o.observe))
		if shared {
			s.reads.DB = s.db
		} else {
			s.reads.DB = s.reads.WithQueryHook(observer(o.observe))
		}
	}
	if len(o.hooks) > 0 && s.dialect == SQLite {
		shared := !s.reads.ownPool(s.db)
		s.db = s.db.WithQueryHook(bunHooks{o.hooks})
		if shared {
			s.reads.DB = s.db
		} else {
			s.reads.DB = s.reads.WithQueryHook(bunHooks{o.hooks})
		}
	}
	if err := s.connect(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if s.dialect == Postgres {
		// Its first connection tells a pooler from a server before any
		// statement depends on it (see connFacts), and a replica that does
		// not answer fails Open, not the first listing.
		if err := s.reads.PingContext(ctx); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("store: connect the lagging reads' database: %w", err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// defaultConnectTimeout bounds a PostgreSQL connection attempt.
const defaultConnectTimeout = 5 * time.Second

func open(dsn string, o options) (*Store, error) {
	dialect, path, err := dialectOf(dsn)
	if err != nil {
		return nil, err
	}
	switch dialect {
	case Postgres:
		cfg, err := postgresConfig(dsn, "database")
		if err != nil {
			return nil, err
		}
		readCfg := cfg
		if o.replica != "" {
			if d, _, err := dialectOf(o.replica); err != nil || d != Postgres {
				return nil, fmt.Errorf("store: the read replica's URL %q is not a PostgreSQL URL", Redact(o.replica))
			}
			if readCfg, err = postgresConfig(o.replica, "read replica"); err != nil {
				return nil, err
			}
		}
		if len(o.hooks) > 0 {
			cfg.Tracer = pgHooks{o.hooks}
			readCfg.Tracer = cfg.Tracer
		}
		db, facts := postgresPool(cfg, o.maxConns, o, true)
		reads, readFacts := postgresPool(readCfg, readConns(o), o, false)
		return &Store{db: db, facts: facts, reads: laggingReads{DB: reads, facts: readFacts}, dialect: Postgres,
			poolerPrepares: o.poolerPrepares, inserts: insertQueue{max: insertWriters(o.maxConns)},
			factReads: factsQueue{max: max(1, o.maxConns/4)}}, nil
	default:
		if o.replica != "" {
			return nil, errors.New("store: a read replica needs a PostgreSQL primary, not SQLite")
		}
		file, query, _ := strings.Cut(path, "?")
		inFile := !strings.Contains(file, ":memory:") && !strings.Contains(query, "mode=memory")
		base := sqliteDSN(dsn) // every connection's: the pools below add their own pragmas
		writerDSN := base
		if inFile {
			// The checkpointer below checkpoints; the writer only past
			// its backstop.
			writerDSN += fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walBackstop)
		}
		sqldb, err := sql.Open(sqliteshim.ShimName, writerDSN)
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		sqldb.SetMaxOpenConns(1)
		sqldb.SetMaxIdleConns(1)
		sqldb.SetConnMaxLifetime(0)
		sqldb.SetConnMaxIdleTime(0)
		st := &Store{db: bun.NewDB(sqldb, sqlitedialect.New()), dialect: SQLite, inserts: insertQueue{max: 1}}
		if inFile {
			st.migrateLock = file + "-migrate.lock"
			if st.checkpoints, err = startCheckpointer(base); err != nil {
				_ = sqldb.Close()
				return nil, err
			}
		}
		if !strings.Contains(dsn, ":memory:") {
			// WAL lets readers run beside the one writer: the lead facts read,
			// read for every lead, does not wait behind writes.
			if st.reader, err = sql.Open(sqliteshim.ShimName, base+"&_pragma=query_only(1)"); err != nil {
				st.checkpoints.close()
				_ = sqldb.Close()
				return nil, fmt.Errorf("store: open sqlite: %w", err)
			}
			st.reader.SetMaxOpenConns(max(2, runtime.GOMAXPROCS(0)))
			st.reader.SetMaxIdleConns(max(2, runtime.GOMAXPROCS(0)))
			// Heavy reads get read-only connections of their own: on the
			// writer they would queue lead writes behind them, and on the
			// reader the lead facts read of every lead.
			reads, err := sql.Open(sqliteshim.ShimName, base+"&_pragma=query_only(1)")
			if err != nil {
				_ = st.reader.Close()
				st.checkpoints.close()
				_ = sqldb.Close()
				return nil, fmt.Errorf("store: open sqlite: %w", err)
			}
			reads.SetMaxOpenConns(readConns(o))
			reads.SetMaxIdleConns(readConns(o))
			st.reads = laggingReads{DB: bun.NewDB(reads, sqlitedialect.New())}
		} else {
			st.reads = laggingReads{DB: st.db}
		}
		return st, nil
	}
}

// connectRetries bounds how long connect retries a SQLite file that says
// it is locked.
const connectRetries = 10 * time.Second

// connect checks that the database answers. A SQLite file that other
// processes are creating or migrating at that moment can answer
// SQLITE_BUSY to a new connection's pragmas (switching a fresh file to WAL
// takes an exclusive lock, which the busy timeout does not always wait
// for): connect tries again, backing off, until ctx ends or
// connectRetries pass, so that servers started together all start.
func (s *Store) connect(ctx context.Context) error {
	give := time.Now().Add(connectRetries)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		err := s.db.PingContext(ctx)
		if err == nil || s.dialect != SQLite || !isLocked(err) || time.Now().After(give) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// isLocked reports whether err is SQLite's "database is locked".
func isLocked(err error) bool {
	return strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
}

// insertWriters is how many group commits run at once on PostgreSQL: a
// quarter of the pool, at least 1 (one on the default pool of a 2-core
// machine). Fewer writers make larger batches, and a batch's cost is
// mostly its own (its statements, its event job and their fetch,
// completion and fan-out), not its leads': on 2 cores, one writer instead
// of two took the server's CPU per lead from 337-365 to 270-295 us and
// PostgreSQL's from 367-432 to 265-287, with p99 105 -> 72 ms
// (docs/BENCHMARKS.md, issue 18). Two writers left half the batches a
// lone lead, written while the other writer's batch gathered the rest.
func insertWriters(maxConns int) int { return max(1, maxConns/4) }

// readConns returns the size of the pool of heavy reads: as asked, else half
// the main pool, at least 1.
func readConns(o options) int {
	if o.readConns > 0 {
		return o.readConns
	}
	return max(1, o.maxConns/2)
}

// sqliteDSN turns "sqlite://leadrotor.db", "sqlite:leadrotor.db" or "file:leadrotor.db"
// into a file: URI with the pragmas leadrotor relies on: foreign keys, WAL,
// and a busy timeout for other processes reading the file.
func sqliteDSN(dsn string) string {
	dsn = strings.TrimPrefix(dsn, "sqlite://")
	dsn = strings.TrimPrefix(dsn, "sqlite:")
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + dsn
	}
	path, query, _ := strings.Cut(dsn, "?")
	params, _ := url.ParseQuery(query)
	pragmas := []string{"foreign_keys(1)", "busy_timeout(10000)", "synchronous(NORMAL)"}
	if !strings.Contains(path, ":memory:") && params.Get("mode") != "memory" {
		pragmas = append(pragmas, "journal_mode(WAL)")
	}
	for _, p := range pragmas {
		params.Add("_pragma", p)
	}
	return path + "?" + params.Encode()
}

// Dialect returns the database behind s.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the bun database, for tools and tests that need raw access.
func (s *Store) DB() *bun.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer translate(&err)
	return s.db.PingContext(ctx)
}

// Close closes the database.
func (s *Store) Close() error {
	s.checkpoints.close()
	if s.reader != nil {
		_ = s.reader.Close()
	}
	if s.reads.DB != nil && s.reads.ownPool(s.db) {
		_ = s.reads.Close()
	}
	return s.db.Close()
}

// Migrate applies the migrations the database has not seen yet. Concurrent
// callers (several servers starting at once) are serialized: on PostgreSQL by
// an advisory lock held by a transaction (so that it holds behind a pooler
// too), which the server drops if its holder dies; on SQLite by a
// lock on the file PATH-migrate.lock beside the database, which the system
// drops if its holder dies. (SQLite's own write lock does not do: each
// migration is a transaction of its own, and a second process that read the
// list of applied migrations before the first applied them applies them
// again and fails with "table … already exists".)
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrationFiles, "migrations/"+string(s.dialect))
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(sub); err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if s.dialect == SQLite {
		addSQLiteMigrations(ms)
	}
	m := migrate.NewMigrator(s.db, ms, migrate.WithMarkAppliedOnSuccess(true))
	unlock, err := s.lockMigrations(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("store: init migrations: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, extra := range s.migrations {
		if err := extra(ctx, s.db.DB, s.dialect); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
	}
	return nil
}

// lockMigrations takes a lock that only one migrating process holds.
func (s *Store) lockMigrations(ctx context.Context) (func(), error) {
	if s.dialect != Postgres {
		if s.migrateLock == "" {
			return func() {}, nil // in memory: no other process sees it
		}
		return lockFile(ctx, s.migrateLock)
	}
	// One lock per schema, so that test runs in their own schemas do not wait
	// for each other.
	var current sql.NullString
	if err := s.db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&current); err != nil {
		return nil, fmt.Errorf("store: lock migrations: %w", err)
	}
	if !current.Valid {
		return nil, errors.New("store: no schema to migrate: the search_path names no schema that exists")
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("leadrotor migrations " + current.String))
	// Held by a transaction of its own (holdLock), so that it holds behind
	// a pooler in transaction mode too; the migrations run on other
	// connections meanwhile.
	unlock, _, err := s.holdLock(ctx, "?", int64(h.Sum64()), true)
	if err != nil {
		return nil, fmt.Errorf("store: lock migrations: %w", err)
	}
	return unlock, nil
}

// txAttempts bounds how often tx runs a transaction that the database
// aborted for a serialization failure or a deadlock. Configuration writes
// take their locks in one order (the account first, see lockAccount), so
// among themselves they do not deadlock; one that meets a lead write (a lead
// row against a team's) may, and PostgreSQL then aborts one of the two,
// which a second run almost always gets through.
const txAttempts = 5

// tx runs fn in a transaction, rolled back when fn fails. A run that the
// database aborted as a deadlock victim or a serialization failure wrote
// nothing, so it is run again, up to txAttempts in all: fn must be
// repeatable (set what it reports on each run, have no effect outside tx).
func (s *Store) tx(ctx context.Context, fn func(tx bun.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(tx) })
		switch {
		case err == nil || !isRetryable(err):
			return err
		case attempt == txAttempts || ctx.Err() != nil:
			// Not stored, and likely to pass later: a 503, not a 500.
			return leads.Unavailable("the database", fmt.Errorf("transaction aborted %d times: %w", attempt, err))
		}
	}
}

// isRetryable reports whether err is PostgreSQL aborting a transaction that
// can simply be run again: 40001 serialization_failure, 40P01
// deadlock_detected.
func isRetryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40001" || pg.Code == "40P01")
}

// lockAccount locks the account's row until tx ends; NOT_FOUND for an
// unknown account. Every transaction that changes an account's members or
// configuration calls it first, so that they all take their locks in one
// order (account, then the object, then its leads) and cannot deadlock
// each other, and so that a rule over several rows (the last admin, a
// rotation naming only members) holds: whoever checks it under this lock
// sees every change committed before, and none can come in until tx ends.
// On PostgreSQL the lock is FOR NO KEY UPDATE, which lead writes (whose
// foreign keys take FOR KEY SHARE) do not wait for. On SQLite it is a write
// to the row, which takes the database's write lock at once instead of at
// the transaction's first write.
func lockAccount(ctx context.Context, tx bun.Tx, dialect Dialect, accountID string) error {
	if dialect == Postgres {
		var id string
		err := tx.NewSelect().Model((*accountRow)(nil)).Column("id").Where("id = ?", accountID).For("NO KEY UPDATE").Scan(ctx, &id)
		if err != nil {
			return notFound(err, "account")
		}
		return nil
	}
	res, err := tx.NewUpdate().Model((*accountRow)(nil)).Set("config_version = config_version").Where("id = ?", accountID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("lock account: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leads.Errorf(leads.CodeNotFound, "account not found")
	}
	return nil
}

// constraint names one uniqueness or foreign-key rule, as each dialect
// reports it when broken: PostgreSQL by constraint or index name, SQLite by
// the columns involved.
type constraint struct {
	postgres string
	sqlite   string
}

var (
	accountPK       = constraint{"accounts_pkey", "accounts.id"}
	apiKeyPrefix    = constraint{"api_keys_prefix_key", "api_keys.prefix"}
	teamName        = constraint{"teams_account_id_name_key", "teams.account_id, teams.name"}
	leadSourceName  = constraint{"lead_sources_team_id_name_key", "lead_sources.team_id, lead_sources.name"}
	rotationPerTeam = constraint{"rotations_one_per_team", "rotations.team_id"}
	rotationDefault = constraint{"rotations_one_default", "rotations.account_id"}
	leadIdempotency = constraint{"leads_idempotency_key", "leads.account_id, leads.idempotency_key"}
	upsertKey       = constraint{"idempotency_keys_pkey", "idempotency_keys.account_id, idempotency_keys.key"}
	turnNumber      = constraint{"rotation_turns_turn_key", "rotation_turns.rotation_id, rotation_turns.turn"}
	leadEmailUnique = constraint{"leads_email_unique", "leads.account_id, leads.email_unique"}
	leadExternalID  = constraint{"leads_external_id", "leads.account_id, leads.external_id"}
	sessionPK       = constraint{"console_sessions_pkey", "console_sessions.token_hash"}
	invitePK        = constraint{"invites_pkey", "invites.token_hash"}
	// SQLite does not name the foreign key that broke.
	rotationMemberUser = constraint{"rotation_members_account_id_email_fkey", ""}
	rotationTeam       = constraint{"rotations_team_id_account_id_fkey", ""}
)

// isUnique reports whether err is a broken uniqueness rule c.
func isUnique(err error, c constraint) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505" && pg.ConstraintName == c.postgres
	}
	msg := err.Error()
	i := strings.Index(msg, "UNIQUE constraint failed: ")
	if i < 0 {
		return false
	}
	cols := msg[i+len("UNIQUE constraint failed: "):]
	if j := strings.Index(cols, " ("); j >= 0 { // modernc appends " (2067)"
		cols = cols[:j]
	}
	return cols == c.sqlite
}

// isForeignKey reports whether err is a broken foreign key.
func isForeignKey(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503"
	}
	return strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

// isForeignKeyOn reports whether err is the foreign key c broken; always
// false where the dialect does not name it.
func isForeignKeyOn(err error, c constraint) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23503" && pg.ConstraintName == c.postgres
}

// notFound translates sql.ErrNoRows into a NOT_FOUND error for kind.
func notFound(err error, kind string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return leads.Errorf(leads.CodeNotFound, "%s not found", kind)
	}
	return err
}

// bumpConfig increments the account's configuration version in tx, so that
// every process's cached configuration is known stale from now on. It
// leaves the account's updatedAt, which says when the account's own
// settings changed (UpdateAccount sets it), not its teams' or members'.
func bumpConfig(ctx context.Context, tx bun.Tx, accountID string) error {
	res, err := tx.NewUpdate().Model((*accountRow)(nil)).
		Set("config_version = config_version + 1").
		Where("id = ?", accountID).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("bump configuration version: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leads.Errorf(leads.CodeNotFound, "account not found")
	}
	return nil
}

// TryLock takes the named lock if nobody holds it. On PostgreSQL it is an
// advisory lock held by a transaction of its own until unlock (or until ctx
// ends or that connection dies; see holdLock), so it excludes every
// process sharing the database, behind a pooler too; on SQLite, which one
// process serves, it is a lock of the Store.
func (s *Store) TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	defer translate(&err)
	if s.dialect != Postgres {
		s.locksMu.Lock()
		defer s.locksMu.Unlock()
		if s.locks[name] {
			return nil, false, nil
		}
		if s.locks == nil {
			s.locks = make(map[string]bool)
		}
		s.locks[name] = true
		return func() {
			s.locksMu.Lock()
			defer s.locksMu.Unlock()
			delete(s.locks, name)
		}, true, nil
	}
	unlock, ok, err = s.holdLock(ctx, lockKey("?"), name, false)
	if err != nil {
		return nil, false, fmt.Errorf("store: lock %q: %w", name, err)
	}
	return unlock, ok, nil
}

// lockKey maps a lock name (name, an SQL text expression) to the 64-bit
// key of a PostgreSQL advisory lock, per schema: advisory locks are
// database-wide, and deployments (or test runs) in other schemas must not
// share them.
func lockKey(name string) string {
	return `('x' || substr(md5(coalesce(current_schema(), '') || ':' || ` + name + `), 1, 16))::bit(64)::bigint`
}
