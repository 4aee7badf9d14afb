package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

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
