package tracing_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/leadrotor/leadrotor/tracing"
)

// The OTEL_* variables turn tracing on or off, and a value leadrotor does
// not know is refused with the variable's name.
func TestFromEnv(t *testing.T) {
	endpoint := "http://127.0.0.1:1" // a closed port: nothing is exported here
	for _, tc := range []struct {
		name string
		env  map[string]string
		on   bool
		err  string
	}{
		{"nothing set: off", nil, false, ""},
		{"an endpoint: on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}, true, ""},
		{"a traces endpoint: on", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint + "/v1/traces"}, true, ""},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, ""},
		{"exporter none wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_EXPORTER": "none"}, false, ""},
		{"sdk disabled wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SDK_DISABLED": "true"}, false, ""},
		{"a ratio sampler", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, true, ""},
		{"unknown exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, "OTEL_TRACES_EXPORTER"},
		{"bad disabled", map[string]string{"OTEL_SDK_DISABLED": "maybe"}, false, "OTEL_SDK_DISABLED"},
		{"unknown protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, false, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"unknown sampler", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_SAMPLER": "sometimes"}, false, "OTEL_TRACES_SAMPLER"},
		{"ratio out of range", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, false, "OTEL_TRACES_SAMPLER_ARG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := tracing.FromEnv(context.Background(), func(k string) string { return tc.env[k] }, "test")
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.on, tr.Enabled())
			require.NoError(t, tr.Shutdown(context.Background()))
		})
	}
}

// Off, tracing wraps nothing; the log handler adds no ids without a span.
func TestOffCostsNothing(t *testing.T) {
	tr, err := tracing.FromEnv(context.Background(), func(string) string { return "" }, "test")
	require.NoError(t, err)
	h := http.NewServeMux()
	require.Same(t, h, tr.Handler(h))
	rt := http.DefaultTransport
	require.Equal(t, rt, tr.Transport(rt))
	require.Nil(t, tr.QueryHook("postgresql"))

	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil)))
	log.InfoContext(httptest.NewRequest("GET", "/", nil).Context(), "hello")
	require.NotContains(t, buf.String(), "trace_id")
}

// spanCounter is an OTLP/HTTP receiver that counts the spans it gets.
type spanCounter struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   int
}

func newSpanCounter(t *testing.T) *spanCounter {
	c := &spanCounter{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				c.n += len(ss.GetSpans())
			}
		}
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// A request is sampled once, as it arrives: by its parent's decision when
// the sampler is parent-based, else drawn at the sampler's ratio; one not
// sampled makes no span.
func TestSampling(t *testing.T) {
	const sampledParent, unsampledParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
	for _, tc := range []struct {
		name, sampler, arg, parent string
		spans                      int
	}{
		{"default, no parent", "", "", "", 1},
		{"default, a sampled parent", "", "", sampledParent, 1},
		{"default, a parent not sampled", "", "", unsampledParent, 0},
		{"always off", "always_off", "", "", 0},
		{"parent-based always off, a sampled parent", "parentbased_always_off", "", sampledParent, 1},
		{"ratio 0 ignores a sampled parent", "traceidratio", "0", sampledParent, 0},
		{"ratio 1", "traceidratio", "1", "", 1},
		{"always on ignores a parent not sampled", "always_on", "", unsampledParent, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSpanCounter(t)
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.srv.URL, "OTEL_TRACES_SAMPLER": tc.sampler, "OTEL_TRACES_SAMPLER_ARG": tc.arg}
			tr, err := tracing.FromEnv(context.Background(), func(k string) string { return env[k] }, "test")
			require.NoError(t, err)
			h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tr.NameRoute(r, "/leads") }))
			req := httptest.NewRequest(http.MethodPost, "/leads", nil)
			if tc.parent != "" {
				req.Header.Set("traceparent", tc.parent)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			require.NoError(t, tr.Shutdown(context.Background())) // exports what is left
			c.mu.Lock()
			defer c.mu.Unlock()
			require.Equal(t, tc.spans, c.n)
		})
	}
}

// A statement that makes no span of its own (BEGIN) leaves its caller's
// span open: the statements after it are still the request's children.
func TestQueryHookEndsOnlyItsOwnSpans(t *testing.T) {
	c := newSpanCounter(t)
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": c.srv.URL}
	tr, err := tracing.FromEnv(context.Background(), func(k string) string { return env[k] }, "test")
	require.NoError(t, err)
	hook := tr.QueryHook("postgresql")
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, op := range []string{"BEGIN", "INSERT", "COMMIT", "SELECT"} {
			hook.QueryEnd(hook.QueryStart(r.Context(), op, op+" …"), nil)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/leads", nil))
	require.NoError(t, tr.Shutdown(context.Background()))
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Equal(t, 3, c.n, "the request's, INSERT's and SELECT's")
}
