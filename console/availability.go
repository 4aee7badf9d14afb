package console

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

type availabilityData struct {
	Members []memberAvailability
	// Month is the calendar of who is off, a month at a time.
	Month monthGrid
	// Calendars counts the account's holiday calendars.
	Calendars int
}

// memberAvailability is one member as the availability page shows them.
type memberAvailability struct {
	Email string
	// Away is why they cannot take a lead now, "" when they can.
	Away     string
	Schedule string
	// Calendar is the name of the holiday calendar they follow, "" for none.
	Calendar string
	TimeOff  []leads.TimeOff
	// CanEdit: a manager or admin, or the member themselves (time off).
	CanEdit bool
}

// availability shows, for each member of the account, whether they can
// take a lead now or why not, their working hours, holiday calendar and
// time off, and a month's calendar of who is off on each day (?month=
// 2026-12; this month by default). Managers and admins add and remove
// anyone's time off, an agent their own; managers and admins go on to
// each member's working hours and to the holiday calendars.
func (c *Console) availability(ctx context.Context, r *request) (any, error) {
	now := time.Now()
	first, err := parseMonth(r.URL.Query().Get("month"), now)
	if err != nil {
		return nil, err
	}
	cfg, err := c.svc.Configuration(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	d := availabilityData{Month: newMonthGrid(cfg, first, now), Calendars: len(cfg.HolidayCalendars)}
	for _, email := range slices.Sorted(maps.Keys(cfg.Members)) {
		m := memberAvailability{Email: email, Away: cfg.Away(email, now), Schedule: "always",
			CanEdit: r.can(leads.PermWriteConfig) || r.actor.Email == email}
		if a := cfg.Availability[email]; a != nil {
			if a.Schedule != nil {
				m.Schedule = a.Schedule.String()
			}
			if cal := cfg.HolidayCalendars[a.HolidayCalendarID]; cal != nil {
				m.Calendar = cal.Name
			}
			for _, off := range a.TimeOff {
				if off.End.After(now) {
					m.TimeOff = append(m.TimeOff, off)
				}
			}
		}
		d.Members = append(d.Members, m)
	}
	return d, nil
}

// addTimeOff adds a period of time off: whole days, from the first to the
// last day given, in UTC.
func (c *Console) addTimeOff(ctx context.Context, r *request) (string, error) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	off := leads.TimeOff{Note: strings.TrimSpace(r.PostFormValue("note"))}
	for _, f := range []struct {
		name string
		dst  *time.Time
		days int
	}{{"start", &off.Start, 0}, {"last", &off.End, 1}} {
		day, err := formDate(f.name, r.PostFormValue(f.name))
		if err != nil {
			return "", withField(err, "timeoff:"+email)
		}
		*f.dst = day.AddDate(0, 0, f.days)
	}
	if _, err := c.svc.AddTimeOff(ctx, r.actor, email, off); err != nil {
		return "", withField(err, "timeoff:"+email)
	}
	return "/availability?done=time_off_added", nil
}

// deleteTimeOff removes a period of time off.
func (c *Console) deleteTimeOff(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if err := c.svc.DeleteTimeOff(ctx, r.actor, email, id); err != nil {
		return "", withField(err, "timeoff:"+email)
	}
	return "/availability?done=time_off_removed", nil
}

// formDate reads a form's date (YYYY-MM-DD) as the start of that day in UTC;
// VALIDATION_ERROR naming field otherwise.
func formDate(field, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(v))
	if err != nil {
		return t, leads.ValidationError(leads.FieldError{Field: field, Value: v, Message: "Must be a date like 2026-12-31"})
	}
	return t, nil
}
