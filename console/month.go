package console

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/internal/workhours"
	"github.com/leadrotor/leadrotor/leads"
)

// monthGrid is a month as a calendar shows it, whole weeks Monday first,
// with who is off on each day.
type monthGrid struct {
	// Title is "December 2026"; Month, Prev and Next are the month shown
	// and its neighbours as the month query parameter takes them.
	Title, Month, Prev, Next string
	PrevTitle, NextTitle     string
	Weekdays                 []string
	Weeks                    [][]gridDay
	// Anyone says whether anyone is off on a day of the month.
	Anyone bool
}

// gridDay is one day of the grid.
type gridDay struct {
	// Date is YYYY-MM-DD, Day its day of the month.
	Date string
	Day  int
	// InMonth is false for the days of the neighbouring months that fill
	// the first and last weeks; Today marks today (UTC).
	InMonth, Today bool
	Off            []dayOff
}

// dayOff is a member off on a day: Kind is leads.SkipOutOfOffice or
// leads.SkipHoliday; Note the period's note or the calendar's name.
type dayOff struct {
	Email, Kind, Note string
}

// monthParam is the month query parameter's layout.
const monthParam = "2006-01"

// parseMonth reads the month query parameter (YYYY-MM), the month of now
// when empty; VALIDATION_ERROR otherwise.
func parseMonth(v string, now time.Time) (time.Time, error) {
	if v == "" {
		y, m, _ := now.UTC().Date()
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC), nil
	}
	t, err := time.Parse(monthParam, v)
	if err != nil || t.Year() < 1900 || t.Year() > 9998 {
		return t, leads.Errorf(leads.CodeValidation, "The month must be like 2026-12, not %q", v)
	}
	return t, nil
}

// newMonthGrid lays out the month that starts at first (UTC) with, on each
// day, the members of cfg on time off during some of it (UTC days) and
// those whose holiday calendar has the date.
func newMonthGrid(cfg *leads.AccountConfig, first, now time.Time) monthGrid {
	prev, next := first.AddDate(0, -1, 0), first.AddDate(0, 1, 0)
	g := monthGrid{Title: first.Format("January 2006"), Month: first.Format(monthParam),
		Prev: prev.Format(monthParam), Next: next.Format(monthParam),
		PrevTitle: prev.Format("January 2006"), NextTitle: next.Format("January 2006")}
	for _, d := range workhours.Week {
		g.Weekdays = append(g.Weekdays, d.String())
	}
	start := first.AddDate(0, 0, -(int(first.Weekday())+6)%7)
	end := next.AddDate(0, 0, (7-(int(next.Weekday())+6)%7)%7)
	today := now.UTC().Format(time.DateOnly)
	days := map[string]*gridDay{}
	for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Monday {
			g.Weeks = append(g.Weeks, make([]gridDay, 0, 7))
		}
		w := len(g.Weeks) - 1
		date := d.Format(time.DateOnly)
		g.Weeks[w] = append(g.Weeks[w], gridDay{Date: date, Day: d.Day(), InMonth: d.Month() == first.Month(), Today: date == today})
		days[date] = &g.Weeks[w][len(g.Weeks[w])-1]
	}
	for _, email := range slices.Sorted(maps.Keys(cfg.Availability)) {
		a := cfg.Availability[email]
		for _, off := range a.TimeOff {
			from, to := maxTime(off.Start, start), minTime(off.End, end)
			y, m, dd := from.UTC().Date()
			for d := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC); d.Before(to); d = d.AddDate(0, 0, 1) {
				if day := days[d.Format(time.DateOnly)]; day != nil {
					day.Off = append(day.Off, dayOff{Email: email, Kind: leads.SkipOutOfOffice, Note: off.Note})
					g.Anyone = g.Anyone || day.InMonth
				}
			}
		}
		if cal := cfg.HolidayCalendars[a.HolidayCalendarID]; cal != nil {
			for _, date := range cal.Dates {
				if day := days[date]; day != nil {
					day.Off = append(day.Off, dayOff{Email: email, Kind: leads.SkipHoliday, Note: cal.Name})
					g.Anyone = g.Anyone || day.InMonth
				}
			}
		}
	}
	return g
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Label is the day in words, "Friday 25 December": what a screen reader
// says of the day, and what a phone, which lists the days, shows.
func (d gridDay) Label() string {
	t, err := time.Parse(time.DateOnly, d.Date)
	if err != nil {
		return d.Date
	}
	return t.Format("Monday 2 January")
}

// Class is the day cell's classes.
func (d gridDay) Class() string {
	var c []string
	if !d.InMonth {
		c = append(c, "other-month")
	}
	if d.Today {
		c = append(c, "today")
	}
	return strings.Join(c, " ")
}
