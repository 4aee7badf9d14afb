package leads

import (
	"cmp"
	"slices"
	"time"
)

// Away returns why member user cannot take a lead at instant at ("" when
// they can), from the account's availability in c (schedules, time off,
// holiday calendars): SkipOutOfOffice first, then SkipHoliday, then
// SkipOutsideHours. user is a lower-cased email, as rotations hold them.
//
// It runs for every member of a rotation at every lead, so it allocates
// nothing: each member's availability is prepared once per configuration
// (time zones loaded, hours in minutes, time off merged, holidays as
// sorted day numbers), on its first use.
func (c *AccountConfig) Away(user string, at time.Time) string {
	a := c.Availability[user]
	if a == nil {
		return ""
	}
	a.once.Do(func() { a.prepared = prepareAvailability(c, a) })
	p := &a.prepared
	switch {
	case p.outOfOffice(at):
		return SkipOutOfOffice
	case p.holiday(at):
		return SkipHoliday
	case p.outsideHours(at):
		return SkipOutsideHours
	}
	return ""
}

// preparedAvailability is a member's availability in the form Away reads.
type preparedAvailability struct {
	// hours is the schedule's time zone, nil without a schedule; week the
	// intervals of each day, by time.Weekday.
	hours *time.Location
	week  [7][]span
	// off are the periods of time off, [from, to) in Unix nanoseconds,
	// merged where they overlap or touch, by start.
	off []period
	// calendar is the holiday calendar's time zone, nil when the member
	// follows none; holidays its dates as dayNumbers, sorted.
	calendar *time.Location
	holidays []int32
}

type period struct{ from, to int64 }

// prepareAvailability prepares a's availability for Away, the holidays
// from c's calendar. A time zone this server does not know (its time zone
// database is older than the one that accepted it) is read as UTC, as a
// rotation's is.
func prepareAvailability(c *AccountConfig, a *MemberAvailability) preparedAvailability {
	var p preparedAvailability
	if s := a.Schedule; s != nil {
		p.hours = loadLocation(s.Timezone)
		for _, d := range week {
			for _, h := range s.Day(d) {
				from, okFrom := parseClock(h.Start)
				to, okTo := parseClock(h.End)
				if okFrom && okTo && from < to {
					p.week[d] = append(p.week[d], span{from, to})
				}
			}
		}
	}
	for _, t := range a.TimeOff {
		p.off = append(p.off, period{t.Start.UnixNano(), t.End.UnixNano()})
	}
	slices.SortFunc(p.off, func(x, y period) int { return cmp.Compare(x.from, y.from) })
	merged := p.off[:0]
	for _, o := range p.off {
		if n := len(merged); n > 0 && o.from <= merged[n-1].to {
			merged[n-1].to = max(merged[n-1].to, o.to)
			continue
		}
		merged = append(merged, o)
	}
	p.off = merged
	if cal := c.HolidayCalendars[a.HolidayCalendarID]; cal != nil {
		p.calendar = loadLocation(cal.Timezone)
		for _, d := range cal.Dates {
			if t, err := time.Parse(time.DateOnly, d); err == nil {
				p.holidays = append(p.holidays, dayNumber(t))
			}
		}
		slices.Sort(p.holidays)
	}
	return p
}

// loadLocation returns the time zone name, UTC when unknown.
func loadLocation(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil && name != "Local" {
		return loc
	}
	return time.UTC
}

// dayNumber identifies t's calendar date (in t's location) in one int32.
func dayNumber(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(y)<<9 | int32(m)<<5 | int32(d)
}

// outOfOffice reports whether at falls in a period of time off.
func (p *preparedAvailability) outOfOffice(at time.Time) bool {
	if len(p.off) == 0 {
		return false
	}
	n := at.UnixNano()
	// The first period that ends after at: ends grow with starts, merged.
	i, j := 0, len(p.off)
	for i < j {
		h := int(uint(i+j) >> 1)
		if p.off[h].to <= n {
			i = h + 1
		} else {
			j = h
		}
	}
	return i < len(p.off) && p.off[i].from <= n
}

// holiday reports whether at is, in the calendar's time zone, on one of
// its dates.
func (p *preparedAvailability) holiday(at time.Time) bool {
	if p.calendar == nil {
		return false
	}
	_, found := slices.BinarySearch(p.holidays, dayNumber(at.In(p.calendar)))
	return found
}

// outsideHours reports whether at is, by the member's clock, outside
// every interval of its day of their schedule (see Schedule on clock
// changes); never without a schedule.
func (p *preparedAvailability) outsideHours(at time.Time) bool {
	if p.hours == nil {
		return false
	}
	local := at.In(p.hours)
	h, m, _ := local.Clock()
	minute := int16(h*60 + m)
	for _, s := range p.week[local.Weekday()] {
		if s.from <= minute && minute < s.to {
			return false
		}
	}
	return true
}

// AvailableAgain returns the first instant at or after from at which some
// member of rot who is not paused is not away (see Away), within
// slaHorizon; ok is false when none is by then. Daily caps and capacity
// are not considered: a waiting lead may wait longer for them.
func (c *AccountConfig) AvailableAgain(rot *Rotation, from time.Time) (at time.Time, ok bool) {
	end := from.Add(slaHorizon)
	for _, m := range rot.Members {
		if m.Paused {
			continue
		}
		a := c.Availability[m.User]
		if a == nil {
			return from, true
		}
		a.once.Do(func() { a.prepared = prepareAvailability(c, a) })
		p := &a.prepared
		for t := from; t.Before(end) && (!ok || t.Before(at)); t = p.nextChange(t) {
			if !p.outOfOffice(t) && !p.holiday(t) && !p.outsideHours(t) {
				at, ok = t, true
				break
			}
		}
	}
	return at, ok
}
