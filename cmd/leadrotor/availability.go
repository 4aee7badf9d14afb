package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/internal/workhours"
	"github.com/leadrotor/leadrotor/leads"
)

// timeoffCmd is `timeoff add|list|remove`: members' periods of time off,
// during which rotations pass over them.
func timeoffCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "timeoff", Short: "Manage members' time off, during which rotations pass over them"}
	add := &cobra.Command{
		Use:   "add --account ID --email EMAIL --start DAY|TIME --end DAY|TIME [--note TEXT]",
		Short: "Add a period of time off to a member",
		Long: `Add a period of time off to a member. --start and --end are a day
(YYYY-MM-DD, UTC) or an RFC 3339 time: --start 2026-12-24 starts at the
beginning of that day, --end 2026-12-26 ends at the end of that day (three
whole days off), and --end 2026-12-26T12:00:00+01:00 at that instant.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, _ := cmd.Flags().GetString("account")
			email, _ := cmd.Flags().GetString("email")
			note, _ := cmd.Flags().GetString("note")
			start, err := dayOrTimeFlag(cmd, "start", false)
			if err != nil {
				return err
			}
			end, err := dayOrTimeFlag(cmd, "end", true)
			if err != nil {
				return err
			}
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				off, err := m.Service().AddTimeOff(ctx, leads.SystemActor(account), email, leads.TimeOff{Start: start, End: end, Note: note})
				if err != nil {
					return flagError(err, map[string]string{"start": "--start", "end": "--end", "note": "--note"})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "time off %d of %s: %s to %s\n", off.ID, off.Email, off.Start.Format(time.RFC3339), off.End.Format(time.RFC3339))
				return nil
			}, "account", account, "member", email)
		},
	}
	addAccountFlag(add, "")
	addEmailFlag(add, "the member who is off", true)
	add.Flags().String("start", "", "first day off (YYYY-MM-DD, UTC), or the RFC 3339 time it starts (required)")
	add.Flags().String("end", "", "last day off (YYYY-MM-DD, UTC, included), or the RFC 3339 time it ends (required)")
	add.Flags().String("note", "", "what it is, for whoever reads it")
	_ = add.MarkFlagRequired("start")
	_ = add.MarkFlagRequired("end")

	list := &cobra.Command{
		Use:   "list --account ID [--email EMAIL]",
		Short: "List the time off of an account's members, or of one member: id, member, start, end, note",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, _ := cmd.Flags().GetString("account")
			email, _ := cmd.Flags().GetString("email")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				actor := leads.SystemActor(account)
				emails := []string{email}
				if email == "" {
					// An unknown account has no members: say it is unknown.
					if _, err := m.Service().Account(ctx, actor); err != nil {
						return err
					}
					members, err := m.Service().Members(ctx, actor)
					if err != nil {
						return err
					}
					emails = emails[:0]
					for _, mb := range members {
						emails = append(emails, mb.Email)
					}
				}
				tw := newTable(cmd.OutOrStdout(), "ID", "EMAIL", "START", "END", "NOTE")
				for _, e := range emails {
					offs, err := m.Service().TimeOff(ctx, actor, e)
					if err != nil {
						return err
					}
					for _, off := range offs {
						row(tw, off.ID, off.Email, off.Start.Format(time.RFC3339), off.End.Format(time.RFC3339), orDash(off.Note))
					}
				}
				return flush(tw, "time off")
			}, "account", account, "member", email)
		},
	}
	addAccountFlag(list, "")
	addEmailFlag(list, "only this member's time off", false)

	remove := &cobra.Command{
		Use:   "remove --account ID --email EMAIL --id N",
		Short: "Remove a period of time off of a member (its id is in timeoff list)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, _ := cmd.Flags().GetString("account")
			email, _ := cmd.Flags().GetString("email")
			id, _ := cmd.Flags().GetInt64("id")
			if id < 1 {
				return fmt.Errorf("--id %d must be a positive number, as timeoff list shows it", id)
			}
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				if err := m.Service().DeleteTimeOff(ctx, leads.SystemActor(account), email, id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "time off %d of %s removed\n", id, leads.EmailKey(email))
				return nil
			}, "account", account, "member", email, "time off", fmt.Sprint(id))
		},
	}
	addAccountFlag(remove, "")
	addEmailFlag(remove, "the member whose time off it is", true)
	remove.Flags().Int64("id", 0, "the period's id (required)")
	_ = remove.MarkFlagRequired("id")
	cmd.AddCommand(add, list, remove)
	return cmd
}

// dayOrTimeFlag reads the named flag: an RFC 3339 time, or a day
// (YYYY-MM-DD, UTC) read as its beginning, or, for an end, as its end
// (the next day's beginning), so that a period of days names its first and
// last.
func dayOrTimeFlag(cmd *cobra.Command, name string, end bool) (time.Time, error) {
	v, _ := cmd.Flags().GetString(name)
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	day, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q must be a day such as 2026-12-24 or an RFC 3339 time such as 2026-12-24T09:00:00+01:00", name, v)
	}
	if end {
		day = day.AddDate(0, 0, 1)
	}
	return day, nil
}

// flagError says a refusal of the Service by the flag that holds the
// field it names (flags maps fields to flags), as userError would
// otherwise say it by the field.
func flagError(err error, flags map[string]string) error {
	var e *leads.Error
	if !errors.As(err, &e) || e.Code != leads.CodeValidation {
		return err
	}
	field, _ := e.Details["field"].(string)
	flag, ok := flags[field]
	if !ok {
		return err
	}
	return fmt.Errorf("%s: %v", flag, e.Details["message"])
}

// dayFlags are the flags of the weekdays' hours, Monday first.
var dayFlags = [7]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// scheduleCmd is `schedule set|clear|show`: a member's working hours,
// outside which rotations pass over them.
func scheduleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Short: "Manage members' working hours, outside which rotations pass over them"}
	set := &cobra.Command{
		Use:   "set --account ID --email EMAIL --zone ZONE [--mon HOURS] … [--sun HOURS]",
		Short: "Set a member's working hours, the whole week: a day left out is a day off",
		Long: `Set a member's working hours, replacing the whole week. --zone is the
member's IANA time zone; each day's flag lists its intervals on the
member's clock, such as --mon "` + workhours.Example + `". A day without
its flag is a day off; a shift past midnight is two intervals, one on each
day (--fri 22:00-24:00 --sat 00:00-06:00).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, _ := cmd.Flags().GetString("account")
			email, _ := cmd.Flags().GetString("email")
			zone, _ := cmd.Flags().GetString("zone")
			sch := leads.Schedule{Timezone: strings.TrimSpace(zone)}
			for i, d := range workhours.Week {
				text, _ := cmd.Flags().GetString(dayFlags[i])
				hours, err := workhours.Parse(text)
				if err != nil {
					return fmt.Errorf("--%s: %w", dayFlags[i], err)
				}
				workhours.Set(&sch, d, hours)
			}
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				saved, err := m.Service().SetSchedule(ctx, leads.SystemActor(account), email, &sch)
				if err != nil {
					if d, msg, ok := workhours.Refusal(err, &sch); ok {
						return fmt.Errorf("--%s: %s", dayFlags[(int(d)+6)%7], msg)
					}
					return flagError(err, map[string]string{"timezone": "--zone"})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "working hours of %s set: %s\n", leads.EmailKey(email), saved)
				return nil
			}, "account", account, "member", email)
		},
	}
	addAccountFlag(set, "")
	addEmailFlag(set, "the member whose hours to set", true)
	set.Flags().String("zone", "", "the member's IANA time zone, such as Europe/Paris (required)")
	_ = set.MarkFlagRequired("zone")
	for i, d := range workhours.Week {
		set.Flags().String(dayFlags[i], "", fmt.Sprintf("%s's intervals, such as %q (none: a day off)", d, workhours.Example))
	}

	unset := &cobra.Command{
		Use:   "clear --account ID --email EMAIL",
		Short: "Clear a member's working hours: they are within them at every hour",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, _ := cmd.Flags().GetString("account")
			email, _ := cmd.Flags().GetString("email")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				if _, err := m.Service().SetSchedule(ctx, leads.SystemActor(account), email, nil); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "working hours of %s cleared: always available\n", leads.EmailKey(email))
				return nil
			}, "account", account, "member", email)
		},
	}
	addAccountFlag(unset, "")
	addEmailFlag(unset, "the member whose hours to clear", true)

	show := &cobra.Command{
		Use:   "show --account ID --email EMAIL",
		Short: "Show a member's working hours, day by day, and the holiday calendar they follow",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, _ := cmd.Flags().GetString("account")
			email, _ := cmd.Flags().GetString("email")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				cfg, err := m.Service().Configuration(ctx, leads.SystemActor(account))
				if err != nil {
					return err
				}
				key := leads.EmailKey(email)
				if _, ok := cfg.Members[key]; !ok {
					return leads.Errorf(leads.CodeNotFound, "member not found")
				}
				return printSchedule(cmd.OutOrStdout(), key, cfg)
			}, "account", account, "member", email)
		},
	}
	addAccountFlag(show, "")
	addEmailFlag(show, "the member whose hours to show", true)
	cmd.AddCommand(set, unset, show)
	return cmd
}

// printSchedule prints member email's working hours in cfg, one day a
// line, then the holiday calendar they follow.
func printSchedule(w io.Writer, email string, cfg *leads.AccountConfig) error {
	var sch *leads.Schedule
	calendar := "none"
	if a := cfg.Availability[email]; a != nil {
		sch = a.Schedule
		if cal := cfg.HolidayCalendars[a.HolidayCalendarID]; cal != nil {
			calendar = fmt.Sprintf("%s (id %d, %s)", cal.Name, cal.ID, cal.Timezone)
		}
	}
	if sch == nil {
		fmt.Fprintf(w, "%s has no working hours: always available\n", email)
	} else {
		fmt.Fprintf(w, "working hours of %s, time zone %s\n", email, sch.Timezone)
		tw := newTable(w, "DAY", "HOURS")
		for _, d := range workhours.Week {
			row(tw, workhours.Name(d), orDash(workhours.Format(sch.Day(d))))
		}
		if err := flush(tw, "working hours"); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "holiday calendar: %s\n", calendar)
	return nil
}
