package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// list is the shape of every unpaged list response.
type list[T any] struct {
	Data []T `json:"data"`
}

type nameInput struct {
	Name string `json:"name"`
}

// createTeam is POST /teams (managers and admins).
func (s *Server) createTeam(w http.ResponseWriter, req bunrouter.Request) error {
	var in nameInput
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	team, err := s.svc.CreateTeam(ctx, actorFrom(ctx), leads.Team{Name: in.Name})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/teams/"+strconv.FormatInt(team.ID, 10))
	writeJSON(w, http.StatusCreated, team)
	return nil
}

// listTeams is GET /teams, ordered by id.
func (s *Server) listTeams(w http.ResponseWriter, req bunrouter.Request) error {
	ctx := req.Context()
	teams, err := s.svc.Teams(ctx, actorFrom(ctx))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[leads.Team]{teams})
	return nil
}

// getTeam is GET /teams/{id}.
func (s *Server) getTeam(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "team")
	if err != nil {
		return err
	}
	ctx := req.Context()
	team, err := s.svc.Team(ctx, actorFrom(ctx), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, team)
	return nil
}

// updateTeam is PATCH /teams/{id} {"name"} (managers and admins).
func (s *Server) updateTeam(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "team")
	if err != nil {
		return err
	}
	var in nameInput
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	team, err := s.svc.RenameTeam(ctx, actorFrom(ctx), id, in.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, team)
	return nil
}

// deleteTeam is DELETE /teams/{id}[?force=true] (managers and admins): 409
// TEAM_IN_USE while leads name the team, unless force detaches them.
func (s *Server) deleteTeam(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "team")
	if err != nil {
		return err
	}
	force, err := boolParam(req.Request, "force")
	if err != nil {
		return err
	}
	ctx := req.Context()
	if err := s.svc.DeleteTeam(ctx, actorFrom(ctx), id, force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// teamStats is GET /teams/{id}/stats[?from=&to=].
func (s *Server) teamStats(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "team")
	if err != nil {
		return err
	}
	from, to, err := windowParams(req.URL.Query())
	if err != nil {
		return err
	}
	ctx := req.Context()
	st, err := s.svc.TeamStats(ctx, actorFrom(ctx), id, from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// windowParams reads the optional from and to of a statistics window.
func windowParams(q url.Values) (from, to *time.Time, err error) {
	for name, dst := range map[string]**time.Time{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			t, perr := time.Parse(time.RFC3339Nano, v)
			if perr != nil {
				return nil, nil, leads.ValidationError(leads.FieldError{Field: name, Value: v, Message: "Must be an RFC 3339 date-time"})
			}
			*dst = &t
		}
	}
	return from, to, nil
}

// createLeadSource is POST /teams/{id}/lead-sources (managers and admins).
func (s *Server) createLeadSource(w http.ResponseWriter, req bunrouter.Request) error {
	teamID, err := idParam(req, "team")
	if err != nil {
		return err
	}
	var in nameInput
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	src, err := s.svc.CreateLeadSource(ctx, actorFrom(ctx), leads.LeadSource{TeamID: teamID, Name: in.Name})
	if leads.ErrorCode(err) == leads.CodeTeamNotFound {
		return leads.Errorf(leads.CodeNotFound, "team not found")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, src)
	return nil
}

// listLeadSources is GET /teams/{id}/lead-sources, ordered by id.
func (s *Server) listLeadSources(w http.ResponseWriter, req bunrouter.Request) error {
	teamID, err := idParam(req, "team")
	if err != nil {
		return err
	}
	ctx := req.Context()
	sources, err := s.svc.LeadSources(ctx, actorFrom(ctx), teamID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[leads.LeadSource]{sources})
	return nil
}

// updateLeadSource is PATCH /lead-sources/{id} {"name"} (managers and admins).
func (s *Server) updateLeadSource(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead source")
	if err != nil {
		return err
	}
	var in nameInput
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	ctx := req.Context()
	src, err := s.svc.RenameLeadSource(ctx, actorFrom(ctx), id, in.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, src)
	return nil
}

// deleteLeadSource is DELETE /lead-sources/{id}[?force=true] (managers and
// admins): 409 LEAD_SOURCE_IN_USE while leads name it, unless force.
func (s *Server) deleteLeadSource(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "lead source")
	if err != nil {
		return err
	}
	force, err := boolParam(req.Request, "force")
	if err != nil {
		return err
	}
	ctx := req.Context()
	if err := s.svc.DeleteLeadSource(ctx, actorFrom(ctx), id, force); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
