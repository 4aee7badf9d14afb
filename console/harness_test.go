package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/console"
	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/passwords"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// Password is every test member's password.
const Password = "correct horse battery"

// site is a leadrotor server (the API and the console, as `leadrotor serve`
// mounts them) over a real store, with an account of an admin, a manager,
// an agent and four reps in a default rotation.
type site struct {
	t       testing.TB
	svc     *leads.Service
	srv     *httptest.Server
	account string
	admin   leads.Actor
	apiKey  string
	reps    []string
	rot     *leads.Rotation
	// log holds what the console logged.
	log *syncBuffer
}

func newSite(t testing.TB) *site {
	t.Helper()
	b := storetest.SQLite(t)
	svc := newService(b.Store)
	log := &syncBuffer{}
	con, err := console.New(svc, console.Config{Logger: slog.New(slog.NewTextHandler(io.MultiWriter(testLog{t}, log), nil))})
	require.NoError(t, err)
	s := &site{t: t, svc: svc, srv: httptest.NewServer(con.Beside(httpapi.New(svc, httpapi.Config{}))), account: "acme", log: log}
	t.Cleanup(s.srv.Close)
	ctx := context.Background()
	_, err = svc.CreateAccount(ctx, leads.Account{ID: s.account, Name: "Acme Sales"})
	require.NoError(t, err)
	root := leads.SystemActor(s.account)
	s.admin = leads.Actor{AccountID: s.account, Email: "admin@acme.test", Role: leads.RoleAdmin}
	people := []leads.Member{{Email: "admin@acme.test", Role: leads.RoleAdmin}, {Email: "manager@acme.test", Role: leads.RoleManager},
		{Email: "agent@acme.test", Role: leads.RoleAgent}}
	for i := 1; i <= 4; i++ {
		rep := fmt.Sprintf("rep%d@acme.test", i)
		s.reps = append(s.reps, rep)
		people = append(people, leads.Member{Email: rep, Role: leads.RoleAgent})
	}
	for _, m := range people {
		_, err := svc.PutMember(ctx, root, m)
		require.NoError(t, err)
		require.NoError(t, svc.SetPassword(ctx, m.Email, Password))
	}
	var members []leads.RotationMember
	for _, r := range s.reps {
		members = append(members, leads.RotationMember{User: r, Weight: 1})
	}
	s.rot, err = svc.CreateRotation(ctx, s.admin, leads.Rotation{Name: "Inbound", Default: true, Members: members})
	require.NoError(t, err)
	s.apiKey, _, err = svc.CreateAPIKey(ctx, "admin@acme.test", "tests")
	require.NoError(t, err)
	return s
}

// newService is a Service over s with the in-process rotator and cheap
// password hashing.
func newService(s *store.Store) *leads.Service {
	return leads.NewService(s, rotation.NewMemory(s), leads.WithPasswordHasher(passwords.New(passwords.TestParams())))
}

// url is the server's address of a console path.
func (s *site) url(path string) string { return s.srv.URL + console.Prefix + path }

// createLead creates a lead through the HTTP API, as a client would.
func (s *site) createLead(body string) string {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/leads", strings.NewReader(body))
	require.NoError(s.t, err)
	req.Header.Set("Authorization", "Bearer "+s.apiKey)
	req.Header.Set("x-account-id", s.account)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	require.Equal(s.t, http.StatusCreated, res.StatusCode, string(b))
	return string(b)
}

// browser is a plain HTTP client with cookies, as a browser without script
// would be: for the checks that need no rendering.
type browser struct {
	t      testing.TB
	site   *site
	client *http.Client
}

func (s *site) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(s.t, err)
	return &browser{t: s.t, site: s, client: &http.Client{Jar: jar}}
}

// response is a response: its status and body.
type response struct {
	status int
	body   string
	url    string
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.site.url(path), nil)
	require.NoError(b.t, err)
	return b.do(req)
}

// post sends a form as the console's own page would (same origin).
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.site.url(path), strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.site.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	res, err := b.client.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	return response{status: res.StatusCode, body: string(body), url: res.Request.URL.String()}
}

func (b *browser) signIn(email string) {
	b.t.Helper()
	p := b.post("/signin", url.Values{"email": {email}, "password": {Password}})
	require.Equal(b.t, http.StatusOK, p.status, p.body)
	require.NotContains(b.t, p.url, "/signin", "still on the sign-in page")
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token the forms of a page carry.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfRE.FindStringSubmatch(p.body)
	require.NotNil(b.t, m, "no CSRF token on %s", path)
	return m[1]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// testLog writes the console's log to the test's.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// syncBuffer is a log the server's goroutines write while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
