package app

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/leadrotor/leadrotor/ratelimit"
)

// A setting is one row of settingTable: its name is its flag, its
// LEADROTOR_* variable (LEADROTOR_DATABASE_URL for database-url) and its
// config-file key; its default is Default's. Every source is parsed by the
// same strict rules, so that a mistake is refused with the key and the form
// it takes rather than read as a default or as nanoseconds.
type setting struct {
	name string
	help string
	// serve: a flag of serve alone; the others are every command's. A
	// config file or an environment shared by serve and migrate holds
	// serve's settings too, so every command reads them all.
	serve bool
	// zeroIsDefault: 0 given means the default, as the README says.
	zeroIsDefault bool
	// field returns the field of c the setting fills: a *string, *int,
	// *bool, *time.Duration, *int64 (a size in bytes) or *ratelimit.Limit.
	field func(c *Config) any
}

// settingTable returns every setting, in the order of serve --help.
func settingTable() []setting {
	return []setting{
		{name: "database-url", help: "database: postgres://…, postgresql://… or host=… dbname=… for PostgreSQL; file:PATH or sqlite://PATH for SQLite",
			field: func(c *Config) any { return &c.DatabaseURL }},
		{name: "database-read-url", help: "PostgreSQL read replica (postgres://…) for listings, searches, audit log, statistics, Today and simulations; empty: the primary. Reads of one lead by id and writes stay on database-url",
			field: func(c *Config) any { return &c.DatabaseReadURL }},
		{name: "database-pooler-prepared-statements", help: "the pooler in front of the database keeps prepared statements (PgBouncer 1.21+ with max_prepared_statements > 0): the create path prepares its statements behind it too",
			field: func(c *Config) any { return &c.DatabasePoolerPreparedStatements }},
		{name: "db-max-conns", help: "PostgreSQL connection pool size (0: 2 per CPU, at least 4)",
			field: func(c *Config) any { return &c.DBMaxConns }},
		{name: "db-read-conns", help: "connections of the separate pool (on database-read-url when set) for listings, searches, audit log and statistics (0: half of db-max-conns, at least 1)",
			field: func(c *Config) any { return &c.DBReadConns }},
		{name: "redis-url", help: "Redis for rotations and rate limits shared by several servers: redis://host:6379/0, rediss://…, unix:///path.sock, redis+sentinel://host1:26379,host2:26379/<master>[/db] or redis+cluster://host1:7000,host2:7001 (see README, Redis topologies); empty: in-process rotations",
			field: func(c *Config) any { return &c.RedisURL }},
		{name: "redis-prefix", help: "prefix of every Redis key",
			field: func(c *Config) any { return &c.RedisPrefix }},
		{name: "redis-timeout", zeroIsDefault: true, help: "bound on every Redis call; when Redis does not answer in time, leads are stored and wait for assignment",
			field: func(c *Config) any { return &c.RedisTimeout }},
		{name: "log-level", help: "log level: debug, info, warn or error",
			field: func(c *Config) any { return &c.LogLevel }},
		{name: "log-format", help: "log format: text or json",
			field: func(c *Config) any { return &c.LogFormat }},

		{name: "http-addr", serve: true, help: "address to listen on (host:port; port 0 picks one)",
			field: func(c *Config) any { return &c.HTTPAddr }},
		{name: "body-limit", serve: true, zeroIsDefault: true, help: "largest request body: bytes, or with a unit (256KiB, 1MiB, 1MB)",
			field: func(c *Config) any { return &c.BodyLimit }},
		{name: "trust-proxy", serve: true, help: "take client IPs from X-Forwarded-For (only behind a proxy that sets it)",
			field: func(c *Config) any { return &c.TrustProxy }},
		{name: "webhook-allow-private", serve: true, help: "let webhook endpoints resolve to private, loopback and link-local addresses",
			field: func(c *Config) any { return &c.WebhookAllowPrivate }},
		{name: "webhook-log-retention", serve: true, zeroIsDefault: true, help: "how long the webhook delivery log keeps an attempt (default 30 days); older ones are deleted hourly",
			field: func(c *Config) any { return &c.WebhookLogRetention }},
		{name: "shutdown-timeout", serve: true, zeroIsDefault: true, help: "how long in-flight requests may take to finish on shutdown",
			field: func(c *Config) any { return &c.ShutdownTimeout }},
		{name: "read-header-timeout", serve: true, zeroIsDefault: true, help: "how long a client may take to send a request's headers",
			field: func(c *Config) any { return &c.Timeouts.ReadHeader }},
		{name: "read-timeout", serve: true, zeroIsDefault: true, help: "how long a client may take to send a whole request, body included",
			field: func(c *Config) any { return &c.Timeouts.Read }},
		{name: "write-timeout", serve: true, zeroIsDefault: true, help: "how long the server may take from a request's headers to the end of its response",
			field: func(c *Config) any { return &c.Timeouts.Write }},
		{name: "idle-timeout", serve: true, zeroIsDefault: true, help: "how long a keep-alive connection may wait for its next request",
			field: func(c *Config) any { return &c.Timeouts.Idle }},
		{name: "console", serve: true, help: "serve the web console for account members at /console",
			field: func(c *Config) any { return &c.Console }},
		{name: "console-url", serve: true, help: "the console's public address (https://leads.example.com), to start the invitation links it shows; empty: the request's host",
			field: func(c *Config) any { return &c.ConsoleURL }},
		{name: "smtp-addr", serve: true, help: "SMTP server (host:port) to email each rep their new leads; empty: no mail",
			field: func(c *Config) any { return &c.SMTP.Addr }},
		{name: "smtp-from", serve: true, help: `sender of the mail: "leadrotor <leads@example.com>"`,
			field: func(c *Config) any { return &c.SMTP.From }},
		{name: "smtp-username", serve: true, help: "SMTP user (PLAIN auth, over TLS or to a loopback server); empty: none",
			field: func(c *Config) any { return &c.SMTP.Username }},
		{name: "smtp-password", serve: true, help: "SMTP password; better given as LEADROTOR_SMTP_PASSWORD than as a flag",
			field: func(c *Config) any { return &c.SMTP.Password }},
		{name: "smtp-tls", serve: true, help: "starttls (upgrade when offered), tls (from the first byte, port 465) or none",
			field: func(c *Config) any { return &c.SMTP.TLS }},
		{name: "debug-addr", serve: true, help: "serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060; keep it private",
			field: func(c *Config) any { return &c.DebugAddr }},
		{name: "metrics", serve: true, help: "serve Prometheus metrics at /metrics (docs/metrics.md)",
			field: func(c *Config) any { return &c.Metrics }},
		{name: "metrics-addr", serve: true, help: "serve /metrics on this address (host:port) instead of http-addr, e.g. to keep it on a private interface",
			field: func(c *Config) any { return &c.MetricsAddr }},
		{name: "metrics-token", serve: true, help: "bearer token /metrics requires (Authorization: Bearer …), at least 16 characters; better given as LEADROTOR_METRICS_TOKEN than as a flag; empty: none",
			field: func(c *Config) any { return &c.MetricsToken }},
		{name: "request-timeout", serve: true, help: "bound on the work of each request; one that runs out answers 503 (0: none)",
			field: func(c *Config) any { return &c.RequestTimeout }},
		{name: "settle-after", serve: true, help: "how long a rotation turn taken by a process that died before writing its lead stays taken, before it is given back; more than twice request-timeout (0: 3 x request-timeout, at least 1m)",
			field: func(c *Config) any { return &c.SettleAfter }},
		{name: "assign-interval", serve: true, zeroIsDefault: true, help: "how often to look for leads waiting for their rotation (stored while Redis was down)",
			field: func(c *Config) any { return &c.AssignInterval }},
		{name: "rate-limit-key", serve: true, help: `requests allowed per API key: "100/s", "6000/m", "50000/h" or "off"; shared by all servers through Redis`,
			field: func(c *Config) any { return &c.RateLimitKey }},
		{name: "rate-limit-account", serve: true, help: "requests allowed per account (all its keys together), as --rate-limit-key",
			field: func(c *Config) any { return &c.RateLimitAccount }},
		{name: "read-concurrency", serve: true, zeroIsDefault: true, help: "listings, searches, audit log and statistics requests running at once; more answer 429 TOO_MANY_READS",
			field: func(c *Config) any { return &c.ReadConcurrency }},
		{name: "read-concurrency-per-key", serve: true, zeroIsDefault: true, help: "as --read-concurrency, per API key",
			field: func(c *Config) any { return &c.ReadConcurrencyPerKey }},
		{name: "simulation-max-window", serve: true, zeroIsDefault: true, help: "longest window of a simulation asked through the API or the console (default 366 days)",
			field: func(c *Config) any { return &c.SimulationMaxWindow }},
		{name: "simulation-retention", serve: true, zeroIsDefault: true, help: "how long a finished simulation and its result are kept (default 7 days)",
			field: func(c *Config) any { return &c.SimulationRetention }},
	}
}

// configFlag names the config file; a file cannot name another, so it is
// not a setting.
const configFlag = "config"

// AddGlobalFlags declares the flags every command shares: --config and the
// settings that are not serve's alone.
func AddGlobalFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.String(configFlag, "", "config file (YAML, TOML or JSON) with the same keys as the flags")
	addSettingFlags(f, false)
}

// AddServeFlags declares the flags of serve alone.
func AddServeFlags(cmd *cobra.Command) {
	addSettingFlags(cmd.Flags(), true)
}

// addSettingFlags declares the settings whose serve is serve, each with
// Default's value.
func addSettingFlags(f *pflag.FlagSet, serve bool) {
	def := Default()
	for _, st := range settingTable() {
		if st.serve != serve {
			continue
		}
		switch p := st.field(&def).(type) {
		case *string:
			f.String(st.name, *p, st.help)
		case *int:
			f.Int(st.name, *p, st.help)
		case *bool:
			f.Bool(st.name, *p, st.help)
		case *time.Duration:
			f.Duration(st.name, *p, st.help)
		case *int64:
			f.Var((*sizeValue)(p), st.name, st.help)
		case *ratelimit.Limit:
			f.String(st.name, p.String(), st.help)
		default:
			panic(fmt.Sprintf("setting %s: no flag for %T", st.name, p))
		}
	}
}

// Load reads the configuration of cmd: its flags, LEADROTOR_* variables
// (LEADROTOR_DATABASE_URL for --database-url…), the config file, defaults.
// Every source is parsed strictly; the error has one line per mistake.
func Load(cmd *cobra.Command) (Config, error) {
	s := newSettingSources(cmd)
	cfg := Default()
	for _, st := range settingTable() {
		switch p := st.field(&cfg).(type) {
		case *string:
			set(p, s.str, st)
		case *int:
			set(p, s.integer, st)
		case *bool:
			set(p, s.boolean, st)
		case *time.Duration:
			set(p, s.duration, st)
		case *int64:
			set(p, s.size, st)
		case *ratelimit.Limit:
			if v, ok := s.str(st.name); ok {
				l, err := ratelimit.ParseLimit(v)
				if err != nil {
					s.fail(fmt.Errorf("%s: %w", st.name, err))
				}
				*p = l
			}
		}
	}
	if err := s.err(); err != nil {
		return Config{}, err
	}
	cfg.SettleAfter = cfg.settleAfter()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// set stores in p the value of st that read finds, if a source gives one
// (and it is not a 0 that means the default).
func set[T comparable](p *T, read func(key string) (T, bool), st setting) {
	v, ok := read(st.name)
	var zero T
	if ok && (v != zero || !st.zeroIsDefault) {
		*p = v
	}
}

// envPrefix starts the name of every variable leadrotor reads.
const envPrefix = "LEADROTOR_"

// clientVariables are LEADROTOR_* variables that are not settings of the
// binary: `leadrotor demo --env` exports the first four for the examples,
// which also read the next three. They may be in the environment of any
// command and are left alone. LEADROTOR_TEST_* belong to the test suites.
var clientVariables = []string{
	"LEADROTOR_API_KEY", "LEADROTOR_ACCOUNT_ID", "LEADROTOR_TEAM_ID", "LEADROTOR_LEAD_SOURCE_ID",
	"LEADROTOR_URL", "LEADROTOR_BIN", "LEADROTOR_EXAMPLES_PORT",
}

// envName returns the variable of setting key: LEADROTOR_DATABASE_URL for database-url.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// settingSources finds each setting's value: a flag given on the command
// line, else its LEADROTOR_* variable (empty counts as unset), else the
// config file, else the flag's default.
type settingSources struct {
	// known are the settings' names.
	known    []string
	flags    *pflag.FlagSet
	file     *viper.Viper
	fileName string
	errs     []error
}

// newSettingSources reads the config file, if cmd's flags or LEADROTOR_CONFIG
// name one, and refuses unknown keys in it and unknown LEADROTOR_* variables.
func newSettingSources(cmd *cobra.Command) *settingSources {
	s := &settingSources{flags: cmd.Flags()}
	for _, st := range settingTable() {
		s.known = append(s.known, st.name)
	}
	s.checkEnvironment()
	if name, _ := s.str(configFlag); name != "" {
		s.file = viper.New()
		s.file.SetConfigFile(name)
		if err := s.file.ReadInConfig(); err != nil {
			s.fail(fmt.Errorf("config file %s: %w", name, err))
			s.file = nil
			return s
		}
		s.fileName = name
		s.checkFile()
	}
	return s
}

func (s *settingSources) fail(err error) { s.errs = append(s.errs, err) }

// err returns every mistake found, one per line.
func (s *settingSources) err() error { return errors.Join(s.errs...) }

func (s *settingSources) checkEnvironment() {
	known := []string{envName(configFlag)}
	for _, k := range s.known {
		known = append(known, envName(k))
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, envPrefix) || slices.Contains(known, name) ||
			slices.Contains(clientVariables, name) || strings.HasPrefix(name, envPrefix+"TEST_") {
			continue
		}
		s.fail(fmt.Errorf("%s is not a leadrotor setting%s", name, suggest(name, known)))
	}
}

func (s *settingSources) checkFile() {
	known := s.known
	keys := s.file.AllKeys()
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			s.fail(fmt.Errorf("config file %s: unknown key %q%s", s.fileName, k, suggest(k, known)))
		}
	}
}

// raw returns key's value as text and where it comes from; ok is false
// when no source gives it.
func (s *settingSources) raw(key string) (value, from string, ok bool) {
	if f := s.flags.Lookup(key); f != nil && f.Changed {
		return f.Value.String(), "--" + key, true
	}
	if v := os.Getenv(envName(key)); v != "" {
		return v, envName(key), true
	}
	if s.file != nil && s.file.IsSet(key) && key != configFlag {
		switch v := s.file.Get(key).(type) {
		case string, bool, int, int64, uint64, float64:
			return fmt.Sprint(v), key + " in " + s.fileName, true
		default:
			s.fail(fmt.Errorf("%s in %s: %v is not a single value", key, s.fileName, v))
		}
	}
	return "", "", false
}

// parse reads key with parse and reports whether a source gave it; a
// mistake is recorded, naming where the value came from and the form it
// must take, and reported as not given.
func parse[T any](s *settingSources, key string, parse func(string) (T, bool), form string) (T, bool) {
	value, from, given := s.raw(key)
	if !given {
		var zero T
		return zero, false
	}
	v, ok := parse(value)
	if !ok {
		switch {
		case strings.HasPrefix(from, "--"), strings.HasPrefix(from, envPrefix):
			s.fail(fmt.Errorf("%s=%q is not %s", from, value, form))
		default:
			k, where, _ := strings.Cut(from, " in ")
			shown := value
			if _, err := strconv.ParseFloat(value, 64); err != nil {
				shown = strconv.Quote(value)
			}
			s.fail(fmt.Errorf("%s: %s in %s is not %s", k, shown, where, form))
		}
	}
	return v, ok
}

// The accepted forms, as the error messages give them.
const (
	durationForm = "a duration: a number with a unit, such as 500ms, 30s or 2m (0 alone needs none)"
	intForm      = "a whole number"
	boolForm     = "a boolean: true or false (or 1 or 0)"
	sizeForm     = "a size: bytes (262144) or a whole number with B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), such as 1MiB"
)

func (s *settingSources) str(key string) (string, bool) {
	return parse(s, key, func(v string) (string, bool) { return v, true }, "")
}

func (s *settingSources) duration(key string) (time.Duration, bool) {
	return parse(s, key, func(v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		return d, err == nil
	}, durationForm)
}

func (s *settingSources) integer(key string) (int, bool) {
	return parse(s, key, func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil
	}, intForm)
}

func (s *settingSources) boolean(key string) (bool, bool) {
	return parse(s, key, parseBool, boolForm)
}

func (s *settingSources) size(key string) (int64, bool) {
	return parse(s, key, parseSize, sizeForm)
}

// parseBool reads true, false, 1 or 0 (any case): not yes, no, on or off,
// which viper would have read as false.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

// sizeUnits are the units parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

// parseSize reads a number of bytes, alone or with one of sizeUnits: 262144,
// 256KiB, 1MB. "1M" or "1 MiB" are refused: a size is read one way only.
func parseSize(v string) (int64, bool) {
	unit := int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, unit = n, u.bytes
			break
		}
	}
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > math.MaxInt64/unit {
		return 0, false
	}
	return n * unit, true
}

// sizeValue is a flag of a number of bytes, read by parseSize.
type sizeValue int64

func (v *sizeValue) String() string { return strconv.FormatInt(int64(*v), 10) }

// Set reads a size as parseSize does.
func (v *sizeValue) Set(s string) error {
	n, ok := parseSize(s)
	if !ok {
		return errors.New("not " + sizeForm)
	}
	*v = sizeValue(n)
	return nil
}

// Type names the flag's kind in the help.
func (v *sizeValue) Type() string { return "size" }

// suggest returns " (did you mean X?)" for the known name closest to name,
// when one is close enough to be a misspelling; else "".
func suggest(name string, known []string) string {
	best, bestDist := "", 3 // more than two edits is another word
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return " (leadrotor serve --help lists the settings)"
	}
	return " (did you mean " + best + "?)"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
