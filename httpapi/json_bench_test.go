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
