package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// addActivity is POST /leads/{id}/activities: 201 with the activity logged,
// and its place in the lead's listing as Location.
func (s *Server) addActivity(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead")
	if err != nil {
		return err
	}
	var in leads.ActivityInput
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	a, err := s.svc.AddActivity(ctx, actorFrom(ctx), id, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/leads/%d/activities/%d", id, a.ID))
	writeJSON(w, http.StatusCreated, a)
	return nil
}

// listActivities is GET /leads/{id}/activities[?limit=&cursor=]: a page of
// the lead's activities, newest first.
func (s *Server) listActivities(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead")
	if err != nil {
		return err
	}
	q := req.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	ctx := req.Context()
	page, err := s.svc.Activities(ctx, actorFrom(ctx), id, leads.ActivityListOptions{Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// acceptLead is POST /leads/{id}/accept (the assignee): 200 with the lead,
// accepted; the same answer, with the first acceptedAt, when it already is.
func (s *Server) acceptLead(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead")
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(req.Request, &struct{}{}); err != nil {
		return err
	}
	ctx := req.Context()
	lead, err := s.svc.AcceptLead(ctx, actorFrom(ctx), id)
	if err != nil {
		return err
	}
	setETag(w, lead)
	writeJSON(w, http.StatusOK, lead)
	return nil
}

// limitParam reads the page size of a listing: 0 (the default) when absent,
// a VALIDATION_ERROR unless an integer; the Service bounds it. An explicit
// 0 is out of range, not "default".
func limitParam(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, leads.ValidationError(leads.FieldError{Field: "limit", Value: v, Message: fmt.Sprintf("Must be an integer from 1 to %d", leads.MaxPageSize)})
	}
	if n == 0 {
		n = -1
	}
	return n, nil
}
