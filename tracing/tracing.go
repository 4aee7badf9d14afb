// Package tracing traces a leadrotor server's requests with OpenTelemetry:
// the HTTP server and the webhook client through otelhttp, Redis through
// redisotel, and every database statement through the store's query hooks
// (pgx's tracer on PostgreSQL, which also sees the create path's
// hand-written statements that bun never sees). Spans are exported by OTLP
// when the standard OTEL_* variables ask for it, and tracing is off
// otherwise: nothing is wrapped, nothing costs.
//
// The variables read: OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (otlp or
// none), OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// (setting one turns tracing on), OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL
// (http/protobuf, the default, or grpc), OTEL_EXPORTER_OTLP_[TRACES_]HEADERS
// and _TIMEOUT (read by the exporter), OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG,
// and the OTEL_BSP_* settings of the batch processor. A value it does not
// know is refused, naming the variable.
//
// Traces start at requests: a span with no parent is kept only for a
// server span (an HTTP request). The background work (the assigner, job
// polling, settling turns) makes no root spans of its own, so that an idle
// server exports nothing. A request is sampled once, as it arrives (by its
// traceparent's decision, or drawn at the sampler's ratio), and one that
// is not makes no span at all: it costs next to nothing.
package tracing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is a process's tracer provider, or nothing when tracing is off
// (every method then leaves what it is given as it is).
type Tracing struct {
	tp       *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	sampling sampling
}

// FromEnv returns tracing as the OTEL_* variables (read with getenv) ask:
// off unless an OTLP endpoint is set or OTEL_TRACES_EXPORTER=otlp, and
// off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. version is
// the service's version.
func FromEnv(ctx context.Context, getenv func(string) string, version string) (*Tracing, error) {
	on, err := wanted(getenv)
	if err != nil || !on {
		return &Tracing{}, err
	}
	exp, err := exporter(ctx, getenv)
	if err != nil {
		return nil, err
	}
	sampled, err := samplingFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "leadrotor"), attribute.String("service.version", version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost(), resource.WithProcessPID())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithSampler(headSampler{parentBased: sampled.parentBased}))
	return &Tracing{tp: tp, tracer: tp.Tracer("github.com/leadrotor/leadrotor"), sampling: sampled,
		prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}, nil
}

// wanted says whether the variables turn tracing on.
func wanted(getenv func(string) string) (bool, error) {
	if v := getenv("OTEL_SDK_DISABLED"); v != "" {
		disabled, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("OTEL_SDK_DISABLED=%q: want true or false", v)
		}
		if disabled {
			return false, nil
		}
	}
	switch v := getenv("OTEL_TRACES_EXPORTER"); v {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: leadrotor exports traces by otlp (or none)", v)
	}
}

// exporter returns the OTLP exporter of the protocol the variables name;
// it reads the endpoint, headers and timeout from them itself.
func exporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, error) {
	name, protocol := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		name, protocol = "OTEL_EXPORTER_OTLP_PROTOCOL", getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	// The endpoint as the variables read by getenv name it; the exporter
	// reads the rest (headers, timeout, TLS) from the process's.
	traces, base := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		var opts []otlptracehttp.Option
		switch {
		case traces != "":
			opts = append(opts, otlptracehttp.WithEndpointURL(traces))
		case base != "":
			opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimRight(base, "/")+"/v1/traces"))
		}
		exp, err = otlptracehttp.New(ctx, opts...)
	case "grpc":
		var opts []otlptracegrpc.Option
		if url := cmp.Or(traces, base); url != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(url))
		}
		exp, err = otlptracegrpc.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("%s=%q: want http/protobuf or grpc", name, protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	return exp, nil
}

// sampling is how requests are sampled, as OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG say (default parentbased_always_on): the share
// of requests without a sampled parent that are traced (ratio), and
// whether a request with a parent follows its parent's decision
// (parentBased) or is drawn like the others.
type sampling struct {
	ratio       float64
	parentBased bool
}

// samplingFromEnv reads the sampler's variables.
func samplingFromEnv(getenv func(string) string) (sampling, error) {
	ratio := func() (float64, error) {
		arg := getenv("OTEL_TRACES_SAMPLER_ARG")
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1", arg)
		}
		return r, nil
	}
	v := getenv("OTEL_TRACES_SAMPLER")
	based := v == "" || strings.HasPrefix(v, "parentbased_")
	switch strings.TrimPrefix(v, "parentbased_") {
	case "", "always_on":
		return sampling{ratio: 1, parentBased: based}, nil
	case "always_off":
		return sampling{ratio: 0, parentBased: based}, nil
	case "traceidratio":
		r, err := ratio()
		return sampling{ratio: r, parentBased: based}, err
	default:
		return sampling{}, fmt.Errorf("OTEL_TRACES_SAMPLER=%q: want always_on, always_off, traceidratio or their parentbased_ forms", v)
	}
}

// drawn keys a request the Handler drew for tracing.
type drawn struct{}

// headSampler decides spans: a server span is recorded when its request
// was drawn (see Tracing.Handler) or, parent-based, when its parent was
// sampled; any other span follows its parent, and a span without a
// parent that is not a drawn request's is dropped: traces start at
// requests.
type headSampler struct{ parentBased bool }

func (s headSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	parent := trace.SpanContextFromContext(p.ParentContext)
	record := sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample, Tracestate: parent.TraceState()}
	switch {
	case p.Kind == trace.SpanKindServer && p.ParentContext.Value(drawn{}) != nil:
		return record
	case parent.IsValid() && parent.IsSampled() && (p.Kind != trace.SpanKindServer || s.parentBased):
		return record
	}
	return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: parent.TraceState()}
}

func (s headSampler) Description() string { return "HeadSampler" }

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t.tp != nil }

// Shutdown exports the spans still buffered and stops.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.tp == nil {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// untraced are the paths of probes and scrapes, which make no spans.
var untraced = map[string]bool{"/metrics": true, "/healthz": true, "/readyz": true}

// Handler makes a server span of each request next serves (continuing
// the trace of its traceparent header), named by its method and, once
// NameRoute has named it, its route.
func (t *Tracing) Handler(next http.Handler) http.Handler {
	if t.tp == nil {
		return next
	}
	traced := otelhttp.NewHandler(next, "http.server",
		otelhttp.WithTracerProvider(t.tp), otelhttp.WithPropagators(t.prop), otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool { return !untraced[r.URL.Path] }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if route, ok := r.Context().Value(routeKey{}).(*string); ok && *route != "" {
				return r.Method + " " + *route
			}
			return r.Method
		}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if !t.sampling.parentBased || r.Header.Get("traceparent") == "" {
			// No parent to follow: the request is drawn here, once, and
			// one not drawn makes no span at all, so that it costs
			// nothing (otelhttp's work on a request is much the same
			// whether its span is recorded or not).
			if !t.draw() {
				next.ServeHTTP(w, r)
				return
			}
			ctx = context.WithValue(ctx, drawn{}, true)
		}
		// otelhttp names the span again once served: it reads the route
		// NameRoute leaves here.
		var route string
		traced.ServeHTTP(w, r.WithContext(context.WithValue(ctx, routeKey{}, &route)))
	})
}

// draw says whether a request without a parent to follow is traced.
func (t *Tracing) draw() bool {
	switch r := t.sampling.ratio; {
	case r >= 1:
		return true
	case r <= 0:
		return false
	default:
		return rand.Float64() < r
	}
}

// routeKey keys the route NameRoute found for a request.
type routeKey struct{}

// NameRoute names the request's span after its route's pattern
// ("POST /leads/:id"), as OpenTelemetry's conventions say.
func (t *Tracing) NameRoute(r *http.Request, pattern string) {
	if route, ok := r.Context().Value(routeKey{}).(*string); ok {
		*route = pattern
	}
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return
	}
	span.SetName(r.Method + " " + pattern)
	span.SetAttributes(attribute.String("http.route", pattern))
}

// Transport makes a client span of each request through base (webhook
// deliveries), and sends the trace on in traceparent.
func (t *Tracing) Transport(base http.RoundTripper) http.RoundTripper {
	if t.tp == nil {
		return base
	}
	return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(t.tp), otelhttp.WithPropagators(t.prop),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()))
}

// InstrumentRedis makes a span of each of client's commands. Their
// arguments (keys, members' emails) are left out.
func (t *Tracing) InstrumentRedis(client redis.UniversalClient) error {
	if t.tp == nil {
		return nil
	}
	// No caller: redisotel would walk the stack (runtime.Callers) for every
	// command to name the function that sent it, the rotator's every time.
	if err := redisotel.InstrumentTracing(client, redisotel.WithTracerProvider(t.tp), redisotel.WithDBStatement(false),
		redisotel.WithCallerEnabled(false)); err != nil {
		return fmt.Errorf("tracing: redis: %w", err)
	}
	return nil
}

// QueryHook returns the store.QueryHook that makes a span of each
// database statement made within a traced request, on system
// ("postgresql", "sqlite"). A statement's text is recorded only when it
// is parameterized ($1): bun writes values into its statements, and those
// values (emails, names) do not belong in traces.
func (t *Tracing) QueryHook(system string) *QueryHook {
	if t.tp == nil {
		return nil
	}
	return &QueryHook{tracer: t.tracer, system: attribute.String("db.system.name", system)}
}

// QueryHook makes spans of database statements (see Tracing.QueryHook).
type QueryHook struct {
	tracer trace.Tracer
	system attribute.KeyValue
}

// QueryStart starts the statement's span, when its caller's is traced. A
// transaction's BEGIN, COMMIT and ROLLBACK make none: they cost the
// request a round trip each, which its span's time shows, and a span each
// would cost it more than the statement.
func (h *QueryHook) QueryStart(ctx context.Context, op, query string) context.Context {
	if op == "BEGIN" || op == "COMMIT" || op == "ROLLBACK" || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	attrs := []attribute.KeyValue{h.system, attribute.String("db.operation.name", op)}
	if strings.Contains(query, "$1") {
		attrs = append(attrs, attribute.String("db.query.text", query))
	}
	ctx, span := h.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, statementSpan{}, span)
}

// statementSpan keys the span QueryStart started, which QueryEnd ends:
// the span of a context QueryStart left as it was is its caller's.
type statementSpan struct{}

// QueryEnd ends the statement's span, with its error.
func (h *QueryHook) QueryEnd(ctx context.Context, err error) {
	span, ok := ctx.Value(statementSpan{}).(trace.Span)
	if !ok || span != trace.SpanFromContext(ctx) {
		return // no span of its own: the caller's is not this hook's to end
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// LogHandler adds the trace and span ids of a record's context to each
// record, so that every log line of a traced request names its trace.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
