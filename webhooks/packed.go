package webhooks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
)

// packed is a job argument that river's job row keeps as one JSON string
// holding the value's own JSON, base64-encoded, rather than as a JSON
// document. River indexes every job's args with a GIN index, which makes an
// entry per key and value of a document and writes them again each time
// the job's row changes (inserted, fetched, completed): for the events of a
// group commit, hundreds of entries three times over. A string is one
// entry. Base64 rather than the JSON text escaped as a string: encoding
// and decoding JSON text inside a JSON string escapes and unescapes every
// quote of it, and every decoder on the way (river's, PostgreSQL's jsonb)
// scans it byte by byte; base64 has nothing to escape. Unpacking also takes
// the forms of jobs written before: the JSON text as a string, and the
// value as a document.
type packed[T any] struct{ V T }

// MarshalText encodes V's JSON in base64, which encoding/json writes as
// a string. Text rather than MarshalJSON: encoding/json scans whatever a
// MarshalJSON returns once more to validate and compact it, which cost as
// much as making it.
func (p packed[T]) MarshalText() ([]byte, error) {
	b, err := json.Marshal(p.V)
	if err != nil {
		return nil, fmt.Errorf("pack job argument: %w", err)
	}
	return base64.StdEncoding.AppendEncode(nil, b), nil
}

// UnmarshalJSON decodes what MarshalText encoded, the JSON text as a
// string, or V's JSON itself. V is a struct or a slice: its JSON text
// starts with { or [ (or is null), which base64 never does.
func (p *packed[T]) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		if b[1] == '{' || b[1] == '[' || string(b) == `"null"` {
			var s string
			if err := json.Unmarshal(b, &s); err != nil {
				return fmt.Errorf("unpack job argument: %w", err)
			}
			b = []byte(s)
		} else {
			var err error
			if b, err = base64.StdEncoding.AppendDecode(nil, b[1:len(b)-1]); err != nil {
				return fmt.Errorf("unpack job argument: %w", err)
			}
		}
	}
	// encoding/json/v2's decoder, which takes half the time of
	// encoding/json's (BenchmarkEventJob): the text is what MarshalText
	// wrote with encoding/json, so the two agree on it (names as the tags
	// spell them, valid UTF-8, no duplicate names;
	// TestPackedDecodesAsEncodingJSON).
	if err := jsonv2.Unmarshal(b, &p.V); err != nil {
		return fmt.Errorf("unpack job argument: %w", err)
	}
	return nil
}
