package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// requireRefused requires a 400 VALIDATION_ERROR in the API's error shape
// whose details name field.
func requireRefused(t *testing.T, res response, field string, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, res.status, append(msgAndArgs, res.body)...)
	body := res.json(t)
	require.Equal(t, leads.CodeValidation, body["code"], msgAndArgs...)
	require.NotEmpty(t, body["error"], msgAndArgs...)
	details, _ := body["details"].(map[string]any)
	require.Equal(t, field, details["field"], msgAndArgs...)
	require.NotEmpty(t, details["message"], msgAndArgs...)
}

// TestLimitsHTTP drives every input limit through the API: at the limit the
// request succeeds (and the contract transport checks the document allows
// it), one past it is a 400 naming the field, never a 500, and nothing is
// written.
func TestLimitsHTTP(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b)
		created := 0
		post := func(body map[string]any, headers ...string) response {
			res := f.call("agent", "POST", "/leads", body, headers...)
			if res.status == http.StatusCreated {
				created++
			}
			return res
		}

		// Text fields: emails and the URL keep their shape, the rest is made
		// of two-byte characters, which the limits count once.
		affixes := map[string][2]string{
			"email": {"", "@example.com"}, "assignedTo": {"", "@example.com"}, "createdBy": {"", "@example.com"},
			"imgSrc": {"https://example.com/", ""},
		}
		text := func(field string, n int) string {
			a := affixes[field]
			fill := "é"
			if a != [2]string{} {
				fill = "a"
			}
			return a[0] + strings.Repeat(fill, n-len(a[0])-len(a[1])) + a[1]
		}
		_, err := f.svc.PutMember(context.Background(), f.actor("admin"),
			leads.Member{Email: text("assignedTo", leads.MaxEmailLength), Role: leads.RoleAgent})
		require.NoError(t, err)
		for field, max := range leads.TextFieldLimits() {
			res := post(f.westLead(map[string]any{field: text(field, max+1)}))
			requireRefused(t, res, field, "%s over its limit", field)
			res = post(f.westLead(map[string]any{field: text(field, max)}))
			require.Equal(t, http.StatusCreated, res.status, "%s at its limit: %s", field, res.body)
		}
		requireRefused(t, post(f.westLead(map[string]any{"company": "Acme\u0000"})), "company", "NUL")
		requireRefused(t, post(f.westLead(map[string]any{"lastContacted": "9999-12-31T23:30:00-01:00"})), "lastContacted", "year 10000 in UTC")
		res := post(f.westLead(map[string]any{"lastContacted": "9999-12-31T23:59:59.999999Z"}))
		require.Equal(t, http.StatusCreated, res.status, "the last instant: %s", res.body)

		// Metadata.
		deep := func(levels int) map[string]any {
			m := map[string]any{"v": 1}
			for range levels - 1 {
				m = map[string]any{"k": m}
			}
			return m
		}
		keys := func(n int) map[string]any {
			m := map[string]any{}
			for i := range n {
				m[fmt.Sprintf("k%03d", i)] = i
			}
			return m
		}
		sized := func(n int) map[string]any {
			return map[string]any{"s": strings.Repeat("x", n-len(`{"s":""}`))}
		}
		for _, tc := range []struct {
			name     string
			at, over map[string]any
		}{
			{"depth", deep(leads.MaxMetadataDepth), deep(leads.MaxMetadataDepth + 1)},
			{"keys", keys(leads.MaxMetadataKeys), keys(leads.MaxMetadataKeys + 1)},
			{"bytes", sized(leads.MaxMetadataBytes), sized(leads.MaxMetadataBytes + 1)},
			{"digits", map[string]any{"n": json.Number("-1.5e38")}, map[string]any{"n": json.Number("1e131072")}},
			{"NUL", map[string]any{"s": "nul"}, map[string]any{"s\u0000": "nul"}},
		} {
			requireRefused(t, post(f.westLead(map[string]any{"metadata": tc.over})), "metadata", "metadata %s over", tc.name)
			res := post(f.westLead(map[string]any{"metadata": tc.at}))
			require.Equal(t, http.StatusCreated, res.status, "metadata %s at the limit: %s", tc.name, res.body)
		}

		// The Idempotency-Key header.
		requireRefused(t, post(f.westLead(nil), "Idempotency-Key", strings.Repeat("k", leads.MaxIdempotencyKey+1)), "Idempotency-Key")
		res = post(f.westLead(nil), "Idempotency-Key", strings.Repeat("k", leads.MaxIdempotencyKey))
		require.Equal(t, http.StatusCreated, res.status, "%s", res.body)

		// An update is held to the same limits, after merging.
		id := res.json(t)["id"]
		path := fmt.Sprintf("/leads/%v", id)
		res = f.call("agent", "PATCH", path, map[string]any{"notes": strings.Repeat("n", leads.MaxNotesLength+1)})
		requireRefused(t, res, "notes")
		res = f.call("agent", "PATCH", path, map[string]any{"metadata": keys(leads.MaxMetadataKeys)})
		require.Equal(t, http.StatusOK, res.status, "%s", res.body)
		res = f.call("agent", "PATCH", path, map[string]any{"metadata": map[string]any{"one": "more"}})
		requireRefused(t, res, "metadata", "a merge past the key limit")

		count, err := b.Store.DB().NewSelect().TableExpr("leads").Where("account_id = ?", f.account).Count(context.Background())
		require.NoError(t, err)
		require.EqualValues(t, created, count, "no refused request wrote a lead")

		// Listings.
		for _, tc := range []struct {
			who, path string
			field     string // "" for a request within the limits
		}{
			{"agent", "/leads?limit=500", ""},
			{"agent", "/leads?limit=501", "limit"},
			{"agent", "/leads?limit=-1", "limit"},
			{"agent", "/leads?q=" + url.QueryEscape(strings.Repeat("é", leads.MaxQueryLength)), ""},
			{"agent", "/leads?q=" + url.QueryEscape(strings.Repeat("é", leads.MaxQueryLength+1)), "q"},
			{"agent", "/leads?q=%00", "q"},
			{"agent", "/leads?assignedTo=" + url.QueryEscape(text("assignedTo", leads.MaxEmailLength)), ""},
			{"agent", "/leads?assignedTo=" + url.QueryEscape(text("assignedTo", leads.MaxEmailLength+1)), "assignedTo"},
			{"agent", "/leads?assignedTo=%00", "assignedTo"},
			{"agent", "/leads?assignedTo=notanemail", "assignedTo"},
			{"agent", "/leads?assignedTo=unassigned", ""},
			{"agent", "/leads?createdAfter=0001-01-01T00:00:00Z", ""},
			{"agent", "/leads?createdAfter=0000-12-31T23:59:59Z", "createdAfter"},
			{"agent", "/leads?createdBefore=" + url.QueryEscape("0001-01-01T00:30:00+01:00"), "createdBefore"},
			{"agent", "/leads?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"s":"createdAt","t":"0000-01-01T00:00:00Z","i":1}`)), "cursor"},
			{"admin", "/audit?limit=500", ""},
			{"admin", "/audit?limit=501", "limit"},
			{"admin", "/audit?event=lead_created", ""},
			{"admin", "/audit?event=" + strings.Repeat("e", leads.MaxShortTextLength+1), "event"},
			{"admin", "/audit?event=lead_created%00", "event"},
		} {
			res := f.call(tc.who, "GET", tc.path, nil)
			if tc.field == "" {
				require.Equal(t, http.StatusOK, res.status, "%s: %s", tc.path, res.body)
				continue
			}
			requireRefused(t, res, tc.field, tc.path)
		}
	})
}

// TestBodyLimit checks the configured body limit to the byte: a body of
// exactly BodyLimit bytes is read, one more is 413 with the limit in details,
// whether the client declares the length or sends the body chunked.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 4096
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		f := newFixture(t, b, withConfig(func(c *httpapi.Config) { c.BodyLimit = limit }))
		body := func(size int) []byte {
			raw, err := json.Marshal(f.westLead(map[string]any{"notes": ""}))
			require.NoError(t, err)
			pad := strings.Repeat("x", size-len(raw))
			return []byte(strings.Replace(string(raw), `"notes":""`, `"notes":"`+pad+`"`, 1))
		}
		for _, tc := range []struct {
			name string
			send func([]byte) any
		}{
			{"with Content-Length", func(b []byte) any { return b }},
			{"chunked", func(b []byte) any { return io.MultiReader(bytes.NewReader(b)) }},
		} {
			res := f.call("agent", "POST", "/leads", tc.send(body(limit)))
			require.Equal(t, http.StatusCreated, res.status, "%s: %s", tc.name, res.body)
			res = f.call("agent", "POST", "/leads", tc.send(body(limit+1)))
			require.Equal(t, http.StatusRequestEntityTooLarge, res.status, "%s: %s", tc.name, res.body)
			require.Equal(t, httpapi.CodePayloadTooLarge, res.code(t), tc.name)
			require.EqualValues(t, limit, res.json(t)["details"].(map[string]any)["limit"], tc.name)
		}
	})
}
