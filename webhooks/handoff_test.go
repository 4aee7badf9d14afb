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

// eventJobs counts the jobs of events in b's database, and those of them
// that wait for their time.
func eventJobs(t *testing.T, b *testBundle) (all, scheduled int) {
	t.Helper()
	err := b.store.DB().DB.QueryRow(`SELECT count(*), count(*) FILTER (WHERE state = 'scheduled') FROM river_job
		WHERE kind = 'leadrotor_event'`).Scan(&all, &scheduled)
	require.NoError(t, err)
	return all, scheduled
}

// TestNewLeadsHandedOffAtCommit: the events of new leads reach their
// endpoint without a worker looking for jobs (the runner polls once an
// hour here), and their job, the hand-off's backup, is gone once they
// did.
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
			require.Eventually(t, func() bool { all, _ := eventJobs(t, b); return all == 0 }, 10*time.Second, 20*time.Millisecond,
				"the events' jobs deleted")
			require.Len(t, rc.requests(), 3, "each event delivered once")
			require.Equal(t, [2]int{3, 0}, meter.counts(), "hand-offs posted, left to their job")
		})
	}
}

// TestStopLeavesHandOffsToTheirJobs: a runner stopped while it hands
// events off (the receiver holds the first request past the stop's
// deadline) leaves their job to run at once; another runner on the same
// database delivers the events, with the same webhook-id.
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
			all, scheduled := eventJobs(t, b)
			require.Equal(t, [2]int{1, 1}, [2]int{all, scheduled}, "the hand-off's backup waits for its time")

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			require.NoError(t, b.runner.Stop(ctx))
			all, scheduled = eventJobs(t, b)
			require.Equal(t, [2]int{1, 0}, [2]int{all, scheduled}, "the job runs at once")
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
