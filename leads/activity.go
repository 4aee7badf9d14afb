package leads

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ActivityType is what kind of thing was done with a lead.
type ActivityType string

// The activity types.
const (
	ActivityCall    ActivityType = "call"
	ActivityEmail   ActivityType = "email"
	ActivitySMS     ActivityType = "sms"
	ActivityMeeting ActivityType = "meeting"
	ActivityNote    ActivityType = "note"
)

// ActivityTypes lists every activity type.
var ActivityTypes = []ActivityType{ActivityCall, ActivityEmail, ActivitySMS, ActivityMeeting, ActivityNote}

// Valid reports whether t is one of ActivityTypes.
func (t ActivityType) Valid() bool { return slices.Contains(ActivityTypes, t) }

// Limits on activity input, besides the text bounds of LeadInput (title and
// outcome MaxShortTextLength, note MaxNotesLength).
const (
	// MaxActivityClockSkew is how far after the server's clock a completed
	// activity may say it happened: clients' clocks run a little ahead,
	// but what was done cannot have happened later than now.
	MaxActivityClockSkew = 5 * time.Minute
	// MaxActivityPlannedAhead is how far ahead a planned activity (not
	// completed: a meeting booked, a call to make) may be.
	MaxActivityPlannedAhead = 366 * 24 * time.Hour
)

// Audit events of activities and acceptance.
const (
	// EventActivityAdded: an activity was logged on the lead; data holds it
	// (activityId, type, title, occurredAt, completed, outcome), all but its note.
	EventActivityAdded = "activity_added"
	// EventLeadAccepted: the assignee accepted the lead; data says how
	// ("accept", or "activity" with its activityId) and since when it was
	// theirs (assignedAt).
	EventLeadAccepted = "lead_accepted"
)

// ActivityInput is what a client sends to log an activity (seed 004's
// crmActivities): its type (required), a title, a note, when it happened
// (default now), whether it is completed (default true: it was done; false
// for one planned) and its outcome.
type ActivityInput struct {
	Type       ActivityType `json:"type"`
	Title      string       `json:"title,omitempty"`
	Note       string       `json:"note,omitempty"`
	OccurredAt *time.Time   `json:"occurredAt,omitempty"`
	Completed  *bool        `json:"completed,omitempty"`
	Outcome    string       `json:"outcome,omitempty"`
}

// Activity is a stored activity of a lead: what was done, by whom
// (CreatedBy, the member who logged it) and when.
type Activity struct {
	ID         int64        `json:"id"`
	AccountID  string       `json:"accountId"`
	LeadID     int64        `json:"leadId"`
	Type       ActivityType `json:"type"`
	Title      string       `json:"title"`
	Note       string       `json:"note"`
	OccurredAt time.Time    `json:"occurredAt"`
	Completed  bool         `json:"completed"`
	Outcome    string       `json:"outcome"`
	CreatedBy  string       `json:"createdBy"`
	CreatedAt  time.Time    `json:"createdAt"`
}

// Normalize trims the text fields, fills occurredAt (now) and completed
// (true), and stores the time as the store keeps it (UTC, microseconds).
func (in *ActivityInput) Normalize(now time.Time) {
	in.Title = strings.TrimSpace(in.Title)
	in.Note = strings.TrimSpace(in.Note)
	in.Outcome = strings.TrimSpace(in.Outcome)
	in.Type = ActivityType(strings.TrimSpace(string(in.Type)))
	if in.OccurredAt == nil {
		in.OccurredAt = &now
	}
	at := in.OccurredAt.UTC().Truncate(time.Microsecond)
	in.OccurredAt = &at
	if in.Completed == nil {
		done := true
		in.Completed = &done
	}
}

// Validate checks normalized input at now and returns a VALIDATION_ERROR
// naming each broken field, or nil: type one of ActivityTypes; title and
// outcome at most MaxShortTextLength characters, note MaxNotesLength;
// occurredAt no later than MaxActivityClockSkew after now when completed,
// MaxActivityPlannedAhead when planned.
func (in *ActivityInput) Validate(now time.Time) error {
	var errs []FieldError
	if !in.Type.Valid() {
		errs = append(errs, FieldError{"type", shorten(string(in.Type)), "Must be one of call, email, sms, meeting, note"})
	}
	for _, f := range []struct {
		name  string
		value string
		max   int
	}{{"title", in.Title, MaxShortTextLength}, {"note", in.Note, MaxNotesLength}, {"outcome", in.Outcome, MaxShortTextLength}} {
		if problem := textProblem(f.value, f.max); problem != "" {
			errs = append(errs, FieldError{f.name, shorten(f.value), problem})
		}
	}
	if in.OccurredAt != nil {
		at := *in.OccurredAt
		ahead, problem := MaxActivityPlannedAhead, "Must be at most a year ahead"
		if in.Completed == nil || *in.Completed {
			ahead, problem = MaxActivityClockSkew, "Must not be in the future: a completed activity has happened (send completed: false for a planned one)"
		}
		if p := TimeProblem(at); p != "" {
			errs = append(errs, FieldError{"occurredAt", at.Format(time.RFC3339Nano), p})
		} else if at.After(now.Add(ahead)) {
			errs = append(errs, FieldError{"occurredAt", at.Format(time.RFC3339Nano), problem})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return ValidationError(errs...)
}

// AcceptsOnActivity reports whether the assignee's first completed activity
// in an assignment also accepts the lead (ActivityAccepts, on by default).
func (a *Account) AcceptsOnActivity() bool { return a.ActivityAccepts == nil || *a.ActivityAccepts }

// touches reports whether a, logged on cur, is its assignee's touch of the
// current assignment: completed, by the assignee, and not before the
// assignment began.
func (cur *Lead) touches(a *Activity) bool {
	return a.Completed && cur.AssignmentStatus == AssignmentAssigned && cur.AssignedTo != "" &&
		EmailKey(a.CreatedBy) == cur.AssignedTo && (cur.AssignedAt == nil || !a.OccurredAt.Before(*cur.AssignedAt))
}

// AddActivity logs an activity on a lead of actor's account, by actor, and
// returns it as stored; agents may, as they may update leads. In the same
// transaction, under the lead's lock, it moves the lead's lastActivityAt
// (a completed activity later than the last), and, for the assignee's
// completed activity of the current assignment, firstTouchAt (the earliest
// such) and, when the account's ActivityAccepts is on and the lead is not
// accepted yet, acceptedAt (now). Audited activity_added, and lead_accepted
// {via: "activity"} when it accepts. VALIDATION_ERROR names a bad field;
// NOT_FOUND for a lead not in the account.
func (s *Service) AddActivity(ctx context.Context, actor Actor, leadID int64, in ActivityInput, opts ...LeadPrecondition) (*Activity, error) {
	if err := actor.Require(PermWriteLeads); err != nil {
		return nil, err
	}
	now := s.clock()
	in.Normalize(now)
	if err := in.Validate(now); err != nil {
		return nil, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	var added *Activity
	_, err = s.store.UpdateLead(ctx, actor.AccountID, leadID, func(cur *Lead) (*LeadWrite, error) {
		if err := checkPreconditions(opts, cur); err != nil {
			return nil, err
		}
		a := &Activity{AccountID: actor.AccountID, LeadID: cur.ID, Type: in.Type, Title: in.Title, Note: in.Note,
			OccurredAt: *in.OccurredAt, Completed: *in.Completed, Outcome: in.Outcome, CreatedBy: actor.Email, CreatedAt: now}
		added = a
		data := map[string]any{"type": a.Type, "title": a.Title, "occurredAt": a.OccurredAt, "completed": a.Completed, "outcome": a.Outcome}
		w := &LeadWrite{Activity: a, Audit: []AuditEntry{newAuditEntry(actor, EventActivityAdded, data, now)}}
		if !a.Completed {
			return w, nil // planned: the lead stays as it is
		}
		next := cur.next(now)
		if cur.LastActivityAt == nil || a.OccurredAt.After(*cur.LastActivityAt) {
			next.LastActivityAt = &a.OccurredAt
		}
		if cur.touches(a) {
			if cur.FirstTouchAt == nil || a.OccurredAt.Before(*cur.FirstTouchAt) {
				next.FirstTouchAt = &a.OccurredAt
			}
			if cur.AcceptedAt == nil && cfg.Account.AcceptsOnActivity() {
				next.AcceptedAt = &now
				w.Audit = append(w.Audit, acceptedEntry(actor, cur, "activity", now))
				w.Events = s.acceptedEvents(cfg, next, "activity", now)
			}
		}
		w.Lead = next
		return w, nil
	})
	if err != nil {
		return nil, fmt.Errorf("add activity to lead %d: %w", leadID, err)
	}
	return added, nil
}

// acceptedEntry is the lead_accepted entry of cur accepted via how at now.
func acceptedEntry(actor Actor, cur *Lead, how string, now time.Time) AuditEntry {
	data := map[string]any{"assignee": cur.AssignedTo, "via": how}
	if cur.AssignedAt != nil {
		data["assignedAt"] = *cur.AssignedAt
	}
	return newAuditEntry(actor, EventLeadAccepted, data, now)
}

// AcceptLead records that the lead's assignee, actor, accepts it: acceptedAt
// is set to now and audited lead_accepted {via: "accept"}. Accepting is
// idempotent within an assignment: a lead already accepted is returned as
// it is, with its first acceptedAt, and nothing is written; of concurrent
// accepts, the lead's lock lets one write and the others see it accepted.
// LEAD_NOT_ASSIGNED for a lead without an assignee; FORBIDDEN for anyone but
// the assignee (admins included: accepting says the rep has it); NOT_FOUND
// for a lead not in actor's account. It returns the lead with its audit log.
func (s *Service) AcceptLead(ctx context.Context, actor Actor, id int64, opts ...LeadPrecondition) (*Lead, error) {
	if err := actor.Require(PermWriteLeads); err != nil {
		return nil, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	lead, err := s.store.UpdateLead(ctx, actor.AccountID, id, func(cur *Lead) (*LeadWrite, error) {
		if err := checkPreconditions(opts, cur); err != nil {
			return nil, err
		}
		switch {
		case cur.AssignmentStatus != AssignmentAssigned || cur.AssignedTo == "":
			return nil, &Error{Code: CodeLeadNotAssigned, Message: "the lead has no assignee to accept it",
				Details: map[string]any{"assignmentStatus": cur.AssignmentStatus}}
		case EmailKey(actor.Email) != cur.AssignedTo:
			return nil, Errorf(CodeForbidden, "only the lead's assignee may accept it")
		case cur.AcceptedAt != nil:
			return nil, nil
		}
		w := &LeadWrite{Lead: cur.next(now), Audit: []AuditEntry{acceptedEntry(actor, cur, "accept", now)}}
		w.Lead.AcceptedAt = &now
		w.Events = s.acceptedEvents(cfg, w.Lead, "accept", now)
		return w, nil
	})
	if err != nil {
		return nil, fmt.Errorf("accept lead %d: %w", id, err)
	}
	return lead, nil
}

// ActivityListOptions asks for one page of a lead's activities, newest
// (by occurredAt) first.
type ActivityListOptions struct {
	// Limit is the page size: DefaultPageSize when 0, at most MaxPageSize.
	Limit int
	// Cursor continues from the page whose NextCursor it is.
	Cursor string
}

// ActivityQuery is what a Store lists: a lead's activities in the order
// (occurredAt, id) descending, up to Limit, after After when it is set.
type ActivityQuery struct {
	AccountID string
	LeadID    int64
	Limit     int
	After     *Cursor
}

// ActivityPage is one page of activities; NextCursor is nil on the last page.
type ActivityPage struct {
	Data       []Activity `json:"data"`
	NextCursor *string    `json:"nextCursor"`
}

// activityOrder names the order of activity listings in their cursors, so
// that a cursor of another listing is refused.
const activityOrder = "occurredAt"

// Activities returns one page of a lead's activities, newest first.
// VALIDATION_ERROR names a bad limit or cursor; NOT_FOUND for a lead not in
// actor's account.
func (s *Service) Activities(ctx context.Context, actor Actor, leadID int64, opts ActivityListOptions) (*ActivityPage, error) {
	if err := actor.Require(PermRead); err != nil {
		return nil, err
	}
	q := ActivityQuery{AccountID: actor.AccountID, LeadID: leadID}
	var err error
	if q.Limit, err = pageSize(opts.Limit); err != nil {
		return nil, err
	}
	if opts.Cursor != "" {
		if q.After, err = decodeCursor(opts.Cursor, activityOrder, false); err != nil {
			return nil, err
		}
	}
	q.Limit++ // one more tells whether there is a next page
	rows, err := s.store.Activities(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list activities of lead %d: %w", leadID, err)
	}
	page := &ActivityPage{Data: rows}
	if len(rows) == q.Limit {
		page.Data = rows[:len(rows)-1]
		last := page.Data[len(page.Data)-1]
		next := encodeCursor(activityOrder, false, Cursor{At: last.OccurredAt, ID: last.ID})
		page.NextCursor = &next
	}
	return page, nil
}
