package webhooks_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/webhooks"
)

// newIDReceiver is an httptest server, with TLS when tlsOn, that answers
// with answer and keeps the webhook-id of each request it gets.
func newIDReceiver(t *testing.T, tlsOn bool, answer func(http.ResponseWriter)) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		mu.Lock()
		ids = append(ids, req.Header.Get(webhooks.HeaderID))
		mu.Unlock()
		answer(w)
	}))
	if tlsOn {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ids...)
	}
}

// TestDeliveryToReceivers: deliveries one after another (each over the
// connection the last left open, where the receiver keeps it) arrive once
// each and are logged as succeeded, whatever the receiver does with its
// connections and answers.
func TestDeliveryToReceivers(t *testing.T) {
	t.Parallel()
	tlsSrv, tlsReceived := newIDReceiver(t, true, func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) })
	roots := x509.NewCertPool()
	roots.AddCert(tlsSrv.Certificate())
	big, bigReceived := newIDReceiver(t, false, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusOK)
		for range 50 { // 250 KB, chunked: past what a delivery reads
			_, _ = io.WriteString(w, strings.Repeat("x", 5000))
			w.(http.Flusher).Flush()
		}
	})

	for _, tc := range []struct {
		name string
		// endpoint returns the endpoint's URL and what it received, by
		// webhook-id, in order.
		endpoint func(t *testing.T) (string, func() []string)
		opts     webhooks.Options
	}{
		{name: "closes every connection after its answer", endpoint: func(t *testing.T) (string, func() []string) {
			rc := webhooks.NewRawReceiver(t, "HTTP/1.1 204 No Content\r\n\r\n", true)
			return rc.URL, rc.Received
		}},
		{name: "answers 103 Early Hints first", endpoint: func(t *testing.T) (string, func() []string) {
			rc := webhooks.NewRawReceiver(t, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok", false)
			return rc.URL, rc.Received
		}},
		{name: "answers chunked", endpoint: func(t *testing.T) (string, func() []string) {
			rc := webhooks.NewRawReceiver(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false)
			return rc.URL, rc.Received
		}},
		{name: "HTTP/1.0 without keep-alive", endpoint: func(t *testing.T) (string, func() []string) {
			rc := webhooks.NewRawReceiver(t, "HTTP/1.0 200 OK\r\n\r\n", true)
			return rc.URL, rc.Received
		}},
		{name: "answers more than a delivery reads", endpoint: func(*testing.T) (string, func() []string) {
			return big.URL + "/hook", bigReceived
		}},
		{name: "https with a private CA", opts: webhooks.Options{TLSConfig: &tls.Config{RootCAs: roots}},
			endpoint: func(*testing.T) (string, func() []string) {
				return tlsSrv.URL + "/hook", tlsReceived
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, "file:"+t.TempDir()+"/leadrotor.db", tc.opts)
			url, received := tc.endpoint(t)
			ep, err := b.svc.CreateWebhook(context.Background(), b.admin, leads.WebhookInput{URL: url,
				EventTypes: []leads.EventType{leads.EventTypeCreated}})
			require.NoError(t, err)
			b.start(t)
			const n = 4
			for i := range n {
				createLead(t, b, "Ann")
				// One at a time: the next delivery finds the connection
				// this one left.
				require.Eventually(t, func() bool { return len(received()) >= i+1 }, 10*time.Second, 10*time.Millisecond)
			}
			var page *leads.WebhookDeliveryPage
			require.Eventually(t, func() bool {
				page, err = b.svc.WebhookDeliveries(context.Background(), b.admin, ep.ID, 0, 100)
				require.NoError(t, err)
				return len(page.Data) == n
			}, 10*time.Second, 10*time.Millisecond, "every delivery logged")
			for _, d := range page.Data {
				require.True(t, d.Succeeded, "attempt %d of %s: %s", d.Attempt, d.EventID, d.Error)
				require.Equal(t, 1, d.Attempt, "delivered at the first attempt")
			}
			ids := received()
			require.Len(t, ids, n, "each event received once")
			seen := map[string]bool{}
			for _, id := range ids {
				require.False(t, seen[id], "event %s received twice", id)
				seen[id] = true
			}
		})
	}
}
