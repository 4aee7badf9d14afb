package app

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadrotor/leadrotor/console"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/metrics"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/webhooks"
)

// openMetrics makes the process's metrics, when they are on.
func (m *Main) openMetrics() {
	if m.cfg.Metrics {
		m.metrics = metrics.New(m.log)
	}
}

// meterStore returns the store options that time its calls.
func (m *Main) meterStore() []store.Option {
	if m.metrics == nil {
		return nil
	}
	return []store.Option{store.WithQueryTimer(m.metrics.ObserveQuery)}
}

// meterWebhooks makes the job runner count its deliveries.
func (m *Main) meterWebhooks(opts *webhooks.Options) {
	if m.metrics != nil {
		opts.Meter = m.metrics
	}
}

// watchStore exports the store's pools and backlog.
func (m *Main) watchStore(st *store.Store) {
	if m.metrics != nil {
		m.metrics.WatchDBPools(st.Pools())
		m.metrics.WatchBacklog(st.AssignmentBacklog)
	}
}

// watchRedis times client's commands and exports its pool.
func (m *Main) watchRedis(client *redis.Client) {
	if m.metrics != nil {
		client.AddHook(m.metrics.RedisHook())
		m.metrics.WatchRedisPool(client.PoolStats)
	}
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

// mux serves the API, the console beside it (nil: none) and, unless they
// have a listener of their own, the metrics.
func (m *Main) mux(api http.Handler, con *console.Console) http.Handler {
	if con == nil && (m.metrics == nil || m.cfg.MetricsAddr != "") {
		return api
	}
	mux := http.NewServeMux()
	if con != nil {
		var pages http.Handler = con
		if m.metrics != nil {
			pages = m.metrics.Instrument(console.Prefix, con)
		}
		mux.Handle(console.Prefix+"/", pages)
		mux.Handle(console.Prefix, pages)
	}
	if m.metrics != nil && m.cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", m.metrics.Handler())
	}
	mux.Handle("/", api)
	return mux
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
	mux.Handle("GET /metrics", m.metrics.Handler())
	m.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = m.metricsSrv.Serve(ln) }()
	m.log.Info("metrics listening", "addr", ln.Addr().String())
	return nil
}
