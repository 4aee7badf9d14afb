package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// createBody reads body as POST /leads does: within the body limit, decoded
// by decodeJSON, then normalized and validated as Service.CreateLead does.
func createBody(body []byte) (leads.LeadInput, error) {
	r := httptest.NewRequest(http.MethodPost, "/leads", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(nil, r.Body, DefaultBodyLimit)
	var in leads.LeadInput
	if err := decodeJSON(r, &in); err != nil {
		return in, err
	}
	in.Normalize()
	return in, in.Validate()
}

// FuzzCreateBody sends any bytes as the body of POST /leads, up to
// validation. It never panics; a refused body is a 400 (VALIDATION_ERROR
// naming a field, or INVALID_JSON) or a 413, never a 500; an accepted one
// keeps every limit, measured here independently of leads, and reads back
// the same after a trip through JSON.
func FuzzCreateBody(f *testing.F) {
	for _, seed := range []string{
		`{"firstName":"Ada","lastName":"Lovelace"}`,
		`{"firstName":" Ada ","lastName":"L","email":"ada@example.com","phone":"+1 555 0100","status":"qualified",` +
			`"teamId":1,"leadSourceId":2,"numberOfEmployees":0,"interestedInSwitching":false,"archived":true,` +
			`"lastContacted":"2026-11-20T15:04:05.123456789+02:00","imgSrc":"https://example.com/a.png",` +
			`"externalId":" crm-42 ","hotScore":100}`,
		`{"firstName":"A","lastName":"B","hotScore":101}`,
		`{"firstName":"A","lastName":"B","metadata":{"utm":{"source":"google","tags":["a",1,true,null]},"score":12345678901234567}}`,
		`{"firstName":"A","lastName":"B","metadata":{"a":{"b":{"c":{"d":{"e":1}}}}}}`,
		`{"firstName":"A","lastName":"B","metadata":{"n":1e39,"m":-1.5e-38,"s":"\u0000"}}`,
		`{"firstName":"A","lastName":"B","lastContacted":"9999-12-31T23:30:00-01:00"}`,
		`{"firstName":"\u00e9\ud800","lastName":5}`,
		`{"firstName":"A","lastName":"B","favouriteColour":"blue"}`,
		`{"firstName":"A","lastName":"B","\"quoted\" \u00e9\\":1}`,
		`{"firstName":"A","lastName":"B"} {}`,
		`[1,2]`,
		`{"firstName":`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := createBody(body)
		if err != nil {
			requireClientError(t, err)
			if leads.ErrorDetails(err)["message"] == "Unknown field" {
				var sent map[string]json.RawMessage // the first value: the one decoded
				require.NoError(t, json.NewDecoder(bytes.NewReader(body)).Decode(&sent))
				require.Contains(t, sent, leads.ErrorDetails(err)["field"], "the unknown field is named as sent")
			}
			return
		}
		requireWithinLimits(t, &in)
		raw, err := json.Marshal(in)
		require.NoError(t, err, "a valid lead encodes")
		back, err := createBody(raw)
		require.NoError(t, err, "a valid lead, encoded, is valid: %s", raw)
		again, err := json.Marshal(back)
		require.NoError(t, err)
		require.Equal(t, string(raw), string(again), "a valid lead reads back the same")
	})
}

// requireClientError requires err to be one a client caused: a 4xx with a
// code, and for VALIDATION_ERROR the field and what is wrong with it.
func requireClientError(t *testing.T, err error) {
	t.Helper()
	var e *leads.Error
	require.True(t, errors.As(err, &e), "not a domain error: %v", err)
	require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, StatusOf(err), "%v", err)
	require.NotEmpty(t, e.Message)
	if e.Code == leads.CodeValidation {
		require.IsType(t, "", e.Details["field"], "%v", err)
		require.NotEmpty(t, e.Details["message"], "%v", err)
		if m := e.Details["message"]; m != "Unknown field" && m != "Unknown parameter" { // a name may be ""
			require.NotEmpty(t, e.Details["field"], "%v", err)
		}
	}
}

// requireWithinLimits checks a validated lead against every limit, by code
// of its own: a second opinion on leads.LeadInput.Validate.
func requireWithinLimits(t *testing.T, in *leads.LeadInput) {
	t.Helper()
	fields := map[string]any{}
	raw, err := json.Marshal(in)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&fields))
	for field, max := range leads.TextFieldLimits() {
		s, _ := fields[field].(string)
		require.True(t, utf8.ValidString(s), "%s", field)
		require.NotContains(t, s, "\x00", "%s", field)
		require.Equal(t, strings.TrimSpace(s), s, "%s is trimmed", field)
		require.LessOrEqual(t, utf8.RuneCountInString(s), max, "%s", field)
	}
	require.NotEmpty(t, in.FirstName)
	require.NotEmpty(t, in.LastName)
	require.True(t, in.Status.Valid())
	if in.HotScore != nil {
		require.True(t, *in.HotScore >= 0 && *in.HotScore <= leads.MaxHotScore, "hotScore %d", *in.HotScore)
	}
	if in.LastContacted != nil {
		y := in.LastContacted.Year()
		require.True(t, y >= 1 && y <= 9999 && in.LastContacted.Location() == time.UTC, "%v", in.LastContacted)
	}
	if in.Metadata == nil {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(in.Metadata))
	require.LessOrEqual(t, buf.Len()-1, leads.MaxMetadataBytes, "metadata bytes")
	depth, keys := metadataShape(t, in.Metadata)
	require.LessOrEqual(t, depth, leads.MaxMetadataDepth, "metadata depth")
	require.LessOrEqual(t, keys, leads.MaxMetadataKeys, "metadata keys")
}

// metadataShape returns how deep objects and arrays nest in v (v itself
// counting as one) and how many keys its objects have together; it checks
// every string and number on the way.
func metadataShape(t *testing.T, v any) (depth, keys int) {
	t.Helper()
	var children []any
	switch v := v.(type) {
	case map[string]any:
		keys = len(v)
		for k, e := range v {
			require.NotContains(t, k, "\x00")
			children = append(children, e)
		}
	case []any:
		children = v
	case string:
		require.NotContains(t, v, "\x00")
		return 0, 0
	case json.Number:
		n, ok := new(big.Float).SetPrec(512).SetString(v.String())
		require.True(t, ok, "%s", v)
		digits := strings.NewReplacer("-", "", ".", "").Replace(n.Text('f', -1))
		require.LessOrEqual(t, len(digits), leads.MaxMetadataNumberDigits, "%s written out is %s", v, n.Text('f', -1))
		return 0, 0
	default:
		return 0, 0
	}
	deepest := 0
	for _, c := range children {
		d, k := metadataShape(t, c)
		deepest = max(deepest, d)
		keys += k
	}
	return deepest + 1, keys
}

// listRecorder is a store that answers ListLeads with nothing and keeps the
// query it was asked; any other method is a bug here and panics.
type listRecorder struct {
	leads.Store
	query *leads.LeadQuery
}

func (r *listRecorder) ListLeads(_ context.Context, q leads.LeadQuery) ([]leads.Lead, error) {
	r.query = &q
	return nil, nil
}

// FuzzListQuery sends any query string to GET /leads, through the handler's
// parser and the Service's validation, to the store. It never panics; a
// refused query is a VALIDATION_ERROR naming a parameter of the request; an
// accepted one reaches the store within every limit.
func FuzzListQuery(f *testing.F) {
	for _, seed := range []string{
		"",
		"status=new,lost&status=qualified&teamId=1&leadSourceId=2&assignedTo=Ana@Example.com&archived=all",
		"assignedTo=unassigned&archived=true&createdAfter=2026-01-01T00:00:00Z&createdBefore=2026-12-31T23:59:59.999999%2B01:00",
		"q=%25_%5C%27%22&sort=updatedAt&order=asc&limit=500",
		"limit=0&cursor=eyJzIjoiY3JlYXRlZEF0IiwidCI6IjIwMjYtMTEtMjFUMDk6MDA6MDBaIiwiaSI6N30",
		"q=%00&assignedTo=%FF",
		"createdAfter=0000-01-01T00:00:00Z",
		"teamId=-1&limit=501&bogus=1",
		"%zz&q=a;b",
		"status=lost;",
		"teamId=2;",
		"q=zzzz%zz",
		"dryrun=true",
		"externalId=%20CRM-42%20&hotScoreMin=0&hotScoreMax=100",
		"externalId=a%00&hotScoreMin=-1&hotScoreMax=1e2",
	} {
		f.Add(seed)
	}
	actor := leads.Actor{AccountID: "2311", Email: "agent@example.com", Role: leads.RoleAgent}
	f.Fuzz(func(t *testing.T, raw string) {
		rec := &listRecorder{}
		values, err := parseQuery(raw, listQuery())
		if err == nil {
			var opts leads.ListOptions
			if opts, err = listOptions(values); err == nil {
				_, err = leads.NewService(rec, nil).ListLeads(context.Background(), actor, opts)
			}
		}
		if err != nil {
			requireClientError(t, err)
			require.Equal(t, leads.CodeValidation, leads.ErrorCode(err))
			field := leads.ErrorDetails(err)["field"].(string)
			require.Contains(t, queryNames(raw), field, "%q names %q, which the request does not have", raw, field)
			return
		}
		q := rec.query
		require.NotNil(t, q, "an accepted query reaches the store")
		require.Equal(t, actor.AccountID, q.AccountID)
		require.True(t, q.Limit >= 2 && q.Limit <= leads.MaxPageSize+1, "limit %d (one more than the page)", q.Limit)
		require.Contains(t, []string{leads.SortCreatedAt, leads.SortUpdatedAt}, q.Sort)
		for _, st := range q.Filter.Statuses {
			require.True(t, st.Valid(), "%q", st)
		}
		for _, s := range []string{q.Filter.Query, q.Filter.AssignedTo, q.Filter.ExternalID} {
			require.True(t, utf8.ValidString(s), "%q", s)
			require.NotContains(t, s, "\x00")
			require.Equal(t, strings.TrimSpace(s), s)
		}
		require.LessOrEqual(t, utf8.RuneCountInString(q.Filter.Query), leads.MaxQueryLength)
		require.LessOrEqual(t, utf8.RuneCountInString(q.Filter.AssignedTo), leads.MaxEmailLength)
		require.LessOrEqual(t, utf8.RuneCountInString(q.Filter.ExternalID), leads.MaxShortTextLength)
		for _, score := range []*int64{q.Filter.HotScoreMin, q.Filter.HotScoreMax} {
			if score != nil {
				require.True(t, *score >= 0 && *score <= leads.MaxHotScore, "hotScore bound %d", *score)
			}
		}
		require.GreaterOrEqual(t, q.Filter.TeamID, int64(0))
		require.GreaterOrEqual(t, q.Filter.LeadSourceID, int64(0))
		for _, at := range []*time.Time{q.Filter.CreatedAfter, q.Filter.CreatedBefore} {
			if at != nil {
				require.True(t, at.UTC().Year() >= 1 && at.UTC().Year() <= 9999, "%v", at)
			}
		}
		require.Equal(t, values.Get("cursor") != "", q.After != nil)
		if q.After != nil {
			require.Positive(t, q.After.ID)
		}
	})
}

// queryNames returns the names of a raw query string's pairs, unescaped
// where they can be.
func queryNames(raw string) []string {
	var names []string
	for pair := range strings.SplitSeq(raw, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if unescaped, err := url.QueryUnescape(name); err == nil {
			name = unescaped
		}
		names = append(names, name)
	}
	return names
}
