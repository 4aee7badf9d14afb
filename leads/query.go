package leads

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Listing limits.
const (
	// DefaultPageSize is the page size of a listing that asks for none.
	DefaultPageSize = 50
	// MaxPageSize is the largest page a listing returns; asking for more is
	// a VALIDATION_ERROR, not a silent clamp.
	MaxPageSize = 500
	// MaxQueryLength bounds the search text of LeadFilter.Query, in characters.
	MaxQueryLength = 200
)

// pageSize returns the page size a listing asked for with limit:
// DefaultPageSize for 0, a VALIDATION_ERROR for field "limit" outside 1 to
// MaxPageSize.
func pageSize(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultPageSize, nil
	case limit < 0 || limit > MaxPageSize:
		return 0, ValidationError(FieldError{"limit", limit, fmt.Sprintf("Must be from 1 to %d", MaxPageSize)})
	}
	return limit, nil
}

// ParsePageSize reads a page size as a query string gives it (the limit
// parameter of the API and the console): 0, the default, when v is empty;
// a VALIDATION_ERROR on limit unless an integer from 1 to MaxPageSize. An
// explicit 0 is refused as sent, not read as the default.
func ParsePageSize(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	msg := fmt.Sprintf("Must be an integer from 1 to %d", MaxPageSize)
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return 0, ValidationError(FieldError{"limit", shorten(v), msg})
	case n < 1 || n > MaxPageSize:
		return 0, ValidationError(FieldError{"limit", n, msg}) // the number sent
	}
	return n, nil
}

// ParseID reads an object's id as a path gives it: a positive integer in
// its one spelling, decimal digits without a sign or a leading zero, so
// that one object has one path (/leads/4, never /leads/04 or /leads/+4).
func ParseID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// LeadFilter narrows a listing. Zero fields do not filter.
type LeadFilter struct {
	// Statuses keeps leads with any of these statuses.
	Statuses []Status
	TeamID   int64
	// LeadSourceID keeps the leads of one lead source.
	LeadSourceID int64
	// AssignedTo keeps one rep's leads; Unassigned keeps leads nobody has.
	AssignedTo string
	Unassigned bool
	// Archived says which leads to keep by their archived flag; the zero
	// value keeps live leads only, as GET /leads does.
	Archived Archived
	// CreatedAfter (inclusive) and CreatedBefore (exclusive) bound createdAt;
	// each in the years MinYear to MaxYear.
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	// Query searches names, email, phone and company, case-insensitively,
	// for the text as written: % and _ are no wildcards. At most
	// MaxQueryLength characters.
	Query string
	// ExternalID keeps the lead with this externalId, compared exactly
	// after trimming.
	ExternalID string
	// HotScoreMin and HotScoreMax (both inclusive, each 0 to MaxHotScore)
	// bound hotScore; a lead without one passes neither.
	HotScoreMin *int64
	HotScoreMax *int64
	// AssignmentStatus keeps the leads in that assignment status (waiting
	// ones, say).
	AssignmentStatus AssignmentStatus
}

// Archived selects leads by their archived flag in a listing.
type Archived int

// Which leads a listing keeps by their archived flag.
const (
	LiveOnly        Archived = iota // leads not archived (the default)
	ArchivedOnly                    // archived leads
	LiveAndArchived                 // both
)

// Sort orders.
const (
	SortCreatedAt = "createdAt"
	SortUpdatedAt = "updatedAt"
)

// ListOptions asks for one page of leads.
type ListOptions struct {
	Filter LeadFilter
	// Sort is SortCreatedAt (default) or SortUpdatedAt; Ascending reverses the
	// default newest-first order.
	Sort      string
	Ascending bool
	// Limit is the page size: DefaultPageSize when 0, at most MaxPageSize.
	Limit int
	// Cursor continues from the page whose NextCursor it is.
	Cursor string
}

// LeadPage is one page of leads; NextCursor is nil on the last page.
type LeadPage struct {
	Data       []Lead  `json:"data"`
	NextCursor *string `json:"nextCursor"`
}

// LeadQuery is what a Store lists: a validated ListOptions.
type LeadQuery struct {
	AccountID string
	Filter    LeadFilter
	Sort      string
	Ascending bool
	// Limit rows at most, starting after After when it is set.
	Limit int
	After *Cursor
}

// Cursor is a position in a listing: the sort value and id of the last lead
// seen. Paging by it is stable: leads inserted meanwhile never make another
// lead appear twice or not at all.
type Cursor struct {
	At time.Time
	ID int64
}

type cursorJSON struct {
	Sort string    `json:"s"`
	Asc  bool      `json:"a,omitempty"`
	At   time.Time `json:"t"`
	ID   int64     `json:"i"`
}

func encodeCursor(sort string, asc bool, c Cursor) string {
	raw, _ := json.Marshal(cursorJSON{Sort: sort, Asc: asc, At: c.At, ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeCursor(s, sort string, asc bool) (*Cursor, error) {
	bad := func(msg string) error { return ValidationError(FieldError{"cursor", shorten(s), msg}) }
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad("Is not a cursor this server returned")
	}
	var c cursorJSON
	if json.Unmarshal(raw, &c) != nil || c.ID <= 0 || TimeProblem(c.At) != "" {
		return nil, bad("Is not a cursor this server returned")
	}
	if c.Sort != sort || c.Asc != asc {
		return nil, bad("Belongs to a listing in another order; keep sort and order while paging")
	}
	return &Cursor{At: c.At, ID: c.ID}, nil
}

// query validates opts into a store query.
func (opts ListOptions) query(accountID string) (LeadQuery, error) {
	q := LeadQuery{AccountID: accountID, Filter: opts.Filter, Sort: opts.Sort, Ascending: opts.Ascending, Limit: opts.Limit}
	if q.Sort == "" {
		q.Sort = SortCreatedAt
	}
	if q.Sort != SortCreatedAt && q.Sort != SortUpdatedAt {
		return q, ValidationError(FieldError{"sort", q.Sort, "Must be createdAt or updatedAt"})
	}
	var err error
	if q.Limit, err = pageSize(q.Limit); err != nil {
		return q, err
	}
	for _, st := range q.Filter.Statuses {
		if !st.Valid() {
			return q, ValidationError(FieldError{"status", string(st), statusMessage})
		}
	}
	for _, t := range []struct {
		field string
		at    *time.Time
	}{{"createdAfter", q.Filter.CreatedAfter}, {"createdBefore", q.Filter.CreatedBefore}} {
		if t.at == nil {
			continue
		}
		if problem := TimeProblem(*t.at); problem != "" {
			return q, ValidationError(FieldError{t.field, t.at.Format(time.RFC3339Nano), problem})
		}
	}
	q.Filter.Query = strings.TrimSpace(q.Filter.Query)
	if err := checkText("q", q.Filter.Query, MaxQueryLength); err != nil {
		return q, err
	}
	q.Filter.AssignedTo = EmailKey(q.Filter.AssignedTo)
	if err := checkText("assignedTo", q.Filter.AssignedTo, MaxEmailLength); err != nil {
		return q, err
	}
	if q.Filter.AssignedTo != "" && !ValidEmail(q.Filter.AssignedTo) {
		// Leads are assigned to members, by email: any other value matches
		// nothing, a mistake better told than answered with an empty page.
		return q, ValidationError(FieldError{"assignedTo", shorten(q.Filter.AssignedTo), "Must be an email address (or unassigned)"})
	}
	switch q.Filter.AssignmentStatus {
	case "", AssignmentAssigned, AssignmentUnassigned, AssignmentPending, AssignmentWaiting:
	default:
		return q, ValidationError(FieldError{"assignmentStatus", string(q.Filter.AssignmentStatus), "Must be assigned, unassigned, pending or waiting"})
	}
	q.Filter.ExternalID = strings.TrimSpace(q.Filter.ExternalID)
	if err := checkText("externalId", q.Filter.ExternalID, MaxShortTextLength); err != nil {
		return q, err
	}
	for _, b := range []struct {
		field string
		score *int64
	}{{"hotScoreMin", q.Filter.HotScoreMin}, {"hotScoreMax", q.Filter.HotScoreMax}} {
		if b.score == nil {
			continue
		}
		if problem := hotScoreProblem(*b.score); problem != "" {
			return q, ValidationError(FieldError{b.field, *b.score, problem})
		}
	}
	if opts.Cursor != "" {
		c, err := decodeCursor(opts.Cursor, q.Sort, q.Ascending)
		if err != nil {
			return q, err
		}
		q.After = c
	}
	return q, nil
}

// AuditQuery asks for audit entries of an account, oldest first.
type AuditQuery struct {
	AccountID string
	// LeadID keeps the entries of one lead, deleted or not.
	LeadID int64
	// Event keeps one kind of entry: one of AuditEvents, or "" for all.
	Event string
	// AccountOnly keeps the entries about the account rather than a lead:
	// its configuration, members, keys and sign-ins. They are few beside
	// the leads' entries, and indexed apart, so that a page of them (say,
	// of one rare event) never reads the leads' trails.
	AccountOnly bool
	// Limit is the page size: DefaultPageSize when 0, at most MaxPageSize.
	Limit int
	// AfterID continues after the entry with that id.
	AfterID int64
}

// AuditPage is one page of audit entries.
type AuditPage struct {
	Data       []AuditEntry `json:"data"`
	NextCursor *string      `json:"nextCursor"`
}

// ListLeads returns one page of actor's account's leads, without audit logs.
// VALIDATION_ERROR names a bad option.
func (s *Service) ListLeads(ctx context.Context, actor Actor, opts ListOptions) (*LeadPage, error) {
	if err := actor.Require(PermRead); err != nil {
		return nil, err
	}
	q, err := opts.query(actor.AccountID)
	if err != nil {
		return nil, err
	}
	q.Limit++ // one more tells whether there is a next page
	rows, err := s.store.ListLeads(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list leads: %w", err)
	}
	page := &LeadPage{Data: rows}
	if len(rows) == q.Limit {
		page.Data = rows[:len(rows)-1]
		last := page.Data[len(page.Data)-1]
		at := last.CreatedAt
		if q.Sort == SortUpdatedAt {
			at = last.UpdatedAt
		}
		next := encodeCursor(q.Sort, q.Ascending, Cursor{At: at, ID: last.ID})
		page.NextCursor = &next
	}
	return page, nil
}

// Lead returns one of actor's account's leads with its audit log; NOT_FOUND
// when the account has no such lead.
func (s *Service) Lead(ctx context.Context, actor Actor, id int64) (*Lead, error) {
	if err := actor.Require(PermRead); err != nil {
		return nil, err
	}
	lead, err := s.store.Lead(ctx, actor.AccountID, id, true)
	if err != nil {
		return nil, fmt.Errorf("read lead %d: %w", id, err)
	}
	return lead, nil
}
