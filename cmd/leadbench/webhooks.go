package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/webhooks"
)

// maxBenchHooks bounds --webhooks.
const maxBenchHooks = 100

// hookIdle is how long, after the load, the receiver of --webhooks waits
// for the next delivery before it reports the missing ones as missing.
const hookIdle = 15 * time.Second

// hookSink is the receiver of --webhooks: one listener on 127.0.0.1 per
// endpoint, as if each were a receiver of its own, answering 204 to every
// delivery and noting, for the first delivery of each webhook-id, the lag
// from its event's timestamp. It verifies no signature and decodes
// nothing but the timestamp, and it reads HTTP/1.1 itself (request line,
// headers, a Content-Length body) rather than through net/http: it shares
// the machine with the server it measures, and a receiver in production
// is on another machine, so the less it spends here the closer the run is
// to what the server alone costs.
type hookSink struct {
	lns  []net.Listener
	urls []string
	wg   sync.WaitGroup

	mu sync.Mutex
	// seen holds, per endpoint, the webhook-ids delivered.
	seen    []map[string]bool
	lags    []time.Duration
	repeats int64
	last    time.Time // the last first delivery
	conns   map[net.Conn]bool
	closed  bool
}

// startHookSink starts the receiver of n endpoints.
func startHookSink(n int) (*hookSink, error) {
	s := &hookSink{seen: make([]map[string]bool, n), conns: map[net.Conn]bool{}}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.close()
			return nil, fmt.Errorf("webhook receiver: %w", err)
		}
		s.seen[i] = map[string]bool{}
		s.lns = append(s.lns, ln)
		s.urls = append(s.urls, "http://"+ln.Addr().String()+"/leadbench")
		s.wg.Go(func() { s.accept(ln, i) })
	}
	return s, nil
}

// accept serves endpoint i's connections until its listener closes.
func (s *hookSink) accept(ln net.Listener, i int) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Go(func() {
			s.serve(c, i)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		})
	}
}

// hookIdleConn is how long a receiver's connection waits for its next
// request.
const hookIdleConn = 2 * time.Minute

// lingerClose ends c after an answer that closes it while the client may
// still be sending its body (as net/http's server does): it shuts its side
// and reads what comes for a moment, since closing with unread bytes makes
// the kernel reset the connection, and the client, still writing, could
// see the reset instead of the answer.
func lingerClose(c net.Conn, br *bufio.Reader) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, io.LimitReader(br, 256<<10))
}

// serve answers the requests of one connection to endpoint i: 204 to each
// with a Content-Length body (411 and the connection closed otherwise).
func (s *hookSink) serve(c net.Conn, i int) {
	br := bufio.NewReaderSize(c, 8<<10)
	var body []byte
	for {
		_ = c.SetReadDeadline(time.Now().Add(hookIdleConn))
		length, id, closing, err := readHead(br)
		if err != nil {
			return
		}
		if length < 0 {
			_, _ = c.Write([]byte("HTTP/1.1 411 Length Required\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
			lingerClose(c, br)
			return
		}
		if cap(body) < length {
			body = make([]byte, length)
		}
		body = body[:length]
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		s.note(i, id, body, time.Now()) // before the answer: counted once answered
		if _, err := c.Write([]byte("HTTP/1.1 204 No Content\r\n\r\n")); err != nil {
			return
		}
		if closing {
			return
		}
	}
}

// readHead reads a request's line and headers, and returns its body's
// Content-Length (-1 when it has none), its webhook-id, and whether the
// client closes the connection after it.
func readHead(br *bufio.Reader) (length int, id string, closing bool, err error) {
	length = -1
	if _, err := br.ReadSlice('\n'); err != nil { // the request line
		return 0, "", false, err
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, "", false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return length, id, closing, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || n > maxHookBody {
				return 0, "", false, fmt.Errorf("bad Content-Length %q", value)
			}
			length = n
		case bytes.EqualFold(name, []byte(webhooks.HeaderID)):
			id = string(value)
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
}

// maxHookBody bounds a delivery the receiver reads.
const maxHookBody = 1 << 20

// note counts a delivery to endpoint i that arrived at now.
func (s *hookSink) note(i int, id string, body []byte, now time.Time) {
	at, ok := eventTimestamp(body)
	if !ok || id == "" {
		return // not a delivery: it counts as missing
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[i][id] {
		s.repeats++
		return
	}
	s.seen[i][id] = true
	s.lags = append(s.lags, now.Sub(at))
	s.last = now
}

// eventTimestamp reads the event's time, the payload's top-level
// "timestamp". It reads keys until that one, skipping their values, rather
// than decode the whole payload (the lead comes after it), and with
// jsontext rather than encoding/json's Token (which allocated for each):
// the receiver shares the machine with the server it measures. Not by
// searching the bytes for the key, which a lead's custom fields may hold
// too.
func eventTimestamp(body []byte) (time.Time, bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return time.Time{}, false
	}
	for dec.PeekKind() == '"' {
		key, err := dec.ReadToken()
		if err != nil {
			return time.Time{}, false
		}
		if key.String() != "timestamp" {
			if err := dec.SkipValue(); err != nil {
				return time.Time{}, false
			}
			continue
		}
		raw, err := dec.ReadValue()
		var at time.Time
		if err != nil || at.UnmarshalJSON(raw) != nil || at.IsZero() {
			return time.Time{}, false
		}
		return at, true
	}
	return time.Time{}, false
}

// close stops the listeners and the connections, and waits for their
// goroutines.
func (s *hookSink) close() {
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// received returns how many deliveries arrived (once each) and when the
// last one did.
func (s *hookSink) received() (int64, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.lags)), s.last
}

// hookReport is what the receiver of --webhooks saw, over every driving
// run of the bench (both of a --readers run).
type hookReport struct {
	Endpoints int `json:"endpoints"`
	// Expected is the deliveries owed: each endpoint is owed the
	// lead.assigned event of every lead the runs created assigned.
	Expected int64 `json:"expected"`
	// Received counts the deliveries that arrived, once per endpoint and
	// webhook-id; Repeats, those that arrived again (at least once).
	Received int64 `json:"received"`
	Repeats  int64 `json:"repeats"`
	// LagMS is, over the deliveries received, the first arrival minus the
	// event's timestamp (when the server made the change).
	LagMS latencyReport `json:"lagMs"`
	// DrainSeconds is how long after the load's last answer the last
	// delivery arrived: the backlog the load left.
	DrainSeconds float64 `json:"drainSeconds"`
}

// await waits until want deliveries have arrived, or none has for
// hookIdle, and reports what arrived.
func (s *hookSink) await(ctx context.Context, want int64, progress io.Writer) *hookReport {
	began := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	shown := began
	for {
		got, last := s.received()
		quiet := began
		if last.After(quiet) {
			quiet = last
		}
		if got >= want || time.Since(quiet) > hookIdle || ctx.Err() != nil {
			break
		}
		if time.Since(shown) >= time.Second {
			fmt.Fprintf(progress, "  waiting for webhook deliveries: %d of %d\n", got, want)
			shown = time.Now()
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := &hookReport{Endpoints: len(s.lns), Expected: want, Received: int64(len(s.lags)), Repeats: s.repeats,
		LagMS: latencies(s.lags)}
	if s.last.After(began) {
		rep.DrainSeconds = s.last.Sub(began).Seconds()
	}
	return rep
}

// registerBenchHooks creates an endpoint subscribed to lead.assigned for
// each of the sink's, in the target's account, through POST /webhooks, and
// returns a function that deletes them (a running server would otherwise
// retry its deliveries to a receiver gone, for a day).
func registerBenchHooks(ctx context.Context, t *benchTarget, s *hookSink) (func(), error) {
	var ids []int64
	remove := func() {
		for _, id := range ids {
			_, _ = t.send(context.WithoutCancel(ctx), "DELETE", "/webhooks/"+strconv.FormatInt(id, 10), nil, http.StatusNoContent)
		}
	}
	for _, u := range s.urls {
		raw, err := t.send(ctx, "POST", "/webhooks", leads.WebhookInput{URL: u, EventTypes: []leads.EventType{leads.EventTypeAssigned}},
			http.StatusCreated)
		if err != nil {
			remove()
			return nil, fmt.Errorf("webhooks (a server driven with --url needs serve --webhook-allow-private): %w", err)
		}
		var e leads.WebhookEndpoint
		if err := json.Unmarshal(raw, &e); err != nil {
			remove()
			return nil, fmt.Errorf("webhooks: %w", err)
		}
		ids = append(ids, e.ID)
	}
	return remove, nil
}

// startBenchHooks starts the receiver of --webhooks n and registers its
// endpoints; the function returned deletes them and stops it.
func startBenchHooks(ctx context.Context, t *benchTarget, n int) (*hookSink, func(), error) {
	s, err := startHookSink(n)
	if err != nil {
		return nil, nil, err
	}
	remove, err := registerBenchHooks(ctx, t, s)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, func() {
		remove()
		s.close()
	}, nil
}
