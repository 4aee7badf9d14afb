package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
	"github.com/leadrotor/leadrotor/leads/spec/specfile"
)

func applyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply -f rotations.yaml [--dry-run] [--account ID]",
		Short: "Make an account's members, teams, lead sources, rotations and routing rules what a YAML file declares",
		Long: `Read a YAML file that declares an account's configuration (see examples/rotations.yaml),
print what differs from the account as it is, and make the changes:

  + create   ~ update   = unchanged   . not in the file: kept

Apply creates and updates, and never deletes: members, teams, lead sources,
rotations and routing rules the file does not name stay. A rotation's members
are exactly the file's list. The file's routing rules come first in the
account's order, in the file's order; the account's other rules follow them.
A rule names its rotation or team by name.
The changes are made one by one, each audited; if one fails, those made stay
and running apply again carries out the rest. With --dry-run nothing is
written. The account is --account, else the file's "account".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, _ := cmd.Flags().GetString("file")
			dryRun, _ := cmd.Flags().GetBool("dry-run")
			account, _ := cmd.Flags().GetString("account")
			spec, err := specfile.ReadFile(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			if account == "" {
				account = spec.Account
			}
			if account == "" {
				return errors.New("no account: give --account or set account in the file")
			}
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				return runApply(ctx, cmd.OutOrStdout(), m.Service(), leads.SystemActor(account), spec, dryRun)
			}, "account", account)
		},
	}
	cmd.Flags().StringP("file", "f", "", `the YAML file to apply ("-" for standard input) (required)`)
	cmd.Flags().Bool("dry-run", false, "print the plan and change nothing")
	cmd.Flags().String("account", "", "account id (default: the file's account)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// runApply applies spec and prints the plan, then what was done.
func runApply(ctx context.Context, w io.Writer, svc *leads.Service, actor leads.Actor, spec spec.Spec, dryRun bool) error {
	plan, err := spec.Apply(ctx, svc, actor, dryRun)
	if plan != nil {
		if werr := plan.Write(w); werr != nil {
			return werr
		}
	}
	switch {
	case err != nil && plan != nil && plan.Applied > 0:
		fmt.Fprintf(w, "%d of %s applied before the error; apply again to carry out the rest\n", plan.Applied, changes(plan.Changes()))
		return err
	case err != nil:
		return err
	case plan.Changes() == 0 && dryRun:
		fmt.Fprintln(w, "(dry run) no changes")
	case plan.Changes() == 0:
		fmt.Fprintln(w, "no changes")
	case dryRun:
		fmt.Fprintf(w, "(dry run) %s would be applied\n", changes(plan.Changes()))
	default:
		fmt.Fprintf(w, "%s applied\n", changes(plan.Applied))
	}
	return nil
}

// changes returns "1 change" or "n changes".
func changes(n int) string { return plural(n, "change") }
