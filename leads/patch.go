package leads

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
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

// PatchOf returns the patch that sets the fields of a lead named by their
// JSON names (as in LeadInput's tags: "status", "assignedTo"…) to in's
// values: for Go callers, typed values and no hand-built map. A name that
// is not a LeadInput field is VALIDATION_ERROR naming it. A field whose
// value in is its zero value clears it, as a nil in a JSON patch does.
func PatchOf(in LeadInput, fields ...string) (LeadPatch, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("patch of lead input: %w", err)
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("patch of lead input: %w", err)
	}
	patch := make(LeadPatch, len(fields))
	var errs []FieldError
	for _, f := range fields {
		if inputFields[f] == nil {
			errs = append(errs, FieldError{f, nil, "Unknown field"})
			continue
		}
		patch[f] = all[f] // absent (omitempty): nil, which clears it
	}
	if len(errs) > 0 {
		return nil, ValidationError(errs...)
	}
	return patch, nil
}

// readOnlyFields are Lead fields a patch ignores.
var readOnlyFields = map[string]bool{
	"id": true, "accountId": true, "applicationId": true, "createdAt": true, "updatedAt": true,
	"auditLog": true, "rotationId": true, "rotationTurn": true, "assignmentStatus": true, "waitingReason": true,
	"assignedAt": true, "acceptedAt": true, "firstTouchAt": true, "lastActivityAt": true,
	"slaDueAt": true,
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
			merged, ok := mergeMetadata(cur.Metadata, value)
			if !ok {
				errs = append(errs, FieldError{field, nil, "Must be an object"})
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
// It reports false when value is neither nil nor an object.
func mergeMetadata(cur map[string]any, value any) (map[string]any, bool) {
	if value == nil {
		return nil, true
	}
	patch, ok := value.(map[string]any)
	if !ok {
		return nil, false
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
		return nil, true
	}
	return merged, true
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
