package console_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/console"
	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/passwords"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/simulations"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
	"github.com/leadrotor/leadrotor/webhooks"
)

// Password is every test member's password.
const Password = "correct horse battery"

// site is a leadrotor server (the API and the console, as `leadrotor serve`
// mounts them) over a real store, with an account of an admin, a manager,
// an agent and four reps in a default rotation.
type site struct {
	t       testing.TB
	svc     *leads.Service
	store   *store.Store
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
	return newSiteOver(t, storetest.SQLite(t).Store)
}

// newWebhookSite is a site whose Service, made with opts, has webhooks and
// SLA timers, run by a runner on the store's own SQLite database as
// leadrotor serve wires it, working its jobs from the start. allowPrivate
// lets endpoints be on 127.0.0.1, as the tests' receivers are.
func newWebhookSite(t testing.TB, allowPrivate bool, opts ...leads.Option) *site {
	t.Helper()
	ctx := context.Background()
	runner := webhooks.New(webhooks.Options{AllowPrivate: allowPrivate, PollInterval: 20 * time.Millisecond, Timeout: 5 * time.Second,
		Backoff: func(int) time.Duration { return 100 * time.Millisecond }})
	st, err := store.Open(ctx, "file:"+filepath.Join(t.TempDir(), "leadrotor.db"), store.WithEventSink(runner),
		store.WithConnMaxIdleTime(time.Second),
		store.WithMigrations(func(ctx context.Context, db *sql.DB, d store.Dialect) error {
			return webhooks.Migrate(ctx, db, string(d))
		}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, runner.Open(st.DB().DB, string(st.Dialect()), st))
	s := newSiteOver(t, st, append(opts, leads.WithWebhooks(st, runner, allowPrivate))...)
	runner.ExpireWith(s.svc) // before it starts, as leadrotor serve does
	require.NoError(t, runner.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		require.NoError(t, runner.Stop(ctx))
	})
	return s
}

// newSiteOver is the site over st, its Service made with opts.
func newSiteOver(t testing.TB, st *store.Store, opts ...leads.Option) *site {
	t.Helper()
	svc := newService(st, opts...)
	log := &syncBuffer{}
	sims := simulations.New(svc, st, simulations.Options{})
	con, err := console.New(svc, console.Config{Logger: slog.New(slog.NewTextHandler(io.MultiWriter(testLog{t}, log), nil)),
		Simulations: sims, SimulationMaxWindow: sims.MaxWindow()})
	require.NoError(t, err)
	s := &site{t: t, svc: svc, store: st, srv: httptest.NewServer(con.Beside(httpapi.New(svc, httpapi.Config{Simulations: sims}))), account: "acme", log: log}
	t.Cleanup(s.srv.Close)
	t.Cleanup(sims.Start(context.Background()))
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

// newService is a Service over s with the in-process rotator, cheap
// password hashing, and opts.
func newService(s *store.Store, opts ...leads.Option) *leads.Service {
	opts = append([]leads.Option{leads.WithPasswordHasher(passwords.New(passwords.TestParams()))}, opts...)
	return leads.NewService(s, rotation.NewMemory(s), opts...)
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
