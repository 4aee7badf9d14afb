package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/leadrotor/leadrotor/leads"
)

// EventSink writes domain events inside the transaction of the change they
// describe, exactly where the store writes the change's audit entries: an
// error from it rolls the change back, and a change rolled back takes its
// events with it. The store has two kinds of transactions on PostgreSQL
// (bun's, through database/sql, and the create path's, on pgx directly,
// see writePostgres), so a sink writes into either; on SQLite only the
// first is used. A sink must write with tx alone: on SQLite the store has
// one connection, and tx holds it.
type EventSink interface {
	// WriteEvents writes events in tx, a database/sql transaction.
	WriteEvents(ctx context.Context, tx *sql.Tx, events []leads.Event) error
	// WriteEventsPgx writes events in tx, a pgx transaction (PostgreSQL's
	// create path).
	WriteEventsPgx(ctx context.Context, tx pgx.Tx, events []leads.Event) error
}

// MigrateFunc migrates what another package keeps in the store's database
// (the job queue's tables), given the store's pool and dialect.
type MigrateFunc func(ctx context.Context, db *sql.DB, dialect Dialect) error

// WithEventSink makes the store write the events of every lead write
// (leads.NewLead.Events, leads.LeadWrite.Events) through sink, in the
// write's transaction. Without it events are dropped.
func WithEventSink(sink EventSink) Option { return func(o *options) { o.sink = sink } }

// WithMigrations adds migrate to what Migrate runs, after the store's own
// migrations, under the same lock: how the job queue's schema is brought up
// to date by `leadrotor migrate` and Open alike.
func WithMigrations(migrate MigrateFunc) Option {
	return func(o *options) { o.migrations = append(o.migrations, migrate) }
}

// leadEvents returns events naming the lead id (drawn by the insert).
func leadEvents(events []leads.Event, id int64) []leads.Event {
	out := make([]leads.Event, len(events))
	for i, e := range events {
		out[i] = e.ForLead(id)
	}
	return out
}

// writeEvents writes events through the sink in a database/sql transaction.
func (s *Store) writeEvents(ctx context.Context, tx *sql.Tx, events []leads.Event) error {
	if s.sink == nil || len(events) == 0 {
		return nil
	}
	s.observed(ctx, "INSERT events")
	if err := s.sink.WriteEvents(ctx, tx, events); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}

// writeEventsPgx writes events through the sink in a pgx transaction.
func (s *Store) writeEventsPgx(ctx context.Context, tx pgx.Tx, events []leads.Event) error {
	if s.sink == nil || len(events) == 0 {
		return nil
	}
	s.observed(ctx, "INSERT events")
	if err := s.sink.WriteEventsPgx(ctx, tx, events); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}
