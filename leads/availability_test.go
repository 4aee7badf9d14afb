package leads_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestAvailability(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"a schedule set, read, seen by the next configuration, cleared", testScheduleLifecycle},
		{"bad schedules are refused by field", testScheduleRefusals},
		{"time off: anyone's for managers, their own for agents", testTimeOffPermissions},
		{"bad time off is refused by field", testTimeOffRefusals},
		{"holiday calendars: managed, followed, deleted", testHolidayCalendars},
		{"bad holiday calendars are refused by field", testHolidayCalendarRefusals},
		{"another account's members and calendars are not found", testAvailabilityTenancy},
		{"a change is seen by another process's next configuration", testAvailabilityEveryProcess},
		{"a lead passes over who is away, saying why; a preview at another instant too", testTurnsSeeAvailability},
	})
}

// TestTimeOffLimit fills a member's time off up to MaxTimeOffPerMember.
func TestTimeOffLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, ctx context.Context, b *bundle) {
		start := b.clock.Now()
		for i := range leads.MaxTimeOffPerMember {
			_, err := b.svc.AddTimeOff(ctx, b.admin, b.reps[0], leads.TimeOff{Start: start.Add(time.Duration(i) * time.Hour), End: start.Add(time.Duration(i+1) * time.Hour)})
			require.NoError(t, err)
		}
		_, err := b.svc.AddTimeOff(ctx, b.admin, b.reps[0], leads.TimeOff{Start: start, End: start.Add(time.Minute)})
		requireField(t, err, "timeOff")
		_, err = b.svc.AddTimeOff(ctx, b.admin, b.reps[1], leads.TimeOff{Start: start, End: start.Add(time.Minute)})
		require.NoError(t, err, "the limit is per member")
	})
}

// requireField requires err to be a VALIDATION_ERROR naming field.
func requireField(t *testing.T, err error, field string) {
	t.Helper()
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, field, leads.ErrorDetails(err)["field"], "error: %v", err)
}

// manager adds a manager to the bundle's account and returns them.
func (b *bundle) manager(t *testing.T) leads.Actor {
	t.Helper()
	m := leads.Actor{AccountID: b.accountID, Email: "manager@example.com", Role: leads.RoleManager}
	_, err := b.svc.PutMember(context.Background(), leads.SystemActor(b.accountID), leads.Member{Email: m.Email, Role: m.Role})
	require.NoError(t, err)
	return m
}

// accountEvents returns the events of the account's configuration, oldest
// first, with their data.
func (b *bundle) accountEvents(t *testing.T, event string) []leads.AuditEntry {
	t.Helper()
	page, err := b.svc.AuditLog(context.Background(), b.admin, leads.AuditQuery{AccountOnly: true, Event: event, Limit: leads.MaxPageSize}, "")
	require.NoError(t, err)
	return page.Data
}

func nineToFive(zone string) *leads.Schedule {
	day := []leads.WorkHours{{Start: "09:00", End: "17:00"}}
	return &leads.Schedule{Timezone: zone, Monday: day, Tuesday: day, Wednesday: day, Thursday: day, Friday: day}
}

func testScheduleLifecycle(t *testing.T, b *bundle) {
	ctx := context.Background()
	rep := b.reps[0]
	manager := b.manager(t)
	_, err := b.svc.Schedule(ctx, b.agent, rep)
	requireCode(t, err, leads.CodeNotFound)
	before, err := b.svc.Configuration(ctx, b.admin)
	require.NoError(t, err)
	// Saturday 2026-11-21 09:00 UTC: the bundle's clock.
	require.Equal(t, "", before.Away(rep, b.clock.Now()), "no schedule: always available")

	_, err = b.svc.SetSchedule(ctx, b.agent, rep, nineToFive("Europe/Paris"))
	requireCode(t, err, leads.CodeForbidden)
	in := nineToFive("Europe/Paris")
	in.Monday = []leads.WorkHours{{Start: "14:00", End: "18:00"}, {Start: "08:00", End: "12:00"}}
	got, err := b.svc.SetSchedule(ctx, manager, strings.ToUpper(rep), in)
	require.NoError(t, err)
	require.Equal(t, []leads.WorkHours{{Start: "08:00", End: "12:00"}, {Start: "14:00", End: "18:00"}}, got.Monday, "sorted by start")
	require.Equal(t, []leads.WorkHours{}, got.Sunday, "a day left out is off")
	require.Equal(t, "14:00", in.Monday[0].Start, "the caller's schedule is not changed")
	read, err := b.svc.Schedule(ctx, b.agent, rep)
	require.NoError(t, err, "agents read schedules")
	require.Equal(t, got, read)

	after, err := b.svc.Configuration(ctx, b.agent)
	require.NoError(t, err)
	require.Greater(t, after.Version, before.Version)
	require.Equal(t, leads.SkipOutsideHours, after.Away(rep, b.clock.Now()), "Saturday: off")
	monday := time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC) // 09:30 in Paris
	require.Equal(t, "", after.Away(rep, monday))
	require.Equal(t, leads.SkipOutsideHours, after.Away(rep, monday.Add(3*time.Hour)), "the lunch break")

	again, err := b.svc.SetSchedule(ctx, b.admin, rep, got)
	require.NoError(t, err)
	require.Equal(t, got, again)
	same, err := b.svc.Configuration(ctx, b.admin)
	require.NoError(t, err)
	require.Equal(t, after.Version, same.Version, "the same schedule again changes nothing")

	cleared, err := b.svc.SetSchedule(ctx, b.admin, rep, nil)
	require.NoError(t, err)
	require.Nil(t, cleared)
	_, err = b.svc.Schedule(ctx, b.admin, rep)
	requireCode(t, err, leads.CodeNotFound)
	last, err := b.svc.Configuration(ctx, b.admin)
	require.NoError(t, err)
	require.Equal(t, "", last.Away(rep, b.clock.Now()))
	_, err = b.svc.SetSchedule(ctx, b.admin, rep, nil)
	require.NoError(t, err, "clearing no schedule is no error")

	_, err = b.svc.SetSchedule(ctx, b.admin, "nobody@example.com", in)
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.Schedule(ctx, b.admin, "nobody@example.com")
	requireCode(t, err, leads.CodeNotFound)

	set := b.accountEvents(t, leads.EventScheduleSet)
	require.Len(t, set, 1)
	require.Equal(t, rep, set[0].Data["email"])
	require.Equal(t, manager.Email, set[0].User)
	require.NotContains(t, set[0].Data, "before")
	require.Equal(t, "Europe/Paris", set[0].Data["after"].(map[string]any)["timezone"])
	cleared2 := b.accountEvents(t, leads.EventScheduleCleared)
	require.Len(t, cleared2, 1)
	require.Contains(t, cleared2[0].Data, "before")
	require.NotContains(t, cleared2[0].Data, "after")
}

func testScheduleRefusals(t *testing.T, b *bundle) {
	ctx := context.Background()
	hours := func(pairs ...string) []leads.WorkHours {
		var out []leads.WorkHours
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, leads.WorkHours{Start: pairs[i], End: pairs[i+1]})
		}
		return out
	}
	many := make([]leads.WorkHours, leads.MaxDayIntervals+1)
	for i := range many {
		many[i] = leads.WorkHours{Start: time.Date(0, 1, 1, 0, i, 0, 0, time.UTC).Format("15:04"), End: time.Date(0, 1, 1, 0, i+1, 0, 0, time.UTC).Format("15:04")}
	}
	for _, tc := range []struct {
		name  string
		sch   leads.Schedule
		field string
	}{
		{"no time zone", leads.Schedule{}, "timezone"},
		{"Local", leads.Schedule{Timezone: "Local"}, "timezone"},
		{"an unknown time zone", leads.Schedule{Timezone: "Mars/Olympus_Mons"}, "timezone"},
		{"overlapping", leads.Schedule{Timezone: "UTC", Monday: hours("09:00", "12:00", "11:00", "13:00")}, "monday[1]"},
		{"overlapping, out of order", leads.Schedule{Timezone: "UTC", Tuesday: hours("11:00", "13:00", "14:00", "15:00", "09:00", "12:00")}, "tuesday[2]"},
		{"one inside another", leads.Schedule{Timezone: "UTC", Friday: hours("08:00", "18:00", "12:00", "13:00")}, "friday[1]"},
		{"inverted", leads.Schedule{Timezone: "UTC", Wednesday: hours("17:00", "09:00")}, "wednesday[0]"},
		{"empty", leads.Schedule{Timezone: "UTC", Thursday: hours("09:00", "09:00")}, "thursday[0]"},
		{"past midnight", leads.Schedule{Timezone: "UTC", Saturday: hours("22:00", "02:00")}, "saturday[0]"},
		{"a bad start", leads.Schedule{Timezone: "UTC", Sunday: hours("9:00", "17:00")}, "sunday[0].start"},
		{"a start at 24:00", leads.Schedule{Timezone: "UTC", Sunday: hours("24:00", "24:00")}, "sunday[0].start"},
		{"a bad end", leads.Schedule{Timezone: "UTC", Monday: hours("09:00", "17:60")}, "monday[0].end"},
		{"an end past 24:00", leads.Schedule{Timezone: "UTC", Monday: hours("09:00", "24:01")}, "monday[0].end"},
		{"not a time", leads.Schedule{Timezone: "UTC", Monday: hours("09:00", "5pm")}, "monday[0].end"},
		{"too many intervals", leads.Schedule{Timezone: "UTC", Monday: many}, "monday"},
	} {
		_, err := b.svc.SetSchedule(ctx, b.admin, b.reps[0], &tc.sch)
		requireField(t, err, tc.field)
	}
	ok := leads.Schedule{Timezone: "UTC", Monday: hours("12:00", "24:00", "00:00", "12:00")}
	_, err := b.svc.SetSchedule(ctx, b.admin, b.reps[0], &ok)
	require.NoError(t, err, "touching intervals do not overlap, and 24:00 ends a day")
}

func testTimeOffPermissions(t *testing.T, b *bundle) {
	ctx := context.Background()
	manager := b.manager(t)
	// The bundle's agent is a member; rep acts as an agent too.
	rep := leads.Actor{AccountID: b.accountID, Email: b.reps[0], Role: leads.RoleAgent}
	now := b.clock.Now()
	week := leads.TimeOff{Start: now.Add(24 * time.Hour), End: now.Add(8 * 24 * time.Hour), Note: "  Holiday in Lisbon  "}

	mine, err := b.svc.AddTimeOff(ctx, rep, strings.ToUpper(rep.Email), week)
	require.NoError(t, err, "an agent sets their own")
	require.NotZero(t, mine.ID)
	require.Equal(t, rep.Email, mine.Email)
	require.Equal(t, "Holiday in Lisbon", mine.Note)
	require.Equal(t, now, mine.CreatedAt)
	_, err = b.svc.AddTimeOff(ctx, rep, b.reps[1], week)
	requireCode(t, err, leads.CodeForbidden)
	_, err = b.svc.AddTimeOff(ctx, rep, "nobody@example.com", week)
	requireCode(t, err, leads.CodeForbidden) // roles before existence
	theirs, err := b.svc.AddTimeOff(ctx, manager, b.reps[1], leads.TimeOff{Start: now, End: now.Add(time.Hour)})
	require.NoError(t, err, "a manager sets anyone's")
	_, err = b.svc.AddTimeOff(ctx, b.admin, rep.Email, leads.TimeOff{Start: now.Add(-time.Hour), End: now.Add(time.Minute)})
	require.NoError(t, err, "an admin too, and a period may have begun")

	list, err := b.svc.TimeOff(ctx, b.agent, rep.Email)
	require.NoError(t, err, "every member reads time off")
	require.Len(t, list, 2)
	require.True(t, list[0].Start.Before(list[1].Start), "by start")
	require.Equal(t, *mine, list[1])
	none, err := b.svc.TimeOff(ctx, b.agent, b.reps[2])
	require.NoError(t, err)
	require.Empty(t, none)
	require.NotNil(t, none)

	cfg, err := b.svc.Configuration(ctx, b.agent)
	require.NoError(t, err)
	require.Equal(t, leads.SkipOutOfOffice, cfg.Away(rep.Email, now), "the period that has begun")
	require.Equal(t, leads.SkipOutOfOffice, cfg.Away(rep.Email, week.Start))
	require.Equal(t, "", cfg.Away(rep.Email, week.Start.Add(-time.Minute)))
	require.Equal(t, leads.SkipOutOfOffice, cfg.Away(b.reps[1], now))

	requireCode(t, b.svc.DeleteTimeOff(ctx, rep, b.reps[1], theirs.ID), leads.CodeForbidden)
	requireCode(t, b.svc.DeleteTimeOff(ctx, b.agent, rep.Email, mine.ID), leads.CodeForbidden) // another agent's
	requireCode(t, b.svc.DeleteTimeOff(ctx, rep, rep.Email, theirs.ID), leads.CodeNotFound)    // a period of another member
	require.NoError(t, b.svc.DeleteTimeOff(ctx, rep, rep.Email, mine.ID), "an agent clears their own")
	requireCode(t, b.svc.DeleteTimeOff(ctx, rep, rep.Email, mine.ID), leads.CodeNotFound) // once
	require.NoError(t, b.svc.DeleteTimeOff(ctx, manager, b.reps[1], theirs.ID))
	cfg, err = b.svc.Configuration(ctx, b.agent)
	require.NoError(t, err)
	require.Equal(t, "", cfg.Away(rep.Email, week.Start))
	require.Equal(t, "", cfg.Away(b.reps[1], now))

	added := b.accountEvents(t, leads.EventTimeOffAdded)
	require.Len(t, added, 3)
	require.Equal(t, rep.Email, added[0].User)
	require.Equal(t, rep.Email, added[0].Data["email"])
	require.EqualValues(t, mine.ID, mustInt(t, added[0].Data["timeOffId"]))
	require.Equal(t, "Holiday in Lisbon", added[0].Data["after"].(map[string]any)["note"])
	deleted := b.accountEvents(t, leads.EventTimeOffDeleted)
	require.Len(t, deleted, 2)
	require.EqualValues(t, mine.ID, mustInt(t, deleted[0].Data["timeOffId"]))
	require.Contains(t, deleted[0].Data, "before")
}

// mustInt reads an audit entry's number.
func mustInt(t *testing.T, v any) int64 {
	t.Helper()
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case interface{ Int64() (int64, error) }:
		i, err := n.Int64()
		require.NoError(t, err)
		return i
	}
	t.Fatalf("not a number: %T %v", v, v)
	return 0
}

func testTimeOffRefusals(t *testing.T, b *bundle) {
	ctx := context.Background()
	now := b.clock.Now()
	for _, tc := range []struct {
		name  string
		off   leads.TimeOff
		field string
	}{
		{"no start", leads.TimeOff{End: now}, "start"},
		{"no end", leads.TimeOff{Start: now}, "end"},
		{"ending before it starts", leads.TimeOff{Start: now, End: now.Add(-time.Hour)}, "end"},
		{"ending as it starts", leads.TimeOff{Start: now, End: now}, "end"},
		{"too long", leads.TimeOff{Start: now, End: now.Add((leads.MaxTimeOffDays*24 + 1) * time.Hour)}, "end"},
		{"a long note", leads.TimeOff{Start: now, End: now.Add(time.Hour), Note: strings.Repeat("x", leads.MaxShortTextLength+1)}, "note"},
	} {
		_, err := b.svc.AddTimeOff(ctx, b.admin, b.reps[0], tc.off)
		requireField(t, err, tc.field)
	}
	_, err := b.svc.AddTimeOff(ctx, b.admin, b.reps[0], leads.TimeOff{Start: now, End: now.Add(leads.MaxTimeOffDays * 24 * time.Hour)})
	require.NoError(t, err, "the longest period")
	_, err = b.svc.AddTimeOff(ctx, b.admin, "nobody@example.com", leads.TimeOff{Start: now, End: now.Add(time.Hour)})
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.TimeOff(ctx, b.admin, "nobody@example.com")
	requireCode(t, err, leads.CodeNotFound)
}

func testHolidayCalendars(t *testing.T, b *bundle) {
	ctx := context.Background()
	manager := b.manager(t)
	_, err := b.svc.CreateHolidayCalendar(ctx, b.agent, leads.HolidayCalendar{Name: "US", Timezone: "America/New_York"})
	requireCode(t, err, leads.CodeForbidden)
	us, err := b.svc.CreateHolidayCalendar(ctx, manager, leads.HolidayCalendar{Name: " US ", Timezone: "America/New_York",
		Dates: []string{"2026-12-25", "2026-11-26"}})
	require.NoError(t, err)
	require.Equal(t, "US", us.Name)
	require.Equal(t, []string{"2026-11-26", "2026-12-25"}, us.Dates, "sorted")
	require.Equal(t, b.accountID, us.AccountID)
	fr, err := b.svc.CreateHolidayCalendar(ctx, b.admin, leads.HolidayCalendar{Name: "France", Timezone: "Europe/Paris"})
	require.NoError(t, err)
	require.Equal(t, []string{}, fr.Dates)
	_, err = b.svc.CreateHolidayCalendar(ctx, b.admin, leads.HolidayCalendar{Name: "US", Timezone: "UTC"})
	requireCode(t, err, leads.CodeConflict)

	all, err := b.svc.HolidayCalendars(ctx, b.agent)
	require.NoError(t, err)
	require.Equal(t, []leads.HolidayCalendar{*us, *fr}, all)
	one, err := b.svc.HolidayCalendar(ctx, b.agent, us.ID)
	require.NoError(t, err)
	require.Equal(t, us, one)

	// Following a calendar: managers, and a holiday is seen at once.
	_, err = b.svc.SetMemberCalendar(ctx, b.agent, b.reps[0], us.ID)
	requireCode(t, err, leads.CodeForbidden)
	m, err := b.svc.SetMemberCalendar(ctx, manager, b.reps[0], us.ID)
	require.NoError(t, err)
	require.Equal(t, us.ID, m.HolidayCalendarID)
	require.Equal(t, leads.RoleAgent, m.Role)
	_, err = b.svc.SetMemberCalendar(ctx, manager, b.reps[0], 999999)
	requireField(t, err, "holidayCalendarId")
	_, err = b.svc.SetMemberCalendar(ctx, manager, "nobody@example.com", us.ID)
	requireCode(t, err, leads.CodeNotFound)
	members, err := b.svc.Members(ctx, b.admin)
	require.NoError(t, err)
	for _, mb := range members {
		if mb.Email == b.reps[0] {
			require.Equal(t, us.ID, mb.HolidayCalendarID, "members show the calendar they follow")
		}
	}
	promoted, err := b.svc.UpdateMember(ctx, b.admin, leads.Member{Email: b.reps[0], Role: leads.RoleManager})
	require.NoError(t, err)
	require.Equal(t, us.ID, promoted.HolidayCalendarID, "a role change keeps the calendar")
	thanksgiving := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	cfg, err := b.svc.Configuration(ctx, b.agent)
	require.NoError(t, err)
	require.Equal(t, leads.SkipHoliday, cfg.Away(b.reps[0], thanksgiving))
	require.Equal(t, "", cfg.Away(b.reps[1], thanksgiving), "who follows no calendar")

	// Changed: the next configuration has the new dates.
	_, err = b.svc.UpdateHolidayCalendar(ctx, b.agent, us.ID, func(c *leads.HolidayCalendar) error { return nil })
	requireCode(t, err, leads.CodeForbidden)
	updated, err := b.svc.UpdateHolidayCalendar(ctx, manager, us.ID, func(c *leads.HolidayCalendar) error {
		c.Dates = []string{"2026-12-25"}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"2026-12-25"}, updated.Dates)
	require.Equal(t, b.clock.Now(), updated.UpdatedAt)
	cfg, err = b.svc.Configuration(ctx, b.agent)
	require.NoError(t, err)
	require.Equal(t, "", cfg.Away(b.reps[0], thanksgiving))
	_, err = b.svc.UpdateHolidayCalendar(ctx, manager, us.ID, func(c *leads.HolidayCalendar) error {
		c.Name = "France"
		return nil
	})
	requireCode(t, err, leads.CodeConflict)
	unchanged, err := b.svc.UpdateHolidayCalendar(ctx, manager, us.ID, func(c *leads.HolidayCalendar) error { return nil })
	require.NoError(t, err)
	require.Equal(t, updated, unchanged)
	require.Len(t, b.accountEvents(t, leads.EventHolidayCalendarUpdated), 1, "a change that changes nothing is not audited")
	_, err = b.svc.UpdateHolidayCalendar(ctx, manager, 999999, func(c *leads.HolidayCalendar) error { return nil })
	requireCode(t, err, leads.CodeNotFound)

	// Deleted: its followers follow none.
	requireCode(t, b.svc.DeleteHolidayCalendar(ctx, b.agent, us.ID), leads.CodeForbidden)
	require.NoError(t, b.svc.DeleteHolidayCalendar(ctx, manager, us.ID))
	requireCode(t, b.svc.DeleteHolidayCalendar(ctx, manager, us.ID), leads.CodeNotFound)
	_, err = b.svc.HolidayCalendar(ctx, b.agent, us.ID)
	requireCode(t, err, leads.CodeNotFound)
	cfg, err = b.svc.Configuration(ctx, b.agent)
	require.NoError(t, err)
	require.Equal(t, "", cfg.Away(b.reps[0], time.Date(2026, 12, 25, 15, 0, 0, 0, time.UTC)))
	deleted := b.accountEvents(t, leads.EventHolidayCalendarDeleted)
	require.Len(t, deleted, 1)
	require.Equal(t, []any{b.reps[0]}, deleted[0].Data["members"])
	require.Equal(t, "US", deleted[0].Data["before"].(map[string]any)["name"])
	require.Len(t, b.accountEvents(t, leads.EventHolidayCalendarCreated), 2)
	set := b.accountEvents(t, leads.EventMemberCalendarSet)
	require.Len(t, set, 1)
	require.Equal(t, b.reps[0], set[0].Data["email"])

	// Following none again.
	m, err = b.svc.SetMemberCalendar(ctx, manager, b.reps[1], fr.ID)
	require.NoError(t, err)
	require.Equal(t, fr.ID, m.HolidayCalendarID)
	m, err = b.svc.SetMemberCalendar(ctx, manager, b.reps[1], 0)
	require.NoError(t, err)
	require.Zero(t, m.HolidayCalendarID)
}

func testHolidayCalendarRefusals(t *testing.T, b *bundle) {
	ctx := context.Background()
	tooMany := make([]string, leads.MaxHolidayDates+1)
	for i := range tooMany {
		tooMany[i] = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)
	}
	for _, tc := range []struct {
		name  string
		cal   leads.HolidayCalendar
		field string
	}{
		{"no name", leads.HolidayCalendar{Timezone: "UTC"}, "name"},
		{"no time zone", leads.HolidayCalendar{Name: "x"}, "timezone"},
		{"Local", leads.HolidayCalendar{Name: "x", Timezone: "Local"}, "timezone"},
		{"an unknown time zone", leads.HolidayCalendar{Name: "x", Timezone: "Europe/Atlantis"}, "timezone"},
		{"a bad date", leads.HolidayCalendar{Name: "x", Timezone: "UTC", Dates: []string{"2026-12-25", "2026-02-30"}}, "dates[1]"},
		{"a date not written YYYY-MM-DD", leads.HolidayCalendar{Name: "x", Timezone: "UTC", Dates: []string{"2026-1-1"}}, "dates[0]"},
		{"a date with a time", leads.HolidayCalendar{Name: "x", Timezone: "UTC", Dates: []string{"2026-01-01T00:00:00Z"}}, "dates[0]"},
		{"a date twice", leads.HolidayCalendar{Name: "x", Timezone: "UTC", Dates: []string{"2026-12-25", "2026-01-01", "2026-12-25"}}, "dates[2]"},
		{"a date of year 0", leads.HolidayCalendar{Name: "x", Timezone: "UTC", Dates: []string{"2026-12-25", "0000-12-25"}}, "dates[1]"},
		{"too many dates", leads.HolidayCalendar{Name: "x", Timezone: "UTC", Dates: tooMany}, "dates"},
	} {
		_, err := b.svc.CreateHolidayCalendar(ctx, b.admin, tc.cal)
		requireField(t, err, tc.field)
	}
	cal, err := b.svc.CreateHolidayCalendar(ctx, b.admin, leads.HolidayCalendar{Name: "ok", Timezone: "UTC"})
	require.NoError(t, err)
	_, err = b.svc.UpdateHolidayCalendar(ctx, b.admin, cal.ID, func(c *leads.HolidayCalendar) error {
		c.Timezone = "Local"
		return nil
	})
	requireField(t, err, "timezone")
	all, err := b.svc.HolidayCalendars(ctx, b.admin)
	require.NoError(t, err)
	require.Len(t, all, 1, "nothing refused was stored")
}

func testAvailabilityTenancy(t *testing.T, b *bundle) {
	ctx := context.Background()
	other := newBundle(t, b.env)
	theirs, err := other.svc.CreateHolidayCalendar(ctx, other.admin, leads.HolidayCalendar{Name: "Theirs", Timezone: "UTC"})
	require.NoError(t, err)
	stranger := "stranger@example.com"
	_, err = other.svc.PutMember(ctx, other.admin, leads.Member{Email: stranger, Role: leads.RoleAgent})
	require.NoError(t, err)
	off, err := other.svc.AddTimeOff(ctx, other.admin, stranger, leads.TimeOff{Start: b.clock.Now(), End: b.clock.Now().Add(time.Hour)})
	require.NoError(t, err)

	_, err = b.svc.HolidayCalendar(ctx, b.admin, theirs.ID)
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.UpdateHolidayCalendar(ctx, b.admin, theirs.ID, func(c *leads.HolidayCalendar) error { return nil })
	requireCode(t, err, leads.CodeNotFound)
	requireCode(t, b.svc.DeleteHolidayCalendar(ctx, b.admin, theirs.ID), leads.CodeNotFound)
	_, err = b.svc.SetMemberCalendar(ctx, b.admin, b.reps[0], theirs.ID)
	requireField(t, err, "holidayCalendarId")
	_, err = b.svc.Schedule(ctx, b.admin, stranger)
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.TimeOff(ctx, b.admin, stranger)
	requireCode(t, err, leads.CodeNotFound)
	requireCode(t, b.svc.DeleteTimeOff(ctx, b.admin, stranger, off.ID), leads.CodeNotFound)
	requireCode(t, b.svc.DeleteTimeOff(ctx, b.admin, b.reps[0], off.ID), leads.CodeNotFound) // their period under our member
	_, err = b.svc.SetSchedule(ctx, b.admin, stranger, nineToFive("UTC"))
	requireCode(t, err, leads.CodeNotFound)
	list, err := other.svc.TimeOff(ctx, other.admin, stranger)
	require.NoError(t, err)
	require.Len(t, list, 1, "theirs untouched")
}

// testAvailabilityEveryProcess: a second Service over the same store, as
// another server process, with the configuration cached, sees a change at
// its next Configuration.
func testAvailabilityEveryProcess(t *testing.T, b *bundle) {
	ctx := context.Background()
	other := b.newService(b.store)
	cached, err := other.Configuration(ctx, b.admin)
	require.NoError(t, err)
	require.Equal(t, "", cached.Away(b.reps[0], b.clock.Now()))
	_, err = b.svc.AddTimeOff(ctx, b.admin, b.reps[0], leads.TimeOff{Start: b.clock.Now(), End: b.clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	next, err := other.Configuration(ctx, b.admin)
	require.NoError(t, err)
	require.Greater(t, next.Version, cached.Version)
	require.Equal(t, leads.SkipOutOfOffice, next.Away(b.reps[0], b.clock.Now()))
	require.Equal(t, "", cached.Away(b.reps[0], b.clock.Now()), "a configuration is a snapshot")
}

// testTurnsSeeAvailability: the rotation's turn passes over a rep out of
// office, one on a holiday and one outside their hours, with each reason,
// and the preview at another instant sees them back.
func testTurnsSeeAvailability(t *testing.T, b *bundle) {
	ctx := context.Background()
	now := b.clock.Now() // Saturday 2026-11-21, 09:00 UTC
	rot := b.defaultRotation(t, 4)
	_, err := b.svc.AddTimeOff(ctx, b.admin, b.reps[0], leads.TimeOff{Start: now.Add(-time.Hour), End: now.Add(time.Hour)})
	require.NoError(t, err)
	cal, err := b.svc.CreateHolidayCalendar(ctx, b.admin, leads.HolidayCalendar{Name: "Local fair", Timezone: "Europe/Paris", Dates: []string{"2026-11-21"}})
	require.NoError(t, err)
	_, err = b.svc.SetMemberCalendar(ctx, b.admin, b.reps[1], cal.ID)
	require.NoError(t, err)
	_, err = b.svc.SetSchedule(ctx, b.admin, b.reps[2], nineToFive("America/New_York"))
	require.NoError(t, err)

	res := b.mustCreate(t, lead("Away"), leads.CreateOptions{})
	require.Equal(t, b.reps[3], res.Lead.AssignedTo)
	reasons := map[string]string{}
	for _, sk := range res.Assignment.Skipped {
		reasons[sk.User] = sk.Reason
	}
	require.Equal(t, map[string]string{b.reps[0]: leads.SkipOutOfOffice, b.reps[1]: leads.SkipHoliday, b.reps[2]: leads.SkipOutsideHours}, reasons)

	// Monday 2026-11-23, 15:00 UTC: back from time off, no holiday, 10:00
	// in New York.
	monday := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	p, err := b.svc.NextTurnsAt(ctx, b.agent, rot.ID, 4, monday)
	require.NoError(t, err)
	for _, m := range p.Members {
		require.True(t, m.Eligible, "%s: %s", m.User, m.Reason)
	}
	p, err = b.svc.NextTurnsAt(ctx, b.agent, rot.ID, 1, now)
	require.NoError(t, err)
	require.Equal(t, b.reps[3], p.Next[0].Assignee, "only one can take a lead now")
}
