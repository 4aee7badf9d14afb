package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// Members' availability: their working hours and time off, under
// /members/{email}, and the account's holiday calendars.

// timeOffInput is the body of POST /members/{email}/time-off.
type timeOffInput struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Note  string    `json:"note"`
}

// holidayCalendarInput is the body of POST /holiday-calendars.
type holidayCalendarInput struct {
	Name     string   `json:"name"`
	Timezone string   `json:"timezone"`
	Dates    []string `json:"dates"`
}

// holidayCalendarPatch is the body of PATCH /holiday-calendars/{id}: the
// fields sent change; dates, when sent, replace the list whole.
type holidayCalendarPatch struct {
	Name     *string   `json:"name"`
	Timezone *string   `json:"timezone"`
	Dates    *[]string `json:"dates"`
}

// serveMember reads the member's email in the path, hands it to call and
// answers status with what call returns (204: nothing).
func serveMember[T any](w http.ResponseWriter, req bunrouter.Request, status int,
	call func(ctx context.Context, a leads.Actor, email string) (T, error)) error {
	email, err := memberParam(req, "email")
	if err != nil {
		return err
	}
	ctx := req.Context()
	v, err := call(ctx, actorFrom(ctx), email)
	if err != nil {
		return err
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return nil
	}
	writeJSON(w, status, v)
	return nil
}

// getSchedule is GET /members/{email}/schedule: 404 when the member has
// none (and is always within their working hours).
func (s *Server) getSchedule(w http.ResponseWriter, req bunrouter.Request) error {
	return serveMember(w, req, http.StatusOK, s.svc.Schedule)
}

// putSchedule is PUT /members/{email}/schedule (managers and admins).
func (s *Server) putSchedule(w http.ResponseWriter, req bunrouter.Request) error {
	return serveMember(w, req, http.StatusOK, func(ctx context.Context, a leads.Actor, email string) (*leads.Schedule, error) {
		var in leads.Schedule
		if err := decodeJSON(req.Request, &in); err != nil {
			return nil, err
		}
		return s.svc.SetSchedule(ctx, a, email, &in)
	})
}

// deleteSchedule is DELETE /members/{email}/schedule (managers and
// admins): 204, also when there was none.
func (s *Server) deleteSchedule(w http.ResponseWriter, req bunrouter.Request) error {
	return serveMember(w, req, http.StatusNoContent, func(ctx context.Context, a leads.Actor, email string) (*leads.Schedule, error) {
		return s.svc.SetSchedule(ctx, a, email, nil)
	})
}

// listTimeOff is GET /members/{email}/time-off, by start.
func (s *Server) listTimeOff(w http.ResponseWriter, req bunrouter.Request) error {
	return serveMember(w, req, http.StatusOK, func(ctx context.Context, a leads.Actor, email string) (list[leads.TimeOff], error) {
		all, err := s.svc.TimeOff(ctx, a, email)
		return list[leads.TimeOff]{all}, err
	})
}

// addTimeOff is POST /members/{email}/time-off: managers and admins for
// anyone, an agent for themselves. 201 with the period.
func (s *Server) addTimeOff(w http.ResponseWriter, req bunrouter.Request) error {
	return serveMember(w, req, http.StatusCreated, func(ctx context.Context, a leads.Actor, email string) (*leads.TimeOff, error) {
		var in timeOffInput
		if err := decodeJSON(req.Request, &in); err != nil {
			return nil, err
		}
		off, err := s.svc.AddTimeOff(ctx, a, email, leads.TimeOff{Start: in.Start, End: in.End, Note: in.Note})
		if err != nil {
			return nil, err
		}
		w.Header().Set("Location", "/members/"+url.PathEscape(off.Email)+"/time-off/"+strconv.FormatInt(off.ID, 10))
		return off, nil
	})
}

// deleteTimeOff is DELETE /members/{email}/time-off/{id}: managers and
// admins for anyone, an agent for themselves. 204.
func (s *Server) deleteTimeOff(w http.ResponseWriter, req bunrouter.Request) error {
	return serveMember(w, req, http.StatusNoContent, func(ctx context.Context, a leads.Actor, email string) (any, error) {
		id, err := idParam(req, "time off")
		if err != nil {
			return nil, err
		}
		return nil, s.svc.DeleteTimeOff(ctx, a, email, id)
	})
}

// listHolidayCalendars is GET /holiday-calendars, by id.
func (s *Server) listHolidayCalendars(w http.ResponseWriter, req bunrouter.Request) error {
	return listAll(w, req, s.svc.HolidayCalendars)
}

// createHolidayCalendar is POST /holiday-calendars (managers and admins).
func (s *Server) createHolidayCalendar(w http.ResponseWriter, req bunrouter.Request) error {
	return create(w, req, func(c *leads.HolidayCalendar) string { return "/holiday-calendars/" + strconv.FormatInt(c.ID, 10) },
		func(ctx context.Context, a leads.Actor, in holidayCalendarInput) (*leads.HolidayCalendar, error) {
			return s.svc.CreateHolidayCalendar(ctx, a, leads.HolidayCalendar{Name: in.Name, Timezone: in.Timezone, Dates: in.Dates})
		})
}

// getHolidayCalendar is GET /holiday-calendars/{id}.
func (s *Server) getHolidayCalendar(w http.ResponseWriter, req bunrouter.Request) error {
	return getID(w, req, "holiday calendar", s.svc.HolidayCalendar)
}

// patchHolidayCalendar is PATCH /holiday-calendars/{id} (managers and
// admins).
func (s *Server) patchHolidayCalendar(w http.ResponseWriter, req bunrouter.Request) error {
	return getID(w, req, "holiday calendar", func(ctx context.Context, a leads.Actor, id int64) (*leads.HolidayCalendar, error) {
		var in holidayCalendarPatch
		if err := decodeJSON(req.Request, &in); err != nil {
			return nil, err
		}
		return s.svc.UpdateHolidayCalendar(ctx, a, id, func(c *leads.HolidayCalendar) error {
			setIf(&c.Name, in.Name)
			setIf(&c.Timezone, in.Timezone)
			setIf(&c.Dates, in.Dates)
			return nil
		})
	})
}

// deleteHolidayCalendar is DELETE /holiday-calendars/{id} (managers and
// admins): its followers follow none from then on.
func (s *Server) deleteHolidayCalendar(w http.ResponseWriter, req bunrouter.Request) error {
	return remove(w, req, "holiday calendar", s.svc.DeleteHolidayCalendar)
}
