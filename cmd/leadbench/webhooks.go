package main

import (
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
// nothing but the timestamp: it shares the machine with the server it
// measures, and should spend little.
type hookSink struct {
	srvs []*http.Server
	urls []string

	mu sync.Mutex
	// seen holds, per endpoint, the webhook-ids delivered.
	seen    []map[string]bool
	lags    []time.Duration
	repeats int64
	last    time.Time // the last first delivery
}

// startHookSink starts the receiver of n endpoints.
func startHookSink(n int) (*hookSink, error) {
	s := &hookSink{seen: make([]map[string]bool, n)}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.close()
			return nil, fmt.Errorf("webhook receiver: %w", err)
		}
		s.seen[i] = map[string]bool{}
		srv := &http.Server{Handler: s.handler(i), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		s.srvs = append(s.srvs, srv)
		s.urls = append(s.urls, "http://"+ln.Addr().String()+"/leadbench")
	}
	return s, nil
}

// handler is endpoint i's.
func (s *hookSink) handler(i int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		now := time.Now()
		w.WriteHeader(http.StatusNoContent)
		at, ok := eventTimestamp(body)
		id := r.Header.Get(webhooks.HeaderID)
		if err != nil || !ok || id == "" {
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
	})
}

// eventTimestamp reads the event's time, the payload's top-level
// "timestamp". It reads keys until that one, skipping their values, rather
// than decode the whole payload (the lead comes after it): the receiver
// shares the machine with the server it measures. Not by searching the
// bytes for the key, which a lead's custom fields may hold too.
func eventTimestamp(body []byte) (time.Time, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return time.Time{}, false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return time.Time{}, false
		}
		if key != "timestamp" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return time.Time{}, false
			}
			continue
		}
		var at time.Time
		if err := dec.Decode(&at); err != nil || at.IsZero() {
			return time.Time{}, false
		}
		return at, true
	}
	return time.Time{}, false
}

func (s *hookSink) close() {
	for _, srv := range s.srvs {
		_ = srv.Close()
	}
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
	rep := &hookReport{Endpoints: len(s.srvs), Expected: want, Received: int64(len(s.lags)), Repeats: s.repeats,
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
