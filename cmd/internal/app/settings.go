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
)

// A setting is a flag of AddGlobalFlags or AddServeFlags; its LEADROTOR_*
// variable and its config-file key share the flag's name. Every source is
// parsed by the same strict rules, so that a mistake is refused with the
// key and the form it takes rather than read as a default or as nanoseconds.

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

// settingFlags returns every setting as a flag, with its type and default,
// whichever command runs: a config file or an environment shared by serve
// and migrate holds serve's settings too.
func settingFlags() *pflag.FlagSet {
	cmd := &cobra.Command{}
	AddGlobalFlags(cmd)
	AddServeFlags(cmd)
	fs := pflag.NewFlagSet("settings", pflag.ContinueOnError)
	fs.AddFlagSet(cmd.PersistentFlags())
	fs.AddFlagSet(cmd.Flags())
	return fs
}

// envName returns the variable of setting key: LEADROTOR_DATABASE_URL for database-url.
func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

// settingSources finds each setting's value: a flag given on the command
// line, else its LEADROTOR_* variable (empty counts as unset), else the
// config file, else the flag's default.
type settingSources struct {
	settings *pflag.FlagSet
	flags    *pflag.FlagSet
	file     *viper.Viper
	fileName string
	errs     []error
}

// newSettingSources reads the config file, if cmd's flags or LEADROTOR_CONFIG
// name one, and refuses unknown keys in it and unknown LEADROTOR_* variables.
func newSettingSources(cmd *cobra.Command) *settingSources {
	s := &settingSources{settings: settingFlags(), flags: cmd.Flags()}
	s.checkEnvironment()
	if name := s.str("config"); name != "" {
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
	var known []string
	s.settings.VisitAll(func(f *pflag.Flag) { known = append(known, envName(f.Name)) })
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
	var known []string
	s.settings.VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" { // a file cannot name another
			known = append(known, f.Name)
		}
	})
	keys := s.file.AllKeys()
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			s.fail(fmt.Errorf("config file %s: unknown key %q%s", s.fileName, k, suggest(k, known)))
		}
	}
}

// raw returns key's value as text and where it comes from ("" for the default).
func (s *settingSources) raw(key string) (value, from string) {
	if f := s.flags.Lookup(key); f != nil && f.Changed {
		return f.Value.String(), "--" + key
	}
	if v := os.Getenv(envName(key)); v != "" {
		return v, envName(key)
	}
	if s.file != nil && s.file.IsSet(key) && key != "config" {
		switch v := s.file.Get(key).(type) {
		case string, bool, int, int64, uint64, float64:
			return fmt.Sprint(v), key + " in " + s.fileName
		default:
			s.fail(fmt.Errorf("%s in %s: %v is not a single value", key, s.fileName, v))
		}
	}
	return s.settings.Lookup(key).DefValue, ""
}

// parse reads key with parse; a mistake is recorded, naming where the value
// came from and the form it must take, and the zero value returned.
func parse[T any](s *settingSources, key string, parse func(string) (T, bool), form string) T {
	value, from := s.raw(key)
	v, ok := parse(value)
	if !ok {
		switch {
		case from == "":
			panic(fmt.Sprintf("the default of %s is not %s", key, form))
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
	return v
}

// The accepted forms, as the error messages give them.
const (
	durationForm = "a duration: a number with a unit, such as 500ms, 30s or 2m (0 alone needs none)"
	intForm      = "a whole number"
	boolForm     = "a boolean: true or false (or 1 or 0)"
	sizeForm     = "a size: bytes (262144) or a whole number with B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), such as 1MiB"
)

func (s *settingSources) str(key string) string {
	return parse(s, key, func(v string) (string, bool) { return v, true }, "")
}

func (s *settingSources) duration(key string) time.Duration {
	return parse(s, key, func(v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		return d, err == nil
	}, durationForm)
}

func (s *settingSources) integer(key string) int {
	return parse(s, key, func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil
	}, intForm)
}

func (s *settingSources) boolean(key string) bool {
	return parse(s, key, parseBool, boolForm)
}

func (s *settingSources) size(key string) int64 {
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
