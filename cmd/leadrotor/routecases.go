package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
	"github.com/leadrotor/leadrotor/leads/spec/specfile"
	"github.com/leadrotor/leadrotor/simulate"
)

// casesFile is a file of cases for `leadrotor route test`: sample leads,
// each with what it must get (see simulate.Case).
type casesFile struct {
	// Account is the account the cases are of; --account overrides it.
	Account string `json:"account,omitempty"`
	// Config names an apply file (relative to the cases file) that
	// changes the live configuration for the cases; --proposed
	// overrides it. None: the live configuration.
	Config string `json:"config,omitempty"`
	// At is the time of a case that gives none; none is now.
	At time.Time `json:"at,omitzero"`
	// Cases are decided in order.
	Cases []simulate.Case `json:"cases"`
}

// isCasesFile reports whether data is a file of cases rather than a lead:
// a document that is not a JSON object (YAML), or a JSON object with a
// cases key. A lead is a JSON object, read as it always was.
func isCasesFile(data []byte) bool {
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return true
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return false
	}
	_, ok := top["cases"]
	return ok
}

// casesRun is what `route test` was asked to do with a file of cases.
type casesRun struct {
	data       []byte
	name, file string // the file's name in errors, and as given (-f)
	account    string // --account
	proposed   string // --proposed
	asJSON     bool
}

// caseResult is one case's outcome: what it expects, what the lead got,
// what differs, and the decision.
type caseResult struct {
	Name       string              `json:"name"`
	OK         bool                `json:"ok"`
	At         time.Time           `json:"at"`
	Want       simulate.Expect     `json:"want"`
	Got        simulate.Outcome    `json:"got"`
	Mismatches []simulate.Mismatch `json:"mismatches"`
	Assignment leads.Assignment    `json:"assignment"`
}

// casesResult is what --json prints.
type casesResult struct {
	Account string `json:"account"`
	// Config is the apply file the cases were tried against; "" for the
	// live configuration.
	Config string       `json:"config"`
	Cases  []caseResult `json:"cases"`
	Total  int          `json:"total"`
	Failed int          `json:"failed"`
}

// runRouteCases decides the cases of r's file and prints their outcomes;
// an error when one fails, or when the file or its config is at fault.
func runRouteCases(cmd *cobra.Command, r casesRun) error {
	if r.proposed == "-" && r.file == "-" {
		return errors.New("the cases and the apply file cannot both be standard input")
	}
	var top map[string]any
	if specfile.Decode(bytes.NewReader(r.data), r.name, &top) == nil && top["cases"] == nil {
		return fmt.Errorf("%s: neither a lead (a JSON object) nor a file of cases (no cases:)", r.name)
	}
	var f casesFile
	if err := specfile.Decode(bytes.NewReader(r.data), r.name, &f); err != nil {
		return err
	}
	if len(f.Cases) == 0 {
		return fmt.Errorf("%s: cases: Is empty: give one or more", r.name)
	}
	var errs []leads.FieldError
	for i, c := range f.Cases {
		errs = append(errs, c.Expect.Check(fmt.Sprintf("cases[%d].expect", i))...)
	}
	if len(errs) > 0 {
		return fieldLines(r.name, leads.ValidationError(errs...))
	}
	config := r.proposed
	if config == "" && f.Config != "" {
		config = f.Config
		if r.file != "-" && !filepath.IsAbs(config) {
			config = filepath.Join(filepath.Dir(r.file), config)
		}
	}
	var proposed *spec.Spec
	if config != "" {
		s, err := specfile.ReadFile(cmd.InOrStdin(), config)
		if err != nil {
			return fmt.Errorf("%s: config: %w", r.name, err)
		}
		proposed = &s
	}
	account := cmp.Or(r.account, f.Account)
	if account == "" && proposed != nil {
		account = proposed.Account
	}
	if account == "" {
		return errors.New("no account: give --account or set account in the file")
	}
	return withService(cmd, func(ctx context.Context, m *app.Main) error {
		actor := leads.SystemActor(account)
		live, err := m.Service().Configuration(ctx, actor)
		if err != nil {
			return err
		}
		opts := simulate.TryOptions{AccountID: account, At: f.At}
		cfg := live
		if proposed != nil {
			if cfg, _, err = proposed.Propose(ctx, live, actor); err != nil {
				return fieldLines(config, err)
			}
			opts.Live = live
		}
		decided, err := simulate.Try(ctx, m.Store(), cfg, opts, f.Cases)
		if err != nil {
			return fieldLines(r.name, err)
		}
		res := casesResult{Account: account, Config: config, Cases: make([]caseResult, len(f.Cases)), Total: len(f.Cases)}
		for i, c := range f.Cases {
			got := simulate.OutcomeOf(decided[i])
			cr := caseResult{Name: cmp.Or(c.Name, fmt.Sprintf("cases[%d]", i)), At: decided[i].Lead.CreatedAt, Want: c.Expect, Got: got,
				Mismatches: c.Expect.Compare(got), Assignment: decided[i].Assignment}
			if cr.Mismatches == nil {
				cr.Mismatches = []simulate.Mismatch{}
			}
			cr.OK = len(cr.Mismatches) == 0
			if !cr.OK {
				res.Failed++
			}
			res.Cases[i] = cr
		}
		if err := printCases(cmd.OutOrStdout(), res, r.asJSON); err != nil {
			return err
		}
		if res.Failed > 0 {
			return fmt.Errorf("%s: %d of %s failed", r.name, res.Failed, plural(res.Total, "case"))
		}
		return nil
	}, "account", account)
}

// fieldLines says err of the file name: a VALIDATION_ERROR a line a field
// at fault ("cases.yaml: cases[2].expect.step: Must be one of …"), another
// error as userError says it.
func fieldLines(name string, err error) error {
	var e *leads.Error
	if errors.As(err, &e) && e.Code == leads.CodeValidation {
		if errs, ok := e.Details["errors"].([]leads.FieldError); ok {
			lines := make([]string, len(errs))
			for i, fe := range errs {
				lines[i] = fmt.Sprintf("%s: %s: %s", name, fe.Field, fe.Message)
			}
			return errors.New(strings.Join(lines, "\n"))
		}
	}
	return fmt.Errorf("%s: %w", name, userError(err))
}

// printCases writes res: as JSON, or a line a case ("ok  name", "FAIL
// name" with what differs and why) and a summary line.
func printCases(w io.Writer, res casesResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	var b strings.Builder
	for _, c := range res.Cases {
		if c.OK {
			fmt.Fprintf(&b, "ok  %s\n", c.Name)
			continue
		}
		fmt.Fprintf(&b, "FAIL %s\n", c.Name)
		for _, m := range c.Mismatches {
			fmt.Fprintf(&b, "    %s: want %s, got %s\n", m.Key, shown(m.Want), shown(m.Got))
		}
		for _, line := range explain(c.Assignment) {
			fmt.Fprintf(&b, "    %s\n", line)
		}
	}
	fmt.Fprintf(&b, "%s, %d failed\n", plural(res.Total, "case"), res.Failed)
	_, err := io.WriteString(w, b.String())
	return err
}

// shown is v quoted, or none.
func shown(v string) string {
	if v == "" {
		return "none"
	}
	return fmt.Sprintf("%q", v)
}

// plural is "1 case" or "n cases".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// explain says how a decided: the step, and the rule or the turn that
// decided; the rules tried, each with its outcome; who was eligible and
// who was passed over, and why.
func explain(a leads.Assignment) []string {
	d := a.Decision
	if d == nil {
		if a.Reason == leads.AssignExplicit {
			return []string{"decided by: step explicit, the lead names its owner: " + a.Assignee}
		}
		d = &leads.RoutingDecision{Step: leads.StepNone}
	}
	decision := "decided by: step " + d.Step
	switch d.Step {
	case leads.StepReturning:
		if r := d.Returning; r != nil {
			decision += fmt.Sprintf(", a returning contact (by %s) of %s, owned by %s", r.MatchedBy, earlierLead(r.LeadID), r.Owner)
		}
	case leads.StepRule:
		decision += fmt.Sprintf(", rule %q (rule %d)", d.RuleName, d.RuleID)
	case leads.StepTeam:
		decision += ", the lead's team's rotation"
	case leads.StepDefault:
		decision += ", the default rotation"
	}
	out := []string{decision + "; " + outcome(a, d)}
	if len(d.Rules) > 0 {
		out = append(out, "rules tried:")
		for i, r := range d.Rules {
			out = append(out, "  "+ruleLine(i, r))
		}
	}
	if a.RotationName != "" {
		turn := "eligible: " + cmp.Or(strings.Join(d.Eligible, ", "), "nobody")
		if len(a.Skipped) > 0 {
			skipped := make([]string, len(a.Skipped))
			for i, s := range a.Skipped {
				skipped[i] = fmt.Sprintf("%s (%s)", s.User, s.Reason)
			}
			turn += "; passed over: " + strings.Join(skipped, ", ")
		}
		out = append(out, turn)
	}
	return out
}

// earlierLead names the earlier lead a returning contact matched: a
// stored lead by its id, or an earlier case.
func earlierLead(id int64) string {
	if id == 0 {
		return "an earlier case"
	}
	return fmt.Sprintf("lead %d", id)
}

// outcome says what a's reason made of the lead.
func outcome(a leads.Assignment, d *leads.RoutingDecision) string {
	switch a.Reason {
	case leads.AssignRotation:
		return fmt.Sprintf("a turn of rotation %q gave it to %s", a.RotationName, a.Assignee)
	case leads.AssignFallback:
		return fmt.Sprintf("nobody in rotation %q could take it: its fallback assignee %s", a.RotationName, a.Assignee)
	case leads.AssignWaiting:
		return fmt.Sprintf("nobody in rotation %q could take it: it waits for the first who can", a.RotationName)
	case leads.AssignNoEligible:
		return fmt.Sprintf("nobody in rotation %q could take it, and it has no fallback: unassigned", a.RotationName)
	case leads.AssignHeld:
		return "held unassigned: " + d.HoldReason
	case leads.AssignRule, leads.AssignReturning:
		return "assigned to " + a.Assignee
	}
	return "no rotation applies: unassigned"
}
