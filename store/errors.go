package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadrotor/leadrotor/internal/netfail"
	"github.com/leadrotor/leadrotor/leads"
)

// The store translates the errors of its drivers once, at its boundary:
// every exported method that talks to the database ends with
// `defer translate(&err)`, so that the Service sees domain errors only and
// never a SQLSTATE, a syscall errno or a network error. A missing row and a
// broken rule are translated where they happen (notFound, isUnique); what
// is left to translate here is an unavailable database.

// translate replaces *err, when it means that the database could not be
// reached or did not answer, with SERVICE_UNAVAILABLE ("the database"), the
// cause kept. Domain errors and every other error are left as they are.
func translate(err *error) {
	if *err != nil && !isDomain(*err) && unavailable(*err) {
		*err = leads.Unavailable("the database", *err)
	}
}

// isDomain reports whether err already is a domain error.
func isDomain(err error) bool {
	var e *leads.Error
	return errors.As(err, &e)
}

// unavailable reports whether err means that the database could not be
// reached or did not answer in time, as opposed to refusing the request: a
// network error, a connection closed or refused (pgx's "conn closed" too:
// a connection the driver found dead), a deadline exceeded, or a
// server that says it is shutting down, starting up or out of connections.
func unavailable(err error) bool {
	switch {
	case netfail.Is(err),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, pgconn.ErrConnClosed), pgconn.Timeout(err):
		return true
	}
	// PostgreSQL names its state in a SQLSTATE: class 08 is a connection
	// exception, 57P01-57P03 a server shutting down or starting, 53300 too
	// many connections.
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		switch state := coded.SQLState(); {
		case len(state) == 5 && state[:2] == "08",
			state == "57P01", state == "57P02", state == "57P03", state == "53300":
			return true
		}
	}
	return false
}
