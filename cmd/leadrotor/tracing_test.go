package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver on loopback: what a
// collector would get.
type otlpReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		var export coltracepb.ExportTraceServiceRequest
		if err != nil || req.URL.Path != "/v1/traces" || proto.Unmarshal(body, &export) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range export.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				r.spans = append(r.spans, ss.GetSpans()...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// trace returns the spans received of the trace id, once want(spans)
// holds, or fails after a while.
func (r *otlpReceiver) trace(t *testing.T, id string, want func([]*tracepb.Span) bool) []*tracepb.Span {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r.mu.Lock()
		var spans []*tracepb.Span
		for _, s := range r.spans {
			if hex.EncodeToString(s.GetTraceId()) == id {
				spans = append(spans, s)
			}
		}
		r.mu.Unlock()
		if want(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s: spans received %v", id, names(spans))
		}
		time.Sleep(50 * time.Millisecond) // the exporter's batches come when they come
	}
}

func names(spans []*tracepb.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.GetName())
	}
	return out
}

// TestTracesOfARequest runs a real server on PostgreSQL and Redis with the
// standard OTEL_* variables pointing at a receiver the test starts. A lead
// created with a traceparent header continues that trace: the server span
// is named by the route, its children are the Redis turn and the database
// statements, and the request's log lines name the trace. Spans without a
// parent are only requests' (an idle server exports nothing of its own).
func TestTracesOfARequest(t *testing.T) {
	t.Parallel()
	env, _, _ := sharedEnv(t)
	demo := parseEnv(run(t, env, "demo", "--env"))
	recv := startOTLPReceiver(t)
	env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT="+recv.srv.URL, "OTEL_BSP_SCHEDULE_DELAY=50", "OTEL_SERVICE_NAME=leadrotor-test")
	s := serve(t, env)

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodPost, s.url+"/leads", strings.NewReader(leadBody(demo, "Traced")))
	req.Header.Set("Authorization", "Bearer "+demo["LEADROTOR_API_KEY"])
	req.Header.Set("x-account-id", demo["LEADROTOR_ACCOUNT_ID"])
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)
	postLead(t, s.url, demo, "Untraced") // no traceparent: a trace of its own

	spans := recv.trace(t, traceID, func(spans []*tracepb.Span) bool {
		return slices.ContainsFunc(spans, func(s *tracepb.Span) bool { return s.GetName() == "POST /leads" }) &&
			slices.ContainsFunc(spans, func(s *tracepb.Span) bool { return s.GetName() == "evalsha" }) &&
			slices.ContainsFunc(spans, func(s *tracepb.Span) bool { return s.GetName() == "INSERT" || s.GetName() == "WITH" })
	})
	var server *tracepb.Span
	for _, sp := range spans {
		if sp.GetName() == "POST /leads" {
			server = sp
		}
	}
	require.Equal(t, tracepb.Span_SPAN_KIND_SERVER, server.GetKind())
	require.Equal(t, parentID, hex.EncodeToString(server.GetParentSpanId()), "the caller's trace goes on")
	for _, sp := range spans {
		if sp != server {
			require.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, sp.GetKind(), sp.GetName())
		}
		for _, a := range sp.GetAttributes() {
			require.NotContains(t, a.GetValue().GetStringValue(), "Traced", "%s: no lead's data in spans (%s)", sp.GetName(), a.GetKey())
		}
	}

	// The request's log line names the trace.
	var logged bool
	scanner := bufio.NewScanner(strings.NewReader(s.logs.String()))
	for scanner.Scan() {
		var entry map[string]any
		if json.Unmarshal(scanner.Bytes(), &entry) == nil && entry["msg"] == "request" && entry["trace_id"] == traceID {
			logged = true
		}
	}
	require.True(t, logged, "an access log line with trace_id %s:\n%s", traceID, s.logs)

	require.NoError(t, s.stop(t))
	recv.mu.Lock()
	defer recv.mu.Unlock()
	for _, sp := range recv.spans {
		if len(sp.GetParentSpanId()) == 0 {
			require.Equal(t, tracepb.Span_SPAN_KIND_SERVER, sp.GetKind(), "a root span that is not a request's: %s", sp.GetName())
		}
	}
}
