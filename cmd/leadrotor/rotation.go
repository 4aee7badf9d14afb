package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
)

// rotationStateNote is the part of the rotation commands' help that says
// which state they read.
const rotationStateNote = `Without --redis-url the rotation's state is in-process, so the command sees the
rotation as a restarted server would rebuild it from the database (after the
rep of its last turn); a running server without Redis may be elsewhere in
the rotation. With --redis-url it reads the state the servers share.`

func rotationCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rotation", Short: "Look at rotations: who is next, and how fair they have been"}
	cmd.AddCommand(rotationNextCmd(), rotationStatsCmd())
	return cmd
}

func rotationNextCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "next <rotation-id> [-n 5] --account ID",
		Short: "Show who gets the next leads of a rotation, whom they pass over, and each member's state",
		Long: "Show who gets the next leads of a rotation without taking any turn, the members\n" +
			"passed over and why, and each member's settings and leads today.\n\n" + rotationStateNote,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseRotationID(args[0])
			if err != nil {
				return err
			}
			n, _ := cmd.Flags().GetInt("count")
			return showRotation(cmd, args[0], func(ctx context.Context, svc *leads.Service, actor leads.Actor) (*leads.RotationPreview, error) {
				return svc.NextTurns(ctx, actor, id, n)
			}, printPreview)
		},
	}
	cmd.Flags().IntP("count", "n", 5, fmt.Sprintf("how many turns to show (1 to %d)", leads.MaxPreview))
	addAccountFlag(cmd, "")
	return cmd
}

func rotationStatsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats <rotation-id> [--from RFC3339] [--to RFC3339] --account ID",
		Short: "Show what a rotation assigned in a time window, per member, against its weighted share",
		Long: "Show what a rotation assigned in [from, to) (default: the rotation's current day),\n" +
			"per member: leads, share against the weighted target, how far ahead (+) or behind (-),\n" +
			"turns passed over by reason, and leads today.\n\n" + rotationStateNote,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseRotationID(args[0])
			if err != nil {
				return err
			}
			from, err := timeFlag(cmd, "from")
			if err != nil {
				return err
			}
			to, err := timeFlag(cmd, "to")
			if err != nil {
				return err
			}
			return showRotation(cmd, args[0], func(ctx context.Context, svc *leads.Service, actor leads.Actor) (*leads.RotationStats, error) {
				return svc.RotationStats(ctx, actor, id, from, to)
			}, printStats)
		},
	}
	cmd.Flags().String("from", "", "start of the window, RFC 3339 (default: start of the rotation's day)")
	cmd.Flags().String("to", "", "end of the window, excluded, RFC 3339 (default: end of the rotation's day)")
	addAccountFlag(cmd, "")
	return cmd
}

// showRotation runs get with the service as the system actor of --account
// and prints what it returns; arg is the rotation argument, for the errors.
func showRotation[T any](cmd *cobra.Command, arg string, get func(ctx context.Context, svc *leads.Service, actor leads.Actor) (T, error),
	print func(io.Writer, T) error) error {
	account, _ := cmd.Flags().GetString("account")
	return withService(cmd, func(ctx context.Context, m *app.Main) error {
		v, err := get(ctx, m.Service(), leads.SystemActor(account))
		if err != nil {
			return err
		}
		return print(cmd.OutOrStdout(), v)
	}, "rotation", arg, "account", account)
}

// addAccountFlag declares --account, the account a command is about, the
// same on every command: help says what more it means there, if anything.
func addAccountFlag(cmd *cobra.Command, help string) {
	cmd.Flags().String("account", "", cmp.Or(help, "account id")+" (required)")
	_ = cmd.MarkFlagRequired("account")
}

func parseRotationID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("rotation id %q must be a positive number", arg)
	}
	return id, nil
}

// timeFlag returns the RFC 3339 time of the named flag, nil when not given.
func timeFlag(cmd *cobra.Command, name string) (*time.Time, error) {
	s, _ := cmd.Flags().GetString(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("--%s %q must be an RFC 3339 time such as 2026-11-21T00:00:00Z", name, s)
	}
	return &t, nil
}

// printPreview prints the coming turns, then the members' states.
func printPreview(w io.Writer, p *leads.RotationPreview) error {
	fmt.Fprintf(w, "rotation %d %q, after turn %d\n\n", p.RotationID, p.Name, p.Turn)
	if len(p.Next) == 0 {
		fmt.Fprintln(w, noneEligible(p.FallbackAssignee))
	} else {
		tw := newTable(w, "TURN", "ASSIGNEE", "SKIPPED")
		for _, t := range p.Next {
			row(tw, t.Turn, t.Assignee, skipped(t.Skipped))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("print turns: %w", err)
		}
	}
	fmt.Fprintln(w)
	tw := newTable(w, "USER", "WEIGHT", "PAUSED", "CAP", "TODAY", "ELIGIBLE")
	for _, m := range p.Members {
		row(tw, m.User, m.Weight, yesNo(m.Paused), capText(m.DailyCap), m.AssignedToday, eligibility(m))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print members: %w", err)
	}
	return nil
}

// printStats prints the window's summary, then one row per member.
func printStats(w io.Writer, st *leads.RotationStats) error {
	next := st.Next
	if next == "" {
		next = "nobody eligible"
	}
	fmt.Fprintf(w, "rotation %d %q: %s to %s, %d leads, turn %d, next %s\n\n",
		st.RotationID, st.Name, st.From.Format(time.RFC3339), st.To.Format(time.RFC3339), st.Total, st.Turn, next)
	tw := newTable(w, "USER", "WEIGHT", "ASSIGNED", "SHARE", "TARGET", "DEVIATION", "SKIPS", "TODAY")
	for _, m := range st.Members {
		row(tw, m.User, m.Weight, m.Assigned, percent(m.Share), percent(m.TargetShare),
			fmt.Sprintf("%+.1f", m.Deviation), skipCounts(m.Skips), m.AssignedToday)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print stats: %w", err)
	}
	return nil
}

// newTable returns a tabwriter with the header row written.
func newTable(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}

func row(tw *tabwriter.Writer, cells ...any) {
	text := make([]string, len(cells))
	for i, c := range cells {
		text[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(tw, strings.Join(text, "\t"))
}

func noneEligible(fallback string) string {
	if fallback == "" {
		return "nobody is eligible and there is no fallback: leads stay unassigned"
	}
	return "nobody is eligible: leads go to the fallback, " + fallback
}

// skipped describes the members a turn passes over, e.g.
// "ben@example.com (paused x1)".
func skipped(skips []leads.Skip) string {
	if len(skips) == 0 {
		return "-"
	}
	out := make([]string, len(skips))
	for i, s := range skips {
		out[i] = fmt.Sprintf("%s (%s x%d)", s.User, s.Reason, s.Slots)
	}
	return strings.Join(out, ", ")
}

// skipCounts describes a member's skips by reason, e.g. "daily_cap 2, paused 1".
func skipCounts(skips map[string]int64) string {
	if len(skips) == 0 {
		return "-"
	}
	var out []string
	for _, reason := range slices.Sorted(maps.Keys(skips)) {
		out = append(out, fmt.Sprintf("%s %d", reason, skips[reason]))
	}
	return strings.Join(out, ", ")
}

func eligibility(m leads.MemberStatus) string {
	if m.Eligible {
		return "yes"
	}
	return "no: " + m.Reason
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func capText(n int) string {
	if n <= 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func percent(f float64) string {
	return fmt.Sprintf("%.1f%%", 100*f)
}
