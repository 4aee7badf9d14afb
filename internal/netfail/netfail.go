// Package netfail tells, for the adapters (store, rotation), whether an
// error is the network's: the server could not be reached, or the
// connection broke or timed out. Each adapter adds what its own driver says
// on top (SQLSTATEs, Redis error replies) and reports such errors as
// leads.Unavailable.
package netfail

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// Is reports whether err is a network failure: a net.Error (timeouts
// included), a connection refused, reset, closed or cut short (EOF), or a
// write to a closed connection.
func Is(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
