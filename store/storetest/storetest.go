// Package storetest holds the conformance suite of leads.Store (Exercise),
// which every implementation passes, and opens the stores that tests run
// against: SQLite in a temporary file, always, and PostgreSQL at
// LEADROTOR_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test) when it answers, in a schema of
// the test's own that is dropped at the end. LEADROTOR_TEST_REQUIRE=postgres
// turns a missing PostgreSQL from a skip into a failure.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop schemas

	"github.com/leadrotor/leadrotor/store"
)

// DefaultPostgresURL is the PostgreSQL tests use when LEADROTOR_TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Backend is a store to test against.
type Backend struct {
	Name  string
	Store *store.Store
	// DSN opens the same database again, as a second process would.
	DSN string
}

// SQLite returns a store on a new SQLite file.
func SQLite(t testing.TB) *Backend {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "leadrotor.db")
	return &Backend{Name: "sqlite", Store: open(t, dsn), DSN: dsn}
}

// Postgres returns a store on a new schema of the test PostgreSQL, or nil
// (after logging why) when it does not answer and is not required.
func Postgres(t testing.TB) *Backend {
	t.Helper()
	dsn := PostgresSchemaDSN(t)
	if dsn == "" {
		return nil
	}
	return &Backend{Name: "postgres", Store: open(t, dsn), DSN: dsn}
}

// PostgresSchemaDSN creates a schema of the test's own on the test PostgreSQL
// and returns a DSN that uses it, or "" when PostgreSQL does not answer and
// is not required. The schema is dropped when the test ends.
func PostgresSchemaDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("LEADROTOR_TEST_POSTGRES_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("LEADROTOR_TEST_POSTGRES_URL: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		if Required("postgres") {
			t.Fatalf("postgres at %s is required (LEADROTOR_TEST_REQUIRE) but does not answer: %v", base, err)
		}
		t.Logf("postgres at %s does not answer, skipping its cases: %v", base, err)
		return ""
	}
	schema := "lrtest_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("LEADROTOR_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// All returns SQLite and, when it answers, PostgreSQL.
func All(t testing.TB) []*Backend {
	t.Helper()
	backends := []*Backend{SQLite(t)}
	if pg := Postgres(t); pg != nil {
		backends = append(backends, pg)
	}
	return backends
}

// Required reports whether LEADROTOR_TEST_REQUIRE lists service.
func Required(service string) bool {
	return slices.Contains(strings.Split(os.Getenv("LEADROTOR_TEST_REQUIRE"), ","), service)
}

func open(t testing.TB, dsn string) *store.Store {
	t.Helper()
	// Each test opens stores of its own, and many wait their turn at once:
	// idle connections close soon, or PostgreSQL runs out of them.
	s, err := store.Open(context.Background(), dsn, store.WithConnMaxIdleTime(time.Second))
	if err != nil {
		t.Fatalf("open store %s: %v", dsn, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
