package httpapi_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestSecretsStayOutOfLogsAndAudit sends API keys every way a client may,
// to requests that succeed, are refused, fail and panic, with the server
// logging at debug level: no key, nor its hash, may reach the log, a
// response or the audit log, where credential headers are masked.
func TestSecretsStayOutOfLogsAndAudit(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		logs := &syncBuffer{}
		var mode atomic.Value
		mode.Store("")
		f := newFixture(t, b, withStore(func(s leads.Store) leads.Store {
			return brokenStore{s, func() error {
				switch mode.Load() {
				case "panic":
					panic("store exploded")
				case "error":
					return errors.New("connection reset by peer")
				}
				return nil
			}}
		}), withConfig(func(c *httpapi.Config) {
			c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}))
		admin := f.keys["admin"]
		unknown := leads.APIKeyPrefix + strings.Repeat("k3y", 14) + "x"
		secrets := []string{admin, f.keys["revoked"], f.keys["outsider"], unknown}
		// Every credential header at once, each carrying the admin's key; the
		// last one's name says nothing of what it holds.
		leaky := []string{"Cookie", "session=" + admin, "X-Api-Key", admin, "X-Forwarded-Authorization", "Bearer " + admin,
			"Proxy-Authorization", "Bearer " + admin, "X-Leadrotor-Token", admin, "X-Upstream", "key=" + admin}

		var responses []string
		requests := 0
		send := func(what string, status int, who, method, path string, body any, headers ...string) response {
			t.Helper()
			requests++
			res := f.call(who, method, path, body, headers...)
			require.Equal(t, status, res.status, "%s: %s", what, res.body)
			responses = append(responses, fmt.Sprint(res.header)+string(res.body))
			return res
		}
		send("a read", 200, "admin", "GET", "/teams", nil)
		send("the key in the query string, refused", 400, "admin", "GET", "/teams?api_key="+admin, nil)
		send("no x-account-id", 400, "admin", "GET", "/teams", nil, "x-account-id", "")
		send("not a bearer token", 401, "", "GET", "/teams", nil, "Authorization", "Token "+admin)
		send("a key without a scheme", 401, "", "GET", "/teams", nil, "Authorization", admin)
		send("an unknown key", 401, "", "GET", "/teams", nil, "Authorization", "Bearer "+unknown)
		send("a revoked key", 401, "revoked", "GET", "/teams", nil)
		send("a key of a non-member", 403, "outsider", "GET", "/teams", nil)
		send("a refused lead", 401, "revoked", "POST", "/leads", f.westLead(nil), leaky...)
		send("an invalid lead", 400, "admin", "POST", "/leads", f.westLead(map[string]any{"firstName": 5}), leaky...)
		created := send("a lead", 201, "admin", "POST", "/leads", f.westLead(nil), leaky...)
		path := fmt.Sprintf("/leads/%v", created.json(t)["id"])
		send("an update", 200, "admin", "PATCH", path, map[string]any{"notes": "called"}, leaky...)
		for _, m := range []string{"panic", "error"} {
			mode.Store(m)
			send("a read that "+m+"s", 500, "admin", "GET", "/teams", nil, leaky...)
			send("a lead that "+m+"s", 500, "admin", "POST", "/leads", f.westLead(nil), leaky...)
		}
		mode.Store("")
		audit := send("the audit log", 200, "admin", "GET", "/audit", nil)

		log := logs.String()
		require.Equal(t, requests, strings.Count(log, `"msg":"request"`), "every request is logged")
		require.Contains(t, log, "store exploded", "the panic is logged")
		require.Contains(t, log, "connection reset by peer", "the error is logged")
		for _, secret := range secrets {
			// What follows the public prefix is the secret part.
			for _, s := range []string{secret[len(leads.APIKeyPrefix)+8:], leads.HashAPIKey(secret)} {
				require.NotContains(t, log, s, "the log holds a key or its hash")
				for _, res := range responses {
					require.NotContains(t, res, s, "a response holds a key or its hash")
				}
			}
		}

		var withHeaders int
		for _, e := range audit.json(t)["data"].([]any) {
			headers, _ := e.(map[string]any)["requestHeaders"].(map[string]any)
			if headers == nil {
				continue // set up in process, not by a request
			}
			withHeaders++
			for i := 0; i < len(leaky); i += 2 {
				require.Equal(t, httpapi.Masked, headers[leaky[i]], "%s in the audit log", leaky[i])
			}
			require.Equal(t, httpapi.Masked, headers["Authorization"])
			require.Equal(t, f.account, headers["X-Account-Id"], "the other headers are kept")
		}
		require.Equal(t, 3, withHeaders, "lead_created, lead_assigned and lead_updated came by request")
	})
}
