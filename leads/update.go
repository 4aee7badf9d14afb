package leads

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// LeadPatch is a partial update of a lead, shaped like LeadInput's JSON:
// only the fields present change. A field set to nil is cleared (text becomes
// empty, numbers and dates absent). Metadata is merged key by key, and a
// metadata key set to nil is removed. Read-only fields of a Lead (id,
// createdAt, auditLog…) are ignored, so that a lead read from the API can be
// sent back changed; createdBy cannot change.
type LeadPatch map[string]any

// readOnlyFields are Lead fields a patch ignores.
var readOnlyFields = map[string]bool{
	"id": true, "accountId": true, "applicationId": true, "createdAt": true, "updatedAt": true,
	"auditLog": true, "rotationId": true, "rotationTurn": true, "assignmentStatus": true,
}

// inputFields are the JSON names of LeadInput's fields.
var inputFields = func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	t := reflect.TypeFor[LeadInput]()
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		m[name] = f.Type
	}
	return m
}()

// JSONTypeName names the JSON type that a Go type decodes from, for messages
// such as "Must be an integer".
func JSONTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 date-time string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "of type " + t.String()
}

// toJSONMap returns v's JSON form as a map, numbers kept exact.
func toJSONMap(v any) map[string]any {
	raw, _ := json.Marshal(v)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	_ = dec.Decode(&m)
	return m
}

// applyPatch returns cur with patch applied, or a VALIDATION_ERROR naming
// each field the patch cannot set.
func applyPatch(cur LeadInput, patch LeadPatch) (LeadInput, error) {
	base := toJSONMap(cur)
	var errs []FieldError
	for field, value := range patch {
		switch {
		case readOnlyFields[field]:
		case field == "createdBy":
			if s, ok := value.(string); !ok || s != cur.CreatedBy {
				errs = append(errs, FieldError{field, shorten(value), "Cannot be changed"})
			}
		case inputFields[field] == nil:
			errs = append(errs, FieldError{field, shorten(value), "Unknown field"})
		case field == "status" && value == nil:
			errs = append(errs, FieldError{field, nil, "Cannot be null"})
		case field == "metadata":
			merged, err := mergeMetadata(cur.Metadata, value)
			if err != nil {
				errs = append(errs, FieldError{field, nil, err.Error()})
			} else if merged == nil {
				delete(base, field)
			} else {
				base[field] = merged
			}
		case value == nil:
			delete(base, field)
		default:
			base[field] = value
		}
	}
	if len(errs) > 0 {
		return cur, ValidationError(errs...)
	}
	return decodeInput(base)
}

// mergeMetadata merges a patch's metadata into the current metadata: nil
// clears it, an object's keys are set, and a key set to nil is removed.
func mergeMetadata(cur map[string]any, value any) (map[string]any, error) {
	if value == nil {
		return nil, nil
	}
	patch, ok := value.(map[string]any)
	if !ok {
		return nil, errors.New("Must be an object")
	}
	merged := maps.Clone(cur)
	if merged == nil {
		merged = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	if len(merged) == 0 {
		return nil, nil
	}
	return merged, nil
}

// decodeInput decodes a JSON object into a LeadInput, reporting a value of
// the wrong type or format as a VALIDATION_ERROR for its field.
func decodeInput(m map[string]any) (LeadInput, error) {
	var in LeadInput
	raw, _ := json.Marshal(m)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	err := dec.Decode(&in)
	if err == nil {
		return in, nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		if t := inputFields[typeErr.Field]; t != nil {
			return in, ValidationError(FieldError{typeErr.Field, shorten(m[typeErr.Field]), "Must be " + JSONTypeName(t)})
		}
	}
	for field, value := range m {
		one, _ := json.Marshal(map[string]any{field: value})
		if json.Unmarshal(one, new(LeadInput)) != nil {
			return in, ValidationError(FieldError{field, shorten(value), "Must be " + JSONTypeName(inputFields[field])})
		}
	}
	return in, ValidationError(FieldError{"", nil, err.Error()})
}

// change is one field's old and new value in an audit entry.
type change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// diffAudit returns the audit entries that describe the change from old to
// next: status_changed, lead_reassigned and lead_updated (every other field,
// metadata key by key), in that order; none when nothing changed.
func diffAudit(actor Actor, old, next LeadInput, now time.Time) []AuditEntry {
	om, nm := toJSONMap(old), toJSONMap(next)
	changes := map[string]any{}
	for field := range inputFields {
		from, to := om[field], nm[field]
		if reflect.DeepEqual(from, to) {
			continue
		}
		if field == "metadata" {
			changes[field] = metadataChange(from, to)
			continue
		}
		changes[field] = change{from, to}
	}
	var entries []AuditEntry
	if c, ok := changes["status"].(change); ok {
		entries = append(entries, newAuditEntry(actor, EventStatusChanged, map[string]any{"from": c.From, "to": c.To}, now))
		delete(changes, "status")
	}
	if c, ok := changes["assignedTo"].(change); ok {
		entries = append(entries, newAuditEntry(actor, EventLeadReassigned, map[string]any{"from": orEmpty(c.From), "to": orEmpty(c.To), "reason": "manual"}, now))
		delete(changes, "assignedTo")
	}
	if len(changes) > 0 {
		entries = append(entries, newAuditEntry(actor, EventLeadUpdated, map[string]any{"changes": toJSONMap(changes)}, now))
	}
	return entries
}

// metadataChange lists the metadata keys that changed, with old and new values
// (nil for a key that was absent or was removed).
func metadataChange(from, to any) change {
	fm, _ := from.(map[string]any)
	tm, _ := to.(map[string]any)
	c := change{From: map[string]any{}, To: map[string]any{}}
	for k := range fm {
		if !reflect.DeepEqual(fm[k], tm[k]) {
			c.From.(map[string]any)[k], c.To.(map[string]any)[k] = fm[k], tm[k]
		}
	}
	for k := range tm {
		if _, seen := fm[k]; !seen {
			c.From.(map[string]any)[k], c.To.(map[string]any)[k] = nil, tm[k]
		}
	}
	return c
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// UpdateOptions modify Update.
type UpdateOptions struct {
	// SkipTeamAndSourceRequirement applies as in Create when the patch
	// changes the team or the lead source.
	SkipTeamAndSourceRequirement bool
	// IfMatch, when set, is the updatedAt of the lead as the caller last saw
	// it; if the lead changed since, nothing is written: PRECONDITION_FAILED.
	IfMatch *time.Time
}

// Update changes the fields of a lead that patch names (see LeadPatch) and
// records the change in the audit log: status_changed {from, to},
// lead_reassigned {from, to} and lead_updated {changes: {field: {from, to}}}.
// The result must pass every rule of Create: VALIDATION_ERROR, the team and
// lead-source rules when either changes, DUPLICATE_EMAIL when the email does,
// MEMBER_NOT_IN_ACCOUNT for an assignee who is not a member. A failing
// update writes nothing. NOT_FOUND for a lead not in actor's account;
// PRECONDITION_FAILED when opts.IfMatch is stale. An update that changes
// nothing writes nothing and returns the lead as it is.
func (s *Service) Update(ctx context.Context, actor Actor, id int64, patch LeadPatch, opts UpdateOptions) (*Lead, error) {
	if err := actor.Require(PermWriteLeads); err != nil {
		return nil, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	// A duplicate email needs a read, which must happen before the row lock:
	// check here; the unique index catches a lead created meanwhile.
	if email, ok := patch["email"].(string); ok && email != "" && cfg.Account.DuplicatePolicy != DuplicateAllow {
		check, err := s.store.CreateCheck(ctx, CreateCheckQuery{AccountID: actor.AccountID, EmailKey: EmailKey(email), ExcludeLeadID: id})
		if err != nil {
			return nil, fmt.Errorf("update lead %d: %w", id, err)
		}
		if check.DuplicateLeadID != 0 {
			return nil, duplicateEmail(strings.TrimSpace(email), check.DuplicateLeadID)
		}
	}
	_, teamChanges := patch["teamId"]
	_, sourceChanges := patch["leadSourceId"]
	now := s.clock()
	lead, err := s.store.UpdateLead(ctx, actor.AccountID, id, func(cur *Lead) (*LeadWrite, error) {
		if opts.IfMatch != nil && !cur.UpdatedAt.Equal(*opts.IfMatch) {
			return nil, stale(cur)
		}
		next, err := applyPatch(cur.LeadInput, patch)
		if err != nil {
			return nil, err
		}
		next.Normalize()
		if err := next.Validate(); err != nil {
			return nil, err
		}
		if teamChanges || sourceChanges {
			if err := applyTeamRules(cfg, &next, opts.SkipTeamAndSourceRequirement); err != nil {
				return nil, err
			}
		}
		next.AssignedTo = EmailKey(next.AssignedTo)
		if next.AssignedTo != cur.AssignedTo {
			if err := cfg.requireMember(next.AssignedTo); err != nil {
				return nil, err
			}
		}
		entries := diffAudit(actor, cur.LeadInput, next, now)
		if len(entries) == 0 {
			return nil, nil
		}
		w := &LeadWrite{Lead: cur.next(now), Audit: entries}
		w.Lead.LeadInput = next
		if next.AssignedTo != cur.AssignedTo {
			// Reassigned by hand: no rotation chose this assignee, and a
			// lead that waited for its rotation waits no more.
			w.Lead.RotationID, w.Lead.RotationTurn = 0, 0
			w.Lead.AssignmentStatus = settledStatus(next.AssignedTo)
		}
		if EmailKey(next.Email) != EmailKey(cur.Email) {
			unique := ""
			if cfg.Account.DuplicatePolicy != DuplicateAllow {
				unique = EmailKey(next.Email)
			}
			w.UniqueEmail = &unique
		}
		return w, nil
	})
	if errors.Is(err, ErrEmailTaken) {
		check, cerr := s.store.CreateCheck(ctx, CreateCheckQuery{AccountID: actor.AccountID, EmailKey: EmailKey(fmt.Sprint(patch["email"])), ExcludeLeadID: id})
		if cerr != nil {
			return nil, fmt.Errorf("update lead %d: %w", id, cerr)
		}
		return nil, duplicateEmail(fmt.Sprint(patch["email"]), check.DuplicateLeadID)
	}
	if err != nil {
		return nil, fmt.Errorf("update lead %d: %w", id, err)
	}
	return lead, nil
}

// next returns a copy of l to be written at now. updatedAt strictly
// increases, even when the clock does not, because it is the lead's version.
func (l *Lead) next(now time.Time) *Lead {
	n := *l
	n.AuditLog = nil
	n.UpdatedAt = now
	if !now.After(l.UpdatedAt) {
		n.UpdatedAt = l.UpdatedAt.Add(time.Microsecond)
	}
	return &n
}

func stale(cur *Lead) error {
	return &Error{Code: CodePreconditionFailed, Message: "the lead was changed since the version given in If-Match",
		Details: map[string]any{"updatedAt": cur.UpdatedAt}}
}

// requireMember checks that email is "" or a member of the account.
func (c *AccountConfig) requireMember(email string) error {
	if email == "" || c.Members[email] != "" {
		return nil
	}
	return MemberNotInAccount(email, "")
}

// AssignOptions modify Assign.
type AssignOptions struct {
	// RotationID names the rotation to take a turn of; 0 for the one that
	// applies to the lead now (its team's, else the default).
	RotationID int64
}

// Assign reassigns a lead to the next eligible member of a rotation, taking
// a turn, and records lead_reassigned with the rotation and the reason.
// ROTATION_NOT_FOUND for a named rotation not in the account; NO_ROTATION
// when none applies; NO_ELIGIBLE_MEMBER when nobody can take it and there is
// no fallback (nothing changes then); NOT_FOUND for a lead not in the account.
func (s *Service) Assign(ctx context.Context, actor Actor, id int64, opts AssignOptions) (*Lead, Assignment, error) {
	if err := actor.Require(PermWriteLeads); err != nil {
		return nil, Assignment{}, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, Assignment{}, err
	}
	cur, err := s.store.Lead(ctx, actor.AccountID, id, false)
	if err != nil {
		return nil, Assignment{}, fmt.Errorf("assign lead %d: %w", id, err)
	}
	rot := cfg.RotationFor(cur.TeamID)
	if opts.RotationID != 0 {
		if rot = cfg.Rotation(opts.RotationID); rot == nil {
			return nil, Assignment{}, &Error{Code: CodeRotationNotFound, Message: "rotation not found",
				Details: map[string]any{"rotationId": opts.RotationID}}
		}
	}
	if rot == nil || s.rotator == nil {
		return nil, Assignment{}, Errorf(CodeNoRotation, "no rotation applies to this lead")
	}
	now := s.clock()
	probe := &Lead{}
	a, _, turn, err := s.assignWith(ctx, rot, probe, now, false)
	if err != nil {
		return nil, Assignment{}, err
	}
	if a.Assignee == "" {
		return nil, a, &Error{Code: CodeNoEligibleMember, Message: fmt.Sprintf("nobody in rotation %q can take a lead now", rot.Name),
			Details: map[string]any{"rotationId": rot.ID, "skipped": a.Skipped}}
	}
	wctx, cancel := turnWriteContext(ctx)
	defer cancel()
	lead, err := s.store.UpdateLead(wctx, actor.AccountID, id, func(cur *Lead) (*LeadWrite, error) {
		entry, _ := a.auditEntry(actor, now)
		entry.Event = EventLeadReassigned
		entry.Data["from"], entry.Data["to"] = cur.AssignedTo, a.Assignee
		delete(entry.Data, "assignee")
		w := &LeadWrite{Lead: cur.next(now), Audit: []AuditEntry{entry}}
		w.Lead.AssignedTo, w.Lead.RotationID, w.Lead.RotationTurn = a.Assignee, rot.ID, probe.RotationTurn
		w.Lead.AssignmentStatus = AssignmentAssigned
		if probe.RotationTurn != 0 {
			w.Turn = &TurnRecord{RotationID: rot.ID, Turn: probe.RotationTurn, Assignee: a.Assignee, At: now, Skips: a.Skipped, State: turn.Checkpoint}
		}
		return w, nil
	})
	// A transaction that failed for want of the database may have
	// committed: its turn stays open for the rotator to settle.
	s.afterWrite(ctx, rot, turn, err, IsUnavailable(err))
	if err != nil {
		return nil, Assignment{}, fmt.Errorf("assign lead %d: %w", id, err)
	}
	return lead, a, nil
}

// Delete removes a lead for good, keeping its audit trail and adding a
// lead_deleted entry that holds the whole lead as it was. Managers and
// admins only; NOT_FOUND for a lead not in actor's account.
func (s *Service) Delete(ctx context.Context, actor Actor, id int64) error {
	if err := actor.Require(PermDeleteLeads); err != nil {
		return err
	}
	now := s.clock()
	err := s.store.DeleteLead(ctx, actor.AccountID, id, func(cur *Lead) AuditEntry {
		snapshot := *cur
		snapshot.AuditLog = nil
		return newAuditEntry(actor, EventLeadDeleted, map[string]any{"lead": toJSONMap(snapshot)}, now)
	})
	if err != nil {
		return fmt.Errorf("delete lead %d: %w", id, err)
	}
	return nil
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
	if err := checkText("event", q.Event, MaxShortTextLength); err != nil {
		return nil, err
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
