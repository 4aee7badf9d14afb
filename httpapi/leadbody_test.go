package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// twoPasses decodes body as decodeJSON did before the one-pass read:
// encoding/json, then checkExact.
func twoPasses(body []byte) (leads.LeadInput, error) {
	var in leads.LeadInput
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		return in, err
	}
	if dec.More() {
		return in, errGiveUp
	}
	return in, checkExact(body, reflect.TypeOf(&in))
}

// leadBodies are bodies the one-pass read takes and bodies it must leave
// to the two passes: every kind of field, nulls, escapes, the traps.
var leadBodies = []string{
	`{"firstName":"Ada","lastName":"Lovelace"}`,
	` {"firstName":" Ada ","lastName":"L","email":"ada@example.com","phone":"+1 555 0100","status":"qualified",` +
		`"teamId":1,"leadSourceId":-2,"numberOfEmployees":0,"interestedInSwitching":false,"archived":true,` +
		`"lastContacted":"2026-11-20T15:04:05.123456789+02:00","imgSrc":"https://example.com/a.png",` +
		`"externalId":" crm-42 ","hotScore":100,"company":"C","jobTitle":"J","branch":"B","source":"S","position":"P",` +
		`"location":"L","productsServicesSold":"X","currentPaymentProcessor":"Y","monthlyTransactionVolume":9,` +
		`"processStage":"Z","buyingRole":"R","assignedTo":"a@b.c","notes":"n\n\"q\"\u00e9","createdBy":"me"} `,
	`{"firstName":null,"lastName":"B","teamId":null,"numberOfEmployees":null,"interestedInSwitching":null,"archived":null,` +
		`"lastContacted":null,"metadata":null,"status":null,"hotScore":null}`,
	`{"firstName":"A","lastName":"B","metadata":{"utm":{"source":"google","tags":["a",1,true,null,[],{}]},"score":12345678901234567,"f":-1.50e+3}}`,
	`{"firstName":"A","lastName":"B","metadata":{"k\u00e9\n":"v","":0}}`,
	`{"firstName":"A","lastName":"B","metadata":{}}`,
	`{"firstName":"A","lastName":"B","lastContacted":"9999-12-31T23:30:00-01:00"}`,
	`{"firstName":"A","lastName":"B","lastContacted":"2026-11-20"}`,
	`{"firstName":"A","lastName":"B","lastContacted":"2026-11-20T15:04:05\u002b02:00"}`,
	`{"firstName":"A","lastName":"B","teamId":1.0}`,
	`{"firstName":"A","lastName":"B","teamId":1e2}`,
	`{"firstName":"A","lastName":"B","teamId":99999999999999999999}`,
	`{"firstName":"A","lastName":"B","teamId":"1"}`,
	`{"firstName":"A","lastName":"B","archived":"true"}`,
	`{"firstName":5,"lastName":"B"}`,
	`{"firstName":"\u00e9\ud800","lastName":"B"}`,
	`{"firstName":"\ud83d\ude00","lastName":"B"}`,
	"{\"firstName\":\"\xff\",\"lastName\":\"B\"}",
	`{"firstName":"A","lastName":"B","favouriteColour":"blue"}`,
	`{"FirstName":"A","lastName":"B"}`,
	`{"first\u004eame":"A","lastName":"B"}`,
	`{"firstName":"A","firstName":"B","lastName":"C"}`,
	`{"firstName":"A","lastName":"B","metadata":{"a":1,"a":2}}`,
	`{"firstName":"A","lastName":"B","metadata":[1]}`,
	`{"firstName":"A","lastName":"B"} {}`,
	`{"firstName":"A","lastName":"B"}]`,
	`[1,2]`,
	`"x"`,
	`{"firstName":`,
	`{"firstName":"A",}`,
	`null`,
}

// FuzzLeadBodyAgrees: whatever the body, the one-pass read either gives it
// up (leaving the lead zero) or decodes what the two passes decode, and
// then only a body the two passes take.
func FuzzLeadBodyAgrees(f *testing.F) {
	for _, b := range leadBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast leads.LeadInput
		ok := decodeLeadInput(body, &fast)
		slow, err := twoPasses(body)
		if !ok {
			require.True(t, reflect.DeepEqual(leads.LeadInput{}, fast), "given up, the lead is zero again")
			return
		}
		require.NoError(t, err, "the one-pass read took a body the two passes refuse: %q", body)
		require.Equal(t, slow, fast, "%q", body)
	})
}

// TestLeadBodyOnePass: the bodies a create sends are read in one pass,
// whichever of LeadInput's fields they set (a field added to LeadInput
// without its case in leadDecoder.field would be read in two, and fail
// this).
func TestLeadBodyOnePass(t *testing.T) {
	for _, body := range leadBodies[:6] {
		var in leads.LeadInput
		require.True(t, decodeLeadInput([]byte(body), &in), "%s", body)
	}
	samples := map[reflect.Kind]string{reflect.String: `"x"`, reflect.Int64: `7`, reflect.Bool: `true`,
		reflect.Map: `{"k":[1,"v"]}`}
	typ := reflect.TypeFor[leads.LeadInput]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		kind := f.Type.Kind()
		if kind == reflect.Pointer {
			kind = f.Type.Elem().Kind()
		}
		value, ok := samples[kind]
		if f.Type == reflect.TypeFor[*time.Time]() {
			value, ok = `"2026-12-05T10:00:00Z"`, true
		}
		require.True(t, ok, "field %s: add a sample of its kind", f.Name)
		body := `{"` + name + `":` + value + `}`
		var in leads.LeadInput
		require.True(t, decodeLeadInput([]byte(body), &in), "field %s, in one pass: %s", f.Name, body)
	}
}
