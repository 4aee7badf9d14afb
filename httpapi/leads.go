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
// whole lead and its audit log. A retry with the same Idempotency-Key
// answers the same lead with Idempotent-Replayed: true. With ?dryRun=true it
// answers 200 with who would get the lead and why, storing nothing.
//
// It authenticates itself, through Service.CreateWithCredentials, which
// reads the key with the rest of what a lead needs in one query: the hottest
// route saves a round trip. Authentication errors still come first.
func (s *Server) createLead(w http.ResponseWriter, req bunrouter.Request) error {
	cred, err := s.credentials(req.Request)
	if err != nil {
		return err
	}
	if err := s.checkClient(w, req.Request); err != nil {
		return err
	}
	ctx := req.Context()
	var in leads.LeadInput
	skip, err := boolParam(req.Request, "skipTeamAndSourceRequirement")
	dryRun, derr := boolParam(req.Request, "dryRun")
	if err = errors.Join(err, derr); err == nil {
		err = decodeJSON(req.Request, &in)
	}
	if err != nil {
		return s.refuseAs(w, req.Request, cred, err)
	}
	res, actor, err := s.svc.CreateWithCredentials(ctx, cred, in, leads.CreateOptions{
		SkipTeamAndSourceRequirement: skip,
		IdempotencyKey:               req.Header.Get("Idempotency-Key"),
		DryRun:                       dryRun,
		Admit:                        s.admit(w, req.Request, cred.Secret),
	})
	withActor(ctx, actor)
	if err != nil {
		return s.noteAuthFailure(req.Request, err)
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
	writeJSON(w, http.StatusCreated, res.Lead)
	return nil
}

// refuseAuthenticated returns err, the refusal of a request to a route that
// authenticates itself (POST /leads), once its credentials are checked: a
// bad request from someone who may not make it is refused as such.
func (s *Server) refuseAuthenticated(w http.ResponseWriter, r *http.Request, err error) error {
	cred, cerr := s.credentials(r)
	if cerr != nil {
		return cerr
	}
	if lerr := s.checkClient(w, r); lerr != nil {
		return lerr
	}
	return s.refuseAs(w, r, cred, err)
}

// refuseAs returns err once cred is known good, charged to its key's and
// account's rate limits; else the authentication or rate limit error.
func (s *Server) refuseAs(w http.ResponseWriter, r *http.Request, cred leads.Credentials, err error) error {
	if leads.ErrorCode(err) == CodeRequestTimeout {
		// The connection is spent (its context canceled): authenticating
		// would fail for that reason and hide the client's.
		return err
	}
	ctx := r.Context()
	actor, aerr := s.svc.Authenticate(ctx, cred.Secret, cred.AccountID)
	if aerr != nil {
		return s.noteAuthFailure(r, aerr)
	}
	withActor(ctx, actor)
	if lerr := s.limitAuthenticated(w, r, cred.Secret, actor.AccountID); lerr != nil {
		return lerr
	}
	return err
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

// idParam reads the positive integer path parameter "id" naming an object of
// kind; anything else cannot name one, so it is NOT_FOUND.
func idParam(req bunrouter.Request, kind string) (int64, error) {
	id, err := strconv.ParseInt(req.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, leads.Errorf(leads.CodeNotFound, "%s not found", kind)
	}
	return id, nil
}

// boolParam reads an optional boolean query parameter: true/1 or false/0.
func boolParam(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, leads.ValidationError(leads.FieldError{Field: name, Value: v, Message: "Must be true or false"})
	}
}
