package console

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/simulate"
)

// The simulations pages: a form that replays the account's leads of a
// window through a proposed change (the YAML of leadrotor apply), the runs
// so far, and a run's result beside what happened. The runs go through
// the Simulator, as POST /simulations does; a page of runs still going
// reloads itself (a meta refresh: the console runs no script).

// simulationRefresh is how often a page with a run still going reloads.
const simulationRefresh = 2

// formTime is how the form's datetime-local fields write a time (UTC).
const formTime = "2006-01-02T15:04"

// simulationsData is the list page's: the form and the runs.
type simulationsData struct {
	From, To, YAML string
	MaxWindow      string
	Runs           []leads.Simulation
	// Refresh is the seconds after which the page reloads; 0: it does not.
	Refresh int
}

// simulator is the console's Simulator for managers and admins:
// FORBIDDEN for agents, NOT_FOUND when the server runs none.
func (c *Console) simulator(r *request) (leads.Simulator, error) {
	if !r.can(leads.PermWriteConfig) {
		return nil, leads.Errorf(leads.CodeForbidden, "only managers and admins run simulations")
	}
	if c.cfg.Simulations == nil {
		return nil, leads.Errorf(leads.CodeNotFound, "this server runs no simulations")
	}
	return c.cfg.Simulations, nil
}

// simulations is the list page: the form, prefilled with the last 30 days
// and a change to the default rotation's weights, and the runs, newest
// first.
func (c *Console) simulations(ctx context.Context, r *request) (any, error) {
	sims, err := c.simulator(r)
	if err != nil {
		return nil, err
	}
	page, err := sims.Simulations(ctx, r.actor, leads.SimulationListOptions{})
	if err != nil {
		return nil, err
	}
	cfg, err := c.svc.Configuration(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	// To the next minute: a lead made this minute is in the window.
	to := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	d := simulationsData{From: to.AddDate(0, 0, -30).Format(formTime), To: to.Format(formTime), YAML: exampleChange(cfg),
		Runs: page.Data, MaxWindow: days(c.cfg.SimulationMaxWindow)}
	for _, run := range page.Data {
		if !run.Status.Finished() {
			d.Refresh = simulationRefresh
		}
	}
	return d, nil
}

// days says d in days ("366 days"), or "" for 0.
func days(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf("%g days", d.Hours()/24)
}

// exampleChange is the change the form offers to start from: the default
// rotation (else the first one) with its first member's weight doubled,
// in the YAML of leadrotor apply.
func exampleChange(cfg *leads.AccountConfig) string {
	head := "# The change to try, as leadrotor apply reads it: what it omits stays as it is now.\n"
	rot := cfg.DefaultRotation
	key := "defaultRotation"
	if rot == nil {
		for _, r := range cfg.Rotations() {
			if r.TeamID == 0 && !r.Default {
				rot, key = &r, "rotations"
				break
			}
		}
	}
	if rot == nil || len(rot.Members) == 0 {
		return head + "rotations:\n  - name: Trial pool\n    members:\n      - {user: rep@example.com, weight: 2}\n"
	}
	var b strings.Builder
	b.WriteString(head)
	indent := "  "
	if key == "rotations" {
		b.WriteString("rotations:\n  - name: " + yamlText(rot.Name) + "\n")
		indent = "    "
	} else {
		b.WriteString("defaultRotation:\n  name: " + yamlText(rot.Name) + "\n")
	}
	b.WriteString(indent + "members:\n")
	for i, m := range rot.Members {
		w := max(m.Weight, 1)
		if i == 0 {
			w *= 2
		}
		fmt.Fprintf(&b, "%s  - {user: %s, weight: %d}\n", indent, yamlText(m.User), w)
	}
	return b.String()
}

// plainYAML matches the text YAML reads as itself, unquoted: names and
// emails mostly.
var plainYAML = regexp.MustCompile(`^[A-Za-z0-9@._+-]+( [A-Za-z0-9@._+-]+)*$`)

// yamlText is s as a YAML scalar: as it is when YAML reads it so, else
// quoted (JSON's quoting is YAML's).
func yamlText(s string) string {
	if plainYAML.MatchString(s) && !strings.ContainsAny(s[:1], "-@") {
		return s
	}
	raw, _ := json.Marshal(s)
	return string(raw)
}

// formTimeValue reads a time typed into field: a datetime-local value,
// in UTC, or RFC 3339; "" is the zero time, which the Simulator refuses
// as missing. The zero time typed is refused as too early.
func formTimeValue(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{formTime, "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			if t.IsZero() {
				return time.Time{}, leads.ValidationError(*leads.CheckSimulationTime(field, t))
			}
			return t, nil
		}
	}
	return time.Time{}, leads.ValidationError(leads.FieldError{Field: field, Value: v, Message: "Must be a date and time, as 2026-03-01T09:00 (UTC)"})
}

// createSimulation submits the form's simulation and goes to its page.
func (c *Console) createSimulation(ctx context.Context, r *request) (string, error) {
	sims, err := c.simulator(r)
	if err != nil {
		return "", err
	}
	in := leads.SimulationInput{ConfigYAML: r.PostFormValue("configYaml")}
	if in.From, err = formTimeValue("from", r.PostFormValue("from")); err != nil {
		return "", err
	}
	if in.To, err = formTimeValue("to", r.PostFormValue("to")); err != nil {
		return "", err
	}
	sim, err := sims.CreateSimulation(ctx, r.actor, in)
	if err != nil {
		return "", simulationField(err)
	}
	return path("simulations", sim.ID), nil
}

// simulationField points a refusal at the form's field: the window's own,
// or the YAML's box for anything in the change, said with the change's
// field (rotations[0].members[1].user) and the YAML's line.
func simulationField(err error) error {
	details := leads.ErrorDetails(err)
	field, _ := details["field"].(string)
	inner, ok := strings.CutPrefix(field, "configYaml")
	if !ok {
		return err
	}
	text := errorText(err)
	if leads.ErrorCode(err) == leads.CodeMemberNotInAccount {
		text = leads.ErrorMessage(err) // it names the path and the user
	} else if inner = strings.TrimPrefix(inner, "."); inner != "" {
		text = inner + ": " + text
	}
	if line, ok := details["line"].(int); ok && !strings.Contains(text, "line") {
		text = fmt.Sprintf("line %d: %s", line, text)
	}
	return withFieldText(err, "configYaml", text)
}

// simulationData is a run's page: the run and, once done, its result
// laid out for the page.
type simulationData struct {
	Run    *leads.Simulation
	Config string
	// Percent is how far a running run is, 0 to 100 (-1 when unknown).
	Percent int
	Refresh int
	Result  *simulate.Result
	Reps    repChart
	// Reasons are Result's reasons, in order of name.
	Reasons []reasonRow
}

type reasonRow struct {
	Reason string
	Side   simulate.Side
}

// simulation is a run's page: its progress while it runs (the page
// reloads itself), its error when it failed, its result once done.
func (c *Console) simulation(ctx context.Context, r *request) (any, error) {
	sims, err := c.simulator(r)
	if err != nil {
		return nil, err
	}
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	sim, err := sims.Simulation(ctx, r.actor, id)
	if err != nil {
		return nil, err
	}
	d := simulationData{Run: sim, Percent: -1}
	if len(sim.Config) > 0 {
		var pretty strings.Builder
		var v any
		if json.Unmarshal(sim.Config, &v) == nil {
			enc := json.NewEncoder(&pretty)
			enc.SetIndent("", "  ")
			_ = enc.Encode(v)
		}
		d.Config = pretty.String()
	}
	if !sim.Status.Finished() {
		d.Refresh = simulationRefresh
		if sim.Total != nil && *sim.Total > 0 {
			d.Percent = int(min(100, sim.Progress*100 / *sim.Total))
		}
		return d, nil
	}
	if sim.Status != leads.SimulationDone || len(sim.Result) == 0 {
		return d, nil
	}
	d.Result = new(simulate.Result)
	if err := json.Unmarshal(sim.Result, d.Result); err != nil {
		return nil, fmt.Errorf("simulation %d: result: %w", sim.ID, err)
	}
	d.Reps = newRepChart(fmt.Sprintf("reps-%d", sim.ID), "Leads per rep: what happened and the replay", d.Result.Reps)
	for _, reason := range slices.Sorted(maps.Keys(d.Result.Reasons)) {
		d.Reasons = append(d.Reasons, reasonRow{Reason: reason, Side: d.Result.Reasons[reason]})
	}
	return d, nil
}

// repChart is each rep's leads, as they happened and in the replay: two
// bars a rep on one scale.
type repChart struct {
	ID            string
	Title         string
	Width, Height int
	Max           int64
	Rows          []repRow
	// BarX is where bars start (after the labels), BarH a bar's height,
	// ValueX where the counts are written.
	BarX, BarH, ValueX int
}

type repRow struct {
	User           string
	Actual, Replay int64
	// Y is the actual bar's top, ReplayY the replay bar's; ActualW and
	// ReplayW their widths; TextY the label's baseline.
	Y, ReplayY, TextY, ActualW, ReplayW int
	ActualTextY, ReplayTextY            int
}

const (
	repBarH = 12
	repRowH = 2*repBarH + 12
)

// newRepChart lays out reps' bars; "" is written "(nobody)".
func newRepChart(id, title string, reps []simulate.RepOutcome) repChart {
	ch := repChart{ID: id, Title: title, Width: chartLabelW + chartBarW + 70, Height: repRowH*len(reps) + 8,
		BarX: chartLabelW, BarH: repBarH, ValueX: chartLabelW + chartBarW + 8}
	for _, r := range reps {
		ch.Max = max(ch.Max, r.Leads.Actual, r.Leads.Replay)
	}
	width := func(v int64) int {
		if ch.Max == 0 {
			return 0
		}
		return int(int64(chartBarW) * v / ch.Max)
	}
	for i, r := range reps {
		y := 4 + i*repRowH
		user := r.User
		if user == "" {
			user = "(nobody)"
		}
		ch.Rows = append(ch.Rows, repRow{User: user, Actual: r.Leads.Actual, Replay: r.Leads.Replay,
			Y: y, ReplayY: y + repBarH + 2, TextY: y + repBarH + 4, ActualW: width(r.Leads.Actual), ReplayW: width(r.Leads.Replay),
			ActualTextY: y + repBarH - 2, ReplayTextY: y + 2*repBarH})
	}
	return ch
}
