package leads

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuditLog returns one page of actor's account's audit entries, oldest
// first, deleted leads' included; admins only. cursor continues a listing.
// VALIDATION_ERROR names a bad limit, event or cursor.
func (s *Service) AuditLog(ctx context.Context, actor Actor, q AuditQuery, cursor string) (*AuditPage, error) {
	if err := actor.Require(PermReadAudit); err != nil {
		return nil, err
	}
	q.AccountID = actor.AccountID
	var err error
	if q.Limit, err = pageSize(q.Limit); err != nil {
		return nil, err
	}
	if q.Event != "" && !slices.Contains(auditEvents, q.Event) {
		// A filter that can match nothing is a mistake (a misspelling, the
		// webhook's lead.created for the log's lead_created), not a
		// question whose answer is an empty page.
		return nil, ValidationError(FieldError{"event", shorten(q.Event), "Is no event the audit log records (see AuditEvents)"})
	}
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		id, perr := strconv.ParseInt(strings.TrimPrefix(string(raw), "audit:"), 10, 64)
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "audit:") {
			return nil, ValidationError(FieldError{"cursor", shorten(cursor), "Is not a cursor this server returned"})
		}
		q.AfterID = id
	}
	q.Limit++
	entries, err := s.store.AuditEntries(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	page := &AuditPage{Data: entries}
	if len(entries) == q.Limit {
		page.Data = entries[:len(entries)-1]
		next := base64.RawURLEncoding.EncodeToString([]byte("audit:" + strconv.FormatInt(page.Data[len(page.Data)-1].ID, 10)))
		page.NextCursor = &next
	}
	return page, nil
}

// Audit events.
const (
	EventLeadCreated     = "lead_created"
	EventLeadAssigned    = "lead_assigned"
	EventLeadNotAssigned = "lead_not_assigned"
	// EventAssignmentDeferred: the lead was stored while its rotation could
	// not be asked; it is assigned later (lead_assigned with deferred: true).
	EventAssignmentDeferred = "assignment_deferred"
	EventLeadUpdated        = "lead_updated"
	EventStatusChanged      = "status_changed"
	EventLeadReassigned     = "lead_reassigned"
	EventLeadDeleted        = "lead_deleted"
	// EventLeadReturned: an upsert (CreateOptions.MatchBy) found the lead
	// by its key and updated it instead of creating another.
	EventLeadReturned = "lead_returned"

	EventTeamCreated       = "team_created"
	EventTeamUpdated       = "team_updated"
	EventTeamDeleted       = "team_deleted"
	EventLeadSourceCreated = "lead_source_created"
	EventLeadSourceUpdated = "lead_source_updated"
	EventLeadSourceDeleted = "lead_source_deleted"
	EventRotationCreated   = "rotation_created"
	EventRotationUpdated   = "rotation_updated"
	EventRotationDeleted   = "rotation_deleted"
	EventMemberAdded       = "member_added"
	EventMemberUpdated     = "member_updated"
	EventMemberRemoved     = "member_removed"
	EventAccountUpdated    = "account_updated"
	// Routing rules: created, updated and deleted carry the rule before
	// and after; reordered the ids in their order before and after.
	EventRoutingRuleCreated    = "routing_rule_created"
	EventRoutingRuleUpdated    = "routing_rule_updated"
	EventRoutingRuleDeleted    = "routing_rule_deleted"
	EventRoutingRulesReordered = "routing_rules_reordered"
)

// auditEvents are the events the audit log records, sorted: every Event…
// constant of this package that is not an EventType (a test holds the
// list to them).
var auditEvents = []string{
	"account_updated", "activity_added", "api_key_created", "api_key_revoked", "assignment_deferred",
	"holiday_calendar_created", "holiday_calendar_deleted", "holiday_calendar_updated", "invite_accepted",
	"lead_accepted", "lead_assigned", "lead_created", "lead_deleted", "lead_not_assigned", "lead_reassigned",
	"lead_returned", "lead_source_created", "lead_source_deleted", "lead_source_updated", "lead_updated",
	"member_added", "member_calendar_set", "member_invited", "member_removed", "member_updated",
	"password_reset", "password_reset_requested", "password_set", "rotation_created", "rotation_deleted",
	"rotation_updated", "routing_rule_created", "routing_rule_deleted", "routing_rule_updated",
	"routing_rules_reordered", "schedule_cleared", "schedule_set", "sign_in_failed", "signed_in", "signed_out",
	"sla_expired", "sla_waiting", "status_changed", "team_created", "team_deleted", "team_updated",
	"time_off_added", "time_off_deleted", "webhook_created", "webhook_deleted", "webhook_disabled",
	"webhook_updated",
}

// AuditEvents returns the events the audit log records, sorted: the values
// AuditQuery.Event may take.
func AuditEvents() []string { return slices.Clone(auditEvents) }

// AuditEntry is one event in a lead's history, in seed 002's shape
// (account_id spelled as there).
type AuditEntry struct {
	ID               int64             `json:"id"`
	LeadID           int64             `json:"leadId,omitempty"`
	Event            string            `json:"event"`
	User             string            `json:"user"`
	APIKey           *string           `json:"apiKey"`
	Data             map[string]any    `json:"data"`
	Created          time.Time         `json:"created"`
	RequestMethod    string            `json:"requestMethod,omitempty"`
	RequestPath      string            `json:"requestPath,omitempty"`
	RequestHeaders   map[string]string `json:"requestHeaders,omitempty"`
	RequestIPAddress string            `json:"requestIpAddress,omitempty"`
	AccountID        string            `json:"account_id"`
}

// newAuditEntry records that actor caused event at now.
func newAuditEntry(actor Actor, event string, data map[string]any, now time.Time) AuditEntry {
	e := AuditEntry{Event: event, User: actor.Email, Data: data, Created: now, AccountID: actor.AccountID}
	if actor.APIKey != "" {
		key := actor.APIKey
		e.APIKey = &key
	}
	if r := actor.Request; r != nil {
		e.RequestMethod, e.RequestPath, e.RequestIPAddress, e.RequestHeaders = r.Method, r.Path, r.IPAddress, r.Headers
	}
	return e
}
