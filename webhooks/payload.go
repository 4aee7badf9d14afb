package webhooks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// Payload returns the body that delivers e in format (leads.WebhookStandard
// or leads.WebhookSlack).
func Payload(e leads.Event, format string) ([]byte, error) {
	if format == leads.WebhookSlack {
		b, err := json.Marshal(map[string]string{"text": slackText(e)})
		if err != nil {
			return nil, fmt.Errorf("slack payload: %w", err)
		}
		return b, nil
	}
	b, err := appendStandardPayload(make([]byte, 0, 2048), e)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return b, nil
}

// appendStandardPayload appends the body of a standard delivery of e, as
// the Standard Webhooks specification suggests: type, timestamp, data
// (eventId, accountId, leadId, the lead and, when there are any, details).
// It is written without reflection (leads.AppendJSONValue), byte for byte
// what json.Marshal wrote of the structs it replaced
// (TestPayloadAgreesWithEncodingJSON): a payload is made for every event.
func appendStandardPayload(b []byte, e leads.Event) ([]byte, error) {
	var err error
	value := func(v any) { // the first error stops the writing
		if err == nil {
			b, err = leads.AppendJSONValue(b, v, true)
		}
	}
	b = append(b, `{"type":`...)
	value(string(e.Type))
	b = append(b, `,"timestamp":`...)
	value(e.At.UTC())
	b = append(b, `,"data":{"eventId":`...)
	value(e.ID)
	b = append(b, `,"accountId":`...)
	value(e.AccountID)
	b = append(b, `,"leadId":`...)
	b = strconv.AppendInt(b, e.LeadID, 10)
	if e.Lead != nil {
		b = append(b, `,"lead":`...)
		value(e.Lead)
	}
	if len(e.Data) > 0 {
		b = append(b, `,"details":`...)
		value(e.Data)
	}
	return append(b, "}}"...), err
}

// slackText says what happened in a line of Slack's incoming webhook.
func slackText(e leads.Event) string {
	name := fmt.Sprintf("lead #%d", e.LeadID)
	assignee := ""
	if l := e.Lead; l != nil {
		if n := strings.TrimSpace(l.FirstName + " " + l.LastName); n != "" {
			name = fmt.Sprintf("%s (lead #%d)", n, e.LeadID)
		}
		assignee = l.AssignedTo
	}
	switch e.Type {
	case leads.EventTypeCreated:
		return "New lead: " + name
	case leads.EventTypeAssigned:
		return fmt.Sprintf("%s assigned to %s", name, assignee)
	case leads.EventTypeReassigned:
		return fmt.Sprintf("%s reassigned from %v to %s", name, e.Data["previousAssignee"], assignee)
	case leads.EventTypeReturned:
		return "Returning lead: " + name
	case leads.EventTypeWaiting:
		return fmt.Sprintf("%s waits for a rep: %v", name, e.Data["waitingReason"])
	case leads.EventTypeAccepted:
		return fmt.Sprintf("%s accepted by %s", name, assignee)
	case leads.EventTypeSLAExpired:
		return slaText(e, name, assignee)
	case leads.EventTypeDeleted:
		return fmt.Sprintf("%s deleted by %v", name, e.Data["deletedBy"])
	}
	return fmt.Sprintf("%s: %s", e.Type, name)
}

// slaText says what an SLA's expiry did (its data.action) to the lead
// named name, now with assignee.
func slaText(e leads.Event, name, assignee string) string {
	missed := fmt.Sprintf("%s was not accepted in time by %v", name, e.Data["assignee"])
	switch e.Data["action"] {
	case leads.SLAReassigned:
		return fmt.Sprintf("%s: it moves to %s", missed, assignee)
	case leads.SLAWait:
		return fmt.Sprintf("%s, who keeps it until %s, when %v is back", missed, dataTime(e.Data["waitUntil"]), e.Data["nextAvailable"])
	case leads.SLAFallback:
		return fmt.Sprintf("%s: it goes to the fallback, %s", missed, assignee)
	case leads.SLAHold:
		return fmt.Sprintf("%s: it waits for a manager to give it", missed)
	case leads.SLAKeep:
		return fmt.Sprintf("%s, who keeps it", missed)
	}
	return missed
}

// dataTime writes a time of an event's data, a time.Time as written or
// its JSON text once read back from a job, as RFC 3339.
func dataTime(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}
