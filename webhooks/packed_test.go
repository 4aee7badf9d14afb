package webhooks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// A job's events are kept as one JSON string of base64 (one entry of
// river's GIN index on args, nothing to escape), and read back from it or
// from the forms of jobs written before: the JSON text as a string, the
// document.
func TestPackedArgs(t *testing.T) {
	events := []leads.Event{{ID: "evt_1", Type: leads.EventTypeAssigned, AccountID: "acme", LeadID: 7,
		Lead: &leads.Lead{ID: 7, LeadInput: leads.LeadInput{FirstName: "Ada", AssignedTo: "rep@acme.test"}}, Data: map[string]any{"k": "v"}}}
	b, err := json.Marshal(eventArgs{Events: packed[[]leads.Event]{events}})
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.IsType(t, "", doc["events"], "one string, not a document")

	var back eventArgs
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, events[0].ID, back.Events.V[0].ID)
	assert.Equal(t, "rep@acme.test", back.Events.V[0].Lead.AssignedTo)

	assert.NotContains(t, doc["events"], `"`, "base64: no quote to escape")

	inner, err := json.Marshal(events)
	require.NoError(t, err)
	asString, err := json.Marshal(map[string]any{"events": string(inner)})
	require.NoError(t, err)
	asDocument, err := json.Marshal(map[string]any{"events": events})
	require.NoError(t, err)
	for name, old := range map[string][]byte{"JSON text in a string": asString, "document": asDocument} {
		var fromOld eventArgs
		require.NoError(t, json.Unmarshal(old, &fromOld), "a job written before, %s", name)
		assert.Equal(t, back.Events.V, fromOld.Events.V, "a job written before, %s", name)
	}
	var none eventArgs
	require.NoError(t, json.Unmarshal([]byte(`{"events":"null"}`), &none))
	assert.Nil(t, none.Events.V)

	var bad eventArgs
	assert.Error(t, json.Unmarshal([]byte(`{"events":"[{"}`), &bad))
	assert.Error(t, json.Unmarshal([]byte(`{"events":"not base64!"}`), &bad))
}

// TestPackedDecodesAsEncodingJSON: unpacking (encoding/json/v2's decoder)
// gives back exactly what encoding/json's decoder makes of the packed
// text, for events and timers with every field set: zones, nested
// metadata, numbers, escapes, text that is not ASCII.
func TestPackedDecodesAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 3, 29, 1, 59, 59, 123456789, time.FixedZone("CEST", 2*3600))
	lead := &leads.Lead{ID: 7, AccountID: "acme", ApplicationID: "app", RotationID: 3, RotationTurn: 42,
		AssignmentStatus: leads.AssignmentAssigned, AssignedAt: &at, AcceptedAt: &at, SLADueAt: &at,
		LeadInput: leads.LeadInput{FirstName: "Zoë", LastName: "O'Brien <b>&</b>", Email: "zoe@acme.test", AssignedTo: "rep@acme.test",
			Metadata: map[string]any{"score": 97.5, "n": 12, "tags": []any{"a", "b"}, "nested": map[string]any{"ok": true, "none": nil},
				"line": "a\nb\t\"c\" \u2028 😀"}},
		CreatedAt: at, UpdatedAt: at.UTC()}
	events := []leads.Event{
		{ID: "evt_1", Type: leads.EventTypeReassigned, AccountID: "acme", LeadID: 7, At: at, Lead: lead,
			Data: map[string]any{"previousAssignee": "old@acme.test", "reason": "sla_expired", "count": 2}},
		{ID: "evt_2", Type: leads.EventTypeWaiting, AccountID: "acme", LeadID: 8, At: at.UTC()},
	}
	timers := []leads.SLATimer{{AccountID: "acme", LeadID: 7, RotationID: 3, Assignee: "rep@acme.test", AssignedAt: at,
		DueAt: at.Add(5 * time.Minute), Had: []string{"a@acme.test"}, Reassignments: 1}, {AccountID: "acme", LeadID: 8}}

	roundTrip := func(t *testing.T, v any, unpacked, reference any) {
		t.Helper()
		text, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(text, reference))
		packedText, err := json.Marshal(packed[any]{v})
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(packedText, unpacked))
	}
	var evRef []leads.Event
	var ev packed[[]leads.Event]
	roundTrip(t, events, &ev, &evRef)
	assert.Equal(t, evRef, ev.V)
	var tmRef []leads.SLATimer
	var tm packed[[]leads.SLATimer]
	roundTrip(t, timers, &tm, &tmRef)
	assert.Equal(t, tmRef, tm.V)
}

// A group commit's events, kilobytes of the same names, are deflated
// before base64 (marked by a leading '~') and come back the same; one
// small event is not.
func TestPackedDeflatesLargeArgs(t *testing.T) {
	var events []leads.Event
	for i := range 40 {
		events = append(events, leads.Event{ID: fmt.Sprint("evt_", i), Type: leads.EventTypeAssigned, AccountID: "acme", LeadID: int64(i),
			Lead: &leads.Lead{ID: int64(i), LeadInput: leads.LeadInput{FirstName: fmt.Sprint("Ada ", i), Email: fmt.Sprintf("a%d@acme.test", i),
				AssignedTo: "rep@acme.test", Metadata: map[string]any{"utm_source": "ads", "n": float64(i)}}}})
	}
	for _, tc := range []struct {
		name     string
		events   []leads.Event
		deflated bool
	}{
		{"forty events", events, true},
		{"one event", events[:1], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(eventArgs{Events: packed[[]leads.Event]{tc.events}})
			require.NoError(t, err)
			var doc map[string]string
			require.NoError(t, json.Unmarshal(b, &doc))
			assert.Equal(t, tc.deflated, strings.HasPrefix(doc["events"], "~"))
			plain, err := json.Marshal(tc.events)
			require.NoError(t, err)
			if tc.deflated {
				assert.Less(t, len(doc["events"])*3, len(plain), "deflate shrinks the events at least threefold, base64 included")
			}
			var back eventArgs
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, tc.events, back.Events.V)
		})
	}
	var bad eventArgs
	assert.Error(t, json.Unmarshal([]byte(`{"events":"~AAAA"}`), &bad), "not a deflate stream")
}
