package leads

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The JSON of a lead, written without reflection. Every create answers
// with its lead and audit log, and encoding/json's reflection (field by
// field, and each map's keys gathered and sorted through reflect.Value)
// was the largest part of the handler's own CPU; every webhook payload and
// every group commit's packed events and timers wrote the lead again.
// Each AppendJSON here writes byte for byte what encoding/json writes (the
// tests of leadjson_test.go fill every field by reflection, at random, so
// that a field added to Lead, LeadInput, AuditEntry, LeadPage, Event or
// SLATimer without its line here fails them; FuzzLeadJSON). Values of
// metadata and audit data of the types JSON decoding and the engine make
// are written here too; any other goes to encoding/json.

// AppendJSON appends l's JSON to b: what json.Marshal writes for it when
// escapeHTML is true, what an Encoder with SetEscapeHTML(false) writes
// (without its newline) when false; null for a nil l.
func (l *Lead) AppendJSON(b []byte, escapeHTML bool) ([]byte, error) {
	return appendJSON(b, escapeHTML, l, (*jsonWriter).lead)
}

// AppendJSON appends e's JSON to b, as Lead.AppendJSON does.
func (e *AuditEntry) AppendJSON(b []byte, escapeHTML bool) ([]byte, error) {
	return appendJSON(b, escapeHTML, e, (*jsonWriter).audit)
}

// AppendJSON appends p's JSON to b, as Lead.AppendJSON does.
func (p *LeadPage) AppendJSON(b []byte, escapeHTML bool) ([]byte, error) {
	return appendJSON(b, escapeHTML, p, (*jsonWriter).page)
}

// AppendJSON appends e's JSON to b, as Lead.AppendJSON does.
func (e *Event) AppendJSON(b []byte, escapeHTML bool) ([]byte, error) {
	return appendJSON(b, escapeHTML, e, (*jsonWriter).event)
}

// AppendJSON appends t's JSON to b, as Lead.AppendJSON does.
func (t *SLATimer) AppendJSON(b []byte, escapeHTML bool) ([]byte, error) {
	return appendJSON(b, escapeHTML, t, (*jsonWriter).timer)
}

// appendJSON appends v's JSON, written by write, to b; null for nil.
func appendJSON[T any](b []byte, escapeHTML bool, v *T, write func(*jsonWriter, *T)) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	w := jsonWriter{b: b, html: escapeHTML}
	write(&w, v)
	return w.b, w.err
}

// AppendJSONValue appends v's JSON to b as encoding/json writes it (see
// Lead.AppendJSON for escapeHTML): a value with an AppendJSON method of
// this package's kind (a lead, a page, an event, an audit entry, an SLA
// timer) by it; strings, numbers, booleans, times, maps of strings to such
// values and slices of them without reflection; anything else through
// encoding/json.
func AppendJSONValue(b []byte, v any, escapeHTML bool) ([]byte, error) {
	if a, ok := v.(interface {
		AppendJSON([]byte, bool) ([]byte, error)
	}); ok {
		return a.AppendJSON(b, escapeHTML)
	}
	w := jsonWriter{b: b, html: escapeHTML}
	w.value(v)
	return w.b, w.err
}

// jsonWriter appends JSON to b; the first error stays in err.
type jsonWriter struct {
	b    []byte
	html bool
	err  error
}

// name writes a member's name after the first: ,"name":.
func (w *jsonWriter) name(n string) {
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, n...)
	w.b = append(w.b, '"', ':')
}

func (w *jsonWriter) str(n, s string) {
	w.name(n)
	w.b = appendJSONString(w.b, s, w.html)
}

func (w *jsonWriter) strOmit(n, s string) {
	if s != "" {
		w.str(n, s)
	}
}

func (w *jsonWriter) intOmit(n string, v int64) {
	if v != 0 {
		w.name(n)
		w.b = strconv.AppendInt(w.b, v, 10)
	}
}

func (w *jsonWriter) intPtrOmit(n string, v *int64) {
	if v != nil {
		w.name(n)
		w.b = strconv.AppendInt(w.b, *v, 10)
	}
}

func (w *jsonWriter) timeField(n string, t time.Time) {
	w.name(n)
	w.time(t)
}

func (w *jsonWriter) timePtrOmit(n string, t *time.Time) {
	if t != nil {
		w.timeField(n, *t)
	}
}

// time writes t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds); a time it refuses goes to it, for its error.
func (w *jsonWriter) time(t time.Time) {
	_, offset := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || offset <= -24*3600 || offset >= 24*3600 {
		w.marshal(t)
		return
	}
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

func (w *jsonWriter) lead(l *Lead) {
	w.b = append(w.b, `{"id":`...)
	w.b = strconv.AppendInt(w.b, l.ID, 10)
	w.str("accountId", l.AccountID)
	w.strOmit("applicationId", l.ApplicationID)
	in := &l.LeadInput
	w.intOmit("teamId", in.TeamID)
	w.intOmit("leadSourceId", in.LeadSourceID)
	w.str("firstName", in.FirstName)
	w.str("lastName", in.LastName)
	w.strOmit("imgSrc", in.ImgSrc)
	w.strOmit("email", in.Email)
	w.strOmit("phone", in.Phone)
	w.strOmit("company", in.Company)
	w.strOmit("jobTitle", in.JobTitle)
	w.strOmit("branch", in.Branch)
	w.strOmit("source", in.Source)
	w.strOmit("position", in.Position)
	w.strOmit("location", in.Location)
	w.strOmit("productsServicesSold", in.ProductsServicesSold)
	w.intPtrOmit("numberOfEmployees", in.NumberOfEmployees)
	w.strOmit("currentPaymentProcessor", in.CurrentPaymentProcessor)
	w.intPtrOmit("monthlyTransactionVolume", in.MonthlyTransactionVolume)
	if in.InterestedInSwitching != nil {
		w.name("interestedInSwitching")
		w.b = strconv.AppendBool(w.b, *in.InterestedInSwitching)
	}
	w.strOmit("processStage", in.ProcessStage)
	w.strOmit("buyingRole", in.BuyingRole)
	w.strOmit("assignedTo", in.AssignedTo)
	w.strOmit("notes", in.Notes)
	w.timePtrOmit("lastContacted", in.LastContacted)
	w.name("archived")
	w.b = strconv.AppendBool(w.b, in.Archived)
	w.strOmit("createdBy", in.CreatedBy)
	w.strOmit("externalId", in.ExternalID)
	w.intPtrOmit("hotScore", in.HotScore)
	w.strOmit("status", string(in.Status))
	if len(in.Metadata) > 0 {
		w.name("metadata")
		w.object(in.Metadata)
	}
	w.intOmit("rotationId", l.RotationID)
	w.intOmit("rotationTurn", l.RotationTurn)
	w.str("assignmentStatus", string(l.AssignmentStatus))
	w.strOmit("waitingReason", l.WaitingReason)
	w.timePtrOmit("assignedAt", l.AssignedAt)
	w.timePtrOmit("acceptedAt", l.AcceptedAt)
	w.timePtrOmit("firstTouchAt", l.FirstTouchAt)
	w.timePtrOmit("slaDueAt", l.SLADueAt)
	w.timePtrOmit("lastActivityAt", l.LastActivityAt)
	w.timeField("createdAt", l.CreatedAt)
	w.timeField("updatedAt", l.UpdatedAt)
	if len(l.AuditLog) > 0 {
		w.name("auditLog")
		writeArray(w, l.AuditLog, w.audit)
	}
	w.b = append(w.b, '}')
}

func (w *jsonWriter) page(p *LeadPage) {
	w.b = append(w.b, `{"data":`...)
	writeArray(w, p.Data, w.lead)
	w.name("nextCursor")
	if p.NextCursor == nil {
		w.b = append(w.b, "null"...)
	} else {
		w.b = appendJSONString(w.b, *p.NextCursor, w.html)
	}
	w.b = append(w.b, '}')
}

func (w *jsonWriter) event(e *Event) {
	w.b = append(w.b, `{"id":`...)
	w.b = appendJSONString(w.b, e.ID, w.html)
	w.str("type", string(e.Type))
	w.str("accountId", e.AccountID)
	w.name("leadId")
	w.b = strconv.AppendInt(w.b, e.LeadID, 10)
	w.timeField("at", e.At)
	if e.Lead != nil {
		w.name("lead")
		w.lead(e.Lead)
	}
	if len(e.Data) > 0 {
		w.name("data")
		w.object(e.Data)
	}
	w.b = append(w.b, '}')
}

func (w *jsonWriter) timer(t *SLATimer) {
	w.b = append(w.b, `{"accountId":`...)
	w.b = appendJSONString(w.b, t.AccountID, w.html)
	w.name("leadId")
	w.b = strconv.AppendInt(w.b, t.LeadID, 10)
	w.name("rotationId")
	w.b = strconv.AppendInt(w.b, t.RotationID, 10)
	w.str("assignee", t.Assignee)
	w.timeField("assignedAt", t.AssignedAt)
	w.timeField("dueAt", t.DueAt)
	if len(t.Had) > 0 {
		w.name("had")
		w.value(t.Had)
	}
	w.intOmit("reassignments", int64(t.Reassignments))
	if t.Waiting {
		w.b = append(w.b, `,"waiting":true`...)
	}
	w.b = append(w.b, '}')
}

func (w *jsonWriter) audit(e *AuditEntry) {
	w.b = append(w.b, `{"id":`...)
	w.b = strconv.AppendInt(w.b, e.ID, 10)
	w.intOmit("leadId", e.LeadID)
	w.str("event", e.Event)
	w.str("user", e.User)
	w.name("apiKey")
	if e.APIKey == nil {
		w.b = append(w.b, "null"...)
	} else {
		w.b = appendJSONString(w.b, *e.APIKey, w.html)
	}
	w.name("data")
	w.object(e.Data)
	w.timeField("created", e.Created)
	w.strOmit("requestMethod", e.RequestMethod)
	w.strOmit("requestPath", e.RequestPath)
	if len(e.RequestHeaders) > 0 {
		w.name("requestHeaders")
		w.strings(e.RequestHeaders)
	}
	w.strOmit("requestIpAddress", e.RequestIPAddress)
	w.str("account_id", e.AccountID)
	w.b = append(w.b, '}')
}

// object writes m with its keys in order, as encoding/json does; nil is null.
func (w *jsonWriter) object(m map[string]any) {
	if m == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendJSONString(w.b, k, w.html)
		w.b = append(w.b, ':')
		w.value(m[k])
	}
	w.b = append(w.b, '}')
}

func (w *jsonWriter) strings(m map[string]string) {
	w.b = append(w.b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendJSONString(w.b, k, w.html)
		w.b = append(w.b, ':')
		w.b = appendJSONString(w.b, m[k], w.html)
	}
	w.b = append(w.b, '}')
}

// sortedKeys is m's keys in order, in a slice made to size once: each map
// of every lead's metadata and audit data is written (slices.Sorted of
// maps.Keys grows its slice as it goes, an allocation per doubling).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// value writes v: the types decoded JSON and the engine's audit data hold
// here, any other through encoding/json.
func (w *jsonWriter) value(v any) {
	switch x := v.(type) {
	case nil:
		w.b = append(w.b, "null"...)
	case string:
		w.b = appendJSONString(w.b, x, w.html)
	case bool:
		w.b = strconv.AppendBool(w.b, x)
	case int:
		w.b = strconv.AppendInt(w.b, int64(x), 10)
	case int64:
		w.b = strconv.AppendInt(w.b, x, 10)
	case int32:
		w.b = strconv.AppendInt(w.b, int64(x), 10)
	case float64:
		w.float(x)
	case json.Number:
		if x == "" {
			x = "0"
		}
		if !validJSONNumber(string(x)) {
			w.marshal(x) // for its error
			return
		}
		w.b = append(w.b, x...)
	case time.Time:
		w.time(x)
	case map[string]any:
		w.object(x)
	case map[string]string:
		if x == nil {
			w.b = append(w.b, "null"...)
			return
		}
		w.strings(x)
	case []any:
		writeArray(w, x, func(e *any) { w.value(*e) })
	case []string:
		writeArray(w, x, func(e *string) { w.b = appendJSONString(w.b, *e, w.html) })
	default:
		w.marshal(v)
	}
}

// writeArray writes xs, each element by elem (given in place: a lead or an
// audit entry is not copied); nil is null.
func writeArray[T any](w *jsonWriter, xs []T, elem func(*T)) {
	if xs == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '[')
	for i := range xs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		elem(&xs[i])
	}
	w.b = append(w.b, ']')
}

// float writes f as encoding/json writes a float64 (ES6's number to
// string: 'f' between 1e-6 and 1e21, 'e' with an unpadded exponent
// outside).
func (w *jsonWriter) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		w.marshal(f) // for its error
		return
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	w.b = strconv.AppendFloat(w.b, f, format, -1, 64)
	if format == 'e' {
		if n := len(w.b); n >= 4 && w.b[n-4] == 'e' && w.b[n-3] == '-' && w.b[n-2] == '0' {
			w.b[n-2] = w.b[n-1]
			w.b = w.b[:n-1]
		}
	}
}

// marshal writes v through encoding/json, with the writer's HTML escaping.
func (w *jsonWriter) marshal(v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(w.html)
	if err := enc.Encode(v); err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("json: %w", err)
		}
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

const jsonHex = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes it: ", \ and
// control characters escaped (\b \f \n \r \t by name), with escapeHTML
// also <, > and &; invalid UTF-8 as \ufffd; U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string, escapeHTML bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!escapeHTML || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// validJSONNumber reports whether s is a JSON number, as encoding/json
// checks a json.Number before writing it: valid JSON that starts as a
// number does and ends in a digit (so with no space around) is one.
func validJSONNumber(s string) bool {
	return s != "" && (s[0] == '-' || '0' <= s[0] && s[0] <= '9') && '0' <= s[len(s)-1] && s[len(s)-1] <= '9' &&
		json.Valid([]byte(s))
}
