package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// Issue 11, item 7: leadbench starts leadrotor in its own process, drives it
// and reports; a short run of a few leads on a throwaway SQLite file.
func TestIssue11_07_LeadbenchInProcess(t *testing.T) {
	t.Parallel()
	rep, errs := runInProcess(t, "-c", "2", "-n", "14", "-d", "30s", "--preload", "50")
	require.GreaterOrEqual(t, rep.Created, int64(14))
	require.Zero(t, rep.Unassigned)
	require.Len(t, rep.Members, 7, "the bench rotation's 7 reps")
	require.Contains(t, errs, "stored 50 leads")
}

// jsonReport is what the tests read of leadbench --json.
type jsonReport struct {
	Target       string  `json:"target"`
	Rules        int     `json:"rules"`
	Created      int64   `json:"created"`
	Unassigned   int64   `json:"unassigned"`
	MaxDeviation float64 `json:"maxDeviation"`
	Members      []struct {
		User  string `json:"user"`
		Leads int64  `json:"leads"`
	} `json:"members"`
	Webhooks  *hookReport      `json:"webhooks"`
	Metrics   *metricsReport   `json:"metrics"`
	Exactness *exactnessReport `json:"exactness"`
}

// runInProcess runs leadbench with args, --json and --quiet on a
// throwaway SQLite file, and returns its report and what it wrote to stderr.
func runInProcess(t *testing.T, args ...string) (jsonReport, string) {
	t.Helper()
	var out, errs bytes.Buffer
	cmd := newRootCmd(&out, &errs)
	db := "file:" + filepath.Join(t.TempDir(), "bench.db")
	cmd.SetArgs(append([]string{"--database-url", db, "--json", "--quiet"}, args...))
	require.NoError(t, cmd.ExecuteContext(context.Background()), "%s", errs.String())
	var rep jsonReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "%s", out.String())
	return rep, errs.String()
}

// The flags that leadbench shares with leadrotor are read the same strict way.
func TestIssue11_07_LeadbenchRefusesBadSettings(t *testing.T) {
	t.Parallel()
	cmd := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	cmd.SetArgs([]string{"--target", "baseline", "--database-url", "file:" + filepath.Join(t.TempDir(), "x.db"), "-d", "1s"})
	require.ErrorContains(t, cmd.ExecuteContext(context.Background()), "run them on PostgreSQL")
	cmd = newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	cmd.SetArgs([]string{"--url", "http://127.0.0.1:1", "-d", "1s"})
	require.ErrorContains(t, cmd.ExecuteContext(context.Background()), "--api-key and --account")
}

// Issue 13: the rules of --rules are tested in full by every lead the load
// sends, and only the last one routes it, to the bench rotation.
func TestIssue13_BenchRulesAreTestedInFull(t *testing.T) {
	t.Parallel()
	const n, rotation = 3, 7
	rules := benchRules(n, rotation)
	require.Len(t, rules, n+1)
	cfg := &leads.AccountConfig{Account: leads.Account{ID: "bench"}, DefaultRotation: &leads.Rotation{ID: rotation}}
	for _, worker := range []int{0, 5, 63} {
		var in leads.LeadInput
		require.NoError(t, json.Unmarshal(benchBody(&bytes.Buffer{}, &benchTarget{team: 1, source: 2}, worker, 12), &in))
		d, err := leads.EvaluateRules(cfg, rules, in)
		require.NoError(t, err)
		require.Len(t, d.Rules, n+1)
		for _, r := range d.Rules[:n] {
			require.Equal(t, leads.RuleNotMatched, r.Outcome, "%+v", r)
			require.Equal(t, fmt.Sprintf("conditions.all[%d]", benchRuleTests-1), r.FailedCondition, "the last test decides: %+v", r)
		}
		require.Equal(t, leads.RuleMatched, d.Rules[n].Outcome)
		require.Equal(t, &leads.RuleAction{Type: leads.ActionRotation, RotationID: rotation}, d.Action)
	}
	require.Empty(t, benchRules(0, rotation), "no rules: no last rule either")
}

// Issue 13: leadbench --rules creates the rules before the load, and the
// leads are still assigned by the bench rotation's turns.
func TestIssue13_LeadbenchWithRules(t *testing.T) {
	t.Parallel()
	rep, _ := runInProcess(t, "-c", "2", "-n", "14", "-d", "30s", "--rules", "4")
	require.Equal(t, 4, rep.Rules)
	require.Contains(t, rep.Target, "4 routing rules")
	require.GreaterOrEqual(t, rep.Created, int64(14))
	require.Zero(t, rep.Unassigned)
	require.LessOrEqual(t, rep.MaxDeviation, 1.0)
	require.Len(t, rep.Members, 7, "the bench rotation's 7 reps")

	cmd := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	cmd.SetArgs([]string{"--rules", "200", "-d", "1s"})
	require.ErrorContains(t, cmd.ExecuteContext(context.Background()), "rules 200: must be from 0 to 199")
}

// leadbench --webhooks registers endpoints on a receiver of its own for
// lead.assigned and counts each assigned lead's delivery to each, with
// its lag.
func TestLeadbenchWebhooks(t *testing.T) {
	t.Parallel()
	rep, _ := runInProcess(t, "-c", "2", "-n", "10", "-d", "30s", "--webhooks", "2")
	require.Contains(t, rep.Target, "2 webhook endpoints")
	require.Zero(t, rep.Unassigned)
	h := rep.Webhooks
	require.NotNil(t, h)
	require.Equal(t, 2, h.Endpoints)
	require.Equal(t, 2*rep.Created, h.Expected, "one delivery per assigned lead and endpoint")
	require.Equal(t, h.Expected, h.Received)
	require.Positive(t, h.LagMS.P50)
	require.GreaterOrEqual(t, h.LagMS.Max, h.LagMS.P99)

	cmd := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	cmd.SetArgs([]string{"--webhooks", "101", "-d", "1s"})
	require.ErrorContains(t, cmd.ExecuteContext(context.Background()), "webhooks 101: must be from 0 to 100")
}

// leadbench --check-metrics reads the server's /metrics before and after
// the load: every counter it checks grew by exactly the load's own count,
// webhook deliveries included; a counter that differs fails the run.
func TestLeadbenchCheckMetrics(t *testing.T) {
	t.Parallel()
	rep, _ := runInProcess(t, "-c", "4", "-n", "40", "-d", "30s", "--webhooks", "2", "--check-metrics")
	m := rep.Metrics
	require.NotNil(t, m)
	require.Zero(t, m.Mismatches, "%+v", m.Checks)
	names := map[string]float64{}
	for _, c := range m.Checks {
		names[c.Metric] += c.Server
	}
	require.EqualValues(t, rep.Created, names["leadrotor_leads_created_total"])
	require.EqualValues(t, 2*rep.Created, names["leadrotor_webhook_deliveries_total"])
	require.Contains(t, names, "leadrotor_http_request_duration_seconds")

	// A count the server does not keep is a mismatch, reported and failed.
	rp := &benchReport{Created: 3, counts: map[string]int64{}, Errors: map[string]int64{}}
	checks := expectedCounts(rp, false)
	require.Contains(t, checks, metricCheck{Metric: "leadrotor_http_request_duration_seconds",
		Labels: map[string]string{"route": "/leads", "method": "POST", "code": "201"}, Load: 3})

	cmd := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	cmd.SetArgs([]string{"--target", "baseline", "--check-metrics", "-d", "1s"})
	require.ErrorContains(t, cmd.ExecuteContext(context.Background()), "only leadrotor has metrics")
}

// --metrics=false and --otlp-sink change the server leadbench starts, and
// say so in the report's target. Not parallel: --otlp-sink sets the
// process's OTEL_* variables while it runs.
func TestLeadbenchObservability(t *testing.T) {
	rep, _ := runInProcess(t, "-c", "2", "-n", "10", "-d", "30s", "--metrics=false", "--otlp-sink")
	require.Contains(t, rep.Target, "metrics off")
	require.Contains(t, rep.Target, "traces exported to a local OTLP sink")
	require.GreaterOrEqual(t, rep.Created, int64(10))
}

// /proc/PID/stat's CPU times are read past the command name, whatever it
// holds.
func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		line string
		want time.Duration
	}{
		{"123 (postgres) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0", 3 * time.Second},
		{"77 (a b) c)) R 1 2 3 4 5 6 7 8 9 10 7 3 40 50 20 0", time.Second},
	} {
		got, err := parseStat([]byte(tc.line))
		require.NoError(t, err)
		require.Equal(t, tc.want, got, tc.line)
	}
	_, err := parseStat([]byte("1 (x) S 1 2"))
	require.Error(t, err)
}

// --target insert serves the least a create can be on PostgreSQL, and the
// report says the CPU each lead cost, PostgreSQL's included.
func TestLeadbenchInsertTarget(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresSchemaDSN(t)
	if dsn == "" {
		t.Skip("needs PostgreSQL")
	}
	var out, errs bytes.Buffer
	cmd := newRootCmd(&out, &errs)
	cmd.SetArgs([]string{"--target", "insert", "--database-url", dsn, "-c", "4", "-n", "200", "-d", "30s", "--json", "--quiet"})
	require.NoError(t, cmd.ExecuteContext(context.Background()), "%s", errs.String())
	var rep struct {
		Target  string     `json:"target"`
		Created int64      `json:"created"`
		CPU     *cpuReport `json:"cpu"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "%s", out.String())
	require.Contains(t, rep.Target, "insert: one row a request")
	require.GreaterOrEqual(t, rep.Created, int64(200))
	require.NotNil(t, rep.CPU)
	require.Equal(t, "leadbench (server and load)", rep.CPU.Server)
	require.Positive(t, rep.CPU.PostgresUS, "every insert costs PostgreSQL something")
}

// The fairness of a run after a warmup is judged over every lead since the
// rotation began: the run's leads alone are a window of smooth weighted
// round-robin that starts mid-sequence, which may deviate by more than 1
// where no prefix of it does.
func TestFairnessCountsTheWarmup(t *testing.T) {
	t.Parallel()
	weights := map[string]int{}
	var users []string
	sum := 0
	for i, w := range benchWeights {
		u := fmt.Sprintf("rep%d", i)
		weights[u], users, sum = w, append(users, u), sum+w
	}
	// Smooth weighted round-robin's sequence, as the rotation takes turns.
	var seq []string
	cur := make([]int, len(users))
	for range 200 {
		best := 0
		for i, u := range users {
			cur[i] += weights[u]
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= sum
		seq = append(seq, users[best])
	}
	report := func(turns []string) *benchReport {
		r := &benchReport{counts: map[string]int64{}, Created: int64(len(turns))}
		for _, u := range turns {
			r.counts[u]++
		}
		return r
	}
	worst, split, end := 0.0, 0, 0
	for a := 1; a < 40; a++ {
		for b := a + 1; b <= len(seq); b++ {
			r := report(seq[a:b])
			r.distribution(weights)
			if r.MaxDeviation > worst {
				worst, split, end = r.MaxDeviation, a, b
			}
		}
	}
	require.Greater(t, worst, 1.0, "some window of the sequence deviates by more than 1")
	run := report(seq[split:end])
	run.distribution(weights, report(seq[:split]))
	require.Less(t, run.MaxDeviation, 1.0, "since the rotation began, it does not")
	require.EqualValues(t, end, func() (n int64) {
		for _, m := range run.Members {
			n += m.Leads
		}
		return n
	}(), "the members' leads count the warmup's")
}

// TestLeadbenchRate: with --rate, leadbench sends no more leads than the
// rate allows over the run (as fast as they go, its clients send far more
// in a second), and says the rate it held to; a rate that is not one is
// refused.
func TestLeadbenchRate(t *testing.T) {
	t.Parallel()
	var out, errs bytes.Buffer
	cmd := newRootCmd(&out, &errs)
	db := "file:" + filepath.Join(t.TempDir(), "bench.db")
	cmd.SetArgs([]string{"--database-url", db, "--json", "--quiet", "-c", "4", "-d", "1s", "--rate", "50"})
	require.NoError(t, cmd.ExecuteContext(context.Background()), "%s", errs.String())
	var rep struct {
		Rate     float64 `json:"rate"`
		Requests int64   `json:"requests"`
		Created  int64   `json:"created"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep), "%s", out.String())
	require.Equal(t, 50.0, rep.Rate)
	require.Positive(t, rep.Created)
	require.LessOrEqual(t, rep.Requests, int64(51), "a lead every 20 ms for a second, the first at once")
	for _, bad := range []string{"-1", "NaN", "2000000"} {
		cmd := newRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
		cmd.SetArgs([]string{"--database-url", "file:" + filepath.Join(t.TempDir(), "x.db"), "-d", "1s", "--rate", bad})
		require.ErrorContains(t, cmd.ExecuteContext(context.Background()), "rate", bad)
	}
}
