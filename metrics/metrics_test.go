package metrics_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/metrics"
	"github.com/leadrotor/leadrotor/webhooks"
)

// The server's metrics count what its webhook runner does, hand-offs
// included.
var (
	_ webhooks.Meter        = (*metrics.Metrics)(nil)
	_ webhooks.HandOffMeter = (*metrics.Metrics)(nil)
)

// noDB is a driver.Connector that never connects: pools' statistics need
// a *sql.DB, not a database.
type noDB struct{}

func (noDB) Connect(context.Context) (driver.Conn, error) { return nil, errors.New("no database") }
func (noDB) Driver() driver.Driver                        { return nil }

// full returns metrics with every optional collector watched.
func full(t *testing.T) *metrics.Metrics {
	t.Helper()
	m := metrics.New(nil)
	db := sql.OpenDB(noDB{})
	t.Cleanup(func() { _ = db.Close() })
	m.WatchDBPools(map[string]*sql.DB{"main": db})
	m.WatchBacklog(func(context.Context) (map[string]int64, error) {
		return map[string]int64{"pending": 2, "waiting": 1}, nil
	})
	m.WatchRedisPool(func() *redis.PoolStats { return &redis.PoolStats{TotalConns: 3} })
	return m
}

// exported returns the name of every metric m can export, counted or not.
func exported(m *metrics.Metrics) map[string]bool {
	descs := make(chan *prometheus.Desc, 1024)
	m.Registry().Describe(descs)
	close(descs)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range descs {
		if match := fqName.FindStringSubmatch(d.String()); match != nil {
			names[match[1]] = true
		}
	}
	return names
}

// Every metric the dashboard's queries name is one the server exports:
// a renamed metric cannot leave the dashboard empty unnoticed.
func TestDashboardNamesExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash))
	require.NotEmpty(t, dash.Panels)
	names := exported(full(t))
	metric := regexp.MustCompile(`\b(?:leadrotor|go|process)_[a-z_]+\b`)
	used := 0
	for _, p := range dash.Panels {
		require.NotEmpty(t, p.Targets, p.Title)
		for _, target := range p.Targets {
			for _, name := range metric.FindAllString(target.Expr, -1) {
				base := name
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if trimmed := strings.TrimSuffix(name, suffix); trimmed != name && names[trimmed] {
						base = trimmed
					}
				}
				require.True(t, names[base], "panel %q names %s, which the server does not export", p.Title, name)
				used++
			}
		}
	}
	require.Positive(t, used)
	for _, name := range []string{"leadrotor_leads_created_total", "leadrotor_outbox_lag_seconds", "go_sql_wait_count_total"} {
		require.True(t, names[name], name)
	}
}

// What the server reports reads back through Read and Sum as counted.
func TestCountsReadBack(t *testing.T) {
	m := full(t)
	m.Count(leads.MeasureLeadCreated, leads.AssignRotation, 3)
	m.Count(leads.MeasureLeadCreated, leads.AssignDeferred, 1)
	m.Count(leads.MeasureRotationSkip, leads.SkipPaused, 2)
	m.ObserveRequest("/leads", "POST", 201, time.Millisecond)
	m.ObserveRequest("", "BREW", 404, time.Millisecond)
	m.QueryEnd(m.QueryStart(context.Background(), "INSERT", "INSERT INTO leads"), errors.New("boom"))
	m.QueryEnd(m.QueryStart(context.Background(), "SELECT", "SELECT 1"), nil)
	m.DeliveryAttempted(true, time.Millisecond)
	m.DeliveryAttempted(false, time.Millisecond)
	m.EventFannedOut(-time.Second) // a clock behind: no negative lag
	m.HandOffEnded(true)
	m.HandOffEnded(true)
	m.HandOffEnded(false)

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	s, err := metrics.Read(context.Background(), srv.Client(), srv.URL, "")
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"leadrotor_leads_created_total", nil, 4},
		{"leadrotor_leads_created_total", map[string]string{"assignment": "deferred"}, 1},
		{"leadrotor_rotation_skips_total", map[string]string{"reason": "paused"}, 2},
		{"leadrotor_http_request_duration_seconds", map[string]string{"route": "/leads", "code": "201"}, 1},
		{"leadrotor_http_request_duration_seconds", map[string]string{"route": "unmatched", "method": "OTHER"}, 1},
		{"leadrotor_db_query_errors_total", nil, 1},
		{"leadrotor_db_query_duration_seconds", nil, 2},
		{"leadrotor_webhook_deliveries_total", map[string]string{"outcome": "failed"}, 1},
		{"leadrotor_outbox_lag_seconds", nil, 1},
		{"leadrotor_outbox_handoffs_total", map[string]string{"outcome": "posted"}, 2},
		{"leadrotor_outbox_handoffs_total", map[string]string{"outcome": "left_to_job"}, 1},
		{"leadrotor_leads_awaiting_assignment", map[string]string{"status": "pending"}, 2},
		{"leadrotor_redis_pool_connections", nil, 3},
		{"leadrotor_sla_expiries_total", nil, 0},
	} {
		require.Equal(t, tc.want, s.Sum(tc.name, tc.labels), "%s%v", tc.name, tc.labels)
	}
	require.Zero(t, s["leadrotor_outbox_lag_seconds"].GetMetric()[0].GetHistogram().GetSampleSum())
}

// Names, units and help follow Prometheus's conventions, as its linter
// (promtool check metrics) reads them.
func TestMetricsFollowConventions(t *testing.T) {
	m := full(t)
	m.Count(leads.MeasureLeadCreated, leads.AssignRotation, 1)
	m.Count(leads.MeasureLeadAssigned, leads.AssignRotation, 1)
	m.Count(leads.MeasureLeadReturned, leads.MatchEmail, 1)
	m.Count(leads.MeasureRotationSkip, leads.SkipPaused, 1)
	m.Count(leads.MeasureSLAExpired, leads.SLAReassigned, 1)
	m.ObserveRequest("/leads", "POST", 201, time.Millisecond)
	m.QueryEnd(m.QueryStart(context.Background(), "INSERT", ""), errors.New("boom"))
	m.DeliveryAttempted(true, time.Millisecond)
	m.HandOffEnded(true)
	problems, err := testutil.GatherAndLint(m.Registry())
	require.NoError(t, err)
	require.Empty(t, problems)
}
