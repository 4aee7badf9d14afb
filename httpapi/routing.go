package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// ruleInput is the body of POST /routing-rules. The read-only fields of a
// RoutingRule are accepted and ignored, so that a rule read from the API
// can be sent back.
type ruleInput struct {
	Name string `json:"name"`
	// Enabled is true when omitted.
	Enabled    *bool            `json:"enabled"`
	Conditions leads.Condition  `json:"conditions"`
	Action     leads.RuleAction `json:"action"`
	// Position is where the rule goes in the order, 0 first; last when
	// omitted.
	Position  *int            `json:"position"`
	ID        json.RawMessage `json:"id"`
	AccountID json.RawMessage `json:"accountId"`
	CreatedAt json.RawMessage `json:"createdAt"`
	UpdatedAt json.RawMessage `json:"updatedAt"`
}

// rulePatch is the body of PATCH /routing-rules/{id}: the fields sent change.
type rulePatch struct {
	Name       *string           `json:"name"`
	Enabled    *bool             `json:"enabled"`
	Conditions *leads.Condition  `json:"conditions"`
	Action     *leads.RuleAction `json:"action"`
}

// ruleOrder is the body of PUT /routing-rules/order.
type ruleOrder struct {
	IDs []int64 `json:"ids"`
}

// createRoutingRule is POST /routing-rules (managers and admins).
func (s *Server) createRoutingRule(w http.ResponseWriter, req bunrouter.Request) error {
	return create(w, req, func(r *leads.RoutingRule) string { return "/routing-rules/" + strconv.FormatInt(r.ID, 10) },
		func(ctx context.Context, a leads.Actor, in ruleInput) (*leads.RoutingRule, error) {
			r := leads.RoutingRule{Name: in.Name, Enabled: true, Conditions: in.Conditions, Action: in.Action}
			setIf(&r.Enabled, in.Enabled)
			pos := -1
			if in.Position != nil {
				if *in.Position < 0 {
					return nil, leads.ValidationError(leads.FieldError{Field: "position", Value: *in.Position, Message: "Must not be negative"})
				}
				pos = *in.Position
			}
			return s.svc.CreateRoutingRule(ctx, a, r, pos)
		})
}

// listRoutingRules is GET /routing-rules, in their order.
func (s *Server) listRoutingRules(w http.ResponseWriter, req bunrouter.Request) error {
	return listAll(w, req, s.svc.RoutingRules)
}

// getRoutingRule is GET /routing-rules/{id}.
func (s *Server) getRoutingRule(w http.ResponseWriter, req bunrouter.Request) error {
	return getID(w, req, "routing rule", s.svc.RoutingRule)
}

// patchRoutingRule is PATCH /routing-rules/{id} (managers and admins).
func (s *Server) patchRoutingRule(w http.ResponseWriter, req bunrouter.Request) error {
	return getID(w, req, "routing rule", func(ctx context.Context, a leads.Actor, id int64) (*leads.RoutingRule, error) {
		var in rulePatch
		if err := decodeJSON(req.Request, &in); err != nil {
			return nil, err
		}
		return s.svc.UpdateRoutingRule(ctx, a, id, func(r *leads.RoutingRule) error {
			setIf(&r.Name, in.Name)
			setIf(&r.Enabled, in.Enabled)
			setIf(&r.Conditions, in.Conditions)
			setIf(&r.Action, in.Action)
			return nil
		})
	})
}

// deleteRoutingRule is DELETE /routing-rules/{id} (managers and admins).
func (s *Server) deleteRoutingRule(w http.ResponseWriter, req bunrouter.Request) error {
	return remove(w, req, "routing rule", s.svc.DeleteRoutingRule)
}

// orderRoutingRules is PUT /routing-rules/order {"ids"} (managers and
// admins): 200 with the rules in their new order.
func (s *Server) orderRoutingRules(w http.ResponseWriter, req bunrouter.Request) error {
	var in ruleOrder
	if err := decodeJSON(req.Request, &in); err != nil {
		return err
	}
	if in.IDs == nil {
		// {} (or ids: null) is a reorder that names nothing: refused as the
		// document's required field, not taken as a change of nothing.
		return leads.ValidationError(leads.FieldError{Field: "ids", Message: "Is required: the rules' ids, in their new order"})
	}
	ctx := req.Context()
	rules, err := s.svc.ReorderRoutingRules(ctx, actorFrom(ctx), in.IDs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[leads.RoutingRule]{rules})
	return nil
}
