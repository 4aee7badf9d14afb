package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// CodeTooManyReads: the API key, or the server as a whole, already runs as
// many heavy reads (lead listings and searches, the audit log, statistics)
// as it admits; Retry-After says when to try again. Lead intake is never
// refused for it.
const CodeTooManyReads = "TOO_MANY_READS"

// Defaults of ReadLimits. Measured on 2 cores with 100k leads (see
// docs/BENCHMARKS.md): each heavy read keeps about one core busy while it
// runs (PostgreSQL scanning, Go encoding 500 leads), so more than a couple
// at a time take the CPU that lead intake needs, without finishing reports
// any sooner.
const (
	DefaultReadConcurrency       = 1
	DefaultReadConcurrencyPerKey = 1
	// DefaultReadWait is how long a heavy read waits for its turn before it
	// is refused: long enough to absorb a burst, short enough that a client
	// is told to come back rather than left hanging.
	DefaultReadWait = 500 * time.Millisecond
)

// RetryAfterReads is the Retry-After, in seconds, of TOO_MANY_READS.
const RetryAfterReads = 1

// ReadLimits bounds heavy reads, so that reports cannot take the
// connections, the memory and the CPU that lead intake needs. Zero fields
// take the defaults; a negative field lifts that bound.
type ReadLimits struct {
	// Concurrent bounds the heavy reads running at once on this server.
	Concurrent int
	// PerKey bounds those of one API key.
	PerKey int
	// Wait is how long a heavy read may wait for a slot before it is
	// refused with TOO_MANY_READS.
	Wait time.Duration
}

// withDefaults returns l with its zero fields set to the defaults.
func (l ReadLimits) withDefaults() ReadLimits {
	if l.Concurrent == 0 {
		l.Concurrent = DefaultReadConcurrency
	}
	if l.PerKey == 0 {
		l.PerKey = DefaultReadConcurrencyPerKey
	}
	if l.Wait == 0 {
		l.Wait = DefaultReadWait
	}
	return l
}

// readGate admits heavy reads: at most limits.Concurrent at once, and
// limits.PerKey per API key. Its memory is one entry per key that has a
// read in flight or waiting.
type readGate struct {
	limits ReadLimits
	// slots holds a token per running heavy read; nil when unbounded.
	slots chan struct{}
	mu    sync.Mutex
	keys  map[string]*keySlots
}

// keySlots are the slots of one API key, and how many requests use them.
type keySlots struct {
	slots chan struct{}
	users int
}

func newReadGate(l ReadLimits) *readGate {
	l = l.withDefaults()
	g := &readGate{limits: l, keys: map[string]*keySlots{}}
	if l.Concurrent > 0 {
		g.slots = make(chan struct{}, l.Concurrent)
	}
	return g
}

// acquire waits, at most the configured wait and never past ctx, for a
// slot of key and one of the server. It returns the function that gives
// them back, or TOO_MANY_READS naming the bound that was full. The server's
// slot is given back as long after the read as the read took: so heavy
// reads keep each slot busy half of the time at most, and lead intake has
// the CPU of the other half whatever the reads cost (a search that scans
// every lead costs a core while it runs).
func (g *readGate) acquire(ctx context.Context, key string) (func(), error) {
	release, err := g.take(ctx, key)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	return func() { release(min(time.Since(began), maxReadCooldown)) }, nil
}

// maxReadCooldown bounds the cool-down of a read's server slot: a read that
// waited long (for a lock, say) did not cost its time in CPU.
const maxReadCooldown = 2 * time.Second

// take is acquire, whose release function gives the key's slot back at once
// and the server's after the cool-down it is given.
func (g *readGate) take(ctx context.Context, key string) (func(cooldown time.Duration), error) {
	timer := time.NewTimer(g.limits.Wait)
	defer timer.Stop()
	releaseKey := func() {}
	if g.limits.PerKey > 0 {
		ks := g.join(key)
		select {
		case ks.slots <- struct{}{}:
			releaseKey = func() { <-ks.slots; g.leave(key, ks) }
		case <-timer.C:
			g.leave(key, ks)
			return nil, tooManyReads("API key", g.limits.PerKey)
		case <-ctx.Done():
			g.leave(key, ks)
			return nil, ctx.Err()
		}
	}
	if g.slots == nil {
		return func(time.Duration) { releaseKey() }, nil
	}
	select {
	case g.slots <- struct{}{}:
		return func(cooldown time.Duration) {
			releaseKey()
			time.AfterFunc(cooldown, func() { <-g.slots })
		}, nil
	case <-timer.C:
		releaseKey()
		return nil, tooManyReads("server", g.limits.Concurrent)
	case <-ctx.Done():
		releaseKey()
		return nil, ctx.Err()
	}
}

// join returns key's slots, counting one more user.
func (g *readGate) join(key string) *keySlots {
	g.mu.Lock()
	defer g.mu.Unlock()
	ks := g.keys[key]
	if ks == nil {
		ks = &keySlots{slots: make(chan struct{}, g.limits.PerKey)}
		g.keys[key] = ks
	}
	ks.users++
	return ks
}

// leave counts one user of key's slots fewer, and forgets them with the last.
func (g *readGate) leave(key string, ks *keySlots) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ks.users--; ks.users == 0 {
		delete(g.keys, key)
	}
}

func tooManyReads(scope string, limit int) error {
	msg := fmt.Sprintf("this API key already runs %d heavy reads (listings, searches, audit log, statistics) at once, the most it may; retry after %d s", limit, RetryAfterReads)
	if scope == "server" {
		msg = fmt.Sprintf("the server already runs %d heavy reads (listings, searches, audit log, statistics) at once, the most it admits; retry after %d s", limit, RetryAfterReads)
	}
	return &leads.Error{Code: CodeTooManyReads, Message: msg,
		Details: map[string]any{"scope": scope, "limit": limit, "retryAfter": RetryAfterReads}}
}

// heavyRead admits next, an authenticated read that can cost the database
// and the server much (a page of up to 500 leads, a search, statistics),
// through the read gate: lead intake, which never passes it, keeps its
// connections and CPU whatever reports are asked for.
func (s *Server) heavyRead(next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		actor := actorFrom(req.Context())
		key := actor.APIKey
		if key == "" {
			key = "user:" + actor.Email
		}
		release, err := s.reads.acquire(req.Context(), key)
		if err != nil {
			if leads.ErrorCode(err) == CodeTooManyReads {
				w.Header().Set("Retry-After", strconv.Itoa(RetryAfterReads))
			}
			return err
		}
		defer release()
		return next(w, req)
	}
}
