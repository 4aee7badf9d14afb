package leads_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// cond reads a condition as the API will receive it, from JSON.
func cond(t testing.TB, s string) leads.Condition {
	t.Helper()
	var c leads.Condition
	require.NoError(t, json.Unmarshal([]byte(s), &c), s)
	return c
}

func conditionLead() *leads.Lead {
	employees, volume, hot := int64(250), int64(0), int64(85)
	yes := true
	contacted := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	return &leads.Lead{ID: 7, ApplicationID: "voice-bot", LeadInput: leads.LeadInput{
		TeamID: 3, FirstName: "Ada", LastName: "Lovelace", Email: "Ada@Analytical.Example", Company: "Analytical Engines",
		Phone: "+44 20 7946 0000", JobTitle: "VP Sales", Source: "web form", NumberOfEmployees: &employees,
		MonthlyTransactionVolume: &volume, InterestedInSwitching: &yes, LastContacted: &contacted, Status: leads.StatusQualified,
		ExternalID: "CRM-42", HotScore: &hot,
		Metadata: map[string]any{"utm": map[string]any{"campaign": "Spring-Launch", "budget": 1200.0, "paid": true, "tags": []any{"a"}}}},
	}
}

// conditionOpCases are every op against every kind of field, on
// conditionLead: text, number, boolean, time, derived and metadata values,
// present and absent.
var conditionOpCases = []struct {
	cond string
	want bool
}{
	// Text: case does not matter.
	{`{"field":"company","op":"eq","value":"analytical engines"}`, true},
	{`{"field":"company","op":"eq","value":"Analytical"}`, false},
	{`{"field":"company","op":"neq","value":"Babbage"}`, true},
	{`{"field":"company","op":"neq","value":"ANALYTICAL ENGINES"}`, false},
	{`{"field":"status","op":"in","value":["new","Qualified"]}`, true},
	{`{"field":"status","op":"in","value":["new","lost"]}`, false},
	{`{"field":"status","op":"not_in","value":["new","lost"]}`, true},
	{`{"field":"status","op":"not_in","value":["qualified"]}`, false},
	{`{"field":"jobTitle","op":"contains","value":"sales"}`, true},
	{`{"field":"jobTitle","op":"contains","value":"marketing"}`, false},
	{`{"field":"email","op":"starts_with","value":"ada@"}`, true},
	{`{"field":"email","op":"starts_with","value":"bob@"}`, false},
	{`{"field":"email","op":"ends_with","value":".EXAMPLE"}`, true},
	{`{"field":"email","op":"ends_with","value":".com"}`, false},
	{`{"field":"phone","op":"matches","value":"^\\+44 20"}`, true},
	{`{"field":"phone","op":"matches","value":"^\\+1"}`, false},
	{`{"field":"source","op":"exists"}`, true},
	{`{"field":"notes","op":"exists"}`, false},
	{`{"field":"notes","op":"not_exists"}`, true},
	{`{"field":"source","op":"not_exists"}`, false},
	{`{"field":"applicationId","op":"eq","value":"voice-bot"}`, true},
	// Absent text: fails all but neq, not_in and not_exists.
	{`{"field":"notes","op":"eq","value":""}`, false},
	{`{"field":"notes","op":"neq","value":"x"}`, true},
	{`{"field":"notes","op":"not_in","value":["x"]}`, true},
	{`{"field":"notes","op":"contains","value":"x"}`, false},
	{`{"field":"notes","op":"matches","value":".*"}`, false},
	// Derived.
	{`{"field":"emailDomain","op":"eq","value":"analytical.example"}`, true},
	{`{"field":"emailDomain","op":"in","value":["gmail.com","yahoo.com"]}`, false},
	// Numbers.
	{`{"field":"numberOfEmployees","op":"eq","value":250}`, true},
	{`{"field":"numberOfEmployees","op":"neq","value":250}`, false},
	{`{"field":"numberOfEmployees","op":"gt","value":249}`, true},
	{`{"field":"numberOfEmployees","op":"gt","value":250}`, false},
	{`{"field":"numberOfEmployees","op":"gte","value":250}`, true},
	{`{"field":"numberOfEmployees","op":"gte","value":251}`, false},
	{`{"field":"numberOfEmployees","op":"lt","value":251}`, true},
	{`{"field":"numberOfEmployees","op":"lt","value":250}`, false},
	{`{"field":"numberOfEmployees","op":"lte","value":250}`, true},
	{`{"field":"numberOfEmployees","op":"lte","value":249.5}`, false},
	{`{"field":"numberOfEmployees","op":"in","value":[10,250]}`, true},
	{`{"field":"numberOfEmployees","op":"not_in","value":[10,250]}`, false},
	{`{"field":"monthlyTransactionVolume","op":"eq","value":0}`, true /* 0 given is present */},
	{`{"field":"monthlyTransactionVolume","op":"exists"}`, true},
	{`{"field":"hotScore","op":"gte","value":80}`, true},
	{`{"field":"hotScore","op":"gte","value":86}`, false},
	{`{"field":"externalId","op":"exists"}`, true},
	{`{"field":"externalId","op":"starts_with","value":"crm-"}`, true},
	{`{"field":"teamId","op":"eq","value":3}`, true},
	{`{"field":"leadSourceId","op":"not_exists"}`, true /* 0 is none */},
	{`{"field":"leadSourceId","op":"gt","value":-1}`, false},
	// Booleans.
	{`{"field":"interestedInSwitching","op":"eq","value":true}`, true},
	{`{"field":"interestedInSwitching","op":"neq","value":true}`, false},
	{`{"field":"archived","op":"eq","value":false}`, true},
	{`{"field":"archived","op":"exists"}`, true},
	// Times.
	{`{"field":"lastContacted","op":"gt","value":"2026-11-30T11:59:59Z"}`, true},
	{`{"field":"lastContacted","op":"gt","value":"2026-11-30T12:00:00Z"}`, false},
	{`{"field":"lastContacted","op":"gte","value":"2026-11-30T13:00:00+01:00"}`, true},
	{`{"field":"lastContacted","op":"lt","value":"2026-12-01T00:00:00Z"}`, true},
	{`{"field":"lastContacted","op":"lte","value":"2026-11-30T11:00:00Z"}`, false},
	{`{"field":"lastContacted","op":"not_exists"}`, false},
	// Metadata: by the value's JSON type.
	{`{"field":"metadata.utm.campaign","op":"eq","value":"spring-launch"}`, true},
	{`{"field":"metadata.utm.campaign","op":"starts_with","value":"spring"}`, true},
	{`{"field":"metadata.utm.campaign","op":"matches","value":"launch$"}`, true},
	{`{"field":"metadata.utm.campaign","op":"in","value":["summer","spring-launch"]}`, true},
	{`{"field":"metadata.utm.budget","op":"gte","value":1000}`, true},
	{`{"field":"metadata.utm.budget","op":"lt","value":1000}`, false},
	{`{"field":"metadata.utm.budget","op":"eq","value":"1200"}`, false},
	{`{"field":"metadata.utm.budget","op":"in","value":[1200]}`, true},
	{`{"field":"metadata.utm.paid","op":"eq","value":true}`, true},
	{`{"field":"metadata.utm.tags","op":"exists"}`, true},
	{`{"field":"metadata.utm.tags","op":"eq","value":"a"}`, false},
	{`{"field":"metadata.utm.medium","op":"not_exists"}`, true},
	{`{"field":"metadata.utm.campaign.deeper","op":"exists"}`, false},
	{`{"field":"metadata.utm.medium","op":"neq","value":"email"}`, true},
}

// TestConditionOps runs every op against every kind of field: text,
// number, boolean, time, derived and metadata values, present and absent.
func TestConditionOps(t *testing.T) {
	t.Parallel()
	l := conditionLead()
	for _, tc := range conditionOpCases {
		m, err := leads.CompileCondition(cond(t, tc.cond), "")
		require.NoError(t, err, tc.cond)
		got, failed := m.Match(leads.NewLeadView(l))
		require.Equal(t, tc.want, got, tc.cond)
		if !got {
			require.Equal(t, "conditions", failed, tc.cond)
		}
	}
}

// TestConditionGroups: all and any, nested, and the path of the condition
// that decided a miss.
func TestConditionGroups(t *testing.T) {
	t.Parallel()
	l := conditionLead()
	for _, tc := range []struct {
		cond   string
		want   bool
		failed string
	}{
		{`{"all":[{"field":"status","op":"eq","value":"qualified"},{"field":"numberOfEmployees","op":"gte","value":100}]}`, true, ""},
		{`{"all":[{"field":"status","op":"eq","value":"qualified"},{"field":"numberOfEmployees","op":"gte","value":1000}]}`, false, "conditions.all[1]"},
		{`{"any":[{"field":"status","op":"eq","value":"new"},{"field":"emailDomain","op":"eq","value":"analytical.example"}]}`, true, ""},
		{`{"any":[{"field":"status","op":"eq","value":"new"},{"field":"email","op":"not_exists"}]}`, false, "conditions.any"},
		{`{"all":[{"field":"archived","op":"eq","value":false},{"any":[{"field":"source","op":"eq","value":"chat"},{"field":"source","op":"eq","value":"phone"}]}]}`,
			false, "conditions.all[1].any"},
		{`{"all":[{"field":"archived","op":"eq","value":false},{"any":[{"field":"source","op":"eq","value":"chat"},{"all":[{"field":"source","op":"contains","value":"form"},{"field":"metadata.utm.paid","op":"eq","value":true}]}]}]}`,
			true, ""},
	} {
		m, err := leads.CompileCondition(cond(t, tc.cond), "conditions")
		require.NoError(t, err, tc.cond)
		got, failed := m.Match(leads.NewLeadView(l))
		require.Equal(t, tc.want, got, tc.cond)
		require.Equal(t, tc.failed, failed, tc.cond)
	}
}

// TestConditionRefusals: every way a condition can be wrong is a
// VALIDATION_ERROR naming the condition's path and what is wrong there.
func TestConditionRefusals(t *testing.T) {
	t.Parallel()
	many := make([]string, leads.MaxConditions+1)
	for i := range many {
		many[i] = `{"field":"company","op":"exists"}`
	}
	deep := `{"field":"company","op":"exists"}`
	for range leads.MaxConditionDepth + 1 {
		deep = `{"all":[` + deep + `]}`
	}
	for _, tc := range []struct {
		cond, field, message string
	}{
		{`{"field":"colour","op":"eq","value":"red"}`, "rules[2].conditions.field", "Is not a field"},
		{`{"op":"eq","value":"red"}`, "rules[2].conditions.field", "Is required"},
		{`{"field":"metadata.","op":"exists"}`, "rules[2].conditions.field", "Is not a field"},
		{`{"field":"metadata.a..b","op":"exists"}`, "rules[2].conditions.field", "empty key"},
		{`{"field":"company","op":"gt","value":"a"}`, "rules[2].conditions.op", "for a text field"},
		{`{"field":"numberOfEmployees","op":"contains","value":"1"}`, "rules[2].conditions.op", "for a number field"},
		{`{"field":"archived","op":"matches","value":"t"}`, "rules[2].conditions.op", "for a boolean field"},
		{`{"field":"lastContacted","op":"eq","value":"2026-01-01T00:00:00Z"}`, "rules[2].conditions.op", "for a time field"},
		{`{"field":"company","op":"like","value":"a"}`, "rules[2].conditions.op", "Must be one of"},
		{`{"field":"numberOfEmployees","op":"gt","value":"ten"}`, "rules[2].conditions.value", "must be a number"},
		{`{"field":"company","op":"eq","value":3}`, "rules[2].conditions.value", "must be a text"},
		{`{"field":"company","op":"contains","value":""}`, "rules[2].conditions.value", "must be a text of 1"},
		{`{"field":"company","op":"eq","value":"` + strings.Repeat("x", leads.MaxShortTextLength+1) + `"}`, "rules[2].conditions.value", "must be a text of 1"},
		{`{"field":"archived","op":"eq","value":"yes"}`, "rules[2].conditions.value", "must be true or false"},
		{`{"field":"lastContacted","op":"gt","value":"yesterday"}`, "rules[2].conditions.value", "RFC 3339"},
		{`{"field":"status","op":"in","value":"new"}`, "rules[2].conditions.value", "Must be a list"},
		{`{"field":"status","op":"in","value":[]}`, "rules[2].conditions.value", "Must be a list"},
		{`{"field":"status","op":"in","value":["new",1]}`, "rules[2].conditions.value", "must be a list of texts"},
		{`{"field":"teamId","op":"not_in","value":[1,"2"]}`, "rules[2].conditions.value", "must be a list of numbers"},
		{`{"field":"company","op":"exists","value":true}`, "rules[2].conditions.value", "Takes no value"},
		{`{"field":"company","op":"matches","value":"(unclosed"}`, "rules[2].conditions.value", "Is not a regular expression"},
		{`{"field":"company","op":"matches","value":"` + strings.Repeat("a", leads.MaxPatternLength+1) + `"}`, "rules[2].conditions.value", "regular expression of 1 to"},
		{`{"field":"metadata.x","op":"gt","value":"a"}`, "rules[2].conditions.value", "must be a number with gt"},
		{`{"field":"metadata.x","op":"contains","value":3}`, "rules[2].conditions.value", "must be a text with contains"},
		{`{"field":"metadata.x","op":"eq","value":{"a":1}}`, "rules[2].conditions.value", "must be a text, a number"},
		{`{"field":"company","op":"exists","all":[{"field":"company","op":"exists"}]}`, "rules[2].conditions", "not both"},
		{`{"all":[{"field":"company","op":"exists"}],"any":[{"field":"company","op":"exists"}]}`, "rules[2].conditions", "one group at a time"},
		{`{"all":[]}`, "rules[2].conditions.all", "at least one"},
		{`{"all":[{"field":"company","op":"exists"},{"any":[{"field":"x","op":"exists"}]}]}`, "rules[2].conditions.all[1].any[0].field", "Is not a field"},
		{`{"any":[` + strings.Join(many, ",") + `]}`, fmt.Sprintf("rules[2].conditions.any[%d]", leads.MaxConditions), "at most 20 conditions"},
		{deep, "rules[2].conditions" + strings.Repeat(".all[0]", leads.MaxConditionDepth), "nest at most"},
	} {
		_, err := leads.CompileCondition(cond(t, tc.cond), "rules[2].conditions")
		require.Error(t, err, tc.cond)
		require.Equal(t, leads.CodeValidation, leads.ErrorCode(err), tc.cond)
		d := leads.ErrorDetails(err)
		require.Equal(t, tc.field, d["field"], tc.cond)
		require.Contains(t, d["message"], tc.message, tc.cond)
		// The value shown is the part refused: the field's name, the op, or
		// the value (a list's or the value's own), not the field's name for
		// all three.
		var c map[string]any
		require.NoError(t, json.Unmarshal([]byte(tc.cond), &c))
		switch {
		case strings.HasSuffix(tc.field, ".op"):
			require.Equal(t, c["op"], d["value"], tc.cond)
		case strings.HasSuffix(tc.field, ".value") && c["field"] == "status":
			require.Equal(t, c["value"], d["value"], tc.cond)
		}
	}
}

func TestConditionString(t *testing.T) {
	t.Parallel()
	c := cond(t, `{"all":[{"field":"emailDomain","op":"in","value":["acme.com"]},{"any":[{"field":"notes","op":"not_exists"},{"field":"numberOfEmployees","op":"gte","value":500}]}]}`)
	require.Equal(t, `all(emailDomain in ["acme.com"], any(notes not_exists, numberOfEmployees gte 500))`, c.String())
	require.Contains(t, leads.ConditionFields(), "emailDomain")
}

// TestEveryLeadFieldIsAConditionField holds conditionFields to LeadInput:
// a new lead field that rules cannot name fails here.
func TestEveryLeadFieldIsAConditionField(t *testing.T) {
	t.Parallel()
	for f := range reflect.TypeFor[leads.LeadInput]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "metadata" { // named by its paths, metadata.…
			require.Contains(t, leads.ConditionFields(), name)
		}
	}
}

// BenchmarkRuleConditions evaluates a lead against 100 rules of 5
// conditions each, none of which matches until the last test of each rule:
// the worst case of first-match-wins. Issue 13's target: < 20 µs a lead.
// The second case makes that last test of every rule a regular expression.
func BenchmarkRuleConditions(b *testing.B) {
	for _, last := range []struct{ name, cond string }{
		{"text tests", `{"field":"company","op":"eq","value":"rule %d engines"}`},
		{"a regular expression in each rule", `{"field":"company","op":"matches","value":"^rule %d engines$"}`},
	} {
		b.Run(last.name, func(b *testing.B) {
			var matchers []*leads.Matcher
			for i := range 100 {
				c := cond(b, fmt.Sprintf(`{"all":[
					{"field":"status","op":"in","value":["qualified","new"]},
					{"field":"emailDomain","op":"ends_with","value":"example"},
					{"field":"numberOfEmployees","op":"gte","value":100},
					{"field":"metadata.utm.campaign","op":"starts_with","value":"spring"},
					`+last.cond+`]}`, i))
				m, err := leads.CompileCondition(c, "")
				require.NoError(b, err)
				matchers = append(matchers, m)
			}
			l := conditionLead()
			b.ReportAllocs()
			for b.Loop() {
				v := leads.NewLeadView(l)
				for _, m := range matchers {
					if ok, _ := m.Match(v); ok {
						b.Fatal("a rule matched")
					}
				}
			}
		})
	}
}
