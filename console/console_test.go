package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()

	p := b.get("/rotations")
	require.Contains(t, p.url, "/console/signin?next=%2Fconsole%2Frotations", "a visit without a session is sent to sign in")

	p = b.post("/signin", url.Values{"email": {"manager@acme.test"}, "password": {"wrong password!"}})
	require.Equal(t, http.StatusUnauthorized, p.status)
	require.Contains(t, p.body, "The email or the password is wrong.")
	p = b.post("/signin", url.Values{"email": {"nobody@acme.test"}, "password": {Password}})
	require.Equal(t, http.StatusUnauthorized, p.status, "an unknown email reads the same as a wrong password")
	require.Contains(t, p.body, "The email or the password is wrong.")

	p = b.post("/signin", url.Values{"email": {"manager@acme.test"}, "password": {Password}, "next": {"/console/rotations"}})
	require.Equal(t, http.StatusOK, p.status)
	require.True(t, strings.HasSuffix(p.url, "/console/rotations"), p.url)
	require.Contains(t, p.body, "Inbound")

	// The session cookie is out of script's reach and not sent cross-site.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(s.url("/signin"), url.Values{"email": {"manager@acme.test"}, "password": {Password}})
	require.NoError(t, err)
	res.Body.Close()
	var ck *http.Cookie
	for _, c := range res.Cookies() {
		ck = c
	}
	require.NotNil(t, ck)
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, ck.SameSite)

	// Signing out ends the session on the server: the old cookie is dead.
	csrf := b.csrf("/")
	p = b.post("/signout", url.Values{"csrf": {csrf}})
	require.Contains(t, p.url, "/signin?signed_out=1")
	require.Contains(t, b.get("/").url, "/signin")

	audit, err := s.svc.AuditLog(context.Background(), s.admin, leads.AuditQuery{}, "")
	require.NoError(t, err)
	var events []string
	for _, e := range audit.Data {
		events = append(events, e.Event)
	}
	require.Contains(t, events, leads.EventSignIn)
	require.Contains(t, events, leads.EventSignInFailed)
	require.Contains(t, events, leads.EventSignOut)
}

func TestSignInIsRateLimited(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	var last response
	for range 11 {
		last = b.post("/signin", url.Values{"email": {"admin@acme.test"}, "password": {"guess guess guess"}})
	}
	require.Equal(t, http.StatusTooManyRequests, last.status)
	require.Contains(t, last.body, "Too many sign-in attempts")
	// Even the right password waits.
	p := b.post("/signin", url.Values{"email": {"admin@acme.test"}, "password": {Password}})
	require.Equal(t, http.StatusTooManyRequests, p.status)
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	res, err := http.Get(s.url("/signin"))
	require.NoError(t, err)
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'none'")
	require.Contains(t, csp, "script-src 'self'")
	require.NotContains(t, csp, "unsafe-inline")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
}

// A change is refused without the session's CSRF token, with a wrong one,
// and from another site even with the right one; nothing is written.
func TestCSRF(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signIn("manager@acme.test")
	path := "/rotations/" + itoa(s.rot.ID) + "/member"
	pause := url.Values{"user": {s.reps[0]}, "op": {"pause"}}
	csrf := b.csrf("/rotations/" + itoa(s.rot.ID))

	for name, form := range map[string]url.Values{
		"no token":    pause,
		"wrong token": with(pause, "csrf", "x"+csrf[1:]),
		"empty token": with(pause, "csrf", ""),
	} {
		p := b.post(path, form)
		require.Equal(t, http.StatusForbidden, p.status, name)
	}
	// Another site's page posting the right token with the victim's cookie.
	req, err := http.NewRequest(http.MethodPost, s.url(path), strings.NewReader(with(pause, "csrf", csrf).Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.test")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, b.do(req).status)

	rot, err := s.svc.Rotation(context.Background(), s.admin, s.rot.ID)
	require.NoError(t, err)
	require.False(t, rot.Members[0].Paused, "a refused change wrote something")

	p := b.post(path, with(pause, "csrf", csrf))
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "applies from the next lead")
	rot, err = s.svc.Rotation(context.Background(), s.admin, s.rot.ID)
	require.NoError(t, err)
	require.True(t, rot.Members[0].Paused)
}

// An agent sees no manager action, and one forged with the agent's own
// valid token is refused by the Service's role rules.
func TestAgentView(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signIn("agent@acme.test")
	board := b.get("/rotations/" + itoa(s.rot.ID))
	require.Equal(t, http.StatusOK, board.status)
	require.Contains(t, board.body, s.reps[0], "an agent reads the board")
	for _, action := range []string{`value="pause"`, `/members"`, `/settings"`, `/delete"`, `name="weight"`} {
		require.NotContains(t, board.body, action)
	}
	people := b.get("/people")
	require.NotContains(t, people.body, "/console/people/role")
	require.NotContains(t, people.body, "/console/people/invite")
	require.NotContains(t, b.get("/").body, `href="/console/audit"`)
	require.Equal(t, http.StatusForbidden, b.get("/audit").status)

	csrf := b.csrf("/")
	for path, form := range map[string]url.Values{
		"/rotations/" + itoa(s.rot.ID) + "/member":   {"user": {s.reps[0]}, "op": {"pause"}},
		"/rotations/" + itoa(s.rot.ID) + "/settings": {"name": {"mine"}},
		"/teams":          {"name": {"Agents rule"}},
		"/people/members": {"email": {"friend@acme.test"}, "role": {"admin"}},
		"/people/role":    {"email": {"agent@acme.test"}, "role": {"admin"}},
		"/people/invite":  {"email": {"friend@acme.test"}, "role": {"admin"}, "kind": {"invite"}},
	} {
		p := b.post(path, with(form, "csrf", csrf))
		require.Equal(t, http.StatusForbidden, p.status, path)
	}
	rot, err := s.svc.Rotation(context.Background(), s.admin, s.rot.ID)
	require.NoError(t, err)
	require.False(t, rot.Members[0].Paused)
	require.Equal(t, "Inbound", rot.Name)
	ms, err := s.svc.Members(context.Background(), s.admin)
	require.NoError(t, err)
	for _, m := range ms {
		require.NotEqual(t, "friend@acme.test", m.Email)
		if m.Email == "agent@acme.test" {
			require.Equal(t, leads.RoleAgent, m.Role)
		}
	}
}

// A role change applies to the member's next request, without signing in again.
func TestRoleChangeAppliesAtOnce(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signIn("manager@acme.test")
	csrf := b.csrf("/teams")
	_, err := s.svc.UpdateMember(context.Background(), s.admin, leads.Member{Email: "manager@acme.test", Role: leads.RoleAgent})
	require.NoError(t, err)
	p := b.post("/teams", url.Values{"csrf": {csrf}, "name": {"West"}})
	require.Equal(t, http.StatusForbidden, p.status)
	require.NoError(t, s.svc.RemoveMember(context.Background(), s.admin, "manager@acme.test"))
	require.Contains(t, b.get("/").url, "/signin", "a removed member's session ends")
}

// Every text field of a lead is shown as text: markup in it is inert.
func TestLeadFieldsAreInert(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	script := `<script>document.title='pwned'</script>`
	img := `"><img src=x onerror=alert(1)>`
	s.createLead(`{"firstName":"` + jsonEscape(script) + `","lastName":"` + jsonEscape(img) + `","company":"` + jsonEscape(img) +
		`","notes":"` + jsonEscape(script) + `","email":"x@acme.test","metadata":{"` + jsonEscape(img) + `":"` + jsonEscape(script) + `"}}`)
	b := s.browser()
	b.signIn("manager@acme.test")
	for _, path := range []string{"/leads", "/leads/1", "/"} {
		p := b.get(path)
		require.Equal(t, http.StatusOK, p.status, path)
		require.NotContains(t, p.body, "<script>", path)
		require.NotContains(t, p.body, "<img src=x", path)
	}
	p := b.get("/leads/1")
	require.Contains(t, p.body, "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;")
	require.Contains(t, p.body, "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;")
}

// A refusal is shown next to the field it names, and nothing is written.
func TestFieldErrors(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signIn("manager@acme.test")
	board := "/rotations/" + itoa(s.rot.ID)
	csrf := b.csrf(board)
	p := b.post(board+"/member", url.Values{"csrf": {csrf}, "user": {s.reps[1]}, "op": {"weight"}, "weight": {"0"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)w-2.*?aria-invalid="true".*?field-error[^>]*>Must be from 1 to 1000<`, p.body)
	p = b.post(board+"/member", url.Values{"csrf": {csrf}, "user": {s.reps[1]}, "op": {"weight"}, "weight": {"two"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.body, "Must be a whole number")
	p = b.post(board+"/settings", url.Values{"csrf": {csrf}, "name": {"Inbound"}, "timezone": {"Mars/Olympus"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)name="timezone".*?field-error`, p.body)
	rot, err := s.svc.Rotation(context.Background(), s.admin, s.rot.ID)
	require.NoError(t, err)
	require.Equal(t, 1, rot.Members[1].Weight)
	require.Equal(t, "UTC", rot.Timezone)
	p = b.post(board+"/settings", url.Values{"csrf": {csrf}, "name": {"Inbound"}, "timezone": {"UTC"}, "whenNobodyEligible": {"fallback"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status, "a fallback policy needs a fallback")
	require.Regexp(t, `(?s)name="fallbackAssignee".*?field-error[^>]*>Is required when whenNobodyEligible is fallback<`, p.body)
	p = b.post(board+"/settings", url.Values{"csrf": {csrf}, "name": {"Inbound"}, "timezone": {"UTC"}, "whenNobodyEligible": {"hold"}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Contains(t, p.body, `<option value="hold" selected>`)

	p = b.get("/leads?q=ab")
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)name="q".*?aria-invalid="true".*?field-error[^>]*>Type at least 3 characters to search<`, p.body)
	p = b.get("/leads?from=yesterday")
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.body, "Must be a date like 2026-12-31")
}

func with(v url.Values, key, value string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	out.Set(key, value)
	return out
}

var linkRE = regexp.MustCompile(`<code class="secret">(http://[^<]+/console/invite/[^<]+)</code>`)

// An admin's invitation link lets a new person set a password once and
// join; an existing user joins with the password they have; a reset link
// sets a new one.
func TestInvitesAndResets(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin := s.browser()
	admin.signIn("admin@acme.test")
	csrf := admin.csrf("/people")
	invite := func(email, kind string) string {
		t.Helper()
		p := admin.post("/people/invite", url.Values{"csrf": {csrf}, "email": {email}, "role": {"manager"}, "kind": {kind}})
		require.Equal(t, http.StatusOK, p.status, p.body)
		m := linkRE.FindStringSubmatch(p.body)
		require.NotNil(t, m, "no link shown")
		u, err := url.Parse(m[1])
		require.NoError(t, err)
		return strings.TrimPrefix(u.Path, "/console")
	}

	link := invite("newbie@acme.test", "invite")
	token := strings.TrimPrefix(link, "/invite/")
	newbie := s.browser()
	p := newbie.get(link)
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "newbie@acme.test")
	p = newbie.post(link, url.Values{"password": {"short"}, "confirm": {"short"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.body, `id="password-error"`)
	p = newbie.post(link, url.Values{"password": {"a brand new password"}, "confirm": {"a different password"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.body, "The two passwords differ.")
	p = newbie.post(link, url.Values{"password": {"a brand new password"}, "confirm": {"a brand new password"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `id="leads-in"`, "signed in on the Today page")
	require.Contains(t, p.body, "newbie@acme.test")
	require.Equal(t, http.StatusNotFound, s.browser().get(link).status, "a link works once")
	require.NotContains(t, s.log.String(), token, "the access log keeps an invitation's token")

	// An existing user (in another account) joins with their own password.
	_, err := s.svc.CreateAccount(context.Background(), leads.Account{ID: "other", Name: "Other"})
	require.NoError(t, err)
	_, err = s.svc.PutMember(context.Background(), leads.SystemActor("other"), leads.Member{Email: "veteran@other.test", Role: leads.RoleAdmin})
	require.NoError(t, err)
	require.NoError(t, s.svc.SetPassword(context.Background(), "veteran@other.test", "veteran password 1"))
	link = invite("veteran@other.test", "invite")
	veteran := s.browser()
	p = veteran.get(link)
	require.Contains(t, p.body, "enter your password to join")
	p = veteran.post(link, url.Values{"password": {"someone else's guess"}})
	require.Equal(t, http.StatusUnauthorized, p.status)
	require.Contains(t, p.body, "That is not your password.")
	p = veteran.post(link, url.Values{"password": {"veteran password 1"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.url, "/console/")
	// Member of two accounts now: the picker lists both.
	p = veteran.get("/account")
	require.Contains(t, p.body, `value="acme"`)
	require.Contains(t, p.body, `value="other"`)
	p = veteran.post("/account", url.Values{"csrf": {csrfRE.FindStringSubmatch(p.body)[1]}, "account": {"other"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, ">Other</a>", "switched to the other account")
	p = veteran.post("/account", url.Values{"csrf": {csrfRE.FindStringSubmatch(p.body)[1]}, "account": {"nobodys"}})
	require.Equal(t, http.StatusForbidden, p.status, "an account one is not a member of")

	// A reset link sets a new password; the old one stops working.
	link = invite("agent@acme.test", "reset")
	p = s.browser().post(link, url.Values{"password": {"the agent's new one"}, "confirm": {"the agent's new one"}})
	require.Equal(t, http.StatusOK, p.status)
	p = s.browser().post("/signin", url.Values{"email": {"agent@acme.test"}, "password": {Password}})
	require.Equal(t, http.StatusUnauthorized, p.status)
}

// A member makes an API key (shown once) and revokes it; the API refuses it then.
func TestOwnAPIKeys(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signIn("agent@acme.test")
	csrf := b.csrf("/people")
	p := b.post("/people/keys", url.Values{"csrf": {csrf}, "name": {"my form"}})
	require.Equal(t, http.StatusOK, p.status)
	m := regexp.MustCompile(`<code class="secret">(lr_[^<]+)</code>`).FindStringSubmatch(p.body)
	require.NotNil(t, m)
	key := m[1]
	require.NotContains(t, b.get("/people").body, key, "the secret is shown once")

	call := func() int {
		req, err := http.NewRequest(http.MethodGet, s.srv.URL+"/leads", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("x-account-id", s.account)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, http.StatusOK, call())
	prefix := regexp.MustCompile(`name="prefix" value="([^"]+)"`).FindStringSubmatch(b.get("/people").body)
	require.NotNil(t, prefix)
	p = b.post("/people/keys/revoke", url.Values{"csrf": {csrf}, "prefix": {prefix[1]}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "The key is revoked")
	require.Equal(t, http.StatusUnauthorized, call())
	// Another member's key is not one's own to revoke.
	_, other, err := s.svc.CreateAPIKey(context.Background(), "manager@acme.test", "theirs")
	require.NoError(t, err)
	p = b.post("/people/keys/revoke", url.Values{"csrf": {csrf}, "prefix": {other.Prefix}})
	require.Equal(t, http.StatusNotFound, p.status)
}

// The audit page shows the account's changes with before and after; the
// leads' trails only when asked.
func TestAuditPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	team, err := s.svc.CreateTeam(context.Background(), s.admin, leads.Team{Name: "West"})
	require.NoError(t, err)
	_, err = s.svc.RenameTeam(context.Background(), s.admin, team.ID, "West Coast")
	require.NoError(t, err)
	s.createLead(`{"firstName":"Ada","lastName":"Lovelace","teamId":` + itoa(team.ID) + `}`)
	b := s.browser()
	b.signIn("admin@acme.test")
	p := b.get("/audit")
	require.Equal(t, http.StatusOK, p.status)
	require.Regexp(t, `(?s)team_updated.*?<th scope="row">name</th><td>West</td><td>West Coast</td>`, p.body)
	require.Contains(t, p.body, "<td>signed_in</td>")
	require.NotContains(t, p.body, "lead_created")
	require.Contains(t, b.get("/audit?scope=all").body, "<td>lead_created")
	p = b.get("/audit?event=team_updated")
	require.Contains(t, p.body, "<td>team_updated</td>")
	require.NotContains(t, p.body, "<td>team_created</td>")
}

// Under TLS the session cookie is Secure, host-only and for the whole site
// (the __Host- prefix, which browsers refuse otherwise).
func TestSecureCookieUnderTLS(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	srv := httptest.NewTLSServer(s.srv.Config.Handler)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/console/signin",
		strings.NewReader(url.Values{"email": {"manager@acme.test"}, "password": {Password}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := client.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	cookies := res.Cookies()
	require.Len(t, cookies, 1)
	ck := cookies[0]
	require.Equal(t, "__Host-lr_console", ck.Name)
	require.True(t, ck.Secure)
	require.True(t, ck.HttpOnly)
	require.Equal(t, "/", ck.Path)
	require.Empty(t, ck.Domain)
}

// Teams and lead sources follow the API's rules: a team with leads is
// deleted only when its leads are detached, and the refusal says so.
func TestTeamsPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signIn("manager@acme.test")
	csrf := b.csrf("/teams")
	p := b.post("/teams", url.Values{"csrf": {csrf}, "name": {"West"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "Created.")
	p = b.post("/teams", url.Values{"csrf": {csrf}, "name": {"West"}})
	require.Equal(t, http.StatusConflict, p.status, "a second team of the same name")
	teams, err := s.svc.Teams(context.Background(), s.admin)
	require.NoError(t, err)
	require.Len(t, teams, 1)
	team := itoa(teams[0].ID)
	p = b.post("/teams/"+team+"/sources", url.Values{"csrf": {csrf}, "name": {"Website"}})
	require.Equal(t, http.StatusOK, p.status)
	p = b.post("/teams/"+team+"/rename", url.Values{"csrf": {csrf}, "name": {"West Coast"}})
	require.Contains(t, p.body, "Renamed.")
	sources, err := s.svc.LeadSources(context.Background(), s.admin, teams[0].ID)
	require.NoError(t, err)
	s.createLead(`{"firstName":"Ada","lastName":"Lovelace","teamId":` + team + `,"leadSourceId":` + itoa(sources[0].ID) + `}`)

	p = b.post("/teams/"+team+"/delete", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusConflict, p.status)
	require.Regexp(t, `(?s)Delete team West Coast.*?field-error[^>]*>[^<]*lead`, p.body)
	p = b.post("/teams/"+team+"/delete", url.Values{"csrf": {csrf}, "force": {"on"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "Deleted.")
	teams, err = s.svc.Teams(context.Background(), s.admin)
	require.NoError(t, err)
	require.Empty(t, teams)
}

// A lead's page edits, reassigns, archives and deletes as the role allows,
// and an edit of a lead someone changed meanwhile is refused, not lost.
func TestLeadPageActions(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	var lead struct {
		ID        int64  `json:"id"`
		UpdatedAt string `json:"updatedAt"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.createLead(`{"firstName":"Ada","lastName":"Lovelace"}`)), &lead))
	page := "/leads/" + itoa(lead.ID)

	agent := s.browser()
	agent.signIn("agent@acme.test")
	csrf := agent.csrf(page)
	p := agent.get(page)
	require.NotContains(t, p.body, "/delete", "an agent is shown no delete")
	p = agent.post(page+"/edit", url.Values{"csrf": {csrf}, "updatedAt": {lead.UpdatedAt}, "company": {"Analytical Engines"}, "status": {"contacted"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `value="Analytical Engines"`)
	// The same form again, from before that edit: refused.
	p = agent.post(page+"/edit", url.Values{"csrf": {csrf}, "updatedAt": {lead.UpdatedAt}, "company": {"Babbage & Co"}})
	require.Equal(t, http.StatusConflict, p.status)
	require.Contains(t, p.body, "Someone changed this lead while you edited it")
	require.Contains(t, p.body, `value="Analytical Engines"`, "the page shows their version")
	p = agent.post(page+"/edit", url.Values{"csrf": {csrf}, "email": {"not an email"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)id="f-email"[^>]*aria-invalid="true".*?id="e-email"`, p.body)
	require.Equal(t, http.StatusForbidden, agent.post(page+"/delete", url.Values{"csrf": {csrf}}).status)

	manager := s.browser()
	manager.signIn("manager@acme.test")
	csrf = manager.csrf(page)
	p = manager.post(page+"/edit", url.Values{"csrf": {csrf}, "assignedTo": {s.reps[3]}})
	require.Equal(t, http.StatusOK, p.status)
	require.Regexp(t, `id="assignee">`+regexp.QuoteMeta(s.reps[3])+`<`, p.body)
	require.Contains(t, p.body, "assigned by hand")
	p = manager.post(page+"/archive", url.Values{"csrf": {csrf}, "archived": {"true"}})
	require.Contains(t, p.body, "(archived)")
	p = manager.post(page+"/delete", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "Deleted.")
	require.Equal(t, http.StatusNotFound, manager.get(page).status)
}

// A lead's page shows its externalId and hotScore and edits them: a score
// that is no whole number, or out of range, and an id another lead has
// are refused next to their field; an emptied score is cleared.
func TestLeadPageExternalIDAndHotScore(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.createLead(`{"firstName":"Grace","lastName":"Hopper","externalId":"crm-taken"}`)
	var lead struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.createLead(`{"firstName":"Ada","lastName":"Lovelace","externalId":"crm-1","hotScore":87}`)), &lead))
	page := "/leads/" + itoa(lead.ID)

	agent := s.browser()
	agent.signIn("agent@acme.test")
	csrf := agent.csrf(page)
	p := agent.get(page)
	require.Regexp(t, `id="f-externalId" name="externalId" type="text" value="crm-1"`, p.body)
	require.Regexp(t, `id="f-hotScore" name="hotScore" type="number" value="87"`, p.body)

	p = agent.post(page+"/edit", url.Values{"csrf": {csrf}, "externalId": {"crm-2"}, "hotScore": {"92"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `value="crm-2"`)
	require.Contains(t, p.body, `value="92"`)
	for _, tc := range []struct {
		field, value string
		status       int
	}{
		{"hotScore", "hot", http.StatusUnprocessableEntity},
		{"hotScore", "101", http.StatusUnprocessableEntity},
		{"externalId", "crm-taken", http.StatusConflict},
	} {
		p = agent.post(page+"/edit", url.Values{"csrf": {csrf}, tc.field: {tc.value}})
		require.Equal(t, tc.status, p.status, "%s %s", tc.field, tc.value)
		require.Regexp(t, `(?s)id="f-`+tc.field+`"[^>]*aria-invalid="true".*?id="e-`+tc.field+`"`, p.body, "%s %s", tc.field, tc.value)
	}
	p = agent.post(page+"/edit", url.Values{"csrf": {csrf}, "hotScore": {" "}})
	require.Equal(t, http.StatusOK, p.status)
	l, err := s.svc.Lead(context.Background(), s.admin, lead.ID)
	require.NoError(t, err)
	require.Nil(t, l.HotScore, "an emptied score is cleared")
	require.Equal(t, "crm-2", l.ExternalID)
}

// Admins change roles on the People page; the last admin stays one.
func TestPeoplePage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signIn("admin@acme.test")
	csrf := b.csrf("/people")
	p := b.post("/people/role", url.Values{"csrf": {csrf}, "email": {"agent@acme.test"}, "role": {"manager"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "new role applies")
	p = b.post("/people/role", url.Values{"csrf": {csrf}, "email": {"admin@acme.test"}, "role": {"agent"}})
	require.Equal(t, http.StatusConflict, p.status)
	require.Contains(t, p.body, "last admin")
	p = b.post("/people/remove", url.Values{"csrf": {csrf}, "email": {"rep4@acme.test"}})
	require.Equal(t, http.StatusOK, p.status)
	require.NotContains(t, p.body, ">rep4@acme.test<")
	ms, err := s.svc.Members(context.Background(), s.admin)
	require.NoError(t, err)
	roles := map[string]leads.Role{}
	for _, m := range ms {
		roles[m.Email] = m.Role
	}
	require.Equal(t, leads.RoleManager, roles["agent@acme.test"])
	require.Equal(t, leads.RoleAdmin, roles["admin@acme.test"])
	require.NotContains(t, roles, "rep4@acme.test")
}

// ruleSite is a site with a team "Enterprise" whose rotation is "Hot leads",
// for the routing rules' tests.
func ruleSite(t *testing.T) (*site, *leads.Team, *leads.Rotation) {
	t.Helper()
	s := newSite(t)
	ctx := context.Background()
	team, err := s.svc.CreateTeam(ctx, s.admin, leads.Team{Name: "Enterprise"})
	require.NoError(t, err)
	hot, err := s.svc.CreateRotation(ctx, s.admin, leads.Rotation{Name: "Hot leads", TeamID: team.ID,
		Members: []leads.RotationMember{{User: s.reps[0], Weight: 1}}})
	require.NoError(t, err)
	return s, team, hot
}

func ruleNames(t *testing.T, s *site) []string {
	t.Helper()
	rules, err := s.svc.RoutingRules(context.Background(), s.admin)
	require.NoError(t, err)
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	return names
}

// A manager makes rules with the form (rows added and removed by round
// trips, typed values kept), reads them in words, moves, disables, edits,
// tests and deletes them; refusals are shown at their fields.
func TestRulesPage(t *testing.T) {
	t.Parallel()
	s, team, hot := ruleSite(t)
	ctx := context.Background()
	b := s.browser()
	b.signIn("manager@acme.test")
	csrf := b.csrf("/rules/new")
	acme := url.Values{"csrf": {csrf}, "name": {"Acme"}, "enabled": {"on"}, "match": {"all"},
		"field.0": {"emailDomain"}, "op.0": {"eq"}, "value.0": {"acme.com"}, "action": {"rotation"}, "rotationId": {itoa(hot.ID)}}

	// Add a row: the form comes back with one more, what was typed kept,
	// nothing saved.
	p := b.post("/rules/new", with(acme, "op", "add"))
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `name="value.0" value="acme.com"`)
	require.Contains(t, p.body, `name="field.1"`)
	require.Contains(t, p.body, `id="r-name" name="name" value="Acme"`)
	require.Empty(t, ruleNames(t, s))
	// Remove the first row: the second moves up.
	p = b.post("/rules/new", with(with(with(acme, "op", "remove:0"), "op.1", "exists"), "field.1", "company"))
	require.Equal(t, http.StatusOK, p.status)
	require.Regexp(t, `(?s)name="field.0"[^>]*>.*?<option selected>company</option>`, p.body)
	require.NotContains(t, p.body, `name="field.1"`)

	p = b.post("/rules/new", acme)
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "Created.")
	// A second rule, first in the order: a metadata path, a list, a number.
	spring := url.Values{"csrf": {csrf}, "name": {"Spring campaign"}, "enabled": {"on"}, "match": {"any"}, "position": {"0"},
		"field.0": {"metadata"}, "path.0": {"utm.campaign"}, "op.0": {"in"}, "value.0": {"spring, summer"},
		"field.1": {"numberOfEmployees"}, "op.1": {"gte"}, "value.1": {"500"},
		"action": {"assign"}, "assignee": {s.reps[1]}, "rotationId": {itoa(hot.ID)}}
	p = b.post("/rules/new", spring)
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Equal(t, []string{"Spring campaign", "Acme"}, ruleNames(t, s))
	rules, err := s.svc.RoutingRules(ctx, s.admin)
	require.NoError(t, err)
	require.Equal(t, `any(metadata.utm.campaign in ["spring","summer"], numberOfEmployees gte 500)`, rules[0].Conditions.String())
	require.Equal(t, leads.RuleAction{Type: leads.ActionAssign, Assignee: s.reps[1]}, rules[0].Action, "only the chosen type's target")
	spr, acm := itoa(rules[0].ID), itoa(rules[1].ID)

	p = b.get("/rules")
	require.Regexp(t, `(?s)id="rule-`+spr+`".*?Spring campaign <span class="badge ok">enabled</span>.*?`+
		regexp.QuoteMeta(`<code>any(metadata.utm.campaign in [&#34;spring&#34;,&#34;summer&#34;], numberOfEmployees gte 500)</code>`)+
		`.*?Assign to `+regexp.QuoteMeta(s.reps[1])+`.*?id="rule-`+acm+`".*?Rotation: Hot leads`, p.body)

	// Refusals: at the row's op, at the row's value, a duplicate name at
	// the name; what was typed is shown again.
	bad := with(with(with(acme, "name", "Big ones"), "field.0", "numberOfEmployees"), "op.0", "contains")
	p = b.post("/rules/new", bad)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)id="c-op-0" name="op.0" aria-invalid="true".*?field-error[^>]*>Must be one of eq, neq`, p.body)
	require.Contains(t, p.body, `value="Big ones"`)
	require.Contains(t, p.body, "Not saved:")
	p = b.post("/rules/new", with(with(bad, "op.0", "gte"), "value.0", "lots"))
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)id="c-value-0" name="value.0" value="lots"[^>]*aria-invalid="true".*?field-error[^>]*>must be a number<`, p.body)
	p = b.post("/rules/new", with(acme, "name", "acme"))
	require.Equal(t, http.StatusConflict, p.status)
	require.Regexp(t, `(?s)id="r-name" name="name" value="acme".*?aria-invalid="true".*?id="e-name"[^>]*>A routing rule named`, p.body)
	p = b.post("/rules/new", with(with(acme, "name", "No team"), "action", "team"))
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)id="a-team" name="teamId" aria-invalid="true".*?field-error[^>]*>Is required by a team action`, p.body)
	noRows := url.Values{"csrf": {csrf}, "name": {"Empty"}, "match": {"all"}, "action": {"hold"}, "reason": {"x"}}
	p = b.post("/rules/new", noRows)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `id="e-conditions"[^>]*>Must hold at least one condition<`, p.body)
	require.Equal(t, []string{"Spring campaign", "Acme"}, ruleNames(t, s), "nothing refused was saved")

	// The rows as JSON, for nesting groups; JSON that does not read is refused.
	p = b.post("/rules/new", with(acme, "op", "json"))
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `name="mode" value="json"`)
	require.Regexp(t, `(?s)name="conditions".*?&#34;all&#34;: \[.*?&#34;field&#34;: &#34;emailDomain&#34;`, p.body)
	p = b.post("/rules/new", with(with(noRows, "mode", "json"), "conditions", `{"all": [`))
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `id="e-conditions"[^>]*>Must be conditions in JSON: unexpected EOF<`, p.body)

	// Move Acme up, disable it.
	p = b.post("/rules/"+acm+"/move", url.Values{"csrf": {csrf}, "op": {"up"}})
	require.Equal(t, http.StatusOK, p.status)
	require.Equal(t, []string{"Acme", "Spring campaign"}, ruleNames(t, s))
	p = b.post("/rules/"+acm+"/enabled", url.Values{"csrf": {csrf}, "enabled": {"false"}})
	require.Contains(t, p.body, `Acme <span class="badge off">disabled</span>`)

	// Test a lead against the live rules.
	p = b.post("/rules/test", url.Values{"csrf": {csrf}, "lead": {`{"firstName":"Ada","lastName":"L","email":"ada@acme.com","metadata":{"utm":{"campaign":"Spring"}}}`}})
	require.Equal(t, http.StatusOK, p.status)
	require.Regexp(t, `(?s)<strong>Acme</strong>: disabled: skipped.*?<strong>Spring campaign</strong>: matched`, p.body)
	require.Contains(t, p.body, `Decided by <strong>Spring campaign</strong>: Assign to `+s.reps[1])
	require.Contains(t, p.body, `&#34;campaign&#34;:&#34;Spring&#34;`, "the lead typed is kept")
	p = b.post("/rules/test", url.Values{"csrf": {csrf}, "lead": {`{"firstName":"Ada","lastName":"L","email":"ada@other.com"}`}})
	require.Regexp(t, `(?s)<strong>Spring campaign</strong>: not matched; failed on <code>any\(.*?</code> <span class="muted">\(conditions.any\)`, p.body)
	require.Contains(t, p.body, "No rule matched")
	p = b.post("/rules/test", url.Values{"csrf": {csrf}, "lead": {`{"firstName":"Ada","nickname":"x"}`}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)id="lead".*?aria-invalid="true".*?id="e-lead"[^>]*>Must be a lead as POST /leads takes it, in JSON: unknown field`, p.body)
	require.Contains(t, p.body, `&#34;nickname&#34;:&#34;x&#34;`)

	// Edit Acme: the form shows it as saved; a test of the edit tries the
	// edited rule in its place, saves nothing; the save saves.
	p = b.get("/rules/" + acm)
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `name="value.0" value="acme.com"`)
	require.NotContains(t, p.body, `name="position"`, "a saved rule moves with the arrows")
	edit := with(with(with(acme, "enabled", "on"), "value.0", "example.com"), "action", "hold")
	edit.Set("reason", "testing")
	p = b.post("/rules/"+acm, with(with(edit, "op", "test"), "lead", `{"firstName":"Ada","lastName":"L","email":"ada@example.com"}`))
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `<strong>Acme</strong> <span class="muted">(as edited, not saved)</span>: matched`)
	require.Contains(t, p.body, `Decided by <strong>Acme</strong>: Hold: testing.`)
	require.Contains(t, p.body, `name="value.0" value="example.com"`)
	rule, err := s.svc.RoutingRule(ctx, s.admin, rules[1].ID)
	require.NoError(t, err)
	require.False(t, rule.Enabled, "a test saves nothing")
	require.Equal(t, leads.ActionRotation, rule.Action.Type)
	p = b.post("/rules/"+acm, edit)
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "Saved.")
	require.Contains(t, p.body, "Hold: testing")
	rule, err = s.svc.RoutingRule(ctx, s.admin, rules[1].ID)
	require.NoError(t, err)
	require.True(t, rule.Enabled)
	require.Equal(t, `all(emailDomain eq "example.com")`, rule.Conditions.String())

	// A rule nested deeper than rows show is edited as JSON; a refusal
	// names the path inside it.
	nested, err := s.svc.CreateRoutingRule(ctx, s.admin, leads.RoutingRule{Name: "Nested", Enabled: true,
		Conditions: leads.Condition{All: []leads.Condition{{Field: "company", Op: leads.OpExists},
			{Any: []leads.Condition{{Field: "teamId", Op: leads.OpEq, Value: team.ID}, {Field: "source", Op: leads.OpEq, Value: "ads"}}}}},
		Action: leads.RuleAction{Type: leads.ActionTeam, TeamID: team.ID}}, -1)
	require.NoError(t, err)
	p = b.get("/rules/" + itoa(nested.ID))
	require.Contains(t, p.body, `name="mode" value="json"`)
	require.Contains(t, p.body, `&#34;any&#34;: [`)
	form := url.Values{"csrf": {csrf}, "name": {"Nested"}, "enabled": {"on"}, "mode": {"json"}, "action": {"team"}, "teamId": {itoa(team.ID)},
		"conditions": {`{"all":[{"field":"company","op":"exists"},{"any":[{"field":"source","op":"gte","value":"ads"}]}]}`}}
	p = b.post("/rules/"+itoa(nested.ID), form)
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)id="r-conditions".*?aria-invalid="true".*?id="e-conditions"[^>]*>conditions.all\[1\].any\[0\].op: Must be one of`, p.body)
	require.Contains(t, p.body, `&#34;op&#34;:&#34;gte&#34;`, "the JSON typed is kept")
	form.Set("conditions", `{"all":[{"field":"company","op":"exists"},{"any":[{"field":"source","op":"eq","value":"ads"}]}]}`)
	p = b.post("/rules/"+itoa(nested.ID), form)
	require.Equal(t, http.StatusOK, p.status)
	rule, err = s.svc.RoutingRule(ctx, s.admin, nested.ID)
	require.NoError(t, err)
	require.Equal(t, `all(company exists, any(source eq "ads"))`, rule.Conditions.String())

	// Delete.
	p = b.post("/rules/"+spr+"/delete", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, "Deleted.")
	require.Equal(t, []string{"Acme", "Nested"}, ruleNames(t, s))

	// Each change is in the audit log, and the audit page filters by it.
	admin := s.browser()
	admin.signIn("admin@acme.test")
	p = admin.get("/audit?event=" + leads.EventRoutingRulesReordered)
	require.Contains(t, p.body, `<option selected>routing_rules_reordered</option>`)
	require.Contains(t, p.body, "<td>routing_rules_reordered</td>")
	require.NotContains(t, p.body, "<td>routing_rule_created</td>")
}

// An agent reads the rules and gets no form; forged changes are refused.
// Another account's rule is not found, for reading or changing.
func TestRulesAccess(t *testing.T) {
	t.Parallel()
	s, _, hot := ruleSite(t)
	ctx := context.Background()
	rule, err := s.svc.CreateRoutingRule(ctx, s.admin, leads.RoutingRule{Name: "Acme", Enabled: true,
		Conditions: leads.Condition{Field: "emailDomain", Op: leads.OpEq, Value: "acme.com"},
		Action:     leads.RuleAction{Type: leads.ActionRotation, RotationID: hot.ID}}, -1)
	require.NoError(t, err)
	id := itoa(rule.ID)

	agent := s.browser()
	agent.signIn("agent@acme.test")
	p := agent.get("/rules")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `<code>emailDomain eq &#34;acme.com&#34;</code>`)
	require.Contains(t, p.body, "Rotation: Hot leads")
	main := p.body[strings.Index(p.body, "<main"):]
	require.NotContains(t, main, "<form", "an agent is shown a form")
	require.NotContains(t, main, "/console/rules/new")
	require.NotContains(t, main, `href="/console/rules/`+id+`"`)
	require.Equal(t, http.StatusForbidden, agent.get("/rules/new").status)
	require.Equal(t, http.StatusForbidden, agent.get("/rules/"+id).status)
	agent.postEach(agent.csrf("/rules"), http.StatusForbidden, map[string]url.Values{
		"/rules/new":                {"name": {"Mine"}, "field.0": {"email"}, "op.0": {"exists"}, "action": {"assign"}, "assignee": {"agent@acme.test"}},
		"/rules/" + id:              {"name": {"Mine"}, "field.0": {"email"}, "op.0": {"exists"}, "action": {"assign"}, "assignee": {"agent@acme.test"}},
		"/rules/" + id + "/move":    {"op": {"down"}},
		"/rules/" + id + "/enabled": {"enabled": {"false"}},
		"/rules/" + id + "/delete":  {},
	})
	after, err := s.svc.RoutingRule(ctx, s.admin, rule.ID)
	require.NoError(t, err)
	require.Equal(t, rule.Name, after.Name)
	require.True(t, after.Enabled)
	require.Equal(t, []string{"Acme"}, ruleNames(t, s))

	// Another account's rule, by a manager of this one.
	_, err = s.svc.CreateAccount(ctx, leads.Account{ID: "other", Name: "Other"})
	require.NoError(t, err)
	theirs, err := s.svc.CreateRoutingRule(ctx, leads.SystemActor("other"), leads.RoutingRule{Name: "Theirs", Enabled: true,
		Conditions: leads.Condition{Field: "email", Op: leads.OpExists}, Action: leads.RuleAction{Type: leads.ActionHold, Reason: "theirs"}}, -1)
	require.NoError(t, err)
	other := itoa(theirs.ID)
	manager := s.browser()
	manager.signIn("manager@acme.test")
	require.Equal(t, http.StatusNotFound, manager.get("/rules/"+other).status)
	manager.postEach(manager.csrf("/rules"), http.StatusNotFound, map[string]url.Values{
		"/rules/" + other:              {"name": {"Mine"}, "field.0": {"email"}, "op.0": {"exists"}, "action": {"hold"}, "reason": {"x"}},
		"/rules/" + other + "/move":    {"op": {"down"}},
		"/rules/" + other + "/enabled": {"enabled": {"false"}},
		"/rules/" + other + "/delete":  {},
	})
	still, err := s.svc.RoutingRule(ctx, leads.SystemActor("other"), theirs.ID)
	require.NoError(t, err)
	require.True(t, still.Enabled)
	require.Equal(t, "Theirs", still.Name)
}

// postEach posts each form, with the CSRF token, to its path, and requires
// the answer to be status.
func (b *browser) postEach(csrf string, status int, forms map[string]url.Values) {
	b.t.Helper()
	for path, form := range forms {
		require.Equal(b.t, status, b.post(path, with(form, "csrf", csrf)).status, path)
	}
}

// The lead page says why the lead went to its rep, from the decision kept
// with it: the step, the rules tried and the one that decided, and who
// could take the turn.
func TestLeadPageSaysWhy(t *testing.T) {
	t.Parallel()
	s, team, hot := ruleSite(t)
	ctx := context.Background()
	_, err := s.svc.CreateRoutingRule(ctx, s.admin, leads.RoutingRule{Name: "Not this one", Enabled: true,
		Conditions: leads.Condition{Field: "company", Op: leads.OpEq, Value: "Initech"},
		Action:     leads.RuleAction{Type: leads.ActionHold, Reason: "competitor"}}, -1)
	require.NoError(t, err)
	_, err = s.svc.CreateRoutingRule(ctx, s.admin, leads.RoutingRule{Name: "Acme to Enterprise", Enabled: true,
		Conditions: leads.Condition{Field: "emailDomain", Op: leads.OpEq, Value: "acme.com"},
		Action:     leads.RuleAction{Type: leads.ActionTeam, TeamID: team.ID}}, -1)
	require.NoError(t, err)
	res, err := s.svc.CreateLead(ctx, s.admin, leads.LeadInput{FirstName: "Ada", LastName: "L", Email: "ada@acme.com"},
		leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	require.NoError(t, err)
	require.Equal(t, hot.ID, res.Lead.RotationID)

	b := s.browser()
	b.signIn("agent@acme.test")
	p := b.get("/leads/" + itoa(res.Lead.ID))
	require.Equal(t, http.StatusOK, p.status)
	require.Regexp(t, `id="why-step">a routing rule<`, p.body)
	require.Regexp(t, `(?s)<strong>Not this one</strong>: not matched; failed on <code>company eq &#34;Initech&#34;</code>`, p.body)
	require.Regexp(t, `(?s)id="decided">Decided by <strong>Acme to Enterprise</strong>: Team: Enterprise`, p.body)
	require.Regexp(t, `id="why-eligible">`+regexp.QuoteMeta(s.reps[0]), p.body)
}

// The rotation board says who can take a lead now, and why not: a rep on
// time off is out of office there, and passed over in the coming turns.
func TestBoardSaysWhoIsAway(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	now := time.Now()
	_, err := s.svc.AddTimeOff(context.Background(), s.admin, s.reps[0], leads.TimeOff{Start: now.Add(-time.Hour), End: now.Add(24 * time.Hour), Note: "holiday"})
	require.NoError(t, err)
	b := s.browser()
	b.signIn("agent@acme.test")
	p := b.get("/rotations/" + itoa(s.rot.ID))
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `<span class="off">out of office</span>`)
	require.Contains(t, p.body, "passes over "+s.reps[0]+" (out of office)")
}

// The availability page: who can take a lead now or why not, and time
// off that an agent sets for themselves (only), and a manager for anyone.
func TestAvailabilityPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := context.Background()
	agent := s.browser()
	agent.signIn("agent@acme.test")
	p := agent.get("/availability")
	require.Equal(t, http.StatusOK, p.status)
	require.Regexp(t, `(?s)id="member-`+regexp.QuoteMeta(s.reps[0])+`".*?<span class="ok">available</span>.*?<td data-label="Working hours">always</td>`, p.body)

	csrf := agent.csrf("/availability")
	today := time.Now().UTC().Format(time.DateOnly)
	p = agent.post("/availability/timeoff", url.Values{"csrf": {csrf}, "email": {"agent@acme.test"}, "start": {today}, "last": {today}, "note": {"dentist"}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Regexp(t, `(?s)id="member-agent@acme.test".*?<span class="off">out of office</span>.*?`+today+` to `+today+` \(dentist\)`, p.body)

	p = agent.post("/availability/timeoff", url.Values{"csrf": {csrf}, "email": {s.reps[0]}, "start": {today}, "last": {today}})
	require.Equal(t, http.StatusForbidden, p.status, "an agent sets only their own")
	offs, err := s.svc.TimeOff(ctx, s.admin, s.reps[0])
	require.NoError(t, err)
	require.Empty(t, offs)
	p = agent.post("/availability/timeoff", url.Values{"csrf": {csrf}, "email": {"agent@acme.test"}, "start": {"soon"}, "last": {today}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.body, "Must be a date like 2026-12-31")

	mine, err := s.svc.TimeOff(ctx, s.admin, "agent@acme.test")
	require.NoError(t, err)
	require.Len(t, mine, 1)
	manager := s.browser()
	manager.signIn("manager@acme.test")
	p = manager.post("/availability/timeoff/"+itoa(mine[0].ID)+"/delete", url.Values{"csrf": {manager.csrf("/availability")}, "email": {"agent@acme.test"}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Regexp(t, `(?s)id="member-agent@acme.test".*?<span class="ok">available</span>`, p.body)
}

// scheduleForm is the working hours form with the time zone and the
// days given (day name to text), the other days empty.
func scheduleForm(csrf, zone string, days map[string]string) url.Values {
	v := url.Values{"csrf": {csrf}, "timezone": {zone}}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		v.Set(d, days[d])
	}
	return v
}

// signedIn is a browser signed in as email.
func (s *site) signedIn(email string) *browser {
	b := s.browser()
	b.signIn(email)
	return b
}

// formCase is a form posted in a table test: by whom, where, and the
// status and page (a regexp) it must get.
type formCase struct {
	name   string
	b      *browser
	path   string
	form   url.Values
	status int
	body   string
}

// post sends the form and checks what came back.
func (tc formCase) post(t *testing.T) {
	t.Helper()
	p := tc.b.post(tc.path, tc.form)
	require.Equal(t, tc.status, p.status, "%s: %s", tc.name, p.body)
	require.Regexp(t, tc.body, p.body, tc.name)
}

// fieldError matches the message shown next to the form's input id
// (s-timezone: its message is e-timezone).
func fieldError(id, msg string) string {
	return `(?s)id="` + id + `"[^>]*aria-invalid="true".*?<p class="field-error" id="e-` + id[2:] + `" role="alert">` + msg
}

// A manager edits a member's working hours: a refusal names the input
// (time zone or day) with the intervals as typed, is shown again as
// typed, and saves nothing; an agent may not, for anyone.
func TestAvailabilitySchedule(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := context.Background()
	manager, agent := s.signedIn("manager@acme.test"), s.signedIn("agent@acme.test")
	rep := s.reps[0]
	page := "/availability/members/" + rep
	csrf, agentCSRF := manager.csrf(page), agent.csrf("/availability")
	saved := &leads.Schedule{Timezone: "Europe/Paris", Monday: []leads.WorkHours{{Start: "09:00", End: "12:00"}, {Start: "13:00", End: "17:00"}},
		Tuesday: []leads.WorkHours{}, Wednesday: []leads.WorkHours{}, Thursday: []leads.WorkHours{}, Friday: []leads.WorkHours{{Start: "09:00", End: "17:00"}},
		Saturday: []leads.WorkHours{}, Sunday: []leads.WorkHours{}}

	for _, tc := range []struct {
		formCase
		// want is the schedule stored after.
		want *leads.Schedule
	}{
		{formCase{"saved", manager, page + "/schedule", scheduleForm(csrf, " Europe/Paris ", map[string]string{"monday": "13:00-17:00 , 9:00 - 12:00", "friday": "09:00-17:00"}),
			http.StatusOK, `Saved. The change applies from the next lead.(?s).*Europe/Paris: monday 09:00-12:00 13:00-17:00, friday 09:00-17:00`}, saved},
		{formCase{"unknown zone", manager, page + "/schedule", scheduleForm(csrf, "Mars/Olympus", map[string]string{"monday": "10:00-11:00"}),
			http.StatusUnprocessableEntity, fieldError("s-timezone", "Must be an IANA time zone name")}, saved},
		{formCase{"Local", manager, page + "/schedule", scheduleForm(csrf, "Local", nil),
			http.StatusUnprocessableEntity, fieldError("s-timezone", "Must be an IANA time zone name")}, saved},
		{formCase{"no zone", manager, page + "/schedule", scheduleForm(csrf, "", nil),
			http.StatusUnprocessableEntity, fieldError("s-timezone", "Must be an IANA time zone name")}, saved},
		{formCase{"overlap, nothing saved", manager, page + "/schedule", scheduleForm(csrf, "UTC", map[string]string{"monday": "08:00-10:00", "tuesday": "09:00-12:00, 11:00-13:00"}),
			http.StatusUnprocessableEntity, `(?s)id="s-monday"[^>]*value="08:00-10:00".*` + fieldError("s-tuesday", "11:00-13:00: Overlaps 09:00-12:00")}, saved},
		{formCase{"inverted", manager, page + "/schedule", scheduleForm(csrf, "UTC", map[string]string{"wednesday": "17:00-09:00"}),
			http.StatusUnprocessableEntity, fieldError("s-wednesday", "17:00-09:00: Must end after it starts")}, saved},
		{formCase{"not a time", manager, page + "/schedule", scheduleForm(csrf, "UTC", map[string]string{"friday": "09:00-25:00"}),
			http.StatusUnprocessableEntity, fieldError("s-friday", "09:00-25:00: Must be a time of day HH:MM")}, saved},
		{formCase{"not an interval", manager, page + "/schedule", scheduleForm(csrf, "UTC", map[string]string{"thursday": "nine to five"}),
			http.StatusUnprocessableEntity, fieldError("s-thursday", `&#34;nine&#34; is not an interval`)}, saved},
		{formCase{"agent, another's", agent, page + "/schedule", scheduleForm(agentCSRF, "UTC", nil), http.StatusForbidden, `managers and admins`}, saved},
		{formCase{"agent, own", agent, "/availability/members/agent@acme.test/schedule", scheduleForm(agentCSRF, "UTC", nil), http.StatusForbidden, `managers and admins`}, saved},
		{formCase{"agent clears", agent, page + "/schedule/clear", url.Values{"csrf": {agentCSRF}}, http.StatusForbidden, `managers and admins`}, saved},
		{formCase{"not a member", manager, "/availability/members/zed@acme.test/schedule", scheduleForm(csrf, "UTC", nil), http.StatusNotFound, `not found`}, saved},
		{formCase{"cleared", manager, page + "/schedule/clear", url.Values{"csrf": {csrf}}, http.StatusOK, `Working hours cleared(?s).*id="summary">always<`}, nil},
		{formCase{"cleared again", manager, page + "/schedule/clear", url.Values{"csrf": {csrf}}, http.StatusOK, `Working hours cleared`}, nil},
	} {
		tc.post(t)
		got, err := s.svc.Schedule(ctx, s.admin, rep)
		if tc.want == nil {
			require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err), tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, got, tc.name)
	}

	_, err := s.svc.Schedule(ctx, s.admin, "agent@acme.test")
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err), "an agent does not set their own hours either")
	p := agent.get(page)
	require.Equal(t, http.StatusForbidden, p.status, "an agent is not shown the form")
	p = manager.get("/availability/members/zed@acme.test")
	require.Equal(t, http.StatusNotFound, p.status)
	p = manager.get("/availability")
	require.Contains(t, p.body, `href="/console/availability/members/`+rep+`"`)
	require.NotContains(t, agent.get("/availability").body, `href="/console/availability/members/`)
}

// A manager makes, edits and deletes holiday calendars, and chooses the
// one a member follows; refusals name the field and save nothing; an
// agent reads the list only.
func TestAvailabilityCalendars(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := context.Background()
	manager, agent := s.signedIn("manager@acme.test"), s.signedIn("agent@acme.test")
	csrf, agentCSRF := manager.csrf("/availability/calendars"), agent.csrf("/availability/calendars")
	form := func(csrf, name, zone, dates string) url.Values {
		return url.Values{"csrf": {csrf}, "name": {name}, "timezone": {zone}, "dates": {dates}}
	}
	p := manager.post("/availability/calendars", form(csrf, "France", "Europe/Paris", "2027-01-01\r\n2026-12-25\n\n"))
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Regexp(t, `(?s)Created\..*data-calendar="France".*Europe/Paris`, p.body)
	cals, err := s.svc.HolidayCalendars(ctx, s.admin)
	require.NoError(t, err)
	require.Len(t, cals, 1)
	france := cals[0]
	require.Equal(t, []string{"2026-12-25", "2027-01-01"}, france.Dates)
	edit := "/availability/calendars/" + itoa(france.ID)

	for _, tc := range []formCase{
		{"bad date", manager, "/availability/calendars", form(csrf, "UK", "Europe/London", "2026-12-25\n2026-13-01"),
			http.StatusUnprocessableEntity, fieldError("h-dates", `&#34;2026-13-01&#34;: Must be a date YYYY-MM-DD`)},
		{"a date twice", manager, "/availability/calendars", form(csrf, "UK", "Europe/London", "2026-12-25, 2026-12-25"),
			http.StatusUnprocessableEntity, fieldError("h-dates", `&#34;2026-12-25&#34;: Appears twice`)},
		{"Local", manager, "/availability/calendars", form(csrf, "UK", "Local", "2026-12-25"),
			http.StatusUnprocessableEntity, `(?s)name="name" value="UK".*` + fieldError("h-timezone", "Must be an IANA time zone name")},
		{"no name", manager, "/availability/calendars", form(csrf, " ", "UTC", ""),
			http.StatusUnprocessableEntity, fieldError("h-name", "")},
		{"name taken", manager, "/availability/calendars", form(csrf, "France", "UTC", ""),
			http.StatusConflict, fieldError("h-name", "")},
		{"edit: bad date, nothing saved", manager, edit, form(csrf, "France 2", "Europe/Paris", "2026-12-25\n26/12/2026"),
			http.StatusUnprocessableEntity, fieldError("h-dates", `&#34;26/12/2026&#34;: Must be a date`)},
		{"edit: unknown zone", manager, edit, form(csrf, "France", "Europe/Lyon", "2026-12-25"),
			http.StatusUnprocessableEntity, fieldError("h-timezone", "Must be an IANA time zone name")},
		{"agent creates", agent, "/availability/calendars", form(agentCSRF, "Mine", "UTC", "2026-12-25"), http.StatusForbidden, ``},
		{"agent edits", agent, edit, form(agentCSRF, "Mine", "UTC", "2026-12-25"), http.StatusForbidden, `managers and admins`},
		{"agent deletes", agent, edit + "/delete", url.Values{"csrf": {agentCSRF}}, http.StatusForbidden, `managers and admins`},
		{"agent sets their calendar", agent, "/availability/members/agent@acme.test/calendar", url.Values{"csrf": {agentCSRF}, "calendar": {itoa(france.ID)}}, http.StatusForbidden, ``},
		{"unknown calendar", manager, "/availability/members/" + s.reps[0] + "/calendar", url.Values{"csrf": {csrf}, "calendar": {"999"}},
			http.StatusUnprocessableEntity, fieldError("s-calendar", "") + `(?s).*Is not a holiday calendar of this account`},
		{"not a calendar", manager, "/availability/members/" + s.reps[0] + "/calendar", url.Values{"csrf": {csrf}, "calendar": {"France"}},
			http.StatusUnprocessableEntity, `Must be one of the account&#39;s holiday calendars`},
	} {
		tc.post(t)
		got, err := s.svc.HolidayCalendars(ctx, s.admin)
		require.NoError(t, err)
		require.Equal(t, []leads.HolidayCalendar{france}, got, "%s: nothing saved", tc.name)
	}
	for _, email := range []string{"agent@acme.test", s.reps[0]} {
		cfg, err := s.svc.Configuration(ctx, s.admin)
		require.NoError(t, err)
		require.Nil(t, cfg.Availability[email], "%s follows no calendar", email)
	}

	// Edited, followed, shown in the month, then deleted.
	p = manager.post(edit, form(csrf, "France", "Europe/Paris", "2026-12-25\n2026-12-26"))
	require.Equal(t, http.StatusOK, p.status, p.body)
	p = manager.post("/availability/members/"+s.reps[0]+"/calendar", url.Values{"csrf": {csrf}, "calendar": {itoa(france.ID)}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Regexp(t, `<option value="`+itoa(france.ID)+`" selected>France`, p.body)
	p = manager.get("/availability/calendars")
	require.Regexp(t, `(?s)data-calendar="France".*?<td>2</td>.*?`+regexp.QuoteMeta(s.reps[0]), p.body)
	p = agent.get("/availability/calendars")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `data-calendar="France"`)
	require.NotContains(t, p.body, `id="new-calendar"`, "an agent reads the list only")
	require.Equal(t, http.StatusForbidden, agent.get(edit).status)
	p = agent.get("/availability?month=2026-12")
	require.Regexp(t, `(?s)data-date="2026-12-26".*?<li class="holiday">`+regexp.QuoteMeta(s.reps[0])+`: on a holiday \(France\)</li>`, p.body)
	require.Regexp(t, `(?s)id="member-`+regexp.QuoteMeta(s.reps[0])+`".*?<td data-label="Holiday calendar">France</td>`, p.body)

	p = manager.post(edit+"/delete", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Contains(t, p.body, "Deleted.")
	require.Equal(t, http.StatusNotFound, manager.get(edit).status)
	p = manager.get("/availability/members/" + s.reps[0])
	require.Contains(t, p.body, `<option value="0">no holiday calendar</option>`)
	require.NotContains(t, p.body, "selected")
}

// The month of who is off: time off on every UTC day it covers some of,
// with the days of the neighbouring months that fill its weeks, links to
// the months around it, and a bad month refused.
func TestAvailabilityMonth(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := context.Background()
	_, err := s.svc.AddTimeOff(ctx, s.admin, s.reps[1], leads.TimeOff{Start: time.Date(2026, 12, 30, 12, 0, 0, 0, time.UTC),
		End: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), Note: "ski"})
	require.NoError(t, err)
	b := s.browser()
	b.signIn("agent@acme.test")
	p := b.get("/availability?month=2026-12")
	require.Equal(t, http.StatusOK, p.status)
	require.Contains(t, p.body, `Who is off in December 2026`)
	require.Contains(t, p.body, `href="/console/availability?month=2026-11#month"`)
	require.Contains(t, p.body, `href="/console/availability?month=2027-01#month"`)
	days := regexp.MustCompile(`(?s)<td data-date="(\d{4}-\d\d-\d\d)"[^>]*>(.*?)</td>`).FindAllStringSubmatch(p.body, -1)
	require.Len(t, days, 35, "five whole weeks, Monday 30 November to Sunday 3 January")
	require.Equal(t, "2026-11-30", days[0][1])
	require.Equal(t, "2027-01-03", days[34][1])
	off := map[string]bool{}
	for _, d := range days {
		if strings.Contains(d[2], s.reps[1]+": out of office (ski)") {
			off[d[1]] = true
		}
	}
	require.Equal(t, map[string]bool{"2026-12-30": true, "2026-12-31": true, "2027-01-01": true}, off)
	require.Contains(t, p.body, `<td data-date="2027-01-01" class="other-month">`)

	require.NotContains(t, p.body, "Nobody is off")
	p = b.get("/availability?month=2026-10")
	require.Contains(t, p.body, `<p id="nobody-off">Nobody is off in October 2026.</p>`)
	p = b.get("/availability")
	require.Contains(t, p.body, `data-month="`+time.Now().UTC().Format("2006-01")+`"`)
	for _, bad := range []string{"2026-13", "soon", "0000-01"} {
		p = b.get("/availability?month=" + bad)
		require.Equal(t, http.StatusUnprocessableEntity, p.status, bad)
		require.Contains(t, p.body, "The month must be like 2026-12")
	}

	// An agent removes only their own time off.
	offs, err := s.svc.TimeOff(ctx, s.admin, s.reps[1])
	require.NoError(t, err)
	p = b.post("/availability/timeoff/"+itoa(offs[0].ID)+"/delete", url.Values{"csrf": {b.csrf("/availability")}, "email": {s.reps[1]}})
	require.Equal(t, http.StatusForbidden, p.status)
	require.Contains(t, p.body, `role="alert"`)
	offs, err = s.svc.TimeOff(ctx, s.admin, s.reps[1])
	require.NoError(t, err)
	require.Len(t, offs, 1)
}

// A manager sets a rep's capacity on the board, which then shows the rep's
// open leads against it; a capacity below 1 is refused at its field.
func TestBoardCapacity(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	b := s.browser()
	b.signIn("manager@acme.test")
	board := "/rotations/" + itoa(s.rot.ID)
	csrf := b.csrf(board)
	p := b.post(board+"/member", url.Values{"csrf": {csrf}, "user": {s.reps[0]}, "op": {"capacity"}, "maxOpenLeads": {"0"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)m-1.*?aria-invalid="true".*?field-error[^>]*>Must be at least 1, or empty for no limit<`, p.body)
	p = b.post(board+"/member", url.Values{"csrf": {csrf}, "user": {s.reps[0]}, "op": {"capacity"}, "maxOpenLeads": {"lots"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Contains(t, p.body, "Must be a whole number")

	p = b.post(board+"/member", url.Values{"csrf": {csrf}, "user": {s.reps[0]}, "op": {"capacity"}, "maxOpenLeads": {"40"}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	rot, err := s.svc.Rotation(context.Background(), s.admin, s.rot.ID)
	require.NoError(t, err)
	require.Equal(t, 40, rot.Members[0].MaxOpenLeads)
	require.Regexp(t, `(?s)data-user="`+regexp.QuoteMeta(s.reps[0])+`".*?<span class="open-leads">\d+</span> / .*?id="m-1"[^>]*value="40"`, p.body)

	p = b.post(board+"/member", url.Values{"csrf": {csrf}, "user": {s.reps[0]}, "op": {"capacity"}, "maxOpenLeads": {""}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	rot, err = s.svc.Rotation(context.Background(), s.admin, s.rot.ID)
	require.NoError(t, err)
	require.Zero(t, rot.Members[0].MaxOpenLeads, "empty: no limit")
}

// The lead page lists the lead's activities and logs one (a refused field
// shown next to it, nothing stored); its assignee, and only they, is
// offered Accept, which the first activity makes moot.
func TestLeadPageActivities(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	var lead struct {
		ID         int64  `json:"id"`
		AssignedTo string `json:"assignedTo"`
	}
	require.NoError(t, json.Unmarshal([]byte(s.createLead(`{"firstName":"Ada","lastName":"Lovelace"}`)), &lead))
	require.NotEmpty(t, lead.AssignedTo)
	page := "/leads/" + itoa(lead.ID)

	agent := s.browser()
	agent.signIn("agent@acme.test")
	csrf := agent.csrf(page)
	p := agent.get(page)
	require.Contains(t, p.body, "No activity yet.")
	require.NotContains(t, p.body, `id="accept"`, "only the assignee is offered Accept")
	p = agent.post(page+"/activities", url.Values{"csrf": {csrf}, "type": {"call"}, "title": {strings.Repeat("t", 256)}, "completed": {"true"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)id="a-title"[^>]*aria-invalid="true".*?id="e-title"`, p.body)
	require.Contains(t, p.body, "No activity yet.", "nothing stored")
	p = agent.post(page+"/activities", url.Values{"csrf": {csrf}, "type": {"fax"}})
	require.Equal(t, http.StatusUnprocessableEntity, p.status)
	require.Regexp(t, `(?s)id="a-type"[^>]*aria-invalid="true".*?id="e-type"`, p.body)
	p = agent.post(page+"/activities", url.Values{"csrf": {csrf}, "type": {"note"}, "title": {"Looked them up"}, "completed": {"true"}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Contains(t, p.body, "Activity logged.")
	require.Regexp(t, `(?s)id="activities">.*?<strong>note</strong> Looked them up`, p.body)
	require.Regexp(t, `id="accepted">not yet<`, p.body, "another member's activity accepts nothing")
	require.Equal(t, http.StatusForbidden, agent.post(page+"/activities", url.Values{"type": {"call"}}).status, "CSRF")

	rep := s.browser()
	rep.signIn(lead.AssignedTo)
	csrf = rep.csrf(page)
	p = rep.get(page)
	require.Contains(t, p.body, `id="accept"`)
	p = rep.post(page+"/accept", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.Contains(t, p.body, "Accepted: the lead is yours.")
	require.NotRegexp(t, `id="accepted">not yet<`, p.body)
	require.NotContains(t, p.body, `id="accept"`)
	p = agent.post(page+"/accept", url.Values{"csrf": {agent.csrf(page)}})
	require.Equal(t, http.StatusForbidden, p.status)
	require.Contains(t, p.body, "Only the lead&#39;s assignee may accept it")
}

// TestNextPageLinks: the leads list's and the audit page's "Next page"
// links keep their query as a query (filter and cursor), so that following
// one shows the next page under the same filter.
func TestNextPageLinks(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for i := range 51 {
		s.createLead(fmt.Sprintf(`{"firstName":"Next%d","lastName":"Page"}`, i))
	}
	b := s.browser()
	b.signIn("manager@acme.test")
	next := regexp.MustCompile(`href="/console(/leads\?[^"]+)" rel="next"`)
	p := b.get("/leads?status=new")
	require.Equal(t, http.StatusOK, p.status)
	m := next.FindStringSubmatch(p.body)
	require.NotNil(t, m, "a next page link")
	link := html.UnescapeString(m[1])
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, "new", u.Query().Get("status"), "the filter is kept: %s", link)
	require.NotEmpty(t, u.Query().Get("cursor"), "the cursor is a parameter: %s", link)
	p = b.get(link)
	require.Equal(t, http.StatusOK, p.status, p.body)
	require.NotRegexp(t, `rel="next"`, p.body, "51 leads: the second page is the last")

	b = s.browser()
	b.signIn("admin@acme.test") // the audit log is the admins'
	p = b.get("/audit?scope=all")
	require.Equal(t, http.StatusOK, p.status)
	m = regexp.MustCompile(`href="/console(/audit\?[^"]+)" rel="next"`).FindStringSubmatch(p.body)
	require.NotNil(t, m, "a next page of the audit log")
	u, err = url.Parse(html.UnescapeString(m[1]))
	require.NoError(t, err)
	require.NotEmpty(t, u.Query().Get("cursor"))
	require.Equal(t, "all", u.Query().Get("scope"), "the scope is kept")
	require.Equal(t, http.StatusOK, b.get(u.String()).status)
}
