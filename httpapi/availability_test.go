package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestScheduleAPI: a member's working hours set, read and cleared over
// HTTP, and every kind of bad schedule refused with its field.
func TestScheduleAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		path := "/members/" + url.PathEscape("Ana@Example.com") + "/schedule"
		require.Equal(t, http.StatusNotFound, a.call("agent", "GET", path, nil).status, "no schedule yet")

		put := a.call("manager", "PUT", path, `{"timezone":"Europe/Paris",
			"monday":[{"start":"13:00","end":"17:30"},{"start":"09:00","end":"12:00"}],"friday":[{"start":"09:00","end":"24:00"}]}`)
		require.Equal(t, http.StatusOK, put.status, string(put.body))
		got := put.json(t)
		require.Equal(t, []any{map[string]any{"start": "09:00", "end": "12:00"}, map[string]any{"start": "13:00", "end": "17:30"}}, got["monday"])
		require.Equal(t, []any{}, got["sunday"])
		read := a.call("agent", "GET", path, nil)
		require.Equal(t, http.StatusOK, read.status)
		require.Equal(t, got, read.json(t))
		require.Equal(t, http.StatusForbidden, a.call("agent", "PUT", path, `{"timezone":"UTC"}`).status)

		for _, tc := range []struct {
			name, body, field string
		}{
			{"no time zone", `{"monday":[]}`, "timezone"},
			{"Local", `{"timezone":"Local"}`, "timezone"},
			{"an unknown time zone", `{"timezone":"Europe/Nowhere"}`, "timezone"},
			{"overlapping", `{"timezone":"UTC","monday":[{"start":"09:00","end":"12:00"},{"start":"11:00","end":"14:00"}]}`, "monday[1]"},
			{"inverted", `{"timezone":"UTC","tuesday":[{"start":"17:00","end":"09:00"}]}`, "tuesday[0]"},
			{"not HH:MM", `{"timezone":"UTC","wednesday":[{"start":"9am","end":"17:00"}]}`, "wednesday[0].start"},
			{"past 24:00", `{"timezone":"UTC","thursday":[{"start":"09:00","end":"25:00"}]}`, "thursday[0].end"},
			{"a misspelt day", `{"timezone":"UTC","mondy":[]}`, "mondy"},
			{"an unknown key in an interval", `{"timezone":"UTC","monday":[{"start":"09:00","end":"10:00","break":true}]}`, "monday[0].break"},
		} {
			requireRefused(t, a.call("manager", "PUT", path, tc.body), tc.field, tc.name)
		}
		require.Equal(t, http.StatusNotFound, a.call("manager", "PUT", "/members/nobody@example.com/schedule", `{"timezone":"UTC"}`).status)

		require.Equal(t, http.StatusNoContent, a.call("manager", "DELETE", path, nil).status)
		require.Equal(t, http.StatusNoContent, a.call("manager", "DELETE", path, nil).status, "none to clear")
		require.Equal(t, http.StatusNotFound, a.call("agent", "GET", path, nil).status)
	})
}

// TestTimeOffAPI: an agent adds and deletes their own time off, not
// another's; managers anyone's; bad periods refused with their field.
func TestTimeOffAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		agent := a.actor("agent").Email
		own := "/members/" + url.PathEscape(agent) + "/time-off"
		week := map[string]any{"start": "2026-12-21T00:00:00+01:00", "end": "2026-12-28T00:00:00+01:00", "note": "Christmas"}

		res := a.call("agent", "POST", own, week)
		require.Equal(t, http.StatusCreated, res.status, string(res.body))
		off := res.json(t)
		require.Equal(t, "2026-12-20T23:00:00Z", off["start"], "stored in UTC")
		require.Equal(t, agent, off["email"])
		require.Equal(t, fmt.Sprintf("%s/%v", own, off["id"]), res.header.Get("Location"))

		other := "/members/ana@example.com/time-off"
		refused := a.call("agent", "POST", other, week)
		require.Equal(t, http.StatusForbidden, refused.status, "an agent may not set another's: %s", refused.body)
		res = a.call("manager", "POST", other, week)
		require.Equal(t, http.StatusCreated, res.status, string(res.body))
		anas := res.json(t)
		require.Equal(t, http.StatusForbidden, a.call("agent", "DELETE", fmt.Sprintf("%s/%v", other, anas["id"]), nil).status,
			"nor delete another's")
		require.Equal(t, http.StatusNotFound, a.call("agent", "DELETE", fmt.Sprintf("%s/%v", own, anas["id"]), nil).status,
			"another's period under one's own name")

		list := a.call("agent", "GET", other, nil)
		require.Equal(t, http.StatusOK, list.status)
		require.Len(t, list.json(t)["data"], 1, "every member reads time off")

		for _, tc := range []struct {
			name  string
			body  any
			field string
		}{
			{"ending before it starts", map[string]any{"start": "2026-12-21T00:00:00Z", "end": "2026-12-20T00:00:00Z"}, "end"},
			{"no end", map[string]any{"start": "2026-12-21T00:00:00Z"}, "end"},
			{"longer than 366 days", map[string]any{"start": "2026-01-01T00:00:00Z", "end": "2027-01-03T00:00:00Z"}, "end"},
			{"a date, not an instant", map[string]any{"start": "2026-12-21", "end": "2026-12-22T00:00:00Z"}, "start"},
			{"no offset", map[string]any{"start": "2026-12-21T00:00:00Z", "end": "2026-12-22T00:00:00"}, "end"},
			{"a number", map[string]any{"start": 1766275200, "end": "2026-12-22T00:00:00Z"}, "start"},
			{"an unknown key", map[string]any{"start": "2026-12-21T00:00:00Z", "end": "2026-12-22T00:00:00Z", "reason": "x"}, "reason"},
		} {
			requireRefused(t, a.call("agent", "POST", own, tc.body), tc.field, tc.name)
		}

		require.Equal(t, http.StatusNoContent, a.call("agent", "DELETE", fmt.Sprintf("%s/%v", own, off["id"]), nil).status)
		require.Equal(t, http.StatusNotFound, a.call("agent", "DELETE", fmt.Sprintf("%s/%v", own, off["id"]), nil).status)
		require.Equal(t, http.StatusNoContent, a.call("manager", "DELETE", fmt.Sprintf("%s/%v", other, anas["id"]), nil).status)
		require.Empty(t, a.call("agent", "GET", own, nil).json(t)["data"])
	})
}

// TestHolidayCalendarsAPI: calendars managed over HTTP, a member made to
// follow one through PATCH /members/{email}, and the refusals.
func TestHolidayCalendarsAPI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b *storetest.Backend) {
		a := newAPI(t, b)
		res := a.call("manager", "POST", "/holiday-calendars", map[string]any{"name": "US", "timezone": "America/New_York",
			"dates": []string{"2026-12-25", "2026-11-26"}})
		require.Equal(t, http.StatusCreated, res.status, string(res.body))
		us := res.json(t)
		require.Equal(t, []any{"2026-11-26", "2026-12-25"}, us["dates"])
		path := fmt.Sprintf("/holiday-calendars/%v", us["id"])
		require.Equal(t, path, res.header.Get("Location"))
		require.Equal(t, http.StatusConflict, a.call("admin", "POST", "/holiday-calendars", map[string]any{"name": "US", "timezone": "UTC"}).status)
		require.Equal(t, http.StatusForbidden, a.call("agent", "POST", "/holiday-calendars", map[string]any{"name": "x", "timezone": "UTC"}).status)
		for _, tc := range []struct {
			name  string
			body  any
			field string
		}{
			{"a bad date", map[string]any{"name": "x", "timezone": "UTC", "dates": []string{"2026-13-01"}}, "dates[0]"},
			{"a date twice", map[string]any{"name": "x", "timezone": "UTC", "dates": []string{"2026-12-25", "2026-12-25"}}, "dates[1]"},
			{"Local", map[string]any{"name": "x", "timezone": "Local"}, "timezone"},
			{"no name", map[string]any{"timezone": "UTC"}, "name"},
		} {
			requireRefused(t, a.call("manager", "POST", "/holiday-calendars", tc.body), tc.field, tc.name)
		}

		patched := a.call("manager", "PATCH", path, map[string]any{"dates": []string{"2026-07-04"}})
		require.Equal(t, http.StatusOK, patched.status, string(patched.body))
		require.Equal(t, "US", patched.json(t)["name"])
		require.Equal(t, []any{"2026-07-04"}, patched.json(t)["dates"])
		requireRefused(t, a.call("manager", "PATCH", path, map[string]any{"timezone": "Mars/Base"}), "timezone", "a bad zone")
		require.Len(t, a.call("agent", "GET", "/holiday-calendars", nil).json(t)["data"], 1)
		require.Equal(t, "US", a.call("agent", "GET", path, nil).json(t)["name"])

		// Following it: managers may set the calendar alone; the role stays
		// the admins'.
		member := "/members/ana@example.com"
		res = a.call("manager", "PATCH", member, map[string]any{"holidayCalendarId": us["id"]})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		require.Equal(t, us["id"], res.json(t)["holidayCalendarId"])
		require.Equal(t, "agent", res.json(t)["role"])
		require.Equal(t, http.StatusForbidden, a.call("manager", "PATCH", member, map[string]any{"role": "manager", "holidayCalendarId": nil}).status)
		require.Equal(t, http.StatusForbidden, a.call("agent", "PATCH", member, map[string]any{"holidayCalendarId": nil}).status)
		requireRefused(t, a.call("manager", "PATCH", member, map[string]any{"holidayCalendarId": "US"}), "holidayCalendarId", "not an id")
		requireRefused(t, a.call("admin", "PATCH", member, map[string]any{"role": "manager", "holidayCalendarId": 999999}),
			"holidayCalendarId", "not a calendar of the account")
		res = a.call("admin", "PATCH", member, map[string]any{"role": "manager"})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		require.Equal(t, "manager", res.json(t)["role"], "the refused patch changed nothing: this one does")
		require.Equal(t, us["id"], res.json(t)["holidayCalendarId"], "a role change keeps the calendar")

		require.Equal(t, http.StatusNoContent, a.call("manager", "DELETE", path, nil).status)
		require.Equal(t, http.StatusNotFound, a.call("manager", "GET", path, nil).status)
		res = a.call("admin", "PATCH", member, map[string]any{"holidayCalendarId": nil})
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		require.NotContains(t, res.json(t), "holidayCalendarId", "the deleted calendar's followers follow none")
	})
}
