package console

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

type calendarsData struct {
	Calendars []calendarRow
	// Form is the new calendar's form: empty.
	Form calendarRow
}

// calendarRow is a holiday calendar as the pages show it: the members who
// follow it, and its next dates.
type calendarRow struct {
	leads.HolidayCalendar
	Followers []string
	Upcoming  []string
	// DatesText is the dates as the form's text area holds them, one a
	// line.
	DatesText string
}

// Form is the calendar as its form holds it.
func (r calendarRow) Form() calendarRow { return r }

// maxUpcoming bounds the next dates the list shows of each calendar.
const maxUpcoming = 3

// calendarRows reads the account's holiday calendars, by id, each with
// its followers.
func (c *Console) calendarRows(ctx context.Context, r *request) ([]calendarRow, error) {
	cfg, err := c.svc.Configuration(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	cals, err := c.svc.HolidayCalendars(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	today := time.Now().UTC().Format(time.DateOnly)
	rows := make([]calendarRow, 0, len(cals))
	for _, cal := range cals {
		row := calendarRow{HolidayCalendar: cal, DatesText: strings.Join(cal.Dates, "\n")}
		for _, email := range slices.Sorted(maps.Keys(cfg.Availability)) {
			if cfg.Availability[email].HolidayCalendarID == cal.ID {
				row.Followers = append(row.Followers, email)
			}
		}
		for _, d := range cal.Dates {
			if d >= today && len(row.Upcoming) < maxUpcoming {
				row.Upcoming = append(row.Upcoming, d)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// calendars lists the account's holiday calendars with their followers
// and next dates; managers and admins make new ones here and edit them on
// their own page.
func (c *Console) calendars(ctx context.Context, r *request) (any, error) {
	rows, err := c.calendarRows(ctx, r)
	if err != nil {
		return nil, err
	}
	return calendarsData{Calendars: rows}, nil
}

// calendarPage is one holiday calendar's form, for managers and admins.
func (c *Console) calendarPage(ctx context.Context, r *request) (any, error) {
	if !r.can(leads.PermWriteConfig) {
		return nil, leads.Errorf(leads.CodeForbidden, "only managers and admins change holiday calendars")
	}
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	rows, err := c.calendarRows(ctx, r)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(rows, func(row calendarRow) bool { return row.ID == id })
	if i < 0 {
		return nil, leads.Errorf(leads.CodeNotFound, "holiday calendar not found")
	}
	return rows[i], nil
}

// calendarForm reads the calendar form: name, time zone, and dates, one a
// line (commas and spaces separate them too).
func calendarForm(r *request) leads.HolidayCalendar {
	dates := strings.FieldsFunc(r.PostFormValue("dates"), func(c rune) bool {
		return c == ',' || c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
	})
	return leads.HolidayCalendar{Name: strings.TrimSpace(r.PostFormValue("name")),
		Timezone: strings.TrimSpace(r.PostFormValue("timezone")), Dates: dates}
}

// dateField reads the index of a calendar's date in a refusal: dates[2].
var dateField = regexp.MustCompile(`^dates\[(\d+)\]$`)

// calendarField points a refusal of a calendar at the form's input: a
// date's at the dates, said with the date typed; a name taken at the name.
func calendarField(err error, cal leads.HolidayCalendar) error {
	field, _ := leads.ErrorDetails(err)["field"].(string)
	switch {
	case leads.ErrorCode(err) == leads.CodeConflict:
		return withField(err, "name")
	case field == "name", field == "timezone", field == "dates":
		return withField(err, field)
	}
	if m := dateField.FindStringSubmatch(field); m != nil {
		if i, _ := strconv.Atoi(m[1]); i < len(cal.Dates) {
			return withFieldText(err, "dates", fmt.Sprintf("%q: %s", cal.Dates[i], errorText(err)))
		}
	}
	return err
}

func (c *Console) createCalendar(ctx context.Context, r *request) (string, error) {
	cal := calendarForm(r)
	if _, err := c.svc.CreateHolidayCalendar(ctx, r.actor, cal); err != nil {
		return "", calendarField(err, cal)
	}
	return "/availability/calendars?done=created", nil
}

// updateCalendar replaces a calendar's name, time zone and dates with the
// form's.
func (c *Console) updateCalendar(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	cal := calendarForm(r)
	_, err = c.svc.UpdateHolidayCalendar(ctx, r.actor, id, func(cur *leads.HolidayCalendar) error {
		cur.Name, cur.Timezone, cur.Dates = cal.Name, cal.Timezone, cal.Dates
		return nil
	})
	if err != nil {
		return "", calendarField(err, cal)
	}
	return "/availability/calendars?done=saved", nil
}

// deleteCalendar deletes a calendar; its followers follow none from then
// on.
func (c *Console) deleteCalendar(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if err := c.svc.DeleteHolidayCalendar(ctx, r.actor, id); err != nil {
		return "", withField(err, "delete")
	}
	return "/availability/calendars?done=deleted", nil
}
