package app

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/ratelimit"
	"github.com/leadrotor/leadrotor/store"
)

// Config is everything the binary can be told, filled by viper from flags,
// then LEADROTOR_* environment variables, then a config file, then defaults.
type Config struct {
	HTTPAddr    string
	DatabaseURL string
	DBMaxConns  int
	// DBReadConns sizes the pool of heavy reads, beside DBMaxConns (0: half
	// of it, at least 1).
	DBReadConns     int
	RedisURL        string
	RedisPrefix     string
	LogLevel        string
	LogFormat       string
	BodyLimit       int64
	TrustProxy      bool
	ShutdownTimeout time.Duration
	Timeouts        Timeouts
	// DebugAddr, when set, serves net/http/pprof there (never on HTTPAddr).
	DebugAddr string
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

// Defaults: run with nothing installed.
const (
	defaultHTTPAddr    = ":8080"
	defaultDatabaseURL = "file:leadrotor.db"
	defaultRedisPrefix = "leadrotor:"
	// A healthy Redis answers in well under a millisecond; half a second
	// means it is gone or hung.
	defaultRedisTimeout   = 500 * time.Millisecond
	defaultRequestTimeout = 10 * time.Second
	defaultAssignInterval = 500 * time.Millisecond
	// defaultSettleAfter is the least settle-after when it is not set.
	defaultSettleAfter = time.Minute
	// defaultShutdownTimeout is the grace of in-flight requests on SIGTERM.
	defaultShutdownTimeout = 15 * time.Second
)

// Validate checks the configuration and says what to fix.
func (c Config) Validate() error {
	var errs []error
	if err := store.CheckDSN(c.DatabaseURL); err != nil {
		errs = append(errs, err) // it says "database URL" and the forms
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
		errs = append(errs, fmt.Errorf("redis-url %q must start with redis://, rediss:// or unix://", c.RedisURL))
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

// AddGlobalFlags declares the flags every command shares.
func AddGlobalFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.String("config", "", "config file (YAML, TOML or JSON) with the same keys as the flags")
	f.String("database-url", defaultDatabaseURL, "database: postgres://…, postgresql://… or host=… dbname=… for PostgreSQL; file:PATH or sqlite://PATH for SQLite")
	f.Int("db-max-conns", 0, "PostgreSQL connection pool size (0: 2 per CPU, at least 4)")
	f.Int("db-read-conns", 0, "connections of the separate pool for listings, searches, audit log and statistics (0: half of db-max-conns, at least 1)")
	f.String("redis-url", "", "Redis for rotations shared by several servers (redis://…); empty: in-process rotations")
	f.String("redis-prefix", defaultRedisPrefix, "prefix of every Redis key")
	f.Duration("redis-timeout", defaultRedisTimeout, "bound on every Redis call; when Redis does not answer in time, leads are stored and wait for assignment")
	f.String("log-level", "info", "log level: debug, info, warn or error")
	f.String("log-format", "text", "log format: text or json")
}

// AddServeFlags declares the flags of serve.
func AddServeFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("http-addr", defaultHTTPAddr, "address to listen on (host:port; port 0 picks one)")
	bodyLimit := sizeValue(httpapi.DefaultBodyLimit)
	f.Var(&bodyLimit, "body-limit", "largest request body: bytes, or with a unit (256KiB, 1MiB, 1MB)")
	f.Bool("trust-proxy", false, "take client IPs from X-Forwarded-For (only behind a proxy that sets it)")
	f.Duration("shutdown-timeout", defaultShutdownTimeout, "how long in-flight requests may take to finish on shutdown")
	f.Duration("read-header-timeout", DefaultTimeouts().ReadHeader, "how long a client may take to send a request's headers")
	f.Duration("read-timeout", DefaultTimeouts().Read, "how long a client may take to send a whole request, body included")
	f.Duration("write-timeout", DefaultTimeouts().Write, "how long the server may take from a request's headers to the end of its response")
	f.Duration("idle-timeout", DefaultTimeouts().Idle, "how long a keep-alive connection may wait for its next request")
	f.String("debug-addr", "", "serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060; keep it private")
	f.Duration("request-timeout", defaultRequestTimeout, "bound on the work of each request; one that runs out answers 503 (0: none)")
	f.Duration("settle-after", 0, "how long a rotation turn taken by a process that died before writing its lead stays taken, before it is given back; more than twice request-timeout (0: 3 x request-timeout, at least 1m)")
	f.Duration("assign-interval", defaultAssignInterval, "how often to look for leads waiting for their rotation (stored while Redis was down)")
	f.String("rate-limit-key", "off", `requests allowed per API key: "100/s", "6000/m", "50000/h" or "off"; shared by all servers through Redis`)
	f.String("rate-limit-account", "off", "requests allowed per account (all its keys together), as --rate-limit-key")
	f.Int("read-concurrency", httpapi.DefaultReadConcurrency, "listings, searches, audit log and statistics requests running at once; more answer 429 TOO_MANY_READS")
	f.Int("read-concurrency-per-key", httpapi.DefaultReadConcurrencyPerKey, "as --read-concurrency, per API key")
}

// Load reads the configuration of cmd: its flags, LEADROTOR_* variables
// (LEADROTOR_DATABASE_URL for --database-url…), the config file, defaults.
// Every source is parsed strictly; the error has one line per mistake.
func Load(cmd *cobra.Command) (Config, error) {
	s := newSettingSources(cmd)
	cfg := Config{
		HTTPAddr:        s.str("http-addr"),
		DatabaseURL:     s.str("database-url"),
		DBMaxConns:      s.integer("db-max-conns"),
		DBReadConns:     s.integer("db-read-conns"),
		RedisURL:        s.str("redis-url"),
		RedisPrefix:     s.str("redis-prefix"),
		LogLevel:        s.str("log-level"),
		LogFormat:       s.str("log-format"),
		BodyLimit:       s.size("body-limit"),
		TrustProxy:      s.boolean("trust-proxy"),
		ShutdownTimeout: s.duration("shutdown-timeout"),
		DebugAddr:       s.str("debug-addr"),
		RedisTimeout:    s.duration("redis-timeout"),
		RequestTimeout:  s.duration("request-timeout"),
		AssignInterval:  s.duration("assign-interval"),
		SettleAfter:     s.duration("settle-after"),
		// 0 (and commands other than serve) get the defaults.
		ReadConcurrency:       s.integer("read-concurrency"),
		ReadConcurrencyPerKey: s.integer("read-concurrency-per-key"),
		Timeouts: Timeouts{
			ReadHeader: s.duration("read-header-timeout"),
			Read:       s.duration("read-timeout"),
			Write:      s.duration("write-timeout"),
			Idle:       s.duration("idle-timeout"),
		},
	}
	for _, l := range []struct {
		key   string
		limit *ratelimit.Limit
	}{{"rate-limit-key", &cfg.RateLimitKey}, {"rate-limit-account", &cfg.RateLimitAccount}} {
		var err error
		if *l.limit, err = ratelimit.ParseLimit(s.str(l.key)); err != nil {
			s.fail(fmt.Errorf("%s: %w", l.key, err))
		}
	}
	if err := s.err(); err != nil {
		return Config{}, err
	}
	// 0 means the default for these, as the README says.
	def := DefaultTimeouts()
	cfg.BodyLimit = cmp.Or(cfg.BodyLimit, httpapi.DefaultBodyLimit)
	cfg.ShutdownTimeout = cmp.Or(cfg.ShutdownTimeout, defaultShutdownTimeout)
	cfg.RedisTimeout = cmp.Or(cfg.RedisTimeout, defaultRedisTimeout)
	cfg.AssignInterval = cmp.Or(cfg.AssignInterval, defaultAssignInterval)
	cfg.ReadConcurrency = cmp.Or(cfg.ReadConcurrency, httpapi.DefaultReadConcurrency)
	cfg.ReadConcurrencyPerKey = cmp.Or(cfg.ReadConcurrencyPerKey, httpapi.DefaultReadConcurrencyPerKey)
	// Unset, it follows the request timeout, which bounds a lead's write.
	cfg.SettleAfter = cmp.Or(cfg.SettleAfter, max(defaultSettleAfter, 3*cfg.RequestTimeout))
	cfg.Timeouts = Timeouts{
		ReadHeader: cmp.Or(cfg.Timeouts.ReadHeader, def.ReadHeader),
		Read:       cmp.Or(cfg.Timeouts.Read, def.Read),
		Write:      cmp.Or(cfg.Timeouts.Write, def.Write),
		Idle:       cmp.Or(cfg.Timeouts.Idle, def.Idle),
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
