package console

import (
	"context"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// minSearchLength is the shortest search the console runs.
const minSearchLength = 3

type leadListData struct {
	Page     *leads.LeadPage
	Filter   leadFilterForm
	Statuses []leads.Status
	// AssignmentStatuses are what the assignment filter offers.
	AssignmentStatuses []leads.AssignmentStatus
	Members            []string
	Teams              []leads.Team
	// Next is the query of the next page, encoded (a URL's query, which
	// the template must not escape again); empty on the last.
	Next template.URL
}

// leadFilterForm is the list's filters as typed, to show them again.
type leadFilterForm struct {
	Q, Status, AssignedTo, Team, Archived, From, To, Sort, Order, AssignmentStatus string
}

// leadList is the leads with the API's filters, search and paging.
func (c *Console) leadList(ctx context.Context, r *request) (any, error) {
	q := r.URL.Query()
	f := leadFilterForm{Q: q.Get("q"), Status: q.Get("status"), AssignedTo: q.Get("assignedTo"), Team: q.Get("team"),
		Archived: q.Get("archived"), From: q.Get("from"), To: q.Get("to"), Sort: q.Get("sort"), Order: q.Get("order"),
		AssignmentStatus: q.Get("assignmentStatus")}
	opts := leads.ListOptions{Filter: leads.LeadFilter{Query: strings.TrimSpace(f.Q), AssignmentStatus: leads.AssignmentStatus(f.AssignmentStatus)},
		Limit: 50, Cursor: q.Get("cursor")}
	d := leadListData{Filter: f, Statuses: []leads.Status{leads.StatusNew, leads.StatusContacted, leads.StatusQualified,
		leads.StatusFollowUp, leads.StatusConverted, leads.StatusLost},
		AssignmentStatuses: []leads.AssignmentStatus{leads.AssignmentAssigned, leads.AssignmentUnassigned, leads.AssignmentPending, leads.AssignmentWaiting}}
	var err error
	if d.Members, err = c.svc.Assignees(ctx, r.actor); err != nil {
		return nil, err
	}
	if d.Teams, err = c.svc.Teams(ctx, r.actor); err != nil {
		return nil, err
	}
	if bad := parseLeadFilter(f, &opts); bad != nil {
		r.failure = bad
		return d, nil
	}
	page, err := c.svc.ListLeads(ctx, r.actor, opts)
	if err != nil {
		if leads.ErrorCode(err) == leads.CodeValidation {
			r.failure = err
			return d, nil
		}
		return nil, err
	}
	d.Page = page
	if page.NextCursor != nil {
		next := r.URL.Query()
		next.Set("cursor", *page.NextCursor)
		d.Next = template.URL(next.Encode())
	}
	return d, nil
}

// parseLeadFilter fills opts from the form; a refusal names the field.
func parseLeadFilter(f leadFilterForm, opts *leads.ListOptions) error {
	// Patterns of one or two characters have no trigram to look up, and
	// read every lead of the account (a second at a million): the console
	// asks for three, as search boxes commonly do. The API still takes them.
	if n := len([]rune(strings.TrimSpace(f.Q))); n > 0 && n < minSearchLength {
		return leads.ValidationError(leads.FieldError{Field: "q", Value: f.Q, Message: fmt.Sprintf("Type at least %d characters to search", minSearchLength)})
	}
	if f.Status != "" {
		opts.Filter.Statuses = []leads.Status{leads.Status(f.Status)}
	}
	switch f.AssignedTo {
	case "":
	case "-":
		opts.Filter.Unassigned = true
	default:
		opts.Filter.AssignedTo = f.AssignedTo
	}
	if f.Team != "" {
		id, err := strconv.ParseInt(f.Team, 10, 64)
		if err != nil {
			return leads.ValidationError(leads.FieldError{Field: "team", Value: f.Team, Message: "Must be one of the teams"})
		}
		opts.Filter.TeamID = id
	}
	switch f.Archived {
	case "", "live":
	case "archived":
		opts.Filter.Archived = leads.ArchivedOnly
	case "all":
		opts.Filter.Archived = leads.LiveAndArchived
	default:
		return leads.ValidationError(leads.FieldError{Field: "archived", Value: f.Archived, Message: "Must be live, archived or all"})
	}
	for _, d := range []struct {
		field, v string
		into     **time.Time
	}{{"from", f.From, &opts.Filter.CreatedAfter}, {"to", f.To, &opts.Filter.CreatedBefore}} {
		if d.v == "" {
			continue
		}
		t, err := formDate(d.field, d.v)
		if err != nil {
			return err
		}
		if d.field == "to" {
			t = t.AddDate(0, 0, 1)
		}
		*d.into = &t
	}
	switch f.Sort {
	case "", "created":
	case "updated":
		opts.Sort = leads.SortUpdatedAt
	default:
		return leads.ValidationError(leads.FieldError{Field: "sort", Value: f.Sort, Message: "Must be created or updated"})
	}
	opts.Ascending = f.Order == "oldest"
	return nil
}

type leadData struct {
	Lead       *leads.Lead
	Trail      []auditRow
	Assignment *leads.AuditEntry
	Rotation   string
	Reason     string
	Statuses   []leads.Status
	Members    []string
	Fields     []leadField
	// Why is the last automatic decision of the lead's owner, as kept.
	Why *whyView
	// Activities are the lead's latest activities, newest first, and
	// ActivityTypes what the form to log one offers.
	Activities    []leads.Activity
	ActivityTypes []leads.ActivityType
	// CanAccept: the member looking is the lead's assignee, who has not
	// accepted it yet.
	CanAccept bool
	// SLA is where the assignment's time to accept stands; nil without one.
	SLA *slaState
}

// whyView is "why this rep" in words: the step of the decision order that
// decided, what the returning-contact check found, the rules tried, and
// who could take the rotation's turn.
type whyView struct {
	Step, Returning string
	Decision        *decisionView
	Eligible        []string
}

// stepText says what each step of the decision order means.
var stepText = map[string]string{
	leads.StepExplicit:  "named by whoever created it",
	leads.StepReturning: "a returning contact: the owner of their earlier lead",
	leads.StepRule:      "a routing rule",
	leads.StepTeam:      "the lead's team's rotation (no rule matched)",
	leads.StepDefault:   "the account's default rotation (no rule matched, no team rotation)",
	leads.StepNone:      "nothing applies: no rule matched and there is no rotation",
}

// why is the last kept decision of l's owner in words; nil when none.
func (c *Console) why(ctx context.Context, r *request, id int64) (*whyView, error) {
	records, err := c.svc.LeadRouting(ctx, r.actor, id)
	if err != nil {
		return nil, err
	}
	for i := len(records) - 1; i >= 0; i-- {
		d := records[i].Decision
		if d == nil {
			continue
		}
		cfg, err := c.svc.Configuration(ctx, r.actor)
		if err != nil {
			return nil, err
		}
		targets := newRuleTargets(cfg)
		w := &whyView{Step: stepText[d.Step], Eligible: d.Eligible}
		if len(d.Rules) > 0 {
			w.Decision = targets.decision(&d.RuleDecision, -1)
		}
		if ret := d.Returning; ret != nil {
			switch ret.Outcome {
			case leads.ReturningOwner:
				w.Returning = fmt.Sprintf("lead #%d matched by %s; its owner %s takes it", ret.LeadID, ret.MatchedBy, ret.Owner)
			case leads.ReturningOwnerGone:
				w.Returning = fmt.Sprintf("lead #%d matched by %s, but its owner %s is no longer a member: %s", ret.LeadID, ret.MatchedBy, ret.Owner, ret.OwnerGone)
			default:
				w.Returning = "no earlier lead of this contact"
			}
		}
		return w, nil
	}
	return nil, nil
}

// leadField is one editable field of a lead: Type is its input's type
// ("number" for an integer field, "textarea", else a kind of text).
type leadField struct {
	Name, Label, Value, Type string
}

// leadFields are the fields the lead page shows and edits, with in's
// values; editLead reads back the same list.
func leadFields(in leads.LeadInput) []leadField {
	score := ""
	if in.HotScore != nil {
		score = strconv.FormatInt(*in.HotScore, 10)
	}
	return []leadField{
		{"firstName", "First name", in.FirstName, "text"}, {"lastName", "Last name", in.LastName, "text"},
		{"email", "Email", in.Email, "email"}, {"phone", "Phone", in.Phone, "tel"},
		{"company", "Company", in.Company, "text"}, {"jobTitle", "Job title", in.JobTitle, "text"},
		{"source", "Source", in.Source, "text"}, {"location", "Location", in.Location, "text"},
		{"processStage", "Process stage", in.ProcessStage, "text"},
		{"externalId", "External ID", in.ExternalID, "text"}, {"hotScore", "Hot score (0 to 100)", score, "number"},
		{"notes", "Notes", in.Notes, "textarea"},
	}
}

// leadPage shows a lead: its fields, how it was assigned (rotation, turn
// and reason, from its audit trail), and the trail itself.
func (c *Console) leadPage(ctx context.Context, r *request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	l, err := c.svc.Lead(ctx, r.actor, id)
	if err != nil {
		return nil, err
	}
	var trail []auditRow
	for _, e := range l.AuditLog {
		trail = append(trail, newAuditRow(e))
	}
	d := leadData{Lead: l, Trail: trail, SLA: slaStatus(l), Statuses: []leads.Status{leads.StatusNew, leads.StatusContacted, leads.StatusQualified,
		leads.StatusFollowUp, leads.StatusConverted, leads.StatusLost}}
	for i := len(l.AuditLog) - 1; i >= 0; i-- {
		e := &l.AuditLog[i]
		switch e.Event {
		case leads.EventLeadAssigned, leads.EventLeadNotAssigned, leads.EventAssignmentDeferred, leads.EventLeadReassigned:
		default:
			continue
		}
		d.Assignment = e
		if s, ok := e.Data["reason"].(string); ok {
			d.Reason = s
		} else if e.Event == leads.EventLeadReassigned {
			d.Reason = "manual"
		}
		if s, ok := e.Data["rotationName"].(string); ok {
			d.Rotation = s
		}
		break
	}
	if d.Rotation == "" && l.RotationID != 0 {
		if rot, err := c.svc.Rotation(ctx, r.actor, l.RotationID); err == nil {
			d.Rotation = rot.Name
		}
	}
	if d.Why, err = c.why(ctx, r, l.ID); err != nil {
		return nil, err
	}
	if r.can(leads.PermWriteLeads) {
		if d.Members, err = c.svc.Assignees(ctx, r.actor); err != nil {
			return nil, err
		}
	}
	d.Fields = leadFields(l.LeadInput)
	acts, err := c.svc.Activities(ctx, r.actor, l.ID, leads.ActivityListOptions{})
	if err != nil {
		return nil, err
	}
	d.Activities, d.ActivityTypes = acts.Data, leads.ActivityTypes
	d.CanAccept = l.AssignedTo != "" && l.AssignedTo == leads.EmailKey(r.actor.Email) && l.AcceptedAt == nil &&
		l.AssignmentStatus == leads.AssignmentAssigned
	return d, nil
}

// addActivity logs an activity on the lead, by the member signed in; a
// refusal names the form's field.
func (c *Console) addActivity(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	done := r.PostFormValue("completed") == "true"
	in := leads.ActivityInput{Type: leads.ActivityType(r.PostFormValue("type")), Title: r.PostFormValue("title"),
		Note: r.PostFormValue("note"), Outcome: r.PostFormValue("outcome"), Completed: &done}
	if _, err := c.svc.AddActivity(ctx, r.actor, id, in); err != nil {
		return "", err
	}
	return path("leads", id) + "?done=activity", nil
}

// acceptLead accepts the lead as its assignee.
func (c *Console) acceptLead(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if _, err := c.svc.AcceptLead(ctx, r.actor, id); err != nil {
		return "", withField(err, "accept")
	}
	return path("leads", id) + "?done=accepted", nil
}

// editLead saves the lead's edited fields, refused if someone changed the
// lead since the page was shown.
func (c *Console) editLead(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	patch := leads.LeadPatch{}
	for _, f := range leadFields(leads.LeadInput{}) {
		v := r.PostFormValue(f.Name)
		switch {
		case !r.PostForm.Has(f.Name):
		case f.Type != "number":
			patch[f.Name] = v
		case strings.TrimSpace(v) == "":
			patch[f.Name] = nil // an emptied number is cleared
		default:
			n, err := formInt(f.Name, v)
			if err != nil {
				return "", err
			}
			patch[f.Name] = n
		}
	}
	for _, f := range []string{"status", "assignedTo"} {
		if r.PostForm.Has(f) {
			patch[f] = r.PostFormValue(f)
		}
	}
	var opts leads.UpdateOptions
	if v := r.PostFormValue("updatedAt"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return "", leads.ValidationError(leads.FieldError{Field: "updatedAt", Value: v, Message: "Must be the lead's version"})
		}
		opts.IfMatch = &t
	}
	if _, err := c.svc.UpdateLead(ctx, r.actor, id, patch, opts); err != nil {
		switch leads.ErrorCode(err) {
		case leads.CodePreconditionFailed:
			return "", leads.Errorf(leads.CodePreconditionFailed, "someone changed this lead while you edited it; the page now shows their version, make your change again")
		case leads.CodeDuplicateEmail:
			return "", withField(err, "email")
		case leads.CodeDuplicateExternalID:
			return "", withField(err, "externalId")
		}
		return "", err
	}
	return path("leads", id) + "?done=updated", nil
}

// assignLead gives the lead the next turn of its rotation.
func (c *Console) assignLead(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if _, err := c.svc.AssignLead(ctx, r.actor, id, leads.AssignOptions{}); err != nil {
		return "", withField(err, "assign")
	}
	return path("leads", id) + "?done=assigned", nil
}

func (c *Console) archiveLead(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	archive := r.PostFormValue("archived") == "true"
	if _, err := c.svc.UpdateLead(ctx, r.actor, id, leads.LeadPatch{"archived": archive}, leads.UpdateOptions{}); err != nil {
		return "", err
	}
	if !archive {
		return path("leads", id) + "?done=restored", nil
	}
	return path("leads", id) + "?done=archived", nil
}

func (c *Console) deleteLead(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if err := c.svc.DeleteLead(ctx, r.actor, id); err != nil {
		return "", err
	}
	return "/leads?done=deleted", nil
}

type auditData struct {
	Page   *leads.AuditPage
	Event  string
	All    bool
	Events []string
	// Next is as leadsData's.
	Next template.URL
	Rows []auditRow
}

// auditRow is an entry with its data as before/after pairs where it has
// them, and, for an entry whose data reads better as a sentence (an SLA's
// expiry), that sentence.
type auditRow struct {
	leads.AuditEntry
	Changes []auditChange
	Summary string
}

// newAuditRow is the row of e.
func newAuditRow(e leads.AuditEntry) auditRow {
	row := auditRow{AuditEntry: e, Changes: changesOf(e.Data)}
	switch e.Event {
	case leads.EventSLAExpired:
		row.Summary = slaExpiredText(e.Data)
	case leads.EventSLAWaiting:
		row.Summary = slaWaitingText(e.Data)
	}
	return row
}

type auditChange struct {
	Field, Before, After string
}

// accountEvents are the audit events about the account rather than a
// lead, which the audit page shows by default.
var accountEvents = []string{
	leads.EventRotationCreated, leads.EventRotationUpdated, leads.EventRotationDeleted,
	leads.EventTeamCreated, leads.EventTeamUpdated, leads.EventTeamDeleted,
	leads.EventLeadSourceCreated, leads.EventLeadSourceUpdated, leads.EventLeadSourceDeleted,
	leads.EventRoutingRuleCreated, leads.EventRoutingRuleUpdated, leads.EventRoutingRuleDeleted, leads.EventRoutingRulesReordered,
	leads.EventScheduleSet, leads.EventScheduleCleared, leads.EventTimeOffAdded, leads.EventTimeOffDeleted,
	leads.EventHolidayCalendarCreated, leads.EventHolidayCalendarUpdated, leads.EventHolidayCalendarDeleted, leads.EventMemberCalendarSet,
	leads.EventMemberAdded, leads.EventMemberUpdated, leads.EventMemberRemoved, leads.EventAccountUpdated,
	leads.EventMemberInvited, leads.EventInviteAccepted, leads.EventPasswordResetRequested, leads.EventPasswordReset,
	leads.EventPasswordSet, leads.EventAPIKeyCreated, leads.EventAPIKeyRevoked,
	leads.EventWebhookCreated, leads.EventWebhookUpdated, leads.EventWebhookDeleted, leads.EventWebhookDisabled,
	leads.EventSignIn, leads.EventSignInFailed, leads.EventSignOut,
}

// audit lists the account's configuration and account changes, oldest
// first, each with what it was before and after; "every event" adds the
// leads' trails.
func (c *Console) audit(ctx context.Context, r *request) (any, error) {
	query := r.URL.Query()
	d := auditData{Event: query.Get("event"), All: query.Get("scope") == "all", Events: accountEvents}
	q := leads.AuditQuery{Event: d.Event, AccountOnly: !d.All, Limit: 50}
	page, err := c.svc.AuditLog(ctx, r.actor, q, query.Get("cursor"))
	if err != nil {
		return nil, err
	}
	d.Page = page
	for _, e := range page.Data {
		d.Rows = append(d.Rows, newAuditRow(e))
	}
	if page.NextCursor != nil {
		next := r.URL.Query()
		next.Set("cursor", *page.NextCursor)
		d.Next = template.URL(next.Encode())
	}
	return d, nil
}

// changesOf lists an entry's data as before/after pairs: its "before" and
// "after" objects key by key when it has them, a lead update's "changes"
// ({field: {from, to}}), a "from" and "to" pair, else each value as "after".
func changesOf(data map[string]any) []auditChange {
	var out []auditChange
	if changes, ok := data["changes"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(changes)) {
			c, _ := changes[k].(map[string]any)
			out = append(out, auditChange{k, show(c["from"]), show(c["to"])})
		}
		return out
	}
	if from, ok := data["from"]; ok {
		if to, ok := data["to"]; ok {
			return []auditChange{{"", show(from), show(to)}}
		}
	}
	before, _ := data["before"].(map[string]any)
	after, _ := data["after"].(map[string]any)
	if before == nil && after == nil {
		for _, k := range slices.Sorted(maps.Keys(data)) {
			out = append(out, auditChange{Field: k, After: show(data[k])})
		}
		return out
	}
	union := maps.Clone(before)
	if union == nil {
		union = map[string]any{}
	}
	maps.Copy(union, after)
	for _, k := range slices.Sorted(maps.Keys(union)) {
		if b, a := show(before[k]), show(after[k]); b != a {
			out = append(out, auditChange{k, b, a})
		}
	}
	return out
}

func show(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
