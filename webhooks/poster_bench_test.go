package webhooks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadrotor/leadrotor/leads"
)

// BenchmarkPost: one delivery of a 1.5 KB event to a receiver on loopback
// (in this process: its cost is in both arms), 64 at once, through Go's
// http.Transport and through the runner's own client.
func BenchmarkPost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ep := &leads.WebhookEndpoint{ID: 1, AccountID: "2311", URL: srv.URL + "/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	a := deliveryArgs{EndpointID: 1, AccountID: "2311", EventID: "evt_0123456789abcdef", EventType: leads.EventTypeAssigned,
		Payload: `{"type":"lead.assigned","data":{` + strings.Repeat(`"k":"v",`, 180) + `"end":1}}`}
	for _, arm := range []struct {
		name      string
		transport func(http.RoundTripper) http.RoundTripper
	}{
		{"transport", func(t http.RoundTripper) http.RoundTripper { return t }},
		{"poster", nil},
	} {
		b.Run(arm.name, func(b *testing.B) {
			r := New(Options{AllowPrivate: true, Transport: arm.transport})
			b.SetParallelism(32) // 64 goroutines on 2 CPUs
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := r.post(context.Background(), ep, a); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
