package app

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/internal/redisurl"
	"github.com/leadrotor/leadrotor/notify"
	"github.com/leadrotor/leadrotor/ratelimit"
	"github.com/leadrotor/leadrotor/simulate"
	"github.com/leadrotor/leadrotor/simulations"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/webhooks"
)

// Config is everything the binary can be told, filled by viper from flags,
// then LEADROTOR_* environment variables, then a config file, then defaults.
type Config struct {
	HTTPAddr    string
	DatabaseURL string
	// DatabaseReadURL, when set, is a read replica of DatabaseURL's
	// PostgreSQL that the reads that may lag go to (store.WithReadReplica).
	DatabaseReadURL string
	// DatabasePoolerPreparedStatements says that a pooler in front of the
	// database keeps prepared statements
	// (store.WithPoolerPreparedStatements).
	DatabasePoolerPreparedStatements bool
	DBMaxConns                       int
	// DBReadConns sizes the pool of heavy reads, beside DBMaxConns (0: half
	// of it, at least 1).
	DBReadConns int
	RedisURL    string
	RedisPrefix string
	LogLevel    string
	LogFormat   string
	BodyLimit   int64
	TrustProxy  bool
	// WebhookAllowPrivate lets webhook endpoints resolve to private,
	// loopback and link-local addresses (tests, closed networks).
	WebhookAllowPrivate bool
	// WebhookLogRetention is how long the delivery log keeps an attempt.
	WebhookLogRetention time.Duration
	ShutdownTimeout     time.Duration
	Timeouts            Timeouts
	// Console serves the web console at /console; ConsoleURL, when set, is
	// its public address, for the links it hands out.
	Console    bool
	ConsoleURL string
	// SMTP, when its Addr is set, emails each rep their new leads.
	SMTP SMTPConfig
	// DebugAddr, when set, serves net/http/pprof there (never on HTTPAddr).
	DebugAddr string
	// Metrics serves Prometheus metrics at /metrics: on MetricsAddr when
	// set, else on HTTPAddr.
	Metrics     bool
	MetricsAddr string
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// RedisTimeout bounds every Redis call, so that a hung Redis fails
	// requests (their leads then wait as pending) instead of holding them.
	RedisTimeout time.Duration
	// RequestTimeout bounds the work of each request (503 when it runs out).
	RequestTimeout time.Duration
	// SettleAfter is how long a rotation turn may stay open (taken, its lead
	// not known to be stored) before the background assigner asks the
	// database and gives it back if its lead is not there: a process that
	// died between the turn and the write leaves such turns.
	SettleAfter time.Duration
	// AssignInterval is how often the background assigner looks for leads
	// that wait for their rotation.
	AssignInterval time.Duration
	// RateLimitKey and RateLimitAccount limit requests per API key and per
	// account ("100/s", "6000/m", "off").
	RateLimitKey, RateLimitAccount ratelimit.Limit
	// ReadConcurrency and ReadConcurrencyPerKey bound the heavy reads
	// (listings, searches, audit log, statistics) running at once, in all
	// and per API key; more are refused with 429 TOO_MANY_READS.
	ReadConcurrency, ReadConcurrencyPerKey int
	// SimulationMaxWindow bounds the window of a simulation run through the
	// API or the console; SimulationRetention is how long a finished one is
	// kept.
	SimulationMaxWindow, SimulationRetention time.Duration
}

// Timeouts bound each phase of an HTTP exchange, so that slow or idle
// clients cannot hold connections, and their goroutines, for ever.
type Timeouts struct {
	// ReadHeader bounds reading the request line and headers (slowloris).
	ReadHeader time.Duration
	// Read bounds reading the whole request, body included.
	Read time.Duration
	// Write bounds the time from the end of the request headers to the end
	// of the response.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next request.
	Idle time.Duration
}

// Validate checks that every timeout is positive and that the headers get
// no more time than the whole request.
func (t Timeouts) Validate() error {
	var errs []error
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{{"read-header-timeout", t.ReadHeader}, {"read-timeout", t.Read}, {"write-timeout", t.Write}, {"idle-timeout", t.Idle}} {
		if d.value <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", d.flag))
		}
	}
	if t.ReadHeader > t.Read {
		errs = append(errs, fmt.Errorf("read-header-timeout %s must not exceed read-timeout %s", t.ReadHeader, t.Read))
	}
	return errors.Join(errs...)
}

// DefaultTimeouts returns timeouts that suit an API of small JSON bodies: a
// client gets 5s to send its headers and 15s for its whole request, the
// server 30s to answer, and an idle connection is kept 2 minutes.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 15 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute}
}

// Default returns the configuration of a leadrotor told nothing: it runs
// with nothing installed. It is the one place that says each setting's
// default: the flags show it, and a setting that no source gives keeps it.
func Default() Config {
	return Config{
		HTTPAddr:    ":8080",
		DatabaseURL: "file:leadrotor.db",
		RedisPrefix: "leadrotor:",
		// A healthy Redis answers in well under a millisecond; half a
		// second means it is gone or hung.
		RedisTimeout:          500 * time.Millisecond,
		LogLevel:              "info",
		LogFormat:             "text",
		BodyLimit:             httpapi.DefaultBodyLimit,
		ShutdownTimeout:       15 * time.Second,
		Timeouts:              DefaultTimeouts(),
		RequestTimeout:        10 * time.Second,
		AssignInterval:        500 * time.Millisecond,
		ReadConcurrency:       httpapi.DefaultReadConcurrency,
		ReadConcurrencyPerKey: httpapi.DefaultReadConcurrencyPerKey,
		Console:               true,
		Metrics:               true,
		SimulationMaxWindow:   simulate.MaxWindow,
		SimulationRetention:   simulations.DefaultRetention,
		WebhookLogRetention:   webhooks.DefaultLogRetention,
		// SettleAfter 0 follows RequestTimeout: see settleAfter.
	}
}

// minMetricsToken is the shortest metrics-token: one that can be guessed
// guards nothing.
const minMetricsToken = 16

// minSettleAfter is the least settle-after when it is not set.
const minSettleAfter = time.Minute

// settleAfter returns the settle-after to use: the one set, or, when it
// is 0, three times the request timeout (which bounds a lead's write), at
// least minSettleAfter.
func (c Config) settleAfter() time.Duration {
	return cmp.Or(c.SettleAfter, max(minSettleAfter, 3*c.RequestTimeout))
}

// Validate checks the configuration and says what to fix.
// SMTPConfig is how the server sends mail; no Addr: it sends none.
type SMTPConfig struct {
	Addr, From, Username, Password, TLS string
}

// Mailer returns the mailer c asks for, nil when it asks for none.
func (c Config) Mailer() (*notify.Mailer, error) {
	if c.SMTP.Addr == "" {
		return nil, nil
	}
	m, err := notify.NewMailer(notify.SMTPConfig{Addr: c.SMTP.Addr, From: c.SMTP.From, Username: c.SMTP.Username,
		Password: c.SMTP.Password, TLS: c.SMTP.TLS})
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return m, nil
}

func (c Config) Validate() error {
	var errs []error
	if _, err := c.Mailer(); err != nil {
		errs = append(errs, err)
	}
	if err := store.CheckDSN(c.DatabaseURL); err != nil {
		errs = append(errs, err) // it says "database URL" and the forms
	}
	if err := checkReadURL(c.DatabaseURL, c.DatabaseReadURL); err != nil {
		errs = append(errs, err)
	}
	if c.RedisURL != "" {
		if _, err := redisurl.Parse(c.RedisURL); err != nil {
			errs = append(errs, fmt.Errorf("redis-url %q: %w", redisurl.Redact(c.RedisURL), err))
		}
	}
	if c.MetricsAddr != "" && !c.Metrics {
		errs = append(errs, fmt.Errorf("metrics-addr %q is set but metrics is off", c.MetricsAddr))
	}
	if c.MetricsToken != "" && !c.Metrics {
		errs = append(errs, errors.New("metrics-token is set but metrics is off"))
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < minMetricsToken {
		errs = append(errs, fmt.Errorf("metrics-token must be at least %d characters", minMetricsToken))
	}
	if strings.ContainsAny(c.RedisPrefix, "{}") {
		errs = append(errs, fmt.Errorf("redis-prefix %q must not contain braces", c.RedisPrefix))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format %q must be text or json", c.LogFormat))
	}
	if c.BodyLimit < 1024 {
		errs = append(errs, fmt.Errorf("body-limit %d is below 1024 bytes", c.BodyLimit))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown-timeout must be positive"))
	}
	if err := c.Timeouts.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.DBMaxConns < 0 {
		errs = append(errs, errors.New("db-max-conns must not be negative"))
	}
	if c.DBReadConns < 0 {
		errs = append(errs, errors.New("db-read-conns must not be negative"))
	}
	if c.ReadConcurrency < 1 {
		errs = append(errs, errors.New("read-concurrency must be at least 1"))
	}
	if c.ReadConcurrencyPerKey < 1 {
		errs = append(errs, errors.New("read-concurrency-per-key must be at least 1"))
	}
	if c.RedisTimeout <= 0 {
		errs = append(errs, errors.New("redis-timeout must be positive"))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, errors.New("request-timeout must not be negative"))
	}
	if c.SettleAfter <= 0 {
		errs = append(errs, errors.New("settle-after must be positive"))
	} else if c.RequestTimeout > 0 && c.SettleAfter <= 2*c.RequestTimeout {
		errs = append(errs, errors.New("settle-after must be more than twice request-timeout: a lead still being written must keep its turn"))
	}
	if c.AssignInterval <= 0 {
		errs = append(errs, errors.New("assign-interval must be positive"))
	}
	if c.SimulationMaxWindow <= 0 {
		errs = append(errs, errors.New("simulation-max-window must be positive"))
	}
	if c.SimulationRetention <= 0 {
		errs = append(errs, errors.New("simulation-retention must be positive"))
	}
	if c.WebhookLogRetention <= 0 {
		errs = append(errs, errors.New("webhook-log-retention must be positive"))
	}
	return errors.Join(errs...)
}

// Logger returns the logger the configuration asks for, writing to stderr.
func (c Config) Logger() *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func parseLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log-level %q must be debug, info, warn or error", s)
	}
	return level, nil
}

// checkReadURL returns why database-read-url cannot be a replica of
// database-url's database, or nil: it must be a PostgreSQL URL, and so
// must the primary's.
func checkReadURL(primary, read string) error {
	if read == "" {
		return nil
	}
	d, err := store.DialectOf(read)
	if err != nil {
		return fmt.Errorf("database-read-url: %w", err)
	}
	if d != store.Postgres {
		return fmt.Errorf("database-read-url %q must be a PostgreSQL URL (postgres://…, postgresql://… or host=… dbname=…)", store.Redact(read))
	}
	if d, err := store.DialectOf(primary); err == nil && d != store.Postgres {
		return errors.New("database-read-url needs a PostgreSQL database-url: a read replica of SQLite does not exist")
	}
	return nil
}
