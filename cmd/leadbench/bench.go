package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/metrics"
	"github.com/leadrotor/leadrotor/store"
)

// maxBenchDuration bounds a run, whatever is asked.
const maxBenchDuration = 30 * time.Minute

// benchWeights are the weights of the bench rotation: those of the
// fairness test.
var benchWeights = []int{1, 1, 1, 1, 1, 2, 3}

// newRootCmd builds leadbench's command writing to stdout and stderr: it
// has no subcommands, the load generator is the whole of it.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "leadbench",
		Short: "Drive POST /leads with concurrent clients and report throughput, latency and fairness",
		Long: `Drive POST /leads with C concurrent clients for N leads or T seconds, whichever
comes first, and report throughput, latency percentiles, errors by status and the
assignment distribution against the weighted shares.

Without --url, leadbench starts a leadrotor server in its own process on
127.0.0.1 (on --database-url and --redis-url, read as leadrotor serve reads
them; by default a throwaway SQLite file) and creates an account with a
rotation of 7 reps weighted 1,1,1,1,1,2,3. --target baseline starts instead
the row-lock baseline on the same PostgreSQL database: the rotation's cursor is
a row that each lead locks (SELECT ... FOR UPDATE), advances, and commits with
the lead, the way CRMs commonly do it. --target insert starts the least a
create can be: a handler that decodes the body and inserts one row into leads
(no rotation, no audit, no checks), the reference for leadrotor's own cost.
Whichever it starts, the process's garbage collector runs as leadrotor
serve's does (GOGC 200 unless the variable says otherwise).

Against leadrotor, each run also checks the rotation is exact: every turn a
201 numbered (rotationTurn), warmup included, is replayed against smooth
weighted round-robin over the rotation's members (rotation.Pick, the reference
of the Lua script); the report counts the turns that differ, the turns missing
or given twice, and the largest deviation of any prefix of the sequence from
the weighted shares (under 1 when exact). Its "max deviation" counts the
measured run's leads alone, a run of turns that starts mid-sequence, where an
exact rotation can be up to 2 off a share.

Each run reports the CPU time spent per lead created, read from /proc: by
the server (--server-pid, or leadbench's own process when it runs the server,
load included), and by every postgres and redis-server process of the
machine. At full speed a build that costs less per lead also creates more,
and the extra leads' contention moves what a lead costs; --rate R sends R
leads a second in all instead (an open loop: a lead waits from its time
when every client is busy, and its latency counts the wait), so that two
builds are compared at the same load, below the machine's limit.

With --url, leadbench drives a running server, or several (comma-separated: each
client sends its requests to them in turn, and a request that a server refuses
to connect, say while it restarts, goes to the next); the key, account, team and lead
source come from --api-key, --account, --team and --lead-source (or
LEADROTOR_API_KEY, LEADROTOR_ACCOUNT_ID, LEADROTOR_TEAM_ID,
LEADROTOR_LEAD_SOURCE_ID, as leadrotor demo --env prints them). --server-pid
samples that process's memory while the run lasts.

--rules N creates, before the load, N routing rules of 5 tests each that every
lead tests in full and none meets, then one that sends every lead to the bench
rotation: what routing rules cost the create path, at worst.

--webhooks N starts a receiver of N endpoints on 127.0.0.1 in leadbench's
process, registers them (POST /webhooks) for lead.assigned in the account
before driving, and reports after the run the deliveries received against
those owed (one per endpoint and assigned lead) and their lag, arrival minus
the event's timestamp. It waits for the last deliveries, at most until none
has come for 15 s. A server driven with --url must run with
--webhook-allow-private; the one leadbench starts allows them.`,
		Args:          cobra.NoArgs,
		RunE:          runBench,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	app.AddGlobalFlags(cmd)
	f := cmd.Flags()
	f.String("url", "", "running servers to drive, comma-separated; empty: start one")
	f.String("target", "leadrotor", "what to start without --url: leadrotor, baseline (the row-lock rotation CRMs use) or insert (one row a request, nothing else)")
	f.IntP("concurrency", "c", 64, "concurrent clients")
	f.IntP("count", "n", 0, "stop after this many leads (0: only the duration bounds the run)")
	f.Float64("rate", 0, "send this many leads a second in all, each at its time on the first free client, rather than as fast as the clients go (0): "+
		"an open loop, whose latencies count from each lead's time, and whose CPU a lead compares builds at the same load, below the machine's limit")
	f.DurationP("duration", "d", 30*time.Second, "stop after this long (at most 30m)")
	f.Duration("warmup", 0, "drive this long before measuring, then analyze the tables the load writes (PostgreSQL), as autovacuum would have")
	f.Bool("json", false, "print the report as JSON")
	f.Bool("quiet", false, "no progress lines")
	f.String("api-key", os.Getenv("LEADROTOR_API_KEY"), "API key (with --url)")
	f.String("account", os.Getenv("LEADROTOR_ACCOUNT_ID"), "account id (with --url)")
	f.Int64("team", envInt("LEADROTOR_TEAM_ID"), "team id of the leads (with --url)")
	f.Int64("lead-source", envInt("LEADROTOR_LEAD_SOURCE_ID"), "lead source id of the leads (with --url)")
	f.Int("server-pid", 0, "sample the resident memory and CPU time of this process (the server driven with --url)")
	f.Int("readers", 0, "mixed load: after a run of the writers alone, run them again beside this many clients paging GET /leads?limit=500 and searching, and compare")
	f.Int("preload", 0, "store this many leads in the bench account before driving (without --url)")
	f.String("cpuprofile", "", "write a CPU profile of leadbench's process (its own server included) over the driving run to this file")
	f.Bool("sla", false, "before driving, give the bench rotation an SLA (an hour to accept, on the working-hours clock): each lead writes its timer (issue 15)")
	f.Bool("availability", false, "before driving, give every rep a schedule of whole days, time off far ahead, a holiday calendar and a capacity too large to reach (issue 14): each lead reads them all")
	f.Int("rules", 0, "before driving, create this many enabled routing rules of 5 tests that no lead meets but every lead tests in full, and a last one that sends every lead to the bench rotation")
	f.Int("webhooks", 0, fmt.Sprintf("before driving, register this many webhook endpoints (at most %d) for lead.assigned on a receiver in leadbench's process, and report their deliveries and lag", maxBenchHooks))
	f.Bool("metrics", true, "the server leadbench starts counts metrics (--metrics=false: off, to measure what they cost)")
	f.Bool("otlp-sink", false, "start an OTLP receiver on 127.0.0.1 that drops what it gets, and have the server leadbench starts export its traces there (what tracing costs)")
	f.String("metrics-token", "", "the bearer token of servers run with --metrics-token, for --check-metrics (or LEADROTOR_METRICS_TOKEN)")
	f.Bool("check-metrics", false, "scrape every server's /metrics before and after the measured runs, compare its counters (leads created, turns, POST /leads by status, webhook deliveries) with the load's own counts, and fail on any difference")
	f.Bool("idempotent", false, "send each lead with an Idempotency-Key of its own, and send a request that got no answer (or 504 OUTCOME_UNKNOWN) again, to the next server, as a careful client does")
	return cmd
}

func envInt(name string) int64 {
	n, _ := strconv.ParseInt(os.Getenv(name), 10, 64)
	return n
}

// benchTarget is what a run drives.
type benchTarget struct {
	// url is the first server, urls all of them (requests go round).
	url          string
	urls         []string
	key, account string
	team, source int64
	weights      map[string]int // member -> weight, when known
	pid          int
	describe     string
	stop         func()
	// store is the database of a server bench started itself; nil with --url.
	store *store.Store
	// idempotent: each lead has an Idempotency-Key, and a request with no
	// answer is sent again (see postBench).
	idempotent bool
	// answers are those of every run driven (the warmup's too) that a
	// rotation's turn assigned, for the exactness check.
	answers []answer
	// metricsToken is the bearer token the servers' /metrics need.
	metricsToken string
	// noRotations: the target is a baseline, whose leads take no turns of
	// a leadrotor rotation.
	noRotations bool
}

func runBench(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	conc, _ := f.GetInt("concurrency")
	limit, _ := f.GetInt("count")
	dur, _ := f.GetDuration("duration")
	rate, _ := f.GetFloat64("rate")
	warmup, _ := f.GetDuration("warmup")
	asJSON, _ := f.GetBool("json")
	quiet, _ := f.GetBool("quiet")
	readers, _ := f.GetInt("readers")
	preload, _ := f.GetInt("preload")
	rules, _ := f.GetInt("rules")
	if rules < 0 || rules >= leads.MaxRoutingRules {
		return fmt.Errorf("rules %d: must be from 0 to %d (the last rule, which every lead meets, makes %d)",
			rules, leads.MaxRoutingRules-1, leads.MaxRoutingRules)
	}
	hooks, _ := f.GetInt("webhooks")
	if which, _ := f.GetString("target"); hooks != 0 && which != "leadrotor" {
		return errors.New("--webhooks: only leadrotor has webhooks")
	}
	if which, _ := f.GetString("target"); which != "leadrotor" {
		if check, _ := f.GetBool("check-metrics"); check {
			return errors.New("--check-metrics: only leadrotor has metrics")
		}
	}
	if hooks < 0 || hooks > maxBenchHooks {
		return fmt.Errorf("webhooks %d: must be from 0 to %d", hooks, maxBenchHooks)
	}
	if readers < 0 || readers > 4096 {
		return fmt.Errorf("readers %d: must be from 0 to 4096", readers)
	}
	if conc < 1 || conc > 4096 {
		return fmt.Errorf("concurrency %d: must be from 1 to 4096", conc)
	}
	if dur <= 0 || dur > maxBenchDuration {
		return fmt.Errorf("duration %s: must be positive and at most %s", dur, maxBenchDuration)
	}
	if math.IsNaN(rate) || rate < 0 || rate > maxBenchRate {
		return fmt.Errorf("rate %v: must be from 0 (as fast as the clients go) to %d leads a second", rate, maxBenchRate)
	}
	target, err := benchSetup(cmd)
	if err != nil {
		return err
	}
	defer target.stop()
	target.idempotent, _ = f.GetBool("idempotent")
	if target.store != nil {
		if on, _ := f.GetBool("metrics"); !on {
			target.describe += ", metrics off"
		}
		if sink, _ := f.GetBool("otlp-sink"); sink {
			target.describe += ", traces exported to a local OTLP sink"
		}
	}
	if preload > 0 {
		if target.store == nil {
			return errors.New("--preload needs the server leadbench starts itself (no --url)")
		}
		began := time.Now()
		if err := preloadLeads(cmd.Context(), target.store, target, preload); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "stored %d leads in %.1fs\n", preload, time.Since(began).Seconds())
	}
	if rules > 0 {
		if err := createBenchRules(cmd.Context(), target, rules); err != nil {
			return err
		}
		target.describe += fmt.Sprintf(", %d routing rules of %d tests before the one that routes", rules, benchRuleTests)
	}
	if availability, _ := f.GetBool("availability"); availability {
		if err := setBenchAvailability(cmd.Context(), target); err != nil {
			return err
		}
		target.describe += ", every rep with a schedule, time off and a holiday calendar"
	}
	if sla, _ := f.GetBool("sla"); sla {
		if err := setBenchSLA(cmd.Context(), target); err != nil {
			return err
		}
		target.describe += ", an SLA on the rotation"
	}

	progress := io.Writer(cmd.ErrOrStderr())
	if quiet {
		progress = io.Discard
	}
	var warm *benchReport // the warmup's leads moved the rotation first
	if warmup > 0 {
		fmt.Fprintf(progress, "warming up for %s\n", warmup)
		warm = drive(cmd.Context(), target, load{conc: conc, rate: rate}, 0, warmup, io.Discard)
		if err := analyzeBench(cmd.Context(), target.store); err != nil {
			return err
		}
	}
	if path, _ := f.GetString("cpuprofile"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stop()
	}
	// After the warmup, so that every delivery owed is of a lead measured.
	var sink *hookSink
	if hooks > 0 {
		var stop func()
		if sink, stop, err = startBenchHooks(cmd.Context(), target, hooks); err != nil {
			return err
		}
		defer stop()
		target.describe += fmt.Sprintf(", %d webhook endpoints for lead.assigned", hooks)
	}
	checkCounters, _ := f.GetBool("check-metrics")
	target.metricsToken, _ = f.GetString("metrics-token")
	if target.metricsToken == "" {
		target.metricsToken = os.Getenv("LEADROTOR_METRICS_TOKEN")
	}
	var scraped []metrics.Scrape
	if checkCounters {
		if scraped, err = scrapeServers(cmd.Context(), target); err != nil {
			return err
		}
	}
	fmt.Fprintf(progress, "driving %s with %d clients%s for %s%s\n", target.describe, conc, pacedAt(rate), dur,
		map[bool]string{true: fmt.Sprintf(" or %d leads", limit), false: ""}[limit > 0])
	rep := drive(cmd.Context(), target, load{conc: conc, rate: rate}, limit, dur, progress)
	if readers > 0 {
		fmt.Fprintf(progress, "driving again, beside %d readers paging and searching\n", readers)
		stop := startReaders(cmd.Context(), target, readers)
		mixed := drive(cmd.Context(), target, load{conc: conc, rate: rate}, limit, dur, progress)
		reads := stop()
		rep.Mixed = &mixedReport{Created: mixed.Created, PerSecond: mixed.PerSecond, LatencyMS: mixed.LatencyMS,
			Errors: mixed.Errors, RSSMB: mixed.RSSMB, Reads: reads}
		if rep.PerSecond > 0 {
			rep.Mixed.Kept = math.Round(mixed.PerSecond/rep.PerSecond*1000) / 1000
		}
		rep.Mixed.Fairness = mixed
	}
	if sink != nil {
		assigned := rep.Created - rep.counts[""]
		if rep.Mixed != nil {
			assigned += rep.Mixed.Fairness.Created - rep.Mixed.Fairness.counts[""]
		}
		fmt.Fprintln(progress, "waiting for the webhook deliveries")
		rep.Webhooks = sink.await(cmd.Context(), assigned*int64(hooks), progress)
	}
	if target.weights == nil {
		target.weights = fetchWeights(cmd.Context(), target)
	}
	rep.Exactness = checkExactness(cmd.Context(), target)
	rep.distribution(target.weights, warm)
	if rep.Mixed != nil {
		// The leads since the rotation began against the weighted shares:
		// the second run's cover the first's too.
		rep.Mixed.Fairness.distribution(target.weights, warm, rep)
		rep.Mixed.MaxDeviation, rep.Mixed.Unassigned = rep.Mixed.Fairness.MaxDeviation, rep.Mixed.Fairness.Unassigned
	}
	rep.Target, rep.Concurrency, rep.Rate, rep.Rules = target.describe, conc, rate, rules
	if checkCounters {
		if rep.Metrics, err = checkMetrics(cmd.Context(), target, scraped, rep, target.idempotent); err != nil {
			return err
		}
	}
	if asJSON {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(cmd.OutOrStdout())
	}
	if rep.Metrics != nil && rep.Metrics.Mismatches > 0 {
		return fmt.Errorf("--check-metrics: %d counters differ from the load's counts", rep.Metrics.Mismatches)
	}
	return nil
}

// benchSetup returns the target: the --url server, or one started here.
func benchSetup(cmd *cobra.Command) (*benchTarget, error) {
	f := cmd.Flags()
	url, _ := f.GetString("url")
	pid, _ := f.GetInt("server-pid")
	if url != "" {
		t := &benchTarget{pid: pid, describe: url, stop: func() {}}
		for _, u := range strings.Split(url, ",") {
			if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
				t.urls = append(t.urls, u)
			}
		}
		t.url = t.urls[0]
		t.key, _ = f.GetString("api-key")
		t.account, _ = f.GetString("account")
		t.team, _ = f.GetInt64("team")
		t.source, _ = f.GetInt64("lead-source")
		if t.key == "" || t.account == "" {
			return nil, errors.New("with --url, --api-key and --account (or LEADROTOR_API_KEY and LEADROTOR_ACCOUNT_ID) are needed")
		}
		return t, nil
	}
	cfg, err := app.Load(cmd)
	if err != nil {
		return nil, err
	}
	// The process serves: its collector runs as leadrotor serve's does.
	app.TuneGC(os.Getenv)
	var cleanup []func()
	// Never the default file in the working directory: a throwaway one.
	if cfg.DatabaseURL == app.Default().DatabaseURL {
		dir, err := os.MkdirTemp("", "leadrotor-bench")
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() { _ = os.RemoveAll(dir) })
		cfg.DatabaseURL = "file:" + filepath.Join(dir, "bench.db")
	}
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.LogLevel = "error"
	cfg.Metrics, _ = f.GetBool("metrics")
	if sink, _ := f.GetBool("otlp-sink"); sink {
		stop, err := startOTLPSink()
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, stop)
	}
	// The receiver of --webhooks is on 127.0.0.1.
	if hooks, _ := f.GetInt("webhooks"); hooks > 0 {
		cfg.WebhookAllowPrivate = true
	}
	which, _ := f.GetString("target")
	switch which {
	case "leadrotor":
		return startLeadrotor(cmd.Context(), cfg, cleanup)
	case "baseline", "insert":
		return startBaseline(cmd.Context(), cfg, cleanup, which == "insert")
	}
	return nil, fmt.Errorf("target %q: must be leadrotor, baseline or insert", which)
}

// startLeadrotor serves leadrotor in this process and creates a bench account.
func startLeadrotor(ctx context.Context, cfg app.Config, cleanup []func()) (*benchTarget, error) {
	m := app.NewMain(cfg, cfg.Logger())
	stop := func() {
		_ = m.Close()
		for _, c := range cleanup {
			c()
		}
	}
	if err := m.Open(ctx); err != nil {
		stop()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	t := &benchTarget{url: "http://" + m.Addr().String(), pid: os.Getpid(), weights: map[string]int{}, stop: func() {
		cancel()
		<-done
		stop()
	}}
	t.store = m.Store()
	t.describe = fmt.Sprintf("leadrotor (%s, %s rotation)", m.Store().Dialect(), map[bool]string{true: "Redis", false: "in-process"}[m.UsesRedis()])
	account := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	t.account = account
	svc := m.Service()
	if _, err := svc.CreateAccount(ctx, leads.Account{ID: account, Name: "Bench", DuplicatePolicy: leads.DuplicateReject}); err != nil {
		t.stop()
		return nil, err
	}
	root := leads.SystemActor(account)
	var members []leads.RotationMember
	for i, w := range benchWeights {
		rep := fmt.Sprintf("rep%d@bench.test", i+1)
		if _, err := svc.PutMember(ctx, root, leads.Member{Email: rep, Role: leads.RoleAgent}); err != nil {
			t.stop()
			return nil, err
		}
		members = append(members, leads.RotationMember{User: rep, Weight: w})
		t.weights[rep] = w
	}
	if _, err := svc.PutMember(ctx, root, leads.Member{Email: "bench@bench.test", Role: leads.RoleAdmin}); err != nil {
		t.stop()
		return nil, err
	}
	team, err := svc.CreateTeam(ctx, root, leads.Team{Name: "Bench"})
	if err == nil {
		var src *leads.LeadSource
		if src, err = svc.CreateLeadSource(ctx, root, leads.LeadSource{TeamID: team.ID, Name: "Load"}); err == nil {
			t.team, t.source = team.ID, src.ID
			_, err = svc.CreateRotation(ctx, root, leads.Rotation{Name: "Bench reps", TeamID: team.ID, Members: members})
		}
	}
	if err == nil {
		t.key, _, err = svc.CreateAPIKey(ctx, "bench@bench.test", "bench")
	}
	if err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
}

// fetchWeights reads the weights of the bench rotation from the server, to
// judge the distribution; nil when it cannot.
func fetchWeights(ctx context.Context, t *benchTarget) map[string]int {
	r, err := benchRotation(ctx, t)
	if err != nil {
		return nil
	}
	w := map[string]int{}
	for _, m := range r.Members {
		w[m.User] = max(m.Weight, 1)
	}
	return w
}

// benchRotation reads from the server the rotation that assigns the bench
// leads: the team's, or the account's default when the leads have no team.
func benchRotation(ctx context.Context, t *benchTarget) (*leads.Rotation, error) {
	req, err := t.request(ctx, "GET", t.url+"/rotations", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the rotations: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read the rotations: status %d", res.StatusCode)
	}
	var list struct {
		Data []leads.Rotation `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("read the rotations: %w", err)
	}
	for _, r := range list.Data {
		if (t.team != 0 && r.TeamID == t.team) || (t.team == 0 && r.Default) {
			return &r, nil
		}
	}
	return nil, fmt.Errorf("the account has no rotation for team %d", t.team)
}

// request is a request to url as the target's account and key; a body is
// JSON.
func (t *benchTarget) request(ctx context.Context, method, url string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+t.key)
	req.Header.Set("x-account-id", t.account)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// benchReport is the outcome of a run.
type benchReport struct {
	Target      string `json:"target"`
	Concurrency int    `json:"concurrency"`
	// Rate is --rate: the leads a second sent, 0 when the clients sent as
	// fast as they went. Below it, PerSecond says the clients could not.
	Rate float64 `json:"rate,omitempty"`
	// Rules is how many routing rules each lead failed before the one
	// that routed it (--rules).
	Rules     int              `json:"rules"`
	Seconds   float64          `json:"seconds"`
	Requests  int64            `json:"requests"`
	Created   int64            `json:"created"`
	PerSecond float64          `json:"leadsPerSecond"`
	LatencyMS latencyReport    `json:"latencyMs"`
	Errors    map[string]int64 `json:"errors"`
	Members   []memberShare    `json:"members"`
	// Members and MaxDeviation judge every lead created since the
	// rotation began (the warmup's too); MaxDeviation is the largest
	// |count - weighted share| of a member.
	MaxDeviation float64  `json:"maxDeviation"`
	Unassigned   int64    `json:"unassigned"`
	RSSMB        *rssStat `json:"serverRssMb,omitempty"`
	// Mixed is the second run of a --readers run: the writers again, beside
	// the readers. Members and MaxDeviation above cover the warmup and the
	// first run, Mixed's the second run too.
	Mixed *mixedReport `json:"mixed,omitempty"`
	// Webhooks is what the receiver of --webhooks saw.
	Webhooks *hookReport `json:"webhooks,omitempty"`
	// Metrics is what --check-metrics found.
	Metrics *metricsReport `json:"metrics,omitempty"`
	// CPU is the CPU time spent per lead created, from /proc.
	CPU *cpuReport `json:"cpu,omitempty"`
	// Exactness is the rotation's turns against the reference; nil for a
	// target without rotations (baseline, insert).
	Exactness *exactnessReport `json:"exactness,omitempty"`

	counts    map[string]int64
	latencies []time.Duration
}

// mixedReport is the writers' side of a run beside readers, and the readers'.
type mixedReport struct {
	Created   int64            `json:"created"`
	PerSecond float64          `json:"leadsPerSecond"`
	LatencyMS latencyReport    `json:"latencyMs"`
	Errors    map[string]int64 `json:"errors"`
	RSSMB     *rssStat         `json:"serverRssMb,omitempty"`
	// Kept is PerSecond over the writers-only run's.
	Kept  float64     `json:"throughputKept"`
	Reads *readReport `json:"reads"`
	// MaxDeviation judges every lead since the rotation began (the
	// warmup's and the first run's too), Unassigned this run's alone.
	MaxDeviation float64 `json:"maxDeviation"`
	Unassigned   int64   `json:"unassigned"`

	Fairness *benchReport `json:"-"`
}

type latencyReport struct {
	P50, P95, P99, Max, Mean float64
}

type memberShare struct {
	User      string  `json:"user"`
	Weight    int     `json:"weight"`
	Leads     int64   `json:"leads"`
	Share     float64 `json:"share"`
	Expected  float64 `json:"expected"`
	Deviation float64 `json:"deviation"`
}

type rssStat struct {
	Start, Max, End float64
}

// load is how leadbench sends: conc clients, as fast as they go or, at a
// rate above 0, that many leads a second in all (see pace).
type load struct {
	conc int
	rate float64
}

// pacedAt says a --rate for the reports: nothing when the clients go as
// fast as they can.
func pacedAt(rate float64) string {
	if rate <= 0 {
		return ""
	}
	return fmt.Sprintf(" at %g leads a second", rate)
}

// maxBenchRate bounds --rate.
const maxBenchRate = 1_000_000

// pace sends on times, until deadline or ctx's end, the time each lead of
// rate a second is due, then closes it: a client takes the next time when
// it is free, so that a lead waits, when every client is busy, from its
// time (an open loop: its latency counts the wait). Times are sent in the
// millisecond they fall in.
func pace(ctx context.Context, times chan<- time.Time, rate float64, deadline time.Time) {
	defer close(times)
	every := time.Duration(float64(time.Second) / rate)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	next := time.Now()
	for {
		for now := time.Now(); !next.After(now); next = next.Add(every) {
			if !next.Before(deadline) {
				return
			}
			select {
			case times <- next:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// drive runs the clients and collects what they saw. At the end of the
// duration no new request starts, but those in flight finish and count, so
// that the leads the server created are the leads reported.
func drive(ctx context.Context, t *benchTarget, how load, limit int, dur time.Duration, progress io.Writer) *benchReport {
	conc := how.conc
	deadline := time.Now().Add(dur)
	var times chan time.Time // the leads' times, with a rate
	if how.rate > 0 {
		times = make(chan time.Time, conc)
		go pace(ctx, times, how.rate, deadline)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, IdleConnTimeout: time.Minute}, Timeout: 30 * time.Second}
	var sent, created atomic.Int64
	type workerResult struct {
		latencies []time.Duration
		counts    map[string]int64
		errors    map[string]int64
		turns     []answer
	}
	results := make([]workerResult, conc)
	stopRSS := t.sampleRSS()
	cpuBefore := sampleCPU(t.pid)
	start := time.Now()
	done := make(chan struct{})
	go reportProgress(progress, start, &created, t.pid, done)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := workerResult{counts: map[string]int64{}, errors: map[string]int64{}}
			buf := &bytes.Buffer{}
			for i := 0; ctx.Err() == nil && time.Now().Before(deadline); i++ {
				if limit > 0 && sent.Add(1) > int64(limit) {
					break
				}
				began := time.Now()
				if times != nil {
					at, ok := <-times
					if !ok {
						break
					}
					began = at
				}
				body := benchBody(buf, t, w, i)
				status, ans, err := postBench(ctx, client, t, t.pick(w+i), body, fmt.Sprintf("bench-%d-%d-%d", start.UnixNano(), w, i))
				r.latencies = append(r.latencies, time.Since(began))
				switch {
				case err != nil:
					r.errors["transport"]++
				case status != http.StatusCreated:
					r.errors[strconv.Itoa(status)]++
				default:
					created.Add(1)
					r.counts[ans.assignee]++
					if ans.turn != 0 {
						r.turns = append(r.turns, ans)
					}
				}
			}
			results[w] = r
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpuAfter := sampleCPU(t.pid)
	close(done)
	rep := &benchReport{Seconds: elapsed.Seconds(), Errors: map[string]int64{}, counts: map[string]int64{}, RSSMB: stopRSS()}
	for _, r := range results {
		rep.latencies = append(rep.latencies, r.latencies...)
		for k, v := range r.counts {
			rep.counts[k] += v
		}
		for k, v := range r.errors {
			rep.Errors[k] += v
		}
		t.answers = append(t.answers, r.turns...)
	}
	rep.Requests = int64(len(rep.latencies))
	rep.Created = created.Load()
	rep.PerSecond = float64(rep.Created) / elapsed.Seconds()
	rep.CPU = perLead(cpuBefore, cpuAfter, rep.Created, t.cpuName())
	rep.LatencyMS = latencies(rep.latencies)
	return rep
}

// reportProgress prints, every second, the leads created so far, the rate of
// the last second and, with a server process to watch, its memory.
func reportProgress(w io.Writer, start time.Time, created *atomic.Int64, pid int, done chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			n := created.Load()
			line := fmt.Sprintf("  %5.0fs  %8d leads  %7d/s", time.Since(start).Seconds(), n, n-last)
			if pid != 0 {
				line += fmt.Sprintf("  server RSS %.1f MB", rssMB(pid))
			}
			fmt.Fprintln(w, line)
			last = n
		}
	}
}

// benchBody writes a realistic lead: unique email, the target's team and
// lead source, a little metadata.
func benchBody(buf *bytes.Buffer, t *benchTarget, worker, i int) []byte {
	buf.Reset()
	fmt.Fprintf(buf, `{"firstName":"Load%d","lastName":"Test%d","email":"w%d.%d.%d@load.test","phone":"+1-555-%04d","company":"Bench %d"`,
		i, worker, worker, i, time.Now().UnixNano()%1e9, i%10000, worker)
	if t.team != 0 {
		fmt.Fprintf(buf, `,"teamId":%d`, t.team)
	}
	if t.source != 0 {
		fmt.Fprintf(buf, `,"leadSourceId":%d`, t.source)
	}
	buf.WriteString(`,"metadata":{"utm_source":"bench","campaign":"load"}}`)
	return buf.Bytes()
}

// pick returns the n-th server of the target, in turn.
func (t *benchTarget) pick(n int) int {
	if len(t.urls) < 2 {
		return 0
	}
	return n % len(t.urls)
}

// postBench posts body to the first-th server; a server that refuses the
// connection never saw the request, which then goes to the next one. With
// t.idempotent, the request carries key, and one that got no answer (the
// server died with it) or 504 OUTCOME_UNKNOWN is sent again to the next
// server with the same key: it returns the lead if it was stored, or
// creates it once.
func postBench(ctx context.Context, client *http.Client, t *benchTarget, first int, body []byte, key string) (int, answer, error) {
	urls := t.urls
	if len(urls) == 0 {
		urls = []string{t.url}
	}
	tries := len(urls)
	if t.idempotent {
		tries = 2 * len(urls)
	}
	var res *http.Response
	var err error
	for try := range tries {
		var req *http.Request
		req, err = t.request(ctx, "POST", urls[(first+try)%len(urls)]+"/leads", bytes.NewReader(body))
		if err != nil {
			return 0, answer{}, err
		}
		if t.idempotent {
			req.Header.Set("Idempotency-Key", key)
		}
		res, err = client.Do(req)
		if refused(err) {
			continue
		}
		if t.idempotent && ctx.Err() == nil && (err != nil || res.StatusCode == http.StatusGatewayTimeout) {
			if res != nil {
				_ = res.Body.Close()
			}
			continue
		}
		break
	}
	if err != nil {
		return 0, answer{}, err
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, answer{}, err
	}
	if res.StatusCode != http.StatusCreated {
		return res.StatusCode, answer{}, nil
	}
	return res.StatusCode, readAnswer(raw), nil
}

// refused reports whether err is a connection the server refused: the
// request never reached it, so sending it elsewhere cannot duplicate it.
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func latencies(ds []time.Duration) latencyReport {
	if len(ds) == 0 {
		return latencyReport{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }
	at := func(p float64) float64 { return ms(ds[min(len(ds)-1, int(p*float64(len(ds))))]) }
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return latencyReport{P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: ms(ds[len(ds)-1]), Mean: ms(sum / time.Duration(len(ds)))}
}

// distribution compares the leads each member got with its weighted share:
// r's leads and those of the runs driven before it (the warmup's, nil when
// there was none), since the rotation began. r's leads alone would be a
// window of smooth weighted round-robin that starts mid-sequence, which
// may deviate by up to 2 where every prefix of it deviates by less than 1
// (weights 1,1,1,1,1,2,3: 0.70 at most from the start, 1.40 in a window).
func (r *benchReport) distribution(weights map[string]int, before ...*benchReport) {
	r.Unassigned = r.counts[""]
	counts, created := maps.Clone(r.counts), r.Created
	for _, b := range before {
		if b == nil {
			continue
		}
		for u, n := range b.counts {
			counts[u] += n
		}
		created += b.Created
	}
	var total int
	for _, w := range weights {
		total += w
	}
	users := slices.Sorted(func(yield func(string) bool) {
		seen := map[string]bool{}
		for u := range weights {
			seen[u] = true
			if !yield(u) {
				return
			}
		}
		for u := range counts {
			if !seen[u] && u != "" && !yield(u) {
				return
			}
		}
	})
	for _, u := range users {
		m := memberShare{User: u, Weight: weights[u], Leads: counts[u]}
		if created > 0 {
			m.Share = float64(m.Leads) / float64(created)
		}
		if total > 0 {
			m.Expected = float64(created) * float64(m.Weight) / float64(total)
		}
		m.Deviation = float64(m.Leads) - m.Expected
		r.MaxDeviation = max(r.MaxDeviation, math.Abs(m.Deviation))
		r.Members = append(r.Members, m)
	}
}

func (r *benchReport) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s, %d clients%s, %.1fs\n", r.Target, r.Concurrency, pacedAt(r.Rate), r.Seconds)
	fmt.Fprintf(w, "  leads created   %d of %d requests (%.0f/s)\n", r.Created, r.Requests, r.PerSecond)
	fmt.Fprintf(w, "  latency ms      p50 %.2f  p95 %.2f  p99 %.2f  max %.2f  mean %.2f\n",
		r.LatencyMS.P50, r.LatencyMS.P95, r.LatencyMS.P99, r.LatencyMS.Max, r.LatencyMS.Mean)
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "  errors          none")
	} else {
		fmt.Fprintf(w, "  errors          %v\n", r.Errors)
	}
	if r.RSSMB != nil {
		fmt.Fprintf(w, "  server RSS MB   start %.1f  max %.1f  end %.1f\n", r.RSSMB.Start, r.RSSMB.Max, r.RSSMB.End)
	}
	if r.CPU != nil {
		r.CPU.print(w)
	}
	if m := r.Mixed; m != nil {
		fmt.Fprintf(w, "  beside %d readers:\n", m.Reads.Readers)
		fmt.Fprintf(w, "    leads created %d (%.0f/s, %.0f%% of the writers alone)\n", m.Created, m.PerSecond, 100*m.Kept)
		fmt.Fprintf(w, "    latency ms    p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n", m.LatencyMS.P50, m.LatencyMS.P95, m.LatencyMS.P99, m.LatencyMS.Max)
		if len(m.Errors) > 0 {
			fmt.Fprintf(w, "    errors        %v\n", m.Errors)
		}
		if m.RSSMB != nil {
			fmt.Fprintf(w, "    RSS MB        start %.1f  max %.1f  end %.1f\n", m.RSSMB.Start, m.RSSMB.Max, m.RSSMB.End)
		}
		fmt.Fprintf(w, "    reads         %d requests, %d pages served (%.1f/s), statuses %v\n", m.Reads.Requests, m.Reads.Pages, m.Reads.PerSecond, m.Reads.Statuses)
		fmt.Fprintf(w, "    read latency  p50 %.2f  p95 %.2f  max %.2f ms\n", m.Reads.LatencyMS.P50, m.Reads.LatencyMS.P95, m.Reads.LatencyMS.Max)
		fmt.Fprintf(w, "    fairness      max deviation %.2f from the weighted share, %d unassigned\n", m.MaxDeviation, m.Unassigned)
	}
	if h := r.Webhooks; h != nil {
		fmt.Fprintf(w, "  webhooks        %d of %d deliveries to %d endpoints (%d repeats), the last %.1fs after the load\n",
			h.Received, h.Expected, h.Endpoints, h.Repeats, h.DrainSeconds)
		fmt.Fprintf(w, "  delivery lag ms p50 %.2f  p95 %.2f  p99 %.2f  max %.2f  mean %.2f\n",
			h.LagMS.P50, h.LagMS.P95, h.LagMS.P99, h.LagMS.Max, h.LagMS.Mean)
	}
	if r.Metrics != nil {
		r.Metrics.print(w)
	}
	if r.Exactness != nil {
		r.Exactness.print(w)
	}
	fmt.Fprintf(w, "  fairness        max deviation %.2f from the weighted share, %d unassigned\n\n", r.MaxDeviation, r.Unassigned)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "USER\tWEIGHT\tLEADS\tSHARE\tEXPECTED\tDEVIATION\t")
	for _, m := range r.Members {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.4f\t%.1f\t%+.2f\t\n", m.User, m.Weight, m.Leads, m.Share, m.Expected, m.Deviation)
	}
	_ = tw.Flush()
}

// cpuName says whose CPU time the report's server figure is.
func (t *benchTarget) cpuName() string {
	switch {
	case t.pid == 0:
		return ""
	case t.pid == os.Getpid():
		return "leadbench (server and load)"
	}
	return "server"
}

// sampleRSS samples the target process's resident memory every 250ms until
// the returned function is called, which returns what it saw (nil without
// a process).
func (t *benchTarget) sampleRSS() func() *rssStat {
	if t.pid == 0 {
		return func() *rssStat { return nil }
	}
	st := &rssStat{Start: rssMB(t.pid)}
	st.Max = st.Start
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				st.Max = max(st.Max, rssMB(t.pid))
			}
		}
	}()
	return func() *rssStat {
		close(stop)
		<-done
		st.End = rssMB(t.pid)
		return st
	}
}

// rssMB reads a process's resident set size from /proc, in MiB.
func rssMB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return math.Round(kb/1024*10) / 10
		}
	}
	return 0
}
