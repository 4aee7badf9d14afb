package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// setETag sends the lead's version, its updatedAt, for If-Match.
func setETag(w http.ResponseWriter, lead *leads.Lead) {
	w.Header().Set("ETag", `"`+lead.UpdatedAt.UTC().Format(time.RFC3339Nano)+`"`)
}

// ifMatch reads If-Match: the updatedAt of the version the client edits
// (quoted as in ETag, or bare); nil when absent or "*".
func ifMatch(r *http.Request) (*time.Time, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return nil, nil
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, leads.ValidationError(leads.FieldError{Field: "If-Match", Value: v, Message: "Must be the lead's ETag (its updatedAt)"})
	}
	return &t, nil
}

// listLeads is GET /leads: filters, keyset paging, {"data", "nextCursor"}.
func (s *Server) listLeads(w http.ResponseWriter, req bunrouter.Request) error {
	opts, err := listOptions(req.URL.Query())
	if err != nil {
		return err
	}
	ctx := req.Context()
	page, err := s.svc.ListLeads(ctx, actorFrom(ctx), opts)
	if err != nil {
		return err
	}
	writeLeadPage(w, page)
	return nil
}

// writeLeadPage writes page as writeJSON would, lead by lead: a page of 500
// leads with their metadata and notes is megabytes, and encoding it whole
// would hold a second copy of it, as JSON, until the last byte is sent.
func writeLeadPage(w http.ResponseWriter, page *leads.LeadPage) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	_, _ = bw.WriteString(`{"data":[`)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range page.Data {
		buf.Reset()
		if err := enc.Encode(&page.Data[i]); err != nil {
			return // a lead that cannot be encoded was never stored
		}
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		_, _ = bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
		page.Data[i] = leads.Lead{} // sent: let it go
	}
	_, _ = bw.WriteString(`],"nextCursor":`)
	buf.Reset()
	_ = enc.Encode(page.NextCursor)
	_, _ = bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	_, _ = bw.WriteString("}\n")
	_ = bw.Flush()
}

// listQuery lists the query parameters of GET /leads.
func listQuery() []string {
	return []string{"status", "teamId", "leadSourceId", "assignedTo", "archived",
		"createdAfter", "createdBefore", "q", "externalId", "hotScoreMin", "hotScoreMax", "assignmentStatus", "sort", "order", "limit", "cursor"}
}

// listOptions reads GET /leads's query string, whose parameters parseQuery
// has checked.
func listOptions(q url.Values) (leads.ListOptions, error) {
	var opts leads.ListOptions
	bad := func(field, value, msg string) error {
		return leads.ValidationError(leads.FieldError{Field: field, Value: value, Message: msg})
	}
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				opts.Filter.Statuses = append(opts.Filter.Statuses, leads.Status(st))
			}
		}
	}
	var err error
	if opts.Filter.TeamID, err = positiveParam(q, "teamId"); err != nil {
		return opts, err
	}
	if opts.Filter.LeadSourceID, err = positiveParam(q, "leadSourceId"); err != nil {
		return opts, err
	}
	if v := q.Get("assignedTo"); v == "unassigned" {
		opts.Filter.Unassigned = true
	} else {
		opts.Filter.AssignedTo = v
	}
	switch v := q.Get("archived"); v {
	case "", "false":
		opts.Filter.Archived = leads.LiveOnly
	case "true":
		opts.Filter.Archived = leads.ArchivedOnly
	case "all":
		opts.Filter.Archived = leads.LiveAndArchived
	default:
		return opts, bad("archived", v, "Must be true, false or all")
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"createdAfter", &opts.Filter.CreatedAfter}, {"createdBefore", &opts.Filter.CreatedBefore}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return opts, bad(p.name, v, "Must be an RFC 3339 date-time")
			}
			*p.dst = &t
		}
	}
	opts.Filter.Query = q.Get("q")
	opts.Filter.ExternalID = q.Get("externalId")
	opts.Filter.AssignmentStatus = leads.AssignmentStatus(q.Get("assignmentStatus"))
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"hotScoreMin", &opts.Filter.HotScoreMin}, {"hotScoreMax", &opts.Filter.HotScoreMax}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return opts, bad(p.name, v, fmt.Sprintf("Must be an integer from 0 to %d", leads.MaxHotScore))
			}
			*p.dst = &n
		}
	}
	opts.Sort = q.Get("sort")
	switch v := q.Get("order"); v {
	case "", "desc":
	case "asc":
		opts.Ascending = true
	default:
		return opts, bad("order", v, "Must be asc or desc")
	}
	if opts.Limit, err = limitParam(q); err != nil {
		return opts, err
	}
	opts.Cursor = q.Get("cursor")
	return opts, nil
}

func positiveParam(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, leads.ValidationError(leads.FieldError{Field: name, Value: v, Message: "Must be a positive integer"})
	}
	return n, nil
}

// updateLead is PATCH and PUT /leads/{id}: both partial updates (seed 001).
func (s *Server) updateLead(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead")
	if err != nil {
		return err
	}
	skip, err := boolParam(req.Request, "skipTeamAndSourceRequirement")
	if err != nil {
		return err
	}
	version, err := ifMatch(req.Request)
	if err != nil {
		return err
	}
	var patch map[string]any
	if err := decodeJSON(req.Request, &patch); err != nil {
		return err
	}
	if patch == nil {
		return leads.Errorf(CodeInvalidJSON, "request body must be a JSON object")
	}
	ctx := req.Context()
	lead, err := s.svc.UpdateLead(ctx, actorFrom(ctx), id, patch, leads.UpdateOptions{SkipTeamAndSourceRequirement: skip, IfMatch: version})
	if err != nil {
		return err
	}
	setETag(w, lead)
	writeJSON(w, http.StatusOK, lead)
	return nil
}

// assignLead is POST /leads/{id}/assign with an optional {"rotationId": n}.
func (s *Server) assignLead(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead")
	if err != nil {
		return err
	}
	version, err := ifMatch(req.Request)
	if err != nil {
		return err
	}
	var in struct {
		RotationID int64 `json:"rotationId"`
	}
	if err := decodeOptionalJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	res, err := s.svc.AssignLead(ctx, actorFrom(ctx), id, leads.AssignOptions{RotationID: in.RotationID, IfMatch: version})
	if err != nil {
		return err
	}
	setETag(w, res.Lead)
	writeJSON(w, http.StatusOK, res.Lead)
	return nil
}

// decodeOptionalJSON is decodeJSON for a body that may be absent.
func decodeOptionalJSON(r *http.Request, dst any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decodeJSON(r, dst)
}

// deleteLead is DELETE /leads/{id}?confirm=true: 204. Deletion is for good,
// so the confirmation is required.
func (s *Server) deleteLead(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead")
	if err != nil {
		return err
	}
	confirm, err := boolParam(req.Request, "confirm")
	if err != nil {
		return err
	}
	if !confirm {
		return leads.Errorf(CodeConfirmationRequired, "deleting a lead is permanent: add ?confirm=true to confirm")
	}
	version, err := ifMatch(req.Request)
	if err != nil {
		return err
	}
	ctx := req.Context()
	if err := s.svc.DeleteLead(ctx, actorFrom(ctx), id, leads.DeleteOptions{IfMatch: version}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listAudit is GET /audit[?leadId=&event=&limit=&cursor=] (admins): the
// account's audit entries, oldest first, deleted leads' included.
func (s *Server) listAudit(w http.ResponseWriter, req bunrouter.Request) error {
	q := req.URL.Query()
	leadID, err := positiveParam(q, "leadId")
	if err != nil {
		return err
	}
	aq := leads.AuditQuery{LeadID: leadID, Event: q.Get("event")}
	if aq.Limit, err = limitParam(q); err != nil {
		return err
	}
	ctx := req.Context()
	page, err := s.svc.AuditLog(ctx, actorFrom(ctx), aq, q.Get("cursor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
