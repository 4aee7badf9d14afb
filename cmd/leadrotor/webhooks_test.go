package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/webhooks"
)

// These tests run `leadrotor serve` against a webhook receiver of their
// own on 127.0.0.1 (hence --webhook-allow-private), as an operator's
// endpoint would see it: signed deliveries, retried on failure, and not
// lost when the server dies with deliveries pending.

// hookEvent names an event as the receiver can tell it from the payload:
// the lead and the type.
type hookEvent struct {
	LeadID int64
	Type   string
}

// hookRequest is one request the receiver got.
type hookRequest struct {
	At     time.Time
	Header http.Header
	Body   []byte
	// Attempt is the request's number among those of its webhook-id,
	// from 1.
	Attempt int
	// Status is what the receiver answered; 0 while it holds the request
	// and when the client went away first.
	Status int
	Event  hookEvent
	// EventID is the payload's data.eventId.
	EventID string
}

// hookReceiver is a webhook endpoint on 127.0.0.1 that keeps every request
// it gets and answers each as answer decides.
type hookReceiver struct {
	srv *httptest.Server
	// answer returns the status for the attempt-th request of its
	// webhook-id (from 1), 0 for none (the client went away).
	answer func(r *http.Request, attempt int) int
	mu     sync.Mutex
	got    []*hookRequest
}

// newHookReceiver starts a receiver; it is closed when t ends.
func newHookReceiver(t *testing.T, answer func(r *http.Request, attempt int) int) *hookReceiver {
	t.Helper()
	h := &hookReceiver{answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req := &hookRequest{At: time.Now(), Header: r.Header.Clone(), Body: body}
	var p struct {
		Type string
		Data struct {
			EventID string
			LeadID  int64
		}
	}
	_ = json.Unmarshal(body, &p) // a body that is not an event fails the test's checks
	req.Event, req.EventID = hookEvent{p.Data.LeadID, p.Type}, p.Data.EventID
	id := r.Header.Get(webhooks.HeaderID)
	h.mu.Lock()
	req.Attempt = 1
	for _, g := range h.got {
		if g.Header.Get(webhooks.HeaderID) == id {
			req.Attempt++
		}
	}
	h.got = append(h.got, req)
	h.mu.Unlock()
	status := h.answer(r, req.Attempt)
	if status != 0 {
		w.WriteHeader(status)
	}
	h.mu.Lock()
	req.Status = status
	h.mu.Unlock()
}

// url is the endpoint's URL.
func (h *hookReceiver) url() string { return h.srv.URL + "/hooks/leadrotor" }

// requests returns a copy of what the receiver got, in order of arrival.
func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]hookRequest, len(h.got))
	for i, g := range h.got {
		out[i] = *g
	}
	return out
}

// byID returns the requests by webhook-id, each id's in order of arrival.
func byID(reqs []hookRequest) map[string][]hookRequest {
	out := map[string][]hookRequest{}
	for _, r := range reqs {
		id := r.Header.Get(webhooks.HeaderID)
		out[id] = append(out[id], r)
	}
	return out
}

// awaitAnswered waits until the receiver has answered 200 to each of the
// events, and returns the requests it got by webhook-id.
func (h *hookReceiver) awaitAnswered(t *testing.T, s *server, events []hookEvent, within time.Duration) map[string][]hookRequest {
	t.Helper()
	var missing []hookEvent
	require.Eventually(t, func() bool {
		done := map[hookEvent]bool{}
		for _, r := range h.requests() {
			if r.Status == http.StatusOK {
				done[r.Event] = true
			}
		}
		missing = missing[:0]
		for _, e := range events {
			if !done[e] {
				missing = append(missing, e)
			}
		}
		return len(missing) == 0
	}, within, 50*time.Millisecond, "events never answered 200: %v\n%s", &missing, s.logs)
	return byID(h.requests())
}

// requireOneIDPerEvent checks at-least-once as a receiver relies on it:
// the distinct webhook-ids are exactly the events, one id each; every
// request of an id carries the same payload, whose data.eventId is the
// id; and every request's signature verifies with the endpoint's secret.
func requireOneIDPerEvent(t *testing.T, ids map[string][]hookRequest, events []hookEvent, secret string) {
	t.Helper()
	idOf := map[hookEvent]string{}
	for id, reqs := range ids {
		first := reqs[0]
		require.Equal(t, id, first.EventID, "the webhook-id is the event's id")
		if other, ok := idOf[first.Event]; ok {
			t.Fatalf("event %v arrived under two ids, %s and %s", first.Event, other, id)
		}
		idOf[first.Event] = id
		for _, r := range reqs {
			require.Equal(t, string(first.Body), string(r.Body), "attempt %d of %s posts other bytes", r.Attempt, id)
			require.NoError(t, webhooks.Verify(secret, r.Header, r.Body, 5*time.Minute, r.At), "attempt %d of %s", r.Attempt, id)
		}
	}
	require.ElementsMatch(t, events, slices.Collect(func(yield func(hookEvent) bool) {
		for e := range idOf {
			if !yield(e) {
				return
			}
		}
	}), "the distinct ids are the events")
}

// createHook registers url as an endpoint of the demo account for
// lead.created and lead.assigned through s, and returns its id and secret.
func createHook(t *testing.T, s *server, demo map[string]string, url string) (int64, string) {
	t.Helper()
	status, _, raw := call(t, "POST", s.url+"/webhooks", demo,
		fmt.Sprintf(`{"url":%q,"eventTypes":["lead.created","lead.assigned"]}`, url))
	require.Equal(t, http.StatusCreated, status, "%s", raw)
	var hook struct {
		ID     int64
		Secret string
	}
	require.NoError(t, json.Unmarshal(raw, &hook))
	require.NotEmpty(t, hook.Secret, "the secret is shown when the endpoint is created")
	return hook.ID, hook.Secret
}

// createLeadEvents creates a lead per name through s and returns the
// events the endpoint of createHook is owed: each lead's lead.created and
// lead.assigned.
func createLeadEvents(t *testing.T, s *server, demo map[string]string, names ...string) []hookEvent {
	t.Helper()
	var out []hookEvent
	for _, name := range names {
		l := createLead(t, s, demo, name)
		require.NotEmpty(t, l.AssignedTo, "the demo team's rotation assigns it")
		out = append(out, hookEvent{l.ID, "lead.created"}, hookEvent{l.ID, "lead.assigned"})
	}
	return out
}

// TestServeRetriesAFailingReceiver: a receiver that answers 500 to the
// first two attempts of every event gets each event a third time, with
// the same webhook-id and bytes, every attempt signed with the endpoint's
// secret, the attempts spaced as webhooks.DefaultBackoff says (5 s
// doubling, each wait in the upper half of its step), and the endpoint's
// delivery log shows the two failures and the success.
func TestServeRetriesAFailingReceiver(t *testing.T) {
	t.Parallel()
	env, _, _ := sharedEnv(t)
	demo := parseEnv(run(t, env, "demo", "--env"))
	s := serve(t, env, "--webhook-allow-private")
	const failures = 2
	rcv := newHookReceiver(t, func(_ *http.Request, attempt int) int {
		if attempt <= failures {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	hook, secret := createHook(t, s, demo, rcv.url())
	events := createLeadEvents(t, s, demo, "Ada", "Bob", "Cy")

	// Three attempts take at most 5 s + 10 s of backoff.
	ids := rcv.awaitAnswered(t, s, events, 60*time.Second)
	requireOneIDPerEvent(t, ids, events, secret)

	// The server polls its job table every 200 ms: a retry runs that
	// late after its time, and a little more on a busy machine.
	const slack = time.Second
	for id, reqs := range ids {
		var statuses []int
		for _, r := range reqs {
			statuses = append(statuses, r.Status)
		}
		require.Equal(t, []int{500, 500, 200}, statuses, "event %s", id)
		for i, step := range []time.Duration{5 * time.Second, 10 * time.Second} {
			gap := reqs[i+1].At.Sub(reqs[i].At)
			t.Logf("%s: attempt %d → %d after %s (backoff from %s to %s)", id, i+1, i+2, gap.Round(time.Millisecond), step/2, step)
			require.GreaterOrEqual(t, gap, step/2, "%s: attempt %d → %d", id, i+1, i+2)
			require.LessOrEqual(t, gap, step+slack, "%s: attempt %d → %d", id, i+1, i+2)
		}
	}

	// The log has each attempt: attempts 1 and 2 failed with 500, 3
	// succeeded with 200 (written just after the answer: wait for it).
	type attempt struct {
		EventID    string
		Attempt    int
		StatusCode int
		Succeeded  bool
	}
	var want []attempt
	for id := range ids {
		want = append(want, attempt{id, 1, 500, false}, attempt{id, 2, 500, false}, attempt{id, 3, 200, true})
	}
	var got []attempt
	require.Eventually(t, func() bool {
		status, _, raw := call(t, "GET", fmt.Sprintf("%s/webhooks/%d/deliveries?limit=500", s.url, hook), demo, "")
		require.Equal(t, http.StatusOK, status, "%s", raw)
		var page struct{ Data []attempt }
		require.NoError(t, json.Unmarshal(raw, &page))
		got = page.Data
		return len(got) >= len(want)
	}, 10*time.Second, 50*time.Millisecond, "the delivery log: %v", &got)
	require.ElementsMatch(t, want, got)
	require.NoError(t, s.stop(t))
}

// TestServeKilledWithDeliveriesPending kills the server with SIGKILL
// while its deliveries are pending in every state the outbox has: events
// whose deliveries failed and wait to be retried (the receiver answers 503
// until the restart), one delivery in flight (the receiver holds the first
// request it gets until the server dies), and events just written, maybe
// not yet fanned out to the endpoint. A server started again on the same
// PostgreSQL database delivers every event that was created before the
// kill: the distinct webhook-ids the receiver got are exactly those
// events, one id each, and every repeat of an id is the same payload. So
// a receiver that drops repeats by webhook-id sees each event once.
//
// The delivery in flight is what makes the test take over a minute: its
// job is left running by the dead process, and river rescues it only
// after webhooks.Options.Timeout plus a minute (RescueStuckJobsAfter).
func TestServeKilledWithDeliveriesPending(t *testing.T) {
	t.Parallel()
	env, _, _ := sharedEnv(t)
	demo := parseEnv(run(t, env, "demo", "--env"))
	doomed := serve(t, env, "--webhook-allow-private")

	var healthy, holding atomic.Bool
	held := make(chan string, 1) // the webhook-id of the request held
	release := make(chan struct{})
	rcv := newHookReceiver(t, func(r *http.Request, _ int) int {
		switch {
		case healthy.Load():
			return http.StatusOK
		case holding.CompareAndSwap(false, true):
			held <- r.Header.Get(webhooks.HeaderID)
			select {
			case <-r.Context().Done(): // the server died
			case <-release: // the test ends without the kill
			}
			return 0
		}
		return http.StatusServiceUnavailable
	})
	t.Cleanup(func() { close(release) }) // before the receiver's Close, which waits for the handler
	_, secret := createHook(t, doomed, demo, rcv.url())
	events := createLeadEvents(t, doomed, demo, "Ada", "Bob", "Cy", "Dan")

	// Every event of those leads has had an attempt, one is in flight and
	// the others failed; then a few more leads, and the kill at once.
	require.Eventually(t, func() bool {
		seen := map[hookEvent]bool{}
		for _, r := range rcv.requests() {
			seen[r.Event] = true
		}
		return len(seen) == len(events)
	}, 30*time.Second, 20*time.Millisecond, "the first attempts\n%s", doomed.logs)
	var inFlight string
	select {
	case inFlight = <-held:
	default:
		t.Fatal("no request is held")
	}
	events = append(events, createLeadEvents(t, doomed, demo, "Eve", "Fay")...)
	require.NoError(t, doomed.cmd.Process.Signal(syscall.SIGKILL))
	<-doomed.done
	before := rcv.requests()
	t.Logf("at the kill: %d requests for %d events, %s held", len(before), len(events), inFlight)
	for _, r := range before {
		require.NotEqual(t, http.StatusOK, r.Status, "nothing was delivered before the kill")
	}

	healthy.Store(true)
	heir := serve(t, env, "--webhook-allow-private")
	ids := rcv.awaitAnswered(t, heir, events, 150*time.Second)
	requireOneIDPerEvent(t, ids, events, secret)
	require.Greater(t, len(ids[inFlight]), 1, "the delivery in flight at the kill was made again")
	t.Logf("%d requests for %d events; the one in flight came again %s after it", len(rcv.requests()), len(events),
		ids[inFlight][1].At.Sub(ids[inFlight][0].At).Round(time.Second))
	require.NoError(t, heir.stop(t))
}
