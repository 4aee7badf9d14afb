package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
	"github.com/leadrotor/leadrotor/leads/spec/specfile"
	"github.com/leadrotor/leadrotor/simulate"
)

func simulateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simulate [-f proposed.yaml] --account ID --from T1 --to T2 [--json]",
		Short: "Replay an account's past leads through a proposed configuration and compare",
		Long: `Replay the leads the account created from --from to --to, in the order they were
created, through a configuration, and print what it would have done beside what
happened: leads per rep, each rotation member's turns against its weighted
target, how many leads each routing rule decided, how owners were decided
(rotation, rule, returning owner, held, waiting…), the split of each hot-score
tier, and the leads whose owner would change.

The configuration is the live one changed by -f, a file in the format of
leadrotor apply (parts it does not name are as they are now); without -f, the
live one, which replays the window as it happened when nothing was changed in
it. The decisions are CreateLead's own, with members' availability at each
lead's creation time and the rotations' states as they stood at --from.
Nothing is written, no turn is taken and no event is sent.

Times are RFC 3339 (2026-11-02T09:00:00Z) or dates (2026-11-02, midnight UTC).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			file, _ := f.GetString("file")
			account, _ := f.GetString("account")
			asJSON, _ := f.GetBool("json")
			sample, _ := f.GetInt("sample")
			maxWindow, _ := f.GetDuration("max-window")
			opts := simulate.Options{AccountID: account, Sample: sample, MaxWindow: maxWindow}
			var err error
			if opts.From, err = parseWhen(f.Lookup("from").Value.String(), "from"); err != nil {
				return err
			}
			if opts.To, err = parseWhen(f.Lookup("to").Value.String(), "to"); err != nil {
				return err
			}
			var proposed *spec.Spec
			if file != "" {
				s, err := specfile.ReadFile(cmd.InOrStdin(), file)
				if err != nil {
					return err
				}
				if opts.AccountID == "" {
					opts.AccountID = s.Account
				}
				proposed = &s
			}
			if opts.AccountID == "" {
				return errors.New("no account: give --account or set account in the file")
			}
			if err := opts.Check(); err != nil {
				return userError(err)
			}
			// This process only replays: collect its garbage less often.
			defer debug.SetGCPercent(debug.SetGCPercent(simulate.BatchGCPercent))
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				return runSimulate(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), m, proposed, opts, asJSON)
			}, "account", opts.AccountID)
		},
	}
	f := cmd.Flags()
	f.StringP("file", "f", "", `the proposed change, an apply file ("-" for standard input); none: the live configuration`)
	f.String("account", "", "account id (default: the file's account)")
	f.String("from", "", "replay the leads created at or after this time (required)")
	f.String("to", "", "and before this time (required)")
	f.Bool("json", false, "print the result as JSON")
	f.Int("sample", 20, "list this many of the leads whose owner would change")
	f.Duration("max-window", simulate.MaxWindow, "refuse a window longer than this")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// runSimulate replays opts' window through the live configuration, changed
// by proposed when given, and prints the result.
func runSimulate(ctx context.Context, w, progress io.Writer, m *app.Main, proposed *spec.Spec, opts simulate.Options, asJSON bool) error {
	actor := leads.SystemActor(opts.AccountID)
	cfg, err := m.Service().Configuration(ctx, actor)
	if err != nil {
		return err
	}
	if proposed != nil {
		changed, plan, err := proposed.Propose(ctx, cfg, actor)
		if err != nil {
			return err
		}
		if !asJSON {
			fmt.Fprintf(w, "Proposed: %d changes to the live configuration\n", plan.Changes())
			if err := plan.Write(w); err != nil {
				return err
			}
			fmt.Fprintln(w)
		}
		opts.Live, cfg = cfg, changed
	}
	began := time.Now()
	opts.Progress = func(done int) {
		if !asJSON {
			fmt.Fprintf(progress, "\rreplayed %d leads", done)
		}
	}
	res, err := simulate.Run(ctx, m.Store(), cfg, opts)
	if !asJSON {
		fmt.Fprintf(progress, " in %.1fs\n", time.Since(began).Seconds())
	}
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.WriteText(w)
}

// parseWhen reads a time of --from or --to: RFC 3339, or a date (midnight
// UTC). Go's zero time is refused here as too early: the replay's check
// would take it for a time not given.
func parseWhen(s, flag string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, s); err != nil {
			return time.Time{}, fmt.Errorf("--%s %q: not a time (2026-11-02T09:00:00Z) or a date (2026-11-02)", flag, s)
		}
	}
	if t.IsZero() {
		return time.Time{}, fmt.Errorf("--%s %q: %s", flag, s, leads.CheckSimulationTime(flag, t).Message)
	}
	return t.UTC(), nil
}
