package simulate

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"
)

// WriteText writes r as tables for a person: what the replay would have
// done beside what happened, section by section.
func (r *Result) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.line("Replayed %d leads of account %s created from %s to %s.", r.Leads, r.AccountID,
		r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	p.line("%d would change owner (%s).", r.Changed, percent(r.Changed, int64(r.Leads)))

	p.section("By rep")
	p.table([]string{"REP", "ACTUAL", "REPLAY", "CHANGE"}, func(row func(...any)) {
		for _, rep := range r.Reps {
			row(nobody(rep.User), rep.Leads.Actual, rep.Leads.Replay, signed(rep.Leads.Replay-rep.Leads.Actual))
		}
	})

	p.section("How owners were decided")
	p.table([]string{"REASON", "ACTUAL", "REPLAY"}, func(row func(...any)) {
		for _, reason := range slices.Sorted(maps.Keys(r.Reasons)) {
			s := r.Reasons[reason]
			row(reason, s.Actual, s.Replay)
		}
	})

	if w := r.Waiting; w.Leads > 0 {
		p.section(fmt.Sprintf("Waiting for a rep: %d leads", w.Leads))
		p.line("until one of their rotation is available again: p50 %s, p90 %s, longest %s; %d never within 400 days",
			time.Duration(w.P50), time.Duration(w.P90), time.Duration(w.Max), w.Never)
	}

	for _, rot := range r.Rotations {
		name := rot.Name
		if name == "" {
			name = "(not in this configuration)"
		}
		p.section(fmt.Sprintf("Rotation %q (%d): %d turns in the replay, %d as it happened", name, rot.ID, rot.Turns.Replay, rot.Turns.Actual))
		p.table([]string{"MEMBER", "WEIGHT", "TARGET", "REPLAY", "DEVIATION", "ACTUAL"}, func(row func(...any)) {
			for _, m := range rot.Members {
				row(m.User, m.Weight, fmt.Sprintf("%.1f", m.Target), m.Turns.Replay, fmt.Sprintf("%+.1f", m.Deviation), m.Turns.Actual)
			}
		})
	}

	if len(r.Rules) > 0 {
		p.section("Routing rules: leads each decided")
		p.table([]string{"RULE", "ACTUAL", "REPLAY"}, func(row func(...any)) {
			for _, rule := range r.Rules {
				name := rule.Name
				if name == "" {
					name = fmt.Sprintf("(rule %d, not in this configuration)", rule.ID)
				}
				row(name, rule.Matched.Actual, rule.Matched.Replay)
			}
		})
	}

	for _, t := range r.Tiers {
		p.section(fmt.Sprintf("Tier %s: %d leads", t.Tier, t.Leads.Replay))
		p.table([]string{"REP", "ACTUAL", "REPLAY"}, func(row func(...any)) {
			for _, rep := range t.Reps {
				row(nobody(rep.User), rep.Leads.Actual, rep.Leads.Replay)
			}
		})
	}

	if len(r.ChangedSample) > 0 {
		p.section(fmt.Sprintf("Leads whose owner would change (%d of %d)", len(r.ChangedSample), r.Changed))
		p.table([]string{"LEAD", "CREATED", "ACTUAL", "REPLAY", "HOW"}, func(row func(...any)) {
			for _, c := range r.ChangedSample {
				how := c.Reason
				if c.Rule != "" {
					how += fmt.Sprintf(" (rule %q)", c.Rule)
				}
				row(c.LeadID, c.CreatedAt.Format(time.RFC3339), nobody(c.Actual), nobody(c.Replay), how)
			}
		})
	}

	p.section("Where a replay differs from what happened")
	for _, d := range r.Differences {
		if d.Leads > 0 {
			p.line("- %s (%d leads): %s", d.Code, d.Leads, d.Message)
		} else {
			p.line("- %s: %s", d.Code, d.Message)
		}
	}
	return p.err
}

// printer writes text, keeping the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) section(title string) {
	p.line("")
	p.line("%s", title)
}

// table writes a table with head, its rows given by fill.
func (p *printer) table(head []string, fill func(row func(...any))) {
	if p.err != nil {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	cells := func(vals ...any) {
		for _, v := range vals {
			fmt.Fprintf(tw, "%v\t", v)
		}
		fmt.Fprintln(tw)
	}
	heads := make([]any, len(head))
	for i, h := range head {
		heads[i] = h
	}
	cells(heads...)
	fill(cells)
	p.err = tw.Flush()
}

// nobody names the empty assignee.
func nobody(user string) string {
	if user == "" {
		return "(nobody)"
	}
	return user
}

func signed(n int64) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%+d", n)
}

func percent(n, of int64) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", float64(n)*100/float64(of))
}
