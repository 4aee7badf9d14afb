// Package workhours reads and writes a day of a member's working hours as
// people type them, "09:00-12:00, 13:00-17:00", for the web console's
// form and the command line's flags, and says a Schedule's refusal in the
// same words.
//
// The rules of a schedule (valid times, no overlap, an IANA zone) are
// leads.Schedule.Validate's alone: Parse only cuts text into intervals,
// so that the Service refuses, and names, what is wrong.
package workhours

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// Week lists the weekdays Monday first, as a schedule is written.
var Week = [7]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// Name is the weekday as a schedule's JSON and its refusals name it:
// "monday".
func Name(d time.Weekday) string { return strings.ToLower(d.String()) }

// Example is what a day's hours look like, for hints and messages.
const Example = "09:00-12:00, 13:00-17:00"

// dash reads the dash between an interval's times, with any space around
// it, so that "09:00 - 12:00" and "09:00–12:00" are one interval.
var dash = regexp.MustCompile(`\s*[-–—]\s*`)

// Parse reads a day's intervals: "HH:MM-HH:MM" each, separated by commas,
// semicolons or spaces, in the order typed; "" (or only spaces) is no
// interval, a day off. A single-digit hour is read with a leading zero
// (9:00 is 09:00). It refuses, naming the piece, text that is not
// intervals; whether the times are valid, and do not overlap, is left to
// leads.Schedule.Validate.
func Parse(text string) ([]leads.WorkHours, error) {
	pieces := strings.FieldsFunc(dash.ReplaceAllString(text, "-"), func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	hours := make([]leads.WorkHours, 0, len(pieces))
	for _, p := range pieces {
		start, end, ok := strings.Cut(p, "-")
		if !ok || start == "" || end == "" || strings.Contains(end, "-") {
			return nil, fmt.Errorf("%q is not an interval: write them like %s", p, Example)
		}
		hours = append(hours, leads.WorkHours{Start: clock(start), End: clock(end)})
	}
	return hours, nil
}

// clock gives a one-digit hour its leading zero: "9:30" is "09:30".
func clock(s string) string {
	if len(s) == 4 && s[1] == ':' {
		return "0" + s
	}
	return s
}

// Format writes a day's intervals as Parse reads them; "" for none.
func Format(hours []leads.WorkHours) string {
	parts := make([]string, len(hours))
	for i, h := range hours {
		parts[i] = h.Start + "-" + h.End
	}
	return strings.Join(parts, ", ")
}

// Set replaces the intervals of weekday d of s.
func Set(s *leads.Schedule, d time.Weekday, hours []leads.WorkHours) {
	switch d {
	case time.Monday:
		s.Monday = hours
	case time.Tuesday:
		s.Tuesday = hours
	case time.Wednesday:
		s.Wednesday = hours
	case time.Thursday:
		s.Thursday = hours
	case time.Friday:
		s.Friday = hours
	case time.Saturday:
		s.Saturday = hours
	default:
		s.Sunday = hours
	}
}

// dayField reads the day and interval of a refusal's field: monday,
// monday[1], monday[1].start.
var dayField = regexp.MustCompile(`^(monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?:\[(\d+)\](?:\.(?:start|end))?)?$`)

// intervalRef finds an interval named in a refusal's message ("Overlaps
// monday[0]").
var intervalRef = regexp.MustCompile(`\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\[(\d+)\]`)

// Refusal says in the words of the form or flags a refusal of
// leads.Schedule.Validate for schedule s, as sent: the weekday it is
// about and a message that names intervals by their text, not by their
// index ("11:00-13:00: Overlaps 09:00-12:00"). ok is false when err is
// not about a day (the time zone, a permission, anything else).
func Refusal(err error, s *leads.Schedule) (day time.Weekday, msg string, ok bool) {
	var e *leads.Error
	if !errors.As(err, &e) || e.Code != leads.CodeValidation {
		return 0, "", false
	}
	field, _ := e.Details["field"].(string)
	m := dayField.FindStringSubmatch(field)
	if m == nil {
		return 0, "", false
	}
	for _, d := range Week {
		if Name(d) == m[1] {
			day = d
		}
	}
	msg, _ = e.Details["message"].(string)
	msg = intervalRef.ReplaceAllStringFunc(msg, func(ref string) string {
		r := intervalRef.FindStringSubmatch(ref)
		return interval(s, r[1], r[2], ref)
	})
	if m[2] != "" {
		msg = interval(s, m[1], m[2], field) + ": " + msg
	}
	return day, msg, true
}

// interval is the text of interval i of the named day of s, or def when s
// has no such interval.
func interval(s *leads.Schedule, name, i, def string) string {
	n, err := strconv.Atoi(i)
	if err != nil || s == nil {
		return def
	}
	for _, d := range Week {
		if Name(d) == name {
			if hours := s.Day(d); n < len(hours) {
				return hours[n].Start + "-" + hours[n].End
			}
		}
	}
	return def
}
