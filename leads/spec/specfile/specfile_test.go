package specfile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads/spec/specfile"
)

// doc is a document of nested keys, lists, maps, times and embedded
// structs, as the files Decode reads have.
type doc struct {
	Account string           `json:"account"`
	At      time.Time        `json:"at,omitzero"`
	Items   []item           `json:"items"`
	Labels  map[string]label `json:"labels"`
	Free    map[string]any   `json:"free"`
}

type item struct {
	base
	Name  string `json:"name"`
	Count *int   `json:"count"`
	Skip  string `json:"-"`
}

type base struct {
	ID int64 `json:"id"`
}

type label struct {
	Colour string `json:"colour"`
}

// Decode reads YAML and JSON into a type's JSON fields, and refuses an
// unknown key or a value of the wrong kind by its path.
func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     doc
		err      string
	}{
		{name: "YAML", in: "account: 2311\nat: 2026-11-02T09:00:00Z\nitems:\n  - {id: 7, name: a, count: 2}\nlabels: {x: {colour: red}}\nfree: {any: [1, {thing: 2}]}\n",
			want: doc{Account: "2311", At: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), Items: []item{{base: base{ID: 7}, Name: "a", Count: ptr(2)}},
				Labels: map[string]label{"x": {Colour: "red"}}, Free: map[string]any{"any": []any{float64(1), map[string]any{"thing": float64(2)}}}}},
		{name: "JSON", in: `{"account": "a", "items": [{"name": "b"}]}`, want: doc{Account: "a", Items: []item{{Name: "b"}}}},
		{name: "keys as encoding/json reads them", in: "Account: a\nitems: [{NAME: b, count: null}]\n", want: doc{Account: "a", Items: []item{{Name: "b"}}}},
		{name: "empty", in: "", want: doc{}},
		{name: "an unknown top key", in: "acount: a\n", err: `f.yaml: unknown field "acount"`},
		{name: "an unknown nested key", in: "items:\n  - name: a\n  - nmae: b\n", err: `f.yaml: items[1]: unknown field "nmae"`},
		{name: "an unknown key in a map's value", in: "labels: {x: {color: red}}\n", err: `f.yaml: labels.x: unknown field "color"`},
		{name: "a field JSON leaves out", in: "items: [{skip: x}]\n", err: `f.yaml: items[0]: unknown field "skip"`},
		{name: "text for a number", in: "items: [{count: many}]\n", err: "f.yaml: items[0].count: must be an integer, not a string"},
		{name: "a mapping for a list", in: "items: {name: a}\n", err: "f.yaml: items: must be an array, not an object"},
		{name: "a list for a mapping", in: "items: [[1]]\n", err: "f.yaml: items[0]: must be an object, not an array"},
		{name: "not a time", in: "at: yesterday\n", err: "f.yaml: at: must be an RFC 3339 date-time string, such as 2026-11-02T09:00:00Z"},
		{name: "not YAML", in: "items: [\n", err: "f.yaml: yaml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got doc
			err := specfile.Decode(strings.NewReader(tc.in), "f.yaml", &got)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func ptr[T any](v T) *T { return &v }
