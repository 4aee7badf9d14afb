package webhooks

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// BenchmarkEventJob: what a group commit's 12 events cost between the
// change and the worker: encoding the job's arguments as the change is
// written, decoding them in the worker, making each standard body.
func BenchmarkEventJob(b *testing.B) {
	events := make([]leads.Event, 12)
	for i := range events {
		lead := &leads.Lead{ID: int64(1000 + i), AccountID: "2311", LeadInput: leads.LeadInput{FirstName: "Load", LastName: "Test",
			Email: "w1.1.123456789@load.test", Phone: "+1-555-0001", Company: "Bench 1", AssignedTo: "ana@example.com",
			Metadata: map[string]any{"utm_source": "bench", "campaign": "load"}}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		events[i] = leads.Event{ID: "evt_0123456789abcdef", Type: leads.EventTypeAssigned, AccountID: "2311", LeadID: lead.ID, At: time.Now(), Lead: lead}
	}
	b.ReportAllocs()
	for b.Loop() {
		raw, err := json.Marshal(eventArgs{Events: packed[[]leads.Event]{events}})
		if err != nil {
			b.Fatal(err)
		}
		var back eventArgs
		if err := json.Unmarshal(raw, &back); err != nil {
			b.Fatal(err)
		}
		for _, e := range back.Events.V {
			if _, err := Payload(e, leads.WebhookStandard); err != nil {
				b.Fatal(err)
			}
		}
	}
}
