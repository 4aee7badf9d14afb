package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/webhooks"
)

// receiver is a webhook endpoint on 127.0.0.1 that answers 204 and keeps
// each delivery's webhook-id and body.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	ids []string
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		rc.mu.Lock()
		rc.ids = append(rc.ids, r.Header.Get(webhooks.HeaderID))
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// url is the endpoint's URL.
func (rc *receiver) url() string { return rc.srv.URL + "/hooks/leadrotor" }

// received returns the webhook-ids of the deliveries so far, in order.
func (rc *receiver) received() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.ids...)
}

// count is how many deliveries of event id the receiver got.
func (rc *receiver) count(id string) int {
	n := 0
	for _, got := range rc.received() {
		if got == id {
			n++
		}
	}
	return n
}

// webhookTest is a site with webhooks on which endpoints may be on
// 127.0.0.1, a receiver there, and a browser signed in as email.
func webhookTest(t *testing.T, email string) (*site, *receiver, *browser) {
	s := newWebhookSite(t, true)
	return s, newReceiver(t), s.signedIn(email)
}

// onlyWebhook is the account's one endpoint.
func (s *site) onlyWebhook() leads.WebhookEndpoint {
	s.t.Helper()
	eps, err := s.svc.Webhooks(context.Background(), s.admin)
	require.NoError(s.t, err)
	require.Len(s.t, eps, 1)
	return eps[0]
}

var secretRE = regexp.MustCompile(`<code class="secret" id="secret">(whsec_[^<]+)</code>`)

// A manager adds an endpoint (its secret shown on that answer only),
// edits it, disables and enables it again, and deletes it once the box
// saying so is ticked.
func TestWebhooksPage(t *testing.T) {
	t.Parallel()
	s, rc, b := webhookTest(t, "manager@acme.test")

	p := b.get("/webhooks")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `href="/console/webhooks" aria-current="page">Webhooks<`)
	require.Contains(t, p.body, "No endpoints")
	for _, et := range leads.EventTypes {
		require.Contains(t, p.body, `name="eventTypes" value="`+string(et)+`" checked>`, "a new endpoint takes every event by default")
	}
	csrf := b.csrf("/webhooks")

	p = b.post("/webhooks", url.Values{"csrf": {csrf}, "url": {rc.url()}, "eventTypes": {"lead.created", "lead.assigned"},
		"format": {"standard"}, "enabled": {"true"}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	m := secretRE.FindStringSubmatch(p.body)
	require.NotNil(t, m, "the new endpoint's secret is shown: %s", p.body)
	secret := html.UnescapeString(m[1])
	require.Regexp(t, `^whsec_[A-Za-z0-9+/=]{32}$`, secret)
	ep := s.onlyWebhook()
	require.Equal(t, rc.url(), ep.URL)
	require.Equal(t, []leads.EventType{leads.EventTypeCreated, leads.EventTypeAssigned}, ep.EventTypes)
	require.True(t, ep.Enabled)
	require.Contains(t, p.body, `<tr id="webhook-`+itoa(ep.ID)+`"`)
	for _, path := range []string{"/webhooks", "/webhooks/" + itoa(ep.ID), "/webhooks/" + itoa(ep.ID) + "/deliveries"} {
		p = b.get(path)
		require.Equal(t, http.StatusOK, p.status, path)
		require.NotContains(t, p.body, "whsec_", "the secret is shown once, on %s again", path)
	}

	// Disabled by the runner after failing deliveries: the list and the
	// endpoint's page say why; Enable again clears it.
	reason := "18 attempts to deliver event evt_x failed since 2026-12-01T10:00:00Z; last: 503 Service Unavailable"
	require.NoError(t, leads.DisableWebhook(context.Background(), s.store, s.account, ep.ID, reason, time.Now()))
	p = b.get("/webhooks")
	require.Regexp(t, `(?s)<tr id="webhook-`+itoa(ep.ID)+`".*?badge off">disabled<.*?class="warn-text reason">`+regexp.QuoteMeta(reason)+`<.*?last changed <time`, p.body)
	require.Contains(t, p.body, `aria-label="Enable `+rc.url()+` again">Enable again<`)
	p = b.get("/webhooks/" + itoa(ep.ID))
	require.Regexp(t, `(?s)id="state">disabled: <span class="warn-text">`+regexp.QuoteMeta(reason)+`</span> \(last changed `, p.body)
	require.Contains(t, p.body, `name="enabled" value="true" >`, "the form shows it disabled")
	toggle := "/webhooks/" + itoa(ep.ID) + "/enabled"
	p = b.post(toggle, url.Values{"csrf": {csrf}, "enabled": {"true"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "delivered to it again")
	require.NotContains(t, p.body, reason)
	got := s.onlyWebhook()
	require.True(t, got.Enabled)
	require.Empty(t, got.DisabledReason)

	// Edit: another URL, one event, Slack's format, disabled.
	edit := "/webhooks/" + itoa(ep.ID)
	p = b.get(edit)
	require.Contains(t, p.body, `value="`+rc.url()+`"`)
	require.Contains(t, p.body, `value="lead.assigned" checked>`)
	require.Contains(t, p.body, `value="lead.waiting" >`)
	p = b.post(edit, url.Values{"csrf": {csrf}, "url": {rc.srv.URL + "/slack"}, "eventTypes": {"lead.waiting"}, "format": {"slack"}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Contains(t, p.body, "Saved.")
	require.Contains(t, p.body, `<span class="badge off">disabled</span>`)
	got = s.onlyWebhook()
	require.Equal(t, rc.srv.URL+"/slack", got.URL)
	require.Equal(t, []leads.EventType{leads.EventTypeWaiting}, got.EventTypes)
	require.Equal(t, leads.WebhookSlack, got.Format)
	require.False(t, got.Enabled)

	// Enabled again by the form's box, then disabled from the list.
	p = b.post(edit, url.Values{"csrf": {csrf}, "url": {got.URL}, "eventTypes": {"lead.waiting"}, "format": {"slack"}, "enabled": {"true"}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.True(t, s.onlyWebhook().Enabled)
	p = b.post(toggle, url.Values{"csrf": {csrf}, "enabled": {"false"}})
	require.Contains(t, p.body, "no event is delivered to it")
	require.False(t, s.onlyWebhook().Enabled)
	p = b.post(toggle, url.Values{"csrf": {csrf}, "enabled": {"maybe"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)Enable .*? again.*?field-error[^>]*>Must be true or false<`, p.body)

	// Delete: refused until the box is ticked.
	p = b.post(edit+"/delete", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, fieldError("w-confirm", "Tick the box to confirm"), p.body)
	require.Contains(t, p.body, `<details class="danger-zone" open>`)
	s.onlyWebhook()
	p = b.post(edit+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "Deleted.")
	require.Contains(t, p.body, "No endpoints")
	eps, err := s.svc.Webhooks(context.Background(), s.admin)
	require.NoError(t, err)
	require.Empty(t, eps)
	require.Equal(t, http.StatusNotFound, b.get(edit).status)
	require.Equal(t, http.StatusNotFound, b.post(edit+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}).status)

	audit, err := s.svc.AuditLog(context.Background(), s.admin, leads.AuditQuery{Event: leads.EventWebhookUpdated}, "")
	require.NoError(t, err)
	require.Len(t, audit.Data, 4, "the two edits and two toggles are in the audit log")
	require.Equal(t, "manager@acme.test", audit.Data[0].User)
}

// The Service's refusals are shown next to the field they name, with what
// was typed kept, and nothing is saved; never a 500.
func TestWebhookFieldErrors(t *testing.T) {
	t.Parallel()
	s, rc, b := webhookTest(t, "admin@acme.test")
	csrf := b.csrf("/webhooks")
	form := func(u, format string, types ...string) url.Values {
		return url.Values{"csrf": {csrf}, "url": {u}, "format": {format}, "eventTypes": types}
	}
	for _, tc := range []formCase{
		{"not http", b, "/webhooks", form("ftp://127.0.0.1/x", "standard", "lead.created"), 422,
			fieldError("w-url", "Must be an http or https URL") + `.*?value="lead.created" checked>.*?value="lead.assigned" >`},
		{"user in URL", b, "/webhooks", form("http://me:pw@127.0.0.1/x", "standard", "lead.created"), 422,
			`(?s)value="http://me:pw@127.0.0.1/x".*?field-error" id="e-url" role="alert">Must be an http or https URL, without user information`},
		{"no event", b, "/webhooks", form(rc.url(), "standard"), 422,
			fieldError("w-eventTypes", `Must name at least one event type`)},
		{"unknown event", b, "/webhooks", form(rc.url(), "standard", "lead.created", "lead.bogus"), 422,
			fieldError("w-eventTypes", `&#34;lead.bogus&#34;: Is not an event type: lead.created, lead.assigned`)},
		{"unknown format", b, "/webhooks", form(rc.url(), "xml", "lead.created"), 422,
			fieldError("w-format", "Must be standard or slack")},
	} {
		tc.post(t)
		require.NotContains(t, tc.b.post(tc.path, tc.form).body, "whsec_", tc.name)
	}
	eps, err := s.svc.Webhooks(context.Background(), s.admin)
	require.NoError(t, err)
	require.Empty(t, eps, "a refused form saved an endpoint")

	ep, err := s.svc.CreateWebhook(context.Background(), s.admin, leads.WebhookInput{URL: rc.url(), EventTypes: []leads.EventType{leads.EventTypeCreated}})
	require.NoError(t, err)
	edit := "/webhooks/" + itoa(ep.ID)
	formCase{"edit: bad URL", b, edit, with(form("not a url", "standard", "lead.assigned"), "enabled", "true"), 422,
		fieldError("w-url", "Must be an http or https URL") + `.*?value="lead.created" >.*?value="lead.assigned" checked>`}.post(t)
	got, err := s.svc.Webhook(context.Background(), s.admin, ep.ID)
	require.NoError(t, err)
	require.Equal(t, rc.url(), got.URL)
	require.Equal(t, []leads.EventType{leads.EventTypeCreated}, got.EventTypes)
	require.NotContains(t, s.log.String(), "console page failed")
}

// Without --webhook-allow-private, an endpoint on a loopback address is
// refused, and the form says why, at the URL.
func TestWebhookPrivateAddressRefused(t *testing.T) {
	t.Parallel()
	s := newWebhookSite(t, false)
	b := s.signedIn("manager@acme.test")
	csrf := b.csrf("/webhooks")
	formCase{"loopback", b, "/webhooks", url.Values{"csrf": {csrf}, "url": {"http://127.0.0.1:9/hook"}, "eventTypes": {"lead.created"},
		"format": {"standard"}, "enabled": {"true"}}, 422,
		fieldError("w-url", "Resolves to a private, loopback or link-local address, which this server does not deliver to")}.post(t)
	require.Contains(t, b.post("/webhooks", url.Values{"csrf": {csrf}, "url": {"http://127.0.0.1:9/hook"}, "eventTypes": {"lead.created"}}).body,
		`value="http://127.0.0.1:9/hook"`, "the URL typed is kept")
	eps, err := s.svc.Webhooks(context.Background(), s.admin)
	require.NoError(t, err)
	require.Empty(t, eps)
}

// An agent is offered no Webhooks link, and is refused the pages and the
// actions, even with their own valid CSRF token.
func TestWebhooksRefusedToAgents(t *testing.T) {
	t.Parallel()
	s, rc, b := webhookTest(t, "agent@acme.test")
	ep, err := s.svc.CreateWebhook(context.Background(), s.admin, leads.WebhookInput{URL: rc.url(), EventTypes: []leads.EventType{leads.EventTypeCreated}})
	require.NoError(t, err)
	require.NotContains(t, b.get("/").body, `href="/console/webhooks"`)
	id := itoa(ep.ID)
	for _, path := range []string{"/webhooks", "/webhooks/" + id, "/webhooks/" + id + "/deliveries"} {
		p := b.get(path)
		require.Equal(t, http.StatusForbidden, p.status, path)
		require.Contains(t, p.body, "only managers and admins see and change webhooks", path)
	}
	csrf := b.csrf("/")
	for path, form := range map[string]url.Values{
		"/webhooks":                                   {"url": {rc.url()}, "eventTypes": {"lead.created"}, "format": {"standard"}},
		"/webhooks/" + id:                             {"url": {"http://127.0.0.1:9/mine"}, "eventTypes": {"lead.created"}, "format": {"standard"}},
		"/webhooks/" + id + "/enabled":                {"enabled": {"false"}},
		"/webhooks/" + id + "/delete":                 {"confirm": {"yes"}},
		"/webhooks/" + id + "/deliveries/1/redeliver": {},
	} {
		p := b.post(path, with(form, "csrf", csrf))
		require.Equal(t, http.StatusForbidden, p.status, path)
	}
	got := s.onlyWebhook()
	require.Equal(t, rc.url(), got.URL)
	require.True(t, got.Enabled)
	require.Contains(t, s.signedIn("manager@acme.test").get("/").body, `href="/console/webhooks"`)
}

// The delivery log shows every attempt, newest first, a page at a time;
// Redeliver sends an event again with the same webhook-id, and the new
// attempt comes first in the log.
func TestWebhookDeliveryLog(t *testing.T) {
	t.Parallel()
	s, rc, b := webhookTest(t, "manager@acme.test")
	ep, err := s.svc.CreateWebhook(context.Background(), s.admin, leads.WebhookInput{URL: rc.url(), EventTypes: []leads.EventType{leads.EventTypeCreated}})
	require.NoError(t, err)
	for _, name := range []string{"Ann", "Bob", "Cid"} {
		s.createLead(`{"firstName":"` + name + `","lastName":"Doe"}`)
	}
	require.Eventually(t, func() bool { return len(rc.received()) == 3 }, 20*time.Second, 20*time.Millisecond)
	var page *leads.WebhookDeliveryPage
	require.Eventually(t, func() bool { // the log trails the attempts by a moment
		var err error
		page, err = s.svc.WebhookDeliveries(context.Background(), s.admin, ep.ID, 0, 0)
		require.NoError(t, err)
		return len(page.Data) == 3
	}, 10*time.Second, 20*time.Millisecond)

	log := "/webhooks/" + itoa(ep.ID) + "/deliveries"
	p := b.get(log + "?limit=2")
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, []string{page.Data[0].EventID, page.Data[1].EventID}, deliveryEvents(p.body), "newest first, two a page")
	require.Regexp(t, `(?s)<code>lead.created</code>.*?<td data-label="Attempt" class="attempt">1</td>.*?>204<.*?delivered.*? ms</td>`, p.body)
	next := regexp.MustCompile(`href="/console(/webhooks/\d+/deliveries\?[^"]+)" rel="next"`).FindStringSubmatch(p.body)
	require.NotNil(t, next, p.body)
	require.Equal(t, log+"?before="+itoa(page.Data[1].ID)+"&amp;limit=2", next[1])
	p = b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	require.Equal(t, []string{page.Data[2].EventID}, deliveryEvents(p.body))
	require.Contains(t, p.body, `id="newest"`)
	require.NotContains(t, p.body, `rel="next"`)

	// Redeliver the oldest, from the second page: back on that page.
	first := page.Data[2]
	csrf := b.csrf(log)
	p = b.post(log+"/"+itoa(first.ID)+"/redeliver?before="+itoa(page.Data[1].ID)+"&limit=2", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Contains(t, p.url, "before="+itoa(page.Data[1].ID))
	require.Contains(t, p.body, "Queued: the event is sent again with the same webhook-id")
	require.Eventually(t, func() bool { return rc.count(first.EventID) == 2 }, 20*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return deliveryEvents(b.get(log).body)[0] == first.EventID }, 10*time.Second, 50*time.Millisecond,
		"the redelivery is the newest attempt in the log")
	require.Equal(t, 1, strings.Count(b.get(log).body, "(redelivery)"), "marked as one, the event's own attempts not")

	// Refusals: an unknown delivery, a bad cursor, another endpoint.
	p = b.post(log+"/999999/redeliver", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusNotFound, p.status)
	require.Contains(t, p.body, `id="error"`)
	require.Equal(t, http.StatusUnprocessableEntity, b.get(log+"?before=soon").status)
	require.Equal(t, http.StatusUnprocessableEntity, b.get(log+"?limit=100000").status)
	require.Equal(t, http.StatusUnprocessableEntity, b.get(log+"?limit=0").status, "0 is no page size, as in the API")
	require.Equal(t, http.StatusNotFound, b.get("/webhooks/999999/deliveries").status)
	for _, spelt := range []string{"0" + itoa(ep.ID), "+" + itoa(ep.ID)} { // an id has one spelling, as in the API
		require.Equal(t, http.StatusNotFound, b.get("/webhooks/"+spelt+"/deliveries").status, spelt)
	}
	require.Equal(t, 4, len(rc.received()))
}

var deliveryRowRE = regexp.MustCompile(`<tr id="delivery-\d+" data-event="([^"]+)"`)

// deliveryEvents is the event ids of a delivery log page's rows, in order.
func deliveryEvents(body string) []string {
	var ids []string
	for _, m := range deliveryRowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}
