package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// heldReads is a store whose lead listings wait, once they have started,
// until they are let go: reports that take long, as a search over 100k
// leads or a page a slow client reads does.
type heldReads struct {
	leads.Store
	started chan struct{}
	release chan struct{}
}

func (s heldReads) ListLeads(ctx context.Context, q leads.LeadQuery) ([]leads.Lead, error) {
	s.started <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.ListLeads(ctx, q)
}

// TestIssue10_10_HeavyReadsCannotStarveCreates: with as many reports
// running as the server admits, in all and for one API key, a further
// report is refused at once with 429 TOO_MANY_READS, Retry-After and the
// bound it met, while leads are still created (201) and single leads read.
// Before, nothing bounded reports: every one queued for the database beside
// lead intake (32 clients paging took creates from 541/s to 1.5/s).
func TestIssue10_10_HeavyReadsCannotStarveCreates(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		held := heldReads{started: make(chan struct{}, 8), release: make(chan struct{})}
		f := newFixture(t, b,
			withStore(func(s leads.Store) leads.Store { held.Store = s; return held }),
			withConfig(func(c *httpapi.Config) {
				c.Reads = httpapi.ReadLimits{Concurrent: 2, PerKey: 1, Wait: 50 * time.Millisecond}
			}))
		lead := f.call("agent", "POST", "/leads", f.westLead(nil))
		require.Equal(t, http.StatusCreated, lead.status, "%s", lead.body)

		// Two reports run, of two keys: the server's bound is reached.
		statuses := make(chan int, 2)
		var wg sync.WaitGroup
		for _, who := range []string{"agent", "manager"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("GET", f.url+"/leads?limit=500&q=zz", nil)
				req.Header.Set("Authorization", "Bearer "+f.keys[who])
				req.Header.Set("x-account-id", f.account)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					statuses <- 0
					return
				}
				_ = res.Body.Close()
				statuses <- res.StatusCode
			}()
			<-held.started
		}

		refused := func(who, path, scope string, limit float64) {
			t.Helper()
			res := f.call(who, "GET", path, nil)
			require.Equal(t, http.StatusTooManyRequests, res.status, "%s %s: %s", who, path, res.body)
			require.Equal(t, httpapi.CodeTooManyReads, res.code(t))
			require.Equal(t, "1", res.header.Get("Retry-After"))
			details, _ := res.json(t)["details"].(map[string]any)
			require.Equal(t, scope, details["scope"])
			require.Equal(t, limit, details["limit"])
		}
		refused("agent", "/leads", "API key", 1) // the agent's key has its one report running
		refused("admin", "/leads?q=ada", "server", 2)
		refused("admin", "/audit", "server", 2)
		refused("manager", fmt.Sprintf("/teams/%d/stats", f.west.ID), "API key", 1)

		// Lead intake never waits on reports; nor does reading one lead.
		for range 3 {
			res := f.call("agent", "POST", "/leads", f.westLead(nil))
			require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
		}
		require.Equal(t, http.StatusOK, f.call("agent", "GET", "/leads/"+fmt.Sprint(lead.json(t)["id"]), nil).status)

		// The reports finish, and their slots are free again.
		close(held.release)
		wg.Wait()
		close(statuses)
		for st := range statuses {
			require.Equal(t, http.StatusOK, st)
		}
		// The server's slots come back after a cool-down as long as the
		// reads took (at most 2 s).
		var res response
		require.Eventually(t, func() bool {
			res = f.call("agent", "GET", "/leads?limit=500", nil)
			return res.status != http.StatusTooManyRequests
		}, 5*time.Second, 20*time.Millisecond)
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		require.Len(t, res.json(t)["data"], 4)
		require.Equal(t, http.StatusOK, f.call("admin", "GET", "/audit", nil).status)
	})
}
