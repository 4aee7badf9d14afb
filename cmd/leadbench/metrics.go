package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/metrics"
)

// metricsSettle bounds how long --check-metrics waits for the servers'
// counters to catch up with the last answers: a request is counted once
// its response is written, a moment after the client has read it.
const metricsSettle = 5 * time.Second

// metricsReport is what --check-metrics found: each counter of the
// servers (summed over them) against the load's own count of the same.
type metricsReport struct {
	Checks     []metricCheck `json:"checks"`
	Mismatches int           `json:"mismatches"`
}

// metricCheck is one counter's increase over the measured runs, on the
// servers and by the load's count.
type metricCheck struct {
	Metric string            `json:"metric"`
	Labels map[string]string `json:"labels,omitempty"`
	Server float64           `json:"server"`
	Load   int64             `json:"load"`
}

// scrapeServers reads every server's /metrics.
func scrapeServers(ctx context.Context, t *benchTarget) ([]metrics.Scrape, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	urls := t.urls
	if len(urls) == 0 {
		urls = []string{t.url} // the server leadbench started
	}
	out := make([]metrics.Scrape, len(urls))
	for i, u := range urls {
		s, err := metrics.Read(ctx, client, u+"/metrics", t.metricsToken)
		if err != nil {
			return nil, fmt.Errorf("--check-metrics: %w", err)
		}
		out[i] = s
	}
	return out, nil
}

// expectedCounts returns the counters the servers must have increased by
// over the measured runs of rep, by the load's own counts.
func expectedCounts(rep *benchReport, idempotent bool) []metricCheck {
	runs := []*benchReport{rep}
	if rep.Mixed != nil {
		runs = append(runs, rep.Mixed.Fairness)
	}
	var created, assigned int64
	statuses := map[string]int64{}
	for _, r := range runs {
		created += r.Created
		assigned += r.Created - r.counts[""]
		for status, n := range r.Errors {
			if _, err := strconv.Atoi(status); err == nil {
				statuses[status] += n
			}
		}
	}
	checks := []metricCheck{
		{Metric: "leadrotor_leads_created_total", Load: created},
		{Metric: "leadrotor_rotation_turns_total", Load: assigned},
		{Metric: "leadrotor_leads_assigned_total", Labels: map[string]string{"reason": "rotation"}, Load: assigned},
	}
	// A request sent again after no answer may have been answered twice:
	// the load counts the answer it read.
	if !idempotent {
		statuses["201"] = created
		for _, status := range slices.Sorted(maps.Keys(statuses)) {
			checks = append(checks, metricCheck{Metric: "leadrotor_http_request_duration_seconds",
				Labels: map[string]string{"route": "/leads", "method": "POST", "code": status}, Load: statuses[status]})
		}
	}
	if h := rep.Webhooks; h != nil {
		checks = append(checks, metricCheck{Metric: "leadrotor_webhook_deliveries_total",
			Labels: map[string]string{"outcome": "succeeded"}, Load: h.Received + h.Repeats})
	}
	return checks
}

// checkMetrics compares the servers' counters' increase since before with
// the load's counts of rep, scraping again until they agree or
// metricsSettle passes.
func checkMetrics(ctx context.Context, t *benchTarget, before []metrics.Scrape, rep *benchReport, idempotent bool) (*metricsReport, error) {
	give := time.Now().Add(metricsSettle)
	for {
		after, err := scrapeServers(ctx, t)
		if err != nil {
			return nil, err
		}
		out := &metricsReport{}
		for _, c := range expectedCounts(rep, idempotent) {
			for i := range after {
				c.Server += after[i].Sum(c.Metric, c.Labels) - before[i].Sum(c.Metric, c.Labels)
			}
			if c.Server != float64(c.Load) {
				out.Mismatches++
			}
			out.Checks = append(out.Checks, c)
		}
		if out.Mismatches == 0 || time.Now().After(give) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// print writes the checks, one a line.
func (r *metricsReport) print(w io.Writer) {
	verdict := "every counter matches the load's counts"
	if r.Mismatches > 0 {
		verdict = fmt.Sprintf("%d counters do NOT match the load's counts", r.Mismatches)
	}
	fmt.Fprintf(w, "  metrics         %s\n", verdict)
	for _, c := range r.Checks {
		mark := "="
		if c.Server != float64(c.Load) {
			mark = "≠"
		}
		fmt.Fprintf(w, "    %s%s: server %.0f %s load %d\n", c.Metric, selector(c.Labels), c.Server, mark, c.Load)
	}
}

// selector writes labels as PromQL does: {code="201",method="POST"}.
func selector(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	return "{" + b.String() + "}"
}

// startOTLPSink starts an OTLP/HTTP receiver on 127.0.0.1 that reads each
// export and drops it, and points the OTEL_* variables of this process
// (read by the server leadbench starts) at it, sampling every request
// unless OTEL_TRACES_SAMPLER says otherwise. It returns how to stop it.
func startOTLPSink() (func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("--otlp-sink: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK) // an empty ExportTraceServiceResponse
	})}
	go func() { _ = srv.Serve(ln) }()
	set := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + ln.Addr().String(),
		"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
	if os.Getenv("OTEL_TRACES_SAMPLER") == "" {
		set["OTEL_TRACES_SAMPLER"] = "parentbased_always_on" // every request, unless asked otherwise
	}
	old := map[string]*string{}
	restore := func() {
		for k, v := range old {
			if v == nil {
				_ = os.Unsetenv(k)
			} else {
				_ = os.Setenv(k, *v)
			}
		}
	}
	for k, v := range set {
		if was, ok := os.LookupEnv(k); ok {
			old[k] = &was
		} else {
			old[k] = nil
		}
		if err := os.Setenv(k, v); err != nil {
			restore()
			_ = srv.Close()
			return nil, fmt.Errorf("--otlp-sink: %w", err)
		}
	}
	return func() {
		restore()
		_ = srv.Close()
	}, nil
}
