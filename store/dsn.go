package store

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// dsnForms names the DSNs Open takes, for the error that refuses the others.
const dsnForms = "postgres://… or postgresql://… (PostgreSQL URL), host=… dbname=… (PostgreSQL key=value), " +
	"file:PATH or sqlite://PATH (SQLite file)"

// libpqKeyValue matches the start of libpq's key=value form: a keyword, then =.
var libpqKeyValue = regexp.MustCompile(`^[a-z_]+\s*=`)

// dialectOf returns the database dsn names and, for SQLite, the path of its
// file (with any ?query). Anything that is not plainly one of dsnForms is
// refused, rather than taken as the name of a new SQLite file: a misspelt
// scheme, another database's URL, stray white space or a bare path.
func dialectOf(dsn string) (Dialect, string, error) {
	refuse := func(why string) (Dialect, string, error) {
		return "", "", fmt.Errorf("store: database URL %s; use %s", why, dsnForms)
	}
	switch {
	case dsn == "":
		return refuse("is empty")
	case strings.TrimSpace(dsn) != dsn:
		return refuse(fmt.Sprintf("%q starts or ends with white space", Redact(dsn)))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"), libpqKeyValue.MatchString(dsn):
		return Postgres, "", nil
	}
	path, ok := strings.CutPrefix(dsn, "sqlite://")
	if !ok {
		// sqlite:PATH, as earlier versions documented.
		path, ok = strings.CutPrefix(dsn, "sqlite:")
	}
	if !ok {
		path, ok = strings.CutPrefix(dsn, "file:")
	}
	if !ok {
		scheme, _, found := strings.Cut(dsn, "://")
		if found {
			return refuse(fmt.Sprintf("scheme %q is not one leadrotor knows", scheme))
		}
		return refuse(fmt.Sprintf("%q is not a URL", dsn))
	}
	if name, _, _ := strings.Cut(path, "?"); name == "" {
		return refuse(fmt.Sprintf("%q names no file", dsn))
	}
	return SQLite, path, nil
}

// CheckDSN returns the error Open would give for a dsn of no form it takes,
// without connecting to anything.
func CheckDSN(dsn string) error {
	_, _, err := dialectOf(dsn)
	return err
}

// DialectOf returns the database dsn names, PostgreSQL or SQLite, or the
// error Open would give.
func DialectOf(dsn string) (Dialect, error) {
	d, _, err := dialectOf(dsn)
	return d, err
}

// kvPassword matches a password in libpq's key=value form, quoted or not.
var kvPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// Redact returns dsn with its password, if any, replaced by xxxxx: what a
// log may show of a database URL (or of any URL, such as Redis's).
func Redact(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return kvPassword.ReplaceAllString(dsn, "password=xxxxx")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://(unreadable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
