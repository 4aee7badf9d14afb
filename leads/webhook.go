package leads

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook formats: what a delivery's body is.
const (
	// WebhookStandard posts the Standard Webhooks payload
	// {"type","timestamp","data"}.
	WebhookStandard = "standard"
	// WebhookSlack posts Slack's incoming-webhook payload {"text"}.
	WebhookSlack = "slack"
)

// WebhookEndpoint is a URL an account's events are posted to.
type WebhookEndpoint struct {
	ID        int64  `json:"id"`
	AccountID string `json:"accountId"`
	URL       string `json:"url"`
	// Secret signs deliveries ("whsec_" and base64, as the Standard
	// Webhooks libraries take it). Shown once, when the endpoint is
	// created: the Service's reads clear it.
	Secret     string      `json:"secret,omitempty"`
	EventTypes []EventType `json:"eventTypes"`
	Format     string      `json:"format"`
	Enabled    bool        `json:"enabled"`
	// DisabledReason says why the endpoint was disabled automatically
	// (deliveries kept failing); "" otherwise.
	DisabledReason string    `json:"disabledReason,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	UpdatedAt      time.Time `json:"updatedAt"`
}

// Subscribed reports whether the endpoint is enabled and takes events of t.
func (e *WebhookEndpoint) Subscribed(t EventType) bool {
	if !e.Enabled {
		return false
	}
	for _, s := range e.EventTypes {
		if s == t {
			return true
		}
	}
	return false
}

// WebhookInput creates an endpoint.
type WebhookInput struct {
	URL        string      `json:"url"`
	EventTypes []EventType `json:"eventTypes"`
	// Format is WebhookStandard (default) or WebhookSlack.
	Format string `json:"format"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled"`
}

// WebhookPatch changes an endpoint; nil fields stay. Enabling an endpoint
// clears its DisabledReason.
type WebhookPatch struct {
	URL        *string      `json:"url"`
	EventTypes *[]EventType `json:"eventTypes"`
	Format     *string      `json:"format"`
	Enabled    *bool        `json:"enabled"`
}

// WebhookDelivery is one attempt to deliver an event to an endpoint.
type WebhookDelivery struct {
	ID         int64     `json:"id"`
	EndpointID int64     `json:"endpointId"`
	AccountID  string    `json:"-"`
	EventID    string    `json:"eventId"`
	EventType  EventType `json:"eventType"`
	Attempt    int       `json:"attempt"`
	// StatusCode is the receiver's answer, 0 when none came.
	StatusCode int       `json:"statusCode"`
	Succeeded  bool      `json:"succeeded"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"durationMs"`
	At         time.Time `json:"at"`
	// Redelivery marks the attempts of a redelivery someone asked for
	// (numbered from 1 again), not the event's own.
	Redelivery bool `json:"redelivery"`
	// Payload is the body posted, kept for redelivery.
	Payload json.RawMessage `json:"-"`
}

// WebhookStore keeps webhook endpoints and the delivery log. Every change
// of an endpoint writes its audit entries in the same transaction; another
// account's endpoints and deliveries are NOT_FOUND.
type WebhookStore interface {
	// CreateWebhook stores an endpoint and sets its ID.
	CreateWebhook(ctx context.Context, e *WebhookEndpoint, entry func(created *WebhookEndpoint) AuditEntry) error
	// Webhook returns an endpoint of the account, secret included.
	Webhook(ctx context.Context, accountID string, id int64) (*WebhookEndpoint, error)
	// Webhooks returns the account's endpoints by id, secrets included.
	Webhooks(ctx context.Context, accountID string) ([]WebhookEndpoint, error)
	// UpdateWebhook changes an endpoint as apply decides (nil: nothing)
	// and returns it as stored.
	UpdateWebhook(ctx context.Context, accountID string, id int64, apply func(cur *WebhookEndpoint) (*WebhookEndpoint, []AuditEntry, error)) (*WebhookEndpoint, error)
	// DeleteWebhook deletes an endpoint and its delivery log.
	DeleteWebhook(ctx context.Context, accountID string, id int64, entry func(cur *WebhookEndpoint) AuditEntry) error
	// WebhookDeliveries returns up to limit attempts of the endpoint's
	// deliveries, newest first, before the id beforeID (0: from the newest).
	WebhookDeliveries(ctx context.Context, accountID string, endpointID, beforeID int64, limit int) ([]WebhookDelivery, error)
	// WebhookDelivery returns one attempt, payload included.
	WebhookDelivery(ctx context.Context, accountID string, endpointID, id int64) (*WebhookDelivery, error)
	// RecordWebhookDelivery appends attempts to the log, in one write,
	// and sets their IDs.
	RecordWebhookDelivery(ctx context.Context, ds ...*WebhookDelivery) error
	// PruneWebhookDeliveries deletes, of the limit oldest attempts of the
	// log, those made before before, and returns how many went; called
	// again until none goes, it leaves no attempt made before before.
	PruneWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int64, error)
}

// WebhookDispatcher queues deliveries; the job runner implements it.
type WebhookDispatcher interface {
	// Redeliver queues the delivery of d's event, with its payload and
	// webhook-id, to the endpoint again.
	Redeliver(ctx context.Context, d *WebhookDelivery) error
}

// WithWebhooks enables the webhook endpoints' methods: store keeps them,
// dispatcher redelivers, allowPrivate lets endpoints resolve to private,
// loopback or link-local addresses (tests, closed networks).
func WithWebhooks(store WebhookStore, dispatcher WebhookDispatcher, allowPrivate bool) Option {
	return func(s *Service) {
		s.webhooks, s.dispatcher, s.webhookAllowPrivate = store, dispatcher, allowPrivate
	}
}

// EventWebhookCreated and the others are the audit events of endpoints.
const (
	EventWebhookCreated  = "webhook_created"
	EventWebhookUpdated  = "webhook_updated"
	EventWebhookDeleted  = "webhook_deleted"
	EventWebhookDisabled = "webhook_disabled"
)

// MaxWebhookURLLength bounds an endpoint's URL.
const MaxWebhookURLLength = 2048

func (s *Service) webhookStore(actor Actor) (WebhookStore, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, err
	}
	if s.webhooks == nil {
		return nil, Errorf(CodeNotFound, "webhooks are not enabled on this server")
	}
	return s.webhooks, nil
}

// CreateWebhook stores a new endpoint of actor's account with a new secret,
// which only its answer shows; admins and managers. VALIDATION_ERROR names
// a bad url, eventTypes or format.
func (s *Service) CreateWebhook(ctx context.Context, actor Actor, in WebhookInput) (*WebhookEndpoint, error) {
	ws, err := s.webhookStore(actor)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	e := &WebhookEndpoint{AccountID: actor.AccountID, URL: strings.TrimSpace(in.URL), EventTypes: in.EventTypes,
		Format: in.Format, Enabled: in.Enabled == nil || *in.Enabled, CreatedAt: now, UpdatedAt: now}
	if e.Format == "" {
		e.Format = WebhookStandard
	}
	if err := s.checkWebhook(ctx, e); err != nil {
		return nil, err
	}
	if e.Secret, err = NewWebhookSecret(); err != nil {
		return nil, err
	}
	err = ws.CreateWebhook(ctx, e, func(c *WebhookEndpoint) AuditEntry {
		return newAuditEntry(actor, EventWebhookCreated, map[string]any{"webhookId": c.ID, "url": c.URL, "eventTypes": c.EventTypes}, now)
	})
	if err != nil {
		return nil, fmt.Errorf("create webhook: %w", err)
	}
	return e, nil
}

// Webhooks returns actor's account's endpoints, without secrets.
func (s *Service) Webhooks(ctx context.Context, actor Actor) ([]WebhookEndpoint, error) {
	ws, err := s.webhookStore(actor)
	if err != nil {
		return nil, err
	}
	out, err := ws.Webhooks(ctx, actor.AccountID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	for i := range out {
		out[i].Secret = ""
	}
	return out, nil
}

// Webhook returns an endpoint without its secret; NOT_FOUND when it is not
// actor's account's.
func (s *Service) Webhook(ctx context.Context, actor Actor, id int64) (*WebhookEndpoint, error) {
	ws, err := s.webhookStore(actor)
	if err != nil {
		return nil, err
	}
	e, err := ws.Webhook(ctx, actor.AccountID, id)
	if err != nil {
		return nil, fmt.Errorf("read webhook %d: %w", id, err)
	}
	e.Secret = ""
	return e, nil
}

// UpdateWebhook changes an endpoint; VALIDATION_ERROR names a bad field,
// NOT_FOUND when it is not actor's account's.
func (s *Service) UpdateWebhook(ctx context.Context, actor Actor, id int64, p WebhookPatch) (*WebhookEndpoint, error) {
	ws, err := s.webhookStore(actor)
	if err != nil {
		return nil, err
	}
	if p.URL != nil || p.EventTypes != nil || p.Format != nil {
		// Checked before the write: resolving a name must not hold a lock.
		probe := &WebhookEndpoint{URL: "https://example.com", EventTypes: []EventType{EventTypeCreated}, Format: WebhookStandard}
		if p.URL != nil {
			probe.URL = strings.TrimSpace(*p.URL)
		}
		if p.EventTypes != nil {
			probe.EventTypes = *p.EventTypes
		}
		if p.Format != nil {
			probe.Format = *p.Format
		}
		if err := s.checkWebhook(ctx, probe); err != nil {
			return nil, err
		}
	}
	now := s.clock()
	e, err := ws.UpdateWebhook(ctx, actor.AccountID, id, func(cur *WebhookEndpoint) (*WebhookEndpoint, []AuditEntry, error) {
		next := *cur
		changed := map[string]any{}
		if p.URL != nil && strings.TrimSpace(*p.URL) != cur.URL {
			next.URL, changed["url"] = strings.TrimSpace(*p.URL), strings.TrimSpace(*p.URL)
		}
		if p.EventTypes != nil {
			next.EventTypes, changed["eventTypes"] = *p.EventTypes, *p.EventTypes
		}
		if p.Format != nil && *p.Format != cur.Format {
			next.Format, changed["format"] = *p.Format, *p.Format
		}
		if p.Enabled != nil && *p.Enabled != cur.Enabled {
			next.Enabled, changed["enabled"] = *p.Enabled, *p.Enabled
			if *p.Enabled {
				next.DisabledReason = ""
			}
		}
		if len(changed) == 0 {
			return nil, nil, nil
		}
		next.UpdatedAt = now
		changed["webhookId"] = id
		return &next, []AuditEntry{newAuditEntry(actor, EventWebhookUpdated, changed, now)}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("update webhook %d: %w", id, err)
	}
	e.Secret = ""
	return e, nil
}

// DeleteWebhook deletes an endpoint; NOT_FOUND when it is not actor's
// account's. Deliveries queued for it are dropped when they run.
func (s *Service) DeleteWebhook(ctx context.Context, actor Actor, id int64) error {
	ws, err := s.webhookStore(actor)
	if err != nil {
		return err
	}
	now := s.clock()
	err = ws.DeleteWebhook(ctx, actor.AccountID, id, func(cur *WebhookEndpoint) AuditEntry {
		return newAuditEntry(actor, EventWebhookDeleted, map[string]any{"webhookId": cur.ID, "url": cur.URL}, now)
	})
	if err != nil {
		return fmt.Errorf("delete webhook %d: %w", id, err)
	}
	return nil
}

// WebhookDeliveryPage is a page of an endpoint's delivery log.
type WebhookDeliveryPage struct {
	Data []WebhookDelivery `json:"data"`
	// NextBefore, when set, is the before parameter of the next page.
	NextBefore *int64 `json:"nextBefore"`
}

// WebhookDeliveries returns the endpoint's delivery attempts, newest first,
// before the attempt id before (0: from the newest); NOT_FOUND when the
// endpoint is not actor's account's.
func (s *Service) WebhookDeliveries(ctx context.Context, actor Actor, id, before int64, limit int) (*WebhookDeliveryPage, error) {
	ws, err := s.webhookStore(actor)
	if err != nil {
		return nil, err
	}
	if limit, err = pageSize(limit); err != nil {
		return nil, err
	}
	if _, err := ws.Webhook(ctx, actor.AccountID, id); err != nil {
		return nil, fmt.Errorf("read webhook %d: %w", id, err)
	}
	ds, err := ws.WebhookDeliveries(ctx, actor.AccountID, id, before, limit+1)
	if err != nil {
		return nil, fmt.Errorf("read deliveries of webhook %d: %w", id, err)
	}
	page := &WebhookDeliveryPage{Data: ds}
	if len(ds) > limit {
		page.Data = ds[:limit]
		next := page.Data[limit-1].ID
		page.NextBefore = &next
	}
	return page, nil
}

// RedeliverWebhook queues the event of a delivery to its endpoint again,
// with the same webhook-id; NOT_FOUND when the endpoint or the delivery is
// not actor's account's.
func (s *Service) RedeliverWebhook(ctx context.Context, actor Actor, id, deliveryID int64) error {
	ws, err := s.webhookStore(actor)
	if err != nil {
		return err
	}
	d, err := ws.WebhookDelivery(ctx, actor.AccountID, id, deliveryID)
	if err != nil {
		return fmt.Errorf("read delivery %d: %w", deliveryID, err)
	}
	if s.dispatcher == nil {
		return Errorf(CodeServiceUnavailable, "no job runner to redeliver with")
	}
	if err := s.dispatcher.Redeliver(ctx, d); err != nil {
		return fmt.Errorf("redeliver %d: %w", deliveryID, err)
	}
	return nil
}

// NewWebhookSecret returns a new signing secret: "whsec_" and the base64 of
// 24 random bytes, as the Standard Webhooks libraries take it.
func NewWebhookSecret() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:]), nil
}

// checkWebhook validates an endpoint's url, event types and format.
func (s *Service) checkWebhook(ctx context.Context, e *WebhookEndpoint) error {
	if len(e.EventTypes) == 0 {
		return ValidationError(FieldError{"eventTypes", e.EventTypes, "Must name at least one event type"})
	}
	for i, t := range e.EventTypes {
		if !t.Valid() {
			return ValidationError(FieldError{fmt.Sprintf("eventTypes[%d]", i), t, "Is not an event type: " + eventTypeList()})
		}
		if slices.Contains(e.EventTypes[:i], t) {
			return ValidationError(FieldError{fmt.Sprintf("eventTypes[%d]", i), t, "Appears twice"})
		}
	}
	if e.Format != WebhookStandard && e.Format != WebhookSlack {
		return ValidationError(FieldError{"format", e.Format, "Must be standard or slack"})
	}
	return s.checkWebhookURL(ctx, e.URL)
}

func eventTypeList() string {
	names := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// checkWebhookURL refuses a URL that is not http(s), or whose host
// resolves to a private, loopback, link-local or unspecified address,
// unless the server allows them: endpoints must not reach into the
// server's own network.
func (s *Service) checkWebhookURL(ctx context.Context, raw string) error {
	bad := func(msg string) error { return ValidationError(FieldError{"url", shorten(raw), msg}) }
	if raw == "" || len(raw) > MaxWebhookURLLength {
		return bad(fmt.Sprintf("Must be an http or https URL of at most %d characters", MaxWebhookURLLength))
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return bad("Must be an http or https URL, without user information")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("Must have a port from 1 to 65535, or none")
		}
	}
	if s.webhookAllowPrivate {
		return nil
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return bad("Its host does not resolve")
		}
		addrs = ips
	}
	for _, a := range addrs {
		if PrivateAddr(a) {
			return bad("Resolves to a private, loopback or link-local address, which this server does not deliver to")
		}
	}
	return nil
}

// PrivateAddr reports whether a is an address webhooks are not delivered to
// unless the operator allows them: private, loopback, link-local,
// unspecified or multicast, or in another special-purpose range that is
// not globally reachable (nonPublic), also when an IPv6 address carries
// an IPv4 one (mapped, NAT64, 6to4).
func PrivateAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return PrivateAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(a):
			return PrivateAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var (
	// nat64 and sixToFour are the IPv6 prefixes that carry an IPv4
	// address (RFC 6052, RFC 3056).
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	// nonPublic are IANA's special-purpose ranges that are not globally
	// reachable and that netip's predicates do not cover.
	nonPublic = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // this network
		netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (carrier NAT)
		netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
		netip.MustParsePrefix("192.0.2.0/24"),    // documentation
		netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
		netip.MustParsePrefix("198.51.100.0/24"), // documentation
		netip.MustParsePrefix("203.0.113.0/24"),  // documentation
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
		netip.MustParsePrefix("100::/64"),        // discard-only
		netip.MustParsePrefix("2001:db8::/32"),   // documentation
	}
)

// DisableWebhook disables an endpoint whose deliveries keep failing, with
// reason and an audit entry (webhook_disabled, by the system), in one
// transaction of ws; nothing when it is disabled already. NOT_FOUND when
// the endpoint is gone.
func DisableWebhook(ctx context.Context, ws WebhookStore, accountID string, id int64, reason string, now time.Time) error {
	_, err := ws.UpdateWebhook(ctx, accountID, id, func(cur *WebhookEndpoint) (*WebhookEndpoint, []AuditEntry, error) {
		if !cur.Enabled {
			return nil, nil, nil
		}
		next := *cur
		next.Enabled, next.DisabledReason, next.UpdatedAt = false, reason, now
		entry := newAuditEntry(SystemActor(accountID), EventWebhookDisabled, map[string]any{"webhookId": id, "reason": reason}, now)
		return &next, []AuditEntry{entry}, nil
	})
	if err != nil {
		return fmt.Errorf("disable webhook %d: %w", id, err)
	}
	return nil
}
