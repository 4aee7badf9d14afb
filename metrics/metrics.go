// Package metrics counts what a leadrotor server does for Prometheus
// (prometheus/client_golang): HTTP requests, leads created and assigned,
// rotation turns and skips, SLA expiries, webhook deliveries and the
// outbox's lag, database and Redis calls, connection pools, and the Go
// runtime. It implements the small interfaces the other packages define
// (leads.Meter, webhooks.Meter, store.QueryHook, a go-redis hook), so that
// none of them imports Prometheus.
//
// Every label comes from a fixed set (route patterns, reasons, statement
// kinds, Redis command names), never from ids or input, so a server keeps
// a bounded number of series however many accounts and leads it serves.
// The names follow Prometheus's conventions: a leadrotor_ prefix, base
// units (seconds), _total on counters. docs/metrics.md lists them.
package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/leadrotor/leadrotor/leads"
)

// namespace prefixes every metric of leadrotor's own.
const namespace = "leadrotor"

// Latency buckets, in seconds: requests and database calls from 250 µs to
// 10 s, Redis calls from 50 µs to 2.5 s, the outbox's lag from 10 ms to
// 5 min.
var (
	requestBuckets = []float64{.00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	redisBuckets   = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .1, .5, 2.5}
	lagBuckets     = []float64{.01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300}
)

// Metrics is one server's metrics, in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	requests *prometheus.HistogramVec

	leadsCreated  *prometheus.CounterVec
	leadsAssigned *prometheus.CounterVec
	leadsDeferred prometheus.Counter
	leadsWaiting  prometheus.Counter
	leadsReturned *prometheus.CounterVec
	turns         prometheus.Counter
	skips         *prometheus.CounterVec
	slaExpiries   *prometheus.CounterVec
	configLoads   prometheus.Counter

	dbCalls    *prometheus.HistogramVec
	dbErrors   *prometheus.CounterVec
	redisCalls *prometheus.HistogramVec
	redisErrs  *prometheus.CounterVec

	outboxLag        prometheus.Histogram
	deliveries       *prometheus.CounterVec
	deliveryDuration prometheus.Histogram
	disabled         prometheus.Counter
	handOffs         *prometheus.CounterVec
}

// New returns metrics with the Go runtime's and the process's collectors
// registered. log receives scrape-time failures (nil: none).
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: log}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
		m.reg.MustRegister(c)
		return c
	}
	counters := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	histograms := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
		m.reg.MustRegister(h)
		return h
	}
	histogram := func(name, help string, buckets []float64) prometheus.Histogram {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets})
		m.reg.MustRegister(h)
		return h
	}

	m.requests = histograms("http_request_duration_seconds",
		"HTTP requests by route pattern, method and status code, and how long they took.", requestBuckets, "route", "method", "code")

	m.leadsCreated = counters("leads_created_total",
		"Leads created, by how they were assigned at creation (rotation, fallback, explicit, rule, returning_owner, held, waiting, deferred, no_eligible_member, no_rotation).", "assignment")
	m.leadsAssigned = counters("leads_assigned_total",
		"Leads given a new assignee: at creation by assignment reason; later by what moved them (pending, manual, returned, sla_expired).", "reason")
	m.leadsDeferred = counter("leads_deferred_total", "Leads stored without a turn because their rotation did not answer, to be assigned later.")
	m.leadsWaiting = counter("leads_waiting_total", "Leads that started to wait for someone in their rotation to be able to take them.")
	m.leadsReturned = counters("leads_returned_total", "Upserts that found an existing lead (returning contacts), by what matched.", "match_by")
	m.turns = counter("rotation_turns_total", "Rotation turns that gave a lead to a member and were kept.")
	m.skips = counters("rotation_skips_total", "Members a kept rotation turn passed over, by why (paused, daily_cap, outside_hours, …).", "reason")
	m.slaExpiries = counters("sla_expiries_total", "SLA clocks that ran out, by what happened (reassigned, fallback, hold, keep).", "action")
	m.configLoads = counter("config_loads_total", "Account configurations (re)loaded into the server's cache after a change.")

	m.dbCalls = histograms("db_query_duration_seconds", "Database calls by statement kind, and how long they took.", requestBuckets, "op")
	m.dbErrors = counters("db_query_errors_total", "Database calls that failed, by statement kind.", "op")
	m.redisCalls = histograms("redis_command_duration_seconds", "Redis commands by name, and how long they took.", redisBuckets, "command")
	m.redisErrs = counters("redis_command_errors_total", "Redis commands that failed (a missing key is not a failure), by name.", "command")

	m.outboxLag = histogram("outbox_lag_seconds",
		"How long after its change committed an event left the outbox for its webhook endpoints, handler and mail.", lagBuckets)
	m.deliveries = counters("webhook_deliveries_total", "Webhook delivery attempts, by outcome (succeeded, failed).", "outcome")
	m.deliveryDuration = histogram("webhook_delivery_duration_seconds", "How long webhook delivery attempts took.", requestBuckets)
	m.disabled = counter("webhook_endpoints_disabled_total", "Webhook endpoints disabled after their deliveries kept failing.")
	m.handOffs = counters("outbox_handoffs_total",
		"New leads' events handed to the fan-out of the server that committed them, by how it ended (posted; left_to_job: the server stopping, overloaded, or failing, so any server runs their job).", "outcome")
	return m
}

// Registry returns the registry, for a test or a caller that adds its own
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus's text (or OpenMetrics) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true,
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelWarn)})
}

// ObserveRequest records one HTTP request: the pattern of the route that
// served it ("" when none did), its method and status, and how long it
// took.
func (m *Metrics) ObserveRequest(route, method string, status int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, knownMethod(method), strconv.Itoa(status)).Observe(took.Seconds())
}

// Instrument measures the requests next serves as those of route (the
// console, which routes its pages itself).
func (m *Metrics) Instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		m.ObserveRequest(route, r.Method, rec.status(), time.Since(start))
	})
}

// knownMethod is method, or OTHER for one a client made up.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return method
	}
	return "OTHER"
}

// statusRecorder remembers a response's status.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

var _ leads.Meter = (*Metrics)(nil)

// Count implements leads.Meter.
func (m *Metrics) Count(what leads.Measure, label string, n int) {
	v := float64(n)
	switch what {
	case leads.MeasureLeadCreated:
		m.leadsCreated.WithLabelValues(label).Add(v)
	case leads.MeasureLeadAssigned:
		m.leadsAssigned.WithLabelValues(label).Add(v)
	case leads.MeasureLeadDeferred:
		m.leadsDeferred.Add(v)
	case leads.MeasureLeadWaiting:
		m.leadsWaiting.Add(v)
	case leads.MeasureLeadReturned:
		m.leadsReturned.WithLabelValues(label).Add(v)
	case leads.MeasureRotationTurn:
		m.turns.Add(v)
	case leads.MeasureRotationSkip:
		m.skips.WithLabelValues(label).Add(v)
	case leads.MeasureSLAExpired:
		m.slaExpiries.WithLabelValues(label).Add(v)
	case leads.MeasureConfigLoad:
		m.configLoads.Add(v)
	}
}

// queryStart is what QueryStart keeps in a database call's context.
type queryStart struct {
	op string
	at time.Time
}

type queryStartKey struct{}

// QueryStart implements store.QueryHook: it notes when the call started.
func (m *Metrics) QueryStart(ctx context.Context, op, _ string) context.Context {
	return context.WithValue(ctx, queryStartKey{}, queryStart{op: op, at: time.Now()})
}

// QueryEnd implements store.QueryHook: it records the call's time, and its
// failure.
func (m *Metrics) QueryEnd(ctx context.Context, err error) {
	s, ok := ctx.Value(queryStartKey{}).(queryStart)
	if !ok {
		return
	}
	m.dbCalls.WithLabelValues(s.op).Observe(time.Since(s.at).Seconds())
	if err != nil {
		m.dbErrors.WithLabelValues(s.op).Inc()
	}
}

// EventFannedOut implements webhooks.Meter.
func (m *Metrics) EventFannedOut(lag time.Duration) { m.outboxLag.Observe(max(0, lag.Seconds())) }

// DeliveryAttempted implements webhooks.Meter.
func (m *Metrics) DeliveryAttempted(succeeded bool, took time.Duration) {
	outcome := "failed"
	if succeeded {
		outcome = "succeeded"
	}
	m.deliveries.WithLabelValues(outcome).Inc()
	m.deliveryDuration.Observe(took.Seconds())
}

// EndpointDisabled implements webhooks.Meter.
func (m *Metrics) EndpointDisabled() { m.disabled.Inc() }

// HandOffEnded implements webhooks.HandOffMeter.
func (m *Metrics) HandOffEnded(posted bool) {
	outcome := "left_to_job"
	if posted {
		outcome = "posted"
	}
	m.handOffs.WithLabelValues(outcome).Inc()
}

// WatchDBPools exports the statistics of the database pools (go_sql_*
// metrics, labelled db_name by pool name).
func (m *Metrics) WatchDBPools(pools map[string]*sql.DB) {
	for name, db := range pools {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
}

// WatchBacklog exports, as the gauge leadrotor_leads_awaiting_assignment,
// the leads waiting for an assignment by status (pending, waiting), which
// count reads at each scrape (within 5 s).
func (m *Metrics) WatchBacklog(count func(ctx context.Context) (map[string]int64, error)) {
	m.reg.MustRegister(&backlog{count: count, log: m.log,
		desc: prometheus.NewDesc(namespace+"_leads_awaiting_assignment",
			"Leads of every account waiting for an assignment, by status: pending (deferred while the rotation did not answer), waiting (nobody could take them yet).",
			[]string{"status"}, nil)})
}

// backlog is the collector of WatchBacklog.
type backlog struct {
	count func(ctx context.Context) (map[string]int64, error)
	log   *slog.Logger
	desc  *prometheus.Desc
}

func (b *backlog) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := b.count(ctx)
	if err != nil {
		// Left out of this scrape: Prometheus marks the series stale
		// rather than showing a made-up zero.
		b.log.Warn("metrics: count leads awaiting assignment", "err", err)
		return
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, float64(n), status)
	}
}
