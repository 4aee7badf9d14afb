package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// withQuery refuses a request whose query string does not parse or holds a
// parameter rt does not take, before its handler runs: a malformed pair is
// not dropped and a misspelt parameter not ignored, either of which would
// answer unfiltered or write what a dry run was meant to show. Handlers
// then read req.URL.Query(), which parses the same.
func (s *Server) withQuery(rt route, next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		if _, err := parseQuery(req.URL.RawQuery, rt.query); err != nil {
			return err
		}
		return next(w, req)
	}
}

// parseQuery parses a raw query string strictly: a pair that does not parse
// (a semicolon, a bad percent escape) is a VALIDATION_ERROR naming its
// parameter, as is a parameter not in allowed or one without a value. The
// value of an unknown parameter is never echoed: clients put credentials
// in query strings (?api_key=, ?token=), and error bodies end up in their
// logs.
func parseQuery(raw string, allowed []string) (url.Values, error) {
	values := url.Values{}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		rawName, _, _ := strings.Cut(pair, "=")
		name, nameErr := url.QueryUnescape(rawName)
		if nameErr != nil {
			name = rawName
		}
		if !slices.Contains(allowed, name) {
			return nil, leads.ValidationError(leads.FieldError{Field: name, Message: "Unknown parameter"})
		}
		// url.ParseQuery's own rules, one pair at a time, to name the
		// parameter whose pair is malformed.
		one, err := url.ParseQuery(pair)
		if err != nil {
			return nil, leads.ValidationError(leads.FieldError{Field: name,
				Message: "Malformed query parameter (" + err.Error() + "): escape ; as %3B and % as %25"})
		}
		for k, vs := range one {
			if slices.Contains(vs, "") {
				// Read as absent, an empty value answered what the client
				// did not ask for: a default page, the first page again, a
				// new lead where one was to be matched.
				return nil, leads.ValidationError(leads.FieldError{Field: name,
					Message: "Given without a value: give one, or leave the parameter out"})
			}
			if len(values[k]) > 0 && !repeatable[k] {
				return nil, leads.ValidationError(leads.FieldError{Field: name,
					Message: "Given more than once: give it once"})
			}
			values[k] = append(values[k], vs...)
		}
	}
	return values, nil
}

// repeatable names the query parameters that may come more than once, each
// time adding values; any other given twice is refused rather than read as
// its first value.
var repeatable = map[string]bool{"status": true}
