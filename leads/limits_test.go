package leads_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestLimits proves every input limit at its edge: a value at the limit is
// stored, one past it is a VALIDATION_ERROR naming the field, and a refused
// request writes nothing and takes no rotation turn. It runs on SQLite and,
// when reachable, PostgreSQL, which refuses some values (NUL, huge numbers)
// that SQLite keeps: they must be refused before they reach either.
func TestLimits(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.All(t) {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []namedTest{
				{"text fields", testTextLimits},
				{"metadata", testMetadataLimits},
				{"updates", testUpdateLimits},
				{"listing and search", testListLimits},
				{"audit log", testAuditLimits},
				{"idempotency key and credentials", testCreateOptionLimits},
				{"date-times", testTimeLimits},
				{"names of teams, lead sources, rotations and accounts", testConfigurationNames},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, newBundle(t, env{backend.Name + "+memory", backend, false}))
				})
			}
		})
	}
}

// textOfLength returns a valid value of field with n characters: an email
// for the email fields, a URL for imgSrc, else two-byte characters, so that
// the limits are seen to count characters, not bytes.
func textOfLength(field string, n int) string {
	switch field {
	case "email", "assignedTo", "createdBy":
		const domain = "@example.com"
		return strings.Repeat("a", n-len(domain)) + domain
	case "imgSrc":
		const prefix = "https://example.com/"
		return prefix + strings.Repeat("a", n-len(prefix))
	}
	return strings.Repeat("é", n)
}

// withField returns a valid lead with one text field set to value.
func withField(t *testing.T, field, value string) leads.LeadInput {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"firstName": "Ada", "lastName": "Lovelace", field: value})
	require.NoError(t, err)
	var in leads.LeadInput
	require.NoError(t, json.Unmarshal(raw, &in))
	return in
}

// refused requires err to be a VALIDATION_ERROR for field.
func refused(t *testing.T, err error, field string, msgAndArgs ...any) {
	t.Helper()
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, field, leads.ErrorDetails(err)["field"], msgAndArgs...)
	require.NotEmpty(t, leads.ErrorDetails(err)["message"], msgAndArgs...)
}

func testTextLimits(t *testing.T, b *bundle) {
	ctx := context.Background()
	limits := leads.TextFieldLimits()
	require.Len(t, limits, 19, "every string field of LeadInput is bounded")
	want := map[string]int{
		"firstName": 200, "lastName": 200, "email": 254, "assignedTo": 254, "createdBy": 254,
		"phone": 64, "imgSrc": 2048, "notes": 10000, "company": 255, "jobTitle": 255, "branch": 255,
		"source": 255, "position": 255, "location": 255, "productsServicesSold": 255,
		"currentPaymentProcessor": 255, "processStage": 255, "buyingRole": 255, "externalId": 255,
	}
	require.Equal(t, want, limits)

	// A member whose email is as long as an email may be, to be assigned.
	longest := textOfLength("assignedTo", leads.MaxEmailLength)
	_, err := b.svc.PutMember(ctx, b.admin, leads.Member{Email: longest, Role: leads.RoleAgent})
	require.NoError(t, err)

	stored := 0
	for field, max := range limits {
		over := textOfLength(field, max+1)
		if field == "assignedTo" {
			over = "a" + longest // refused for its length, not as a stranger
		}
		_, err := b.create(withField(t, field, over), leads.CreateOptions{})
		refused(t, err, field, "%s with %d characters", field, max+1)

		at := textOfLength(field, max)
		res, err := b.create(withField(t, field, "  "+at+"\n"), leads.CreateOptions{SkipTeamAndSourceRequirement: true})
		require.NoError(t, err, "%s with %d characters, white space around", field, max)
		stored++
		got, err := json.Marshal(res.Lead)
		require.NoError(t, err)
		var back map[string]any
		require.NoError(t, json.Unmarshal(got, &back))
		require.Equal(t, at, back[field], "%s is stored trimmed and whole", field)
	}
	for name, in := range map[string]leads.LeadInput{
		"firstName": withField(t, "firstName", "Ada\x00"),
		"notes":     withField(t, "notes", "a\x00b"),
		"company":   {FirstName: "Ada", LastName: "L", Company: "bad \xff utf-8"},
	} {
		_, err := b.create(in, leads.CreateOptions{})
		refused(t, err, name, "NUL or invalid UTF-8 in %s", name)
	}
	require.Equal(t, stored, b.count(t, "leads"), "refused leads write nothing")
}

// nested returns metadata nested depth levels deep, the metadata object
// itself being the first; inner wraps the innermost value in arrays instead
// of objects when arrays is set.
func nested(depth int, arrays bool) map[string]any {
	var v any = 1
	for range depth - 1 {
		if arrays {
			v = []any{v}
		} else {
			v = map[string]any{"k": v}
		}
	}
	return map[string]any{"k": v}
}

// withKeys returns metadata with n keys in all: half at the top, the rest in
// a nested object (whose own key counts too).
func withKeys(n int) map[string]any {
	inner := map[string]any{}
	for i := range n/2 - 1 {
		inner[fmt.Sprintf("i%d", i)] = i
	}
	m := map[string]any{"inner": inner}
	for i := range n - n/2 {
		m[fmt.Sprintf("k%d", i)] = i
	}
	return m
}

// ofSize returns metadata whose compact JSON is n bytes, characters that
// encoding/json would escape for HTML included.
func ofSize(n int) map[string]any {
	const frame = `{"k":""}`
	return map[string]any{"k": "<&>" + strings.Repeat("x", n-len(frame)-3)}
}

func testMetadataLimits(t *testing.T, b *bundle) {
	cases := []struct {
		name     string
		at, over map[string]any
	}{
		{"encoded size", ofSize(leads.MaxMetadataBytes), ofSize(leads.MaxMetadataBytes + 1)},
		{"depth of objects", nested(leads.MaxMetadataDepth, false), nested(leads.MaxMetadataDepth+1, false)},
		{"depth of arrays", nested(leads.MaxMetadataDepth, true), nested(leads.MaxMetadataDepth+1, true)},
		{"keys at all levels", withKeys(leads.MaxMetadataKeys), withKeys(leads.MaxMetadataKeys + 1)},
		{"digits of a large number", map[string]any{"n": json.Number("1e39")}, map[string]any{"n": json.Number("1e40")}},
		{"digits of a small number", map[string]any{"n": json.Number("-1e-39")}, map[string]any{"n": json.Number("-1e-40")}},
		{"digits of a written-out number", map[string]any{"n": json.Number(strings.Repeat("9", 40))}, map[string]any{"n": json.Number(strings.Repeat("9", 41))}},
		{"digits of a float", map[string]any{"n": 1.5e38}, map[string]any{"n": 1e300}},
		{"digits of a huge exponent", map[string]any{"n": json.Number("1.25e2")}, map[string]any{"n": json.Number("1e131072")}},
		{"NUL in a value", map[string]any{"s": `\u0000 written out`}, map[string]any{"s": "a\x00b"}},
		{"NUL in a key", map[string]any{"a\\": "b"}, map[string]any{"a\x00": "b"}},
	}
	for _, tc := range cases {
		in := lead("Ada")
		in.Metadata = tc.over
		_, err := b.create(in, leads.CreateOptions{})
		refused(t, err, "metadata", tc.name)
		in.Metadata = tc.at
		_, err = b.create(in, leads.CreateOptions{})
		require.NoError(t, err, tc.name)
	}
	require.Equal(t, len(cases), b.count(t, "leads"), "refused leads write nothing")
	require.NoError(t, leads.ValidateMetadata(nil))
	refused(t, leads.ValidateMetadata(map[string]any{"f": func() {}}), "metadata", "a value JSON cannot encode")
	refused(t, leads.ValidateMetadata(map[string]any{"n": map[string]any{"f": math.NaN()}}), "metadata", "NaN")
	refused(t, leads.ValidateMetadata(map[string]any{"n": []any{math.Inf(1)}}), "metadata", "infinity")
	refused(t, leads.ValidateMetadata(map[string]any{"n": json.Number("1e")}), "metadata", "a number JSON does not have")
}

func testUpdateLimits(t *testing.T, b *bundle) {
	ctx := context.Background()
	before := b.mustCreate(t, lead("Ada"), leads.CreateOptions{}).Lead
	// Metadata within every limit, which one more key merged in breaks.
	in := lead("Grace")
	in.Metadata = withKeys(leads.MaxMetadataKeys)
	full := b.mustCreate(t, in, leads.CreateOptions{}).Lead
	for _, tc := range []struct {
		id    int64
		patch leads.LeadPatch
		field string
	}{
		{before.ID, leads.LeadPatch{"lastName": strings.Repeat("x", leads.MaxNameLength+1)}, "lastName"},
		{before.ID, leads.LeadPatch{"notes": strings.Repeat("x", leads.MaxNotesLength+1)}, "notes"},
		{before.ID, leads.LeadPatch{"phone": "555\x00"}, "phone"},
		{before.ID, leads.LeadPatch{"email": "ada\x00@example.com"}, "email"},
		{before.ID, leads.LeadPatch{"externalId": "crm\x00"}, "externalId"},
		{before.ID, leads.LeadPatch{"metadata": nested(leads.MaxMetadataDepth+1, false)}, "metadata"},
		{full.ID, leads.LeadPatch{"metadata": map[string]any{"one": "more"}}, "metadata"},
	} {
		_, err := b.svc.UpdateLead(ctx, b.agent, tc.id, tc.patch, leads.UpdateOptions{})
		refused(t, err, tc.field, "%v", tc.field)
	}
	for _, l := range []*leads.Lead{before, full} {
		after, err := b.svc.Lead(ctx, b.agent, l.ID)
		require.NoError(t, err)
		require.Equal(t, l.UpdatedAt, after.UpdatedAt, "a refused update changes nothing")
		require.Len(t, after.AuditLog, len(l.AuditLog))
	}
	_, err := b.svc.UpdateLead(ctx, b.agent, before.ID, leads.LeadPatch{"notes": strings.Repeat("x", leads.MaxNotesLength)}, leads.UpdateOptions{})
	require.NoError(t, err, "notes at the limit")
}

func testListLimits(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.seed(t, []seed{{first: "A"}, {first: "B"}})
	for _, tc := range []struct {
		name  string
		opts  leads.ListOptions
		field string // "" when the options are fine
	}{
		{"page size at the limit", leads.ListOptions{Limit: leads.MaxPageSize}, ""},
		{"page size over the limit", leads.ListOptions{Limit: leads.MaxPageSize + 1}, "limit"},
		{"negative page size", leads.ListOptions{Limit: -1}, "limit"},
		{"search at the limit", leads.ListOptions{Filter: leads.LeadFilter{Query: strings.Repeat("é", leads.MaxQueryLength)}}, ""},
		{"search over the limit", leads.ListOptions{Filter: leads.LeadFilter{Query: strings.Repeat("é", leads.MaxQueryLength+1)}}, "q"},
		{"search with NUL", leads.ListOptions{Filter: leads.LeadFilter{Query: "a\x00"}}, "q"},
		{"search not UTF-8", leads.ListOptions{Filter: leads.LeadFilter{Query: "a\xff"}}, "q"},
		{"assignee at the limit", leads.ListOptions{Filter: leads.LeadFilter{AssignedTo: textOfLength("assignedTo", leads.MaxEmailLength)}}, ""},
		{"assignee over the limit", leads.ListOptions{Filter: leads.LeadFilter{AssignedTo: textOfLength("assignedTo", leads.MaxEmailLength+1)}}, "assignedTo"},
		{"assignee with NUL", leads.ListOptions{Filter: leads.LeadFilter{AssignedTo: "a\x00@example.com"}}, "assignedTo"},
	} {
		page, err := b.svc.ListLeads(ctx, b.agent, tc.opts)
		if tc.field == "" {
			require.NoError(t, err, tc.name)
			require.NotNil(t, page.Data, tc.name)
			continue
		}
		refused(t, err, tc.field, tc.name)
	}
	page, err := b.svc.ListLeads(ctx, b.agent, leads.ListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Data, 2, "no limit: the default page size")
}

func testAuditLimits(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.mustCreate(t, lead("Ada"), leads.CreateOptions{})
	for _, tc := range []struct {
		name  string
		q     leads.AuditQuery
		field string
	}{
		{"page size at the limit", leads.AuditQuery{Limit: leads.MaxPageSize}, ""},
		{"page size over the limit", leads.AuditQuery{Limit: leads.MaxPageSize + 1}, "limit"},
		{"negative page size", leads.AuditQuery{Limit: -1}, "limit"},
		{"an event the log records", leads.AuditQuery{Event: leads.EventLeadCreated}, ""},
		{"an event it does not", leads.AuditQuery{Event: "lead_creatd"}, "event"},
		{"event over the limit", leads.AuditQuery{Event: strings.Repeat("e", leads.MaxShortTextLength+1)}, "event"},
		{"event with NUL", leads.AuditQuery{Event: "lead_created\x00"}, "event"},
	} {
		_, err := b.svc.AuditLog(ctx, b.admin, tc.q, "")
		if tc.field == "" {
			require.NoError(t, err, tc.name)
			continue
		}
		refused(t, err, tc.field, tc.name)
	}
}

func testCreateOptionLimits(t *testing.T, b *bundle) {
	ctx := context.Background()
	secret, _, err := b.svc.CreateAPIKey(ctx, b.agent.Email, "form")
	require.NoError(t, err)
	cred := leads.Credentials{Secret: secret, AccountID: b.accountID}
	create := func(in leads.LeadInput, key string) error {
		_, err := b.create(in, leads.CreateOptions{IdempotencyKey: key})
		_, _, cerr := createAs(ctx, b.svc, cred, in, leads.CreateOptions{IdempotencyKey: key})
		require.Equal(t, leads.ErrorCode(err), leads.ErrorCode(cerr), "Create with an actor and with credentials agree")
		return err
	}
	refused(t, create(lead("Ada"), strings.Repeat("k", leads.MaxIdempotencyKey+1)), "Idempotency-Key")
	refused(t, create(lead("Ada"), "k\x00"), "Idempotency-Key")
	refused(t, create(lead("Ada"), "k\xff"), "Idempotency-Key")
	// Refused before the one query Create with credentials makes, which
	// PostgreSQL would fail on.
	nul := lead("Ada")
	nul.Email = "ada\x00@example.com"
	refused(t, create(nul, "nul"), "email")
	require.Zero(t, b.count(t, "leads"))
	_, err = b.create(lead("Ada"), leads.CreateOptions{IdempotencyKey: strings.Repeat("k", leads.MaxIdempotencyKey)})
	require.NoError(t, err)
}

func testTimeLimits(t *testing.T, b *bundle) {
	ctx := context.Background()
	first := time.Date(leads.MinYear, 1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(leads.MaxYear, 12, 31, 23, 59, 59, 999999000, time.UTC)
	east := time.FixedZone("east", 3600)
	west := time.FixedZone("west", -3600)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"the first instant", first, true},
		{"the last instant", last, true},
		{"year 0", first.Add(-time.Microsecond), false},
		{"year 1 east of UTC, year 0 in UTC", time.Date(1, 1, 1, 0, 30, 0, 0, east), false},
		{"year 9999 west of UTC, year 10000 in UTC", time.Date(9999, 12, 31, 23, 30, 0, 0, west), false},
	} {
		in := lead("Ada")
		in.LastContacted = &tc.at
		_, err := b.create(in, leads.CreateOptions{})
		for _, f := range []leads.LeadFilter{{CreatedAfter: &tc.at}, {CreatedBefore: &tc.at}} {
			_, lerr := b.svc.ListLeads(ctx, b.agent, leads.ListOptions{Filter: f})
			if tc.ok {
				require.NoError(t, lerr, tc.name)
				continue
			}
			field := "createdAfter"
			if f.CreatedBefore != nil {
				field = "createdBefore"
			}
			refused(t, lerr, field, tc.name)
		}
		if tc.ok {
			require.NoError(t, err, tc.name)
			continue
		}
		refused(t, err, "lastContacted", tc.name)
	}
	require.Equal(t, 2, b.count(t, "leads"))
}

func testConfigurationNames(t *testing.T, b *bundle) {
	ctx := context.Background()
	team := b.team(t, strings.Repeat("é", leads.MaxShortTextLength))
	for name, create := range map[string]func(name string) error{
		"team": func(name string) error {
			_, err := b.svc.CreateTeam(ctx, b.admin, leads.Team{Name: name})
			return err
		},
		"lead source": func(name string) error {
			_, err := b.svc.CreateLeadSource(ctx, b.admin, leads.LeadSource{TeamID: team.ID, Name: name})
			return err
		},
		"rotation": func(name string) error {
			_, err := b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: name, TeamID: team.ID})
			return err
		},
		"account": func(name string) error {
			_, err := b.svc.CreateAccount(ctx, leads.Account{ID: "acct-" + randomHex(5), Name: name})
			return err
		},
	} {
		for _, bad := range []string{strings.Repeat("é", leads.MaxShortTextLength+1), "a\x00b", "a\xffb"} {
			refused(t, create(bad), "name", "%s named %q", name, bad)
		}
		require.NoError(t, create(strings.Repeat("ñ", leads.MaxShortTextLength)), name)
	}
}
