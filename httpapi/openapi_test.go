package httpapi_test

import (
	"context"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
)

// Seed 002's fields and their types, as its document lists them.
var (
	seedLeadInput = map[string]string{
		"teamId": "integer", "leadSourceId": "integer", "firstName": "string", "lastName": "string",
		"imgSrc": "string", "email": "string", "phone": "string", "company": "string", "jobTitle": "string",
		"branch": "string", "source": "string", "position": "string", "location": "string",
		"productsServicesSold": "string", "numberOfEmployees": "integer", "currentPaymentProcessor": "string",
		"monthlyTransactionVolume": "integer", "interestedInSwitching": "boolean", "processStage": "string",
		"buyingRole": "string", "assignedTo": "string", "notes": "string", "lastContacted": "string",
		"archived": "boolean", "createdBy": "string",
	}
	seedLeadOnly = map[string]string{
		"id": "integer", "accountId": "string", "applicationId": "string", "createdAt": "string",
		"updatedAt": "string", "auditLog": "array",
	}
	seedAuditEntry = map[string]string{
		"id": "integer", "event": "string", "user": "string", "apiKey": "string", "data": "object",
		"created": "string", "requestMethod": "string", "requestPath": "string", "requestHeaders": "object",
		"requestIpAddress": "string", "account_id": "string",
	}
	// What leadrotor adds to the seed.
	addedToInput = []string{"status", "metadata", "externalId", "hotScore"}
	addedToLead  = []string{"status", "metadata", "externalId", "hotScore", "rotationId", "rotationTurn", "assignmentStatus", "waitingReason",
		"assignedAt", "acceptedAt", "firstTouchAt", "lastActivityAt", "slaDueAt"}
	addedToAudit = []string{"leadId"}
)

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPI())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	return doc
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	served := httpapi.New(nil, httpapi.Config{}).Routes()
	sort.Strings(documented)
	sort.Strings(served)
	require.Equal(t, served, documented)
}

func TestSchemasMatchSeed(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	schemas := doc.Components.Schemas
	check := func(name string, seed map[string]string, added []string, goType reflect.Type) {
		props := schemas[name].Value.Properties
		var want []string
		for field, typ := range seed {
			want = append(want, field)
			require.Contains(t, props, field, "%s lacks seed field %s", name, field)
			require.True(t, props[field].Value.Type.Includes(typ), "%s.%s is %v, seed says %s", name, field, props[field].Value.Type, typ)
		}
		want = append(want, added...)
		var got []string
		for field := range props {
			got = append(got, field)
		}
		sort.Strings(want)
		sort.Strings(got)
		require.Equal(t, want, got, "%s: properties are the seed's plus %v", name, added)
		require.Equal(t, want, jsonNames(goType), "%s: the Go type's JSON fields are the documented ones", name)
		require.False(t, schemas[name].Value.AdditionalProperties.Has == nil || *schemas[name].Value.AdditionalProperties.Has,
			"%s must not allow undocumented properties, or the contract test could not see drift", name)
	}
	lead := map[string]string{}
	for k, v := range seedLeadInput {
		lead[k] = v
	}
	for k, v := range seedLeadOnly {
		lead[k] = v
	}
	check("LeadInput", seedLeadInput, addedToInput, reflect.TypeFor[leads.LeadInput]())
	check("Lead", lead, addedToLead, reflect.TypeFor[leads.Lead]())
	check("AuditEntry", seedAuditEntry, addedToAudit, reflect.TypeFor[leads.AuditEntry]())
	require.Equal(t, []string{"firstName", "lastName"}, schemas["LeadInput"].Value.Required)
	for _, f := range []string{"id", "firstName", "lastName"} {
		require.Contains(t, schemas["Lead"].Value.Required, f)
	}
	var statuses []string
	for _, s := range schemas["Status"].Value.Enum {
		statuses = append(statuses, s.(string))
	}
	var known []string
	for _, s := range leads.Statuses {
		known = append(known, string(s))
	}
	require.Equal(t, known, statuses)
}

// jsonNames lists the JSON names of a struct's fields, embedded ones included.
func jsonNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if f.Anonymous {
			names = append(names, jsonNames(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// TestDocumentedLimits requires the document's bounds to be the ones the
// engine enforces, so that a client validating against it is refused
// nothing the document allows.
func TestDocumentedLimits(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	limits := leads.TextFieldLimits()
	input := doc.Components.Schemas["LeadInput"].Value.Properties
	patch := doc.Components.Schemas["LeadPatch"].Value.Properties
	var text []string
	for field, prop := range input {
		if s := prop.Value; prop.Ref == "" && s.Type.Includes("string") && s.Format != "date-time" {
			text = append(text, field)
			require.NotNil(t, s.MaxLength, "LeadInput.%s has no maxLength", field)
			require.EqualValues(t, limits[field], *s.MaxLength, "LeadInput.%s", field)
			if field != "createdBy" { // a patch may only repeat its current value
				require.NotNil(t, patch[field].Value.MaxLength, "LeadPatch.%s has no maxLength", field)
				require.EqualValues(t, limits[field], *patch[field].Value.MaxLength, "LeadPatch.%s", field)
			}
		}
	}
	require.Len(t, text, len(limits), "the document's text fields are the bounded ones")
	params := func(path, method string) map[string]*openapi3.Schema {
		out := map[string]*openapi3.Schema{}
		for _, p := range doc.Paths.Find(path).GetOperation(method).Parameters {
			if p.Value.Schema != nil {
				out[p.Value.Name] = p.Value.Schema.Value
			}
		}
		return out
	}
	list, audit := params("/leads", "GET"), params("/audit", "GET")
	require.EqualValues(t, leads.MaxPageSize, *list["limit"].Max)
	require.EqualValues(t, leads.MaxPageSize, *audit["limit"].Max)
	require.EqualValues(t, leads.DefaultPageSize, list["limit"].Default)
	require.EqualValues(t, leads.MaxQueryLength, *list["q"].MaxLength)
	require.EqualValues(t, leads.MaxEmailLength, *list["assignedTo"].MaxLength)
	require.EqualValues(t, leads.MaxShortTextLength, *list["externalId"].MaxLength)
	require.Len(t, audit["event"].Enum, len(leads.AuditEvents()), "the audit log's events")
	for name, schema := range map[string]*openapi3.Schema{"LeadInput": input["hotScore"].Value, "LeadPatch": patch["hotScore"].Value,
		"hotScoreMin": list["hotScoreMin"], "hotScoreMax": list["hotScoreMax"]} {
		require.EqualValues(t, 0, *schema.Min, "%s.hotScore", name)
		require.EqualValues(t, leads.MaxHotScore, *schema.Max, "%s.hotScore", name)
	}
	create := params("/leads", "POST")
	require.EqualValues(t, leads.MaxIdempotencyKey, *create["Idempotency-Key"].MaxLength)
}
