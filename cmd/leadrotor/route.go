package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
)

func routeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "route", Short: "Look at how an account's routing rules treat leads"}
	cmd.AddCommand(routeTestCmd())
	return cmd
}

func routeTestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "test -f lead.json|cases.yaml [--account ID] [--proposed apply.yaml] [--json]",
		Short: "Try a lead against the account's live routing rules, or check a file of cases, without creating anything",
		Long: `Read a lead as POST /leads takes it (JSON; "-" for standard input) and try the
account's routing rules on it, in order, as they are now: each rule's outcome
(disabled, not matched and the condition that failed, matched but its target
is gone, matched) and the rule that decides. Nothing is stored and no
rotation turn is taken.

A file with cases: (YAML or JSON, see examples/routing-cases.yaml) is routing
as code: sample leads, each with the rotation, rule, owner, step or status it
must get. They are decided in order as CreateLead decides (returning contact,
rules, team or default rotation, a turn seeing availability at the case's
time, caps, capacity, fallback) against the live configuration, or the live
one changed by an apply file (the file's config:, or --proposed, which
overrides it), on rotations of their own that start from the account's
history at the first case's time. Each case prints "ok" or "FAIL" with what
differs and why; the command fails when one does. Nothing is stored, no
live turn is taken and no event is sent. The account is --account, else the
file's account, else the apply file's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, _ := cmd.Flags().GetString("file")
			asJSON, _ := cmd.Flags().GetBool("json")
			account, _ := cmd.Flags().GetString("account")
			proposed, _ := cmd.Flags().GetString("proposed")
			data, name, err := readInput(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			if isCasesFile(data) {
				return runRouteCases(cmd, casesRun{data: data, name: name, file: file, account: account, proposed: proposed, asJSON: asJSON})
			}
			switch {
			case proposed != "":
				return errors.New("--proposed needs a file of cases (cases:); a single lead is tried against the live rules")
			case account == "":
				return errors.New(`required flag(s) "account" not set`)
			}
			in, err := decodeLead(data, name)
			if err != nil {
				return err
			}
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				d, err := m.Service().EvaluateRoutingRules(ctx, leads.SystemActor(account), in)
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					return enc.Encode(d)
				}
				return printDecision(cmd.OutOrStdout(), d)
			}, "account", account)
		},
	}
	cmd.Flags().StringP("file", "f", "", `the lead, as JSON, or a file of cases ("-" for standard input) (required)`)
	cmd.Flags().Bool("json", false, "print the decision, or the cases' results, as JSON")
	cmd.Flags().String("account", "", "account id (required for a lead; for cases, default: the file's account)")
	cmd.Flags().String("proposed", "", `cases only: try them against the live configuration changed by this apply file ("-" for standard input), instead of the cases file's config:`)
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// readInput reads the file named name, or stdin when it is "-", and
// returns it with the name its errors give it.
func readInput(stdin io.Reader, name string) ([]byte, string, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(stdin)
		name = "standard input"
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, name, fmt.Errorf("read lead: %w", err)
	}
	return data, name, nil
}

// decodeLead decodes a lead as POST /leads takes it; an unknown key is an
// error that names it.
func decodeLead(data []byte, name string) (leads.LeadInput, error) {
	var in leads.LeadInput
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, fmt.Errorf("%s: %w", name, err)
	}
	return in, nil
}

// printDecision writes each rule's outcome and the decision, a line each.
func printDecision(w io.Writer, d *leads.RuleDecision) error {
	for i, r := range d.Rules {
		if _, err := fmt.Fprintln(w, ruleLine(i, r)); err != nil {
			return err
		}
	}
	var decision string
	switch a := d.Action; {
	case a == nil:
		decision = "no rule matched: the lead's team's rotation, else the default rotation, assigns it"
	case a.Type == leads.ActionRotation:
		decision = fmt.Sprintf("rule %d: a turn of rotation %d", d.RuleID, a.RotationID)
	case a.Type == leads.ActionAssign:
		decision = fmt.Sprintf("rule %d: assign to %s", d.RuleID, a.Assignee)
	case a.Type == leads.ActionTeam:
		decision = fmt.Sprintf("rule %d: team %d, whose rotation then assigns it", d.RuleID, a.TeamID)
	default:
		decision = fmt.Sprintf("rule %d: hold unassigned (%s)", d.RuleID, a.Reason)
	}
	_, err := fmt.Fprintln(w, "Decision:", decision)
	return err
}

// ruleLine is what rule i (from 0) made of a lead: disabled, not matched
// and the condition that failed, matched but its target gone, or matched.
func ruleLine(i int, r leads.RuleTrace) string {
	line := fmt.Sprintf("%d. %q (rule %d): ", i+1, r.Name, r.RuleID)
	switch r.Outcome {
	case leads.RuleDisabled:
		line += "disabled"
	case leads.RuleNotMatched:
		line += "not matched: " + r.Condition + " (" + r.FailedCondition + ")"
	case leads.RuleTargetMissing:
		line += "matched, but its target is gone: skipped"
	default:
		line += "matched"
	}
	return line
}
