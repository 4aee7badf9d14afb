package webhooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

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
	var errs [6]error
	b = append(b, `{"type":`...)
	b, errs[0] = leads.AppendJSONValue(b, string(e.Type), true)
	b = append(b, `,"timestamp":`...)
	b, errs[1] = leads.AppendJSONValue(b, e.At.UTC(), true)
	b = append(b, `,"data":{"eventId":`...)
	b, errs[2] = leads.AppendJSONValue(b, e.ID, true)
	b = append(b, `,"accountId":`...)
	b, errs[3] = leads.AppendJSONValue(b, e.AccountID, true)
	b = append(b, `,"leadId":`...)
	b = strconv.AppendInt(b, e.LeadID, 10)
	if e.Lead != nil {
		b = append(b, `,"lead":`...)
		b, errs[4] = e.Lead.AppendJSON(b, true)
	}
	if len(e.Data) > 0 {
		b = append(b, `,"details":`...)
		b, errs[5] = leads.AppendJSONValue(b, e.Data, true)
	}
	return append(b, "}}"...), errors.Join(errs[:]...)
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
		return fmt.Sprintf("%s was not accepted in time", name)
	case leads.EventTypeDeleted:
		return fmt.Sprintf("%s deleted by %v", name, e.Data["deletedBy"])
	}
	return fmt.Sprintf("%s: %s", e.Type, name)
}
