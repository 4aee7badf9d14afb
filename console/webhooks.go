package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/leadrotor/leadrotor/leads"
)

// webhookFormData is what the endpoint form (templates/webhookform.html)
// needs: the form's values and the choices it offers.
type webhookFormData struct {
	Form       webhookForm
	EventTypes []leads.EventType
	Formats    []formatChoice
}

// formatChoice is a delivery format as the form offers it.
type formatChoice struct {
	Value, Label string
}

// webhookFormats are the formats the form offers, the default first.
var webhookFormats = []formatChoice{
	{leads.WebhookStandard, "Standard Webhooks: JSON, signed"},
	{leads.WebhookSlack, "Slack incoming webhook: a line of text"},
}

// webhookForm is an endpoint as its form holds it.
type webhookForm struct {
	// ID is the endpoint's, 0 for a new one.
	ID      int64
	URL     string
	Format  string
	Types   []leads.EventType
	Enabled bool
}

// Checked reports whether the form subscribes to t.
func (f webhookForm) Checked(t leads.EventType) bool { return slices.Contains(f.Types, t) }

// readWebhookForm reads the endpoint form: the event types in the order
// sent, so that a refusal's eventTypes[i] names the one typed.
func readWebhookForm(v url.Values) webhookForm {
	f := webhookForm{URL: strings.TrimSpace(v.Get("url")), Format: v.Get("format"), Enabled: v.Get("enabled") != ""}
	for _, t := range v["eventTypes"] {
		f.Types = append(f.Types, leads.EventType(t))
	}
	return f
}

// newWebhookFormData is the form data of f, or of what a refused post of
// the endpoint form held (it sends url; the other forms of its pages do
// not), so that nothing typed is lost.
func newWebhookFormData(r *request, f webhookForm) webhookFormData {
	if r.form != nil && r.form.Has("url") {
		id := f.ID
		f = readWebhookForm(r.form)
		f.ID = id
	}
	return webhookFormData{Form: f, EventTypes: leads.EventTypes, Formats: webhookFormats}
}

// webhooksData is the list page's: the endpoints and the new one's form.
type webhooksData struct {
	webhookFormData
	Endpoints []leads.WebhookEndpoint
	// Created is the endpoint just made, with its signing secret: shown
	// this once, never put in a URL, never stored by the console.
	Created *leads.WebhookEndpoint
}

// requireWebhooks refuses an agent the webhook pages, as the Service
// refuses them the webhook methods.
func requireWebhooks(r *request) error {
	if !r.can(leads.PermWriteConfig) {
		return leads.Errorf(leads.CodeForbidden, "only managers and admins see and change webhooks")
	}
	return nil
}

// endpointOf is the endpoint the page's {id} names, for managers and
// admins; NOT_FOUND when it is not the account's.
func (c *Console) endpointOf(ctx context.Context, r *request) (*leads.WebhookEndpoint, error) {
	if err := requireWebhooks(r); err != nil {
		return nil, err
	}
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return c.svc.Webhook(ctx, r.actor, id)
}

// webhooks lists the account's webhook endpoints, for managers and admins,
// with the form of a new one: every event type and the standard format
// ticked, enabled.
func (c *Console) webhooks(ctx context.Context, r *request) (any, error) {
	if err := requireWebhooks(r); err != nil {
		return nil, err
	}
	eps, err := c.svc.Webhooks(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	f := webhookForm{Format: leads.WebhookStandard, Types: leads.EventTypes, Enabled: true}
	return webhooksData{webhookFormData: newWebhookFormData(r, f), Endpoints: eps}, nil
}

// createWebhook makes an endpoint and answers with the list, the new
// endpoint's signing secret shown this once (as POST /webhooks does).
func (c *Console) createWebhook(ctx context.Context, r *request) (string, error) {
	f := readWebhookForm(r.PostForm)
	created, err := c.svc.CreateWebhook(ctx, r.actor, leads.WebhookInput{URL: f.URL, EventTypes: f.Types, Format: f.Format, Enabled: &f.Enabled})
	if err != nil {
		return "", webhookField(err)
	}
	d, err := c.webhooks(ctx, r)
	if err != nil {
		return "", err
	}
	wd := d.(webhooksData)
	wd.Created = created
	c.render(r.w, r, "webhooks", http.StatusOK, wd)
	return "", errShowLink
}

// webhookField points a refusal of an event type (eventTypes[2]) at the
// form's event types, said with the type sent; the Service's other fields
// (url, eventTypes, format) are the form's own names.
func webhookField(err error) error {
	details := leads.ErrorDetails(err)
	if field, _ := details["field"].(string); strings.HasPrefix(field, "eventTypes[") {
		return withFieldText(err, "eventTypes", fmt.Sprintf("%q: %s", fmt.Sprint(details["value"]), errorText(err)))
	}
	return err
}

// webhookData is an endpoint's page: the endpoint and its form.
type webhookData struct {
	webhookFormData
	Endpoint *leads.WebhookEndpoint
}

// webhook is one endpoint's page, for managers and admins: its form, the
// way to enable it again after it was disabled, and its deletion.
func (c *Console) webhook(ctx context.Context, r *request) (any, error) {
	ep, err := c.endpointOf(ctx, r)
	if err != nil {
		return nil, err
	}
	f := webhookForm{ID: ep.ID, URL: ep.URL, Format: ep.Format, Types: ep.EventTypes, Enabled: ep.Enabled}
	return webhookData{webhookFormData: newWebhookFormData(r, f), Endpoint: ep}, nil
}

// updateWebhook replaces an endpoint's URL, event types, format and
// whether it is enabled with the form's; enabling a disabled endpoint
// clears why it was disabled.
func (c *Console) updateWebhook(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	f := readWebhookForm(r.PostForm)
	p := leads.WebhookPatch{URL: &f.URL, EventTypes: &f.Types, Format: &f.Format, Enabled: &f.Enabled}
	if _, err := c.svc.UpdateWebhook(ctx, r.actor, id, p); err != nil {
		return "", webhookField(err)
	}
	return "/webhooks?done=updated", nil
}

// toggleWebhook enables (enabled=true) or disables (enabled=false) an
// endpoint from the list.
func (c *Console) toggleWebhook(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	field := "webhook:" + strconv.FormatInt(id, 10)
	enabled, err := strconv.ParseBool(r.PostFormValue("enabled"))
	if err != nil {
		return "", leads.ValidationError(leads.FieldError{Field: field, Value: r.PostFormValue("enabled"), Message: "Must be true or false"})
	}
	if _, err := c.svc.UpdateWebhook(ctx, r.actor, id, leads.WebhookPatch{Enabled: &enabled}); err != nil {
		return "", withField(err, field)
	}
	if enabled {
		return "/webhooks?done=webhook_enabled", nil
	}
	return "/webhooks?done=webhook_disabled", nil
}

// deleteWebhook deletes an endpoint and its delivery log once the form's
// box saying so is ticked.
func (c *Console) deleteWebhook(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if r.PostFormValue("confirm") != "yes" {
		return "", leads.ValidationError(leads.FieldError{Field: "confirm", Value: r.PostFormValue("confirm"),
			Message: "Tick the box to confirm: the endpoint and its delivery log are deleted for good"})
	}
	if err := c.svc.DeleteWebhook(ctx, r.actor, id); err != nil {
		return "", withField(err, "confirm")
	}
	return "/webhooks?done=deleted", nil
}

// deliveriesData is a page of an endpoint's delivery log.
type deliveriesData struct {
	Endpoint   *leads.WebhookEndpoint
	Deliveries []leads.WebhookDelivery
	// Query is this page's cursor (before, limit), for the forms that come
	// back to it; Next the next page's, "" on the last. Both are built of
	// numbers only, so the template may put them in a URL as they are.
	Query, Next template.URL
	// Older says this is not the first page.
	Older bool
}

// deliveryCursor reads a delivery log page's cursor, as the API does: the
// delivery id before which it starts (0: the newest) and its size (0: the
// default).
func deliveryCursor(q url.Values) (before int64, limit int, err error) {
	if v := q.Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			return 0, 0, leads.ValidationError(leads.FieldError{Field: "before", Value: v, Message: "Must be a delivery id"})
		}
	}
	if limit, err = leads.ParsePageSize(q.Get("limit")); err != nil {
		return 0, 0, err
	}
	return before, limit, nil
}

// cursorQuery is the query of a delivery log page: before and limit when
// set.
func cursorQuery(before int64, limit int) template.URL {
	q := url.Values{}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return template.URL(q.Encode())
}

// deliveries is an endpoint's delivery log, newest first, a page at a time
// (?before=, as GET /webhooks/{id}/deliveries; ?limit=, 50 by default):
// every attempt, with a button to send its event again.
func (c *Console) deliveries(ctx context.Context, r *request) (any, error) {
	ep, err := c.endpointOf(ctx, r)
	if err != nil {
		return nil, err
	}
	before, limit, err := deliveryCursor(r.URL.Query())
	if err != nil {
		return nil, err
	}
	page, err := c.svc.WebhookDeliveries(ctx, r.actor, ep.ID, before, limit)
	if err != nil {
		return nil, err
	}
	d := deliveriesData{Endpoint: ep, Deliveries: page.Data, Query: cursorQuery(before, limit), Older: before > 0}
	if page.NextBefore != nil {
		d.Next = cursorQuery(*page.NextBefore, limit)
	}
	return d, nil
}

// redeliver queues a logged delivery's event to its endpoint again, with
// the same webhook-id, and comes back to the same page of the log.
func (c *Console) redeliver(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	did, err := pathIDOf(r, "delivery")
	if err != nil {
		return "", err
	}
	before, limit, err := deliveryCursor(r.URL.Query())
	if err != nil {
		return "", err
	}
	if err := c.svc.RedeliverWebhook(ctx, r.actor, id, did); err != nil {
		return "", err
	}
	q := string(cursorQuery(before, limit))
	if q != "" {
		q = "&" + q
	}
	return path("webhooks", id, "deliveries") + "?done=redelivered" + q, nil
}
