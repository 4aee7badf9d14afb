package httpapi

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/leadrotor/leadrotor/leads"
)

// BenchmarkDecodeLead: what reading a POST /leads body costs, the strict
// checks (exact keys, no duplicates, valid UTF-8) included; the body is
// leadbench's.
func BenchmarkDecodeLead(b *testing.B) {
	body := []byte(`{"firstName":"Load1","lastName":"Test2","email":"w2.1.123456789@load.test","phone":"+1-555-0001",` +
		`"company":"Bench 2","teamId":3,"leadSourceId":4,"metadata":{"utm_source":"bench","campaign":"load"}}`)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/leads", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var in leads.LeadInput
		if err := decodeJSON(req, &in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeadBody: the same body read by encoding/json and checkExact
// (the two passes decodeJSON makes of other bodies) and by
// decodeLeadInput (the one pass a create's body takes).
func BenchmarkLeadBody(b *testing.B) {
	body := []byte(`{"firstName":"Load1","lastName":"Test2","email":"w2.1.123456789@load.test","phone":"+1-555-0001",` +
		`"company":"Bench 2","teamId":3,"leadSourceId":4,"metadata":{"utm_source":"bench","campaign":"load"}}`)
	b.Run("two passes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := twoPasses(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var in leads.LeadInput
			if !decodeLeadInput(body, &in) {
				b.Fatal("not read in one pass")
			}
		}
	})
}
