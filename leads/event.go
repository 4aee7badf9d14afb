package leads

import (
	"crypto/rand"
	"encoding/base32"
	"slices"
	"strings"
	"time"
)

// EventType names what happened to a lead, as webhooks and in-process
// handlers are told (the Standard Webhooks "type" of a payload).
type EventType string

// The event types.
const (
	EventTypeCreated    EventType = "lead.created"
	EventTypeAssigned   EventType = "lead.assigned"
	EventTypeReassigned EventType = "lead.reassigned"
	EventTypeReturned   EventType = "lead.returned"
	EventTypeWaiting    EventType = "lead.waiting"
	EventTypeAccepted   EventType = "lead.accepted"
	EventTypeSLAExpired EventType = "lead.sla_expired"
	EventTypeDeleted    EventType = "lead.deleted"
)

// EventTypes lists every event type, in the order of the documentation.
var EventTypes = []EventType{EventTypeCreated, EventTypeAssigned, EventTypeReassigned, EventTypeReturned,
	EventTypeWaiting, EventTypeAccepted, EventTypeSLAExpired, EventTypeDeleted}

// Valid reports whether t is one of EventTypes.
func (t EventType) Valid() bool { return slices.Contains(EventTypes, t) }

// Event is a domain event: something that happened to a lead, written by
// the store in the same transaction as the change it describes (NewLead and
// LeadWrite carry them), so that there is no event without its change and
// no change without its event. Delivery (webhooks, in-process handlers) is
// at least once; ID stays the same on every delivery, so that receivers can
// tell a repeat.
type Event struct {
	// ID is unique; it is the webhook-id of every delivery of the event.
	ID        string    `json:"id"`
	Type      EventType `json:"type"`
	AccountID string    `json:"accountId"`
	// LeadID is the lead's id; the store sets it for a lead it creates.
	LeadID int64     `json:"leadId"`
	At     time.Time `json:"at"`
	// Lead is the lead as the change wrote it, without its audit log; the
	// store sets its ID for a lead it creates.
	Lead *Lead `json:"lead,omitempty"`
	// Data holds what the lead does not say: the previous assignee of a
	// reassigned lead, what a returning lead matched by.
	Data map[string]any `json:"data,omitempty"`
}

// ForLead returns a copy of e that names the lead id: what the store
// writes for a lead whose id it has just drawn.
func (e Event) ForLead(id int64) Event {
	e.LeadID = id
	if e.Lead != nil {
		l := *e.Lead
		l.ID = id
		l.AuditLog = nil
		e.Lead = &l
	}
	return e
}

// newEventID returns a random event id: "evt_" and 26 base32 characters
// (130 bits from crypto/rand), unique without coordination between
// processes.
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand's contract)
	return "evt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// leadEvents returns the events of a change of a lead from before (nil: it
// is created) to after, at now, that someone receives (wants): created,
// assigned (it had no assignee), reassigned (it had another), waiting (it
// starts to wait for its rotation), returned (an upsert found it again;
// matchBy says by what). An event nobody receives is not made: most
// changes of an account without endpoints make none.
func (s *Service) leadEvents(cfg *AccountConfig, before, after *Lead, matchBy string, now time.Time) []Event {
	var snapshot *Lead // made once, for the first event wanted
	var out []Event
	add := func(t EventType, data map[string]any) {
		if !s.wants(cfg, t) {
			return
		}
		if snapshot == nil {
			l := *after
			l.AuditLog = nil
			snapshot = &l
		}
		out = append(out, Event{ID: newEventID(), Type: t, AccountID: after.AccountID, LeadID: after.ID, At: now, Lead: snapshot, Data: data})
	}
	var prevAssignee string
	var prevStatus AssignmentStatus
	if before == nil {
		add(EventTypeCreated, nil)
	} else {
		prevAssignee, prevStatus = before.AssignedTo, before.AssignmentStatus
		if matchBy != "" {
			add(EventTypeReturned, map[string]any{"matchBy": matchBy})
		}
	}
	switch {
	case after.AssignedTo == prevAssignee || after.AssignedTo == "":
	case prevAssignee == "":
		add(EventTypeAssigned, nil)
	default:
		add(EventTypeReassigned, map[string]any{"previousAssignee": prevAssignee})
	}
	if after.AssignmentStatus == AssignmentWaiting && prevStatus != AssignmentWaiting {
		add(EventTypeWaiting, map[string]any{"waitingReason": after.WaitingReason})
	}
	return out
}

// acceptedEvents are the events of l accepted via how ("accept" or
// "activity") at now: lead.accepted, when someone receives it.
func (s *Service) acceptedEvents(cfg *AccountConfig, l *Lead, how string, now time.Time) []Event {
	return s.eventOf(cfg, EventTypeAccepted, l, now, func() map[string]any {
		return map[string]any{"assignee": l.AssignedTo, "via": how}
	})
}

// eventOf returns the event of type t about l (as it is, without its audit
// log) at now, with the data that data makes, when someone receives it;
// none otherwise.
func (s *Service) eventOf(cfg *AccountConfig, t EventType, l *Lead, now time.Time, data func() map[string]any) []Event {
	if !s.wants(cfg, t) {
		return nil
	}
	snapshot := *l
	snapshot.AuditLog = nil
	return []Event{{ID: newEventID(), Type: t, AccountID: l.AccountID, LeadID: l.ID, At: now, Lead: &snapshot, Data: data()}}
}

// WithAllEvents makes the Service write every lead event, whether or not a
// webhook endpoint of the account subscribes to it: for an in-process
// handler of every event (webhooks.Options.Handler). Without it, a change
// writes only the events some enabled endpoint of its account subscribes
// to, and an account without endpoints pays for none.
func WithAllEvents() Option { return func(s *Service) { s.allEvents = true } }

// WithEventTypes makes the Service write the events of types in every
// account, subscribed by an endpoint or not: for what the process does
// with them itself (webhooks.MailEvents when it emails reps).
func WithEventTypes(types ...EventType) Option {
	return func(s *Service) {
		if s.alwaysEvents == nil {
			s.alwaysEvents = make(map[EventType]bool)
		}
		for _, t := range types {
			s.alwaysEvents[t] = true
		}
	}
}

// wants reports whether someone receives events of type t in cfg's
// account: every type under WithAllEvents, else those cfg's endpoints
// subscribe to or WithEventTypes names.
func (s *Service) wants(cfg *AccountConfig, t EventType) bool {
	return s.allEvents || cfg.Subscribed[t] || s.alwaysEvents[t]
}
