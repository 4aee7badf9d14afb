package leads_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// TestIssue10_03_RotationTimezoneIANAOnly: "Local" is each server's own
// zone, so servers in different zones would count a daily cap on different
// days; only IANA names pass. The Go zero value stays DefaultTimezone.
func TestIssue10_03_RotationTimezoneIANAOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, tz, want string // want "" for refused
	}{
		{"Local", "Local", ""},
		{"lower-case local", "local", ""},
		{"unknown", "Mars/Olympus", ""},
		{"zero value", "", "UTC"},
		{"UTC", "UTC", "UTC"},
		{"IANA", "America/New_York", "America/New_York"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := leads.Rotation{Name: "r", Default: true, Timezone: tc.tz}
			err := r.Validate()
			if tc.want == "" {
				requireCode(t, err, leads.CodeValidation)
				require.Equal(t, "timezone", leads.ErrorDetails(err)["field"])
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, r.Timezone)
		})
	}
	t.Run("ValidateTimezone refuses empty", func(t *testing.T) {
		requireCode(t, leads.ValidateTimezone(""), leads.CodeValidation)
	})
	t.Run("a stored Local counts days in UTC", func(t *testing.T) {
		r := leads.Rotation{Timezone: "Local"}
		require.Equal(t, "UTC", r.Location().String())
	})
}
