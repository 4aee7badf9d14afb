package app

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadrotor/leadrotor/console"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/metrics"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/tracing"
	"github.com/leadrotor/leadrotor/webhooks"
)

// openObservers makes the process's metrics, when they are on, and its
// tracing, when a server is opened and the OTEL_* variables ask for it;
// a traced server's log lines name their request's trace.
func (m *Main) openObservers(ctx context.Context) error {
	if m.cfg.Metrics {
		m.metrics = metrics.New(m.log)
	}
	m.tracing = &tracing.Tracing{}
	if !m.serving {
		return nil
	}
	t, err := tracing.FromEnv(ctx, os.Getenv, buildVersion())
	if err != nil {
		return err
	}
	m.tracing = t
	if t.Enabled() {
		m.log = slog.New(tracing.LogHandler(m.log.Handler()))
		m.log.Info("tracing: exporting spans by OTLP")
	}
	return nil
}

// buildVersion is the binary's module version ("(devel)" from a checkout).
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		return info.Main.Version
	}
	return "unknown"
}

// observeStore returns the store options that time and trace its calls.
func (m *Main) observeStore() []store.Option {
	var hooks []store.QueryHook
	if m.metrics != nil {
		hooks = append(hooks, m.metrics)
	}
	if d, err := store.DialectOf(m.cfg.DatabaseURL); err == nil && m.tracing.Enabled() {
		hooks = append(hooks, m.tracing.QueryHook(map[store.Dialect]string{store.Postgres: "postgresql", store.SQLite: "sqlite"}[d]))
	}
	if len(hooks) == 0 {
		return nil
	}
	return []store.Option{store.WithQueryHooks(hooks...)}
}

// observeWebhooks makes the job runner count and trace its deliveries.
func (m *Main) observeWebhooks(opts *webhooks.Options) {
	if m.metrics != nil {
		opts.Meter = m.metrics
	}
	if m.tracing.Enabled() {
		opts.Transport = m.tracing.Transport
	}
}

// watchStore exports the store's pools and backlog.
func (m *Main) watchStore(st *store.Store) {
	if m.metrics != nil {
		m.metrics.WatchDBPools(st.Pools())
		m.metrics.WatchBacklog(st.AssignmentBacklog)
	}
}

// observeRedis times and traces client's commands and exports its pool.
func (m *Main) observeRedis(client redis.UniversalClient) error {
	if m.metrics != nil {
		client.AddHook(m.metrics.RedisHook())
		m.metrics.WatchRedisPool(client.PoolStats)
	}
	return m.tracing.InstrumentRedis(client)
}

// meterService returns the Service options that count what it does.
func (m *Main) meterService() []leads.Option {
	if m.metrics == nil {
		return nil
	}
	return []leads.Option{leads.WithMeter(m.metrics)}
}

// observeRequest is httpapi's request observer, nil without metrics.
func (m *Main) observeRequest() func(route, method string, status int, took time.Duration) {
	if m.metrics == nil {
		return nil
	}
	return m.metrics.ObserveRequest
}

// onRoute is httpapi's route hook, nil without tracing.
func (m *Main) onRoute() func(r *http.Request, pattern string) {
	if !m.tracing.Enabled() {
		return nil
	}
	return m.tracing.NameRoute
}

// mux serves the API, the console beside it (nil: none) and, unless they
// have a listener of their own, the metrics.
func (m *Main) mux(api http.Handler, con *console.Console) http.Handler {
	if con == nil && (m.metrics == nil || m.cfg.MetricsAddr != "") {
		return m.tracing.Handler(api)
	}
	mux := http.NewServeMux()
	if con != nil {
		var pages http.Handler = con
		if m.metrics != nil {
			pages = m.metrics.Instrument(console.Prefix, con)
		}
		if m.tracing.Enabled() {
			named := pages
			pages = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.tracing.NameRoute(r, console.Prefix)
				named.ServeHTTP(w, r)
			})
		}
		mux.Handle(console.Prefix+"/", pages)
		mux.Handle(console.Prefix, pages)
	}
	if m.metrics != nil && m.cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", m.metricsHandler())
	}
	mux.Handle("/", api)
	return m.tracing.Handler(mux)
}

// listenMetrics serves the metrics on their own address, when they have
// one.
func (m *Main) listenMetrics() error {
	if m.metrics == nil || m.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.metricsHandler())
	m.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = m.metricsSrv.Serve(ln) }()
	m.log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}

// metricsHandler serves the metrics, to requests that carry the bearer
// token of --metrics-token when it is set: on the API's listener, the
// metrics would otherwise tell anyone every account's volumes.
func (m *Main) metricsHandler() http.Handler {
	h := m.metrics.Handler()
	token := m.cfg.MetricsToken
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token of --metrics-token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
