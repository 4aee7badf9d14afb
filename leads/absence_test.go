package leads_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// onSunday is a schedule in zone with hours on Sundays only.
func onSunday(zone string, hours ...leads.WorkHours) *leads.Schedule {
	return &leads.Schedule{Timezone: zone, Sunday: hours}
}

// configWith is a configuration whose one member, ana@example.com, has a.
func configWith(a *leads.MemberAvailability, calendars ...*leads.HolidayCalendar) *leads.AccountConfig {
	cfg := &leads.AccountConfig{Availability: map[string]*leads.MemberAvailability{"ana@example.com": a},
		HolidayCalendars: map[int64]*leads.HolidayCalendar{}}
	for _, c := range calendars {
		cfg.HolidayCalendars[c.ID] = c
	}
	return cfg
}

// openMinutes walks the local day date of zone minute by minute, as
// instants, and returns how many of them ana is available at, and the
// first and the last of those.
func openMinutes(t *testing.T, cfg *leads.AccountConfig, zone, date string) (open time.Duration, first, last time.Time) {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	day, err := time.ParseInLocation(time.DateOnly, date, loc)
	require.NoError(t, err)
	end := day.AddDate(0, 0, 1)
	for at := day.UTC(); at.Before(end); at = at.Add(time.Minute) {
		if cfg.Away("ana@example.com", at) == "" {
			if first.IsZero() {
				first = at
			}
			last, open = at, open+time.Minute
		}
	}
	return open, first, last
}

// TestAwayOnClockChanges reads working hours on the days the clocks change,
// in Paris and New York, spring and autumn: an interval clear of the change
// lasts what it says (09:00-17:00 is eight hours), one across it as long as
// the clock shows (an hour shorter in spring, longer in autumn), and one
// starting in the spring gap opens when the clock jumps.
func TestAwayOnClockChanges(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return at
	}
	day := leads.WorkHours{Start: "09:00", End: "17:00"}
	night := leads.WorkHours{Start: "00:00", End: "06:00"}
	for _, tc := range []struct {
		name, zone, date string
		hours            leads.WorkHours
		open             time.Duration
		first, last      string // UTC, the first and last available minute
	}{
		{"Paris, spring, 09-17", "Europe/Paris", "2026-03-29", day, 8 * time.Hour, "2026-03-29T07:00:00Z", "2026-03-29T14:59:00Z"},
		{"Paris, autumn, 09-17", "Europe/Paris", "2026-10-25", day, 8 * time.Hour, "2026-10-25T08:00:00Z", "2026-10-25T15:59:00Z"},
		{"New York, spring, 09-17", "America/New_York", "2026-03-08", day, 8 * time.Hour, "2026-03-08T13:00:00Z", "2026-03-08T20:59:00Z"},
		{"New York, autumn, 09-17", "America/New_York", "2026-11-01", day, 8 * time.Hour, "2026-11-01T14:00:00Z", "2026-11-01T21:59:00Z"},
		{"Paris, spring, across the gap", "Europe/Paris", "2026-03-29", night, 5 * time.Hour, "2026-03-28T23:00:00Z", "2026-03-29T03:59:00Z"},
		{"Paris, autumn, across the repeated hour", "Europe/Paris", "2026-10-25", night, 7 * time.Hour, "2026-10-24T22:00:00Z", "2026-10-25T04:59:00Z"},
		{"New York, spring, across the gap", "America/New_York", "2026-03-08", night, 5 * time.Hour, "2026-03-08T05:00:00Z", "2026-03-08T09:59:00Z"},
		{"New York, autumn, across the repeated hour", "America/New_York", "2026-11-01", night, 7 * time.Hour, "2026-11-01T04:00:00Z", "2026-11-01T10:59:00Z"},
		{"Paris, spring, starting in the gap", "Europe/Paris", "2026-03-29", leads.WorkHours{Start: "02:30", End: "03:30"}, 30 * time.Minute,
			"2026-03-29T01:00:00Z", "2026-03-29T01:29:00Z"},
		{"New York, autumn, ending in the repeated hour", "America/New_York", "2026-11-01", leads.WorkHours{Start: "00:00", End: "01:30"}, 2 * time.Hour,
			"2026-11-01T04:00:00Z", "2026-11-01T06:29:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := configWith(&leads.MemberAvailability{Schedule: onSunday(tc.zone, tc.hours)})
			open, first, last := openMinutes(t, cfg, tc.zone, tc.date)
			require.Equal(t, tc.open, open)
			require.Equal(t, utc(tc.first), first)
			require.Equal(t, utc(tc.last), last)
			require.Equal(t, leads.SkipOutsideHours, cfg.Away("ana@example.com", first.Add(-time.Second)), "the instant before it opens")
			require.Equal(t, "", cfg.Away("ana@example.com", last.Add(59*time.Second)), "the last second")
			require.Equal(t, leads.SkipOutsideHours, cfg.Away("ana@example.com", last.Add(time.Minute)), "closed at its end")
		})
	}
}

func TestAwayReasons(t *testing.T) {
	t.Parallel()
	ny := &leads.HolidayCalendar{ID: 7, Name: "US", Timezone: "America/New_York", Dates: []string{"2026-11-26", "2026-12-25"}}
	// Thursday 2026-11-26 is Thanksgiving; ana works Thursdays 09-17 in
	// Paris, and is off from Wednesday noon to Thursday 10:00 UTC.
	off := leads.TimeOff{Start: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	ana := &leads.MemberAvailability{Email: "ana@example.com", HolidayCalendarID: ny.ID, TimeOff: []leads.TimeOff{off},
		Schedule: &leads.Schedule{Timezone: "Europe/Paris", Thursday: []leads.WorkHours{{Start: "09:00", End: "17:00"}}}}
	cfg := configWith(ana, ny)
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }
	xmas := func(day, hour, minute int) time.Time { return time.Date(2026, 12, day, hour, minute, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"off, on a holiday, outside hours: out of office first", at(26, 6, 0), leads.SkipOutOfOffice},
		{"time off starts when it says", at(25, 12, 0), leads.SkipOutOfOffice},
		{"not a second before", at(25, 11, 59), leads.SkipOutsideHours},
		{"on a holiday within hours: a holiday", at(26, 10, 0), leads.SkipHoliday},
		{"time off ends when it says", at(26, 9, 59), leads.SkipOutOfOffice},
		{"a Thursday without holiday or time off, within hours", at(19, 9, 30), ""},
		{"and after hours", at(19, 16, 0), leads.SkipOutsideHours},
		{"Christmas starts at New York's midnight", xmas(25, 5, 0), leads.SkipHoliday},
		{"not a minute before", xmas(25, 4, 59), leads.SkipOutsideHours},
		{"and lasts until New York's next midnight", xmas(26, 4, 59), leads.SkipHoliday},
		{"then it is over", xmas(26, 5, 0), leads.SkipOutsideHours},
	} {
		require.Equal(t, tc.want, cfg.Away("ana@example.com", tc.at), tc.name)
	}
	require.Equal(t, "", cfg.Away("ben@example.com", at(26, 4, 0)), "nothing set: always available")
}

func TestAwayTimeOffMerged(t *testing.T) {
	t.Parallel()
	h := func(hour int) time.Time { return time.Date(2026, 12, 1, hour, 0, 0, 0, time.UTC) }
	cfg := configWith(&leads.MemberAvailability{TimeOff: []leads.TimeOff{
		{Start: h(10), End: h(12)}, {Start: h(1), End: h(3)}, {Start: h(2), End: h(4)}, {Start: h(4), End: h(5)}, {Start: h(11), End: h(11).Add(time.Minute)},
	}})
	for hour, want := range map[int]string{0: "", 1: leads.SkipOutOfOffice, 3: leads.SkipOutOfOffice, 4: leads.SkipOutOfOffice,
		5: "", 9: "", 10: leads.SkipOutOfOffice, 11: leads.SkipOutOfOffice, 12: ""} {
		require.Equal(t, want, cfg.Away("ana@example.com", h(hour)), "%02d:00", hour)
	}
	require.Equal(t, leads.SkipOutOfOffice, cfg.Away("ana@example.com", h(5).Add(-time.Nanosecond)))
}

// TestAwayAllocatesNothing: Away runs per member per lead.
func TestAwayAllocatesNothing(t *testing.T) {
	cal := &leads.HolidayCalendar{ID: 1, Timezone: "Europe/Paris", Dates: []string{"2026-12-25"}}
	cfg := configWith(&leads.MemberAvailability{HolidayCalendarID: 1,
		Schedule: &leads.Schedule{Timezone: "America/New_York", Monday: []leads.WorkHours{{Start: "08:00", End: "12:00"}, {Start: "13:00", End: "17:00"}}},
		TimeOff:  []leads.TimeOff{{Start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}}}, cal)
	at := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	require.Equal(t, "", cfg.Away("ana@example.com", at))
	allocs := testing.AllocsPerRun(1000, func() {
		_ = cfg.Away("ana@example.com", at)
		_ = cfg.Away("ana@example.com", at.Add(time.Hour))
		_ = cfg.Away("ben@example.com", at)
	})
	require.Zero(t, allocs)
}
