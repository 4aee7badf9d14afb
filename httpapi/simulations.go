package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// simulationBody is a simulation as the API shows it: with its links.
type simulationBody struct {
	*leads.Simulation
	Links simulationLinks `json:"links"`
}

// simulationLinks are where a simulation is: self, which answers its
// result once it is done.
type simulationLinks struct {
	Self string `json:"self"`
}

func simulationPath(id int64) string { return "/simulations/" + strconv.FormatInt(id, 10) }

func newSimulationBody(sim *leads.Simulation) simulationBody {
	return simulationBody{Simulation: sim, Links: simulationLinks{Self: simulationPath(sim.ID)}}
}

// simulator is the server's simulations, or the refusal of a server that
// runs none.
func (s *Server) simulator() (leads.Simulator, error) {
	if s.cfg.Simulations == nil {
		return nil, leads.Errorf(leads.CodeNotFound, "this server runs no simulations")
	}
	return s.cfg.Simulations, nil
}

// createSimulation is POST /simulations (managers and admins): 202, the
// simulation queued, its path as Location; it runs in the background.
func (s *Server) createSimulation(w http.ResponseWriter, req bunrouter.Request) error {
	sims, err := s.simulator()
	if err != nil {
		return err
	}
	in, err := decodeSimulationInput(req.Request)
	if err != nil {
		return err
	}
	ctx := req.Context()
	sim, err := sims.CreateSimulation(ctx, actorFrom(ctx), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", simulationPath(sim.ID))
	writeJSON(w, http.StatusAccepted, newSimulationBody(sim))
	return nil
}

// simulationInputBody is leads.SimulationInput as a body holds it: a
// time absent is nil, a time given as Go's zero time is not.
type simulationInputBody struct {
	From       *time.Time      `json:"from"`
	To         *time.Time      `json:"to"`
	Config     json.RawMessage `json:"config,omitempty"`
	ConfigYAML string          `json:"configYaml,omitempty"`
}

// decodeSimulationInput reads POST /simulations' body. A time given as
// 0001-01-01T00:00:00Z is refused as too early, not as missing (which is
// what the Service, seeing the zero time, would say).
func decodeSimulationInput(r *http.Request) (leads.SimulationInput, error) {
	var body simulationInputBody
	if err := decodeJSON(r, &body); err != nil {
		return leads.SimulationInput{}, err
	}
	in := leads.SimulationInput{Config: body.Config, ConfigYAML: body.ConfigYAML}
	var errs []leads.FieldError
	for _, t := range []struct {
		field string
		given *time.Time
		to    *time.Time
	}{{"from", body.From, &in.From}, {"to", body.To, &in.To}} {
		if t.given == nil {
			continue
		}
		*t.to = *t.given
		if t.given.IsZero() {
			errs = append(errs, *leads.CheckSimulationTime(t.field, *t.given))
		}
	}
	if len(errs) > 0 {
		return leads.SimulationInput{}, leads.ValidationError(errs...)
	}
	return in, nil
}

// getSimulation is GET /simulations/{id}: where it is, and its result once
// done.
func (s *Server) getSimulation(w http.ResponseWriter, req bunrouter.Request) error {
	sims, err := s.simulator()
	if err != nil {
		return err
	}
	return getID(w, req, "simulation", func(ctx context.Context, a leads.Actor, id int64) (simulationBody, error) {
		sim, err := sims.Simulation(ctx, a, id)
		if err != nil {
			return simulationBody{}, err
		}
		return newSimulationBody(sim), nil
	})
}

// listSimulations is GET /simulations[?limit=&cursor=]: the account's
// simulations, newest first, without configs and results.
func (s *Server) listSimulations(w http.ResponseWriter, req bunrouter.Request) error {
	sims, err := s.simulator()
	if err != nil {
		return err
	}
	return cursorPage(w, req, func(ctx context.Context, a leads.Actor, limit int, cursor string) (simulationPage, error) {
		page, err := sims.Simulations(ctx, a, leads.SimulationListOptions{Limit: limit, Cursor: cursor})
		if err != nil {
			return simulationPage{}, err
		}
		out := simulationPage{Data: make([]simulationBody, len(page.Data)), NextCursor: page.NextCursor}
		for i := range page.Data {
			out.Data[i] = newSimulationBody(&page.Data[i])
		}
		return out, nil
	})
}

// simulationPage is a page of simulations as the API shows them.
type simulationPage struct {
	Data       []simulationBody `json:"data"`
	NextCursor *string          `json:"nextCursor"`
}
