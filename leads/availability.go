package leads

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Limits on availability.
const (
	// MaxDayIntervals bounds the intervals of one day of a schedule.
	MaxDayIntervals = 24
	// MaxTimeOffPerMember bounds the periods of time off one member has,
	// past ones included: delete ended periods to make room.
	MaxTimeOffPerMember = 200
	// MaxTimeOffDays bounds one period of time off: a longer absence is
	// several periods, so that a typo in a year does not hide a rep for
	// a decade.
	MaxTimeOffDays = 366
	// MaxHolidayCalendars bounds an account's holiday calendars.
	MaxHolidayCalendars = 100
	// MaxHolidayDates bounds the dates of one holiday calendar (some
	// years of public holidays).
	MaxHolidayDates = 1000
)

// Schedule is a member's working hours: for each weekday, the intervals of
// the day they take leads, as wall-clock times in their own time zone. A
// member without a schedule is always within their working hours; a day
// with no interval (an empty list, or the day left out) is off all day.
//
// Intervals are read on the local calendar date of an instant, in
// Timezone, by comparing the local clock with them: 09:00-17:00 is open
// from the moment the member's clock shows 09:00 until it shows 17:00,
// eight real hours on the days the clocks change too, whenever the change
// falls outside the interval. An interval across a change is as long as
// the clock says it is: across a spring-forward gap (02:00 to 02:59 never
// shown) it is an hour shorter in real time, and one starting inside the
// gap (02:30) opens when the clock jumps (03:00); across an autumn
// fall-back, the hour shown twice is inside the interval both times, and
// the interval is an hour longer. A shift past midnight is two intervals,
// one on each day (22:00-24:00, then 00:00-06:00).
type Schedule struct {
	// Timezone is an IANA time zone name of the member's own; "" and
	// "Local" are refused (see ValidateTimezone).
	Timezone  string      `json:"timezone"`
	Monday    []WorkHours `json:"monday"`
	Tuesday   []WorkHours `json:"tuesday"`
	Wednesday []WorkHours `json:"wednesday"`
	Thursday  []WorkHours `json:"thursday"`
	Friday    []WorkHours `json:"friday"`
	Saturday  []WorkHours `json:"saturday"`
	Sunday    []WorkHours `json:"sunday"`
}

// WorkHours is one interval of a working day, [Start, End): "HH:MM"
// wall-clock times, Start from 00:00 to 23:59, End after Start and at most
// "24:00" (the end of the day).
type WorkHours struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// week lists the weekdays in the order a week is written, Monday first.
var week = [7]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

// Day returns the intervals of weekday d.
func (s *Schedule) Day(d time.Weekday) []WorkHours { return *s.day(d) }

// day points at the intervals of weekday d.
func (s *Schedule) day(d time.Weekday) *[]WorkHours {
	switch d {
	case time.Monday:
		return &s.Monday
	case time.Tuesday:
		return &s.Tuesday
	case time.Wednesday:
		return &s.Wednesday
	case time.Thursday:
		return &s.Thursday
	case time.Friday:
		return &s.Friday
	case time.Saturday:
		return &s.Saturday
	}
	return &s.Sunday
}

// span is an interval of a day in minutes from midnight, [from, to).
type span struct{ from, to int16 }

// Validate normalizes and checks the schedule: an IANA time zone (field
// timezone), and for each day (a day left out is an empty list) at most
// MaxDayIntervals intervals of valid times (monday[1].start), each ending
// after it starts (monday[1]) and none overlapping another of its day
// (monday[1] names the later of the two in the list). Touching intervals
// (09:00-12:00, 12:00-17:00) do not overlap. Each day's intervals are then
// sorted by start.
func (s *Schedule) Validate() error {
	if err := ValidateTimezone(s.Timezone); err != nil {
		return err
	}
	for _, d := range week {
		name := strings.ToLower(d.String())
		hours := s.day(d)
		if *hours == nil {
			*hours = []WorkHours{}
		}
		if len(*hours) > MaxDayIntervals {
			return ValidationError(FieldError{name, len(*hours), fmt.Sprintf("A day has at most %d intervals", MaxDayIntervals)})
		}
		spans := make([]span, len(*hours))
		for i, h := range *hours {
			field := fmt.Sprintf("%s[%d]", name, i)
			from, ok := parseClock(h.Start)
			if !ok || from == minutesPerDay {
				return ValidationError(FieldError{field + ".start", shorten(h.Start), "Must be a time of day HH:MM, from 00:00 to 23:59"})
			}
			to, ok := parseClock(h.End)
			if !ok {
				return ValidationError(FieldError{field + ".end", shorten(h.End), "Must be a time of day HH:MM, from 00:01 to 24:00"})
			}
			if to <= from {
				return ValidationError(FieldError{field, h, "Must end after it starts; a shift past midnight is two intervals, one on each day"})
			}
			spans[i] = span{from, to}
		}
		order := make([]int, len(spans))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(spans[a].from, spans[b].from) })
		for k := 1; k < len(order); k++ {
			a, b := order[k-1], order[k]
			if spans[b].from < spans[a].to {
				later, other := max(a, b), min(a, b)
				return ValidationError(FieldError{fmt.Sprintf("%s[%d]", name, later), (*hours)[later], fmt.Sprintf("Overlaps %s[%d]", name, other)})
			}
		}
		sorted := make([]WorkHours, len(order))
		for k, i := range order {
			sorted[k] = (*hours)[i]
		}
		*hours = sorted
	}
	return nil
}

const minutesPerDay = 24 * 60

// parseClock reads "HH:MM", 00:00 to 24:00, as minutes from midnight.
func parseClock(s string) (int16, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	digits := [4]byte{s[0], s[1], s[3], s[4]}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	h := int16(digits[0]-'0')*10 + int16(digits[1]-'0')
	m := int16(digits[2]-'0')*10 + int16(digits[3]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// TimeOff is a period a member is out of office, [Start, End): no lead
// goes to them by rotation from Start until End.
type TimeOff struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"createdAt"`
}

// Validate normalizes and checks the period: a start and an end (UTC,
// to the microsecond, as stored), the end after the start and at most
// MaxTimeOffDays later (field end), and a note of at most
// MaxShortTextLength characters.
func (t *TimeOff) Validate() error {
	t.Start, t.End = t.Start.UTC().Truncate(time.Microsecond), t.End.UTC().Truncate(time.Microsecond)
	t.Note = strings.TrimSpace(t.Note)
	switch {
	case t.Start.IsZero():
		return ValidationError(FieldError{"start", nil, "Is required"})
	case t.End.IsZero():
		return ValidationError(FieldError{"end", nil, "Is required"})
	case !t.End.After(t.Start):
		return ValidationError(FieldError{"end", t.End, "Must be after start"})
	case t.End.Sub(t.Start) > MaxTimeOffDays*24*time.Hour:
		return ValidationError(FieldError{"end", t.End, fmt.Sprintf("A period of time off lasts at most %d days; add another for longer", MaxTimeOffDays)})
	}
	return checkText("note", t.Note, MaxShortTextLength)
}

// HolidayCalendar is an account's list of holidays: on each of its dates,
// all day long in its time zone, the members who follow it (one calendar
// at most each, Member.HolidayCalendarID) take no lead by rotation.
type HolidayCalendar struct {
	ID        int64  `json:"id"`
	AccountID string `json:"accountId"`
	// Name is unique in the account.
	Name string `json:"name"`
	// Timezone is the IANA time zone whose days the dates are.
	Timezone string `json:"timezone"`
	// Dates are YYYY-MM-DD, sorted.
	Dates     []string  `json:"dates"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Validate normalizes and checks the calendar: a name, an IANA time zone
// (field timezone), and at most MaxHolidayDates dates, each a valid
// YYYY-MM-DD given once (dates[2]); the dates are then sorted.
func (c *HolidayCalendar) Validate() error {
	if err := validateName(&c.Name); err != nil {
		return err
	}
	if err := ValidateTimezone(c.Timezone); err != nil {
		return err
	}
	if c.Dates == nil {
		c.Dates = []string{}
	}
	if len(c.Dates) > MaxHolidayDates {
		return ValidationError(FieldError{"dates", len(c.Dates), fmt.Sprintf("A calendar has at most %d dates", MaxHolidayDates)})
	}
	seen := make(map[string]bool, len(c.Dates))
	for i, d := range c.Dates {
		field := fmt.Sprintf("dates[%d]", i)
		if t, err := time.Parse(time.DateOnly, d); err != nil || t.Format(time.DateOnly) != d {
			return ValidationError(FieldError{field, shorten(d), "Must be a date YYYY-MM-DD"})
		}
		if seen[d] {
			return ValidationError(FieldError{field, d, "Appears twice"})
		}
		seen[d] = true
	}
	c.Dates = slices.Clone(c.Dates)
	slices.Sort(c.Dates)
	return nil
}

// MemberAvailability is what an account's configuration knows of when one
// member can take leads (see AccountConfig.Away), which prepares it on its
// first use: it must not be modified once in a configuration.
type MemberAvailability struct {
	Email string
	// Schedule is the member's working hours; nil when they have none
	// (always within them).
	Schedule *Schedule
	// TimeOff lists the member's periods of time off, by start.
	TimeOff []TimeOff
	// HolidayCalendarID is the calendar the member follows; 0 for none.
	HolidayCalendarID int64

	once     sync.Once
	prepared preparedAvailability
}

// AvailabilityChange is a change of one member's availability, as
// ConfigStore.ChangeAvailability's apply decides it. Several parts may be
// set at once.
type AvailabilityChange struct {
	// SetSchedule replaces the member's schedule with Schedule; nil
	// clears it.
	SetSchedule bool
	Schedule    *Schedule
	// AddTimeOff, when set, is stored as a new period and gets its ID.
	AddTimeOff *TimeOff
	// DeleteTimeOff, when not 0, is the id of a period of the member's to
	// delete.
	DeleteTimeOff int64
	// SetCalendar makes the member follow HolidayCalendarID (0: none).
	SetCalendar       bool
	HolidayCalendarID int64
	// Audit makes the change's audit entries once the change is written,
	// so that they can name the ID a new period got.
	Audit func() []AuditEntry
}

// UnknownHolidayCalendar is the VALIDATION_ERROR of a member setting that
// names a holiday calendar the account does not have.
func UnknownHolidayCalendar(id int64) *Error {
	return ValidationError(FieldError{"holidayCalendarId", id, "Is not a holiday calendar of this account"})
}
