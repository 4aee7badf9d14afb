package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/leadrotor/leadrotor/leads"
)

// writeJSON writes v as the response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one JSON object from the request body into dst. Unknown
// fields and values of the wrong type are VALIDATION_ERRORs naming the
// field; a body that is not JSON is INVALID_JSON; one over the limit is
// PAYLOAD_TOO_LARGE. Numbers inside free-form objects stay exact.
func decodeJSON(r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return leads.Errorf(CodeUnsupportedMediaType, "Content-Type must be application/json")
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &leads.Error{Code: CodePayloadTooLarge, Message: "request body too large",
				Details: map[string]any{"limit": tooLarge.Limit}}
		}
		return leads.Errorf(CodeInvalidJSON, "could not read request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return leads.Errorf(CodeInvalidJSON, "request body is empty; a JSON object is expected")
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
	return nil
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
			Message: "Must be " + describeType(typeErr.Type.Kind().String(), typeErr.Type.String())})
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
		return leads.ValidationError(leads.FieldError{Field: field, Message: "Unknown field"})
	}
	// A value whose own decoder failed (a malformed date-time): find which.
	if field, value := failingField(body, dst); field != "" {
		return leads.ValidationError(leads.FieldError{Field: field, Value: value, Message: "Must be an RFC 3339 date-time"})
	}
	return leads.Errorf(CodeInvalidJSON, "request body is not valid: %v", err)
}

// failingField decodes the body's fields one by one into a fresh dst to find
// the one that fails. It runs only on the error path.
func failingField(body []byte, dst any) (string, any) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return "", nil
	}
	for name, raw := range fields {
		one, _ := json.Marshal(map[string]json.RawMessage{name: raw})
		probe := newLike(dst)
		if json.Unmarshal(one, probe) != nil {
			var v any
			_ = json.Unmarshal(raw, &v)
			return name, v
		}
	}
	return "", nil
}

func newLike(dst any) any {
	switch dst.(type) {
	case *leads.LeadInput:
		return new(leads.LeadInput)
	}
	return new(map[string]any)
}

func describeType(kind, name string) string {
	if name == "time.Time" {
		return "an RFC 3339 date-time string"
	}
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return fmt.Sprintf("of type %s", name)
}
