package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// dryRunResult is what POST /leads?dryRun=true answers.
type dryRunResult struct {
	DryRun     bool             `json:"dryRun"`
	Lead       *leads.Lead      `json:"lead"`
	Assignment leads.Assignment `json:"assignment"`
}

// createLead is POST /leads[?skipTeamAndSourceRequirement=true]: 201 with the
// whole lead and its audit log. With ?matchBy=email (or externalId) it is
// an upsert: 200 with the live lead of that key, updated, if there is one. A retry with the same Idempotency-Key
// answers the same lead with Idempotent-Replayed: true. With ?dryRun=true it
// answers 200 with who would get the lead and why, storing nothing.
//
// Its credentials come unresolved (the route is authDeferred): Service.CreateLead
// resolves them in the same read as the lead's checks, which saves the
// hottest route a round trip, and orders authentication, the rate limits
// and validation as every route does.
func (s *Server) createLead(w http.ResponseWriter, req bunrouter.Request) error {
	var in leads.LeadInput
	skip, err := boolParam(req.Request, "skipTeamAndSourceRequirement")
	dryRun, derr := boolParam(req.Request, "dryRun")
	if err = errors.Join(err, derr); err == nil {
		err = decodeJSON(req.Request, &in)
	}
	if err != nil {
		return err
	}
	cred, admit := s.deferredCredentials(w, req.Request)
	res, err := s.svc.CreateLead(req.Context(), cred, in, leads.CreateOptions{
		SkipTeamAndSourceRequirement: skip,
		IdempotencyKey:               req.Header.Get("Idempotency-Key"),
		DryRun:                       dryRun,
		MatchBy:                      req.URL.Query().Get("matchBy"),
		Admit:                        admit,
	})
	if err != nil {
		return err
	}
	if dryRun {
		writeJSON(w, http.StatusOK, dryRunResult{DryRun: true, Lead: res.Lead, Assignment: res.Assignment})
		return nil
	}
	w.Header().Set("Location", "/leads/"+strconv.FormatInt(res.Lead.ID, 10))
	setETag(w, res.Lead)
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if res.Returned {
		writeJSON(w, http.StatusOK, res.Lead) // an upsert found and updated it
		return nil
	}
	writeJSON(w, http.StatusCreated, res.Lead)
	return nil
}

// getLead is GET /leads/{id}: the lead with its audit log, oldest first.
func (s *Server) getLead(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead")
	if err != nil {
		return err
	}
	ctx := req.Context()
	lead, err := s.svc.Lead(ctx, actorFrom(ctx), id)
	if err != nil {
		return err
	}
	setETag(w, lead)
	writeJSON(w, http.StatusOK, lead)
	return nil
}

// leadRoutingResult is what GET /leads/{id}/routing answers.
type leadRoutingResult struct {
	LeadID    int64                 `json:"leadId"`
	Decisions []leads.RoutingRecord `json:"decisions"`
}

// leadRouting answers GET /leads/{id}/routing: "why this rep", each
// decision of the lead's owner as it was made, oldest first.
func (s *Server) leadRouting(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead")
	if err != nil {
		return err
	}
	ctx := req.Context()
	records, err := s.svc.LeadRouting(ctx, actorFrom(ctx), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, leadRoutingResult{LeadID: id, Decisions: records})
	return nil
}

// idParam reads the positive integer path parameter "id" naming an object of
// kind; anything else cannot name one, so it is NOT_FOUND.
func idParam(req bunrouter.Request, kind string) (int64, error) {
	id, ok := leads.ParseID(req.Param("id"))
	if !ok {
		return 0, leads.Errorf(leads.CodeNotFound, "%s not found", kind)
	}
	return id, nil
}

// boolParam reads an optional boolean query parameter: true/1 or false/0,
// false when absent. Given without a value (?dryRun or ?dryRun=) it is
// refused like any other spelling: read as false, ?dryRun= stored the real
// lead a client meant to try.
func boolParam(r *http.Request, name string) (bool, error) {
	vs, given := r.URL.Query()[name]
	if !given {
		return false, nil
	}
	switch v := vs[0]; v {
	case "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, leads.ValidationError(leads.FieldError{Field: name, Value: v, Message: "Must be true or false"})
	}
}
