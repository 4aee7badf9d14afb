package webhooks_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
	"github.com/leadrotor/leadrotor/webhooks"
)

// The runner hands the events of new leads off as they commit.
var _ store.EventHandOff = (*webhooks.Runner)(nil)

// migrateRiver is webhooks.Migrate as the store runs it.
func migrateRiver(ctx context.Context, db *sql.DB, d store.Dialect) error {
	return webhooks.Migrate(ctx, db, string(d))
}

// testBundle is a store, a runner and a service on one database.
type testBundle struct {
	store  *store.Store
	runner *webhooks.Runner
	svc    *leads.Service
	admin  leads.Actor
}

// dsns returns a new SQLite file and, when it answers, a new PostgreSQL
// schema.
func dsns(t *testing.T) map[string]string {
	out := map[string]string{"sqlite": "file:" + t.TempDir() + "/leadrotor.db"}
	if dsn := storetest.PostgresSchemaDSN(t); dsn != "" {
		out["postgres"] = dsn
	}
	return out
}

func setup(t *testing.T, dsn string, opts webhooks.Options) *testBundle {
	t.Helper()
	return setupWith(t, dsn, opts, false)
}

// setupWith is setup, with an in-process rotator when rotate is set (what
// SLAs need), and svcOpts for the Service.
func setupWith(t *testing.T, dsn string, opts webhooks.Options, rotate bool, svcOpts ...leads.Option) *testBundle {
	t.Helper()
	ctx := context.Background()
	opts.AllowPrivate = true
	if opts.PollInterval == 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	r := webhooks.New(opts)
	st, err := store.Open(ctx, dsn, store.WithEventSink(r), store.WithMigrations(migrateRiver), store.WithConnMaxIdleTime(time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, r.Open(st.DB().DB, string(st.Dialect()), st))
	svcOpts = append(svcOpts, leads.WithWebhooks(st, r, true))
	if opts.Handler != nil {
		svcOpts = append(svcOpts, leads.WithAllEvents()) // the handler wants every event
	}
	if opts.Mail != nil {
		svcOpts = append(svcOpts, leads.WithEventTypes(webhooks.MailEvents...))
	}
	var rot leads.Rotator
	if rotate {
		rot = rotation.NewMemory(st)
	}
	svc := leads.NewService(st, rot, svcOpts...)
	r.ExpireWith(svc)
	_, err = svc.CreateAccount(ctx, leads.Account{ID: "2311", Name: "Acme"})
	require.NoError(t, err)
	return &testBundle{store: st, runner: r, svc: svc, admin: leads.Actor{AccountID: "2311", Email: "admin@example.com", Role: leads.RoleAdmin}}
}

func (b *testBundle) start(t *testing.T) {
	t.Helper()
	require.NoError(t, b.runner.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, b.runner.Stop(ctx))
	})
}

// received is one request a receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
	status int
}

// receiver is an endpoint on 127.0.0.1 that fails its first failFirst
// requests (500), then answers 204.
type receiver struct {
	mu        sync.Mutex
	failFirst int
	got       []received
	srv       *httptest.Server
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	rc := &receiver{failFirst: failFirst}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rc.mu.Lock()
		status := http.StatusNoContent
		if len(rc.got) < rc.failFirst {
			status = http.StatusInternalServerError
		}
		rc.got = append(rc.got, received{at: time.Now(), header: req.Header.Clone(), body: body, status: status})
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// delivered returns the requests answered 2xx, by webhook-id.
func (rc *receiver) delivered() map[string]received {
	out := map[string]received{}
	for _, r := range rc.requests() {
		if r.status < 300 {
			out[r.header.Get(webhooks.HeaderID)] = r
		}
	}
	return out
}

func createLead(t *testing.T, b *testBundle, first string) *leads.Lead {
	t.Helper()
	res, err := b.svc.CreateLead(context.Background(), b.admin, leads.LeadInput{FirstName: first, LastName: "Doe"}, leads.CreateOptions{})
	require.NoError(t, err)
	return res.Lead
}

// TestDeliveryRetriesUntilTheReceiverAnswers: a receiver that fails the
// first deliveries gets every event in the end, signed, the retries spaced
// by the backoff, each attempt in the delivery log.
func TestDeliveryRetriesUntilTheReceiverAnswers(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const failFirst = 3
			backoff := func(attempt int) time.Duration { return time.Duration(attempt) * 300 * time.Millisecond }
			var mu sync.Mutex
			handled := map[string]leads.EventType{}
			b := setup(t, dsn, webhooks.Options{Backoff: backoff, Handler: func(_ context.Context, e leads.Event) error {
				mu.Lock()
				defer mu.Unlock()
				handled[e.ID] = e.Type
				return nil
			}})
			rc := newReceiver(t, failFirst)
			ep, err := b.svc.CreateWebhook(context.Background(), b.admin, leads.WebhookInput{URL: rc.srv.URL + "/hook",
				EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			require.Regexp(t, `^whsec_[A-Za-z0-9+/=]+$`, ep.Secret)
			b.start(t)

			var ids []int64
			for _, n := range []string{"Ann", "Bob", "Cid"} {
				ids = append(ids, createLead(t, b, n).ID)
			}
			require.Eventually(t, func() bool { return len(rc.delivered()) == len(ids) }, 20*time.Second, 50*time.Millisecond)

			byEvent := map[string][]received{}
			leadIDs := map[int64]bool{}
			for _, r := range rc.requests() {
				require.NoError(t, webhooks.Verify(ep.Secret, r.header, r.body, time.Minute, time.Now()), "signature of %s", r.body)
				id := r.header.Get(webhooks.HeaderID)
				byEvent[id] = append(byEvent[id], r)
				var p struct {
					Type string `json:"type"`
					Data struct {
						LeadID int64      `json:"leadId"`
						Lead   leads.Lead `json:"lead"`
					} `json:"data"`
				}
				require.NoError(t, json.Unmarshal(r.body, &p))
				require.Equal(t, "lead.created", p.Type)
				require.Equal(t, p.Data.LeadID, p.Data.Lead.ID)
				leadIDs[p.Data.LeadID] = true
			}
			for _, id := range ids {
				require.True(t, leadIDs[id], "lead %d delivered", id)
			}
			retried := 0
			for _, rs := range byEvent {
				for i := 1; i < len(rs); i++ {
					retried++
					// The i-th failure waits backoff(i); river schedules
					// to the poll interval, never early.
					require.GreaterOrEqual(t, rs[i].at.Sub(rs[i-1].at), backoff(i)-50*time.Millisecond, "retry %d spacing", i)
				}
			}
			require.Equal(t, failFirst, retried, "every failed delivery was retried")

			// The log trails the attempts by a moment (it is written in
			// batches).
			var page *leads.WebhookDeliveryPage
			require.Eventually(t, func() bool {
				var err error
				page, err = b.svc.WebhookDeliveries(context.Background(), b.admin, ep.ID, 0, 100)
				require.NoError(t, err)
				return len(page.Data) == len(rc.requests())
			}, 10*time.Second, 20*time.Millisecond, "every attempt logged")
			ok := 0
			for _, d := range page.Data {
				if d.Succeeded {
					ok++
					require.Equal(t, http.StatusNoContent, d.StatusCode)
				} else {
					require.Equal(t, http.StatusInternalServerError, d.StatusCode)
					require.NotEmpty(t, d.Error)
				}
			}
			require.Equal(t, len(ids), ok)
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(handled) == len(ids)
			}, 10*time.Second, 50*time.Millisecond, "the in-process handler got every event")

			// Redelivery posts the same event again, with its webhook-id.
			last := page.Data[0]
			require.NoError(t, b.svc.RedeliverWebhook(context.Background(), b.admin, ep.ID, last.ID))
			require.Eventually(t, func() bool {
				n := 0
				for _, r := range rc.requests() {
					if r.header.Get(webhooks.HeaderID) == last.EventID && r.status < 300 {
						n++
					}
				}
				return n == 2
			}, 10*time.Second, 50*time.Millisecond)
			for _, d := range page.Data {
				require.False(t, d.Redelivery, "the event's own attempts")
			}
			require.Eventually(t, func() bool {
				p, err := b.svc.WebhookDeliveries(context.Background(), b.admin, ep.ID, 0, 1)
				require.NoError(t, err)
				return len(p.Data) == 1 && p.Data[0].Redelivery && p.Data[0].EventID == last.EventID && p.Data[0].Attempt == 1
			}, 10*time.Second, 50*time.Millisecond, "the redelivery logged as one, its attempts numbered from 1")

			other := leads.Actor{AccountID: "other", Email: "x@example.com", Role: leads.RoleAdmin}
			_, err = b.svc.WebhookDeliveries(context.Background(), other, ep.ID, 0, 10)
			require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err), "another account's webhook is not found")
		})
	}
}

// TestFailingEndpointIsDisabled: a delivery whose last attempt fails
// disables its endpoint, with a reason and an audit entry.
func TestFailingEndpointIsDisabled(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, dsn, webhooks.Options{MaxAttempts: 2, Backoff: func(int) time.Duration { return 50 * time.Millisecond }})
			rc := newReceiver(t, 1000)
			ep, err := b.svc.CreateWebhook(context.Background(), b.admin, leads.WebhookInput{URL: rc.srv.URL,
				EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			b.start(t)
			createLead(t, b, "Ann")
			require.Eventually(t, func() bool {
				got, err := b.svc.Webhook(context.Background(), b.admin, ep.ID)
				return err == nil && !got.Enabled && got.DisabledReason != ""
			}, 20*time.Second, 50*time.Millisecond)
			require.Len(t, rc.requests(), 2)
			page, err := b.svc.AuditLog(context.Background(), b.admin, leads.AuditQuery{Event: leads.EventWebhookDisabled}, "")
			require.NoError(t, err)
			require.Len(t, page.Data, 1)
			require.Equal(t, "system", page.Data[0].User)
		})
	}
}

// TestEventsOnlyWithTheirChange: a lead write that is rolled back leaves no
// event job; one that commits leaves exactly its events.
func TestEventsOnlyWithTheirChange(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, dsn, webhooks.Options{})
			ctx := context.Background()
			count := func() int {
				var n int
				require.NoError(t, b.store.DB().NewRaw("SELECT count(*) FROM river_job WHERE kind = 'leadrotor_event'").Scan(ctx, &n))
				return n
			}
			createLead(t, b, "Nobody")
			require.Zero(t, count(), "no endpoint, no event written")
			_, err := b.svc.CreateWebhook(ctx, b.admin, leads.WebhookInput{URL: "http://127.0.0.1:1/hooks", EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			a := createLead(t, b, "Ann")
			bob := createLead(t, b, "Bob")
			require.Equal(t, 2, count(), "one lead.created per lead")

			// The second lead takes the first one's unique email: the unique
			// rule breaks, the transaction rolls back, and its event with it.
			taken := "ann@example.com"
			_, err = b.store.UpdateLead(ctx, "2311", a.ID, func(cur *leads.Lead) (*leads.LeadWrite, error) {
				return &leads.LeadWrite{Lead: cur, UniqueEmail: &taken}, nil
			})
			require.NoError(t, err)
			_, err = b.store.UpdateLead(ctx, "2311", bob.ID, func(cur *leads.Lead) (*leads.LeadWrite, error) {
				next := *cur
				next.AssignedTo = "admin@example.com"
				return &leads.LeadWrite{Lead: &next, UniqueEmail: &taken,
					Events: []leads.Event{{ID: "evt_rolled_back", Type: leads.EventTypeAssigned, AccountID: "2311", LeadID: cur.ID, At: time.Now()}}}, nil
			})
			require.ErrorIs(t, err, leads.ErrEmailTaken)
			require.Equal(t, 2, count(), "no event without its change")

			_, err = b.store.UpdateLead(ctx, "2311", bob.ID, func(cur *leads.Lead) (*leads.LeadWrite, error) {
				return &leads.LeadWrite{Lead: cur,
					Events: []leads.Event{{ID: "evt_committed", Type: leads.EventTypeAssigned, AccountID: "2311", LeadID: cur.ID, At: time.Now()}}}, nil
			})
			require.NoError(t, err)
			require.Equal(t, 3, count(), "the change's event with it")
		})
	}
}

// TestDeliveriesReuseConnections: deliveries to one receiver, however many
// at once, go over at most MaxConnsPerHost connections, kept open between
// them; they used to open one of their own beyond the idle pool, a dial
// (and a TIME_WAIT) per delivery under load.
func TestDeliveriesReuseConnections(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const maxConns, n = 4, 200
			var mu sync.Mutex
			conns, got := 0, map[string]bool{}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				_, _ = io.Copy(io.Discard, req.Body)
				// A receiver that takes a moment: deliveries pile up.
				time.Sleep(5 * time.Millisecond)
				mu.Lock()
				got[req.Header.Get(webhooks.HeaderID)] = true
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					mu.Lock()
					conns++
					mu.Unlock()
				}
			}
			srv.Start()
			t.Cleanup(srv.Close)
			b := setup(t, dsn, webhooks.Options{MaxConnsPerHost: maxConns})
			_, err := b.svc.CreateWebhook(context.Background(), b.admin, leads.WebhookInput{URL: srv.URL + "/hook",
				EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			b.start(t)
			var wg sync.WaitGroup
			for w := range 16 {
				wg.Go(func() {
					for i := w; i < n; i += 16 {
						createLead(t, b, "Ann")
					}
				})
			}
			wg.Wait()
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(got) == n
			}, 30*time.Second, 20*time.Millisecond, "every event delivered")
			mu.Lock()
			defer mu.Unlock()
			require.LessOrEqual(t, conns, maxConns, "connections opened for %d deliveries", n)
		})
	}
}

// TestBatchEventsOnlyOfLeadsWritten: leads created together share a write
// and one event job; a lead of the batch that is refused (its email taken
// by another of the batch) has no event, every lead written has its own,
// once.
func TestBatchEventsOnlyOfLeadsWritten(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			handled := map[int64]int{}
			b := setup(t, dsn, webhooks.Options{Handler: func(_ context.Context, e leads.Event) error {
				if e.Type == leads.EventTypeCreated {
					mu.Lock()
					handled[e.LeadID]++
					mu.Unlock()
				}
				return nil
			}})
			b.start(t)
			const n = 40
			// The 40 creates wait for SQLite's one writer together: under a
			// loaded CI with -race, more than the store's 10 s default for
			// a caller without a deadline (a lead answered 503 there).
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			created := map[int64]bool{} // under mu, with handled
			refused := 0
			for i := range n {
				wg.Go(func() {
					email := fmt.Sprintf("lead%d@example.com", i)
					if i%4 == 0 {
						email = "taken@example.com" // one of these is written, the others refused
					}
					res, err := b.svc.CreateLead(ctx, b.admin, leads.LeadInput{FirstName: "A", LastName: "B", Email: email}, leads.CreateOptions{})
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						assert.Equal(t, leads.CodeDuplicateEmail, leads.ErrorCode(err), "%v", err)
						refused++
						return
					}
					created[res.Lead.ID] = true
				})
			}
			wg.Wait()
			require.Equal(t, n/4-1, refused, "all but one of the same email refused")
			want := n - refused
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(handled) == want
			}, 20*time.Second, 20*time.Millisecond, "an event per lead written")
			mu.Lock()
			defer mu.Unlock()
			for id, times := range handled {
				require.True(t, created[id], "lead %d was written", id)
				require.Equal(t, 1, times, "lead %d's event once", id)
			}
		})
	}
}

// TestDeliveryLogRetention: the runner deletes the delivery log's attempts
// older than its retention, many batches of them, and keeps the others,
// among them one whose time is later than its place in the log says (a
// clock set back), which does not stop the older ones after it going.
func TestDeliveryLogRetention(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Second)
			b := setup(t, dsn, webhooks.Options{LogRetention: 30 * 24 * time.Hour, Now: func() time.Time { return now }})
			ep, err := b.svc.CreateWebhook(ctx, b.admin, leads.WebhookInput{URL: "http://127.0.0.1:1/hook",
				EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			attempt := func(i int, at time.Time) *leads.WebhookDelivery {
				return &leads.WebhookDelivery{EndpointID: ep.ID, AccountID: ep.AccountID, EventID: fmt.Sprintf("evt_%d", i),
					EventType: leads.EventTypeCreated, Attempt: 1, Succeeded: true, StatusCode: 204, At: at,
					Payload: json.RawMessage(`{}`)}
			}
			// 12,000 attempts of 40 days ago (more than one batch of the
			// prune), the 6,000th of them stamped now; then 3 of an hour ago.
			const old = 12000
			var kept []string
			for from := 0; from < old; from += 1000 {
				batch := make([]*leads.WebhookDelivery, 0, 1000)
				for i := from; i < from+1000; i++ {
					at := now.Add(-40 * 24 * time.Hour).Add(time.Duration(i) * time.Millisecond)
					if i == 6000 {
						at = now
						kept = append(kept, fmt.Sprintf("evt_%d", i))
					}
					batch = append(batch, attempt(i, at))
				}
				require.NoError(t, b.store.RecordWebhookDelivery(ctx, batch...))
			}
			for i := old; i < old+3; i++ {
				require.NoError(t, b.store.RecordWebhookDelivery(ctx, attempt(i, now.Add(-time.Hour))))
				kept = append(kept, fmt.Sprintf("evt_%d", i))
			}

			b.start(t) // the prune runs when the runner starts, then hourly
			var left []string
			require.Eventually(t, func() bool {
				page, err := b.svc.WebhookDeliveries(ctx, b.admin, ep.ID, 0, 100)
				require.NoError(t, err)
				left = left[:0]
				for _, d := range page.Data {
					left = append(left, d.EventID)
				}
				return len(left) <= len(kept)
			}, 30*time.Second, 50*time.Millisecond, "the old attempts went")
			require.ElementsMatch(t, kept, left)
		})
	}
}

// TestLeadDeletedEvent: deleting a lead sends lead.deleted to the endpoints
// subscribed to it, with the lead as it was and who deleted it; a delete
// that finds no lead sends nothing, and an endpoint not subscribed gets
// nothing.
func TestLeadDeletedEvent(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, dsn, webhooks.Options{})
			deleted, other := newReceiver(t, 0), newReceiver(t, 0)
			_, err := b.svc.CreateWebhook(ctx, b.admin, leads.WebhookInput{URL: deleted.srv.URL, EventTypes: []leads.EventType{leads.EventTypeDeleted}})
			require.NoError(t, err)
			_, err = b.svc.CreateWebhook(ctx, b.admin, leads.WebhookInput{URL: other.srv.URL, EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			b.start(t)
			l := createLead(t, b, "Ann")
			require.NoError(t, b.svc.DeleteLead(ctx, b.admin, l.ID))
			require.Equal(t, leads.CodeNotFound, leads.ErrorCode(b.svc.DeleteLead(ctx, b.admin, l.ID)))

			require.Eventually(t, func() bool { return len(deleted.requests()) == 1 && len(other.requests()) == 1 },
				20*time.Second, 20*time.Millisecond)
			var got struct {
				Type leads.EventType `json:"type"`
				Data struct {
					LeadID  int64          `json:"leadId"`
					Lead    leads.Lead     `json:"lead"`
					Details map[string]any `json:"details"`
				} `json:"data"`
			}
			require.NoError(t, json.Unmarshal(deleted.requests()[0].body, &got))
			require.Equal(t, leads.EventTypeDeleted, got.Type)
			require.Equal(t, l.ID, got.Data.LeadID)
			require.Equal(t, "Ann", got.Data.Lead.FirstName, "the lead as it was")
			require.Equal(t, "admin@example.com", got.Data.Details["deletedBy"])
			require.NoError(t, json.Unmarshal(other.requests()[0].body, &got))
			require.Equal(t, leads.EventTypeCreated, got.Type, "the other endpoint got its lead.created only")
		})
	}
}
