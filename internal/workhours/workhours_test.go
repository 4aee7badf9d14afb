package workhours_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/workhours"
	"github.com/leadrotor/leadrotor/leads"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []leads.WorkHours
		err  string
	}{
		{"", []leads.WorkHours{}, ""},
		{"  ", []leads.WorkHours{}, ""},
		{"09:00-12:00, 13:00-17:00", []leads.WorkHours{{Start: "09:00", End: "12:00"}, {Start: "13:00", End: "17:00"}}, ""},
		{"13:00-17:00 9:00 - 12:00", []leads.WorkHours{{Start: "13:00", End: "17:00"}, {Start: "09:00", End: "12:00"}}, ""},
		{"22:00–24:00;", []leads.WorkHours{{Start: "22:00", End: "24:00"}}, ""},
		{"9-5", []leads.WorkHours{{Start: "9", End: "5"}}, ""}, // the Service refuses the times
		{"nine to five", nil, `"nine" is not an interval: write them like 09:00-12:00, 13:00-17:00`},
		{"09:00-12:00-13:00", nil, `"09:00-12:00-13:00" is not an interval`},
		{"09:00-", nil, `"09:00-" is not an interval`},
	} {
		got, err := workhours.Parse(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
		if len(got) > 0 && tc.in != "9-5" {
			again, err := workhours.Parse(workhours.Format(got))
			require.NoError(t, err)
			require.Equal(t, got, again, "Format writes what Parse reads")
		}
	}
}

// Refusal names intervals by their text, as typed, and leaves alone what
// is not about a day.
func TestRefusal(t *testing.T) {
	t.Parallel()
	s := leads.Schedule{Timezone: "UTC"}
	workhours.Set(&s, time.Tuesday, []leads.WorkHours{{Start: "09:00", End: "12:00"}, {Start: "11:00", End: "13:00"}})
	day, msg, ok := workhours.Refusal(s.Validate(), &s)
	require.True(t, ok)
	require.Equal(t, time.Tuesday, day)
	require.Equal(t, "11:00-13:00: Overlaps 09:00-12:00", msg)

	s = leads.Schedule{Timezone: "UTC"}
	workhours.Set(&s, time.Sunday, []leads.WorkHours{{Start: "08:00", End: "25:00"}})
	day, msg, ok = workhours.Refusal(s.Validate(), &s)
	require.True(t, ok)
	require.Equal(t, time.Sunday, day)
	require.Regexp(t, `^08:00-25:00: Must be a time of day`, msg)

	s = leads.Schedule{Timezone: "Local"}
	_, _, ok = workhours.Refusal(s.Validate(), &s)
	require.False(t, ok, "the time zone is not a day's")
	_, _, ok = workhours.Refusal(context.Canceled, &s)
	require.False(t, ok)
}
