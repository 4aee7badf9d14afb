package httpapi

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// outageLog reports an outage of a dependency (the database, mostly) once,
// instead of once per request it fails: a short PostgreSQL outage used to
// write thousands of lines. The first 503 is logged at WARN with its cause;
// the next ones are only counted; the first authenticated request answered
// below 500 afterwards (authentication reads the database) ends the outage
// with one summary line.
type outageLog struct {
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	since    time.Time // zero: no outage
	requests int
}

// failed counts a request answered 503 for err, logging it when it starts
// an outage.
func (o *outageLog) failed(ctx context.Context, requestID, method, path string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests++
	if !o.since.IsZero() {
		return
	}
	o.since = o.now()
	o.log.WarnContext(ctx, "dependency unavailable",
		"request_id", requestID, "method", method, "path", path, "err", err,
		"note", "requests answer 503 until it is back; one line will say how many")
}

// answered ends the outage, if any, with its summary: a request that needed
// the database was answered.
func (o *outageLog) answered(ctx context.Context) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		return
	}
	o.log.InfoContext(ctx, "dependency available again",
		"requests", o.requests, "duration_ms", o.now().Sub(o.since).Milliseconds())
	o.since, o.requests = time.Time{}, 0
}
