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
//
// The same sink keeps the SLA timers of the assignments a write makes
// (leads.SLATimer): jobs scheduled at their deadline, written with the
// assignment.
type EventSink interface {
	// WriteEvents writes events and timers in tx, a database/sql
	// transaction.
	WriteEvents(ctx context.Context, tx *sql.Tx, events []leads.Event, timers []leads.SLATimer) error
	// WriteEventsPgx writes events and timers in tx, a pgx transaction
	// (PostgreSQL's create path).
	WriteEventsPgx(ctx context.Context, tx pgx.Tx, events []leads.Event, timers []leads.SLATimer) error
}

// EventHandOff is an EventSink that can also hand the events it writes to
// its own process the moment their transaction commits
// (webhooks.Runner): each method writes as its EventSink counterpart
// does, and returns what the store calls once the transaction committed,
// never when it did not (nil: nothing to call). The store hands off the
// events of new leads, most of them; the writes of leads that exist
// (updates, reassignments, deletions) write through the EventSink.
type EventHandOff interface {
	HandOffEvents(ctx context.Context, tx *sql.Tx, events []leads.Event, timers []leads.SLATimer) (func(), error)
	HandOffEventsPgx(ctx context.Context, tx pgx.Tx, events []leads.Event, timers []leads.SLATimer) (func(), error)
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

// outbox is what a write hands the sink: events and SLA timers.
type outbox struct {
	events []leads.Event
	timers []leads.SLATimer
}

// add appends events and timer (when set), naming the lead id (drawn by
// an insert).
func (o *outbox) add(events []leads.Event, timer *leads.SLATimer, id int64) {
	for _, e := range events {
		o.events = append(o.events, e.ForLead(id))
	}
	if timer != nil {
		t := *timer
		t.LeadID = id
		o.timers = append(o.timers, t)
	}
}

// leadOutbox is the outbox of one lead's write.
func leadOutbox(events []leads.Event, timer *leads.SLATimer, id int64) outbox {
	var o outbox
	o.add(events, timer, id)
	return o
}

func (o outbox) empty() bool { return len(o.events) == 0 && len(o.timers) == 0 }

// writeEvents writes o through the sink in a database/sql transaction.
func (s *Store) writeEvents(ctx context.Context, tx *sql.Tx, o outbox) error {
	if s.sink == nil || o.empty() {
		return nil
	}
	s.observed(ctx, "INSERT events")
	if err := s.sink.WriteEvents(ctx, tx, o.events, o.timers); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}

// handOffEvents writes o in tx, a database/sql transaction, through the
// sink's hand-off when it has one; the store calls what it returns once
// tx committed (see EventHandOff).
func (s *Store) handOffEvents(ctx context.Context, tx *sql.Tx, o outbox) (func(), error) {
	return handOffIn(ctx, s, tx, o, s.writeEvents, EventHandOff.HandOffEvents)
}

// handOffEventsPgx is handOffEvents in a pgx transaction.
func (s *Store) handOffEventsPgx(ctx context.Context, tx pgx.Tx, o outbox) (func(), error) {
	return handOffIn(ctx, s, tx, o, s.writeEventsPgx, EventHandOff.HandOffEventsPgx)
}

// handOffIn hands o off in tx through the sink's handOff, or writes it
// with write when the sink hands nothing off.
func handOffIn[TX any](ctx context.Context, s *Store, tx TX, o outbox, write func(context.Context, TX, outbox) error,
	handOff func(EventHandOff, context.Context, TX, []leads.Event, []leads.SLATimer) (func(), error)) (func(), error) {
	h, ok := s.sink.(EventHandOff)
	if !ok || o.empty() {
		return nil, write(ctx, tx, o)
	}
	s.observed(ctx, "INSERT events")
	after, err := handOff(h, ctx, tx, o.events, o.timers)
	if err != nil {
		return nil, fmt.Errorf("write events: %w", err)
	}
	return after, nil
}

// committed calls after, a hand-off, when there is one.
func committed(after func()) {
	if after != nil {
		after()
	}
}

// writeEventsPgx writes o through the sink in a pgx transaction.
func (s *Store) writeEventsPgx(ctx context.Context, tx pgx.Tx, o outbox) error {
	if s.sink == nil || o.empty() {
		return nil
	}
	s.observed(ctx, "INSERT events")
	if err := s.sink.WriteEventsPgx(ctx, tx, o.events, o.timers); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}
