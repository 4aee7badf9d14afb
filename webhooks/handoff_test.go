package webhooks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/webhooks"
)

// handOffCount is a webhooks.HandOffMeter that counts how hand-offs
// ended, and nothing else.
type handOffCount struct {
	mu           sync.Mutex
	posted, left int
}

func (*handOffCount) EventFannedOut(time.Duration)          {}
func (*handOffCount) DeliveryAttempted(bool, time.Duration) {}
func (*handOffCount) EndpointDisabled()                     {}

func (c *handOffCount) HandOffEnded(posted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if posted {
		c.posted++
	} else {
		c.left++
	}
}

func (c *handOffCount) counts() [2]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return [2]int{c.posted, c.left}
}

// handOffs counts the rows of hand-offs not ended in b's database (the
// events' backups), and the jobs of events.
func handOffs(t *testing.T, b *testBundle) (rows, jobs int) {
	t.Helper()
	db := b.store.DB().DB
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM leadrotor_event_handoffs`).Scan(&rows))
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'leadrotor_event'`).Scan(&jobs))
	return rows, jobs
}

// TestNewLeadsHandedOffAtCommit: the events of new leads reach their
// endpoint without a worker looking for jobs (the runner polls once an
// hour here), and their row, the hand-off's backup, is gone once they
// did; no job of events was written.
func TestNewLeadsHandedOffAtCommit(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			meter := &handOffCount{}
			b := setup(t, dsn, webhooks.Options{PollInterval: time.Hour, Meter: meter})
			rc := newReceiver(t, 0)
			_, err := b.svc.CreateWebhook(context.Background(), b.admin, leads.WebhookInput{URL: rc.srv.URL + "/hook",
				EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			b.start(t)
			for _, n := range []string{"Ann", "Bob", "Cid"} {
				createLead(t, b, n)
			}
			require.Eventually(t, func() bool { return len(rc.delivered()) == 3 }, 10*time.Second, 10*time.Millisecond,
				"the events delivered without a poll")
			require.Eventually(t, func() bool { rows, _ := handOffs(t, b); return rows == 0 }, 10*time.Second, 20*time.Millisecond,
				"the hand-offs' rows deleted")
			_, jobs := handOffs(t, b)
			require.Zero(t, jobs, "no job of events")
			require.Len(t, rc.requests(), 3, "each event delivered once")
			require.Equal(t, [2]int{3, 0}, meter.counts(), "hand-offs posted, left to their job")
		})
	}
}

// TestStopLeavesHandOffsToTheirJobs: a runner stopped while it hands
// events off (the receiver holds the first request past the stop's
// deadline) turns their row into a job to run at once; another runner on
// the same database delivers the events, with the same webhook-id.
func TestStopLeavesHandOffsToTheirJobs(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var ids []string
			hold := make(chan struct{})
			held := make(chan struct{}, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				mu.Lock()
				ids = append(ids, req.Header.Get(webhooks.HeaderID))
				first := len(ids) == 1
				mu.Unlock()
				if first {
					held <- struct{}{}
					select {
					case <-hold:
					case <-req.Context().Done():
					}
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(hold) }) // before srv.Close, which waits for the handler

			meter := &handOffCount{}
			b := setup(t, dsn, webhooks.Options{PollInterval: time.Hour, Meter: meter})
			_, err := b.svc.CreateWebhook(context.Background(), b.admin, leads.WebhookInput{URL: srv.URL + "/hook",
				EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			require.NoError(t, b.runner.Start(context.Background()))
			createLead(t, b, "Ann")
			select {
			case <-held:
			case <-time.After(10 * time.Second):
				t.Fatal("the event was not handed off")
			}
			rows, jobs := handOffs(t, b)
			require.Equal(t, [2]int{1, 0}, [2]int{rows, jobs}, "the hand-off's backup is a row, not a job")

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			require.NoError(t, b.runner.Stop(ctx))
			rows, jobs = handOffs(t, b)
			require.Equal(t, [2]int{0, 1}, [2]int{rows, jobs}, "the row relayed to a job")
			require.Equal(t, [2]int{0, 1}, meter.counts(), "hand-offs posted, left to their job")

			heir := webhooks.New(webhooks.Options{AllowPrivate: true, PollInterval: 20 * time.Millisecond})
			require.NoError(t, heir.Open(b.store.DB().DB, string(b.store.Dialect()), b.store))
			require.NoError(t, heir.Start(context.Background()))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				require.NoError(t, heir.Stop(ctx))
			})
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(ids) == 2
			}, 10*time.Second, 10*time.Millisecond, "the event delivered again")
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, ids[0], ids[1], "the same webhook-id")
		})
	}
}

// TestHandOffOfADeadProcessRelayed: events handed off by a process that
// died before its fan-out (the hand-off's committed, what it returned
// never called) are delivered by another runner once their grace has
// passed (its clock two minutes ahead here), with their webhook-id, and
// their row is gone; a row that cannot be read is dropped, not left to
// stop every relay after it.
func TestHandOffOfADeadProcessRelayed(t *testing.T) {
	t.Parallel()
	for name, dsn := range dsns(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setup(t, dsn, webhooks.Options{PollInterval: time.Hour})
			rc := newReceiver(t, 0)
			_, err := b.svc.CreateWebhook(ctx, b.admin, leads.WebhookInput{URL: rc.srv.URL + "/hook",
				EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			b.start(t)
			lead := createLead(t, b, "Ann")
			require.Eventually(t, func() bool { return len(rc.delivered()) == 1 }, 10*time.Second, 10*time.Millisecond)
			require.Eventually(t, func() bool { rows, _ := handOffs(t, b); return rows == 0 }, 10*time.Second, 10*time.Millisecond)

			handOff := func(id string) {
				tx, err := b.store.DB().DB.BeginTx(ctx, nil)
				require.NoError(t, err)
				after, err := b.runner.HandOffEvents(ctx, tx, []leads.Event{{ID: id, Type: leads.EventTypeCreated,
					AccountID: b.admin.AccountID, LeadID: lead.ID, At: time.Now(), Lead: lead}}, nil)
				require.NoError(t, err)
				require.NotNil(t, after, "handed off")
				require.NoError(t, tx.Commit()) // and the process dies: after is never called
			}
			// A row no relay can read (it cannot be delivered) goes first,
			// and must not hold back the one that can.
			_, err = b.store.DB().NewRaw("INSERT INTO leadrotor_event_handoffs (due_at, events) VALUES (0, ?)", []byte("[garbage")).Exec(ctx)
			require.NoError(t, err)
			handOff("evt_deadprocess00000000000000")
			rows, jobs := handOffs(t, b)
			require.Equal(t, [2]int{2, 0}, [2]int{rows, jobs})

			heir := webhooks.New(webhooks.Options{AllowPrivate: true, PollInterval: 20 * time.Millisecond,
				Now: func() time.Time { return time.Now().Add(2 * time.Minute) }})
			require.NoError(t, heir.Open(b.store.DB().DB, string(b.store.Dialect()), b.store))
			require.NoError(t, heir.Start(ctx))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				require.NoError(t, heir.Stop(ctx))
			})
			require.Eventually(t, func() bool { return len(rc.delivered()) == 2 }, 10*time.Second, 10*time.Millisecond,
				"the event relayed and delivered")
			require.Contains(t, rc.delivered(), "evt_deadprocess00000000000000", "with its webhook-id")
			require.Eventually(t, func() bool { rows, _ := handOffs(t, b); return rows == 0 }, 10*time.Second, 10*time.Millisecond)
		})
	}
}
