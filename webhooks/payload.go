package webhooks

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// standardPayload is the body of a standard delivery, as the Standard
// Webhooks specification suggests: type, timestamp, data.
type standardPayload struct {
	Type      leads.EventType `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      eventData       `json:"data"`
}

type eventData struct {
	EventID   string         `json:"eventId"`
	AccountID string         `json:"accountId"`
	LeadID    int64          `json:"leadId"`
	Lead      *leads.Lead    `json:"lead,omitempty"`
	Details   map[string]any `json:"details,omitempty"`
}

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
	b, err := json.Marshal(standardPayload{Type: e.Type, Timestamp: e.At.UTC(),
		Data: eventData{EventID: e.ID, AccountID: e.AccountID, LeadID: e.LeadID, Lead: e.Lead, Details: e.Data}})
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return b, nil
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
