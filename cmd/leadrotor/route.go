package main

import (
	"bytes"
	"context"
	"encoding/json"
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
		Use:   "test -f lead.json --account ID [--json]",
		Short: "Try a lead against the account's live routing rules, without creating it",
		Long: `Read a lead as POST /leads takes it (JSON; "-" for standard input) and try the
account's routing rules on it, in order, as they are now: each rule's outcome
(disabled, not matched and the condition that failed, matched but its target
is gone, matched) and the rule that decides. Nothing is stored and no
rotation turn is taken.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, _ := cmd.Flags().GetString("file")
			asJSON, _ := cmd.Flags().GetBool("json")
			account, _ := cmd.Flags().GetString("account")
			in, err := readLeadFile(cmd.InOrStdin(), file)
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
	cmd.Flags().StringP("file", "f", "", `the lead, as JSON ("-" for standard input) (required)`)
	cmd.Flags().Bool("json", false, "print the decision as JSON")
	_ = cmd.MarkFlagRequired("file")
	addAccountFlag(cmd, "")
	return cmd
}

// readLeadFile decodes a lead as POST /leads takes it; an unknown key is an
// error that names it.
func readLeadFile(stdin io.Reader, name string) (leads.LeadInput, error) {
	var in leads.LeadInput
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(stdin)
		name = "standard input"
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return in, fmt.Errorf("read lead: %w", err)
	}
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
		if _, err := fmt.Fprintln(w, line); err != nil {
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
