package webhooks

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// TestPayloadAgreesWithEncodingJSON: a standard delivery's body is, byte
// for byte, what json.Marshal writes of the structs it was made from
// before it was written by hand: receivers that parsed it parse it alike.
func TestPayloadAgreesWithEncodingJSON(t *testing.T) {
	type eventData struct {
		EventID   string         `json:"eventId"`
		AccountID string         `json:"accountId"`
		LeadID    int64          `json:"leadId"`
		Lead      *leads.Lead    `json:"lead,omitempty"`
		Details   map[string]any `json:"details,omitempty"`
	}
	type standardPayload struct {
		Type      leads.EventType `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      eventData       `json:"data"`
	}
	at := time.Date(2026, 12, 5, 9, 30, 0, 120000000, time.FixedZone("paris", 3600))
	score := int64(80)
	lead := &leads.Lead{ID: 7, AccountID: "acme <co>", LeadInput: leads.LeadInput{FirstName: "Ada & \"Bo\"", LastName: "L\u2028",
		Email: "ada@acme.test", HotScore: &score, Metadata: map[string]any{"b": json.Number("1.50"), "a": []any{"x", 2.5, nil}}},
		AssignmentStatus: leads.AssignmentAssigned, AssignedAt: &at, CreatedAt: at, UpdatedAt: at.UTC()}
	for _, e := range []leads.Event{
		{ID: "evt_1", Type: leads.EventTypeAssigned, AccountID: "acme", LeadID: 7, At: at, Lead: lead},
		{ID: "evt_2", Type: leads.EventTypeReassigned, AccountID: "acme", LeadID: 7, At: at.UTC(), Lead: lead,
			Data: map[string]any{"previousAssignee": "<rep>@acme.test", "reason": "sla_expired", "n": 3}},
		{ID: "evt_3", Type: leads.EventTypeDeleted, AccountID: "a\tb", LeadID: 0, At: at, Data: map[string]any{}},
	} {
		want, err := json.Marshal(standardPayload{Type: e.Type, Timestamp: e.At.UTC(),
			Data: eventData{EventID: e.ID, AccountID: e.AccountID, LeadID: e.LeadID, Lead: e.Lead, Details: e.Data}})
		require.NoError(t, err)
		got, err := Payload(e, leads.WebhookStandard)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "event %s", e.ID)
	}
	_, err := Payload(leads.Event{ID: "evt_4", Data: map[string]any{"bad": make(chan int)}}, leads.WebhookStandard)
	require.Error(t, err, "a value JSON cannot hold")
}

// TestSlackSaysWhatAnSLAExpiryDid: a slack endpoint's line for
// lead.sla_expired names the rep who missed the deadline and what happened
// to the lead, whether its data holds times or their JSON text.
func TestSlackSaysWhatAnSLAExpiryDid(t *testing.T) {
	monday := time.Date(2025, 6, 9, 13, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		action   string
		assignee string
		extra    map[string]any
		want     string
	}{
		{leads.SLAReassigned, "bob@acme.test", nil, "Ada L (lead #7) was not accepted in time by ann@acme.test: it moves to bob@acme.test"},
		{leads.SLAWait, "ann@acme.test", map[string]any{"waitUntil": monday, "nextAvailable": "bob@acme.test"},
			"Ada L (lead #7) was not accepted in time by ann@acme.test, who keeps it until 2025-06-09T13:00:00Z, when bob@acme.test is back"},
		{leads.SLAWait, "ann@acme.test", map[string]any{"waitUntil": "2025-06-09T13:00:00Z", "nextAvailable": "bob@acme.test"},
			"Ada L (lead #7) was not accepted in time by ann@acme.test, who keeps it until 2025-06-09T13:00:00Z, when bob@acme.test is back"},
		{leads.SLAFallback, "lead-desk@acme.test", nil, "Ada L (lead #7) was not accepted in time by ann@acme.test: it goes to the fallback, lead-desk@acme.test"},
		{leads.SLAHold, "", nil, "Ada L (lead #7) was not accepted in time by ann@acme.test: it waits for a manager to give it"},
		{leads.SLAKeep, "ann@acme.test", nil, "Ada L (lead #7) was not accepted in time by ann@acme.test, who keeps it"},
		{"", "ann@acme.test", nil, "Ada L (lead #7) was not accepted in time by ann@acme.test"},
	} {
		data := map[string]any{"assignee": "ann@acme.test", "action": tc.action}
		for k, v := range tc.extra {
			data[k] = v
		}
		e := leads.Event{ID: "evt_1", Type: leads.EventTypeSLAExpired, AccountID: "acme", LeadID: 7, At: monday, Data: data,
			Lead: &leads.Lead{ID: 7, LeadInput: leads.LeadInput{FirstName: "Ada", LastName: "L", AssignedTo: tc.assignee}}}
		got, err := Payload(e, leads.WebhookSlack)
		require.NoError(t, err)
		var body struct{ Text string }
		require.NoError(t, json.Unmarshal(got, &body))
		require.Equal(t, tc.want, body.Text, "action %q", tc.action)
	}
}
