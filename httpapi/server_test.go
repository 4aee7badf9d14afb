package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// brokenStore is the real store whose lead facts read fails or panics on demand.
type brokenStore struct {
	leads.Store
	fail func() error
}

func (s brokenStore) LeadFacts(ctx context.Context, q leads.LeadFactsQuery) (leads.LeadFacts, error) {
	if err := s.fail(); err != nil {
		return leads.LeadFacts{}, err
	}
	return s.Store.LeadFacts(ctx, q)
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	t.Parallel()
	b := storetest.SQLite(t)
	mode := ""
	f := newFixture(t, b, withStore(func(s leads.Store) leads.Store {
		return brokenStore{s, func() error {
			switch mode {
			case "panic":
				panic("the password is hunter2")
			case "error":
				return errors.New("connection to 10.0.0.7 refused: password hunter2")
			}
			return nil
		}}
	}))
	for _, m := range []string{"panic", "error"} {
		mode = m
		res := f.call("agent", "POST", "/leads", f.westLead(nil), "X-Request-Id", "req-"+m)
		require.Equal(t, http.StatusInternalServerError, res.status, m)
		require.JSONEq(t, `{"error":"internal error","code":"INTERNAL","details":{"requestId":"req-`+m+`"}}`, string(res.body))
		require.Contains(t, f.logs.String(), "hunter2", "the cause is logged in full")
		require.Contains(t, f.logs.String(), `"request_id":"req-`+m+`"`)
	}
	mode = ""
	res := f.call("agent", "POST", "/leads", f.westLead(nil))
	require.Equal(t, http.StatusCreated, res.status, "the server goes on after a panic")
	require.Contains(t, f.logs.String(), "goroutine", "a panic is logged with its stack")
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	b := storetest.SQLite(t)
	var redisDown, databaseDown atomic.Bool
	down := func(flag *atomic.Bool, what string) httpapi.Check {
		return func(context.Context) error {
			if flag.Load() {
				return errors.New("dial tcp " + what + ": connection refused")
			}
			return nil
		}
	}
	a := newAPI(t, b, withConfig(func(c *httpapi.Config) {
		c.Ready = map[string]httpapi.Check{"database": down(&databaseDown, "127.0.0.1:5432")}
		c.Degraded = map[string]httpapi.Check{"redis": down(&redisDown, "127.0.0.1:6379")}
	}))
	res := a.call("", "GET", "/healthz", nil)
	require.Equal(t, http.StatusOK, res.status)
	res = a.call("", "GET", "/readyz", nil)
	require.Equal(t, http.StatusOK, res.status)
	require.JSONEq(t, `{"status":"ready","checks":{"database":"ok","redis":"ok"}}`, string(res.body))

	redisDown.Store(true)
	res = a.call("", "GET", "/readyz", nil)
	require.Equal(t, http.StatusOK, res.status, "without Redis the server still serves")
	require.Equal(t, "degraded", res.json(t)["status"])
	require.Contains(t, res.json(t)["checks"].(map[string]any)["redis"], "connection refused")

	databaseDown.Store(true)
	res = a.call("", "GET", "/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	require.Equal(t, "unavailable", res.json(t)["status"])
	require.Contains(t, res.json(t)["checks"].(map[string]any)["database"], "connection refused")

	res = a.call("", "GET", "/openapi.yaml", nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, httpapi.OpenAPI(), res.body)
}

func TestRequestIDsAndAccessLog(t *testing.T) {
	t.Parallel()
	a := newAPI(t, storetest.SQLite(t))
	res := a.call("", "GET", "/healthz", nil, "X-Request-Id", "abc-123")
	require.Equal(t, "abc-123", res.header.Get("X-Request-Id"))
	res = a.call("", "GET", "/healthz", nil, "X-Request-Id", "evil\"id with spaces")
	require.Regexp(t, `^[0-9a-f]{16}$`, res.header.Get("X-Request-Id"), "an unsafe id is replaced")
	a.call("agent", "GET", "/teams", nil)
	var line string
	for _, l := range strings.Split(a.logs.String(), "\n") {
		if strings.Contains(l, `"path":"/teams"`) {
			line = l
		}
	}
	require.Contains(t, line, `"msg":"request"`)
	require.Contains(t, line, `"method":"GET"`)
	require.Contains(t, line, `"status":200`)
	require.Contains(t, line, `"account":"`+a.account+`"`)
	require.Contains(t, line, `"user":"agent-`+a.account+`@example.com"`)
	require.Contains(t, line, `"api_key":"lr_`)
	require.NotContains(t, a.logs.String(), a.keys["agent"])
}
