package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// createWebhook is POST /webhooks (managers and admins); the answer shows
// the endpoint's signing secret, once.
func (s *Server) createWebhook(w http.ResponseWriter, req bunrouter.Request) error {
	return create(w, req, func(e *leads.WebhookEndpoint) string { return "/webhooks/" + strconv.FormatInt(e.ID, 10) },
		func(ctx context.Context, a leads.Actor, in leads.WebhookInput) (*leads.WebhookEndpoint, error) {
			return s.svc.CreateWebhook(ctx, a, in)
		})
}

// listWebhooks is GET /webhooks, ordered by id, without secrets.
func (s *Server) listWebhooks(w http.ResponseWriter, req bunrouter.Request) error {
	return listAll(w, req, s.svc.Webhooks)
}

// getWebhook is GET /webhooks/{id}.
func (s *Server) getWebhook(w http.ResponseWriter, req bunrouter.Request) error {
	return getID(w, req, "webhook", s.svc.Webhook)
}

// updateWebhook is PATCH /webhooks/{id}.
func (s *Server) updateWebhook(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "webhook")
	if err != nil {
		return err
	}
	var p leads.WebhookPatch
	if err := decodeJSON(req.Request, &p); err != nil {
		return err
	}
	ctx := req.Context()
	e, err := s.svc.UpdateWebhook(ctx, actorFrom(ctx), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// deleteWebhook is DELETE /webhooks/{id}.
func (s *Server) deleteWebhook(w http.ResponseWriter, req bunrouter.Request) error {
	return remove(w, req, "webhook", s.svc.DeleteWebhook)
}

// listWebhookDeliveries is GET /webhooks/{id}/deliveries[?limit=&before=],
// newest first.
func (s *Server) listWebhookDeliveries(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "webhook")
	if err != nil {
		return err
	}
	q := req.URL.Query()
	before := int64(0)
	limit, err := limitParam(q)
	if err != nil {
		return err
	}
	if v := q.Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			return leads.ValidationError(leads.FieldError{Field: "before", Value: v, Message: "Must be a delivery id"})
		}
	}
	ctx := req.Context()
	page, err := s.svc.WebhookDeliveries(ctx, actorFrom(ctx), id, before, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// redeliverWebhook is POST /webhooks/{id}/deliveries/{deliveryId}/redeliver:
// 202, the event queued to the endpoint again with its webhook-id.
func (s *Server) redeliverWebhook(w http.ResponseWriter, req bunrouter.Request) error {
	id, err := idParam(req, "webhook")
	if err != nil {
		return err
	}
	raw := req.Param("deliveryId")
	did, ok := leads.ParseID(raw)
	if !ok {
		return leads.Errorf(leads.CodeNotFound, "delivery not found")
	}
	ctx := req.Context()
	if err := s.svc.RedeliverWebhook(ctx, actorFrom(ctx), id, did); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": true})
	return nil
}
