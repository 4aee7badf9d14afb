package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/leadrotor/leadrotor/internal/jsonfields"
	"github.com/leadrotor/leadrotor/leads"
)

// requestTimeout refuses a request whose client did not send its body in
// time (the server's read timeout or the request timeout ran out).
func requestTimeout() error {
	return leads.Errorf(CodeRequestTimeout, "the request body did not arrive in time")
}

// writeJSON writes v as the response body with status. HTML is not escaped:
// the body is JSON, never HTML, and "Bearer <key>" must read as written.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if a, ok := v.(jsonAppender); ok && writeAppended(w, status, a) {
		return
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// jsonAppender is a value that writes its own JSON, the bytes
// encoding/json would write: a lead, a page of leads
// (leads.Lead.AppendJSON).
type jsonAppender interface {
	AppendJSON(b []byte, escapeHTML bool) ([]byte, error)
}

// writeAppended writes v as writeJSON does, without reflection (the same
// bytes), into a pooled buffer; false, having written nothing, when v
// cannot be written so.
func writeAppended(w http.ResponseWriter, status int, v jsonAppender) bool {
	buf := leadBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledLeadBuffer {
			leadBuffers.Put(buf)
		}
	}()
	b, err := v.AppendJSON((*buf)[:0], false)
	if err != nil {
		return false
	}
	*buf = append(b, '\n') // as Encoder.Encode ends its value
	w.WriteHeader(status)
	_, _ = w.Write(*buf)
	return true
}

// leadBuffers keeps the buffers writeAppended writes into: a lead with its
// audit log is a few kilobytes, written for every create.
var leadBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledLeadBuffer is the largest buffer leadBuffers keeps: a lead with
// a long audit log is not kept for every lead after it.
const maxPooledLeadBuffer = 64 << 10

// decodeJSON reads one JSON object from the request body into dst. Unknown
// fields and values of the wrong type are VALIDATION_ERRORs naming the
// field; a body that is not JSON is INVALID_JSON; one over the limit is
// PAYLOAD_TOO_LARGE; one the client is too slow to send is REQUEST_TIMEOUT.
// Numbers inside free-form objects stay exact.
func decodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return leads.Errorf(CodeUnsupportedMediaType, "Content-Type must be application/json")
		}
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	switch trimmed := bytes.TrimSpace(body); {
	case len(trimmed) == 0:
		return leads.Errorf(CodeInvalidJSON, "request body is empty; a JSON object is expected")
	case string(trimmed) == "null":
		// encoding/json decodes null into a struct as nothing at all: the
		// request would be answered as if it had said {} (an accept, a
		// patch that changes nothing), which is not what null says.
		return leads.Errorf(CodeInvalidJSON, "request body must be a JSON object")
	}
	if in, ok := dst.(*leads.LeadInput); ok && decodeLeadInput(body, in) { // in is zero: a create's
		return nil // as the two passes below would have read it
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err, body, dst)
	}
	if dec.More() {
		return leads.Errorf(CodeInvalidJSON, "request body holds more than one JSON value")
	}
	w := exactWalker{refuseNull: r.Method == http.MethodPatch}
	return w.check(body, reflect.TypeOf(dst))
}

// readBody reads the request body within the body limit: PAYLOAD_TOO_LARGE
// past it, REQUEST_TIMEOUT when the client is too slow to send it.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		var netErr net.Error
		switch {
		case errors.As(err, &tooLarge):
			return nil, &leads.Error{Code: CodePayloadTooLarge, Message: "request body too large",
				Details: map[string]any{"limit": tooLarge.Limit}}
		case errors.As(err, &netErr) && netErr.Timeout():
			return nil, requestTimeout()
		}
		return nil, leads.Errorf(CodeInvalidJSON, "could not read request body")
	}
	if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
		// The request's time went on waiting for its body: the client was
		// slow, not a dependency, and nothing is left to do the work in.
		return nil, requestTimeout()
	}
	return body, nil
}

// checkExact walks a body that decoded into a value of type t and refuses
// what encoding/json lets through: text that is not valid UTF-8 (raw bytes,
// or an escaped lone surrogate), which it would store as U+FFFD; a key that
// matches a struct field only case-insensitively ({"TeamId":2} would set
// teamId), an unknown field here; and a key given twice in one object, of
// which it would silently keep the last. Each is a VALIDATION_ERROR naming the
// field by its path ("metadata.utm.source").
func checkExact(body []byte, t reflect.Type) error {
	var w exactWalker
	return w.check(body, t)
}

// check walks body as checkExact says.
func (w *exactWalker) check(body []byte, t reflect.Type) error {
	// The checks are this walk's own (their errors name the field), so
	// jsontext is asked for none of them: only for the tokens, which it
	// reads without allocating where encoding/json's Token allocated for
	// every one.
	w.dec = jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	return w.value(t, "")
}

type exactWalker struct {
	dec *jsontext.Decoder
	// refuseNull refuses null for a field whose Go type is a pointer: in
	// a PATCH body, encoding/json reads it as the field left out, so
	// {"name": null} changed nothing and answered 200. Fields that null
	// does change decode it themselves (patchField, json.RawMessage).
	refuseNull bool
}

// notJSON is the error of a body the walk cannot read: Decode read it
// first, so in practice never.
func notJSON() error { return leads.Errorf(CodeInvalidJSON, "request body is not valid JSON") }

// wrapper is a field type whose JSON is that of another type, which it
// decodes itself (patchField): the body's checks look through it.
type wrapper interface{ wrappedType() reflect.Type }

var wrapperType = reflect.TypeFor[wrapper]()

// unwrapped is t without its pointers, and the type a wrapper wraps.
func unwrapped(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && reflect.PointerTo(t).Implements(wrapperType) {
		t = unwrapped(reflect.New(t).Interface().(wrapper).wrappedType())
	}
	return t
}

// value checks the next JSON value, to be decoded into t (nil: anything).
func (w *exactWalker) value(t reflect.Type, path string) error {
	t = unwrapped(t)
	switch w.dec.PeekKind() {
	case '"':
		raw, err := w.dec.ReadValue()
		if err != nil {
			return notJSON()
		}
		return checkText(raw, path)
	case '[':
		if _, err := w.dec.ReadToken(); err != nil {
			return notJSON()
		}
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for w.dec.PeekKind() != ']' {
			if err := w.value(elem, path); err != nil {
				return err
			}
		}
		if _, err := w.dec.ReadToken(); err != nil {
			return notJSON()
		}
		return nil
	case '{':
		if _, err := w.dec.ReadToken(); err != nil {
			return notJSON()
		}
		return w.object(t, path)
	case 0:
		return notJSON()
	}
	if err := w.dec.SkipValue(); err != nil { // a number, true, false or null
		return notJSON()
	}
	return nil
}

// object checks the members of an object whose { was just read.
func (w *exactWalker) object(t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType) {
		fields = structFields.Of(t)
	}
	var seen keySet
	for w.dec.PeekKind() != '}' {
		raw, err := w.dec.ReadValue()
		if err != nil || len(raw) < 2 {
			return notJSON()
		}
		// Text that is not UTF-8 is named as written; a valid key by
		// what it spells (its escapes read).
		key := string(raw[1 : len(raw)-1])
		name := fieldPath(path, key)
		if err := checkText(raw, name); err != nil {
			return err
		}
		if bytes.IndexByte(raw, '\\') >= 0 {
			unquoted, err := jsontext.AppendUnquote(nil, raw)
			if err != nil {
				return notJSON()
			}
			key = string(unquoted)
			name = fieldPath(path, key)
		}
		if seen.has(key) {
			// encoding/json keeps the last: the first would be ignored.
			return leads.ValidationError(leads.FieldError{Field: name, Message: "Duplicate field"})
		}
		seen.add(key)
		var elem reflect.Type
		switch {
		case fields != nil:
			ft, ok := fields[key]
			if !ok {
				return leads.ValidationError(leads.FieldError{Field: name, Message: "Unknown field"})
			}
			if w.refuseNull && ft.Kind() == reflect.Pointer && w.dec.PeekKind() == 'n' {
				return leads.ValidationError(leads.FieldError{Field: name, Message: "Must not be null: leave it out to keep it as it is"})
			}
			elem = ft
		case t != nil && t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		if err := w.value(elem, name); err != nil {
			return err
		}
	}
	if _, err := w.dec.ReadToken(); err != nil { // }
		return notJSON()
	}
	return nil
}

// fieldPath names key of the object at path ("metadata.utm.source").
func fieldPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// keySet is the keys of an object seen so far: a list while it is short
// (a lead's dozen keys allocate no map), a map past that (an object of
// thousands of keys, which a body of 256 KB can hold, stays linear).
type keySet struct {
	list []string
	set  map[string]bool
}

func (k *keySet) has(key string) bool {
	if k.set != nil {
		return k.set[key]
	}
	return slices.Contains(k.list, key)
}

func (k *keySet) add(key string) {
	switch {
	case k.set != nil:
		k.set[key] = true
	case len(k.list) < 16:
		k.list = append(k.list, key)
	default:
		k.set = make(map[string]bool, 2*len(k.list))
		for _, s := range k.list {
			k.set[s] = true
		}
		k.set[key] = true
	}
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// structFields is the JSON fields of the types request bodies decode into,
// remembered (the way encoding/json caches its own view of them): asking
// reflect for them on every object of every body cost more than the rest
// of the check.
var structFields jsonfields.Cache

// checkText refuses a JSON string token (raw, possibly after a separator)
// that holds bytes that are not UTF-8 or a \uXXXX escape of a surrogate
// that is not half of a pair.
func checkText(raw []byte, field string) error {
	// Built only when refused: every string of every body is checked.
	bad := func() error {
		return leads.ValidationError(leads.FieldError{Field: field,
			Message: "Must be valid UTF-8 text (invalid bytes and unpaired surrogate escapes are refused)"})
	}
	if !utf8.Valid(raw) {
		return bad()
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		// raw[i] is the u of \uXXXX.
		r := hexRune(raw[i+1:])
		if !utf16.IsSurrogate(r) {
			i += 4
			continue
		}
		// A high surrogate must be followed by \uXXXX holding a low one.
		if r >= 0xdc00 || len(raw) < i+11 || raw[i+5] != '\\' || raw[i+6] != 'u' {
			return bad()
		}
		if low := hexRune(raw[i+7:]); low < 0xdc00 || low > 0xdfff {
			return bad()
		}
		i += 10
	}
	return nil
}

// hexRune reads the four hex digits of a \uXXXX escape; -1 if they are
// not.
func hexRune(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}

// jsonError explains a decoding failure, field by field where it can.
func jsonError(err error, body []byte, dst any) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return leads.Errorf(CodeInvalidJSON, "request body must be a JSON object")
		}
		return leads.ValidationError(leads.FieldError{Field: typeErr.Field, Value: typeErr.Value,
			Message: "Must be " + leads.JSONTypeName(typeErr.Type)})
	case errors.As(err, &syntaxErr):
		return &leads.Error{Code: CodeInvalidJSON, Message: "request body is not valid JSON",
			Details: map[string]any{"offset": syntaxErr.Offset, "message": syntaxErr.Error()}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return leads.Errorf(CodeInvalidJSON, "request body is truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json quotes the name with %q: unquote it, escapes and all.
		field, uerr := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if uerr != nil {
			field = strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		// Named by its path when it is nested (sla.x, members[0].x).
		if path, _, _ := failingField(body, reflect.TypeOf(dst), ""); path == field || strings.HasSuffix(path, "."+field) {
			field = path
		}
		return leads.ValidationError(leads.FieldError{Field: field, Message: "Unknown field"})
	}
	// A value whose own decoder failed (a malformed date-time or
	// duration): find which, and say what it must be.
	if path, value, msg := failingField(body, reflect.TypeOf(dst), ""); path != "" {
		return leads.ValidationError(leads.FieldError{Field: path, Value: value, Message: msg})
	}
	return leads.Errorf(CodeInvalidJSON, "request body is not valid: %v", err)
}

// failingField decodes the fields of body, a JSON object, one by one into
// a fresh value of t (a pointer type) to find the one that fails, and
// descends into it when it is an object decoded into a struct, to name the
// failing value by its path (sla.acceptWithin): its path (under prefix),
// its value and what it must be. It runs only on the error path.
func failingField(body []byte, t reflect.Type, prefix string) (path string, value any, msg string) {
	var fields map[string]json.RawMessage
	if t.Kind() != reflect.Pointer || json.Unmarshal(body, &fields) != nil {
		return "", nil, ""
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names) // the same field named, whatever the map's order
	for _, name := range names {
		raw := fields[name]
		one, _ := json.Marshal(map[string]json.RawMessage{name: raw})
		err := strictUnmarshal(one, reflect.New(t.Elem()).Interface())
		if err == nil {
			continue
		}
		if ft, ok := jsonFieldType(t.Elem(), name); ok {
			switch {
			case ft.Kind() == reflect.Struct:
				if p, v, m := failingField(raw, reflect.PointerTo(ft), prefix+name+"."); p != "" {
					return p, v, m
				}
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				var items []json.RawMessage
				_ = json.Unmarshal(raw, &items)
				for i, item := range items {
					if p, v, m := failingField(item, reflect.PointerTo(ft.Elem()), fmt.Sprintf("%s%s[%d].", prefix, name, i)); p != "" {
						return p, v, m
					}
				}
			}
		}
		var v any
		_ = json.Unmarshal(raw, &v)
		return prefix + name, v, valueProblem(err)
	}
	return "", nil, ""
}

// strictUnmarshal decodes b into v as decodeJSON does: no unknown field.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// jsonFieldType is the type (pointers taken off) of the field of struct t
// (or a pointer to one) that the JSON name decodes into, as the body check
// reads fields (structFields); false when there is none.
func jsonFieldType(t reflect.Type, name string) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	ft, ok := structFields.Of(t)[name]
	if ok {
		ft = unwrapped(ft)
	}
	return ft, ok
}

// valueProblem says what a value whose decoding failed with err must be.
func valueProblem(err error) string {
	var timeErr *time.ParseError
	var typeErr *json.UnmarshalTypeError
	switch {
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "Unknown field"
	case errors.Is(err, leads.ErrNotDuration):
		return `Must be a duration such as "5m" or "1h30m"`
	case errors.As(err, &typeErr):
		return "Must be " + leads.JSONTypeName(typeErr.Type)
	case errors.As(err, &timeErr):
		return "Must be an RFC 3339 date-time"
	}
	return "Is not a valid value"
}
