package tracing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadrotor/leadrotor/tracing"
)

// BenchmarkHandler is what tracing adds to a request: a server span, with
// every request sampled or one in ten.
func BenchmarkHandler(b *testing.B) {
	for _, tc := range []struct{ name, sampler, arg string }{
		{"off", "", ""}, {"sampled", "parentbased_always_on", ""}, {"one-in-ten", "parentbased_traceidratio", "0.1"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			env := map[string]string{"OTEL_TRACES_SAMPLER": tc.sampler, "OTEL_TRACES_SAMPLER_ARG": tc.arg,
				"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_BSP_MAX_QUEUE_SIZE": "100000"}
			if tc.sampler == "" {
				env = nil
			}
			tr, err := tracing.FromEnv(context.Background(), func(k string) string { return env[k] }, "bench")
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = tr.Shutdown(context.Background()) }()
			h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tr.NameRoute(r, "/leads")
				w.WriteHeader(http.StatusCreated)
			}))
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/leads", strings.NewReader("{}"))
				req.Header.Set("User-Agent", "leadbench")
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
