package webhooks

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/leadrotor/leadrotor/leads"
)

// Queue is the river queue of leadrotor's event jobs.
const Queue = "leadrotor_events"

// Handler receives lead events in process: at least once, in the order
// river runs them (not strictly the order of the changes), fed from the same
// jobs as webhooks. An error retries the event later, with the backoff of
// deliveries. A Service writes only the events some endpoint subscribes to
// unless it is made with leads.WithAllEvents, which a handler of every
// event needs.
type Handler func(ctx context.Context, e leads.Event) error

// Options configures a Runner; the zero value of each field picks the
// default.
type Options struct {
	// Logger logs failed deliveries and disabled endpoints (default: none).
	Logger *slog.Logger
	// Timeout bounds one delivery: connecting, posting, reading the answer
	// (default 10 s).
	Timeout time.Duration
	// Backoff returns how long to wait after the attempt-th failed attempt
	// (default DefaultBackoff). Tests make it short.
	Backoff func(attempt int) time.Duration
	// MaxAttempts bounds a delivery's attempts (default
	// DefaultMaxAttempts: with DefaultBackoff, about 24 h of retries). A
	// delivery whose last attempt fails disables its endpoint.
	MaxAttempts int
	// Workers is how many jobs the process works at once (default 100).
	Workers int
	// MaxConnsPerHost bounds the connections open to one receiver's host
	// at once (default 100; the endpoints of every account on one host,
	// a Slack or a Zapier, share them). They stay open between
	// deliveries; a delivery that finds them all busy waits for one,
	// within its Timeout, rather than dial and close a connection of its
	// own.
	MaxConnsPerHost int
	// PollInterval is how often the process looks for jobs to run (default
	// 200 ms; river's LISTEN/NOTIFY needs pgx's pool, which the store's
	// database/sql pool is not).
	PollInterval time.Duration
	// AllowPrivate lets deliveries connect to private, loopback and
	// link-local addresses (the server's --webhook-allow-private).
	AllowPrivate bool
	// Handler, when set, receives every event in process (Handler).
	Handler Handler
	// Mail, when set, emails each rep their new leads (Mail).
	Mail *Mail
	// LogRetention is how long the delivery log keeps an attempt (default
	// DefaultLogRetention); older ones are deleted every hour, by one
	// process of those sharing the database. A redelivery needs its
	// attempt in the log.
	LogRetention time.Duration
	// Now is the clock of delivery times and audit entries (default time.Now).
	Now func() time.Time
	// Meter, when set, is told of every event fanned out and every
	// delivery attempt, for metrics.
	Meter Meter
	// Transport, when set, wraps the transport deliveries are posted
	// through (tracing). Deliveries then go through Go's http.Transport;
	// without it, through the runner's own client (see poster), unless a
	// proxy is configured for the endpoint's URL (HTTPS_PROXY and the
	// like).
	Transport func(http.RoundTripper) http.RoundTripper
	// TLSConfig is the TLS settings of deliveries to https endpoints
	// (default: Go's, with the system's roots); a private CA goes in its
	// RootCAs.
	TLSConfig *tls.Config
}

// Meter counts what a Runner does, for an operator's metrics. Its methods
// are called from the job workers: they must be cheap and safe for
// concurrent use.
type Meter interface {
	// EventFannedOut: an event left the outbox for its endpoints, lag
	// after the change that made it committed.
	EventFannedOut(lag time.Duration)
	// DeliveryAttempted: a delivery attempt ended, succeeded or not,
	// after took.
	DeliveryAttempted(succeeded bool, took time.Duration)
	// EndpointDisabled: an endpoint was disabled after its deliveries
	// kept failing.
	EndpointDisabled()
}

// HandOffMeter is a Meter that is also told how each hand-off of new
// leads' events ended (see Runner.HandOffEvents): posted by the process
// that committed them, or left to their job, which any process runs (the
// runner stopping, Options.Workers fan-outs running already, the fan-out
// or its end failing). A Meter without the method is not told.
type HandOffMeter interface {
	HandOffEnded(posted bool)
}

// nopMeter is the Meter of a Runner given none.
type nopMeter struct{}

func (nopMeter) EventFannedOut(time.Duration)          {}
func (nopMeter) DeliveryAttempted(bool, time.Duration) {}
func (nopMeter) EndpointDisabled()                     {}

// DefaultMaxAttempts is a delivery's attempts with DefaultBackoff: they
// span about 24 h (5 s doubling to 3 h, then every 3 h).
const DefaultMaxAttempts = 18

// DefaultBackoff waits 5 s after the first failure, doubling after each,
// at most 3 h, each wait drawn at random in its upper half (jitter, so that
// endpoints that failed together are not retried together).
func DefaultBackoff(attempt int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempt && d < 3*time.Hour; i++ {
		d *= 2
	}
	d = min(d, 3*time.Hour)
	return d/2 + rand.N(d/2+1)
}

// Runner is the process's river client for lead events: the store's
// EventSink (it inserts event jobs in the store's transactions), the
// workers that fan events out and deliver them, and the redeliverer.
// Make it with New, give it to store.Open (WithEventSink), then Open it
// with the store's database.
type Runner struct {
	opts    Options
	store   leads.WebhookStore
	db      *sql.DB
	client  *river.Client[*sql.Tx]
	pgx     *river.Client[pgx.Tx]
	http    *http.Client
	poster  *poster // nil when Options.Transport is set
	targets targets // of the endpoints posted to
	expirer SLAExpirer
	sweep   context.CancelFunc // stops the poster's sweep of idle connections
	swept   chan struct{}      // closed when it stopped
	log     *logWriter         // while started
	sql     handOffStatements  // of the dialect
	// timerSQL: the statements on timerTable, of the dialect.
	timerSQL timerStatements
	// The relay of timers due, while started (see startTimerRelay).
	timerStop context.CancelFunc
	timerDone chan struct{}
	// deflateHandOffs: handOffTable's events are deflated (SQLite).
	deflateHandOffs bool
	started         bool

	// Hand-offs (see HandOffEvents): handing while started and not
	// stopping, changed under handMu, which handWG's additions take too.
	handing    atomic.Bool
	handMu     sync.Mutex
	handWG     sync.WaitGroup
	handSlots  chan struct{} // a fan-out running holds one
	handCtx    context.Context
	handCancel context.CancelFunc
}

// SLAExpirer runs an SLA timer whose time has come: leads.Service.
type SLAExpirer interface {
	ExpireSLA(ctx context.Context, t leads.SLATimer) error
}

// ExpireWith makes the runner's SLA timers run through e, the Service
// made over the store the runner writes for (the Service is made after the
// store, which is given the runner first); call it before Start. A timer
// that comes due in a process without one is tried again later.
func (r *Runner) ExpireWith(e SLAExpirer) { r.expirer = e }

var _ leads.WebhookDispatcher = (*Runner)(nil)

// New returns a Runner not yet opened.
func New(opts Options) *Runner {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Workers <= 0 {
		opts.Workers = 100
	}
	if opts.MaxConnsPerHost <= 0 {
		opts.MaxConnsPerHost = 100
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	if opts.LogRetention <= 0 {
		opts.LogRetention = DefaultLogRetention
	}
	if opts.Meter == nil {
		opts.Meter = nopMeter{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{opts: opts}
	dialer := &net.Dialer{Timeout: opts.Timeout}
	if !opts.AllowPrivate {
		// Checked again where the connection is made: a name that
		// resolved to a public address when the endpoint was saved may
		// resolve to a private one now.
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err == nil && leads.PrivateAddr(ap.Addr()) {
				return fmt.Errorf("refusing to deliver to private address %s", ap.Addr())
			}
			return nil
		}
	}
	tlsConfig := opts.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	}
	var transport http.RoundTripper = &http.Transport{DialContext: dialer.DialContext,
		Proxy: http.ProxyFromEnvironment, MaxConnsPerHost: opts.MaxConnsPerHost, TLSClientConfig: tlsConfig.Clone(),
		MaxIdleConnsPerHost: opts.MaxConnsPerHost, IdleConnTimeout: idleTimeout}
	if opts.Transport != nil {
		transport = opts.Transport(transport)
	} else {
		r.poster = newPoster(dialer.DialContext, tlsConfig, opts.MaxConnsPerHost, idleTimeout)
	}
	r.http = &http.Client{Timeout: opts.Timeout, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return r
}

// Open makes the runner's river clients on db, the store's database
// ("postgres" or "sqlite"), with ws for the endpoints and the delivery log.
// It starts nothing: Start works jobs.
func (r *Runner) Open(db *sql.DB, dialect string, ws leads.WebhookStore) error {
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &eventWorker{backoff[eventArgs]{r: r}}); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &deliveryWorker{backoff[deliveryArgs]{r: r}}); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &handlerWorker{backoff[handlerArgs]{r: r}}); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &mailWorker{backoff[mailArgs]{r: r}}); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &slaWorker{backoff[slaArgs]{r: r}}); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &pruneWorker{backoff[pruneArgs]{r: r}}); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &relayWorker{backoff[relayArgs]{r: r}}); err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	cfg := &river.Config{
		Queues:            map[string]river.QueueConfig{Queue: {MaxWorkers: r.opts.Workers}},
		Workers:           workers,
		FetchPollInterval: r.opts.PollInterval,
		FetchCooldown:     min(r.opts.PollInterval, 50*time.Millisecond),
		PollOnly:          true,
		Logger:            r.opts.Logger,
		MaxAttempts:       r.opts.MaxAttempts,
		// A job whose worker vanished (a process killed mid-delivery) runs
		// again after this: at least once, and the receiver tells the
		// repeat by its webhook-id.
		RescueStuckJobsAfter: r.opts.Timeout + time.Minute,
		PeriodicJobs:         []*river.PeriodicJob{prunePeriodically(), relayPeriodically()},
	}
	var err error
	switch dialect {
	case "postgres":
		r.client, err = river.NewClient[*sql.Tx](riverdatabasesql.New(db), cfg)
		if err == nil {
			// Insert-only, for the store's create path, which writes in a
			// pgx transaction: nil pool, no workers.
			r.pgx, err = river.NewClient[pgx.Tx](riverpgxv5.New(nil), &river.Config{MaxAttempts: r.opts.MaxAttempts})
		}
	case "sqlite":
		r.client, err = river.NewClient[*sql.Tx](riversqlite.New(db), cfg)
	default:
		err = fmt.Errorf("unknown dialect %q", dialect)
	}
	if err != nil {
		return fmt.Errorf("webhooks: river client: %w", err)
	}
	r.db, r.store = db, ws
	r.sql, r.timerSQL, r.deflateHandOffs = handOffSQL[dialect], timerSQL[dialect], dialect == "sqlite"
	return nil
}

// Migrate brings river's tables in db ("postgres" or "sqlite") up to date;
// store.Open runs it with its own migrations (store.WithMigrations).
func Migrate(ctx context.Context, db *sql.DB, dialect string) error {
	var err error
	switch dialect {
	case "postgres":
		err = migrate(ctx, riverdatabasesql.New(db))
	case "sqlite":
		err = migrate(ctx, riversqlite.New(db))
	default:
		err = fmt.Errorf("unknown dialect %q", dialect)
	}
	if err != nil {
		return fmt.Errorf("webhooks: migrate river: %w", err)
	}
	if err := execDDL(ctx, db, handOffTable, handOffDDL[dialect]); err != nil {
		return fmt.Errorf("webhooks: migrate: %w", err)
	}
	if err := execDDL(ctx, db, timerTable, timerDDL[dialect]); err != nil {
		return fmt.Errorf("webhooks: migrate: %w", err)
	}
	return nil
}

func migrate[TTx any](ctx context.Context, d riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(d, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// idleTimeout is how long a connection to a receiver stays open unused.
const idleTimeout = 90 * time.Second

// Start works jobs until Stop.
func (r *Runner) Start(ctx context.Context) error {
	if r.client == nil {
		return errors.New("webhooks: start: not opened")
	}
	r.log = startLogWriter(r)
	if err := r.client.Start(ctx); err != nil {
		r.log.stop()
		return fmt.Errorf("webhooks: start: %w", err)
	}
	if r.poster != nil {
		var sctx context.Context
		sctx, r.sweep = context.WithCancel(context.WithoutCancel(ctx))
		r.swept = make(chan struct{})
		go func() {
			defer close(r.swept)
			r.poster.sweep(sctx)
		}()
	}
	r.startHandOffs(ctx)
	r.startTimerRelay(ctx)
	r.started = true
	return nil
}

// Stop stops fetching jobs and handing events off, and waits, until ctx
// ends, for the jobs and hand-offs running to finish; those still running
// then are cancelled and run again later (by this or another process).
func (r *Runner) Stop(ctx context.Context) error {
	if !r.started {
		return nil
	}
	r.stopTimerRelay()
	r.stopHandOffs(ctx)
	err := r.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = r.client.StopAndCancel(context.WithoutCancel(ctx))
	}
	r.log.stop() // after the jobs: what they logged is written
	if r.sweep != nil {
		r.sweep() // after the jobs: their connections are back, idle, and closed
		<-r.swept
	}
	if err != nil {
		return fmt.Errorf("webhooks: stop: %w", err)
	}
	return nil
}

// jobParams returns the job of events: one for all of them (none when
// there are none).
func (r *Runner) jobParams(events []leads.Event) []river.InsertManyParams {
	if len(events) == 0 {
		return nil
	}
	return []river.InsertManyParams{{Args: eventArgs{Events: packed[[]leads.Event]{events}}}}
}

// WriteEvents writes, in tx, a job for the events and the rows of the
// timers (store.EventSink): the outbox is river's job table and
// timerTable, written with the change.
func (r *Runner) WriteEvents(ctx context.Context, tx *sql.Tx, events []leads.Event, timers []leads.SLATimer) error {
	if r.client == nil {
		return errors.New("webhooks: not opened")
	}
	return writeEventsIn(ctx, r, r.client, tx, events, timers, func(query string, args ...any) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}

// WriteEventsPgx is WriteEvents in a pgx transaction.
func (r *Runner) WriteEventsPgx(ctx context.Context, tx pgx.Tx, events []leads.Event, timers []leads.SLATimer) error {
	if r.pgx == nil {
		return errors.New("webhooks: not opened on PostgreSQL")
	}
	return writeEventsIn(ctx, r, r.pgx, tx, events, timers, func(query string, args ...any) error {
		_, err := tx.Exec(ctx, query, args...)
		return err
	})
}

// writeEventsIn inserts, in tx, the events' job with client and the
// timers' rows with exec.
func writeEventsIn[TTx any](ctx context.Context, r *Runner, client *river.Client[TTx], tx TTx, events []leads.Event,
	timers []leads.SLATimer, exec func(query string, args ...any) error) error {
	if params := r.jobParams(events); len(params) > 0 {
		if _, err := client.InsertManyFastTx(ctx, tx, params); err != nil {
			return fmt.Errorf("insert event jobs: %w", err)
		}
	}
	rows, err := newTimerRows(timers)
	if err != nil {
		return err
	}
	return rows.write(r.timerSQL.insert, exec)
}

// Redeliver queues d's event to its endpoint again (leads.WebhookDispatcher).
func (r *Runner) Redeliver(ctx context.Context, d *leads.WebhookDelivery) error {
	if r.client == nil {
		return errors.New("webhooks: not opened")
	}
	_, err := r.client.Insert(ctx, deliveryArgs{EndpointID: d.EndpointID, AccountID: d.AccountID, EventID: d.EventID,
		EventType: d.EventType, Payload: string(d.Payload), Redelivery: true}, nil)
	if err != nil {
		return fmt.Errorf("queue redelivery: %w", err)
	}
	return nil
}
