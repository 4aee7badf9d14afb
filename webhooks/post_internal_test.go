package webhooks

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// TestPostRefusesPrivateAddresses: without AllowPrivate, a delivery is
// refused where the connection is made (the endpoint's name may resolve
// to a private address after it was saved), by the runner's own client
// and by Go's (used with a Transport wrapper), and nothing reaches the
// receiver.
func TestPostRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	ep := &leads.WebhookEndpoint{ID: 1, AccountID: "2311", URL: srv.URL + "/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	a := deliveryArgs{EndpointID: 1, AccountID: "2311", EventID: "evt_1", EventType: leads.EventTypeCreated, Payload: `{}`}
	for name, transport := range map[string]func(http.RoundTripper) http.RoundTripper{
		"own client": nil,
		"Go's":       func(t http.RoundTripper) http.RoundTripper { return t },
	} {
		r := New(Options{Transport: transport})
		status, err := r.post(context.Background(), ep, a)
		require.ErrorContains(t, err, "refusing to deliver to private address 127.0.0.1", name)
		require.Zero(t, status, name)
	}
	require.Zero(t, hits.Load())
}

// TestPostBoundsTheAnswer: a receiver that answers without end (headers,
// or a body) costs a delivery a bounded read, not the server's memory
// until the timeout: endless headers fail the attempt at once, an endless
// body is cut after what a delivery reads.
func TestPostBoundsTheAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, head, repeat string
		wantErr            error
	}{
		{"endless headers", "HTTP/1.1 200 OK\r\n", "X-Padding: " + strings.Repeat("a", 1000) + "\r\n", errAnswerTooLarge},
		{"endless body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "3e8\r\n" + strings.Repeat("a", 1000) + "\r\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = ln.Close() })
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer func() { _ = conn.Close() }()
				_, _ = http.ReadRequest(bufio.NewReader(conn))
				if _, err := io.WriteString(conn, tc.head); err != nil {
					return
				}
				for {
					if _, err := io.WriteString(conn, tc.repeat); err != nil {
						return // the poster hung up
					}
				}
			}()
			r := New(Options{AllowPrivate: true, Timeout: time.Minute})
			ep := &leads.WebhookEndpoint{ID: 1, AccountID: "2311", URL: "http://" + ln.Addr().String() + "/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
			status, err := r.post(context.Background(), ep, deliveryArgs{EventID: "evt_1", Payload: `{}`})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status)
		})
	}
}

// TestPostAfterTheReceiverDroppedItsConnections: a receiver that closes
// every connection after its answer (without saying so) leaves the
// poster's idle connections all dead; the next delivery finds one dead,
// drops the others, and goes over a new connection.
func TestPostAfterTheReceiverDroppedItsConnections(t *testing.T) {
	t.Parallel()
	rc := NewRawReceiver(t, "HTTP/1.1 204 No Content\r\n\r\n", true)
	r := New(Options{AllowPrivate: true})
	ep := &leads.WebhookEndpoint{ID: 1, AccountID: "2311", URL: rc.URL, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	a := deliveryArgs{EventID: "evt_1", Payload: `{}`}
	// Eight at once: eight connections, each closed by the receiver once
	// answered, all kept idle by the poster.
	start := make(chan struct{})
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			<-start
			_, err := r.post(context.Background(), ep, a)
			errs <- err
		}()
	}
	close(start)
	for range 8 {
		require.NoError(t, <-errs)
	}
	for i := range 3 {
		status, err := r.post(context.Background(), ep, a)
		require.NoError(t, err, "delivery %d after the connections died", i)
		require.Equal(t, http.StatusNoContent, status)
	}
	require.Len(t, rc.Received(), 11, "each delivery served once")
}
