package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/webhooks"
)

// The receiver reads the payload's top-level timestamp, wherever the key
// is, and not a lead's field of the same name.
func TestEventTimestamp(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"first", `{"timestamp":"2026-12-04T10:00:00.123456789Z","type":"lead.assigned","data":{}}`, true},
		{"after the data", `{"type":"lead.assigned","data":{"lead":{"customFields":{"timestamp":"2020-01-01T00:00:00Z"}}},"timestamp":"2026-12-04T10:00:00.123456789Z"}`, true},
		{"only nested", `{"data":{"timestamp":"2026-12-04T10:00:00.123456789Z"}}`, false},
		{"not a time", `{"timestamp":"soon"}`, false},
		{"not an object", `["timestamp"]`, false},
		{"cut short", `{"type":"lead.as`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := eventTimestamp([]byte(tc.body))
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.True(t, at.Equal(got), "got %v", got)
			}
		})
	}
}

// The receiver of --webhooks reads HTTP/1.1 itself: deliveries over one
// kept connection each count once, a repeat of a webhook-id counts as a
// repeat, and a body without a Content-Length is refused with 411.
func TestHookSinkReadsHTTP(t *testing.T) {
	t.Parallel()
	s, err := startHookSink(1)
	require.NoError(t, err)
	defer s.close()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	post := func(id string, body io.Reader) int {
		req, err := http.NewRequest(http.MethodPost, s.urls[0], body)
		require.NoError(t, err)
		req.Header.Set(webhooks.HeaderID, id)
		res, err := client.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		return res.StatusCode
	}
	payload := func(id string) string {
		return `{"type":"lead.assigned","timestamp":"` + time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano) + `","data":{"eventId":"` + id + `"}}`
	}
	for _, id := range []string{"msg_1", "msg_2", "msg_1"} {
		require.Equal(t, http.StatusNoContent, post(id, strings.NewReader(payload(id))))
	}
	got, _ := s.received()
	require.EqualValues(t, 2, got)
	s.mu.Lock()
	require.EqualValues(t, 1, s.repeats)
	require.GreaterOrEqual(t, s.lags[0], time.Second)
	s.mu.Unlock()

	chunked := io.MultiReader(strings.NewReader(payload("msg_3"))) // no length: sent chunked
	require.Equal(t, http.StatusLengthRequired, post("msg_3", chunked))
	got, _ = s.received()
	require.EqualValues(t, 2, got)
}
