// Package app is the wiring of a leadrotor server that the commands share:
// the Config and where each setting comes from (flags, LEADROTOR_*
// variables, a config file, defaults), and Main, which opens the store, the
// rotator and the HTTP server and shuts them down. leadrotor serves with it;
// leadbench starts a server in its own process with it.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadrotor/leadrotor/console"
	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/internal/redisurl"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/metrics"
	"github.com/leadrotor/leadrotor/passwords"
	"github.com/leadrotor/leadrotor/ratelimit"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/simulations"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/tracing"
	"github.com/leadrotor/leadrotor/webhooks"
)

// Main is a running leadrotor: the store, the rotator, the service and the
// HTTP server, wired from a Config. Open listens before it returns, so that
// an address with port 0 can be read from Addr.
type Main struct {
	cfg    Config
	log    *slog.Logger
	store  *store.Store
	redis  redis.UniversalClient
	svc    *leads.Service
	server *http.Server
	ln     net.Listener
	debug  *http.Server
	// limiter decides rate limits: through Redis when there is one.
	limiter ratelimit.Limiter
	// events is the process's river client: it writes lead events with
	// their changes and, while Run runs, delivers them.
	events *webhooks.Runner
	// sims runs the simulations asked through the API and the console.
	sims *simulations.Service
	// metrics counts what the process does (nil: metrics are off);
	// metricsSrv serves them on metrics-addr.
	metrics    *metrics.Metrics
	metricsSrv *http.Server
	// tracing traces requests (never nil once opened; off unless the
	// OTEL_* variables ask); serving: Open, not a command, opened it.
	tracing *tracing.Tracing
	serving bool
}

// NewMain returns a Main for cfg; nothing is opened yet.
func NewMain(cfg Config, log *slog.Logger) *Main {
	return &Main{cfg: cfg, log: log}
}

// OpenService opens the store (bringing its schema up to date) and the
// rotator the configuration names, and returns the service over them.
func (m *Main) OpenService(ctx context.Context) error {
	// One clock for the store and the Service: the times either sets agree.
	clock := time.Now
	mailer, err := m.cfg.Mailer()
	if err != nil {
		return err
	}
	hookOpts := webhooks.Options{Logger: m.log, AllowPrivate: m.cfg.WebhookAllowPrivate, Now: clock,
		LogRetention: m.cfg.WebhookLogRetention}
	if mailer != nil {
		hookOpts.Mail = &webhooks.Mail{Mailer: mailer, ConsoleURL: mailURL(m.cfg)}
	}
	if err := m.openObservers(ctx); err != nil {
		return err
	}
	hookOpts.Logger = m.log
	m.observeWebhooks(&hookOpts)
	m.events = webhooks.New(hookOpts)
	opts := []store.Option{store.WithClock(clock), store.WithEventSink(m.events),
		store.WithMigrations(func(ctx context.Context, db *sql.DB, d store.Dialect) error {
			return webhooks.Migrate(ctx, db, string(d))
		})}
	if m.cfg.DBMaxConns > 0 {
		opts = append(opts, store.WithMaxConns(m.cfg.DBMaxConns))
	}
	if m.cfg.DBReadConns > 0 {
		opts = append(opts, store.WithReadConns(m.cfg.DBReadConns))
	}
	if m.cfg.DatabaseReadURL != "" {
		opts = append(opts, store.WithReadReplica(m.cfg.DatabaseReadURL))
	}
	if m.cfg.DatabasePoolerPreparedStatements {
		opts = append(opts, store.WithPoolerPreparedStatements(true))
	}
	st, err := store.Open(ctx, m.cfg.DatabaseURL, append(opts, m.observeStore()...)...)
	if err != nil {
		return err
	}
	m.store = st
	m.watchStore(st)
	if err := m.events.Open(st.DB().DB, string(st.Dialect()), st); err != nil {
		return err
	}
	var rot *rotation.Rotator
	if m.cfg.RedisURL == "" {
		rot = rotation.NewMemory(st)
	} else {
		rcfg, err := redisurl.Parse(m.cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("redis-url: %w", err)
		}
		// Every call is bounded, by its context and by the socket deadlines,
		// and never retried by the client: a turn-taking script that timed
		// out may have run, and running it again would take a second turn.
		rcfg.Bound(m.cfg.RedisTimeout)
		m.redis = rcfg.NewClient()
		if err := m.observeRedis(m.redis); err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, m.cfg.RedisTimeout)
		err = m.redis.Ping(pctx).Err()
		cancel()
		if err != nil {
			// Serve anyway: leads are stored and wait for their rotation.
			m.log.Warn("redis does not answer: serving degraded, leads wait for assignment", "err", err)
		}
		if rot, err = rotation.NewRedis(m.redis, st, rotation.WithKeyPrefix(m.cfg.RedisPrefix), rotation.WithTimeout(m.cfg.RedisTimeout),
			rotation.WithSettleAfter(m.cfg.SettleAfter)); err != nil {
			return err
		}
		m.limiter = ratelimit.NewRedis(m.redis, m.cfg.RedisPrefix, m.cfg.RedisTimeout, ratelimit.NewMemory())
	}
	if m.limiter == nil {
		m.limiter = ratelimit.NewMemory()
	}
	svcOpts := []leads.Option{leads.WithLogger(m.log), leads.WithClock(clock), leads.WithPasswordHasher(passwords.Default()),
		leads.WithWebhooks(st, m.events, m.cfg.WebhookAllowPrivate)}
	if mailer != nil {
		svcOpts = append(svcOpts, leads.WithEventTypes(webhooks.MailEvents...))
	}
	svcOpts = append(svcOpts, m.meterService()...)
	if m.cfg.RequestTimeout > 0 {
		// The background assigner's writes are bounded like a request's, so
		// that settle-after (more than twice the request timeout) is longer
		// than any write of a lead after its turn.
		svcOpts = append(svcOpts, leads.WithWriteTimeout(m.cfg.RequestTimeout))
	}
	m.svc = leads.NewService(st, rot, svcOpts...)
	m.events.ExpireWith(m.svc)
	m.sims = simulations.New(m.svc, st, simulations.Options{MaxWindow: m.cfg.SimulationMaxWindow,
		Retention: m.cfg.SimulationRetention, Logger: m.log, Now: clock})
	return nil
}

// Open opens the service and starts listening.
func (m *Main) Open(ctx context.Context) error {
	// What the server runs on, before it connects: a wrong database or
	// Redis is seen at once, even when it does not answer.
	redisURL := "none (in-process rotation)"
	if m.cfg.RedisURL != "" {
		redisURL = redisurl.Redact(m.cfg.RedisURL)
	}
	readURL := "the primary"
	if m.cfg.DatabaseReadURL != "" {
		readURL = store.Redact(m.cfg.DatabaseReadURL)
	}
	m.log.Info("starting", "database", store.Redact(m.cfg.DatabaseURL), "reads", readURL, "redis", redisURL)
	m.serving = true
	if err := m.OpenService(ctx); err != nil {
		return err
	}
	ready := map[string]httpapi.Check{"database": m.store.Ping}
	degraded := map[string]httpapi.Check{}
	if m.redis != nil {
		degraded["redis"] = func(ctx context.Context) error { return m.redis.Ping(ctx).Err() }
	}
	if m.cfg.DatabaseReadURL != "" {
		// Without its replica the server still takes leads; listings fail.
		degraded["database-replica"] = m.store.PingReplica
	}
	var handler http.Handler = httpapi.New(m.svc, httpapi.Config{
		Logger:         m.log,
		BodyLimit:      m.cfg.BodyLimit,
		TrustProxy:     m.cfg.TrustProxy,
		Ready:          ready,
		Degraded:       degraded,
		RequestTimeout: m.cfg.RequestTimeout,
		RateLimits:     httpapi.RateLimits{Limiter: m.limiter, PerKey: m.cfg.RateLimitKey, PerAccount: m.cfg.RateLimitAccount},
		Reads:          httpapi.ReadLimits{Concurrent: m.cfg.ReadConcurrency, PerKey: m.cfg.ReadConcurrencyPerKey},
		Simulations:    m.sims,
		ObserveRequest: m.observeRequest(),
		OnRoute:        m.onRoute(),
	})
	var con *console.Console
	if m.cfg.Console {
		var err error
		con, err = console.New(m.svc, console.Config{Logger: m.log, Limiter: m.limiter, BaseURL: m.cfg.ConsoleURL,
			RequestTimeout: m.cfg.RequestTimeout, Simulations: m.sims, SimulationMaxWindow: m.cfg.SimulationMaxWindow,
			ClientIP: func(r *http.Request) string { return httpapi.ClientIP(r, m.cfg.TrustProxy) }})
		if err != nil {
			return err
		}
	}
	handler = m.mux(handler, con)
	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: m.cfg.Timeouts.ReadHeader,
		ReadTimeout:       m.cfg.Timeouts.Read,
		WriteTimeout:      m.cfg.Timeouts.Write,
		IdleTimeout:       m.cfg.Timeouts.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", m.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.cfg.HTTPAddr, err)
	}
	m.ln = ln
	rotator := "in-process"
	if m.redis != nil {
		rotator = "redis"
	}
	m.log.Info("listening", "addr", ln.Addr().String(), "database", string(m.store.Dialect()), "pooler", m.store.BehindPooler(), "rotation", rotator)
	if m.cfg.Console {
		m.log.Info("console", "url", consoleURL(m.cfg.ConsoleURL, ln.Addr()))
	}
	if m.cfg.DebugAddr != "" {
		dl, err := net.Listen("tcp", m.cfg.DebugAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", m.cfg.DebugAddr, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		m.debug = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = m.debug.Serve(dl) }()
		m.log.Info("profiler listening", "addr", dl.Addr().String())
	}
	return m.listenMetrics()
}

// Service returns the service, once OpenService or Open has run.
func (m *Main) Service() *leads.Service { return m.svc }

// Store returns the store, once OpenService or Open has run.
func (m *Main) Store() *store.Store { return m.store }

// UsesRedis reports whether rotations (and rate limits) go through Redis.
func (m *Main) UsesRedis() bool { return m.redis != nil }

// HTTPServer returns the HTTP server, with its timeouts, once Open has run.
func (m *Main) HTTPServer() *http.Server { return m.server }

// Addr returns the address the server listens on.
func (m *Main) Addr() net.Addr { return m.ln.Addr() }

// Run serves until ctx is done, then shuts down gracefully: no new
// connections are taken, in-flight requests finish (within the shutdown
// timeout) and idle connections close. It returns nil after a clean shutdown.
func (m *Main) Run(ctx context.Context) error {
	// Deliveries start before requests come and stop after the last has
	// finished; jobs still running at the shutdown deadline run again later.
	if err := m.events.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ShutdownTimeout)
		defer cancel()
		if err := m.events.Stop(sctx); err != nil {
			m.log.Warn("stopping deliveries", "err", err)
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- m.server.Serve(m.ln) }()
	// The background assigner gives leads stored while Redis was down their
	// turns; it stops after the last request has finished.
	actx, stopAssigner := context.WithCancel(context.WithoutCancel(ctx))
	assigner := make(chan struct{})
	go func() {
		defer close(assigner)
		m.svc.RunAssigner(actx, m.cfg.AssignInterval)
	}()
	defer func() {
		stopAssigner()
		<-assigner
	}()
	// Simulations run, and the ones a dead server left are swept, until
	// the last request has finished; those cut short are marked
	// interrupted.
	defer m.sims.Start(context.WithoutCancel(ctx))()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	m.log.Info("shutting down", "timeout", m.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.ShutdownTimeout)
	defer cancel()
	if m.debug != nil {
		_ = m.debug.Close()
	}
	if m.metricsSrv != nil {
		_ = m.metricsSrv.Close()
	}
	if err := m.server.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	m.log.Info("stopped")
	return nil
}

// Close releases the database and Redis connections.
func (m *Main) Close() error {
	var errs []error
	if m.redis != nil {
		errs = append(errs, m.redis.Close())
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
	}
	if m.tracing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.ShutdownTimeout)
		defer cancel()
		errs = append(errs, m.tracing.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// consoleURL is where the console is: under its public address when one is
// set, else on the listening address (localhost for every interface).
func consoleURL(public string, addr net.Addr) string {
	if public != "" {
		return strings.TrimRight(public, "/") + console.Prefix + "/"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return console.Prefix + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + console.Prefix + "/"
}

// mailURL is the address the mail's links start with: the console's public
// address, else the one the server listens on.
func mailURL(cfg Config) string {
	if cfg.ConsoleURL != "" {
		return cfg.ConsoleURL
	}
	return "http://" + cfg.HTTPAddr
}
