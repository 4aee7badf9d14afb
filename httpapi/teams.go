package httpapi

import (
	"context"
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
	return create(w, req, func(t *leads.Team) string { return "/teams/" + strconv.FormatInt(t.ID, 10) },
		func(ctx context.Context, a leads.Actor, in nameInput) (*leads.Team, error) {
			return s.svc.CreateTeam(ctx, a, leads.Team{Name: in.Name})
		})
}

// listTeams is GET /teams, ordered by id.
func (s *Server) listTeams(w http.ResponseWriter, req bunrouter.Request) error {
	return listAll(w, req, s.svc.Teams)
}

// getTeam is GET /teams/{id}.
func (s *Server) getTeam(w http.ResponseWriter, req bunrouter.Request) error {
	return getID(w, req, "team", s.svc.Team)
}

// updateTeam is PATCH /teams/{id} {"name"} (managers and admins).
func (s *Server) updateTeam(w http.ResponseWriter, req bunrouter.Request) error {
	return rename(w, req, "team", s.svc.RenameTeam)
}

// deleteTeam is DELETE /teams/{id}[?force=true] (managers and admins): 409
// TEAM_IN_USE while leads name the team, unless force detaches them.
func (s *Server) deleteTeam(w http.ResponseWriter, req bunrouter.Request) error {
	return removeForced(w, req, "team", s.svc.DeleteTeam)
}

// teamStats is GET /teams/{id}/stats[?from=&to=].
func (s *Server) teamStats(w http.ResponseWriter, req bunrouter.Request) error {
	return stats(w, req, "team", s.svc.TeamStats)
}

// windowParams reads the optional from and to of a statistics window.
func windowParams(q url.Values) (from, to *time.Time, err error) {
	if from, err = timeParam(q, "from"); err == nil {
		to, err = timeParam(q, "to")
	}
	return from, to, err
}

// timeParam reads the optional RFC 3339 date-time parameter name; nil when
// it is absent.
func timeParam(q url.Values, name string) (*time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, leads.ValidationError(leads.FieldError{Field: name, Value: v, Message: "Must be an RFC 3339 date-time"})
	}
	if problem := leads.TimeProblem(t); problem != "" {
		// Year 0 is no year of PostgreSQL's: a statistics window from it
		// was an internal error there.
		return nil, leads.ValidationError(leads.FieldError{Field: name, Value: v, Message: problem})
	}
	return &t, nil
}

// createLeadSource is POST /teams/{id}/lead-sources (managers and admins).
func (s *Server) createLeadSource(w http.ResponseWriter, req bunrouter.Request) error {
	teamID, err := idParam(req, "team")
	if err != nil {
		return err
	}
	return create(w, req, nil, func(ctx context.Context, a leads.Actor, in nameInput) (*leads.LeadSource, error) {
		src, err := s.svc.CreateLeadSource(ctx, a, leads.LeadSource{TeamID: teamID, Name: in.Name})
		if leads.ErrorCode(err) == leads.CodeTeamNotFound {
			return nil, leads.Errorf(leads.CodeNotFound, "team not found")
		}
		return src, err
	})
}

// listLeadSources is GET /teams/{id}/lead-sources, ordered by id.
func (s *Server) listLeadSources(w http.ResponseWriter, req bunrouter.Request) error {
	return getID(w, req, "team", func(ctx context.Context, a leads.Actor, teamID int64) (list[leads.LeadSource], error) {
		sources, err := s.svc.LeadSources(ctx, a, teamID)
		return list[leads.LeadSource]{sources}, err
	})
}

// updateLeadSource is PATCH /lead-sources/{id} {"name"} (managers and admins).
func (s *Server) updateLeadSource(w http.ResponseWriter, req bunrouter.Request) error {
	return rename(w, req, "lead source", s.svc.RenameLeadSource)
}

// deleteLeadSource is DELETE /lead-sources/{id}[?force=true] (managers and
// admins): 409 LEAD_SOURCE_IN_USE while leads name it, unless force.
func (s *Server) deleteLeadSource(w http.ResponseWriter, req bunrouter.Request) error {
	return removeForced(w, req, "lead source", s.svc.DeleteLeadSource)
}
