package webhooks

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/leadrotor/leadrotor/leads"
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
//
// Text of deflateAbove bytes or more is deflated first, and marked with a
// leading '~' (which base64 never writes): a group commit's events are
// tens of kilobytes of the same field names over and over, which deflate
// shrinks several times over, and every reader of the job's row pays for
// its size. SQLite's river driver turns each job of an insert back into
// text once per column it reads from it (thirteen), which with the events
// inline was 13 % of the embedded server's CPU; PostgreSQL parses the
// string into jsonb and compresses the row again on its own.
func (p packed[T]) MarshalText() ([]byte, error) {
	b, err := packJSON(p.V)
	if err != nil {
		return nil, fmt.Errorf("pack job argument: %w", err)
	}
	if len(b) < deflateAbove {
		return base64.StdEncoding.AppendEncode(nil, b), nil
	}
	z, err := deflate(b)
	if err != nil {
		return nil, fmt.Errorf("pack job argument: %w", err)
	}
	return base64.StdEncoding.AppendEncode([]byte{deflated}, z), nil
}

// packJSON is v's JSON: a group commit's events and timers are written
// without reflection (leads.Event.AppendJSON, leads.SLATimer.AppendJSON:
// what json.Marshal writes), anything else by json.Marshal.
func packJSON(v any) ([]byte, error) {
	switch x := v.(type) {
	case []leads.Event:
		if x != nil {
			return appendEach(x, 1024)
		}
	case []leads.SLATimer:
		if x != nil {
			return appendEach(x, 256)
		}
	}
	return json.Marshal(v)
}

// appendEach writes xs as a JSON array, each by its AppendJSON; size is
// about the length of one.
func appendEach[T any, P interface {
	*T
	AppendJSON([]byte, bool) ([]byte, error)
}](xs []T, size int) ([]byte, error) {
	b := make([]byte, 0, size*len(xs)+2)
	b = append(b, '[')
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = P(&xs[i]).AppendJSON(b, true); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// deflateAbove is the size of JSON text from which packed deflates it: a
// lead's event or two, below which there is little to gain.
const deflateAbove = 2048

// deflated marks packed text that is deflated.
const deflated = '~'

// deflaters and inflaters keep compress/flate's writers and readers, whose
// state is large (a writer's is most of a megabyte), for the next job.
var (
	deflaters sync.Pool // *flate.Writer
	inflaters sync.Pool // io.ReadCloser that is a flate.Resetter
)

// deflate compresses b at flate's best speed.
func deflate(b []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(b) / 4)
	w, _ := deflaters.Get().(*flate.Writer)
	if w == nil {
		var err error
		if w, err = flate.NewWriter(&out, flate.BestSpeed); err != nil {
			return nil, err
		}
	} else {
		w.Reset(&out)
	}
	defer deflaters.Put(w)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// inflate reverses deflate.
func inflate(z []byte) ([]byte, error) {
	src := bytes.NewReader(z)
	r, _ := inflaters.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(src)
	} else if err := r.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, err
	}
	defer inflaters.Put(r)
	out := bytes.NewBuffer(make([]byte, 0, 6*len(z)))
	if _, err := io.Copy(out, r); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// UnmarshalJSON decodes what MarshalText encoded (deflated or not), the
// JSON text as a string, or V's JSON itself. V is a struct or a slice: its
// JSON text starts with { or [ (or is null), which base64 never does.
func (p *packed[T]) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		if b[1] == '{' || b[1] == '[' || string(b) == `"null"` {
			var s string
			if err := json.Unmarshal(b, &s); err != nil {
				return fmt.Errorf("unpack job argument: %w", err)
			}
			b = []byte(s)
		} else {
			text, zipped := b[1:len(b)-1], b[1] == deflated
			if zipped {
				text = text[1:]
			}
			var err error
			if b, err = base64.StdEncoding.AppendDecode(nil, text); err != nil {
				return fmt.Errorf("unpack job argument: %w", err)
			}
			if zipped {
				if b, err = inflate(b); err != nil {
					return fmt.Errorf("unpack job argument: %w", err)
				}
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
