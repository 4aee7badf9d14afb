package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadrotor/leadrotor/store"
)

// readReport is what the readers of a mixed run saw.
type readReport struct {
	Readers  int              `json:"readers"`
	Requests int64            `json:"requests"`
	Pages    int64            `json:"pages"`
	Statuses map[string]int64 `json:"statuses"`
	// PerSecond counts the pages served (200) per second.
	PerSecond float64       `json:"pagesPerSecond"`
	LatencyMS latencyReport `json:"latencyMs"`
}

// startReaders starts n clients that do what reports do while leads come
// in: page through GET /leads?limit=500 by its cursor, and search (q=zz,
// which matches no bench lead, so every search reads all the candidates). A
// refused read (429) waits its Retry-After, as a well-behaved client does.
// The returned function stops them and reports.
func startReaders(ctx context.Context, t *benchTarget, n int) func() *readReport {
	ctx, cancel := context.WithCancel(ctx)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n}, Timeout: 30 * time.Second}
	var mu sync.Mutex
	rep := &readReport{Readers: n, Statuses: map[string]int64{}}
	var lats []time.Duration
	var pages atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for r := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cursor := ""
			for i := 0; ctx.Err() == nil; i++ {
				q := url.Values{"limit": {"500"}}
				if r%2 == 1 {
					q.Set("q", "zz")
				} else if cursor != "" {
					q.Set("cursor", cursor)
				}
				began := time.Now()
				status, next, retry, err := getPage(ctx, client, t, q)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				lats = append(lats, time.Since(began))
				switch {
				case err != nil:
					rep.Statuses["transport"]++
				default:
					rep.Statuses[strconv.Itoa(status)]++
				}
				mu.Unlock()
				if status == http.StatusOK {
					pages.Add(1)
					cursor = next
				}
				if retry > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(retry):
					}
				}
			}
		}()
	}
	return func() *readReport {
		cancel()
		wg.Wait()
		rep.Requests = int64(len(lats))
		rep.Pages = pages.Load()
		rep.PerSecond = float64(rep.Pages) / time.Since(start).Seconds()
		rep.LatencyMS = latencies(lats)
		return rep
	}
}

// getPage asks for one page and returns its status, the next cursor ("" on
// the last page) and the Retry-After of a refusal. The body is read through
// and dropped but for its tail, where the cursor is: the load tool shares
// the process (and its memory, which the run measures) with the server.
func getPage(ctx context.Context, client *http.Client, t *benchTarget, q url.Values) (int, string, time.Duration, error) {
	req, err := t.request(ctx, "GET", t.url+"/leads?"+q.Encode(), nil)
	if err != nil {
		return 0, "", 0, err
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer func() { _ = res.Body.Close() }()
	tail := &tailWriter{max: 1024}
	if _, err := io.Copy(tail, res.Body); err != nil {
		return 0, "", 0, err
	}
	var retry time.Duration
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
		retry = time.Duration(s) * time.Second
	}
	next := ""
	if _, after, ok := strings.Cut(string(tail.buf), `"nextCursor":"`); ok {
		next, _, _ = strings.Cut(after, `"`)
	}
	return res.StatusCode, next, retry, nil
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	buf []byte
	max int
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if len(w.buf) > w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	return len(p), nil
}

// preloadLeads stores n leads in the bench account directly, in one statement
// per 10,000 (the same SQL on both dialects), so that reads have a table of
// realistic size to work on without minutes of POSTs first.
func preloadLeads(ctx context.Context, st *store.Store, t *benchTarget, n int) error {
	db := st.DB()
	at := time.Now().Add(-time.Hour).UTC()
	notes := strings.Repeat("Called, left a message; call again next week. ", 5)
	meta, ts := "?", "?"
	if st.Dialect() == store.Postgres {
		meta, ts = "?::jsonb", "?::timestamptz"
	}
	for done := 0; done < n; done += 10000 {
		batch := min(10000, n-done)
		_, err := db.ExecContext(ctx, `INSERT INTO leads (account_id, team_id, lead_source_id, first_name, last_name, email, phone,
	company, notes, status, metadata, created_at, updated_at)
WITH RECURSIVE g(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM g WHERE n < ?)
SELECT ?, ?, ?, 'Seed' || n, 'Lead' || (n % 977), 'seed' || n || '@seed.test', '+1-555-' || (n % 10000),
	'Company ' || (n % 1000), ?, 'new', `+meta+`, `+ts+`, `+ts+`
FROM g`, done+1, done+batch, t.account, t.team, t.source, notes, `{"utm_source":"seed","campaign":"load"}`, at, at)
		if err != nil {
			return fmt.Errorf("preload leads: %w", err)
		}
	}
	return analyzeBench(ctx, st)
}

// benchTables are the tables a create writes, and what it reads them by.
var benchTables = []string{"leads", "audit_log", "rotation_turns", "rotation_skips", "river_job", "leadrotor_event_handoffs",
	"leadrotor_sla_timers", "webhook_deliveries"}

// analyzeBench gives PostgreSQL's planner the statistics of the tables the
// load writes, after the warmup or the preload, as autovacuum does within a
// minute of a new server's first leads (nothing without a store of
// leadbench's own, or on SQLite). Without them, a run that starts on empty
// tables measures the plans made for empty tables: the hot path's prepared
// statements keep, per connection, a generic plan until statistics change,
// and the plan made when leads was empty looks a duplicate email up by
// reading every lead of the account (docs/BENCHMARKS.md).
func analyzeBench(ctx context.Context, st *store.Store) error {
	if st == nil || st.Dialect() != store.Postgres {
		return nil
	}
	for _, table := range benchTables {
		if _, err := st.DB().ExecContext(ctx, "ANALYZE "+table); err != nil {
			return fmt.Errorf("analyze %s: %w", table, err)
		}
	}
	return nil
}
