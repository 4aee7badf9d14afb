package leads_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// encodingJSON is what encoding/json writes for v: json.Marshal's bytes
// with escapeHTML, an Encoder's with SetEscapeHTML(false) (its newline cut).
func encodingJSON(v any, escapeHTML bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// awkwardStrings are strings whose quoting differs between careless
// encoders: escapes by name and by number, HTML's characters, invalid
// UTF-8, the two separators JavaScript does not allow in strings.
var awkwardStrings = []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\bbs\fff", "nul \x00 \x01 \x1f \x7f",
	"<b>&amp;</b>", "bad \xff utf8 \xc3", "sep \u2028 \u2029", "ünïcødé 日本 🚀"}

// awkwardValues are values of metadata and audit data: what decoded JSON
// holds and what the engine puts there, some written by encoding/json.
func awkwardValues() []any {
	at := time.Date(2026, 12, 5, 9, 30, 0, 123456789, time.FixedZone("x", 3600))
	return []any{nil, true, false, 0, -7, int64(math.MaxInt64), int32(-3), 0.0, 1.5, -2.25e-7, 1e21, 123456789.0, 1e-6,
		json.Number("12.50"), json.Number("-0"), json.Number("1e400"), json.Number(""), at, at.UTC(),
		"<x>", []any{1.0, "a", nil, []any{}}, []string{"a", "<"}, []string(nil), []any(nil),
		map[string]any{"z": 1.0, "a": map[string]any{"<k>": "v"}}, map[string]any{}, map[string]any(nil),
		leads.Skip{User: "a@b.c", Reason: "away", Slots: 2}, []map[string]any{{"k": "v"}}, leads.StatusContacted}
}

// fill sets every field of v (a pointer to a struct) by reflection: zero
// or not at random, so that each omitempty is seen both ways. A field
// added to Lead, LeadInput or AuditEntry is filled as well, and
// AppendJSON must write it.
func fill(t *testing.T, r *rand.Rand, v reflect.Value) {
	t.Helper()
	strs, vals := awkwardStrings, awkwardValues()
	for i := range v.NumField() {
		f := v.Field(i)
		if r.IntN(4) == 0 && v.Type().Field(i).Name != "LeadInput" {
			continue // zero
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(strs[r.IntN(len(strs))])
		case reflect.Int64, reflect.Int:
			f.SetInt([]int64{0, 1, -1, 42, math.MaxInt64, math.MinInt64}[r.IntN(6)])
		case reflect.Bool:
			f.SetBool(r.IntN(2) == 0)
		case reflect.Struct:
			switch f.Type() {
			case reflect.TypeOf(time.Time{}):
				f.Set(reflect.ValueOf(randomTime(r)))
			default:
				fill(t, r, f)
			}
		case reflect.Pointer:
			p := reflect.New(f.Type().Elem())
			switch p.Elem().Kind() {
			case reflect.String:
				p.Elem().SetString(strs[r.IntN(len(strs))])
			case reflect.Int64:
				p.Elem().SetInt(int64(r.IntN(1000) - 10))
			case reflect.Bool:
				p.Elem().SetBool(r.IntN(2) == 0)
			case reflect.Struct:
				if p.Elem().Type() == reflect.TypeOf(time.Time{}) {
					p.Elem().Set(reflect.ValueOf(randomTime(r)))
				} else {
					fill(t, r, p.Elem())
				}
			default:
				t.Fatalf("fill: a pointer to %s: teach fill and AppendJSON", p.Elem().Type())
			}
			f.Set(p)
		case reflect.Map:
			switch f.Type() {
			case reflect.TypeOf(map[string]any{}):
				m := map[string]any{}
				for j := range r.IntN(6) {
					m[strs[r.IntN(len(strs))]+fmt.Sprint(j%2)] = vals[r.IntN(len(vals))]
				}
				f.Set(reflect.ValueOf(m))
			case reflect.TypeOf(map[string]string{}):
				m := map[string]string{}
				for range r.IntN(4) {
					m[strs[r.IntN(len(strs))]] = strs[r.IntN(len(strs))]
				}
				f.Set(reflect.ValueOf(m))
			default:
				t.Fatalf("fill: a map %s: teach fill and AppendJSON", f.Type())
			}
		case reflect.Slice:
			if f.Type() == reflect.TypeOf([]string{}) {
				f.Set(reflect.ValueOf(awkwardStrings[:r.IntN(len(awkwardStrings))]))
				break
			}
			if f.Type() != reflect.TypeOf([]leads.AuditEntry{}) && f.Type() != reflect.TypeOf([]leads.Lead{}) {
				t.Fatalf("fill: a slice %s: teach fill and AppendJSON", f.Type())
			}
			s := reflect.MakeSlice(f.Type(), r.IntN(4), 4)
			for j := range s.Len() {
				fill(t, r, s.Index(j))
			}
			f.Set(s)
		default:
			t.Fatalf("fill: a field of kind %s: teach fill and AppendJSON", f.Kind())
		}
	}
}

func randomTime(r *rand.Rand) time.Time {
	t := time.Unix(r.Int64N(4e9), int64(r.IntN(3))*int64(r.IntN(1e9)))
	switch r.IntN(3) {
	case 0:
		return t.UTC()
	case 1:
		return t.In(time.FixedZone("east", 5*3600+1800))
	}
	return t.In(time.FixedZone("west", -8*3600))
}

// jsonAppender is what writes its own JSON.
type jsonAppender interface {
	AppendJSON([]byte, bool) ([]byte, error)
}

// requireAgrees checks, n times, that a T whose every field fill set or
// left zero at random is written by its AppendJSON, and by
// AppendJSONValue, byte for byte as encoding/json writes it, with and
// without HTML escaping (or refused when encoding/json refuses it); more
// gives further values to check through AppendJSONValue for each.
func requireAgrees[T any](t *testing.T, seed uint64, n int, more func(*T) []any) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed+1))
	for i := range n {
		var v T
		fill(t, r, reflect.ValueOf(&v).Elem())
		a := any(&v).(jsonAppender)
		values := []any{&v}
		if more != nil {
			values = append(values, more(&v)...)
		}
		for _, html := range []bool{true, false} {
			want, wantErr := encodingJSON(&v, html)
			got, err := a.AppendJSON(nil, html)
			if wantErr != nil {
				require.Error(t, err, "%T %d: encoding/json refused it: %v", v, i, wantErr)
				continue
			}
			require.NoError(t, err, "%T %d", v, i)
			require.Equal(t, string(want), string(got), "%T %d, escapeHTML %v", v, i, html)
			for _, x := range values {
				want, wantErr := encodingJSON(x, html)
				require.NoError(t, wantErr)
				got, err := leads.AppendJSONValue(nil, x, html)
				require.NoError(t, err)
				require.Equal(t, string(want), string(got), "%T %d's %T", v, i, x)
			}
		}
	}
}

// TestJSONAgreesWithEncodingJSON: Lead, Event, SLATimer and LeadPage's
// AppendJSON, and AppendJSONValue for them, their audit entries and the
// values in them, write byte for byte what encoding/json writes.
func TestJSONAgreesWithEncodingJSON(t *testing.T) {
	requireAgrees(t, 1, 3000, func(l *leads.Lead) []any { return []any{l.Metadata} })
	requireAgrees(t, 3, 2000, func(e *leads.Event) []any {
		values := []any{e.Lead, e.Data, e.Type, e.At, map[string]string(nil), map[string]string{"<a>": "b\n", "c": ""}}
		if e.Lead != nil && len(e.Lead.AuditLog) > 0 {
			values = append(values, &e.Lead.AuditLog[0])
		}
		return values
	})
	requireAgrees[leads.SLATimer](t, 5, 500, nil)
	requireAgrees[leads.LeadPage](t, 7, 500, nil)
}

// TestNilJSONIsNull: a nil lead, page, event or entry is null, as
// encoding/json writes it.
func TestNilJSONIsNull(t *testing.T) {
	for _, v := range []jsonAppender{(*leads.Lead)(nil), (*leads.LeadPage)(nil), (*leads.Event)(nil), (*leads.AuditEntry)(nil), (*leads.SLATimer)(nil)} {
		b, err := v.AppendJSON(nil, true)
		require.NoError(t, err)
		require.Equal(t, "null", string(b), "%T", v)
	}
}

// TestLeadJSONRefusesWhatEncodingJSONRefuses: values encoding/json cannot
// write are errors, not output.
func TestLeadJSONRefusesWhatEncodingJSONRefuses(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), json.Number("12a"), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), make(chan int)} {
		l := leads.Lead{LeadInput: leads.LeadInput{Metadata: map[string]any{"v": v}}}
		_, wantErr := json.Marshal(&l)
		require.Error(t, wantErr, "%v", v)
		_, err := l.AppendJSON(nil, true)
		require.Error(t, err, "%v", v)
	}
}

// FuzzLeadJSON holds AppendJSON to encoding/json on fuzzed text fields
// and metadata decoded from fuzzed JSON.
func FuzzLeadJSON(f *testing.F) {
	f.Add("Ada", "<b>\u2028", `{"a":[1,"x",null,{"b":true}],"n":1e-7}`, int64(3))
	f.Fuzz(func(t *testing.T, name, notes, metadata string, id int64) {
		l := leads.Lead{ID: id, LeadInput: leads.LeadInput{FirstName: name, Notes: notes}}
		dec := json.NewDecoder(bytes.NewReader([]byte(metadata)))
		if id%2 == 0 {
			dec.UseNumber()
		}
		_ = dec.Decode(&l.Metadata)
		for _, html := range []bool{true, false} {
			want, wantErr := encodingJSON(&l, html)
			got, err := l.AppendJSON(nil, html)
			if wantErr != nil {
				require.Error(t, err)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		}
	})
}

// BenchmarkLeadJSON writes a created lead as the 201 carries it (its
// fields, a little metadata, its two audit entries), through encoding/json
// and through AppendJSON.
func BenchmarkLeadJSON(b *testing.B) {
	at := time.Date(2026, 12, 5, 9, 30, 0, 123456789, time.UTC)
	key := "lr_abc123"
	employees := int64(120)
	l := &leads.Lead{ID: 123456, AccountID: "acct_demo", LeadInput: leads.LeadInput{TeamID: 1, LeadSourceID: 2,
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+1 555 0100", Company: "Analytical Engines",
		JobTitle: "Engineer", Source: "web", NumberOfEmployees: &employees, Status: leads.StatusNew,
		Metadata: map[string]any{"campaign": "winter", "score": json.Number("42"), "utm": map[string]any{"source": "ads", "medium": "cpc"}}},
		RotationID: 3, RotationTurn: 9876, AssignmentStatus: leads.AssignmentAssigned, AssignedAt: &at, SLADueAt: &at,
		CreatedAt: at, UpdatedAt: at,
		AuditLog: []leads.AuditEntry{
			{ID: 1, LeadID: 123456, Event: "lead_created", User: "api@example.com", APIKey: &key, Created: at, AccountID: "acct_demo",
				Data: map[string]any{"status": "new", "teamId": int64(1), "leadSourceId": int64(2)}},
			{ID: 2, LeadID: 123456, Event: "lead_assigned", User: "api@example.com", APIKey: &key, Created: at, AccountID: "acct_demo",
				Data: map[string]any{"assignee": "rep1@example.com", "reason": "rotation", "rotationId": int64(3),
					"rotationName": "Inbound", "turn": int64(9876), "skipped": []any{map[string]any{"user": "rep2@example.com", "reason": "away", "slots": 0}}}},
		}}
	b.Run("encoding/json", func(b *testing.B) {
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		buf := make([]byte, 0, 4096)
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = l.AppendJSON(buf[:0], false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
