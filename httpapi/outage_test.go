package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/ratelimit"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestUnreachableDatabaseIs503 checks that a database that refuses
// connections, or does not answer within the request timeout, is a 503
// SERVICE_UNAVAILABLE with Retry-After, and that nothing is stored.
func TestUnreachableDatabaseIs503(t *testing.T) {
	t.Parallel()
	mode := ""
	f := newFixture(t, storetest.SQLite(t), withStore(func(s leads.Store) leads.Store {
		return brokenStore{s, func() error {
			if mode == "refused" {
				return leads.Unavailable("the database", fmt.Errorf("failed to connect to `host=127.0.0.1`: %w", syscall.ECONNREFUSED))
			}
			return nil
		}}
	}), withStore(func(s leads.Store) leads.Store { return hangingStore{s, &mode} }),
		withConfig(func(c *httpapi.Config) { c.RequestTimeout = time.Second }))
	for _, m := range []string{"refused", "hung"} {
		mode = m
		res := f.call("agent", "POST", "/leads", f.westLead(nil), "X-Request-Id", "req-"+m)
		require.Equal(t, http.StatusServiceUnavailable, res.status, m)
		require.Equal(t, strconv.Itoa(httpapi.RetryAfterUnavailable), res.header.Get("Retry-After"))
		require.Equal(t, leads.CodeServiceUnavailable, res.code(t))
		require.Equal(t, "req-"+m, res.json(t)["details"].(map[string]any)["requestId"])
		require.NotContains(t, string(res.body), "127.0.0.1", "the cause stays in the log")
	}
	mode = ""
	res := f.call("agent", "GET", "/leads", nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Empty(t, res.json(t)["data"], "nothing was stored")
	require.Equal(t, http.StatusCreated, f.call("agent", "POST", "/leads", f.westLead(nil)).status, "back: it goes on")
}

// hangingStore is a store whose lead facts read hangs until the request gives
// up, as a database that stopped answering does.
type hangingStore struct {
	leads.Store
	mode *string
}

func (s hangingStore) LeadFacts(ctx context.Context, q leads.LeadFactsQuery) (leads.LeadFacts, error) {
	if *s.mode == "hung" {
		<-ctx.Done()
		return leads.LeadFacts{}, fmt.Errorf("lead facts: %w", ctx.Err())
	}
	return s.Store.LeadFacts(ctx, q)
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t), withConfig(func(c *httpapi.Config) {
		c.RateLimits = httpapi.RateLimits{Limiter: ratelimit.NewMemory(),
			PerKey: ratelimit.Limit{Rate: 3, Period: time.Hour}, PerAccount: ratelimit.Limit{Rate: 5, Period: time.Hour}}
	}))
	for i := range 3 {
		res := f.call("agent", "POST", "/leads", f.westLead(nil))
		require.Equal(t, http.StatusCreated, res.status)
		require.Equal(t, "3", res.header.Get("X-RateLimit-Limit"), "the key's limit is the tightest")
		require.Equal(t, strconv.Itoa(2-i), res.header.Get("X-RateLimit-Remaining"))
		require.NotEmpty(t, res.header.Get("X-RateLimit-Reset"))
	}
	res := f.call("agent", "POST", "/leads", f.westLead(nil))
	require.Equal(t, http.StatusTooManyRequests, res.status)
	require.Equal(t, httpapi.CodeRateLimited, res.code(t))
	require.Equal(t, "API key", res.json(t)["details"].(map[string]any)["scope"])
	retry, err := strconv.Atoi(res.header.Get("Retry-After"))
	require.NoError(t, err)
	require.InDelta(t, 1200, retry, 1, "one request per 20 minutes comes back")
	require.Equal(t, http.StatusTooManyRequests, f.call("agent", "GET", "/teams", nil).status, "every route of the key")

	// A made-up key with the real key's public prefix has its own allowance.
	fake := f.keys["agent"][:11] + "0000000000000000000000000000000000"
	res = f.call("", "GET", "/teams", nil, "Authorization", "Bearer "+fake)
	require.Equal(t, http.StatusUnauthorized, res.status)

	// The account's allowance counts its keys together: the agent used 3 of 5.
	require.Equal(t, http.StatusOK, f.call("manager", "GET", "/teams", nil).status)
	require.Equal(t, http.StatusCreated, f.call("manager", "POST", "/leads", f.westLead(nil)).status)
	res = f.call("admin", "POST", "/leads", f.westLead(nil))
	require.Equal(t, http.StatusTooManyRequests, res.status)
	require.Equal(t, "account", res.json(t)["details"].(map[string]any)["scope"])
	require.Equal(t, "5", res.header.Get("X-RateLimit-Limit"))
	require.Equal(t, "0", res.header.Get("X-RateLimit-Remaining"))

	// Refused requests stored nothing: 4 leads, the 3 of the agent and the manager's.
	var n int
	page, err := f.svc.ListLeads(context.Background(), f.actor("admin"), leads.ListOptions{Limit: 100})
	require.NoError(t, err)
	n = len(page.Data)
	require.Equal(t, 4, n)

	// Public routes are not limited.
	require.Equal(t, http.StatusOK, f.call("", "GET", "/healthz", nil).status)
}
