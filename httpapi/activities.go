package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

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
	version, err := ifMatch(req.Request)
	if err != nil {
		return err
	}
	var in leads.ActivityInput
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	a, err := s.svc.AddActivity(ctx, actorFrom(ctx), id, in, leads.LeadPrecondition{IfMatch: version})
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
	return cursorPage(w, req, func(ctx context.Context, a leads.Actor, limit int, cursor string) (*leads.ActivityPage, error) {
		return s.svc.Activities(ctx, a, id, leads.ActivityListOptions{Limit: limit, Cursor: cursor})
	})
}

// cursorPage answers 200 with the page call returns for the request's
// ?limit= (limitParam) and ?cursor=.
func cursorPage[T any](w http.ResponseWriter, req bunrouter.Request, call func(ctx context.Context, a leads.Actor, limit int, cursor string) (T, error)) error {
	q := req.URL.Query()
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	ctx := req.Context()
	page, err := call(ctx, actorFrom(ctx), limit, q.Get("cursor"))
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
	version, err := ifMatch(req.Request)
	if err != nil {
		return err
	}
	if err := decodeOptionalJSON(req.Request, &struct{}{}); err != nil {
		return err
	}
	ctx := req.Context()
	lead, err := s.svc.AcceptLead(ctx, actorFrom(ctx), id, leads.LeadPrecondition{IfMatch: version})
	if err != nil {
		return err
	}
	setETag(w, lead)
	writeJSON(w, http.StatusOK, lead)
	return nil
}

// limitParam reads the page size of a listing (leads.ParsePageSize).
func limitParam(q url.Values) (int, error) { return leads.ParsePageSize(q.Get("limit")) }
