package console

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// This file is what the console says of a rotation's SLA and of speed to
// lead, on the board, on Today and on a lead's page: the SLA in words and
// in the settings form, times as people read them, an expiry in a trail.

// choice is one option of a select: the value it sends and what it says.
type choice struct{ Value, Text string }

// slaClocks and slaEnds are the SLA form's choices; the summary says them
// in the same words.
var (
	slaClocks = []choice{{leads.SLAClockWall, "wall clock"}, {leads.SLAClockWorkingHours, "working hours only"}}
	slaEnds   = []choice{{leads.SLAKeep, "keep it with the last rep"}, {leads.SLAFallback, "give it to the fallback"},
		{leads.SLAHold, "hold it unassigned for a manager"}}
	slaNobody = []choice{{leads.SLAExhaust, "that is the end"}, {leads.SLAWait, "wait until one of them is back"}}
)

// choiceText is what the choice of value v says; v itself when none has it.
func choiceText(choices []choice, v string) string {
	for _, c := range choices {
		if c.Value == v {
			return c.Text
		}
	}
	return v
}

// slaSummary says sla in words ("Accept within 5m, wall clock, up to 2
// reassignments, then keep it with the last rep"), or "No SLA" for nil.
func slaSummary(sla *leads.SLA) string {
	if sla == nil {
		return "No SLA"
	}
	moves := "no reassignment"
	switch n := sla.MaxReassignments; {
	case n == 1:
		moves = "up to 1 reassignment"
	case n > 1:
		moves = fmt.Sprintf("up to %d reassignments", n)
	}
	wait := ""
	if sla.WhenNobodyAvailable == leads.SLAWait && sla.MaxReassignments > 0 {
		wait = " (waiting while nobody else is available)"
	}
	return fmt.Sprintf("Accept within %s, %s, %s%s, then %s", shortDuration(time.Duration(sla.AcceptWithin)),
		choiceText(slaClocks, sla.Clock), moves, wait, choiceText(slaEnds, sla.WhenExhausted))
}

// shortDuration is d as Go writes durations without the zero units of its
// end ("5m", "1h", "1h30m" rather than "5m0s", "1h0m0s"): what the form
// shows, and reads back with time.ParseDuration.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// humanDuration is d as a person reads a wait: its two largest units, to
// the second ("2m 10s", "1h 5m", "3d 4h", "45s"), "under 1s" below one.
func humanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Second {
		return "under 1s"
	}
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	var parts []string
	for _, u := range units {
		n := d / u.size
		if n == 0 && len(parts) > 0 {
			break // "1h", not "1h 0m"
		}
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
			d -= n * u.size
		}
		if len(parts) == 2 {
			break
		}
	}
	return strings.Join(parts, " ")
}

// seconds is a percentile of speed to lead, in seconds, as humanDuration
// says it; "–" while there is none (nothing accepted or touched yet).
func seconds(p *float64) string {
	if p == nil {
		return "–"
	}
	return humanDuration(time.Duration(*p * float64(time.Second)))
}

// Names of the settings form's SLA inputs: the fields the Service's
// refusals name, so that its message is shown next to the input.
const (
	slaOnField           = "sla"
	slaAcceptWithinField = "sla.acceptWithin"
	slaClockField        = "sla.clock"
	slaMaxField          = "sla.maxReassignments"
	slaEndField          = "sla.whenExhausted"
	slaNobodyField       = "sla.whenNobodyAvailable"
)

// slaForm is the SLA part of the settings form as it is shown.
type slaForm struct {
	On                                                                        bool
	AcceptWithin, Clock, MaxReassignments, WhenExhausted, WhenNobodyAvailable string
	Clocks, Ends, Nobody                                                      []choice
}

// newSLAForm is the form of sla, the rotation's SLA; or, when form is the
// settings form sent and refused, of what it held, so nothing typed is
// lost.
func newSLAForm(sla *leads.SLA, form url.Values) slaForm {
	f := slaForm{Clock: leads.SLAClockWall, MaxReassignments: "1", WhenExhausted: leads.SLAKeep, WhenNobodyAvailable: leads.SLAExhaust,
		Clocks: slaClocks, Ends: slaEnds, Nobody: slaNobody}
	switch {
	case form.Has(slaAcceptWithinField):
		f.On = form.Get(slaOnField) == "on"
		f.AcceptWithin, f.Clock = form.Get(slaAcceptWithinField), form.Get(slaClockField)
		f.MaxReassignments, f.WhenExhausted = form.Get(slaMaxField), form.Get(slaEndField)
		f.WhenNobodyAvailable = form.Get(slaNobodyField)
	case sla != nil:
		f.On = true
		f.AcceptWithin, f.Clock = shortDuration(time.Duration(sla.AcceptWithin)), sla.Clock
		f.MaxReassignments, f.WhenExhausted = fmt.Sprint(sla.MaxReassignments), sla.WhenExhausted
		f.WhenNobodyAvailable = cmp.Or(sla.WhenNobodyAvailable, leads.SLAExhaust)
	}
	return f
}

// parseSLAForm reads the SLA the settings form sets: nil when "SLA on" is
// not ticked (the SLA is removed), else the SLA typed, for the Service to
// validate. A time to accept that is no Go duration, or a number of
// reassignments that is no whole number, is refused at its input.
func parseSLAForm(form url.Values) (*leads.SLA, error) {
	if form.Get(slaOnField) != "on" {
		return nil, nil
	}
	v := strings.TrimSpace(form.Get(slaAcceptWithinField))
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil, leads.ValidationError(leads.FieldError{Field: slaAcceptWithinField, Value: v,
			Message: `Must be a duration such as "5m", "90s" or "1h30m"`})
	}
	sla := &leads.SLA{AcceptWithin: leads.Duration(d), Clock: form.Get(slaClockField), WhenExhausted: form.Get(slaEndField),
		WhenNobodyAvailable: form.Get(slaNobodyField)}
	if v := strings.TrimSpace(form.Get(slaMaxField)); v != "" {
		n, err := formInt(slaMaxField, v)
		if err != nil {
			return nil, err
		}
		sla.MaxReassignments = int(n)
	}
	return sla, nil
}

// slaExpiredText says an sla_expired audit entry (its data) in words: whose
// time ran out, what became of the lead, and why the SLA was exhausted.
func slaExpiredText(data map[string]any) string {
	str := func(k string) string { s, _ := data[k].(string); return s }
	within := str("acceptWithin")
	if d, err := time.ParseDuration(within); err == nil {
		within = shortDuration(d)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s did not accept within %s (%s).", str("assignee"), within, choiceText(slaClocks, str("clock")))
	switch next := str("nextAssignee"); str("action") {
	case leads.SLAReassigned:
		fmt.Fprintf(&b, " It moved to %s, the rotation's next turn.", next)
	case leads.SLAKeep:
		b.WriteString(" It stays with them.")
	case leads.SLAFallback:
		fmt.Fprintf(&b, " It went to the fallback, %s.", next)
	case leads.SLAHold:
		b.WriteString(" It is held unassigned for a manager to give.")
	}
	switch str("exhaustedBy") {
	case "max_reassignments":
		b.WriteString(" The SLA is exhausted: the lead has moved as often as it allows.")
	case "nobody_left":
		b.WriteString(" The SLA is exhausted: nobody eligible is left who has not had the lead.")
	}
	return b.String()
}

// slaWaitingText says an sla_waiting audit entry (its data) in words.
func slaWaitingText(data map[string]any) string {
	str := func(k string) string { s, _ := data[k].(string); return s }
	due := str("dueAt")
	if t, err := time.Parse(time.RFC3339Nano, due); err == nil {
		due = t.UTC().Format("Mon 2 Jan 15:04 UTC")
	}
	return fmt.Sprintf("%s did not accept in time, and nobody who has not had the lead was available. It stays with them; the time to accept now ends %s, when %s is back.",
		str("assignee"), due, str("nextAvailable"))
}

// slaState is where a lead's time to accept stands, in words, and the
// class that colours it (ok, warn-text, off).
type slaState struct{ Text, Class string }

// slaStatus says where the lead's time to accept stands: nothing when its
// assignment has none; Accept by (the deadline) while it runs; that it
// ran out, when the latest word of its assignment is an expiry that kept
// the lead with its rep; accepted in time or late once accepted.
func slaStatus(l *leads.Lead) *slaState {
	if l.SLADueAt == nil {
		return nil
	}
	due := instantText(*l.SLADueAt)
	switch {
	case l.AcceptedAt != nil && !l.AcceptedAt.After(*l.SLADueAt):
		return &slaState{"Accepted in time (due by " + due + ")", "ok"}
	case l.AcceptedAt != nil:
		return &slaState{"Accepted late (due by " + due + ", accepted " + instantText(*l.AcceptedAt) + ")", "off"}
	}
	if ranOut(l.AuditLog) {
		return &slaState{"Time to accept ran out at " + due + "; not accepted yet", "off"}
	}
	return &slaState{"Accept by " + due, "warn-text"}
}

// ranOut reports whether the latest word of a lead's assignment in its
// trail is an SLA's expiry, which kept the lead with its rep (one that
// moved it is followed by its reassignment).
func ranOut(trail []leads.AuditEntry) bool {
	for i := len(trail) - 1; i >= 0; i-- {
		switch trail[i].Event {
		case leads.EventSLAExpired:
			return true
		case leads.EventLeadAssigned, leads.EventLeadReassigned:
			return false
		}
	}
	return false
}
