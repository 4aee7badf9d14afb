package leads

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
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

// String writes the schedule as people read it:
// "America/New_York: monday 09:00-12:00 13:00-17:00, friday 09:00-17:00".
func (s *Schedule) String() string {
	var days []string
	for _, d := range week {
		hours := s.Day(d)
		if len(hours) == 0 {
			continue
		}
		day := strings.ToLower(d.String())
		for _, h := range hours {
			day += " " + h.Start + "-" + h.End
		}
		days = append(days, day)
	}
	if len(days) == 0 {
		days = []string{"no hours"}
	}
	return s.Timezone + ": " + strings.Join(days, ", ")
}

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

// clone returns a copy of s that shares no slice with it.
func (s *Schedule) clone() *Schedule {
	out := *s
	for _, d := range week {
		*out.day(d) = slices.Clone(*s.day(d))
	}
	return &out
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
		// The zero time is what an absent start decodes to: one given as
		// 0001-01-01T00:00:00Z is told apart from none by this message.
		return ValidationError(FieldError{"start", nil, "Is required: a date-time after 0001-01-01T00:00:00Z"})
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
		t, err := time.Parse(time.DateOnly, d)
		if err != nil || t.Format(time.DateOnly) != d {
			return ValidationError(FieldError{field, shorten(d), "Must be a date YYYY-MM-DD"})
		}
		if t.Year() < MinYear {
			return ValidationError(FieldError{field, d, fmt.Sprintf("Must be a date in the years %04d to %d", MinYear, MaxYear)})
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

// Availability events, each with the member's email or the calendar's id,
// and the object before and after the change (only one of them for a
// creation or a deletion).
const (
	EventScheduleSet            = "schedule_set"
	EventScheduleCleared        = "schedule_cleared"
	EventTimeOffAdded           = "time_off_added"
	EventTimeOffDeleted         = "time_off_deleted"
	EventHolidayCalendarCreated = "holiday_calendar_created"
	EventHolidayCalendarUpdated = "holiday_calendar_updated"
	// EventHolidayCalendarDeleted also lists the members who followed it
	// (and follow none from then on).
	EventHolidayCalendarDeleted = "holiday_calendar_deleted"
	// EventMemberCalendarSet: a member follows another holiday calendar
	// (before and after are calendar ids, 0 for none).
	EventMemberCalendarSet = "member_calendar_set"
)

// memberAvailability returns the availability of member email (lower-cased)
// of actor's account as the configuration has it (nil when nothing is
// set); NOT_FOUND when email is not a member.
func (s *Service) memberAvailability(ctx context.Context, actor Actor, email string) (*MemberAvailability, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.Members[email]; !ok {
		return nil, notFound("member")
	}
	return cfg.Availability[email], nil
}

// Schedule returns the working hours of member email of actor's account;
// every member may read them. NOT_FOUND when email is not a member, or has
// no schedule (and is always within their working hours).
func (s *Service) Schedule(ctx context.Context, actor Actor, email string) (*Schedule, error) {
	a, err := s.memberAvailability(ctx, actor, EmailKey(email))
	if err != nil {
		return nil, err
	}
	if a == nil || a.Schedule == nil {
		return nil, notFound("schedule")
	}
	return a.Schedule.clone(), nil
}

// SetSchedule replaces the working hours of member email of actor's
// account with sch, or clears them when sch is nil, audited as
// schedule_set or schedule_cleared {email, before, after}; managers and
// admins. It returns the schedule as stored (nil when cleared).
// VALIDATION_ERROR names what is wrong (see Schedule.Validate); NOT_FOUND
// when email is not a member. The change applies to the next lead in every
// process.
func (s *Service) SetSchedule(ctx context.Context, actor Actor, email string, sch *Schedule) (*Schedule, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, err
	}
	email = EmailKey(email)
	var next *Schedule
	if sch != nil {
		next = sch.clone()
		if err := next.Validate(); err != nil {
			return nil, err
		}
	}
	now := s.clock()
	_, a, err := s.store.ChangeAvailability(ctx, actor.AccountID, email, func(_ *Member, cur *MemberAvailability) (*AvailabilityChange, error) {
		if reflect.DeepEqual(cur.Schedule, next) {
			return nil, nil
		}
		// configEntry leaves out a nil before or after: an untyped nil.
		event, before, after := EventScheduleSet, any(nil), any(nil)
		if cur.Schedule != nil {
			before = cur.Schedule
		}
		if next != nil {
			after = next
		} else {
			event = EventScheduleCleared
		}
		e := configEntry(actor, event, "email", email, before, after, now)
		return &AvailabilityChange{SetSchedule: true, Schedule: next, Audit: func() []AuditEntry { return []AuditEntry{e} }}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("set schedule of %s: %w", email, err)
	}
	if a.Schedule == nil {
		return nil, nil
	}
	return a.Schedule, nil
}

// requireTimeOff returns FORBIDDEN unless a may change the time off of
// member email: a manager or an admin anyone's, an agent their own.
func (a Actor) requireTimeOff(email string) error {
	if err := a.Require(PermRead); err != nil {
		return err
	}
	if EmailKey(a.Email) == email {
		return nil
	}
	return a.Require(PermWriteConfig)
}

// TimeOff returns the periods of time off of member email of actor's
// account, by start, past ones included; every member may read them.
// NOT_FOUND when email is not a member.
func (s *Service) TimeOff(ctx context.Context, actor Actor, email string) ([]TimeOff, error) {
	a, err := s.memberAvailability(ctx, actor, EmailKey(email))
	if err != nil {
		return nil, err
	}
	if a == nil {
		return []TimeOff{}, nil
	}
	return slices.Clone(a.TimeOff), nil
}

// AddTimeOff adds a period of time off to member email of actor's account,
// audited as time_off_added {email, timeOffId, after}: managers and admins
// for anyone, an agent for themselves (FORBIDDEN for another member).
// VALIDATION_ERROR names what is wrong (see TimeOff.Validate), and field
// timeOff when the member has MaxTimeOffPerMember periods already;
// NOT_FOUND when email is not a member. The period applies to the next
// lead in every process.
func (s *Service) AddTimeOff(ctx context.Context, actor Actor, email string, off TimeOff) (*TimeOff, error) {
	email = EmailKey(email)
	if err := actor.requireTimeOff(email); err != nil {
		return nil, err
	}
	now := s.clock()
	off.ID, off.Email, off.CreatedAt = 0, email, now
	if err := off.Validate(); err != nil {
		return nil, err
	}
	var added *TimeOff
	_, _, err := s.store.ChangeAvailability(ctx, actor.AccountID, email, func(_ *Member, cur *MemberAvailability) (*AvailabilityChange, error) {
		if n := len(cur.TimeOff); n >= MaxTimeOffPerMember {
			return nil, ValidationError(FieldError{"timeOff", n, fmt.Sprintf("A member has at most %d periods of time off: delete ended ones first", MaxTimeOffPerMember)})
		}
		next := off
		added = &next
		return &AvailabilityChange{AddTimeOff: &next, Audit: func() []AuditEntry {
			e := configEntry(actor, EventTimeOffAdded, "email", email, nil, next, now)
			e.Data["timeOffId"] = next.ID
			return []AuditEntry{e}
		}}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("add time off of %s: %w", email, err)
	}
	return added, nil
}

// DeleteTimeOff deletes period id of the time off of member email of
// actor's account, audited as time_off_deleted {email, timeOffId, before}:
// managers and admins for anyone, an agent for themselves (FORBIDDEN for
// another member). NOT_FOUND when email is not a member or has no such
// period.
func (s *Service) DeleteTimeOff(ctx context.Context, actor Actor, email string, id int64) error {
	email = EmailKey(email)
	if err := actor.requireTimeOff(email); err != nil {
		return err
	}
	now := s.clock()
	_, _, err := s.store.ChangeAvailability(ctx, actor.AccountID, email, func(_ *Member, cur *MemberAvailability) (*AvailabilityChange, error) {
		i := slices.IndexFunc(cur.TimeOff, func(t TimeOff) bool { return t.ID == id })
		if i < 0 {
			return nil, notFound("time off")
		}
		e := configEntry(actor, EventTimeOffDeleted, "email", email, cur.TimeOff[i], nil, now)
		e.Data["timeOffId"] = id
		return &AvailabilityChange{DeleteTimeOff: id, Audit: func() []AuditEntry { return []AuditEntry{e} }}, nil
	})
	if err != nil {
		return fmt.Errorf("delete time off %d of %s: %w", id, email, err)
	}
	return nil
}

// SetMemberCalendar makes member email of actor's account follow holiday
// calendar calendarID (0: none), audited as member_calendar_set {email,
// before, after}; managers and admins. It returns the member. NOT_FOUND
// when email is not a member; VALIDATION_ERROR (holidayCalendarId) for a
// calendar the account does not have.
func (s *Service) SetMemberCalendar(ctx context.Context, actor Actor, email string, calendarID int64) (*Member, error) {
	cfg, now, err := s.configForChange(ctx, actor)
	if err != nil {
		return nil, err
	}
	email = EmailKey(email)
	if calendarID != 0 && cfg.HolidayCalendars[calendarID] == nil {
		return nil, UnknownHolidayCalendar(calendarID)
	}
	m, _, err := s.store.ChangeAvailability(ctx, actor.AccountID, email, func(_ *Member, cur *MemberAvailability) (*AvailabilityChange, error) {
		if cur.HolidayCalendarID == calendarID {
			return nil, nil
		}
		e := newAuditEntry(actor, EventMemberCalendarSet, map[string]any{"email": email, "before": cur.HolidayCalendarID, "after": calendarID}, now)
		return &AvailabilityChange{SetCalendar: true, HolidayCalendarID: calendarID, Audit: func() []AuditEntry { return []AuditEntry{e} }}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("set holiday calendar of %s: %w", email, err)
	}
	return m, nil
}

// HolidayCalendars returns actor's account's holiday calendars by id.
func (s *Service) HolidayCalendars(ctx context.Context, actor Actor) ([]HolidayCalendar, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	out := make([]HolidayCalendar, 0, len(cfg.HolidayCalendars))
	for _, c := range cfg.HolidayCalendars {
		out = append(out, c.clone())
	}
	slices.SortFunc(out, func(a, b HolidayCalendar) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// HolidayCalendar returns holiday calendar id of actor's account; NOT_FOUND
// when it has none.
func (s *Service) HolidayCalendar(ctx context.Context, actor Actor, id int64) (*HolidayCalendar, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	c := cfg.HolidayCalendars[id]
	if c == nil {
		return nil, notFound("holiday calendar")
	}
	out := c.clone()
	return &out, nil
}

func (c *HolidayCalendar) clone() HolidayCalendar {
	out := *c
	out.Dates = slices.Clone(c.Dates)
	return out
}

// CreateHolidayCalendar adds a holiday calendar to actor's account,
// audited as holiday_calendar_created; managers and admins.
// VALIDATION_ERROR names what is wrong (see HolidayCalendar.Validate), and
// field name past MaxHolidayCalendars calendars; CONFLICT when another
// calendar of the account has the name.
func (s *Service) CreateHolidayCalendar(ctx context.Context, actor Actor, c HolidayCalendar) (*HolidayCalendar, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.ID, c.AccountID = 0, actor.AccountID
	c.CreatedAt = s.clock()
	c.UpdatedAt = c.CreatedAt
	entry := func(created *HolidayCalendar, others int) (AuditEntry, error) {
		if others >= MaxHolidayCalendars {
			return AuditEntry{}, ValidationError(FieldError{"name", created.Name, fmt.Sprintf("An account has at most %d holiday calendars", MaxHolidayCalendars)})
		}
		return configEntry(actor, EventHolidayCalendarCreated, "holidayCalendarId", created.ID, nil, created, created.CreatedAt), nil
	}
	if err := s.store.CreateHolidayCalendar(ctx, &c, entry); err != nil {
		return nil, fmt.Errorf("create holiday calendar: %w", err)
	}
	return &c, nil
}

// UpdateHolidayCalendar changes holiday calendar id of actor's account as
// change decides (its ID, account and times are kept), audited as
// holiday_calendar_updated with before and after; managers and admins.
// NOT_FOUND when the account has no such calendar, and the refusals of
// CreateHolidayCalendar. The change applies to the next lead in every
// process.
func (s *Service) UpdateHolidayCalendar(ctx context.Context, actor Actor, id int64, change func(c *HolidayCalendar) error) (*HolidayCalendar, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, err
	}
	now := s.clock()
	c, err := s.store.UpdateHolidayCalendar(ctx, actor.AccountID, id, func(cur *HolidayCalendar) (*HolidayCalendar, []AuditEntry, error) {
		next := cur.clone()
		if err := change(&next); err != nil {
			return nil, nil, err
		}
		next.ID, next.AccountID, next.CreatedAt, next.UpdatedAt = cur.ID, cur.AccountID, cur.CreatedAt, cur.UpdatedAt
		if err := next.Validate(); err != nil {
			return nil, nil, err
		}
		if reflect.DeepEqual(*cur, next) {
			return nil, nil, nil
		}
		next.UpdatedAt = now
		return &next, []AuditEntry{configEntry(actor, EventHolidayCalendarUpdated, "holidayCalendarId", id, cur, next, now)}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("update holiday calendar %d: %w", id, err)
	}
	return c, nil
}

// DeleteHolidayCalendar deletes holiday calendar id of actor's account,
// audited as holiday_calendar_deleted with the members who followed it,
// who follow none from then on; managers and admins. NOT_FOUND when the
// account has no such calendar.
func (s *Service) DeleteHolidayCalendar(ctx context.Context, actor Actor, id int64) error {
	if err := actor.Require(PermWriteConfig); err != nil {
		return err
	}
	now := s.clock()
	err := s.store.DeleteHolidayCalendar(ctx, actor.AccountID, id, func(cur *HolidayCalendar, followers []string) AuditEntry {
		e := configEntry(actor, EventHolidayCalendarDeleted, "holidayCalendarId", id, cur, nil, now)
		e.Data["members"] = followers
		return e
	})
	if err != nil {
		return fmt.Errorf("delete holiday calendar %d: %w", id, err)
	}
	return nil
}
