package console

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/internal/workhours"
	"github.com/leadrotor/leadrotor/leads"
)

// scheduleData is one member's working hours and holiday calendar, as the
// schedule page's forms hold them.
type scheduleData struct {
	Email string
	// Away is why they cannot take a lead now, "" when they can.
	Away string
	// Summary is the schedule in words, "always" when they have none.
	Summary  string
	Timezone string
	Days     []dayHours
	// Calendars are the account's holiday calendars; CalendarID the one
	// the member follows, 0 for none.
	Calendars  []leads.HolidayCalendar
	CalendarID int64
	// Example is what a day's hours look like.
	Example string
}

// dayHours is one weekday's input: Name is the form field (and the
// Service's, "monday"), Hours the intervals as typed.
type dayHours struct {
	Name, Label, Hours string
}

// memberSchedule shows a member's working hours as a form, time zone and
// one line of intervals per weekday, and the holiday calendar they follow;
// managers and admins only, as the Service allows only them to change
// these.
func (c *Console) memberSchedule(ctx context.Context, r *request) (any, error) {
	if !r.can(leads.PermWriteConfig) {
		return nil, leads.Errorf(leads.CodeForbidden, "only managers and admins change working hours and holiday calendars")
	}
	email := leads.EmailKey(r.PathValue("email"))
	cfg, err := c.svc.Configuration(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.Members[email]; !ok {
		return nil, leads.Errorf(leads.CodeNotFound, "member not found")
	}
	cals, err := c.svc.HolidayCalendars(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	d := scheduleData{Email: email, Away: cfg.Away(email, time.Now()), Summary: "always", Calendars: cals, Example: workhours.Example}
	var sch leads.Schedule
	if a := cfg.Availability[email]; a != nil {
		d.CalendarID = a.HolidayCalendarID
		if a.Schedule != nil {
			sch, d.Summary = *a.Schedule, a.Schedule.String()
		}
	}
	d.Timezone = sch.Timezone
	for _, day := range workhours.Week {
		d.Days = append(d.Days, dayHours{Name: workhours.Name(day), Label: day.String(), Hours: workhours.Format(sch.Day(day))})
	}
	return d, nil
}

// memberPath is the schedule page of the member the request names, with
// what was done.
func memberPath(r *request, done string) string {
	return path("availability", "members", leads.EmailKey(r.PathValue("email"))) + "?done=" + done
}

// setSchedule replaces a member's working hours with the form's, whole:
// a refusal names the time zone or the day's input, and nothing is saved.
func (c *Console) setSchedule(ctx context.Context, r *request) (string, error) {
	sch := leads.Schedule{Timezone: strings.TrimSpace(r.PostFormValue("timezone"))}
	for _, d := range workhours.Week {
		name := workhours.Name(d)
		hours, err := workhours.Parse(r.PostFormValue(name))
		if err != nil {
			msg := err.Error()
			return "", leads.ValidationError(leads.FieldError{Field: name, Value: r.PostFormValue(name), Message: strings.ToUpper(msg[:1]) + msg[1:]})
		}
		workhours.Set(&sch, d, hours)
	}
	if _, err := c.svc.SetSchedule(ctx, r.actor, r.PathValue("email"), &sch); err != nil {
		if d, msg, ok := workhours.Refusal(err, &sch); ok {
			return "", withFieldText(err, workhours.Name(d), msg)
		}
		if field, _ := leads.ErrorDetails(err)["field"].(string); field == "timezone" {
			return "", withField(err, "timezone")
		}
		return "", err
	}
	return memberPath(r, "saved"), nil
}

// clearSchedule removes a member's working hours: they are within them
// at every hour. It is offered whether or not they have any.
func (c *Console) clearSchedule(ctx context.Context, r *request) (string, error) {
	if _, err := c.svc.SetSchedule(ctx, r.actor, r.PathValue("email"), nil); err != nil {
		return "", err
	}
	return memberPath(r, "schedule_cleared"), nil
}

// setMemberCalendar makes a member follow the holiday calendar chosen,
// or none.
func (c *Console) setMemberCalendar(ctx context.Context, r *request) (string, error) {
	v := strings.TrimSpace(r.PostFormValue("calendar"))
	var id int64
	if v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return "", leads.ValidationError(leads.FieldError{Field: "calendar", Value: v, Message: "Must be one of the account's holiday calendars"})
		}
		id = n
	}
	if _, err := c.svc.SetMemberCalendar(ctx, r.actor, r.PathValue("email"), id); err != nil {
		if field, _ := leads.ErrorDetails(err)["field"].(string); field == "holidayCalendarId" {
			return "", withField(err, "calendar")
		}
		return "", err
	}
	return memberPath(r, "saved"), nil
}
