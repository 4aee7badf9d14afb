package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
