package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/simulations"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// api is a running server over real stores, with API keys for every kind of
// caller, and a client whose every exchange is checked against the OpenAPI
// document.
type api struct {
	t       *testing.T
	url     string
	client  *http.Client
	svc     *leads.Service
	sims    *simulations.Service
	backend *storetest.Backend
	account string
	keys    map[string]string // admin, manager, agent, outsider, revoked
	logs    *syncBuffer
}

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

// eachBackend runs fn on SQLite and, when reachable, PostgreSQL.
func eachBackend(t *testing.T, fn func(t *testing.T, b *storetest.Backend)) {
	for _, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

type apiOption func(*apiSetup)

type apiSetup struct {
	store leads.Store
	cfg   httpapi.Config
}

func withStore(wrap func(leads.Store) leads.Store) apiOption {
	return func(s *apiSetup) { s.store = wrap(s.store) }
}

func withConfig(fn func(*httpapi.Config)) apiOption { return func(s *apiSetup) { fn(&s.cfg) } }

var accountSeq struct {
	sync.Mutex
	n int
}

func newAPI(t *testing.T, b *storetest.Backend, opts ...apiOption) *api {
	t.Helper()
	accountSeq.Lock()
	accountSeq.n++
	account := fmt.Sprintf("23%02d", accountSeq.n)
	accountSeq.Unlock()

	logs := &syncBuffer{}
	setup := apiSetup{store: b.Store, cfg: httpapi.Config{Logger: slog.New(slog.NewJSONHandler(logs, nil))}}
	for _, o := range opts {
		o(&setup)
	}
	svc := leads.NewService(setup.store, rotation.NewMemory(b.Store), leads.WithWebhooks(b.Store, queuedDeliveries{}, true))
	sims := simulations.New(svc, b.Store, simulations.Options{})
	setup.cfg.Simulations = sims
	srv := httptest.NewServer(httpapi.New(svc, setup.cfg))
	t.Cleanup(srv.Close)
	t.Cleanup(sims.Start(context.Background()))

	a := &api{t: t, url: srv.URL, svc: svc, sims: sims, backend: b, account: account, keys: map[string]string{}, logs: logs}
	a.client = &http.Client{Transport: newContractTransport(t, srv.URL)}
	ctx := context.Background()
	_, err := svc.CreateAccount(ctx, leads.Account{ID: account, Name: "Acme"})
	require.NoError(t, err)
	root := leads.SystemActor(account)
	for role, r := range map[string]leads.Role{"admin": leads.RoleAdmin, "manager": leads.RoleManager, "agent": leads.RoleAgent} {
		_, err := svc.PutMember(ctx, root, leads.Member{Email: role + "-" + account + "@example.com", Role: r})
		require.NoError(t, err)
	}
	for _, rep := range []string{"ana", "ben", "cara"} {
		_, err := svc.PutMember(ctx, root, leads.Member{Email: rep + "@example.com", Role: leads.RoleAgent})
		require.NoError(t, err)
	}
	for _, who := range []string{"admin", "manager", "agent", "outsider", "revoked"} {
		secret, key, err := svc.CreateAPIKey(ctx, who+"-"+account+"@example.com", who)
		require.NoError(t, err)
		a.keys[who] = secret
		if who == "revoked" {
			require.NoError(t, svc.RevokeAPIKey(ctx, key.Prefix))
		}
	}
	return a
}

// actor returns the in-process actor of a role, to set things up directly.
func (a *api) actor(role string) leads.Actor {
	return leads.Actor{AccountID: a.account, Email: role + "-" + a.account + "@example.com", Role: leads.Role(role)}
}

// response is what a call returned.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// code returns the error code of an error body.
func (r response) code(t *testing.T) string {
	t.Helper()
	code, _ := r.json(t)["code"].(string)
	return code
}

// call sends a request as who ("" for no key) in the api's account. body may
// be a string or []byte (sent as is), an io.Reader (sent chunked, its length
// unknown) or anything else (sent as JSON).
func (a *api) call(who, method, path string, body any, headers ...string) response {
	a.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	case []byte:
		reader = bytes.NewReader(b)
	case io.Reader:
		reader = b
	default:
		raw, err := json.Marshal(b)
		require.NoError(a.t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, a.url+path, reader)
	require.NoError(a.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+a.keys[who])
	}
	req.Header.Set("x-account-id", a.account)
	for i := 0; i+1 < len(headers); i += 2 {
		switch name, again := strings.CutPrefix(headers[i], "+"); {
		case again: // "+name": one more of the header, beside those set
			req.Header.Add(name, headers[i+1])
		case headers[i+1] == "":
			req.Header.Del(name)
		default:
			req.Header.Set(name, headers[i+1])
		}
	}
	res, err := a.client.Do(req)
	require.NoError(a.t, err)
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	require.NoError(a.t, err)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// contractTransport checks every exchange against the OpenAPI document: the
// route must be documented, the response must match its documented status
// and schema, and a request the server accepted (2xx) must be one the
// document allows.
type contractTransport struct {
	t      *testing.T
	router routers.Router
}

// registerTextDecoders lets openapi3filter check the text bodies of /docs
// (HTML and JavaScript) against their documented schema, a string, as it
// checks text/plain; it knows no decoder for them.
var registerTextDecoders = sync.OnceFunc(func() {
	text := func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		raw, err := io.ReadAll(body)
		return string(raw), err
	}
	openapi3filter.RegisterBodyDecoder("text/html", text)
	openapi3filter.RegisterBodyDecoder("text/javascript", text)
})

func newContractTransport(t *testing.T, serverURL string) *contractTransport {
	t.Helper()
	registerTextDecoders()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	doc.Servers = openapi3.Servers{{URL: serverURL}}
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return &contractTransport{t: t, router: router}
}

func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))

	if res.StatusCode == http.StatusMethodNotAllowed {
		return res, nil // the router's answer, not an operation's
	}
	if req.Method == http.MethodHead {
		// HEAD is GET without a body: the GET must be documented.
		get := req.Clone(context.Background())
		get.Method = http.MethodGet
		if _, _, err := c.router.FindRoute(get); err != nil && res.StatusCode != http.StatusNotFound {
			c.t.Errorf("contract: HEAD %s answered %d but GET is not documented: %v", req.URL.Path, res.StatusCode, err)
		}
		return res, nil
	}
	if p := req.URL.Path; p != "/" && (strings.HasSuffix(p, "/") || path.Clean(p) != p) {
		// Not a documented path as written (the document's router forgives
		// a trailing slash): only a 404, or a GET's redirect to the clean
		// path, fits.
		if res.StatusCode != http.StatusNotFound && (req.Method != http.MethodGet || res.StatusCode/100 != 3) {
			c.t.Errorf("contract: %s %s answered %d for a path that is not clean", req.Method, p, res.StatusCode)
		}
		return res, nil
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
			c.t.Errorf("contract: %s %s answered %d but is not documented: %v", req.Method, req.URL.Path, res.StatusCode, err)
		}
		return res, nil
	}
	ctx := context.Background()
	input := &openapi3filter.RequestValidationInput{
		Request: req.Clone(ctx), PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	input.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	if res.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
			c.t.Errorf("contract: %s %s was accepted (%d) but the document forbids it: %v", req.Method, req.URL.Path, res.StatusCode, err)
		}
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(resBody)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
	if err != nil {
		c.t.Errorf("contract: %s %s answered %d against the document: %v\nbody: %s", req.Method, req.URL.Path, res.StatusCode, err, resBody)
	}
	return res, nil
}

var _ = time.Second

// queuedDeliveries is a leads.WebhookDispatcher that queues nothing: the
// HTTP tests see redelivery accepted; webhooks' own tests deliver.
type queuedDeliveries struct{}

func (queuedDeliveries) Redeliver(context.Context, *leads.WebhookDelivery) error { return nil }
