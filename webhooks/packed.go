package webhooks

import (
	"encoding/json"
	"fmt"
)

// packed is a job argument that river's job row keeps as one JSON string
// holding the value's own JSON, rather than as a JSON document. River
// indexes every job's args with a GIN index, which makes an entry per key
// and value of a document and writes them again each time the job's row
// changes (inserted, fetched, completed): for the events of a group commit,
// hundreds of entries three times over. A string is one entry. Unpacking
// also takes the value as a document, as jobs written before it was packed
// were.
type packed[T any] struct{ V T }

// MarshalJSON encodes V as a JSON string of its JSON.
func (p packed[T]) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(p.V)
	if err != nil {
		return nil, fmt.Errorf("pack job argument: %w", err)
	}
	return json.Marshal(string(b))
}

// UnmarshalJSON decodes what MarshalJSON encoded, or V's JSON itself.
func (p *packed[T]) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("unpack job argument: %w", err)
		}
		b = []byte(s)
	}
	if err := json.Unmarshal(b, &p.V); err != nil {
		return fmt.Errorf("unpack job argument: %w", err)
	}
	return nil
}
